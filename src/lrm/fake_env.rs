//! A small in-memory `Env` for the LRM's unit tests: one node, a clock
//! the tests move by hand, a manager status and resource configuration
//! the tests edit, scripted resource behaviour, and everything the LRM
//! does recorded (log, lock attempts, watchdog, status writes, plugin
//! calls).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::datacenter::{DatacenterConfig, ShutdownPolicy};
use crate::config::groups::GroupsConfig;
use crate::config::rules::RulesConfig;
use crate::config::status::{LrmStatus, ManagerStatus, NodeRequest, ServiceEntry};
use crate::env::{
    Env, EnvError, EnvResult, FenceNotification, LogLevel, NodeShutdown, NodeStats, ServiceConf,
    ServiceConfig, ServiceConfigChange, ServiceStats, StatsKind, Time, WatchdogHandle, WorkerPool,
};
use crate::lrm::scripted_pool::ScriptedPool;
use crate::types::{OrUnknown, RequestedState, ServiceState, Sid};

/// Parses a sid literal of a test.
pub(super) fn sid(s: &str) -> Sid {
    s.parse().unwrap_or_else(|_| panic!("bad sid {s}"))
}

/// The fake environment. Fields are public so tests can script and
/// inspect everything directly.
#[derive(Debug)]
pub(super) struct FakeEnv {
    pub node: String,
    pub time: Time,
    /// Seconds slept in total (`sleep` and `sleep_until` relative to `time`).
    pub slept: i64,
    /// Seconds `time` moves per second slept: 0 (the default) is the
    /// tester's frozen clock, 1 the real daemon's, more a clock that runs
    /// ahead of the sleeps (a loaded or suspended machine). The `Env`
    /// sleep contract allows all of them.
    pub clock_rate: i64,
    pub log: Vec<(LogLevel, String)>,
    pub quorate: bool,
    pub cfs_update: bool,
    pub node_shutdown: (bool, bool),
    /// When set, `is_node_shutdown` fails with this text.
    pub node_shutdown_error: Option<String>,
    /// Whether the agent lock can be had (not held by someone else).
    pub lock_free: bool,
    pub lock_held: bool,
    pub lock_attempts: u32,
    pub watchdog: Option<WatchdogHandle>,
    pub watchdogs_opened: u32,
    pub watchdog_updates: u32,
    pub manager_status: ManagerStatus,
    /// When set, every shared-state read/write fails with this text.
    pub cfs_error: Option<String>,
    pub written: Vec<LrmStatus>,
    pub service_config: ServiceConfig,
    pub datacenter: DatacenterConfig,
    pub types: Vec<&'static str>,
    pub running: BTreeSet<Sid>,
    /// Starts that fail (silently) before one succeeds.
    pub failing_starts: BTreeMap<Sid, u32>,
    pub unstoppable: BTreeSet<Sid>,
    pub failing_migrations: BTreeSet<Sid>,
    /// Plugin operations on these sids raise the given error.
    pub raising: BTreeMap<Sid, EnvError>,
    /// Plugin actions in call order (`start vm:1`, `shutdown vm:1 None`, …).
    pub calls: Vec<String>,
    /// `get_max_workers`: 0 (the default) runs jobs inline.
    pub max_workers: usize,
    /// The worker pool offered to the LRM, if any.
    pub pool: Option<ScriptedPool>,
    /// The last value `unique_token` returned.
    pub tokens: u64,
}

impl FakeEnv {
    /// A quorate, healthy `node1` at time 20 with nothing configured.
    pub(super) fn new() -> Self {
        FakeEnv {
            node: "node1".into(),
            time: 20,
            slept: 0,
            clock_rate: 0,
            log: Vec::new(),
            quorate: true,
            cfs_update: true,
            node_shutdown: (false, false),
            node_shutdown_error: None,
            lock_free: true,
            lock_held: false,
            lock_attempts: 0,
            watchdog: None,
            watchdogs_opened: 0,
            watchdog_updates: 0,
            manager_status: ManagerStatus::default(),
            cfs_error: None,
            written: Vec::new(),
            service_config: ServiceConfig::new(),
            datacenter: DatacenterConfig::default(),
            types: vec!["vm", "ct", "fa"],
            running: BTreeSet::new(),
            failing_starts: BTreeMap::new(),
            unstoppable: BTreeSet::new(),
            failing_migrations: BTreeSet::new(),
            raising: BTreeMap::new(),
            calls: Vec::new(),
            max_workers: 0,
            pool: None,
            tokens: 0,
        }
    }

    /// Sets a service's manager-status entry (state, node, uid) and gives
    /// it a configuration on the same node (max_restart 1), unless it
    /// already has one.
    pub(super) fn set_service(&mut self, s: &str, state: ServiceState, node: &str, uid: &str) {
        let entry = ServiceEntry {
            state: Some(OrUnknown::Known(state)),
            node: Some(node.into()),
            uid: Some(uid.into()),
            ..ServiceEntry::default()
        };
        self.manager_status.service_status.insert(sid(s), entry);
        self.service_config.entry(sid(s)).or_insert(ServiceConf {
            node: node.into(),
            state: RequestedState::Started,
            failback: true,
            max_restart: 1,
            max_relocate: 1,
            group: None,
            comment: None,
        });
    }

    /// The manager-status entry of a service, for field edits.
    pub(super) fn entry(&mut self, s: &str) -> &mut ServiceEntry {
        self.manager_status
            .service_status
            .entry(sid(s))
            .or_default()
    }

    /// Removes a service from manager status and configuration.
    pub(super) fn remove_service(&mut self, s: &str) {
        self.manager_status.service_status.remove(&sid(s));
        self.service_config.remove(&sid(s));
    }

    /// Sets or clears the maintenance request for this node.
    pub(super) fn request_maintenance(&mut self, on: bool) {
        if on {
            self.manager_status
                .node_request
                .insert(self.node.clone(), NodeRequest { maintenance: true });
        } else {
            self.manager_status.node_request.remove(&self.node);
        }
    }

    /// Sets the datacenter shutdown policy.
    pub(super) fn set_policy(&mut self, policy: OrUnknown<ShutdownPolicy>) {
        self.datacenter.ha.shutdown_policy = Some(policy);
    }

    /// The log as `<level> <message>` lines, drained.
    pub(super) fn take_log(&mut self) -> Vec<String> {
        self.log
            .drain(..)
            .map(|(level, msg)| format!("{level} {msg}"))
            .collect()
    }

    /// The last written status.
    pub(super) fn last_written(&self) -> &LrmStatus {
        self.written
            .last()
            .unwrap_or_else(|| panic!("no status written"))
    }

    fn cfs(&self) -> EnvResult<()> {
        match &self.cfs_error {
            Some(e) => Err(EnvError::new(e.clone())),
            None => Ok(()),
        }
    }

    fn plugin_call(&mut self, call: String, sid: &Sid) -> EnvResult<()> {
        self.calls.push(call);
        match self.raising.get(sid) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

fn unused<T>(what: &str) -> EnvResult<T> {
    Err(EnvError::new(format!("{what} is not used by the LRM")))
}

impl Env for FakeEnv {
    fn nodename(&self) -> &str {
        &self.node
    }
    fn get_time(&self) -> Time {
        self.time
    }
    fn sleep(&mut self, secs: i64) {
        let secs = secs.max(0);
        self.slept += secs;
        self.time += secs * self.clock_rate;
    }
    fn sleep_until(&mut self, t: Time) {
        let secs = (t - self.time).max(0);
        self.slept += secs;
        self.time += secs * self.clock_rate;
    }
    fn loop_start_hook(&mut self) -> EnvResult<()> {
        Ok(())
    }
    fn loop_end_hook(&mut self) -> EnvResult<()> {
        Ok(())
    }
    fn get_max_workers(&self) -> usize {
        self.max_workers
    }
    fn unique_token(&mut self) -> u64 {
        self.tokens += 1;
        self.tokens
    }
    fn log(&mut self, level: LogLevel, msg: &str) {
        self.log.push((level, msg.to_string()));
    }
    fn send_notification(&mut self, _notification: &FenceNotification) {}
    fn get_node_info(&mut self) -> EnvResult<(BTreeMap<String, bool>, bool)> {
        unused("get_node_info")
    }
    fn quorate(&mut self) -> bool {
        self.quorate
    }
    fn cluster_state_update(&mut self) -> bool {
        self.cfs_update
    }
    fn is_node_shutdown(&mut self) -> EnvResult<NodeShutdown> {
        if let Some(e) = &self.node_shutdown_error {
            return Err(EnvError::new(e.clone()));
        }
        let (shutdown, reboot) = self.node_shutdown;
        Ok(NodeShutdown { shutdown, reboot })
    }
    fn get_node_version(&mut self, _node: &str) -> Option<String> {
        None
    }
    fn get_ha_manager_lock(&mut self) -> bool {
        false
    }
    fn release_ha_manager_lock(&mut self) -> bool {
        false
    }
    fn get_ha_agent_lock(&mut self, node: Option<&str>) -> bool {
        assert!(node.is_none(), "the LRM only takes its own lock");
        self.lock_attempts += 1;
        if self.quorate && self.lock_free {
            self.lock_held = true;
        }
        self.quorate && self.lock_free
    }
    fn release_ha_agent_lock(&mut self) -> bool {
        std::mem::take(&mut self.lock_held)
    }
    fn watchdog_open(&mut self) -> EnvResult<WatchdogHandle> {
        if self.watchdog.is_some() {
            return Err(EnvError::new("watchdog already open"));
        }
        self.watchdogs_opened += 1;
        let handle = WatchdogHandle(format!("WD:{}", self.watchdogs_opened));
        self.watchdog = Some(handle.clone());
        Ok(handle)
    }
    fn watchdog_update(&mut self, handle: &WatchdogHandle) -> EnvResult<()> {
        if self.watchdog.as_ref() != Some(handle) {
            return Err(EnvError::new(format!(
                "no such watchdog handle '{}'",
                handle.0
            )));
        }
        self.watchdog_updates += 1;
        Ok(())
    }
    fn watchdog_close(&mut self, handle: &WatchdogHandle) -> EnvResult<()> {
        if self.watchdog.as_ref() != Some(handle) {
            return Err(EnvError::new(format!(
                "no such watchdog handle '{}'",
                handle.0
            )));
        }
        self.watchdog = None;
        Ok(())
    }
    fn read_manager_status(&mut self) -> EnvResult<ManagerStatus> {
        self.cfs()?;
        Ok(self.manager_status.clone())
    }
    fn write_manager_status(&mut self, _status: &ManagerStatus) -> EnvResult<()> {
        unused("write_manager_status")
    }
    fn read_lrm_status(&mut self, _node: Option<&str>) -> EnvResult<LrmStatus> {
        unused("read_lrm_status")
    }
    fn write_lrm_status(&mut self, status: &LrmStatus) -> EnvResult<()> {
        self.cfs()?;
        self.written.push(status.clone());
        Ok(())
    }
    fn read_service_config(&mut self) -> EnvResult<(ServiceConfig, Option<String>)> {
        self.cfs()?;
        Ok((self.service_config.clone(), None))
    }
    fn update_service_config(
        &mut self,
        _changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()> {
        unused("update_service_config")
    }
    fn steal_service(&mut self, _sid: &Sid, _current: &str, _new: &str) -> EnvResult<()> {
        unused("steal_service")
    }
    fn read_rules_config(&mut self) -> EnvResult<RulesConfig> {
        unused("read_rules_config")
    }
    fn write_rules_config(&mut self, _rules: &RulesConfig) -> EnvResult<()> {
        unused("write_rules_config")
    }
    fn read_group_config(&mut self) -> EnvResult<GroupsConfig> {
        unused("read_group_config")
    }
    fn delete_group_config(&mut self) -> EnvResult<()> {
        unused("delete_group_config")
    }
    fn any_pending_crm_command(&mut self) -> EnvResult<bool> {
        unused("any_pending_crm_command")
    }
    fn read_crm_commands(&mut self) -> EnvResult<String> {
        unused("read_crm_commands")
    }
    fn get_datacenter_settings(&mut self) -> DatacenterConfig {
        self.datacenter.clone()
    }
    fn get_service_stats(&mut self, _kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>> {
        unused("get_service_stats")
    }
    fn get_static_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        unused("get_static_node_stats")
    }
    fn get_dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        unused("get_dynamic_node_stats")
    }
    fn has_resource_type(&self, ty: &str) -> bool {
        self.types.contains(&ty)
    }
    fn resource_check_running(&mut self, sid: &Sid) -> EnvResult<bool> {
        Ok(self.running.contains(sid))
    }
    fn resource_start(&mut self, sid: &Sid) -> EnvResult<()> {
        self.plugin_call(format!("start {sid}"), sid)?;
        match self.failing_starts.get_mut(sid) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                self.running.insert(sid.clone());
            }
        }
        Ok(())
    }
    fn resource_shutdown(&mut self, sid: &Sid, timeout: Option<&str>) -> EnvResult<()> {
        self.plugin_call(format!("shutdown {sid} {timeout:?}"), sid)?;
        if !self.unstoppable.contains(sid) {
            self.running.remove(sid);
        }
        Ok(())
    }
    fn resource_migrate(&mut self, sid: &Sid, target: &str, online: bool) -> EnvResult<bool> {
        self.plugin_call(format!("migrate {sid} {target} online={online}"), sid)?;
        if self.failing_migrations.contains(sid) {
            return Ok(false);
        }
        self.running.remove(sid);
        if let Some(conf) = self.service_config.get_mut(sid) {
            conf.node = target.to_string();
        }
        Ok(true)
    }
    fn resource_remove_locks(
        &mut self,
        _sid: &Sid,
        _locks: &[&str],
        _node: &str,
    ) -> EnvResult<Option<String>> {
        unused("resource_remove_locks")
    }
    fn worker_pool(&mut self) -> Option<&mut dyn WorkerPool> {
        self.pool.as_mut().map(|p| p as &mut dyn WorkerPool)
    }
}
