//! The CRM daemon state machine (02 §2): elects one master through the
//! manager lock, keeps the lock protected by a watchdog, and runs the
//! manager once per round while master.
//!
//! Calling protocol: create with [`Crm::new`], then call
//! [`Crm::do_one_iteration`] until it returns `Ok(false)`. A shutdown is
//! requested with [`Crm::shutdown_request`] between iterations. An `Err`
//! is an error the daemon does not handle itself (the simulator ends the
//! run with it; the real daemon exits).

use crate::config::status::ManagerStatus;
use crate::crm::manager::Manager;
use crate::env::{Env, EnvResult, LogLevel, Time, Timing, WatchdogHandle};
use crate::types::{CrmState, DisarmState, NodeState, OrUnknown, ServiceState};

/// One node's CRM.
#[derive(Debug)]
pub struct Crm {
    /// Round lengths, sleeps and limits (02 §1), also handed to the
    /// manager.
    timing: Timing,
    state: CrmState,
    state_change_time: Time,
    manager: Option<Manager>,
    shutdown_request: bool,
    cluster_state_update: bool,
    active_idle_rounds: u32,
    watchdog: Option<WatchdogHandle>,
    disarmed: bool,
}

impl Crm {
    /// Creates the daemon; logs `status change startup => wait_for_quorum`.
    /// `timing` gives every round length and limit ([`Timing::upstream`]
    /// for the simulator and the Proxmox backend).
    pub fn new(env: &mut dyn Env, timing: Timing) -> Self {
        let mut crm = Crm {
            timing,
            state: CrmState::Startup,
            state_change_time: env.get_time(),
            manager: None,
            shutdown_request: false,
            cluster_state_update: false,
            active_idle_rounds: 0,
            watchdog: None,
            disarmed: false,
        };
        // Entering wait_for_quorum never creates a manager, so this cannot
        // fail.
        let _ = crm.set_local_status(env, CrmState::WaitForQuorum);
        crm
    }

    /// The current state.
    pub fn state(&self) -> CrmState {
        self.state
    }

    /// When the current state was entered.
    pub fn state_change_time(&self) -> Time {
        self.state_change_time
    }

    /// Asks the daemon to stop; honoured in the next iteration's work
    /// phase (02 §2.7).
    pub fn shutdown_request(&mut self, env: &mut dyn Env) {
        if !self.shutdown_request {
            env.log(LogLevel::Info, "server received shutdown request");
            self.shutdown_request = true;
        }
    }

    /// One iteration (02 §2.2); `Ok(false)` means the daemon exits.
    pub fn do_one_iteration(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        env.loop_start_hook()?;
        self.cluster_state_update = env.cluster_state_update();
        let result = self.work(env)?;
        env.loop_end_hook()?;
        Ok(result)
    }

    fn set_local_status(&mut self, env: &mut dyn Env, new: CrmState) -> EnvResult<()> {
        if new == self.state {
            return Ok(());
        }
        env.log(
            LogLevel::Info,
            &format!("status change {} => {new}", self.state),
        );
        self.state_change_time = env.get_time();
        self.state = new;
        self.manager = None;
        if new == CrmState::Master {
            self.manager = Some(Manager::new(env, self.timing)?);
        }
        Ok(())
    }

    fn work(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        self.change_state(env)?;
        self.do_state_work(env)
    }

    /// Phase A (02 §2.5).
    fn change_state(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        match self.state {
            CrmState::WaitForQuorum => {
                if self.can_get_active(env, false)? {
                    let next = if self.get_protected_lock(env)? {
                        CrmState::Master
                    } else {
                        CrmState::Slave
                    };
                    self.set_local_status(env, next)?;
                }
            }
            CrmState::Slave => {
                if self.can_get_active(env, false)? {
                    if self.get_protected_lock(env)? {
                        self.set_local_status(env, CrmState::Master)?;
                    }
                } else {
                    self.set_local_status(env, CrmState::WaitForQuorum)?;
                }
            }
            CrmState::LostManagerLock => {
                if self.can_get_active(env, true)? && self.get_protected_lock(env)? {
                    self.set_local_status(env, CrmState::Master)?;
                }
            }
            CrmState::Master => {
                if !self.get_protected_lock(env)? {
                    self.set_local_status(env, CrmState::LostManagerLock)?;
                } else if self.allowed_to_get_idle(env)? {
                    self.active_idle_rounds += 1;
                    let max = self.timing.crm_max_idle_rounds;
                    if self.active_idle_rounds > max {
                        self.active_idle_rounds = 0;
                        env.log(
                            LogLevel::Info,
                            &format!(
                                "cluster had no service configured for {max} rounds, going idle."
                            ),
                        );
                        env.release_ha_manager_lock();
                        self.give_up_watchdog(env)?;
                        self.set_local_status(env, CrmState::WaitForQuorum)?;
                    }
                } else if self.active_idle_rounds != 0 {
                    self.active_idle_rounds = 0;
                }
            }
            CrmState::Startup => {}
        }
        Ok(())
    }

    /// Phase B (02 §2.6).
    fn do_state_work(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        match self.state {
            CrmState::WaitForQuorum => {
                if self.shutdown_request {
                    return Ok(false);
                }
                env.sleep(self.timing.wait_for_quorum_sleep);
                Ok(true)
            }
            CrmState::Slave | CrmState::Startup => Ok(!self.shutdown_request),
            CrmState::LostManagerLock => {
                self.give_up_watchdog(env)?;
                if self.shutdown_request {
                    return Ok(false);
                }
                self.set_local_status(env, CrmState::WaitForQuorum)?;
                Ok(true)
            }
            CrmState::Master => {
                let round_start = env.get_time();
                let exit = match self.master_round(env) {
                    Ok(exit) => exit,
                    Err(e) => {
                        env.log(LogLevel::Err, &format!("got unexpected error - {e}"));
                        false
                    }
                };
                if exit {
                    return Ok(false);
                }
                env.sleep_until(round_start + self.timing.master_round);
                Ok(true)
            }
        }
    }

    /// The error-trapped part of the master's work phase; returns whether
    /// the daemon exits.
    fn master_round(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        if self.shutdown_request {
            self.give_up_watchdog(env)?;
            env.log(LogLevel::Info, "voluntary release CRM lock");
            if !env.release_ha_manager_lock() {
                env.log(
                    LogLevel::Notice,
                    "CRM lock release failed, let the lock timeout",
                );
            }
            return Ok(true);
        }
        if !self.cluster_state_update {
            env.log(
                LogLevel::Notice,
                "temporary inconsistent cluster state (cfs restart?), skip round",
            );
            return Ok(false);
        }
        let Some(manager) = self.manager.as_mut() else {
            return Ok(false);
        };
        manager.manage(env)?;
        if manager.is_fully_disarmed() {
            if !self.disarmed {
                env.log(
                    LogLevel::Info,
                    "HA stack fully disarmed, releasing CRM watchdog",
                );
                self.give_up_watchdog(env)?;
                self.disarmed = true;
            }
        } else if self.disarmed {
            env.log(LogLevel::Info, "re-arming HA stack");
            self.disarmed = false;
        }
        Ok(false)
    }

    /// Acquires or renews the manager lock, feeding (or opening) the
    /// watchdog on success (02 §2.4). At most 6 attempts.
    fn get_protected_lock(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        let start = env.get_time();
        let mut count = 0;
        loop {
            if env.get_ha_manager_lock() {
                if let Some(handle) = &self.watchdog {
                    env.watchdog_update(handle)?;
                } else if !self.disarmed {
                    let disarmed = env.read_manager_status().ok().is_some_and(|ms| {
                        ms.disarm.as_ref().and_then(|d| d.state.as_ref())
                            == Some(&OrUnknown::Known(DisarmState::Disarmed))
                    });
                    if disarmed {
                        env.log(
                            LogLevel::Info,
                            "taking over as disarmed master, skipping watchdog",
                        );
                        self.disarmed = true;
                    } else {
                        self.watchdog = Some(env.watchdog_open()?);
                    }
                }
                return Ok(true);
            }
            count += 1;
            if count > self.timing.lock_retries
                || env.get_time() - start > self.timing.lock_give_up_after
            {
                return Ok(false);
            }
            env.sleep(self.timing.lock_retry_sleep);
        }
    }

    /// Closes the watchdog if one is open (forgotten only after the close).
    fn give_up_watchdog(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        if let Some(handle) = &self.watchdog {
            env.watchdog_close(handle)?;
            self.watchdog = None;
        }
        Ok(())
    }

    /// Reads the on-disk manager status, logging a failure (02 §2.3).
    fn read_manager_status_guarded(env: &mut dyn Env) -> Option<ManagerStatus> {
        match env.read_manager_status() {
            Ok(ms) => Some(ms),
            Err(e) => {
                env.log(
                    LogLevel::Err,
                    &format!("could not read manager status: {e}"),
                );
                None
            }
        }
    }

    /// healthy(ms) of 02 §2.3.
    fn healthy(&self, env: &mut dyn Env, ms: Option<&ManagerStatus>) -> bool {
        let Some(ms) = ms else { return false };
        if !env.quorate() || !self.cluster_state_update {
            return false;
        }
        let me = env.nodename().to_string();
        !ms.service_status.values().any(|sd| {
            sd.state_known() == Some(ServiceState::Fence) && sd.node.as_deref() == Some(&me)
        })
    }

    /// Whether the configuration has any service; logs a read failure.
    fn service_config_size(env: &mut dyn Env) -> Option<usize> {
        match env.read_service_config() {
            Ok((sc, _)) => Some(sc.len()),
            Err(e) => {
                env.log(
                    LogLevel::Err,
                    &format!("could not read service config: {e}"),
                );
                None
            }
        }
    }

    /// can_get_active of 02 §2.3.
    fn can_get_active(&self, env: &mut dyn Env, allow_no_service: bool) -> EnvResult<bool> {
        let ms = Self::read_manager_status_guarded(env);
        if !self.healthy(env, ms.as_ref()) {
            return Ok(false);
        }
        let Some(ms) = ms else { return Ok(false) };
        if allow_no_service {
            return Ok(true);
        }
        match Self::service_config_size(env) {
            None => return Ok(false),
            Some(n) if n > 0 => return Ok(true),
            Some(_) => {}
        }
        if let Some(master) = ms.master_node.as_deref() {
            if ms.node_state(master) == OrUnknown::Known(NodeState::Online)
                && master != env.nodename()
            {
                return Ok(false);
            }
        }
        let stale_maintenance = ms.node_status.iter().any(|(node, state)| {
            *state == OrUnknown::Known(NodeState::Maintenance) && !ms.maintenance_requested(node)
        });
        Ok(stale_maintenance
            || env.any_pending_crm_command()?
            || !ms.service_status.is_empty()
            || ms.disarm.is_some())
    }

    /// allowed_to_get_idle of 02 §2.3.
    fn allowed_to_get_idle(&self, env: &mut dyn Env) -> EnvResult<bool> {
        let ms = Self::read_manager_status_guarded(env);
        if !self.healthy(env, ms.as_ref()) {
            return Ok(false);
        }
        let Some(ms) = ms else { return Ok(false) };
        if ms.disarm.is_some() {
            return Ok(false);
        }
        Ok(match Self::service_config_size(env) {
            None => false,
            Some(0) => ms.service_status.is_empty(),
            Some(_) => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Crm;
    use crate::config::status::ServiceEntry;
    use crate::crm::fsm::test_env::FakeEnv;
    use crate::env::Timing;
    use crate::types::{CrmState, OrUnknown, ServiceState};

    /// A CRM on `node1` whose on-disk status has one stale service entry
    /// (no configuration), so it may become master; the constructor's
    /// line is dropped.
    fn crm(env: &mut FakeEnv, timing: Timing) -> Crm {
        env.manager_status.service_status.insert(
            "vm:101".parse().unwrap_or_else(|_| unreachable!()),
            ServiceEntry {
                state: Some(OrUnknown::Known(ServiceState::Started)),
                node: Some("node1".into()),
                uid: Some("u1".into()),
                ..ServiceEntry::default()
            },
        );
        env.members.insert("node1".into(), true);
        let crm = Crm::new(env, timing);
        assert_eq!(
            env.lines(),
            ["info status change startup => wait_for_quorum"]
        );
        env.clear();
        crm
    }

    #[test]
    fn the_idle_limit_comes_from_the_timing() {
        let mut timing = Timing::upstream();
        timing.crm_max_idle_rounds = 2;
        let mut env = FakeEnv::new("node1", 100);
        let mut crm = crm(&mut env, timing);
        // Master in the first round, whose manager round drops the stale
        // entry; then idle-eligible rounds 1, 2 and 3.
        for _ in 0..4 {
            assert_eq!(crm.do_one_iteration(&mut env), Ok(true));
            env.time += 10;
        }
        assert_eq!(crm.state(), CrmState::WaitForQuorum);
        let lines = env.lines();
        assert_eq!(
            lines.last().map(String::as_str),
            Some("info status change master => wait_for_quorum")
        );
        assert!(lines.contains(
            &"info cluster had no service configured for 2 rounds, going idle.".to_string()
        ));
    }

    #[test]
    fn upstream_timing_keeps_the_master_for_ninety_idle_rounds() {
        let mut env = FakeEnv::new("node1", 100);
        let mut crm = crm(&mut env, Timing::upstream());
        for _ in 0..91 {
            assert_eq!(crm.do_one_iteration(&mut env), Ok(true));
            env.time += 10;
        }
        assert_eq!(crm.state(), CrmState::Master);
        assert_eq!(crm.do_one_iteration(&mut env), Ok(true));
        assert_eq!(crm.state(), CrmState::WaitForQuorum);
        assert!(env.lines().contains(
            &"info cluster had no service configured for 90 rounds, going idle.".to_string()
        ));
    }
}
