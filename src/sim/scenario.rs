//! Loading a scenario directory (01 §2): every input file parsed once,
//! with the defaults of the status-directory seeding (01 §2.3) applied.
//! Malformed input is an error naming the file (and, for JSON, the line
//! and column), reported before anything is logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::hardware::{check_services, NodeHardware, RawService, ShutdownKind};
use crate::config::datacenter::{self, DatacenterConfig};
use crate::config::groups::GroupsFormat;
use crate::config::rules::RulesFormat;
use crate::config::status::ManagerStatus;
use crate::env::Usage;
use crate::types::perl;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("unable to read '{}': {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A required file is missing.
    #[error("{}: missing", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A JSON file is malformed or has the wrong shape.
    #[error("{}: line {line}, column {column}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file parsed but holds an unusable value.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The inputs of one scenario, parsed, with seeding defaults applied.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The command batches (01 §2.2).
    pub cmdlist: Vec<Vec<String>>,
    /// The cluster nodes and their initial hardware state.
    pub nodes: BTreeMap<String, NodeHardware>,
    /// The services as stored (text values).
    pub services: BTreeMap<String, RawService>,
    /// The initial manager status, if the file exists.
    pub manager_status: Option<ManagerStatus>,
    /// `rules_config` text.
    pub rules_config: Option<String>,
    /// `groups` text.
    pub groups: Option<String>,
    /// `datacenter.cfg` text (simulator JSON form).
    pub datacenter_text: Option<String>,
    /// `datacenter.cfg`, parsed.
    pub datacenter: DatacenterConfig,
    /// `fence.cfg` text (dormant, 01 §6.8).
    pub fence: Option<String>,
    /// Static service statistics (`maxcpu`, `maxmem`).
    pub static_stats: BTreeMap<String, Usage>,
    /// Dynamic service statistics (`cpu`, `mem`).
    pub dynamic_stats: BTreeMap<String, Usage>,
    /// Initial run states: node → sid → running.
    pub service_status: BTreeMap<String, BTreeMap<String, bool>>,
    /// Parser warnings (section-config files), for stderr.
    pub warnings: Vec<String>,
}

/// Default services when `service_config` is absent (01 §2.3 step 4).
const DEFAULT_SERVICES: &[(&str, &str)] = &[
    ("vm:101", "node1"),
    ("vm:102", "node2"),
    ("vm:103", "node3"),
    ("vm:104", "node1"),
    ("vm:105", "node2"),
    ("vm:106", "node3"),
];

/// Default node capacity: 24 CPUs, 131072 MiB (01 §2.3 step 5).
const DEFAULT_MAXCPU: f64 = 24.0;
/// See [`DEFAULT_MAXCPU`].
const DEFAULT_MAXMEM: f64 = 137_438_953_472.0;

/// One MiB, the unit of memory in commands and defaults.
pub const MIB: f64 = 1_048_576.0;

/// The files the tester reads besides `service_status_<node>`.
const FILES: &[&str] = &[
    "cmdlist",
    "hardware_status",
    "service_config",
    "manager_status",
    "rules_config",
    "groups",
    "datacenter.cfg",
    "fence.cfg",
    "static_service_stats",
    "dynamic_service_stats",
];

/// A node entry of `hardware_status`.
#[derive(Deserialize)]
struct NodeFile {
    #[serde(default)]
    power: Option<OnOff>,
    #[serde(default)]
    network: Option<OnOff>,
    #[serde(default, deserialize_with = "loose_f64")]
    maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "loose_f64")]
    maxmem: Option<f64>,
    #[serde(
        rename = "pve-manager-version",
        default,
        deserialize_with = "perl::de_opt_text"
    )]
    version: Option<String>,
    #[serde(default)]
    shutdown: Option<ShutdownKind>,
    #[serde(default)]
    cfs: Option<BTreeMap<String, Value>>,
}

/// `"on"` / `"off"`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum OnOff {
    On,
    Off,
}

/// A number, a numeric string or null.
fn loose_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got '{s}'"))),
        other => Err(serde::de::Error::custom(format!(
            "expected a number, got {other}"
        ))),
    }
}

/// A statistics entry: any of `maxcpu`, `maxmem`, `cpu`, `mem`.
#[derive(Deserialize)]
struct StatFile {
    #[serde(default, deserialize_with = "loose_f64")]
    maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "loose_f64")]
    maxmem: Option<f64>,
    #[serde(default, deserialize_with = "loose_f64")]
    cpu: Option<f64>,
    #[serde(default, deserialize_with = "loose_f64")]
    mem: Option<f64>,
}

impl From<StatFile> for Usage {
    fn from(s: StatFile) -> Self {
        Usage {
            maxcpu: s.maxcpu,
            maxmem: s.maxmem,
            cpu: s.cpu,
            mem: s.mem,
        }
    }
}

/// Parses JSON into `T`, naming the file and position on failure.
fn json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ScenarioError> {
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        ScenarioError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_string(),
        }
    })
}

/// Reads the files `names` and every `service_status_<node>` of `dir`
/// (absent files are skipped), by name.
pub fn read_files(dir: &Path, names: &[&str]) -> Result<BTreeMap<String, String>, ScenarioError> {
    let read = |name: &str| -> Result<Option<String>, ScenarioError> {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ScenarioError::Io { path, source }),
        }
    };
    let mut files = BTreeMap::new();
    for name in names {
        if let Some(t) = read(name)? {
            files.insert(name.to_string(), t);
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("service_status_") {
            if let Some(t) = read(&name)? {
                files.insert(name, t);
            }
        }
    }
    Ok(files)
}

impl Scenario {
    /// A scenario with no nodes, no services and nothing configured.
    pub fn empty() -> Self {
        Scenario {
            cmdlist: Vec::new(),
            nodes: BTreeMap::new(),
            services: BTreeMap::new(),
            manager_status: None,
            rules_config: None,
            groups: None,
            datacenter_text: None,
            datacenter: DatacenterConfig::default(),
            fence: None,
            static_stats: BTreeMap::new(),
            dynamic_stats: BTreeMap::new(),
            service_status: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads the scenario files of `dir` (nothing else is read, 01 §2.1).
    pub fn load(dir: &Path) -> Result<Self, ScenarioError> {
        let files = read_files(dir, FILES)?;
        Scenario::from_files(dir, &files)
    }

    /// Builds a scenario from file texts by name; `dir` only names the
    /// files in errors. Applies the seeding order of 01 §2.3.
    pub fn from_files(dir: &Path, files: &BTreeMap<String, String>) -> Result<Self, ScenarioError> {
        let path = |name: &str| dir.join(name);
        let get = |name: &str| files.get(name).map(String::as_str);
        let mut s = Scenario::empty();

        if let Some(t) = get("manager_status") {
            s.manager_status =
                Some(
                    ManagerStatus::from_json(t).map_err(|e| ScenarioError::Invalid {
                        path: path("manager_status"),
                        message: e.to_string(),
                    })?,
                );
        }
        if let Some(t) = get("rules_config") {
            s.warnings
                .extend(RulesFormat.parse("rules_config", t.as_bytes()).warnings);
            s.rules_config = Some(t.to_string());
        }
        if let Some(t) = get("groups") {
            s.warnings
                .extend(GroupsFormat.parse("groups", t.as_bytes()).warnings);
            s.groups = Some(t.to_string());
        }

        match get("service_config") {
            Some(t) => {
                let p = path("service_config");
                let raw: BTreeMap<String, BTreeMap<String, Value>> = json(&p, t)?;
                for (sid, entry) in raw {
                    let mut d = RawService::new();
                    for (k, v) in entry {
                        if v.is_null() {
                            continue;
                        }
                        let text = perl::scalar_text(&v).ok_or_else(|| ScenarioError::Invalid {
                            path: p.clone(),
                            message: format!(
                                "service '{sid}': '{k}' must be a string or number, got {v}"
                            ),
                        })?;
                        d.insert(k, text);
                    }
                    s.services.insert(sid, d);
                }
            }
            None => {
                for (sid, node) in DEFAULT_SERVICES {
                    s.services.insert(
                        sid.to_string(),
                        RawService::from([("node".to_string(), node.to_string())]),
                    );
                }
            }
        }

        match get("hardware_status") {
            Some(t) => {
                let raw: BTreeMap<String, NodeFile> = json(&path("hardware_status"), t)?;
                for (name, n) in raw {
                    let cfs = n.cfs.unwrap_or_default();
                    let flag = |k: &str| cfs.get(k).is_none_or(perl::value_truthy);
                    s.nodes.insert(
                        name,
                        NodeHardware {
                            power: n.power == Some(OnOff::On),
                            network: n.network == Some(OnOff::On),
                            maxcpu: n.maxcpu,
                            maxmem: n.maxmem,
                            version: n.version,
                            shutdown: n.shutdown,
                            cfs_rw: flag("rw"),
                            cfs_update: flag("update"),
                        },
                    );
                }
            }
            None => {
                for i in 1..=3 {
                    let mut n = NodeHardware::off();
                    n.maxcpu = Some(DEFAULT_MAXCPU);
                    n.maxmem = Some(DEFAULT_MAXMEM);
                    s.nodes.insert(format!("node{i}"), n);
                }
            }
        }

        s.fence = get("fence.cfg").map(str::to_string);
        if let Some(t) = get("datacenter.cfg") {
            s.datacenter = datacenter::parse_sim(t).map_err(|e| ScenarioError::Invalid {
                path: path("datacenter.cfg"),
                message: e.to_string(),
            })?;
            s.datacenter_text = Some(t.to_string());
        }

        s.static_stats = match get("static_service_stats") {
            Some(t) => stats(&path("static_service_stats"), t)?,
            None => s
                .services
                .keys()
                .map(|sid| {
                    let u = Usage {
                        maxcpu: Some(4.0),
                        maxmem: Some(4096.0 * MIB),
                        ..Usage::default()
                    };
                    (sid.clone(), u)
                })
                .collect(),
        };
        // Keyed by the static stats, not by the services (01 §2.3 step 8).
        s.dynamic_stats = match get("dynamic_service_stats") {
            Some(t) => stats(&path("dynamic_service_stats"), t)?,
            None => s
                .static_stats
                .keys()
                .map(|sid| {
                    let u = Usage {
                        cpu: Some(2.0),
                        mem: Some(2048.0 * MIB),
                        ..Usage::default()
                    };
                    (sid.clone(), u)
                })
                .collect(),
        };

        for node in s.nodes.keys() {
            let name = format!("service_status_{node}");
            let mut m = BTreeMap::new();
            if let Some(t) = get(&name) {
                let raw: BTreeMap<String, Value> = json(&path(&name), t)?;
                for (sid, v) in raw {
                    m.insert(sid, perl::value_truthy(&v));
                }
            }
            s.service_status.insert(node.clone(), m);
        }

        // Step 10: the service config is read once at start; a read error
        // there ends the tester before anything is logged.
        check_services(&s.services).map_err(|e| ScenarioError::Invalid {
            path: path("service_config"),
            message: e.to_string(),
        })?;

        // Step 11: the command list last.
        let cmd_path = path("cmdlist");
        let text = get("cmdlist").ok_or_else(|| ScenarioError::Missing {
            path: cmd_path.clone(),
        })?;
        s.cmdlist = json(&cmd_path, text)?;
        Ok(s)
    }
}

/// A statistics file: `{sid: {key: number}}`.
fn stats(path: &Path, text: &str) -> Result<BTreeMap<String, Usage>, ScenarioError> {
    let raw: BTreeMap<String, StatFile> = json(path, text)?;
    Ok(raw.into_iter().map(|(k, v)| (k, v.into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(list: &[(&str, &str)]) -> Result<Scenario, ScenarioError> {
        Scenario::from_files(Path::new("t"), &files(list))
    }

    #[test]
    fn defaults_without_files() {
        let s = load(&[("cmdlist", "[]")]).unwrap();
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes["node2"].maxmem, Some(137_438_953_472.0));
        assert!(!s.nodes["node1"].power);
        assert_eq!(s.services.len(), 6);
        assert_eq!(s.services["vm:104"]["node"], "node1");
        assert!(!s.services["vm:104"].contains_key("state"));
        assert_eq!(s.static_stats["vm:101"].maxmem, Some(4_294_967_296.0));
        assert_eq!(s.dynamic_stats["vm:106"].mem, Some(2_147_483_648.0));
        assert_eq!(s.service_status.len(), 3);
        assert!(s.manager_status.is_none());
    }

    #[test]
    fn dynamic_defaults_follow_the_static_file() {
        let s = load(&[
            ("cmdlist", "[]"),
            (
                "service_config",
                r#"{"vm:1": {"node": "node1"}, "vm:2": {"node": "node1"}}"#,
            ),
            (
                "static_service_stats",
                r#"{"vm:2": {"maxcpu": 2, "maxmem": "1024"}, "vm:9": {}}"#,
            ),
        ])
        .unwrap();
        assert_eq!(s.static_stats["vm:2"].maxmem, Some(1024.0));
        let keys: Vec<&String> = s.dynamic_stats.keys().collect();
        assert_eq!(keys, ["vm:2", "vm:9"]);
    }

    #[test]
    fn hardware_and_service_files() {
        let s = load(&[
            ("cmdlist", r#"[["power node1 on"], []]"#),
            (
                "hardware_status",
                r#"{"node1": {"power": "on", "network": "on", "pve-manager-version": "8.4.1", "cfs": {"rw": 0}},
                    "node2": {"power": "off", "network": "off", "maxcpu": 8, "shutdown": "reboot"}}"#,
            ),
            ("service_config", r#"{"vm:1": {"node": "node1", "max_restart": 2, "comment": null}}"#),
            ("service_status_node1", r#"{"vm:1": 1, "vm:2": 0}"#),
        ])
        .unwrap();
        assert_eq!(s.cmdlist, vec![vec!["power node1 on".to_string()], vec![]]);
        let n1 = &s.nodes["node1"];
        assert!(n1.power && n1.network && !n1.cfs_rw && n1.cfs_update);
        assert_eq!(n1.version.as_deref(), Some("8.4.1"));
        assert_eq!(n1.maxcpu, None);
        assert_eq!(s.nodes["node2"].shutdown, Some(ShutdownKind::Reboot));
        assert_eq!(s.services["vm:1"]["max_restart"], "2");
        assert!(!s.services["vm:1"].contains_key("comment"));
        assert!(s.service_status["node1"]["vm:1"]);
        assert!(!s.service_status["node1"]["vm:2"]);
        assert!(s.service_status["node2"].is_empty());
    }

    #[test]
    fn cmdlist_errors_name_file_and_position() {
        let e = load(&[]).unwrap_err();
        assert_eq!(e.to_string(), "t/cmdlist: missing");
        let e = load(&[("cmdlist", "[\n  [\"power node1 on\",]\n]")]).unwrap_err();
        assert!(matches!(e, ScenarioError::Json { line: 2, .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("t/cmdlist: line 2, column "),
            "{e}"
        );
        let e = load(&[("cmdlist", "[[1]]")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t/cmdlist: line 1, column 3: invalid type: integer `1`, expected a string"
        );
        let e = load(&[("cmdlist", "{}")]).unwrap_err();
        assert!(
            e.to_string().starts_with("t/cmdlist: line 1, column "),
            "{e}"
        );
    }

    #[test]
    fn other_file_errors() {
        let e = load(&[
            ("cmdlist", "[]"),
            ("hardware_status", r#"{"node1": {"power": "maybe"}}"#),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t/hardware_status: line 1, column "),
            "{e}"
        );
        let e = load(&[
            ("cmdlist", "[]"),
            ("service_config", r#"{"vm:1": {"node": ["a"]}}"#),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"t/service_config: service 'vm:1': 'node' must be a string or number, got ["a"]"#
        );
        let e = load(&[
            ("cmdlist", "[]"),
            ("service_config", r#"{"vm:1": {"state": "started"}}"#),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t/service_config: service 'vm:1' without assigned node!"
        );
        let e = load(&[("cmdlist", "[]"), ("datacenter.cfg", "[]")]).unwrap_err();
        assert!(e.to_string().starts_with("t/datacenter.cfg: "), "{e}");
        let e = load(&[("cmdlist", "[]"), ("manager_status", "[1]")]).unwrap_err();
        assert!(e.to_string().starts_with("t/manager_status: "), "{e}");
    }
}
