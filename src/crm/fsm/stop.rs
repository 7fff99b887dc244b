//! The `request_stop` (03 §5.3) and `stopped` (03 §5.4) handlers.

use super::command::{clear_cmd, log_unknown_command, move_target_ok, Pending};
use super::{log_unknown_requested_state, node_of, node_state_is, offline_delayed, StateParams};
use crate::config::status::LrmResult;
use crate::crm::manager::Manager;
use crate::env::{Env, LogLevel, ServiceConf};
use crate::types::{NodeState, RequestedState, ResultCode, ServiceState, Sid};

/// `request_stop`: wait for the LRM's stop result; fence when the node
/// is gone for good (no maintenance exemption here). A pending `cmd` is not
/// looked at.
pub(super) fn run_request_stop(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    lrm_res: Option<&LrmResult>,
) {
    if let Some(res) = lrm_res {
        if res.exit_code == ResultCode::Success {
            m.change_service_state(env, sid, ServiceState::Stopped, StateParams::default());
        } else {
            env.log(
                LogLevel::Err,
                &format!("service '{sid}' stop failed (exit code {})", res.exit_code),
            );
            m.change_service_state(env, sid, ServiceState::Error, StateParams::default());
        }
        return;
    }
    let node = node_of(m, sid);
    if offline_delayed(m, env, &node) {
        m.change_service_state(env, sid, ServiceState::Fence, StateParams::default());
    }
}

/// `stopped`: location fixup, pending commands, then the requested state.
/// The LRM result is never looked at (the LRM re-executes the stop every
/// round).
pub(super) fn run_stopped(m: &mut Manager, env: &mut dyn Env, sid: &Sid, cd: &ServiceConf) {
    // Step 1: the guest's configuration moved while it was stopped (e.g.
    // fenced during a migration): follow it.
    let node = node_of(m, sid);
    if node != cd.node {
        env.log(
            LogLevel::Info,
            &format!("fixup service '{sid}' location ({node} => {})", cd.node),
        );
        if let Some(sd) = m.ss.get_mut(sid) {
            sd.node = Some(cd.node.clone());
        }
    }
    let node = node_of(m, sid);

    // Step 2: commands are honoured whatever the requested state is
    // (test-relocate-to-inactive-node); a move from `stopped` logs no
    // `<task> service …` line (03 §16 Q3).
    if let Some(cmd) = m.ss.get(sid).and_then(|sd| sd.cmd.clone()) {
        match Pending::from_cmd(&cmd) {
            Pending::Move(task, target) => {
                if move_target_ok(m, env, sid, task, &target, &node) {
                    m.change_service_state(env, sid, task, StateParams::move_to(node, target));
                    return;
                }
            }
            Pending::Stop(_) => env.log(
                LogLevel::Info,
                &format!("ignore service '{sid}' stop request - service already stopped"),
            ),
            Pending::Unknown(word) => log_unknown_command(env, sid, &word),
        }
        clear_cmd(m, sid);
    }

    // Step 3: a disabled service is never fenced or recovered.
    if cd.state == RequestedState::Disabled {
        return;
    }
    // Step 4: a stopped service on a node in maintenance is not fenced
    // even when the node is powered off (test-shutdown-policy4).
    if offline_delayed(m, env, &node) && !node_state_is(m, &node, NodeState::Maintenance) {
        m.change_service_state(env, sid, ServiceState::Fence, StateParams::default());
        return;
    }
    match cd.state {
        RequestedState::Stopped => {}
        RequestedState::Started => {
            m.change_service_state(
                env,
                sid,
                ServiceState::RequestStart,
                StateParams::node(node),
            );
        }
        _ => log_unknown_requested_state(env, sid, cd),
    }
}
