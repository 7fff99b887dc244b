//! The node configuration file (issue 15): which backend this node uses
//! (`pve` or `etcd`), the etcd endpoints and key prefix, the node name and
//! the failover budget.
//!
//! Path [`DEFAULT_PATH`], moved by the environment variable [`PATH_ENV`]
//! (read by `cluster::node_config`; this module only parses).
//! A missing file means the `pve` backend with upstream's constants, so a
//! Proxmox VE node needs no new file. Format: one `key: value` per line,
//! `#` comments and blank lines ignored:
//!
//! ```text
//! backend: etcd
//! node: node1
//! etcd-endpoints: http://10.0.0.1:2379 http://10.0.0.2:2379
//! lease: 20
//! ```
//!
//! Every bad line is reported with its number; the daemons refuse to
//! start on any of them (a half-understood budget is not a safe one).

use std::fmt;
use std::path::PathBuf;

use super::budget::Budget;

/// Where the file is unless [`PATH_ENV`] says otherwise.
pub const DEFAULT_PATH: &str = "/etc/pve-ha/node.cfg";
/// The environment variable that moves the file.
pub const PATH_ENV: &str = "PVE_HA_NODE_CONFIG";
/// The etcd key prefix unless `etcd-prefix` says otherwise.
pub const DEFAULT_ETCD_PREFIX: &str = "/pve-ha/";
/// The etcd endpoint unless `etcd-endpoints` says otherwise.
pub const DEFAULT_ETCD_ENDPOINT: &str = "http://127.0.0.1:2379";

/// Which cluster layer the daemons and `ha-manager` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// Proxmox VE: pmxcfs (`/etc/pve`), its locks and membership.
    #[default]
    Pve,
    /// Plain Linux: etcd for files and locks, corosync for membership.
    Etcd,
}

impl BackendKind {
    /// The word of the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Pve => "pve",
            BackendKind::Etcd => "etcd",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the etcd backend finds etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdSettings {
    /// Base URLs (`http://host:port`), tried in order.
    pub endpoints: Vec<String>,
    /// Every HA key starts with this (ends in `/`).
    pub prefix: String,
}

impl Default for EtcdSettings {
    fn default() -> Self {
        EtcdSettings {
            endpoints: vec![DEFAULT_ETCD_ENDPOINT.to_string()],
            prefix: DEFAULT_ETCD_PREFIX.to_string(),
        }
    }
}

/// The whole file, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeConfig {
    /// The backend.
    pub backend: BackendKind,
    /// The node name; `None`: the host name up to the first dot.
    pub node: Option<String>,
    /// etcd's endpoints and prefix (used by the `etcd` backend).
    pub etcd: EtcdSettings,
    /// The failover budget: upstream's on `pve`, [`Budget::plain_linux`]
    /// with the file's overrides on `etcd`.
    pub budget: Budget,
    /// The file this came from (`None`: defaults, no file).
    pub source: Option<PathBuf>,
}

/// Why the node configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeConfigError {
    /// The file exists but cannot be read.
    #[error("unable to read '{path}' - {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// One line is wrong.
    #[error("{path} line {line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// The budget keys, in the order `pve-ha` documents them.
const BUDGET_KEYS: &[&str] = &[
    "lease",
    "watchdog-client-timeout",
    "watchdog-device-timeout",
    "round",
    "fence-delay",
    "lock-retry-sleep",
    "max-loop-time",
    "skew-margin",
];

fn budget_field<'a>(b: &'a mut Budget, key: &str) -> Option<&'a mut i64> {
    Some(match key {
        "lease" => &mut b.lease,
        "watchdog-client-timeout" => &mut b.client_timeout,
        "watchdog-device-timeout" => &mut b.device_timeout,
        "round" => &mut b.round,
        "fence-delay" => &mut b.fence_delay,
        "lock-retry-sleep" => &mut b.lock_retry_sleep,
        "max-loop-time" => &mut b.max_loop,
        "skew-margin" => &mut b.skew_margin,
        _ => return None,
    })
}

impl NodeConfig {
    /// Parses the text of the file named `path` (for messages). The first
    /// bad line is the error.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<NodeConfig, NodeConfigError> {
        let bad = |line: usize, reason: String| NodeConfigError::Line {
            path: path.to_string(),
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            bad(line, "not UTF-8 text".to_string())
        })?;
        let mut cfg = NodeConfig::default();
        let mut budget_lines: Vec<(usize, String, i64)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let n = idx + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(bad(n, format!("expected 'key: value', got '{line}'")));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.iter().any(|k| k == key) {
                return Err(bad(n, format!("'{key}' given twice")));
            }
            seen.push(key.to_string());
            if value.is_empty() {
                return Err(bad(n, format!("'{key}' needs a value")));
            }
            match key {
                "backend" => {
                    cfg.backend = match value {
                        "pve" => BackendKind::Pve,
                        "etcd" => BackendKind::Etcd,
                        other => {
                            return Err(bad(
                                n,
                                format!("unknown backend '{other}' (expected 'pve' or 'etcd')"),
                            ))
                        }
                    }
                }
                "node" => {
                    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                        return Err(bad(n, format!("invalid node name '{value}'")));
                    }
                    cfg.node = Some(value.to_string());
                }
                "etcd-endpoints" => {
                    let list: Vec<String> = value
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(|s| s.trim_end_matches('/').to_string())
                        .collect();
                    if let Some(e) = list.iter().find(|e| !e.starts_with("http://")) {
                        return Err(bad(
                            n,
                            format!("etcd endpoint '{e}' must be an http:// URL"),
                        ));
                    }
                    cfg.etcd.endpoints = list;
                }
                "etcd-prefix" => {
                    if !value.starts_with('/') || value.contains(char::is_whitespace) {
                        return Err(bad(n, format!("etcd prefix '{value}' must start with '/'")));
                    }
                    let mut p = value.to_string();
                    if !p.ends_with('/') {
                        p.push('/');
                    }
                    cfg.etcd.prefix = p;
                }
                k if BUDGET_KEYS.contains(&k) => {
                    let secs: i64 = value
                        .strip_suffix('s')
                        .unwrap_or(value)
                        .trim()
                        .parse()
                        .ok()
                        .filter(|v| (1..=3600).contains(v))
                        .ok_or_else(|| {
                            bad(n, format!("'{k}' must be whole seconds from 1 to 3600, got '{value}'"))
                        })?;
                    budget_lines.push((n, k.to_string(), secs));
                }
                other => {
                    return Err(bad(
                        n,
                        format!("unknown key '{other}' (known: backend, node, etcd-endpoints, etcd-prefix, {})", BUDGET_KEYS.join(", ")),
                    ))
                }
            }
        }
        cfg.budget = match cfg.backend {
            BackendKind::Pve => {
                if let Some((n, k, _)) = budget_lines.first() {
                    return Err(bad(
                        *n,
                        format!("'{k}' needs 'backend: etcd' (the pve backend keeps upstream's fixed timing)"),
                    ));
                }
                Budget::upstream()
            }
            BackendKind::Etcd => {
                let mut b = Budget::plain_linux();
                for (_, k, v) in &budget_lines {
                    if let Some(f) = budget_field(&mut b, k) {
                        *f = *v;
                    }
                }
                b
            }
        };
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeConfig, String> {
        NodeConfig::parse("node.cfg", text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_is_pve_with_upstream_budget() {
        let c = parse("# nothing\n\n").unwrap_or_default();
        assert_eq!(c.backend, BackendKind::Pve);
        assert_eq!(c.budget, Budget::upstream());
        assert_eq!(c.etcd.prefix, "/pve-ha/");
    }

    #[test]
    fn etcd_with_overrides() {
        let c = parse(
            "backend: etcd\nnode: node2\netcd-endpoints: http://10.0.0.1:2379/, http://10.0.0.2:2379\n\
             etcd-prefix: /ha\nlease: 30s\nround: 3\n",
        )
        .unwrap_or_default();
        assert_eq!(c.backend, BackendKind::Etcd);
        assert_eq!(c.node.as_deref(), Some("node2"));
        assert_eq!(
            c.etcd.endpoints,
            ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
        );
        assert_eq!(c.etcd.prefix, "/ha/");
        assert_eq!(c.budget.lease, 30);
        assert_eq!(c.budget.round, 3);
        assert_eq!(
            c.budget.client_timeout,
            Budget::plain_linux().client_timeout
        );
    }

    #[test]
    fn one_clear_error_per_bad_line() {
        assert_eq!(
            parse("backend: etcd\nlease: soon\n")
                .err()
                .unwrap_or_default(),
            "node.cfg line 2: 'lease' must be whole seconds from 1 to 3600, got 'soon'"
        );
        assert_eq!(
            parse("backend: zfs\n").err().unwrap_or_default(),
            "node.cfg line 1: unknown backend 'zfs' (expected 'pve' or 'etcd')"
        );
        assert_eq!(
            parse("lease: 20\n").err().unwrap_or_default(),
            "node.cfg line 1: 'lease' needs 'backend: etcd' (the pve backend keeps upstream's fixed timing)"
        );
        assert!(parse("backend: etcd\nbackend: pve\n")
            .err()
            .unwrap_or_default()
            .contains("line 2: 'backend' given twice"));
        assert!(parse("colour: blue\n")
            .err()
            .unwrap_or_default()
            .contains("unknown key 'colour'"));
        assert!(parse("just words\n")
            .err()
            .unwrap_or_default()
            .contains("line 1: expected"));
        assert!(parse("backend: etcd\netcd-endpoints: https://x\n")
            .err()
            .unwrap_or_default()
            .contains("must be an http:// URL"));
    }
}
