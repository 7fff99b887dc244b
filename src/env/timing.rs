//! `Timing`: every timing constant of the daemons' state machines in one
//! value, handed to [`Crm::new`](crate::crm::Crm::new) and
//! [`Lrm::new`](crate::lrm::Lrm::new) by whoever drives them.
//!
//! It lives beside the `Env` trait because it belongs to the same
//! boundary: the runtime chooses both. The simulator and the Proxmox
//! backend use [`Timing::upstream`], so every scenario log stays
//! byte-exact; another backend (say, one with a different lock lifetime)
//! chooses its own values without touching the state machines.
//!
//! Not here: the lock lifetime (120 s) and the watchdog timeout (60 s),
//! which the lock service and watchdog-mux enforce rather than the state
//! machines, and the real plugins' default shutdown timeout (05 §12).

use crate::config::budget::{Budget, TICK};

/// Timing of the CRM, the manager and the LRM. Durations in whole seconds
/// (the environment clock's unit), counts of rounds as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    // --- shared by both daemons ---
    /// Lock attempts after the first failing one, before the manager or
    /// agent lock acquisition gives up (02 §2.4, 05 §3.1: 5, i.e. at most
    /// 6 attempts).
    pub lock_retries: u32,
    /// Sleep between two lock attempts (02 §2.10, 05 §3.1: 1 s).
    pub lock_retry_sleep: i64,
    /// A failing lock acquisition gives up once more than this has
    /// elapsed since its first attempt (02 §2.4, 05 §3.1: 5 s).
    pub lock_give_up_after: i64,
    /// An iteration longer than this is reported by the environment's
    /// `loop_end_hook` (07 §2.3: warning `loop took too long`; the live
    /// simulator aborts the daemon, 01 §10): 30 s. Used by environments,
    /// not by the state machines.
    pub slow_loop: i64,

    // --- CRM and manager (02 §1) ---
    /// Minimum length of a master round: the master sleeps until round
    /// start plus this (02 §1, §2.10: 10 s).
    pub master_round: i64,
    /// Sleep of one `wait_for_quorum` iteration (02 §1, §2.10: 5 s).
    pub wait_for_quorum_sleep: i64,
    /// Consecutive idle-eligible master rounds tolerated; one more gives
    /// up mastership (02 §1, §2.8: 90).
    pub crm_max_idle_rounds: u32,
    /// A node offline this long may have its services fenced (02 §1,
    /// §5.4: 60 s).
    pub fence_delay: i64,
    /// A node gone from the membership this long is deleted from the
    /// node status (02 §1, §5.5: 3600 s).
    pub gone_node_delete_delay: i64,
    /// Manager round of the first HA group migration attempt (02 §1,
    /// §3.5: the 3rd).
    pub group_migration_first_round: i64,
    /// Rounds between two group migration attempts (02 §1, §3.5: 6).
    pub group_migration_retry_rounds: i64,

    // --- LRM (05 §3) ---
    /// Minimum length of an `active` round (05 §3: 10 s).
    pub active_round: i64,
    /// Minimum length of a `maintenance` round (05 §3: 5 s).
    pub maintenance_round: i64,
    /// Sleep of a `wait_for_agent_lock` or `lost_agent_lock` round (05
    /// §3: 5 s).
    pub lrm_idle_sleep: i64,
    /// Sleep after a failed startup status write (05 §3, §5 step 2: 5 s).
    pub startup_write_retry_sleep: i64,
    /// Consecutive `active` rounds without configured service tolerated;
    /// one more makes the LRM go idle (05 §3, §6: 60).
    pub lrm_max_idle_rounds: u32,
    /// How long one asynchronous `run_workers` call keeps looping: while
    /// elapsed ≤ this (05 §3, §9.3: 8 s).
    pub worker_loop_budget: i64,
    /// Sleep between two passes of the asynchronous worker loop (05 §9.3:
    /// 1 s).
    pub worker_poll_sleep: i64,
    /// An LRM restart stuck in `lost_agent_lock` with services still
    /// running gives up after this (05 §3, §5.3: 90 s).
    pub lost_lock_restart_give_up: i64,
}

impl Timing {
    /// The state machines' timing for a failover budget (07 §10.1). Upstream's budget gives
    /// exactly [`Timing::upstream`]; a shorter one scales the rounds, the
    /// idle sleeps, the worker loop and the lock retry pacing so that a
    /// healthy daemon renews well within the client timeout.
    pub fn for_budget(b: &Budget) -> Timing {
        if *b == Budget::upstream() {
            return Timing::upstream();
        }
        let up = Timing::upstream();
        let round = b.round.max(1);
        // Retries must end within one round so a renewal never waits
        // longer than a round plus the loop bound.
        let give_up = (round).max(b.lock_retry_sleep);
        let retries = u32::try_from(give_up / b.lock_retry_sleep.max(1)).unwrap_or(1);
        Timing {
            lock_retries: retries,
            lock_retry_sleep: b.lock_retry_sleep.max(1),
            lock_give_up_after: give_up,
            slow_loop: (b.client_timeout / 2).max(1),
            master_round: round,
            wait_for_quorum_sleep: round,
            fence_delay: b.fence_delay.max(0),
            active_round: round,
            maintenance_round: round,
            lrm_idle_sleep: round,
            startup_write_retry_sleep: round,
            worker_loop_budget: b.max_loop.max(1),
            worker_poll_sleep: 1,
            lost_lock_restart_give_up: b.client_timeout + TICK + b.device_timeout + 2,
            ..up
        }
    }

    /// Upstream's values, which the scenario logs are made of.
    pub const fn upstream() -> Self {
        Timing {
            lock_retries: 5,
            lock_retry_sleep: 1,
            lock_give_up_after: 5,
            slow_loop: 30,
            master_round: 10,
            wait_for_quorum_sleep: 5,
            crm_max_idle_rounds: 90,
            fence_delay: 60,
            gone_node_delete_delay: 3600,
            group_migration_first_round: 3,
            group_migration_retry_rounds: 6,
            active_round: 10,
            maintenance_round: 5,
            lrm_idle_sleep: 5,
            startup_write_retry_sleep: 5,
            lrm_max_idle_rounds: 60,
            worker_loop_budget: 8,
            worker_poll_sleep: 1,
            lost_lock_restart_give_up: 90,
        }
    }

    /// Most passes one asynchronous `run_workers` call makes (05 §9.3):
    /// as many as fit into the budget when every pass sleeps
    /// `worker_poll_sleep` and the clock keeps pace (passes at elapsed 0,
    /// 1, …, 8 with upstream's values: 9). The time budget alone would
    /// never end the loop where a sleep does not move the clock (the
    /// tester, a fake environment), so the count bounds it too.
    pub fn worker_loop_passes(&self) -> u32 {
        let per_pass = self.worker_poll_sleep.max(1);
        let passes = self.worker_loop_budget.max(0) / per_pass + 1;
        u32::try_from(passes).unwrap_or(u32::MAX)
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::upstream()
    }
}

#[cfg(test)]
mod tests {
    use super::{Budget, Timing, TICK};

    #[test]
    fn upstream_worker_loop_makes_at_most_nine_passes() {
        assert_eq!(Timing::upstream().worker_loop_passes(), 9);
        assert_eq!(Timing::default(), Timing::upstream());
    }

    #[test]
    fn budgets_give_their_timing() {
        assert_eq!(Timing::for_budget(&Budget::upstream()), Timing::upstream());
        let b = Budget::plain_linux();
        let t = Timing::for_budget(&b);
        assert_eq!(t.master_round, 1);
        assert_eq!(t.active_round, 1);
        assert!(t.lost_lock_restart_give_up > b.client_timeout + TICK + b.device_timeout);
    }

    #[test]
    fn worker_loop_passes_survive_odd_values() {
        let mut t = Timing::upstream();
        t.worker_poll_sleep = 0;
        assert_eq!(t.worker_loop_passes(), 9);
        t.worker_poll_sleep = 3;
        assert_eq!(t.worker_loop_passes(), 3);
        t.worker_loop_budget = -1;
        assert_eq!(t.worker_loop_passes(), 1);
    }
}
