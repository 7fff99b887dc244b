//! The work phase of an iteration (05 §5.3): what the LRM does in the
//! state it is in after the state-change phase, and whether it ends.

use crate::env::{Env, EnvResult, LogLevel};
use crate::lrm::Lrm;
use crate::types::{LrmMode, LrmState};

impl Lrm {
    /// Runs the current state's work; returns whether the LRM continues.
    pub(super) fn do_state_work(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        match self.state {
            LrmState::WaitForAgentLock => {
                // Idle: nothing can run here, so a stop request ends the
                // LRM at once, dropping queued stop jobs.
                if self.shutdown_request.is_some() {
                    return Ok(false);
                }
                self.write_status(env);
                env.sleep(self.timing.lrm_idle_sleep);
                Ok(true)
            }
            LrmState::Active => Ok(self.active_round(env)),
            LrmState::LostAgentLock => self.lost_agent_lock_round(env),
            LrmState::Maintenance => self.maintenance_round(env),
            // Only the constructor's initial value; never seen here.
            LrmState::Startup => Ok(true),
        }
    }

    /// `active`: execute the CRM's commands, or finish a pending shutdown.
    /// Errors of the work are caught and logged; the status is written in
    /// every round, the exiting one included.
    fn active_round(&mut self, env: &mut dyn Env) -> bool {
        let start = env.get_time();
        let exit = match self.active_work(env) {
            Ok(exit) => exit,
            Err(e) => {
                env.log(LogLevel::Err, &format!("got unexpected error - {e}"));
                false
            }
        };
        self.write_status(env);
        if exit {
            return false;
        }
        env.sleep_until(start + self.timing.active_round);
        true
    }

    /// The error-guarded part of an `active` round; returns whether the
    /// LRM exits.
    fn active_work(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        // Second read of the round (05 §16 item 1): without a current
        // service status there is nothing sensible to do.
        if !self.refresh(env) {
            return Ok(false);
        }
        if self.shutdown_request.is_none() {
            if !self.cluster_state_update {
                // The lock could still be renewed (cfs restart?): skip
                // this round and expect a clean update next time.
                env.log(
                    LogLevel::Notice,
                    "temporary inconsistent cluster state (cfs restart?), skip round",
                );
                return Ok(false);
            }
            self.manage_resources(env)?;
            return Ok(false);
        }
        if self.mode == LrmMode::Restart {
            // Wait for the CRM to freeze everything; new CRM commands are
            // no longer executed, only the queue (the stop jobs of a
            // reboot/freeze) runs.
            let jobs = self.run_workers(env)?;
            if self.active_service_count() == 0 && jobs == 0 {
                self.protection.give_up_watchdog(env)?;
                self.protection.release_lock(env);
                return Ok(true);
            }
            return Ok(false);
        }
        // Shutdown: only the own stop jobs matter, no waiting for the CRM.
        if self.run_workers(env)? == 0 {
            // With stop errors the LRM exits still holding lock and
            // watchdog, so the node gets fenced before its services are
            // recovered elsewhere (05 §7.3).
            if self.work.shutdown_errors == 0 {
                self.protection.give_up_watchdog(env)?;
                self.protection.release_lock(env);
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// `lost_agent_lock`: the watchdog is armed and no longer fed; the
    /// node will be reset unless the lock comes back. No status write.
    fn lost_agent_lock_round(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        if self.shutdown_request.is_some() {
            let n = self.active_service_count();
            if n > 0 {
                env.log(
                    LogLevel::Err,
                    &format!(
                        "got shutdown request in state 'lost_agent_lock' - detected {n} running services"
                    ),
                );
                // An LRM restart does not touch services, so after a while
                // it may just end, leaving the watchdog to do its job.
                let give_up = self.timing.lost_lock_restart_give_up;
                if self.mode == LrmMode::Restart
                    && env.get_time() - self.state_change_time > give_up
                {
                    env.log(
                        LogLevel::Err,
                        &format!(
                            "lost agent lock and restart request for over {give_up} seconds - giving up!"
                        ),
                    );
                    return Ok(false);
                }
            } else {
                // Nothing runs under HA here any more: safe to disarm.
                self.protection.give_up_watchdog(env)?;
                return Ok(false);
            }
        }
        env.sleep(self.timing.lrm_idle_sleep);
        Ok(true)
    }

    /// `maintenance`: execute the CRM's commands (the moves away) and give
    /// up lock and watchdog once nothing active is left; with a pending
    /// shutdown that is also the end of the LRM.
    fn maintenance_round(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        let start = env.get_time();
        if !self.refresh(env) {
            // Upstream quirk (05 §16 item 8): a failed read ends the LRM
            // here, without status write and with the watchdog open.
            return Ok(false);
        }
        let mut exit = false;
        if self.active_service_count() == 0 && self.run_workers(env)? == 0 {
            // Repeated every round once the node is empty (05 §16 item
            // 12); both actions are idempotent.
            self.protection.give_up_watchdog(env)?;
            exit = self.shutdown_request.is_some();
            self.protection.release_lock(env);
        }
        if !exit {
            self.manage_resources(env)?;
        }
        self.write_status(env);
        if exit {
            return Ok(false);
        }
        env.sleep_until(start + self.timing.maintenance_round);
        Ok(true)
    }
}
