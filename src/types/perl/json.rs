//! The one JSON writer for text that upstream writes with Perl's `JSON`
//! module: keys sorted at every level (`canonical`, independent of the map
//! order serde_json keeps), Perl's string escapes, and either compact or
//! Perl's `pretty` layout (three-space indent, `"key" : value`, empty
//! containers as `{}`/`[]`, a final newline).

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// How the text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `encode`: no whitespace, no final newline.
    Compact,
    /// `pretty->encode`: one element per line, three spaces per level,
    /// `"key" : value`, a final newline.
    Pretty,
}

/// How non-integer numbers (`f64` values) are written. Integers are always
/// bare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floats {
    /// As Perl stringifies a double (`%.15g`: `1`, `0.1`, `1e+15`), the
    /// form of upstream's own output (the rules checker report, 04 §6.6).
    Perl,
    /// serde_json's shortest text that reads back as the same double
    /// (`2.0`, `0.30000000000000004`), so files we write and read again
    /// keep every value exactly.
    RoundTrip,
}

/// Three spaces per nesting level (04 §6.6, 06 §9.3).
const INDENT: &str = "   ";

/// `value` as JSON text in the given layout.
pub fn write(value: &Value, layout: Layout, floats: Floats) -> String {
    let mut w = Writer {
        out: String::new(),
        layout,
        floats,
    };
    w.value(value, 0);
    if layout == Layout::Pretty {
        w.out.push('\n');
    }
    w.out
}

/// [`write`] of any serializable value. Only maps with non-string keys
/// fail to convert; they are written as `{}`.
pub fn write_serialize<T: serde::Serialize>(value: &T, layout: Layout, floats: Floats) -> String {
    match serde_json::to_value(value) {
        Ok(v) => write(&v, layout, floats),
        Err(_) => write(&Value::Object(serde_json::Map::new()), layout, floats),
    }
}

struct Writer {
    out: String,
    layout: Layout,
    floats: Floats,
}

impl Writer {
    fn value(&mut self, value: &Value, level: usize) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let text = number(n, self.floats);
                self.out.push_str(&text);
            }
            Value::String(s) => string(&mut self.out, s),
            Value::Array(items) => {
                self.container('[', ']', items.iter().map(|v| (None, v)), level);
            }
            Value::Object(map) => {
                // Sorted explicitly: `canonical` sorts by byte order whatever
                // order the map keeps.
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let items = entries.into_iter().map(|(k, v)| (Some(k.as_str()), v));
                self.container('{', '}', items, level);
            }
        }
    }

    /// An array (`key` always `None`) or object: its items separated by
    /// commas, one per line when pretty; empty ones on one line.
    fn container<'a>(
        &mut self,
        open: char,
        close: char,
        items: impl ExactSizeIterator<Item = (Option<&'a str>, &'a Value)>,
        level: usize,
    ) {
        self.out.push(open);
        let pretty = self.layout == Layout::Pretty;
        let count = items.len();
        for (i, (key, v)) in items.enumerate() {
            if pretty {
                self.out.push('\n');
                self.indent(level + 1);
            }
            if let Some(k) = key {
                string(&mut self.out, k);
                self.out.push_str(if pretty { " : " } else { ":" });
            }
            self.value(v, level + 1);
            if i + 1 < count {
                self.out.push(',');
            }
        }
        if pretty && count > 0 {
            self.out.push('\n');
            self.indent(level);
        }
        self.out.push(close);
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str(INDENT);
        }
    }
}

/// JSON string escaping as Perl's JSON modules (and serde_json) do it: the
/// short escapes, `\u00xx` (lower-case hex) for other control characters,
/// everything else (including `/`, DEL and non-ASCII) literal.
fn string(out: &mut String, s: &str) {
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

/// Integers bare; doubles as `floats` says.
fn number(n: &Number, floats: Floats) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64(), floats) {
        (Some(i), _, _, _) => i.to_string(),
        (None, Some(u), _, _) => u.to_string(),
        (None, None, Some(f), Floats::Perl) => perl_g15(f),
        _ => n.to_string(),
    }
}

/// C's `%.15g`: how Perl turns a double into text.
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

    fn pretty(v: &Value) -> String {
        write(v, Layout::Pretty, Floats::Perl)
    }

    #[test]
    fn nested_objects_sorted_and_indented() {
        let v = json!({"b": {"y": 1, "x": {"priority": -1}}, "a": {}, "c": "s"});
        assert_eq!(
            pretty(&v),
            "{\n   \"a\" : {},\n   \"b\" : {\n      \"x\" : {\n         \"priority\" : -1\n      },\n      \"y\" : 1\n   },\n   \"c\" : \"s\"\n}\n"
        );
    }

    #[test]
    fn empty_document_and_arrays() {
        assert_eq!(pretty(&json!({})), "{}\n");
        assert_eq!(pretty(&json!([])), "[]\n");
        assert_eq!(
            pretty(&json!({"e": [], "l": [1, {"k": null}]})),
            "{\n   \"e\" : [],\n   \"l\" : [\n      1,\n      {\n         \"k\" : null\n      }\n   ]\n}\n"
        );
        assert_eq!(pretty(&json!([true, false])), "[\n   true,\n   false\n]\n");
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            pretty(&json!("a\"b\\c\n\t\u{1}/ü\u{7f}")),
            "\"a\\\"b\\\\c\\n\\t\\u0001/ü\u{7f}\"\n"
        );
    }

    /// Compact text is exactly serde_json's (which sorts keys in this
    /// build) for everything but doubles in Perl form; the writers it
    /// replaced were serde_json's `to_string`.
    #[test]
    fn compact_matches_serde_json() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let v = json!({
            "z": [1, -2, 18446744073709551615u64, 2.0, 0.1, 1e15, 1e-7, null, true],
            "a": {"s": all_controls, "u": "ü/\u{7f}\"\\", "e": {}, "l": []},
            "m": -9223372036854775808i64,
        });
        assert_eq!(write(&v, Layout::Compact, Floats::RoundTrip), v.to_string());
        assert_eq!(
            write(
                &json!({"b": 1, "a": [2.0, 0.5]}),
                Layout::Compact,
                Floats::Perl
            ),
            r#"{"a":[2,0.5],"b":1}"#
        );
    }

    #[test]
    fn pretty_round_trip_floats_as_serde_json_writes_them() {
        assert_eq!(
            write(&json!([2.0, 1e15, 0.1]), Layout::Pretty, Floats::RoundTrip),
            "[\n   2.0,\n   1000000000000000.0,\n   0.1\n]\n"
        );
        assert_eq!(
            write(&json!([2.0, 1e15, 0.1]), Layout::Pretty, Floats::Perl),
            "[\n   2,\n   1e+15,\n   0.1\n]\n"
        );
    }

    #[test]
    fn serializable_values() {
        let m: std::collections::BTreeMap<&str, u8> = [("b", 1), ("a", 2)].into();
        assert_eq!(
            write_serialize(&m, Layout::Compact, Floats::RoundTrip),
            r#"{"a":2,"b":1}"#
        );
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert_eq!(
            write_serialize(&bad, Layout::Compact, Floats::RoundTrip),
            "{}"
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
        assert_eq!(perl_g15(-0.0), "-0");
        assert_eq!(pretty(&json!(0.5)), "0.5\n");
    }
}
