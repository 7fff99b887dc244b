//! datacenter.cfg: the HA keys (`ha`, `crs`, `max_workers`, `fencing`) of
//! the real file and of the simulator's JSON stand-in (06 §7), with a
//! canonical writer that keeps every key it does not interpret.
//!
//! The real file is validated the way upstream's JSON-schema code does it
//! (an invalid sub-value drops the whole key, with upstream's warning
//! texts); the simulator file is used as given, so the typed settings keep
//! words this version does not know ([`OrUnknown`]) and let the consumers
//! log about them (`unknown shutdown policy '<p>'`, `got unknown scheduler
//! mode '<m>'`).

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::Parsed;
use crate::types::perl;
use crate::types::perl::json::{Floats, Layout};
use crate::types::text::{is_space, trim};
use crate::types::OrUnknown;
use crate::word_enum;

word_enum! {
    /// What the LRM does with its services when its node shuts down or
    /// reboots (`ha: shutdown_policy=…`, 05 §7.2).
    pub enum ShutdownPolicy ("shutdown policy") {
        /// Freeze the services (they stay put and restart with the node).
        Freeze => "freeze",
        /// Stop them; the CRM recovers them after fencing.
        Failover => "failover",
        /// Freeze on reboot, fail over on shutdown (the default).
        Conditional => "conditional",
        /// Put the node into maintenance: services migrate away and back.
        Migrate => "migrate",
    }
}

word_enum! {
    /// The cluster resource scheduler mode (`crs: ha=…`, 04 §4).
    pub enum CrsMode ("scheduler mode") {
        /// Count services per node.
        Basic => "basic",
        /// Use the configured (static) CPU/memory of the guests.
        Static => "static",
        /// Use the measured (dynamic) load.
        Dynamic => "dynamic",
    }
}

word_enum! {
    /// How automatic rebalancing picks its migration (04 §8).
    pub enum RebalanceMethod ("rebalance method") {
        /// Try every candidate move.
        Bruteforce => "bruteforce",
        /// Rank candidate moves with TOPSIS.
        Topsis => "topsis",
    }
}

word_enum! {
    /// How nodes are fenced (`fencing: …`, 02 §6).
    pub enum FencingMode ("fencing mode") {
        /// Self-fencing through the watchdog (the default).
        Watchdog => "watchdog",
        /// External fence devices from fence.cfg (experimental, dormant).
        Hardware => "hardware",
        /// Both (experimental, dormant).
        Both => "both",
    }
}

/// Default of `ha.shutdown_policy`.
pub const DEFAULT_SHUTDOWN_POLICY: ShutdownPolicy = ShutdownPolicy::Conditional;
/// Default of `crs.ha-auto-rebalance-threshold` (a fraction, 06 §7.3).
pub const DEFAULT_AUTO_REBALANCE_THRESHOLD: f64 = 0.3;
/// Default of `crs.ha-auto-rebalance-hold-duration` (manager rounds).
pub const DEFAULT_AUTO_REBALANCE_HOLD_DURATION: f64 = 3.0;
/// Default of `crs.ha-auto-rebalance-margin` (a fraction).
pub const DEFAULT_AUTO_REBALANCE_MARGIN: f64 = 0.1;
/// LRM workers per node when `max_workers` is unset or 0.
pub const DEFAULT_MAX_WORKERS: usize = 4;

/// Why the simulator's datacenter.cfg could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatacenterError {
    /// The text is not JSON at all.
    #[error("unable to parse datacenter.cfg - {0}")]
    Json(String),
    /// The file or its `ha`/`crs` member is not a JSON object (upstream
    /// would die dereferencing it).
    #[error("unable to parse datacenter.cfg - '{path}' is not a JSON object")]
    NotAnObject {
        /// `(top level)`, `ha` or `crs`.
        path: String,
    },
    /// A setting has a JSON type it cannot be used as.
    #[error("unable to parse datacenter.cfg - '{path}': expected {expected}, got {got}")]
    BadValue {
        /// `crs.ha-auto-rebalance-threshold` and the like.
        path: String,
        /// What the setting needs.
        expected: &'static str,
        /// The offending JSON, as text.
        got: String,
    },
}

/// The `ha` property: cluster-wide HA settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HaSettings {
    /// `shutdown_policy`; `None` when unset. Unknown words only come from
    /// the simulator file (the real parser rejects them).
    pub shutdown_policy: Option<OrUnknown<ShutdownPolicy>>,
}

impl HaSettings {
    /// The policy in effect: the set word, else `conditional`. An unknown
    /// word is returned as such; the LRM logs it and falls back (05 §7.2).
    pub fn shutdown_policy(&self) -> OrUnknown<ShutdownPolicy> {
        self.shutdown_policy
            .clone()
            .unwrap_or(OrUnknown::Known(DEFAULT_SHUTDOWN_POLICY))
    }

    /// Whether no sub-key is set (the writer then omits the `ha:` line).
    pub fn is_empty(&self) -> bool {
        self.shutdown_policy.is_none()
    }
}

/// The `crs` property: cluster resource scheduler settings (04 §9). Every
/// field is `None` when unset, so the writer reproduces exactly the keys
/// an admin set; the accessors give the value in effect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrsSettings {
    /// `ha`: the scheduler mode.
    pub mode: Option<OrUnknown<CrsMode>>,
    /// `ha-rebalance-on-start`.
    pub rebalance_on_start: Option<bool>,
    /// `ha-auto-rebalance`.
    pub auto_rebalance: Option<bool>,
    /// `ha-auto-rebalance-threshold` (a fraction, used as-is).
    pub auto_rebalance_threshold: Option<f64>,
    /// `ha-auto-rebalance-method`.
    pub auto_rebalance_method: Option<OrUnknown<RebalanceMethod>>,
    /// `ha-auto-rebalance-hold-duration` (rounds; 0 is valid).
    pub auto_rebalance_hold_duration: Option<f64>,
    /// `ha-auto-rebalance-margin` (a fraction, used as-is).
    pub auto_rebalance_margin: Option<f64>,
}

impl CrsSettings {
    /// The scheduler mode in effect: `basic` when unset or empty. Unknown
    /// words (simulator only) are returned; 04 §4.1 logs and uses basic.
    pub fn mode(&self) -> OrUnknown<CrsMode> {
        match &self.mode {
            None => OrUnknown::Known(CrsMode::Basic),
            Some(OrUnknown::Unknown(w)) if w.is_empty() => OrUnknown::Known(CrsMode::Basic),
            Some(m) => m.clone(),
        }
    }

    /// Whether a start request may move a stopped service first (04 §5).
    pub fn rebalance_on_start(&self) -> bool {
        self.rebalance_on_start.unwrap_or(false)
    }

    /// Whether automatic rebalancing is enabled (04 §8).
    pub fn auto_rebalance(&self) -> bool {
        self.auto_rebalance.unwrap_or(false)
    }

    /// Imbalance threshold, default 0.3.
    pub fn auto_rebalance_threshold(&self) -> f64 {
        self.auto_rebalance_threshold
            .unwrap_or(DEFAULT_AUTO_REBALANCE_THRESHOLD)
    }

    /// Rebalance method, default `bruteforce`. With an unknown word
    /// (simulator only) nothing is ever issued (04 §8.9).
    pub fn auto_rebalance_method(&self) -> OrUnknown<RebalanceMethod> {
        self.auto_rebalance_method
            .clone()
            .unwrap_or(OrUnknown::Known(RebalanceMethod::Bruteforce))
    }

    /// Exceeding rounds before acting, default 3.
    pub fn auto_rebalance_hold_duration(&self) -> f64 {
        self.auto_rebalance_hold_duration
            .unwrap_or(DEFAULT_AUTO_REBALANCE_HOLD_DURATION)
    }

    /// Minimum relative improvement, default 0.1.
    pub fn auto_rebalance_margin(&self) -> f64 {
        self.auto_rebalance_margin
            .unwrap_or(DEFAULT_AUTO_REBALANCE_MARGIN)
    }

    /// Whether no sub-key is set (the writer then omits the `crs:` line).
    pub fn is_empty(&self) -> bool {
        *self == CrsSettings::default()
    }
}

/// The datacenter settings the HA stack reads, plus everything else of
/// the real file kept verbatim so [`DatacenterConfig::write_real`] can
/// rewrite it without losing an admin's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatacenterConfig {
    /// The description: the text after `#` of every line starting with
    /// `#`, verbatim (upstream %-decodes it for display; we keep the raw
    /// text so a rewrite changes nothing).
    pub description: Vec<String>,
    /// `ha`.
    pub ha: HaSettings,
    /// `crs`.
    pub crs: CrsSettings,
    /// `max_workers` (real file only; the simulator fixes it).
    pub max_workers: Option<u64>,
    /// `fencing` (real file only; the simulator derives it from fence.cfg).
    pub fencing: Option<FencingMode>,
    /// Every other key (`keyboard`, `migration`, …) with its trimmed value,
    /// unvalidated. A key that also has a typed field above is ignored by
    /// the writer.
    pub other: BTreeMap<String, String>,
}

impl DatacenterConfig {
    /// LRM workers per node: `max_workers`, or 4 when unset or 0.
    pub fn max_workers(&self) -> usize {
        match self.max_workers {
            None | Some(0) => DEFAULT_MAX_WORKERS,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }

    /// Fencing mode, default `watchdog`.
    pub fn fencing(&self) -> FencingMode {
        self.fencing.unwrap_or(FencingMode::Watchdog)
    }

    /// The canonical real-format text: the description as `#` lines, a
    /// blank line if there was a description, then one `key: value` line
    /// per key sorted by key (upstream's `dump_config` order). Property
    /// strings list their sub-keys sorted by name (upstream's
    /// `print_property_string` order), booleans as `1`/`0`.
    ///
    /// [`parse_real`] gives back an equal value for every value it can
    /// produce itself: values that pass the schema (sub-keys that require
    /// `ha-auto-rebalance` only together with it, known words, numbers
    /// ≥ 0, `max_workers` ≥ 1) and `other` keys/values that are single
    /// trimmed tokens without `:` in the key.
    pub fn write_real(&self) -> String {
        let mut out = String::new();
        for line in &self.description {
            out.push('#');
            out.push_str(line);
            out.push('\n');
        }
        if !self.description.is_empty() {
            out.push('\n');
        }
        let mut lines: BTreeMap<&str, String> = self
            .other
            .iter()
            .filter(|(k, _)| !TYPED_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        if !self.ha.is_empty() {
            lines.insert("ha", print_ha(&self.ha));
        }
        if !self.crs.is_empty() {
            lines.insert("crs", print_crs(&self.crs));
        }
        if let Some(n) = self.max_workers {
            lines.insert("max_workers", n.to_string());
        }
        if let Some(f) = self.fencing {
            lines.insert("fencing", f.to_string());
        }
        for (k, v) in lines {
            out.push_str(k);
            out.push(':');
            if !v.is_empty() {
                out.push(' ');
                out.push_str(&v);
            }
            out.push('\n');
        }
        out
    }

    /// The simulator-format text: compact JSON with sorted keys holding
    /// the non-empty `ha` and `crs` objects, booleans as `1`/`0`, integral
    /// numbers as JSON integers. Only `ha` and `crs` are written, as the
    /// simulator reads nothing else. [`parse_sim`] gives back an equal
    /// value for finite numbers.
    pub fn write_sim(&self) -> String {
        let mut top = Map::new();
        let mut crs = Map::new();
        let c = &self.crs;
        if let Some(m) = &c.mode {
            crs.insert("ha".into(), Json::String(m.to_string()));
        }
        if let Some(b) = c.auto_rebalance {
            crs.insert("ha-auto-rebalance".into(), Json::from(u8::from(b)));
        }
        if let Some(n) = c.auto_rebalance_hold_duration {
            crs.insert("ha-auto-rebalance-hold-duration".into(), json_number(n));
        }
        if let Some(n) = c.auto_rebalance_margin {
            crs.insert("ha-auto-rebalance-margin".into(), json_number(n));
        }
        if let Some(m) = &c.auto_rebalance_method {
            crs.insert(
                "ha-auto-rebalance-method".into(),
                Json::String(m.to_string()),
            );
        }
        if let Some(n) = c.auto_rebalance_threshold {
            crs.insert("ha-auto-rebalance-threshold".into(), json_number(n));
        }
        if let Some(b) = c.rebalance_on_start {
            crs.insert("ha-rebalance-on-start".into(), Json::from(u8::from(b)));
        }
        if !crs.is_empty() {
            top.insert("crs".into(), Json::Object(crs));
        }
        if let Some(p) = &self.ha.shutdown_policy {
            let mut ha = Map::new();
            ha.insert("shutdown_policy".into(), Json::String(p.to_string()));
            top.insert("ha".into(), Json::Object(ha));
        }
        perl::json::write(&Json::Object(top), Layout::Compact, Floats::RoundTrip)
    }
}

/// The top-level keys this module interprets.
const TYPED_KEYS: [&str; 4] = ["crs", "fencing", "ha", "max_workers"];

/// `ha: shutdown_policy=<p>`.
fn print_ha(ha: &HaSettings) -> String {
    match &ha.shutdown_policy {
        Some(p) => format!("shutdown_policy={p}"),
        None => String::new(),
    }
}

/// The `crs` property string, sub-keys sorted by name.
fn print_crs(c: &CrsSettings) -> String {
    let bool_text = |b: bool| if b { "1" } else { "0" }.to_string();
    let parts: [(&str, Option<String>); 7] = [
        ("ha", c.mode.as_ref().map(ToString::to_string)),
        ("ha-auto-rebalance", c.auto_rebalance.map(bool_text)),
        (
            "ha-auto-rebalance-hold-duration",
            c.auto_rebalance_hold_duration.map(|n| n.to_string()),
        ),
        (
            "ha-auto-rebalance-margin",
            c.auto_rebalance_margin.map(|n| n.to_string()),
        ),
        (
            "ha-auto-rebalance-method",
            c.auto_rebalance_method.as_ref().map(ToString::to_string),
        ),
        (
            "ha-auto-rebalance-threshold",
            c.auto_rebalance_threshold.map(|n| n.to_string()),
        ),
        ("ha-rebalance-on-start", c.rebalance_on_start.map(bool_text)),
    ];
    parts
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// A JSON number, integral values as integers (as Perl would print them).
fn json_number(n: f64) -> Json {
    // 2^53: beyond it an f64 may not be an exact integer text anyway.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

// ---------------------------------------------------------------------------
// Real format

/// The JSON-schema type of a property-string sub-key.
#[derive(Debug, Clone, Copy)]
enum SubKind {
    /// `1|on|yes|true` / `0|off|no|false`, case-insensitive.
    Bool,
    /// A decimal number with optional fraction and exponent, ≥ `min`.
    Number { min: f64 },
    /// One of these words (in upstream's schema order, which the error
    /// text lists).
    Enum(&'static [&'static str]),
}

/// One sub-key of a property-string format.
#[derive(Debug, Clone, Copy)]
struct SubProp {
    key: &'static str,
    kind: SubKind,
    /// Another sub-key that must be present whenever this one is.
    requires: Option<&'static str>,
}

const fn sub(key: &'static str, kind: SubKind, requires: Option<&'static str>) -> SubProp {
    SubProp {
        key,
        kind,
        requires,
    }
}

/// The `ha` property-string format.
const HA_FORMAT: &[SubProp] = &[sub(
    "shutdown_policy",
    SubKind::Enum(&["freeze", "failover", "conditional", "migrate"]),
    None,
)];

/// The sub-key every auto-rebalance tuning key requires.
const AUTO: Option<&str> = Some("ha-auto-rebalance");

/// The `crs` property-string format.
const CRS_FORMAT: &[SubProp] = &[
    sub("ha", SubKind::Enum(&["basic", "static", "dynamic"]), None),
    sub("ha-rebalance-on-start", SubKind::Bool, None),
    sub("ha-auto-rebalance", SubKind::Bool, None),
    sub(
        "ha-auto-rebalance-threshold",
        SubKind::Number { min: 0.0 },
        AUTO,
    ),
    sub(
        "ha-auto-rebalance-method",
        SubKind::Enum(&["bruteforce", "topsis"]),
        AUTO,
    ),
    sub(
        "ha-auto-rebalance-hold-duration",
        SubKind::Number { min: 0.0 },
        AUTO,
    ),
    sub(
        "ha-auto-rebalance-margin",
        SubKind::Number { min: 0.0 },
        AUTO,
    ),
];

/// The `fencing` words, in schema order.
const FENCING_WORDS: &[&str] = &["watchdog", "hardware", "both"];

/// Parses the real `/etc/pve/datacenter.cfg` (06 §7.1). `file` is the name
/// used in warnings. Warnings come in upstream's order: `ignore config
/// line: …` in file order, then one `parse error in '<file>' - '<key>':
/// <error>` per dropped key (sorted by key; a schema error inside a
/// property string adds one `<path>: <error>` line per failed sub-key,
/// sorted by path), then `ignoring empty 'crs:' line in datacenter.cfg`.
///
/// Lines are trimmed; of duplicate keys the last one counts. Keys this
/// module does not interpret are kept in [`DatacenterConfig::other`]
/// without validation and without warning (we do not carry the full
/// datacenter schema).
pub fn parse_real(file: &str, text: &str) -> Parsed<DatacenterConfig> {
    let mut cfg = DatacenterConfig::default();
    let mut warnings = Vec::new();
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for raw in text.split('\n') {
        if let Some(comment) = raw.strip_prefix('#') {
            cfg.description.push(comment.to_string());
        }
        let line = trim(raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match split_key_line(line) {
            Some((k, v)) => {
                values.insert(k, v);
            }
            None => warnings.push(format!("ignore config line: {line}")),
        }
    }

    let mut empty_crs = false;
    for (key, value) in values {
        let result = match key {
            "ha" => parse_property_string(HA_FORMAT, "ha", value).map(|m| {
                cfg.ha = ha_from_map(&m);
            }),
            "crs" if value.is_empty() => {
                empty_crs = true;
                Ok(())
            }
            "crs" => parse_property_string(CRS_FORMAT, "crs", value).map(|m| {
                cfg.crs = crs_from_map(&m);
            }),
            "max_workers" => check_integer(value, 1).map(|n| {
                cfg.max_workers = Some(n);
            }),
            "fencing" => check_enum(value, FENCING_WORDS)
                .map(|()| cfg.fencing = value.parse().ok())
                .map_err(|e| vec![e]),
            _ => {
                cfg.other.insert(key.to_string(), value.to_string());
                Ok(())
            }
        };
        if let Err(lines) = result {
            let mut lines = lines.into_iter();
            let first = lines.next().unwrap_or_default();
            warnings.push(format!("parse error in '{file}' - '{key}': {first}"));
            warnings.extend(lines);
        }
    }
    if empty_crs {
        warnings.push("ignoring empty 'crs:' line in datacenter.cfg".to_string());
    }
    Parsed {
        value: cfg,
        warnings,
    }
}

/// `^(\S+?):\s*(.*)$` on a trimmed, non-empty line: the key runs to the
/// first `:` after its first character and holds no whitespace.
fn split_key_line(line: &str) -> Option<(&str, &str)> {
    let first = line.chars().next()?;
    let start = first.len_utf8();
    let rest = &line[start..];
    let colon = start + rest.find(|c: char| c == ':' || is_space(c))?;
    if !line[colon..].starts_with(':') {
        return None;
    }
    let value = line[colon + 1..].trim_start_matches(is_space);
    Some((&line[..colon], value))
}

/// Upstream's `parse_boolean`.
fn parse_boolean(v: &str) -> Option<bool> {
    let l = v.to_ascii_lowercase();
    match l.as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// Upstream's `parse_property_string` for a format without default key,
/// including the schema check of the result. `Ok` maps each present
/// sub-key to its validated value (booleans normalised to `1`/`0`). `Err`
/// holds the error text: first line `invalid format - <message>`, then
/// for schema errors one `<path>: <error>` line per problem.
fn parse_property_string(
    format: &[SubProp],
    path: &str,
    data: &str,
) -> Result<BTreeMap<&'static str, String>, Vec<String>> {
    let fail = |msg: String| vec![format!("invalid format - {msg}")];
    let mut res: BTreeMap<&'static str, String> = BTreeMap::new();
    for part in data.split(',') {
        if part.chars().all(is_space) {
            continue;
        }
        let Some(eq) = part.find('=') else {
            return Err(fail(
                "value without key, but schema does not define a default key".into(),
            ));
        };
        let (k, v) = (&part[..eq], &part[eq + 1..]);
        if k.is_empty() || v.is_empty() {
            return Err(fail("missing key in comma-separated list property".into()));
        }
        let Some(prop) = format.iter().find(|p| p.key == k) else {
            return Err(fail(format!(
                "invalid key in comma-separated list property: {k}"
            )));
        };
        if res.contains_key(prop.key) {
            return Err(fail(format!(
                "duplicate key in comma-separated list property: {k}"
            )));
        }
        let v = match (prop.kind, parse_boolean(v)) {
            (SubKind::Bool, Some(b)) => String::from(if b { "1" } else { "0" }),
            _ => v.to_string(),
        };
        res.insert(prop.key, v);
    }

    // check_object: every present value, then the `requires` rule.
    let mut errors: Vec<(String, String)> = Vec::new();
    for prop in format {
        let Some(v) = res.get(prop.key) else {
            continue;
        };
        let sub_path = format!("{path}.{}", prop.key);
        let checked = match prop.kind {
            SubKind::Bool => match v.as_str() {
                "0" | "1" => Ok(()),
                _ => Err(format!("type check ('boolean') failed - got '{v}'")),
            },
            SubKind::Number { min } => check_number(v, min).map(|_| ()),
            SubKind::Enum(words) => check_enum(v, words),
        };
        if let Err(e) = checked {
            errors.push((sub_path.clone(), e));
        }
        if let Some(req) = prop.requires {
            if !res.contains_key(req) {
                errors.push((
                    format!("{path}.{req}"),
                    format!("missing property required by '{sub_path}'"),
                ));
            }
        }
    }
    if errors.is_empty() {
        return Ok(res);
    }
    errors.sort();
    let mut lines = fail("format error".into());
    lines.extend(errors.into_iter().map(|(p, e)| format!("{p}: {e}")));
    Err(lines)
}

/// A schema `number` ≥ `min`: `^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`.
/// Values too large for a finite f64 are refused as a type error (upstream
/// would accept them as infinity; refusing keeps write → parse lossless).
fn check_number(v: &str, min: f64) -> Result<f64, String> {
    let type_err = || format!("type check ('number') failed - got '{v}'");
    if !is_number_text(v) {
        return Err(type_err());
    }
    let n: f64 = v.parse().map_err(|_| type_err())?;
    if !n.is_finite() {
        return Err(type_err());
    }
    if n < min {
        return Err(format!("value must have a minimum value of {min}"));
    }
    Ok(n)
}

/// Whether `v` is a decimal number with optional sign, fraction and
/// exponent (JSON schema `number`).
fn is_number_text(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - s
    };
    let int = digits(&mut i);
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i);
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A schema `integer` ≥ `min` (`^[+-]?\d+$`; beyond 64 bits refused, as
/// in the section-config engine).
fn check_integer(v: &str, min: i64) -> Result<u64, Vec<String>> {
    let type_err = || vec![format!("type check ('integer') failed - got '{v}'")];
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(type_err());
    }
    let n: i64 = digits.parse().map_err(|_| type_err())?;
    let n = if v.starts_with('-') { -n } else { n };
    if n < min {
        return Err(vec![format!("value must have a minimum value of {min}")]);
    }
    u64::try_from(n).map_err(|_| type_err())
}

/// A schema `enum`.
fn check_enum(v: &str, words: &[&str]) -> Result<(), String> {
    if words.contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "value '{v}' does not have a value in the enumeration '{}'",
            words.join(", ")
        ))
    }
}

/// Typed `ha` from a validated property map.
fn ha_from_map(m: &BTreeMap<&'static str, String>) -> HaSettings {
    HaSettings {
        shutdown_policy: m.get("shutdown_policy").map(|v| or_unknown(v)),
    }
}

/// Typed `crs` from a validated property map.
fn crs_from_map(m: &BTreeMap<&'static str, String>) -> CrsSettings {
    let flag = |k: &str| m.get(k).map(|v| v == "1");
    let num = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok());
    CrsSettings {
        mode: m.get("ha").map(|v| or_unknown(v)),
        rebalance_on_start: flag("ha-rebalance-on-start"),
        auto_rebalance: flag("ha-auto-rebalance"),
        auto_rebalance_threshold: num("ha-auto-rebalance-threshold"),
        auto_rebalance_method: m.get("ha-auto-rebalance-method").map(|v| or_unknown(v)),
        auto_rebalance_hold_duration: num("ha-auto-rebalance-hold-duration"),
        auto_rebalance_margin: num("ha-auto-rebalance-margin"),
    }
}

/// A word as known value or kept verbatim.
fn or_unknown<T: std::str::FromStr>(v: &str) -> OrUnknown<T> {
    match v.parse() {
        Ok(t) => OrUnknown::Known(t),
        Err(_) => OrUnknown::Unknown(v.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Simulator format

/// Parses the simulator's `status/datacenter.cfg` (06 §7.2): a JSON object
/// with optional `ha` and `crs` objects, values used as given. Empty text
/// (a missing file) or `null` gives the defaults. Booleans are tested for
/// Perl truthiness (`0`, `"0"`, `""`, `false` are false); numbers may be
/// JSON numbers or numeric strings; words may be any scalar and are kept
/// even when unknown; an empty `crs.ha` counts as unset. Unknown keys,
/// `max_workers` and `fencing` are ignored (the simulator does not read
/// them).
pub fn parse_sim(text: &str) -> Result<DatacenterConfig, DatacenterError> {
    let mut cfg = DatacenterConfig::default();
    if trim(text).is_empty() {
        return Ok(cfg);
    }
    let top: Json = serde_json::from_str(text).map_err(|e| DatacenterError::Json(e.to_string()))?;
    let top = match top {
        Json::Null => return Ok(cfg),
        Json::Object(m) => m,
        _ => {
            return Err(DatacenterError::NotAnObject {
                path: "(top level)".into(),
            })
        }
    };
    if let Some(ha) = sim_object(&top, "ha")? {
        cfg.ha.shutdown_policy = sim_word(ha, "ha", "shutdown_policy")?;
    }
    if let Some(crs) = sim_object(&top, "crs")? {
        let c = &mut cfg.crs;
        c.mode = sim_word(crs, "crs", "ha")?
            .filter(|m| !matches!(m, OrUnknown::Unknown(w) if w.is_empty()));
        c.rebalance_on_start = sim_bool(crs, "ha-rebalance-on-start");
        c.auto_rebalance = sim_bool(crs, "ha-auto-rebalance");
        c.auto_rebalance_threshold = sim_number(crs, "crs", "ha-auto-rebalance-threshold")?;
        c.auto_rebalance_method = sim_word(crs, "crs", "ha-auto-rebalance-method")?;
        c.auto_rebalance_hold_duration = sim_number(crs, "crs", "ha-auto-rebalance-hold-duration")?;
        c.auto_rebalance_margin = sim_number(crs, "crs", "ha-auto-rebalance-margin")?;
    }
    Ok(cfg)
}

/// A member that must be an object if present (`null` counts as absent).
fn sim_object<'a>(
    top: &'a Map<String, Json>,
    key: &str,
) -> Result<Option<&'a Map<String, Json>>, DatacenterError> {
    match top.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(m)) => Ok(Some(m)),
        Some(_) => Err(DatacenterError::NotAnObject { path: key.into() }),
    }
}

/// A word setting: any scalar, kept verbatim when unknown.
fn sim_word<T: std::str::FromStr>(
    obj: &Map<String, Json>,
    path: &str,
    key: &str,
) -> Result<Option<OrUnknown<T>>, DatacenterError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => match perl::scalar_text(v) {
            Some(s) => Ok(Some(or_unknown(&s))),
            None => Err(DatacenterError::BadValue {
                path: format!("{path}.{key}"),
                expected: "a word",
                got: v.to_string(),
            }),
        },
    }
}

/// A boolean setting by Perl truthiness; containers count as true,
/// `null` as unset.
fn sim_bool(obj: &Map<String, Json>, key: &str) -> Option<bool> {
    obj.get(key)
        .filter(|v| !v.is_null())
        .map(perl::value_truthy)
}

/// A number setting: a JSON number, a numeric string or a boolean.
fn sim_number(
    obj: &Map<String, Json>,
    path: &str,
    key: &str,
) -> Result<Option<f64>, DatacenterError> {
    let v = match obj.get(key) {
        None | Some(Json::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => trim(s).parse::<f64>().ok(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Array(_) | Json::Object(_) | Json::Null => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(DatacenterError::BadValue {
            path: format!("{path}.{key}"),
            expected: "a number",
            got: v.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(text: &str) -> Parsed<DatacenterConfig> {
        parse_real("datacenter.cfg", text)
    }

    #[test]
    fn empty_text_gives_defaults() {
        let p = real("");
        assert_eq!(p.value, DatacenterConfig::default());
        assert!(p.warnings.is_empty());
        let c = p.value;
        assert_eq!(
            c.ha.shutdown_policy(),
            OrUnknown::Known(ShutdownPolicy::Conditional)
        );
        assert_eq!(c.crs.mode(), OrUnknown::Known(CrsMode::Basic));
        assert!(!c.crs.rebalance_on_start());
        assert!(!c.crs.auto_rebalance());
        assert_eq!(c.crs.auto_rebalance_threshold(), 0.3);
        assert_eq!(
            c.crs.auto_rebalance_method(),
            OrUnknown::Known(RebalanceMethod::Bruteforce)
        );
        assert_eq!(c.crs.auto_rebalance_hold_duration(), 3.0);
        assert_eq!(c.crs.auto_rebalance_margin(), 0.1);
        assert_eq!(c.max_workers(), 4);
        assert_eq!(c.fencing(), FencingMode::Watchdog);
    }

    #[test]
    fn reads_the_ha_keys() {
        let p = real(
            "# my cluster\nkeyboard: en-us\n  ha:   shutdown_policy=migrate  \n\
             crs: ha=static,ha-rebalance-on-start=YES,ha-auto-rebalance=off,ha-auto-rebalance-threshold=.5,ha-auto-rebalance-hold-duration=0\n\
             max_workers: +7\nfencing: both\n",
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let c = p.value;
        assert_eq!(c.description, [" my cluster"]);
        assert_eq!(
            c.ha.shutdown_policy(),
            OrUnknown::Known(ShutdownPolicy::Migrate)
        );
        assert_eq!(c.crs.mode(), OrUnknown::Known(CrsMode::Static));
        assert_eq!(c.crs.rebalance_on_start, Some(true));
        assert_eq!(c.crs.auto_rebalance, Some(false));
        assert_eq!(c.crs.auto_rebalance_threshold, Some(0.5));
        assert_eq!(c.crs.auto_rebalance_hold_duration, Some(0.0));
        assert_eq!(c.max_workers, Some(7));
        assert_eq!(c.fencing, Some(FencingMode::Both));
        assert_eq!(c.other.get("keyboard").map(String::as_str), Some("en-us"));
    }

    #[test]
    fn writes_canonically() {
        let c = real(
            "#desc\nmax_workers: 2\ncrs: ha-rebalance-on-start=true,ha=dynamic\nkeyboard: de\nha: shutdown_policy=freeze\n",
        )
        .value;
        assert_eq!(
            c.write_real(),
            "#desc\n\ncrs: ha=dynamic,ha-rebalance-on-start=1\nha: shutdown_policy=freeze\nkeyboard: de\nmax_workers: 2\n"
        );
        assert_eq!(real(&c.write_real()).value, c);
    }

    #[test]
    fn bad_lines_and_values_warn() {
        let p = real("garbage line\nkey : x\n:x\nfencing: none\nmax_workers: 0\n");
        assert_eq!(
            p.warnings,
            [
                "ignore config line: garbage line",
                "ignore config line: key : x",
                "ignore config line: :x",
                "parse error in 'datacenter.cfg' - 'fencing': value 'none' does not have a value in the enumeration 'watchdog, hardware, both'",
                "parse error in 'datacenter.cfg' - 'max_workers': value must have a minimum value of 1",
            ]
        );
        assert_eq!(p.value.fencing, None);
        assert_eq!(p.value.max_workers(), 4);
    }

    #[test]
    fn property_string_errors_drop_the_whole_key() {
        let cases = [
            ("crs: ha=static,ha-rebalance-on-strat=1", "invalid format - invalid key in comma-separated list property: ha-rebalance-on-strat"),
            ("crs: ha=static,ha=basic", "invalid format - duplicate key in comma-separated list property: ha"),
            ("crs: static", "invalid format - value without key, but schema does not define a default key"),
            ("crs: ha=", "invalid format - missing key in comma-separated list property"),
            ("ha: =migrate", "invalid format - missing key in comma-separated list property"),
        ];
        for (line, err) in cases {
            let p = real(line);
            let key = &line[..line.find(':').unwrap_or(0)];
            assert_eq!(
                p.warnings,
                [format!("parse error in 'datacenter.cfg' - '{key}': {err}")],
                "{line}"
            );
            assert!(p.value.crs.is_empty() && p.value.ha.is_empty(), "{line}");
        }
    }

    #[test]
    fn schema_errors_list_every_sub_key() {
        let p = real("crs: ha=magic,ha-rebalance-on-start=maybe,ha-auto-rebalance-margin=-1,ha-auto-rebalance-threshold=x");
        assert_eq!(
            p.warnings,
            [
                "parse error in 'datacenter.cfg' - 'crs': invalid format - format error",
                "crs.ha: value 'magic' does not have a value in the enumeration 'basic, static, dynamic'",
                "crs.ha-auto-rebalance: missing property required by 'crs.ha-auto-rebalance-margin'",
                "crs.ha-auto-rebalance: missing property required by 'crs.ha-auto-rebalance-threshold'",
                "crs.ha-auto-rebalance-margin: value must have a minimum value of 0",
                "crs.ha-auto-rebalance-threshold: type check ('number') failed - got 'x'",
                "crs.ha-rebalance-on-start: type check ('boolean') failed - got 'maybe'",
            ]
        );
        assert!(p.value.crs.is_empty());
    }

    #[test]
    fn requires_is_satisfied_by_any_value() {
        let p = real("crs: ha-auto-rebalance=0,ha-auto-rebalance-method=topsis");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            p.value.crs.auto_rebalance_method(),
            OrUnknown::Known(RebalanceMethod::Topsis)
        );
    }

    #[test]
    fn empty_crs_is_ignored_with_a_warning() {
        let p = real("crs:\nbogus\nha:\n");
        assert_eq!(
            p.warnings,
            [
                "ignore config line: bogus",
                "ignoring empty 'crs:' line in datacenter.cfg"
            ]
        );
        assert!(p.value.crs.is_empty() && p.value.ha.is_empty());
        assert_eq!(p.value.write_real(), "");
    }

    #[test]
    fn last_duplicate_line_wins() {
        let p = real("crs: ha=bogus\ncrs: ha=static\n");
        assert!(p.warnings.is_empty());
        assert_eq!(p.value.crs.mode(), OrUnknown::Known(CrsMode::Static));
    }

    #[test]
    fn key_line_grammar() {
        assert_eq!(split_key_line("a:b: c"), Some(("a", "b: c")));
        assert_eq!(split_key_line(":a:b"), Some((":a", "b")));
        assert_eq!(split_key_line("a:"), Some(("a", "")));
        assert_eq!(split_key_line("a b: c"), None);
        assert_eq!(split_key_line(":"), None);
        assert_eq!(split_key_line("ü:x"), Some(("ü", "x")));
    }

    #[test]
    fn number_grammar() {
        for ok in ["0", "+1", "-2.", ".5", "1e3", "1.5E-2"] {
            assert!(is_number_text(ok), "{ok}");
        }
        for bad in [
            "", ".", "e1", "1e", "1.2.3", "0x10", " 1", "1 ", "inf", "NaN",
        ] {
            assert!(!is_number_text(bad), "{bad}");
        }
        assert!(check_number("1e999", 0.0).is_err());
    }

    #[test]
    fn sim_reads_values_as_given() {
        let c = parse_sim(
            "{ \"ha\": {\"shutdown_policy\": \"sometimes\"},\n\t\"crs\": {\"ha\": \"dynamic\", \"ha-auto-rebalance\": \"1\",\
             \"ha-auto-rebalance-hold-duration\": 0, \"ha-auto-rebalance-threshold\": \"0.7\", \"ha-rebalance-on-start\": 0,\
             \"ha-auto-rebalance-method\": \"magic\"}, \"max_workers\": 1}",
        )
        .unwrap_or_default();
        assert_eq!(
            c.ha.shutdown_policy(),
            OrUnknown::Unknown("sometimes".into())
        );
        assert_eq!(c.crs.mode(), OrUnknown::Known(CrsMode::Dynamic));
        assert!(c.crs.auto_rebalance());
        assert!(!c.crs.rebalance_on_start());
        assert_eq!(c.crs.rebalance_on_start, Some(false));
        assert_eq!(c.crs.auto_rebalance_hold_duration(), 0.0);
        assert_eq!(c.crs.auto_rebalance_threshold(), 0.7);
        assert_eq!(
            c.crs.auto_rebalance_method(),
            OrUnknown::Unknown("magic".into())
        );
        assert_eq!(c.max_workers, None);
        assert_eq!(parse_sim(&c.write_sim()), Ok(c));
    }

    #[test]
    fn sim_defaults_and_errors() {
        assert_eq!(parse_sim(""), Ok(DatacenterConfig::default()));
        assert_eq!(parse_sim(" \n"), Ok(DatacenterConfig::default()));
        assert_eq!(parse_sim("{}"), Ok(DatacenterConfig::default()));
        assert_eq!(parse_sim("null"), Ok(DatacenterConfig::default()));
        let c = parse_sim(r#"{"crs": {"ha": ""}}"#).unwrap_or_default();
        assert_eq!(c.crs.mode, None);
        assert!(matches!(parse_sim("{"), Err(DatacenterError::Json(_))));
        assert_eq!(
            parse_sim("[]").map_err(|e| e.to_string()),
            Err("unable to parse datacenter.cfg - '(top level)' is not a JSON object".into())
        );
        assert_eq!(
            parse_sim(r#"{"crs": "ha=static"}"#),
            Err(DatacenterError::NotAnObject { path: "crs".into() })
        );
        assert_eq!(
            parse_sim(r#"{"crs": {"ha-auto-rebalance-margin": "lots"}}"#).map_err(|e| e.to_string()),
            Err("unable to parse datacenter.cfg - 'crs.ha-auto-rebalance-margin': expected a number, got \"lots\"".into())
        );
    }

    #[test]
    fn sim_writer_is_compact_and_sorted() {
        let c = parse_sim(r#"{"ha":{"shutdown_policy":"migrate"},"crs":{"ha-rebalance-on-start":"yes","ha":"static","ha-auto-rebalance-margin":0.25}}"#)
            .unwrap_or_default();
        assert_eq!(
            c.write_sim(),
            r#"{"crs":{"ha":"static","ha-auto-rebalance-margin":0.25,"ha-rebalance-on-start":1},"ha":{"shutdown_policy":"migrate"}}"#
        );
        assert_eq!(DatacenterConfig::default().write_sim(), "{}");
    }
}
