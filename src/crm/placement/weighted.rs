//! The `static` and `dynamic` usage objects (04 §4.3–§4.5): node
//! capacities, the resources placed on the nodes with their CPU/memory
//! numbers, and TOPSIS start scores over the resulting cluster view.

use std::collections::BTreeMap;

use super::topsis::{self, Load};
use crate::env::{Env, NodeStats, ServiceStats, StatsKind};
use crate::types::Sid;

/// Which flavour of numbers the object works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Configured limits; every placed resource counts as started.
    Static,
    /// Measured load; node statistics already include running guests.
    Dynamic,
}

impl Flavour {
    /// `static` / `dynamic`, as the messages name the mode.
    pub fn word(self) -> &'static str {
        match self {
            Flavour::Static => "static",
            Flavour::Dynamic => "dynamic",
        }
    }
}

/// A node's capacity and (dynamic only) current load.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    maxcpu: f64,
    maxmem: f64,
    cpu: f64,
    mem: f64,
}

/// The numbers of one service.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ServiceLoad {
    maxcpu: f64,
    maxmem: f64,
    cpu: f64,
    mem: f64,
}

/// A resource added to the object: placed on one node (stationary) or on
/// both ends of a move.
#[derive(Debug, Clone, PartialEq)]
struct Resource {
    load: ServiceLoad,
    nodes: Vec<String>,
    running: bool,
}

/// A resource as auto-rebalancing sees it (04 §8.5): the nodes it is
/// placed on (one when stationary, source and target when moving) and the
/// CPU and memory a migration would shift — `maxcpu`/`maxmem` for
/// `static`, the measured `cpu`/`mem` for `dynamic`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedResource {
    /// Nodes the resource is placed on.
    pub nodes: Vec<String>,
    /// CPU moved along with it (cores).
    pub cpu: f64,
    /// Memory moved along with it (bytes).
    pub mem: f64,
}

/// A `static` or `dynamic` usage object.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedUsage {
    flavour: Flavour,
    nodes: BTreeMap<String, Node>,
    stats: BTreeMap<Sid, ServiceStats>,
    resources: BTreeMap<Sid, Resource>,
}

/// CPU a started service adds to a node: its own `maxcpu`, or the whole
/// node when it has no limit (0).
fn add_cpu(old: f64, node_maxcpu: f64, service_maxcpu: f64) -> f64 {
    if service_maxcpu == 0.0 {
        old + node_maxcpu
    } else {
        old + service_maxcpu
    }
}

impl WeightedUsage {
    /// Fetches the service and node statistics of the flavour and adds
    /// every online node (04 §4.1 step 2). The error text is the `<error>`
    /// of the fallback warning.
    pub fn init(
        env: &mut dyn Env,
        flavour: Flavour,
        online_nodes: &[String],
    ) -> Result<Self, String> {
        let word = flavour.word();
        let (kind, node_stats) = match flavour {
            Flavour::Static => (StatsKind::Static, env.get_static_node_stats()),
            Flavour::Dynamic => (StatsKind::Dynamic, env.get_dynamic_node_stats()),
        };
        let node_stats =
            node_stats.map_err(|e| format!("did not get {word} node usage information - {e}"))?;
        let stats = env.get_service_stats(kind).map_err(|e| e.to_string())?;
        let mut nodes = BTreeMap::new();
        for name in online_nodes {
            let st: &NodeStats = node_stats
                .get(name)
                .ok_or_else(|| format!("did not get {word} node usage information for '{name}'"))?;
            // Perl truthiness: absent or 0 both count as missing.
            let maxcpu = st.maxcpu.filter(|v| *v != 0.0).ok_or_else(|| {
                format!("{word} node usage information for '{name}' missing cpu count")
            })?;
            let maxmem = st.maxmem.filter(|v| *v != 0.0).ok_or_else(|| {
                format!("{word} node usage information for '{name}' missing memory")
            })?;
            // Capacities are integers to the scheduler (04 §4.3).
            let node = match flavour {
                Flavour::Static => Node {
                    maxcpu: maxcpu.trunc(),
                    maxmem: maxmem.trunc(),
                    cpu: 0.0,
                    mem: 0.0,
                },
                Flavour::Dynamic => Node {
                    maxcpu: maxcpu.trunc(),
                    maxmem: maxmem.trunc(),
                    cpu: st.cpu,
                    mem: st.mem.trunc(),
                },
            };
            nodes.insert(name.clone(), node);
        }
        Ok(WeightedUsage {
            flavour,
            nodes,
            stats,
            resources: BTreeMap::new(),
        })
    }

    /// Static or dynamic.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The service statistics fetched at init (also the non-HA guests).
    pub fn stats(&self) -> &BTreeMap<Sid, ServiceStats> {
        &self.stats
    }

    /// The numbers of a service from this round's statistics.
    fn service_load(&self, sid: &Sid) -> Result<ServiceLoad, String> {
        let word = self.flavour.word();
        let usage =
            self.stats.get(sid).map(|s| s.usage).ok_or_else(|| {
                format!("did not get {word} service usage information for '{sid}'")
            })?;
        let field = |v: Option<f64>, name: &str| v.ok_or_else(|| format!("missing field `{name}`"));
        let maxcpu = field(usage.maxcpu, "maxcpu")?;
        let maxmem = field(usage.maxmem, "maxmem")?.trunc();
        let (cpu, mem) = match self.flavour {
            Flavour::Static => (0.0, 0.0),
            Flavour::Dynamic => (field(usage.cpu, "cpu")?, field(usage.mem, "mem")?.trunc()),
        };
        Ok(ServiceLoad {
            maxcpu,
            maxmem,
            cpu,
            mem,
        })
    }

    /// Adds a service (04 §4.3): nothing without nodes, stationary with one
    /// node, moving with two. `running` matters only to `dynamic`.
    pub fn add(
        &mut self,
        sid: &Sid,
        current: Option<&str>,
        target: Option<&str>,
        running: bool,
    ) -> Result<(), String> {
        let nodes: Vec<String> = match (current, target) {
            (None, None) => return Ok(()),
            (Some(n), None) | (None, Some(n)) => vec![n.to_string()],
            (Some(c), Some(t)) if c == t => {
                return Err(format!(
                    "resource '{sid}' has the same current and target node '{c}'"
                ))
            }
            (Some(c), Some(t)) => vec![c.to_string(), t.to_string()],
        };
        if self.resources.contains_key(sid) {
            return Err(format!("resource '{sid}' already present"));
        }
        for n in &nodes {
            if !self.nodes.contains_key(n) {
                return Err(format!("node '{n}' not present"));
            }
        }
        let load = self.service_load(sid)?;
        self.resources.insert(
            sid.clone(),
            Resource {
                load,
                nodes,
                running,
            },
        );
        Ok(())
    }

    /// The measured `(cpu, mem)` of an added service (dynamic; 0 for
    /// static), the numbers auto-rebalancing moves (04 §8.5).
    pub fn current_load(&self, sid: &Sid) -> Option<(f64, f64)> {
        self.resources.get(sid).map(|r| (r.load.cpu, r.load.mem))
    }

    /// Removes a service from every node.
    pub fn remove(&mut self, sid: &Sid) {
        self.resources.remove(sid);
    }

    /// The cluster view start scores are computed on (04 §4.3 aggregated
    /// "every resource as started"; 04 §4.4 node statistics plus every
    /// resource still *starting*), node → load, sorted by node.
    fn view(&self) -> BTreeMap<&String, Load> {
        let mut view: BTreeMap<&String, Load> = self
            .nodes
            .iter()
            .map(|(n, node)| {
                (
                    n,
                    Load {
                        cpu: node.cpu,
                        maxcpu: node.maxcpu,
                        mem: node.mem,
                        maxmem: node.maxmem,
                    },
                )
            })
            .collect();
        for res in self.resources.values() {
            if self.flavour == Flavour::Dynamic && res.running {
                continue; // already inside the node statistics
            }
            for n in &res.nodes {
                if let Some(l) = view.get_mut(n) {
                    l.cpu = add_cpu(l.cpu, l.maxcpu, res.load.maxcpu);
                    l.mem += res.load.maxmem;
                }
            }
        }
        view
    }

    /// The per-node view auto-rebalancing measures imbalance on (04 §8.2),
    /// sorted by node: `static` uses the aggregated "every resource as
    /// started" view (04 §4.3), `dynamic` the node statistics as given —
    /// they already contain the running guests, and starting ones are not
    /// added either (04 §4.4).
    pub fn balance_view(&self) -> BTreeMap<String, Load> {
        match self.flavour {
            Flavour::Static => self
                .view()
                .into_iter()
                .map(|(n, l)| (n.clone(), l))
                .collect(),
            Flavour::Dynamic => self
                .nodes
                .iter()
                .map(|(n, node)| {
                    (
                        n.clone(),
                        Load {
                            cpu: node.cpu,
                            maxcpu: node.maxcpu,
                            mem: node.mem,
                            maxmem: node.maxmem,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Every added resource with its placement and the load a migration
    /// would move (04 §8.5), sorted by sid.
    pub fn placed_resources(&self) -> BTreeMap<Sid, PlacedResource> {
        self.resources
            .iter()
            .map(|(sid, res)| {
                // A static service without a CPU limit counts its node's
                // full CPU count in the view but moves 0 CPU (04 §8.5).
                let (cpu, mem) = match self.flavour {
                    Flavour::Static => (res.load.maxcpu, res.load.maxmem),
                    Flavour::Dynamic => (res.load.cpu, res.load.mem),
                };
                (
                    sid.clone(),
                    PlacedResource {
                        nodes: res.nodes.clone(),
                        cpu,
                        mem,
                    },
                )
            })
            .collect()
    }

    /// Start scores (04 §4.5): one TOPSIS alternative per online node, the
    /// service added as started on it; the negated scores, so lower is
    /// better as node selection expects.
    pub fn score(&self, sid: &Sid) -> Result<BTreeMap<String, f64>, String> {
        let svc = self.service_load(sid)?;
        let view = self.view();
        let names: Vec<&String> = view.keys().copied().collect();
        let base: Vec<Load> = view.values().copied().collect();
        let matrix: Vec<[f64; topsis::N_CRITERIA]> = (0..base.len())
            .map(|k| {
                let mut loads = base.clone();
                let l = &mut loads[k];
                l.cpu = add_cpu(l.cpu, l.maxcpu, svc.maxcpu);
                l.mem += svc.maxmem;
                topsis::alternative(&loads)
            })
            .collect();
        let scores = topsis::score(&matrix)?;
        Ok(names
            .into_iter()
            .zip(scores)
            .map(|(n, s)| (n.clone(), -s))
            .collect())
    }
}
