//! The JSON status files and the command queue (06 §8): `manager_status`
//! (written by the CRM master, 02 §4), `lrm_status` (written by each LRM,
//! 05 §11) and the `crm_commands` queue (02 §3.9), with one canonical JSON
//! writer for all of them.
//!
//! Readers are forgiving the way upstream's Perl is: any key order and
//! whitespace, unknown keys ignored, numbers as strings, empty text (a
//! missing file) read as `{}`. Writers emit compact JSON with keys sorted
//! at every level, so equal values always give equal bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::types::json::lenient_opt_int;
use crate::types::text::{is_space, trim};
use crate::types::{
    DisarmMode, DisarmState, LrmMode, LrmState, NodeState, OrUnknown, ResultCode, ServiceState, Sid,
};

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

// ---------------------------------------------------------------------------
// `manager_status` (02 §4, 06 §8.1): the CRM master's view of nodes and services.

/// The whole `manager_status` object. Unknown top-level keys (legacy
/// ones such as `relocate_tried_nodes`) are ignored on reading and
/// dropped on writing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagerStatus {
    /// Node of the CRM that wrote it; set when a manager is created.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub master_node: Option<String>,
    /// CRM clock (seconds) at write time.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_int"
    )]
    pub timestamp: Option<i64>,
    /// Node name → node state. Words this version does not know are kept.
    pub node_status: BTreeMap<String, OrUnknown<NodeState>>,
    /// Service id → service entry, in sid order (the order every pass
    /// iterates in).
    pub service_status: BTreeMap<Sid, ServiceEntry>,
    /// Node name → pending request (`enable-node-maintenance`). Entries
    /// may be empty objects after `disable-node-maintenance`; an empty map
    /// is not written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_request: BTreeMap<String, NodeRequest>,
    /// Present while HA is disarmed (`disarm-ha` until `arm-ha`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disarm: Option<Disarm>,
}

impl ManagerStatus {
    /// Reads the file's text; empty text (a missing file) is `{}`.
    pub fn from_json(text: &str) -> Result<Self, StatusError> {
        from_json_text("manager_status", text)
    }

    /// Compact JSON, keys sorted at every level.
    pub fn to_json(&self) -> String {
        to_canonical_json(self)
    }

    /// A node's state; `unknown` for nodes not in the map (02 §5.1).
    pub fn node_state(&self, node: &str) -> OrUnknown<NodeState> {
        self.node_status
            .get(node)
            .cloned()
            .unwrap_or(OrUnknown::Known(NodeState::Unknown))
    }

    /// Whether the CRM asked `node` to enter maintenance (read by its LRM).
    pub fn maintenance_requested(&self, node: &str) -> bool {
        self.node_request.get(node).is_some_and(|r| r.maintenance)
    }

    /// Number of *active* services of `node` (02 §4.3): see
    /// [`ServiceEntry::is_active_on`].
    pub fn count_active_services(&self, node: &str) -> usize {
        self.service_status
            .values()
            .filter(|sd| sd.is_active_on(node))
            .count()
    }

    /// Number of services on `node` waiting to be fenced (02 §4.3): `node`
    /// is their node and their state is `fence`.
    pub fn count_fenced_services(&self, node: &str) -> usize {
        self.service_status
            .values()
            .filter(|sd| {
                sd.node.as_deref() == Some(node) && sd.state_known() == Some(ServiceState::Fence)
            })
            .count()
    }
}

/// One service's entry (02 §4.2, 03 §1.3). Every state change clears all
/// fields but `state`, `node`, `failed_nodes` and `maintenance_node`
/// (03 §2), which is why everything past `state`/`node`/`uid` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceEntry {
    /// CRM service state; `None` only for hand-written entries without
    /// one. Unknown words are kept (02 §3.12 logs them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<OrUnknown<ServiceState>>,
    /// Node the service is (or was last) on.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub node: Option<String>,
    /// Current request id; LRM results are matched against it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub uid: Option<String>,
    /// Destination while `migrate`, `relocate`, `request_start_balance`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub target: Option<String>,
    /// Pending command, consumed by the service handlers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<ServiceCmd>,
    /// Only in `started`: the LRM confirmed a start. Read by Perl
    /// truthiness, written as `1`, omitted when false.
    #[serde(
        deserialize_with = "perl::de_flag",
        serialize_with = "perl::ser_flag",
        skip_serializing_if = "perl::is_false"
    )]
    pub running: bool,
    /// Only in `request_stop` reached through a `stop` command: the
    /// timeout token exactly as given.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub timeout: Option<String>,
    /// Nodes a start failed on (start-failure policy). `Some(vec![])` and
    /// `None` differ upstream (an empty list is still "present").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_nodes: Option<Vec<String>>,
    /// Node to move back to after its maintenance ends.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "perl::de_opt_text"
    )]
    pub maintenance_node: Option<String>,
}

impl ServiceEntry {
    /// The state if it is set and one this version knows.
    pub fn state_known(&self) -> Option<ServiceState> {
        self.state.as_ref().and_then(|s| s.known().copied())
    }

    /// 02 §4.3: `node` or `target` is `node`, and the state is set and not
    /// `stopped`, `freeze`, `error` or `request_start` (an unknown word
    /// counts as active, as upstream compares words).
    pub fn is_active_on(&self, node: &str) -> bool {
        let here = self.node.as_deref() == Some(node) || self.target.as_deref() == Some(node);
        let active = match &self.state {
            None => false,
            Some(OrUnknown::Unknown(w)) => !w.is_empty(),
            Some(OrUnknown::Known(s)) => !matches!(
                s,
                ServiceState::Stopped
                    | ServiceState::Freeze
                    | ServiceState::Error
                    | ServiceState::RequestStart
            ),
        };
        here && active
    }
}

/// A pending service command (`cmd`), stored as a JSON array. Shapes
/// other than `[<word>, <scalar>]` with a known word are kept verbatim in
/// [`ServiceCmd::Other`], whose handlers log `unknown command '<name>'`.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceCmd {
    /// `["migrate", <node>]`.
    Migrate(String),
    /// `["relocate", <node>]`.
    Relocate(String),
    /// `["stop", <timeout token>]`; the token stays literal text.
    Stop(String),
    /// Anything else, as read.
    Other(Value),
}

impl ServiceCmd {
    /// The command word: the array's first element as Perl would print
    /// it (empty if there is none).
    pub fn name(&self) -> String {
        match self {
            ServiceCmd::Migrate(_) => "migrate".into(),
            ServiceCmd::Relocate(_) => "relocate".into(),
            ServiceCmd::Stop(_) => "stop".into(),
            ServiceCmd::Other(Value::Array(a)) => {
                a.first().and_then(perl::scalar_text).unwrap_or_default()
            }
            ServiceCmd::Other(v) => perl::scalar_text(v).unwrap_or_default(),
        }
    }

    /// The JSON array form.
    fn to_value(&self) -> Value {
        let pair = |w: &str, a: &str| Value::from(vec![w.to_string(), a.to_string()]);
        match self {
            ServiceCmd::Migrate(n) => pair("migrate", n),
            ServiceCmd::Relocate(n) => pair("relocate", n),
            ServiceCmd::Stop(t) => pair("stop", t),
            ServiceCmd::Other(v) => v.clone(),
        }
    }

    /// The typed form of a JSON value.
    fn from_value(v: Value) -> Self {
        if let Value::Array(a) = &v {
            if let [Value::String(word), arg] = a.as_slice() {
                if let Some(arg) = perl::scalar_text(arg) {
                    match word.as_str() {
                        "migrate" => return ServiceCmd::Migrate(arg),
                        "relocate" => return ServiceCmd::Relocate(arg),
                        "stop" => return ServiceCmd::Stop(arg),
                        _ => {}
                    }
                }
            }
        }
        ServiceCmd::Other(v)
    }
}

impl Serialize for ServiceCmd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ServiceCmd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ServiceCmd::from_value(Value::deserialize(d)?))
    }
}

/// A node's entry in `node_request`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeRequest {
    /// Maintenance requested (`"maintenance": 1`); read by Perl
    /// truthiness, omitted when false.
    #[serde(
        deserialize_with = "perl::de_flag",
        serialize_with = "perl::ser_flag",
        skip_serializing_if = "perl::is_false"
    )]
    pub maintenance: bool,
}

/// The `disarm` object (02 §3.10). Both words are optional and kept when
/// unknown: the manager logs `unknown disarm-mode '<mode>', ignoring` for
/// anything but `freeze`/`ignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disarm {
    /// `freeze` or `ignore`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<OrUnknown<DisarmMode>>,
    /// `disarming`, then `disarmed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<OrUnknown<DisarmState>>,
}

// ---------------------------------------------------------------------------
// `lrm_status` (05 §11, 06 §8.2): state, mode and job results of one LRM.

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

// ---------------------------------------------------------------------------
// The `crm_commands` queue (02 §3.9, 06 §8.3): lines the CLI appends and the
// CRM master drains once per round.

/// One queued command. Sids and nodes are kept as the tokens written:
/// the CRM checks them itself and must be able to report e.g.
/// `crm command error - no such service: <line>` for any token, so a
/// token that is not a well-formed sid is not a parse error here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CrmCommand {
    /// `migrate <sid> <node>`: live-migrate.
    Migrate {
        /// The service.
        sid: String,
        /// The target node.
        node: String,
    },
    /// `relocate <sid> <node>`: stop, move, start.
    Relocate {
        /// The service.
        sid: String,
        /// The target node.
        node: String,
    },
    /// `stop <sid> <timeout>`: stop with a timeout token kept literally
    /// (the handler tests its numeric value for 0).
    Stop {
        /// The service.
        sid: String,
        /// The timeout token.
        timeout: String,
    },
    /// `enable-node-maintenance <node>`.
    EnableNodeMaintenance(String),
    /// `disable-node-maintenance <node>`.
    DisableNodeMaintenance(String),
    /// `disarm-ha freeze|ignore`.
    DisarmHa(DisarmMode),
    /// `arm-ha`.
    ArmHa,
}

/// A queue line the CRM does not understand. Displays as the CRM's log
/// message (level `err`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse crm command: {line}")]
pub struct CrmCommandError {
    /// The complete original line.
    pub line: String,
}

impl FromStr for CrmCommand {
    type Err = CrmCommandError;

    /// Matches the whole line against the grammar of 02 §3.9: tokens
    /// separated by runs of whitespace, none before the first or after
    /// the last token, the exact number of tokens per command.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let err = || CrmCommandError {
            line: line.to_string(),
        };
        if line.starts_with(is_space) || line.ends_with(is_space) {
            return Err(err());
        }
        let tokens: Vec<&str> = line.split(is_space).filter(|t| !t.is_empty()).collect();
        let owned = |s: &str| s.to_string();
        Ok(match tokens.as_slice() {
            ["migrate", sid, node] => CrmCommand::Migrate {
                sid: owned(sid),
                node: owned(node),
            },
            ["relocate", sid, node] => CrmCommand::Relocate {
                sid: owned(sid),
                node: owned(node),
            },
            ["stop", sid, timeout] => CrmCommand::Stop {
                sid: owned(sid),
                timeout: owned(timeout),
            },
            ["enable-node-maintenance", node] => CrmCommand::EnableNodeMaintenance(owned(node)),
            ["disable-node-maintenance", node] => CrmCommand::DisableNodeMaintenance(owned(node)),
            ["disarm-ha", mode] => CrmCommand::DisarmHa(mode.parse().map_err(|_| err())?),
            ["arm-ha"] => CrmCommand::ArmHa,
            _ => return Err(err()),
        })
    }
}

/// The queue line (without newline), tokens separated by one space.
impl fmt::Display for CrmCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrmCommand::Migrate { sid, node } => write!(f, "migrate {sid} {node}"),
            CrmCommand::Relocate { sid, node } => write!(f, "relocate {sid} {node}"),
            CrmCommand::Stop { sid, timeout } => write!(f, "stop {sid} {timeout}"),
            CrmCommand::EnableNodeMaintenance(n) => write!(f, "enable-node-maintenance {n}"),
            CrmCommand::DisableNodeMaintenance(n) => write!(f, "disable-node-maintenance {n}"),
            CrmCommand::DisarmHa(m) => write!(f, "disarm-ha {m}"),
            CrmCommand::ArmHa => f.write_str("arm-ha"),
        }
    }
}

/// Splits drained queue text into commands, in order. Lines are split at
/// `\n`; trailing empty lines are dropped (Perl's `split`), any other
/// empty line is an error like every unparsable line.
pub fn parse_queue(text: &str) -> Vec<Result<CrmCommand, CrmCommandError>> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.into_iter().map(str::parse).collect()
}

/// The queue text after enqueueing `command` (06 §8.3): the old content
/// with `<command>\n` appended (trailing newlines of `command` removed).
pub fn enqueue(queue: &str, command: &str) -> String {
    format!("{queue}{}\n", command.trim_end_matches('\n'))
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

#[cfg(test)]
mod manager_status_tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap_or_else(|_| panic!("bad sid {s}"))
    }

    fn read(text: &str) -> ManagerStatus {
        ManagerStatus::from_json(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn empty_text_is_an_empty_object() {
        assert_eq!(read(""), ManagerStatus::default());
        assert_eq!(read(" \n\t"), ManagerStatus::default());
        assert_eq!(read("{}"), ManagerStatus::default());
        assert_eq!(
            ManagerStatus::default().to_json(),
            r#"{"node_status":{},"service_status":{}}"#
        );
    }

    #[test]
    fn reads_pretty_input_with_tabs_strings_and_unknown_keys() {
        let text = "{\n\t\"service_status\": {\n\t\t\"vm:103\": {\"uid\": \"abc\", \"node\": \"node3\",\n\
                    \t\t\t\"state\": \"migrate\", \"target\": \"node1\", \"running\": \"1\", \"extra\": [1]},\n\
                    \t\t\"ct:7\": {\"state\": \"teleport\", \"node\": \"node2\", \"cmd\": [\"stop\", 0],\n\
                    \t\t\t\"failed_nodes\": [\"node1\"], \"timeout\": 30}\n\t},\n\
                    \t\"timestamp\": \"100\",\n\t\"relocate_tried_nodes\": {},\n\
                    \t\"node_status\": {\"node1\": \"online\", \"node2\": \"exploded\"},\n\
                    \t\"master_node\": \"node1\"\n}\n";
        let ms = read(text);
        assert_eq!(ms.master_node.as_deref(), Some("node1"));
        assert_eq!(ms.timestamp, Some(100));
        assert_eq!(ms.node_state("node1"), OrUnknown::Known(NodeState::Online));
        assert_eq!(
            ms.node_state("node2"),
            OrUnknown::Unknown("exploded".into())
        );
        assert_eq!(ms.node_state("node9"), OrUnknown::Known(NodeState::Unknown));
        let vm = &ms.service_status[&sid("vm:103")];
        assert_eq!(vm.state_known(), Some(ServiceState::Migrate));
        assert_eq!(vm.target.as_deref(), Some("node1"));
        assert!(vm.running);
        let ct = &ms.service_status[&sid("ct:7")];
        assert_eq!(ct.state, Some(OrUnknown::Unknown("teleport".into())));
        assert_eq!(ct.cmd, Some(ServiceCmd::Stop("0".into())));
        assert_eq!(ct.timeout.as_deref(), Some("30"));
        assert_eq!(ct.failed_nodes, Some(vec!["node1".to_string()]));
        assert_eq!(
            ms.to_json(),
            concat!(
                r#"{"master_node":"node1","node_status":{"node1":"online","node2":"exploded"},"#,
                r#""service_status":{"ct:7":{"cmd":["stop","0"],"failed_nodes":["node1"],"node":"node2","state":"teleport","timeout":"30"},"#,
                r#""vm:103":{"node":"node3","running":1,"state":"migrate","target":"node1","uid":"abc"}},"timestamp":100}"#
            )
        );
        assert_eq!(read(&ms.to_json()), ms);
    }

    #[test]
    fn round_trips_every_field() {
        let mut ms = ManagerStatus {
            master_node: Some("node2".into()),
            timestamp: Some(1_712_345_678),
            ..ManagerStatus::default()
        };
        ms.node_status
            .insert("node1".into(), NodeState::Maintenance.into());
        ms.node_request
            .insert("node1".into(), NodeRequest { maintenance: true });
        ms.node_request
            .insert("node2".into(), NodeRequest::default());
        ms.disarm = Some(Disarm {
            mode: Some(DisarmMode::Freeze.into()),
            state: Some(DisarmState::Disarming.into()),
        });
        ms.service_status.insert(
            sid("vm:100"),
            ServiceEntry {
                state: Some(ServiceState::Started.into()),
                node: Some("node1".into()),
                uid: Some("u1".into()),
                cmd: Some(ServiceCmd::Migrate("node2".into())),
                running: true,
                maintenance_node: Some("node1".into()),
                failed_nodes: Some(vec![]),
                ..ServiceEntry::default()
            },
        );
        let text = ms.to_json();
        assert!(
            text.contains(r#""node_request":{"node1":{"maintenance":1},"node2":{}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""disarm":{"mode":"freeze","state":"disarming"}"#),
            "{text}"
        );
        assert_eq!(read(&text), ms);
        assert!(ms.maintenance_requested("node1"));
        assert!(!ms.maintenance_requested("node2"));
    }

    #[test]
    fn odd_commands_are_kept_verbatim() {
        for (json, name) in [
            (r#"["teleport","node2"]"#, "teleport"),
            (r#"["migrate"]"#, "migrate"),
            (r#"["migrate","node2","x"]"#, "migrate"),
            (r#""stop""#, "stop"),
            ("[]", ""),
        ] {
            let cmd: ServiceCmd =
                serde_json::from_str(json).unwrap_or(ServiceCmd::Other(Value::Null));
            assert!(matches!(cmd, ServiceCmd::Other(_)), "{json}");
            assert_eq!(cmd.name(), name);
            assert_eq!(super::to_canonical_json(&cmd), json);
        }
        let cmd: ServiceCmd = serde_json::from_str(r#"["relocate","node3"]"#)
            .unwrap_or(ServiceCmd::Other(Value::Null));
        assert_eq!(cmd, ServiceCmd::Relocate("node3".into()));
    }

    #[test]
    fn derived_counts() {
        let ms = read(
            r#"{"service_status":{
                "vm:1":{"state":"started","node":"n1"},
                "vm:2":{"state":"migrate","node":"n2","target":"n1"},
                "vm:3":{"state":"stopped","node":"n1"},
                "vm:4":{"state":"fence","node":"n1"},
                "vm:5":{"node":"n1"},
                "vm:6":{"state":"request_start","node":"n1"}}}"#,
        );
        assert_eq!(ms.count_active_services("n1"), 3);
        assert_eq!(ms.count_active_services("n2"), 1);
        assert_eq!(ms.count_fenced_services("n1"), 1);
        assert_eq!(ms.count_fenced_services("n2"), 0);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "{",
            "[]",
            "[\"node1\", 1]",
            "42",
            r#"{"service_status":{"bogus":{}}}"#,
            r#"{"service_status":[]}"#,
            r#"{"node_status":{"n1":1}}"#,
            r#"{"timestamp":"soon"}"#,
        ] {
            let r = ManagerStatus::from_json(bad);
            assert!(r.is_err(), "{bad}: {r:?}");
            let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                msg.starts_with("unable to parse manager_status - "),
                "{msg}"
            );
        }
        assert_eq!(read("null"), ManagerStatus::default());
    }
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

#[cfg(test)]
mod crm_commands_tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        let lines = [
            "migrate vm:100 node2",
            "relocate ct:101 node3",
            "stop vm:100 0",
            "stop fa:1 120",
            "enable-node-maintenance node1",
            "disable-node-maintenance node1",
            "disarm-ha freeze",
            "disarm-ha ignore",
            "arm-ha",
        ];
        for line in lines {
            let cmd: Result<CrmCommand, _> = line.parse();
            assert_eq!(
                cmd.as_ref().map(ToString::to_string),
                Ok(line.to_string()),
                "{line}"
            );
        }
        assert_eq!(
            "migrate vm:100 node2".parse(),
            Ok(CrmCommand::Migrate {
                sid: "vm:100".into(),
                node: "node2".into()
            })
        );
        assert_eq!(
            "disarm-ha ignore".parse(),
            Ok(CrmCommand::DisarmHa(DisarmMode::Ignore))
        );
    }

    #[test]
    fn inner_whitespace_runs_are_accepted() {
        let cmd: Result<CrmCommand, _> = "stop \t vm:1   5".parse();
        assert_eq!(
            cmd,
            Ok(CrmCommand::Stop {
                sid: "vm:1".into(),
                timeout: "5".into()
            })
        );
        assert_eq!(cmd.map(|c| c.to_string()), Ok("stop vm:1 5".to_string()));
    }

    #[test]
    fn anything_else_is_refused_with_the_line() {
        for bad in [
            "",
            " arm-ha",
            "arm-ha ",
            "arm-ha\r",
            "arm-ha now",
            "ARM-HA",
            "migrate vm:100",
            "migrate vm:100 node2 node3",
            "stop vm:100",
            "disarm-ha",
            "disarm-ha sleep",
            "enable-node-maintenance",
            "node-maintenance enable node1",
            "frobnicate",
        ] {
            let e = bad.parse::<CrmCommand>().err();
            assert_eq!(
                e.map(|e| e.to_string()),
                Some(format!("unable to parse crm command: {bad}")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn queue_splitting() {
        assert!(parse_queue("").is_empty());
        assert!(parse_queue("\n\n").is_empty());
        let q = parse_queue("arm-ha\n\nmigrate vm:1 n2\nbogus\n\n");
        assert_eq!(q.len(), 4);
        assert_eq!(q[0], Ok(CrmCommand::ArmHa));
        assert_eq!(
            q[1],
            Err(CrmCommandError {
                line: String::new()
            })
        );
        assert!(q[2].is_ok());
        assert_eq!(q[3].as_ref().err().map(|e| e.line.as_str()), Some("bogus"));
        let q = parse_queue("\narm-ha");
        assert_eq!(q.len(), 2);
        assert!(q[0].is_err());
    }

    #[test]
    fn enqueue_appends_one_line() {
        let q = enqueue("", "arm-ha");
        let q = enqueue(&q, "migrate vm:1 n2\n");
        assert_eq!(q, "arm-ha\nmigrate vm:1 n2\n");
        assert_eq!(parse_queue(&q).len(), 2);
    }
}
