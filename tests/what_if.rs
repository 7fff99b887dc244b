//! `ha-manager what-if` (issue 17) checked against what the tester
//! really does. Each case builds a live cluster by hand in the pmxcfs
//! layout (`PVE_HA_ROOT`), asks `ha-manager what-if … --output-format
//! json`, then writes the same state as a scenario directory by hand —
//! every node off, the services with their state, the manager status,
//! the run states, and the documented warm-up (`power … on`, two quiet
//! batches, the event) — runs `pve-ha tester` on it and reads the plan
//! from its log and final run states. Both must agree. The live root
//! must not change at all.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");

/// A scratch directory, removed when dropped (also on failure).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("pve-ha-whatif-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A live three-node cluster: its guests (sid, node), all started, and
/// the node the manager status names as master.
struct Live {
    nodes: Vec<(&'static str, bool)>,
    guests: Vec<(&'static str, &'static str)>,
    master: &'static str,
    rules: Option<&'static str>,
    datacenter: Option<&'static str>,
}

impl Live {
    fn three(guests: Vec<(&'static str, &'static str)>) -> Live {
        Live {
            nodes: vec![("node1", true), ("node2", true), ("node3", true)],
            guests,
            master: "node1",
            rules: None,
            datacenter: None,
        }
    }

    fn manager_status(&self) -> Value {
        let nodes: BTreeMap<&str, &str> = self
            .nodes
            .iter()
            .map(|(n, on)| (*n, if *on { "online" } else { "unknown" }))
            .collect();
        let services: BTreeMap<&str, Value> = self
            .guests
            .iter()
            .enumerate()
            .map(|(i, (sid, node))| {
                (
                    *sid,
                    json!({"state": "started", "node": node, "uid": format!("uid{i}"), "running": 1}),
                )
            })
            .collect();
        json!({"master_node": self.master, "timestamp": 1_700_000_000,
               "node_status": nodes, "service_status": services})
    }

    /// Writes the pmxcfs layout under `root`.
    fn write_root(&self, root: &Path) {
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        };
        let list: BTreeMap<&str, Value> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (n, on))| (*n, json!({"id": i + 1, "online": i32::from(*on)})))
            .collect();
        w(
            ".members",
            &json!({"nodename": "node1", "version": 3,
                    "cluster": {"name": "c", "version": 3, "nodes": self.nodes.len(), "quorate": 1},
                    "nodelist": list})
            .to_string(),
        );
        let ids: BTreeMap<String, Value> = self
            .guests
            .iter()
            .map(|(sid, node)| {
                let (ty, id) = sid.split_once(':').expect("sid");
                let kind = if ty == "vm" { "qemu" } else { "lxc" };
                (
                    id.to_string(),
                    json!({"node": node, "type": kind, "version": 1}),
                )
            })
            .collect();
        w(".vmlist", &json!({"version": 1, "ids": ids}).to_string());
        let resources: String = self
            .guests
            .iter()
            .map(|(sid, _)| {
                let (ty, id) = sid.split_once(':').expect("sid");
                format!("{ty}: {id}\n\n")
            })
            .collect();
        w("ha/resources.cfg", &resources);
        w("ha/manager_status", &self.manager_status().to_string());
        for (n, _) in &self.nodes {
            w(
                &format!("nodes/{n}/lrm_status"),
                r#"{"mode":"active","state":"active","results":{},"timestamp":1700000000}"#,
            );
        }
        if let Some(r) = self.rules {
            w("ha/rules.cfg", r);
        }
        if let Some(d) = self.datacenter {
            w("datacenter.cfg", d);
        }
    }

    /// Writes the tester scenario of this state by hand: `rules` and
    /// `datacenter` (simulator JSON) in force from the start, `event`
    /// as the fourth batch.
    fn write_scenario(
        &self,
        dir: &Path,
        rules: Option<&str>,
        datacenter: Option<Value>,
        event: &[&str],
    ) {
        let w = |name: &str, text: &str| fs::write(dir.join(name), text).expect("write");
        let hw: BTreeMap<&str, Value> = self
            .nodes
            .iter()
            .map(|(n, _)| {
                (*n, json!({"power": "off", "network": "off", "maxcpu": 24, "maxmem": 137438953472u64}))
            })
            .collect();
        w("hardware_status", &json!(hw).to_string());
        let sc: BTreeMap<&str, Value> = self
            .guests
            .iter()
            .map(|(sid, node)| (*sid, json!({"node": node, "state": "started"})))
            .collect();
        w("service_config", &json!(sc).to_string());
        w("manager_status", &self.manager_status().to_string());
        for (n, on) in &self.nodes {
            let running: BTreeMap<&str, i32> = self
                .guests
                .iter()
                .filter(|(_, g)| g == n && *on)
                .map(|(sid, _)| (*sid, 1))
                .collect();
            w(&format!("service_status_{n}"), &json!(running).to_string());
        }
        if let Some(r) = rules {
            w("rules_config", r);
        }
        if let Some(d) = datacenter {
            w("datacenter.cfg", &d.to_string());
        }
        let online: Vec<&str> = self.nodes.iter().filter(|n| n.1).map(|n| n.0).collect();
        let mut first: Vec<String> = online.iter().map(|n| format!("power {n} on")).collect();
        let mut second = Vec::new();
        if online.first() != Some(&self.master) {
            for n in online.iter().filter(|n| **n != self.master) {
                first.push(format!("crm {n} stop"));
                second.push(format!("crm {n} start"));
            }
        }
        let cmdlist = json!([first, second, [], event]);
        w("cmdlist", &cmdlist.to_string());
    }
}

fn what_if(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("ha-manager")
        .arg("what-if")
        .args(args)
        .env("PVE_HA_ROOT", root)
        .stdin(Stdio::null())
        .output()
        .expect("run ha-manager")
}

/// (sid, from, to, after_s) of a JSON plan, and the reasons by sid.
type Row = (String, String, String, i64);

fn json_plan(out: &Output) -> (Vec<Row>, BTreeMap<String, String>) {
    assert!(
        out.status.success(),
        "what-if failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json output");
    let mut rows = Vec::new();
    let mut reasons = BTreeMap::new();
    for m in v.as_array().expect("array") {
        let s = |k: &str| m[k].as_str().expect("string field").to_string();
        rows.push((
            s("sid"),
            s("from"),
            s("to"),
            m["after_s"].as_i64().expect("after_s"),
        ));
        reasons.insert(s("sid"), s("reason"));
    }
    (rows, reasons)
}

/// Runs the tester on `dir` and reads the plan it shows: for every
/// service whose final place (where it runs, from the final run states)
/// differs from its live node, the seconds from the event line to the
/// last `service status <sid> started` of its new node (`None` when no
/// event line exists: configuration from the start).
fn tester_plan(dir: &Path, live: &Live, event_line: Option<&str>) -> Vec<Row> {
    let status = dir.join("status");
    let out = Command::new(BIN)
        .arg("tester")
        .arg(dir)
        .arg("--status-dir")
        .arg(&status)
        .stdin(Stdio::null())
        .output()
        .expect("run tester");
    let log = fs::read_to_string(status.join("log")).unwrap_or_else(|e| {
        panic!(
            "no tester log ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        log.ends_with("exit simulation - done\n"),
        "tester run ended abnormally:\n{log}"
    );
    let parse = |l: &str| -> (i64, String) {
        let mut w = l.split_whitespace();
        let _level = w.next();
        let t = w.next().and_then(|t| t.parse().ok()).expect("time");
        (t, w.collect::<Vec<_>>().join(" "))
    };
    let t0 = event_line.map(|e| {
        log.lines()
            .map(parse)
            .find(|(_, rest)| rest == &format!("cmdlist: execute {e}"))
            .map(|(t, _)| t)
            .expect("event line in the tester log")
    });
    let mut runs_on: BTreeMap<String, String> = BTreeMap::new();
    for (n, _) in &live.nodes {
        let p = status.join(format!("service_status_{n}"));
        let m: BTreeMap<String, i64> =
            serde_json::from_str(&fs::read_to_string(p).expect("run states")).expect("json");
        for (sid, r) in m {
            if r != 0 {
                runs_on.insert(sid, n.to_string());
            }
        }
    }
    let mut rows = Vec::new();
    for (sid, from) in &live.guests {
        let to = runs_on
            .get(*sid)
            .expect("service runs somewhere at the end");
        if to == from {
            continue;
        }
        let started = format!("{to}/lrm: service status {sid} started");
        let at = log
            .lines()
            .rev()
            .map(parse)
            .find(|(_, rest)| rest == &started)
            .map(|(t, _)| t)
            .expect("start line on the new node");
        let after = t0.map_or(-1, |t0| at - t0);
        rows.push((sid.to_string(), from.to_string(), to.clone(), after));
    }
    rows.sort();
    rows
}

/// Every file under `root` with its bytes and mtime: nothing may change.
fn tree(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(p.clone());
                out.insert(p, (Vec::new(), meta.modified().expect("mtime")));
            } else {
                let bytes = fs::read(&p).expect("read");
                out.insert(p, (bytes, meta.modified().expect("mtime")));
            }
        }
    }
    out
}

/// Runs a what-if on `live` and the tester on the hand-written
/// scenario; returns both plans (sorted) and the reasons.
fn compare(
    tag: &str,
    live: &Live,
    args: &[&str],
    scenario_rules: Option<&str>,
    scenario_dc: Option<Value>,
    event: &[&str],
) -> (Vec<Row>, Vec<Row>, BTreeMap<String, String>) {
    let root = Scratch::new(&format!("{tag}-root"));
    live.write_root(&root.0);
    let before = tree(&root.0);
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--output-format", "json"]);
    let out = what_if(&root.0, &full);
    assert_eq!(before, tree(&root.0), "what-if changed the live root");
    let (mut plan, reasons) = json_plan(&out);
    plan.sort();
    let dir = Scratch::new(&format!("{tag}-scenario"));
    live.write_scenario(&dir.0, scenario_rules, scenario_dc, event);
    let tester = tester_plan(&dir.0, live, event.first().copied());
    (plan, tester, reasons)
}

fn guests_on_node3() -> Vec<(&'static str, &'static str)> {
    vec![
        ("vm:101", "node1"),
        ("vm:102", "node2"),
        ("vm:103", "node3"),
        ("ct:104", "node3"),
        ("vm:105", "node3"),
    ]
}

#[test]
fn node_down_plan_is_the_testers() {
    let live = Live::three(guests_on_node3());
    let (plan, tester, reasons) = compare(
        "down",
        &live,
        &["node-down", "node3"],
        None,
        None,
        &["power node3 off"],
    );
    assert_eq!(plan, tester);
    let moved: Vec<&str> = plan.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(moved, ["ct:104", "vm:103", "vm:105"]);
    for (sid, from, to, after) in &plan {
        assert_eq!(from, "node3");
        assert_ne!(to, "node3");
        // Fence delay plus the agent lock's expiry: two minutes at least.
        assert!(*after >= 120, "{sid} after {after}");
        assert_eq!(reasons[sid], "node3 fenced, recovery");
    }
}

#[test]
fn node_down_of_the_master_keeps_the_live_master() {
    let mut live = Live::three(guests_on_node3());
    live.master = "node3";
    let (plan, tester, reasons) = compare(
        "down-master",
        &live,
        &["node-down", "node3"],
        None,
        None,
        &["power node3 off"],
    );
    assert_eq!(plan, tester);
    assert_eq!(plan.len(), 3);
    // A new master must take over first: later than with a live master.
    assert!(plan.iter().all(|r| r.3 > 160), "{plan:?}");
    assert!(reasons.values().all(|r| r == "node3 fenced, recovery"));
}

#[test]
fn maintenance_plan_is_the_testers() {
    let live = Live::three(guests_on_node3());
    let (plan, tester, reasons) = compare(
        "maint",
        &live,
        &["maintenance", "node3"],
        None,
        None,
        &["crm node3 enable-node-maintenance"],
    );
    assert_eq!(plan, tester);
    assert_eq!(plan.len(), 3);
    assert_eq!(reasons["vm:103"], "maintenance: migrate");
    assert_eq!(reasons["ct:104"], "maintenance: relocate");
}

#[test]
fn proposed_rules_move_what_the_tester_moves_with_them() {
    let live = Live::three(guests_on_node3());
    let rules = "node-affinity: pin\n\tresources vm:101,vm:103\n\tnodes node2\n\tstrict 1\n";
    let dir = Scratch::new("rules-file");
    let file = dir.0.join("rules.cfg");
    fs::write(&file, rules).expect("write rules");
    let path = file.to_string_lossy().into_owned();
    // The tester cannot change rules mid-run: it runs with them from the
    // start, so only where things end is compared, not when.
    let (plan, tester, reasons) =
        compare("rules", &live, &["rules", &path], Some(rules), None, &[]);
    let ends = |v: &[Row]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|r| (r.0.clone(), r.1.clone(), r.2.clone()))
            .collect()
    };
    assert_eq!(ends(&plan), ends(&tester));
    assert_eq!(ends(&plan).len(), 2);
    assert!(plan.iter().all(|r| r.2 == "node2" && r.3 > 0));
    assert_eq!(reasons["vm:103"], "rule 'pin' (node-affinity)");
}

#[test]
fn a_scheduler_mode_change_rebalances_as_the_tester_does() {
    let mut live = Live::three(vec![
        ("vm:101", "node1"),
        ("vm:102", "node1"),
        ("vm:103", "node1"),
        ("ct:104", "node1"),
    ]);
    live.datacenter = Some("crs: ha=basic,ha-auto-rebalance=1\n");
    let (plan, tester, reasons) = compare(
        "crs",
        &live,
        &["crs", "static"],
        None,
        Some(json!({"crs": {"ha": "static", "ha-auto-rebalance": 1}})),
        &[],
    );
    let ends = |v: &[Row]| -> Vec<(String, String, String)> {
        v.iter()
            .map(|r| (r.0.clone(), r.1.clone(), r.2.clone()))
            .collect()
    };
    assert!(!plan.is_empty());
    assert_eq!(ends(&plan), ends(&tester));
    assert!(reasons.values().all(|r| r == "rebalance"), "{reasons:?}");
}

#[test]
fn text_output_and_errors() {
    let live = Live::three(guests_on_node3());
    let root = Scratch::new("text");
    live.write_root(&root.0);
    let out = what_if(&root.0, &["node-down", "node3"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("node3 -> node") && l.ends_with("s  (node3 fenced, recovery)")),
        "{text}"
    );

    let mut idle = Live::three(vec![("vm:101", "node1")]);
    idle.master = "node1";
    let root2 = Scratch::new("idle");
    idle.write_root(&root2.0);
    let out = what_if(&root2.0, &["node-down", "node2"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no service would move\n"
    );
    let out = what_if(&root2.0, &["node-down", "node2", "--output-format", "json"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");

    let out = what_if(&root.0, &["node-down", "node9"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no such node 'node9'\n"
    );
    let out = what_if(&root.0, &["rules", "/nonexistent/rules.cfg"]);
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unable to read '/nonexistent/rules.cfg': ")
            && err.lines().count() == 1,
        "{err}"
    );
    // Unreadable state: one line each.
    fs::write(root.0.join("ha/manager_status"), "{not json").expect("write");
    let out = what_if(&root.0, &["node-down", "node3"]);
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    fs::write(root.0.join(".members"), r#"{"nodename": "node1"}"#).expect("write");
    let out = what_if(&root.0, &["node-down", "node3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: no cluster members in ") && err.lines().count() == 1,
        "{err}"
    );
}
