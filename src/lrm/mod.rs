//! The local resource manager (05). SCAFFOLD — fixes the API the drivers
//! (simulator, real daemon) call while the state machine is written.

use crate::env::{Env, EnvResult, LogLevel};

/// One node's LRM.
#[derive(Debug)]
pub struct Lrm {
    shutdown_request: bool,
}

impl Lrm {
    /// Creates the daemon; logs `status change startup => wait_for_agent_lock`.
    pub fn new(env: &mut dyn Env) -> Self {
        env.log(LogLevel::Info, "status change startup => wait_for_agent_lock");
        Lrm {
            shutdown_request: false,
        }
    }

    /// Delivers a shutdown (or restart) request (05 §7).
    pub fn shutdown_request(&mut self, _env: &mut dyn Env) {
        self.shutdown_request = true;
    }

    /// One iteration; `Ok(false)` means the daemon exits.
    pub fn do_one_iteration(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        env.loop_start_hook()?;
        env.loop_end_hook()?;
        Ok(!self.shutdown_request)
    }
}
