//! The section-config engine shared by resources.cfg, groups.cfg and
//! rules.cfg (06 §2). One generic reader and one canonical writer; each file
//! plugs in a [`SectionFormat`] describing its section types, header rules
//! and the decoding of raw properties into its typed section.
//!
//! Two stages, as in ripgrep's low/high-level flags: [`lex`] classifies the
//! lines, [`parse`] validates each property against the [`schema`] and
//! builds raw sections with line numbers; the format's `decode` then turns a
//! complete, valid raw section into the typed value.

pub mod lex;
mod parse;
pub mod schema;
mod write;

use std::collections::BTreeMap;
use std::fmt::Debug;

pub use parse::parse;
pub use schema::{Format, Prop, PropKind, SectionType};
pub use write::write;

/// A validated property value as the engine stores it: booleans and
/// integers as numbers (`007` → 7), everything else as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A boolean (0/1) or integer property.
    Int(i64),
    /// Any other property, verbatim.
    Str(String),
}

impl Value {
    /// Truthiness as the writer tests it: non-zero numbers, and texts other
    /// than `""` and `"0"`.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Int(n) => *n != 0,
            Value::Str(s) => crate::types::perl::truthy(s),
        }
    }
}

/// A section before decoding: its type, id and validated properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawSection {
    /// Section type, lower-cased (`vm`, `group`, `node-affinity`).
    pub ty: String,
    /// Section id (`vm:100`, a group or rule name).
    pub id: String,
    /// Properties by key.
    pub props: BTreeMap<String, Value>,
}

impl RawSection {
    /// The text value of `key`, if set.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.props.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The numeric value of `key`, if set.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.props.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// Sets `key` to a text value if one is given.
    pub fn set_str(&mut self, key: &str, v: Option<String>) {
        if let Some(v) = v {
            self.props.insert(key.to_string(), Value::Str(v));
        }
    }

    /// Sets `key` to a number if one is given.
    pub fn set_int(&mut self, key: &str, v: Option<i64>) {
        if let Some(v) = v {
            self.props.insert(key.to_string(), Value::Int(v));
        }
    }
}

/// What a file's header hook makes of `TYPE: NAME` (06 §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The section type (lower-cased by the HA files).
    pub ty: String,
    /// The section id.
    pub id: String,
    /// Why the id is invalid, if it is.
    pub error: Option<String>,
}

/// One file's plug-in to the engine.
pub trait SectionFormat {
    /// The typed section.
    type Section: Clone + Debug + PartialEq;

    /// The registered section types with their options.
    fn types(&self) -> &[SectionType];

    /// Whether `key` is a property of the file at all. Files with shared
    /// properties (resources.cfg, groups.cfg) know API-only keys too, which
    /// then fail as `unexpected property`; rules.cfg isolates properties per
    /// type, so there only the section type's own options are known.
    fn knows_property(&self, ty: &SectionType, key: &str) -> bool;

    /// Splits a header into type and id and validates the id.
    fn parse_header(&self, ty: &str, name: &str) -> Header;

    /// The `NAME` part written after `TYPE: ` for a section id.
    fn header_name<'a>(&self, ty: &str, id: &'a str) -> &'a str;

    /// Turns a complete, validated raw section into the typed section. An
    /// error makes the section a null id, like a failed section check.
    fn decode(&self, raw: RawSection) -> Result<Self::Section, String>;

    /// Turns a typed section back into raw properties for the writer.
    fn encode(&self, section: &Self::Section) -> RawSection;

    /// The registered type of this name.
    fn section_type(&self, ty: &str) -> Option<&SectionType> {
        self.types().iter().find(|t| t.name == ty)
    }
}

/// A property that failed validation while parsing (06 §2.2 step 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropError {
    /// 1-based line of the property.
    pub line: usize,
    /// Section id.
    pub section: String,
    /// Property key.
    pub key: String,
    /// The validation error, without trailing newline.
    pub err: String,
}

/// A parsed section-config file (06 §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct SectionConfig<T> {
    /// Every recorded id; `None` for a section that failed the
    /// end-of-section check (consumers skip those).
    pub ids: BTreeMap<String, Option<T>>,
    /// 1-based position of every recorded id; later duplicates win.
    pub order: BTreeMap<String, u64>,
    /// SHA-1 of the raw bytes.
    pub digest: String,
    /// Properties that failed validation.
    pub errors: Vec<PropError>,
}

impl<T> Default for SectionConfig<T> {
    fn default() -> Self {
        SectionConfig {
            ids: BTreeMap::new(),
            order: BTreeMap::new(),
            digest: super::digest(b""),
            errors: Vec::new(),
        }
    }
}

impl<T> SectionConfig<T> {
    /// The valid sections in id order.
    pub fn sections(&self) -> impl Iterator<Item = (&String, &T)> {
        self.ids
            .iter()
            .filter_map(|(id, s)| s.as_ref().map(|s| (id, s)))
    }

    /// The valid section of this id.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.ids.get(id).and_then(Option::as_ref)
    }

    /// The valid sections by ascending order number, ties by id — the
    /// order the writer emits them in.
    pub fn sections_in_order(&self) -> Vec<(&String, &T)> {
        let mut v: Vec<(u64, &String, &T)> = self
            .sections()
            .map(|(id, s)| (self.order.get(id).copied().unwrap_or(u64::MAX), id, s))
            .collect();
        v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        v.into_iter().map(|(_, id, s)| (id, s)).collect()
    }

    /// Drops the ids whose section failed the end-of-section check.
    pub fn without_null_sections(mut self) -> Self {
        self.ids.retain(|_, s| s.is_some());
        let ids = &self.ids;
        self.order.retain(|id, _| ids.contains_key(id));
        self
    }
}

/// Why a config could not be written (06 §2.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A section's type has no option table (a null section has type `''`).
    #[error("unknown section type '{0}'")]
    UnknownSectionType(String),
    /// A required option is missing.
    #[error("section '{id}' - missing value for required option '{key}'")]
    MissingRequired {
        /// Section id.
        id: String,
        /// Missing key.
        key: String,
    },
    /// A key or value would break the line structure.
    #[error("property '{0}' contains a line feed")]
    LineFeed(String),
}
