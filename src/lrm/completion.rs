//! Finishing a job (05 §9.5): turning the raw wait status into an exit
//! code, counting shutdown stop errors, applying the restart policy,
//! recording the result and pruning results the CRM no longer asks about.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::status::{LrmResult, ServiceEntry};
use crate::env::{Env, EnvResult, LogLevel};
use crate::lrm::restart_policy;
use crate::lrm::work::{Job, Work};
use crate::types::perl::truthy;
use crate::types::{ResultCode, Sid};

/// A finished job's raw status in Unix wait-status form, as upstream's
/// worker bookkeeping sees it: −1 = could not execute, low 7 bits = the
/// terminating signal, otherwise exit code × 256. Synchronous execution
/// produces it from the returned code so that both execution modes go
/// through the same completion path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WaitStatus(pub(super) i64);

impl WaitStatus {
    /// The job could not run (or raised, in synchronous mode).
    pub(super) const FAILED: WaitStatus = WaitStatus(-1);

    /// The status of a job that returned `code` (05 §9.3: `r × 256` if
    /// `r > 0`, else unchanged).
    pub(super) fn from_result(code: ResultCode) -> Self {
        let r = code.code();
        WaitStatus(if r > 0 { r.saturating_mul(256) } else { r })
    }

    /// The exit code, logging why there is none (05 §9.5 steps 1–3).
    fn exit_code(self, env: &mut dyn Env, sid: &Sid) -> ResultCode {
        let st = self.0;
        if st == -1 {
            env.log(
                LogLevel::Err,
                &format!("resource agent {sid} finished - failed to execute"),
            );
            return ResultCode::Other(-1);
        }
        let signal = st & 127;
        if signal != 0 {
            env.log(
                LogLevel::Err,
                &format!("resource agent {sid} finished - got signal {signal}"),
            );
            return ResultCode::Other(-1);
        }
        ResultCode::from_code(st >> 8)
    }
}

impl Work {
    /// Handles a job that finished with `status`; the job has already
    /// been taken out of the queue.
    ///
    /// `service_status` is the LRM's current copy of the manager's
    /// service status, used for pruning. Reading the resource
    /// configuration for `max_restart` may fail; the error propagates (to
    /// `run_workers` and further, 05 §16 item 13).
    pub(super) fn complete(
        &mut self,
        env: &mut dyn Env,
        sid: &Sid,
        job: Job,
        status: WaitStatus,
        service_status: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<()> {
        let code = status.exit_code(env, sid);
        let Some(uid) = job.uid else {
            // A shutdown stop job: only whether it worked matters, for the
            // decision to release lock and watchdog on exit (05 §5.3).
            if code != ResultCode::Success {
                self.shutdown_errors += 1;
            }
            return Ok(());
        };

        // max_restart is read fresh at every completion; a sid without
        // configuration gets no retries.
        let (config, _) = env.read_service_config()?;
        let max_restart = config.get(sid).map_or(0, |conf| conf.max_restart);
        let code = restart_policy::apply(
            env,
            &mut self.restart_tries,
            sid,
            &job.command,
            code,
            max_restart,
        );
        if code == ResultCode::TryAgain {
            // Tell nobody: without a result the same uid is queued and
            // executed again by the next manage-resources pass.
            return Ok(());
        }
        self.results.insert(
            uid,
            LrmResult {
                sid: sid.clone(),
                state: job.command,
                exit_code: code,
            },
        );
        self.prune_results(service_status);
        Ok(())
    }

    /// Keeps only results whose uid is still some service's current uid
    /// (any node). Only called when a CRM job completes, so stale results
    /// linger until the next completion (03 §3.2 item 5).
    fn prune_results(&mut self, service_status: &BTreeMap<Sid, ServiceEntry>) {
        let valid: BTreeSet<&str> = service_status
            .values()
            .filter_map(|sd| sd.uid.as_deref())
            .filter(|uid| truthy(uid))
            .collect();
        self.results.retain(|uid, _| valid.contains(uid.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrm::fake_env::{sid, FakeEnv};

    #[test]
    fn wait_status_of_a_returned_code() {
        assert_eq!(WaitStatus::from_result(ResultCode::Success), WaitStatus(0));
        assert_eq!(WaitStatus::from_result(ResultCode::Error), WaitStatus(256));
        assert_eq!(
            WaitStatus::from_result(ResultCode::Ignored),
            WaitStatus(2048)
        );
        assert_eq!(
            WaitStatus::from_result(ResultCode::Other(-1)),
            WaitStatus(-1)
        );
    }

    #[test]
    fn exit_codes_and_their_messages() {
        let mut env = FakeEnv::new();
        let s = sid("vm:100");
        assert_eq!(
            WaitStatus(3 << 8).exit_code(&mut env, &s),
            ResultCode::WrongNode
        );
        assert_eq!(
            WaitStatus(255 << 8).exit_code(&mut env, &s),
            ResultCode::Other(255)
        );
        assert!(env.take_log().is_empty());
        assert_eq!(
            WaitStatus::FAILED.exit_code(&mut env, &s),
            ResultCode::Other(-1)
        );
        assert_eq!(WaitStatus(9).exit_code(&mut env, &s), ResultCode::Other(-1));
        assert_eq!(
            env.take_log(),
            [
                "err resource agent vm:100 finished - failed to execute",
                "err resource agent vm:100 finished - got signal 9",
            ]
        );
    }
}
