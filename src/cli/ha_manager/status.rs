//! `ha-manager status` (06 §9.3, §11): the quorum, master, fencing, LRM and
//! service entries computed from manager_status, the lrm_status files, the
//! checked resources view and datacenter.cfg, printed as `<type> <status>`
//! lines — or, as an extension, as JSON (`--output-format json`). With
//! `--verbose` the full cluster state follows as Perl-style pretty JSON
//! (§11.4).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::SystemTime;

use serde_json::{json, Map, Value as Json};

use super::format;
use super::{op_err, paths, CliError, Ctx, Params};
use crate::cli::output;
use crate::cluster::VmList;
use crate::config::datacenter::{parse_real, CrsMode};
use crate::config::resources::{Resource, ResourcesConfig};
use crate::config::status::{LrmStatus, ManagerStatus, ServiceEntry};
use crate::sys::localtime::ctime;
use crate::types::{OrUnknown, Sid};

/// One resource of the checked view (06 §3.3): defaults applied, `enabled`
/// read as `started`, and the guest's node from the VM list.
struct Checked<'a> {
    res: &'a Resource,
    node: Option<String>,
}

impl Checked<'_> {
    fn state(&self) -> String {
        self.res.requested_state().to_string()
    }
}

/// `age(ts)` (06 §11.1). The difference saturates: a timestamp from the
/// far past (`-9223372036854775808` in a damaged file) is simply very old
/// and one from the far future is drift, instead of an overflow.
fn age(now: i64, ts: i64) -> &'static str {
    let d = now.saturating_sub(ts);
    if d > 30 {
        "old timestamp - dead?"
    } else if d < -2 {
        "detected time drift!"
    } else {
        "active"
    }
}

/// The times `ctime` can show with its four-digit year: 0001-01-01 to
/// 9999-12-31 UTC. Anything outside comes from a damaged or hostile
/// status file, not from a clock.
const CTIME_RANGE: RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// The time text of a timestamp (06 §11.1), or a plain note with the raw
/// number when it is outside [`CTIME_RANGE`] (upstream's `localtime`
/// gives up on such values and prints nothing useful).
fn time_text(ts: i64) -> String {
    if CTIME_RANGE.contains(&ts) {
        ctime(ts)
    } else {
        format!("time out of range: {ts}")
    }
}

/// The verbose service state (06 §11.3).
fn verbose_state(ss: Option<&ServiceEntry>, sc: Option<&Checked>) -> String {
    let requested = sc.map(Checked::state);
    let node = sc.and_then(|c| c.node.as_deref());
    crate::config::status::verbose_service_state(requested.as_deref(), node, ss)
}

/// A status file read as raw JSON for the verbose dump (`{}` when empty).
fn raw_json(bytes: &[u8], file: &str) -> Result<Json, CliError> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&text).map_err(|e| op_err(format!("unable to parse {file} - {e}")))
}

/// manager_status, typed and raw.
fn parse_manager_status(bytes: &[u8]) -> Result<(ManagerStatus, Json), CliError> {
    let raw = raw_json(bytes, "manager_status")?;
    let ms = ManagerStatus::from_json(&String::from_utf8_lossy(bytes))
        .map_err(|e| op_err(e.to_string()))?;
    Ok((ms, raw))
}

/// One lrm_status, typed and raw; `None` is a missing file, which reads
/// as mode `unknown` (06 §8.2).
fn parse_lrm_status(bytes: Option<&[u8]>) -> Result<(LrmStatus, Json), CliError> {
    match bytes {
        None => Ok((LrmStatus::missing_real(), json!({"mode": "unknown"}))),
        Some(b) => {
            let status = LrmStatus::from_json(&String::from_utf8_lossy(b))
                .map_err(|e| op_err(e.to_string()))?;
            Ok((status, raw_json(b, "lrm_status")?))
        }
    }
}

/// Everything `status` shows, as read from the cluster. Rendering is a
/// pure function of it ([`render`]), so tests can feed it hostile files
/// without a cluster or a clock.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The wall clock, in seconds.
    pub now: i64,
    /// The local node.
    pub local: String,
    /// Whether the local node is quorate.
    pub quorate: bool,
    /// manager_status as read (empty when absent).
    pub manager_status: Vec<u8>,
    /// Node → its lrm_status as read; a node of manager_status without an
    /// entry here reads as a missing file.
    pub lrm_status: BTreeMap<String, Vec<u8>>,
    /// resources.cfg, parsed.
    pub resources: ResourcesConfig,
    /// The cluster's guest list.
    pub vmlist: VmList,
    /// The `crs` mode when it is not `basic`.
    pub crs: Option<String>,
}

/// The parsed form of a [`Snapshot`] the entries are computed from.
struct Inputs {
    now: i64,
    local: String,
    quorate: bool,
    ms: ManagerStatus,
    ms_raw: Json,
    lrm: BTreeMap<String, (LrmStatus, Json)>,
    crs: Option<String>,
}

impl Inputs {
    fn parse(snap: &Snapshot) -> Result<Self, CliError> {
        let (ms, ms_raw) = parse_manager_status(&snap.manager_status)?;
        let mut lrm = BTreeMap::new();
        for node in ms.node_status.keys() {
            let bytes = snap.lrm_status.get(node).map(Vec::as_slice);
            lrm.insert(node.clone(), parse_lrm_status(bytes)?);
        }
        Ok(Inputs {
            now: snap.now,
            local: snap.local.clone(),
            quorate: snap.quorate,
            ms,
            ms_raw,
            lrm,
            crs: snap.crs.clone(),
        })
    }
}

/// Reads the snapshot, printing upstream's warnings on the way (a missing
/// lrm_status, the resources.cfg warnings) and failing on unreadable JSON
/// in the same order upstream does.
fn read_snapshot(ctx: &mut Ctx) -> Result<Snapshot, CliError> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let manager_status = ctx.read_file(paths::MANAGER_STATUS)?;
    let (ms, _) = parse_manager_status(&manager_status)?;
    let mut lrm_status = BTreeMap::new();
    for node in ms.node_status.keys() {
        let rel = paths::lrm_status(node);
        let bytes = ctx.store.read(&rel)?;
        if bytes.is_none() {
            output::eprint(&format!(
                "unable to read file '{}'\n",
                ctx.store.path_of(&rel)
            ));
        }
        parse_lrm_status(bytes.as_deref())?;
        if let Some(b) = bytes {
            lrm_status.insert(node.clone(), b);
        }
    }
    let dc = ctx.read_file(paths::DATACENTER)?;
    let dc = parse_real(
        &ctx.store.path_of(paths::DATACENTER),
        &String::from_utf8_lossy(&dc),
    );
    let crs = match dc.value.crs.mode() {
        OrUnknown::Known(CrsMode::Basic) => None,
        other => Some(other.to_string()),
    };
    Ok(Snapshot {
        now,
        local: ctx.store.local_node(),
        quorate: ctx.store.quorate(),
        manager_status,
        lrm_status,
        resources: ctx.resources()?,
        vmlist: ctx.store.vmlist(),
        crs,
    })
}

fn entry(id: &str, ty: &str, node: &str, status: String) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("type".into(), json!(ty));
    m.insert("node".into(), json!(node));
    m.insert("status".into(), json!(status));
    m
}

/// The status entries in order (06 §11.2).
fn entries(inp: &Inputs, cfg: &ResourcesConfig, vmlist: &VmList) -> Vec<Map<String, Json>> {
    let checked: BTreeMap<Sid, Checked> = cfg
        .sections()
        .filter(|(_, r)| r.resource_type().is_some_and(|t| t.as_str() != "fa"))
        .map(|(_, r)| {
            let node = crate::cluster::services::guest_node(vmlist, &r.sid);
            (r.sid.clone(), Checked { res: r, node })
        })
        .collect();
    let ms = &inp.ms;
    let mut out = Vec::new();

    let mut q = entry(
        "quorum",
        "quorum",
        &inp.local,
        if inp.quorate {
            "OK".to_string()
        } else {
            format!("No quorum on node '{}'!", inp.local)
        },
    );
    q.insert("quorate".into(), json!(i64::from(inp.quorate)));
    out.push(q);

    let mut crm_active = false;
    if let (Some(master), Some(ts)) = (&ms.master_node, ms.timestamp) {
        let mut s = age(inp.now, ts);
        crm_active = s == "active";
        if inp.quorate && s != "active" && checked.is_empty() {
            s = "idle";
        }
        let mut extra = String::new();
        if let Some(d) = &ms.disarm {
            let word = |w: Option<String>| w.unwrap_or_default();
            extra.push_str(&format!(
                " - {}, resource mode: {}",
                word(d.state.as_ref().map(ToString::to_string)),
                word(d.mode.as_ref().map(ToString::to_string))
            ));
        }
        if let Some(crs) = &inp.crs {
            extra.push_str(&format!(" - {crs} load CRS"));
        }
        let mut m = entry(
            "master",
            "master",
            master,
            format!("{master} ({s}, {}){extra}", time_text(ts)),
        );
        m.insert("timestamp".into(), json!(ts));
        out.push(m);
    }

    let fence_node = ms.master_node.clone().unwrap_or_else(|| inp.local.clone());
    let f = match &ms.disarm {
        Some(d) => {
            let mode = d
                .mode
                .as_ref()
                .map_or("unknown".to_string(), ToString::to_string);
            let st = d
                .state
                .as_ref()
                .map_or("unknown".to_string(), ToString::to_string);
            let wd = if st == "disarmed" {
                "released"
            } else {
                "active"
            };
            let mut f = entry(
                "fencing",
                "fencing",
                &fence_node,
                format!("{st}, resource mode: {mode} (CRM watchdog {wd})"),
            );
            f.insert("armed-state".into(), json!(st));
            f.insert("resource_mode".into(), json!(mode));
            f
        }
        None => {
            let (st, text) = if crm_active {
                ("armed", "armed (CRM watchdog active)")
            } else {
                ("standby", "standby (CRM watchdog standby)")
            };
            let mut f = entry("fencing", "fencing", &fence_node, text.to_string());
            f.insert("armed-state".into(), json!(st));
            f
        }
    };
    out.push(f);

    for node in ms.node_status.keys() {
        let active_count = ms
            .service_status
            .values()
            .filter(|e| {
                let here = e.node.as_deref() == Some(node) || e.target.as_deref() == Some(node);
                let counted = e.state.as_ref().is_some_and(|s| {
                    !matches!(
                        s.to_string().as_str(),
                        "stopped" | "freeze" | "error" | "request_start"
                    )
                });
                here && counted
            })
            .count();
        let lrm = inp.lrm.get(node).map(|(l, _)| l);
        let ts = lrm.and_then(|l| l.timestamp).filter(|t| *t != 0);
        let id = format!("lrm:{node}");
        let Some(ts) = ts else {
            out.push(entry(
                &id,
                "lrm",
                node,
                format!("{node} (unable to read lrm status)"),
            ));
            continue;
        };
        let lrm = lrm.cloned().unwrap_or_default();
        let mode = lrm.mode.as_ref().map(ToString::to_string);
        let state = lrm
            .state
            .as_ref()
            .map_or("unknown".to_string(), ToString::to_string);
        let a = age(inp.now, ts);
        let wd = if a == "active" && (state == "active" || state == "maintenance") {
            "watchdog active"
        } else if mode.as_deref() == Some("disarm") {
            "watchdog released"
        } else {
            "watchdog standby"
        };
        let s = if a == "active" {
            let mode = mode
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "active".into());
            if mode != "active" {
                format!("{mode} mode")
            } else if state == "wait_for_agent_lock" && active_count == 0 {
                "idle".to_string()
            } else {
                state.clone()
            }
        } else if matches!(mode.as_deref(), Some("maintenance" | "disarm")) {
            format!("{} mode", mode.unwrap_or_default())
        } else {
            a.to_string()
        };
        let mut e = entry(
            &id,
            "lrm",
            node,
            format!("{node} ({s}, {wd}, {})", time_text(ts)),
        );
        e.insert("timestamp".into(), json!(ts));
        out.push(e);
    }

    let ignore_all = ms
        .disarm
        .as_ref()
        .and_then(|d| d.mode.as_ref())
        .is_some_and(|m| m.to_string() == "ignore");
    let mut sids: Vec<&Sid> = ms.service_status.keys().collect();
    sids.extend(
        checked
            .keys()
            .filter(|s| !ms.service_status.contains_key(*s)),
    );
    for sid in sids {
        let ss = ms.service_status.get(sid);
        let sc = checked.get(sid);
        let node = match ss {
            Some(e) => e.node.clone(),
            None => sc.and_then(|c| c.node.clone()),
        };
        let mut state = verbose_state(ss, sc);
        if ignore_all {
            state = "ignore".to_string();
        }
        let shown = node.clone().unwrap_or_else(|| "---".to_string());
        let mut e = entry(
            &format!("service:{sid}"),
            "service",
            &shown,
            format!("{sid} ({shown}, {state})"),
        );
        if node.is_none() {
            e.insert("node".into(), Json::Null);
        }
        e.insert("sid".into(), json!(sid.as_str()));
        if let Some(cs) = ss.and_then(|e| e.state.as_ref()) {
            e.insert("crm_state".into(), json!(cs.to_string()));
        }
        e.insert("state".into(), json!(state));
        if let Some(c) = sc {
            let r = c.res;
            e.insert("request_state".into(), json!(c.state()));
            if let Some(g) = &r.group {
                e.insert("group".into(), json!(g));
            }
            e.insert("max_restart".into(), json!(r.max_restart_or_default()));
            e.insert("max_relocate".into(), json!(r.max_relocate_or_default()));
            e.insert("failback".into(), json!(i64::from(r.failback_or_default())));
            if let Some(cm) = &r.comment {
                e.insert("comment".into(), json!(cm));
            }
        }
        out.push(e);
    }
    out
}

/// `status [--verbose] [--output-format text|json|json-pretty]`.
pub fn status(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let snap = read_snapshot(ctx)?;
    let verbose = p.flag("verbose").unwrap_or(false);
    let text = render(&snap, verbose, p.get("output-format").unwrap_or("text"))?;
    output::print(&text);
    Ok(())
}

/// The complete stdout of `status` for a snapshot: `<type> <status>`
/// lines (plus the verbose dump), or the JSON extension for `json` and
/// `json-pretty`. Never panics, whatever the status files hold; JSON that
/// cannot be read at all is an error naming the file.
pub fn render(snap: &Snapshot, verbose: bool, fmt: &str) -> Result<String, CliError> {
    let inp = Inputs::parse(snap)?;
    let list = entries(&inp, &snap.resources, &snap.vmlist);
    let full = verbose.then(|| {
        let mut m = Map::new();
        m.insert("manager_status".into(), inp.ms_raw.clone());
        m.insert(
            "quorum".into(),
            json!({"node": inp.local, "quorate": if inp.quorate { "1" } else { "" }}),
        );
        if !inp.lrm.is_empty() {
            let l: Map<String, Json> = inp
                .lrm
                .iter()
                .map(|(n, (_, raw))| (n.clone(), raw.clone()))
                .collect();
            m.insert("lrm_status".into(), Json::Object(l));
        }
        Json::Object(m)
    });
    if fmt == "text" {
        let mut text = String::new();
        for e in &list {
            let ty = e.get("type").and_then(Json::as_str).unwrap_or_default();
            let st = e.get("status").and_then(Json::as_str).unwrap_or_default();
            text.push_str(&format!("{ty} {st}\n"));
        }
        if let Some(full) = &full {
            text.push_str("full cluster state:\n");
            text.push_str(&format::pretty(full));
        }
        return Ok(text);
    }
    // The JSON extension: the entries as an array, or with `--verbose` an
    // object holding the entries and the full cluster state.
    let value = match full {
        None => Json::Array(list.into_iter().map(Json::Object).collect()),
        Some(full) => json!({
            "entries": Json::Array(list.into_iter().map(Json::Object).collect()),
            "full": full,
        }),
    };
    Ok(if fmt == "json" {
        format!("{}\n", format::compact(&value))
    } else {
        format::pretty(&value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ServiceState;

    fn res(state: Option<&str>) -> Resource {
        let mut r = Resource::new("vm:100".parse().unwrap());
        r.state = state.and_then(|s| s.parse().ok());
        r
    }

    fn ss(state: ServiceState, running: bool) -> ServiceEntry {
        ServiceEntry {
            state: Some(OrUnknown::Known(state)),
            node: Some("node1".into()),
            running,
            ..ServiceEntry::default()
        }
    }

    #[test]
    fn verbose_states() {
        let r = res(Some("stopped"));
        let c = Checked {
            res: &r,
            node: Some("node1".into()),
        };
        assert_eq!(verbose_state(None, None), "deleting");
        assert_eq!(verbose_state(None, Some(&c)), "queued");
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Started, false)), Some(&c)),
            "starting"
        );
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Started, true)), Some(&c)),
            "stopping"
        );
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Stopped, false)), Some(&c)),
            "stopped"
        );
        let e = res(Some("enabled"));
        let c = Checked {
            res: &e,
            node: Some("node1".into()),
        };
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Stopped, false)), Some(&c)),
            "starting"
        );
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Fence, false)), Some(&c)),
            "fence"
        );
        let d = res(Some("disabled"));
        let c = Checked {
            res: &d,
            node: Some("node1".into()),
        };
        assert_eq!(
            verbose_state(Some(&ss(ServiceState::Error, false)), Some(&c)),
            "clearing error flag"
        );
        let c = Checked {
            res: &d,
            node: None,
        };
        assert_eq!(verbose_state(None, Some(&c)), "not found");
    }

    #[test]
    fn ages() {
        assert_eq!(age(100, 70), "active");
        assert_eq!(age(100, 69), "old timestamp - dead?");
        assert_eq!(age(100, 103), "detected time drift!");
        assert_eq!(age(100, i64::MIN), "old timestamp - dead?");
        assert_eq!(age(i64::MAX, i64::MIN), "old timestamp - dead?");
        assert_eq!(age(100, i64::MAX), "detected time drift!");
        assert_eq!(age(i64::MIN, i64::MAX), "detected time drift!");
    }

    #[test]
    fn time_text_of_extreme_timestamps() {
        assert_eq!(time_text(0), ctime(0));
        assert_eq!(
            time_text(i64::MIN),
            "time out of range: -9223372036854775808"
        );
        assert_eq!(
            time_text(i64::MAX),
            "time out of range: 9223372036854775807"
        );
        assert!(time_text(*CTIME_RANGE.end()).ends_with(" 9999"));
        assert!(time_text(*CTIME_RANGE.start()).ends_with(" 1"));
    }
}
