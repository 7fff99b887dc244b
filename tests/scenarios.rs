//! Scenario regressions (01): every scenario of our own under
//! `tests/scenarios/`, the upstream scenarios of
//! `../shared/conformance/scenarios` and the generated ones of
//! `../shared/conformance/generated` must reproduce their `log.expect`
//! byte for byte. One `check` helper runs a directory in memory and
//! reports failures by name with the first differing lines.

mod common;

use std::path::{Path, PathBuf};

use pve_ha::sim::tester::{check_dir, scenario_dirs, Verdict};

/// Diff lines shown per failing scenario.
const DIFF_LINES: usize = 12;

/// Runs every scenario directory and returns one report per failure.
fn check(dirs: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let verdict = check_dir(dir);
        if verdict.passed() {
            continue;
        }
        let mut report = format!("{name}: {}", verdict.summary());
        if let Verdict::Mismatch { diff, .. } = &verdict {
            for line in diff.lines().skip(2).take(DIFF_LINES) {
                report.push_str("\n    ");
                report.push_str(line);
            }
        }
        failures.push(report);
    }
    failures
}

/// Fails with every report if any scenario failed.
fn assert_all_pass(what: &str, dirs: &[PathBuf]) {
    let failures = check(dirs);
    assert!(
        failures.is_empty(),
        "{} of {} {what} scenarios failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn own_scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let dirs = scenario_dirs(&dir).expect("tests/scenarios is readable");
    assert!(!dirs.is_empty(), "no scenarios under {}", dir.display());
    assert_all_pass("own", &dirs);
}

/// Every upstream scenario of ../shared/conformance/scenarios must
/// reproduce its log.expect byte for byte (failures are reported by name).
#[test]
fn conformance_scenarios() {
    let Some(conf) = common::conformance_dir("the conformance scenarios") else {
        return;
    };
    let dirs: Vec<PathBuf> =
        scenario_dirs(&conf.join("scenarios")).expect("conformance scenarios are readable");
    assert!(!dirs.is_empty(), "no conformance scenarios found");
    assert_all_pass("conformance", &dirs);
    common::record_compared("upstream-scenarios", dirs.len());
}

/// The generated scenarios of ../shared/conformance/generated (random
/// inputs outside upstream's suite, with upstream's own log.expect) must
/// reproduce their log byte for byte too.
#[test]
fn generated_scenarios() {
    let Some(conf) = common::conformance_dir("the generated scenarios") else {
        return;
    };
    let dirs: Vec<PathBuf> =
        scenario_dirs(&conf.join("generated")).expect("generated scenarios are readable");
    assert!(!dirs.is_empty(), "no generated scenarios found");
    assert_all_pass("generated", &dirs);
    common::record_compared("generated-scenarios", dirs.len());
}

// --- the tester role as a user runs it ---

const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pve-ha-scenarios-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Copies the files of one of our scenarios into `to`.
fn copy_own(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name);
    std::fs::create_dir_all(to).expect("create scenario copy");
    for e in std::fs::read_dir(&from)
        .expect("read own scenario")
        .flatten()
    {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy scenario file");
    }
}

fn tester(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg("tester")
        .args(args)
        .output()
        .expect("run pve-ha tester")
}

#[test]
fn tester_runs_one_scenario_and_writes_its_status_dir() {
    let tmp = scratch("single");
    let dir = tmp.join("test-runloop-basic");
    copy_own("test-runloop-basic", &dir);
    let out = tester(&[dir.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expect = std::fs::read_to_string(dir.join("log.expect")).expect("log.expect");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expect,
        "the log goes to stdout"
    );
    let log = std::fs::read_to_string(dir.join("status/log")).expect("status/log");
    assert_eq!(log, expect);
    assert!(dir.join("status/hardware_status").is_file());

    // --status-dir puts it elsewhere.
    let status = tmp.join("elsewhere");
    let out = tester(&[dir.as_os_str(), "--status-dir".as_ref(), status.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(status.join("log")).expect("log"),
        expect
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn tester_prints_a_diff_on_mismatch() {
    let tmp = scratch("mismatch");
    let dir = tmp.join("test-x");
    copy_own("test-runloop-abort", &dir);
    let expect = std::fs::read_to_string(dir.join("log.expect")).expect("log.expect");
    std::fs::write(
        dir.join("log.expect"),
        expect.replace("rw sometimes", "rw often"),
    )
    .expect("write");
    let out = tester(&[dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--- log.expect\n+++ status/log\n@@ "),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n-info    120      cmdlist: execute cfs node1 rw often\n"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn tester_runs_a_suite() {
    let tmp = scratch("suite");
    copy_own("test-runloop-basic", &tmp.join("test-a"));
    copy_own("test-runloop-abort", &tmp.join("test-b"));
    copy_own("test-runloop-abort", &tmp.join("not-a-test"));
    std::fs::write(tmp.join("test-b/log.expect"), "wrong\n").expect("write");
    let out = tester(&["--suite".as_ref(), tmp.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("FAILED test-b: log differs at line 1"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    assert!(
        !tmp.join("test-a/status").exists(),
        "the suite runs in copies"
    );

    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let out = tester(&[
        "--suite".as_ref(),
        own.as_os_str(),
        "-j".as_ref(),
        "1".as_ref(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn tester_usage_errors() {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let both = tester(&[own.as_os_str(), "--suite".as_ref(), own.as_os_str()]);
    assert_eq!(both.status.code(), Some(2));
    let neither = tester(&[]);
    assert_eq!(neither.status.code(), Some(2));
    let stray = tester(&["--status-dir".as_ref(), own.as_os_str()]);
    assert_eq!(stray.status.code(), Some(2));
}

#[test]
fn tester_reports_a_broken_cmdlist() {
    let tmp = scratch("broken");
    let dir = tmp.join("test-broken");
    copy_own("test-runloop-abort", &dir);
    std::fs::write(
        dir.join("cmdlist"),
        "[\n  [\"power node1 on\"],\n  [1]\n]\n",
    )
    .expect("write");
    let out = tester(&[dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing is logged");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cmdlist: line 3, column 4: invalid type: integer `1`, expected a string"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
