//! `lrm_status` (05 §11, 06 §8.2): what one LRM reports to the CRM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::json::lenient_opt_int;
use crate::types::{LrmMode, LrmState, OrUnknown, ResultCode, ServiceState, Sid};

use super::{from_json_text, to_canonical_json, StatusError};

/// The whole `lrm_status` object. Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LrmStatus {
    /// The LRM's state; the group-migration check requires it (02 §3.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<OrUnknown<LrmState>>,
    /// The LRM's mode; see [`LrmStatus::mode`] for the value in effect.
    /// The real environment reads a missing file as mode `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<OrUnknown<LrmMode>>,
    /// Job results by uid, in uid order.
    pub results: BTreeMap<String, LrmResult>,
    /// Env time (seconds) of the write.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_int"
    )]
    pub timestamp: Option<i64>,
}

impl LrmStatus {
    /// Reads the file's text; empty text (a missing file in the
    /// simulator) is `{}`.
    pub fn from_json(text: &str) -> Result<Self, StatusError> {
        from_json_text("lrm_status", text)
    }

    /// Compact JSON, keys sorted at every level.
    pub fn to_json(&self) -> String {
        to_canonical_json(self)
    }

    /// What the real environment returns for a node without the file
    /// (`{"mode": "unknown"}`, 06 §8.2), so a deleted node is not taken
    /// for an active one.
    pub fn missing_real() -> Self {
        LrmStatus {
            mode: Some(OrUnknown::Unknown("unknown".into())),
            ..LrmStatus::default()
        }
    }

    /// The mode as the CRM sees it (02 §3.3): the written word, `active`
    /// when absent or empty.
    pub fn mode(&self) -> OrUnknown<LrmMode> {
        match &self.mode {
            None => OrUnknown::Known(LrmMode::Active),
            Some(OrUnknown::Unknown(w)) if w.is_empty() => OrUnknown::Known(LrmMode::Active),
            Some(m) => m.clone(),
        }
    }
}

/// The outcome of one CRM job (`uid → {sid, state, exit_code}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrmResult {
    /// The service the job was for.
    pub sid: Sid,
    /// The command the job ran: the CRM state it was issued for
    /// (`started`, `request_stop`, `migrate`, …).
    pub state: OrUnknown<ServiceState>,
    /// How it ended; written as a JSON integer.
    pub exit_code: ResultCode,
}

#[cfg(test)]
mod lrm_status_tests {
    use super::*;

    fn read(text: &str) -> LrmStatus {
        LrmStatus::from_json(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn missing_mode_means_active() {
        assert_eq!(read("").mode(), OrUnknown::Known(LrmMode::Active));
        assert_eq!(
            read(r#"{"mode":""}"#).mode(),
            OrUnknown::Known(LrmMode::Active)
        );
        assert_eq!(
            read(r#"{"mode":"disarm"}"#).mode(),
            OrUnknown::Known(LrmMode::Disarm)
        );
        assert_eq!(
            LrmStatus::missing_real().mode(),
            OrUnknown::Unknown("unknown".into())
        );
        assert_eq!(
            LrmStatus::missing_real().to_json(),
            r#"{"mode":"unknown","results":{}}"#
        );
    }

    #[test]
    fn reads_and_writes_the_documented_example() {
        let example = r#"{"mode":"active","results":{"5w2Lf0tzWd6cmT9Ba3+9ZA":{"exit_code":0,"sid":"vm:103","state":"started"}},"state":"active","timestamp":1712345678}"#;
        let st = read(example);
        assert_eq!(st.state, Some(OrUnknown::Known(LrmState::Active)));
        assert_eq!(st.timestamp, Some(1_712_345_678));
        let r = &st.results["5w2Lf0tzWd6cmT9Ba3+9ZA"];
        assert_eq!(r.sid.as_str(), "vm:103");
        assert_eq!(r.state, OrUnknown::Known(ServiceState::Started));
        assert_eq!(r.exit_code, ResultCode::Success);
        assert_eq!(st.to_json(), example);
    }

    #[test]
    fn reads_loose_pretty_input() {
        let st = read(
            "{\n\t\"timestamp\" : \"20\",\n\t\"results\": {\"u2\": {\"state\": \"migrate\", \"exit_code\": \"-1\", \"sid\": \"ct:1\", \"x\": 0},\n\
             \t\t\"u1\": {\"sid\": \"fa:2\", \"exit_code\": 255.0, \"state\": \"rebooting\"}},\n\t\"mode\": \"shutdown\", \"future\": true\n}",
        );
        assert_eq!(st.timestamp, Some(20));
        assert_eq!(st.mode(), OrUnknown::Known(LrmMode::Shutdown));
        assert_eq!(st.state, None);
        assert_eq!(st.results["u2"].exit_code, ResultCode::Other(-1));
        assert_eq!(st.results["u1"].exit_code, ResultCode::Other(255));
        assert_eq!(
            st.results["u1"].state,
            OrUnknown::Unknown("rebooting".into())
        );
        assert_eq!(
            st.to_json(),
            r#"{"mode":"shutdown","results":{"u1":{"exit_code":255,"sid":"fa:2","state":"rebooting"},"u2":{"exit_code":-1,"sid":"ct:1","state":"migrate"}},"timestamp":20}"#
        );
        assert_eq!(read(&st.to_json()), st);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            "{\"results\":{\"u\":{\"sid\":\"vm:1\",\"state\":\"started\"}}}",
            "{\"results\":{\"u\":{\"sid\":\"nope\",\"state\":\"started\",\"exit_code\":0}}}",
            "{\"mode\":5}",
            "[1]",
            "{\"timestamp\":",
        ] {
            let msg = LrmStatus::from_json(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                msg.starts_with("unable to parse lrm_status - "),
                "{bad}: {msg}"
            );
        }
    }
}
