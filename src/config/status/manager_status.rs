//! `manager_status` (02 §4, 06 §8.1): the CRM master's persisted view of
//! nodes and services.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::types::json::lenient_opt_int;
use crate::types::{DisarmMode, DisarmState, NodeState, OrUnknown, ServiceState, Sid};

use super::{from_json_text, perl, to_canonical_json, StatusError};

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
            ServiceCmd::Other(Value::Array(a)) => a
                .first()
                .and_then(crate::types::perl::scalar_text)
                .unwrap_or_default(),
            ServiceCmd::Other(v) => crate::types::perl::scalar_text(v).unwrap_or_default(),
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
                if let Some(arg) = crate::types::perl::scalar_text(arg) {
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

/// The verbose service state of 06 §11.3, as `ha-manager status` and the
/// simulator show it, from the requested state and node of the
/// configuration (`None`: not configured) and the manager's entry.
pub fn verbose_service_state(
    requested: Option<&str>,
    node: Option<&str>,
    entry: Option<&ServiceEntry>,
) -> String {
    let Some(req) = requested else {
        return "deleting".into();
    };
    if req == "ignored" {
        return "ignored".into();
    }
    if node.is_none_or(str::is_empty) {
        return "not found".into();
    }
    let Some(cur) = entry
        .and_then(|e| e.state.as_ref())
        .map(ToString::to_string)
    else {
        return "queued".into();
    };
    let running = entry.is_some_and(|e| e.running);
    match cur.as_str() {
        "stopped" => match req {
            "started" => "starting",
            "disabled" => "disabled",
            _ => "stopped",
        }
        .into(),
        "started" => {
            let mut s = "started";
            if req == "stopped" || req == "disabled" {
                s = "stopping";
            }
            // Independently of the request (06 §11.3).
            if !running {
                s = "starting";
            }
            s.into()
        }
        "error" if req == "disabled" => "clearing error flag".into(),
        _ => cur,
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
