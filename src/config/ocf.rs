//! The values of an `ocf` resource in resources.cfg (docs/ocf.md): the
//! agent (`PROVIDER:TYPE`), the parameter string (`key=value …`) and the
//! resource name. Pure text rules, shared by the section format, the
//! CLI and the OCF runner (`src/ocf/`).
//!
//! Params syntax: items separated by blanks (space or tab); each item is
//! `key=value`. `key` is `[A-Za-z_][A-Za-z0-9_]*`, because it becomes the
//! environment variable `OCF_RESKEY_<key>`. `value` is either bare (no
//! blank, no quote, no backslash; may be empty), or `'…'` (taken
//! literally, cannot contain `'`), or `"…"` (where `\"` and `\\` stand for
//! `"` and `\`; any other backslash is kept as it is). A quoted value is
//! the whole value: `a='x'y` is refused. A key may appear once. The order
//! of the items is kept (it is the order the agent sees them in its
//! environment listing, and the order the file is written in).

use std::fmt;

/// Why a params string, an agent or a name is refused. The text is the
/// one line the admin reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcfSyntaxError {
    /// An item without `=`.
    #[error("params: item '{0}' is not key=value")]
    NoEquals(String),
    /// A key that cannot be an environment variable name.
    #[error("params: invalid parameter name '{0}'")]
    BadKey(String),
    /// A key given twice.
    #[error("params: parameter '{0}' given twice")]
    Duplicate(String),
    /// A quote that is not closed.
    #[error("params: unterminated quote in the value of '{0}'")]
    Unterminated(String),
    /// Text glued to a quoted value, or a quote inside a bare one.
    #[error("params: unexpected character after the value of '{0}' (quote the whole value)")]
    Trailing(String),
    /// A line feed or carriage return.
    #[error("params: line feeds are not allowed")]
    LineFeed,
    /// Not `PROVIDER:TYPE`.
    #[error("agent '{0}' is not PROVIDER:TYPE (letters, digits, '_', '-', '.'; starting with a letter or digit)")]
    BadAgent(String),
    /// A resource name that is not `[A-Za-z][A-Za-z0-9_.-]*`.
    #[error("invalid OCF resource name '{0}' (a letter, then letters, digits, '_', '-', '.'; at most 64)")]
    BadName(String),
}

/// An OCF agent: the directory under `resource.d` and the script name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OcfAgent {
    /// `heartbeat`.
    pub provider: String,
    /// `IPaddr2`.
    pub kind: String,
}

/// One path component an agent may name: no `/`, no leading `.`, so
/// it can never leave `resource.d`.
fn is_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

impl std::str::FromStr for OcfAgent {
    type Err = OcfSyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || OcfSyntaxError::BadAgent(s.to_string());
        let (provider, kind) = s.split_once(':').ok_or_else(bad)?;
        if !is_component(provider) || !is_component(kind) {
            return Err(bad());
        }
        Ok(OcfAgent {
            provider: provider.to_string(),
            kind: kind.to_string(),
        })
    }
}

impl fmt::Display for OcfAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.kind)
    }
}

/// Checks the name of an `ocf:NAME` resource. It starts with a letter,
/// so it never looks like a VMID (the VM list is keyed by name).
pub fn check_name(name: &str) -> Result<(), OcfSyntaxError> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(OcfSyntaxError::BadName(name.to_string()))
    }
}

/// The parsed params: `(key, value)` in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OcfParams(pub Vec<(String, String)>);

fn is_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A bare value may be written without quotes.
fn is_bare(v: &str) -> bool {
    !v.is_empty() && !v.contains(|c: char| is_blank(c) || matches!(c, '\'' | '"' | '\\'))
}

impl OcfParams {
    /// Parses a params string (module docs).
    pub fn parse(text: &str) -> Result<OcfParams, OcfSyntaxError> {
        if text.contains(['\r', '\n']) {
            return Err(OcfSyntaxError::LineFeed);
        }
        let mut out: Vec<(String, String)> = Vec::new();
        let mut rest = text.trim_start_matches(is_blank);
        while !rest.is_empty() {
            let end = rest.find(is_blank).unwrap_or(rest.len());
            let Some(eq) = rest[..end].find('=') else {
                return Err(OcfSyntaxError::NoEquals(rest[..end].to_string()));
            };
            let key = &rest[..eq];
            if !is_key(key) {
                return Err(OcfSyntaxError::BadKey(key.to_string()));
            }
            if out.iter().any(|(k, _)| k == key) {
                return Err(OcfSyntaxError::Duplicate(key.to_string()));
            }
            let (value, after) = value(key, &rest[eq + 1..])?;
            if after.chars().next().is_some_and(|c| !is_blank(c)) {
                return Err(OcfSyntaxError::Trailing(key.to_string()));
            }
            out.push((key.to_string(), value));
            rest = after.trim_start_matches(is_blank);
        }
        Ok(OcfParams(out))
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether no parameter is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads one value at the start of `s`; returns it and what follows.
fn value<'a>(key: &str, s: &'a str) -> Result<(String, &'a str), OcfSyntaxError> {
    let unterminated = || OcfSyntaxError::Unterminated(key.to_string());
    if let Some(body) = s.strip_prefix('\'') {
        let close = body.find('\'').ok_or_else(unterminated)?;
        return Ok((body[..close].to_string(), &body[close + 1..]));
    }
    if let Some(body) = s.strip_prefix('"') {
        let mut v = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((v, &body[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => v.push(e),
                    Some((_, e)) => {
                        v.push('\\');
                        v.push(e);
                    }
                    None => return Err(unterminated()),
                },
                c => v.push(c),
            }
        }
        return Err(unterminated());
    }
    let end = s.find(is_blank).unwrap_or(s.len());
    let bare = &s[..end];
    if bare.contains(['\'', '"', '\\']) {
        return Err(OcfSyntaxError::Trailing(key.to_string()));
    }
    Ok((bare.to_string(), &s[end..]))
}

/// The canonical text: bare where possible, else `'…'`, else `"…"`;
/// one space between items. Parsing it gives the same list.
impl fmt::Display for OcfParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if is_bare(v) {
                write!(f, "{k}={v}")?;
            } else if !v.contains('\'') {
                write!(f, "{k}='{v}'")?;
            } else {
                let esc = v.replace('\\', "\\\\").replace('"', "\\\"");
                write!(f, "{k}=\"{esc}\"")?;
            }
        }
        Ok(())
    }
}

/// What an `ocf` section adds to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcfSpec {
    /// The agent.
    pub agent: OcfAgent,
    /// Its parameters.
    pub params: OcfParams,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(p: &OcfParams) -> Vec<(&str, &str)> {
        p.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn params_bare_and_quoted() {
        let p = OcfParams::parse(
            r#"  ip=10.0.0.5 cidr_netmask=24	nic='eth 0' opts="a \"b\" c\\d\x" empty= q='' "#,
        )
        .unwrap();
        assert_eq!(
            kv(&p),
            [
                ("ip", "10.0.0.5"),
                ("cidr_netmask", "24"),
                ("nic", "eth 0"),
                ("opts", r#"a "b" c\d\x"#),
                ("empty", ""),
                ("q", ""),
            ]
        );
        let text = p.to_string();
        assert_eq!(
            text,
            r#"ip=10.0.0.5 cidr_netmask=24 nic='eth 0' opts='a "b" c\d\x' empty='' q=''"#
        );
        assert_eq!(OcfParams::parse(&text).unwrap(), p);
        let both = OcfParams(vec![("x".into(), r#"it's "q" \"#.into())]);
        assert_eq!(both.to_string(), r#"x="it's \"q\" \\""#);
        assert_eq!(OcfParams::parse(&both.to_string()).unwrap(), both);
        assert!(OcfParams::parse("").unwrap().is_empty());
    }

    #[test]
    fn params_refusals() {
        use OcfSyntaxError::*;
        let e = |s: &str| OcfParams::parse(s).unwrap_err();
        assert_eq!(e("ip"), NoEquals("ip".into()));
        assert_eq!(e("1ip=3"), BadKey("1ip".into()));
        assert_eq!(e("a-b=3"), BadKey("a-b".into()));
        assert_eq!(e("=3"), BadKey("".into()));
        assert_eq!(e("a=1 a=2"), Duplicate("a".into()));
        assert_eq!(e("a='x"), Unterminated("a".into()));
        assert_eq!(e("a=\"x\\\""), Unterminated("a".into()));
        assert_eq!(e("a='x'y"), Trailing("a".into()));
        assert_eq!(e("a=x'y'"), Trailing("a".into()));
        assert_eq!(e("a=1\nb=2"), LineFeed);
        assert_eq!(e("ip").to_string(), "params: item 'ip' is not key=value");
    }

    #[test]
    fn agents_and_names() {
        let a: OcfAgent = "heartbeat:IPaddr2".parse().unwrap();
        assert_eq!(
            (a.provider.as_str(), a.kind.as_str()),
            ("heartbeat", "IPaddr2")
        );
        assert_eq!(a.to_string(), "heartbeat:IPaddr2");
        for bad in ["IPaddr2", ":x", "x:", "../x:y", "a:b/c", "a:.x", "a:b:c"] {
            assert!(bad.parse::<OcfAgent>().is_err(), "{bad}");
        }
        assert!(check_name("web-ip").is_ok());
        assert!(check_name("w.1_x").is_ok());
        for bad in ["100", "", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
