//! The client side of watchdog-mux (07 §5.10): what the CRM and LRM
//! environments call as `watchdog_open`, `watchdog_update` and
//! `watchdog_close`. Synchronous and tiny: one Unix stream connection,
//! one NUL byte per update, `V` and a full close to leave. Never a
//! half-close: the server treats the end of stream as the goodbye and the
//! last byte decides whether it was clean.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::sys::errno::errno_text;

use super::{sys, MAGIC_CLOSE, SOCKET};

/// Logged (`info`) after a successful open.
pub const OPENED: &str = "watchdog active";
/// Logged (`info`) after a successful close.
pub const CLOSED: &str = "watchdog closed (disabled)";

/// Failures, with the texts the daemons log (07 §5.10).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("watchdog already open")]
    AlreadyOpen,
    #[error("unable to open watchdog socket - {}", errno_text(.0))]
    Connect(io::Error),
    #[error("watchdog update failed - {}", errno_text(.0))]
    Update(io::Error),
    #[error("watchdog update failed - write {0} bytes")]
    ShortWrite(usize),
    #[error("watchdog close failed - {}", errno_text(.0))]
    Close(io::Error),
    /// Update or close without a connection (a caller bug; upstream has no
    /// text for it).
    #[error("watchdog not open")]
    NotOpen,
}

/// The process's watchdog connection, if any: one per daemon process.
#[derive(Debug)]
pub struct Watchdog {
    socket: PathBuf,
    conn: Conn,
}

#[derive(Debug)]
enum Conn {
    Closed,
    Open(UnixStream),
    /// Closing failed: upstream keeps the handle, so the process still
    /// counts as having a watchdog (a new open fails, updates report the
    /// dead descriptor). The descriptor itself is gone — Linux releases it
    /// even when close reports an error — so it is not kept.
    CloseFailed,
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::with_socket(SOCKET)
    }
}

impl Watchdog {
    /// A client of the server listening at `socket`.
    pub fn with_socket(socket: impl AsRef<Path>) -> Self {
        Self {
            socket: socket.as_ref().to_path_buf(),
            conn: Conn::Closed,
        }
    }

    pub fn is_open(&self) -> bool {
        !matches!(self.conn, Conn::Closed)
    }

    /// Connects (close-on-exec, so helper processes never inherit the
    /// connection). From now on the server expects an update at least
    /// every 60 s.
    pub fn open(&mut self) -> Result<(), ClientError> {
        if self.is_open() {
            return Err(ClientError::AlreadyOpen);
        }
        let stream = UnixStream::connect(&self.socket).map_err(ClientError::Connect)?;
        self.conn = Conn::Open(stream);
        Ok(())
    }

    /// Feeds the watchdog: one NUL byte.
    pub fn update(&mut self) -> Result<(), ClientError> {
        match &self.conn {
            Conn::Open(s) => match sys::send_nosignal(s.as_raw_fd(), b"\0") {
                Ok(1) => Ok(()),
                Ok(n) => Err(ClientError::ShortWrite(n)),
                Err(e) => Err(ClientError::Update(e)),
            },
            Conn::CloseFailed => Err(ClientError::Update(io::Error::from_raw_os_error(
                libc::EBADF,
            ))),
            Conn::Closed => Err(ClientError::NotOpen),
        }
    }

    /// Leaves gracefully: `V` (its result does not matter — a server that
    /// is gone has already fenced), then close.
    pub fn close(&mut self) -> Result<(), ClientError> {
        match std::mem::replace(&mut self.conn, Conn::Closed) {
            Conn::Open(s) => {
                let _ = sys::send_nosignal(s.as_raw_fd(), &[MAGIC_CLOSE]);
                sys::close(OwnedFd::from(s)).map_err(|e| {
                    self.conn = Conn::CloseFailed;
                    ClientError::Close(e)
                })
            }
            Conn::CloseFailed => {
                self.conn = Conn::CloseFailed;
                Err(ClientError::Close(io::Error::from_raw_os_error(
                    libc::EBADF,
                )))
            }
            Conn::Closed => Err(ClientError::NotOpen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;

    fn listener(name: &str) -> (PathBuf, UnixListener) {
        let path = std::env::temp_dir().join(format!("wdmux-client-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        (path, l)
    }

    #[test]
    fn open_update_close_sends_nul_bytes_then_v_and_a_full_close() {
        let (path, l) = listener("ok");
        let mut w = Watchdog::with_socket(&path);
        w.open().unwrap();
        assert!(matches!(w.open(), Err(ClientError::AlreadyOpen)));
        let (mut server, _) = l.accept().unwrap();
        w.update().unwrap();
        w.update().unwrap();
        w.close().unwrap();
        assert!(!w.is_open());
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"\0\0V");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn errors_carry_the_logged_texts() {
        let mut w = Watchdog::with_socket("/nonexistent/watchdog-mux.sock");
        let e = w.open().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to open watchdog socket - No such file or directory"
        );
        assert_eq!(
            ClientError::AlreadyOpen.to_string(),
            "watchdog already open"
        );
        assert_eq!(
            ClientError::ShortWrite(0).to_string(),
            "watchdog update failed - write 0 bytes"
        );
    }

    #[test]
    fn an_update_to_a_vanished_server_is_a_broken_pipe() {
        let (path, l) = listener("gone");
        let mut w = Watchdog::with_socket(&path);
        w.open().unwrap();
        let (server, _) = l.accept().unwrap();
        drop(server);
        drop(l);
        // The first write may still be accepted; the peer is closed, so
        // one of the next ones fails with EPIPE.
        let err = (0..3).find_map(|_| w.update().err()).unwrap();
        assert_eq!(err.to_string(), "watchdog update failed - Broken pipe");
        let _ = std::fs::remove_file(&path);
    }
}
