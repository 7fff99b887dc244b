//! `ha-manager what-if` (issue 17, our extension): which services would
//! move, where, when and why, if a node went down (`node-down NODE`),
//! entered maintenance (`maintenance NODE`), a proposed rules file took
//! effect (`rules FILE`) or the scheduler mode changed (`crs MODE`).
//!
//! The live state is read through the store and simulated by
//! [`crate::sim::whatif`]: the real CRM and LRM in the tester's run loop.
//! This module adds what the store does not model — the ages of the
//! cluster locks (their directories' mtimes) and static usage from the
//! guest configurations — and prints the plan. Nothing is written.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{op_err, output, paths, CliError, Ctx, Params};
use crate::cluster::ClusterStore;
use crate::config::datacenter::CrsMode;
use crate::config::rules::RulesFormat;
use crate::env::{Time, Usage};
use crate::pve::guests;
use crate::sim::whatif::{self, Event, LiveState, Move};
use crate::types::Sid;

/// An operation error in the one-line form of this command.
fn fail(msg: impl std::fmt::Display) -> CliError {
    op_err(format!("error: {msg}"))
}

/// `what-if node-down <node>`.
pub fn node_down(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let node = p.take("node").unwrap_or_default();
    run(ctx, p, Event::NodeDown(node))
}

/// `what-if maintenance <node>`.
pub fn maintenance(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let node = p.take("node").unwrap_or_default();
    run(ctx, p, Event::Maintenance(node))
}

/// `what-if rules <file>`: the file is read from the local file system.
pub fn rules(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let file = p.take("file").unwrap_or_default();
    let bytes =
        std::fs::read(&file).map_err(|e| fail(format_args!("unable to read '{file}': {e}")))?;
    let parsed = RulesFormat.parse(&file, &bytes);
    for w in &parsed.warnings {
        output::eprint(&format!("{w}\n"));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    run(ctx, p, Event::Rules(text))
}

/// `what-if crs <mode>`.
pub fn crs(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let word = p.take("mode").unwrap_or_default();
    let mode: CrsMode = word
        .parse()
        .map_err(|_| fail(format_args!("unknown scheduler mode '{word}'")))?;
    run(ctx, p, Event::Crs(mode))
}

fn run(ctx: &mut Ctx, p: &mut Params, event: Event) -> Result<(), CliError> {
    let mut state = LiveState::read(ctx.store).map_err(fail)?;
    state.lock_ages = lock_ages(ctx.store, &state, now());
    state.static_stats = static_stats(ctx.store, &state);
    for w in &state.warnings {
        output::eprint(&format!("{w}\n"));
    }
    let plan = whatif::plan(&state, &event).map_err(fail)?;
    if p.flag("verbose").unwrap_or(false) {
        output::eprint(&plan.log);
    }
    let format = p.get("output-format").unwrap_or("text");
    output::print(&render(&plan.moves, format));
    Ok(())
}

/// The plan as text, JSON or pretty JSON.
pub fn render(moves: &[Move], format: &str) -> String {
    match format {
        "json" => format!("{}\n", serde_json::to_string(moves).unwrap_or_default()),
        "json-pretty" => format!(
            "{}\n",
            serde_json::to_string_pretty(moves).unwrap_or_default()
        ),
        _ => text(moves),
    }
}

/// One aligned line per move, or `no service would move`.
fn text(moves: &[Move]) -> String {
    if moves.is_empty() {
        return "no service would move\n".into();
    }
    let w_sid = moves.iter().map(|m| m.sid.len()).max().unwrap_or(0);
    let arrows: Vec<String> = moves
        .iter()
        .map(|m| format!("{} -> {}", m.from, m.to))
        .collect();
    let w_arrow = arrows.iter().map(String::len).max().unwrap_or(0);
    let w_after = moves
        .iter()
        .map(|m| m.after_s.to_string().len())
        .max()
        .unwrap_or(0);
    moves
        .iter()
        .zip(&arrows)
        .map(|(m, a)| {
            format!(
                "{:<w_sid$}  {a:<w_arrow$}  after {:>w_after$} s  ({})\n",
                m.sid, m.after_s, m.reason
            )
        })
        .collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The age of every HA lock that exists: the seconds since its
/// directory's mtime, which pmxcfs sets on each renewal (07 §4.2).
fn lock_ages(store: &dyn ClusterStore, state: &LiveState, now: i64) -> BTreeMap<String, Time> {
    let mut names = vec![paths::MANAGER_LOCK_NAME.to_string()];
    names.extend(state.nodes.keys().map(|n| paths::agent_lock_name(n)));
    names
        .into_iter()
        .filter_map(|name| {
            let meta = std::fs::metadata(store.path_of(&paths::lock(&name))).ok()?;
            let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
            Some((name, (now - mtime.as_secs() as i64).max(0)))
        })
        .collect()
}

/// Static usage from the guest configurations, when every service has
/// one; otherwise none (the simulator's defaults apply to all alike).
fn static_stats(store: &dyn ClusterStore, state: &LiveState) -> BTreeMap<String, Usage> {
    let mut out = BTreeMap::new();
    for (sid, d) in &state.services {
        let (Ok(parsed), Some(node)) = (sid.parse::<Sid>(), d.get("node")) else {
            return BTreeMap::new();
        };
        match guests::read_config(store, &parsed, node) {
            Ok(props) => {
                out.insert(sid.clone(), guests::static_usage(parsed.type_str(), &props));
            }
            Err(_) => return BTreeMap::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(sid: &str, from: &str, to: &str, after: Time, why: &str) -> Move {
        Move {
            sid: sid.into(),
            from: from.into(),
            to: to.into(),
            after_s: after,
            reason: why.into(),
        }
    }

    #[test]
    fn text_lines_align_and_empty_plans_say_so() {
        assert_eq!(render(&[], "text"), "no service would move\n");
        let m = [
            mv("vm:103", "node3", "node1", 123, "node3 fenced, recovery"),
            mv("ct:1001", "node3", "node2", 9, "node3 fenced, recovery"),
        ];
        assert_eq!(
            render(&m, "text"),
            "vm:103   node3 -> node1  after 123 s  (node3 fenced, recovery)\n\
             ct:1001  node3 -> node2  after   9 s  (node3 fenced, recovery)\n"
        );
        assert_eq!(
            render(&m[..1], "json"),
            "[{\"sid\":\"vm:103\",\"from\":\"node3\",\"to\":\"node1\",\"after_s\":123,\"reason\":\"node3 fenced, recovery\"}]\n"
        );
        assert_eq!(render(&[], "json"), "[]\n");
    }
}
