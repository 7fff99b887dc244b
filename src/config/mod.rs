//! The cluster's configuration and status files: one generic section-config
//! engine ([`section`]) with the typed HA files on top of it, plus the files
//! with syntaxes of their own (fence.cfg, datacenter.cfg) and the JSON status
//! and queue files.
//!
//! Invariant: parsing and writing work on text already in memory. Reading
//! and writing the files is the caller's business (the store backends), so
//! every parser here is pure and can be fed arbitrary bytes in tests.
//! Bad input never panics: parsers return the value they could salvage plus
//! one warning line per problem, exactly where upstream warns.

pub mod budget;
pub mod datacenter;
pub mod fence;
pub mod groups;
pub mod node;
pub mod ocf;
pub mod resources;
pub mod rules;
pub mod section;
pub mod status;

use sha1::{Digest, Sha1};

/// A parse result: the salvaged value and the warnings upstream would print
/// on stderr, one line each, without trailing newline.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// What could be parsed.
    pub value: T,
    /// One line per problem, in file order.
    pub warnings: Vec<String>,
}

/// The digest of a config file: lowercase hex SHA-1 of the raw bytes
/// (06 §2.2). Update operations compare it to detect concurrent edits.
pub fn digest(raw: &[u8]) -> String {
    let hash = Sha1::digest(raw);
    let mut out = String::with_capacity(40);
    for b in hash {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_of_empty_text() {
        assert_eq!(
            super::digest(b""),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }
}
