//! What the page shows, computed from the hardware at one moment: nodes
//! with their switches, manager state and agent lock, services with their
//! requested, current and verbose state (06 §11.3) and where they really
//! run, the scheduler mode and the manager status (01 §10).
//!
//! The manager's view lags behind the hardware by design (it learns of a
//! dead node only through quorum and locks), so the page shows both: a
//! service the manager still calls `started` on a powered-off node is
//! marked `node_down`, and a node waiting to be fenced shows the agent
//! lock that holds up the recovery.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::status::ManagerStatus;
use crate::sim::hardware::{Hardware, LOCK_LIFETIME};
use crate::sim::scenario::MIB;
use crate::types::{OrUnknown, ServiceState, Sid};

use super::clock::local_hms;

/// One node row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    /// Node name.
    pub name: String,
    /// Power switch.
    pub power: bool,
    /// Network switch.
    pub network: bool,
    /// The manager's view of the node (`online`, `unknown`, `fence`, …)
    /// with ` (master)` for the master; `-` when the manager has none.
    pub state: String,
    /// Whether this node's CRM is the master.
    pub master: bool,
    /// The LRM's reported state and mode (`active`, `wait_for_agent_lock`,
    /// …), `-` before its first report.
    pub lrm: String,
    /// Whether a CRM thread runs on the node.
    pub crm_running: bool,
    /// Whether an LRM thread runs on the node.
    pub lrm_running: bool,
    /// The node's agent lock (`ha_agent_<node>_lock`, 01 §6.2), if it
    /// exists: the master may fence the node and recover its services
    /// only once it holds that lock, i.e. once the lock has expired.
    pub agent_lock: Option<AgentLock>,
}

/// An agent lock as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentLock {
    /// The node holding it (the node's own LRM, or the master that
    /// fenced it).
    pub owner: String,
    /// Virtual seconds until another node can take it (0: it has
    /// expired). A lock is expired once strictly older than the 120 s
    /// lifetime.
    pub expires_in: i64,
}

/// Where a service really is, from the simulated hardware's run state
/// and power switches rather than the manager's (possibly stale) view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Running on its configured node.
    Running,
    /// Running, but on another node than its configured one.
    Elsewhere,
    /// Not running anywhere, its node up.
    NotRunning,
    /// Its node is powered off (and not yet being fenced).
    NodeDown,
    /// The manager is fencing its node for it (service state `fence`).
    Fenced,
}

/// One service row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    /// Service id.
    pub sid: String,
    /// Node of its configuration (where it is, or is being moved to).
    pub node: String,
    /// Requested state (`started`, `stopped`, `disabled`, `ignored`).
    pub requested: String,
    /// The CRM's state word, `-` when the manager does not track it yet.
    pub crm_state: String,
    /// The state `ha-manager status` would show (06 §11.3).
    pub state: String,
    /// Node it runs on right now, if any (the hardware's run state).
    pub running_on: Option<String>,
    /// Where it really is (see [`Placement`]).
    pub placement: Placement,
    /// Static CPU count, if set.
    pub maxcpu: Option<f64>,
    /// Static memory in MiB, if set.
    pub maxmem_mib: Option<f64>,
}

/// The whole picture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Virtual time (epoch seconds).
    pub time: i64,
    /// The same as local `HH:MM:SS`.
    pub clock: String,
    /// Clock speed factor.
    pub speed: f64,
    /// The master node, if any.
    pub master: Option<String>,
    /// Whether the cluster has quorum.
    pub quorate: bool,
    /// The scheduler mode in effect (`crs.ha`).
    pub crs: String,
    /// Nodes, sorted.
    pub nodes: Vec<NodeView>,
    /// Services, sorted.
    pub services: Vec<ServiceView>,
    /// The manager status as written by the master (key-sorted JSON).
    pub manager_status: Value,
    /// The working directory.
    pub dir: String,
    /// Whether actions are recorded into `DIR/cmdlist`.
    pub recording: bool,
}

/// Daemon threads per node: `(crm running, lrm running)`.
pub type DaemonFlags = BTreeMap<String, (bool, bool)>;

/// Context the hardware does not know.
#[derive(Debug, Clone)]
pub struct Context {
    /// Virtual time now.
    pub now: i64,
    /// Clock speed.
    pub speed: f64,
    /// Working directory, as shown.
    pub dir: String,
    /// Recording on.
    pub recording: bool,
}

/// Takes the snapshot; the caller holds the hardware lock.
pub fn take(hw: &Hardware, daemons: &DaemonFlags, ctx: &Context) -> Snapshot {
    let ms = hw.manager_status();
    let master = ms.master_node.clone().filter(|m| !m.is_empty());
    let nodes = hw
        .node_names()
        .into_iter()
        .filter_map(|name| {
            let n = hw.node(&name)?;
            let is_master = master.as_deref() == Some(name.as_str());
            let mut state = ms
                .node_status
                .get(&name)
                .map_or_else(|| "-".to_string(), ToString::to_string);
            if is_master {
                state.push_str(" (master)");
            }
            let lrm = hw.lrm_status(&name);
            let lrm_text = match (&lrm.state, &lrm.mode) {
                (Some(s), Some(m)) if m.to_string() != "active" => format!("{s} ({m})"),
                (Some(s), _) => s.to_string(),
                _ => "-".to_string(),
            };
            let (crm_running, lrm_running) = daemons.get(&name).copied().unwrap_or_default();
            let agent_lock = hw
                .locks()
                .get(&format!("ha_agent_{name}_lock"))
                .map(|l| AgentLock {
                    owner: l.node.clone(),
                    expires_in: (l.time + LOCK_LIFETIME + 1 - ctx.now).max(0),
                });
            Some(NodeView {
                agent_lock,
                power: n.power,
                network: n.network,
                state,
                master: is_master,
                lrm: lrm_text,
                crm_running,
                lrm_running,
                name,
            })
        })
        .collect();
    let checked = hw.service_config().ok();
    let static_stats = hw.static_stats();
    let services = hw
        .raw_services()
        .iter()
        .map(|(sid, raw)| {
            let parsed: Option<Sid> = sid.parse().ok();
            let conf = parsed
                .as_ref()
                .and_then(|s| checked.as_ref().and_then(|c| c.get(s)));
            let requested = match conf {
                Some(c) => c.state.to_string(),
                None => raw
                    .get("state")
                    .cloned()
                    .unwrap_or_else(|| "disabled".into()),
            };
            let node = raw.get("node").cloned().unwrap_or_default();
            let entry = parsed.as_ref().and_then(|s| ms.service_status.get(s));
            let running_on = hw.node_names().into_iter().find(|n| hw.is_running(n, sid));
            let usage = static_stats.get(sid);
            // The manager moves every service of a node it must fence to
            // `fence` at once; stopped ones are not affected by fencing.
            let fencing = entry.and_then(|e| e.state.as_ref())
                == Some(&OrUnknown::Known(ServiceState::Fence));
            let placement = placement(
                &node,
                running_on.as_deref(),
                hw.node(&node).is_some_and(|n| n.power),
                fencing,
            );
            ServiceView {
                placement,
                sid: sid.clone(),
                crm_state: entry
                    .and_then(|e| e.state.as_ref())
                    .map_or_else(|| "-".to_string(), ToString::to_string),
                state: verbose_state(Some(&requested), Some(&node), entry),
                requested,
                node,
                running_on,
                maxcpu: usage.and_then(|u| u.maxcpu),
                maxmem_mib: usage.and_then(|u| u.maxmem).map(|m| m / MIB),
            }
        })
        .collect();
    Snapshot {
        time: ctx.now,
        clock: local_hms(ctx.now),
        speed: ctx.speed,
        quorate: hw.cluster_quorate(),
        crs: hw.datacenter().crs.mode().to_string(),
        nodes,
        services,
        manager_status: manager_status_json(&ms),
        master,
        dir: ctx.dir.clone(),
        recording: ctx.recording,
    }
}

/// Where a service configured on `node` is: `running_on` from the run
/// state, `powered` the node's power switch, `fencing` whether the
/// service is in state `fence`.
pub fn placement(node: &str, running_on: Option<&str>, powered: bool, fencing: bool) -> Placement {
    match running_on {
        _ if fencing => Placement::Fenced,
        _ if !powered => Placement::NodeDown,
        Some(n) if n == node => Placement::Running,
        Some(_) => Placement::Elsewhere,
        None => Placement::NotRunning,
    }
}

/// The manager status as a JSON value (its canonical form, keys sorted).
pub fn manager_status_json(ms: &ManagerStatus) -> Value {
    serde_json::from_str(&ms.to_json()).unwrap_or(Value::Null)
}

/// The verbose service state of 06 §11.3 (shared with `ha-manager status`).
pub use crate::config::status::verbose_service_state as verbose_state;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::status::ServiceEntry;
    use crate::types::{OrUnknown, ServiceState};

    fn entry(state: ServiceState, running: bool) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(state)),
            running,
            ..ServiceEntry::default()
        }
    }

    #[test]
    fn nodes_show_their_agent_lock_and_services_their_real_place() {
        use crate::sim::hardware::NodeHardware;
        use crate::sim::scenario::Scenario;
        let mut s = Scenario::empty();
        let mut on = NodeHardware::off();
        on.power = true;
        on.network = true;
        s.nodes.insert("node1".into(), on);
        s.nodes.insert("node2".into(), NodeHardware::off());
        for (sid, node) in [("vm:1", "node1"), ("vm:2", "node2")] {
            s.services.insert(
                sid.into(),
                [("node", node), ("state", "started")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into(),
            );
        }
        let mut hw = Hardware::new(&s);
        hw.acquire_lock("ha_agent_node2_lock", "node2", 1000);
        hw.set_running("node1", "vm:1", true);
        let ctx = |now| Context {
            now,
            speed: 1.0,
            dir: "/d".into(),
            recording: false,
        };
        let snap = take(&hw, &DaemonFlags::new(), &ctx(1100));
        assert_eq!(snap.nodes[0].agent_lock, None);
        assert_eq!(
            snap.nodes[1].agent_lock,
            Some(AgentLock {
                owner: "node2".into(),
                expires_in: 21
            })
        );
        assert_eq!(snap.services[0].placement, Placement::Running);
        assert_eq!(snap.services[1].placement, Placement::NodeDown);
        // Takeable once strictly older than the lifetime.
        let later = take(&hw, &DaemonFlags::new(), &ctx(1121));
        assert_eq!(later.nodes[1].agent_lock.as_ref().unwrap().expires_in, 0);
        assert_eq!(
            hw.acquire_lock("ha_agent_node2_lock", "node1", 1120),
            crate::sim::hardware::LockOutcome::Denied
        );
        assert_eq!(
            hw.acquire_lock("ha_agent_node2_lock", "node1", 1121),
            crate::sim::hardware::LockOutcome::Acquired
        );
    }

    #[test]
    fn placements() {
        assert_eq!(placement("n1", Some("n1"), true, false), Placement::Running);
        assert_eq!(
            placement("n1", Some("n2"), true, false),
            Placement::Elsewhere
        );
        assert_eq!(placement("n1", None, true, false), Placement::NotRunning);
        assert_eq!(placement("n1", None, false, false), Placement::NodeDown);
        // An isolated node still runs its services while being fenced.
        assert_eq!(placement("n1", Some("n1"), true, true), Placement::Fenced);
        assert_eq!(placement("n1", None, false, true), Placement::Fenced);
    }

    #[test]
    fn verbose_states() {
        let n = Some("node1");
        assert_eq!(verbose_state(None, n, None), "deleting");
        assert_eq!(verbose_state(Some("ignored"), n, None), "ignored");
        assert_eq!(verbose_state(Some("started"), None, None), "not found");
        assert_eq!(verbose_state(Some("started"), n, None), "queued");
        let stopped = entry(ServiceState::Stopped, false);
        assert_eq!(
            verbose_state(Some("started"), n, Some(&stopped)),
            "starting"
        );
        assert_eq!(
            verbose_state(Some("disabled"), n, Some(&stopped)),
            "disabled"
        );
        assert_eq!(verbose_state(Some("stopped"), n, Some(&stopped)), "stopped");
        let up = entry(ServiceState::Started, true);
        assert_eq!(verbose_state(Some("started"), n, Some(&up)), "started");
        assert_eq!(verbose_state(Some("stopped"), n, Some(&up)), "stopping");
        let not_yet = entry(ServiceState::Started, false);
        assert_eq!(
            verbose_state(Some("stopped"), n, Some(&not_yet)),
            "starting"
        );
        let err = entry(ServiceState::Error, false);
        assert_eq!(
            verbose_state(Some("disabled"), n, Some(&err)),
            "clearing error flag"
        );
        assert_eq!(verbose_state(Some("started"), n, Some(&err)), "error");
        let fence = entry(ServiceState::Fence, false);
        assert_eq!(verbose_state(Some("started"), n, Some(&fence)), "fence");
    }
}
