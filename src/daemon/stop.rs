//! The `stop` and `status` commands (07 §6.1, §6.5).

use std::time::{Duration, Instant};

use crate::env::LogLevel;

use super::files;
use super::process::{process_running, send_signal};
use super::{Backend, DaemonError, RunFiles};

/// The pause between two liveness checks.
pub const POLL: Duration = Duration::from_secs(1);

/// How long `stop` waits for a process to vanish after SIGKILL before it
/// gives up (a process stuck in the kernel cannot be helped by waiting
/// longer, and systemd's own timeout applies on top).
const KILL_WAIT: Duration = Duration::from_secs(30);

/// What `stop` did.
#[derive(Debug)]
pub struct Stopped {
    /// The pid that was signalled, if a daemon was running.
    pub pid: Option<i32>,
    /// Whether it had to be killed after the wait.
    pub killed: bool,
    /// The clean-up of a left-over pid file, if one was needed and failed
    /// (reported as `cleanup failed - <error>`).
    pub cleanup: Result<(), DaemonError>,
}

/// Stops the daemon whose pid `files` names: SIGTERM, then a poll every
/// `poll` for up to `wait`; SIGKILL (logged `server still running - send
/// KILL`) only to a process still running. Afterwards a left-over pid
/// file is removed under the instance lock.
pub fn stop(
    files: &RunFiles,
    wait: Duration,
    poll: Duration,
    backend: &mut dyn Backend,
) -> Stopped {
    let mut out = Stopped {
        pid: None,
        killed: false,
        cleanup: Ok(()),
    };
    if let Some(pid) = files::read_pid(&files.pid()) {
        if process_running(pid) {
            out.pid = Some(pid);
            let _ = send_signal(pid, libc::SIGTERM);
            if !wait_gone(pid, wait, poll) {
                backend.log(LogLevel::Err, "server still running - send KILL");
                let _ = send_signal(pid, libc::SIGKILL);
                out.killed = true;
                wait_gone(pid, KILL_WAIT, poll.min(Duration::from_millis(100)));
            }
        }
    }
    if files.pid().exists() {
        out.cleanup = files::acquire(files, POLL).and_then(|_lock| files::remove_both(files));
    }
    out
}

/// Polls until `pid` is no longer running; false if it still runs after
/// `wait`.
fn wait_gone(pid: i32, wait: Duration, poll: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if !process_running(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(poll);
    }
}

/// `status`: whether the pid file names a live, non-zombie process.
pub fn running(files: &RunFiles) -> bool {
    files::read_pid(&files.pid()).is_some_and(process_running)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::{BackendError, Role};
    use crate::env::Env;
    use std::process::Command;

    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Backend for Lines {
        fn log(&mut self, level: LogLevel, msg: &str) {
            self.0.push(format!("{level} {msg}"));
        }
        fn open(&mut self) -> Result<Box<dyn Env>, BackendError> {
            Err(BackendError("not here".into()))
        }
    }

    fn scratch(name: &str) -> RunFiles {
        let dir = std::env::temp_dir().join(format!("daemon-stop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        RunFiles::in_dir(Role::Crm, &dir)
    }

    fn reaper(mut child: std::process::Child) -> std::thread::JoinHandle<()> {
        // Reap the child as soon as it ends, as pid 1 would, so it does
        // not linger as a zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        })
    }

    #[test]
    fn a_process_that_obeys_term_is_stopped_and_the_files_cleaned() {
        let files = scratch("term");
        let child = Command::new("sleep").arg("100").spawn().unwrap();
        let pid = child.id() as i32;
        let reaped = reaper(child);
        std::fs::write(files.pid(), format!("{pid}\n")).unwrap();
        std::fs::write(files.lock(), "").unwrap();
        assert!(running(&files));
        let mut log = Lines::default();
        let out = stop(
            &files,
            Duration::from_secs(10),
            Duration::from_millis(20),
            &mut log,
        );
        reaped.join().unwrap();
        assert_eq!(out.pid, Some(pid));
        assert!(!out.killed);
        assert!(out.cleanup.is_ok());
        assert!(log.0.is_empty(), "{:?}", log.0);
        assert!(!files.pid().exists() && !files.lock().exists());
        assert!(!running(&files));
    }

    #[test]
    fn a_process_that_ignores_term_is_killed_after_the_wait() {
        let files = scratch("kill");
        let child = Command::new("sh")
            .args(["-c", "trap '' TERM; while :; do sleep 0.05; done"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let reaped = reaper(child);
        // Let the shell install its trap.
        std::thread::sleep(Duration::from_millis(200));
        std::fs::write(files.pid(), format!("{pid}\n")).unwrap();
        let mut log = Lines::default();
        let begun = Instant::now();
        let out = stop(
            &files,
            Duration::from_millis(500),
            Duration::from_millis(20),
            &mut log,
        );
        reaped.join().unwrap();
        assert!(begun.elapsed() >= Duration::from_millis(500));
        assert!(out.killed);
        assert_eq!(log.0, ["err server still running - send KILL"]);
        assert!(!files.pid().exists());
    }

    #[test]
    fn nothing_to_stop_without_a_valid_pid_file() {
        let files = scratch("none");
        let mut log = Lines::default();
        let out = stop(
            &files,
            Duration::from_secs(1),
            Duration::from_millis(20),
            &mut log,
        );
        assert_eq!(out.pid, None);
        assert!(out.cleanup.is_ok());
        // An invalid pid file is only cleaned up.
        std::fs::write(files.pid(), "garbage\n").unwrap();
        let out = stop(
            &files,
            Duration::from_secs(1),
            Duration::from_millis(20),
            &mut log,
        );
        assert_eq!(out.pid, None);
        assert!(out.cleanup.is_ok());
        assert!(!files.pid().exists());
        assert!(!running(&files));
    }
}
