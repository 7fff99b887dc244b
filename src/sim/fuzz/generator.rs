//! The scenario generator (issue 17 item 1): a random but realistic
//! cluster, a fault phase, then a heal — all as ordinary `cmdlist`
//! batches, so every run is a scenario the tester can replay.
//!
//! **Setup** (from the seed alone): `node1..nodeN` (N uniform in
//! `--nodes`), all powered off; M services (M uniform in `--services`):
//! 65 % `vm`, 20 % `ct`, 15 % `fa` on a random node, requested state
//! `started` 75 %, `stopped` 10 %, `disabled` 10 %, `ignored` 5 %;
//! `max_restart`/`max_relocate` left at their default 70 % of the time,
//! else 0..=3. An `fa:abcdef` id gets 1–3 start failures (b) 60 % of the
//! time, 1–2 migrate failures (c) 50 %, "cannot stop" (d) 5 %, and ties its
//! failures to one node (f) 30 % (01 §7.4). One shutdown policy per seed,
//! uniform over `freeze`, `failover`, `conditional`, `migrate`
//! (`datacenter.cfg`).
//!
//! **Fault phase** (adaptive: each batch is chosen when the run loop asks
//! for it, from the simulated hardware's truth at that moment, so that a
//! command is never meaningless — no `network on` of a reachable node, no
//! reboot of a node that is off). The first batch powers every node on;
//! then 4–9 batches of 1–3 actions, each drawn with these weights (a draw
//! whose precondition does not hold is redrawn, up to 12 times):
//!
//! | kind | weight | command |
//! | --- | --- | --- |
//! | power-off / power-on | 8 / 10 | `power <n> off\|on` (on: only nodes that are off) |
//! | network-off / network-on | 8 / 10 | `network <n> off\|on` (on: also a node reset meanwhile) |
//! | cfs-rw-fail, cfs-update-fail / cfs-work | 6 / 4 | `cfs <n> rw\|update fail\|work` |
//! | restart-lrm | 6 | `restart-lrm <n>` (node with an LRM) |
//! | crm-stop / crm-start | 5 / 4 | `crm <n> stop\|start` (start: powered node without CRM) |
//! | reboot, shutdown | 8, 8 | `reboot\|shutdown <n>` (powered node with an LRM) |
//! | maintenance-on / -off | 6 / 4 | `crm <n> enable\|disable-node-maintenance` |
//! | disarm-freeze, disarm-ignore / arm-ha | 5 / 4 | `crm <n> disarm-ha <mode>`, `crm <n> arm-ha` |
//! | service-add / -delete | 5 / 4 | `service <new sid> add <n> [started\|stopped]`, `service <sid> delete` |
//! | service-migrate / -relocate | 6 / 5 | `service <sid> migrate\|relocate <n>` |
//! | service-state | 8 | `service <sid> started\|stopped\|disabled\|ignored` (40/25/20/15) |
//! | delay | 6 | `delay 0\|20\|50\|120\|250` |
//!
//! A node action goes to the first node, from a random one on, whose
//! state allows it, and each node gets at most one per batch (the truth
//! does not show a command of the same batch yet). A fault may bring its
//! repair into the next batch: `network off` → `network on` 60 %, a cfs
//! failure → `cfs work` 50 %, `crm stop` → `crm start` 50 % (dropped if
//! the node's state no longer allows it) — without these an isolated node
//! is reset by its watchdog long before the next batch, and repairs would
//! be rare. Every kind appears in at least 10 % of seeds (`tests/fuzz.rs`).
//!
//! Sids are never reused after a `delete` (the deleted service's run flag
//! stays behind, 01 §4.6). The exclusion rules of
//! [`stats::RULES`](super::stats::RULES) are applied here and counted.
//!
//! **Heal** (see [`heal_batch`]): every node on with its network up and
//! its cfs working, a CRM where it was stopped, maintenance off, `arm-ha`;
//! then the run loop's own end rule gives at least 600 quiet seconds.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::rng::Rng;
use super::stats::SeedStats;
use super::FuzzConfig;
use crate::sim::cluster::Cluster;
use crate::sim::hardware::{LOCK_LIFETIME, WATCHDOG_TIMEOUT};
use crate::sim::resources::FaSpec;
use crate::types::{LrmMode, LrmState, OrUnknown, ServiceState};

/// The four shutdown policies (05, datacenter.cfg `ha.shutdown_policy`).
pub const POLICIES: [&str; 4] = ["freeze", "failover", "conditional", "migrate"];

/// The files of a generated scenario (everything but `cmdlist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// File name → text, as in a scenario directory.
    pub files: BTreeMap<String, String>,
    /// The shutdown policy.
    pub policy: &'static str,
}

/// Whether `sid` is an `fa` resource whose digits say it cannot be
/// stopped (d, 01 §7.4).
pub fn cannot_stop(sid: &str) -> bool {
    sid.strip_prefix("fa:")
        .is_some_and(|name| FaSpec::decode(name).cannot_stop)
}

/// Whether `sid` is an `fa` resource whose digits inject a failure
/// (start, migrate or stop): the only services allowed to end in `error`.
pub fn injects_failure(sid: &str) -> bool {
    match sid.strip_prefix("fa:") {
        Some(name) => {
            let f = FaSpec::decode(name);
            f.start_failures > 0 || f.migrate_failures > 0 || f.cannot_stop
        }
        None => false,
    }
}

/// The generator of one seed.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    nodes: Vec<String>,
    next_id: u64,
    used_fa: Vec<String>,
    batches_left: u64,
    started: bool,
    /// Nodes already acted on in the batch being drawn: the truth does
    /// not show the effect of a command of the same batch yet.
    busy: Vec<String>,
    /// Services deleted in the batch being drawn.
    deleted: Vec<String>,
    /// A `disarm-ha` was drawn for the batch being drawn.
    disarm_drawn: bool,
    /// A power-off, reboot, shutdown or network-off was drawn for the
    /// batch being drawn (rule `upstream-lost-migration-result-errors`).
    disrupted: bool,
    /// A migrate, relocate or `enable-node-maintenance` (which migrates
    /// the node's services away) was drawn for the batch being drawn
    /// (rule `upstream-lost-migration-result-errors`: no disruption in
    /// the same batch, seed 46999).
    migrating: bool,
    /// Nodes an `enable-node-maintenance` was ever drawn for (rule
    /// `upstream-maintenance-stops-without-lock`).
    maint_drawn: Vec<String>,
    /// Repairs drawn with a fault, for the next batch: (kind, node).
    follow_ups: Vec<(&'static str, String)>,
    /// What was generated so far.
    pub stats: SeedStats,
}

/// Action kinds with their weights (module doc).
const WEIGHTS: &[(&str, u64)] = &[
    ("power-off", 8),
    ("power-on", 10),
    ("network-off", 8),
    ("network-on", 10),
    ("cfs-fail", 6),
    ("cfs-work", 4),
    ("restart-lrm", 6),
    ("crm-stop", 5),
    ("crm-start", 4),
    ("reboot", 8),
    ("shutdown", 8),
    ("maintenance-on", 6),
    ("maintenance-off", 4),
    ("disarm", 5),
    ("arm-ha", 4),
    ("service-add", 5),
    ("service-delete", 4),
    ("service-migrate", 6),
    ("service-relocate", 5),
    ("service-state", 8),
    ("delay", 6),
];

/// What the generator sees of one node.
struct NodeView {
    power: bool,
    network: bool,
    shutdown: bool,
    cfs_ok: bool,
    cfs_rw: bool,
    crm: bool,
    crm_stopping: bool,
    lrm: bool,
    lrm_restarting: bool,
    /// The LRM is in state `maintenance` without its agent lock (05 §16
    /// item 12).
    lrm_maint_unlocked: bool,
    /// Services run on the node while it holds no valid agent lock: no
    /// watchdog would reset it if it were cut off (rule
    /// `upstream-arm-ha-fences-disarmed-node`).
    runs_unprotected: bool,
    /// The LRM holds the result of a migration the manager has not read
    /// yet (rule `upstream-lost-migration-result-errors`).
    unread_migration: bool,
    /// The LRM survives a failing cfs read (see rule
    /// `upstream-lrm-dies-on-cfs-read-failure`). A waiting LRM whose last
    /// status counts an active service only as a migration target takes
    /// its lock on that stale status and runs the `active` idle rule
    /// without a configured service, whose worker queue read fails (05
    /// §5.2, §16 item 13): not safe.
    lrm_cfs_safe: bool,
}

fn view(cluster: &Cluster, node: &str) -> NodeView {
    let hw = cluster.hw.borrow();
    let n = hw.node(node);
    let slot = cluster.nodes.get(node);
    NodeView {
        power: n.is_some_and(|n| n.power),
        network: n.is_some_and(|n| n.network),
        shutdown: n.is_some_and(|n| n.shutdown.is_some()),
        cfs_ok: n.is_some_and(|n| n.cfs_rw && n.cfs_update),
        cfs_rw: n.is_some_and(|n| n.cfs_rw),
        crm: slot.is_some_and(|s| s.crm.is_some()),
        crm_stopping: slot.is_some_and(|s| s.crm.as_ref().is_some_and(|c| c.stop_requested)),
        lrm: slot.is_some_and(|s| s.lrm.is_some()),
        lrm_restarting: slot.is_some_and(|s| s.lrm.as_ref().is_some_and(|l| l.restart)),
        lrm_maint_unlocked: slot.is_some_and(|s| {
            s.lrm
                .as_ref()
                .is_some_and(|l| l.daemon.state() == LrmState::Maintenance)
        }) && hw
            .locks()
            .get(&format!("ha_agent_{node}_lock"))
            .is_none_or(|l| l.node != node || hw.time() - l.time > LOCK_LIFETIME),
        runs_unprotected: hw
            .run_state
            .get(node)
            .is_some_and(|m| m.values().any(|on| *on))
            && hw
                .locks()
                .get(&format!("ha_agent_{node}_lock"))
                .is_none_or(|l| l.node != node || hw.time() - l.time > LOCK_LIFETIME),
        unread_migration: slot.is_some_and(|s| {
            s.lrm.as_ref().is_some_and(|l| {
                let ms = hw.manager_status();
                l.daemon.results().iter().any(|(uid, r)| {
                    ms.service_status.get(&r.sid).is_some_and(|e| {
                        e.uid.as_deref() == Some(uid.as_str())
                            && matches!(
                                e.state,
                                Some(OrUnknown::Known(
                                    ServiceState::Migrate | ServiceState::Relocate
                                ))
                            )
                    })
                })
            })
        }),
        lrm_cfs_safe: slot.is_some_and(|s| {
            s.lrm.as_ref().is_none_or(|l| {
                let d = &l.daemon;
                !d.shutdown_pending()
                    && d.mode() == LrmMode::Active
                    && ((d.state() == LrmState::WaitForAgentLock
                        && (d.active_service_count() == 0 || d.has_configured_service()))
                        || (d.state() == LrmState::Active && d.has_configured_service()))
            })
        }),
    }
}

impl Generator {
    /// The generator of `seed` and the scenario files it starts from.
    pub fn new(seed: u64, cfg: &FuzzConfig) -> (Generator, Setup) {
        let mut rng = Rng::new(seed);
        let n = rng.range(cfg.nodes.0 as u64, cfg.nodes.1 as u64).max(1);
        let nodes: Vec<String> = (1..=n).map(|i| format!("node{i}")).collect();
        let m = rng.range(cfg.services.0 as u64, cfg.services.1 as u64);
        let policy = POLICIES[rng.below(4) as usize];
        let mut g = Generator {
            rng,
            nodes,
            next_id: 100,
            used_fa: Vec::new(),
            batches_left: 0,
            started: false,
            busy: Vec::new(),
            deleted: Vec::new(),
            disarm_drawn: false,
            disrupted: false,
            migrating: false,
            maint_drawn: Vec::new(),
            follow_ups: Vec::new(),
            stats: SeedStats::default(),
        };
        g.stats.kind(match policy {
            "freeze" => "policy-freeze",
            "failover" => "policy-failover",
            "conditional" => "policy-conditional",
            _ => "policy-migrate",
        });
        g.batches_left = g.rng.range(4, 9);
        let mut hardware = Map::new();
        for node in &g.nodes {
            hardware.insert(node.clone(), json!({"power": "off", "network": "off"}));
        }
        let mut services = Map::new();
        for _ in 0..m {
            let sid = g.new_sid();
            let node = g.random_node();
            let state = match g.rng.weighted(&[75, 10, 10, 5]) {
                0 => "started",
                1 => "stopped",
                2 => "disabled",
                _ => "ignored",
            };
            let mut entry = Map::new();
            entry.insert("node".into(), Value::from(node));
            entry.insert("state".into(), Value::from(state));
            for key in ["max_restart", "max_relocate"] {
                if g.rng.chance(30) {
                    entry.insert(key.into(), Value::from(g.rng.range(0, 3).to_string()));
                }
            }
            services.insert(sid, Value::Object(entry));
        }
        let mut files = BTreeMap::new();
        files.insert("hardware_status".into(), pretty(&Value::Object(hardware)));
        files.insert("service_config".into(), pretty(&Value::Object(services)));
        files.insert("manager_status".into(), "{}\n".into());
        files.insert(
            "datacenter.cfg".into(),
            pretty(&json!({"ha": {"shutdown_policy": policy}})),
        );
        (g, Setup { files, policy })
    }

    fn random_node(&mut self) -> String {
        self.rng.pick(&self.nodes).cloned().unwrap_or_default()
    }

    /// A sid never used before in this seed: `vm`, `ct` or `fa`.
    fn new_sid(&mut self) -> String {
        match self.rng.weighted(&[65, 20, 15]) {
            0 => {
                self.next_id += 1;
                format!("vm:{}", self.next_id)
            }
            1 => {
                self.next_id += 1;
                format!("ct:{}", self.next_id)
            }
            _ => self.new_fa(),
        }
    }

    /// An `fa:abcdef` id (01 §7.4) not used before.
    fn new_fa(&mut self) -> String {
        for _ in 0..20 {
            let b = if self.rng.chance(60) {
                self.rng.range(1, 3)
            } else {
                0
            };
            let c = if self.rng.chance(50) {
                self.rng.range(1, 2)
            } else {
                0
            };
            let d = u64::from(self.rng.chance(5));
            let f = if self.rng.chance(30) {
                self.rng.range(1, self.nodes.len().min(9) as u64)
            } else {
                0
            };
            let a = self.rng.range(1, 9);
            let sid = format!("fa:{a}{b}{c}{d}1{f}");
            if !self.used_fa.contains(&sid) {
                if b > 0 {
                    self.stats.kind("fa-start-failure");
                }
                if c > 0 {
                    self.stats.kind("fa-migrate-failure");
                }
                self.used_fa.push(sid.clone());
                return sid;
            }
        }
        self.next_id += 1;
        format!("vm:{}", self.next_id)
    }

    /// The next fault-phase batch, or `None` when the phase is over.
    pub fn next_batch(&mut self, cluster: &Cluster) -> Option<Vec<String>> {
        if !self.started {
            self.started = true;
            return Some(self.nodes.iter().map(|n| format!("power {n} on")).collect());
        }
        if self.batches_left == 0 {
            return None;
        }
        self.batches_left -= 1;
        self.busy.clear();
        self.deleted.clear();
        self.disarm_drawn = false;
        self.disrupted = false;
        self.migrating = false;
        let n = self.rng.range(1, 3);
        let mut batch = Vec::new();
        for (kind, node) in std::mem::take(&mut self.follow_ups) {
            if let Ok((counted, cmd)) = node_action(kind, &node, &view(cluster, &node)) {
                self.stats.kind(counted);
                self.busy.push(node);
                batch.push(cmd);
            }
        }
        for _ in 0..n {
            if let Some(cmd) = self.action(cluster) {
                batch.push(cmd);
            }
        }
        Some(batch)
    }

    /// One action whose precondition holds, if one is found.
    fn action(&mut self, cluster: &Cluster) -> Option<String> {
        let weights: Vec<u64> = WEIGHTS.iter().map(|(_, w)| *w).collect();
        for _ in 0..12 {
            let kind = WEIGHTS[self.rng.weighted(&weights)].0;
            if let Some(cmd) = self.try_kind(kind, cluster) {
                return Some(cmd);
            }
        }
        None
    }

    /// Builds an action of `kind` against the current truth; counts it.
    /// A node action goes to the first node, from a random one on in
    /// node order, whose state allows it; an exclusion rule met on the
    /// randomly drawn node is counted.
    fn try_kind(&mut self, kind: &'static str, cluster: &Cluster) -> Option<String> {
        let start = self.rng.below(self.nodes.len() as u64) as usize;
        let n = self.nodes.len();
        if kind == "network-off" && (self.disarm_drawn || disarmed(cluster)) {
            self.stats.rule("upstream-arm-ha-fences-disarmed-node");
            return None;
        }
        if matches!(kind, "power-on" | "network-on") && watchdogs_aging(cluster) {
            self.stats.rule("sim-watchdog-expires-on-requorum");
            return None;
        }
        if DISRUPTIVE.contains(&kind) && (self.migrating || any_unread_migration(cluster)) {
            self.stats.rule("upstream-lost-migration-result-errors");
            return None;
        }
        if NODE_KINDS.contains(&kind) {
            for i in 0..n {
                let node = self.nodes[(start + i) % n].clone();
                let v = view(cluster, &node);
                match node_action(kind, &node, &v) {
                    Ok(_) if self.busy.contains(&node) => {}
                    Ok((counted, cmd)) => {
                        let (counted, cmd) = self.vary(counted, cmd, &node, &v);
                        let repair = match counted {
                            "network-off" => Some(("network-on", 60)),
                            "cfs-rw-fail" | "cfs-update-fail" => Some(("cfs-work", 50)),
                            "crm-stop" => Some(("crm-start", 50)),
                            _ => None,
                        };
                        if let Some((r, p)) = repair {
                            if self.rng.chance(p) {
                                self.follow_ups.push((r, node.clone()));
                            }
                        }
                        self.busy.push(node);
                        self.disrupted |= DISRUPTIVE.contains(&counted);
                        self.stats.kind(counted);
                        return Some(cmd);
                    }
                    Err(Some(rule)) if i == 0 => self.stats.rule(rule),
                    Err(_) => {}
                }
            }
            return None;
        }
        let node = self.nodes[start].clone();
        let (counted, cmd): (&'static str, String) = match kind {
            "maintenance-on" => {
                if runs_unstoppable(cluster, &node) {
                    self.stats.rule("upstream-maintenance-stops-without-lock");
                    return None;
                }
                if self.disrupted || shutdown_pending(cluster) {
                    self.stats.rule("upstream-lost-migration-result-errors");
                    return None;
                }
                self.migrating = true;
                self.maint_drawn.push(node.clone());
                (kind, format!("crm {node} enable-node-maintenance"))
            }
            "maintenance-off" => (kind, format!("crm {node} disable-node-maintenance")),
            "disarm" => {
                self.disarm_drawn = true;
                if self.rng.chance(50) {
                    ("disarm-freeze", format!("crm {node} disarm-ha freeze"))
                } else {
                    ("disarm-ignore", format!("crm {node} disarm-ha ignore"))
                }
            }
            "arm-ha" => (kind, format!("crm {node} arm-ha")),
            "service-add" => {
                let sid = self.new_sid();
                let state = if self.rng.chance(80) {
                    "started"
                } else {
                    "stopped"
                };
                (kind, format!("service {sid} add {node} {state}"))
            }
            "service-delete" | "service-migrate" | "service-relocate" | "service-state" => {
                let sids: Vec<String> = cluster
                    .hw
                    .borrow()
                    .raw_services()
                    .keys()
                    .filter(|s| !self.deleted.contains(s))
                    .cloned()
                    .collect();
                if sids.len() < 2 && kind == "service-delete" {
                    return None;
                }
                if kind == "service-delete" && (self.disarm_drawn || disarmed(cluster)) {
                    self.stats
                        .rule("upstream-delete-while-disarmed-aborts-recovery");
                    return None;
                }
                if matches!(kind, "service-migrate" | "service-relocate")
                    && (self.disrupted || shutdown_pending(cluster))
                {
                    self.stats.rule("upstream-lost-migration-result-errors");
                    return None;
                }
                let sid = self.rng.pick(&sids)?.clone();
                match kind {
                    "service-delete" => {
                        self.deleted.push(sid.clone());
                        (kind, format!("service {sid} delete"))
                    }
                    "service-migrate" => {
                        self.migrating = true;
                        (kind, format!("service {sid} migrate {node}"))
                    }
                    "service-relocate" => {
                        self.migrating = true;
                        (kind, format!("service {sid} relocate {node}"))
                    }
                    _ => {
                        let state = ["started", "stopped", "disabled", "ignored"]
                            [self.rng.weighted(&[40, 25, 20, 15])];
                        if matches!(state, "stopped" | "disabled")
                            && self
                                .maint_drawn
                                .iter()
                                .any(|n| runs_sid_unstoppable(cluster, n, &sid))
                        {
                            self.stats.rule("upstream-maintenance-stops-without-lock");
                            return None;
                        }
                        (kind, format!("service {sid} {state}"))
                    }
                }
            }
            "delay" => {
                let d = [0, 20, 50, 120, 250][self.rng.below(5) as usize];
                (kind, format!("delay {d}"))
            }
            _ => return None,
        };
        self.stats.kind(counted);
        Some(cmd)
    }

    /// The random variant of a node action (which cfs flag fails or
    /// works again).
    fn vary(
        &mut self,
        kind: &'static str,
        cmd: String,
        node: &str,
        v: &NodeView,
    ) -> (&'static str, String) {
        match kind {
            "cfs-fail" if self.rng.chance(50) => {
                if v.lrm_cfs_safe {
                    ("cfs-rw-fail", format!("cfs {node} rw fail"))
                } else {
                    self.stats.rule("upstream-lrm-dies-on-cfs-read-failure");
                    ("cfs-update-fail", format!("cfs {node} update fail"))
                }
            }
            "cfs-fail" => ("cfs-update-fail", format!("cfs {node} update fail")),
            _ => (kind, cmd),
        }
    }
}

/// Whether a watchdog has gone unfed for long enough that a daemon
/// regaining quorum could feed it after it expired but before the run
/// loop's next check removes it: the simulator then dies with `watchdog
/// expired` (01 §6.3, rule `sim-watchdog-expires-on-requorum`).
pub fn watchdogs_aging(cluster: &Cluster) -> bool {
    let hw = cluster.hw.borrow();
    let now = hw.time();
    hw.watchdogs()
        .values()
        .any(|w| now - w.update_time > 25 && now - w.update_time <= WATCHDOG_TIMEOUT + 1)
}

/// Whether HA is disarmed or a `disarm-ha` waits in the CRM queue.
fn disarmed(cluster: &Cluster) -> bool {
    let hw = cluster.hw.borrow();
    hw.manager_status().disarm.is_some() || hw.crm_commands.contains("disarm-ha")
}

/// Node actions that can cost a node its quorum, and so its agent lock
/// and (by its watchdog) its LRM with any migration result the manager
/// has not read yet (rule `upstream-lost-migration-result-errors`).
const DISRUPTIVE: &[&str] = &["power-off", "reboot", "shutdown", "network-off"];

/// Whether any LRM holds a migration result the manager has not read: a
/// quorum loss anywhere may get that node reset before the manager reads
/// it, and the manager then errors the service (03 §3, EWRONG_NODE).
fn any_unread_migration(cluster: &Cluster) -> bool {
    cluster
        .node_names()
        .iter()
        .any(|n| view(cluster, n).unread_migration)
}

/// Whether a node has a shutdown pending: the master may be the one
/// going down, and a migration ordered now may be executed but never read
/// (rule `upstream-lost-migration-result-errors`).
fn shutdown_pending(cluster: &Cluster) -> bool {
    let hw = cluster.hw.borrow();
    cluster
        .node_names()
        .iter()
        .any(|n| hw.node(n).is_some_and(|n| n.shutdown.is_some()))
}

/// Whether `sid` runs on `node` and its stop never works there (`fa`
/// digit d, 01 §7.4): once the manager wants it stopped it no longer
/// counts as active, an LRM in maintenance releases its agent lock and
/// still re-runs the stop every round (05 §5.3, §16 items 7 and 12;
/// rule `upstream-maintenance-stops-without-lock`).
fn runs_sid_unstoppable(cluster: &Cluster, node: &str, sid: &str) -> bool {
    let hw = cluster.hw.borrow();
    let runs = hw
        .run_state
        .get(node)
        .is_some_and(|m| m.get(sid).copied().unwrap_or(false));
    runs && sid.strip_prefix("fa:").is_some_and(|id| {
        let spec = FaSpec::decode(id);
        spec.cannot_stop && spec.only_node.as_deref().is_none_or(|n| n == node)
    })
}

/// Whether some service whose stop never works runs on `node`.
fn runs_unstoppable(cluster: &Cluster, node: &str) -> bool {
    let sids: Vec<String> = {
        let hw = cluster.hw.borrow();
        hw.run_state
            .get(node)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    sids.iter()
        .any(|sid| runs_sid_unstoppable(cluster, node, sid))
}

/// The kinds that act on one node and have a precondition on its state.
const NODE_KINDS: &[&str] = &[
    "power-off",
    "power-on",
    "network-off",
    "network-on",
    "cfs-fail",
    "cfs-work",
    "restart-lrm",
    "crm-stop",
    "crm-start",
    "reboot",
    "shutdown",
];

/// A node action of `kind` on `node` if its state allows it; else the
/// exclusion rule that forbids it, if one does.
fn node_action(
    kind: &'static str,
    node: &str,
    v: &NodeView,
) -> Result<(&'static str, String), Option<&'static str>> {
    if v.unread_migration && matches!(kind, "power-off" | "reboot" | "shutdown" | "restart-lrm") {
        return Err(Some("upstream-lost-migration-result-errors"));
    }
    if kind == "network-off" && v.runs_unprotected {
        return Err(Some("upstream-arm-ha-fences-disarmed-node"));
    }
    Ok(match kind {
        "power-off" if v.power => (kind, format!("power {node} off")),
        "power-on" if v.power => return Err(Some("sim-no-power-on-while-on")),
        "power-on" => (kind, format!("power {node} on")),
        "network-off" if v.power && v.network => (kind, format!("network {node} off")),
        // Also on a node that is off meanwhile (reset by its watchdog):
        // the command is valid and changes nothing but the flag (01 §4.4).
        "network-on" if !v.network => (kind, format!("network {node} on")),
        "cfs-fail" if v.power && v.cfs_ok => (kind, String::new()),
        "cfs-work" if v.power && !v.cfs_ok => {
            let what = if v.cfs_rw { "update" } else { "rw" };
            (kind, format!("cfs {node} {what} work"))
        }
        "restart-lrm" if v.lrm && !v.lrm_restarting && v.shutdown => {
            return Err(Some("sim-no-restart-lrm-during-shutdown"))
        }
        "restart-lrm" | "reboot" | "shutdown" if v.power && v.lrm && !v.cfs_rw => {
            return Err(Some("upstream-lrm-dies-on-cfs-read-failure"))
        }
        "restart-lrm" if v.lrm && !v.lrm_restarting => (kind, format!("restart-lrm {node}")),
        "crm-stop" if v.crm && !v.crm_stopping => (kind, format!("crm {node} stop")),
        "crm-start" if v.power && !v.crm && !v.shutdown => (kind, format!("crm {node} start")),
        "reboot" | "shutdown" if v.power && v.lrm && !v.shutdown && v.lrm_restarting => {
            return Err(Some("sim-no-shutdown-during-restart-lrm"))
        }
        "reboot" | "shutdown" if v.power && v.lrm && !v.shutdown && v.lrm_maint_unlocked => {
            return Err(Some("upstream-maintenance-stops-without-lock"))
        }
        "reboot" | "shutdown" if v.power && v.lrm && !v.shutdown => {
            (kind, format!("{kind} {node}"))
        }
        _ => return Err(None),
    })
}

/// The next heal batch, from the truth: `None` once every node is on with
/// its network up, its cfs working, a CRM and an LRM that are not
/// stopping, and no pending shutdown. The first heal batch that is no
/// mere wait (`settled` still false) also turns maintenance off on every node that was ever put into it and
/// re-arms HA if it was ever disarmed (`commands`: every batch applied so
/// far).
///
/// A node with a pending shutdown (stuck, e.g. a `migrate` policy whose
/// migration keeps failing) is power-cycled: `power off` now, `power on`
/// in the next heal batch — `power on` of a running node would clear the
/// pending shutdown and make the simulator abort (rule
/// `sim-no-power-on-while-on`). A CRM that is still stopping is waited for
/// with `delay 0`; so is an LRM restart, once: an LRM restart still
/// pending in a later heal round waits for a migration that will never
/// happen (05 §7.3, rule `upstream-restart-lrm-waits-for-migration`,
/// counted in `stats`), and the node is power-cycled like a stuck
/// shutdown.
pub fn heal_batch(
    cluster: &Cluster,
    commands: &[Vec<String>],
    round: usize,
    settled: &mut bool,
    stats: &mut SeedStats,
) -> Option<Vec<String>> {
    if watchdogs_aging(cluster) {
        stats.rule("sim-watchdog-expires-on-requorum");
        return Some(vec!["delay 0".to_string()]);
    }
    let mut batch = Vec::new();
    let mut wait = false;
    for node in cluster.node_names() {
        let v = view(cluster, &node);
        if !v.power {
            batch.push(format!("power {node} on"));
            continue;
        }
        if v.shutdown {
            batch.push(format!("power {node} off"));
            continue;
        }
        if v.lrm_restarting && round > 0 {
            stats.rule("upstream-restart-lrm-waits-for-migration");
            batch.push(format!("power {node} off"));
            continue;
        }
        if !v.network {
            batch.push(format!("network {node} on"));
        }
        if !v.cfs_ok {
            batch.push(format!("cfs {node} rw work"));
            batch.push(format!("cfs {node} update work"));
        }
        if !v.crm {
            batch.push(format!("crm {node} start"));
        }
        wait |= v.crm_stopping || v.lrm_restarting || !v.lrm;
    }
    if !*settled {
        *settled = true;
        let all = commands.iter().flatten();
        let mut maint: Vec<&str> = all
            .clone()
            .filter_map(|c| c.strip_prefix("crm "))
            .filter_map(|c| c.strip_suffix(" enable-node-maintenance"))
            .collect();
        maint.sort_unstable();
        maint.dedup();
        for node in maint {
            batch.push(format!("crm {node} disable-node-maintenance"));
        }
        if all.clone().any(|c| c.contains(" disarm-ha ")) {
            if let Some(node) = cluster.node_names().first() {
                batch.push(format!("crm {node} arm-ha"));
            }
        }
    }
    if batch.is_empty() && wait {
        batch.push("delay 0".to_string());
    }
    (!batch.is_empty()).then_some(batch)
}

/// JSON text with a final newline.
fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
