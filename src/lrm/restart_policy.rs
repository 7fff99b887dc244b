//! The LRM-side start retry policy (05 §9.6, `max_restart`): a failed
//! start is retried locally, silently for the CRM, before it is reported.

use std::collections::BTreeMap;

use crate::env::{Env, LogLevel};
use crate::lrm::work::Command;
use crate::types::{OrUnknown, ResultCode, ServiceState, Sid};

/// Maps a finished CRM job's exit code to the code to report.
///
/// Only `started` is affected: success resets the sid's counter; a
/// failure (`ERROR`) is turned into `ETRY_AGAIN` while the counter is
/// below `max_restart` (so the same uid runs again next round), and is
/// reported as `ERROR` once the retries are used up, resetting the
/// counter. Every other code and command passes through unchanged.
pub(super) fn apply(
    env: &mut dyn Env,
    tries: &mut BTreeMap<Sid, i64>,
    sid: &Sid,
    command: &Command,
    code: ResultCode,
    max_restart: i64,
) -> ResultCode {
    if *command != OrUnknown::Known(ServiceState::Started) {
        return code;
    }
    match code {
        ResultCode::Success => {
            tries.insert(sid.clone(), 0);
            ResultCode::Success
        }
        ResultCode::Error => {
            let t = tries.get(sid).copied().unwrap_or(0);
            if t >= max_restart {
                env.log(
                    LogLevel::Err,
                    &format!("unable to start service {sid} on local node after {t} retries"),
                );
                tries.insert(sid.clone(), 0);
                ResultCode::Error
            } else {
                tries.insert(sid.clone(), t + 1);
                env.log(
                    LogLevel::Warning,
                    &format!("restart policy: retry number {} for service '{sid}'", t + 1),
                );
                ResultCode::TryAgain
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrm::fake_env::{sid, FakeEnv};

    const STARTED: Command = OrUnknown::Known(ServiceState::Started);

    #[test]
    fn retries_up_to_max_restart_then_reports_and_resets() {
        let mut env = FakeEnv::new();
        let mut tries = BTreeMap::new();
        let s = sid("fa:130");
        let codes: Vec<ResultCode> = (0..3)
            .map(|_| apply(&mut env, &mut tries, &s, &STARTED, ResultCode::Error, 2))
            .collect();
        assert_eq!(
            codes,
            [
                ResultCode::TryAgain,
                ResultCode::TryAgain,
                ResultCode::Error
            ]
        );
        assert_eq!(
            env.take_log(),
            [
                "warning restart policy: retry number 1 for service 'fa:130'",
                "warning restart policy: retry number 2 for service 'fa:130'",
                "err unable to start service fa:130 on local node after 2 retries",
            ]
        );
        assert_eq!(tries.get(&s), Some(&0));
    }

    #[test]
    fn zero_retries_report_the_first_failure() {
        let mut env = FakeEnv::new();
        let mut tries = BTreeMap::new();
        let s = sid("fa:1");
        assert_eq!(
            apply(&mut env, &mut tries, &s, &STARTED, ResultCode::Error, 0),
            ResultCode::Error
        );
        assert_eq!(
            env.take_log(),
            ["err unable to start service fa:1 on local node after 0 retries"]
        );
    }

    #[test]
    fn success_resets_and_other_codes_pass() {
        let mut env = FakeEnv::new();
        let s = sid("vm:1");
        let mut tries = BTreeMap::from([(s.clone(), 1)]);
        assert_eq!(
            apply(&mut env, &mut tries, &s, &STARTED, ResultCode::WrongNode, 1),
            ResultCode::WrongNode
        );
        assert_eq!(tries.get(&s), Some(&1));
        assert_eq!(
            apply(&mut env, &mut tries, &s, &STARTED, ResultCode::Success, 1),
            ResultCode::Success
        );
        assert_eq!(tries.get(&s), Some(&0));
        let stop = OrUnknown::Known(ServiceState::RequestStop);
        assert_eq!(
            apply(&mut env, &mut tries, &s, &stop, ResultCode::Error, 1),
            ResultCode::Error
        );
        assert!(env.take_log().is_empty());
    }
}
