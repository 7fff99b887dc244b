//! Running the job queue (05 §9.3, `run_workers`): the pass order, the
//! execution of each job and the hand-over to completion.
//!
//! Only synchronous execution exists so far (`max_workers == 0`, what the
//! regression harness uses): every queued job runs inside the call, in
//! pass order, and its result is recorded before the call returns. The
//! asynchronous worker pool (`max_workers > 0`: the real daemon and the
//! real-time simulator) is a later issue; until it exists,
//! `Env::get_max_workers` is not consulted and a positive value runs
//! synchronously too. The pool plugs in at the seams marked below:
//! taking its limit from `get_max_workers`, collecting finished workers at
//! the start of each pass, skipping jobs while `max_workers` workers run,
//! starting a worker instead of executing inline, and looping (1 s sleeps,
//! 8 s budget) while workers are still running. Its jobs' results are
//! recorded only when collected (through `Work::complete`), and
//! `Work::queue_job` must then keep a job whose worker is running.

use std::collections::BTreeMap;

use crate::config::status::ServiceEntry;
use crate::env::{Env, EnvResult, LogLevel, ServiceConfig};
use crate::lrm::completion::WaitStatus;
use crate::lrm::exec::exec_resource_agent;
use crate::lrm::work::{Job, Work};
use crate::types::Sid;

impl Work {
    /// Runs the queued jobs and returns how many are still queued or
    /// running (always 0 with synchronous execution).
    ///
    /// The resource configuration is read once, up front, even with an
    /// empty queue; a read error propagates (05 §16 item 13: caught only
    /// inside the `active` work phase). `service_status` is the LRM's copy
    /// of the manager's service status, for result pruning.
    pub(super) fn run_workers(
        &mut self,
        env: &mut dyn Env,
        service_status: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<usize> {
        let (config, _) = env.read_service_config()?;

        // Seam: a pool collects its finished workers here, then loops over
        // passes while workers run. Synchronous jobs all finish in the
        // first pass, so one pass is the whole loop.
        for sid in self.pass_order() {
            let Some(mut job) = self.queue.remove(&sid) else {
                continue;
            };
            // Counted for skipped jobs too: fairness when workers are
            // scarce (unobservable while nothing is ever skipped).
            job.start_tries += 1;
            let status = execute(env, &sid, &config, &job);
            self.complete(env, &sid, job, status, service_status)?;
        }
        Ok(self.queue.len())
    }

    /// The jobs one pass considers, in order: most passed-over first, then
    /// by sid byte-wise (`ct:102` < `fa:109` < `vm:1000` < `vm:101`), which
    /// is why a synchronous round logs its commands sorted by sid.
    fn pass_order(&self) -> Vec<Sid> {
        let mut order: Vec<(&Sid, u32)> = self
            .queue
            .iter()
            .map(|(sid, job)| (sid, job.start_tries))
            .collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        order.into_iter().map(|(sid, _)| sid.clone()).collect()
    }
}

/// Executes one job inline and returns its wait status. A raised error is
/// logged (05 §9.3) and becomes status −1, which completion reports as
/// `failed to execute` with exit code −1 (05 §16 item 11).
fn execute(env: &mut dyn Env, sid: &Sid, config: &ServiceConfig, job: &Job) -> WaitStatus {
    match exec_resource_agent(env, sid, config.get(sid), &job.command, &job.params) {
        Ok(code) => WaitStatus::from_result(code),
        Err(e) => {
            env.log(LogLevel::Err, &e.0);
            WaitStatus::FAILED
        }
    }
}
