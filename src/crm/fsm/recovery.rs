//! The `recovery` handler (03 §5.7, §12.3–§12.4): move a fenced service's
//! guest to the best online node and hand it back to the normal states.

use super::{node_of, requested_run_state, state_of, StateParams};
use crate::crm::manager::{Manager, Round};
use crate::crm::placement::{select_service_node_logged, NodePreference};
use crate::env::{Env, EnvResult, LogLevel, ServiceConf};
use crate::types::{RequestedState, ServiceState, Sid};

/// Guest locks that are safe to drop once the guest's node was fenced
/// (02 §7.1), in the order the resource plugin tries them.
pub const RECOVERY_REMOVABLE_LOCKS: &[&str] = &[
    "backup",
    "mounted",
    "migrate",
    "clone",
    "rollback",
    "snapshot",
    "snapshot-delete",
    "suspending",
    "suspended",
];

/// Runs the handler. Environment errors (lock removal for an unknown
/// resource type, a failed configuration move) abort the round.
pub(super) fn run(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    cd: &ServiceConf,
    round: &mut Round,
) -> EnvResult<()> {
    if state_of(m, sid) != Some(ServiceState::Recovery) {
        // Unreachable guard kept from upstream.
        let state =
            m.ss.get(sid)
                .and_then(|sd| sd.state.as_ref().map(ToString::to_string))
                .unwrap_or_default();
        env.log(
            LogLevel::Err,
            &format!("cannot recover service '{sid}' from fencing, wrong state '{state}'"),
        );
        return Ok(());
    }
    let fenced = node_of(m, sid);
    let selected = select_service_node_logged(
        env,
        &m.rules,
        &m.usage,
        sid,
        cd,
        &m.ss,
        NodePreference::BestScore,
    );
    let Some(node) = selected else {
        // Logged again in every pass that reaches the handler (03 §5.7).
        env.log(
            LogLevel::Err,
            &format!(
                "recovering service '{sid}' from fenced node '{fenced}' failed, no recovery node found"
            ),
        );
        if cd.state == RequestedState::Disabled {
            if let Some(sd) = m.ss.get_mut(sid) {
                sd.failed_nodes = None;
            }
            m.change_service_state(env, sid, ServiceState::Stopped, StateParams::default());
        }
        return Ok(());
    };

    if node == fenced {
        env.log(
            LogLevel::Info,
            &format!("recover service '{sid}' to previous failed and fenced node '{fenced}' again"),
        );
    } else {
        env.log(
            LogLevel::Info,
            &format!("recover service '{sid}' from fenced node '{fenced}' to node '{node}'"),
        );
    }
    // The fenced node was reset, so locks of interrupted tasks are stale.
    if let Some(lock) = env.resource_remove_locks(sid, RECOVERY_REMOVABLE_LOCKS, &fenced)? {
        env.log(
            LogLevel::Warning,
            &format!(
                "removed leftover lock '{lock}' from recovered service '{sid}' to allow its start."
            ),
        );
    }
    env.steal_service(sid, &fenced, &node)?;
    // Later handlers in this round see the moved configuration (03 §4.5).
    if let Some(c) = round.sc.get_mut(sid) {
        c.node = node.clone();
    }
    if let Some(sd) = m.ss.get_mut(sid) {
        sd.node = Some(node.clone());
    }
    m.change_service_state(env, sid, requested_run_state(cd), StateParams::node(node));
    Ok(())
}
