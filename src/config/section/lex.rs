//! The lexical stage (06 §2.1): what kind of line a line is. No schema
//! knowledge here, so the rules can be read (and tested) on their own.

use crate::types::text::{is_space, trim_end};

/// One physical line, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// First non-whitespace character is `#`: removed before anything
    /// else looks at the lines.
    Comment,
    /// Zero characters: ends a section. (A whitespace-only line is not
    /// empty; it is [`Line::Other`].)
    Empty,
    /// `TYPE: NAME` starting in column 0.
    Header {
        /// The type token, not yet lower-cased.
        ty: &'a str,
        /// The name token.
        name: &'a str,
    },
    /// Indented `KEY [VALUE]`.
    Property {
        /// The key.
        key: &'a str,
        /// The value (internal whitespace kept, trailing trimmed), if any.
        value: Option<&'a str>,
    },
    /// Anything else; ignored with a warning.
    Other,
}

/// Classifies one line (without its `\n`).
pub fn classify(line: &str) -> Line<'_> {
    if line.is_empty() {
        return Line::Empty;
    }
    let body = line.trim_start_matches(is_space);
    if body.starts_with('#') {
        return Line::Comment;
    }
    if body.len() == line.len() {
        return header(line).unwrap_or(Line::Other);
    }
    property(body).unwrap_or(Line::Other)
}

/// `^(\S+):\s*(\S+)\s*$`, split at the last colon that leaves a non-empty
/// name.
fn header(line: &str) -> Option<Line<'_>> {
    let text = trim_end(line);
    let mut tokens = text.split(is_space).filter(|t| !t.is_empty());
    let first = tokens.next()?;
    let second = tokens.next();
    if tokens.next().is_some() {
        return None;
    }
    let (ty, name) = match second {
        // `TYPE:` then whitespace then `NAME`.
        Some(name) => (first.strip_suffix(':')?, name),
        // One token: the last colon that is not the final character.
        None => {
            let last = first.chars().next_back()?;
            let body = &first[..first.len() - last.len_utf8()];
            let colon = body.rfind(':')?;
            (&first[..colon], &first[colon + 1..])
        }
    };
    if ty.is_empty() || name.is_empty() {
        return None;
    }
    Some(Line::Header { ty, name })
}

/// `KEY` then optionally whitespace and `VALUE`; `body` has the leading
/// whitespace already removed.
fn property(body: &str) -> Option<Line<'_>> {
    let body = trim_end(body);
    if body.is_empty() {
        return None;
    }
    let (key, value) = match body.find(is_space) {
        Some(i) => (&body[..i], Some(body[i..].trim_start_matches(is_space))),
        None => (body, None),
    };
    Some(Line::Property { key, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'a>(ty: &'a str, name: &'a str) -> Line<'a> {
        Line::Header { ty, name }
    }

    #[test]
    fn headers() {
        assert_eq!(classify("vm: 100"), h("vm", "100"));
        assert_eq!(classify("vm:100"), h("vm", "100"));
        assert_eq!(classify("VM:\t101   "), h("VM", "101"));
        assert_eq!(classify("a:b:c"), h("a:b", "c"));
        assert_eq!(classify("vm:100:"), h("vm", "100:"));
        assert_eq!(classify("a:b: c"), h("a:b", "c"));
        assert_eq!(classify("vm: 300 extra"), Line::Other);
        assert_eq!(classify("vm:"), Line::Other);
        assert_eq!(classify(":100"), Line::Other);
        assert_eq!(classify("vm 100"), Line::Other);
        assert_eq!(classify("::"), Line::Other);
        assert_eq!(classify(":::"), h(":", ":"));
    }

    #[test]
    fn properties() {
        assert_eq!(
            classify("\tcomment   hello world   "),
            Line::Property {
                key: "comment",
                value: Some("hello world")
            }
        );
        assert_eq!(
            classify("    disable"),
            Line::Property {
                key: "disable",
                value: None
            }
        );
        assert_eq!(
            classify(" \t state\tstarted\r"),
            Line::Property {
                key: "state",
                value: Some("started")
            }
        );
        assert_eq!(
            classify("  vm: 100"),
            Line::Property {
                key: "vm:",
                value: Some("100")
            }
        );
    }

    #[test]
    fn comments_blanks_and_others() {
        assert_eq!(classify(""), Line::Empty);
        assert_eq!(classify("   # note"), Line::Comment);
        assert_eq!(classify("#x"), Line::Comment);
        assert_eq!(classify(" \t"), Line::Other);
        assert_eq!(classify("\r"), Line::Other);
    }
}
