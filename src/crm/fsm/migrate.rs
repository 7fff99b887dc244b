//! The shared handler of `migrate`, `relocate` and `request_start_balance`
//! (03 §5.5, §10.3–§10.4).

use super::{node_of, offline_delayed, requested_run_state, StateParams};
use crate::config::status::LrmResult;
use crate::crm::manager::Manager;
use crate::env::{Env, LogLevel, ServiceConf};
use crate::types::{ResultCode, ServiceState, Sid};

/// Runs the handler: act on the move's result, then fence when the
/// *source* node is gone for good. `EWRONG_NODE` and `IGNORED` fall through
/// to the fence check (03 §16 Q2); success and the other failures stop.
pub(super) fn run(
    m: &mut Manager,
    env: &mut dyn Env,
    sid: &Sid,
    cd: &ServiceConf,
    lrm_res: Option<&LrmResult>,
) {
    if let Some(res) = lrm_res {
        let req = requested_run_state(cd);
        let source = node_of(m, sid);
        match res.exit_code {
            ResultCode::Success => {
                // The LRM moved the guest's configuration; the CRM only
                // follows it (03 §5.5).
                let target = m.ss.get(sid).and_then(|sd| sd.target.clone());
                let params = StateParams {
                    node: target,
                    ..Default::default()
                };
                m.change_service_state(env, sid, req, params);
                return;
            }
            ResultCode::WrongNode => {
                // Prevents an endless migrate/started cycle when the
                // configuration is not on the source (test-service-command7).
                env.log(
                    LogLevel::Err,
                    &format!(
                        "service '{sid}' - migration failed: service registered on wrong node!"
                    ),
                );
                m.change_service_state(env, sid, ServiceState::Error, StateParams::default());
            }
            ResultCode::Ignored => {
                env.log(
                    LogLevel::Info,
                    &format!(
                        "service '{sid}' - rebalance-on-start request ignored - service already running"
                    ),
                );
                m.change_service_state(env, sid, req, StateParams::node(source));
            }
            code => {
                env.log(
                    LogLevel::Err,
                    &format!("service '{sid}' - migration failed (exit code {code})"),
                );
                m.change_service_state(env, sid, req, StateParams::node(source));
                return;
            }
        }
    }
    // The target node's state is never checked here.
    let source = node_of(m, sid);
    if offline_delayed(m, env, &source) {
        m.change_service_state(env, sid, ServiceState::Fence, StateParams::default());
    }
}
