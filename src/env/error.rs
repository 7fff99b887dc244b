//! `EnvError`: what an environment operation (or a daemon step) raises —
//! upstream's message text for the log, a kind for callers that react to
//! the cause, and the underlying I/O error where there is one.

use std::sync::Arc;

/// What went wrong in an environment operation, for callers (and real
/// backends) that react differently to, say, a missing file and a timeout.
/// The state machines themselves only log the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvErrorKind {
    /// A file, service, lock or node that does not exist.
    NotFound,
    /// An operation that did not finish in time.
    Timeout,
    /// The shared state is unavailable (no quorum, cluster file system
    /// read-only or restarting).
    Unavailable,
    /// Content that could not be parsed.
    Parse,
    /// Any other failed I/O operation.
    Io,
    /// Everything else (the default: upstream's plain `die` messages).
    Other,
}

/// An error raised by an environment operation or a daemon step.
///
/// The message is upstream's text (without trailing newline); where it
/// reaches the log it is printed verbatim, so it must stay byte-exact and
/// `Display` shows exactly it. The kind classifies the failure; a real
/// I/O error is kept as the [`source`](std::error::Error::source), so the
/// chain survives up to the binary's `error: …` line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EnvError {
    kind: EnvErrorKind,
    message: String,
    /// Shared, so that the error stays `Clone` (`io::Error` is not).
    #[source]
    source: Option<Arc<std::io::Error>>,
}

impl EnvError {
    /// An error with this message, of kind [`EnvErrorKind::Other`].
    pub fn new(msg: impl Into<String>) -> Self {
        Self::with_kind(EnvErrorKind::Other, msg)
    }

    /// An error of `kind` with this message.
    pub fn with_kind(kind: EnvErrorKind, msg: impl Into<String>) -> Self {
        EnvError {
            kind,
            message: msg.into(),
            source: None,
        }
    }

    /// A failed I/O operation: `msg` is the text to log (usually naming
    /// the file and quoting `err`), `err` becomes the source. The kind
    /// follows the I/O error (not found, timed out, else I/O).
    pub fn io(msg: impl Into<String>, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => EnvErrorKind::NotFound,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => EnvErrorKind::Timeout,
            _ => EnvErrorKind::Io,
        };
        EnvError {
            kind,
            message: msg.into(),
            source: Some(Arc::new(err)),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> EnvErrorKind {
        self.kind
    }

    /// The message (what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Two errors are equal when kind and message are: what callers and tests
/// can observe. The I/O source is not compared (`io::Error` has no
/// equality); its text normally is part of the message anyway.
impl PartialEq for EnvError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for EnvError {}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::{EnvError, EnvErrorKind};

    #[test]
    fn the_message_is_what_displays() {
        let e = EnvError::new("no such service 'vm:9'");
        assert_eq!(e.to_string(), "no such service 'vm:9'");
        assert_eq!(e.message(), "no such service 'vm:9'");
        assert_eq!(e.kind(), EnvErrorKind::Other);
        assert!(e.source().is_none());
    }

    #[test]
    fn an_io_error_keeps_its_kind_and_becomes_the_source() {
        let cases = [
            (io::ErrorKind::NotFound, EnvErrorKind::NotFound),
            (io::ErrorKind::TimedOut, EnvErrorKind::Timeout),
            (io::ErrorKind::PermissionDenied, EnvErrorKind::Io),
        ];
        for (io_kind, kind) in cases {
            let e = EnvError::io(
                "unable to read file '/etc/pve/ha/manager_status'",
                io::Error::new(io_kind, "boom"),
            );
            assert_eq!(e.kind(), kind);
            assert_eq!(
                e.to_string(),
                "unable to read file '/etc/pve/ha/manager_status'"
            );
            let source = e.source().map(ToString::to_string);
            assert_eq!(source.as_deref(), Some("boom"));
            // Clones share the source.
            assert!(e.clone().source().is_some());
        }
    }

    #[test]
    fn equality_is_kind_and_message() {
        let a = EnvError::with_kind(EnvErrorKind::Unavailable, "cfs down");
        assert_eq!(
            a,
            EnvError::with_kind(EnvErrorKind::Unavailable, "cfs down")
        );
        assert_ne!(a, EnvError::new("cfs down"));
        assert_ne!(a, EnvError::with_kind(EnvErrorKind::Unavailable, "other"));
        let io_err = EnvError::io("x", io::Error::other("y"));
        assert_eq!(io_err, EnvError::with_kind(EnvErrorKind::Io, "x"));
    }
}
