//! Property schemas and value validation (`check_value`, 06 §2.3): the
//! type checks, named formats and limits with upstream's exact error texts.

use super::Value;
use crate::types::text::split_list;
use crate::types::Sid;

/// A named format validator (JSON-schema `format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `pve-configid`: `^[A-Za-z][A-Za-z0-9_-]+$`.
    ConfigId,
    /// `pve-ha-node-list`: list of `<node>[:<prio>]`.
    HaNodeList,
    /// `pve-ha-resource-id-list`: list of canonical SIDs.
    HaResourceIdList,
    /// An OCF agent, `PROVIDER:TYPE` (docs/ocf.md; no upstream format).
    OcfAgent,
    /// An OCF params string, `key=value …` (docs/ocf.md).
    OcfParams,
}

/// The type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropKind {
    /// `0` or `1`; a bare key means `1`.
    Bool,
    /// Optional sign and digits, with an optional minimum.
    Int {
        /// Smallest accepted value.
        min: Option<i64>,
    },
    /// Free text with an optional length limit (in bytes).
    Str {
        /// Longest accepted value.
        max_len: Option<usize>,
    },
    /// Text checked by a named format.
    Format(Format),
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
}

/// One option of a section type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prop {
    /// The key as written in the file.
    pub key: &'static str,
    /// Its type.
    pub kind: PropKind,
    /// Whether the section is invalid without it.
    pub required: bool,
}

impl Prop {
    /// An optional property.
    pub const fn optional(key: &'static str, kind: PropKind) -> Self {
        Prop {
            key,
            kind,
            required: false,
        }
    }

    /// A required property.
    pub const fn required(key: &'static str, kind: PropKind) -> Self {
        Prop {
            key,
            kind,
            required: true,
        }
    }
}

/// A registered section type and its option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionType {
    /// The type word of the header.
    pub name: &'static str,
    /// Its options.
    pub props: &'static [Prop],
}

impl SectionType {
    /// The option of this key.
    pub fn prop(&self, key: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.key == key)
    }
}

/// Validates one value of a property (06 §2.3) and converts it.
/// `value` is `None` for a property line without value.
pub fn check_value(prop: &Prop, value: Option<&str>) -> Result<Value, String> {
    let v = match (value, prop.kind) {
        (None, PropKind::Bool) => return Ok(Value::Int(1)),
        (None, _) => return Err("got undefined value".to_string()),
        (Some(v), _) => v,
    };
    if v.contains(['\r', '\n']) {
        return Err("property contains a line feed".to_string());
    }
    match prop.kind {
        PropKind::Bool => match v {
            "0" => Ok(Value::Int(0)),
            "1" => Ok(Value::Int(1)),
            _ => Err(format!("type check ('boolean') failed - got '{v}'")),
        },
        PropKind::Int { min } => {
            let n = parse_integer(v)
                .ok_or_else(|| format!("type check ('integer') failed - got '{v}'"))?;
            match min {
                Some(m) if n < m => Err(format!("value must have a minimum value of {m}")),
                _ => Ok(Value::Int(n)),
            }
        }
        PropKind::Str { max_len } => match max_len {
            Some(max) if v.len() > max => Err(format!("value may only be {max} characters long")),
            _ => Ok(Value::Str(v.to_string())),
        },
        PropKind::Format(f) => match check_format(f, v) {
            Ok(()) => Ok(Value::Str(v.to_string())),
            Err(e) => Err(format!("invalid format - {e}")),
        },
        PropKind::Enum(words) => {
            if words.contains(&v) {
                Ok(Value::Str(v.to_string()))
            } else {
                Err(format!(
                    "value '{v}' does not have a value in the enumeration '{}'",
                    words.join(", ")
                ))
            }
        }
    }
}

/// `^[+-]?\d+$` as a number. Values beyond 64 bits are refused (upstream
/// would turn them into imprecise floats; no HA setting needs them).
fn parse_integer(v: &str) -> Option<i64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if v.starts_with('-') { -n } else { n })
}

/// Runs a named format validator; the error is the validator's message.
pub fn check_format(format: Format, v: &str) -> Result<(), String> {
    match format {
        Format::ConfigId => check_config_id(v),
        Format::HaNodeList => split_list(v).into_iter().try_for_each(|e| {
            if is_ha_node_entry(e) {
                Ok(())
            } else {
                Err("value does not look like a valid ha node".to_string())
            }
        }),
        Format::HaResourceIdList => split_list(v)
            .into_iter()
            .try_for_each(|e| e.parse::<Sid>().map(|_| ()).map_err(|err| err.to_string())),
        Format::OcfAgent => v
            .parse::<crate::config::ocf::OcfAgent>()
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Format::OcfParams => crate::config::ocf::OcfParams::parse(v)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// `pve-configid`: a letter followed by at least one letter, digit, `_`
/// or `-`.
pub fn check_config_id(v: &str) -> Result<(), String> {
    let b = v.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("invalid configuration ID '{v}'"))
    }
}

/// `pve-ha-node`: `^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(:\d+)?$`.
pub fn is_ha_node_entry(v: &str) -> bool {
    let (name, prio) = match v.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (v, None),
    };
    let nb = name.as_bytes();
    let name_ok = !nb.is_empty()
        && nb[0].is_ascii_alphanumeric()
        && nb[nb.len() - 1].is_ascii_alphanumeric()
        && nb.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    let prio_ok = prio.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    name_ok && prio_ok
}

/// Splits a validated node entry into node name and priority (0 when
/// absent; huge numbers saturate).
pub fn node_entry_priority(entry: &str) -> (&str, i64) {
    match entry.split_once(':') {
        Some((node, p)) => (
            node,
            p.parse().unwrap_or(if p.is_empty() { 0 } else { i64::MAX }),
        ),
        None => (entry, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: Prop = Prop::optional("state", PropKind::Enum(&["started", "stopped"]));

    #[test]
    fn booleans() {
        let p = Prop::optional("disable", PropKind::Bool);
        assert_eq!(check_value(&p, None), Ok(Value::Int(1)));
        assert_eq!(check_value(&p, Some("0")), Ok(Value::Int(0)));
        assert_eq!(
            check_value(&p, Some("yes")),
            Err("type check ('boolean') failed - got 'yes'".into())
        );
    }

    #[test]
    fn integers() {
        let p = Prop::optional("max_restart", PropKind::Int { min: Some(0) });
        assert_eq!(check_value(&p, Some("007")), Ok(Value::Int(7)));
        assert_eq!(check_value(&p, Some("+5")), Ok(Value::Int(5)));
        assert_eq!(
            check_value(&p, Some("-1")),
            Err("value must have a minimum value of 0".into())
        );
        assert_eq!(
            check_value(&p, Some("1.5")),
            Err("type check ('integer') failed - got '1.5'".into())
        );
        assert_eq!(check_value(&p, None), Err("got undefined value".into()));
    }

    #[test]
    fn enums_and_formats() {
        assert_eq!(
            check_value(&STATE, Some("on")),
            Err("value 'on' does not have a value in the enumeration 'started, stopped'".into())
        );
        let nodes = Prop::required("nodes", PropKind::Format(Format::HaNodeList));
        assert!(check_value(&nodes, Some("node1:2,node2")).is_ok());
        assert_eq!(
            check_value(&nodes, Some("node1,-x")),
            Err("invalid format - value does not look like a valid ha node".into())
        );
        let res = Prop::required("resources", PropKind::Format(Format::HaResourceIdList));
        assert_eq!(
            check_value(&res, Some("vm:1,100")),
            Err("invalid format - value does not look like a valid ha resource id".into())
        );
        assert_eq!(
            check_config_id("a"),
            Err("invalid configuration ID 'a'".into())
        );
        assert!(check_config_id("ab-1_c").is_ok());
    }

    #[test]
    fn node_entries() {
        for ok in ["a", "node1", "n-1", "node1:0", "node1:007"] {
            assert!(is_ha_node_entry(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a:", "a:x", "a_b", "a:1:2"] {
            assert!(!is_ha_node_entry(bad), "{bad}");
        }
        assert_eq!(node_entry_priority("node1:007"), ("node1", 7));
        assert_eq!(node_entry_priority("node2"), ("node2", 0));
    }

    #[test]
    fn line_feeds_are_refused() {
        let p = Prop::optional("comment", PropKind::Str { max_len: None });
        assert_eq!(
            check_value(&p, Some("a\rb")),
            Err("property contains a line feed".into())
        );
    }
}
