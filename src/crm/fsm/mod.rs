//! The per-service state machine (03): the state-change routine and the
//! handler the manager's service passes run for each CRM service state.
//!
//! The handlers are free functions over the [`Manager`] (one module per
//! handler family) so that the manager's own `impl` blocks cannot clash
//! with them; only [`Manager::change_service_state`] and
//! [`Manager::next_state`] are the manager-facing API.

mod change;
mod command;
mod error;
mod migrate;
mod recovery;
mod request_start;
mod start_failure;
mod started;
mod stop;

#[cfg(test)]
pub(crate) mod test_env;
#[cfg(test)]
mod tests;

use crate::config::status::{LrmResult, ServiceEntry};
use crate::crm::manager::{Manager, Round};
use crate::env::{Env, EnvResult, LogLevel, ServiceConf};
use crate::types::{NodeState, OrUnknown, RequestedState, ServiceState, Sid};

/// Named parameters of a state change (03 §2), logged in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateParams {
    /// New `node`.
    pub node: Option<String>,
    /// New `target`.
    pub target: Option<String>,
    /// New `timeout` (the literal token of a `stop` command).
    pub timeout: Option<String>,
}

impl StateParams {
    /// Only `node`.
    pub fn node(node: impl Into<String>) -> Self {
        StateParams {
            node: Some(node.into()),
            ..Default::default()
        }
    }

    /// `node` and `target` (moves).
    pub fn move_to(node: impl Into<String>, target: impl Into<String>) -> Self {
        StateParams {
            node: Some(node.into()),
            target: Some(target.into()),
            ..Default::default()
        }
    }

    /// Only `timeout`.
    pub fn timeout(timeout: impl Into<String>) -> Self {
        StateParams {
            timeout: Some(timeout.into()),
            ..Default::default()
        }
    }
}

/// The configuration a service without one is handled with (03 §1.2):
/// `{state: disabled}` and nothing else, so `failback` and `max_relocate`
/// read as upstream's undefined values (false, 0) and the node as empty.
pub fn missing_conf() -> ServiceConf {
    ServiceConf {
        node: String::new(),
        state: RequestedState::Disabled,
        failback: false,
        max_restart: 0,
        max_relocate: 0,
        group: None,
        comment: None,
    }
}

impl Manager {
    /// Runs the handler of the service's current state (03 §5) for the
    /// states `request_start`, `started`, `request_stop`, `stopped`,
    /// `migrate`, `relocate`, `request_start_balance`, `recovery` and
    /// `error`. `fence` and `freeze` have no handler here (the pass loop
    /// runs the fencing block and the unfreeze check), and entries with a
    /// missing or unknown state word are left alone (the pass loop reports
    /// those).
    ///
    /// `lrm_res` is the result for the uid the entry had when the pass
    /// reached it (03 §3.2); the configuration is `round.sc[sid]` or
    /// [`missing_conf`]. Errors come from environment operations the
    /// handlers need (configuration write of the `stop` command, guest
    /// lock removal and configuration move on recovery) and abort the
    /// round, as upstream's exceptions do.
    pub(crate) fn next_state(
        &mut self,
        env: &mut dyn Env,
        sid: &Sid,
        round: &mut Round,
        lrm_res: Option<&LrmResult>,
    ) -> EnvResult<()> {
        let Some(state) = self.ss.get(sid).and_then(ServiceEntry::state_known) else {
            return Ok(());
        };
        if state == ServiceState::Recovery {
            // The only handler that changes the round's configuration (the
            // recovered node), so it gets its own copy of the entry.
            let cd = round.sc.get(sid).cloned().unwrap_or_else(missing_conf);
            return recovery::run(self, env, sid, &cd, round);
        }
        let missing;
        let cd = match round.sc.get(sid) {
            Some(cd) => cd,
            None => {
                missing = missing_conf();
                &missing
            }
        };
        match state {
            ServiceState::RequestStart => request_start::run(self, env, sid, cd),
            ServiceState::Started => started::run(self, env, sid, cd, lrm_res)?,
            ServiceState::RequestStop => stop::run_request_stop(self, env, sid, lrm_res),
            ServiceState::Stopped => stop::run_stopped(self, env, sid, cd),
            ServiceState::Migrate | ServiceState::Relocate | ServiceState::RequestStartBalance => {
                migrate::run(self, env, sid, cd, lrm_res)
            }
            ServiceState::Error => error::run(self, env, sid, cd),
            ServiceState::Recovery | ServiceState::Fence | ServiceState::Freeze => {}
        }
        Ok(())
    }
}

// --- small accessors the handlers share -----------------------------------

/// The entry's node, empty when it has none (upstream compares the
/// undefined value as an empty string).
fn node_of(m: &Manager, sid: &Sid) -> String {
    m.ss.get(sid)
        .and_then(|sd| sd.node.clone())
        .unwrap_or_default()
}

/// The entry's current state.
fn state_of(m: &Manager, sid: &Sid) -> Option<ServiceState> {
    m.ss.get(sid).and_then(ServiceEntry::state_known)
}

/// offline-delayed(node) (03 §0, 02 §5.4) at the environment's time.
fn offline_delayed(m: &mut Manager, env: &dyn Env, node: &str) -> bool {
    m.ns.offline_delayed(node, env.get_time(), m.timing.fence_delay)
}

/// Whether the node state of `node` is exactly `state`.
fn node_state_is(m: &Manager, node: &str, state: NodeState) -> bool {
    m.ns.get_node_state(node) == OrUnknown::Known(state)
}

/// Logs `service '<sid>' - unknown state '<state>' in service
/// configuration` (03 §5.2 step 4, §5.4 step 7).
fn log_unknown_requested_state(env: &mut dyn Env, sid: &Sid, cd: &ServiceConf) {
    env.log(
        LogLevel::Err,
        &format!(
            "service '{sid}' - unknown state '{}' in service configuration",
            cd.state
        ),
    );
}

/// The state a finished or failed move continues in (03 §3.4 `req`).
fn requested_run_state(cd: &ServiceConf) -> ServiceState {
    if cd.state == RequestedState::Started {
        ServiceState::Started
    } else {
        ServiceState::RequestStop
    }
}
