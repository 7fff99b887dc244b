//! The HA rules feasibility checker and its transformations (04 §6.3–§6.4):
//! drops infeasible rules with their `Drop rule …` messages and adds the
//! implicit rules, before the rules are compiled (04 §6.5).
//!
//! * [`collections`] — the enabled-rule views and the disjoint positive
//!   groups helper;
//! * [`checks`] — the checks C1–C7 in spec order;
//! * [`transform`] — the transformations T1–T3;
//! * [`report`] — the conformance report of 04 §6.6, printed as Perl's
//!   canonical pretty JSON ([`crate::types::perl::json`]).
//!
//! Pure: no I/O, no logging; the running CRM logs the returned messages.

pub mod checks;
pub mod collections;
pub mod report;
pub mod transform;

pub use checks::{RuleErrors, ERROR_OPTION};
pub use report::{config_to_json, rules_config_report};

use crate::config::rules::RulesConfig;
use collections::Collections;

/// Runs the feasibility checks and transformations for the node list (04
/// §6.3–§6.4).
///
/// Returns the transformed rules and the messages in the checker's order:
/// by rule id, then option, then check order. Each message is a complete
/// line without newline, `Drop rule '<id>', because <reason>.`, which the
/// running CRM logs at `info` (04 §6.7). Disabled rules and null sections
/// are left untouched. The checks run once: rules that become problematic
/// only after others were dropped are not re-checked (04 §6.3).
pub fn check_rules(mut rules: RulesConfig, nodes: &[String]) -> (RulesConfig, Vec<String>) {
    let errors = rule_errors(&rules, nodes);
    for id in errors.keys() {
        rules.ids.remove(id);
        rules.order.remove(id);
    }
    let messages = drop_messages(&errors);
    transform::apply_all(&mut rules);
    (rules, messages)
}

/// The feasibility errors of the enabled rules without dropping anything
/// (04 §6.3): rule id → option (always [`ERROR_OPTION`]) → reasons in
/// check order. The API/CLI shows these per rule, joined with `, `
/// (06 §9.6).
pub fn rule_errors(rules: &RulesConfig, nodes: &[String]) -> RuleErrors {
    checks::feasibility_errors(&Collections::of(rules), nodes)
}

/// The `Drop rule '<id>', because <reason>.` lines for `errors`, ordered by
/// rule id, option, then the order the errors were found (04 §6.3).
pub fn drop_messages(errors: &RuleErrors) -> Vec<String> {
    errors
        .iter()
        .flat_map(|(id, options)| {
            options
                .values()
                .flatten()
                .map(move |reason| format!("Drop rule '{id}', because {reason}."))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::collections::tests::parse;
    use super::*;

    fn nodes3() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn ids(r: &RulesConfig) -> Vec<&str> {
        r.ids.keys().map(String::as_str).collect()
    }

    #[test]
    fn merge_then_infer_on_the_merged_id() {
        let rules = parse(
            "resource-affinity: infer-connected-positive1\n\tresources vm:101,vm:102\n\taffinity positive\n\n\
             resource-affinity: infer-connected-positive2\n\tresources vm:102,vm:103,vm:104\n\taffinity positive\n\n\
             resource-affinity: infer-connected-negative1\n\tresources vm:104,vm:105\n\taffinity negative\n",
        );
        let (out, msgs) = check_rules(rules, &nodes3());
        assert!(msgs.is_empty());
        let m = "_merged-infer-connected-positive1-infer-connected-positive2";
        assert_eq!(
            ids(&out),
            [
                format!("_implicit-negative-{m}-vm:101-vm:105").as_str(),
                &format!("_implicit-negative-{m}-vm:102-vm:105"),
                &format!("_implicit-negative-{m}-vm:103-vm:105"),
                m,
                "infer-connected-negative1",
            ]
        );
        assert_eq!(out.order[m], 1);
        assert_eq!(
            out.order[&format!("_implicit-negative-{m}-vm:101-vm:105")],
            2
        );
    }

    #[test]
    fn node_and_resource_affinity_consistency() {
        let rules = parse(
            "node-affinity: case1-na\n\tresources vm:101,vm:102\n\tnodes node1\n\n\
             resource-affinity: case1-pos\n\tresources vm:101,vm:102\n\taffinity positive\n\n\
             node-affinity: case2-na\n\tresources vm:201,vm:202\n\tnodes node1,node2\n\n\
             resource-affinity: case2-neg\n\tresources vm:201,vm:202\n\taffinity negative\n\n\
             node-affinity: case3-na1\n\tresources vm:301\n\tnodes node1\n\n\
             node-affinity: case3-na2\n\tresources vm:302\n\tnodes node2\n\n\
             resource-affinity: case3-pos\n\tresources vm:301,vm:302\n\taffinity positive\n\n\
             node-affinity: case4-na\n\tresources vm:401,vm:402\n\tnodes node1\n\tstrict 1\n\n\
             resource-affinity: case4-neg\n\tresources vm:401,vm:402\n\taffinity negative\n",
        );
        let (out, msgs) = check_rules(rules, &nodes3());
        assert_eq!(
            msgs,
            [
                "Drop rule 'case3-na1', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
                "Drop rule 'case3-na2', because at least one resource is in a positive resource affinity rule and there are other resources in at least one other node affinity rule already.",
                "Drop rule 'case3-pos', because resources are in multiple node affinity rules.",
                "Drop rule 'case4-na', because at least one resource is in a negative resource affinity rule and this rule would restrict these to less nodes than available to the resources.",
                "Drop rule 'case4-neg', because two or more resources are restricted to less nodes than available to the resources.",
            ]
        );
        assert_eq!(
            ids(&out),
            ["case1-na", "case1-pos", "case2-na", "case2-neg"]
        );
    }

    #[test]
    fn negative_rules_larger_than_the_cluster() {
        let rules = parse(
            "resource-affinity: three\n\tresources vm:1,vm:2,vm:3\n\taffinity negative\n\n\
             resource-affinity: four\n\tresources vm:1,vm:2,vm:3,vm:4\n\taffinity negative\n\n\
             resource-affinity: five\n\tresources vm:1,vm:2,vm:3,vm:4,vm:5\n\taffinity negative\n",
        );
        let (out, msgs) = check_rules(rules, &nodes3());
        assert_eq!(
            msgs,
            [
                "Drop rule 'five', because rule defines more resources than available nodes.",
                "Drop rule 'four', because rule defines more resources than available nodes.",
            ]
        );
        assert_eq!(ids(&out), ["three"]);
    }

    #[test]
    fn disabled_rules_are_kept_but_not_compiled() {
        let rules = parse(
            "resource-affinity: off-pos\n\tresources vm:1,vm:2\n\taffinity positive\n\tdisable\n\n\
             resource-affinity: off-neg\n\tresources vm:1,vm:2\n\taffinity negative\n\tdisable 1\n\n\
             resource-affinity: off-lonely\n\tresources vm:3\n\taffinity negative\n\tdisable 0\n",
        );
        let before = rules.clone();
        let (out, msgs) = check_rules(rules, &nodes3());
        assert!(msgs.is_empty());
        assert_eq!(out, before);
        let compiled = crate::crm::placement::CompiledRules::compile(&out, &nodes3());
        assert_eq!(compiled, Default::default());
    }

    #[test]
    fn drops_then_transforms() {
        let rules = parse(
            "resource-affinity: p1\n\tresources vm:1,vm:2\n\taffinity positive\n\n\
             resource-affinity: p2\n\tresources vm:2,vm:3\n\taffinity positive\n\n\
             resource-affinity: lonely\n\tresources vm:9\n\taffinity negative\n\n\
             resource-affinity: off\n\tresources vm:9\n\taffinity negative\n\tdisable\n\n\
             resource-affinity: neg\n\tresources vm:3,vm:4\n\taffinity negative\n",
        );
        let (out, msgs) = check_rules(rules, &nodes3());
        assert_eq!(
            msgs,
            ["Drop rule 'lonely', because rule is ineffective as there are less than two resources."]
        );
        let ids: Vec<&str> = out.ids.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                "_implicit-negative-_merged-p1-p2-vm:1-vm:4",
                "_implicit-negative-_merged-p1-p2-vm:2-vm:4",
                "_merged-p1-p2",
                "neg",
                "off"
            ]
        );
        assert_eq!(out.order["_merged-p1-p2"], 1);
        assert_eq!(out.order["_implicit-negative-_merged-p1-p2-vm:1-vm:4"], 2);
    }

    #[test]
    fn errors_without_dropping() {
        let rules = parse(
            "resource-affinity: keep-apart\n\tresources vm:1,vm:2\n\taffinity negative\n\n\
             resource-affinity: keep-together\n\tresources vm:1,vm:2\n\taffinity positive\n",
        );
        let e = rule_errors(&rules, &nodes3());
        assert_eq!(e.len(), 2);
        assert_eq!(
            drop_messages(&e),
            [
                "Drop rule 'keep-apart', because rule shares two or more resources with a positive resource affinity rule.",
                "Drop rule 'keep-together', because rule shares two or more resources with a negative resource affinity rule.",
            ]
        );
    }

    #[test]
    fn messages_sorted_by_rule_then_check_order() {
        // 'rb' collects C2 then C5; 'ra' only C5 — 'ra' still comes first.
        let rules = parse(
            "node-affinity: na\n\tresources vm:1\n\tnodes node1:1,node2:2\n\n\
             resource-affinity: rb\n\tresources vm:1\n\taffinity negative\n\n\
             resource-affinity: ra\n\tresources vm:1,vm:2\n\taffinity positive\n",
        );
        let (out, msgs) = check_rules(rules, &nodes3());
        assert_eq!(
            msgs,
            [
                "Drop rule 'na', because resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities.",
                "Drop rule 'na', because resources are in a resource affinity rule and cannot be in a node affinity rule with multiple priorities.",
                "Drop rule 'ra', because resources are in node affinity rules with multiple priorities.",
                "Drop rule 'rb', because rule is ineffective as there are less than two resources.",
                "Drop rule 'rb', because resources are in node affinity rules with multiple priorities.",
            ]
        );
        assert!(out.ids.is_empty() && out.order.is_empty());
    }
}
