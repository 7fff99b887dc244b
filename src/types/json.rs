//! Small serde helpers for the JSON status files. Upstream's files are
//! written by Perl, where a number may arrive as a string (`"2"`) or a
//! float (`1.0`); readers accept all of them.

use serde::Deserialize;

/// A JSON number or numeric string, as upstream's loosely typed files hold.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// Reads an integer given as number, float, numeric string or boolean.
pub fn lenient_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Loose::deserialize(d)? {
        Loose::Int(n) => Ok(n),
        Loose::Float(f) if f.is_finite() => Ok(f.trunc() as i64),
        Loose::Bool(b) => Ok(i64::from(b)),
        Loose::Text(s) => parse_leading_int(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got '{s}'"))),
        Loose::Float(_) => Err(serde::de::Error::custom("expected a finite number")),
    }
}

/// Reads an optional integer (missing or `null` ⇒ `None`).
pub fn lenient_opt_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "lenient_int")] i64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// Numeric value of a string the way a numeric comparison sees it: leading
/// whitespace, an optional sign, digits, an optional fraction (truncated).
fn parse_leading_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| f.trunc() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "lenient_int")]
        n: i64,
        #[serde(default, deserialize_with = "lenient_opt_int")]
        o: Option<i64>,
    }

    #[test]
    fn accepts_loose_numbers() {
        for (text, want) in [
            (r#"{"n":2}"#, 2),
            (r#"{"n":"2"}"#, 2),
            (r#"{"n":2.0}"#, 2),
            (r#"{"n":true}"#, 1),
        ] {
            let t: T = serde_json::from_str(text).unwrap();
            assert_eq!(t.n, want, "{text}");
            assert_eq!(t.o, None);
        }
        let t: T = serde_json::from_str(r#"{"n":0,"o":"7"}"#).unwrap();
        assert_eq!(t.o, Some(7));
        assert!(serde_json::from_str::<T>(r#"{"n":"x"}"#).is_err());
    }
}
