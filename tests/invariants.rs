//! The house rules of ARCHITECTURE.md that a grep can check: the pure
//! layers (vocabulary, config formats) never reach for files, clocks,
//! sockets, threads or tokio, and nothing in the library unwraps stdin.

use std::path::Path;

/// Modules that must stay free of I/O.
const PURE: &[&str] = &["src/types", "src/config", "src/env", "src/crm", "src/lrm"];

/// Text that would mean I/O or wall-clock time inside a pure module.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "SystemTime",
    "Instant::now",
    "tokio",
    "std::io::stdin",
    "println!",
    "eprintln!",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn pure_layers_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut violations = Vec::new();
    for module in PURE {
        let mut files = Vec::new();
        rust_files(&root.join(module), &mut files);
        assert!(!files.is_empty(), "{module} has no files");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            // Unit tests may print or read fixtures; only the code counts.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for word in FORBIDDEN {
                    if line.contains(word) {
                        violations.push(format!("{}:{}: {word}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "I/O in pure layers:\n{}",
        violations.join("\n")
    );
}
