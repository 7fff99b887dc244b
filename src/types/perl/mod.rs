//! Perl scalar semantics that upstream's files and commands rely on, in one
//! place: truthiness of a string or a JSON value, the numeric value of a
//! loosely typed string, numeric comparison, the text Perl sees in a JSON
//! scalar, and (in [`json`]) the JSON text Perl's encoder writes.
//!
//! Upstream is Perl: a flag is whatever `if ($x)` accepts, a timeout or a
//! statistics value is whatever `$x + 0` yields. Every reader of upstream
//! data asks these functions, so the quirks are decided once.

pub mod json;

use std::cmp::Ordering;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::types::text::is_space;

/// Perl truthiness of a string: only `""` and `"0"` are false (`"0.0"`,
/// `"00"` and `" 0"` are true).
pub fn truthy(s: &str) -> bool {
    !(s.is_empty() || s == "0")
}

/// Perl truthiness of a decoded JSON value: `null`, `false`, numeric zero
/// (`0`, `0.0`, `-0.0`), `""` and `"0"` are false; everything else,
/// including empty arrays and objects (references), is true.
pub fn value_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => truthy(s),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A JSON scalar as the text Perl would see: strings verbatim, numbers in
/// their JSON form, booleans as `1`/``; `None` for null, arrays and
/// objects.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "" }.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Serde reader of an optional text field that Perl may have written as a
/// number or boolean ([`scalar_text`]); `null` is `None`, containers are
/// an error.
pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::Null => Ok(None),
        other => scalar_text(&other)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {other}"))),
    }
}

/// The numeric prefix of a string as Perl's numeric conversion reads it.
struct Prefix<'a> {
    /// The prefix text (`-1.5e3` of `" -1.5e3xyz"`); empty when none.
    text: &'a str,
    /// No fraction and no exponent: Perl keeps such a value as an exact
    /// integer when it fits 64 bits.
    integral: bool,
}

/// Finds the numeric prefix: leading [`is_space`] whitespace, an optional
/// sign, digits with an optional fraction (at least one digit in all), an
/// optional exponent that counts only when it has digits. Perl also reads
/// `inf`/`nan` words and hexadecimal never; no caller's data has the words,
/// so they are 0 here.
fn prefix(s: &str) -> Prefix<'_> {
    let t = s.trim_start_matches(is_space);
    let b = t.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut end = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits(end);
    let mut mantissa = int_end > end;
    end = int_end;
    let mut integral = true;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        if mantissa || frac_end > end + 1 {
            mantissa = true;
            integral = false;
            end = frac_end;
        }
    }
    if !mantissa {
        return Prefix {
            text: "",
            integral: true,
        };
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits(end + 1 + sign);
        if exp_end > end + 1 + sign {
            end = exp_end;
            integral = false;
        }
    }
    Prefix {
        text: &t[..end],
        integral,
    }
}

/// The numeric value of `s` as Perl's `$s + 0` computes it: the leading
/// number after optional whitespace (sign, digits, fraction, exponent);
/// 0 when there is none. Overflow gives an infinity, as in Perl.
pub fn number(s: &str) -> f64 {
    prefix(s).text.parse().unwrap_or(0.0)
}

/// [`number`] truncated to an integer as `int()` would, saturating at the
/// `i64` bounds.
pub fn integer(s: &str) -> i64 {
    let n = number(s);
    if n.is_nan() {
        0
    } else {
        // `as` saturates at the i64 bounds.
        n.trunc() as i64
    }
}

/// A number as Perl holds a numified string: an exact integer (IV/UV)
/// when the prefix is integral and fits, a double otherwise.
#[derive(Clone, Copy)]
enum Numified {
    Int(i128),
    Float(f64),
}

fn numify(s: &str) -> Numified {
    let p = prefix(s);
    if p.text.is_empty() {
        return Numified::Int(0);
    }
    if p.integral {
        // UV range for positive values, IV range for negative ones.
        if let Ok(n) = p.text.parse::<i128>() {
            if (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&n) {
                return Numified::Int(n);
            }
        }
    }
    Numified::Float(p.text.parse().unwrap_or(0.0))
}

/// Perl's `$a <=> $b` on two strings: exact when both are integers that
/// fit 64 bits, in floating point otherwise (so `2^64` equals `2^64 - 1`,
/// as in Perl). NaN cannot arise; it would compare equal.
pub fn compare_numbers(a: &str, b: &str) -> Ordering {
    match (numify(a), numify(b)) {
        (Numified::Int(x), Numified::Int(y)) => x.cmp(&y),
        (x, y) => as_f64(x).partial_cmp(&as_f64(y)).unwrap_or(Ordering::Equal),
    }
}

fn as_f64(n: Numified) -> f64 {
    match n {
        // Precision loss is what Perl does too when mixing with a double.
        Numified::Int(i) => i as f64,
        Numified::Float(f) => f,
    }
}

#[cfg(test)]
mod tests;
