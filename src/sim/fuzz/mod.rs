//! Randomized fault schedules through the real state machines (issue 17):
//! `pve-ha tester --fuzz A..B`.
//!
//! For each seed, [`generator`] draws a cluster and a fault phase (power,
//! network, cfs, LRM restarts, CRM stops, reboots and shutdowns under
//! every policy, maintenance, disarm, service changes, `fa` failures,
//! delays), then heals it; [`driver`] runs it through the tester's run
//! loop with [`invariants`] checked after every step and at the end;
//! [`shrink`] reduces a failing seed to a 1-minimal `cmdlist` and writes
//! it as a scenario directory; [`stats`] counts what was generated.
//! Everything is a pure function of the seed and the configuration (no
//! wall clock, no global state): a seed replays forever.

pub mod driver;
pub mod generator;
pub mod invariants;
pub mod rng;
pub mod shrink;
pub mod stats;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use driver::Faults;
use generator::Generator;
pub use invariants::Violation;
use stats::{SeedStats, Stats};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzConfig {
    /// Node count range (inclusive).
    pub nodes: (usize, usize),
    /// Initial service count range (inclusive).
    pub services: (usize, usize),
    /// Test only: plant a safety bug — the simulated lock service grants
    /// an agent lock that one node holds to a second node
    /// ([`Probe::double_grant_agent_lock`](crate::sim::probe::Probe)).
    /// Proves that the invariants and the shrinker catch a real bug.
    pub planted_double_grant: bool,
}

impl Default for FuzzConfig {
    fn default() -> Self {
        FuzzConfig {
            nodes: (3, 7),
            services: (5, 50),
            planted_double_grant: false,
        }
    }
}

/// The result of one seed.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// What was generated.
    pub stats: SeedStats,
}

/// Runs one seed.
pub fn run_seed(seed: u64, cfg: &FuzzConfig) -> SeedResult {
    let (g, setup) = Generator::new(seed, cfg);
    let record = driver::run(&setup, Faults::Generated(Box::new(g)), true, true, cfg);
    SeedResult {
        seed,
        violation: record.violation,
        stats: record.stats,
    }
}

/// The results of a range of seeds.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    /// Seeds run.
    pub seeds: u64,
    /// The failing seeds, in seed order.
    pub failures: Vec<SeedResult>,
    /// Counts over all seeds.
    pub stats: Stats,
}

/// Runs seeds `first..=last` on `jobs` threads (at least one).
pub fn fuzz_range(first: u64, last: u64, jobs: usize, cfg: &FuzzConfig) -> FuzzReport {
    let next = AtomicU64::new(first);
    let total = Mutex::new(FuzzReport::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let mut mine = FuzzReport::default();
                loop {
                    let seed = next.fetch_add(1, Ordering::SeqCst);
                    if seed > last || seed < first {
                        break;
                    }
                    let r = run_seed(seed, cfg);
                    mine.seeds += 1;
                    mine.stats.add(&r.stats);
                    if r.violation.is_some() {
                        mine.failures.push(r);
                    }
                }
                if let Ok(mut t) = total.lock() {
                    t.seeds += mine.seeds;
                    t.failures.extend(mine.failures);
                    t.stats.merge(&mine.stats);
                }
            });
        }
    });
    let mut report = total.into_inner().unwrap_or_default();
    report.failures.sort_by_key(|r| r.seed);
    report
}
