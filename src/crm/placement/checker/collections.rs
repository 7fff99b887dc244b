//! The views of the enabled rules every check and transformation works on
//! (04 §6.3 "collections") and the disjoint-positive-groups helper.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::rules::{Affinity, RuleKind, RulesConfig};
use crate::types::Sid;

/// An enabled node-affinity rule as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeAffinityView {
    /// The rule's resources.
    pub resources: BTreeSet<Sid>,
    /// Node → priority.
    pub nodes: BTreeMap<String, i64>,
}

impl NodeAffinityView {
    /// Whether the listed nodes carry more than one priority (04 §6.3 C5).
    pub fn has_multiple_priorities(&self) -> bool {
        let mut prios = self.nodes.values();
        match prios.next() {
            Some(first) => prios.any(|p| p != first),
            None => false,
        }
    }
}

/// The enabled rules split by kind, keyed by rule id (04 §6.3). Built
/// once before the checks, and again before each transformation (04 §6.4).
/// Disabled rules (04 §6.2) and null sections are never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Collections {
    /// All enabled node-affinity rules.
    pub node_affinity: BTreeMap<String, NodeAffinityView>,
    /// All enabled resource-affinity rules (resources only).
    pub resource_affinity: BTreeMap<String, BTreeSet<Sid>>,
    /// The positive part of `resource_affinity`.
    pub positive: BTreeMap<String, BTreeSet<Sid>>,
    /// The negative part of `resource_affinity`.
    pub negative: BTreeMap<String, BTreeSet<Sid>>,
}

impl Collections {
    /// Collects the enabled rules of `rules`.
    pub fn of(rules: &RulesConfig) -> Self {
        let mut c = Collections::default();
        for (id, rule) in rules.sections() {
            if rule.is_disabled() {
                continue;
            }
            match &rule.kind {
                RuleKind::NodeAffinity { nodes, .. } => {
                    c.node_affinity.insert(
                        id.clone(),
                        NodeAffinityView {
                            resources: rule.resources.clone(),
                            nodes: nodes.clone(),
                        },
                    );
                }
                RuleKind::ResourceAffinity { affinity } => {
                    c.resource_affinity
                        .insert(id.clone(), rule.resources.clone());
                    let split = match affinity {
                        Affinity::Positive => &mut c.positive,
                        Affinity::Negative => &mut c.negative,
                    };
                    split.insert(id.clone(), rule.resources.clone());
                }
            }
        }
        c
    }
}

/// One group of connected positive rules found by
/// [`disjoint_positive_groups`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PositiveGroup {
    /// The member rule ids, in join order.
    pub rule_ids: Vec<String>,
    /// The union of the members' resources.
    pub resources: BTreeSet<Sid>,
}

/// The "disjoint positive sets" helper of 04 §6.3, used by C4, C6 and the
/// merge transformation T1.
///
/// Rules are taken in rule-id order, stable-sorted by their smallest sid (a
/// rule without resources sorts first, as Perl's undefined smallest sid
/// compares as the empty string), and assigned greedily to the first group
/// they intersect. Groups are never merged afterwards, so a rule bridging
/// two groups only joins the first — an upstream quirk kept on purpose.
pub fn disjoint_positive_groups(positive: &BTreeMap<String, BTreeSet<Sid>>) -> Vec<PositiveGroup> {
    let mut rules: Vec<(&String, &BTreeSet<Sid>)> = positive.iter().collect();
    rules.sort_by(|a, b| a.1.first().cmp(&b.1.first()));
    let mut groups: Vec<PositiveGroup> = Vec::new();
    for (id, resources) in rules {
        match groups
            .iter_mut()
            .find(|g| !g.resources.is_disjoint(resources))
        {
            Some(group) => {
                group.rule_ids.push(id.clone());
                group.resources.extend(resources.iter().cloned());
            }
            None => groups.push(PositiveGroup {
                rule_ids: vec![id.clone()],
                resources: resources.clone(),
            }),
        }
    }
    groups
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::rules::RulesFormat;

    /// A set of sids from their texts.
    pub(crate) fn sids(v: &[&str]) -> BTreeSet<Sid> {
        v.iter().filter_map(|s| s.parse().ok()).collect()
    }

    /// Parses rules.cfg text that must be free of warnings.
    pub(crate) fn parse(text: &str) -> RulesConfig {
        let p = RulesFormat.parse("rules.cfg", text.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        p.value
    }

    fn positives(v: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<Sid>> {
        v.iter().map(|(id, s)| (id.to_string(), sids(s))).collect()
    }

    #[test]
    fn groups_follow_smallest_sid_then_rule_id() {
        // The merge example of 04 §6.4 T1: smallest sids 301, 302, 302,
        // 303, 307.
        let p = positives(&[
            ("merge-positive1", &["vm:301", "vm:302"]),
            ("merge-positive2", &["vm:303", "vm:305", "vm:307"]),
            ("merge-positive3", &["vm:302", "vm:303"]),
            ("merge-positive4", &["vm:302", "vm:304", "vm:306"]),
            ("merge-positive5", &["vm:307", "vm:308", "vm:309"]),
            ("other", &["vm:201", "vm:202"]),
        ]);
        let g = disjoint_positive_groups(&p);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].rule_ids, ["other"]);
        assert_eq!(
            g[1].rule_ids,
            [
                "merge-positive1",
                "merge-positive3",
                "merge-positive4",
                "merge-positive2",
                "merge-positive5"
            ]
        );
        assert_eq!(g[1].resources.len(), 9);
    }

    #[test]
    fn bridging_rule_joins_only_the_first_group() {
        let p = positives(&[
            ("a", &["vm:1", "vm:5"]),
            ("b", &["vm:2", "vm:3"]),
            ("c", &["vm:3", "vm:5"]),
        ]);
        let g = disjoint_positive_groups(&p);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].rule_ids, ["a", "c"]);
        assert_eq!(g[0].resources, sids(&["vm:1", "vm:3", "vm:5"]));
        assert_eq!(g[1].rule_ids, ["b"]);
    }

    #[test]
    fn collections_skip_disabled_rules() {
        let rules = parse(
            "node-affinity: n1\n\tresources vm:1\n\tnodes node1:1,node2:2\n\n\
             node-affinity: n2\n\tresources vm:2\n\tnodes node1\n\tdisable 0\n\n\
             resource-affinity: p1\n\tresources vm:1,vm:2\n\taffinity positive\n\n\
             resource-affinity: x1\n\tresources vm:1,vm:3\n\taffinity negative\n",
        );
        let c = Collections::of(&rules);
        assert_eq!(c.node_affinity.keys().collect::<Vec<_>>(), ["n1"]);
        assert!(c.node_affinity["n1"].has_multiple_priorities());
        assert_eq!(c.resource_affinity.len(), 2);
        assert_eq!(c.positive.keys().collect::<Vec<_>>(), ["p1"]);
        assert_eq!(c.negative.keys().collect::<Vec<_>>(), ["x1"]);
    }
}
