//! The CRM side of the start-failure policy (03 §9, §5.2 step 3.2.2): what
//! an LRM result for a `started` service means for `failed_nodes`, the
//! `running` flag and the node preference of the placement that follows.

use super::{node_of, StateParams};
use crate::config::status::LrmResult;
use crate::crm::manager::Manager;
use crate::crm::placement::NodePreference;
use crate::env::{Env, LogLevel, ServiceConf};
use crate::types::{ResultCode, ServiceState, Sid};

/// Applies the result of the current uid to a `started` service. Returns
/// the node preference for the placement step, or `None` when the
/// service went to `error` and the handler must stop.
pub(super) fn apply_start_result(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    cd: &ServiceConf,
    res: &LrmResult,
) -> Option<NodePreference> {
    let node = node_of(m, sid);
    let sd = m.ss.get_mut(sid)?;
    match res.exit_code {
        ResultCode::Success => {
            // The relocate count only resets after a successful start
            // (03 §9.2).
            if let Some(failed) = sd.failed_nodes.take() {
                env.log(
                    LogLevel::Info,
                    &format!(
                        "relocation policy successful for '{sid}' on node '{node}', failed nodes: {}",
                        failed.join(", ")
                    ),
                );
            }
            sd.running = true;
            Some(NodePreference::None)
        }
        ResultCode::Error | ResultCode::WrongNode => {
            sd.running = false;
            let failed = sd.failed_nodes.get_or_insert_with(Vec::new);
            failed.push(node.clone());
            let tries = i64::try_from(failed.len()).unwrap_or(i64::MAX);
            if tries <= cd.max_relocate {
                env.log(
                    LogLevel::Warning,
                    &format!("starting service {sid} on node '{node}' failed, relocating service."),
                );
                Some(NodePreference::TryNext)
            } else {
                let list = failed.join(", ");
                env.log(
                    LogLevel::Err,
                    &format!(
                        "recovery policy for service {sid} failed, entering error state. Failed nodes: {list}"
                    ),
                );
                m.change_service_state(env, sid, ServiceState::Error, StateParams::default());
                None
            }
        }
        code => {
            // Unrecoverable (including IGNORED, which only makes sense for
            // a rebalance-on-start move).
            sd.failed_nodes.get_or_insert_with(Vec::new).push(node);
            env.log(
                LogLevel::Err,
                &format!("service '{sid}' got unrecoverable error (exit code {code})"),
            );
            m.change_service_state(env, sid, ServiceState::Error, StateParams::default());
            None
        }
    }
}
