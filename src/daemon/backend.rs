//! The seam between the runtime and an environment. The runtime knows
//! only this trait: the real node's backend (pmxcfs, syslog, the
//! watchdog-mux client, the guest helper) plugs in here, tests bring a
//! simulated one, and neither the runtime nor the state machines change.

use std::io::Write;

use crate::env::{Env, LogLevel};

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
/// place that chooses the real environment. `debug` is `start --debug`
/// (stay in the foreground and copy the log to standard error).
pub fn default_backend(role: Role, debug: bool) -> Box<dyn Backend> {
    // The stand-in logs to standard error whether or not `debug` asks for
    // the copy there: it has no syslog to prefer.
    let _ = debug;
    Box::new(Unwired { role })
}

/// Stand-in until the real environment is built into the binary: logs to
/// standard error, and opening the environment fails.
struct Unwired {
    role: Role,
}

impl Backend for Unwired {
    fn log(&mut self, _level: LogLevel, msg: &str) {
        let line = format!("{}[{}]: {}\n", self.role.name(), std::process::id(), msg);
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn open(&mut self) -> Result<Box<dyn Env>, BackendError> {
        Err(BackendError(
            "no real environment built into this binary yet".into(),
        ))
    }
}
