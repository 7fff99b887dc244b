//! Perl's canonical pretty JSON (`JSON->new->canonical->pretty`), the form
//! of the rules checker report (04 §6.6): sorted keys, three-space indent,
//! `"key" : value`, empty containers on one line, a final newline.

use std::fmt::Write as _;

use serde_json::{Number, Value as Json};

/// Indentation per nesting level (04 §6.6).
const INDENT: &str = "   ";

/// Renders `value` as Perl's canonical pretty printer does (04 §6.6),
/// including the trailing newline.
pub fn to_pretty_string(value: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str(INDENT);
    }
}

fn write_value(out: &mut String, value: &Json, level: usize) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&number(n)),
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(out, level + 1);
                write_value(out, item, level + 1);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push(']');
        }
        Json::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            // Sorted explicitly: `canonical` sorts by byte order whatever
            // order the map keeps (serde_json's `preserve_order` would not).
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                indent(out, level + 1);
                write_string(out, key);
                out.push_str(" : ");
                if let Some(v) = map.get(key.as_str()) {
                    write_value(out, v, level + 1);
                }
                if i + 1 < keys.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(out, level);
            out.push('}');
        }
    }
}

/// JSON string escaping as Perl's JSON modules do it: the short escapes,
/// `\u00xx` (lower-case hex) for other control characters, everything else
/// (including `/`, DEL and non-ASCII) literal.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Integers bare; floating point values as Perl stringifies them (`%.15g`).
fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        n.as_f64().map(perl_g15).unwrap_or_default()
    }
}

/// C's `%.15g` — how Perl turns a floating point number into text.
pub fn perl_g15(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // 15 significant digits in scientific form decide the exponent after
    // rounding, exactly as %g does.
    let sci = format!("{x:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..15).contains(&exp) {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(14 - exp).unwrap_or(0);
        trim_fraction(&format!("{x:.decimals$}")).to_string()
    }
}

/// Drops trailing zeros of a fraction, and the point if nothing is left.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_sorted_and_indented() {
        let v = json!({"b": {"y": 1, "x": {"priority": -1}}, "a": {}, "c": "s"});
        assert_eq!(
            to_pretty_string(&v),
            "{\n   \"a\" : {},\n   \"b\" : {\n      \"x\" : {\n         \"priority\" : -1\n      },\n      \"y\" : 1\n   },\n   \"c\" : \"s\"\n}\n"
        );
    }

    #[test]
    fn empty_document_and_arrays() {
        assert_eq!(to_pretty_string(&json!({})), "{}\n");
        assert_eq!(
            to_pretty_string(&json!({"e": [], "l": [1, {"k": null}]})),
            "{\n   \"e\" : [],\n   \"l\" : [\n      1,\n      {\n         \"k\" : null\n      }\n   ]\n}\n"
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            to_pretty_string(&json!("a\"b\\c\n\t\u{1}/ü\u{7f}")),
            "\"a\\\"b\\\\c\\n\\t\\u0001/ü\u{7f}\"\n"
        );
    }

    #[test]
    fn floats_as_perl_prints_them() {
        assert_eq!(perl_g15(1.0), "1");
        assert_eq!(perl_g15(0.1), "0.1");
        assert_eq!(perl_g15(-2.5), "-2.5");
        assert_eq!(perl_g15(1e15), "1e+15");
        assert_eq!(perl_g15(123456789012345.0), "123456789012345");
        assert_eq!(perl_g15(0.0001), "0.0001");
        assert_eq!(perl_g15(0.00001), "1e-05");
        assert_eq!(perl_g15(1.0 / 3.0), "0.333333333333333");
        assert_eq!(to_pretty_string(&json!(0.5)), "0.5\n");
    }
}
