//! Linux namespaces for tests that run real processes: each test world
//! (a watchdog-mux server, a whole node) gets its own mount, pid and, where
//! asked, network and UTS namespaces, so it uses the real paths under
//! `/run`, its own host name and its own process numbers without touching
//! the host. `unshare --fork` makes the first process pid 1 of the new pid
//! namespace; killing that process ends every process in it, which is the
//! cleanup [`Namespace`]'s `Drop` relies on (also when a test fails).
//!
//! Needs root and util-linux (`unshare`, `nsenter`). Under `CI=true` their
//! absence is a failure, elsewhere a visible skip ([`super::skip`]).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `unshare` command for a new world: the namespaces in `flags`
/// (`--mount`, `--pid`, `--net`, `--uts`, `--mount-proc` so that process
/// numbers read in `/proc` are the namespace's own, …) and a forked pid 1.
pub fn unshare(flags: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args(flags).arg("--fork");
    c
}

/// Whether namespaces as `flags` describe can be made here: runs `probe`
/// (a `sh -c` script, e.g. mounting a tmpfs on `/run`) in them. When not,
/// says so through [`super::skip`] (a failure under `CI=true`).
pub fn available(what: &str, flags: &[&str], probe: &str) -> bool {
    let problem = if unsafe { libc::geteuid() } != 0 {
        Some("not running as root".to_string())
    } else {
        match unshare(flags)
            .args(["sh", "-c", probe])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "unshare {} failed: {}",
                flags.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run unshare: {e}")),
        }
    };
    match problem {
        None => true,
        Some(why) => {
            super::skip(what, &why);
            false
        }
    }
}

/// One running namespace world, from the `unshare` process that made it.
pub struct Namespace {
    unshare: Child,
    /// Pid 1 of the namespace, as seen from the host.
    pid: i32,
}

impl Namespace {
    /// Spawns `cmd` (made by [`unshare`]) and finds the namespace's pid 1,
    /// the child `unshare` forked.
    pub fn spawn(mut cmd: Command) -> Namespace {
        let unshare = cmd.spawn().expect("spawn unshare");
        let upid = unshare.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            let children = fs::read_to_string(format!("/proc/{upid}/task/{upid}/children"))
                .unwrap_or_default();
            if let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "unshare forked no pid 1");
            thread::sleep(Duration::from_millis(10));
        };
        Namespace { unshare, pid }
    }

    /// Host pid of the namespace's pid 1.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The `unshare` process (its standard streams, its exit).
    pub fn child(&mut self) -> &mut Child {
        &mut self.unshare
    }

    /// `path` (absolute) as the namespace's processes see it, reachable
    /// from the host through pid 1's root.
    pub fn path(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{path}", self.pid))
    }

    /// `nsenter` into the namespaces named by `flags` (`--mount`,
    /// `--pid`, …) of pid 1, ready for the program and its arguments.
    pub fn nsenter(&self, flags: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--target={}", self.pid))
            .args(flags)
            .arg("--");
        c
    }

    /// Sends `sig` to pid 1 (from outside, so even SIGKILL reaches it).
    pub fn signal(&self, sig: libc::c_int) {
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0, "kill {sig}");
    }

    /// Whether the world still runs.
    pub fn running(&mut self) -> bool {
        self.unshare.try_wait().ok().flatten().is_none()
    }

    /// Waits for the world to end; fails after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.unshare.try_wait().expect("wait for unshare") {
                return s;
            }
            assert!(Instant::now() < deadline, "the namespace did not end");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills pid 1 and with it every process of the namespace.
    pub fn kill(&mut self) {
        if self.running() {
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = self.unshare.wait();
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        self.kill();
    }
}
