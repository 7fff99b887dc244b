//! The JSON status files and the command queue (06 §8): `manager_status`
//! (written by the CRM master, 02 §4), `lrm_status` (written by each LRM,
//! 05 §11) and the `crm_commands` queue (02 §3.9), with one canonical JSON
//! writer for all of them.
//!
//! Readers are forgiving the way upstream's Perl is: any key order and
//! whitespace, unknown keys ignored, numbers as strings, empty text (a
//! missing file) read as `{}`. Writers emit compact JSON with keys sorted
//! at every level, so equal values always give equal bytes.

mod crm_commands;
mod lrm_status;
mod manager_status;

pub use crm_commands::{enqueue, parse_queue, CrmCommand, CrmCommandError};
pub use lrm_status::{LrmResult, LrmStatus};
pub use manager_status::{
    verbose_service_state, Disarm, ManagerStatus, NodeRequest, ServiceCmd, ServiceEntry,
};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::types::text::trim;

/// Why a status file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// Not JSON, not an object, or a member of the wrong shape.
    #[error("unable to parse {file} - {message}")]
    Parse {
        /// `manager_status` or `lrm_status`.
        file: &'static str,
        /// What was wrong, from the JSON reader.
        message: String,
    },
}

/// Reads a status object: empty or all-whitespace text gives the default
/// (`{}`); anything but a JSON object (or `null`, read as `{}`) is an error.
/// The text is first read as a generic JSON value so that a top-level
/// array is refused instead of being mapped onto struct fields by position.
pub(crate) fn from_json_text<T: DeserializeOwned + Default>(
    file: &'static str,
    text: &str,
) -> Result<T, StatusError> {
    let err = |message: String| StatusError::Parse { file, message };
    if trim(text).is_empty() {
        return Ok(T::default());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    match value {
        Value::Null => Ok(T::default()),
        Value::Object(_) => serde_json::from_value(value).map_err(|e| err(e.to_string())),
        _ => Err(err("expected a JSON object".to_string())),
    }
}

/// The project's canonical JSON text of a value: compact, no trailing
/// newline, object keys sorted at every level (independent of whether
/// serde_json preserves insertion order in this build).
pub fn to_canonical_json<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(v) => sorted(v).to_string(),
        // Only maps with non-string keys fail to convert; the status types
        // have none, so this is unreachable for them.
        Err(_) => "{}".to_string(),
    }
}

/// Rebuilds every object with its keys inserted in sorted order.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sorted(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Serde helpers for Perl-written scalars.
pub(crate) mod perl {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    /// Perl truthiness of a JSON value: `null`, `false`, `0`, `""` and
    /// `"0"` are false, everything else true.
    pub fn truthy(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !(s.is_empty() || s == "0"),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// Reads a flag by Perl truthiness (missing ⇒ false via `default`).
    pub fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(truthy(&Value::deserialize(d)?))
    }

    /// Writes a flag as upstream does: the integer 1. Only called for
    /// `true` (the fields skip `false`).
    pub fn ser_flag<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(u8::from(*v))
    }

    /// Whether a flag is unset, for `skip_serializing_if`.
    pub fn is_false(v: &bool) -> bool {
        !*v
    }

    /// A scalar as the text Perl would see: strings verbatim, numbers in
    /// JSON form, booleans as `1`/``; `None` for null and containers.
    pub fn scalar_text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1" } else { "" }.to_string()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// An optional text field that Perl may have written as a number.
    pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(None),
            other => scalar_text(&other)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinning test (hygiene): the edge cases of JSON-value truthiness.
    #[test]
    fn pin_value_truthiness_edges() {
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
            ("\"\"", false),
            ("\"0\"", false),
            ("\"0.0\"", true),
            ("\"00\"", true),
            ("\" 0\"", true),
            ("[]", true),
            ("{}", true),
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(perl::truthy(&v), want, "{text}");
        }
    }

    #[test]
    fn canonical_json_sorts_nested_keys() {
        let v: Value = serde_json::from_str(r#"{"b":{"z":1,"a":[{"y":2,"x":3}]},"a":null}"#)
            .unwrap_or_default();
        assert_eq!(
            to_canonical_json(&v),
            r#"{"a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn perl_truthiness() {
        for (text, want) in [
            ("null", false),
            ("false", false),
            ("0", false),
            ("0.0", false),
            (r#""""#, false),
            (r#""0""#, false),
            ("1", true),
            (r#""0.0""#, true),
            ("[]", true),
        ] {
            let v: Value = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(perl::truthy(&v), want, "{text}");
        }
    }
}
