//! `rules.cfg` (06 §5): node-affinity and resource-affinity rules, with the
//! file's own comment encoding. What rules *mean* lives in crm/placement.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};

use super::section::{
    self, schema::check_config_id, schema::node_entry_priority, Format, Header, Prop, PropKind,
    RawSection, SectionConfig, SectionFormat, SectionType,
};
use super::Parsed;
use crate::types::text::split_list;
use crate::types::Sid;
use crate::word_enum;

word_enum! {
    /// The section type of a rule.
    pub enum RuleType ("rule type") {
        /// Pins resources to (prioritised) nodes.
        NodeAffinity => "node-affinity",
        /// Keeps resources together or apart.
        ResourceAffinity => "resource-affinity",
    }
}

word_enum! {
    /// Whether a resource-affinity rule keeps its resources together.
    pub enum Affinity ("affinity") {
        /// Same node.
        Positive => "positive",
        /// Different nodes.
        Negative => "negative",
    }
}

const RESOURCES: Prop = Prop::required("resources", PropKind::Format(Format::HaResourceIdList));
const DISABLE: Prop = Prop::optional("disable", PropKind::Bool);
const COMMENT: Prop = Prop::optional(
    "comment",
    PropKind::Str {
        max_len: Some(4096),
    },
);

/// Registration order matters for nothing visible, but node-affinity comes
/// first as upstream registers it.
const RULE_TYPES: &[SectionType] = &[
    SectionType {
        name: "node-affinity",
        props: &[
            RESOURCES,
            DISABLE,
            COMMENT,
            Prop::required("nodes", PropKind::Format(Format::HaNodeList)),
            Prop::optional("strict", PropKind::Bool),
        ],
    },
    SectionType {
        name: "resource-affinity",
        props: &[
            RESOURCES,
            DISABLE,
            COMMENT,
            Prop::required("affinity", PropKind::Enum(&["positive", "negative"])),
        ],
    },
];

/// The type-specific part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `node-affinity`.
    NodeAffinity {
        /// Node → priority (0 when the entry has none).
        nodes: BTreeMap<String, i64>,
        /// Only these nodes may run the resources.
        strict: Option<bool>,
    },
    /// `resource-affinity`.
    ResourceAffinity {
        /// Together or apart.
        affinity: Affinity,
    },
}

/// One rule as written in rules.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The resources the rule applies to.
    pub resources: BTreeSet<Sid>,
    /// Present ⇒ disabled, whatever the value (06 §5.3 quirk: consumers
    /// test presence; `disable 0` is dropped by the writer).
    pub disable: Option<bool>,
    /// Free text, decoded.
    pub comment: Option<String>,
    /// Type-specific properties.
    pub kind: RuleKind,
}

impl Rule {
    /// The section type.
    pub fn rule_type(&self) -> RuleType {
        match self.kind {
            RuleKind::NodeAffinity { .. } => RuleType::NodeAffinity,
            RuleKind::ResourceAffinity { .. } => RuleType::ResourceAffinity,
        }
    }

    /// Whether the rule is disabled (presence of `disable`, 06 §5.3).
    pub fn is_disabled(&self) -> bool {
        self.disable.is_some()
    }

    /// The parsed data model as JSON (06 §5.7), the shape upstream's rules
    /// checker prints: resources as `{sid: 1}`, nodes as
    /// `{node: {"priority": n}}`, booleans as numbers.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.rule_type().as_str()));
        let res: Map<String, Json> = self
            .resources
            .iter()
            .map(|s| (s.to_string(), json!(1)))
            .collect();
        m.insert("resources".into(), Json::Object(res));
        if let Some(d) = self.disable {
            m.insert("disable".into(), json!(i64::from(d)));
        }
        if let Some(c) = &self.comment {
            m.insert("comment".into(), json!(c));
        }
        match &self.kind {
            RuleKind::NodeAffinity { nodes, strict } => {
                let nodes: Map<String, Json> = nodes
                    .iter()
                    .map(|(n, p)| (n.clone(), json!({ "priority": p })))
                    .collect();
                m.insert("nodes".into(), Json::Object(nodes));
                if let Some(s) = strict {
                    m.insert("strict".into(), json!(i64::from(*s)));
                }
            }
            RuleKind::ResourceAffinity { affinity } => {
                m.insert("affinity".into(), json!(affinity.as_str()));
            }
        }
        Json::Object(m)
    }
}

/// A parsed rules.cfg.
pub type RulesConfig = SectionConfig<Rule>;

/// The rules.cfg format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RulesFormat;

impl RulesFormat {
    /// Parses the file's bytes; `file` names it in warnings.
    pub fn parse(&self, file: &str, raw: &[u8]) -> Parsed<RulesConfig> {
        section::parse(self, file, raw)
    }

    /// Writes the canonical text.
    pub fn write(&self, config: &RulesConfig) -> Result<String, section::WriteError> {
        section::write(self, config)
    }
}

impl SectionFormat for RulesFormat {
    type Section = Rule;

    fn types(&self) -> &[SectionType] {
        RULE_TYPES
    }

    /// Properties are isolated per rule type (06 §5.1).
    fn knows_property(&self, ty: &SectionType, key: &str) -> bool {
        ty.prop(key).is_some()
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

    fn decode(&self, raw: RawSection) -> Result<Rule, String> {
        let resources = split_list(raw.str("resources").unwrap_or_default())
            .into_iter()
            .map(|s| s.parse::<Sid>().map_err(|e| e.to_string()))
            .collect::<Result<BTreeSet<Sid>, String>>()?;
        let kind = match raw.ty.parse::<RuleType>().map_err(|e| e.to_string())? {
            RuleType::NodeAffinity => RuleKind::NodeAffinity {
                nodes: split_list(raw.str("nodes").unwrap_or_default())
                    .into_iter()
                    .map(|e| {
                        let (node, prio) = node_entry_priority(e);
                        (node.to_string(), prio)
                    })
                    .collect(),
                strict: raw.int("strict").map(|n| n != 0),
            },
            RuleType::ResourceAffinity => RuleKind::ResourceAffinity {
                affinity: raw
                    .str("affinity")
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e: crate::types::UnknownWord| e.to_string())?,
            },
        };
        Ok(Rule {
            resources,
            disable: raw.int("disable").map(|n| n != 0),
            comment: raw.str("comment").map(decode_comment),
            kind,
        })
    }

    fn encode(&self, r: &Rule) -> RawSection {
        let mut raw = RawSection {
            ty: r.rule_type().to_string(),
            ..RawSection::default()
        };
        let res: Vec<&str> = r.resources.iter().map(Sid::as_str).collect();
        raw.set_str("resources", Some(res.join(",")));
        raw.set_int("disable", r.disable.map(i64::from));
        raw.set_str("comment", r.comment.as_deref().map(encode_comment));
        match &r.kind {
            RuleKind::NodeAffinity { nodes, strict } => {
                let entries: Vec<String> = nodes
                    .iter()
                    .map(|(n, p)| {
                        if *p == 0 {
                            n.clone()
                        } else {
                            format!("{n}:{p}")
                        }
                    })
                    .collect();
                raw.set_str("nodes", Some(entries.join(",")));
                raw.set_int("strict", strict.map(i64::from));
            }
            RuleKind::ResourceAffinity { affinity } => {
                raw.set_str("affinity", Some(affinity.to_string()));
            }
        }
        raw
    }
}

/// Percent-encodes a comment for rules.cfg (06 §5.4): every byte of the
/// UTF-8 text that is a control character, `:`, DEL or ≥ 0x80 becomes
/// `%XX`; `%` itself stays literal, as upstream writes it.
pub fn encode_comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if (0x20..=0x39).contains(&b) || (0x3b..=0x7e).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes every `%XX` of a rules.cfg comment and reads the bytes as UTF-8
/// (invalid sequences become U+FFFD, as upstream's decoder does).
pub fn decode_comment(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_encoding() {
        assert_eq!(encode_comment("a: b % ü\tx"), "a%3A b % %C3%BC%09x");
        assert_eq!(decode_comment("a%3A b % %C3%BC%09x"), "a: b % ü\tx");
        assert_eq!(decode_comment("100%25"), "100%");
        assert_eq!(decode_comment("50%"), "50%");
        assert_eq!(decode_comment("%4"), "%4");
        assert_eq!(decode_comment("%ff"), "\u{fffd}");
    }

    #[test]
    fn canonical_write_example() {
        let text = "resource-affinity: keep-together\n\tresources vm:200,vm:100\n\taffinity positive\n\tdisable\n\tcomment a%3A b % %C3%BC%09x\n\nnode-affinity: ha-rule-vm100\n\tstrict 1\n\tresources vm:100\n\tnodes node1\n";
        let p = RulesFormat.parse("rules", text.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let r = p.value.get("keep-together").unwrap();
        assert_eq!(r.comment.as_deref(), Some("a: b % ü\tx"));
        assert_eq!(
            RulesFormat.write(&p.value).unwrap(),
            "resource-affinity: keep-together\n\tcomment a%3A b % %C3%BC%09x\n\tdisable\n\taffinity positive\n\tresources vm:100,vm:200\n\nnode-affinity: ha-rule-vm100\n\tnodes node1\n\tresources vm:100\n\tstrict 1\n\n"
        );
    }

    #[test]
    fn nodes_written_sorted_without_zero_priorities() {
        let p = RulesFormat.parse(
            "r",
            b"node-affinity: r1\n\tnodes node3:0,node1:2,node2\n\tresources vm:1\n",
        );
        let text = RulesFormat.write(&p.value).unwrap();
        assert!(text.contains("\tnodes node1:2,node2,node3\n"), "{text}");
    }

    #[test]
    fn properties_are_isolated_per_type() {
        let p = RulesFormat.parse(
            "r",
            b"resource-affinity: r1\n\tresources vm:1\n\tnodes node1\n\taffinity negative\n\nresource-affinity: r3\n\tresources vm:1\n",
        );
        assert_eq!(
            p.warnings,
            [
                "file r line 3 (section 'r1') - unable to parse value of 'nodes': unknown property type",
                "file r line 7 (skip section 'r3'): missing value for required option 'affinity'",
            ]
        );
        assert_eq!(p.value.order.get("r3"), Some(&2));
        assert_eq!(p.value.ids.get("r3"), Some(&None));
    }

    #[test]
    fn disable_zero_counts_as_disabled_and_is_dropped_on_write() {
        let p = RulesFormat.parse(
            "r",
            b"node-affinity: r1\n\tresources vm:1\n\tnodes n1\n\tdisable 0\n",
        );
        let r = p.value.get("r1").unwrap();
        assert!(r.is_disabled());
        assert_eq!(r.to_json()["disable"], json!(0));
        assert!(!RulesFormat.write(&p.value).unwrap().contains("disable"));
    }
}
