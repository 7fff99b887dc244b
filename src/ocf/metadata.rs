//! The `meta-data` XML of an agent (OCF Resource Agent API 1.1,
//! ra-api-1.dtd): which parameters exist, which are required or unique,
//! and which actions (with their advised timeouts) are advertised.
//!
//! A small hand-written reader rather than an XML crate: we need the
//! attributes of two flat element kinds (`parameter`, `action`) under a
//! `resource-agent` root, nothing of the text content, and the input
//! comes from a local script we run ourselves. It skips comments,
//! processing instructions, the DOCTYPE and CDATA, and decodes the five
//! predefined entities and character references in attribute values.

use std::collections::BTreeMap;
use std::time::Duration;

/// One `<parameter>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    /// Its name (`ip`).
    pub name: String,
    /// `required="1"`.
    pub required: bool,
    /// `unique="1"`: no two resources of the agent may share the value.
    pub unique: bool,
}

/// The parsed description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The root's `name` attribute.
    pub name: String,
    /// Parameters in document order.
    pub params: Vec<ParamInfo>,
    /// Advertised actions and their advised timeouts (if given).
    pub actions: BTreeMap<String, Option<Duration>>,
}

/// Why meta-data cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Broken markup.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Well-formed enough, but no `<resource-agent>` root.
    #[error("no <resource-agent> element")]
    NotAnAgent,
}

impl Metadata {
    /// The parameter of this name.
    pub fn param(&self, name: &str) -> Option<&ParamInfo> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether `action` is advertised.
    pub fn has_action(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// Whether the agent can migrate (both halves advertised).
    pub fn migratable(&self) -> bool {
        self.has_action("migrate_to") && self.has_action("migrate_from")
    }

    /// The advised timeout of `action`, if any.
    pub fn timeout(&self, action: &str) -> Option<Duration> {
        self.actions.get(action).copied().flatten()
    }

    /// Parses the text an agent printed for `meta-data`.
    pub fn parse(xml: &str) -> Result<Metadata, MetadataError> {
        let mut out = Metadata::default();
        let mut root_seen = false;
        let mut rest = xml;
        while let Some(lt) = rest.find('<') {
            rest = &rest[lt..];
            let skip = |open: &str, close: &str, r: &str| -> Result<usize, MetadataError> {
                r[open.len()..]
                    .find(close)
                    .map(|i| open.len() + i + close.len())
                    .ok_or_else(|| MetadataError::Malformed(format!("unterminated {open}")))
            };
            let n = if rest.starts_with("<!--") {
                skip("<!--", "-->", rest)?
            } else if rest.starts_with("<![CDATA[") {
                skip("<![CDATA[", "]]>", rest)?
            } else if rest.starts_with("<?") {
                skip("<?", "?>", rest)?
            } else if rest.starts_with("<!") {
                skip("<!", ">", rest)?
            } else if rest.starts_with("</") {
                skip("</", ">", rest)?
            } else {
                let end = tag_end(rest)
                    .ok_or_else(|| MetadataError::Malformed("unterminated tag".into()))?;
                let (name, attrs) = tag(&rest[1..end])?;
                match name {
                    "resource-agent" => {
                        if !root_seen {
                            out.name = attrs.get("name").cloned().unwrap_or_default();
                        }
                        root_seen = true;
                    }
                    "parameter" if root_seen => {
                        let flag = |k: &str| {
                            attrs
                                .get(k)
                                .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
                        };
                        if let Some(pname) = attrs.get("name") {
                            out.params.push(ParamInfo {
                                name: pname.clone(),
                                required: flag("required"),
                                unique: flag("unique"),
                            });
                        }
                    }
                    "action" if root_seen => {
                        if let Some(aname) = attrs.get("name") {
                            let t = attrs.get("timeout").and_then(|t| parse_duration(t));
                            out.actions.entry(aname.clone()).or_insert(t);
                        }
                    }
                    _ => {}
                }
                end + 1
            };
            rest = &rest[n..];
        }
        if root_seen {
            Ok(out)
        } else {
            Err(MetadataError::NotAnAgent)
        }
    }
}

/// The index of the `>` ending the start tag at the beginning of `s`,
/// not counting `>` inside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// A start tag's name and attributes (`name a="1" b='2'` or `…/`).
fn tag(body: &str) -> Result<(&str, BTreeMap<String, String>), MetadataError> {
    let body = body.strip_suffix('/').unwrap_or(body);
    let name_end = body
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(body.len());
    let name = &body[..name_end];
    let mut attrs = BTreeMap::new();
    let mut rest = body[name_end..].trim_start();
    while !rest.is_empty() {
        let bad = || MetadataError::Malformed(format!("bad attribute in <{name}>"));
        let eq = rest.find('=').ok_or_else(bad)?;
        let key = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let q = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let q = q.ok_or_else(bad)?;
        let close = after[1..].find(q).ok_or_else(bad)?;
        attrs.insert(key.to_string(), unescape(&after[1..1 + close]));
        rest = after[close + 2..].trim_start();
    }
    Ok((name, attrs))
}

/// The predefined entities and numeric character references.
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let ent = &rest[1..semi];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An OCF duration: a number with an optional unit (`20`, `20s`,
/// `500ms`, `2m`, `2min`, `1h`); plain numbers are seconds.
pub fn parse_duration(t: &str) -> Option<Duration> {
    let t = t.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits].parse().ok()?;
    match t[digits..].trim() {
        "" | "s" | "sec" => Some(Duration::from_secs(n)),
        "ms" | "msec" => Some(Duration::from_millis(n)),
        "m" | "min" => n.checked_mul(60).map(Duration::from_secs),
        "h" | "hr" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Dummy" version="1.0">
<!-- <parameter name="commented"/> -->
<longdesc lang="en">A &lt;test&gt; agent, 5 > 3</longdesc>
<parameters>
<parameter name="ip" unique="1" required="1">
<content type="string" default="a&amp;b" />
</parameter>
<parameter name='nic' unique="0"><![CDATA[ <parameter name="cdata"/> ]]></parameter>
<parameter name="odd&quot;q" />
</parameters>
<actions>
<action name="start"        timeout="20s" />
<action name="stop"         timeout="2m" />
<action name="monitor" depth="0" interval="10s" />
<action name="monitor" timeout="99s" />
<action name="migrate_to"   timeout="500ms" />
<action name="migrate_from" timeout="x" />
</actions>
</resource-agent>"#;

    #[test]
    fn parses_parameters_and_actions() {
        let m = Metadata::parse(XML).unwrap();
        assert_eq!(m.name, "Dummy");
        let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["ip", "nic", "odd\"q"]);
        let ip = m.param("ip").unwrap();
        assert!(ip.required && ip.unique);
        assert!(!m.param("nic").unwrap().required);
        assert_eq!(m.timeout("start"), Some(Duration::from_secs(20)));
        assert_eq!(m.timeout("stop"), Some(Duration::from_secs(120)));
        assert_eq!(m.timeout("monitor"), None);
        assert_eq!(m.timeout("migrate_to"), Some(Duration::from_millis(500)));
        assert!(m.has_action("migrate_from"));
        assert!(m.migratable());
        assert!(!m.has_action("validate-all"));
    }

    #[test]
    fn refuses_what_is_not_an_agent() {
        assert_eq!(
            Metadata::parse("usage: foo {start|stop}"),
            Err(MetadataError::NotAnAgent)
        );
        assert!(matches!(
            Metadata::parse("<resource-agent name=\"x\""),
            Err(MetadataError::Malformed(_))
        ));
        assert!(matches!(
            Metadata::parse("<resource-agent><!-- open"),
            Err(MetadataError::Malformed(_))
        ));
        assert!(matches!(
            Metadata::parse("<resource-agent><parameter name=x/>"),
            Err(MetadataError::Malformed(_))
        ));
    }

    #[test]
    fn entities_and_durations() {
        assert_eq!(unescape("a&amp;b&#65;&#x42;&bogus;"), "a&bAB&bogus;");
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("5 weeks"), None);
    }
}
