//! Perl scalar semantics that the scenario files rely on: truthiness of
//! flags and the numeric value of loosely typed strings (`"2"`, `" 8.0"`).

/// Perl truthiness of a string: only `""` and `"0"` are false.
pub fn truthy(s: &str) -> bool {
    !(s.is_empty() || s == "0")
}

/// The leading numeric part of `s` as Perl's numeric conversion reads it
/// (leading whitespace, optional sign, digits, optional fraction and
/// exponent); text without such a prefix is 0.
pub fn number(s: &str) -> f64 {
    let t = s.trim_start_matches(crate::types::text::is_space);
    let b = t.as_bytes();
    let mut end = 0;
    if end < b.len() && (b[end] == b'+' || b[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < b.len() && b[end].is_ascii_digit() {
        end += 1;
    }
    let mut mantissa = end > digits_start;
    if end < b.len() && b[end] == b'.' {
        let frac = end + 1;
        let mut e = frac;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if e > frac || mantissa {
            mantissa = mantissa || e > frac;
            end = e;
        }
    }
    if !mantissa {
        return 0.0;
    }
    if end < b.len() && (b[end] == b'e' || b[end] == b'E') {
        let mut e = end + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        let exp_digits = e;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if e > exp_digits {
            end = e;
        }
    }
    t[..end].parse().unwrap_or(0.0)
}

/// [`number`] truncated to an integer (saturating), as `int()` would.
pub fn integer(s: &str) -> i64 {
    let n = number(s);
    if n.is_nan() {
        0
    } else {
        // `as` saturates at the i64 bounds.
        n.trunc() as i64
    }
}

/// A JSON scalar as the text Perl would see: strings verbatim, numbers in
/// their JSON form, booleans `1`/``; `None` for null, arrays and objects.
pub fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "1" } else { "" }.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinning test (hygiene): the edge cases of this truthiness copy.
    #[test]
    fn pin_truthiness_edges() {
        for (s, want) in [
            ("", false),
            ("0", false),
            ("0.0", true),
            ("00", true),
            ("0E0", true),
            (" 0", true),
            ("0 ", true),
            ("-0", true),
            (" 1", true),
            ("1abc", true),
            ("inf", true),
            ("\n", true),
            ("no", true),
            ("false", true),
        ] {
            assert_eq!(truthy(s), want, "{s:?}");
        }
    }

    /// Pinning test (hygiene): the edge cases of this numeric conversion.
    #[test]
    fn pin_number_edges() {
        for (s, want) in [
            ("", 0.0),
            ("0", 0.0),
            ("0.0", 0.0),
            ("00", 0.0),
            ("0E0", 0.0),
            (" 1", 1.0),
            ("1abc", 1.0),
            ("inf", 0.0),
            ("nan", 0.0),
            ("0x10", 0.0),
            ("+5", 5.0),
            ("\t\n\x0b\x0c\r7", 7.0),
            ("\u{a0}1", 0.0),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("1E3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            (".", 0.0),
            ("-.5e1x", -5.0),
            ("1_000", 1.0),
            ("- 1", 0.0),
            ("--1", 0.0),
            ("1e400", f64::INFINITY),
            ("12.5.3", 12.5),
            ("1.e2", 100.0),
            ("e5", 0.0),
            ("-1e-2", -0.01),
            ("007", 7.0),
        ] {
            assert_eq!(number(s), want, "{s:?}");
        }
        assert!(number("-0").is_sign_negative());
        assert!(number("-0.0").is_sign_negative());
    }

    #[test]
    fn pin_integer_edges() {
        for (s, want) in [
            ("2.9", 2),
            ("-2.9", -2),
            ("1e400", i64::MAX),
            ("-1e400", i64::MIN),
            ("abc", 0),
            (" 42x", 42),
        ] {
            assert_eq!(integer(s), want, "{s:?}");
        }
    }

    #[test]
    fn truthiness() {
        assert!(!truthy(""));
        assert!(!truthy("0"));
        assert!(truthy("0.0"));
        assert!(truthy("1"));
        assert!(truthy("no"));
    }

    #[test]
    fn numbers_read_their_prefix() {
        assert_eq!(number("2"), 2.0);
        assert_eq!(number(" 8.0"), 8.0);
        assert_eq!(number("3.9x"), 3.9);
        assert_eq!(number("-1e3"), -1000.0);
        assert_eq!(number("1e"), 1.0);
        assert_eq!(number(".5"), 0.5);
        assert_eq!(number("5."), 5.0);
        assert_eq!(number("abc"), 0.0);
        assert_eq!(number("."), 0.0);
        assert_eq!(number(""), 0.0);
        assert_eq!(integer("2.9"), 2);
        assert_eq!(integer("99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn scalars() {
        use serde_json::json;
        assert_eq!(scalar_text(&json!("a")), Some("a".into()));
        assert_eq!(scalar_text(&json!(2)), Some("2".into()));
        assert_eq!(scalar_text(&json!(2.5)), Some("2.5".into()));
        assert_eq!(scalar_text(&json!(true)), Some("1".into()));
        assert_eq!(scalar_text(&json!(null)), None);
        assert_eq!(scalar_text(&json!({})), None);
    }
}
