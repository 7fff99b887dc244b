//! The edge cases of the copies this module replaced (fence.cfg, section
//! writer, status files, simulator, LRM, cluster store, CRM timeouts),
//! pinned before the merge; every old copy passed these tables.

use std::cmp::Ordering;

use serde_json::{json, Value};

use super::*;

#[test]
fn string_truthiness() {
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

#[test]
fn value_truthiness() {
    for (text, want) in [
        ("null", false),
        ("false", false),
        ("true", true),
        ("0", false),
        ("0.0", false),
        ("-0.0", false),
        ("0e0", false),
        ("1", true),
        ("-1", true),
        ("0.5", true),
        (r#""""#, false),
        (r#""0""#, false),
        (r#""0.0""#, true),
        (r#""00""#, true),
        (r#"" 0""#, true),
        ("[]", true),
        ("{}", true),
    ] {
        let v: Value = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(value_truthy(&v), want, "{text}");
    }
}

#[test]
fn numbers_read_their_prefix() {
    for (s, want) in [
        ("", 0.0),
        ("0", 0.0),
        ("10", 10.0),
        (" 5s", 5.0),
        ("0.0", 0.0),
        ("0.5", 0.5),
        ("00", 0.0),
        ("0E0", 0.0),
        (" 1", 1.0),
        (" 8.0", 8.0),
        ("3.9x", 3.9),
        ("1abc", 1.0),
        ("abc", 0.0),
        ("inf", 0.0),
        ("nan", 0.0),
        ("0x10", 0.0),
        ("+5", 5.0),
        ("-3", -3.0),
        ("\t\n\x0b\x0c\r7", 7.0),
        ("\u{a0}1", 0.0),
        ("1e", 1.0),
        ("1e+", 1.0),
        ("1e2", 100.0),
        ("1E3", 1000.0),
        ("-1e3", -1000.0),
        (".5", 0.5),
        (".5x", 0.5),
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
fn integers_truncate_and_saturate() {
    for (s, want) in [
        ("2.9", 2),
        ("-2.9", -2),
        ("1e400", i64::MAX),
        ("-1e400", i64::MIN),
        ("99999999999999999999999", i64::MAX),
        ("abc", 0),
        (" 42x", 42),
    ] {
        assert_eq!(integer(s), want, "{s:?}");
    }
}

#[test]
fn numeric_comparison() {
    for (a, b, want) in [
        ("2", "10", Ordering::Less),
        ("01", "1", Ordering::Equal),
        ("", "0", Ordering::Equal),
        ("x", "0", Ordering::Equal),
        ("007", "7", Ordering::Equal),
        ("-1", "0", Ordering::Less),
        (" 3", "2", Ordering::Greater),
        ("3x", "3", Ordering::Equal),
        // Exact while both fit 64 bits ...
        ("9007199254740993", "9007199254740992", Ordering::Greater),
        (
            "18446744073709551615",
            "18446744073709551614",
            Ordering::Greater,
        ),
        (
            "9223372036854775808",
            "9223372036854775807",
            Ordering::Greater,
        ),
        (
            "-9223372036854775808",
            "-9223372036854775807",
            Ordering::Less,
        ),
        // ... doubles beyond, where neighbours become equal.
        (
            "18446744073709551616",
            "18446744073709551615",
            Ordering::Equal,
        ),
        (
            "100000000000000000000",
            "100000000000000000001",
            Ordering::Equal,
        ),
        // Fractions count, as in Perl.
        ("1.5", "1", Ordering::Greater),
        ("1e1", "9", Ordering::Greater),
    ] {
        assert_eq!(compare_numbers(a, b), want, "{a:?} <=> {b:?}");
    }
}

#[test]
fn scalars() {
    assert_eq!(scalar_text(&json!("a")), Some("a".into()));
    assert_eq!(scalar_text(&json!(2)), Some("2".into()));
    assert_eq!(scalar_text(&json!(2.5)), Some("2.5".into()));
    assert_eq!(scalar_text(&json!(true)), Some("1".into()));
    assert_eq!(scalar_text(&json!(false)), Some(String::new()));
    assert_eq!(scalar_text(&json!(null)), None);
    assert_eq!(scalar_text(&json!([])), None);
    assert_eq!(scalar_text(&json!({})), None);
}

#[test]
fn optional_text_fields() {
    #[derive(serde::Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "de_opt_text")]
        t: Option<String>,
    }
    let read = |s: &str| serde_json::from_str::<T>(s).map(|t| t.t);
    assert_eq!(read(r#"{"t":7}"#).ok(), Some(Some("7".into())));
    assert_eq!(read(r#"{"t":null}"#).ok(), Some(None));
    assert_eq!(read("{}").ok(), Some(None));
    let err = read(r#"{"t":[1]}"#).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.starts_with("expected a string, got [1]")),
        "{err:?}"
    );
}
