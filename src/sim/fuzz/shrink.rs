//! Shrinking (issue 17 item 3): a failing seed is reduced to a scenario
//! that still breaks the same invariant, and written as a scenario
//! directory in the layout of `tests/scenarios/`.
//!
//! 1. The fault commands are reduced by delta debugging (remove chunks,
//!    then single commands until no single removal reproduces): the
//!    result is 1-minimal — removing any one fault command loses the
//!    violation. Each candidate replays its fault batches as given,
//!    followed by the adaptive heal recomputed from that run's truth
//!    (the heal is the contract of the fuzzer, not a fault: it is derived,
//!    never removed).
//! 2. Fault batches left empty are dropped where that still reproduces,
//!    then services the violation does not need.
//! 3. For a safety invariant the final `cmdlist` (faults and heal as
//!    applied) is reduced once more command by command, replayed
//!    statically without the heal; a liveness violation keeps its heal.
//!
//! "Reproduces" means: the same invariant is broken (not necessarily at
//! the same second or by the same service).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::driver::{self, scenario_of, Faults};
use super::generator::{Generator, Setup};
use super::invariants::Violation;
use super::FuzzConfig;
use crate::sim::tester::{run_scenario, RunOptions};

/// A shrunk failing seed.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The seed it came from.
    pub seed: u64,
    /// The violation of the shrunk scenario.
    pub violation: Violation,
    /// The scenario files (without `cmdlist`).
    pub setup: Setup,
    /// The final `cmdlist`.
    pub cmdlist: Vec<Vec<String>>,
    /// Fault commands before and after shrinking.
    pub commands_before: usize,
    /// Commands of the final `cmdlist`.
    pub commands_after: usize,
    /// Replays it took.
    pub replays: usize,
}

/// Safety invariants: checked at every step, so the heal is not needed.
fn is_safety(invariant: &str) -> bool {
    matches!(
        invariant,
        "single-run"
            | "job-needs-agent-lock"
            | "fenced-before-takeover"
            | "one-master-per-partition"
    )
}

struct Shrinker<'a> {
    cfg: &'a FuzzConfig,
    invariant: &'static str,
    replays: usize,
}

impl Shrinker<'_> {
    /// Replays fault `batches` (+ heal if `heal`); the violation if it is
    /// the one being shrunk.
    fn repro(&mut self, setup: &Setup, batches: &[Vec<String>], heal: bool) -> Option<Violation> {
        self.replays += 1;
        let r = driver::run(
            setup,
            Faults::Fixed(batches.iter().cloned().collect()),
            heal,
            true,
            self.cfg,
        );
        r.violation.filter(|v| v.invariant == self.invariant)
    }

    /// 1-minimal subset of the commands of `batches` (batch structure kept).
    fn minimize(&mut self, setup: &Setup, batches: &[Vec<String>], heal: bool) -> Vec<Vec<String>> {
        let all: Vec<(usize, String)> = batches
            .iter()
            .enumerate()
            .flat_map(|(i, b)| b.iter().map(move |c| (i, c.clone())))
            .collect();
        let build = |keep: &BTreeSet<usize>| -> Vec<Vec<String>> {
            let mut out = vec![Vec::new(); batches.len()];
            for (k, (i, c)) in all.iter().enumerate() {
                if keep.contains(&k) {
                    out[*i].push(c.clone());
                }
            }
            out
        };
        let mut keep: BTreeSet<usize> = (0..all.len()).collect();
        // ddmin: try removing each of n chunks.
        let mut n = 2;
        while keep.len() >= 2 {
            let items: Vec<usize> = keep.iter().copied().collect();
            let size = items.len().div_ceil(n);
            let mut reduced = false;
            for chunk in items.chunks(size) {
                let cand: BTreeSet<usize> = keep
                    .difference(&chunk.iter().copied().collect())
                    .copied()
                    .collect();
                if self.repro(setup, &build(&cand), heal).is_some() {
                    keep = cand;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= items.len() {
                    break;
                }
                n = (2 * n).min(items.len());
            }
        }
        // 1-minimal: no single command can go.
        loop {
            let mut changed = false;
            for k in keep.clone() {
                let mut cand = keep.clone();
                cand.remove(&k);
                if self.repro(setup, &build(&cand), heal).is_some() {
                    keep = cand;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        build(&keep)
    }

    /// Drops empty batches where the violation stays.
    fn drop_empty(
        &mut self,
        setup: &Setup,
        mut batches: Vec<Vec<String>>,
        heal: bool,
    ) -> Vec<Vec<String>> {
        let mut i = batches.len();
        while i > 0 {
            i -= 1;
            if batches[i].is_empty() {
                let mut cand = batches.clone();
                cand.remove(i);
                if self.repro(setup, &cand, heal).is_some() {
                    batches = cand;
                }
            }
        }
        batches
    }

    /// Drops services the violation does not need.
    fn drop_services(&mut self, mut setup: Setup, batches: &[Vec<String>]) -> Setup {
        let Some(Value::Object(services)) = setup
            .files
            .get("service_config")
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        else {
            return setup;
        };
        let mut current = services.clone();
        for sid in services.keys() {
            let mut cand_services = current.clone();
            cand_services.remove(sid);
            let mut cand = setup.clone();
            cand.files.insert(
                "service_config".into(),
                pretty(&Value::Object(cand_services.clone())),
            );
            if self.repro(&cand, batches, true).is_some() {
                current = cand_services;
                setup = cand;
            }
        }
        setup
    }
}

/// Shrinks a failing `seed`; `None` if it does not fail.
pub fn shrink(seed: u64, cfg: &FuzzConfig) -> Option<Shrunk> {
    let (g, setup) = Generator::new(seed, cfg);
    let first = driver::run(&setup, Faults::Generated(Box::new(g)), true, true, cfg);
    let violation = first.violation?;
    let faults: Vec<Vec<String>> = first.batches[..first.fault_batches].to_vec();
    let commands_before = faults.iter().map(Vec::len).sum();
    let mut s = Shrinker {
        cfg,
        invariant: violation.invariant,
        replays: 0,
    };
    let faults = s.minimize(&setup, &faults, true);
    let faults = s.drop_empty(&setup, faults, true);
    let setup = s.drop_services(setup, &faults);
    let full = driver::run(
        &setup,
        Faults::Fixed(faults.iter().cloned().collect()),
        true,
        true,
        cfg,
    );
    let mut cmdlist = full.batches;
    if is_safety(violation.invariant) && s.repro(&setup, &cmdlist, false).is_some() {
        cmdlist = s.minimize(&setup, &cmdlist, false);
        cmdlist = s.drop_empty(&setup, cmdlist, false);
        // Dropping batches moves later ones in time: minimize once more so
        // the final list is 1-minimal.
        cmdlist = s.minimize(&setup, &cmdlist, false);
    }
    let heal = !is_safety(violation.invariant);
    let last = driver::run(
        &setup,
        Faults::Fixed(cmdlist.iter().cloned().collect()),
        false,
        heal,
        cfg,
    );
    let violation = last.violation.unwrap_or(violation);
    Some(Shrunk {
        seed,
        commands_after: cmdlist.iter().map(Vec::len).sum(),
        violation,
        setup,
        cmdlist,
        commands_before,
        replays: s.replays,
    })
}

/// The `cmdlist` text: one batch per line, like the scenarios of
/// `tests/scenarios/`.
pub fn cmdlist_text(cmdlist: &[Vec<String>]) -> String {
    let lines: Vec<String> = cmdlist
        .iter()
        .map(|b| {
            if b.is_empty() {
                "    []".to_string()
            } else {
                let cmds: Vec<String> = b
                    .iter()
                    .map(|c| Value::from(c.as_str()).to_string())
                    .collect();
                format!("    [ {} ]", cmds.join(", "))
            }
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

/// Writes `s` as `<root>/test-fuzz-<invariant>-seed<N>/` (cmdlist,
/// hardware_status, service_config, manager_status, datacenter.cfg,
/// log.expect from the plain tester, README); returns the directory.
pub fn write_scenario(root: &Path, s: &Shrunk, cfg: &FuzzConfig) -> io::Result<PathBuf> {
    let dir = root.join(format!(
        "test-fuzz-{}-seed{}",
        s.violation.invariant, s.seed
    ));
    std::fs::create_dir_all(&dir)?;
    for (name, text) in &s.setup.files {
        std::fs::write(dir.join(name), text)?;
    }
    std::fs::write(dir.join("cmdlist"), cmdlist_text(&s.cmdlist))?;
    let mut scenario = scenario_of(&s.setup);
    scenario.cmdlist = s.cmdlist.clone();
    let log = run_scenario(&scenario, RunOptions::default()).log;
    std::fs::write(dir.join("log.expect"), log)?;
    let planted = if cfg.planted_double_grant {
        "\nFound with the planted test bug (FuzzConfig::planted_double_grant: an agent\n\
         lock held by one node is granted to a second one). The plain tester has no\n\
         such bug, so log.expect shows the correct behaviour of this cmdlist.\n"
    } else {
        ""
    };
    let readme = format!(
        "Found by `pve-ha tester --fuzz {seed}..{seed}` (nodes {}..{}, services {}..{}),\n\
         shrunk from {} fault commands to a {}-command cmdlist ({} replays).\n\n\
         Invariant: {}\nSecond: {}\nDetail: {}\n{planted}",
        cfg.nodes.0,
        cfg.nodes.1,
        cfg.services.0,
        cfg.services.1,
        s.commands_before,
        s.commands_after,
        s.replays,
        s.violation.invariant,
        s.violation.second,
        s.violation.detail,
        seed = s.seed,
    );
    std::fs::write(dir.join("README"), readme)?;
    Ok(dir)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
