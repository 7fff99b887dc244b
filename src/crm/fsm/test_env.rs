//! A small recording `Env` for the FSM and placement unit tests: a settable
//! clock, a log, guest locks, service statistics and a record of the
//! configuration writes and guest moves the handlers request.

use std::collections::BTreeMap;

use crate::config::datacenter::DatacenterConfig;
use crate::config::groups::GroupsConfig;
use crate::config::rules::RulesConfig;
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::env::{
    Env, EnvError, EnvResult, FenceNotification, LogLevel, NodeShutdown, NodeStats, ServiceConfig,
    ServiceConfigChange, ServiceStats, StatsKind, Time, WatchdogHandle,
};
use crate::types::Sid;

/// The fake environment.
#[derive(Debug, Default)]
pub(crate) struct FakeEnv {
    /// Node name.
    pub node: String,
    /// Current time.
    pub time: Time,
    /// Every logged line, `(level, message)`.
    pub logs: Vec<(LogLevel, String)>,
    /// Manager status returned by `read_manager_status`.
    pub manager_status: ManagerStatus,
    /// Datacenter settings returned by `get_datacenter_settings`.
    pub datacenter: DatacenterConfig,
    /// Guest statistics returned for every kind.
    pub stats: BTreeMap<Sid, ServiceStats>,
    /// Guest locks (`resource_remove_locks` removes the first listed one).
    pub locks: BTreeMap<Sid, String>,
    /// `steal_service` calls: `(sid, from, to)`.
    pub stolen: Vec<(Sid, String, String)>,
    /// Make `steal_service` fail with this text.
    pub steal_error: Option<String>,
    /// `update_service_config` calls.
    pub config_updates: Vec<BTreeMap<Sid, ServiceConfigChange>>,
    /// Whether `get_ha_agent_lock` for another node succeeds (fencing).
    pub agent_locks_free: bool,
    /// Node statistics returned for both kinds; `None` makes the call
    /// fail with `no node stats`.
    pub node_stats: Option<BTreeMap<String, NodeStats>>,
    /// The last value `unique_token` returned.
    pub tokens: u64,
    /// Cluster members and their online flags (`get_node_info`; always
    /// quorate).
    pub members: BTreeMap<String, bool>,
}

impl FakeEnv {
    /// A fake for `node` at time `time`.
    pub fn new(node: &str, time: Time) -> Self {
        FakeEnv {
            node: node.into(),
            time,
            ..Default::default()
        }
    }

    /// The log as `<level>: <message>` lines, with levels cut to four
    /// characters as the regression log prints them.
    pub fn lines(&self) -> Vec<String> {
        self.logs
            .iter()
            .map(|(l, m)| format!("{:.4} {m}", l.as_str()))
            .collect()
    }

    /// Forgets the log.
    pub fn clear(&mut self) {
        self.logs.clear();
    }
}

impl Env for FakeEnv {
    fn nodename(&self) -> &str {
        &self.node
    }
    fn get_time(&self) -> Time {
        self.time
    }
    fn sleep(&mut self, _secs: i64) {}
    fn sleep_until(&mut self, _t: Time) {}
    fn loop_start_hook(&mut self) -> EnvResult<()> {
        Ok(())
    }
    fn loop_end_hook(&mut self) -> EnvResult<()> {
        Ok(())
    }
    fn get_max_workers(&self) -> usize {
        0
    }
    fn unique_token(&mut self) -> u64 {
        self.tokens += 1;
        self.tokens
    }
    fn log(&mut self, level: LogLevel, msg: &str) {
        self.logs.push((level, msg.to_string()));
    }
    fn send_notification(&mut self, _notification: &FenceNotification) {}
    fn get_node_info(&mut self) -> EnvResult<(BTreeMap<String, bool>, bool)> {
        Ok((self.members.clone(), true))
    }
    fn quorate(&mut self) -> bool {
        true
    }
    fn cluster_state_update(&mut self) -> bool {
        true
    }
    fn is_node_shutdown(&mut self) -> EnvResult<NodeShutdown> {
        Ok(NodeShutdown::default())
    }
    fn get_node_version(&mut self, _node: &str) -> Option<String> {
        None
    }
    fn get_ha_manager_lock(&mut self) -> bool {
        true
    }
    fn release_ha_manager_lock(&mut self) -> bool {
        true
    }
    fn get_ha_agent_lock(&mut self, node: Option<&str>) -> bool {
        node.is_none() || self.agent_locks_free
    }
    fn release_ha_agent_lock(&mut self) -> bool {
        true
    }
    fn watchdog_open(&mut self) -> EnvResult<WatchdogHandle> {
        Ok(WatchdogHandle("w".into()))
    }
    fn watchdog_update(&mut self, _handle: &WatchdogHandle) -> EnvResult<()> {
        Ok(())
    }
    fn watchdog_close(&mut self, _handle: &WatchdogHandle) -> EnvResult<()> {
        Ok(())
    }
    fn read_manager_status(&mut self) -> EnvResult<ManagerStatus> {
        Ok(self.manager_status.clone())
    }
    fn write_manager_status(&mut self, status: &ManagerStatus) -> EnvResult<()> {
        self.manager_status = status.clone();
        Ok(())
    }
    fn read_lrm_status(&mut self, _node: Option<&str>) -> EnvResult<LrmStatus> {
        Ok(LrmStatus::default())
    }
    fn write_lrm_status(&mut self, _status: &LrmStatus) -> EnvResult<()> {
        Ok(())
    }
    fn read_service_config(&mut self) -> EnvResult<(ServiceConfig, Option<String>)> {
        Ok((ServiceConfig::new(), None))
    }
    fn update_service_config(
        &mut self,
        changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()> {
        self.config_updates.push(changes.clone());
        Ok(())
    }
    fn steal_service(&mut self, sid: &Sid, current: &str, new: &str) -> EnvResult<()> {
        if let Some(e) = &self.steal_error {
            return Err(EnvError::new(e.clone()));
        }
        self.stolen
            .push((sid.clone(), current.to_string(), new.to_string()));
        Ok(())
    }
    fn read_rules_config(&mut self) -> EnvResult<RulesConfig> {
        Ok(RulesConfig::default())
    }
    fn write_rules_config(&mut self, _rules: &RulesConfig) -> EnvResult<()> {
        Ok(())
    }
    fn read_group_config(&mut self) -> EnvResult<GroupsConfig> {
        Ok(GroupsConfig::default())
    }
    fn delete_group_config(&mut self) -> EnvResult<()> {
        Ok(())
    }
    fn any_pending_crm_command(&mut self) -> EnvResult<bool> {
        Ok(false)
    }
    fn read_crm_commands(&mut self) -> EnvResult<String> {
        Ok(String::new())
    }
    fn get_datacenter_settings(&mut self) -> DatacenterConfig {
        self.datacenter.clone()
    }
    fn get_service_stats(&mut self, _kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>> {
        Ok(self.stats.clone())
    }
    fn get_static_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        self.node_stats
            .clone()
            .ok_or_else(|| EnvError::new("no node stats"))
    }
    fn get_dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        self.get_static_node_stats()
    }
    fn has_resource_type(&self, _ty: &str) -> bool {
        true
    }
    fn resource_check_running(&mut self, _sid: &Sid) -> EnvResult<bool> {
        Ok(false)
    }
    fn resource_start(&mut self, _sid: &Sid) -> EnvResult<()> {
        Ok(())
    }
    fn resource_shutdown(&mut self, _sid: &Sid, _timeout: Option<&str>) -> EnvResult<()> {
        Ok(())
    }
    fn resource_migrate(&mut self, _sid: &Sid, _target: &str, _online: bool) -> EnvResult<bool> {
        Ok(true)
    }
    fn resource_remove_locks(
        &mut self,
        sid: &Sid,
        locks: &[&str],
        _node: &str,
    ) -> EnvResult<Option<String>> {
        let removable = self
            .locks
            .get(sid)
            .is_some_and(|l| locks.contains(&l.as_str()));
        Ok(if removable {
            self.locks.remove(sid)
        } else {
            None
        })
    }
}
