//! The transformations T1–T3 of 04 §6.4, applied in order to the pruned
//! rule set, each on freshly collected enabled rules.

use std::collections::{BTreeMap, BTreeSet};

use super::collections::{disjoint_positive_groups, Collections};
use crate::config::rules::{Affinity, Rule, RuleKind, RulesConfig};
use crate::types::Sid;

/// Prefix of the rules T1 creates.
pub const MERGED_PREFIX: &str = "_merged-";
/// Prefix of the rules T2 creates.
pub const IMPLICIT_NEGATIVE_PREFIX: &str = "_implicit-negative-";

/// Runs T1, T2 and T3 in order; the collections are recomputed before
/// each one (04 §6.4).
pub fn apply_all(rules: &mut RulesConfig) {
    let c = Collections::of(rules);
    merge_connected_positive_rules(rules, &c);
    let c = Collections::of(rules);
    infer_implicit_negative_rules(rules, &c);
    let c = Collections::of(rules);
    inherit_node_affinity(rules, &c);
}

/// A generated resource-affinity rule: only `type`, `affinity` and
/// `resources` (04 §6.6 — no `disable`, `comment`).
fn generated(affinity: Affinity, resources: BTreeSet<Sid>) -> Rule {
    Rule {
        resources,
        disable: None,
        comment: None,
        kind: RuleKind::ResourceAffinity { affinity },
    }
}

/// The next-ordinal quirk (06 §5.5): the *smallest* existing order number
/// plus one, or 1 when there is none.
pub fn next_ordinal(rules: &RulesConfig) -> u64 {
    rules.order.values().min().map_or(1, |m| m + 1)
}

/// T1: every disjoint positive group with two or more rules becomes one
/// rule `_merged-<ids joined by ->` (join order) carrying the order number
/// of the group's first rule; the group's rules are deleted.
pub fn merge_connected_positive_rules(rules: &mut RulesConfig, c: &Collections) {
    for group in disjoint_positive_groups(&c.positive) {
        if group.rule_ids.len() < 2 {
            continue;
        }
        let id = format!("{MERGED_PREFIX}{}", group.rule_ids.join("-"));
        let order = group
            .rule_ids
            .first()
            .and_then(|first| rules.order.get(first).copied());
        for old in &group.rule_ids {
            rules.ids.remove(old);
            rules.order.remove(old);
        }
        rules.ids.insert(
            id.clone(),
            Some(generated(Affinity::Positive, group.resources)),
        );
        // A rule built in memory may lack an order number; then so does
        // the merged rule (the writer assigns one, 06 §2.6).
        if let Some(order) = order {
            rules.order.insert(id, order);
        }
    }
}

/// T2: for every positive rule `P` (sorted by id), every sid `c` that a
/// negative rule separates from some of P's sids is made explicitly
/// separate from the rest of them, one two-sid rule
/// `_implicit-negative-<P>-<s>-<c>` per missing pair, with the next ordinal.
pub fn infer_implicit_negative_rules(rules: &mut RulesConfig, c: &Collections) {
    for (pos_id, positive) in &c.positive {
        // outside sid → P's sids it is already separated from
        let mut sep: BTreeMap<&Sid, BTreeSet<&Sid>> = BTreeMap::new();
        for negative in c.negative.values() {
            for s in negative.intersection(positive) {
                for other in negative {
                    if other != s {
                        sep.entry(other).or_default().insert(s);
                    }
                }
            }
        }
        for (other, separated) in &sep {
            for s in positive {
                if separated.contains(s) {
                    continue;
                }
                let id = format!("{IMPLICIT_NEGATIVE_PREFIX}{pos_id}-{s}-{other}");
                let resources: BTreeSet<Sid> = [s.clone(), (*other).clone()].into();
                let order = next_ordinal(rules);
                rules
                    .ids
                    .insert(id.clone(), Some(generated(Affinity::Negative, resources)));
                rules.order.insert(id, order);
            }
        }
    }
}

/// T3: every positive rule's sids are added to the first (sorted by id)
/// node-affinity rule sharing a sid with it; nodes and strictness stay.
///
/// The search looks at the live rules, so a rule widened for one positive
/// rule is seen widened by the next — as upstream, whose collections hold
/// references to the very rule objects it modifies.
pub fn inherit_node_affinity(rules: &mut RulesConfig, c: &Collections) {
    for positive in c.positive.values() {
        let target = c.node_affinity.keys().find(|id| {
            rules
                .get(id)
                .is_some_and(|r| !r.resources.is_disjoint(positive))
        });
        let Some(target) = target else { continue };
        if let Some(Some(rule)) = rules.ids.get_mut(target) {
            rule.resources.extend(positive.iter().cloned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::collections::tests::{parse, sids};
    use super::*;

    fn ids(r: &RulesConfig) -> Vec<&str> {
        r.ids.keys().map(String::as_str).collect()
    }

    #[test]
    fn next_ordinal_is_smallest_plus_one() {
        let mut r = RulesConfig::default();
        assert_eq!(next_ordinal(&r), 1);
        r.order.insert("a".into(), 3);
        r.order.insert("b".into(), 5);
        assert_eq!(next_ordinal(&r), 4);
    }

    #[test]
    fn t1_merges_groups_and_keeps_the_first_order() {
        let mut r = parse(
            "resource-affinity: n1\n\tresources vm:101,vm:102\n\taffinity negative\n\n\
             resource-affinity: n2\n\tresources vm:102,vm:103\n\taffinity negative\n\n\
             resource-affinity: rb\n\tresources vm:2,vm:3\n\taffinity positive\n\n\
             resource-affinity: ra\n\tresources vm:3,vm:4\n\taffinity positive\n\n\
             resource-affinity: alone\n\tresources vm:8,vm:9\n\taffinity positive\n\n\
             resource-affinity: off\n\tresources vm:4,vm:5\n\taffinity positive\n\tdisable\n",
        );
        let c = Collections::of(&r);
        merge_connected_positive_rules(&mut r, &c);
        assert_eq!(ids(&r), ["_merged-rb-ra", "alone", "n1", "n2", "off"]);
        assert_eq!(r.order["_merged-rb-ra"], 3);
        assert!(!r.order.contains_key("ra") && !r.order.contains_key("rb"));
        let m = r.get("_merged-rb-ra").unwrap();
        assert_eq!(m.resources, sids(&["vm:2", "vm:3", "vm:4"]));
        assert_eq!(
            m.to_json(),
            serde_json::json!({"type": "resource-affinity", "affinity": "positive",
                "resources": {"vm:2": 1, "vm:3": 1, "vm:4": 1}})
        );
    }

    #[test]
    fn t2_adds_the_missing_pairs() {
        let mut r = parse(
            "resource-affinity: first\n\tresources vm:1,vm:2\n\taffinity negative\n\n\
             resource-affinity: pos\n\tresources vm:301,vm:302,vm:303\n\taffinity positive\n\n\
             resource-affinity: n1\n\tresources vm:303,vm:304\n\taffinity negative\n\n\
             resource-affinity: n2\n\tresources vm:302,vm:305\n\taffinity negative\n",
        );
        let c = Collections::of(&r);
        infer_implicit_negative_rules(&mut r, &c);
        let new: Vec<&str> = ids(&r)
            .into_iter()
            .filter(|id| id.starts_with(IMPLICIT_NEGATIVE_PREFIX))
            .collect();
        assert_eq!(
            new,
            [
                "_implicit-negative-pos-vm:301-vm:304",
                "_implicit-negative-pos-vm:301-vm:305",
                "_implicit-negative-pos-vm:302-vm:304",
                "_implicit-negative-pos-vm:303-vm:305",
            ]
        );
        for id in new {
            assert_eq!(r.order[id], 2, "{id}");
        }
        let x = r.get("_implicit-negative-pos-vm:301-vm:304").unwrap();
        assert_eq!(x.resources, sids(&["vm:301", "vm:304"]));
        assert_eq!(
            x.kind,
            RuleKind::ResourceAffinity {
                affinity: Affinity::Negative
            }
        );
    }

    #[test]
    fn t2_nothing_without_negatives() {
        let mut r = parse("resource-affinity: pos\n\tresources vm:1,vm:2\n\taffinity positive\n");
        let before = r.clone();
        let c = Collections::of(&r);
        infer_implicit_negative_rules(&mut r, &c);
        assert_eq!(r, before);
    }

    #[test]
    fn t3_widens_the_first_sharing_node_affinity_rule() {
        let mut r = parse(
            "node-affinity: na\n\tresources vm:302\n\tnodes node3\n\n\
             node-affinity: nb\n\tresources vm:201\n\tnodes node1\n\n\
             resource-affinity: pos\n\tresources vm:301,vm:302,vm:303\n\taffinity positive\n\n\
             resource-affinity: neg\n\tresources vm:201,vm:202\n\taffinity negative\n",
        );
        let c = Collections::of(&r);
        inherit_node_affinity(&mut r, &c);
        assert_eq!(
            r.get("na").unwrap().resources,
            sids(&["vm:301", "vm:302", "vm:303"])
        );
        assert_eq!(r.get("nb").unwrap().resources, sids(&["vm:201"]));
    }

    #[test]
    fn t3_takes_the_first_rule_id_when_several_share() {
        let mut r = parse(
            "node-affinity: zz\n\tresources vm:2\n\tnodes node3\n\n\
             node-affinity: aa\n\tresources vm:1\n\tnodes node1\n\n\
             resource-affinity: pos\n\tresources vm:1,vm:2\n\taffinity positive\n",
        );
        let c = Collections::of(&r);
        inherit_node_affinity(&mut r, &c);
        assert_eq!(r.get("aa").unwrap().resources, sids(&["vm:1", "vm:2"]));
        assert_eq!(r.get("zz").unwrap().resources, sids(&["vm:2"]));
    }
}
