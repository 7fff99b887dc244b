//! The local resource manager (05): one node's LRM state machine. It
//! holds the node's agent lock (protected by the watchdog) while the node
//! may run HA services, executes the commands the CRM master writes into
//! the manager status, and reports their results in its `lrm_status`.
//!
//! Calling protocol for the drivers (simulator, real daemon): create one
//! instance per LRM start with [`Lrm::new`], handing it the process-wide
//! [`LrmShared`]; call [`Lrm::do_one_iteration`] until it returns
//! `Ok(false)` (the LRM ends); deliver a stop request (SIGTERM, the
//! harness's `shutdown`/`reboot`/`restart-lrm`) with
//! [`Lrm::shutdown_request`] between iterations. An `Err` from an
//! iteration is an error upstream does not catch either (05 §16 item 13):
//! the daemon ends, the simulation aborts.
//!
//! Invariant: pure. Time, sleeps, locks, watchdog, files and resource
//! operations all go through [`Env`]; nothing here reads a clock or
//! touches the outside world.
//!
//! Module map: `transitions` (state-change phase, 05 §5.2), `rounds`
//! (work phase, §5.3), `shutdown` (§7), `view` (manager status and the
//! predicates of §4), `protection` (lock and watchdog, §3), `work` (job
//! queue, §9.1–§9.2), `workers` (`run_workers`, §9.3), `exec`
//! (`exec_resource_agent`, §9.4), `completion` (§9.5), `restart_policy`
//! (§9.6).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::status::{LrmResult, LrmStatus};
use crate::env::{Env, EnvResult, LogLevel, Time, Timing};
use crate::types::{LrmMode, LrmState, OrUnknown};

mod completion;
mod exec;
mod protection;
mod restart_policy;
mod rounds;
mod shutdown;
mod transitions;
mod view;
mod work;
mod workers;

#[cfg(test)]
mod fake_env;
#[cfg(test)]
mod scripted_pool;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod worker_loop_tests;

use protection::Protection;
use view::ManagerView;
use work::Work;

/// State shared by every LRM instance of one process (05 §2.1, 01 §6.13):
/// the "status written at startup" flag. The driver creates one per
/// process (per simulation run) and hands it to every `Lrm::new`.
#[derive(Debug, Clone, Default)]
pub struct LrmShared {
    startup_status_written: Arc<AtomicBool>,
}

impl LrmShared {
    /// Whether some LRM already wrote its startup status.
    pub fn startup_status_written(&self) -> bool {
        self.startup_status_written.load(Ordering::SeqCst)
    }

    /// Records that the startup status was written.
    pub fn set_startup_status_written(&self) {
        self.startup_status_written.store(true, Ordering::SeqCst);
    }
}

/// One node's LRM (05 §2).
#[derive(Debug)]
pub struct Lrm {
    /// The process-wide startup-write flag.
    shared: LrmShared,
    /// Round lengths, sleeps and limits (05 §3).
    timing: Timing,
    /// The node this LRM runs on.
    node: String,
    /// Current state; `startup` only inside the constructor.
    state: LrmState,
    /// When `state` was last changed (the 90-second rule of 05 §5.3).
    state_change_time: Time,
    /// The mode reported to the CRM.
    mode: LrmMode,
    /// Time a shutdown/restart request arrived; `Some` = pending. An
    /// explicit option instead of upstream's "time is truthy" (05 §7.2
    /// step 8), so a request at time 0 counts.
    shutdown_request: Option<Time>,
    /// This iteration's cluster state refresh.
    cluster_state_update: bool,
    /// Consecutive `active` rounds without configured service (05 §6).
    active_idle_rounds: u32,
    /// Last successfully read manager status.
    view: ManagerView,
    /// Job queue, results, retry counters.
    work: Work,
    /// The watchdog connection that goes with the agent lock.
    protection: Protection,
}

impl Lrm {
    /// Creates the LRM of `env`'s node and performs the change
    /// `startup => wait_for_agent_lock`, which logs
    /// `status change startup => wait_for_agent_lock` (05 §2). `timing`
    /// gives every round length and limit ([`Timing::upstream`] for the
    /// simulator and the Proxmox backend).
    pub fn new(env: &mut dyn Env, shared: &LrmShared, timing: Timing) -> Lrm {
        let mut lrm = Lrm {
            shared: shared.clone(),
            timing,
            node: env.nodename().to_string(),
            state: LrmState::Startup,
            state_change_time: env.get_time(),
            mode: LrmMode::Active,
            shutdown_request: None,
            cluster_state_update: false,
            active_idle_rounds: 0,
            view: ManagerView::default(),
            work: Work::default(),
            protection: Protection::default(),
        };
        lrm.set_state(env, LrmState::WaitForAgentLock);
        lrm
    }

    /// The current state.
    pub fn state(&self) -> LrmState {
        self.state
    }

    /// The current mode.
    pub fn mode(&self) -> LrmMode {
        self.mode
    }

    /// Whether a shutdown/restart request is pending.
    pub fn shutdown_pending(&self) -> bool {
        self.shutdown_request.is_some()
    }

    /// Whether the LRM's last view of the manager status places a service
    /// on its node (the `active` state's idle rule, 05 §6).
    pub fn has_configured_service(&self) -> bool {
        self.view.has_configured_service_on(&self.node)
    }

    /// Whether the LRM holds an open watchdog connection.
    pub fn has_watchdog(&self) -> bool {
        self.protection.has_watchdog()
    }

    /// The recorded command results by uid (what `lrm_status` reports).
    pub fn results(&self) -> &BTreeMap<String, LrmResult> {
        &self.work.results
    }

    /// One iteration (05 §5); `Ok(false)` means the LRM ends.
    ///
    /// Order: the Env's loop-start hook, the cluster state refresh, the
    /// startup status write (until one succeeded in this process), the
    /// manager status refresh, the state-change phase, the work phase of
    /// the (possibly new) state, the loop-end hook. Transitions are thus
    /// followed by the new state's work in the same iteration.
    pub fn do_one_iteration(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        env.loop_start_hook()?;
        self.cluster_state_update = env.cluster_state_update();
        let result = self.step(env)?;
        env.loop_end_hook()?;
        Ok(result)
    }

    /// Everything between the hooks.
    fn step(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        if !self.shared.startup_status_written() {
            if self.write_status(env) {
                self.shared.set_startup_status_written();
            } else {
                // 05 §5 step 2: nothing else happens until the CRM can see
                // this LRM at least once.
                env.sleep(self.timing.startup_write_retry_sleep);
                return Ok(self.shutdown_request.is_none());
            }
        }
        let state = self.state;
        self.refresh(env);
        let fence_request = self.view.is_fence_requested(&self.node);
        self.change_state(env, state, fence_request)?;
        self.do_state_work(env)
    }

    /// Changes the state; logs `status change <old> => <new>` and records
    /// the time unless the state stays the same (05 §2).
    fn set_state(&mut self, env: &mut dyn Env, new: LrmState) {
        if new == self.state {
            return;
        }
        env.log(
            LogLevel::Info,
            &format!("status change {} => {new}", self.state),
        );
        self.state = new;
        self.state_change_time = env.get_time();
    }

    /// Refreshes from the manager status (05 §5.1). A read failure is
    /// logged and keeps everything read before; the mode follows the
    /// manager's requests only while no shutdown is pending.
    fn refresh(&mut self, env: &mut dyn Env) -> bool {
        match env.read_manager_status() {
            Err(e) => {
                env.log(
                    LogLevel::Err,
                    &format!("updating service status from manager failed: {e}"),
                );
                false
            }
            Ok(ms) => {
                self.view.update(&ms, &self.node);
                if self.shutdown_request.is_none() {
                    self.mode = view::requested_mode(&ms, &self.node, self.mode);
                }
                true
            }
        }
    }

    /// Writes `lrm_status` (05 §11.2): silently refused without quorum, a
    /// write error is logged. Returns whether it was written.
    fn write_status(&self, env: &mut dyn Env) -> bool {
        if !env.quorate() {
            return false;
        }
        let status = LrmStatus {
            state: Some(OrUnknown::Known(self.state)),
            mode: Some(OrUnknown::Known(self.mode)),
            results: self.work.results.clone(),
            timestamp: Some(env.get_time()),
        };
        match env.write_lrm_status(&status) {
            Ok(()) => true,
            Err(e) => {
                env.log(
                    LogLevel::Err,
                    &format!("unable to write lrm status file - {e}"),
                );
                false
            }
        }
    }

    /// active_service_count for this node (05 §4).
    fn active_service_count(&self) -> usize {
        self.view.active_service_count(&self.node)
    }

    /// Runs the job queue (05 §9.3); returns the number of jobs left.
    fn run_workers(&mut self, env: &mut dyn Env) -> EnvResult<usize> {
        self.work
            .run_workers(env, &self.timing, self.view.service_status())
    }

    /// Manage resources (05 §9.1): queue the CRM's commands for this node,
    /// then run the queue.
    fn manage_resources(&mut self, env: &mut dyn Env) -> EnvResult<usize> {
        self.work
            .queue_work_list(self.view.service_status(), &self.node);
        self.run_workers(env)
    }
}
