//! `SimEnv`: the simulated environment of one daemon (01 §6, §8). Each CRM
//! and each LRM has its own; all of them share the one [`Hardware`].
//!
//! Two clocks (01 §5 and §10):
//!
//! * **virtual** (the tester): each environment has its own clock and
//!   loop-delay accumulator; sleeps and lock attempts only add to the
//!   delay (01 §5.1, §5.3);
//! * **live** (the interactive simulator): the clock is the (optionally
//!   accelerated) wall clock, sleeps really sleep, the hardware clock
//!   follows the wall clock, an iteration longer than 30 s fails, and the
//!   LRM runs its jobs in a pool of parallel workers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::MutexGuard;

use super::hardware::{Hardware, LockOutcome, SharedHardware, CFS_ERROR, DEFAULT_NODE_VERSION};
use super::live::clock::LiveClock;
use super::log::daemon_level;
use super::probe::JobOp;
use super::resources;
use crate::config::datacenter::DatacenterConfig;
use crate::config::groups::GroupsConfig;
use crate::config::rules::RulesConfig;
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::env::{
    Env, EnvError, EnvErrorKind, EnvResult, FenceNotification, LogLevel, NodeShutdown, NodeStats,
    ServiceConfig, ServiceConfigChange, ServiceStats, StatsKind, Time, Timing, WatchdogHandle,
    WorkerPool,
};
use crate::types::{ResourceType, Sid};

/// Sanity limit of the loop delay of one iteration (01 §5.3).
pub const MAX_LOOP_DELAY: i64 = 300;

/// Parallel LRM workers in the live simulator (01 §10).
pub const LIVE_MAX_WORKERS: usize = 4;

/// Which daemon an environment serves; it names the log id
/// (`<node>/crm`, `<node>/lrm`). The shared vocabulary's daemon enum.
pub use crate::types::Daemon as DaemonKind;

/// One daemon's simulated environment.
#[derive(Debug)]
pub struct SimEnv {
    hw: SharedHardware,
    node: String,
    kind: DaemonKind,
    id: String,
    clock: Time,
    loop_delay: i64,
    /// Set in the live simulator: the wall clock replaces `clock`.
    live: Option<Live>,
}

/// What a live environment has besides the shared parts.
struct Live {
    clock: LiveClock,
    /// Start of the current iteration (virtual seconds).
    loop_start: f64,
    /// The LRM's worker pool; `None` for CRMs and workers.
    pool: Option<Box<dyn WorkerPool + Send>>,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("clock", &self.clock)
            .field("loop_start", &self.loop_start)
            .field("pool", &self.pool.as_ref().map(|p| p.running()))
            .finish()
    }
}

impl SimEnv {
    /// The environment of `kind` on `node`, clock 0.
    pub fn new(hw: SharedHardware, node: &str, kind: DaemonKind) -> Self {
        let suffix = match kind {
            DaemonKind::Crm => "crm",
            DaemonKind::Lrm => "lrm",
        };
        SimEnv {
            hw,
            node: node.to_string(),
            kind,
            id: format!("{node}/{suffix}"),
            clock: 0,
            loop_delay: 0,
            live: None,
        }
    }

    /// A live environment of `kind` on `node` (01 §10). `hw` is normally a
    /// handle tied to the daemon's life
    /// ([`SharedHardware::for_life`]), so that a power-off kills it.
    pub fn live(hw: SharedHardware, node: &str, kind: DaemonKind, clock: LiveClock) -> Self {
        let mut env = SimEnv::new(hw, node, kind);
        env.live = Some(Live {
            clock,
            loop_start: clock.now_f64(),
            pool: None,
        });
        env
    }

    /// Gives a live LRM its worker pool; from then on its jobs run there.
    pub fn set_worker_pool(&mut self, pool: Box<dyn WorkerPool + Send>) {
        if let Some(live) = &mut self.live {
            live.pool = Some(pool);
        }
    }

    /// The environment a worker of this (live) LRM runs its job in: same
    /// node, log id, clock and life, no pool (upstream: the forked child).
    pub fn worker_env(&self) -> SimEnv {
        SimEnv {
            hw: self.hw.clone(),
            node: self.node.clone(),
            kind: self.kind,
            id: self.id.clone(),
            clock: self.clock,
            loop_delay: 0,
            live: self.live.as_ref().map(|l| Live {
                clock: l.clock,
                loop_start: l.clock.now_f64(),
                pool: None,
            }),
        }
    }

    /// Whether this environment runs on the wall clock.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// The time this environment's daemon sees now.
    fn now(&self) -> Time {
        match &self.live {
            Some(l) => l.clock.now(),
            None => self.clock,
        }
    }

    /// Locks the hardware. In live mode the hardware clock follows the
    /// wall clock: read under the lock, so it never goes backwards.
    fn hw(&self) -> MutexGuard<'_, Hardware> {
        let mut hw = self.hw.borrow_mut();
        if let Some(l) = &self.live {
            let now = l.clock.now().max(hw.time());
            hw.set_time(now);
        }
        hw
    }

    /// Live mode: sleeps until the virtual time `deadline` (seconds with
    /// fractions), or unwinds if the daemon is killed meanwhile. Does
    /// nothing in the tester, whose clocks only the run loop moves.
    pub fn wait_until(&self, deadline: f64) {
        if let Some(clock) = self.live.as_ref().map(|l| l.clock) {
            self.live_sleep_until(&clock, deadline);
        }
    }

    /// Really sleeps (live mode) until the virtual time `deadline`; a kill
    /// wakes the sleeper and unwinds it.
    fn live_sleep_until(&self, clock: &LiveClock, deadline: f64) {
        let mut guard = self.hw.borrow_mut();
        loop {
            let now = clock.now_f64();
            if now >= deadline {
                return;
            }
            guard = self.hw.wait(guard, clock.real(deadline - now));
        }
    }

    /// The log id (`node1/crm`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This environment's clock.
    pub fn clock(&self) -> Time {
        self.clock
    }

    /// The accumulated loop delay of the current iteration.
    pub fn loop_delay(&self) -> i64 {
        self.loop_delay
    }

    /// The run loop's forced sync (01 §5.2 step 7): clock to `t`, delay 0.
    pub fn sync_clock(&mut self, t: Time) {
        self.clock = t;
        self.loop_delay = 0;
    }

    /// Adds to the loop delay (sleeps, lock attempts, resource actions);
    /// never moves a clock (01 §5.3).
    pub fn add_delay(&mut self, secs: i64) {
        self.loop_delay = self.loop_delay.saturating_add(secs.max(0));
    }

    /// The shared hardware.
    pub fn hardware(&self) -> &SharedHardware {
        &self.hw
    }

    /// Runs `f` on the hardware after checking this node's cfs is
    /// read-write (01 §6.4).
    fn with_cfs<T>(&self, f: impl FnOnce(&mut Hardware) -> EnvResult<T>) -> EnvResult<T> {
        let mut hw = self.hw();
        if !hw.node(&self.node).is_none_or(|n| n.cfs_rw) {
            return Err(EnvError::with_kind(EnvErrorKind::Unavailable, CFS_ERROR));
        }
        f(&mut hw)
    }

    /// One lock attempt (01 §6.2): fails at once without quorum; logs
    /// `got lock` on a new acquisition or takeover; costs one second of
    /// loop delay either way.
    fn get_lock(&mut self, name: &str) -> bool {
        let now = self.now();
        let outcome = {
            let mut hw = self.hw();
            if hw.quorate(&self.node) {
                Some(hw.acquire_lock(name, &self.node, now))
            } else {
                None
            }
        };
        self.add_delay(1);
        match outcome {
            Some(LockOutcome::Acquired) => {
                self.log(LogLevel::Info, &format!("got lock '{name}'"));
                true
            }
            Some(LockOutcome::Renewed) => true,
            Some(LockOutcome::Denied) | None => false,
        }
    }

    /// Reports a resource job to the fuzzer's probe, if one is installed.
    fn probe_job(&self, sid: &Sid, op: JobOp) {
        let now = self.now();
        self.hw
            .borrow_mut()
            .probe_job(&self.node, sid.as_str(), op, now);
    }

    /// A release (free of loop delay); fails without quorum.
    fn release_lock(&mut self, name: &str) -> bool {
        let now = self.now();
        let mut hw = self.hw();
        hw.quorate(&self.node) && hw.release_lock(name, &self.node, now)
    }
}

/// The agent lock's name.
fn agent_lock(node: &str) -> String {
    format!("ha_agent_{node}_lock")
}

/// The manager lock's name.
const MANAGER_LOCK: &str = "ha_manager_lock";

impl Env for SimEnv {
    fn nodename(&self) -> &str {
        &self.node
    }

    fn get_time(&self) -> Time {
        self.now()
    }

    fn sleep(&mut self, secs: i64) {
        if let Some(clock) = self.live.as_ref().map(|l| l.clock) {
            self.live_sleep_until(&clock, clock.now_f64() + secs.max(0) as f64);
            return;
        }
        self.add_delay(secs);
    }

    fn sleep_until(&mut self, t: Time) {
        if let Some(clock) = self.live.as_ref().map(|l| l.clock) {
            self.live_sleep_until(&clock, t as f64);
            return;
        }
        let now = self.clock + self.loop_delay;
        if now < t {
            self.add_delay(t - now);
        }
    }

    fn loop_start_hook(&mut self) -> EnvResult<()> {
        self.loop_delay = 0;
        if let Some(l) = &mut self.live {
            l.loop_start = l.clock.now_f64();
            return Ok(());
        }
        let h = self.hw.borrow().time();
        if h < self.clock {
            return Err(EnvError::new("strange start time"));
        }
        self.clock = h;
        Ok(())
    }

    fn loop_end_hook(&mut self) -> EnvResult<()> {
        if let Some(l) = &self.live {
            // The slow-loop limit of upstream's timing (01 §10: the live
            // simulator aborts where the real daemon warns).
            let took = (l.clock.now_f64() - l.loop_start) as i64;
            if took > Timing::upstream().slow_loop {
                return Err(EnvError::new(format!(
                    "loop took too long ({took} seconds)"
                )));
            }
            return Ok(());
        }
        let delay = self.loop_delay;
        if delay > MAX_LOOP_DELAY {
            return Err(EnvError::new(format!(
                "loop took too long ({delay} seconds)"
            )));
        }
        self.loop_delay = 0;
        self.clock += 1;
        Ok(())
    }

    fn get_max_workers(&self) -> usize {
        if self.live.is_some() {
            LIVE_MAX_WORKERS
        } else {
            0
        }
    }

    fn unique_token(&mut self) -> u64 {
        self.hw.borrow_mut().next_token()
    }

    fn log(&mut self, level: LogLevel, msg: &str) {
        let now = self.now();
        if self.live.is_some() {
            // The interactive log keeps every level, untruncated (01 §10).
            // Upstream's one malformed level only exists for the tester's
            // byte-exact log; here it is what it means.
            let word = match level {
                LogLevel::MalformedInfo => "info",
                other => other.as_str(),
            };
            self.hw().log_line(word, now, &self.id, msg);
        } else if let Some(word) = daemon_level(level) {
            self.hw.borrow_mut().log_line(word, now, &self.id, msg);
        }
    }

    fn send_notification(&mut self, n: &FenceNotification) {
        self.log(LogLevel::Email, &format!("{}: {}", n.prefix, n.status));
    }

    fn get_node_info(&mut self) -> EnvResult<(BTreeMap<String, bool>, bool)> {
        Ok(self.hw.borrow().node_info())
    }

    fn quorate(&mut self) -> bool {
        self.hw.borrow().quorate(&self.node)
    }

    fn cluster_state_update(&mut self) -> bool {
        self.hw
            .borrow()
            .node(&self.node)
            .is_none_or(|n| n.cfs_update)
    }

    fn is_node_shutdown(&mut self) -> EnvResult<NodeShutdown> {
        use super::hardware::ShutdownKind;
        let kind = self.hw.borrow().node(&self.node).and_then(|n| n.shutdown);
        Ok(NodeShutdown {
            shutdown: kind.is_some(),
            reboot: kind == Some(ShutdownKind::Reboot),
        })
    }

    fn get_node_version(&mut self, node: &str) -> Option<String> {
        let hw = self.hw.borrow();
        Some(
            hw.node(node)
                .and_then(|n| n.version.clone())
                .unwrap_or_else(|| DEFAULT_NODE_VERSION.to_string()),
        )
    }

    fn get_ha_manager_lock(&mut self) -> bool {
        self.get_lock(MANAGER_LOCK)
    }

    fn release_ha_manager_lock(&mut self) -> bool {
        self.release_lock(MANAGER_LOCK)
    }

    fn get_ha_agent_lock(&mut self, node: Option<&str>) -> bool {
        let name = agent_lock(node.unwrap_or(&self.node));
        self.get_lock(&name)
    }

    fn release_ha_agent_lock(&mut self) -> bool {
        let name = agent_lock(&self.node);
        self.release_lock(&name)
    }

    fn watchdog_open(&mut self) -> EnvResult<WatchdogHandle> {
        let mut hw = self.hw();
        let handle = hw.watchdog_open(&self.node);
        hw.probe_watchdog_kind(&handle, self.kind);
        Ok(WatchdogHandle(handle))
    }

    fn watchdog_update(&mut self, handle: &WatchdogHandle) -> EnvResult<()> {
        self.hw().watchdog_update(&handle.0)
    }

    fn watchdog_close(&mut self, handle: &WatchdogHandle) -> EnvResult<()> {
        self.hw().watchdog_close(&handle.0)
    }

    fn read_manager_status(&mut self) -> EnvResult<ManagerStatus> {
        self.with_cfs(|hw| Ok(hw.manager_status()))
    }

    fn write_manager_status(&mut self, status: &ManagerStatus) -> EnvResult<()> {
        self.with_cfs(|hw| {
            hw.set_manager_status(status);
            Ok(())
        })
    }

    fn read_lrm_status(&mut self, node: Option<&str>) -> EnvResult<LrmStatus> {
        let node = node.unwrap_or(&self.node).to_string();
        self.with_cfs(|hw| Ok(hw.lrm_status(&node)))
    }

    fn write_lrm_status(&mut self, status: &LrmStatus) -> EnvResult<()> {
        let node = self.node.clone();
        self.with_cfs(|hw| {
            hw.set_lrm_status(&node, status);
            Ok(())
        })
    }

    /// No digest in the simulator (01 §2.5 step 5).
    fn read_service_config(&mut self) -> EnvResult<(ServiceConfig, Option<String>)> {
        self.with_cfs(|hw| Ok((hw.service_config()?, None)))
    }

    /// Not subject to the cfs state (01 §6.4, quirk 17).
    fn update_service_config(
        &mut self,
        changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()> {
        self.hw.borrow_mut().update_service_config(changes)
    }

    fn steal_service(&mut self, sid: &Sid, current: &str, new: &str) -> EnvResult<()> {
        self.with_cfs(|hw| hw.steal_service(sid, current, new))
    }

    fn read_rules_config(&mut self) -> EnvResult<RulesConfig> {
        self.with_cfs(|hw| Ok(hw.rules_config()))
    }

    fn write_rules_config(&mut self, rules: &RulesConfig) -> EnvResult<()> {
        self.with_cfs(|hw| hw.set_rules_config(rules))
    }

    fn read_group_config(&mut self) -> EnvResult<GroupsConfig> {
        self.with_cfs(|hw| Ok(hw.group_config()))
    }

    fn delete_group_config(&mut self) -> EnvResult<()> {
        self.with_cfs(Hardware::delete_group_config)
    }

    fn any_pending_crm_command(&mut self) -> EnvResult<bool> {
        self.with_cfs(|hw| Ok(hw.any_pending_crm_command()))
    }

    fn read_crm_commands(&mut self) -> EnvResult<String> {
        self.with_cfs(|hw| Ok(hw.take_crm_commands()))
    }

    fn get_datacenter_settings(&mut self) -> DatacenterConfig {
        self.hw.borrow().datacenter()
    }

    fn get_service_stats(&mut self, kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>> {
        self.hw.borrow_mut().service_stats(kind)
    }

    fn get_static_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        Ok(self.hw.borrow().static_node_stats())
    }

    fn get_dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        self.hw.borrow_mut().dynamic_node_stats()
    }

    /// The simulator's plugins (01 §7): `vm`, `ct`, `fa`. An `ocf` sid
    /// is unknown here, as any other type: the job raises
    /// `unknown section type 'ocf'`.
    fn has_resource_type(&self, ty: &str) -> bool {
        matches!(
            ty.parse::<ResourceType>(),
            Ok(ResourceType::Vm | ResourceType::Ct | ResourceType::Fa)
        )
    }

    fn resource_check_running(&mut self, sid: &Sid) -> EnvResult<bool> {
        Ok(resources::check_running(self, sid))
    }

    fn resource_start(&mut self, sid: &Sid) -> EnvResult<()> {
        self.probe_job(sid, JobOp::Start);
        resources::start(self, sid)
    }

    fn resource_shutdown(&mut self, sid: &Sid, _timeout: Option<&str>) -> EnvResult<()> {
        self.probe_job(sid, JobOp::Shutdown);
        resources::shutdown(self, sid)
    }

    fn resource_migrate(&mut self, sid: &Sid, target: &str, online: bool) -> EnvResult<bool> {
        self.probe_job(sid, JobOp::Migrate);
        resources::migrate(self, sid, target, online)
    }

    /// The simulated guest locks are per service, not per node copy.
    fn resource_remove_locks(
        &mut self,
        sid: &Sid,
        locks: &[&str],
        _node: &str,
    ) -> EnvResult<Option<String>> {
        Ok(resources::remove_locks(self, sid, locks))
    }

    fn worker_pool(&mut self) -> Option<&mut dyn WorkerPool> {
        let pool = self.live.as_mut()?.pool.as_mut()?;
        Some(pool.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::hardware::NodeHardware;
    use crate::sim::scenario::Scenario;

    fn setup() -> (SharedHardware, SimEnv, SimEnv) {
        let mut s = Scenario::empty();
        for n in ["node1", "node2", "node3"] {
            let mut hw = NodeHardware::off();
            hw.power = true;
            hw.network = true;
            s.nodes.insert(n.into(), hw);
        }
        let hw = Hardware::new(&s).shared();
        let a = SimEnv::new(hw.clone(), "node1", DaemonKind::Crm);
        let b = SimEnv::new(hw.clone(), "node2", DaemonKind::Lrm);
        (hw, a, b)
    }

    #[test]
    fn clock_rules_of_one_iteration() {
        let (hw, mut e, _) = setup();
        hw.borrow_mut().set_time(40);
        e.loop_start_hook().unwrap();
        assert_eq!(e.get_time(), 40);
        e.sleep(5);
        e.sleep_until(50);
        assert_eq!(e.loop_delay(), 10);
        e.sleep_until(45);
        assert_eq!(e.loop_delay(), 10, "sleep_until in the past adds nothing");
        assert_eq!(e.get_time(), 40, "sleeps never move the clock");
        e.loop_end_hook().unwrap();
        assert_eq!((e.get_time(), e.loop_delay()), (41, 0));
        // H behind E is impossible in the run loop and aborts.
        assert_eq!(
            e.loop_start_hook(),
            Err(EnvError::new("strange start time"))
        );
    }

    #[test]
    fn loop_delay_limit() {
        let (_, mut e, _) = setup();
        e.loop_start_hook().unwrap();
        e.sleep(300);
        assert_eq!(e.loop_end_hook(), Ok(()), "300 s is still fine");
        let (_, mut e, _) = setup();
        e.loop_start_hook().unwrap();
        e.sleep(301);
        assert_eq!(
            e.loop_end_hook(),
            Err(EnvError::new("loop took too long (301 seconds)"))
        );
    }

    #[test]
    fn lock_attempts_cost_a_second_and_log_acquisitions() {
        let (hw, mut a, mut b) = setup();
        assert!(a.get_ha_manager_lock());
        assert_eq!(a.loop_delay(), 1);
        assert!(a.get_ha_manager_lock(), "silent renewal");
        assert!(!b.get_ha_manager_lock());
        assert_eq!(b.loop_delay(), 1);
        assert!(b.get_ha_agent_lock(None));
        assert!(b.get_ha_agent_lock(Some("node3")));
        assert_eq!(
            hw.borrow().log_text(),
            "info      0    node1/crm: got lock 'ha_manager_lock'\n\
             info      0    node2/lrm: got lock 'ha_agent_node2_lock'\n\
             info      0    node2/lrm: got lock 'ha_agent_node3_lock'\n"
        );
        // Takeover after expiry is logged by the taker.
        b.sync_clock(121);
        assert!(b.get_ha_manager_lock());
        assert!(hw
            .borrow()
            .log_text()
            .ends_with("info    121    node2/lrm: got lock 'ha_manager_lock'\n"));
        assert!(!a.release_ha_manager_lock(), "a lost it");
        assert!(b.release_ha_manager_lock());
        assert!(!hw.borrow().locks().contains_key(MANAGER_LOCK));
    }

    #[test]
    fn locks_need_quorum_even_for_release() {
        let (hw, mut a, _) = setup();
        assert!(a.get_ha_agent_lock(None));
        hw.borrow_mut().node_mut("node1").unwrap().network = false;
        let delay = a.loop_delay();
        assert!(!a.get_ha_agent_lock(None));
        assert_eq!(
            a.loop_delay(),
            delay + 1,
            "a failed attempt costs a second too"
        );
        assert!(!a.release_ha_agent_lock());
        assert!(hw.borrow().locks().contains_key("ha_agent_node1_lock"));
    }

    #[test]
    fn cfs_failure_affects_shared_state_only() {
        let (hw, mut a, mut b) = setup();
        hw.borrow_mut().node_mut("node1").unwrap().cfs_rw = false;
        let err = EnvError::with_kind(EnvErrorKind::Unavailable, CFS_ERROR);
        assert_eq!(a.read_manager_status(), Err(err.clone()));
        assert_eq!(a.read_service_config().map(|_| ()), Err(err.clone()));
        assert_eq!(a.any_pending_crm_command(), Err(err.clone()));
        assert_eq!(a.read_lrm_status(Some("node2")), Err(err.clone()));
        assert_eq!(
            a.steal_service(&"vm:1".parse().unwrap(), "a", "b"),
            Err(err)
        );
        assert!(a.update_service_config(&BTreeMap::new()).is_ok());
        assert!(a.get_ha_manager_lock());
        assert!(a.quorate());
        assert!(b.read_manager_status().is_ok());
        hw.borrow_mut().node_mut("node2").unwrap().cfs_update = false;
        assert!(!b.cluster_state_update());
        assert!(a.cluster_state_update());
    }

    #[test]
    fn daemon_log_levels_and_notifications() {
        let (hw, mut a, _) = setup();
        a.log(LogLevel::Debug, "hidden");
        a.log(LogLevel::Notice, "n\n");
        a.send_notification(&FenceNotification {
            prefix: "FENCE".into(),
            status: "Try to fence node 'node3'".into(),
            failed_node: "node3".into(),
            manager_status: ManagerStatus::default(),
        });
        assert_eq!(
            hw.borrow().log_text(),
            "noti      0    node1/crm: n\nemai      0    node1/crm: FENCE: Try to fence node 'node3'\n"
        );
    }

    #[test]
    fn unique_tokens_are_shared_by_the_whole_cluster() {
        let (hw, mut a, mut b) = setup();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..100 {
            assert!(seen.insert(a.unique_token()));
            assert!(seen.insert(b.unique_token()));
        }
        // A daemon restarted with a fresh environment continues the count.
        let mut c = SimEnv::new(hw.clone(), "node1", DaemonKind::Crm);
        assert!(seen.insert(c.unique_token()));
    }

    #[test]
    fn versions_and_shutdown_flags() {
        let (hw, mut a, _) = setup();
        assert_eq!(
            a.get_node_version("node2").as_deref(),
            Some(DEFAULT_NODE_VERSION)
        );
        hw.borrow_mut().node_mut("node2").unwrap().version = Some("8.4.1".into());
        assert_eq!(a.get_node_version("node2").as_deref(), Some("8.4.1"));
        let flags = |shutdown, reboot| Ok(NodeShutdown { shutdown, reboot });
        assert_eq!(a.is_node_shutdown(), flags(false, false));
        hw.borrow_mut().node_mut("node1").unwrap().shutdown =
            Some(super::super::hardware::ShutdownKind::Reboot);
        assert_eq!(a.is_node_shutdown(), flags(true, true));
        hw.borrow_mut().node_mut("node1").unwrap().shutdown =
            Some(super::super::hardware::ShutdownKind::Shutdown);
        assert_eq!(a.is_node_shutdown(), flags(true, false));
    }
}
