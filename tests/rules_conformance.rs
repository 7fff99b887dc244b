//! The rules checker against upstream's conformance set (04 §6.6): the
//! report of every `rules_cfgs/*.cfg` must equal its `.cfg.expect` byte for
//! byte. Property tests feed generated rule sets to the checker.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;

use pve_ha::config::rules::{Affinity, Rule, RuleKind, RulesConfig};
use pve_ha::crm::placement::checker::{check_rules, rules_config_report};
use pve_ha::crm::placement::CompiledRules;
use pve_ha::types::Sid;

/// Checks one conformance file; `Err` names it and shows the difference.
fn check_file(cfg: &Path) -> Result<(), String> {
    let g = common::golden(cfg)?;
    // The harness runs in upstream's test directory (04 §6.6).
    let report = rules_config_report(&format!("rules_cfgs/{}", g.name), &g.raw);
    if report.as_bytes() == g.expect.as_slice() {
        Ok(())
    } else {
        Err(format!(
            "{}: report differs\n{}",
            g.name,
            common::diff(&String::from_utf8_lossy(&g.expect), &report)
        ))
    }
}

#[test]
fn conformance_reports() {
    common::check_conformance_files(
        "rules checker conformance",
        "rules_cfgs",
        "rules-configs",
        check_file,
    );
}

const SIDS: [&str; 6] = ["vm:101", "vm:102", "vm:103", "ct:104", "vm:105", "vm:1000"];
const NODES: [&str; 4] = ["node1", "node2", "node3", "node10"];

fn sid_set() -> impl Strategy<Value = BTreeSet<Sid>> {
    proptest::sample::subsequence(SIDS.to_vec(), 0..=SIDS.len())
        .prop_map(|v| v.into_iter().filter_map(|s| s.parse().ok()).collect())
}

fn node_map() -> impl Strategy<Value = BTreeMap<String, i64>> {
    proptest::collection::btree_map(
        proptest::sample::select(NODES.to_vec()).prop_map(String::from),
        -1i64..3,
        0..=NODES.len(),
    )
}

fn rule() -> impl Strategy<Value = Rule> {
    let kind = prop_oneof![
        (node_map(), proptest::option::of(any::<bool>()))
            .prop_map(|(nodes, strict)| RuleKind::NodeAffinity { nodes, strict }),
        any::<bool>().prop_map(|p| RuleKind::ResourceAffinity {
            affinity: if p {
                Affinity::Positive
            } else {
                Affinity::Negative
            }
        }),
    ];
    (
        sid_set(),
        proptest::option::weighted(0.15, any::<bool>()),
        kind,
    )
        .prop_map(|(resources, disable, kind)| Rule {
            resources,
            disable,
            comment: None,
            kind,
        })
}

/// Rule sets over a few sids and nodes, with a node list for the checker.
fn rule_set() -> impl Strategy<Value = (RulesConfig, Vec<String>)> {
    (
        proptest::collection::vec(rule(), 0..9),
        proptest::sample::subsequence(NODES.to_vec(), 0..=NODES.len()),
    )
        .prop_map(|(rules, nodes)| {
            let mut config = RulesConfig::default();
            for (i, r) in rules.into_iter().enumerate() {
                let id = format!("rule{i}");
                config.order.insert(id.clone(), i as u64 + 1);
                config.ids.insert(id, Some(r));
            }
            (config, nodes.into_iter().map(String::from).collect())
        })
}

/// Restricts a rule set to where the checker is a fixpoint. Three upstream
/// behaviours (kept on purpose, 04 §6.3–§6.4) make a second pass find new
/// conflicts otherwise: the greedy positive grouping does not merge groups
/// bridged later, the checks run once so dropping rules can regroup
/// positives, and T3 widens node-affinity rules, which C7 then counts.
/// So: enabled positive rules are pairwise disjoint, and every
/// node-affinity rule lists exactly the checker's node list.
fn fixpoint_family(mut config: RulesConfig, nodes: &[String]) -> RulesConfig {
    let mut seen: BTreeSet<Sid> = BTreeSet::new();
    let mut drop = Vec::new();
    for (id, rule) in config.ids.iter_mut() {
        let Some(rule) = rule else { continue };
        let enabled = !rule.is_disabled();
        match &mut rule.kind {
            RuleKind::NodeAffinity { nodes: listed, .. } => {
                let prios: Vec<i64> = listed.values().copied().collect();
                *listed = nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), prios.get(i).copied().unwrap_or(0)))
                    .collect();
            }
            RuleKind::ResourceAffinity {
                affinity: Affinity::Positive,
            } if enabled => {
                if rule.resources.is_disjoint(&seen) {
                    seen.extend(rule.resources.iter().cloned());
                } else {
                    drop.push(id.clone());
                }
            }
            RuleKind::ResourceAffinity { .. } => {}
        }
    }
    for id in drop {
        config.ids.remove(&id);
        config.order.remove(&id);
    }
    config
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any rule set: no panic, dropped rules are gone, messages well
    /// formed, and the result compiles.
    #[test]
    fn checker_never_panics((config, nodes) in rule_set()) {
        let (out, msgs) = check_rules(config.clone(), &nodes);
        for m in &msgs {
            prop_assert!(m.starts_with("Drop rule '") && m.ends_with('.'), "{}", m);
            let id = m["Drop rule '".len()..].split('\'').next().unwrap_or_default();
            prop_assert!(config.ids.contains_key(id), "{}", m);
            prop_assert!(!out.ids.contains_key(id) && !out.order.contains_key(id), "{}", m);
        }
        for (id, rule) in &config.ids {
            if rule.as_ref().is_some_and(|r| r.is_disabled()) {
                prop_assert_eq!(out.ids.get(id), Some(rule));
            }
        }
        let _ = CompiledRules::compile(&out, &nodes);
    }

    /// Inside the fixpoint family, checking the output again drops nothing.
    #[test]
    fn checker_output_is_a_fixpoint((config, nodes) in rule_set()) {
        let config = fixpoint_family(config, &nodes);
        let (out, _) = check_rules(config, &nodes);
        let (_, again) = check_rules(out.clone(), &nodes);
        prop_assert!(again.is_empty(), "{:?}\n{:#?}", again, out);
    }
}

#[test]
fn difference_names_the_first_differing_line() {
    let d = common::diff("a\nb\nc\n", "a\nB\nc\n");
    assert!(d.contains("\n-b\n+B\n"), "{d}");
    assert!(d.contains("@@ -1,3 +1,3 @@"), "{d}");
}
