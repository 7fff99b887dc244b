//! The timeline (ours, beyond upstream): every change of a service's
//! verbose state or node, and every node power or network change, as an
//! event with its time, so the page can draw a failover as a picture.
//! Events are found by comparing consecutive snapshots.

use std::collections::BTreeMap;

use super::feed::TimelineEvent;
use super::snapshot::Snapshot;

/// What was seen in the previous snapshot.
#[derive(Debug, Default)]
pub struct Timeline {
    /// sid → (node, verbose state).
    services: BTreeMap<String, (String, String)>,
    /// node → state word.
    nodes: BTreeMap<String, String>,
}

/// A node's state on the timeline.
fn node_state(power: bool, network: bool) -> &'static str {
    match (power, network) {
        (false, _) => "off",
        (true, false) => "isolated",
        (true, true) => "on",
    }
}

impl Timeline {
    /// A timeline that has seen nothing.
    pub fn new() -> Self {
        Timeline::default()
    }

    /// The events between the previous snapshot and `snap` (their `seq`
    /// is assigned by the feed).
    pub fn sample(&mut self, snap: &Snapshot) -> Vec<TimelineEvent> {
        let mut out = Vec::new();
        let event = |kind: &'static str, subject: &str, node: &str, state: &str| TimelineEvent {
            seq: 0,
            t: snap.time,
            subject: subject.to_string(),
            kind,
            node: node.to_string(),
            state: state.to_string(),
        };
        for n in &snap.nodes {
            let st = node_state(n.power, n.network);
            if self.nodes.get(&n.name).map(String::as_str) != Some(st) {
                self.nodes.insert(n.name.clone(), st.to_string());
                out.push(event("node", &n.name, &n.name, st));
            }
        }
        let mut seen = BTreeMap::new();
        for s in &snap.services {
            let now = (s.node.clone(), s.state.clone());
            if self.services.get(&s.sid) != Some(&now) {
                out.push(event("service", &s.sid, &s.node, &s.state));
            }
            seen.insert(s.sid.clone(), now);
        }
        for (sid, (node, _)) in &self.services {
            if !seen.contains_key(sid) {
                out.push(event("service", sid, node, "deleted"));
            }
        }
        self.services = seen;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::live::snapshot::{NodeView, Placement, ServiceView};

    fn snap(time: i64, power: bool, services: &[(&str, &str, &str)]) -> Snapshot {
        Snapshot {
            time,
            clock: String::new(),
            speed: 1.0,
            master: None,
            quorate: true,
            crs: "basic".into(),
            nodes: vec![NodeView {
                name: "node1".into(),
                power,
                network: power,
                state: "-".into(),
                master: false,
                lrm: "-".into(),
                crm_running: power,
                lrm_running: power,
                agent_lock: None,
            }],
            services: services
                .iter()
                .map(|(sid, node, state)| ServiceView {
                    sid: sid.to_string(),
                    node: node.to_string(),
                    requested: "started".into(),
                    crm_state: "-".into(),
                    state: state.to_string(),
                    running_on: None,
                    placement: Placement::NotRunning,
                    maxcpu: None,
                    maxmem_mib: None,
                })
                .collect(),
            manager_status: serde_json::Value::Null,
            dir: String::new(),
            recording: false,
        }
    }

    #[test]
    fn only_changes_become_events() {
        let mut t = Timeline::new();
        let first = t.sample(&snap(1, true, &[("vm:1", "node1", "started")]));
        assert_eq!(first.len(), 2, "the initial picture");
        assert!(t
            .sample(&snap(2, true, &[("vm:1", "node1", "started")]))
            .is_empty());
        let ev = t.sample(&snap(3, false, &[("vm:1", "node1", "fence")]));
        let what: Vec<(&str, &str, i64)> = ev
            .iter()
            .map(|e| (e.subject.as_str(), e.state.as_str(), e.t))
            .collect();
        assert_eq!(what, [("node1", "off", 3), ("vm:1", "fence", 3)]);
        let ev = t.sample(&snap(4, false, &[("vm:1", "node2", "fence")]));
        assert_eq!(
            (ev[0].node.as_str(), ev[0].state.as_str()),
            ("node2", "fence")
        );
        let ev = t.sample(&snap(5, false, &[]));
        assert_eq!(
            (ev[0].subject.as_str(), ev[0].state.as_str()),
            ("vm:1", "deleted")
        );
    }
}
