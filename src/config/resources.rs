//! `resources.cfg` (06 §3): the HA resources, one section per service.
//!
//! Besides upstream's `vm` and `ct`, a real node's format knows `ocf`
//! (an OCF resource agent, docs/ocf.md): header `ocf: <name>`, the
//! required `agent PROVIDER:TYPE` and the optional `params key=value …`
//! on top of the usual options. The `vm`/`ct` tables, their warnings and
//! their written bytes are upstream's, unchanged.

use super::ocf::{self, OcfAgent, OcfParams, OcfSpec};
use super::section::{
    self, Format, Header, Prop, PropKind, RawSection, SectionConfig, SectionFormat, SectionType,
};
use super::Parsed;
use crate::types::{ConfiguredState, RequestedState, ResourceType, Sid};

const STATES: &[&str] = &["started", "stopped", "enabled", "disabled", "ignored"];
const STATE: Prop = Prop::optional("state", PropKind::Enum(STATES));
const GROUP: Prop = Prop::optional("group", PropKind::Format(Format::ConfigId));
const FAILBACK: Prop = Prop::optional("failback", PropKind::Bool);
const MAX_RESTART: Prop = Prop::optional("max_restart", PropKind::Int { min: Some(0) });
const MAX_RELOCATE: Prop = Prop::optional("max_relocate", PropKind::Int { min: Some(0) });
const COMMENT: Prop = Prop::optional(
    "comment",
    PropKind::Str {
        max_len: Some(4096),
    },
);

const REAL_OPTIONS: &[Prop] = &[STATE, GROUP, FAILBACK, MAX_RESTART, MAX_RELOCATE, COMMENT];
const AGENT: Prop = Prop::required("agent", PropKind::Format(Format::OcfAgent));
const PARAMS: Prop = Prop::optional("params", PropKind::Format(Format::OcfParams));
/// An `ocf` section: the usual options plus its agent and parameters.
const OCF_OPTIONS: &[Prop] = &[
    AGENT,
    PARAMS,
    STATE,
    GROUP,
    FAILBACK,
    MAX_RESTART,
    MAX_RELOCATE,
    COMMENT,
];
/// The simulator's plugins leave `failback` out of their option table.
const SIM_OPTIONS: &[Prop] = &[STATE, GROUP, MAX_RESTART, MAX_RELOCATE, COMMENT];

const REAL_TYPES: &[SectionType] = &[
    SectionType {
        name: "vm",
        props: REAL_OPTIONS,
    },
    SectionType {
        name: "ct",
        props: REAL_OPTIONS,
    },
    SectionType {
        name: "ocf",
        props: OCF_OPTIONS,
    },
];
const SIM_TYPES: &[SectionType] = &[
    SectionType {
        name: "vm",
        props: SIM_OPTIONS,
    },
    SectionType {
        name: "ct",
        props: SIM_OPTIONS,
    },
    SectionType {
        name: "fa",
        props: SIM_OPTIONS,
    },
];

/// Keys the file knows at all; `sid` is API-only and fails as
/// `unexpected property 'sid'` when written into the file.
const FILE_KEYS: &[&str] = &[
    "type",
    "sid",
    "state",
    "group",
    "failback",
    "max_restart",
    "max_relocate",
    "comment",
];
/// The keys only an `ocf` section knows. Elsewhere they stay "unknown
/// property type", as upstream (which has no such plugin) reports them.
const OCF_KEYS: &[&str] = &["agent", "params"];

/// Which resource plugins are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// A real node: `vm`, `ct` and `ocf` (the latter refused by
    /// `ha-manager` on the pve backend).
    #[default]
    Real,
    /// The simulator: `vm`, `ct` and `fa`.
    Simulator,
}

/// The resources.cfg format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourcesFormat {
    /// Registered plugins.
    pub flavor: Flavor,
}

/// One HA resource as written in resources.cfg. Unset options stay `None`
/// so a rewrite keeps the file as the admin wrote it; the `*_or_default`
/// accessors give what the daemons use (06 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The service id (`vm:100`).
    pub sid: Sid,
    /// Requested state, `enabled` kept verbatim.
    pub state: Option<ConfiguredState>,
    /// Deprecated HA group.
    pub group: Option<String>,
    /// Move back to the preferred node when it returns.
    pub failback: Option<bool>,
    /// Start retries on the same node.
    pub max_restart: Option<i64>,
    /// Relocations after failed starts.
    pub max_relocate: Option<i64>,
    /// Free text.
    pub comment: Option<String>,
    /// Agent and parameters of an `ocf` resource (`None` for others).
    pub ocf: Option<OcfSpec>,
}

impl Resource {
    /// A resource with every option unset.
    pub fn new(sid: Sid) -> Self {
        Resource {
            sid,
            state: None,
            group: None,
            failback: None,
            max_restart: None,
            max_relocate: None,
            comment: None,
            ocf: None,
        }
    }

    /// The requested state the daemons act on (default `started`).
    pub fn requested_state(&self) -> RequestedState {
        self.state
            .map_or(RequestedState::Started, ConfiguredState::requested)
    }

    /// `failback`, default on.
    pub fn failback_or_default(&self) -> bool {
        self.failback.unwrap_or(true)
    }

    /// `max_restart`, default 1.
    pub fn max_restart_or_default(&self) -> i64 {
        self.max_restart.unwrap_or(1)
    }

    /// `max_relocate`, default 1.
    pub fn max_relocate_or_default(&self) -> i64 {
        self.max_relocate.unwrap_or(1)
    }
}

/// A parsed resources.cfg.
pub type ResourcesConfig = SectionConfig<Resource>;

impl ResourcesFormat {
    /// Parses the file's bytes; `file` names it in warnings.
    pub fn parse(&self, file: &str, raw: &[u8]) -> Parsed<ResourcesConfig> {
        section::parse(self, file, raw)
    }

    /// Writes the canonical text.
    pub fn write(&self, config: &ResourcesConfig) -> Result<String, section::WriteError> {
        section::write(self, config)
    }
}

/// `^[1-9][0-9]+$`, the VMID shape the header check wants.
fn is_vmid(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2 && (b'1'..=b'9').contains(&b[0]) && b.iter().all(u8::is_ascii_digit)
}

impl SectionFormat for ResourcesFormat {
    type Section = Resource;

    fn types(&self) -> &[SectionType] {
        match self.flavor {
            Flavor::Real => REAL_TYPES,
            Flavor::Simulator => SIM_TYPES,
        }
    }

    fn knows_property(&self, ty: &SectionType, key: &str) -> bool {
        FILE_KEYS.contains(&key) || (ty.name == "ocf" && OCF_KEYS.contains(&key))
    }

    fn parse_header(&self, ty: &str, name: &str) -> Header {
        let ty = ty.to_lowercase();
        let id = format!("{ty}:{name}");
        let error = if self.section_type(&ty).is_none() {
            Some(format!("no such resource type '{ty}'"))
        } else if ty == "ocf" {
            ocf::check_name(name).err().map(|e| e.to_string())
        } else if !is_vmid(name) {
            Some(match self.flavor {
                Flavor::Real => "invalid VMID".to_string(),
                Flavor::Simulator => format!("invalid VMID '{name}'"),
            })
        } else {
            None
        };
        Header { ty, id, error }
    }

    fn header_name<'a>(&self, _ty: &str, id: &'a str) -> &'a str {
        id.split_once(':').map_or(id, |(_, name)| name)
    }

    fn decode(&self, raw: RawSection) -> Result<Resource, String> {
        let sid: Sid = raw
            .id
            .parse()
            .map_err(|e: crate::types::SidError| e.to_string())?;
        // The values were checked by their formats already.
        let ocf = match raw.str("agent") {
            Some(agent) if sid.type_str() == "ocf" => Some(OcfSpec {
                agent: agent.parse::<OcfAgent>().map_err(|e| e.to_string())?,
                params: OcfParams::parse(raw.str("params").unwrap_or_default())
                    .map_err(|e| e.to_string())?,
            }),
            _ => None,
        };
        Ok(Resource {
            ocf,
            state: raw.str("state").and_then(|s| s.parse().ok()),
            group: raw.str("group").map(str::to_string),
            failback: raw.int("failback").map(|n| n != 0),
            max_restart: raw.int("max_restart"),
            max_relocate: raw.int("max_relocate"),
            comment: raw.str("comment").map(str::to_string),
            sid,
        })
    }

    fn encode(&self, r: &Resource) -> RawSection {
        let mut raw = RawSection {
            ty: r.sid.type_str().to_string(),
            id: r.sid.to_string(),
            ..RawSection::default()
        };
        raw.set_str("state", r.state.map(|s| s.to_string()));
        raw.set_str("group", r.group.clone());
        raw.set_int("failback", r.failback.map(i64::from));
        raw.set_int("max_restart", r.max_restart);
        raw.set_int("max_relocate", r.max_relocate);
        raw.set_str("comment", r.comment.clone());
        if let Some(o) = &r.ocf {
            raw.set_str("agent", Some(o.agent.to_string()));
            raw.set_str("params", Some(o.params.to_string()));
        }
        raw
    }
}

impl Resource {
    /// The resource type, when it is a registered plugin.
    pub fn resource_type(&self) -> Option<ResourceType> {
        self.sid.resource_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<ResourcesConfig> {
        ResourcesFormat::default().parse("/etc/pve/ha/resources.cfg", text.as_bytes())
    }

    #[test]
    fn canonical_write_matches_upstream() {
        let p = parse("vm: 501\n    state started\n    max_relocate 2\n\nct:102\n");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let text = ResourcesFormat::default().write(&p.value).unwrap();
        assert_eq!(
            text,
            "vm: 501\n\tmax_relocate 2\n\tstate started\n\nct: 102\n\n"
        );
    }

    #[test]
    fn defaults_apply_on_read() {
        let p = parse("vm: 100\n\tstate enabled\n");
        let r = p.value.get("vm:100").unwrap();
        assert_eq!(r.state, Some(ConfiguredState::Enabled));
        assert_eq!(r.requested_state(), RequestedState::Started);
        assert_eq!(r.max_restart_or_default(), 1);
        assert!(r.failback_or_default());
    }

    #[test]
    fn bad_headers_and_values_warn() {
        let p = parse(
            "vm: 1\n\tstate started\n\nxx: 100\n\nvm: 100\n\tstate on\n\tsid vm:100\n\tfoo 1\n\tstate stopped\n\tstate started\n",
        );
        let f = "file /etc/pve/ha/resources.cfg";
        assert_eq!(
            p.warnings,
            vec![
                format!("{f} line 1 (skip section 'vm:1'): invalid VMID"),
                format!("{f} line 4 (skip section 'xx:100'): no such resource type 'xx'"),
                format!("{f} line 7 (section 'vm:100') - unable to parse value of 'state': value 'on' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored'"),
                format!("{f} line 8 (section 'vm:100') - unable to parse value of 'sid': unexpected property 'sid'"),
                format!("{f} line 9 (section 'vm:100') - unable to parse value of 'foo': unknown property type"),
                format!("{f} line 11 (section 'vm:100') - unable to parse value of 'state': duplicate attribute"),
            ]
        );
        let r = p.value.get("vm:100").unwrap();
        assert_eq!(r.state, Some(ConfiguredState::Stopped));
        assert_eq!(p.value.ids.len(), 1);
        assert_eq!(p.value.errors.len(), 4);
    }

    #[test]
    fn second_header_without_blank_line_is_ignored() {
        let p = parse("ct: 102\n    # Note: defaults\nVM: 103\n\tstate started\n");
        assert_eq!(
            p.warnings,
            ["file /etc/pve/ha/resources.cfg line 3 (section 'ct:102') - ignore config line: VM: 103"]
        );
        assert_eq!(
            p.value.get("ct:102").unwrap().state,
            Some(ConfiguredState::Started)
        );
        assert!(p.value.get("vm:103").is_none());
    }

    #[test]
    fn ocf_sections() {
        let p = parse(
            "ocf: web-ip\n\tstate started\n\tparams ip=\"10.0.0.5\" nic='eth 0'\n\tagent heartbeat:IPaddr2\n\nocf: 100\n\tagent a:b\n\nocf: nope\n\tstate started\n\nocf: bad\n\tagent ../x\n\tparams a\n\nvm: 100\n\tagent a:b\n",
        );
        let f = "file /etc/pve/ha/resources.cfg";
        assert_eq!(
            p.warnings,
            vec![
                format!("{f} line 6 (skip section 'ocf:100'): invalid OCF resource name '100' (a letter, then letters, digits, '_', '-', '.'; at most 64)"),
                format!("{f} line 10 (skip section 'ocf:nope'): missing value for required option 'agent'"),
                format!("{f} line 13 (section 'ocf:bad') - unable to parse value of 'agent': invalid format - agent '../x' is not PROVIDER:TYPE (letters, digits, '_', '-', '.'; starting with a letter or digit)"),
                format!("{f} line 14 (section 'ocf:bad') - unable to parse value of 'params': invalid format - params: item 'a' is not key=value"),
                format!("{f} line 14 (skip section 'ocf:bad'): missing value for required option 'agent'"),
                format!("{f} line 17 (section 'vm:100') - unable to parse value of 'agent': unknown property type"),
            ]
        );
        let r = p.value.get("ocf:web-ip").unwrap();
        let o = r.ocf.as_ref().unwrap();
        assert_eq!(o.agent.to_string(), "heartbeat:IPaddr2");
        assert_eq!(o.params.get("nic"), Some("eth 0"));
        assert_eq!(r.resource_type(), Some(ResourceType::Ocf));
        let mut only = p.value.clone();
        only.ids.retain(|id, _| id == "ocf:web-ip");
        let text = ResourcesFormat::default().write(&only).unwrap();
        assert_eq!(
            text,
            "ocf: web-ip\n\tagent heartbeat:IPaddr2\n\tparams ip=10.0.0.5 nic='eth 0'\n\tstate started\n\n"
        );
        let again = parse(&text);
        assert_eq!(again.value.get("ocf:web-ip"), Some(r));
    }

    #[test]
    fn simulator_flavor_knows_fa() {
        let f = ResourcesFormat {
            flavor: Flavor::Simulator,
        };
        let p = f.parse("sim", b"fa: 10x\n\nfa: 100\n\nocf: x\n\tagent a:b\n");
        assert_eq!(
            p.warnings,
            [
                "file sim line 1 (skip section 'fa:10x'): invalid VMID '10x'",
                "file sim line 5 (skip section 'ocf:x'): no such resource type 'ocf'"
            ]
        );
        assert!(p.value.get("fa:100").is_some());
    }
}
