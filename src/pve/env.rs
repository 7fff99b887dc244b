//! `PveEnv`: the daemons' [`Env`] on a real Proxmox VE node (07 §2.1),
//! over a directory laid out like `/etc/pve` (`PVE_HA_ROOT` moves it).
//! Every operation reads or writes the real thing: the cluster layer
//! (`crate::cluster`) for files, locks and the service configuration,
//! [`guests`](super::guests) for guests on this node, the guest helper for
//! guest tasks and Perl-only data, systemd's job queue for shutdown
//! detection, watchdog-mux's client for the watchdog.
//!
//! One per daemon process; the LRM's jobs each get a fresh one from the
//! worker pool (07 §2.10: same node and log identity, no caches, no pool,
//! never the watchdog connection). The one thing a job shares with its
//! LRM is [`OcfSnapshot`]: the OCF agents and parameters of the LRM's
//! latest configuration read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::cluster::files::FileError;
use crate::cluster::store::{GuestKind, StoreError};
use crate::cluster::{
    files, paths, service_config, ClusterStore, HaLocks, LockEvent, Members, PmxcfsStore,
    SharedStore, VmList,
};
use crate::config::datacenter::DatacenterConfig;
use crate::config::groups::{GroupsConfig, GroupsFormat};
use crate::config::ocf::OcfSpec;
use crate::config::resources::ResourcesConfig;
use crate::config::rules::{RulesConfig, RulesFormat};
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::env::{
    Env, EnvError, EnvErrorKind, EnvResult, FenceNotification, LogLevel, NodeShutdown, NodeStats,
    ServiceConfig, ServiceConfigChange, ServiceStats, StatsKind, Time, Timing, Usage,
    WatchdogHandle, WorkerPool,
};
use crate::ocf::OcfDriver;
use crate::pool::{panic_is_abort, ThreadPool};
use crate::types::{Daemon, Sid};
use crate::watchdog::client::{self, Watchdog};

use super::guests::{self, HostPaths};
use super::helper::{GuestHelper, GuestOp, OpOptions};
use super::log::{Logger, DEV_LOG};
use super::rrd::Rrd;
use super::shutdown::{self, CommandRunner, SystemRunner};

/// Everything a `PveEnv` is made from; tests replace the host's paths,
/// sockets, helper and command runner with fixtures.
#[derive(Clone)]
pub struct PveConfig {
    /// The cluster file system's root (`/etc/pve`): where `check_running`
    /// and the statistics look for guest configurations.
    pub root: PathBuf,
    /// The cluster layer: pmxcfs over `root` by default, etcd on plain
    /// Linux. Shared with the LRM's job environments.
    pub store: SharedStore,
    /// This node's name.
    pub node: String,
    /// The daemon.
    pub daemon: Daemon,
    /// `--debug`: every log line also to standard error.
    pub debug: bool,
    /// The syslog socket.
    pub log_socket: PathBuf,
    /// watchdog-mux's socket.
    pub watchdog_socket: PathBuf,
    /// Where `check_running` looks.
    pub host: HostPaths,
    /// The guest helper.
    pub helper: GuestHelper,
    /// Runs `systemctl`.
    pub runner: Arc<dyn CommandRunner>,
    /// The slow-iteration warning threshold (`Timing::slow_loop`).
    pub slow_loop: i64,
    /// Shared by the LRM and its jobs (module doc).
    pub ocf_specs: OcfSnapshot,
}

/// The agent and parameters of every `ocf` resource as of the LRM's
/// latest `read_service_config`, the same read its jobs got their
/// configuration from. A job looks its resource up here instead of
/// reading resources.cfg again: every "ensure started" job of every
/// round would otherwise be one more store round trip, and a store that
/// answers late (an etcd member catching up after a partition) would
/// fail a job whose agent is perfectly healthy.
#[derive(Clone, Default)]
pub struct OcfSnapshot(Arc<Mutex<BTreeMap<Sid, OcfSpec>>>);

impl OcfSnapshot {
    /// Replaces the snapshot with the `ocf` resources of `cfg`.
    fn replace(&self, cfg: &ResourcesConfig) {
        let specs = cfg
            .sections()
            .filter_map(|(_, r)| Some((r.sid.clone(), r.ocf.clone()?)))
            .collect();
        // A poisoned lock only means a job panicked while reading; the
        // map itself is always whole.
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = specs;
    }

    /// `sid`'s agent and parameters, if the snapshot has them.
    fn get(&self, sid: &Sid) -> Option<OcfSpec> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sid)
            .cloned()
    }
}

impl PveConfig {
    /// A configuration for `daemon` on `node` over `root`, with the host's
    /// real paths and sockets.
    pub fn new(daemon: Daemon, node: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        let root: PathBuf = root.into();
        PveConfig {
            store: Arc::new(PmxcfsStore::new(&root)),
            root,
            node: node.into(),
            daemon,
            debug: false,
            log_socket: PathBuf::from(DEV_LOG),
            watchdog_socket: PathBuf::from(crate::watchdog::SOCKET),
            host: HostPaths::default(),
            helper: GuestHelper::default(),
            runner: Arc::new(SystemRunner),
            slow_loop: Timing::upstream().slow_loop,
            ocf_specs: OcfSnapshot::default(),
        }
    }

    /// What a daemon started on this host uses: the short host name,
    /// `PVE_HA_ROOT` (default `/etc/pve`), `PVE_HA_GUEST_HELPER` (default
    /// the installed helper).
    pub fn from_host(daemon: Daemon, debug: bool) -> std::io::Result<Self> {
        let mut c = PveConfig::new(
            daemon,
            short_hostname()?,
            PmxcfsStore::from_env().root().to_path_buf(),
        );
        c.debug = debug;
        c.helper = GuestHelper::from_env();
        Ok(c)
    }
}

/// The kernel's (UTS namespace's) host name up to the first dot (07 §2),
/// not `.members`' `nodename`.
pub fn short_hostname() -> std::io::Result<String> {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")?;
    short_name(&host).ok_or_else(|| std::io::Error::other("missing nodename"))
}

/// `host` up to the first dot; `None` if nothing is left.
pub fn short_name(host: &str) -> Option<String> {
    let short = host.trim().split('.').next().unwrap_or_default();
    (!short.is_empty()).then(|| short.to_string())
}

/// The daemons' environment on a real node.
pub struct PveEnv {
    cfg: PveConfig,
    store: SharedStore,
    log: Logger,
    locks: HaLocks,
    watchdog: Watchdog,
    /// The membership as of the last `cluster_state_update`.
    members: Members,
    /// The VM list as of the last `cluster_state_update`.
    vmlist: VmList,
    /// `.version` at the last refresh (`None`: absent, refresh each time).
    version: Option<Vec<u8>>,
    /// Digests whose parse warnings were logged already.
    warned: BTreeSet<String>,
    loop_start: Time,
    last_time: Time,
    token: u64,
    pool: Option<ThreadPool<PveEnv>>,
    /// A job's environment: never a pool of its own.
    worker: bool,
}

fn err(msg: impl Into<String>) -> EnvError {
    EnvError::new(msg)
}

/// A failed read of the shared state keeps its text; one the store could
/// not answer at all is of kind `Unavailable` (as the simulator's cfs
/// failure is), so that a job can tell "try again" from "failed"
/// (`lrm::workers`).
fn store_err(e: StoreError) -> EnvError {
    let kind = if e.is_unavailable() {
        EnvErrorKind::Unavailable
    } else {
        EnvErrorKind::Other
    };
    EnvError::with_kind(kind, e.to_string())
}

/// [`store_err`] for a typed read, whose content may also fail to parse.
fn file_err(e: FileError) -> EnvError {
    match e {
        FileError::Store(e) => store_err(e),
        FileError::Parse(_) => err(e.to_string()),
    }
}

impl PveEnv {
    /// The environment of a daemon process. Fails with `missing nodename`
    /// without a node name (07 §2).
    pub fn new(cfg: PveConfig) -> EnvResult<Self> {
        if cfg.node.is_empty() {
            return Err(err("missing nodename"));
        }
        Ok(PveEnv::build(cfg))
    }

    fn build(cfg: PveConfig) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        PveEnv {
            store: cfg.store.clone(),
            log: Logger::with_socket(cfg.daemon.name(), cfg.debug, &cfg.log_socket),
            locks: HaLocks::new(),
            watchdog: Watchdog::with_socket(&cfg.watchdog_socket),
            members: Members::default(),
            vmlist: VmList::default(),
            version: None,
            warned: BTreeSet::new(),
            loop_start: 0,
            last_time: 0,
            token: seed ^ (u64::from(std::process::id()) << 40),
            pool: None,
            worker: false,
            cfg,
        }
    }

    /// A job's own environment (07 §2.10): refreshed cluster view, no
    /// pool, a closed watchdog.
    fn for_worker(cfg: PveConfig) -> Self {
        // The node name was checked when the LRM's environment was made.
        let mut env = PveEnv::build(cfg);
        env.worker = true;
        // A failed refresh leaves an empty view; the job's own reads
        // report what is wrong.
        let _ = env.refresh();
        env
    }

    /// The store.
    pub fn store(&self) -> &dyn ClusterStore {
        self.store.as_ref()
    }

    fn log_event(&mut self, ev: Option<LockEvent>) {
        if let Some(ev) = ev {
            self.log.log(ev.level, &ev.message);
        }
    }

    /// Re-reads membership and VM list (only when the store's view
    /// version changed, or every time without one); the error text on
    /// failure.
    fn refresh(&mut self) -> Result<(), String> {
        let version = self.store.view_version();
        if version.is_some() && version == self.version {
            return Ok(());
        }
        self.version = None;
        let (members, vmlist) = self.store.cluster_view()?;
        self.members = members;
        self.vmlist = vmlist;
        self.version = version;
        Ok(())
    }

    fn rrd(&self) -> Rrd {
        match self.store.read(".rrd") {
            Ok(Some(b)) => Rrd::parse(&String::from_utf8_lossy(&b)),
            _ => Rrd::default(),
        }
    }

    fn datacenter(&mut self) -> DatacenterConfig {
        match files::read_datacenter(self.store.as_ref()) {
            Ok(p) => p.value,
            Err(e) => {
                self.log.log(
                    LogLevel::Err,
                    &format!("unable to get HA settings from datacenter.cfg - {e}"),
                );
                DatacenterConfig::default()
            }
        }
    }

    fn guest_op(&mut self, op: GuestOp, sid: &Sid, o: &OpOptions) -> EnvResult<()> {
        self.cfg.helper.guest_op(op, sid, o).map_err(err)
    }

    /// The agent and parameters of an `ocf` resource: from the LRM's
    /// snapshot ([`OcfSnapshot`]), else read from resources.cfg.
    fn ocf_spec(&self, sid: &Sid) -> EnvResult<OcfSpec> {
        if let Some(spec) = self.cfg.ocf_specs.get(sid) {
            return Ok(spec);
        }
        let parsed = files::read_resources(self.store.as_ref()).map_err(store_err)?;
        parsed
            .value
            .get(sid.as_str())
            .and_then(|r| r.ocf.clone())
            .ok_or_else(|| err(format!("missing resource configuration for '{sid}'")))
    }

    /// The nodes whose statistics are asked for: the membership, or just
    /// this node.
    fn stat_nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.members.nodes.keys().cloned().collect();
        if v.is_empty() {
            v.push(self.cfg.node.clone());
        }
        v
    }
}

/// Creates the `nodes/<node>/ocf` directory a location record moves
/// into: unlike a guest type's directory, no node has it beforehand.
fn ocf_dir(store: &dyn ClusterStore, record: &str) -> EnvResult<()> {
    let dir = record.rsplit_once('/').map_or("", |(d, _)| d);
    store.create_dir(dir).map_err(|e| err(e.to_string()))
}

/// A key/value entry as the helper prints it: an object, or a string
/// holding JSON.
fn kv_object(v: &Value) -> Result<serde_json::Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("not a JSON object".to_string()),
            Err(e) => Err(e.to_string()),
        },
        _ => Err("not a JSON object".to_string()),
    }
}

/// The `fencing` template's data (02 §6.2) from the on-disk status.
fn fencing_data(n: &FenceNotification) -> Value {
    let ms = &n.manager_status;
    let nodes: Vec<Value> = ms
        .node_status
        .iter()
        .map(|(node, st)| json!({"node": node, "status": st.to_string()}))
        .collect();
    let resources: Vec<Value> = ms
        .service_status
        .iter()
        .map(|(sid, e)| {
            json!({
                "resource": sid.to_string(),
                "state": e.state.as_ref().map(ToString::to_string).unwrap_or_default(),
                "node": e.node.clone().unwrap_or_default(),
                "running": e.running,
            })
        })
        .collect();
    json!({
        "fence-prefix": n.prefix,
        "fence-status": n.status,
        "is-success": n.prefix == "SUCCEED",
        "failed-node": n.failed_node,
        "master-node": ms.master_node.clone().unwrap_or_default(),
        "fence-timestamp": ms.timestamp.unwrap_or(0),
        "nodes": nodes,
        "resources": resources,
    })
}

impl Env for PveEnv {
    fn nodename(&self) -> &str {
        &self.cfg.node
    }

    fn get_time(&self) -> Time {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as Time)
            .unwrap_or(0);
        now.max(self.last_time)
    }

    fn sleep(&mut self, secs: i64) {
        self.last_time = self.get_time();
        if secs > 0 {
            std::thread::sleep(Duration::from_secs(secs.unsigned_abs()));
        }
        self.last_time = self.get_time();
    }

    fn sleep_until(&mut self, t: Time) {
        while self.get_time() < t {
            self.sleep(1);
        }
    }

    fn loop_start_hook(&mut self) -> EnvResult<()> {
        self.loop_start = self.get_time();
        Ok(())
    }

    /// 07 §2.3: more than `slow_loop` seconds ⇒ a warning; nothing else.
    fn loop_end_hook(&mut self) -> EnvResult<()> {
        let took = self.get_time() - self.loop_start;
        if took > self.cfg.slow_loop {
            self.log.log(
                LogLevel::Warning,
                &format!("loop took too long ({took} seconds)"),
            );
        }
        Ok(())
    }

    fn get_max_workers(&self) -> usize {
        files::read_datacenter(self.store.as_ref())
            .map(|p| p.value.max_workers())
            .unwrap_or_else(|_| DatacenterConfig::default().max_workers())
    }

    fn unique_token(&mut self) -> u64 {
        self.token = self.token.wrapping_add(1);
        self.token
    }

    fn log(&mut self, level: LogLevel, msg: &str) {
        self.log.log(level, msg);
    }

    fn send_notification(&mut self, n: &FenceNotification) {
        let metadata = json!({"type": "fencing", "hostname": n.failed_node});
        if let Err(e) = self
            .cfg
            .helper
            .notify("fencing", &fencing_data(n), &metadata)
        {
            self.log
                .log(LogLevel::Warning, &format!("could not notify: {e}"));
        }
    }

    /// 07 §2.5: the membership's online flags, this node always online.
    fn get_node_info(&mut self) -> EnvResult<(BTreeMap<String, bool>, bool)> {
        let mut map: BTreeMap<String, bool> = self
            .members
            .nodes
            .iter()
            .map(|(n, m)| (n.clone(), m.online))
            .collect();
        map.insert(self.cfg.node.clone(), true);
        Ok((map, self.store.quorate()))
    }

    fn quorate(&mut self) -> bool {
        self.store.quorate()
    }

    /// 07 §2.4: refresh membership and VM list (only when `.version`
    /// changed, or every time without it); on failure drop them, warn.
    fn cluster_state_update(&mut self) -> bool {
        match self.refresh() {
            Ok(()) => true,
            Err(e) => {
                self.members = Members::default();
                self.vmlist = VmList::default();
                self.version = None;
                self.log.log(
                    LogLevel::Warn,
                    &format!("cluster file system update failed - {e}"),
                );
                false
            }
        }
    }

    fn is_node_shutdown(&mut self) -> EnvResult<NodeShutdown> {
        shutdown::detect(self.cfg.runner.as_ref()).map_err(|e| err(e.to_string()))
    }

    /// The `version` of the node's `version-info` entry, if any.
    fn get_node_version(&mut self, node: &str) -> Option<String> {
        let all = self.cfg.helper.kv("version-info").ok()?;
        let entry = kv_object(all.get(node)?).ok()?;
        entry.get("version")?.as_str().map(str::to_string)
    }

    fn get_ha_manager_lock(&mut self) -> bool {
        let now = self.get_time();
        let (got, ev) = self
            .locks
            .get(self.store.as_ref(), paths::MANAGER_LOCK_NAME, now);
        self.log_event(ev);
        got
    }

    fn release_ha_manager_lock(&mut self) -> bool {
        self.locks
            .release(self.store.as_ref(), paths::MANAGER_LOCK_NAME)
    }

    fn get_ha_agent_lock(&mut self, node: Option<&str>) -> bool {
        let name = paths::agent_lock_name(node.unwrap_or(&self.cfg.node));
        let now = self.get_time();
        let (got, ev) = self.locks.get(self.store.as_ref(), &name, now);
        self.log_event(ev);
        got
    }

    fn release_ha_agent_lock(&mut self) -> bool {
        let name = paths::agent_lock_name(&self.cfg.node);
        self.locks.release(self.store.as_ref(), &name)
    }

    /// 07 §5.10: a failure ends the daemon (the caller propagates it).
    fn watchdog_open(&mut self) -> EnvResult<WatchdogHandle> {
        self.watchdog.open().map_err(|e| err(e.to_string()))?;
        self.log.log(LogLevel::Info, client::OPENED);
        Ok(WatchdogHandle("watchdog-mux".to_string()))
    }

    /// 07 §5.10: failures are logged and otherwise ignored — the next
    /// renewal tries again, watchdog-mux's deadline is what counts.
    fn watchdog_update(&mut self, _: &WatchdogHandle) -> EnvResult<()> {
        if let Err(e) = self.watchdog.update() {
            self.log.log(LogLevel::Err, &e.to_string());
        }
        Ok(())
    }

    /// 07 §5.10: a failed close is logged and the handle kept.
    fn watchdog_close(&mut self, _: &WatchdogHandle) -> EnvResult<()> {
        match self.watchdog.close() {
            Ok(()) => self.log.log(LogLevel::Info, client::CLOSED),
            Err(e) => self.log.log(LogLevel::Err, &e.to_string()),
        };
        Ok(())
    }

    fn read_manager_status(&mut self) -> EnvResult<ManagerStatus> {
        files::read_manager_status(self.store.as_ref()).map_err(file_err)
    }

    fn write_manager_status(&mut self, status: &ManagerStatus) -> EnvResult<()> {
        files::write_manager_status(self.store.as_ref(), status).map_err(|e| err(e.to_string()))
    }

    /// 07 §2.6: a missing file is `{"mode": "unknown"}` and a warning.
    fn read_lrm_status(&mut self, node: Option<&str>) -> EnvResult<LrmStatus> {
        let node = node.unwrap_or(&self.cfg.node).to_string();
        match files::read_lrm_status(self.store.as_ref(), &node).map_err(file_err)? {
            Some(st) => Ok(st),
            None => {
                let path = self.store.path_of(&paths::lrm_status(&node));
                self.log
                    .log(LogLevel::Warning, &format!("unable to read file '{path}'"));
                Ok(LrmStatus::missing_real())
            }
        }
    }

    fn write_lrm_status(&mut self, status: &LrmStatus) -> EnvResult<()> {
        files::write_lrm_status(self.store.as_ref(), &self.cfg.node, status)
            .map_err(|e| err(e.to_string()))
    }

    /// resources.cfg with defaults and the VM list's nodes (06 §3.3);
    /// parse warnings are logged once per file version.
    fn read_service_config(&mut self) -> EnvResult<(ServiceConfig, Option<String>)> {
        let parsed = files::read_resources(self.store.as_ref()).map_err(store_err)?;
        self.cfg.ocf_specs.replace(&parsed.value);
        if !parsed.warnings.is_empty() && self.warned.insert(parsed.value.digest.clone()) {
            for w in &parsed.warnings {
                self.log.log(LogLevel::Warning, w);
            }
        }
        let sc = service_config(&parsed.value, &self.vmlist);
        Ok((sc, Some(parsed.value.digest)))
    }

    fn update_service_config(
        &mut self,
        changes: &BTreeMap<Sid, ServiceConfigChange>,
    ) -> EnvResult<()> {
        files::update_resources(self.store.as_ref(), changes, &mut |_| {})
            .map_err(|e| err(format!("update resources config failed: {e}")))
    }

    /// 07 §2.8: rename the guest's configuration, then refresh.
    fn steal_service(&mut self, sid: &Sid, current: &str, new: &str) -> EnvResult<()> {
        let from = guests::config_path(sid, current).map_err(err)?;
        let to = guests::config_path(sid, new).map_err(err)?;
        if sid.type_str() == "ocf" {
            ocf_dir(self.store.as_ref(), &to)?;
        }
        self.store.rename(&from, &to).map_err(err)?;
        let _ = self.cluster_state_update();
        Ok(())
    }

    fn read_rules_config(&mut self) -> EnvResult<RulesConfig> {
        files::read_section(self.store.as_ref(), paths::RULES, &RulesFormat)
            .map(|(_, p)| p.value)
            .map_err(store_err)
    }

    fn write_rules_config(&mut self, rules: &RulesConfig) -> EnvResult<()> {
        files::write_section(self.store.as_ref(), paths::RULES, &RulesFormat, rules).map_err(err)
    }

    fn read_group_config(&mut self) -> EnvResult<GroupsConfig> {
        files::read_section(self.store.as_ref(), paths::GROUPS, &GroupsFormat)
            .map(|(_, p)| p.value)
            .map_err(store_err)
    }

    fn delete_group_config(&mut self) -> EnvResult<()> {
        self.store.remove(paths::GROUPS).map_err(|e| {
            let errno = match e {
                crate::cluster::StoreError::Modify { errno, .. } => errno,
                other => other.to_string(),
            };
            err(format!("failed to remove group config: {errno}"))
        })
    }

    fn any_pending_crm_command(&mut self) -> EnvResult<bool> {
        files::any_pending_crm_command(self.store.as_ref()).map_err(store_err)
    }

    fn read_crm_commands(&mut self) -> EnvResult<String> {
        files::take_crm_commands(self.store.as_ref(), &mut |_| {}).map_err(|e| err(e.to_string()))
    }

    fn get_datacenter_settings(&mut self) -> DatacenterConfig {
        self.datacenter()
    }

    /// 07 §2.13: every guest of the VM list with an HA type; state from
    /// the RRD sample; usage by kind. No RRD dump means no samples.
    fn get_service_stats(&mut self, kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>> {
        let rrd = self.rrd();
        let mut out = BTreeMap::new();
        for (vmid, g) in &self.vmlist.ids {
            let ty = match g.kind {
                GuestKind::Qemu => "vm",
                GuestKind::Lxc => "ct",
                GuestKind::Other(_) => continue,
            };
            let Ok(sid) = format!("{ty}:{vmid}").parse::<Sid>() else {
                continue;
            };
            let running = rrd.guest_running(vmid);
            let usage = match kind {
                StatsKind::Basic => Usage::default(),
                StatsKind::Static => {
                    let props =
                        guests::read_config(self.store.as_ref(), &sid, &g.node).unwrap_or_default();
                    guests::static_usage(ty, &props)
                }
                StatsKind::Dynamic => rrd.guest_usage(vmid),
            };
            out.insert(
                sid,
                ServiceStats {
                    node: g.node.clone(),
                    state: if running { "started" } else { "stopped" }.to_string(),
                    running,
                    usage,
                },
            );
        }
        Ok(out)
    }

    /// 07 §2.13: each node's `static-info` entry (`cpus`, `memory`). A
    /// helper that cannot answer gives no statistics, never an error.
    fn get_static_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        let Ok(all) = self.cfg.helper.kv("static-info") else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for node in self.stat_nodes() {
            let Some(v) = all.get(&node) else { continue };
            let stats = match kv_object(v) {
                Ok(m) => NodeStats {
                    maxcpu: m.get("cpus").and_then(Value::as_f64),
                    maxmem: m.get("memory").and_then(Value::as_f64),
                    cpu: 0.0,
                    mem: 0.0,
                },
                Err(e) => {
                    self.log.log(
                        LogLevel::Err,
                        &format!("unable to decode static node info for '{node}' - {e}"),
                    );
                    NodeStats::default()
                }
            };
            out.insert(node, stats);
        }
        Ok(out)
    }

    fn get_dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        Ok(self.rrd().node_stats())
    }

    fn has_resource_type(&self, ty: &str) -> bool {
        matches!(ty, "vm" | "ct" | "ocf")
    }

    fn resource_check_running(&mut self, sid: &Sid) -> EnvResult<bool> {
        if sid.type_str() == "ocf" {
            return OcfDriver::from_env().check_running(sid, &self.ocf_spec(sid)?);
        }
        let log = &mut self.log;
        let mut warn = |m: &str| {
            log.log(LogLevel::Warning, m);
        };
        guests::check_running(
            self.store.as_ref(),
            &self.cfg.host,
            sid,
            &self.cfg.node,
            &mut warn,
        )
        .map_err(err)
    }

    fn resource_start(&mut self, sid: &Sid) -> EnvResult<()> {
        if sid.type_str() == "ocf" {
            return OcfDriver::from_env().start(sid, &self.ocf_spec(sid)?);
        }
        self.guest_op(GuestOp::Start, sid, &OpOptions::default())
    }

    /// 05 §12.2–12.3: the effective timeout is the given one or 60; 0
    /// means a hard stop.
    fn resource_shutdown(&mut self, sid: &Sid, timeout: Option<&str>) -> EnvResult<()> {
        if sid.type_str() == "ocf" {
            return OcfDriver::from_env().stop(sid, &self.ocf_spec(sid)?, timeout);
        }
        let t = timeout.unwrap_or("60");
        if t.trim().parse::<i64>().is_ok_and(|n| n == 0) {
            return self.guest_op(GuestOp::Stop, sid, &OpOptions::default());
        }
        let o = OpOptions {
            timeout: Some(t.to_string()),
            ..OpOptions::default()
        };
        self.guest_op(GuestOp::Shutdown, sid, &o)
    }

    /// 05 §12.2–12.3: an offline move of a running guest shuts it down
    /// first (containers always move offline); true iff the configuration
    /// left this node.
    fn resource_migrate(&mut self, sid: &Sid, target: &str, online: bool) -> EnvResult<bool> {
        if sid.type_str() == "ocf" {
            // Stopped (or migrate_to) here; then its location record
            // moves to the target, as a guest's configuration would.
            let spec = self.ocf_spec(sid)?;
            let here = self.cfg.node.clone();
            let store = self.store.as_ref();
            let mut relocate = || {
                let from = guests::config_path(sid, &here).map_err(err)?;
                let to = guests::config_path(sid, target).map_err(err)?;
                ocf_dir(store, &to)?;
                store.rename(&from, &to).map_err(err)?;
                Ok(matches!(store.read(&from), Ok(None)))
            };
            return OcfDriver::from_env().migrate(sid, &spec, &here, target, online, &mut relocate);
        }
        let online = online && sid.type_str() == "vm";
        if !online && self.resource_check_running(sid)? {
            self.resource_shutdown(sid, None)?;
        }
        let o = OpOptions {
            target: Some(target.to_string()),
            online,
            ..OpOptions::default()
        };
        self.guest_op(GuestOp::Migrate, sid, &o)?;
        let here = guests::config_path(sid, &self.cfg.node).map_err(err)?;
        // Asked of the store, not the file system: the same on every backend.
        Ok(matches!(self.store.read(&here), Ok(None)))
    }

    fn resource_remove_locks(
        &mut self,
        sid: &Sid,
        locks: &[&str],
        node: &str,
    ) -> EnvResult<Option<String>> {
        if sid.type_str() == "ocf" {
            return Ok(None); // a location record holds no lock
        }
        guests::remove_locks(self.store.as_ref(), sid, locks, node).map_err(err)
    }

    /// A thread per job, at most `max_workers` at a time (the LRM keeps
    /// count), each in its own environment.
    fn worker_pool(&mut self) -> Option<&mut dyn WorkerPool> {
        if self.worker {
            return None;
        }
        if self.pool.is_none() {
            let cfg = self.cfg.clone();
            self.pool = Some(ThreadPool::new(
                self.cfg.daemon.name(),
                move || PveEnv::for_worker(cfg.clone()),
                panic_is_abort,
            ));
        }
        self.pool.as_mut().map(|p| p as &mut dyn WorkerPool)
    }
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
