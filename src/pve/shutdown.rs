//! Node shutdown detection (07 §2.9): systemd's job queue, read through
//! `systemctl --full list-jobs`. The command runs through a
//! [`CommandRunner`] so tests feed recorded output instead of a live
//! systemd.

use std::io;
use std::process::{Command, Stdio};

use crate::env::NodeShutdown;

/// The program upstream runs.
pub const SYSTEMCTL: &str = "/bin/systemctl";

/// Runs a program and returns its standard output.
pub trait CommandRunner: Send + Sync {
    /// Output of `program args…`; an error if it cannot be started or
    /// exits non-zero.
    fn output(&self, program: &str, args: &[&str]) -> io::Result<String>;
}

/// Runs real processes (standard input from `/dev/null`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRunner;

impl CommandRunner for SystemRunner {
    fn output(&self, program: &str, args: &[&str]) -> io::Result<String> {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "'{program}' failed: {}",
                out.status
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Whether a job line queues `target`: a job number, blanks, the unit
/// name exactly, blanks and more columns (leading blanks accepted,
/// 07 §2.9).
fn queues(line: &str, target: &str) -> bool {
    let mut words = line.split_ascii_whitespace();
    let is_job = words
        .next()
        .is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
    is_job && words.next() == Some(target) && words.next().is_some()
}

/// The shutdown/reboot pair from `list-jobs` output.
pub fn parse_list_jobs(text: &str) -> NodeShutdown {
    NodeShutdown {
        shutdown: text.lines().any(|l| queues(l, "shutdown.target")),
        reboot: text.lines().any(|l| queues(l, "reboot.target")),
    }
}

/// Asks systemd through `runner`.
pub fn detect(runner: &dyn CommandRunner) -> io::Result<NodeShutdown> {
    runner
        .output(SYSTEMCTL, &["--full", "list-jobs"])
        .map(|out| parse_list_jobs(&out))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/tests/fixtures/pve/list-jobs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(p).unwrap_or_default()
    }

    /// Replays a recording (or fails like a missing systemd).
    pub struct Recorded(pub Option<String>);

    impl CommandRunner for Recorded {
        fn output(&self, program: &str, args: &[&str]) -> io::Result<String> {
            assert_eq!((program, args), (SYSTEMCTL, &["--full", "list-jobs"][..]));
            self.0
                .clone()
                .ok_or_else(|| io::Error::other("Failed to connect to bus: Host is down"))
        }
    }

    #[test]
    fn recorded_queues() {
        let pair = |f: &str| {
            let n = detect(&Recorded(Some(fixture(f)))).unwrap();
            (n.shutdown, n.reboot)
        };
        assert_eq!(pair("reboot.txt"), (true, true));
        assert_eq!(pair("poweroff.txt"), (true, false));
        assert_eq!(pair("restart.txt"), (false, false));
        assert_eq!(pair("idle.txt"), (false, false));
        assert_eq!(pair("lookalikes.txt"), (false, false));
        assert!(detect(&Recorded(None)).is_err());
    }
}
