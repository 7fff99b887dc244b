//! Helpers shared by the integration tests: where the upstream conformance
//! data lives, and how to say it is missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/conformance` next to the repository, if it exists. Prints a
/// notice (not a failure) when it does not, so a checkout without the
/// shared data still runs every other test.
pub fn conformance_dir(what: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: conformance data not found at {}, skipping {what}",
            dir.display()
        );
        None
    }
}

/// The files of `dir` whose names satisfy `keep`, sorted.
pub fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Our own fixture directory `tests/fixtures/<name>`.
pub fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
