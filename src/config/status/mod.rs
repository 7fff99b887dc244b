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
use serde_json::Value;

use crate::types::perl::json::{self, Floats, Layout};
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
/// newline, object keys sorted at every level. Doubles keep serde_json's
/// round-trip form, so a status we write reads back exactly.
pub fn to_canonical_json<T: Serialize>(value: &T) -> String {
    json::write_serialize(value, Layout::Compact, Floats::RoundTrip)
}

/// Serde helpers for the flags of Perl-written status files.
pub(crate) mod perl {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub use crate::types::perl::de_opt_text;

    /// Reads a flag by Perl truthiness (missing ⇒ false via `default`).
    pub fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(crate::types::perl::value_truthy(&Value::deserialize(d)?))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_nested_keys() {
        let v: Value = serde_json::from_str(r#"{"b":{"z":1,"a":[{"y":2,"x":3}]},"a":null}"#)
            .unwrap_or_default();
        assert_eq!(
            to_canonical_json(&v),
            r#"{"a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}"#
        );
    }
}
