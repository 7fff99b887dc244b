//! The per-service state machine (03). SCAFFOLD — handlers are being
//! written; this file fixes the API the manager's service passes call.

use crate::config::status::LrmResult;
use crate::crm::manager::{Manager, Round};
use crate::env::{Env, EnvResult};
use crate::types::{ServiceState, Sid};

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

impl Manager {
    /// The state-change routine (03 §2).
    pub(crate) fn change_service_state(
        &mut self,
        _env: &mut dyn Env,
        _sid: &Sid,
        _new: ServiceState,
        _params: StateParams,
    ) {
    }

    /// Runs the handler of the service's current state (03 §5) for the
    /// states `request_start`, `started`, `request_stop`, `stopped`,
    /// `migrate`, `relocate`, `request_start_balance`, `recovery` and
    /// `error`. (`fence`, `freeze` and unknown words are handled by the
    /// pass loop.)
    pub(crate) fn next_state(
        &mut self,
        _env: &mut dyn Env,
        _sid: &Sid,
        _round: &mut Round,
        _lrm_res: Option<&LrmResult>,
    ) -> EnvResult<()> {
        Ok(())
    }
}
