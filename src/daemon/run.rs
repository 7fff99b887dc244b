//! `start` (07 §6.2) and the daemon's main loop (02 §2.2, 05 §15.2).
//!
//! The loop is upstream's `while do_one_iteration {}` plus one safe point
//! before every iteration, where pending signals are logged and turned
//! into the state machine's `shutdown_request` (07 §6.4). An iteration
//! that fails (or panics) ends the loop through the error exit of §6.7.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::crm::Crm;
use crate::env::{Env, EnvResult, LogLevel};
use crate::lrm::{Lrm, LrmShared};

use super::files::{self, InstanceLock};
use super::process::{self, Ready};
use super::signals;
use super::{Backend, DaemonError, Role, RunFiles};

/// Exit status after the loop ended normally.
pub const EXIT_OK: i32 = 0;
/// Exit status of a start failure or the error exit (Perl's `die`).
pub const EXIT_FAILED: i32 = 255;

/// The pause between two attempts at the instance lock.
const LOCK_PAUSE: Duration = Duration::from_secs(1);

/// Runs the daemon: takes the instance lock, daemonizes unless `debug`,
/// writes the pid file, and drives the state machine until it exits.
/// Returns the exit status (0, or 255 after the error exit); `Err` is a
/// start failure, which the caller reports as `start failed - <error>`
/// (status 255). Without `debug` only the daemon process returns: the
/// parent exits once the pid file is written.
pub fn start(
    role: Role,
    files: &RunFiles,
    debug: bool,
    backend: &mut dyn Backend,
) -> Result<i32, DaemonError> {
    // Before anything is locked, forked or written: a node whose budget
    // is unsafe must not even start (07 §10.1).
    backend
        .preflight()
        .map_err(|e| DaemonError::Refused(e.to_string()))?;
    let (_lock, ready) = prepare(role, files, debug, backend)?;
    if let Some(ready) = ready {
        ready.done();
    }
    let code = match run(role, backend) {
        Ok(()) => EXIT_OK,
        Err(()) => EXIT_FAILED,
    };
    backend.log(LogLevel::Info, "server stopped");
    if let Err(e) = files::remove_both(files) {
        backend.log(LogLevel::Err, &e.to_string());
    }
    Ok(code)
}

/// Steps 2–6 of 07 §6.2, up to the moment the daemon is ready.
fn prepare(
    role: Role,
    files: &RunFiles,
    debug: bool,
    backend: &mut dyn Backend,
) -> Result<(InstanceLock, Option<Ready>), DaemonError> {
    if !process::is_root() {
        return Err(DaemonError::NotRoot);
    }
    let lock = files::acquire(files, LOCK_PAUSE)?;
    let ready = if debug {
        None
    } else {
        process::detach_stdio()?;
        Some(process::fork_and_wait()?)
    };
    files::write_pid(files)?;
    backend.log(LogLevel::Info, "starting server");
    if !debug {
        process::new_session();
        process::stderr_to_stdout();
    }
    signals::install().map_err(|e| DaemonError::Sys {
        what: "sigaction",
        reason: super::errno_text(&e),
    })?;
    process::set_title(role.name());
    Ok((lock, ready))
}

/// A state machine the loop can drive: the CRM or the LRM.
trait Machine {
    fn iterate(&mut self, env: &mut dyn Env) -> EnvResult<bool>;
    fn shutdown_request(&mut self, env: &mut dyn Env);
}

impl Machine for Crm {
    fn iterate(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        self.do_one_iteration(env)
    }
    fn shutdown_request(&mut self, env: &mut dyn Env) {
        Crm::shutdown_request(self, env)
    }
}

impl Machine for Lrm {
    fn iterate(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        self.do_one_iteration(env)
    }
    fn shutdown_request(&mut self, env: &mut dyn Env) {
        Lrm::shutdown_request(self, env)
    }
}

/// Step 7: the environment, the state machine and the loop. `Err` means
/// the error exit has been logged (07 §6.7 steps 1–2).
fn run(role: Role, backend: &mut dyn Backend) -> Result<(), ()> {
    let mut env = match backend.open() {
        Ok(env) => env,
        Err(e) => {
            backend.log(LogLevel::Err, &format!("ERROR: {e}"));
            return Err(());
        }
    };
    let env = &mut *env;
    let timing = backend.timing();
    let mut machine: Box<dyn Machine> = match role {
        Role::Crm => Box::new(Crm::new(env, timing)),
        // One LRM per process: the process-wide startup-write flag is
        // this process's.
        Role::Lrm => Box::new(Lrm::new(env, &LrmShared::default(), timing)),
    };
    loop {
        deliver_signals(machine.as_mut(), env, backend);
        let error = match catch_unwind(AssertUnwindSafe(|| machine.iterate(env))) {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) => return Ok(()),
            Ok(Err(e)) => e.message().to_string(),
            Err(_) => "internal error (panic in the daemon loop)".to_string(),
        };
        backend.log(LogLevel::Err, &format!("ERROR: {error}"));
        // The framework's shutdown hook after a failure (07 §6.7 step 2).
        let _ = catch_unwind(AssertUnwindSafe(|| machine.shutdown_request(env)));
        return Err(());
    }
}

/// The safe point: logs each pending signal and turns a stop signal into
/// the state machine's shutdown request (repeated requests are ignored by
/// the machines themselves).
fn deliver_signals(machine: &mut dyn Machine, env: &mut dyn Env, backend: &mut dyn Backend) {
    for sig in signals::take() {
        backend.log(LogLevel::Info, &format!("received signal {}", sig.name()));
        if sig.requests_shutdown() {
            machine.shutdown_request(env);
        }
    }
}
