//! Exit codes an LRM reports for a command uid (03 §1.4, 05 §10). The
//! numbers are part of the `lrm_status` format, so the type serialises as
//! a JSON integer and keeps codes it has no name for (−1, 255).

use std::fmt;

/// An LRM job's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// 0: finished as requested.
    Success,
    /// 1: failed.
    Error,
    /// 2: failed, the LRM retries itself; never reported to the CRM.
    TryAgain,
    /// 3: the service's configuration lives on another node.
    WrongNode,
    /// 4: no plugin for the service type.
    UnknownServiceType,
    /// 5: unknown command.
    UnknownCommand,
    /// 6: invalid parameter.
    InvalidParameter,
    /// 7: no resource configuration.
    UnknownService,
    /// 8: deliberately skipped (rebalance-on-start of a running guest).
    Ignored,
    /// Any other number: −1 (job could not run), 255 (worker raised), …
    Other(i64),
}

impl ResultCode {
    /// The numeric code as stored in `lrm_status`.
    pub fn code(self) -> i64 {
        match self {
            ResultCode::Success => 0,
            ResultCode::Error => 1,
            ResultCode::TryAgain => 2,
            ResultCode::WrongNode => 3,
            ResultCode::UnknownServiceType => 4,
            ResultCode::UnknownCommand => 5,
            ResultCode::InvalidParameter => 6,
            ResultCode::UnknownService => 7,
            ResultCode::Ignored => 8,
            ResultCode::Other(n) => n,
        }
    }

    /// The code for a number; every number maps to something.
    pub fn from_code(n: i64) -> Self {
        match n {
            0 => ResultCode::Success,
            1 => ResultCode::Error,
            2 => ResultCode::TryAgain,
            3 => ResultCode::WrongNode,
            4 => ResultCode::UnknownServiceType,
            5 => ResultCode::UnknownCommand,
            6 => ResultCode::InvalidParameter,
            7 => ResultCode::UnknownService,
            8 => ResultCode::Ignored,
            n => ResultCode::Other(n),
        }
    }

    /// Upstream's constant name (`SUCCESS`, `ETRY_AGAIN`, …), if it has one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ResultCode::Success => "SUCCESS",
            ResultCode::Error => "ERROR",
            ResultCode::TryAgain => "ETRY_AGAIN",
            ResultCode::WrongNode => "EWRONG_NODE",
            ResultCode::UnknownServiceType => "EUNKNOWN_SERVICE_TYPE",
            ResultCode::UnknownCommand => "EUNKNOWN_COMMAND",
            ResultCode::InvalidParameter => "EINVALID_PARAMETER",
            ResultCode::UnknownService => "EUNKNOWN_SERVICE",
            ResultCode::Ignored => "IGNORED",
            ResultCode::Other(_) => return None,
        })
    }
}

/// Prints the number, as the log messages that mention exit codes do.
impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl serde::Serialize for ResultCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for ResultCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ResultCode::from_code(crate::types::json::lenient_int(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for n in -1..=9 {
            assert_eq!(ResultCode::from_code(n).code(), n);
        }
        assert_eq!(ResultCode::from_code(255), ResultCode::Other(255));
        assert_eq!(ResultCode::Ignored.name(), Some("IGNORED"));
    }

    #[test]
    fn serialises_as_integer() {
        assert_eq!(serde_json::to_string(&ResultCode::WrongNode).unwrap(), "3");
        let c: ResultCode = serde_json::from_str("-1").unwrap();
        assert_eq!(c, ResultCode::Other(-1));
        let c: ResultCode = serde_json::from_str("\"8\"").unwrap();
        assert_eq!(c, ResultCode::Ignored);
    }
}
