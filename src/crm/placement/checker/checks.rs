//! The seven feasibility checks C1–C7 of 04 §6.3, each yielding its
//! conflicts in the spec's sorted order, and their collection into errors.

use std::collections::{BTreeMap, BTreeSet};

use super::collections::{disjoint_positive_groups, Collections};
use crate::types::Sid;

/// Per rule id, per option, the error messages in the order they were
/// found (04 §6.3). Every checker message is filed under `resources`.
pub type RuleErrors = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The option every checker error is filed under (04 §6.3).
pub const ERROR_OPTION: &str = "resources";

/// One conflict: the rule it is reported for and the message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The rule to drop.
    pub rule_id: String,
    /// The reason, without the `Drop rule …` frame.
    pub message: String,
}

/// The kind a conflict is sorted by (04 §6.3: "sorted by (kind, rule
/// id)"). Upstream sorts the kind names as strings; the declaration order
/// here is their byte order (`negative` < `node-affinity` < `positive` <
/// `resource-affinity`), which a unit test pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Negative,
    NodeAffinity,
    Positive,
    ResourceAffinity,
}

/// A check: the collections and the node list in, sorted conflicts out.
pub type Check = fn(&Collections, &[String]) -> Vec<Conflict>;

/// The checks in the fixed order of 04 §6.3 (node-affinity, then
/// resource-affinity, then global).
pub const CHECKS: [Check; 7] = [
    single_node_affinity_per_resource,
    at_least_two_resources,
    negative_not_larger_than_cluster,
    positive_negative_share_two,
    no_multi_priority_node_affinity,
    one_node_affinity_per_positive_group,
    negative_rules_need_enough_nodes,
];

/// Runs every check and files the conflicts (04 §6.3): per rule id, in
/// check order, each check's conflicts in its sorted order.
pub fn feasibility_errors(c: &Collections, nodes: &[String]) -> RuleErrors {
    let mut errors = RuleErrors::new();
    for check in CHECKS {
        for Conflict { rule_id, message } in check(c, nodes) {
            errors
                .entry(rule_id)
                .or_default()
                .entry(ERROR_OPTION.to_string())
                .or_default()
                .push(message);
        }
    }
    errors
}

/// Sorts (kind, rule id, message) triples by kind and rule id — stable, so
/// duplicates keep their relative order — and drops the kind.
fn sorted_by_kind(mut v: Vec<(Kind, String, &str)>) -> Vec<Conflict> {
    v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    v.into_iter()
        .map(|(_, rule_id, message)| Conflict {
            rule_id,
            message: message.to_string(),
        })
        .collect()
}

/// C1: a sid in two or more node-affinity rules makes every such rule
/// conflict, once per shared sid; sorted by (rule id, sid).
pub fn single_node_affinity_per_resource(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    let mut by_sid: BTreeMap<&Sid, Vec<&String>> = BTreeMap::new();
    for (id, rule) in &c.node_affinity {
        for sid in &rule.resources {
            by_sid.entry(sid).or_default().push(id);
        }
    }
    let mut pairs: Vec<(&String, &Sid)> = by_sid
        .iter()
        .filter(|(_, ids)| ids.len() >= 2)
        .flat_map(|(sid, ids)| ids.iter().map(move |id| (*id, *sid)))
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(id, sid)| Conflict {
            rule_id: id.clone(),
            message: format!("resource '{sid}' is already used in another node affinity rule"),
        })
        .collect()
}

/// C2: resource-affinity rules with fewer than two resources; by rule id.
pub fn at_least_two_resources(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    c.resource_affinity
        .iter()
        .filter(|(_, res)| res.len() < 2)
        .map(|(id, _)| Conflict {
            rule_id: id.clone(),
            message: "rule is ineffective as there are less than two resources".into(),
        })
        .collect()
}

/// C3: negative rules with more resources than the node list has nodes.
pub fn negative_not_larger_than_cluster(c: &Collections, nodes: &[String]) -> Vec<Conflict> {
    c.negative
        .iter()
        .filter(|(_, res)| res.len() > nodes.len())
        .map(|(id, _)| Conflict {
            rule_id: id.clone(),
            message: "rule defines more resources than available nodes".into(),
        })
        .collect()
}

/// C4: a disjoint positive group and a negative rule sharing two or more
/// sids conflict — the negative rule and every rule of the group, once per
/// such pair (duplicates kept).
pub fn positive_negative_share_two(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    let mut v = Vec::new();
    for group in disjoint_positive_groups(&c.positive) {
        for (neg_id, neg) in &c.negative {
            if group.resources.intersection(neg).nth(1).is_none() {
                continue;
            }
            for pos_id in &group.rule_ids {
                v.push((
                    Kind::Positive,
                    pos_id.clone(),
                    "rule shares two or more resources with a negative resource affinity rule",
                ));
            }
            v.push((
                Kind::Negative,
                neg_id.clone(),
                "rule shares two or more resources with a positive resource affinity rule",
            ));
        }
    }
    sorted_by_kind(v)
}

/// C5: a resource-affinity rule whose "paired" node-affinity rules (those
/// sharing a sid with it) include one with several priorities conflicts,
/// together with every paired rule — even the single-priority ones
/// (upstream quirk, kept).
pub fn no_multi_priority_node_affinity(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    let mut v = Vec::new();
    for (ra_id, ra) in &c.resource_affinity {
        let paired: Vec<(&String, bool)> = c
            .node_affinity
            .iter()
            .filter(|(_, na)| !na.resources.is_disjoint(ra))
            .map(|(id, na)| (id, na.has_multiple_priorities()))
            .collect();
        if !paired.iter().any(|(_, multi)| *multi) {
            continue;
        }
        for (na_id, _) in paired {
            v.push((
                Kind::NodeAffinity,
                na_id.clone(),
                "resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities",
            ));
        }
        v.push((
            Kind::ResourceAffinity,
            ra_id.clone(),
            "resources are in node affinity rules with multiple priorities",
        ));
    }
    sorted_by_kind(v)
}

/// C6: a disjoint positive group touching two or more node-affinity rules
/// conflicts — every rule of the group and every such node-affinity rule.
pub fn one_node_affinity_per_positive_group(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    let mut v = Vec::new();
    for group in disjoint_positive_groups(&c.positive) {
        let paired: Vec<&String> = c
            .node_affinity
            .iter()
            .filter(|(_, na)| !na.resources.is_disjoint(&group.resources))
            .map(|(id, _)| id)
            .collect();
        if paired.len() < 2 {
            continue;
        }
        for na_id in paired {
            v.push((
                Kind::NodeAffinity,
                na_id.clone(),
                "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already",
            ));
        }
        for pos_id in &group.rule_ids {
            v.push((
                Kind::Positive,
                pos_id.clone(),
                "resources are in multiple node affinity rules",
            ));
        }
    }
    sorted_by_kind(v)
}

/// C7: for a negative rule, the node-affinity rules sharing its sids must
/// list (together, any priority or strictness) at least as many nodes as
/// there are shared sids; otherwise the negative rule and all those
/// node-affinity rules conflict.
pub fn negative_rules_need_enough_nodes(c: &Collections, _nodes: &[String]) -> Vec<Conflict> {
    let mut v = Vec::new();
    for (neg_id, neg) in &c.negative {
        let mut allowed: BTreeSet<&String> = BTreeSet::new();
        let mut located: BTreeSet<&Sid> = BTreeSet::new();
        let mut paired: Vec<&String> = Vec::new();
        for (na_id, na) in &c.node_affinity {
            let shared: Vec<&Sid> = na.resources.intersection(neg).collect();
            if shared.is_empty() {
                continue;
            }
            located.extend(shared);
            allowed.extend(na.nodes.keys());
            paired.push(na_id);
        }
        if allowed.len() >= located.len() {
            continue;
        }
        for na_id in paired {
            v.push((
                Kind::NodeAffinity,
                na_id.clone(),
                "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources",
            ));
        }
        v.push((
            Kind::Negative,
            neg_id.clone(),
            "two or more resources are restricted to less nodes than available to the resources",
        ));
    }
    sorted_by_kind(v)
}

#[cfg(test)]
mod tests {
    use super::super::collections::tests::parse;
    use super::*;

    fn nodes3() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn run(check: Check, text: &str) -> Vec<(String, String)> {
        let c = Collections::of(&parse(text));
        check(&c, &nodes3())
            .into_iter()
            .map(|x| (x.rule_id, x.message))
            .collect()
    }

    fn ids(v: &[(String, String)]) -> Vec<&str> {
        v.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn kind_order_is_the_byte_order_of_the_names() {
        let names = [
            (Kind::Negative, "negative"),
            (Kind::NodeAffinity, "node-affinity"),
            (Kind::Positive, "positive"),
            (Kind::ResourceAffinity, "resource-affinity"),
        ];
        for a in names {
            for b in names {
                assert_eq!(a.0.cmp(&b.0), a.1.cmp(b.1));
            }
        }
    }

    #[test]
    fn c1_every_rule_sharing_a_sid() {
        let v = run(
            single_node_affinity_per_resource,
            "node-affinity: r3\n\tresources vm:201,vm:203\n\tnodes node1\n\n\
             node-affinity: r1\n\tresources vm:201,vm:202\n\tnodes node1\n\n\
             node-affinity: r2\n\tresources vm:202\n\tnodes node1\n\n\
             node-affinity: ok\n\tresources vm:300\n\tnodes node1\n\n\
             node-affinity: off\n\tresources vm:300\n\tnodes node1\n\tdisable\n",
        );
        assert_eq!(ids(&v), ["r1", "r1", "r2", "r3"]);
        assert_eq!(
            v[0].1,
            "resource 'vm:201' is already used in another node affinity rule"
        );
        assert_eq!(
            v[1].1.as_str(),
            "resource 'vm:202' is already used in another node affinity rule"
        );
    }

    #[test]
    fn c2_both_affinities() {
        let v = run(
            at_least_two_resources,
            "resource-affinity: rb\n\tresources vm:1\n\taffinity positive\n\n\
             resource-affinity: ra\n\tresources vm:1\n\taffinity negative\n\n\
             resource-affinity: rc\n\tresources vm:1,vm:2\n\taffinity negative\n",
        );
        assert_eq!(ids(&v), ["ra", "rb"]);
        assert_eq!(
            v[0].1,
            "rule is ineffective as there are less than two resources"
        );
    }

    #[test]
    fn c3_negative_rules_larger_than_the_node_list() {
        let v = run(
            negative_not_larger_than_cluster,
            "resource-affinity: four\n\tresources vm:1,vm:2,vm:3,vm:4\n\taffinity negative\n\n\
             resource-affinity: three\n\tresources vm:1,vm:2,vm:3\n\taffinity negative\n\n\
             resource-affinity: pos\n\tresources vm:1,vm:2,vm:3,vm:4\n\taffinity positive\n",
        );
        assert_eq!(ids(&v), ["four"]);
        assert_eq!(v[0].1, "rule defines more resources than available nodes");
    }

    #[test]
    fn c4_duplicates_kept_and_negatives_first() {
        let v = run(
            positive_negative_share_two,
            "resource-affinity: keep-apart1\n\tresources vm:102,vm:103\n\taffinity negative\n\n\
             resource-affinity: keep-apart2\n\tresources vm:102,vm:104,vm:106\n\taffinity negative\n\n\
             resource-affinity: stick-together1\n\tresources vm:101,vm:102,vm:103,vm:104,vm:106\n\taffinity positive\n\n\
             resource-affinity: fine\n\tresources vm:101,vm:200\n\taffinity negative\n",
        );
        assert_eq!(
            ids(&v),
            [
                "keep-apart1",
                "keep-apart2",
                "stick-together1",
                "stick-together1"
            ]
        );
        assert_eq!(
            v[0].1,
            "rule shares two or more resources with a positive resource affinity rule"
        );
        assert_eq!(
            v[2].1,
            "rule shares two or more resources with a negative resource affinity rule"
        );
    }

    #[test]
    fn c4_positive_group_split_over_rules() {
        let v = run(
            positive_negative_share_two,
            "resource-affinity: s1\n\tresources vm:201,vm:202\n\taffinity positive\n\n\
             resource-affinity: s2\n\tresources vm:202,vm:203\n\taffinity positive\n\n\
             resource-affinity: n1\n\tresources vm:201,vm:203\n\taffinity negative\n",
        );
        assert_eq!(ids(&v), ["n1", "s1", "s2"]);
    }

    #[test]
    fn c5_flags_every_paired_rule() {
        let v = run(
            no_multi_priority_node_affinity,
            "node-affinity: multi\n\tresources vm:1\n\tnodes node1:1,node2:2\n\n\
             node-affinity: single\n\tresources vm:2\n\tnodes node3:5\n\n\
             node-affinity: elsewhere\n\tresources vm:9\n\tnodes node1:1,node2:2\n\n\
             resource-affinity: apart\n\tresources vm:1,vm:2\n\taffinity negative\n\n\
             resource-affinity: same-prios\n\tresources vm:2,vm:3\n\taffinity positive\n",
        );
        assert_eq!(ids(&v), ["multi", "single", "apart"]);
        assert_eq!(
            v[0].1,
            "resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities"
        );
        assert_eq!(
            v[2].1,
            "resources are in node affinity rules with multiple priorities"
        );
    }

    #[test]
    fn c5_single_priorities_may_differ_between_rules() {
        let v = run(
            no_multi_priority_node_affinity,
            "node-affinity: na-a\n\tresources vm:301\n\tnodes node1:1\n\n\
             node-affinity: na-b\n\tresources vm:302\n\tnodes node2:2\n\n\
             resource-affinity: ra\n\tresources vm:301,vm:302\n\taffinity negative\n",
        );
        assert!(v.is_empty());
    }

    #[test]
    fn c6_group_touching_two_node_affinity_rules() {
        let v = run(
            one_node_affinity_per_positive_group,
            "node-affinity: na1\n\tresources vm:1\n\tnodes node1\n\n\
             node-affinity: na2\n\tresources vm:3\n\tnodes node2\n\n\
             resource-affinity: p1\n\tresources vm:1,vm:2\n\taffinity positive\n\n\
             resource-affinity: p2\n\tresources vm:2,vm:3\n\taffinity positive\n\n\
             resource-affinity: p3\n\tresources vm:7,vm:8\n\taffinity positive\n",
        );
        assert_eq!(ids(&v), ["na1", "na2", "p1", "p2"]);
        assert_eq!(v[0].1, "at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already");
        assert_eq!(v[2].1, "resources are in multiple node affinity rules");
    }

    #[test]
    fn c7_counts_listed_nodes_against_shared_sids() {
        let v = run(
            negative_rules_need_enough_nodes,
            "node-affinity: na1\n\tresources vm:1\n\tnodes node1\n\tstrict 1\n\n\
             node-affinity: na2\n\tresources vm:2,vm:3\n\tnodes node1:2\n\n\
             node-affinity: na3\n\tresources vm:5\n\tnodes node1,node2\n\n\
             resource-affinity: apart\n\tresources vm:1,vm:2\n\taffinity negative\n\n\
             resource-affinity: ok\n\tresources vm:5,vm:6\n\taffinity negative\n",
        );
        assert_eq!(ids(&v), ["apart", "na1", "na2"]);
        assert_eq!(
            v[0].1,
            "two or more resources are restricted to less nodes than available to the resources"
        );
        assert_eq!(v[1].1, "at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources");
    }

    #[test]
    fn errors_per_rule_in_check_order() {
        let c = Collections::of(&parse(
            "node-affinity: na\n\tresources vm:1\n\tnodes node1:1,node2:2\n\n\
             resource-affinity: ra\n\tresources vm:1\n\taffinity negative\n",
        ));
        let e = feasibility_errors(&c, &nodes3());
        assert_eq!(e.keys().collect::<Vec<_>>(), ["na", "ra"]);
        assert_eq!(
            e["ra"][ERROR_OPTION],
            [
                "rule is ineffective as there are less than two resources",
                "resources are in node affinity rules with multiple priorities"
            ]
        );
    }
}
