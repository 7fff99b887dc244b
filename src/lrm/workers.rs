//! Running the job queue (05 §9.3, `run_workers`): the pass order, the
//! execution of each job and the hand-over to completion.
//!
//! Two modes, chosen by the environment:
//!
//! * **synchronous** (`get_max_workers() == 0`, or no worker pool: the
//!   regression harness): every queued job runs inside the call, in pass
//!   order, and its result is recorded before the call returns;
//! * **asynchronous** (`get_max_workers() > 0` and an
//!   [`Env::worker_pool`]: the live simulator, later the real daemon):
//!   jobs run in the pool's workers, at most `max_workers` at a time, and
//!   the call loops (1 s sleeps, 8 s budget) while workers run. A result
//!   is recorded only when its worker is collected, possibly by a later
//!   call.
//!
//! The asynchronous loop is bounded twice: by upstream's time budget and
//! by a number of passes ([`Timing::worker_loop_passes`], 9 with
//! upstream's values). Where the clock keeps pace with the 1 s sleeps the
//! two agree; where a sleep does not move the clock (the Env contract
//! allows it) the pass count ends the loop. Either way a job that never
//! finishes only stays running in the pool and is looked at again by the
//! next call, as upstream leaves an unfinished child to the next round.
//!
//! The pool only runs jobs; it owns the threads, so this module stays
//! pure. While a sid's worker runs, the sid is never started again (one
//! job per sid). Upstream keeps the running job in its queue and ignores
//! new requests for the sid (05 §9.2 step 2); here the job leaves the
//! queue when its worker starts, so a request queued meanwhile is dropped
//! when the worker is collected, which is the same thing: the next work
//! list queues whatever is still wanted.

use std::collections::BTreeMap;

use crate::config::status::ServiceEntry;
use crate::env::{
    Env, EnvError, EnvErrorKind, EnvResult, LogLevel, ServiceConf, ServiceConfig, Timing, WorkerJob,
};
use crate::lrm::completion::WaitStatus;
use crate::lrm::exec::exec_resource_agent;
use crate::lrm::work::{Job, Work};
use crate::types::{ResultCode, Sid};

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
        timing: &Timing,
        service_status: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<usize> {
        let (config, _) = env.read_service_config()?;
        let max_workers = env.get_max_workers();
        if max_workers > 0 && env.worker_pool().is_some() {
            return self.run_async(env, timing, max_workers, &config, service_status);
        }

        // Synchronous jobs all finish in the first pass, so one pass is
        // the whole loop.
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

    /// The asynchronous loop of 05 §9.3 step 2: collect, start what the
    /// worker limit allows, sleep a second; for at most 8 seconds and at
    /// most 9 passes (upstream's timing; module doc).
    fn run_async(
        &mut self,
        env: &mut dyn Env,
        timing: &Timing,
        max_workers: usize,
        config: &ServiceConfig,
        service_status: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<usize> {
        let start = env.get_time();
        for _ in 0..timing.worker_loop_passes() {
            if env.get_time() - start > timing.worker_loop_budget {
                break;
            }
            self.collect_workers(env, service_status)?;
            let mut count = env.worker_pool().map_or(0, |p| p.running());
            for sid in self.pass_order() {
                if env.worker_pool().is_some_and(|p| p.is_running(&sid)) {
                    continue;
                }
                let Some(job) = self.queue.get_mut(&sid) else {
                    continue;
                };
                // Counted for skipped jobs too: the most passed-over job
                // goes first once a worker is free.
                job.start_tries += 1;
                if count >= max_workers {
                    continue;
                }
                let Some(job) = self.queue.remove(&sid) else {
                    continue;
                };
                let work = worker_job(sid.clone(), config.get(&sid).cloned(), &job);
                let started = match env.worker_pool() {
                    Some(pool) => pool.start(&sid, work, Box::new(job.clone())),
                    None => Err("no worker pool".to_string()),
                };
                match started {
                    Ok(()) => count += 1,
                    Err(e) => {
                        env.log(LogLevel::Err, &format!("forking worker failed - {e}"));
                        self.queue.insert(sid, job);
                        count = 0;
                        break;
                    }
                }
            }
            if count == 0 {
                break;
            }
            env.sleep(timing.worker_poll_sleep);
        }
        let running = env.worker_pool().map_or(0, |p| p.running());
        let waiting = match env.worker_pool() {
            Some(pool) => self.queue.keys().filter(|s| !pool.is_running(s)).count(),
            None => self.queue.len(),
        };
        Ok(running + waiting)
    }

    /// Completes every job whose worker finished (05 §9.5).
    fn collect_workers(
        &mut self,
        env: &mut dyn Env,
        service_status: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<()> {
        let finished = env.worker_pool().map(|p| p.collect()).unwrap_or_default();
        for f in finished {
            // Requests queued while the worker ran are dropped (module
            // doc): upstream ignores them.
            self.queue.remove(&f.sid);
            let Ok(job) = f.payload.downcast::<Job>() else {
                continue;
            };
            self.complete(env, &f.sid, *job, WaitStatus(f.status), service_status)?;
        }
        Ok(())
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

/// The job a worker runs: execute, and turn the outcome into the wait
/// status of a child that exits with the job's return code. A raised error
/// is logged by the worker and becomes exit code 255 (upstream's child
/// exits with −1), not the synchronous mode's "failed to execute" — unless
/// it only says the shared state could not be read ([`retry_later`]). The
/// `env` is the worker's own, which the pool set up (no `after_fork`
/// step: see [`WorkerPool`](crate::env::WorkerPool)).
fn worker_job(sid: Sid, conf: Option<ServiceConf>, job: &Job) -> WorkerJob {
    let command = job.command.clone();
    let params = job.params.clone();
    Box::new(move |env: &mut dyn Env| {
        let code = match exec_resource_agent(env, &sid, conf.as_ref(), &command, &params) {
            Ok(code) => code.code() & 0xff,
            Err(e) => {
                env.log(LogLevel::Err, e.message());
                match retry_later(&e) {
                    Some(code) => code.code(),
                    None => 255,
                }
            }
        };
        code << 8
    })
}

/// Executes one job inline and returns its wait status. A raised error is
/// logged (05 §9.3) and becomes status −1, which completion reports as
/// `failed to execute` with exit code −1 (05 §16 item 11) — unless
/// [`retry_later`] says otherwise.
fn execute(env: &mut dyn Env, sid: &Sid, config: &ServiceConfig, job: &Job) -> WaitStatus {
    match exec_resource_agent(env, sid, config.get(sid), &job.command, &job.params) {
        Ok(code) => WaitStatus::from_result(code),
        Err(e) => {
            env.log(LogLevel::Err, e.message());
            retry_later(&e).map_or(WaitStatus::FAILED, WaitStatus::from_result)
        }
    }
}

/// A job that failed only because the shared state did not answer (an
/// error of kind `Unavailable`: a store read timed out or reached no
/// endpoint, the store is restarting) says nothing about the resource: it ends with `ETRY_AGAIN`, which records no result, so the
/// same request runs again next round. Upstream's child dies in that case
/// too and its exit code puts the service in `error`, where it waits for
/// an admin — a price for a cluster-store hiccup that no admin would
/// choose. Every other error keeps upstream's outcome; the simulator
/// never raises this kind from a resource operation. A resource that
/// itself did not answer in time (kind `Timeout`, an agent killed at its
/// timeout) is a failure like any other.
fn retry_later(e: &EnvError) -> Option<ResultCode> {
    (e.kind() == EnvErrorKind::Unavailable).then_some(ResultCode::TryAgain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrm::fake_env::{sid, FakeEnv};
    use crate::types::{OrUnknown, ServiceState};

    /// What a worker's child would exit with for a plugin raising `e`.
    fn worker_status(e: EnvError) -> i64 {
        let mut env = FakeEnv::new();
        env.set_service("vm:101", ServiceState::Started, "node1", "u1");
        let s = sid("vm:101");
        env.raising.insert(s.clone(), e);
        let conf = env.service_config.get(&s).cloned();
        let job = Job {
            uid: Some("u1".into()),
            command: OrUnknown::Known(ServiceState::Started),
            start_tries: 0,
            params: Default::default(),
        };
        worker_job(s, conf, &job)(&mut env)
    }

    #[test]
    fn a_worker_that_could_not_read_the_store_asks_to_try_again() {
        let e = EnvError::with_kind(
            EnvErrorKind::Unavailable,
            "unable to read file '/pve-ha/ha/resources.cfg' - etcd request timed out",
        );
        assert_eq!(worker_status(e), 2 << 8);
    }

    #[test]
    fn any_other_raised_error_is_upstreams_exit_255() {
        assert_eq!(worker_status(EnvError::new("guest locked")), 255 << 8);
        let e = EnvError::with_kind(EnvErrorKind::Io, "no such agent");
        assert_eq!(worker_status(e), 255 << 8);
        // The resource itself did not answer in time: a failure.
        let e = EnvError::with_kind(EnvErrorKind::Timeout, "monitor timed out");
        assert_eq!(worker_status(e), 255 << 8);
    }
}
