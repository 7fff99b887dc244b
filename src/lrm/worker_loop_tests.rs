//! The asynchronous worker loop (05 §9.3) against a [`ScriptedPool`]:
//! whole LRM iterations with jobs that finish out of order, never finish,
//! or whose workers fail to start, under a clock that stands still (the
//! tester's) and one that keeps pace with the sleeps (the real daemon's).
//! The pool panics when a loop keeps collecting far beyond any bound
//! (see [`ScriptedPool`]), so a loop that fails to end fails the test
//! instead of hanging it.

use super::fake_env::{sid, FakeEnv};
use super::scripted_pool::{Script, ScriptedPool};
use super::*;
use crate::env::WorkerPool;
use crate::types::{ResultCode, ServiceState, Sid};

/// An LRM on `node1` with four workers from `pool` and one `started`
/// request per sid (uid `u<sid number>`); the constructor's log line is
/// dropped.
fn setup(pool: ScriptedPool, sids: &[&str]) -> (Lrm, FakeEnv) {
    let mut env = FakeEnv::new();
    env.max_workers = 4;
    env.pool = Some(pool);
    for s in sids {
        let uid = format!("u{}", &s[3..]);
        env.set_service(s, ServiceState::Started, "node1", &uid);
    }
    let lrm = Lrm::new(&mut env, &LrmShared::default(), Timing::upstream());
    env.take_log();
    (lrm, env)
}

/// One iteration, which must continue the LRM.
fn iterate(lrm: &mut Lrm, env: &mut FakeEnv) {
    let go_on = lrm
        .do_one_iteration(env)
        .unwrap_or_else(|e| panic!("iteration failed: {e}"));
    assert!(go_on);
}

fn pool(env: &FakeEnv) -> &ScriptedPool {
    env.pool
        .as_ref()
        .unwrap_or_else(|| panic!("the pool is gone"))
}

fn sids(list: &[&str]) -> Vec<Sid> {
    list.iter().map(|s| sid(s)).collect()
}

fn exit_code(lrm: &Lrm, uid: &str) -> Option<ResultCode> {
    lrm.results().get(uid).map(|r| r.exit_code)
}

#[test]
fn a_hanging_job_under_a_frozen_clock_ends_the_loop_after_nine_passes() {
    let (mut lrm, mut env) = setup(
        ScriptedPool::new().script("vm:101", Script::Never),
        &["vm:101"],
    );
    iterate(&mut lrm, &mut env);
    assert_eq!(lrm.state(), LrmState::Active);
    assert_eq!(env.time, 20, "the clock stood still");
    let p = pool(&env);
    assert_eq!(p.collects, 9, "one collect per pass");
    assert_eq!(p.started, sids(&["vm:101"]));
    assert!(p.is_running(&sid("vm:101")));
    // Nine 1-second polls, then the round's sleep until start + 10.
    assert_eq!(env.slept, 9 + 10);
    assert!(lrm.results().is_empty(), "no result before collection");

    // The next round looks at the job again, and never starts it twice.
    iterate(&mut lrm, &mut env);
    let p = pool(&env);
    assert_eq!(p.collects, 18);
    assert_eq!(p.started, sids(&["vm:101"]));
    assert!(lrm.results().is_empty());
}

#[test]
fn a_hanging_job_under_a_moving_clock_ends_the_loop_at_the_time_budget() {
    let (mut lrm, mut env) = setup(
        ScriptedPool::new().script("vm:101", Script::Never),
        &["vm:101"],
    );
    env.clock_rate = 1;
    iterate(&mut lrm, &mut env);
    // Passes at elapsed 0 … 8; at 9 the budget is spent. The round then
    // sleeps until its start + 10.
    assert_eq!(pool(&env).collects, 9);
    assert_eq!(env.time, 20 + 10);
}

#[test]
fn a_clock_jumping_ahead_ends_the_loop_early() {
    let (mut lrm, mut env) = setup(
        ScriptedPool::new().script("vm:101", Script::Never),
        &["vm:101"],
    );
    // Every 1-second poll moves the clock by 3: the budget, not the pass
    // count, ends the loop.
    env.clock_rate = 3;
    iterate(&mut lrm, &mut env);
    // Passes at elapsed 0, 3, 6; at 9 the budget is spent.
    assert_eq!(pool(&env).collects, 3);
}

#[test]
fn jobs_finishing_out_of_order_are_recorded_as_they_are_collected() {
    let pool_script = ScriptedPool::new()
        .script("vm:101", Script::FinishAfter(3))
        .script("vm:102", Script::FinishAfter(1))
        .script("vm:103", Script::FinishAfter(2))
        .script("vm:104", Script::FinishAfter(1));
    let (mut lrm, mut env) = setup(pool_script, &["vm:101", "vm:102", "vm:103", "vm:104"]);
    iterate(&mut lrm, &mut env);
    let p = pool(&env);
    assert_eq!(p.started, sids(&["vm:101", "vm:102", "vm:103", "vm:104"]));
    // Same-pass completions come back in reverse start order.
    assert_eq!(p.collected, sids(&["vm:104", "vm:102", "vm:103", "vm:101"]));
    // The loop ended as soon as nothing was left running: pass 3.
    assert_eq!(p.collects, 4);
    assert_eq!(env.slept, 3 + 10);
    for uid in ["u101", "u102", "u103", "u104"] {
        assert_eq!(exit_code(&lrm, uid), Some(ResultCode::Success), "{uid}");
    }
    // The jobs acted in their own environment, not in the LRM's.
    assert!(env.calls.is_empty());
    assert_eq!(
        p.worker_env.calls,
        [
            "start vm:101",
            "start vm:102",
            "start vm:103",
            "start vm:104"
        ]
    );
    // Successful jobs log nothing in the LRM's environment.
    assert_eq!(
        env.take_log(),
        ["info status change wait_for_agent_lock => active"]
    );
    // The status written at the end of the round carries every result.
    assert_eq!(env.last_written().results.len(), 4);
}

#[test]
fn a_job_outliving_the_call_is_collected_by_a_later_round() {
    let pool_script = ScriptedPool::new().script("vm:101", Script::FinishAfter(11));
    let (mut lrm, mut env) = setup(pool_script, &["vm:101", "vm:102"]);
    iterate(&mut lrm, &mut env);
    assert_eq!(exit_code(&lrm, "u101"), None);
    assert_eq!(exit_code(&lrm, "u102"), Some(ResultCode::Success));
    assert_eq!(pool(&env).collects, 9);

    iterate(&mut lrm, &mut env);
    let p = pool(&env);
    assert_eq!(exit_code(&lrm, "u101"), Some(ResultCode::Success));
    assert_eq!(p.started, sids(&["vm:101", "vm:102"]), "no job ran twice");
    // Collected in the third pass of the second call.
    assert_eq!(p.collects, 12);
}

#[test]
fn a_worker_that_fails_to_start_ends_the_call_and_is_retried_next_round() {
    let pool_script = ScriptedPool::new().script(
        "vm:101",
        Script::FailToStart {
            times: 1,
            error: "Resource temporarily unavailable".into(),
        },
    );
    let (mut lrm, mut env) = setup(pool_script, &["vm:101", "vm:102"]);
    iterate(&mut lrm, &mut env);
    assert_eq!(
        env.take_log(),
        [
            "info status change wait_for_agent_lock => active",
            "err forking worker failed - Resource temporarily unavailable",
        ]
    );
    let p = pool(&env);
    assert_eq!(p.start_failures, 1);
    // The failure ends the pass and the loop: vm:102 was not tried.
    assert!(p.started.is_empty());
    assert_eq!(p.collects, 1);
    assert!(lrm.results().is_empty());

    iterate(&mut lrm, &mut env);
    assert!(env.take_log().is_empty());
    let p = pool(&env);
    // vm:101 was passed over once more, so it goes first.
    assert_eq!(p.started, sids(&["vm:101", "vm:102"]));
    assert_eq!(exit_code(&lrm, "u101"), Some(ResultCode::Success));
    assert_eq!(exit_code(&lrm, "u102"), Some(ResultCode::Success));
}

#[test]
fn the_worker_limit_holds_and_passed_over_jobs_go_first() {
    let (mut lrm, mut env) = setup(
        ScriptedPool::new().script("vm:101", Script::FinishAfter(2)),
        &["vm:101", "vm:102", "vm:103"],
    );
    env.max_workers = 2;
    iterate(&mut lrm, &mut env);
    let p = pool(&env);
    assert_eq!(p.most_running, 2);
    // vm:103 waits for vm:102's worker (pass 1), then runs.
    assert_eq!(p.started, sids(&["vm:101", "vm:102", "vm:103"]));
    assert_eq!(p.collected, sids(&["vm:102", "vm:103", "vm:101"]));
    for uid in ["u101", "u102", "u103"] {
        assert_eq!(exit_code(&lrm, uid), Some(ResultCode::Success), "{uid}");
    }
}
