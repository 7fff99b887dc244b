//! The tester role (`pve-ha-tester`): upstream's regression checks. Runs
//! one scenario directory like upstream's pve-ha-tester (01 §9.1), a whole
//! suite of them in parallel, or prints the fence-config report (06 §6.6)
//! or the rules-config report (04 §6.6).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Parser};

use super::output;
use crate::config::fence;
use crate::crm::placement::checker::rules_config_report;
use crate::sim::fuzz::{fuzz_range, shrink, FuzzConfig};
use crate::sim::tester::{self, Verdict};

#[derive(Debug, Parser)]
#[command(
    name = "pve-ha-tester",
    version,
    about = "Run upstream-compatible HA regression checks",
    arg_required_else_help = true,
    group(ArgGroup::new("mode").required(true).args(["dir", "suite", "fuzz", "fence_config", "rules_config"]))
)]
struct Args {
    /// Run the scenario in DIR: write DIR/status/ (the log to
    /// DIR/status/log and stdout) and compare the log with
    /// DIR/log.expect; exit 0 only on an exact match.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Write the status directory here instead of DIR/status (it is
    /// cleared first), so read-only scenario data can be run in place.
    #[arg(long, value_name = "S", requires = "dir")]
    status_dir: Option<PathBuf>,

    /// Run every test-* scenario under DIR, each in a fresh temporary
    /// copy, in parallel; print the failing ones and a summary.
    #[arg(long, value_name = "DIR")]
    suite: Option<PathBuf>,

    /// Parallel runs for --suite and --fuzz (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,

    /// Run randomized fault schedules for seeds A..B (inclusive) with
    /// invariants checked at every simulated second; print each
    /// violation, shrink the failing seeds into scenario directories
    /// (see --out), and end with `N seeds, V violations, T s`.
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    fuzz: Option<(u64, u64)>,

    /// Node count range of --fuzz.
    #[arg(long, value_name = "A..B", value_parser = parse_range, default_value = "3..7", requires = "fuzz")]
    nodes: (u64, u64),

    /// Initial service count range of --fuzz.
    #[arg(long, value_name = "A..B", value_parser = parse_range, default_value = "5..50", requires = "fuzz")]
    services: (u64, u64),

    /// With --fuzz: print per-kind counts and the exclusion rules.
    #[arg(long, requires = "fuzz")]
    stats: bool,

    /// With --fuzz: where shrunk failing seeds are written as scenario
    /// directories (at most 5 are shrunk).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "fuzz-failures",
        requires = "fuzz"
    )]
    out: PathBuf,

    /// Print the fence-device report of FILE (which nodes get which agent
    /// command on each try), as upstream's fence config test does.
    #[arg(long, value_name = "FILE")]
    fence_config: Option<PathBuf>,

    /// Print the rules-checker report of FILE (messages, parsed config,
    /// compiled rules for node1..node3), as upstream's rules config test
    /// does.
    #[arg(long, value_name = "FILE")]
    rules_config: Option<PathBuf>,
}

/// The role's command line (for its man page).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Entry point of the role.
pub fn main(argv: Vec<OsString>) -> i32 {
    let args: Args = match super::parse_args(argv) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if let Some(path) = &args.fence_config {
        return fence_report(path);
    }
    if let Some(path) = &args.rules_config {
        return rules_report(path);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Some(dir) = &args.suite {
        return suite(dir, jobs);
    }
    if let Some((first, last)) = args.fuzz {
        let cfg = FuzzConfig {
            nodes: (args.nodes.0 as usize, args.nodes.1 as usize),
            services: (args.services.0 as usize, args.services.1 as usize),
            ..FuzzConfig::default()
        };
        return fuzz(first, last, jobs, &cfg, args.stats, &args.out);
    }
    match &args.dir {
        Some(dir) => {
            let status = args
                .status_dir
                .clone()
                .unwrap_or_else(|| dir.join("status"));
            single(dir, &status)
        }
        None => super::dispatch::EXIT_USAGE,
    }
}

/// `A..B` (inclusive) with `A <= B`; a single number `A` means `A..A`.
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let num = |t: &str| t.trim().parse::<u64>().map_err(|e| format!("'{t}': {e}"));
    let (a, b) = (num(a)?, num(b)?);
    if a > b {
        return Err(format!("empty range {a}..{b}"));
    }
    Ok((a, b))
}

/// Most failing seeds shrunk by one `--fuzz` run (shrinking replays a
/// seed a few hundred times).
const MAX_SHRUNK: usize = 5;

/// Runs `--fuzz`: violations, optional stats, shrunk scenarios, summary.
fn fuzz(first: u64, last: u64, jobs: usize, cfg: &FuzzConfig, stats: bool, out: &Path) -> i32 {
    // Wall-clock time only for the summary line, never for generation.
    let started = std::time::Instant::now();
    let report = fuzz_range(first, last, jobs, cfg);
    let secs = started.elapsed().as_secs_f64();
    for r in &report.failures {
        if let Some(v) = &r.violation {
            output::print(&format!("seed {}: {v}\n", r.seed));
        }
    }
    if stats {
        output::print(&report.stats.report());
    }
    for r in report.failures.iter().take(MAX_SHRUNK) {
        let Some(s) = shrink::shrink(r.seed, cfg) else {
            continue;
        };
        match shrink::write_scenario(out, &s, cfg) {
            Ok(dir) => output::print(&format!(
                "seed {}: shrunk to {} commands ({}): {}\n",
                r.seed,
                s.commands_after,
                s.violation.invariant,
                dir.display()
            )),
            Err(e) => output::error(format!("unable to write into '{}': {e}", out.display())),
        }
    }
    output::print(&format!(
        "{} seeds, {} violations, {secs:.1} s\n",
        report.seeds,
        report.failures.len()
    ));
    i32::from(!report.failures.is_empty())
}

/// Prints the 04 §6.6 report for one rules file; the file name in
/// messages is the path as given.
fn rules_report(path: &Path) -> i32 {
    match std::fs::read(path) {
        Ok(raw) => {
            let name = path.to_string_lossy();
            output::print(&rules_config_report(&name, &raw));
            0
        }
        Err(e) => {
            output::error(format!("unable to read '{}': {e}", path.display()));
            1
        }
    }
}

/// Runs one scenario, echoing its log, and compares it with log.expect.
fn single(dir: &Path, status: &Path) -> i32 {
    let result = match tester::run_with_status_dir(dir, status, true) {
        Ok(r) => r,
        Err(e) => {
            output::error(e);
            return 1;
        }
    };
    let expect_path = dir.join("log.expect");
    let expected = match std::fs::read(&expect_path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            output::error(format!("unable to read '{}': {e}", expect_path.display()));
            return 1;
        }
    };
    match tester::compare(&expected, &result.log) {
        Verdict::Pass => 0,
        Verdict::Mismatch { diff, .. } => {
            output::print(&diff);
            output::error(format!(
                "log differs from '{}' (see '{}')",
                expect_path.display(),
                status.join("log").display()
            ));
            1
        }
        other => {
            output::error(other.summary());
            1
        }
    }
}

/// Runs a suite and prints each failure and the totals.
fn suite(dir: &Path, jobs: usize) -> i32 {
    let report = match tester::run_suite(dir, jobs) {
        Ok(r) => r,
        Err(e) => {
            output::error(format!("unable to read '{}': {e}", dir.display()));
            return 1;
        }
    };
    for (name, v) in &report.results {
        if !v.passed() {
            output::print(&format!("FAILED {name}: {}\n", v.summary()));
        }
    }
    output::print(&format!(
        "{} passed, {} failed\n",
        report.passed(),
        report.failed()
    ));
    i32::from(report.failed() > 0)
}

/// Prints the §6.6 report for one fence config; the file name in messages
/// is the path as given.
fn fence_report(path: &PathBuf) -> i32 {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) => {
            output::error(format!("unable to read '{}': {e}", path.display()));
            return 1;
        }
    };
    let name = path.to_string_lossy();
    let text = String::from_utf8_lossy(&raw);
    if let Ok(parsed) = fence::parse(&name, &text) {
        for w in &parsed.warnings {
            output::eprint(&format!("{w}\n"));
        }
    }
    output::print(&fence::conformance_report(&name, &text));
    0
}
