//! The regression tester (01 §9): runs one scenario (in memory, or writing
//! its status directory like upstream's pve-ha-tester), compares the log
//! with `log.expect`, and runs whole suites of scenarios in parallel.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::diff::{first_difference, unified_diff};
use super::hardware::Hardware;
use super::run_loop::{Outcome, Simulation};
use super::scenario::{Scenario, ScenarioError};

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The whole log (`status/log`).
    pub log: String,
    /// How the run ended.
    pub outcome: Outcome,
    /// The final status directory files (debugging, 01 §2.4).
    pub status_files: Vec<(String, String)>,
}

/// Where the log goes besides memory, and whether stderr warnings print.
#[derive(Default)]
pub struct RunOptions {
    /// Writers receiving each log line as it is logged.
    pub echoes: Vec<Box<dyn Write + Send>>,
    /// Print the harness's stderr warnings (01 §4.6 `unlock`).
    pub echo_stderr: bool,
}

/// Runs a loaded scenario (01 §5) and returns its log.
pub fn run_scenario(s: &Scenario, opts: RunOptions) -> RunResult {
    let mut hw = Hardware::new(s);
    for e in opts.echoes {
        hw.log_sink().add_echo(e);
    }
    hw.set_echo_stderr(opts.echo_stderr);
    let hw = hw.shared();
    let outcome = Simulation::new(hw.clone(), s.cmdlist.clone()).run();
    let mut h = hw.borrow_mut();
    h.log_sink().close_echoes();
    RunResult {
        log: h.log_text().to_string(),
        outcome,
        status_files: h.status_files(),
    }
}

/// Why a scenario run did not produce a log to compare.
#[derive(Debug, thiserror::Error)]
pub enum TesterError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The status directory could not be prepared or written.
    #[error("status directory '{}': {message}", path.display())]
    Status {
        /// The directory or file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A daemon or the harness panicked (a bug, reported by name).
    #[error("panic: {0}")]
    Panic(String),
}

fn status_err(path: &Path, e: impl std::fmt::Display) -> TesterError {
    TesterError::Status {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Empties (or creates) the status directory (01 §2.3 step 1). A
/// directory with subdirectories is refused: status directories are flat,
/// and `--status-dir` must never wipe an unrelated tree.
pub fn reset_status_dir(status: &Path) -> Result<(), TesterError> {
    if status.exists() {
        let entries = std::fs::read_dir(status).map_err(|e| status_err(status, e))?;
        for e in entries {
            let e = e.map_err(|e| status_err(status, e))?;
            if e.file_type().map_err(|e| status_err(status, e))?.is_dir() {
                return Err(status_err(
                    status,
                    "refusing to clear it: it has subdirectories, so it is no status directory",
                ));
            }
        }
        std::fs::remove_dir_all(status).map_err(|e| status_err(status, e))?;
    }
    std::fs::create_dir_all(status).map_err(|e| status_err(status, e))
}

/// Runs the scenario in `dir` like upstream's tester: clears `status`,
/// writes the log to `status/log` as it goes (and to stdout if `echo`),
/// then writes the other status files for debugging.
pub fn run_with_status_dir(
    dir: &Path,
    status: &Path,
    echo: bool,
) -> Result<RunResult, TesterError> {
    let scenario = Scenario::load(dir)?;
    if echo {
        for w in &scenario.warnings {
            let _ = writeln!(std::io::stderr(), "{w}");
        }
    }
    reset_status_dir(status)?;
    let log_path = status.join("log");
    let file = std::fs::File::create(&log_path).map_err(|e| status_err(&log_path, e))?;
    let mut opts = RunOptions {
        echoes: vec![Box::new(std::io::BufWriter::new(file))],
        echo_stderr: echo,
    };
    if echo {
        opts.echoes.push(Box::new(std::io::stdout()));
    }
    let result = catch_unwind(AssertUnwindSafe(|| run_scenario(&scenario, opts)))
        .map_err(|p| TesterError::Panic(panic_text(p.as_ref())))?;
    for (name, content) in &result.status_files {
        let p = status.join(name);
        std::fs::write(&p, content).map_err(|e| status_err(&p, e))?;
    }
    // Keep the compared artefact authoritative: the echo may have failed.
    std::fs::write(&log_path, &result.log).map_err(|e| status_err(&log_path, e))?;
    Ok(result)
}

/// The text of a panic payload (also the fuzzer's).
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// The result of checking one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The log equals `log.expect` byte for byte.
    Pass,
    /// The log differs.
    Mismatch {
        /// 1-based first differing line.
        line: usize,
        /// That line in `log.expect` (`None`: past its end).
        expected: Option<String>,
        /// That line in the produced log.
        got: Option<String>,
        /// The unified diff `log.expect` → `status/log`.
        diff: String,
    },
    /// There is no `log.expect` to compare with.
    NoExpect,
    /// The scenario could not be run.
    Error(String),
}

impl Verdict {
    /// Whether the scenario passed.
    pub fn passed(&self) -> bool {
        *self == Verdict::Pass
    }

    /// One line describing a failure (empty for a pass).
    pub fn summary(&self) -> String {
        match self {
            Verdict::Pass => String::new(),
            Verdict::Mismatch {
                line,
                expected,
                got,
                ..
            } => format!(
                "log differs at line {line}: expected {}, got {}",
                expected
                    .as_deref()
                    .map_or("end of log".to_string(), |l| format!("'{l}'")),
                got.as_deref()
                    .map_or("end of log".to_string(), |l| format!("'{l}'")),
            ),
            Verdict::NoExpect => "no log.expect".to_string(),
            Verdict::Error(e) => e.clone(),
        }
    }
}

/// Compares a produced log with the expected one.
pub fn compare(expected: &str, got: &str) -> Verdict {
    if expected == got {
        return Verdict::Pass;
    }
    let (line, e, g) = first_difference(expected, got).unwrap_or((0, None, None));
    let mut diff = unified_diff("log.expect", expected, "status/log", got);
    if diff.is_empty() {
        // Only line terminators differ (e.g. a missing final newline).
        diff = "--- log.expect\n+++ status/log\n(texts differ only in line endings)\n".to_string();
    }
    Verdict::Mismatch {
        line,
        expected: e.map(str::to_string),
        got: g.map(str::to_string),
        diff,
    }
}

/// Reads `<dir>/log.expect`, if present.
fn read_expect(dir: &Path) -> Result<Option<String>, String> {
    match std::fs::read(dir.join("log.expect")) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("unable to read log.expect: {e}")),
    }
}

/// Checks one scenario in memory (no files written): load, run, compare.
/// Panics are caught and reported as errors.
pub fn check_dir(dir: &Path) -> Verdict {
    let expected = match read_expect(dir) {
        Ok(Some(e)) => e,
        Ok(None) => return Verdict::NoExpect,
        Err(e) => return Verdict::Error(e),
    };
    let scenario = match Scenario::load(dir) {
        Ok(s) => s,
        Err(e) => return Verdict::Error(e.to_string()),
    };
    match catch_unwind(AssertUnwindSafe(|| {
        run_scenario(&scenario, RunOptions::default())
    })) {
        Ok(r) => compare(&expected, &r.log),
        Err(p) => Verdict::Error(format!("panic: {}", panic_text(p.as_ref()))),
    }
}

/// Checks one scenario like the suite does: in a fresh temporary copy of
/// its files, writing the copy's status directory.
fn check_copy(dir: &Path, scratch: &Path) -> Verdict {
    let run = || -> Result<Verdict, String> {
        let _ = std::fs::remove_dir_all(scratch);
        std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            if e.file_type().map_err(|e| e.to_string())?.is_file() {
                std::fs::copy(e.path(), scratch.join(e.file_name()))
                    .map_err(|err| format!("{}: {err}", e.path().display()))?;
            }
        }
        let Some(expected) = read_expect(scratch)? else {
            return Ok(Verdict::NoExpect);
        };
        let r = run_with_status_dir(scratch, &scratch.join("status"), false)
            .map_err(|e| e.to_string())?;
        Ok(compare(&expected, &r.log))
    };
    let v = run().unwrap_or_else(Verdict::Error);
    let _ = std::fs::remove_dir_all(scratch);
    v
}

/// The scenario directories (`test-*`) of `dir`, sorted.
pub fn scenario_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("test-"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

/// The results of a suite, in scenario order.
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// `(scenario name, verdict)`.
    pub results: Vec<(String, Verdict)>,
}

impl SuiteReport {
    /// Number of passed scenarios.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|(_, v)| v.passed()).count()
    }

    /// Number of failed scenarios.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

/// Runs every `test-*` scenario of `dir`, each in a fresh temporary copy,
/// on up to `jobs` threads (at least one).
pub fn run_suite(dir: &Path, jobs: usize) -> std::io::Result<SuiteReport> {
    let dirs = scenario_dirs(dir)?;
    // Unique per process and per call, so concurrent suites never share.
    static SUITES: AtomicUsize = AtomicUsize::new(0);
    let n = SUITES.fetch_add(1, Ordering::SeqCst);
    let scratch_root =
        std::env::temp_dir().join(format!("pve-ha-suite-{}-{n}", std::process::id()));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Verdict>>> = dirs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, dirs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(d) = dirs.get(i) else { break };
                let scratch = scratch_root.join(format!("{i}"));
                let v = check_copy(d, &scratch);
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(v);
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch_root);
    let results = dirs
        .iter()
        .zip(slots)
        .map(|(d, slot)| {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let v = slot
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Verdict::Error("not run".into()));
            (name, v)
        })
        .collect();
    Ok(SuiteReport { results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_reports_the_first_difference() {
        assert_eq!(compare("a\nb\n", "a\nb\n"), Verdict::Pass);
        let v = compare("a\nb\n", "a\nc\n");
        let Verdict::Mismatch {
            line,
            expected,
            got,
            diff,
        } = &v
        else {
            panic!("{v:?}")
        };
        assert_eq!(
            (*line, expected.as_deref(), got.as_deref()),
            (2, Some("b"), Some("c"))
        );
        assert!(diff.contains("-b\n+c\n"), "{diff}");
        assert_eq!(v.summary(), "log differs at line 2: expected 'b', got 'c'");
        let v = compare("a\n", "a\nb\n");
        assert_eq!(
            v.summary(),
            "log differs at line 2: expected end of log, got 'b'"
        );
        let v = compare("a\n", "a");
        assert!(matches!(v, Verdict::Mismatch { .. }));
    }
}
