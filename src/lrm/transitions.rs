//! The state-change phase of an iteration (05 §5.2): which state the LRM
//! moves to, given the state it started the iteration in, the fence
//! request, quorum, the agent lock and the mode.
//!
//! "Running the worker queue" in these rules is a real call: with
//! synchronous execution queued jobs run right here, and a configuration
//! read error is not caught (05 §16 item 13). The conditions short-circuit
//! left to right, so the queue only runs when the earlier conjuncts hold.

use crate::env::{Env, EnvResult, LogLevel};
use crate::lrm::Lrm;
use crate::types::{LrmMode, LrmState};

impl Lrm {
    /// Runs the rules of `state` (the state the iteration started in).
    pub(super) fn change_state(
        &mut self,
        env: &mut dyn Env,
        state: LrmState,
        fence_request: bool,
    ) -> EnvResult<()> {
        match state {
            LrmState::WaitForAgentLock => self.wait_for_agent_lock_rules(env, fence_request),
            LrmState::LostAgentLock => {
                // Also while a shutdown is pending; a disarm is handled by
                // the `active` rules of the next round.
                if !fence_request && env.quorate() && self.protection.acquire(env, &self.timing)? {
                    self.set_state(env, LrmState::Active);
                }
                Ok(())
            }
            LrmState::Active => self.active_rules(env, fence_request),
            LrmState::Maintenance => self.maintenance_rules(env, fence_request),
            // Only the constructor's initial value; never seen here.
            LrmState::Startup => Ok(()),
        }
    }

    /// `wait_for_agent_lock`: take the lock once this node has something
    /// to run. Never while disarmed, even with active services (05 §8
    /// item 2); a failed acquisition just waits for the next round.
    fn wait_for_agent_lock_rules(
        &mut self,
        env: &mut dyn Env,
        fence_request: bool,
    ) -> EnvResult<()> {
        if self.mode == LrmMode::Disarm {
            return Ok(());
        }
        if !fence_request
            && self.active_service_count() > 0
            && env.quorate()
            && self.protection.acquire(env, &self.timing)?
        {
            self.set_state(env, LrmState::Active);
        }
        Ok(())
    }

    /// `active`: the first matching rule applies. The lock is renewed (and
    /// the watchdog fed) before anything else, also in rounds that then
    /// give it up.
    fn active_rules(&mut self, env: &mut dyn Env, fence_request: bool) -> EnvResult<()> {
        if fence_request {
            // The text says "releasing", but the lock is simply no longer
            // renewed and the watchdog no longer fed (05 §16 item 9).
            env.log(
                LogLevel::Err,
                "node needs to be fenced - releasing agent_lock",
            );
            self.set_state(env, LrmState::LostAgentLock);
        } else if !self.protection.acquire(env, &self.timing)? {
            self.set_state(env, LrmState::LostAgentLock);
        } else if self.mode == LrmMode::Maintenance {
            self.set_state(env, LrmState::Maintenance);
        } else if self.mode == LrmMode::Disarm && self.run_workers(env)? == 0 {
            env.log(
                LogLevel::Info,
                "HA disarm requested, releasing agent lock and watchdog",
            );
            self.protection.release_lock(env);
            self.protection.give_up_watchdog(env)?;
            self.set_state(env, LrmState::WaitForAgentLock);
        } else if !self.view.has_configured_service_on(&self.node) && self.run_workers(env)? == 0 {
            // Safe to go idle only after a long time with nothing
            // configured and no job left (05 §6).
            self.active_idle_rounds += 1;
            let max = self.timing.lrm_max_idle_rounds;
            if self.active_idle_rounds > max {
                env.log(
                    LogLevel::Info,
                    &format!("node had no service configured for {max} rounds, going idle."),
                );
                self.protection.release_lock(env);
                self.protection.give_up_watchdog(env)?;
                self.set_state(env, LrmState::WaitForAgentLock);
                self.active_idle_rounds = 0;
            }
        } else if self.active_idle_rounds != 0 {
            self.active_idle_rounds = 0;
        }
        Ok(())
    }

    /// `maintenance`: keep protection while anything active is left;
    /// resume normal operation once the node is empty and maintenance
    /// ended.
    fn maintenance_rules(&mut self, env: &mut dyn Env, fence_request: bool) -> EnvResult<()> {
        if fence_request {
            env.log(
                LogLevel::Err,
                "node needs to be fenced during maintenance mode - releasing agent_lock",
            );
            self.set_state(env, LrmState::LostAgentLock);
        } else if self.mode == LrmMode::Disarm
            && self.active_service_count() == 0
            && self.run_workers(env)? == 0
        {
            env.log(
                LogLevel::Info,
                "HA disarm requested during maintenance, releasing agent lock and watchdog",
            );
            self.protection.release_lock(env);
            self.protection.give_up_watchdog(env)?;
            self.set_state(env, LrmState::WaitForAgentLock);
        } else if self.active_service_count() > 0 || self.run_workers(env)? > 0 {
            // Services still need this node: keep (or, if it was closed
            // earlier in maintenance, reopen) lock and watchdog.
            if !self.protection.acquire(env, &self.timing)? {
                self.set_state(env, LrmState::LostAgentLock);
            }
        } else if self.mode != LrmMode::Maintenance {
            let next = if self.protection.acquire(env, &self.timing)? {
                LrmState::Active
            } else {
                LrmState::LostAgentLock
            };
            self.set_state(env, next);
        }
        Ok(())
    }
}
