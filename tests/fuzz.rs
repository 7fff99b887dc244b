//! The fuzzer (issue 17): a clean range of seeds, the planted safety bug
//! found and shrunk to a 1-minimal scenario, and the shape of `--stats`.
//! The 2,000-seed run with the release binary belongs to `.ci/run`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Command;

use pve_ha::sim::fuzz::driver::{self, Faults};
use pve_ha::sim::fuzz::generator::Generator;
use pve_ha::sim::fuzz::stats::{KINDS, RULES};
use pve_ha::sim::fuzz::{fuzz_range, run_seed, shrink, FuzzConfig};
use pve_ha::sim::tester::check_dir;

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A scratch directory that is removed also when the test fails.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("pve-ha-fuzz-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn seeds_1_to_200_hold_every_invariant_and_cover_every_kind() {
    let report = fuzz_range(1, 200, jobs(), &FuzzConfig::default());
    assert_eq!(report.seeds, 200);
    let failures: Vec<String> = report
        .failures
        .iter()
        .filter_map(|r| {
            r.violation
                .as_ref()
                .map(|v| format!("seed {}: {v}", r.seed))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for k in KINDS {
        let share = report.stats.share(k);
        assert!(
            share >= 0.10,
            "kind {k} in only {:.1} % of seeds",
            100.0 * share
        );
    }
}

#[test]
fn a_seed_names_the_same_run_forever() {
    let cfg = FuzzConfig::default();
    let a = run_seed(42, &cfg);
    let b = run_seed(42, &cfg);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.violation, b.violation);
    let (_, s1) = Generator::new(42, &cfg);
    let (_, s2) = Generator::new(42, &cfg);
    assert_eq!(s1, s2);
    let (_, s3) = Generator::new(43, &cfg);
    assert_ne!(s1, s3);
}

#[test]
fn the_planted_double_grant_is_found_within_200_seeds_and_shrunk() {
    let cfg = FuzzConfig {
        planted_double_grant: true,
        ..FuzzConfig::default()
    };
    let report = fuzz_range(1, 200, jobs(), &cfg);
    let first = report
        .failures
        .first()
        .expect("the planted bug is found within 200 seeds");
    let v = first.violation.as_ref().expect("a failure has a violation");
    assert!(
        ["fenced-before-takeover", "single-run"].contains(&v.invariant),
        "a safety invariant catches it: {v}"
    );

    let s = shrink::shrink(first.seed, &cfg).expect("the failing seed shrinks");
    assert_eq!(s.violation.invariant, v.invariant);
    assert!(s.commands_after <= s.commands_before, "{s:?}");
    // The shrunk cmdlist still fails, and is 1-minimal: without any one
    // of its commands the violation is gone.
    let replay = |cmdlist: &[Vec<String>]| {
        let faults: VecDeque<Vec<String>> = cmdlist.iter().cloned().collect();
        driver::run(&s.setup, Faults::Fixed(faults), false, false, &cfg)
            .violation
            .filter(|x| x.invariant == v.invariant)
    };
    assert!(replay(&s.cmdlist).is_some(), "{:?}", s.cmdlist);
    for (b, batch) in s.cmdlist.iter().enumerate() {
        for (c, cmd) in batch.iter().enumerate() {
            let mut fewer = s.cmdlist.clone();
            fewer[b].remove(c);
            assert!(
                replay(&fewer).is_none(),
                "not 1-minimal: '{cmd}' can go from {:?}",
                s.cmdlist
            );
        }
    }

    // Written like the scenarios of tests/scenarios/, and its log.expect
    // is what the plain tester (without the planted bug) prints.
    let root = Scratch::new("planted");
    let dir = shrink::write_scenario(&root.0, &s, &cfg).expect("scenario written");
    for f in [
        "cmdlist",
        "hardware_status",
        "service_config",
        "manager_status",
        "log.expect",
        "README",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    let readme = std::fs::read_to_string(dir.join("README")).expect("README");
    assert!(
        readme.contains(&format!("Invariant: {}", v.invariant)),
        "{readme}"
    );
    assert!(check_dir(&dir).passed(), "{:?}", check_dir(&dir));
}

#[test]
fn stats_output_lists_every_kind_and_rule_and_ends_with_the_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["tester", "--fuzz", "1..20", "--stats", "-j", "2"])
        .output()
        .expect("pve-ha runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let first_word = |l: &&str| l.split_whitespace().next().map(str::to_string);
    let words: Vec<String> = lines.iter().filter_map(first_word).collect();
    let header = lines
        .iter()
        .position(|l| {
            l.split_whitespace().collect::<Vec<_>>() == ["kind", "seeds", "share", "count"]
        })
        .expect("kind header");
    for (i, k) in KINDS.iter().enumerate() {
        let cols: Vec<&str> = lines[header + 1 + i].split_whitespace().collect();
        assert_eq!(cols.len(), 4, "{}", lines[header + 1 + i]);
        assert_eq!(cols[0], *k);
        assert!(cols[1].parse::<u64>().is_ok() && cols[3].parse::<u64>().is_ok());
        assert!(cols[2].ends_with('%'));
    }
    assert!(text.contains("exclusion rule"), "{text}");
    for r in RULES {
        assert!(
            words.iter().any(|w| w == r.name),
            "rule {} missing:\n{text}",
            r.name
        );
    }
    let last = lines.last().copied().unwrap_or_default();
    let parts: Vec<&str> = last.split(", ").collect();
    assert!(parts.len() >= 2, "{last}");
    assert_eq!(parts[0], "20 seeds");
    assert!(
        parts[1].ends_with(" violations") || parts[1] == "1 violations",
        "{last}"
    );
}
