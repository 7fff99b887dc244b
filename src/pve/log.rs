//! The daemons' log sink (07 §2.2): syslog over `/dev/log` (which the
//! journal serves) under the daemon's name with its pid, facility
//! `daemon`; with `--debug` every line also goes to standard error. When
//! no syslog socket is reachable — a test namespace, a container without
//! a journal — lines go to standard error instead. Sending never blocks:
//! the datagram socket is non-blocking and a full queue falls back to
//! standard error for that line, so logging can never stall a daemon
//! loop that feeds a watchdog.

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use crate::env::LogLevel;

/// Where syslog listens.
pub const DEV_LOG: &str = "/dev/log";

/// syslog facility `daemon` (3), shifted into the priority value.
const FACILITY_DAEMON: u8 = 3 << 3;

/// Where one line went (for tests and for the caller's curiosity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// To the syslog socket.
    Syslog,
    /// To standard error only (no socket, or it would have blocked).
    Stderr,
}

/// One daemon's log sink.
#[derive(Debug)]
pub struct Logger {
    ident: String,
    debug: bool,
    socket_path: PathBuf,
    socket: Option<UnixDatagram>,
}

/// The syslog severity of a level (`warn` is `warning`; the malformed
/// level is what it means, `info`).
fn severity(level: LogLevel) -> u8 {
    match level {
        LogLevel::Err => 3,
        LogLevel::Warning | LogLevel::Warn => 4,
        LogLevel::Notice => 5,
        LogLevel::Info | LogLevel::MalformedInfo | LogLevel::Email => 6,
        LogLevel::Debug => 7,
    }
}

impl Logger {
    /// A sink for `ident` (`pve-ha-crm`, `pve-ha-lrm`) at `/dev/log`.
    pub fn new(ident: &str, debug: bool) -> Self {
        Self::with_socket(ident, debug, DEV_LOG)
    }

    /// A sink sending to the syslog socket at `path`.
    pub fn with_socket(ident: &str, debug: bool, path: impl AsRef<Path>) -> Self {
        let mut l = Logger {
            ident: ident.to_string(),
            debug,
            socket_path: path.as_ref().to_path_buf(),
            socket: None,
        };
        l.connect();
        l
    }

    /// The identifier lines are logged under.
    pub fn ident(&self) -> &str {
        &self.ident
    }

    /// A sink of the same identity for a worker thread (its own socket).
    pub fn worker(&self) -> Logger {
        Logger::with_socket(&self.ident, self.debug, &self.socket_path)
    }

    fn connect(&mut self) {
        self.socket = UnixDatagram::unbound()
            .and_then(|s| {
                s.connect(&self.socket_path)?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
            .ok();
    }

    /// Logs `msg` literally (no format interpretation), one trailing
    /// newline removed.
    pub fn log(&mut self, level: LogLevel, msg: &str) -> Delivered {
        let msg = msg.strip_suffix('\n').unwrap_or(msg);
        let pid = std::process::id();
        let mut delivered = Delivered::Stderr;
        if self.socket.is_none() {
            // The journal may have come up since; one cheap retry.
            self.connect();
        }
        if let Some(sock) = &self.socket {
            let line = format!(
                "<{}>{}[{pid}]: {msg}",
                FACILITY_DAEMON | severity(level),
                self.ident
            );
            match sock.send(line.as_bytes()) {
                Ok(_) => delivered = Delivered::Syslog,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.socket = None,
            }
        }
        if delivered == Delivered::Stderr || self.debug {
            let _ = writeln!(std::io::stderr().lock(), "{}[{pid}]: {msg}", self.ident);
        }
        delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_socket_with_priority_ident_and_pid() {
        let dir = std::env::temp_dir().join(format!("pve-ha-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut l = Logger::with_socket("pve-ha-lrm", false, &path);
        assert_eq!(l.log(LogLevel::Warn, "100% done\n"), Delivered::Syslog);
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert_eq!(
            got,
            format!("<28>pve-ha-lrm[{}]: 100% done", std::process::id())
        );
        l.log(LogLevel::Err, "x");
        let n = server.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("<27>pve-ha-lrm["));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_socket_means_stderr_and_a_full_queue_never_blocks() {
        let mut l = Logger::with_socket("pve-ha-crm", false, "/nonexistent/dev-log");
        assert_eq!(l.log(LogLevel::Info, "hello"), Delivered::Stderr);
        // A receiver that never reads: the queue fills, sends would block;
        // every line still returns at once.
        let dir = std::env::temp_dir().join(format!("pve-ha-logfull-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _server = UnixDatagram::bind(&path).unwrap();
        let mut l = Logger::with_socket("pve-ha-crm", false, &path);
        let big = "queue filler ".repeat(8);
        let mut fell_back = false;
        for _ in 0..2000 {
            if l.log(LogLevel::Info, &big) == Delivered::Stderr {
                fell_back = true;
                break;
            }
        }
        assert!(fell_back);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
