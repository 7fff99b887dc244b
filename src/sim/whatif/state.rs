//! The live cluster state a what-if starts from, and the tester scenario
//! it becomes (01 §2): read once through a [`ClusterStore`], never
//! written. What is read: `.members` (nodes, online flags), `.vmlist`
//! (where each guest lives), `ha/resources.cfg`, `ha/manager_status`,
//! `nodes/*/lrm_status`, and when present `ha/rules.cfg`,
//! `ha/groups.cfg` and `datacenter.cfg`. Static statistics and lock ages
//! are brought by the caller (they come from guest configurations and
//! lock directory times, which the store does not model).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::cluster::{files, paths, services, ClusterStore};
use crate::config::datacenter::DatacenterConfig;
use crate::config::status::{LrmStatus, ManagerStatus};
use crate::env::{ServiceConf, Time, Usage};
use crate::sim::hardware::RawService;
use crate::types::{ResultCode, ServiceState};

/// Node capacity the simulation assumes (the tester's default, 01 §2.3
/// step 5): the live files do not record it.
pub const NODE_MAXCPU: f64 = 24.0;
/// See [`NODE_MAXCPU`] (131072 MiB).
pub const NODE_MAXMEM: f64 = 137_438_953_472.0;

/// Why the live state could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// `.members` lists no node (not a cluster, or pmxcfs not mounted).
    #[error("no cluster members in '{0}'")]
    NoMembers(String),
    /// A file could not be read or parsed.
    #[error("{0}")]
    File(String),
}

/// Everything the planner simulates from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// Every member node and whether it is online.
    pub nodes: BTreeMap<String, bool>,
    /// The manager status as the master last wrote it.
    pub manager_status: ManagerStatus,
    /// The services as the simulator stores them (`node`, an explicit
    /// `state` — the real default `started` materialised, since the
    /// simulator's own default differs, 01 §2.5 — and the options).
    pub services: BTreeMap<String, RawService>,
    /// Each node's `lrm_status` as its LRM last wrote it: the first
    /// simulated manager round reads these, so a node whose LRM is in
    /// maintenance stays in maintenance and finished jobs stay finished.
    pub lrm_status: BTreeMap<String, LrmStatus>,
    /// node → sid → running: what the guests are doing right now.
    pub running: BTreeMap<String, BTreeMap<String, bool>>,
    /// `ha/rules.cfg` text, if present.
    pub rules: Option<String>,
    /// `ha/groups.cfg` text, if present.
    pub groups: Option<String>,
    /// `datacenter.cfg`, if present.
    pub datacenter: Option<DatacenterConfig>,
    /// Static usage per sid; empty ⇒ the simulator's defaults.
    pub static_stats: BTreeMap<String, Usage>,
    /// Age in seconds of each cluster lock (`ha_agent_<node>_lock`,
    /// `ha_manager_lock`) at the moment of the question.
    pub lock_ages: BTreeMap<String, Time>,
    /// Parser warnings and skipped entries, for stderr.
    pub warnings: Vec<String>,
}

/// Manager states in which the guest is running on its node.
fn runs_in(state: Option<ServiceState>) -> bool {
    matches!(
        state,
        Some(
            ServiceState::Started
                | ServiceState::Migrate
                | ServiceState::Relocate
                | ServiceState::RequestStop
                | ServiceState::Freeze
        )
    )
}

/// A checked service back in the simulator's stored form.
fn raw_service(conf: &ServiceConf) -> RawService {
    let mut d = RawService::new();
    d.insert("node".into(), conf.node.clone());
    d.insert("state".into(), conf.state.as_str().to_string());
    d.insert("failback".into(), i64::from(conf.failback).to_string());
    d.insert("max_restart".into(), conf.max_restart.to_string());
    d.insert("max_relocate".into(), conf.max_relocate.to_string());
    if let Some(g) = &conf.group {
        d.insert("group".into(), g.clone());
    }
    if let Some(c) = &conf.comment {
        d.insert("comment".into(), c.clone());
    }
    d
}

impl LiveState {
    /// Reads the live state through `store` (nothing is written).
    pub fn read(store: &dyn ClusterStore) -> Result<LiveState, StateError> {
        let file_err = |e: &dyn std::fmt::Display| StateError::File(e.to_string());
        let members = store.members();
        if members.nodes.is_empty() {
            return Err(StateError::NoMembers(store.path_of(".members")));
        }
        let mut st = LiveState {
            nodes: members
                .nodes
                .iter()
                .map(|(n, m)| (n.clone(), m.online))
                .collect(),
            ..LiveState::default()
        };
        let vmlist = store.vmlist();
        let resources = files::read_resources(store).map_err(|e| file_err(&e))?;
        st.warnings.extend(resources.warnings.iter().cloned());
        for (sid, conf) in services::service_config(&resources.value, &vmlist) {
            if conf.node.is_empty() {
                st.warnings.push(format!(
                    "skipping '{sid}': guest not in the cluster's VM list"
                ));
                continue;
            }
            if !st.nodes.contains_key(&conf.node) {
                st.warnings.push(format!(
                    "skipping '{sid}': its node '{}' is no cluster member",
                    conf.node
                ));
                continue;
            }
            st.services.insert(sid.to_string(), raw_service(&conf));
        }
        st.manager_status = files::read_manager_status(store).map_err(|e| file_err(&e))?;
        let mut lrm = BTreeMap::new();
        for node in st.nodes.keys() {
            match files::read_lrm_status(store, node) {
                Ok(Some(s)) => {
                    lrm.insert(node.clone(), s);
                }
                Ok(None) => {}
                Err(e) => st
                    .warnings
                    .push(format!("ignoring lrm_status of '{node}': {e}")),
            }
        }
        st.running = running(&st.nodes, &st.manager_status, &lrm, &st.services);
        st.lrm_status = lrm;
        let text = |rel: &str| -> Result<Option<String>, StateError> {
            Ok(store
                .read(rel)
                .map_err(|e| file_err(&e))?
                .map(|b| String::from_utf8_lossy(&b).into_owned()))
        };
        st.rules = text(paths::RULES)?;
        st.groups = text(paths::GROUPS)?;
        if store
            .read(paths::DATACENTER)
            .map_err(|e| file_err(&e))?
            .is_some()
        {
            let dc = files::read_datacenter(store).map_err(|e| file_err(&e))?;
            st.warnings.extend(dc.warnings.iter().cloned());
            st.datacenter = Some(dc.value);
        }
        Ok(st)
    }

    /// The node the manager status names as master, if it is online:
    /// the simulation makes it the master again (see
    /// [`LiveState::warmup_cmdlist`]).
    pub fn live_master(&self) -> Option<&str> {
        let m = self.manager_status.master_node.as_deref()?;
        self.nodes.get(m).copied().unwrap_or(false).then_some(m)
    }

    /// The online nodes, sorted.
    pub fn online_nodes(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|(_, on)| **on)
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The batches that bring the simulated cluster to the live state
    /// before the event (01 §4, §5.6: one batch every 100 s with up to
    /// ten nodes): batch 0 powers on every online node — and, when the
    /// live master is not the first of them, stops the other CRMs so
    /// that it takes the manager lock; batch 1 starts those CRMs again
    /// as slaves; batch 2 is quiet. The event is batch
    /// [`EVENT_BATCH`](super::EVENT_BATCH).
    pub fn warmup_cmdlist(&self) -> Vec<Vec<String>> {
        let online = self.online_nodes();
        let mut power: Vec<String> = online.iter().map(|n| format!("power {n} on")).collect();
        let mut restart = Vec::new();
        if let Some(master) = self.live_master() {
            if online.first() != Some(&master) {
                for n in online.iter().filter(|n| **n != master) {
                    power.push(format!("crm {n} stop"));
                    restart.push(format!("crm {n} start"));
                }
            }
        }
        vec![power, restart, Vec::new()]
    }

    /// The scenario files (01 §2.1) of this state, without `cmdlist`:
    /// every node powered off at first (the warm-up powers the online
    /// ones on), the tester's default node capacity.
    pub fn scenario_files(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        let mut hw = Map::new();
        for node in self.nodes.keys() {
            hw.insert(
                node.clone(),
                json!({"power": "off", "network": "off", "maxcpu": NODE_MAXCPU, "maxmem": NODE_MAXMEM}),
            );
        }
        files.insert("hardware_status".into(), Value::Object(hw).to_string());
        let services: Map<String, Value> = self
            .services
            .iter()
            .map(|(sid, d)| (sid.clone(), json!(d)))
            .collect();
        files.insert("service_config".into(), Value::Object(services).to_string());
        files.insert("manager_status".into(), self.manager_status.to_json());
        if let Some(t) = &self.rules {
            files.insert("rules_config".into(), t.clone());
        }
        if let Some(t) = &self.groups {
            files.insert("groups".into(), t.clone());
        }
        if let Some(dc) = &self.datacenter {
            files.insert("datacenter.cfg".into(), dc.write_sim());
        }
        if !self.static_stats.is_empty() {
            let stats: Map<String, Value> = self
                .static_stats
                .iter()
                .map(|(sid, u)| (sid.clone(), json!({"maxcpu": u.maxcpu, "maxmem": u.maxmem})))
                .collect();
            files.insert(
                "static_service_stats".into(),
                Value::Object(stats).to_string(),
            );
        }
        for node in self.nodes.keys() {
            let o: Map<String, Value> = self
                .running
                .get(node)
                .into_iter()
                .flatten()
                .map(|(sid, r)| (sid.clone(), json!(i64::from(*r))))
                .collect();
            files.insert(
                format!("service_status_{node}"),
                Value::Object(o).to_string(),
            );
        }
        files
    }
}

/// What runs where: every service the manager has running on an online
/// node (started, migrating, being stopped, frozen). A migration whose
/// job the source LRM already reported done runs on its target.
fn running(
    nodes: &BTreeMap<String, bool>,
    ms: &ManagerStatus,
    lrm: &BTreeMap<String, LrmStatus>,
    services: &BTreeMap<String, RawService>,
) -> BTreeMap<String, BTreeMap<String, bool>> {
    let mut out: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for (sid, e) in &ms.service_status {
        if !services.contains_key(sid.as_str()) || !runs_in(e.state_known()) {
            continue;
        }
        let Some(mut node) = e.node.clone() else {
            continue;
        };
        if matches!(
            e.state_known(),
            Some(ServiceState::Migrate | ServiceState::Relocate)
        ) {
            let done = e.uid.as_ref().is_some_and(|uid| {
                lrm.get(&node)
                    .and_then(|s| s.results.get(uid))
                    .is_some_and(|r| r.exit_code == ResultCode::Success)
            });
            if let (true, Some(t)) = (done, &e.target) {
                node = t.clone();
            }
        }
        if nodes.get(&node).copied().unwrap_or(false) {
            out.entry(node).or_default().insert(sid.to_string(), true);
        }
    }
    out
}
