//! `resources.cfg` (06 §3): the HA resources, one section per service.

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

/// Which resource plugins are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// A real node: `vm` and `ct`.
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

    fn knows_property(&self, _ty: &SectionType, key: &str) -> bool {
        FILE_KEYS.contains(&key)
    }

    fn parse_header(&self, ty: &str, name: &str) -> Header {
        let ty = ty.to_lowercase();
        let id = format!("{ty}:{name}");
        let error = if self.section_type(&ty).is_none() {
            Some(format!("no such resource type '{ty}'"))
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
        Ok(Resource {
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
    fn simulator_flavor_knows_fa() {
        let f = ResourcesFormat {
            flavor: Flavor::Simulator,
        };
        let p = f.parse("sim", b"fa: 10x\n\nfa: 100\n");
        assert_eq!(
            p.warnings,
            ["file sim line 1 (skip section 'fa:10x'): invalid VMID '10x'"]
        );
        assert!(p.value.get("fa:100").is_some());
    }
}
