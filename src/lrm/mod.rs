//! The local resource manager (05). SCAFFOLD — fixes the API the drivers
//! (simulator, real daemon) call while the state machine is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::env::{Env, EnvResult, LogLevel};

/// State shared by every LRM instance of one process (05 §2.1, 01 §6.13):
/// the "status written at startup" flag. The driver creates one per
/// process (per simulation run) and hands it to every `Lrm::new`.
#[derive(Debug, Clone, Default)]
pub struct LrmShared {
    startup_status_written: Arc<AtomicBool>,
}

impl LrmShared {
    /// Whether some LRM already wrote its startup status.
    pub fn startup_status_written(&self) -> bool {
        self.startup_status_written.load(Ordering::SeqCst)
    }

    /// Records that the startup status was written.
    pub fn set_startup_status_written(&self) {
        self.startup_status_written.store(true, Ordering::SeqCst);
    }
}

/// One node's LRM.
#[derive(Debug)]
pub struct Lrm {
    shutdown_request: bool,
}

impl Lrm {
    /// Creates the daemon; logs `status change startup => wait_for_agent_lock`.
    pub fn new(env: &mut dyn Env, _shared: &LrmShared) -> Self {
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
