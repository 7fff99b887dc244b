//! The seam between the runtime and an environment. The runtime knows
//! only this trait: the real node's backend (pmxcfs, syslog, the
//! watchdog-mux client, the guest helper) plugs in here, tests bring a
//! simulated one, and neither the runtime nor the state machines change.

use crate::env::{Env, LogLevel};
use crate::pve::env::{PveConfig, PveEnv};
use crate::pve::log::Logger;

use super::Role;

/// Why an environment could not be created (the runtime logs it as
/// `ERROR: <message>` and exits 255, 07 §6.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What a daemon process needs from its environment's provider.
pub trait Backend {
    /// Logs one of the runtime's own lines (`starting server`, `received
    /// signal TERM`, `server stopped`, the stop command's messages) under
    /// the daemon's identifier, before and after the environment exists.
    /// Must not block and must not fail (a lost line is acceptable).
    fn log(&mut self, level: LogLevel, msg: &str);

    /// Creates the environment of the local node, once, in the daemon
    /// process itself (after daemonizing: threads the environment starts,
    /// e.g. the LRM's worker pool, exist only from here on). The runtime
    /// then constructs the CRM or LRM on it.
    fn open(&mut self) -> Result<Box<dyn Env>, BackendError>;
}

/// The backend the `pve-ha-crm`/`pve-ha-lrm` command line uses: the one
/// place that chooses the real environment — today the Proxmox VE node
/// (`PveEnv` over `PVE_HA_ROOT`, syslog, watchdog-mux, the guest helper).
/// `debug` is `start --debug` (stay in the foreground and copy the log to
/// standard error).
pub fn default_backend(role: Role, debug: bool) -> Box<dyn Backend> {
    Box::new(Pve {
        role,
        debug,
        log: Logger::new(role.name(), debug),
    })
}

/// A Proxmox VE node: the runtime's own lines go to the same syslog
/// identity as the environment's.
struct Pve {
    role: Role,
    debug: bool,
    log: Logger,
}

impl Backend for Pve {
    fn log(&mut self, level: LogLevel, msg: &str) {
        let _ = self.log.log(level, msg);
    }

    fn open(&mut self) -> Result<Box<dyn Env>, BackendError> {
        let cfg = PveConfig::from_host(self.role, self.debug)
            .map_err(|e| BackendError(format!("unable to read the node name - {e}")))?;
        // Without the cluster file system there is nothing to protect and
        // no quorum to wait for: say so instead of idling in
        // `wait_for_quorum` forever.
        if !cfg.root.is_dir() {
            return Err(BackendError(format!(
                "pve configuration filesystem not mounted ('{}' is not a directory)",
                cfg.root.display()
            )));
        }
        let env = PveEnv::new(cfg).map_err(|e| BackendError(e.to_string()))?;
        Ok(Box::new(env))
    }
}
