//! `groups.cfg` (06 §4): the deprecated HA groups. Still parsed, because
//! the CRM migrates them to node-affinity rules and scenarios ship them.

use std::collections::{BTreeMap, BTreeSet};

use super::section::{
    self, schema::check_config_id, schema::node_entry_priority, Format, Header, Prop, PropKind,
    RawSection, SectionConfig, SectionFormat, SectionType,
};
use super::Parsed;
use crate::types::text::split_list;

const GROUP_TYPE: &[SectionType] = &[SectionType {
    name: "group",
    props: &[
        Prop::required("nodes", PropKind::Format(Format::HaNodeList)),
        Prop::optional("restricted", PropKind::Bool),
        Prop::optional("nofailback", PropKind::Bool),
        Prop::optional(
            "comment",
            PropKind::Str {
                max_len: Some(4096),
            },
        ),
    ],
}];

/// Keys the file knows; `group` is API-only (`unexpected property`).
const FILE_KEYS: &[&str] = &[
    "type",
    "group",
    "nodes",
    "restricted",
    "nofailback",
    "comment",
];

/// One HA group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Member entries as written (`node1:2`, `node4`): priorities stay in
    /// the strings, as upstream decodes them.
    pub nodes: BTreeSet<String>,
    /// Members only (becomes a strict rule on migration).
    pub restricted: Option<bool>,
    /// Do not move back to a higher-priority node.
    pub nofailback: Option<bool>,
    /// Free text.
    pub comment: Option<String>,
}

impl Group {
    /// Node → priority (0 where the entry has none). A later entry for the
    /// same node overrides an earlier one.
    pub fn node_priorities(&self) -> BTreeMap<String, i64> {
        self.nodes
            .iter()
            .map(|e| {
                let (node, prio) = node_entry_priority(e);
                (node.to_string(), prio)
            })
            .collect()
    }
}

/// A parsed groups.cfg.
pub type GroupsConfig = SectionConfig<Group>;

/// The groups.cfg format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupsFormat;

impl GroupsFormat {
    /// Parses the file's bytes; `file` names it in warnings.
    pub fn parse(&self, file: &str, raw: &[u8]) -> Parsed<GroupsConfig> {
        section::parse(self, file, raw)
    }

    /// Writes the canonical text (node entries sorted).
    pub fn write(&self, config: &GroupsConfig) -> Result<String, section::WriteError> {
        section::write(self, config)
    }
}

impl SectionFormat for GroupsFormat {
    type Section = Group;

    fn types(&self) -> &[SectionType] {
        GROUP_TYPE
    }

    fn knows_property(&self, _ty: &SectionType, key: &str) -> bool {
        FILE_KEYS.contains(&key)
    }

    fn parse_header(&self, ty: &str, name: &str) -> Header {
        Header {
            ty: ty.to_lowercase(),
            id: name.to_string(),
            error: check_config_id(name).err(),
        }
    }

    fn header_name<'a>(&self, _ty: &str, id: &'a str) -> &'a str {
        id
    }

    fn decode(&self, raw: RawSection) -> Result<Group, String> {
        Ok(Group {
            nodes: split_list(raw.str("nodes").unwrap_or_default())
                .into_iter()
                .map(str::to_string)
                .collect(),
            restricted: raw.int("restricted").map(|n| n != 0),
            nofailback: raw.int("nofailback").map(|n| n != 0),
            comment: raw.str("comment").map(str::to_string),
        })
    }

    fn encode(&self, g: &Group) -> RawSection {
        let mut raw = RawSection {
            ty: "group".to_string(),
            ..RawSection::default()
        };
        let nodes: Vec<&str> = g.nodes.iter().map(String::as_str).collect();
        raw.set_str("nodes", Some(nodes.join(",")));
        raw.set_int("restricted", g.restricted.map(i64::from));
        raw.set_int("nofailback", g.nofailback.map(i64::from));
        raw.set_str("comment", g.comment.clone());
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_write() {
        let text = "group: prefer_node1\n\tnodes node1:2,node2:1 node3:1;node4\n\tnofailback 1\n\tcomment hi\n";
        let p = GroupsFormat.parse("groups", text.as_bytes());
        assert!(p.warnings.is_empty());
        let g = p.value.get("prefer_node1").unwrap();
        assert_eq!(g.node_priorities().get("node1"), Some(&2));
        assert_eq!(g.node_priorities().get("node4"), Some(&0));
        assert_eq!(
            GroupsFormat.write(&p.value).unwrap(),
            "group: prefer_node1\n\tcomment hi\n\tnodes node1:2,node2:1,node3:1,node4\n\tnofailback 1\n\n"
        );
    }

    #[test]
    fn invalid_node_entry_nulls_the_section() {
        let p = GroupsFormat.parse("g", b"group: g1\n\tnodes node_1\n\ngroup: 1x\n\tnodes a\n");
        assert_eq!(
            p.warnings,
            [
                "file g line 2 (section 'g1') - unable to parse value of 'nodes': invalid format - value does not look like a valid ha node",
                "file g line 2 (skip section 'g1'): missing value for required option 'nodes'",
                "file g line 4 (skip section '1x'): invalid configuration ID '1x'",
            ]
        );
        assert_eq!(p.value.ids.get("g1"), Some(&None));
        assert_eq!(
            GroupsFormat.write(&p.value),
            Err(section::WriteError::UnknownSectionType(String::new()))
        );
    }
}
