//! The cluster view the rebalancer works on (04 §8.2, §8.5): node loads
//! of the active mode and the resources placed on the nodes, plus the
//! expected loads after a migration.

use std::collections::BTreeMap;

use super::imbalance;
use crate::crm::placement::topsis::Load;
use crate::crm::placement::weighted::{PlacedResource, WeightedUsage};
use crate::types::Sid;

/// Node loads and placed resources of a `static`/`dynamic` usage object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BalanceView {
    /// Online node → load, sorted by node (04 §8.2 view of the mode).
    pub nodes: BTreeMap<String, Load>,
    /// Every resource the usage object holds.
    pub resources: BTreeMap<Sid, PlacedResource>,
}

/// One possible move: a bundle leader from its node to a target, carrying
/// the summed statistics of the bundle (04 §8.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The bundle leader.
    pub sid: Sid,
    /// The leader's current node.
    pub source: String,
    /// The node to move to.
    pub target: String,
    /// Bundle CPU moved (cores).
    pub cpu: f64,
    /// Bundle memory moved (bytes).
    pub mem: f64,
}

impl BalanceView {
    /// The view of a usage object.
    pub fn of(w: &WeightedUsage) -> Self {
        BalanceView {
            nodes: w.balance_view(),
            resources: w.placed_resources(),
        }
    }

    /// The current imbalance (04 §8.2).
    pub fn imbalance(&self) -> Result<f64, String> {
        imbalance::imbalance(self.nodes.values())
    }

    /// The node loads after `m` (04 §8.5), in node order: the bundle's
    /// CPU and memory leave the source (each clamped at 0) and arrive on
    /// the target.
    pub fn expected_loads(&self, m: &Migration) -> Vec<Load> {
        self.nodes
            .iter()
            .map(|(node, l)| {
                let mut l = *l;
                if *node == m.source {
                    l.cpu = (l.cpu - m.cpu).max(0.0);
                    l.mem = (l.mem - m.mem).max(0.0);
                }
                if *node == m.target {
                    l.cpu += m.cpu;
                    l.mem += m.mem;
                }
                l
            })
            .collect()
    }

    /// The imbalance after `m`, truncated as both methods report it
    /// (04 §8.6, §8.7).
    pub fn expected_imbalance(&self, m: &Migration) -> Result<f64, String> {
        imbalance::imbalance(&self.expected_loads(m)).map(imbalance::truncate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    #[test]
    fn expected_loads_move_and_clamp() {
        let mut view = BalanceView::default();
        for (n, cpu, mem) in [("n1", 1.0, 4.0), ("n2", 2.0, 0.0), ("n3", 0.5, 1.0)] {
            view.nodes.insert(
                n.into(),
                Load {
                    cpu,
                    maxcpu: 8.0,
                    mem,
                    maxmem: 16.0,
                },
            );
        }
        let m = Migration {
            sid: sid("vm:1"),
            source: "n1".into(),
            target: "n2".into(),
            cpu: 3.0,
            mem: 2.0,
        };
        let after: Vec<(f64, f64)> = view
            .expected_loads(&m)
            .iter()
            .map(|l| (l.cpu, l.mem))
            .collect();
        assert_eq!(after, [(0.0, 2.0), (5.0, 2.0), (0.5, 1.0)]);
    }
}
