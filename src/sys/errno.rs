//! The C library's text of an OS error, as upstream's messages print it
//! (`No such file or directory`), without Rust's ` (os error N)` suffix.

use std::io;

/// The `strerror` text of an I/O error, without Rust's ` (os error N)`.
pub fn errno_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_os_error_suffix() {
        assert_eq!(
            errno_text(&io::Error::from_raw_os_error(2)),
            "No such file or directory"
        );
        assert_eq!(errno_text(&io::Error::other("plain")), "plain");
    }
}
