//! The few process-level system calls the runtime needs, each wrapped
//! once: identity checks, liveness of a pid, signals to another process,
//! and the daemonizing fork with its readiness pipe (07 §6.2 step 4–5).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};

use super::{errno_text, DaemonError};

/// Whether the effective user is root (07 §6.2 step 2).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the parent is pid 1: started by systemd (or by the pid-1
/// shell of a test namespace), so `start` and `stop` act themselves
/// instead of asking systemctl (07 §6.1).
pub fn parent_is_init() -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() == 1 }
}

/// Whether `pid` names a live process that is not a zombie: what
/// `status` and `stop` mean by "running" (07 §6.1).
pub fn process_running(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the command name's closing parenthesis
    // (the name itself may contain one).
    match stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
    {
        Some('Z' | 'X' | 'x') | None => false,
        Some(_) => true,
    }
}

/// Sends `sig` to `pid`.
pub fn send_signal(pid: i32, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn sys_error(what: &'static str, e: &io::Error) -> DaemonError {
    DaemonError::Sys {
        what,
        reason: errno_text(e),
    }
}

/// Points standard input and output at `/dev/null` (07 §6.2 step 4).
pub fn detach_stdio() -> Result<(), DaemonError> {
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| sys_error("open /dev/null", &e))?;
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: both descriptors are valid; dup2 replaces fd atomically.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(sys_error("dup2", &io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Points standard error at standard output (`/dev/null` after
/// [`detach_stdio`]): 07 §6.2 step 5.
pub fn stderr_to_stdout() {
    // SAFETY: both descriptors exist in every process.
    unsafe { libc::dup2(libc::STDOUT_FILENO, libc::STDERR_FILENO) };
}

/// Starts a new session (07 §6.2 step 5); a process-group leader cannot,
/// which only happens in the foreground (`--debug`) and is harmless.
pub fn new_session() {
    // SAFETY: setsid has no memory preconditions.
    unsafe { libc::setsid() };
}

/// Sets the process title seen by `ps -o comm` to the daemon name.
pub fn set_title(name: &str) {
    if let Ok(c) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (truncated
        // by the kernel to 15 bytes).
        unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr() as libc::c_ulong, 0, 0, 0) };
    }
}

/// The daemon side of the readiness pipe: tells the waiting parent that
/// the pid file exists, so the parent's exit (what `Type=forking` waits
/// for) comes after it (07 §6.2 implementation note).
pub struct Ready(File);

impl Ready {
    /// Reports success; the parent exits with status 0.
    pub fn done(mut self) {
        let _ = self.0.write_all(b"1");
    }
}

/// Forks. Returns in the child only, with its [`Ready`] handle; the
/// parent waits until the child reports readiness (exit 0) or closes the
/// pipe without it (exit 255: the child has reported its error).
///
/// Call before any thread exists: the child keeps only the calling one.
pub fn fork_and_wait() -> Result<Ready, DaemonError> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(sys_error("pipe", &io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned here.
    let (mut rx, tx) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: the child continues with ordinary code in a copy of this
    // (single-threaded, by the caller's contract) process.
    match unsafe { libc::fork() } {
        -1 => Err(sys_error("fork", &io::Error::last_os_error())),
        0 => {
            drop(rx);
            Ok(Ready(tx))
        }
        _ => {
            drop(tx);
            let mut byte = [0u8; 1];
            let ok = matches!(rx.read(&mut byte), Ok(1));
            // The parent's work is done: leave without running any
            // destructor (the lock descriptor is the child's now).
            // SAFETY: _exit ends the process at once.
            unsafe { libc::_exit(if ok { 0 } else { 255 }) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        assert!(process_running(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!process_running(pid));
        assert!(!process_running(0));
        assert!(!process_running(-5));
    }

    #[test]
    fn a_zombie_is_not_running() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: a zombie once it has exited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while process_running(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!process_running(pid));
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        child.wait().unwrap();
    }
}
