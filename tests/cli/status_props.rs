//! `ha-manager status` over hostile status files (issue 11 item 5): the
//! renderer is fed arbitrary JSON values as manager_status and lrm_status,
//! and near-valid files whose numbers are extreme (`i64::MIN`/`MAX`, huge
//! floats, numbers as strings), in every output form. It must never
//! panic; and whenever every timestamp is a plain integer it must succeed
//! and show a time text for each of them.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value as Json};

use pve_ha::cli::ha_manager::status::{render, Snapshot};
use pve_ha::cluster::VmList;
use pve_ha::config::resources::ResourcesFormat;

/// Every output form of `status`: (verbose, output format).
const FORMS: [(bool, &str); 6] = [
    (false, "text"),
    (true, "text"),
    (false, "json"),
    (true, "json"),
    (false, "json-pretty"),
    (true, "json-pretty"),
];

const RESOURCES: &str =
    "vm: 100\n\tstate started\n\nct: 102\n\tstate disabled\n\nvm: 105\n\tstate ignored\n\n";

const VMLIST: &str = r#"{"version":1,"ids":{"100":{"node":"node1","type":"qemu","version":1},"102":{"node":"node2","type":"lxc","version":1}}}"#;

fn snapshot(now: i64, ms: &Json, lrm: &BTreeMap<String, Json>) -> Snapshot {
    let resources = ResourcesFormat::default()
        .parse("resources.cfg", RESOURCES.as_bytes())
        .value;
    Snapshot {
        now,
        local: "node1".into(),
        quorate: true,
        manager_status: ms.to_string().into_bytes(),
        lrm_status: lrm
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string().into_bytes()))
            .collect(),
        resources,
        vmlist: VmList::parse(VMLIST.as_bytes()),
        crs: None,
    }
}

/// Renders in every form; returns the text outputs that succeeded.
fn render_all(snap: &Snapshot) -> Vec<String> {
    FORMS
        .iter()
        .filter_map(|(verbose, fmt)| render(snap, *verbose, fmt).ok())
        .collect()
}

/// Extreme and ill-typed numbers, the values a damaged file may hold in a
/// number slot.
fn number_slot() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(json!(i64::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(u64::MAX)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(f64::MAX)),
        Just(json!(f64::MIN)),
        Just(json!(1e-300)),
        Just(json!(-0.0)),
        Just(json!("-9223372036854775808")),
        Just(json!("99999999999999999999999")),
        Just(json!("1e308")),
        Just(json!("abc")),
        Just(json!("")),
        Just(json!(true)),
        Just(Json::Null),
        Just(json!([1])),
        Just(json!({"a": 1})),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<i64>().prop_map(|n| json!(n.to_string())),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z0-9:_ -]{0,12}".prop_map(Json::String),
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("timestamp".to_string()),
            Just("master_node".to_string()),
            Just("node_status".to_string()),
            Just("service_status".to_string()),
            Just("disarm".to_string()),
            Just("state".to_string()),
            Just("mode".to_string()),
            Just("node".to_string()),
            Just("results".to_string()),
            "[a-z0-9:]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn word(words: &'static [&'static str]) -> impl Strategy<Value = Json> {
    prop_oneof![
        prop::sample::select(words).prop_map(|w| json!(w)),
        number_slot(),
    ]
}

const NODES: &[&str] = &["node1", "node2", "node3"];

/// A manager_status of the right shape with hostile values in its slots.
fn near_valid_manager_status() -> impl Strategy<Value = Json> {
    let node_states = prop::collection::btree_map(
        prop::sample::select(NODES).prop_map(str::to_string),
        word(&["online", "maintenance", "unknown", "fence", "gone"]),
        0..4,
    );
    let service = (
        word(&["started", "stopped", "error", "migrate", "fence", "freeze"]),
        word(&["node1", "node2", "node9"]),
        number_slot(),
        number_slot(),
    )
        .prop_map(|(state, node, running, uid)| {
            json!({"state": state, "node": node, "running": running, "uid": uid, "target": node})
        });
    let services = prop::collection::btree_map(
        prop::sample::select(&["vm:100", "ct:102", "vm:105", "vm:999", "fa:1"][..])
            .prop_map(str::to_string),
        service,
        0..4,
    );
    let disarm = prop::option::of((
        word(&["freeze", "ignore"]),
        word(&["disarming", "disarmed"]),
    ));
    (
        word(&["node1", "node2"]),
        number_slot(),
        node_states,
        services,
        disarm,
    )
        .prop_map(|(master, ts, nodes, services, disarm)| {
            let mut m = json!({
                "master_node": master,
                "timestamp": ts,
                "node_status": Json::Object(nodes.into_iter().collect()),
                "service_status": Json::Object(services.into_iter().collect()),
            });
            if let (Some((mode, state)), Some(obj)) = (disarm, m.as_object_mut()) {
                obj.insert("disarm".into(), json!({"mode": mode, "state": state}));
            }
            m
        })
}

/// An lrm_status of the right shape with hostile values in its slots.
fn near_valid_lrm_status() -> impl Strategy<Value = Json> {
    (
        word(&[
            "wait_for_agent_lock",
            "active",
            "lost_agent_lock",
            "maintenance",
        ]),
        word(&["active", "restart", "shutdown", "maintenance", "disarm"]),
        number_slot(),
        number_slot(),
    )
        .prop_map(|(state, mode, ts, code)| {
            json!({"state": state, "mode": mode, "timestamp": ts,
                   "results": {"u1": {"sid": "vm:100", "state": "started", "exit_code": code}}})
        })
}

fn now() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(1_765_000_000_i64),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        any::<i64>(),
    ]
}

fn lrm_files(v: impl Strategy<Value = Json>) -> impl Strategy<Value = BTreeMap<String, Json>> {
    prop::collection::btree_map(
        prop::sample::select(NODES).prop_map(str::to_string),
        v,
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_status_files_never_panic(
        now in now(),
        ms in any_json(),
        lrm in lrm_files(any_json()),
    ) {
        render_all(&snapshot(now, &ms, &lrm));
    }

    #[test]
    fn near_valid_status_files_never_panic(
        now in now(),
        ms in near_valid_manager_status(),
        lrm in lrm_files(near_valid_lrm_status()),
    ) {
        render_all(&snapshot(now, &ms, &lrm));
    }

    /// With every timestamp a plain integer (any i64), nothing is an
    /// error: the master line and every LRM line with a non-zero
    /// timestamp carry an age word and a time text.
    #[test]
    fn integer_timestamps_always_render(
        now in now(),
        ts in prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()],
        lrm_ts in prop::collection::btree_map(
            prop::sample::select(NODES).prop_map(str::to_string),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(1), any::<i64>()],
            1..4,
        ),
    ) {
        let nodes: serde_json::Map<String, Json> =
            lrm_ts.keys().map(|n| (n.clone(), json!("online"))).collect();
        let ms = json!({"master_node": "node1", "timestamp": ts, "node_status": nodes,
                        "service_status": {"vm:100": {"state": "started", "node": "node1"}}});
        let lrm: BTreeMap<String, Json> = lrm_ts
            .iter()
            .map(|(n, t)| (n.clone(), json!({"state": "active", "mode": "active", "timestamp": t})))
            .collect();
        let snap = snapshot(now, &ms, &lrm);
        let outs = render_all(&snap);
        prop_assert_eq!(outs.len(), FORMS.len());
        let text = &outs[0];
        let master = text.lines().find(|l| l.starts_with("master "));
        prop_assert_eq!(
            master.map(parts),
            Some((expected_age(now, ts).to_string(), time_ok(ts))),
            "{}", text
        );
        for (node, t) in &lrm_ts {
            let prefix = format!("lrm {node} (");
            let line = text.lines().find(|l| l.starts_with(&prefix));
            prop_assert!(line.is_some(), "{}", text);
            let Some(line) = line else { continue };
            if *t == 0 {
                prop_assert!(line.contains("unable to read lrm status"), "{}", line);
                continue;
            }
            // An active LRM in mode and state `active` shows its state,
            // which is the age word `active` again.
            let want = expected_age(now, *t);
            prop_assert_eq!(parts(line), (want.to_string(), time_ok(*t)), "{}", line);
        }
    }
}

/// The age word the status must show (06 §11.1, without overflow).
fn expected_age(now: i64, ts: i64) -> &'static str {
    let d = i128::from(now) - i128::from(ts);
    if d > 30 {
        "old timestamp - dead?"
    } else if d < -2 {
        "detected time drift!"
    } else {
        "active"
    }
}

/// The time text a status line shows.
#[derive(Debug, PartialEq)]
enum TimeText {
    /// `Www Mmm dd hh:mm:ss yyyy`.
    Ctime,
    /// `time out of range: <ts>`.
    OutOfRange(i64),
    /// Anything else.
    Bad(String),
}

/// The time text `ts` must give: ctime's text within its four-digit
/// years, the note with the raw number outside.
fn time_ok(ts: i64) -> TimeText {
    if (-62_135_596_800..=253_402_300_799).contains(&ts) {
        TimeText::Ctime
    } else {
        TimeText::OutOfRange(ts)
    }
}

/// (age word, time text) of a master or LRM line
/// `<kind> <node> (<age>, [<watchdog>, ]<time>)`.
fn parts(line: &str) -> (String, TimeText) {
    let inner = line
        .split_once(" (")
        .map_or("", |(_, r)| r)
        .trim_end_matches(')');
    let age = inner.split(", ").next().unwrap_or_default().to_string();
    let time = inner.rsplit(", ").next().unwrap_or_default();
    let text = if is_ctime(time) {
        TimeText::Ctime
    } else {
        match time
            .strip_prefix("time out of range: ")
            .and_then(|n| n.parse().ok())
        {
            Some(n) => TimeText::OutOfRange(n),
            None => TimeText::Bad(time.to_string()),
        }
    };
    (age, text)
}

/// `Www Mmm dd hh:mm:ss yyyy` with a space-padded day and a 1–4 digit year.
fn is_ctime(t: &str) -> bool {
    let w: Vec<&str> = t.split(' ').filter(|s| !s.is_empty()).collect();
    w.len() == 5
        && w[0].len() == 3
        && w[1].len() == 3
        && w[2].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        && w[3].len() == 8
        && w[3]
            .split(':')
            .all(|x| x.len() == 2 && x.parse::<u8>().is_ok())
        && w[4].len() <= 4
        && w[4].parse::<u16>().is_ok()
}
