//! What a user can do to the live cluster (01 §10), as one closed enum,
//! and the errors a refused action reports: each maps to an HTTP status
//! and a one-line reason.

use crate::config::datacenter::CrsMode;

/// Largest CPU count the add and edit dialogs accept (01 §10).
pub const MAX_CPU: f64 = 1024.0;
/// Largest memory in MiB the add and edit dialogs accept (01 §10).
pub const MAX_MEM_MIB: f64 = 10_485_760.0;
/// CPU count of a new service unless given (01 §10).
pub const DEFAULT_CPU: f64 = 4.0;
/// Memory in MiB of a new service unless given (01 §10).
pub const DEFAULT_MEM_MIB: f64 = 4096.0;
/// Longest numeric id of a new service (01 §10).
pub const MAX_ID_LEN: usize = 7;

/// The requested states the service table's selector offers.
pub const REQUEST_STATES: &[&str] = &["started", "stopped", "disabled", "ignored"];

/// One action on the live cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The node's power switch (`power <node> on|off`, log id `hardware`).
    Power {
        /// Node name.
        node: String,
        /// On or off.
        on: bool,
    },
    /// The node's network switch (`network <node> on|off`).
    Network {
        /// Node name.
        node: String,
        /// On or off.
        on: bool,
    },
    /// The requested-state selector: sets the configured state directly.
    SetState {
        /// Service id.
        sid: String,
        /// One of [`REQUEST_STATES`].
        state: String,
    },
    /// The migrate dialog: queues `migrate`/`relocate <sid> <target>`.
    Migrate {
        /// Service id.
        sid: String,
        /// Target node.
        target: String,
        /// Stop, move and start instead of a live migration.
        relocate: bool,
    },
    /// The add dialog: `service <sid> add <node>` and its static stats.
    Add {
        /// `vm` or `ct`.
        kind: String,
        /// The numeric id.
        id: String,
        /// Node to add it on.
        node: String,
        /// CPU count.
        maxcpu: f64,
        /// Memory in MiB.
        maxmem_mib: f64,
    },
    /// The delete button: `service <sid> delete`.
    Delete {
        /// Service id.
        sid: String,
    },
    /// The edit dialog: `service <sid> set-static-stats …`.
    StaticStats {
        /// Service id.
        sid: String,
        /// CPU count.
        maxcpu: f64,
        /// Memory in MiB.
        maxmem_mib: f64,
    },
    /// The scheduler selector: `crs.ha` in `datacenter.cfg`.
    Crs {
        /// The new mode.
        mode: CrsMode,
    },
    /// The Save button: the current state back into the directory.
    Save,
}

/// Why an action or request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Malformed request or value out of range (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong token where one is required (401).
    #[error("{0}")]
    Unauthorized(String),
    /// A cross-site or foreign-host request (403).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown node, service or path (404).
    #[error("{0}")]
    NotFound(String),
    /// Known path, wrong method (405).
    #[error("method {0} not allowed here")]
    MethodNotAllowed(String),
    /// The action conflicts with the state (409), e.g. an existing id.
    #[error("{0}")]
    Conflict(String),
    /// Request body too large (413).
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// A body that is not declared as JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Something on the simulator's side failed (500), e.g. a file write.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Internal(_) => 500,
        }
    }

    /// The reason as one line (no newline can break the error body).
    pub fn line(&self) -> String {
        self.to_string()
            .replace(['\n', '\r'], " ")
            .trim()
            .to_string()
    }
}

/// Checks a CPU count and memory size against the dialogs' limits.
pub fn check_resources(maxcpu: f64, maxmem_mib: f64) -> Result<(), ApiError> {
    if !(1.0..=MAX_CPU).contains(&maxcpu) {
        return Err(ApiError::BadRequest(format!(
            "maxcpu must be between 1 and {MAX_CPU}, got {maxcpu}"
        )));
    }
    if !(1.0..=MAX_MEM_MIB).contains(&maxmem_mib) {
        return Err(ApiError::BadRequest(format!(
            "maxmem must be between 1 and {MAX_MEM_MIB} MiB, got {maxmem_mib}"
        )));
    }
    Ok(())
}

/// Checks the type and id of a new service and returns its sid.
pub fn new_sid(kind: &str, id: &str) -> Result<String, ApiError> {
    if kind != "vm" && kind != "ct" {
        return Err(ApiError::BadRequest(format!(
            "type must be 'vm' or 'ct', got '{kind}'"
        )));
    }
    let numeric = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    if !numeric || id.len() > MAX_ID_LEN || id.starts_with('0') {
        return Err(ApiError::BadRequest(format!(
            "id must be a number of 1 to {MAX_ID_LEN} digits without leading zero, got '{id}'"
        )));
    }
    Ok(format!("{kind}:{id}"))
}

/// A number as a command argument: integers without a fraction.
pub fn number_arg(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_ids() {
        assert!(check_resources(1.0, 1.0).is_ok());
        assert!(check_resources(MAX_CPU, MAX_MEM_MIB).is_ok());
        assert_eq!(check_resources(0.0, 1.0).unwrap_err().status(), 400);
        assert!(check_resources(4.0, MAX_MEM_MIB + 1.0).is_err());
        assert!(check_resources(f64::NAN, 1.0).is_err());
        assert_eq!(new_sid("vm", "107").unwrap(), "vm:107");
        assert_eq!(new_sid("ct", "1234567").unwrap(), "ct:1234567");
        for (k, id) in [
            ("fa", "1"),
            ("vm", ""),
            ("vm", "12345678"),
            ("vm", "01"),
            ("vm", "1a"),
        ] {
            assert!(new_sid(k, id).is_err(), "{k}:{id}");
        }
        assert_eq!(number_arg(4.0), "4");
        assert_eq!(number_arg(1.5), "1.5");
        assert_eq!(
            ApiError::BadRequest("a\nb".into()).line(),
            "a b",
            "one line, whatever the cause"
        );
    }
}
