//! The `started` handler (03 §5.2): fence on a dead node, follow the
//! requested state, execute pending commands, apply the start-failure
//! policy and re-evaluate placement (failback, rules, maintenance).

use super::command::{clear_cmd, log_unknown_command, move_target_ok, Pending};
use super::start_failure::apply_start_result;
use super::{log_unknown_requested_state, node_of, node_state_is, offline_delayed, StateParams};
use crate::config::status::LrmResult;
use crate::crm::manager::Manager;
use crate::crm::placement::{select_service_node_logged, NodePreference};
use crate::env::{Env, EnvResult, LogLevel, ServiceConf, ServiceConfigChange};
use crate::types::perl;
use crate::types::{NodeState, RequestedState, ServiceState, Sid};

/// Runs the handler in the exact order of 03 §5.2. The only error is a
/// failed configuration write of the `stop` command.
pub(super) fn run(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    cd: &ServiceConf,
    lrm_res: Option<&LrmResult>,
) -> EnvResult<()> {
    let node = node_of(m, sid);

    // Step 1. In maintenance the handler carries on even after changing to
    // `fence` (03 §16 Q1): a powered-off maintenance node still gets its
    // services moved or stopped from `fence`.
    if !node_state_is(m, &node, NodeState::Online) {
        if offline_delayed(m, env, &node) {
            m.change_service_state(env, sid, ServiceState::Fence, StateParams::default());
        }
        if !node_state_is(m, &node, NodeState::Maintenance) {
            return Ok(());
        }
        if let Some(sd) = m.ss.get_mut(sid) {
            sd.maintenance_node = Some(node.clone());
        }
    }

    // Steps 2 and 4.
    match cd.state {
        RequestedState::Disabled | RequestedState::Stopped => {
            m.change_service_state(env, sid, ServiceState::RequestStop, StateParams::default());
            return Ok(());
        }
        RequestedState::Started => {}
        RequestedState::Ignored => {
            log_unknown_requested_state(env, sid, cd);
            return Ok(());
        }
    }

    // Step 3.1: a command hides this pass's LRM result (03 §16 Q6).
    if let Some(cmd) = m.ss.get(sid).and_then(|sd| sd.cmd.clone()) {
        run_command(m, env, sid, &node, &Pending::from_cmd(&cmd))?;
        clear_cmd(m, sid);
        return Ok(());
    }

    // Step 3.2.
    let mut pref = NodePreference::None;
    if let Some(res) = lrm_res {
        match apply_start_result(m, env, sid, cd, res) {
            Some(p) => pref = p,
            None => return Ok(()),
        }
    }
    let selected = select_service_node_logged(env, &m.rules, &m.usage, sid, cd, &m.ss, pref);
    match selected {
        Some(target) if target != node => move_service(m, env, sid, &node, target),
        selected => {
            stay(
                m,
                env,
                sid,
                &node,
                pref,
                selected.is_none(),
                lrm_res.is_some(),
            );
        }
    }
    Ok(())
}

/// Step 3.1: a pending `migrate`/`relocate`/`stop` command.
fn run_command(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    node: &str,
    cmd: &Pending,
) -> EnvResult<()> {
    match cmd {
        Pending::Move(task, target) => {
            if move_target_ok(m, env, sid, *task, target, node) {
                // Manual moves log no `(running)` (03 §16 Q3).
                env.log(
                    LogLevel::Info,
                    &format!("{task} service '{sid}' to node '{target}'"),
                );
                m.change_service_state(env, sid, *task, StateParams::move_to(node, target.clone()));
            }
        }
        Pending::Stop(timeout) => {
            if perl::number(timeout) == 0.0 {
                env.log(
                    LogLevel::Info,
                    &format!("request immediate service hard-stop for service '{sid}'"),
                );
            } else {
                env.log(
                    LogLevel::Info,
                    &format!("request graceful stop with timeout '{timeout}' for service '{sid}'"),
                );
            }
            m.change_service_state(
                env,
                sid,
                ServiceState::RequestStop,
                StateParams::timeout(timeout.clone()),
            );
            // The service stays stopped afterwards (03 §16 Q8); the new
            // configuration is seen from the next round on.
            let mut change = ServiceConfigChange::default();
            change.set.insert("state".into(), "stopped".into());
            env.update_service_config(&[(sid.clone(), change)].into_iter().collect())?;
        }
        Pending::Unknown(word) => log_unknown_command(env, sid, word),
    }
    Ok(())
}

/// Step 3.2.4: move to the selected node, settling the maintenance
/// fallback first (03 §16 Q11 gives the line order).
fn move_service(m: &mut Manager, env: &mut dyn Env, sid: &Sid, node: &str, target: String) {
    if let Some(sd) = m.ss.get_mut(sid) {
        if let Some(fallback) = sd.maintenance_node.clone() {
            if target == fallback {
                env.log(
                    LogLevel::Info,
                    &format!(
                        "moving service '{sid}' back to '{fallback}', node came back from maintenance."
                    ),
                );
                sd.maintenance_node = None;
            } else if node != fallback {
                env.log(
                    LogLevel::Info,
                    &format!("dropping maintenance fallback node '{fallback}' for '{sid}'"),
                );
                sd.maintenance_node = None;
            }
            // Otherwise the service is leaving its maintenance node: keep
            // the fallback so it comes back later.
        }
    }
    let task = if sid.type_str() == "vm" {
        env.log(
            LogLevel::Info,
            &format!("migrate service '{sid}' to node '{target}' (running)"),
        );
        ServiceState::Migrate
    } else {
        env.log(
            LogLevel::Info,
            &format!("relocate service '{sid}' to node '{target}'"),
        );
        ServiceState::Relocate
    };
    m.change_service_state(env, sid, task, StateParams::move_to(node, target));
}

/// Step 3.2.5: stay on the current node.
fn stay(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    node: &str,
    pref: NodePreference,
    nothing_selected: bool,
    had_result: bool,
) {
    let node_online = node_state_is(m, node, NodeState::Online);
    let uid = had_result.then(|| m.new_uid(env));
    let Some(sd) = m.ss.get_mut(sid) else { return };
    if pref == NodePreference::TryNext && nothing_selected {
        let tried = sd.failed_nodes.as_deref().unwrap_or_default().join(", ");
        env.log(
            LogLevel::Warning,
            &format!(
                "Start Error Recovery: Tried all available nodes for service '{sid}', retry start on current node. Tried nodes: {tried}"
            ),
        );
    }
    if sd.maintenance_node.as_deref() == Some(node) && node_online {
        env.log(
            LogLevel::Info,
            &format!("service '{sid}': clearing stale maintenance node '{node}' setting (is current node)"),
        );
        sd.maintenance_node = None;
    }
    // Re-arm the start (03 §3.1 item 3, §16 Q4): the LRM checks again for
    // the new uid, and no result is ever lost.
    if let Some(uid) = uid {
        sd.uid = Some(uid);
    }
}
