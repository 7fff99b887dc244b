//! Helpers shared by the integration tests: where the upstream conformance
//! data lives, and how to say it is missing.

#![allow(dead_code)]

pub mod etcd;
pub mod ns;
pub mod transcript;

use std::io::Write;
use std::path::{Path, PathBuf};

/// True when running under CI (`CI=true`), where a missing dependency or
/// data set is a failure, never a skip.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Says that a test skipped part of its work, on the process's real
/// stderr: `eprintln!` would be captured by the test harness and shown
/// only for failing tests, which is how a skipped conformance run once
/// passed unnoticed. Under CI a skip is a failure instead.
pub fn skip(what: &str, why: &str) {
    assert!(!under_ci(), "CI=true: {why}; cannot run {what}");
    let _ = writeln!(std::io::stderr(), "notice: {why}, skipping {what}");
}

/// `../shared/conformance` next to the repository, if it exists. A
/// checkout without the shared data still runs every other test and says
/// loudly what it skipped (see [`skip`]); under CI it fails.
pub fn conformance_dir(what: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        Some(dir)
    } else {
        let why = format!("conformance data not found at {}", dir.display());
        skip(what, &why);
        None
    }
}

/// Records how many conformance inputs of one kind a test compared, for
/// `.ci/run`'s summary line: it sets `PVE_HA_COMPARED_DIR` and reads one
/// file per kind (`upstream-scenarios`, `generated-scenarios`,
/// `rules-configs`, `fence-configs`) holding the count.
pub fn record_compared(kind: &str, count: usize) {
    let Some(dir) = std::env::var_os("PVE_HA_COMPARED_DIR") else {
        return;
    };
    let path = Path::new(&dir).join(kind);
    if let Err(e) = std::fs::write(&path, format!("{count}\n")) {
        panic!(
            "cannot record the compared count in {}: {e}",
            path.display()
        );
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
/// `kind` names the count for [`record_compared`].
pub fn check_conformance_files(
    what: &str,
    sub: &str,
    kind: &str,
    check: impl Fn(&Path) -> Result<(), String>,
) {
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
    record_compared(kind, files.len());
}

/// What `pve-ha simulator` prints when it starts: its URL and, when it
/// made one, its temporary working directory.
pub struct SimulatorStart {
    /// `http://…/` (with `?token=…` in token mode).
    pub url: String,
    /// From the `pve-ha simulator: working directory …` line, if printed.
    pub dir: Option<PathBuf>,
}

/// Reads the start lines of a simulator spawned with a piped stdout, up to
/// its URL, then keeps draining its stdout in a thread so the simulator
/// never blocks on a full pipe.
pub fn read_simulator_start(child: &mut std::process::Child) -> SimulatorStart {
    use std::io::BufRead;
    let stdout = child
        .stdout
        .take()
        .expect("the simulator's stdout is piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut dir = None;
    let mut url = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(d) = line.strip_prefix("pve-ha simulator: working directory ") {
            dir = Some(PathBuf::from(d));
        }
        if let Some(i) = line.find("http://") {
            url = line[i..].split_whitespace().next().map(str::to_string);
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    SimulatorStart {
        url: url.expect("the simulator prints its URL"),
        dir,
    }
}

/// Runs `systemd-analyze verify --root=ROOT` on the units `check` of
/// `packaging/`, where ROOT holds a copy of the system's units, our units
/// beside them and the binary at `/usr/sbin/<name>` for every name of
/// `install`. Returns verify's standard error; panics when verify fails.
/// `None` (after [`skip`]) when systemd-analyze is not installed.
pub fn verify_units(check: &[&str], install: &[&str], bin: &str) -> Option<String> {
    use std::process::Command;
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("the unit check", "systemd-analyze not installed");
        return None;
    }
    let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let root = std::env::temp_dir().join(format!(
        "pve-ha-units-{}-{}",
        std::process::id(),
        check.join("-")
    ));
    let _ = std::fs::remove_dir_all(&root);
    let units = root.join("lib/systemd/system");
    std::fs::create_dir_all(&units).expect("create the unit directory");
    std::fs::create_dir_all(root.join("usr/sbin")).expect("create usr/sbin");
    // The system's units as they are, symlinks included (dangling ones
    // too: verify only follows what our units refer to).
    for e in std::fs::read_dir("/lib/systemd/system")
        .expect("read /lib/systemd/system")
        .flatten()
    {
        let path = e.path();
        if let Ok(target) = std::fs::read_link(&path) {
            let _ = std::os::unix::fs::symlink(target, units.join(e.file_name()));
        } else if path.is_file() {
            std::fs::copy(&path, units.join(e.file_name())).expect("copy a system unit");
        }
    }
    for name in check {
        let unit = format!("{name}.service");
        std::fs::copy(packaging.join(&unit), units.join(&unit)).expect("copy our unit");
    }
    for name in install {
        let installed = root.join("usr/sbin").join(name);
        if std::fs::hard_link(bin, &installed).is_err() {
            std::fs::copy(bin, &installed).expect("install the binary");
        }
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .args(
            check
                .iter()
                .map(|n| format!("/lib/systemd/system/{n}.service")),
        )
        .output()
        .expect("run systemd-analyze verify");
    let _ = std::fs::remove_dir_all(&root);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "systemd-analyze verify failed: {stderr}"
    );
    Some(stderr)
}
