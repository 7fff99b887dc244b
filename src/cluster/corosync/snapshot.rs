//! What one query reads from corosync, and the pure step that turns it
//! into [`Members`] (07 §2.5, §3.3): kept apart from the library calls so
//! the rules (which name a node has, which node is this one, what
//! "online" means) are tested without a running corosync.

use std::collections::{BTreeMap, BTreeSet};

use super::CorosyncError;
use crate::cluster::store::{MemberNode, Members};

/// One `nodelist.node.N` entry of corosync's configuration map (cmap).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfiguredNode {
    /// `nodelist.node.N.nodeid`.
    pub nodeid: Option<u32>,
    /// `nodelist.node.N.name`.
    pub name: Option<String>,
    /// `nodelist.node.N.ring0_addr`: the node's name when `name` is not
    /// set (corosync itself falls back to it the same way).
    pub ring0_addr: Option<String>,
}

impl ConfiguredNode {
    /// The name the HA stack knows the node by: `name`, else `ring0_addr`.
    pub fn hostname(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.ring0_addr.as_deref())
            .filter(|n| !n.is_empty())
    }
}

/// Everything one query reads, as corosync reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The configured node list, in cmap order.
    pub nodelist: Vec<ConfiguredNode>,
    /// This node's id (`runtime.votequorum.this_node_id`).
    pub local_id: u32,
    /// The quorum service's flag (`quorum_getquorate`).
    pub quorate: bool,
    /// Ids of the nodes votequorum counts as members of this partition.
    pub member_ids: BTreeSet<u32>,
}

impl Snapshot {
    /// The membership as the HA stack uses it: every configured node with
    /// an id and a name, online when it is in this partition's
    /// membership; this node's name; the quorum flag.
    ///
    /// Entries without an id or a name are left out (the HA stack cannot
    /// address them). When two entries carry the same name the first one
    /// counts: an ambiguous node list must not make the whole cluster
    /// look non-quorate, which would fence every node. An error only when
    /// the local node is not in the node list: without its own name the
    /// node cannot take part.
    pub fn members(&self) -> Result<Members, CorosyncError> {
        let mut nodes = BTreeMap::new();
        let mut nodename = None;
        for entry in &self.nodelist {
            let (Some(id), Some(name)) = (entry.nodeid, entry.hostname()) else {
                continue;
            };
            if nodes.contains_key(name) {
                continue;
            }
            if id == self.local_id && nodename.is_none() {
                nodename = Some(name.to_string());
            }
            nodes.insert(
                name.to_string(),
                MemberNode {
                    id: u64::from(id),
                    online: self.member_ids.contains(&id),
                },
            );
        }
        let Some(nodename) = nodename else {
            return Err(CorosyncError::NoLocalNode(self.local_id));
        };
        Ok(Members {
            nodename: Some(nodename),
            quorate: Some(self.quorate),
            in_cluster: true,
            nodes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32, name: Option<&str>, addr: Option<&str>) -> ConfiguredNode {
        ConfiguredNode {
            nodeid: Some(id),
            name: name.map(str::to_string),
            ring0_addr: addr.map(str::to_string),
        }
    }

    fn three(members: &[u32], quorate: bool) -> Snapshot {
        Snapshot {
            nodelist: vec![
                node(1, Some("node1"), Some("10.0.0.1")),
                node(2, Some("node2"), Some("10.0.0.2")),
                node(3, Some("node3"), Some("10.0.0.3")),
            ],
            local_id: 1,
            quorate,
            member_ids: members.iter().copied().collect(),
        }
    }

    #[test]
    fn a_quorate_partition_of_three() {
        let m = three(&[1, 2, 3], true).members().unwrap_or_default();
        assert_eq!(m.nodename.as_deref(), Some("node1"));
        assert_eq!(m.quorate, Some(true));
        assert!(m.in_cluster);
        let ids: Vec<(&str, u64, bool)> = m
            .nodes
            .iter()
            .map(|(n, v)| (n.as_str(), v.id, v.online))
            .collect();
        assert_eq!(
            ids,
            [("node1", 1, true), ("node2", 2, true), ("node3", 3, true)]
        );
    }

    #[test]
    fn an_isolated_node_keeps_the_others_offline() {
        let m = three(&[1], false).members().unwrap_or_default();
        assert_eq!(m.quorate, Some(false));
        assert!(m.nodes["node1"].online);
        assert!(!m.nodes["node2"].online);
        assert!(!m.nodes["node3"].online);
    }

    #[test]
    fn names_fall_back_to_ring0_addr() {
        let s = Snapshot {
            nodelist: vec![node(7, None, Some("10.0.0.7")), node(8, Some(""), None)],
            local_id: 7,
            quorate: true,
            member_ids: [7].into(),
        };
        let m = s.members().unwrap_or_default();
        assert_eq!(m.nodename.as_deref(), Some("10.0.0.7"));
        assert_eq!(m.nodes.keys().collect::<Vec<_>>(), ["10.0.0.7"]);
    }

    #[test]
    fn entries_without_id_or_name_are_left_out_and_first_name_wins() {
        let mut s = three(&[1, 2], true);
        s.nodelist.push(ConfiguredNode {
            nodeid: None,
            name: Some("node4".into()),
            ring0_addr: None,
        });
        s.nodelist.push(node(5, None, None));
        s.nodelist.push(node(6, Some("node2"), None));
        let m = s.members().unwrap_or_default();
        assert_eq!(m.nodes.len(), 3);
        assert_eq!(m.nodes["node2"].id, 2);
        assert!(m.nodes["node2"].online);
    }

    #[test]
    fn a_local_node_missing_from_the_nodelist_is_an_error() {
        let mut s = three(&[1, 2, 3], true);
        s.local_id = 9;
        let e = s.members().err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("corosync's nodelist has no node with this node's id 9")
        );
    }
}
