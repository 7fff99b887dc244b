//! Whole-iteration tests of the LRM state machine against the fake Env:
//! lock and watchdog, idle rules, shutdown policies end to end, the
//! restart policy across rounds, result pruning, execution order.

use super::fake_env::{sid, FakeEnv};
use super::*;
use crate::config::datacenter::ShutdownPolicy;
use crate::env::{EnvError, EnvErrorKind};
use crate::types::{NodeState, ResultCode, ServiceState};

/// A fresh LRM on `env` with its own process-wide flag; the constructor's
/// log line is checked and dropped.
fn start(env: &mut FakeEnv) -> Lrm {
    let lrm = Lrm::new(env, &LrmShared::default(), Timing::upstream());
    assert_eq!(
        env.take_log(),
        ["info status change startup => wait_for_agent_lock"]
    );
    lrm
}

/// One harness loop: an iteration, then 20 s pass.
fn round(lrm: &mut Lrm, env: &mut FakeEnv) -> bool {
    let go_on = lrm
        .do_one_iteration(env)
        .unwrap_or_else(|e| panic!("iteration failed: {e}"));
    env.time += 20;
    go_on
}

/// An LRM that took the lock and started `vm:101` (uid `u1`).
fn active(env: &mut FakeEnv) -> Lrm {
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    let mut lrm = start(env);
    assert!(round(&mut lrm, env));
    assert_eq!(
        env.take_log(),
        [
            "info status change wait_for_agent_lock => active",
            "info starting service vm:101",
            "info service status vm:101 started",
        ]
    );
    lrm
}

fn exit_code(lrm: &Lrm, uid: &str) -> Option<i64> {
    lrm.results().get(uid).map(|r| r.exit_code.code())
}

#[test]
fn takes_the_lock_and_works_in_the_same_round() {
    let mut env = FakeEnv::new();
    let lrm = active(&mut env);
    assert_eq!(lrm.state(), LrmState::Active);
    assert!(env.lock_held && lrm.has_watchdog());
    assert_eq!(env.watchdogs_opened, 1);
    // Startup write, then the active round's write with the result.
    assert_eq!(env.written.len(), 2);
    let status = env.last_written();
    assert_eq!(status.state, Some(OrUnknown::Known(LrmState::Active)));
    assert_eq!(status.mode, Some(OrUnknown::Known(LrmMode::Active)));
    assert_eq!(status.timestamp, Some(20));
    assert_eq!(
        status.to_json(),
        r#"{"mode":"active","results":{"u1":{"exit_code":0,"sid":"vm:101","state":"started"}},"state":"active","timestamp":20}"#
    );
    // An active round sleeps until 10 s after its start.
    assert_eq!(env.slept, 10);
}

#[test]
fn stays_idle_without_active_service_or_quorum() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Stopped, "node1", "u1");
    env.set_service("vm:102", ServiceState::Error, "node1", "u2");
    let mut lrm = start(&mut env);
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.lock_attempts, 0);
    assert_eq!(lrm.state(), LrmState::WaitForAgentLock);
    // Idle rounds still report their status.
    assert_eq!(env.written.len(), 2);

    env.set_service("vm:101", ServiceState::Started, "node1", "u3");
    env.quorate = false;
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.lock_attempts, 0);
    assert!(env.take_log().is_empty());
}

#[test]
fn being_a_migration_target_counts_as_active() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Migrate, "node2", "u1");
    env.entry("vm:101").target = Some("node1".into());
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    assert_eq!(lrm.state(), LrmState::Active);
    // Not a command for this node: nothing executed.
    assert!(env.calls.is_empty());
}

#[test]
fn a_failing_acquisition_makes_six_attempts() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    env.lock_free = false;
    let mut lrm = start(&mut env);
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.lock_attempts, 6);
    // Five 1-second retries plus the round's 5-second sleep.
    assert_eq!(env.slept, 10);
    assert_eq!(lrm.state(), LrmState::WaitForAgentLock);
    assert!(!lrm.has_watchdog());
    assert!(env.take_log().is_empty());
}

#[test]
fn lock_pacing_and_round_lengths_come_from_the_timing() {
    let mut timing = Timing::upstream();
    timing.lock_retries = 2;
    timing.lock_retry_sleep = 3;
    timing.lrm_idle_sleep = 7;
    timing.active_round = 20;
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    env.lock_free = false;
    let mut lrm = Lrm::new(&mut env, &LrmShared::default(), timing);
    env.take_log();
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.lock_attempts, 3);
    // Two 3-second retries plus the idle round's 7-second sleep.
    assert_eq!(env.slept, 2 * 3 + 7);

    env.lock_free = true;
    env.slept = 0;
    assert!(round(&mut lrm, &mut env));
    assert_eq!(lrm.state(), LrmState::Active);
    // An active round sleeps until 20 s after its start.
    assert_eq!(env.slept, 20);
}

#[test]
fn losing_and_regaining_the_lock() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    let writes = env.written.len();
    env.lock_free = false;
    assert!(round(&mut lrm, &mut env));
    assert_eq!(
        env.take_log(),
        ["info status change active => lost_agent_lock"]
    );
    // The watchdog stays armed (and unfed); no status write in this state.
    assert!(lrm.has_watchdog());
    assert_eq!(env.written.len(), writes);

    env.lock_free = true;
    let updates = env.watchdog_updates;
    assert!(round(&mut lrm, &mut env));
    assert_eq!(
        env.take_log(),
        ["info status change lost_agent_lock => active"]
    );
    // Fed again, not reopened.
    assert_eq!(env.watchdogs_opened, 1);
    assert_eq!(env.watchdog_updates, updates + 1);
}

#[test]
fn a_fence_request_stops_renewing_the_lock() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.manager_status
        .node_status
        .insert("node1".into(), OrUnknown::Known(NodeState::Fence));
    let attempts = env.lock_attempts;
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "err node needs to be fenced - releasing agent_lock",
            "info status change active => lost_agent_lock",
        ]
    );
    assert_eq!(env.lock_attempts, attempts);
    // Not actually released (05 §16 item 9).
    assert!(env.lock_held && lrm.has_watchdog());
    // While fenced, the lock is not taken back.
    round(&mut lrm, &mut env);
    assert_eq!(env.lock_attempts, attempts);

    // A fenced service counts as well.
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.set_service("vm:101", ServiceState::Fence, "node1", "u2");
    round(&mut lrm, &mut env);
    assert_eq!(lrm.state(), LrmState::LostAgentLock);
}

#[test]
fn goes_idle_after_sixty_rounds_without_service() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.remove_service("vm:101");
    for _ in 0..60 {
        assert!(round(&mut lrm, &mut env));
        assert_eq!(lrm.state(), LrmState::Active);
    }
    assert!(env.take_log().is_empty());
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info node had no service configured for 60 rounds, going idle.",
            "info status change active => wait_for_agent_lock",
        ]
    );
    assert!(!env.lock_held && !lrm.has_watchdog() && env.watchdog.is_none());
}

#[test]
fn a_configured_service_resets_the_idle_counter() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.remove_service("vm:101");
    for _ in 0..50 {
        round(&mut lrm, &mut env);
    }
    // Only configured here (stopped): still resets the counter.
    env.set_service("vm:101", ServiceState::Stopped, "node1", "u2");
    round(&mut lrm, &mut env);
    env.remove_service("vm:101");
    for _ in 0..60 {
        round(&mut lrm, &mut env);
    }
    assert_eq!(lrm.state(), LrmState::Active);
    round(&mut lrm, &mut env);
    assert_eq!(lrm.state(), LrmState::WaitForAgentLock);
}

#[test]
fn disarm_releases_and_blocks_the_lock() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.manager_status.disarm = Some(Default::default());
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info HA disarm requested, releasing agent lock and watchdog",
            "info status change active => wait_for_agent_lock",
        ]
    );
    assert_eq!(lrm.mode(), LrmMode::Disarm);
    assert!(!env.lock_held && env.watchdog.is_none());
    // Services still active for this node, but the lock is not taken.
    let attempts = env.lock_attempts;
    round(&mut lrm, &mut env);
    assert_eq!(env.lock_attempts, attempts);
    assert_eq!(
        env.last_written().mode,
        Some(OrUnknown::Known(LrmMode::Disarm))
    );
    // Re-armed: mode active, lock taken again.
    env.manager_status.disarm = None;
    round(&mut lrm, &mut env);
    assert_eq!(lrm.mode(), LrmMode::Active);
    assert_eq!(lrm.state(), LrmState::Active);
}

#[test]
fn poweroff_stops_everything_and_exits_unarmed() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.node_shutdown = (true, false);
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log(),
        [
            "info got shutdown request with shutdown policy 'conditional'",
            "info shutdown LRM, stop all services",
        ]
    );
    assert_eq!(lrm.mode(), LrmMode::Shutdown);
    assert_eq!(
        env.last_written().mode,
        Some(OrUnknown::Known(LrmMode::Shutdown))
    );
    // Idempotent.
    lrm.shutdown_request(&mut env);
    assert!(env.take_log().is_empty());

    let writes = env.written.len();
    assert!(!round(&mut lrm, &mut env));
    assert_eq!(
        env.take_log(),
        [
            "info stopping service vm:101",
            "info service status vm:101 stopped",
        ]
    );
    assert!(!env.lock_held && env.watchdog.is_none());
    // The exiting round still writes its status.
    assert_eq!(env.written.len(), writes + 1);
    // Stop jobs never report to the CRM.
    assert_eq!(lrm.results().len(), 1);
}

#[test]
fn stop_errors_leave_lock_and_watchdog_for_fencing() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.unstoppable.insert(sid("vm:101"));
    env.node_shutdown = (true, false);
    env.set_policy(OrUnknown::Known(ShutdownPolicy::Failover));
    lrm.shutdown_request(&mut env);
    assert!(!round(&mut lrm, &mut env));
    assert!(env.lock_held && env.watchdog.is_some());
}

#[test]
fn reboot_with_conditional_stops_and_waits_for_the_freeze() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.node_shutdown = (true, true);
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log()[1],
        "info reboot LRM, stop and freeze all services"
    );
    assert_eq!(lrm.mode(), LrmMode::Restart);
    // The CRM has not frozen yet: the stop job runs, the LRM keeps going.
    assert!(round(&mut lrm, &mut env));
    assert_eq!(
        env.take_log(),
        [
            "info stopping service vm:101",
            "info service status vm:101 stopped",
        ]
    );
    assert!(env.lock_held);
    env.set_service("vm:101", ServiceState::Freeze, "node1", "u2");
    assert!(!round(&mut lrm, &mut env));
    assert!(!env.lock_held && env.watchdog.is_none());
}

#[test]
fn lrm_restart_freezes_and_ignores_new_commands() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    lrm.shutdown_request(&mut env);
    assert_eq!(env.take_log(), ["info restart LRM, freeze all services"]);
    // A new command for a running service is no longer executed.
    env.set_service("vm:101", ServiceState::RequestStop, "node1", "u2");
    assert!(round(&mut lrm, &mut env));
    assert!(env.take_log().is_empty());
    assert!(env.running.contains(&sid("vm:101")));
    env.set_service("vm:101", ServiceState::Freeze, "node1", "u3");
    assert!(!round(&mut lrm, &mut env));
    assert!(env.running.contains(&sid("vm:101")));
    assert!(!env.lock_held && env.watchdog.is_none());
}

#[test]
fn an_undetectable_node_shutdown_counts_as_an_lrm_restart() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    // Even a policy that would stop services on a real shutdown.
    env.set_policy(OrUnknown::Known(ShutdownPolicy::Failover));
    env.node_shutdown = (true, false);
    env.node_shutdown_error = Some("systemctl: failed to connect to bus".into());
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log(),
        [
            "warning unable to detect node shutdown, assuming LRM restart - systemctl: failed to connect to bus",
            "info restart LRM, freeze all services",
        ]
    );
    assert_eq!(lrm.mode(), LrmMode::Restart);
}

#[test]
fn migrate_policy_moves_services_away_then_exits() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.set_service("ct:102", ServiceState::Started, "node1", "c1");
    round(&mut lrm, &mut env);
    env.take_log();
    env.node_shutdown = (true, true);
    env.set_policy(OrUnknown::Known(ShutdownPolicy::Migrate));
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log()[1],
        "info reboot LRM, doing maintenance, removing this node from active list"
    );
    assert_eq!(lrm.mode(), LrmMode::Maintenance);

    // The CRM asks for the moves; the LRM enters maintenance and executes
    // them in the same round, in sid order.
    env.set_service("ct:102", ServiceState::Relocate, "node1", "c2");
    env.entry("ct:102").target = Some("node2".into());
    env.set_service("vm:101", ServiceState::Migrate, "node1", "u2");
    env.entry("vm:101").target = Some("node3".into());
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.take_log(), ["info status change active => maintenance"]);
    assert_eq!(
        env.calls[env.calls.len() - 2..],
        [
            "migrate ct:102 node2 online=false",
            "migrate vm:101 node3 online=true",
        ]
    );
    assert_eq!(exit_code(&lrm, "c2"), Some(0));

    // The CRM moved them: nothing active is left, the LRM exits unarmed.
    env.set_service("ct:102", ServiceState::Started, "node2", "c3");
    env.set_service("vm:101", ServiceState::Started, "node3", "u3");
    assert!(!round(&mut lrm, &mut env));
    assert!(!env.lock_held && env.watchdog.is_none());
}

#[test]
fn manual_maintenance_empties_the_node_and_resumes() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.request_maintenance(true);
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.take_log(), ["info status change active => maintenance"]);
    assert_eq!(
        env.last_written().mode,
        Some(OrUnknown::Known(LrmMode::Maintenance))
    );
    // Still active here: protection kept.
    assert!(round(&mut lrm, &mut env));
    assert!(env.lock_held && env.watchdog.is_some());

    // Moved away: lock and watchdog given up, state stays maintenance.
    env.set_service("vm:101", ServiceState::Started, "node2", "u2");
    assert!(round(&mut lrm, &mut env));
    assert_eq!(lrm.state(), LrmState::Maintenance);
    assert!(!env.lock_held && env.watchdog.is_none());
    // A maintenance round sleeps 5 s at most.
    let slept = env.slept;
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.slept - slept, 5);

    env.request_maintenance(false);
    assert!(round(&mut lrm, &mut env));
    assert_eq!(env.take_log(), ["info status change maintenance => active"]);
    assert!(env.lock_held && env.watchdog.is_some());
    assert_eq!(env.watchdogs_opened, 2);
}

#[test]
fn shutdown_in_manual_maintenance_keeps_the_mode() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.request_maintenance(true);
    round(&mut lrm, &mut env);
    env.take_log();
    env.node_shutdown = (true, false);
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log()[1],
        "info shutdown LRM, ignore conditional policy as manual maintenance mode is enabled"
    );
    assert_eq!(lrm.mode(), LrmMode::Maintenance);
    // The queued stop job runs in the maintenance round; the node is then
    // empty only once the CRM moved the service, after which it exits.
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info stopping service vm:101",
            "info service status vm:101 stopped",
        ]
    );
    env.set_service("vm:101", ServiceState::Started, "node2", "u2");
    assert!(!round(&mut lrm, &mut env));
}

#[test]
fn disarm_during_maintenance() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.request_maintenance(true);
    round(&mut lrm, &mut env);
    env.take_log();
    env.set_service("vm:101", ServiceState::Started, "node2", "u2");
    env.request_maintenance(false);
    env.manager_status.disarm = Some(Default::default());
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info HA disarm requested during maintenance, releasing agent lock and watchdog",
            "info status change maintenance => wait_for_agent_lock",
        ]
    );
}

#[test]
fn restart_policy_retries_under_the_same_uid() {
    let mut env = FakeEnv::new();
    env.set_service("fa:110", ServiceState::Started, "node1", "f1");
    env.failing_starts.insert(sid("fa:110"), 1);
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info status change wait_for_agent_lock => active",
            "info starting service fa:110",
            "warning unable to start service fa:110",
            "warning restart policy: retry number 1 for service 'fa:110'",
        ]
    );
    // Nothing reported to the CRM.
    assert!(lrm.results().is_empty());
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info starting service fa:110",
            "info service status fa:110 started",
        ]
    );
    assert_eq!(exit_code(&lrm, "f1"), Some(0));
}

#[test]
fn restart_policy_gives_up_and_reports_the_error() {
    let mut env = FakeEnv::new();
    env.set_service("fa:130", ServiceState::Started, "node1", "f1");
    if let Some(conf) = env.service_config.get_mut(&sid("fa:130")) {
        conf.max_restart = 2;
    }
    env.failing_starts.insert(sid("fa:130"), 9);
    let mut lrm = start(&mut env);
    for _ in 0..3 {
        round(&mut lrm, &mut env);
    }
    let log = env.take_log();
    assert_eq!(
        log[log.len() - 3..],
        [
            "info starting service fa:130",
            "warning unable to start service fa:130",
            "err unable to start service fa:130 on local node after 2 retries",
        ]
    );
    assert_eq!(exit_code(&lrm, "f1"), Some(1));
    // Reported once: the uid is not executed again.
    round(&mut lrm, &mut env);
    assert!(env.take_log().is_empty());
}

#[test]
fn each_uid_runs_once_but_stopped_every_round() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.running.clear();
    round(&mut lrm, &mut env);
    // Same uid, result recorded: not restarted.
    assert!(env.take_log().is_empty());

    env.set_service("fa:1001", ServiceState::Stopped, "node1", "s1");
    env.running.insert(sid("fa:1001"));
    env.unstoppable.insert(sid("fa:1001"));
    for _ in 0..2 {
        round(&mut lrm, &mut env);
        assert_eq!(
            env.take_log(),
            [
                "info stopping service fa:1001",
                "info unable to stop service fa:1001 (still running)",
            ]
        );
    }
}

#[test]
fn results_are_pruned_when_a_job_completes() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.set_service("vm:102", ServiceState::Started, "node1", "u2");
    round(&mut lrm, &mut env);
    assert_eq!(lrm.results().len(), 2);
    // The CRM consumed both results and issued new uids; only vm:101's
    // new request runs, after which only its result is left.
    env.set_service("vm:101", ServiceState::RequestStop, "node1", "u3");
    env.set_service("vm:102", ServiceState::Freeze, "node1", "u4");
    round(&mut lrm, &mut env);
    let uids: Vec<&str> = lrm.results().keys().map(String::as_str).collect();
    assert_eq!(uids, ["u3"]);
}

#[test]
fn synchronous_execution_runs_in_sid_order() {
    let mut env = FakeEnv::new();
    for (s, uid) in [
        ("vm:101", "a"),
        ("vm:1000", "b"),
        ("fa:109", "c"),
        ("ct:102", "d"),
    ] {
        env.set_service(s, ServiceState::Started, "node1", uid);
    }
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    assert_eq!(
        env.calls,
        [
            "start ct:102",
            "start fa:109",
            "start vm:1000",
            "start vm:101"
        ]
    );
    assert_eq!(lrm.results().len(), 4);
}

#[test]
fn a_raised_job_error_is_a_failed_execution() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    env.raising.insert(
        sid("vm:101"),
        EnvError::new("service 'vm:101' locked (create)"),
    );
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info status change wait_for_agent_lock => active",
            "info starting service vm:101",
            "err service 'vm:101' locked (create)",
            "err resource agent vm:101 finished - failed to execute",
        ]
    );
    assert_eq!(exit_code(&lrm, "u1"), Some(-1));
    assert_eq!(lrm.results()["u1"].exit_code, ResultCode::Other(-1));
}

/// A job that could not read the shared state (kind `Unavailable`) has
/// no result: the same request runs again next round, and once the store
/// answers it completes normally — never `error` for a store hiccup.
#[test]
fn a_job_that_could_not_read_the_store_runs_again() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    env.raising.insert(
        sid("vm:101"),
        EnvError::with_kind(
            EnvErrorKind::Unavailable,
            "unable to read file '/pve-ha/ha/resources.cfg' - etcd request timed out",
        ),
    );
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info status change wait_for_agent_lock => active",
            "info starting service vm:101",
            "err unable to read file '/pve-ha/ha/resources.cfg' - etcd request timed out",
        ]
    );
    assert_eq!(exit_code(&lrm, "u1"), None);

    env.raising.clear();
    round(&mut lrm, &mut env);
    assert_eq!(env.calls, ["start vm:101", "start vm:101"]);
    assert_eq!(exit_code(&lrm, "u1"), Some(0));
}

#[test]
fn a_failed_read_keeps_the_old_status_and_logs_twice() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.cfs_error = Some("cfs connection refused - not mounted?".into());
    env.manager_status.disarm = Some(Default::default());
    assert!(round(&mut lrm, &mut env));
    let err =
        "err updating service status from manager failed: cfs connection refused - not mounted?";
    assert_eq!(
        env.take_log(),
        [
            err,
            err,
            "err unable to write lrm status file - cfs connection refused - not mounted?",
        ]
    );
    // Neither the mode nor the state changed on stale data.
    assert_eq!(
        (lrm.state(), lrm.mode()),
        (LrmState::Active, LrmMode::Active)
    );
}

#[test]
fn an_inconsistent_cluster_state_skips_the_round() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.cfs_update = false;
    env.set_service("vm:101", ServiceState::RequestStop, "node1", "u2");
    round(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        ["notice temporary inconsistent cluster state (cfs restart?), skip round"]
    );
    assert!(env.calls.len() == 1);
}

#[test]
fn the_startup_write_is_process_wide() {
    let shared = LrmShared::default();
    let mut env = FakeEnv::new();
    env.quorate = false;
    env.set_service("vm:101", ServiceState::Started, "node1", "u1");
    let mut lrm = Lrm::new(&mut env, &shared, Timing::upstream());
    env.take_log();
    // Not quorate: nothing else happens this round.
    assert!(round(&mut lrm, &mut env));
    assert!(env.written.is_empty() && env.take_log().is_empty());
    assert_eq!(env.slept, 5);
    assert!(!shared.startup_status_written());
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log(),
        [
            "info restart LRM, freeze all services",
            "err unable to update lrm status file - not quorate?",
        ]
    );
    assert!(!round(&mut lrm, &mut env));

    env.quorate = true;
    let mut lrm = Lrm::new(&mut env, &shared, Timing::upstream());
    round(&mut lrm, &mut env);
    assert!(shared.startup_status_written());
    assert_eq!(env.written.len(), 2);
    // Another LRM of the same process skips the startup write.
    let mut other = FakeEnv::new();
    let mut lrm = Lrm::new(&mut other, &shared, Timing::upstream());
    round(&mut lrm, &mut other);
    assert_eq!(other.written.len(), 1);
}

#[test]
fn a_write_error_in_shutdown_request_logs_two_lines() {
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.cfs_error = Some("cfs connection refused - not mounted?".into());
    lrm.shutdown_request(&mut env);
    assert_eq!(
        env.take_log(),
        [
            "info restart LRM, freeze all services",
            "err unable to write lrm status file - cfs connection refused - not mounted?",
            "err unable to update lrm status file - not quorate?",
        ]
    );
}

#[test]
fn lost_lock_with_shutdown_pending() {
    // Nothing active: the watchdog can be closed, the LRM ends.
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.lock_free = false;
    round(&mut lrm, &mut env);
    env.take_log();
    env.set_service("vm:101", ServiceState::Freeze, "node1", "u2");
    lrm.shutdown_request(&mut env);
    env.quorate = false;
    assert!(!round(&mut lrm, &mut env));
    assert!(env.watchdog.is_none());

    // Active services and an LRM restart: give up after 90 s, armed.
    let mut env = FakeEnv::new();
    let mut lrm = active(&mut env);
    env.quorate = false;
    round(&mut lrm, &mut env);
    env.take_log();
    lrm.shutdown_request(&mut env);
    env.take_log();
    let detected =
        "err got shutdown request in state 'lost_agent_lock' - detected 1 running services";
    for _ in 0..4 {
        assert!(round(&mut lrm, &mut env));
        assert_eq!(env.take_log(), [detected]);
    }
    assert!(!round(&mut lrm, &mut env));
    assert_eq!(
        env.take_log(),
        [
            detected,
            "err lost agent lock and restart request for over 90 seconds - giving up!",
        ]
    );
    assert!(env.watchdog.is_some());
}

#[test]
fn idle_lrm_exits_at_once_on_shutdown() {
    let mut env = FakeEnv::new();
    env.set_service("vm:101", ServiceState::Started, "node2", "u1");
    let mut lrm = start(&mut env);
    round(&mut lrm, &mut env);
    env.node_shutdown = (true, false);
    lrm.shutdown_request(&mut env);
    let writes = env.written.len();
    assert!(!round(&mut lrm, &mut env));
    assert_eq!(env.written.len(), writes);
}
