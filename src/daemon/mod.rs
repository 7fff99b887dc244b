//! The process runtime of `pve-ha-crm` and `pve-ha-lrm` (07 §6): the
//! instance lock and pid file, daemonizing, signals delivered as flags at
//! safe points, the main loop that drives the very `Crm`/`Lrm` the tester
//! drives (with `Timing::upstream()`), the `stop` command with its wait
//! times, `status`, and the error exit.
//!
//! The runtime does not know which environment it drives: a [`Backend`]
//! logs the runtime's own lines and opens the `Env` once the daemon
//! process exists (after the fork, so no environment thread is lost to
//! it). The command line (`src/cli/daemon.rs`) picks the backend through
//! [`backend::default_backend`]; tests bring their own.
//!
//! Module map: `role` (names, files, wait times), `files` (instance lock
//! and pid file), `process` (the few system calls: fork, sessions,
//! liveness), `signals` (the flag-setting handler), `run` (start and the
//! loop), `stop` (stop and status).

pub mod backend;
pub mod files;
pub mod process;
pub mod role;
pub mod run;
pub mod signals;
pub mod stop;

pub use backend::{Backend, BackendError};
pub use role::{Role, RunFiles};

/// A failure of the runtime itself (not of the state machine): its
/// display text is the message the spec prescribes.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// 07 §6.2 step 2.
    #[error("please run as root")]
    NotRoot,
    /// The lock file could not be opened.
    #[error("can't open lock '{path}' - {reason}")]
    OpenLock { path: String, reason: String },
    /// Another instance holds the lock (or flock failed).
    #[error("can't acquire lock '{path}' - {reason}")]
    AcquireLock { path: String, reason: String },
    /// The pid file could not be written.
    #[error("can't open pid file '{path}' - {reason}")]
    PidFile { path: String, reason: String },
    /// A system call of the daemonizing sequence failed.
    #[error("{what} failed - {reason}")]
    Sys { what: &'static str, reason: String },
    /// A removal during the clean-up failed.
    #[error("unable to delete '{path}' - {reason}")]
    Remove { path: String, reason: String },
    /// The backend refused to start: a bad node configuration or an
    /// unsafe failover budget (07 §10.1).
    #[error("{0}")]
    Refused(String),
}

pub(crate) use crate::sys::errno::errno_text;
