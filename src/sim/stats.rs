//! Usage statistics of the simulated cluster for the scheduler (01 §6.11,
//! 04 §4.6): per-service usage from the statistics files and node
//! capacities from `hardware_status`, with the harness's `overcommitted`
//! warnings (id `hardware`, levels not truncated).

use std::collections::BTreeMap;

use super::hardware::Hardware;
use super::scenario::MIB;
use crate::env::{EnvError, EnvResult, NodeStats, ServiceStats, StatsKind, Usage};
use crate::types::{RequestedState, Sid};

/// Node CPUs when `hardware_status` has none (dynamic stats only).
const DEFAULT_NODE_MAXCPU: f64 = 24.0;
/// Node memory when `hardware_status` has none (dynamic stats only).
const DEFAULT_NODE_MAXMEM: f64 = 131_072.0 * MIB;

impl Hardware {
    /// Every configured service with its usage of the given kind.
    pub fn service_stats(&mut self, kind: StatsKind) -> EnvResult<BTreeMap<Sid, ServiceStats>> {
        let sc = self.service_config()?;
        let mut out = BTreeMap::new();
        for (sid, cd) in sc {
            let key = sid.as_str();
            let stat = self.static_stats.get(key).copied().unwrap_or_default();
            let usage = match kind {
                StatsKind::Basic => Usage::default(),
                StatsKind::Static => Usage {
                    maxcpu: stat.maxcpu,
                    maxmem: stat.maxmem,
                    ..Usage::default()
                },
                StatsKind::Dynamic => {
                    let dynamic = self.dynamic_stats.get(key).copied().unwrap_or_default();
                    let u = Usage {
                        maxcpu: stat.maxcpu,
                        maxmem: stat.maxmem,
                        cpu: dynamic.cpu,
                        mem: dynamic.mem,
                    };
                    // Missing values compare as 0.
                    let v = |x: Option<f64>| x.unwrap_or(0.0);
                    if v(u.cpu) > v(u.maxcpu) {
                        self.log(
                            "warning",
                            "hardware",
                            &format!("overcommitted cpu on '{sid}'"),
                        );
                    }
                    if v(u.mem) > v(u.maxmem) {
                        self.log(
                            "warning",
                            "hardware",
                            &format!("overcommitted mem on '{sid}'"),
                        );
                    }
                    u
                }
            };
            out.insert(
                sid,
                ServiceStats {
                    node: cd.node,
                    state: cd.state.to_string(),
                    running: cd.state == RequestedState::Started,
                    usage,
                },
            );
        }
        Ok(out)
    }

    /// Node capacities straight from `hardware_status` (absent stays absent).
    pub fn static_node_stats(&self) -> BTreeMap<String, NodeStats> {
        self.nodes
            .iter()
            .map(|(name, n)| {
                let s = NodeStats {
                    maxcpu: n.maxcpu,
                    maxmem: n.maxmem,
                    cpu: 0.0,
                    mem: 0.0,
                };
                (name.clone(), s)
            })
            .collect()
    }

    /// Node capacities (with defaults) and the load of the services that
    /// run on their configured node.
    pub fn dynamic_node_stats(&mut self) -> EnvResult<BTreeMap<String, NodeStats>> {
        let mut out: BTreeMap<String, NodeStats> = self
            .nodes
            .iter()
            .map(|(name, n)| {
                let s = NodeStats {
                    maxcpu: Some(n.maxcpu.unwrap_or(DEFAULT_NODE_MAXCPU)),
                    maxmem: Some(n.maxmem.unwrap_or(DEFAULT_NODE_MAXMEM)),
                    cpu: 0.0,
                    mem: 0.0,
                };
                (name.clone(), s)
            })
            .collect();
        // Upstream reads the service statistics again here rather than
        // reusing the caller's copy, so their per-service `overcommitted`
        // warnings are logged a second time in every dynamic round (01 §6.11).
        let services = self.service_stats(StatsKind::Dynamic)?;
        for (sid, st) in &services {
            if !self.is_running(&st.node, sid.as_str()) {
                continue;
            }
            let cpu = st
                .usage
                .cpu
                .ok_or_else(|| EnvError::new(format!("unknown cpu load for '{sid}'")))?;
            let mem = st
                .usage
                .mem
                .ok_or_else(|| EnvError::new(format!("unknown memory usage for '{sid}'")))?;
            let Some(n) = out.get_mut(&st.node) else {
                continue;
            };
            n.cpu += cpu;
            let over_cpu = n.cpu > n.maxcpu.unwrap_or(0.0);
            n.mem += mem;
            let over_mem = n.mem > n.maxmem.unwrap_or(0.0);
            if over_cpu {
                self.log(
                    "warning",
                    "hardware",
                    &format!("overcommitted cpu on '{}'", st.node),
                );
            }
            if over_mem {
                self.log(
                    "warning",
                    "hardware",
                    &format!("overcommitted mem on '{}'", st.node),
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::hardware::NodeHardware;
    use crate::sim::scenario::Scenario;

    fn hw() -> Hardware {
        let mut s = Scenario::empty();
        let mut n1 = NodeHardware::off();
        n1.maxcpu = Some(2.0);
        s.nodes.insert("node1".into(), n1);
        s.nodes.insert("node2".into(), NodeHardware::off());
        for (sid, node, state) in [
            ("vm:1", "node1", "started"),
            ("vm:2", "node1", "stopped"),
            ("vm:3", "node2", ""),
        ] {
            s.services.insert(
                sid.into(),
                [
                    ("node".to_string(), node.to_string()),
                    ("state".to_string(), state.to_string()),
                ]
                .into(),
            );
        }
        s.static_stats.insert(
            "vm:1".into(),
            Usage {
                maxcpu: Some(1.0),
                maxmem: Some(10.0),
                ..Usage::default()
            },
        );
        s.dynamic_stats.insert(
            "vm:1".into(),
            Usage {
                cpu: Some(1.5),
                mem: Some(5.0),
                ..Usage::default()
            },
        );
        s.dynamic_stats.insert(
            "vm:2".into(),
            Usage {
                cpu: Some(1.0),
                ..Usage::default()
            },
        );
        Hardware::new(&s)
    }

    #[test]
    fn service_stats_by_kind() {
        let mut h = hw();
        let basic = h.service_stats(StatsKind::Basic).unwrap();
        let v1: Sid = "vm:1".parse().unwrap();
        let v3: Sid = "vm:3".parse().unwrap();
        assert_eq!(basic[&v1].usage, Usage::default());
        assert!(basic[&v1].running);
        assert_eq!(basic[&v3].state, "disabled");
        assert!(!basic[&v3].running);
        let st = h.service_stats(StatsKind::Static).unwrap();
        assert_eq!(st[&v1].usage.maxcpu, Some(1.0));
        assert_eq!(st[&v3].usage, Usage::default());
        assert_eq!(h.log_text(), "");
        let dy = h.service_stats(StatsKind::Dynamic).unwrap();
        assert_eq!(dy[&v1].usage.cpu, Some(1.5));
        assert_eq!(dy[&v1].usage.maxmem, Some(10.0));
        assert_eq!(
            h.log_text(),
            "warning     0     hardware: overcommitted cpu on 'vm:1'\n\
             warning     0     hardware: overcommitted cpu on 'vm:2'\n"
        );
    }

    #[test]
    fn node_stats() {
        let mut h = hw();
        let st = h.static_node_stats();
        assert_eq!(st["node1"].maxcpu, Some(2.0));
        assert_eq!(st["node2"].maxcpu, None);
        let dy = h.dynamic_node_stats().unwrap();
        assert_eq!(dy["node2"].maxcpu, Some(24.0));
        assert_eq!(dy["node2"].maxmem, Some(137_438_953_472.0));
        assert_eq!(dy["node1"].cpu, 0.0);
        h.set_running("node1", "vm:1", true);
        h.set_running("node2", "vm:2", true);
        let dy = h.dynamic_node_stats().unwrap();
        assert_eq!(
            (dy["node1"].cpu, dy["node1"].mem),
            (1.5, 5.0),
            "vm:2 runs off its configured node"
        );
        h.set_running("node1", "vm:2", true);
        assert_eq!(
            h.dynamic_node_stats(),
            Err(EnvError::new("unknown memory usage for 'vm:2'"))
        );
        h.dynamic_stats.insert(
            "vm:2".into(),
            Usage {
                cpu: Some(1.0),
                mem: Some(1.0),
                ..Usage::default()
            },
        );
        let dy = h.dynamic_node_stats().unwrap();
        assert_eq!(dy["node1"].cpu, 2.5);
        // Every call re-reads the service statistics and repeats their
        // per-service warnings (01 §6.11); only the last call, with vm:2
        // running on node1 too, overcommits the node itself.
        let per_call = "warning     0     hardware: overcommitted cpu on 'vm:1'\n\
                        warning     0     hardware: overcommitted cpu on 'vm:2'\n";
        let expected = format!(
            "{}{per_call}\
             warning     0     hardware: overcommitted cpu on 'vm:1'\n\
             warning     0     hardware: overcommitted cpu on 'vm:2'\n\
             warning     0     hardware: overcommitted mem on 'vm:2'\n\
             warning     0     hardware: overcommitted cpu on 'node1'\n",
            per_call.repeat(2)
        );
        assert_eq!(h.log_text(), expected);
    }
}
