//! The instance lock and the pid file (07 §6.2 steps 3 and 5, §6.5).
//!
//! The lock is an exclusive `flock` on `<name>.pid.lock`, held by the
//! open descriptor for the daemon's whole life (a fork shares it, so the
//! daemonized child keeps it after the parent exits). The pid file holds
//! the daemon's pid and a newline; `status` and `stop` read it.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use super::process::process_running;
use super::{errno_text, DaemonError, RunFiles};

/// How often the lock is tried: once, then once per second for 5 s.
const LOCK_RETRIES: u32 = 5;

/// A held instance lock; released when dropped (or when the process
/// ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the instance lock of `files`, retrying once per `pause` up to
/// five times. On failure the message names the running instance when the
/// pid file points at one.
pub fn acquire(files: &RunFiles, pause: Duration) -> Result<InstanceLock, DaemonError> {
    let path = files.lock();
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(&path)
        .map_err(|e| DaemonError::OpenLock {
            path: files.shown(&path),
            reason: errno_text(&e),
        })?;
    let mut tries = 0;
    loop {
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(InstanceLock { _file: file });
        }
        let err = io::Error::last_os_error();
        let busy = err.raw_os_error() == Some(libc::EWOULDBLOCK);
        if !busy || tries >= LOCK_RETRIES {
            let reason = match read_pid(&files.pid()) {
                Some(pid) if process_running(pid) => {
                    format!("daemon already started (pid = {pid})")
                }
                _ => errno_text(&err),
            };
            return Err(DaemonError::AcquireLock {
                path: files.shown(&path),
                reason,
            });
        }
        tries += 1;
        std::thread::sleep(pause);
    }
}

/// The pid a pid file names: its first line as a positive number.
/// Missing or invalid ⇒ `None` ("nothing to stop").
pub fn read_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    (pid > 0).then_some(pid)
}

/// Writes this process's pid and a newline to the pid file.
pub fn write_pid(files: &RunFiles) -> Result<(), DaemonError> {
    let path = files.pid();
    std::fs::write(&path, format!("{}\n", std::process::id())).map_err(|e| DaemonError::PidFile {
        path: files.shown(&path),
        reason: errno_text(&e),
    })
}

/// Deletes the pid file and the lock file (either may be gone already).
pub fn remove_both(files: &RunFiles) -> Result<(), DaemonError> {
    for path in [files.pid(), files.lock()] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DaemonError::Remove {
                    path: files.shown(&path),
                    reason: errno_text(&e),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Role;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("daemon-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const QUICK: Duration = Duration::from_millis(1);

    #[test]
    fn the_lock_is_exclusive_and_names_a_running_owner() {
        let dir = scratch("lock");
        let files = RunFiles::in_dir(Role::Crm, &dir);
        let held = acquire(&files, QUICK).unwrap();
        // No pid file: the errno text.
        let e = acquire(&files, QUICK).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "can't acquire lock '{}' - Resource temporarily unavailable",
                files.lock().display()
            )
        );
        // A pid file naming a live process: the owner.
        write_pid(&files).unwrap();
        let e = acquire(&files, QUICK).unwrap_err().to_string();
        assert!(
            e.ends_with(&format!(
                "daemon already started (pid = {})",
                std::process::id()
            )),
            "{e}"
        );
        drop(held);
        let _again = acquire(&files, QUICK).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unopenable_lock_file_is_reported() {
        let dir = scratch("nolock").join("missing");
        let files = RunFiles::in_dir(Role::Lrm, &dir);
        let e = acquire(&files, QUICK).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "can't open lock '{}' - No such file or directory",
                files.lock().display()
            )
        );
    }

    #[test]
    fn pid_files_are_read_strictly_and_removed_quietly() {
        let dir = scratch("pid");
        let files = RunFiles::in_dir(Role::Lrm, &dir);
        assert_eq!(read_pid(&files.pid()), None);
        write_pid(&files).unwrap();
        assert_eq!(
            std::fs::read_to_string(files.pid()).unwrap(),
            format!("{}\n", std::process::id())
        );
        assert_eq!(read_pid(&files.pid()), Some(std::process::id() as i32));
        for bad in ["", "abc\n", "-3\n", "0\n", "\n12\n"] {
            std::fs::write(files.pid(), bad).unwrap();
            assert_eq!(read_pid(&files.pid()), None, "{bad:?}");
        }
        std::fs::write(files.pid(), " 42 \nx").unwrap();
        assert_eq!(read_pid(&files.pid()), Some(42));
        remove_both(&files).unwrap();
        assert!(!files.pid().exists());
        remove_both(&files).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
