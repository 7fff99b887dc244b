//! The `error` handler (03 §5.9): only requested state `disabled` leads
//! out of `error`.

use crate::crm::manager::Manager;
use crate::env::{Env, ServiceConf};
use crate::types::{RequestedState, ServiceState, Sid};

/// Runs the handler: `disabled` clears `failed_nodes` and goes `stopped`;
/// anything else waits silently (no fencing, no moves, `cmd` untouched).
pub(super) fn run(m: &mut Manager, env: &mut dyn Env, sid: &Sid, cd: &ServiceConf) {
    if cd.state != RequestedState::Disabled {
        return;
    }
    if let Some(sd) = m.ss.get_mut(sid) {
        sd.failed_nodes = None;
    }
    m.change_service_state(env, sid, ServiceState::Stopped, Default::default());
}
