//! Compiled rules as placement consumes them (04 §2, §6.5): node-affinity
//! priorities per sid and the positive/negative resource-affinity
//! relations, plus the two lookups node selection is built from
//! (04 §2.1, §2.3).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};

use super::usage::used_nodes;
use crate::config::rules::{Affinity, RuleKind, RulesConfig};
use crate::config::status::ServiceEntry;
use crate::types::Sid;

/// Priority given to the nodes a non-strict node-affinity rule does not
/// list (04 §6.5): usable, but only when no listed node is online.
pub const NON_STRICT_FILL_PRIORITY: i64 = -1;

/// The compiled rules placement consumes (04 §2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledRules {
    /// sid → node → priority.
    pub node_affinity: BTreeMap<Sid, BTreeMap<String, i64>>,
    /// sid → sids that must share its node.
    pub positive: BTreeMap<Sid, BTreeSet<Sid>>,
    /// sid → sids that must not share its node.
    pub negative: BTreeMap<Sid, BTreeSet<Sid>>,
}

/// Result of the node-affinity lookup (04 §2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeAffinitySets {
    /// Online nodes the sid may run on at all.
    pub allowed: BTreeSet<String>,
    /// The online nodes of the best priority class.
    pub preferred: BTreeSet<String>,
}

/// Result of the resource-affinity lookup (04 §2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAffinityMaps {
    /// node → number of positive partners on (or moving to) it.
    pub together: BTreeMap<String, usize>,
    /// Nodes a negative partner occupies (current or target).
    pub separate: BTreeSet<String>,
}

impl ResourceAffinityMaps {
    /// allowed-by-affinity (04 §2.3): a positive partner on the node wins
    /// over a negative partner on the same node.
    pub fn allows(&self, node: &str) -> bool {
        self.together.get(node).is_some_and(|n| *n >= 1) || !self.separate.contains(node)
    }

    /// Removes every node in `separate` from `nodes` (04 §2.3 "apply
    /// negative").
    pub fn apply_negative(&self, nodes: &mut BTreeSet<String>) {
        nodes.retain(|n| !self.separate.contains(n));
    }

    /// Narrows `nodes` to the majority node of the positive partners that
    /// lie inside it (04 §2.3 "apply positive"); unchanged when no partner
    /// is on one of the nodes. Ties go to the smallest node name (04 §12.4),
    /// which the ascending map iteration with a strict `>` gives.
    pub fn apply_positive(&self, nodes: &mut BTreeSet<String>) {
        let mut best: Option<(&String, usize)> = None;
        for (node, count) in &self.together {
            if !nodes.contains(node) {
                continue;
            }
            if best.is_none_or(|(_, c)| *count > c) {
                best = Some((node, *count));
            }
        }
        if let Some((node, _)) = best {
            let node = node.clone();
            nodes.retain(|n| *n == node);
        }
    }
}

impl CompiledRules {
    /// Compiles the *enabled* rules of `rules` (04 §6.5) for the node list
    /// `nodes` (all nodes of the node status, 04 §6.7). The feasibility
    /// checker and the transformations (04 §6.3–§6.4) are expected to have
    /// run on `rules` already; disabled rules (any `disable` key, 04 §6.2)
    /// and null sections are skipped here.
    pub fn compile(rules: &RulesConfig, nodes: &[String]) -> CompiledRules {
        let mut out = CompiledRules::default();
        for (_, rule) in rules.sections() {
            if rule.is_disabled() {
                continue;
            }
            match &rule.kind {
                RuleKind::NodeAffinity {
                    nodes: prios,
                    strict,
                } => {
                    let mut effective = prios.clone();
                    if !strict.unwrap_or(false) {
                        for n in nodes {
                            effective
                                .entry(n.clone())
                                .or_insert(NON_STRICT_FILL_PRIORITY);
                        }
                    }
                    // C1 keeps a sid in at most one rule; should two remain,
                    // the later rule (in id order) wins, as upstream's last
                    // assignment does.
                    for sid in &rule.resources {
                        out.node_affinity.insert(sid.clone(), effective.clone());
                    }
                }
                RuleKind::ResourceAffinity { affinity } => {
                    let rel = match affinity {
                        Affinity::Positive => &mut out.positive,
                        Affinity::Negative => &mut out.negative,
                    };
                    for a in &rule.resources {
                        for b in &rule.resources {
                            if a != b {
                                rel.entry(a.clone()).or_default().insert(b.clone());
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The node-affinity lookup (04 §2.1) against the set of online nodes.
    pub fn node_affinity_sets(&self, sid: &Sid, online: &BTreeSet<String>) -> NodeAffinitySets {
        let Some(entry) = self.node_affinity.get(sid) else {
            return NodeAffinitySets {
                allowed: online.clone(),
                preferred: online.clone(),
            };
        };
        let mut allowed = BTreeSet::new();
        let mut by_prio: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for (node, prio) in entry {
            if online.contains(node) {
                allowed.insert(node.clone());
                by_prio.entry(*prio).or_default().insert(node.clone());
            }
        }
        let preferred = by_prio.pop_last().map(|(_, s)| s).unwrap_or_default();
        NodeAffinitySets { allowed, preferred }
    }

    /// The resource-affinity lookup (04 §2.3): where the sid's positive
    /// partners are (a moving partner counts only at its target) and which
    /// nodes its negative partners occupy.
    pub fn resource_affinity(
        &self,
        sid: &Sid,
        ss: &BTreeMap<Sid, ServiceEntry>,
        online: &BTreeSet<String>,
    ) -> ResourceAffinityMaps {
        let mut maps = ResourceAffinityMaps::default();
        for partner in self.positive.get(sid).into_iter().flatten() {
            let Some(sd) = ss.get(partner) else { continue };
            let (current, target) = used_nodes(sd, online);
            if let Some(node) = target.or(current) {
                *maps.together.entry(node.to_string()).or_default() += 1;
            }
        }
        for partner in self.negative.get(sid).into_iter().flatten() {
            let Some(sd) = ss.get(partner) else { continue };
            let (current, target) = used_nodes(sd, online);
            for node in [current, target].into_iter().flatten() {
                maps.separate.insert(node.to_string());
            }
        }
        maps
    }

    /// The compiled structure as upstream prints it in the rules checker
    /// test (04 §6.5): both top-level keys and both relation keys always
    /// present.
    pub fn to_json(&self) -> Json {
        let mut na = Map::new();
        for (sid, nodes) in &self.node_affinity {
            let nodes: Map<String, Json> = nodes
                .iter()
                .map(|(n, p)| (n.clone(), json!({ "priority": p })))
                .collect();
            na.insert(sid.to_string(), json!({ "nodes": Json::Object(nodes) }));
        }
        let rel = |r: &BTreeMap<Sid, BTreeSet<Sid>>| -> Json {
            let m: Map<String, Json> = r
                .iter()
                .map(|(a, bs)| {
                    let inner: Map<String, Json> =
                        bs.iter().map(|b| (b.to_string(), json!(1))).collect();
                    (a.to_string(), Json::Object(inner))
                })
                .collect();
            Json::Object(m)
        };
        json!({
            "node-affinity": Json::Object(na),
            "resource-affinity": {
                "negative": rel(&self.negative),
                "positive": rel(&self.positive),
            },
        })
    }
}

/// Compiles the enabled rules (04 §6.5); see [`CompiledRules::compile`].
pub fn compile(rules: &RulesConfig, nodes: &[String]) -> CompiledRules {
    CompiledRules::compile(rules, nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rules::RulesFormat;
    use crate::types::{OrUnknown, ServiceState};

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    fn nodes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn parse(text: &str) -> RulesConfig {
        let p = RulesFormat.parse("rules", text.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        p.value
    }

    fn entry(state: ServiceState, node: &str, target: Option<&str>) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(state)),
            node: Some(node.into()),
            target: target.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn compiles_enabled_rules_only() {
        let rules = parse(
            "node-affinity: rule-a\n\tresources vm:101\n\tnodes node1\n\n\
             node-affinity: rule-b\n\tresources vm:102\n\tnodes node2:2,node3\n\tstrict 1\n\n\
             node-affinity: rule-c\n\tresources vm:103\n\tnodes node2\n\tdisable 0\n\n\
             resource-affinity: rule-p\n\tresources vm:201,vm:202,vm:203\n\taffinity positive\n\n\
             resource-affinity: rule-n\n\tresources vm:201,vm:204\n\taffinity negative\n",
        );
        let c = compile(&rules, &nodes(&["node1", "node2", "node3"]));
        assert_eq!(
            c.node_affinity[&sid("vm:101")],
            [("node1", 0), ("node2", -1), ("node3", -1)]
                .iter()
                .map(|(n, p)| (n.to_string(), *p))
                .collect::<BTreeMap<_, _>>()
        );
        assert_eq!(c.node_affinity[&sid("vm:102")].len(), 2);
        assert!(!c.node_affinity.contains_key(&sid("vm:103")));
        assert_eq!(c.positive[&sid("vm:201")].len(), 2);
        assert!(!c.positive[&sid("vm:201")].contains(&sid("vm:201")));
        assert_eq!(
            c.negative[&sid("vm:204")],
            [sid("vm:201")].into_iter().collect()
        );
        let j = c.to_json();
        assert_eq!(
            j["node-affinity"]["vm:102"]["nodes"]["node2"]["priority"],
            json!(2)
        );
        assert_eq!(
            j["resource-affinity"]["negative"]["vm:201"]["vm:204"],
            json!(1)
        );
        let empty = CompiledRules::default().to_json();
        assert_eq!(
            empty,
            json!({"node-affinity": {}, "resource-affinity": {"negative": {}, "positive": {}}})
        );
    }

    #[test]
    fn node_affinity_lookup() {
        let rules =
            parse("node-affinity: rule-a\n\tresources vm:101\n\tnodes node1:2,node2:2,node3:1\n");
        let c = compile(&rules, &nodes(&["node1", "node2", "node3", "node4"]));
        let s = c.node_affinity_sets(&sid("vm:101"), &set(&["node1", "node3", "node4"]));
        assert_eq!(s.allowed, set(&["node1", "node3", "node4"]));
        assert_eq!(s.preferred, set(&["node1"]));
        let s = c.node_affinity_sets(&sid("vm:101"), &set(&["node4"]));
        assert_eq!(s.preferred, set(&["node4"]));
        let s = c.node_affinity_sets(&sid("vm:999"), &set(&["node4"]));
        assert_eq!(s.allowed, set(&["node4"]));
        let strict = compile(
            &parse("node-affinity: rule-a\n\tresources vm:1\n\tnodes node1\n\tstrict 1\n"),
            &nodes(&["node1", "node2"]),
        );
        let s = strict.node_affinity_sets(&sid("vm:1"), &set(&["node2"]));
        assert!(s.allowed.is_empty() && s.preferred.is_empty());
    }

    #[test]
    fn resource_affinity_lookup_and_filters() {
        let rules = parse(
            "resource-affinity: rule-p\n\tresources vm:1,vm:2,vm:3\n\taffinity positive\n\n\
             resource-affinity: rule-n\n\tresources vm:1,vm:4\n\taffinity negative\n",
        );
        let c = compile(&rules, &nodes(&["node1", "node2", "node3"]));
        let online = set(&["node1", "node2", "node3"]);
        let mut ss = BTreeMap::new();
        ss.insert(
            sid("vm:2"),
            entry(ServiceState::Migrate, "node2", Some("node1")),
        );
        ss.insert(sid("vm:3"), entry(ServiceState::Started, "node2", None));
        ss.insert(
            sid("vm:4"),
            entry(ServiceState::Relocate, "node3", Some("node2")),
        );
        let m = c.resource_affinity(&sid("vm:1"), &ss, &online);
        assert_eq!(
            m.together,
            [("node1".to_string(), 1), ("node2".to_string(), 1)].into()
        );
        assert_eq!(m.separate, set(&["node2", "node3"]));
        assert!(m.allows("node2") && m.allows("node1") && !m.allows("node3"));
        let mut p = set(&["node1", "node2", "node3"]);
        m.apply_negative(&mut p);
        assert_eq!(p, set(&["node1"]));
        let mut p = set(&["node1", "node2", "node3"]);
        m.apply_positive(&mut p);
        assert_eq!(p, set(&["node1"]), "tie goes to the smallest name");
        let mut p = set(&["node3"]);
        m.apply_positive(&mut p);
        assert_eq!(p, set(&["node3"]), "no partner inside: unchanged");
    }
}
