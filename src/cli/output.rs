//! Writing to stdout/stderr without panicking. Rust ignores SIGPIPE, so a
//! closed pipe (`pve-ha … | head`) shows up as a write error; output is
//! best-effort and such errors are dropped instead of aborting.

use std::io::Write;

/// Prints `text` to stdout as is.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints `text` to stderr as is.
pub fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Prints one `error: <msg>` line to stderr.
pub fn error(msg: impl std::fmt::Display) {
    eprint(&format!("error: {msg}\n"));
}
