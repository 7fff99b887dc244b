//! Resource bundles (04 §8.4): the `started` services that must move
//! together because of positive resource affinity, keyed by their leader.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::status::ServiceEntry;
use crate::types::{ServiceState, Sid};

/// Leader sid → sorted member sids (the leader included).
pub type Bundles = BTreeMap<Sid, Vec<Sid>>;

/// The active stationary resource bundles (04 §8.4, upstream
/// `test_resource_bundles`): every `started` service together with its
/// `started` positive partners, provided they all sit on one node and no
/// partner is moving. The leader is the smallest member sid.
///
/// Services without positive partners form one-element bundles. A bundle
/// computed again from another member overwrites the first computation
/// (identically when the relation is symmetric, as compiled rules are);
/// a member that sees a moving partner only skips its own computation.
pub fn resource_bundles(
    ss: &BTreeMap<Sid, ServiceEntry>,
    positive: &BTreeMap<Sid, BTreeSet<Sid>>,
) -> Bundles {
    let mut bundles = Bundles::new();
    'services: for (sid, sd) in ss {
        if sd.state_known() != Some(ServiceState::Started) {
            continue;
        }
        let mut members: BTreeSet<&Sid> = BTreeSet::from([sid]);
        let mut nodes: BTreeSet<Option<&str>> = BTreeSet::from([sd.node.as_deref()]);
        for partner in positive.get(sid).into_iter().flatten() {
            let Some(psd) = ss.get(partner) else { continue };
            match psd.state_known() {
                // A bundle half on its way elsewhere is not stationary.
                Some(ServiceState::Migrate | ServiceState::Relocate) => continue 'services,
                Some(ServiceState::Started) => {
                    members.insert(partner);
                    nodes.insert(psd.node.as_deref());
                }
                _ => {}
            }
        }
        if nodes.len() > 1 {
            continue;
        }
        let members: Vec<Sid> = members.into_iter().cloned().collect();
        if let Some(leader) = members.first() {
            bundles.insert(leader.clone(), members);
        }
    }
    bundles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::OrUnknown;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    fn ss(entries: &[(&str, ServiceState, &str)]) -> BTreeMap<Sid, ServiceEntry> {
        entries
            .iter()
            .map(|(s, state, node)| {
                (
                    sid(s),
                    ServiceEntry {
                        state: Some(OrUnknown::Known(*state)),
                        node: Some(node.to_string()),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    /// A symmetric relation in which every listed sid is related to every
    /// other one of its group.
    fn positive(groups: &[&[&str]]) -> BTreeMap<Sid, BTreeSet<Sid>> {
        let mut rel: BTreeMap<Sid, BTreeSet<Sid>> = BTreeMap::new();
        for g in groups {
            for a in *g {
                for b in *g {
                    if a != b {
                        rel.entry(sid(a)).or_default().insert(sid(b));
                    }
                }
            }
        }
        rel
    }

    fn expect(v: &[(&str, &[&str])]) -> Bundles {
        v.iter()
            .map(|(l, ms)| (sid(l), ms.iter().map(|m| sid(m)).collect()))
            .collect()
    }

    use ServiceState::{Migrate, Relocate, Started, Stopped};

    /// test_resource_bundles case 1: no rules, every service alone.
    #[test]
    fn trivial() {
        let ss = ss(&[
            ("vm:101", Started, "node1"),
            ("vm:102", Started, "node1"),
            ("vm:103", Started, "node2"),
            ("vm:104", Stopped, "node3"),
        ]);
        let got = resource_bundles(&ss, &BTreeMap::new());
        let want = expect(&[
            ("vm:101", &["vm:101"]),
            ("vm:102", &["vm:102"]),
            ("vm:103", &["vm:103"]),
        ]);
        assert_eq!(got, want);
    }

    /// test_resource_bundles case 2: a positive pair on one node.
    #[test]
    fn simple_pair() {
        let ss = ss(&[
            ("vm:101", Started, "node1"),
            ("vm:102", Started, "node1"),
            ("vm:103", Started, "node2"),
        ]);
        let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102"]]));
        let want = expect(&[("vm:101", &["vm:101", "vm:102"]), ("vm:103", &["vm:103"])]);
        assert_eq!(got, want);
    }

    /// test_resource_bundles case 3: the first member is stopped, so the
    /// next started one leads.
    #[test]
    fn first_member_stopped() {
        let ss = ss(&[
            ("vm:101", Stopped, "node1"),
            ("vm:102", Started, "node1"),
            ("vm:103", Started, "node1"),
        ]);
        let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102", "vm:103"]]));
        assert_eq!(got, expect(&[("vm:102", &["vm:102", "vm:103"])]));
    }

    /// test_resource_bundles case 4: a middle member is stopped.
    #[test]
    fn middle_member_stopped() {
        let ss = ss(&[
            ("vm:101", Started, "node1"),
            ("vm:102", Stopped, "node1"),
            ("vm:103", Started, "node1"),
        ]);
        let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102", "vm:103"]]));
        assert_eq!(got, expect(&[("vm:101", &["vm:101", "vm:103"])]));
    }

    /// test_resource_bundles case 5: a member is moving, no bundle.
    #[test]
    fn moving_members() {
        for moving in [Migrate, Relocate] {
            let ss = ss(&[
                ("vm:101", Started, "node1"),
                ("vm:102", moving, "node1"),
                ("vm:103", Started, "node1"),
            ]);
            let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102", "vm:103"]]));
            assert_eq!(got, Bundles::new(), "{moving}");
        }
    }

    /// test_resource_bundles case 6: members on different nodes, no bundle.
    #[test]
    fn members_on_different_nodes() {
        let ss = ss(&[
            ("vm:101", Started, "node1"),
            ("vm:102", Started, "node2"),
            ("vm:103", Started, "node1"),
        ]);
        let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102", "vm:103"]]));
        assert_eq!(got, Bundles::new());
    }

    #[test]
    fn partners_missing_from_the_status_are_ignored() {
        let ss = ss(&[("vm:102", Started, "node1")]);
        let got = resource_bundles(&ss, &positive(&[&["vm:101", "vm:102"]]));
        assert_eq!(got, expect(&[("vm:102", &["vm:102"])]));
    }
}
