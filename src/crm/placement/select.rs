//! Node selection (`select_service_node`, 04 §3): where a service should
//! run given the compiled rules, the usage of the online nodes and the
//! caller's node preference.

use std::collections::{BTreeMap, BTreeSet};

use super::rules::CompiledRules;
use super::usage::OnlineNodeUsage;
use crate::config::status::ServiceEntry;
use crate::env::{Env, LogLevel, ServiceConf};
use crate::types::Sid;

/// How `select_service_node` treats the current node (04 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePreference {
    /// Stay on the current node whenever acceptable (`started` handler).
    None,
    /// Best node not yet tried (after a start failure).
    TryNext,
    /// Best-scored node, no bonus for the current one (recovery,
    /// rebalance on start).
    BestScore,
}

/// Picks a node for a service (04 §3.2); `None` when no node qualifies.
///
/// Reads `current`, `failed_nodes` and `maintenance_node` from the sid's
/// own entry in `ss` (absent entry: none of them) and only `failback` from
/// `cd`. A scoring failure (only `static`/`dynamic`) scores every node 0
/// silently; the service FSM uses [`select_service_node_logged`], which
/// logs it as upstream does.
pub fn select_service_node(
    rules: &CompiledRules,
    usage: &OnlineNodeUsage,
    sid: &Sid,
    cd: &ServiceConf,
    ss: &BTreeMap<Sid, ServiceEntry>,
    pref: NodePreference,
) -> Option<String> {
    select(rules, usage, sid, cd, ss, pref, &mut |_| {})
}

/// [`select_service_node`], logging a scoring failure at `err`
/// (04 §4.3, §4.4).
pub fn select_service_node_logged(
    env: &mut dyn Env,
    rules: &CompiledRules,
    usage: &OnlineNodeUsage,
    sid: &Sid,
    cd: &ServiceConf,
    ss: &BTreeMap<Sid, ServiceEntry>,
    pref: NodePreference,
) -> Option<String> {
    select(rules, usage, sid, cd, ss, pref, &mut |msg| {
        env.log(LogLevel::Err, msg)
    })
}

/// The algorithm of 04 §3.2; `on_score_error` receives the log line of a
/// failed scoring.
fn select(
    rules: &CompiledRules,
    usage: &OnlineNodeUsage,
    sid: &Sid,
    cd: &ServiceConf,
    ss: &BTreeMap<Sid, ServiceEntry>,
    pref: NodePreference,
    on_score_error: &mut dyn FnMut(&str),
) -> Option<String> {
    let sd = ss.get(sid);
    let current = sd.and_then(|sd| sd.node.as_deref());
    let tried: &[String] = sd.and_then(|sd| sd.failed_nodes.as_deref()).unwrap_or(&[]);
    let fallback = sd.and_then(|sd| sd.maintenance_node.as_deref());

    let online = usage.online_set();
    // Fast path, same result as steps 1–9 below: a service in no rule has
    // every online node as candidate and no affinity filter applies, so
    // with preference `none` the answer is known without building the
    // candidate set (this keeps a steady round linear in the services).
    let in_rules = rules.node_affinity.contains_key(sid)
        || rules.positive.contains_key(sid)
        || rules.negative.contains_key(sid);
    if !in_rules && pref == NodePreference::None {
        let current_online = current.filter(|c| online.contains(*c));
        if let Some(c) = current_online.filter(|_| !cd.failback) {
            return Some(c.to_string());
        }
        if let Some(f) = fallback.filter(|f| online.contains(*f)) {
            return Some(f.to_string());
        }
        if let Some(c) = current_online {
            return Some(c.to_string());
        }
    }

    // Steps 1–2: node affinity decides the candidate class.
    let na = rules.node_affinity_sets(sid, online);
    let mut pri: BTreeSet<String> = na.preferred;
    if pri.is_empty() {
        return None;
    }

    // Step 3.
    let ra = rules.resource_affinity(sid, ss, online);

    // Step 4: without failback a service stays on any acceptable node.
    if pref == NodePreference::None && !cd.failback {
        if let Some(c) = current {
            if na.allowed.contains(c) && ra.allows(c) {
                return Some(c.to_string());
            }
        }
    }

    // Steps 5–7 (try-next filters before the affinity filters, so those
    // may empty the set, 04 §3.2 remarks).
    if pref == NodePreference::TryNext {
        for t in tried {
            pri.remove(t);
        }
    }
    ra.apply_negative(&mut pri);
    ra.apply_positive(&mut pri);

    // Step 8: the maintenance fallback beats every preference (04 §12.2).
    if let Some(f) = fallback {
        if pri.contains(f) {
            return Some(f.to_string());
        }
    }

    // Step 9.
    if pref == NodePreference::None {
        if let Some(c) = current {
            if pri.contains(c) {
                return Some(c.to_string());
            }
        }
    }

    // Steps 10–12: score ascending, then node name. Scoring failures
    // leave every node at 0, so names decide (04 §4.3).
    let scores = usage
        .try_score_nodes_to_start_service(sid)
        .unwrap_or_else(|msg| {
            on_score_error(&msg);
            BTreeMap::new()
        });
    let score = |n: &String| scores.get(n).copied().unwrap_or(0.0);
    let mut sorted: Vec<String> = pri.into_iter().collect();
    // `pri` iterates by name, so a stable sort by score keeps name order
    // among equal scores; `partial_cmp` (not `total_cmp`) so that -0.0 and
    // 0.0 tie as they do for Perl's `<=>`.
    sorted.sort_by(|a, b| {
        score(a)
            .partial_cmp(&score(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if pref == NodePreference::TryNext {
        if let Some(i) = current.and_then(|c| sorted.iter().position(|n| n == c)) {
            if i + 1 < sorted.len() {
                return Some(sorted[i + 1].clone());
            }
        }
    }
    sorted.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rules::RulesFormat;
    use crate::types::{OrUnknown, RequestedState, ServiceState};

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    fn nodes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn conf(node: &str, failback: bool) -> ServiceConf {
        ServiceConf {
            node: node.into(),
            state: RequestedState::Started,
            failback,
            max_restart: 1,
            max_relocate: 1,
            group: None,
            comment: None,
        }
    }

    fn started(node: &str) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(ServiceState::Started)),
            node: Some(node.into()),
            ..Default::default()
        }
    }

    fn rules(text: &str, all: &[&str]) -> CompiledRules {
        let p = RulesFormat.parse("r", text.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        CompiledRules::compile(&p.value, &nodes(all))
    }

    fn usage(online: &[&str], ss: &BTreeMap<Sid, ServiceEntry>) -> OnlineNodeUsage {
        let mut u = OnlineNodeUsage::new_basic(&nodes(online));
        for (s, sd) in ss {
            u.add_service_usage(s, sd);
        }
        u
    }

    /// Upstream's `test_failover1.pl` (01 §11): the answer of each call
    /// becomes the service's node; the online node set changes in between.
    #[test]
    fn test_failover1_sequence() {
        let all = ["node1", "node2", "node3"];
        let r = rules(
            "node-affinity: prefer_node1\n\tresources vm:111\n\tnodes node1\n",
            &all,
        );
        let s = sid("vm:111");
        let cd = conf("node1", true);
        let mut ss = BTreeMap::new();
        ss.insert(
            s.clone(),
            ServiceEntry {
                node: Some("node1".into()),
                ..Default::default()
            },
        );
        let mut online: Vec<&str> = all.to_vec();
        let steps: &[(&str, &[&str], NodePreference, &str)] = &[
            ("", &[], NodePreference::None, "node1"),
            ("", &[], NodePreference::TryNext, "node1"),
            ("remove", &["node1"], NodePreference::None, "node2"),
            ("", &[], NodePreference::TryNext, "node3"),
            ("", &[], NodePreference::TryNext, "node2"),
            ("remove", &["node2"], NodePreference::None, "node3"),
            ("", &[], NodePreference::TryNext, "node3"),
            ("add", &["node1"], NodePreference::None, "node1"),
            ("add", &["node2"], NodePreference::None, "node1"),
            ("", &[], NodePreference::TryNext, "node1"),
        ];
        for (i, (op, changed, pref, expected)) in steps.iter().enumerate() {
            match *op {
                "remove" => online.retain(|n| !changed.contains(n)),
                "add" => {
                    online.extend_from_slice(changed);
                    online.sort();
                }
                _ => {}
            }
            let u = OnlineNodeUsage::new_basic(&nodes(&online));
            let got = select_service_node(&r, &u, &s, &cd, &ss, *pref);
            assert_eq!(got.as_deref(), Some(*expected), "step {i}");
            if let Some(sd) = ss.get_mut(&s) {
                sd.node = got;
            }
        }
    }

    #[test]
    fn basic_scores_pick_the_least_loaded_node() {
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:1"), started("node1"));
        ss.insert(sid("vm:2"), started("node1"));
        ss.insert(sid("vm:3"), started("node2"));
        let mut moving = started("node2");
        moving.state = Some(OrUnknown::Known(ServiceState::Migrate));
        moving.target = Some("node1".into());
        ss.insert(sid("vm:4"), moving);
        ss.insert(sid("vm:5"), started("node3"));
        let u = usage(&["node1", "node2", "node3"], &ss);
        let r = CompiledRules::default();
        // node1: 3 (2 + target of vm:4), node2: 2, node3: 1.
        let pick = |s: &str, pref| select_service_node(&r, &u, &sid(s), &conf("", true), &ss, pref);
        assert_eq!(pick("vm:5", NodePreference::None).as_deref(), Some("node3"));
        assert_eq!(pick("vm:1", NodePreference::None).as_deref(), Some("node1"));
        assert_eq!(
            pick("vm:1", NodePreference::BestScore).as_deref(),
            Some("node3")
        );
        assert_eq!(
            pick("vm:9", NodePreference::BestScore).as_deref(),
            Some("node3")
        );
    }

    #[test]
    fn try_next_skips_failed_nodes_and_may_find_nothing() {
        let r = CompiledRules::default();
        let mut ss = BTreeMap::new();
        let mut sd = started("node2");
        sd.failed_nodes = Some(vec!["node2".into()]);
        ss.insert(sid("fa:1"), sd);
        let u = usage(&["node1", "node2", "node3"], &ss);
        let cd = conf("node2", true);
        let got = select_service_node(&r, &u, &sid("fa:1"), &cd, &ss, NodePreference::TryNext);
        assert_eq!(got.as_deref(), Some("node1"));
        if let Some(sd) = ss.get_mut(&sid("fa:1")) {
            sd.failed_nodes = Some(nodes(&["node2", "node1", "node3"]));
        }
        let got = select_service_node(&r, &u, &sid("fa:1"), &cd, &ss, NodePreference::TryNext);
        assert_eq!(got, None);
    }

    #[test]
    fn failback_and_sticky_shortcut() {
        let all = ["node1", "node2", "node3"];
        let r = rules(
            "node-affinity: rule-a\n\tresources vm:1\n\tnodes node1:2,node2:1\n",
            &all,
        );
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:1"), started("node2"));
        let u = usage(&all, &ss);
        let with = select_service_node(
            &r,
            &u,
            &sid("vm:1"),
            &conf("", true),
            &ss,
            NodePreference::None,
        );
        assert_eq!(
            with.as_deref(),
            Some("node1"),
            "failback to the higher priority"
        );
        let without = select_service_node(
            &r,
            &u,
            &sid("vm:1"),
            &conf("", false),
            &ss,
            NodePreference::None,
        );
        assert_eq!(without.as_deref(), Some("node2"), "nofailback stays");
        // A strict rule still pulls a nofailback service back (test-node-affinity-strict2).
        let strict = rules(
            "node-affinity: rule-a\n\tresources vm:1\n\tnodes node1\n\tstrict 1\n",
            &all,
        );
        let got = select_service_node(
            &strict,
            &u,
            &sid("vm:1"),
            &conf("", false),
            &ss,
            NodePreference::None,
        );
        assert_eq!(got.as_deref(), Some("node1"));
        // Nothing online of a strict rule: nothing (test-recovery1).
        let u2 = usage(&["node2", "node3"], &ss);
        let got = select_service_node(
            &strict,
            &u2,
            &sid("vm:1"),
            &conf("", true),
            &ss,
            NodePreference::BestScore,
        );
        assert_eq!(got, None);
    }

    #[test]
    fn maintenance_fallback_wins() {
        let mut ss = BTreeMap::new();
        let mut sd = started("node2");
        sd.maintenance_node = Some("node3".into());
        ss.insert(sid("vm:1"), sd);
        ss.insert(sid("vm:2"), started("node3"));
        ss.insert(sid("vm:3"), started("node3"));
        let u = usage(&["node1", "node2", "node3"], &ss);
        let r = CompiledRules::default();
        for pref in [
            NodePreference::None,
            NodePreference::TryNext,
            NodePreference::BestScore,
        ] {
            let got = select_service_node(&r, &u, &sid("vm:1"), &conf("", true), &ss, pref);
            assert_eq!(got.as_deref(), Some("node3"), "{pref:?}");
        }
    }

    /// 04 §10.4 at 280: a positive group follows the relocating partner.
    #[test]
    fn positive_affinity_follows_the_moving_partner() {
        let all = ["node1", "node2", "node3"];
        let r = rules(
            "resource-affinity: rule-p\n\tresources vm:101,vm:102,fa:120002\n\taffinity positive\n",
            &all,
        );
        let mut ss = BTreeMap::new();
        let mut fa = started("node2");
        fa.state = Some(OrUnknown::Known(ServiceState::Relocate));
        fa.target = Some("node1".into());
        ss.insert(sid("fa:120002"), fa);
        ss.insert(sid("vm:101"), started("node2"));
        ss.insert(sid("vm:102"), started("node2"));
        let u = usage(&["node1", "node2"], &ss);
        let got = select_service_node(
            &r,
            &u,
            &sid("vm:101"),
            &conf("", true),
            &ss,
            NodePreference::None,
        );
        assert_eq!(got.as_deref(), Some("node1"));
    }

    #[test]
    fn negative_affinity_can_leave_nothing() {
        let all = ["node1", "node2"];
        let r = rules(
            "resource-affinity: rule-n\n\tresources vm:1,vm:2,vm:3\n\taffinity negative\n",
            &all,
        );
        let mut ss = BTreeMap::new();
        ss.insert(sid("vm:2"), started("node1"));
        ss.insert(sid("vm:3"), started("node2"));
        let mut me = started("node1");
        me.state = Some(OrUnknown::Known(ServiceState::Recovery));
        me.node = Some("node3".into());
        ss.insert(sid("vm:1"), me);
        let u = usage(&all, &ss);
        let got = select_service_node(
            &r,
            &u,
            &sid("vm:1"),
            &conf("", true),
            &ss,
            NodePreference::BestScore,
        );
        assert_eq!(got, None);
    }
}
