//! A scripted [`WorkerPool`] for the LRM's unit tests: per sid it decides
//! when a job finishes (after how many `collect` calls), whether it never
//! finishes, and whether its worker fails to start, so the asynchronous
//! worker loop (05 §9.3) can be tested deterministically, without threads
//! or a clock.
//!
//! A loop that never ends would call `collect` for ever; the pool panics
//! after [`RUNAWAY_COLLECTS`] calls, far beyond any bounded loop, so such
//! a test fails instead of hanging.
//!
//! Jobs run, at start, in the pool's own environment (a separate
//! [`FakeEnv`]), as the `WorkerPool` contract asks: their plugin calls and
//! log lines land there, not in the LRM's environment.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use crate::env::{FinishedJob, WorkerJob, WorkerPool};
use crate::lrm::fake_env::{sid, FakeEnv};
use crate::types::Sid;

/// `collect` calls after which the pool declares the loop runaway: a
/// bounded loop makes 9 per call, and no test makes more than a few
/// calls.
pub(super) const RUNAWAY_COLLECTS: u32 = 1000;

/// What happens to the job of one sid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Script {
    /// Reported by the `n`-th `collect` call after its start (1: the next
    /// one). Jobs due at the same call are reported in reverse start
    /// order, so completion never follows start order by accident.
    FinishAfter(u32),
    /// The worker hangs: never reported, running for ever.
    Never,
    /// The first `times` starts fail with `error` (an OS error text);
    /// later ones finish at the next `collect`.
    FailToStart {
        /// How many starts fail.
        times: u32,
        /// The error `start` returns.
        error: String,
    },
}

/// A started job that has not been collected yet.
struct Running {
    /// Start sequence number.
    seq: usize,
    /// `collect` call that reports it; `None`: never.
    due: Option<u32>,
    /// The job's wait status (the job ran at start).
    status: i64,
    payload: Box<dyn Any + Send>,
}

/// The scripted pool. Unscripted sids finish at the next `collect`.
pub(super) struct ScriptedPool {
    scripts: BTreeMap<Sid, Script>,
    /// The environment jobs run in.
    pub worker_env: Box<FakeEnv>,
    running: BTreeMap<Sid, Running>,
    /// Sids in the order their workers started.
    pub started: Vec<Sid>,
    /// Sids in the order their results were handed back.
    pub collected: Vec<Sid>,
    /// How many `start` calls failed.
    pub start_failures: u32,
    /// How many times `collect` was called (one per loop pass).
    pub collects: u32,
    /// The most workers that ran at once.
    pub most_running: usize,
}

impl fmt::Debug for ScriptedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedPool")
            .field("scripts", &self.scripts)
            .field("running", &self.running.keys().collect::<Vec<_>>())
            .field("started", &self.started)
            .field("collected", &self.collected)
            .field("collects", &self.collects)
            .finish()
    }
}

impl ScriptedPool {
    /// A pool whose jobs all finish at the next `collect`.
    pub(super) fn new() -> Self {
        ScriptedPool {
            scripts: BTreeMap::new(),
            worker_env: Box::new(FakeEnv::new()),
            running: BTreeMap::new(),
            started: Vec::new(),
            collected: Vec::new(),
            start_failures: 0,
            collects: 0,
            most_running: 0,
        }
    }

    /// Scripts the job of `s`.
    pub(super) fn script(mut self, s: &str, script: Script) -> Self {
        self.scripts.insert(sid(s), script);
        self
    }
}

impl WorkerPool for ScriptedPool {
    fn start(
        &mut self,
        sid: &Sid,
        job: WorkerJob,
        payload: Box<dyn Any + Send>,
    ) -> Result<(), String> {
        assert!(
            !self.running.contains_key(sid),
            "two workers for {sid} at once"
        );
        let script = self
            .scripts
            .get_mut(sid)
            .cloned()
            .unwrap_or(Script::FinishAfter(1));
        let due = match script {
            Script::FinishAfter(n) => Some(self.collects + n.max(1)),
            Script::Never => None,
            Script::FailToStart { times, error } => {
                if times > 0 {
                    self.scripts.insert(
                        sid.clone(),
                        Script::FailToStart {
                            times: times - 1,
                            error: error.clone(),
                        },
                    );
                    self.start_failures += 1;
                    return Err(error);
                }
                Some(self.collects + 1)
            }
        };
        // A hanging job never gets to act; the others act at once.
        let status = if due.is_some() {
            job(self.worker_env.as_mut())
        } else {
            0
        };
        self.running.insert(
            sid.clone(),
            Running {
                seq: self.started.len(),
                due,
                status,
                payload,
            },
        );
        self.started.push(sid.clone());
        self.most_running = self.most_running.max(self.running.len());
        Ok(())
    }

    fn collect(&mut self) -> Vec<FinishedJob> {
        self.collects += 1;
        assert!(
            self.collects < RUNAWAY_COLLECTS,
            "the worker loop did not end"
        );
        let now = self.collects;
        let mut due: Vec<(usize, Sid)> = self
            .running
            .iter()
            .filter(|(_, r)| r.due.is_some_and(|d| d <= now))
            .map(|(sid, r)| (r.seq, sid.clone()))
            .collect();
        due.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        let mut out = Vec::new();
        for (_, sid) in due {
            if let Some(r) = self.running.remove(&sid) {
                self.collected.push(sid.clone());
                out.push(FinishedJob {
                    sid,
                    status: r.status,
                    payload: r.payload,
                });
            }
        }
        out
    }

    fn is_running(&self, sid: &Sid) -> bool {
        self.running.contains_key(sid)
    }

    fn running(&self) -> usize {
        self.running.len()
    }
}
