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

/// A conformance input: its file name, its bytes and its `.expect` bytes.
pub struct Golden {
    /// File name without directory (`simple-1.cfg`).
    pub name: String,
    /// The input file.
    pub raw: Vec<u8>,
    /// `<name>.expect`.
    pub expect: Vec<u8>,
}

/// Reads `cfg` and its `.expect` file next to it.
pub fn golden(cfg: &Path) -> Result<Golden, String> {
    let name = cfg
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let raw = std::fs::read(cfg).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let expect = std::fs::read(cfg.with_file_name(format!("{name}.expect")))
        .map_err(|e| format!("{name}: cannot read .expect: {e}"))?;
    Ok(Golden { name, raw, expect })
}

/// A unified diff of expected against produced text, for failure messages
/// (the tester's own diff).
pub fn diff(expected: &str, got: &str) -> String {
    pve_ha::sim::diff::unified_diff("expected", expected, "got", got)
}

/// Runs `check` on every `*.cfg` of the conformance subdirectory `sub`
/// and fails once, listing every failing file.
pub fn check_conformance_files(what: &str, sub: &str, check: impl Fn(&Path) -> Result<(), String>) {
    let Some(dir) = conformance_dir(what) else {
        return;
    };
    let files = files(&dir.join(sub), |n| n.ends_with(".cfg"));
    assert!(!files.is_empty(), "no {sub}/*.cfg in {}", dir.display());
    let failures: Vec<String> = files.iter().filter_map(|f| check(f).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} {what} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}
