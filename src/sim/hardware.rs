//! All shared state of the simulated cluster (01 §6): node power, network,
//! versions and cfs health, quorum, cluster locks, watchdogs, the service
//! configuration with the simulator's defaults (01 §2.5), per-node run
//! states, the shared status files, statistics, the CRM command queue, the
//! `fa` failure counters, the hardware clock and the log.
//!
//! Everything is in memory (01 §1 allows it): what a read returns after
//! which write is the same as with upstream's status files. Everyone shares
//! it through [`SharedHardware`], one global lock as upstream's hardware
//! lock: the tester from one thread, the live simulator from a thread per
//! daemon.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::log::LogSink;
use super::probe::{JobOp, Probe, ProbeFinding};
use super::scenario::Scenario;
use crate::cluster::{ServiceDefaults, ServiceOptions};
use crate::config::datacenter::{CrsMode, DatacenterConfig};
use crate::config::groups::{GroupsConfig, GroupsFormat};
use crate::config::rules::{RulesConfig, RulesFormat};
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::env::{
    EnvError, EnvResult, ServiceConf, ServiceConfig, ServiceConfigChange, Time, Usage,
};
use crate::types::perl;
use crate::types::perl::json::{Floats, Layout};
use crate::types::text::split_list;
use crate::types::Sid;
use crate::word_enum;

/// The hardware behind its one global lock (01 §10: "shared state must be
/// protected as in upstream"), plus a condition variable that wakes
/// sleeping live daemons when one of them is killed.
#[derive(Debug)]
struct HardwareCell {
    hw: Mutex<Hardware>,
    wake: Condvar,
}

/// The unwind payload of a killed daemon (see [`Life`]). The live runtime
/// catches it at the top of the daemon's thread; nothing else should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Killed;

/// The life of one daemon incarnation in the live simulator: cleared by a
/// power-off under the hardware lock. Upstream kills the daemon process
/// with SIGKILL; a thread cannot be killed, so instead a handle carrying a
/// dead [`Life`] refuses the next access to the hardware by unwinding with
/// [`Killed`]. Because the check happens under the same lock as the kill,
/// a killed daemon can never change the shared state after its death, not
/// even from inside a resource operation that was already running.
#[derive(Debug, Clone)]
pub struct Life(Arc<AtomicBool>);

impl Life {
    /// A living incarnation.
    pub fn new() -> Self {
        Life(Arc::new(AtomicBool::new(true)))
    }

    /// Whether the daemon still lives.
    pub fn alive(&self) -> bool {
        // The flag only changes under the hardware lock, which orders it.
        self.0.load(Ordering::Relaxed)
    }
}

impl Default for Life {
    fn default() -> Self {
        Life::new()
    }
}

/// A shared handle on the hardware. Clones share the same hardware; a
/// handle made by [`SharedHardware::for_life`] additionally belongs to one
/// live daemon and dies with it.
///
/// `borrow`/`borrow_mut` keep the names of the `RefCell` the tester used
/// before the live simulator existed: both take the global lock, so a
/// caller must never hold one guard while asking for another.
#[derive(Debug, Clone)]
pub struct SharedHardware {
    cell: Arc<HardwareCell>,
    life: Option<Life>,
}

impl SharedHardware {
    /// Shares `hw`.
    pub fn new(hw: Hardware) -> Self {
        SharedHardware {
            cell: Arc::new(HardwareCell {
                hw: Mutex::new(hw),
                wake: Condvar::new(),
            }),
            life: None,
        }
    }

    /// The same hardware, seen by the daemon incarnation `life`.
    pub fn for_life(&self, life: &Life) -> Self {
        SharedHardware {
            cell: self.cell.clone(),
            life: Some(life.clone()),
        }
    }

    /// The daemon life this handle belongs to, if any.
    pub fn life(&self) -> Option<&Life> {
        self.life.as_ref()
    }

    /// Locks the hardware, whatever the life of this handle. A panic in
    /// another holder does not make the state unusable: every mutation
    /// of `Hardware` keeps it consistent between statements that matter,
    /// and a simulator that keeps running beats one that wedges.
    pub fn lock_raw(&self) -> MutexGuard<'_, Hardware> {
        self.cell.hw.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the hardware; a killed daemon's handle unwinds with
    /// [`Killed`] instead (without poisoning the lock).
    pub fn borrow_mut(&self) -> MutexGuard<'_, Hardware> {
        let guard = self.lock_raw();
        self.check_life(guard)
    }

    /// Same as [`SharedHardware::borrow_mut`]; kept for read-only callers.
    pub fn borrow(&self) -> MutexGuard<'_, Hardware> {
        self.borrow_mut()
    }

    /// Passes the guard through while the handle's daemon lives.
    fn check_life<'a>(&self, guard: MutexGuard<'a, Hardware>) -> MutexGuard<'a, Hardware> {
        match &self.life {
            Some(life) if !life.alive() => {
                drop(guard);
                // `resume_unwind` skips the panic hook: a kill is no bug.
                std::panic::resume_unwind(Box::new(Killed))
            }
            _ => guard,
        }
    }

    /// Kills a daemon incarnation: from now on its handles refuse every
    /// access, and sleeping daemons wake up to notice. Takes the lock, so
    /// an access in progress finishes first.
    pub fn kill(&self, life: &Life) {
        let _guard = self.lock_raw();
        life.0.store(false, Ordering::Relaxed);
        self.cell.wake.notify_all();
    }

    /// Kills `life` while the caller already holds the lock (`guard` of
    /// this hardware), so that the kill and other changes are one step.
    pub fn kill_locked(&self, _guard: &mut MutexGuard<'_, Hardware>, life: &Life) {
        life.0.store(false, Ordering::Relaxed);
        self.cell.wake.notify_all();
    }

    /// Sleeps up to `timeout` (real time) or until a kill wakes the
    /// sleepers; returns the guard. The lock is released while waiting.
    /// Spurious wake-ups are allowed: callers re-check their deadline.
    pub fn wait<'a>(
        &'a self,
        guard: MutexGuard<'a, Hardware>,
        timeout: Duration,
    ) -> MutexGuard<'a, Hardware> {
        let (guard, _) = self
            .cell
            .wake
            .wait_timeout(guard, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        self.check_life(guard)
    }

    /// Wakes every sleeping daemon (after a kill or at shutdown).
    pub fn wake_all(&self) {
        self.cell.wake.notify_all();
    }
}

/// Lock lifetime: a lock strictly older than this is expired (01 §6.2).
pub const LOCK_LIFETIME: Time = 120;
/// Watchdog timeout: an update strictly older than this expires (01 §6.3).
pub const WATCHDOG_TIMEOUT: Time = 60;
/// Version a node reports when `hardware_status` names none (01 §6.5).
pub const DEFAULT_NODE_VERSION: &str = "9.0.0~2";
/// Error text of every shared-state access on a node whose cfs is not
/// read-write (01 §6.4).
pub const CFS_ERROR: &str = "cfs connection refused - not mounted?";

word_enum! {
    /// A pending node shutdown (`hardware_status.<node>.shutdown`, 01 §6.7).
    pub enum ShutdownKind ("shutdown kind") {
        /// `reboot <node>`: power-cycle once the CRM exits.
        Reboot => "reboot",
        /// `shutdown <node>`: power off once the CRM exits.
        Shutdown => "shutdown",
    }
}

/// One node's simulated hardware (01 §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeHardware {
    /// Powered on.
    pub power: bool,
    /// Reachable by the cluster.
    pub network: bool,
    /// CPU count, if configured.
    pub maxcpu: Option<f64>,
    /// Memory in bytes, if configured.
    pub maxmem: Option<f64>,
    /// `pve-manager-version`, if configured.
    pub version: Option<String>,
    /// Pending shutdown or reboot.
    pub shutdown: Option<ShutdownKind>,
    /// `cfs.rw`: shared HA state is readable and writable.
    pub cfs_rw: bool,
    /// `cfs.update`: the cluster state could be refreshed.
    pub cfs_update: bool,
}

impl NodeHardware {
    /// A node that is off, with healthy cfs and nothing configured.
    pub fn off() -> Self {
        NodeHardware {
            power: false,
            network: false,
            maxcpu: None,
            maxmem: None,
            version: None,
            shutdown: None,
            cfs_rw: true,
            cfs_update: true,
        }
    }

    /// Powered and networked (01 §6.1).
    pub fn online(&self) -> bool {
        self.power && self.network
    }
}

/// A cluster lock (01 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    /// Owner node.
    pub node: String,
    /// Acquire or last renewal time (the caller's environment clock).
    pub time: Time,
}

/// What an acquisition attempt did (01 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOutcome {
    /// New lock, or takeover of an expired one: logged as `got lock`.
    Acquired,
    /// The caller's own valid lock: silent renewal.
    Renewed,
    /// Held by another node and still valid.
    Denied,
}

/// An open watchdog (01 §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogEntry {
    /// Node it belongs to.
    pub node: String,
    /// Hardware time of the last update (or the open).
    pub update_time: Time,
}

/// Receives every log line (level word, time, id, message) in place of
/// the in-memory sink: the live simulator formats and fans them out
/// itself, and must not keep an ever-growing log in memory.
pub type LogHook = Box<dyn FnMut(&str, Time, &str, &str) + Send>;

/// A [`LogHook`] slot that `Hardware`'s `Debug` can print.
#[derive(Default)]
struct HookSlot(Option<LogHook>);

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(hook)"
        } else {
            "None"
        })
    }
}

/// One service as stored: key → text value, as the JSON file would hold it
/// (numbers as their text). Defaults are applied when reading (01 §2.5).
pub type RawService = BTreeMap<String, String>;

/// The whole simulated cluster state.
#[derive(Debug)]
pub struct Hardware {
    /// Hardware clock `H` (01 §5.1).
    pub(super) time: Time,
    pub(super) nodes: BTreeMap<String, NodeHardware>,
    pub(super) services: BTreeMap<String, RawService>,
    /// The checked view of `services`, rebuilt on every change: the
    /// "current service config" of 01 §6.11 and what every read returns.
    pub(super) checked: EnvResult<ServiceConfig>,
    /// node → sid → running (`service_status_<node>`, 01 §7.1).
    pub(super) run_state: BTreeMap<String, BTreeMap<String, bool>>,
    pub(super) manager_status: Option<ManagerStatus>,
    pub(super) lrm_status: BTreeMap<String, LrmStatus>,
    pub(super) rules: Option<(String, RulesConfig)>,
    pub(super) groups: Option<(String, GroupsConfig)>,
    pub(super) datacenter_text: Option<String>,
    pub(super) datacenter: DatacenterConfig,
    pub(super) fence_text: Option<String>,
    pub(super) static_stats: BTreeMap<String, Usage>,
    pub(super) dynamic_stats: BTreeMap<String, Usage>,
    pub(super) crm_commands: String,
    pub(super) locks: BTreeMap<String, LockEntry>,
    pub(super) watchdogs: BTreeMap<String, WatchdogEntry>,
    watchdog_counter: u64,
    /// Last token handed out by [`Hardware::next_token`].
    token_counter: u64,
    /// `fa` start failures so far, per sid, shared by all nodes (01 §6.13).
    pub(super) fa_start_tries: BTreeMap<String, u32>,
    /// `fa` migrate failures so far, per sid.
    pub(super) fa_migrate_tries: BTreeMap<String, u32>,
    log: LogSink,
    log_hook: HookSlot,
    /// Whether the harness's stderr warnings (01 §4.6 `unlock`) are printed.
    pub(super) echo_stderr: bool,
    /// The fuzzer's probe (`super::probe`); `None` outside the fuzzer.
    probe: Option<Box<Probe>>,
}

/// The simulator's sid rule (01 §2.5 step 2): `vm|ct|fa` and digits.
fn is_sim_sid(sid: &str) -> bool {
    match sid.split_once(':') {
        Some(("vm" | "ct" | "fa", name)) => {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// The checked view of a raw service map (01 §2.5): node required, sid
/// shape, `state` default `disabled` (`enabled` ⇒ `started`), numeric
/// defaults 1.
pub fn check_services(raw: &BTreeMap<String, RawService>) -> EnvResult<ServiceConfig> {
    raw.iter().map(|(sid, d)| check_service(sid, d)).collect()
}

/// The checked view of one service (01 §2.5): the simulator's own reading
/// of its JSON (node required, Perl truthiness), with the cluster layer's
/// defaults for the simulator applied.
pub fn check_service(sid: &str, d: &RawService) -> EnvResult<(Sid, ServiceConf)> {
    let node = match d.get("node") {
        Some(n) if perl::truthy(n) => n.clone(),
        _ => {
            return Err(EnvError::new(format!(
                "service '{sid}' without assigned node!"
            )))
        }
    };
    if !is_sim_sid(sid) {
        return Err(EnvError::new("implement me"));
    }
    let parsed: Sid = sid.parse().map_err(|_| EnvError::new("implement me"))?;
    let state = match d.get("state").map(String::as_str) {
        None | Some("") => None,
        Some(w) => Some(
            w.parse()
                .map_err(|_| EnvError::new(format!("service '{sid}' has unknown state '{w}'")))?,
        ),
    };
    let opts = ServiceOptions {
        state,
        failback: d.get("failback").map(|v| perl::truthy(v)),
        max_restart: d.get("max_restart").map(|v| perl::integer(v)),
        max_relocate: d.get("max_relocate").map(|v| perl::integer(v)),
        group: d.get("group").cloned(),
        comment: d.get("comment").cloned(),
    };
    Ok((parsed, ServiceDefaults::SIMULATOR.apply(node, opts)))
}

impl Hardware {
    /// The hardware of a loaded scenario (01 §2.3), clock 0, empty log.
    pub fn new(s: &Scenario) -> Self {
        let rules = s.rules_config.as_ref().map(|t| {
            (
                t.clone(),
                RulesFormat.parse("rules_config", t.as_bytes()).value,
            )
        });
        let groups = s
            .groups
            .as_ref()
            .map(|t| (t.clone(), GroupsFormat.parse("groups", t.as_bytes()).value));
        let mut run_state: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for node in s.nodes.keys() {
            run_state.insert(
                node.clone(),
                s.service_status.get(node).cloned().unwrap_or_default(),
            );
        }
        Hardware {
            time: 0,
            nodes: s.nodes.clone(),
            checked: check_services(&s.services),
            services: s.services.clone(),
            run_state,
            manager_status: s.manager_status.clone(),
            lrm_status: BTreeMap::new(),
            rules,
            groups,
            datacenter_text: s.datacenter_text.clone(),
            datacenter: s.datacenter.clone(),
            fence_text: s.fence.clone(),
            static_stats: s.static_stats.clone(),
            dynamic_stats: s.dynamic_stats.clone(),
            crm_commands: String::new(),
            locks: BTreeMap::new(),
            watchdogs: BTreeMap::new(),
            watchdog_counter: 0,
            token_counter: 0,
            fa_start_tries: BTreeMap::new(),
            fa_migrate_tries: BTreeMap::new(),
            log: LogSink::new(),
            log_hook: HookSlot::default(),
            echo_stderr: false,
            probe: None,
        }
    }

    /// Puts the hardware behind its lock.
    pub fn shared(self) -> SharedHardware {
        SharedHardware::new(self)
    }

    // --- clock and log ---

    /// The hardware clock `H`.
    pub fn time(&self) -> Time {
        self.time
    }

    /// A number never handed out before in this cluster: what every
    /// environment's `unique_token` returns (one counter for all nodes, so
    /// tokens are unique cluster-wide however often daemons restart).
    pub fn next_token(&mut self) -> u64 {
        self.token_counter += 1;
        self.token_counter
    }

    /// Sets the hardware clock (the run loop's business, 01 §5.2).
    pub fn set_time(&mut self, t: Time) {
        self.time = t;
    }

    /// Logs one line with an explicit level word, time and id.
    pub fn log_line(&mut self, level: &str, time: Time, id: &str, msg: &str) {
        match &mut self.log_hook.0 {
            Some(hook) => hook(level, time, id, msg),
            None => self.log.line(level, time, id, msg),
        }
    }

    /// Logs a harness line at the hardware clock. Harness levels are not
    /// truncated (01 §3.2).
    pub fn log(&mut self, level: &str, id: &str, msg: &str) {
        let t = self.time;
        self.log_line(level, t, id, msg);
    }

    /// Sends every following log line to `hook` instead of the in-memory
    /// sink (live simulator).
    pub fn set_log_hook(&mut self, hook: LogHook) {
        self.log_hook.0 = Some(hook);
    }

    /// The log sink (to add echo writers or read the text).
    pub fn log_sink(&mut self) -> &mut LogSink {
        &mut self.log
    }

    /// Everything logged so far.
    pub fn log_text(&self) -> &str {
        self.log.text()
    }

    /// Whether harness warnings meant for stderr are printed there.
    pub fn set_echo_stderr(&mut self, on: bool) {
        self.echo_stderr = on;
    }

    /// A warning upstream prints on stderr (never in the log).
    pub(super) fn stderr_warning(&self, msg: &str) {
        if self.echo_stderr {
            let _ = writeln!(std::io::stderr(), "{msg}");
        }
    }

    // --- nodes, membership, quorum (01 §6.1) ---

    /// The node names, sorted.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// One node's hardware.
    pub fn node(&self, node: &str) -> Option<&NodeHardware> {
        self.nodes.get(node)
    }

    /// One node's hardware, for commands.
    pub fn node_mut(&mut self, node: &str) -> Option<&mut NodeHardware> {
        self.nodes.get_mut(node)
    }

    /// Whether more than half of the nodes are online.
    pub fn cluster_quorate(&self) -> bool {
        let online = self.nodes.values().filter(|n| n.online()).count();
        online > self.nodes.len() / 2
    }

    /// Every node with its online flag (all offline without quorum), and
    /// the quorum flag.
    pub fn node_info(&self) -> (BTreeMap<String, bool>, bool) {
        let quorate = self.cluster_quorate();
        let map = self
            .nodes
            .iter()
            .map(|(name, n)| (name.clone(), quorate && n.online()))
            .collect();
        (map, quorate)
    }

    /// Whether `node` is a member of a quorate partition.
    pub fn quorate(&self, node: &str) -> bool {
        self.cluster_quorate() && self.nodes.get(node).is_some_and(NodeHardware::online)
    }

    // --- locks (01 §6.2) ---

    /// Acquires or renews `name` for `owner` at `now`. The caller checks
    /// quorum first and logs `got lock` on [`LockOutcome::Acquired`].
    pub fn acquire_lock(&mut self, name: &str, owner: &str, now: Time) -> LockOutcome {
        let double_grant = self
            .probe
            .as_ref()
            .is_some_and(|p| p.double_grant_agent_lock && name.starts_with("ha_agent_"));
        match self.locks.get_mut(name) {
            Some(l) if now - l.time <= LOCK_LIFETIME && (l.node == owner || !double_grant) => {
                if l.node == owner {
                    l.time = now;
                    LockOutcome::Renewed
                } else {
                    LockOutcome::Denied
                }
            }
            Some(l) => {
                let from = std::mem::replace(&mut l.node, owner.to_string());
                l.time = now;
                if from != owner && self.probe.is_some() {
                    self.probe_takeover(name, &from, owner);
                }
                LockOutcome::Acquired
            }
            None => {
                self.locks.insert(
                    name.to_string(),
                    LockEntry {
                        node: owner.to_string(),
                        time: now,
                    },
                );
                LockOutcome::Acquired
            }
        }
    }

    /// The probe's judgement of a lock takeover (see `super::probe`).
    fn probe_takeover(&mut self, name: &str, from: &str, to: &str) {
        let now = self.time;
        let Some(probe) = self.probe.as_mut() else {
            return;
        };
        let Some(kind) = Probe::lock_kind(name, from) else {
            return;
        };
        let last_fed = self
            .watchdogs
            .iter()
            .filter(|(h, wd)| wd.node == from && probe.watchdog_kinds.get(*h) == Some(&kind))
            .map(|(_, wd)| wd.update_time)
            .max();
        if let Some(t) = last_fed.filter(|t| now - t <= WATCHDOG_TIMEOUT) {
            probe.findings.push(ProbeFinding::EarlyTakeover {
                time: now,
                lock: name.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                last_fed: t,
            });
        }
    }

    /// Installs the fuzzer's probe (replacing any earlier one).
    pub fn set_probe(&mut self, probe: Probe) {
        self.probe = Some(Box::new(probe));
    }

    /// The fuzzer's probe, if installed.
    pub fn probe_mut(&mut self) -> Option<&mut Probe> {
        self.probe.as_deref_mut()
    }

    /// Tells the probe which daemon opened `handle` (nothing without one).
    pub fn probe_watchdog_kind(&mut self, handle: &str, kind: crate::types::Daemon) {
        if let Some(p) = self.probe.as_mut() {
            p.watchdog_kinds.insert(handle.to_string(), kind);
        }
    }

    /// The probe's judgement of a resource job of `node`'s LRM at its
    /// clock `now`: the node must hold its unexpired agent lock.
    pub fn probe_job(&mut self, node: &str, sid: &str, op: JobOp, now: Time) {
        if self.probe.is_none() {
            return;
        }
        let name = format!("ha_agent_{node}_lock");
        let held = self
            .locks
            .get(&name)
            .is_some_and(|l| l.node == node && now - l.time <= LOCK_LIFETIME);
        if let (false, Some(p)) = (held, self.probe.as_mut()) {
            p.findings.push(ProbeFinding::JobWithoutLock {
                time: now,
                node: node.to_string(),
                sid: sid.to_string(),
                op,
            });
        }
    }

    /// Releases `name` for `owner` (quorum checked by the caller): an
    /// expired lock counts as released but stays in place.
    pub fn release_lock(&mut self, name: &str, owner: &str, now: Time) -> bool {
        match self.locks.get(name) {
            None => false,
            Some(l) if now - l.time > LOCK_LIFETIME => true,
            Some(l) if l.node == owner => {
                self.locks.remove(name);
                true
            }
            Some(_) => false,
        }
    }

    /// The current locks.
    pub fn locks(&self) -> &BTreeMap<String, LockEntry> {
        &self.locks
    }

    /// Sets the acquire/renewal time of an existing lock: the what-if
    /// planner gives a lock the age it has on the live cluster, so it
    /// expires when the real one would. A missing lock stays missing.
    pub fn set_lock_time(&mut self, name: &str, time: Time) {
        if let Some(l) = self.locks.get_mut(name) {
            l.time = time;
        }
    }

    // --- watchdogs (01 §6.3), timed by the hardware clock ---

    /// Opens a watchdog for `node`; handles are unique per run.
    pub fn watchdog_open(&mut self, node: &str) -> String {
        self.watchdog_counter += 1;
        let handle = format!("WD:{node}:{}", self.watchdog_counter);
        self.watchdogs.insert(
            handle.clone(),
            WatchdogEntry {
                node: node.to_string(),
                update_time: self.time,
            },
        );
        handle
    }

    fn live_watchdog(&mut self, handle: &str) -> EnvResult<&mut WatchdogEntry> {
        let now = self.time;
        let wd = self
            .watchdogs
            .get_mut(handle)
            .ok_or_else(|| EnvError::new(format!("no such watchdog handle '{handle}'")))?;
        if now - wd.update_time > WATCHDOG_TIMEOUT {
            return Err(EnvError::new("watchdog expired"));
        }
        Ok(wd)
    }

    /// Feeds a watchdog.
    pub fn watchdog_update(&mut self, handle: &str) -> EnvResult<()> {
        let now = self.time;
        self.live_watchdog(handle)?.update_time = now;
        Ok(())
    }

    /// Closes (disarms) a watchdog.
    pub fn watchdog_close(&mut self, handle: &str) -> EnvResult<()> {
        self.live_watchdog(handle)?;
        self.watchdogs.remove(handle);
        Ok(())
    }

    /// The run loop's check for `node`: deletes its expired watchdogs and
    /// tells whether there was one (the node must then be powered off).
    pub fn watchdog_check(&mut self, node: &str) -> bool {
        let now = self.time;
        let before = self.watchdogs.len();
        self.watchdogs
            .retain(|_, wd| !(wd.node == node && now - wd.update_time > WATCHDOG_TIMEOUT));
        self.watchdogs.len() != before
    }

    /// Removes every watchdog of `node` (power off).
    pub fn watchdog_reset(&mut self, node: &str) {
        self.watchdogs.retain(|_, wd| wd.node != node);
    }

    /// The open watchdogs.
    pub fn watchdogs(&self) -> &BTreeMap<String, WatchdogEntry> {
        &self.watchdogs
    }

    // --- service configuration (01 §2.5, §6.5) ---

    /// The checked service configuration (01 §2.5).
    pub fn service_config(&self) -> EnvResult<ServiceConfig> {
        self.checked.clone()
    }

    /// The stored (raw) services.
    pub fn raw_services(&self) -> &BTreeMap<String, RawService> {
        &self.services
    }

    /// One stored service.
    pub fn raw_service(&self, sid: &str) -> Option<&RawService> {
        self.services.get(sid)
    }

    /// Changes the stored services and refreshes the checked view (every
    /// write refreshes the statistics' cache too, 01 §6.11).
    pub fn edit_services<R>(
        &mut self,
        f: impl FnOnce(&mut BTreeMap<String, RawService>) -> R,
    ) -> R {
        let r = f(&mut self.services);
        self.checked = check_services(&self.services);
        r
    }

    /// Changes one stored service and refreshes its part of the checked
    /// view. Recovering a thousand services would otherwise re-check the
    /// whole configuration a thousand times.
    pub fn edit_service<R>(
        &mut self,
        sid: &str,
        f: impl FnOnce(&mut BTreeMap<String, RawService>) -> R,
    ) -> R {
        let r = f(&mut self.services);
        let Ok(checked) = &mut self.checked else {
            self.checked = check_services(&self.services);
            return r;
        };
        match self.services.get(sid).map(|d| check_service(sid, d)) {
            Some(Ok((parsed, conf))) => {
                checked.insert(parsed, conf);
            }
            None => {
                if let Ok(parsed) = sid.parse::<Sid>() {
                    checked.remove(&parsed);
                }
            }
            // The first failing service decides the error of every read;
            // recompute it over the whole map.
            Some(Err(_)) => self.checked = check_services(&self.services),
        }
        r
    }

    /// Sets `key` of an existing service; `no such service` otherwise.
    pub fn set_service_key(&mut self, sid: &str, key: &str, value: &str) -> EnvResult<()> {
        self.edit_service(sid, |s| match s.get_mut(sid) {
            Some(d) => {
                d.insert(key.to_string(), value.to_string());
                Ok(())
            }
            None => Err(EnvError::new(format!("no such service '{sid}'"))),
        })
    }

    /// `update_service_config` (01 §6.5): per sid in order, set then
    /// delete keys; an unknown sid fails.
    pub fn update_service_config(
        &mut self,
        changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()> {
        self.edit_services(|s| {
            for (sid, change) in changes {
                let d = s
                    .get_mut(sid.as_str())
                    .ok_or_else(|| EnvError::new(format!("no such resource '{sid}'")))?;
                for (k, v) in &change.set {
                    d.insert(k.clone(), v.clone());
                }
                for list in &change.delete {
                    for k in split_list(list) {
                        d.remove(k);
                    }
                }
            }
            Ok(())
        })
    }

    /// `steal_service` (01 §6.5): moves the configured node.
    pub fn steal_service(&mut self, sid: &Sid, current: &str, new: &str) -> EnvResult<()> {
        self.edit_service(sid.as_str(), |s| {
            let d = s
                .get_mut(sid.as_str())
                .ok_or_else(|| EnvError::new(format!("no such service '{sid}'")))?;
            let configured = d.get("node").cloned().unwrap_or_default();
            if configured != current {
                return Err(EnvError::new(format!(
                    "current_node for '{sid}' does not match ({current} != {configured})"
                )));
            }
            d.insert("node".into(), new.to_string());
            Ok(())
        })
    }

    /// Removes the service's lock unless a different one is named
    /// (01 §4.6 `unlock`); returns the removed lock.
    pub fn unlock_service(&mut self, sid: &str, name: Option<&str>) -> Option<String> {
        let current = self.services.get(sid)?.get("lock")?.clone();
        if let Some(name) = name {
            if name != current {
                self.stderr_warning(&format!(
                    "found lock '{current}' trying to remove '{name}' lock"
                ));
                return None;
            }
        }
        self.edit_service(sid, |s| s.get_mut(sid).and_then(|d| d.remove("lock")))
    }

    // --- run states (01 §7.1) ---

    /// Whether `sid` runs on `node`.
    pub fn is_running(&self, node: &str, sid: &str) -> bool {
        self.run_state
            .get(node)
            .and_then(|m| m.get(sid))
            .copied()
            .unwrap_or(false)
    }

    /// Sets `sid`'s run flag on `node`.
    pub fn set_running(&mut self, node: &str, sid: &str, running: bool) {
        self.run_state
            .entry(node.to_string())
            .or_default()
            .insert(sid.to_string(), running);
    }

    /// Forgets `sid` on `node` (it runs nowhere after a migration).
    pub fn forget_running(&mut self, node: &str, sid: &str) {
        if let Some(m) = self.run_state.get_mut(node) {
            m.remove(sid);
        }
    }

    /// Every node's run states (node → sid → running).
    pub fn run_states(&self) -> &BTreeMap<String, BTreeMap<String, bool>> {
        &self.run_state
    }

    /// Power off: nothing runs on `node` any more.
    pub fn clear_run_state(&mut self, node: &str) {
        self.run_state.insert(node.to_string(), BTreeMap::new());
    }

    // --- shared status files (01 §6.5, §6.6) ---

    /// `manager_status`, `{}` when absent.
    pub fn manager_status(&self) -> ManagerStatus {
        self.manager_status.clone().unwrap_or_default()
    }

    /// Replaces `manager_status`.
    pub fn set_manager_status(&mut self, ms: &ManagerStatus) {
        self.manager_status = Some(ms.clone());
    }

    /// `lrm_status_<node>`, `{}` when absent.
    pub fn lrm_status(&self, node: &str) -> LrmStatus {
        self.lrm_status.get(node).cloned().unwrap_or_default()
    }

    /// Replaces `lrm_status_<node>`.
    pub fn set_lrm_status(&mut self, node: &str, st: &LrmStatus) {
        self.lrm_status.insert(node.to_string(), st.clone());
    }

    /// The parsed rules (absent file ⇒ empty text). Rule defaults are a
    /// no-op (06 §5: the only default, `strict 0`, is falsy).
    pub fn rules_config(&self) -> RulesConfig {
        match &self.rules {
            Some((_, r)) => r.clone(),
            // The parse of an empty text: no sections, the empty digest.
            None => RulesConfig::default(),
        }
    }

    /// Writes the rules back in section-config form; the stored parse is
    /// the parse of the written text (its digest is the text's).
    pub fn set_rules_config(&mut self, rules: &RulesConfig) -> EnvResult<()> {
        let text = RulesFormat
            .write(rules)
            .map_err(|e| EnvError::new(e.to_string()))?;
        let parsed = RulesFormat.parse("rules_config", text.as_bytes()).value;
        self.rules = Some((text, parsed));
        Ok(())
    }

    /// Replaces the rules file with `text` as given (the what-if
    /// planner's proposed rules.cfg); its digest changes with the text,
    /// so the manager recompiles the rules in its next round (02 §3.8).
    pub fn set_rules_text(&mut self, text: &str) {
        let parsed = RulesFormat.parse("rules_config", text.as_bytes()).value;
        self.rules = Some((text.to_string(), parsed));
    }

    /// The parsed groups (absent file ⇒ empty text).
    pub fn group_config(&self) -> GroupsConfig {
        match &self.groups {
            Some((_, g)) => g.clone(),
            None => GroupsConfig::default(),
        }
    }

    /// Deletes the groups file.
    pub fn delete_group_config(&mut self) -> EnvResult<()> {
        match self.groups.take() {
            Some(_) => Ok(()),
            None => Err(EnvError::new(
                "failed to remove group config: No such file or directory",
            )),
        }
    }

    /// The datacenter settings (01 §6.5).
    pub fn datacenter(&self) -> DatacenterConfig {
        self.datacenter.clone()
    }

    /// The static usage statistics by sid (`maxcpu`, `maxmem` in bytes).
    pub fn static_stats(&self) -> &BTreeMap<String, Usage> {
        &self.static_stats
    }

    /// Sets `crs.ha` in the simulated `datacenter.cfg`, keeping every
    /// other key (the interactive simulator's scheduler selector, 01
    /// §10). Fails when the current file is no JSON object.
    pub fn set_crs_mode(&mut self, mode: CrsMode) -> Result<(), String> {
        let mut top = match self.datacenter_text.as_deref().map(str::trim) {
            None | Some("") | Some("null") => Map::new(),
            Some(t) => match serde_json::from_str::<Value>(t) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err("datacenter.cfg is not a JSON object".into()),
                Err(e) => return Err(format!("datacenter.cfg: {e}")),
            },
        };
        let crs = top
            .entry("crs")
            .or_insert_with(|| Value::Object(Map::new()));
        match crs {
            Value::Object(c) => {
                c.insert("ha".into(), json!(mode.as_str()));
            }
            other => *other = json!({ "ha": mode.as_str() }),
        }
        let text = compact_json(&Value::Object(top));
        self.datacenter = crate::config::datacenter::parse_sim(&text).map_err(|e| e.to_string())?;
        self.datacenter_text = Some(text);
        Ok(())
    }

    /// Appends one line to the CRM command queue (01 §6.6).
    pub fn queue_crm_command(&mut self, cmd: &str) {
        self.crm_commands = crate::config::status::enqueue(&self.crm_commands, cmd);
    }

    /// Whether the queue is non-empty.
    pub fn any_pending_crm_command(&self) -> bool {
        !self.crm_commands.is_empty()
    }

    /// Takes the whole queue.
    pub fn take_crm_commands(&mut self) -> String {
        std::mem::take(&mut self.crm_commands)
    }

    // --- debugging snapshot (01 §2.4) ---

    /// The status directory's files as `(name, content)`, for writing
    /// after a run. Only `log` is compared; the rest helps debugging.
    pub fn status_files(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let text = |v: Value| compact_json(&v);
        let mut hw = Map::new();
        for (name, n) in &self.nodes {
            let mut o = Map::new();
            let on_off = |b: bool| if b { "on" } else { "off" };
            o.insert("power".into(), json!(on_off(n.power)));
            o.insert("network".into(), json!(on_off(n.network)));
            if let Some(v) = n.maxcpu {
                o.insert("maxcpu".into(), json!(v));
            }
            if let Some(v) = n.maxmem {
                o.insert("maxmem".into(), json!(v));
            }
            if let Some(v) = &n.version {
                o.insert("pve-manager-version".into(), json!(v));
            }
            if let Some(s) = n.shutdown {
                o.insert("shutdown".into(), json!(s.as_str()));
            }
            if !n.cfs_rw || !n.cfs_update {
                o.insert(
                    "cfs".into(),
                    json!({"rw": n.cfs_rw, "update": n.cfs_update}),
                );
            }
            hw.insert(name.clone(), Value::Object(o));
        }
        out.push(("hardware_status".into(), text(Value::Object(hw))));
        let mut sc = Map::new();
        for (sid, d) in &self.services {
            let mut o: Map<String, Value> = d.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            if let Ok(checked) = &self.checked {
                if let Some(c) = sid.parse::<Sid>().ok().and_then(|s| checked.get(&s)) {
                    o.insert("state".into(), json!(c.state.as_str()));
                    o.insert("failback".into(), json!(i64::from(c.failback)));
                    o.insert("max_restart".into(), json!(c.max_restart));
                    o.insert("max_relocate".into(), json!(c.max_relocate));
                }
            }
            if let Some((ty, name)) = sid.split_once(':') {
                o.insert("type".into(), json!(ty));
                o.insert("name".into(), json!(name));
            }
            sc.insert(sid.clone(), Value::Object(o));
        }
        out.push(("service_config".into(), text(Value::Object(sc))));
        if let Some(ms) = &self.manager_status {
            out.push(("manager_status".into(), ms.to_json()));
        }
        for (node, st) in &self.lrm_status {
            out.push((format!("lrm_status_{node}"), st.to_json()));
        }
        for (node, m) in &self.run_state {
            let o: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), json!(i64::from(*v))))
                .collect();
            out.push((format!("service_status_{node}"), text(Value::Object(o))));
        }
        let locks: Map<String, Value> = self
            .locks
            .iter()
            .map(|(k, l)| (k.clone(), json!({"node": l.node, "time": l.time})))
            .collect();
        out.push(("cluster_locks".into(), text(Value::Object(locks))));
        let wds: Map<String, Value> = self
            .watchdogs
            .iter()
            .map(|(k, w)| {
                (
                    k.clone(),
                    json!({"node": w.node, "update_time": w.update_time}),
                )
            })
            .collect();
        out.push(("watchdog_status".into(), text(Value::Object(wds))));
        out.push(("crm_commands".into(), self.crm_commands.clone()));
        out.push((
            "static_service_stats".into(),
            stats_json(&self.static_stats),
        ));
        out.push((
            "dynamic_service_stats".into(),
            stats_json(&self.dynamic_stats),
        ));
        if let Some((t, _)) = &self.rules {
            out.push(("rules_config".into(), t.clone()));
        }
        if let Some((t, _)) = &self.groups {
            out.push(("groups".into(), t.clone()));
        }
        if let Some(t) = &self.datacenter_text {
            out.push(("datacenter.cfg".into(), t.clone()));
        }
        if let Some(t) = &self.fence_text {
            out.push(("fence.cfg".into(), t.clone()));
        }
        out
    }
}

/// A statistics map as the JSON file would hold it.
fn stats_json(stats: &BTreeMap<String, Usage>) -> String {
    let m: Map<String, Value> = stats
        .iter()
        .map(|(sid, u)| {
            let mut o = Map::new();
            for (k, v) in [
                ("maxcpu", u.maxcpu),
                ("maxmem", u.maxmem),
                ("cpu", u.cpu),
                ("mem", u.mem),
            ] {
                if let Some(v) = v {
                    o.insert(k.into(), json!(v));
                }
            }
            (sid.clone(), Value::Object(o))
        })
        .collect();
    compact_json(&Value::Object(m))
}

/// The compact, key-sorted JSON of the simulated status files.
fn compact_json(v: &Value) -> String {
    perl::json::write(v, Layout::Compact, Floats::RoundTrip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RequestedState;

    /// Hardware with `n` nodes (all off) and the given services.
    pub(crate) fn hw(n: usize, services: &[(&str, &[(&str, &str)])]) -> Hardware {
        let mut s = Scenario::empty();
        for i in 1..=n {
            s.nodes.insert(format!("node{i}"), NodeHardware::off());
        }
        for (sid, kv) in services {
            s.services.insert(
                sid.to_string(),
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
        Hardware::new(&s)
    }

    fn power(h: &mut Hardware, node: &str, on: bool) {
        let n = h.node_mut(node).unwrap();
        n.power = on;
        n.network = on;
    }

    #[test]
    fn hardware_is_send() {
        fn is_send<T: Send>() {}
        fn is_sync<T: Send + Sync>() {}
        is_send::<Hardware>();
        is_sync::<SharedHardware>();
    }

    #[test]
    fn a_killed_daemon_cannot_touch_the_hardware() {
        let shared = hw(3, &[]).shared();
        let life = Life::new();
        let daemon = shared.for_life(&life);
        daemon.borrow_mut().set_time(5);
        shared.kill(&life);
        assert!(!life.alive());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            daemon.borrow_mut().set_time(99);
        }));
        let payload = r.expect_err("a dead handle unwinds");
        assert!(payload.is::<Killed>());
        assert_eq!(shared.borrow().time(), 5, "the write never happened");
        // The lock is not poisoned: everyone else carries on.
        shared.borrow_mut().set_time(6);
        assert_eq!(shared.lock_raw().time(), 6);
    }

    #[test]
    fn a_kill_wakes_a_sleeping_daemon() {
        let shared = hw(3, &[]).shared();
        let life = Life::new();
        let daemon = shared.for_life(&life);
        let t = std::thread::spawn(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let g = daemon.borrow_mut();
                let _g = daemon.wait(g, Duration::from_secs(60));
            }))
            .is_err()
        });
        std::thread::sleep(Duration::from_millis(20));
        let start = std::time::Instant::now();
        shared.kill(&life);
        assert!(t.join().unwrap(), "the sleeper unwound");
        assert!(start.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn quorum_needs_a_strict_majority() {
        let mut h = hw(3, &[]);
        assert!(!h.cluster_quorate());
        power(&mut h, "node1", true);
        assert!(!h.cluster_quorate());
        power(&mut h, "node2", true);
        assert!(h.cluster_quorate());
        assert!(h.quorate("node1"));
        assert!(!h.quorate("node3"), "an offline node is never quorate");
        let (info, q) = h.node_info();
        assert!(q);
        assert_eq!(info.get("node1"), Some(&true));
        assert_eq!(info.get("node3"), Some(&false));
        h.node_mut("node2").unwrap().network = false;
        let (info, q) = h.node_info();
        assert!(!q);
        assert!(
            info.values().all(|on| !on),
            "without quorum every node is offline"
        );
        assert!(!h.quorate("node1"));

        let mut h4 = hw(4, &[]);
        for n in ["node1", "node2"] {
            power(&mut h4, n, true);
        }
        assert!(!h4.cluster_quorate(), "4 nodes need 3");
        power(&mut h4, "node3", true);
        assert!(h4.cluster_quorate());
    }

    #[test]
    fn locks_expire_strictly_after_120_seconds() {
        let mut h = hw(3, &[]);
        assert_eq!(h.acquire_lock("l", "node1", 100), LockOutcome::Acquired);
        assert_eq!(h.acquire_lock("l", "node1", 150), LockOutcome::Renewed);
        assert_eq!(
            h.acquire_lock("l", "node2", 270),
            LockOutcome::Denied,
            "270 - 150 = 120 is still valid"
        );
        assert_eq!(
            h.acquire_lock("l", "node2", 271),
            LockOutcome::Acquired,
            "takeover"
        );
        assert_eq!(
            h.locks()["l"],
            LockEntry {
                node: "node2".into(),
                time: 271
            }
        );
        // Re-acquiring one's own expired lock counts as a new acquisition.
        assert_eq!(h.acquire_lock("l", "node2", 400), LockOutcome::Acquired);
    }

    #[test]
    fn lock_release_rules() {
        let mut h = hw(3, &[]);
        assert!(!h.release_lock("l", "node1", 0), "absent");
        h.acquire_lock("l", "node1", 0);
        assert!(!h.release_lock("l", "node2", 10), "foreign");
        assert!(
            h.release_lock("l", "node2", 121),
            "expired counts as released"
        );
        assert!(h.locks().contains_key("l"), "and stays in place");
        assert!(h.release_lock("l", "node1", 50));
        assert!(h.locks().is_empty());
    }

    #[test]
    fn watchdogs_expire_after_60_seconds() {
        let mut h = hw(3, &[]);
        h.set_time(100);
        let a = h.watchdog_open("node1");
        let b = h.watchdog_open("node2");
        assert_ne!(a, b);
        h.set_time(160);
        assert!(!h.watchdog_check("node1"), "60 s is not expired");
        h.watchdog_update(&a).unwrap();
        h.set_time(161);
        assert!(h.watchdog_check("node2"));
        assert!(!h.watchdogs().contains_key(&b));
        assert_eq!(
            h.watchdog_update(&b),
            Err(EnvError::new(format!("no such watchdog handle '{b}'")))
        );
        h.set_time(221);
        assert_eq!(
            h.watchdog_update(&a),
            Err(EnvError::new("watchdog expired"))
        );
        assert_eq!(h.watchdog_close(&a), Err(EnvError::new("watchdog expired")));
        h.watchdog_reset("node1");
        assert!(h.watchdogs().is_empty());
        let c = h.watchdog_open("node3");
        assert_eq!(h.watchdog_close(&c), Ok(()));
        assert!(h.watchdogs().is_empty());
    }

    #[test]
    fn service_config_defaults() {
        let h = hw(
            3,
            &[
                ("vm:101", &[("node", "node1"), ("state", "enabled")]),
                ("vm:102", &[("node", "node2")]),
                (
                    "fa:1001",
                    &[
                        ("node", "node2"),
                        ("state", ""),
                        ("max_restart", "2"),
                        ("failback", "0"),
                    ],
                ),
            ],
        );
        let sc = h.service_config().unwrap();
        let get = |s: &str| sc.get(&s.parse::<Sid>().unwrap()).unwrap().clone();
        assert_eq!(get("vm:101").state, RequestedState::Started);
        assert_eq!(get("vm:102").state, RequestedState::Disabled);
        assert!(get("vm:102").failback);
        assert_eq!(get("vm:102").max_restart, 1);
        assert_eq!(get("vm:102").max_relocate, 1);
        let fa = get("fa:1001");
        assert_eq!(fa.state, RequestedState::Disabled);
        assert_eq!(fa.max_restart, 2);
        assert!(!fa.failback);
    }

    #[test]
    fn service_config_errors() {
        let h = hw(3, &[("vm:101", &[("state", "started")])]);
        assert_eq!(
            h.service_config(),
            Err(EnvError::new("service 'vm:101' without assigned node!"))
        );
        let h = hw(3, &[("xx:101", &[("node", "node1")])]);
        assert_eq!(h.service_config(), Err(EnvError::new("implement me")));
        let h = hw(3, &[("vm:abc", &[("node", "node1")])]);
        assert_eq!(h.service_config(), Err(EnvError::new("implement me")));
    }

    #[test]
    fn update_and_steal() {
        let mut h = hw(3, &[("vm:101", &[("node", "node1"), ("group", "g")])]);
        let sid: Sid = "vm:101".parse().unwrap();
        let mut ch = ServiceConfigChange::default();
        ch.set.insert("state".into(), "started".into());
        ch.delete.push("group,comment".into());
        h.update_service_config(&BTreeMap::from([(sid.clone(), ch.clone())]))
            .unwrap();
        let c = h.service_config().unwrap()[&sid].clone();
        assert_eq!(c.state, RequestedState::Started);
        assert_eq!(c.group, None);
        let other: Sid = "vm:9".parse().unwrap();
        assert_eq!(
            h.update_service_config(&BTreeMap::from([(other.clone(), ch)])),
            Err(EnvError::new("no such resource 'vm:9'"))
        );
        assert_eq!(
            h.steal_service(&sid, "node2", "node3"),
            Err(EnvError::new(
                "current_node for 'vm:101' does not match (node2 != node1)"
            ))
        );
        assert_eq!(
            h.steal_service(&other, "node1", "node3"),
            Err(EnvError::new("no such service 'vm:9'"))
        );
        h.steal_service(&sid, "node1", "node3").unwrap();
        assert_eq!(h.service_config().unwrap()[&sid].node, "node3");
    }

    #[test]
    fn unlock_keeps_a_different_lock() {
        let mut h = hw(3, &[("vm:101", &[("node", "node1"), ("lock", "backup")])]);
        assert_eq!(h.unlock_service("vm:101", Some("create")), None);
        assert_eq!(
            h.raw_service("vm:101")
                .unwrap()
                .get("lock")
                .map(String::as_str),
            Some("backup")
        );
        assert_eq!(
            h.unlock_service("vm:101", Some("backup")),
            Some("backup".into())
        );
        assert_eq!(h.unlock_service("vm:101", None), None);
        assert_eq!(h.unlock_service("vm:999", None), None);
    }

    #[test]
    fn crm_queue_and_groups() {
        let mut h = hw(3, &[]);
        assert!(!h.any_pending_crm_command());
        h.queue_crm_command("arm-ha\n");
        h.queue_crm_command("migrate vm:1 node2");
        assert!(h.any_pending_crm_command());
        assert_eq!(h.take_crm_commands(), "arm-ha\nmigrate vm:1 node2\n");
        assert!(!h.any_pending_crm_command());
        assert_eq!(
            h.delete_group_config(),
            Err(EnvError::new(
                "failed to remove group config: No such file or directory"
            ))
        );
    }

    #[test]
    fn absent_files_read_as_empty_text() {
        let h = hw(3, &[]);
        assert_eq!(
            h.rules_config(),
            RulesFormat.parse("rules_config", b"").value
        );
        assert_eq!(h.group_config(), GroupsFormat.parse("groups", b"").value);
    }

    #[test]
    fn rules_written_back_are_reparsed() {
        let mut s = Scenario::empty();
        s.rules_config = Some("node-affinity: r1\n\tresources vm:1\n\tnodes node1\n".into());
        let mut h = Hardware::new(&s);
        let r = h.rules_config();
        assert!(r.get("r1").is_some());
        h.set_rules_config(&r).unwrap();
        let again = h.rules_config();
        assert_eq!(
            again.digest,
            crate::config::digest(h.rules.as_ref().unwrap().0.as_bytes())
        );
        assert_eq!(h.rules_config().get("r1"), r.get("r1"));
    }
}
