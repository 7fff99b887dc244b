//! Toolchain truth: `rust-version` in Cargo.toml (and the README's "Rust ≥")
//! must name the oldest toolchain that builds *and tests* the project. That
//! is the highest `rust-version` any dependency of this platform declares,
//! dev-dependencies included, as `cargo metadata` reports it; a dependency
//! update that raises it makes this test fail until both are raised.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A dotted version as comparable numbers (`1.88` → `[1, 88]`, `1.85.0` →
/// `[1, 85, 0]`; missing parts compare as 0).
fn version(s: &str) -> Vec<u64> {
    let mut v: Vec<u64> = s
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect();
    while v.len() < 3 {
        v.push(0);
    }
    v
}

/// The host triple of the compiler that runs the tests.
fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .expect("rustc -vV names the host")
}

/// Our own `rust-version` from Cargo.toml.
fn declared() -> String {
    let toml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .expect("read Cargo.toml");
    toml.lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .expect("Cargo.toml has rust-version")
}

#[test]
fn rust_version_is_the_highest_any_dependency_needs() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--filter-platform"])
        .arg(host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    if !out.status.success() {
        let why = format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        common::skip("the rust-version check", &why);
        return;
    }
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let (need, by) = packages
        .iter()
        .filter(|p| p["name"] != "pve-ha")
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            Some((
                version(rv),
                format!(
                    "{} {} ({rv})",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                ),
            ))
        })
        .max()
        .expect("some dependency declares a rust-version");
    let ours = declared();
    assert_eq!(
        version(&ours),
        need,
        "Cargo.toml says rust-version {ours}, but the highest a dependency declares is {by}"
    );
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    assert!(
        readme.contains(&format!("Rust ≥ {ours}")),
        "README.md must name Rust ≥ {ours}"
    );
}

#[test]
fn versions_compare_numerically() {
    assert!(version("1.88") > version("1.85.0"));
    assert!(version("1.100") > version("1.88"));
    assert_eq!(version("1.88"), version("1.88.0"));
}
