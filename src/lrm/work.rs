//! The job queue (05 §9.1–§9.2): deriving the jobs from the manager's
//! service status, queueing them with one job per sid and dedup by
//! recorded result, and the bookkeeping finished jobs update (results,
//! restart counters, shutdown errors).

use std::collections::BTreeMap;

use crate::config::status::{LrmResult, ServiceEntry};
use crate::types::perl::truthy;
use crate::types::{OrUnknown, ServiceState, Sid};

/// A command word as the CRM wrote it: the service state the job was
/// issued for (`started`, `request_stop`, …); unknown words are kept and
/// end in `implement me` (05 §9.4 step 10).
pub(super) type Command = OrUnknown<ServiceState>;

/// Parameters of a job, copied from the service entry (05 §9.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Params {
    /// Destination of `migrate`, `relocate`, `request_start_balance`.
    pub(super) target: Option<String>,
    /// Stop timeout token, printed and passed on as given.
    pub(super) timeout: Option<String>,
}

/// One queued job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Job {
    /// The CRM request id; `None` for the LRM's own shutdown stop jobs,
    /// whose results never reach the CRM (05 §7.2 step 6, §9.5).
    pub(super) uid: Option<String>,
    /// What to do.
    pub(super) command: Command,
    /// Passes that considered this job; long-waiting jobs go first when
    /// workers are scarce (05 §9.3).
    pub(super) start_tries: u32,
    /// Target and timeout.
    pub(super) params: Params,
}

/// Everything the LRM keeps about jobs: the queue and what finished jobs
/// leave behind.
#[derive(Debug, Clone, Default)]
pub(super) struct Work {
    /// Queued jobs, at most one per sid.
    pub(super) queue: BTreeMap<Sid, Job>,
    /// Results of finished CRM jobs by uid, reported in `lrm_status`.
    pub(super) results: BTreeMap<String, LrmResult>,
    /// LRM-side start retry counters (05 §9.6).
    pub(super) restart_tries: BTreeMap<Sid, i64>,
    /// Shutdown stop jobs that did not end with exit code 0.
    pub(super) shutdown_errors: u32,
}

impl Work {
    /// Queues a job (05 §9.2).
    ///
    /// A CRM request is executed at most once per uid: once a result for
    /// the uid is recorded, the same request is not queued again. `stopped`
    /// is the exception, so the LRM keeps enforcing "stopped" every round
    /// even when no CRM looks at the results.
    ///
    /// An existing job for the sid is replaced (a newer request wins, even
    /// over a queued shutdown stop job). Upstream keeps a job whose worker
    /// is already running; here a job leaves the queue when its worker
    /// starts, and `run_workers` never starts a second worker for a sid
    /// while one runs (a request queued meanwhile is dropped when the
    /// worker is collected, see `workers.rs`), which has the same effect.
    pub(super) fn queue_job(
        &mut self,
        sid: Sid,
        uid: Option<String>,
        command: Command,
        params: Params,
    ) {
        let is_stopped = command == OrUnknown::Known(ServiceState::Stopped);
        let answered = uid.as_deref().is_some_and(truthy)
            && uid.as_ref().is_some_and(|u| self.results.contains_key(u));
        if answered && !is_stopped {
            return;
        }
        self.queue.insert(
            sid,
            Job {
                uid,
                command,
                start_tries: 0,
                params,
            },
        );
    }

    /// The work-list part of manage-resources (05 §9.1 steps 1–2): forgets
    /// restart counters of services that left the status, then queues one
    /// job per service of `node` that has a uid and a state the LRM acts
    /// on. `recovery`, `freeze` and `request_start` are the CRM's business
    /// only; a `fence` state never gets here (it forces `lost_agent_lock`).
    pub(super) fn queue_work_list(
        &mut self,
        service_status: &BTreeMap<Sid, ServiceEntry>,
        node: &str,
    ) {
        self.restart_tries
            .retain(|sid, _| service_status.contains_key(sid));
        for (sid, sd) in service_status {
            if !sd.node.as_deref().is_some_and(truthy) || !sd.uid.as_deref().is_some_and(truthy) {
                continue;
            }
            if sd.node.as_deref() != Some(node) {
                continue;
            }
            let Some(state) = &sd.state else { continue };
            if matches!(
                state,
                OrUnknown::Known(
                    ServiceState::Recovery | ServiceState::Freeze | ServiceState::RequestStart
                )
            ) {
                continue;
            }
            let params = Params {
                target: sd.target.clone(),
                timeout: sd.timeout.clone(),
            };
            self.queue_job(sid.clone(), sd.uid.clone(), state.clone(), params);
        }
    }

    /// Queues a uid-less `request_stop` for every service whose node is
    /// `node`, whatever its state (05 §7.2 step 6): a node going down
    /// stops everything it runs, reboot or poweroff alike.
    pub(super) fn queue_shutdown_stop_jobs(
        &mut self,
        service_status: &BTreeMap<Sid, ServiceEntry>,
        node: &str,
    ) {
        for (sid, sd) in service_status {
            if !sd.node.as_deref().is_some_and(truthy) || sd.node.as_deref() != Some(node) {
                continue;
            }
            self.queue_job(
                sid.clone(),
                None,
                OrUnknown::Known(ServiceState::RequestStop),
                Params::default(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrm::fake_env::{sid, FakeEnv};
    use crate::types::ResultCode;

    fn started() -> Command {
        OrUnknown::Known(ServiceState::Started)
    }

    fn result(s: &str, command: Command) -> LrmResult {
        LrmResult {
            sid: sid(s),
            state: command,
            exit_code: ResultCode::Success,
        }
    }

    #[test]
    fn a_recorded_result_blocks_its_uid_except_for_stopped() {
        let mut work = Work::default();
        work.results.insert("u1".into(), result("vm:1", started()));
        work.queue_job(sid("vm:1"), Some("u1".into()), started(), Params::default());
        assert!(work.queue.is_empty());
        let stopped = OrUnknown::Known(ServiceState::Stopped);
        work.queue_job(sid("vm:1"), Some("u1".into()), stopped, Params::default());
        assert_eq!(work.queue.len(), 1);
        // A new uid is a new request.
        work.queue_job(sid("vm:2"), Some("u2".into()), started(), Params::default());
        assert_eq!(work.queue.len(), 2);
    }

    #[test]
    fn a_newer_request_replaces_the_queued_one() {
        let mut work = Work::default();
        let stop = OrUnknown::Known(ServiceState::RequestStop);
        work.queue_job(sid("vm:1"), None, stop, Params::default());
        let params = Params {
            target: Some("node2".into()),
            timeout: None,
        };
        let migrate = OrUnknown::Known(ServiceState::Migrate);
        work.queue_job(
            sid("vm:1"),
            Some("u9".into()),
            migrate.clone(),
            params.clone(),
        );
        assert_eq!(work.queue.len(), 1);
        let job = &work.queue[&sid("vm:1")];
        assert_eq!(
            (job.uid.as_deref(), &job.command, &job.params),
            (Some("u9"), &migrate, &params)
        );
    }

    #[test]
    fn work_list_takes_own_services_with_uid_and_actionable_state() {
        let mut env = FakeEnv::new();
        env.set_service("vm:1", ServiceState::Started, "node1", "a");
        env.set_service("vm:2", ServiceState::Started, "node2", "b");
        env.set_service("vm:3", ServiceState::Freeze, "node1", "c");
        env.set_service("vm:4", ServiceState::Recovery, "node1", "d");
        env.set_service("vm:5", ServiceState::RequestStart, "node1", "e");
        env.set_service("vm:6", ServiceState::Error, "node1", "f");
        env.set_service("vm:7", ServiceState::Started, "node1", "");
        env.set_service("vm:8", ServiceState::Relocate, "node1", "h");
        env.entry("vm:8").target = Some("node3".into());
        env.set_service("vm:9", ServiceState::RequestStop, "node1", "i");
        env.entry("vm:9").timeout = Some("37".into());
        env.entry("vm:10").node = Some("node1".into());
        env.entry("vm:10").uid = Some("j".into());
        let mut work = Work::default();
        work.restart_tries.insert(sid("vm:1"), 1);
        work.restart_tries.insert(sid("vm:99"), 1);
        work.queue_work_list(&env.manager_status.service_status, "node1");
        let queued: Vec<&str> = work.queue.keys().map(Sid::as_str).collect();
        assert_eq!(queued, ["vm:1", "vm:6", "vm:8", "vm:9"]);
        assert_eq!(
            work.queue[&sid("vm:8")].params.target.as_deref(),
            Some("node3")
        );
        assert_eq!(
            work.queue[&sid("vm:9")].params.timeout.as_deref(),
            Some("37")
        );
        // Counters of services that left the status are forgotten.
        let kept: Vec<&str> = work.restart_tries.keys().map(Sid::as_str).collect();
        assert_eq!(kept, ["vm:1"]);
    }

    #[test]
    fn shutdown_stop_jobs_cover_every_own_service() {
        let mut env = FakeEnv::new();
        env.set_service("vm:1", ServiceState::Started, "node1", "a");
        env.set_service("vm:2", ServiceState::Error, "node1", "b");
        env.set_service("vm:3", ServiceState::Started, "node2", "c");
        let mut work = Work::default();
        work.results.insert("a".into(), result("vm:1", started()));
        work.queue_shutdown_stop_jobs(&env.manager_status.service_status, "node1");
        let queued: Vec<(&str, Option<&str>)> = work
            .queue
            .iter()
            .map(|(s, j)| (s.as_str(), j.uid.as_deref()))
            .collect();
        assert_eq!(queued, [("vm:1", None), ("vm:2", None)]);
    }
}
