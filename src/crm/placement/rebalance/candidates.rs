//! Balancing candidates (04 §8.5): where each bundle may go, and the
//! migrations the methods choose from.

use std::collections::{BTreeMap, BTreeSet};

use super::bundles::Bundles;
use super::view::{BalanceView, Migration};
use crate::config::status::ServiceEntry;
use crate::crm::placement::CompiledRules;
use crate::types::Sid;

/// A bundle with the nodes it may move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The bundle leader, the sid the motion is issued for.
    pub leader: Sid,
    /// Possible targets, sorted.
    pub targets: Vec<String>,
    /// The bundle members (leader included), sorted.
    pub members: Vec<Sid>,
}

/// The candidates of every bundle, leaders sorted (04 §8.5): the leader's
/// preferred node-affinity class (04 §2.1), minus the nodes its negative
/// partners occupy (04 §2.3), minus its current node.
///
/// Positive affinity is not applied: the bundle moves as one. Negative
/// partners of the other members are not looked at either — the implicit
/// rules of transformation T2 (04 §6.4) already relate them to the leader.
pub fn candidates(
    bundles: &Bundles,
    ss: &BTreeMap<Sid, ServiceEntry>,
    rules: &CompiledRules,
    online: &BTreeSet<String>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (leader, members) in bundles {
        let mut targets = rules.node_affinity_sets(leader, online).preferred;
        rules
            .resource_affinity(leader, ss, online)
            .apply_negative(&mut targets);
        if let Some(current) = ss.get(leader).and_then(|sd| sd.node.as_ref()) {
            targets.remove(current);
        }
        if !targets.is_empty() {
            out.push(Candidate {
                leader: leader.clone(),
                targets: targets.into_iter().collect(),
                members: members.clone(),
            });
        }
    }
    out
}

/// One migration per candidate target, in candidate order, each carrying
/// the summed statistics of its bundle (04 §8.5).
///
/// Every leader and member must be a stationary resource of the view on
/// the leader's node; otherwise the whole call fails with the `<error>` of
/// `unable to score best balancing migration - <error>`. A started service
/// whose node is offline (not yet fenced) therefore blocks rebalancing.
pub fn migrations(view: &BalanceView, candidates: &[Candidate]) -> Result<Vec<Migration>, String> {
    let mut out = Vec::new();
    for c in candidates {
        let leader = &c.leader;
        let source = match view.resources.get(leader) {
            None => {
                return Err(format!(
                    "leader '{leader}' is not present in the cluster usage"
                ))
            }
            Some(r) => match r.nodes.as_slice() {
                [node] => node,
                _ => return Err(format!("leader '{leader}' is non-stationary")),
            },
        };
        if !c.members.contains(leader) {
            return Err(format!(
                "leader '{leader}' is not a member of its own bundle"
            ));
        }
        let (mut cpu, mut mem) = (0.0, 0.0);
        for member in &c.members {
            let Some(r) = view.resources.get(member) else {
                return Err(format!(
                    "resource '{member}' is not present in the cluster usage"
                ));
            };
            let [node] = r.nodes.as_slice() else {
                return Err(format!("resource '{member}' is non-stationary"));
            };
            if node != source {
                return Err(format!("resource '{member}' is on other node than leader"));
            }
            cpu += r.cpu;
            mem += r.mem;
        }
        for target in &c.targets {
            out.push(Migration {
                sid: leader.clone(),
                source: source.clone(),
                target: target.clone(),
                cpu,
                mem,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::placement::weighted::PlacedResource;
    use crate::types::{OrUnknown, ServiceState};

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    fn started(node: &str) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(ServiceState::Started)),
            node: Some(node.into()),
            ..Default::default()
        }
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn bundle(members: &[&str]) -> (Sid, Vec<Sid>) {
        let m: Vec<Sid> = members.iter().map(|s| sid(s)).collect();
        (m[0].clone(), m)
    }

    #[test]
    fn targets_are_preferred_minus_negative_partners_minus_current() {
        let online = set(&["node1", "node2", "node3", "node4"]);
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:101"), started("node1"));
        ss.insert(sid("vm:102"), started("node1"));
        ss.insert(sid("vm:103"), started("node2"));
        ss.insert(sid("vm:104"), started("node4"));
        let mut rules = CompiledRules::default();
        // vm:101 prefers node1/node2 (priority 2) over node3 (1).
        rules.node_affinity.insert(
            sid("vm:101"),
            [("node1", 2), ("node2", 2), ("node3", 1)]
                .iter()
                .map(|(n, p)| (n.to_string(), *p))
                .collect(),
        );
        // vm:103 must stay away from vm:104 (on node4).
        rules.negative.insert(sid("vm:103"), [sid("vm:104")].into());
        rules.negative.insert(sid("vm:104"), [sid("vm:103")].into());
        let bundles: Bundles = [
            bundle(&["vm:101"]),
            bundle(&["vm:102"]),
            bundle(&["vm:103"]),
            bundle(&["vm:104"]),
        ]
        .into();
        let got = candidates(&bundles, &ss, &rules, &online);
        let want = vec![
            Candidate {
                leader: sid("vm:101"),
                targets: strs(&["node2"]),
                members: vec![sid("vm:101")],
            },
            Candidate {
                leader: sid("vm:102"),
                targets: strs(&["node2", "node3", "node4"]),
                members: vec![sid("vm:102")],
            },
            Candidate {
                leader: sid("vm:103"),
                targets: strs(&["node1", "node3"]),
                members: vec![sid("vm:103")],
            },
            Candidate {
                leader: sid("vm:104"),
                targets: strs(&["node1", "node3"]),
                members: vec![sid("vm:104")],
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn no_candidate_without_targets() {
        let online = set(&["node1", "node2"]);
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:101"), started("node1"));
        let mut rules = CompiledRules::default();
        rules
            .node_affinity
            .insert(sid("vm:101"), [("node1".to_string(), 0)].into());
        let bundles: Bundles = [bundle(&["vm:101"])].into();
        assert!(candidates(&bundles, &ss, &rules, &online).is_empty());
    }

    fn placed(nodes: &[&str], cpu: f64, mem: f64) -> PlacedResource {
        PlacedResource {
            nodes: strs(nodes),
            cpu,
            mem,
        }
    }

    #[test]
    fn migrations_carry_bundle_sums_per_target() {
        let mut view = BalanceView::default();
        view.resources
            .insert(sid("vm:101"), placed(&["node1"], 1.0, 10.0));
        view.resources
            .insert(sid("vm:102"), placed(&["node1"], 2.5, 5.0));
        view.resources
            .insert(sid("vm:103"), placed(&["node2"], 4.0, 1.0));
        let cands = vec![
            Candidate {
                leader: sid("vm:101"),
                targets: strs(&["node2", "node3"]),
                members: vec![sid("vm:101"), sid("vm:102")],
            },
            Candidate {
                leader: sid("vm:103"),
                targets: strs(&["node3"]),
                members: vec![sid("vm:103")],
            },
        ];
        let got: Vec<(String, String, String, f64, f64)> = migrations(&view, &cands)
            .unwrap()
            .into_iter()
            .map(|m| (m.sid.to_string(), m.source, m.target, m.cpu, m.mem))
            .collect();
        assert_eq!(
            got,
            [
                ("vm:101".into(), "node1".into(), "node2".into(), 3.5, 15.0),
                ("vm:101".into(), "node1".into(), "node3".into(), 3.5, 15.0),
                ("vm:103".into(), "node2".into(), "node3".into(), 4.0, 1.0),
            ]
        );
    }

    #[test]
    fn migration_errors() {
        let cand = |members: &[&str]| Candidate {
            leader: sid(members[0]),
            targets: strs(&["node3"]),
            members: members.iter().map(|s| sid(s)).collect(),
        };
        let mut view = BalanceView::default();
        let err = |view: &BalanceView, c: Candidate| migrations(view, &[c]).unwrap_err();
        assert_eq!(
            err(&view, cand(&["vm:1"])),
            "leader 'vm:1' is not present in the cluster usage"
        );
        view.resources
            .insert(sid("vm:1"), placed(&["node1", "node2"], 1.0, 1.0));
        assert_eq!(
            err(&view, cand(&["vm:1"])),
            "leader 'vm:1' is non-stationary"
        );
        view.resources
            .insert(sid("vm:1"), placed(&["node1"], 1.0, 1.0));
        assert_eq!(
            err(&view, cand(&["vm:1", "vm:2"])),
            "resource 'vm:2' is not present in the cluster usage"
        );
        view.resources
            .insert(sid("vm:2"), placed(&["node1", "node2"], 1.0, 1.0));
        assert_eq!(
            err(&view, cand(&["vm:1", "vm:2"])),
            "resource 'vm:2' is non-stationary"
        );
        view.resources
            .insert(sid("vm:2"), placed(&["node2"], 1.0, 1.0));
        assert_eq!(
            err(&view, cand(&["vm:1", "vm:2"])),
            "resource 'vm:2' is on other node than leader"
        );
        let mut c = cand(&["vm:2"]);
        c.leader = sid("vm:1");
        assert_eq!(
            err(&view, c),
            "leader 'vm:1' is not a member of its own bundle"
        );
    }
}
