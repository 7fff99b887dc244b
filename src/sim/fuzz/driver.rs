//! One fuzz run: the [`Observer`] that feeds the run loop its batches
//! (generated or replayed fault batches, then the adaptive heal) and
//! checks the safety invariants after every step; the liveness check at
//! the end.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::generator::{heal_batch, Generator, Setup};
use super::invariants::{check_liveness, check_safety, Violation};
use super::stats::SeedStats;
use super::FuzzConfig;
use crate::env::{EnvError, EnvResult, Time};
use crate::sim::cluster::Cluster;
use crate::sim::probe::Probe;
use crate::sim::run_loop::{Observer, Outcome, Simulation};
use crate::sim::tester::panic_text;
use crate::sim::{Hardware, Scenario};

/// Heal batches after which the heal gives up (and liveness is judged on
/// whatever state the cluster reached).
const MAX_HEAL_ROUNDS: usize = 8;

/// Where the fault batches come from.
#[derive(Debug)]
pub enum Faults {
    /// Drawn by the generator from the truth as the run goes.
    Generated(Box<Generator>),
    /// Replayed as given (shrinking, scenario replay).
    Fixed(VecDeque<Vec<String>>),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// Every batch applied, fault batches first.
    pub batches: Vec<Vec<String>>,
    /// How many of `batches` are fault batches (the rest is the heal).
    pub fault_batches: usize,
    /// What the generator generated (empty for replayed faults).
    pub stats: SeedStats,
}

struct Driver {
    faults: Faults,
    faults_done: bool,
    heal: bool,
    heal_rounds: usize,
    batches: Vec<Vec<String>>,
    fault_batches: usize,
    violation: Option<Violation>,
    heal_stats: SeedStats,
    /// The heal has turned maintenance off and re-armed HA.
    settled: bool,
}

impl Observer for Driver {
    fn after_step(&mut self, cluster: &Cluster, _ran_at: Time, now: Time) -> EnvResult<()> {
        if self.violation.is_none() {
            self.violation = check_safety(cluster, now);
        }
        match self.violation {
            Some(_) => Err(EnvError::new("fuzz: invariant violated")),
            None => Ok(()),
        }
    }

    fn next_batch(&mut self, cluster: &Cluster, _now: Time) -> Option<Vec<String>> {
        if !self.faults_done {
            let b = match &mut self.faults {
                Faults::Generated(g) => g.next_batch(cluster),
                Faults::Fixed(q) => q.pop_front(),
            };
            match b {
                Some(b) => {
                    self.batches.push(b.clone());
                    self.fault_batches += 1;
                    return Some(b);
                }
                None => self.faults_done = true,
            }
        }
        if !self.heal || self.heal_rounds >= MAX_HEAL_ROUNDS {
            return None;
        }
        let b = heal_batch(
            cluster,
            &self.batches,
            self.heal_rounds,
            &mut self.settled,
            &mut self.heal_stats,
        )?;
        self.heal_rounds += 1;
        self.batches.push(b.clone());
        Some(b)
    }
}

/// The scenario of `setup` with an empty `cmdlist`.
pub fn scenario_of(setup: &Setup) -> Scenario {
    let mut files = setup.files.clone();
    files.insert("cmdlist".into(), "[]".into());
    // Our own generated files: a failure here is a generator bug.
    Scenario::from_files(Path::new("fuzz"), &files).unwrap_or_else(|_| Scenario::empty())
}

/// Runs `setup` with `faults`, then (if `heal`) the adaptive heal; checks
/// safety at every step and, if `liveness`, liveness at the end.
pub fn run(
    setup: &Setup,
    faults: Faults,
    heal: bool,
    liveness: bool,
    cfg: &FuzzConfig,
) -> RunRecord {
    let scenario = scenario_of(setup);
    let mut driver = Driver {
        faults,
        faults_done: false,
        heal,
        heal_rounds: 0,
        batches: Vec::new(),
        fault_batches: 0,
        violation: None,
        heal_stats: SeedStats::default(),
        settled: false,
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut hw = Hardware::new(&scenario);
        hw.set_probe(Probe {
            double_grant_agent_lock: cfg.planted_double_grant,
            ..Probe::default()
        });
        let hw = hw.shared();
        let mut sim = Simulation::new(hw.clone(), Vec::new());
        let outcome = sim.run_observed(&mut driver);
        let now = hw.borrow().time();
        match (&outcome, liveness) {
            (Outcome::Done, true) => check_liveness(sim.cluster(), now),
            (Outcome::Done, false) => None,
            (Outcome::Aborted(e), _) => Some(Violation {
                invariant: "run-completes",
                second: now,
                detail: format!("the simulation aborted: {e}"),
            }),
        }
    }));
    let end = match result {
        Ok(v) => v,
        Err(p) => Some(Violation {
            invariant: "run-completes",
            second: 0,
            detail: format!("panic: {}", panic_text(p.as_ref())),
        }),
    };
    let mut stats = match &driver.faults {
        Faults::Generated(g) => g.stats.clone(),
        Faults::Fixed(_) => SeedStats::default(),
    };
    for (rule, n) in &driver.heal_stats.rules {
        *stats.rules.entry(rule).or_default() += n;
    }
    RunRecord {
        stats,
        violation: driver.violation.or(end),
        batches: driver.batches,
        fault_batches: driver.fault_batches,
    }
}
