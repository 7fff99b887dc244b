//! Unit tests of the service FSM (03): the state-change line, each
//! handler's transitions from the reaction matrix (03 §3.4), the
//! start-failure policy, recovery and a few scenario timelines.

use std::collections::BTreeMap;

use super::test_env::FakeEnv;
use super::*;
use crate::config::datacenter::CrsSettings;
use crate::config::rules::RulesFormat;
use crate::config::status::{ManagerStatus, ServiceCmd};
use crate::crm::placement::{CompiledRules, OnlineNodeUsage};
use crate::env::Timing;
use crate::types::{NodeState, ResultCode};

/// A manager with a node status, services and configuration, plus the
/// round inputs the handlers read.
struct T {
    env: FakeEnv,
    m: Manager,
    round: Round,
}

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

fn conf(node: &str, state: RequestedState) -> ServiceConf {
    ServiceConf {
        node: node.into(),
        state,
        failback: true,
        max_restart: 1,
        max_relocate: 1,
        group: None,
        comment: None,
    }
}

fn entry(state: ServiceState, node: &str) -> ServiceEntry {
    ServiceEntry {
        state: Some(OrUnknown::Known(state)),
        node: Some(node.into()),
        uid: Some(format!("uid-{state}-{node}")),
        ..Default::default()
    }
}

impl T {
    /// Nodes with their states at time `now`; every node was last seen
    /// online at `now` unless changed with [`T::last_online`].
    fn new(now: i64, nodes: &[(&str, NodeState)]) -> T {
        let mut env = FakeEnv::new("node1", now);
        env.manager_status = ManagerStatus {
            node_status: nodes
                .iter()
                .map(|(n, s)| (n.to_string(), OrUnknown::Known(*s)))
                .collect(),
            ..Default::default()
        };
        let mut m = Manager::new(&mut env, Timing::upstream()).unwrap();
        for (n, _) in nodes {
            m.ns.last_online.insert(n.to_string(), now);
        }
        T {
            env,
            m,
            round: Round::default(),
        }
    }

    fn last_online(&mut self, node: &str, t: i64) -> &mut Self {
        self.m.ns.last_online.insert(node.into(), t);
        self
    }

    fn add(&mut self, s: &str, sd: ServiceEntry, cd: ServiceConf) -> &mut Self {
        let mut sd = sd;
        sd.uid = Some(format!("uid-{s}"));
        self.m.ss.insert(sid(s), sd);
        self.round.sc.insert(sid(s), cd);
        self
    }

    fn rules(&mut self, text: &str) -> &mut Self {
        let p = RulesFormat.parse("rules", text.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let cfg = p.value;
        self.m.rules = CompiledRules::compile(&cfg, &self.m.ns.list_nodes());
        self
    }

    /// Rebuilds the usage as the round does before the passes.
    fn usage(&mut self) -> &mut Self {
        let online = self.m.ns.list_online_nodes();
        self.m.usage =
            OnlineNodeUsage::build(&mut self.env, &self.m.crs_mode, &online, &self.m.ss).unwrap();
        self
    }

    /// Records an LRM result for the service's current uid.
    fn result(&mut self, s: &str, code: ResultCode) -> &mut Self {
        let sd = &self.m.ss[&sid(s)];
        let uid = sd.uid.clone().unwrap();
        let res = LrmResult {
            sid: sid(s),
            state: sd.state.clone().unwrap(),
            exit_code: code,
        };
        self.round.lrm_results.insert(uid, res);
        self
    }

    /// Runs one handler call with the result of the current uid.
    fn step(&mut self, s: &str) -> &mut Self {
        let id = sid(s);
        let res = self.m.ss[&id]
            .uid
            .as_ref()
            .and_then(|u| self.round.lrm_results.get(u))
            .cloned();
        self.m
            .next_state(&mut self.env, &id, &mut self.round, res.as_ref())
            .unwrap();
        self
    }

    /// A miniature of the service passes with the fencing block (02 §3.12,
    /// §3.13), enough to replay scenario rounds.
    fn passes(&mut self) -> &mut Self {
        loop {
            let mut repeat = false;
            let sids: Vec<Sid> = self.m.ss.keys().cloned().collect();
            for id in &sids {
                let last = self.m.ss[id].state.clone();
                self.step(id.as_str());
                if self.m.ss[id].state != last {
                    repeat = true;
                }
            }
            let mut fenced: BTreeMap<String, bool> = BTreeMap::new();
            for id in &sids {
                if state_of(&self.m, id) != Some(ServiceState::Fence) {
                    continue;
                }
                let n = node_of(&self.m, id);
                let ok = match fenced.get(&n) {
                    Some(ok) => *ok,
                    None => {
                        let ok = self.m.ns.fence_node(&mut self.env, &n).unwrap();
                        fenced.insert(n.clone(), ok);
                        ok
                    }
                };
                if ok {
                    self.m.change_service_state(
                        &mut self.env,
                        id,
                        ServiceState::Recovery,
                        StateParams::default(),
                    );
                    repeat = true;
                }
            }
            if !repeat {
                return self;
            }
        }
    }

    fn sd(&self, s: &str) -> &ServiceEntry {
        &self.m.ss[&sid(s)]
    }

    fn state(&self, s: &str) -> ServiceState {
        self.sd(s).state_known().unwrap()
    }

    fn uid(&self, s: &str) -> String {
        self.sd(s).uid.clone().unwrap()
    }

    /// The log as `<lvl4> <message>` and forgets it.
    fn take(&mut self) -> Vec<String> {
        let l = self.env.lines();
        self.env.clear();
        l
    }
}

fn three_online(now: i64) -> T {
    T::new(
        now,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Online),
        ],
    )
}

use RequestedState as R;
use ServiceState as S;

// --- §2 the state-change routine ------------------------------------------

#[test]
fn state_change_line_and_field_lifecycle() {
    let mut t = three_online(100);
    let mut sd = entry(S::Started, "node1");
    sd.cmd = Some(ServiceCmd::Migrate("node2".into()));
    sd.running = true;
    sd.target = Some("x".into());
    sd.timeout = Some("5".into());
    sd.failed_nodes = Some(vec!["node3".into()]);
    sd.maintenance_node = Some("node2".into());
    t.add("vm:103", sd, conf("node1", R::Started)).usage();
    let old_uid = t.uid("vm:103");
    let id = sid("vm:103");
    t.m.change_service_state(
        &mut t.env,
        &id,
        S::Migrate,
        StateParams::move_to("node3", "node1"),
    );
    assert_eq!(
        t.take(),
        ["info service 'vm:103': state changed from 'started' to 'migrate'  (node = node3, target = node1)"]
    );
    let sd = t.sd("vm:103").clone();
    assert_ne!(sd.uid.as_deref(), Some(old_uid.as_str()));
    assert_eq!(sd.uid.as_ref().map(String::len), Some(22));
    assert_eq!(sd.node.as_deref(), Some("node3"));
    assert_eq!(sd.target.as_deref(), Some("node1"));
    assert_eq!((sd.cmd, sd.running, sd.timeout), (None, false, None));
    assert_eq!(sd.failed_nodes, Some(vec!["node3".to_string()]));
    assert_eq!(sd.maintenance_node.as_deref(), Some("node2"));

    t.m.change_service_state(&mut t.env, &id, S::RequestStop, StateParams::timeout("0"));
    t.m.change_service_state(&mut t.env, &id, S::Stopped, StateParams::default());
    assert_eq!(
        t.take(),
        [
            "info service 'vm:103': state changed from 'migrate' to 'request_stop'  (timeout = 0)",
            "info service 'vm:103': state changed from 'request_stop' to 'stopped'",
        ]
    );
    assert_eq!(t.sd("vm:103").target, None);
    assert_eq!(t.sd("vm:103").timeout, None);
}

#[test]
fn state_change_updates_usage_at_once() {
    let mut t = three_online(100);
    t.add(
        "fa:1",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    )
    .add(
        "fa:2",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .add(
        "fa:3",
        entry(S::Recovery, "node4"),
        conf("node4", R::Started),
    )
    .usage();
    let scores = t.m.usage.score_nodes_to_start_service(&sid("fa:3"));
    assert_eq!(scores["node3"], 0.0);
    // fa:2 moves to node3: counted on both ends.
    t.m.change_service_state(
        &mut t.env,
        &sid("fa:2"),
        S::Relocate,
        StateParams::move_to("node2", "node3"),
    );
    let scores = t.m.usage.score_nodes_to_start_service(&sid("fa:3"));
    assert_eq!(
        (scores["node1"], scores["node2"], scores["node3"]),
        (1.0, 1.0, 1.0)
    );
    t.m.change_service_state(
        &mut t.env,
        &sid("fa:1"),
        S::RequestStop,
        StateParams::default(),
    );
    t.m.change_service_state(&mut t.env, &sid("fa:1"), S::Stopped, StateParams::default());
    let scores = t.m.usage.score_nodes_to_start_service(&sid("fa:3"));
    assert_eq!(scores["node1"], 0.0);
}

#[test]
fn changing_to_the_same_state_is_refused() {
    let mut t = three_online(100);
    t.add(
        "vm:1",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    );
    let uid = t.uid("vm:1");
    t.m.change_service_state(&mut t.env, &sid("vm:1"), S::Started, StateParams::default());
    assert_eq!(t.uid("vm:1"), uid);
    assert_eq!(t.env.logs[0].0, LogLevel::Err);
}

// --- §5.1 request_start ----------------------------------------------------

#[test]
fn request_start_starts_on_its_node() {
    let mut t = three_online(20);
    t.add(
        "vm:101",
        entry(S::RequestStart, "node1"),
        conf("node1", R::Started),
    )
    .usage()
    .step("vm:101");
    assert_eq!(
        t.take(),
        ["info service 'vm:101': state changed from 'request_start' to 'started'  (node = node1)"]
    );
}

#[test]
fn request_start_with_rebalance_on_start() {
    let mut t = three_online(20);
    t.m.crs = CrsSettings {
        rebalance_on_start: Some(true),
        ..Default::default()
    };
    t.add(
        "vm:101",
        entry(S::RequestStart, "node3"),
        conf("node3", R::Started),
    )
    .add(
        "vm:102",
        entry(S::RequestStart, "node3"),
        conf("node3", R::Started),
    )
    .add(
        "vm:103",
        entry(S::RequestStart, "node3"),
        conf("node3", R::Started),
    )
    .usage()
    .step("vm:101")
    .step("vm:102")
    .step("vm:103");
    assert_eq!(
        t.take(),
        [
            "info service vm:101: re-balance selected new node node1 for startup",
            "info service 'vm:101': state changed from 'request_start' to 'request_start_balance'  (node = node3, target = node1)",
            "info service vm:102: re-balance selected new node node2 for startup",
            "info service 'vm:102': state changed from 'request_start' to 'request_start_balance'  (node = node3, target = node2)",
            "info service vm:103: re-balance selected current node node3 for startup",
            "info service 'vm:103': state changed from 'request_start' to 'started'  (node = node3)",
        ]
    );
    // The balancing entry occupies only its target.
    let scores = t.m.usage.score_nodes_to_start_service(&sid("vm:104"));
    assert_eq!(
        (scores["node1"], scores["node2"], scores["node3"]),
        (1.0, 1.0, 1.0)
    );
}

// --- §5.2 started ------------------------------------------------------------

#[test]
fn started_success_sets_running_and_rearms() {
    let mut t = three_online(40);
    let mut sd = entry(S::Started, "node2");
    sd.failed_nodes = Some(vec!["node1".into(), "node3".into()]);
    t.add("fa:130", sd, conf("node2", R::Started)).usage();
    let uid = t.uid("fa:130");
    t.step("fa:130");
    assert_eq!(t.uid("fa:130"), uid, "no result: uid kept");
    t.result("fa:130", ResultCode::Success).step("fa:130");
    assert_eq!(
        t.take(),
        ["info relocation policy successful for 'fa:130' on node 'node2', failed nodes: node1, node3"]
    );
    let sd = t.sd("fa:130");
    assert!(sd.running);
    assert_eq!(sd.failed_nodes, None);
    assert_ne!(sd.uid.as_deref(), Some(uid.as_str()), "re-armed");
    assert_eq!(t.state("fa:130"), S::Started);
    // The next steady result: silent, another uid.
    let uid = t.uid("fa:130");
    t.result("fa:130", ResultCode::Success).step("fa:130");
    assert!(t.take().is_empty());
    assert_ne!(t.uid("fa:130"), uid);
}

#[test]
fn started_start_failure_relocates_then_errors() {
    // test-resource-failure2/5 shape: max_relocate 1.
    let mut t = three_online(180);
    t.add(
        "fa:130",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .add(
        "vm:1",
        entry(S::Started, "node3"),
        conf("node3", R::Started),
    )
    .usage()
    .result("fa:130", ResultCode::Error)
    .step("fa:130");
    assert_eq!(
        t.take(),
        [
            "warn starting service fa:130 on node 'node2' failed, relocating service.",
            "info relocate service 'fa:130' to node 'node1'",
            "info service 'fa:130': state changed from 'started' to 'relocate'  (node = node2, target = node1)",
        ]
    );
    // Relocation succeeds, the start on node1 fails too: 2 > 1.
    t.result("fa:130", ResultCode::Success).step("fa:130");
    t.take();
    assert_eq!(t.sd("fa:130").node.as_deref(), Some("node1"));
    t.result("fa:130", ResultCode::Error).step("fa:130");
    assert_eq!(
        t.take(),
        [
            "err recovery policy for service fa:130 failed, entering error state. Failed nodes: node2, node1",
            "info service 'fa:130': state changed from 'started' to 'error'",
        ]
    );
    assert_eq!(t.sd("fa:130").failed_nodes.as_ref().map(Vec::len), Some(2));
}

#[test]
fn started_max_relocate_zero_errors_at_once() {
    let mut t = three_online(160);
    let mut cd = conf("node2", R::Started);
    cd.max_relocate = 0;
    t.add("fa:130", entry(S::Started, "node2"), cd)
        .usage()
        .result("fa:130", ResultCode::WrongNode)
        .step("fa:130");
    assert_eq!(
        t.take(),
        [
            "err recovery policy for service fa:130 failed, entering error state. Failed nodes: node2",
            "info service 'fa:130': state changed from 'started' to 'error'",
        ]
    );
}

#[test]
fn started_vm_start_failure_migrates() {
    let mut t = three_online(380);
    t.add(
        "vm:103",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    )
    .add(
        "vm:1",
        entry(S::Started, "node3"),
        conf("node3", R::Started),
    )
    .usage()
    .result("vm:103", ResultCode::Error)
    .step("vm:103");
    assert_eq!(
        t.take(),
        [
            "warn starting service vm:103 on node 'node1' failed, relocating service.",
            "info migrate service 'vm:103' to node 'node2' (running)",
            "info service 'vm:103': state changed from 'started' to 'migrate'  (node = node1, target = node2)",
        ]
    );
}

#[test]
fn started_all_nodes_tried_retries_on_current() {
    let mut t = three_online(220);
    let mut cd = conf("node3", R::Started);
    cd.max_relocate = 3;
    let mut sd = entry(S::Started, "node3");
    sd.failed_nodes = Some(vec!["node2".into(), "node1".into()]);
    t.add("fa:1", sd, cd).usage();
    let uid = t.uid("fa:1");
    t.result("fa:1", ResultCode::Error).step("fa:1");
    assert_eq!(
        t.take(),
        [
            "warn starting service fa:1 on node 'node3' failed, relocating service.",
            "warn Start Error Recovery: Tried all available nodes for service 'fa:1', retry start on current node. Tried nodes: node2, node1, node3",
        ]
    );
    assert_eq!(t.state("fa:1"), S::Started);
    assert_ne!(t.uid("fa:1"), uid);
}

#[test]
fn started_unrecoverable_codes() {
    for (code, n) in [
        (ResultCode::Ignored, "8"),
        (ResultCode::Other(-1), "-1"),
        (ResultCode::UnknownService, "7"),
    ] {
        let mut t = three_online(100);
        t.add(
            "vm:1",
            entry(S::Started, "node1"),
            conf("node1", R::Started),
        )
        .usage()
        .result("vm:1", code)
        .step("vm:1");
        assert_eq!(
            t.take(),
            [
                format!("err service 'vm:1' got unrecoverable error (exit code {n})"),
                "info service 'vm:1': state changed from 'started' to 'error'".to_string(),
            ]
        );
        assert_eq!(t.sd("vm:1").failed_nodes, Some(vec!["node1".to_string()]));
    }
}

#[test]
fn started_on_unknown_node_waits_then_fences() {
    let mut t = T::new(
        150,
        &[("node1", NodeState::Online), ("node3", NodeState::Unknown)],
    );
    t.last_online("node3", 100);
    t.add(
        "vm:103",
        entry(S::Started, "node3"),
        conf("node3", R::Started),
    )
    .usage()
    .result("vm:103", ResultCode::Success)
    .step("vm:103");
    assert!(t.take().is_empty());
    let uid = t.uid("vm:103");
    assert_eq!(t.state("vm:103"), S::Started);
    t.env.time = 160;
    t.step("vm:103");
    assert_eq!(
        t.take(),
        ["info service 'vm:103': state changed from 'started' to 'fence'"]
    );
    assert_ne!(t.uid("vm:103"), uid);
}

#[test]
fn started_requested_stop_and_unknown_requested_state() {
    let mut t = three_online(100);
    let mut sd = entry(S::Started, "node1");
    sd.cmd = Some(ServiceCmd::Migrate("node2".into()));
    t.add("vm:1", sd, conf("node1", R::Disabled))
        .add(
            "vm:2",
            entry(S::Started, "node1"),
            conf("node1", R::Stopped),
        )
        .add(
            "vm:3",
            entry(S::Started, "node1"),
            conf("node1", R::Ignored),
        )
        .usage()
        .step("vm:1")
        .step("vm:2")
        .step("vm:3");
    assert_eq!(
        t.take(),
        [
            "info service 'vm:1': state changed from 'started' to 'request_stop'",
            "info service 'vm:2': state changed from 'started' to 'request_stop'",
            "err service 'vm:3' - unknown state 'ignored' in service configuration",
        ]
    );
    assert_eq!(t.sd("vm:1").cmd, None);
}

#[test]
fn started_commands() {
    let mut t = T::new(
        100,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Maintenance),
        ],
    );
    let with_cmd = |cmd: ServiceCmd| {
        let mut sd = entry(S::Started, "node1");
        sd.cmd = Some(cmd);
        sd
    };
    t.add(
        "ct:1",
        with_cmd(ServiceCmd::Migrate("node2".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:1",
        with_cmd(ServiceCmd::Relocate("node2".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:2",
        with_cmd(ServiceCmd::Migrate("node3".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:3",
        with_cmd(ServiceCmd::Migrate("node1".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:4",
        with_cmd(ServiceCmd::Stop("0".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:5",
        with_cmd(ServiceCmd::Stop("10".into())),
        conf("node1", R::Started),
    )
    .add(
        "vm:6",
        with_cmd(ServiceCmd::Other(serde_json::json!(["reboot", "x"]))),
        conf("node1", R::Started),
    )
    .usage();
    // A command hides the LRM result of this pass (03 §16 Q6).
    t.result("vm:3", ResultCode::Error);
    let uid3 = t.uid("vm:3");
    for s in ["ct:1", "vm:1", "vm:2", "vm:3", "vm:4", "vm:5", "vm:6"] {
        t.step(s);
    }
    assert_eq!(
        t.take(),
        [
            "info migrate service 'ct:1' to node 'node2'",
            "info service 'ct:1': state changed from 'started' to 'migrate'  (node = node1, target = node2)",
            "info relocate service 'vm:1' to node 'node2'",
            "info service 'vm:1': state changed from 'started' to 'relocate'  (node = node1, target = node2)",
            "err ignore service 'vm:2' migrate request - node 'node3' not online",
            "info ignore service 'vm:3' migrate request - service already on node 'node1'",
            "info request immediate service hard-stop for service 'vm:4'",
            "info service 'vm:4': state changed from 'started' to 'request_stop'  (timeout = 0)",
            "info request graceful stop with timeout '10' for service 'vm:5'",
            "info service 'vm:5': state changed from 'started' to 'request_stop'  (timeout = 10)",
            "err unknown command 'reboot' for service 'vm:6'",
        ]
    );
    for s in ["vm:2", "vm:3", "vm:6"] {
        assert_eq!(t.sd(s).cmd, None, "{s}");
        assert_eq!(t.state(s), S::Started);
    }
    assert_eq!(t.uid("vm:3"), uid3, "result still valid for the next round");
    assert_eq!(t.sd("vm:5").timeout.as_deref(), Some("10"));
    // Each stop command rewrote the configuration to `stopped`.
    assert_eq!(t.env.config_updates.len(), 2);
    let change = &t.env.config_updates[0][&sid("vm:4")];
    assert_eq!(change.set.get("state").map(String::as_str), Some("stopped"));
    // The result is handled in the next round.
    t.step("vm:3");
    assert_eq!(t.state("vm:3"), S::Migrate);
}

#[test]
fn started_failback_with_rules() {
    // test-node-affinity-strict1 at 140: pulled back after a manual move.
    let mut t = three_online(140);
    t.rules("node-affinity: rule-r\n\tresources vm:101\n\tnodes node3\n\tstrict 1\n");
    t.add(
        "vm:101",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .usage()
    .step("vm:101");
    assert_eq!(
        t.take(),
        [
            "info migrate service 'vm:101' to node 'node3' (running)",
            "info service 'vm:101': state changed from 'started' to 'migrate'  (node = node2, target = node3)",
        ]
    );
}

#[test]
fn started_maintenance_evacuation_and_return() {
    let mut t = T::new(
        100,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Maintenance),
        ],
    );
    t.add(
        "fa:1",
        entry(S::Started, "node3"),
        conf("node3", R::Started),
    )
    .add(
        "vm:1",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    )
    .usage()
    .step("fa:1");
    assert_eq!(
        t.take(),
        [
            "info relocate service 'fa:1' to node 'node2'",
            "info service 'fa:1': state changed from 'started' to 'relocate'  (node = node3, target = node2)",
        ]
    );
    assert_eq!(t.sd("fa:1").maintenance_node.as_deref(), Some("node3"));
    t.result("fa:1", ResultCode::Success).step("fa:1");
    t.take();
    // Still in maintenance: stays on node2 (fallback not online).
    t.step("fa:1");
    assert!(t.take().is_empty());
    // node3 back online: moved back.
    t.m.ns
        .status
        .insert("node3".into(), OrUnknown::Known(NodeState::Online));
    t.usage().step("fa:1");
    assert_eq!(
        t.take(),
        [
            "info moving service 'fa:1' back to 'node3', node came back from maintenance.",
            "info relocate service 'fa:1' to node 'node3'",
            "info service 'fa:1': state changed from 'started' to 'relocate'  (node = node2, target = node3)",
        ]
    );
    assert_eq!(t.sd("fa:1").maintenance_node, None);
}

#[test]
fn started_maintenance_fallback_dropped_or_stale() {
    let mut t = three_online(100);
    t.rules("node-affinity: rule-r\n\tresources vm:1\n\tnodes node1\n\tstrict 1\n");
    let mut sd = entry(S::Started, "node2");
    sd.maintenance_node = Some("node3".into());
    t.add("vm:1", sd, conf("node2", R::Started));
    let mut sd = entry(S::Started, "node2");
    sd.maintenance_node = Some("node2".into());
    t.add("vm:2", sd, conf("node2", R::Started))
        .usage()
        .result("vm:2", ResultCode::Success)
        .step("vm:1")
        .step("vm:2");
    assert_eq!(
        t.take(),
        [
            "info dropping maintenance fallback node 'node3' for 'vm:1'",
            "info migrate service 'vm:1' to node 'node1' (running)",
            "info service 'vm:1': state changed from 'started' to 'migrate'  (node = node2, target = node1)",
            "info service 'vm:2': clearing stale maintenance node 'node2' setting (is current node)",
        ]
    );
}

/// 03 §15.3 (test-shutdown-policy4 at 220): maintenance node powered off;
/// one round goes stopped → … → recovery → started on node1.
#[test]
fn fence_continues_in_maintenance_timeline() {
    let mut t = T::new(
        220,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Maintenance),
        ],
    );
    t.last_online("node3", 160);
    t.env.agent_locks_free = true;
    t.add(
        "ct:105",
        entry(S::Stopped, "node3"),
        conf("node3", R::Started),
    )
    .add(
        "vm:1",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .usage()
    .passes();
    let lines: Vec<String> = t
        .take()
        .into_iter()
        .filter(|l| l.contains("ct:105") || l.contains("node3"))
        .collect();
    assert_eq!(
        lines,
        [
            "info service 'ct:105': state changed from 'stopped' to 'request_start'  (node = node3)",
            "info service 'ct:105': state changed from 'request_start' to 'started'  (node = node3)",
            "info service 'ct:105': state changed from 'started' to 'fence'",
            "info relocate service 'ct:105' to node 'node1'",
            "info service 'ct:105': state changed from 'fence' to 'relocate'  (node = node3, target = node1)",
            "info service 'ct:105': state changed from 'relocate' to 'fence'",
            "info node 'node3': state changed from 'maintenance' => 'fence'",
            "info fencing: acknowledged - got agent lock for node 'node3'",
            "info node 'node3': state changed from 'fence' => 'unknown'",
            "info service 'ct:105': state changed from 'fence' to 'recovery'",
            "info recover service 'ct:105' from fenced node 'node3' to node 'node1'",
            "info service 'ct:105': state changed from 'recovery' to 'started'  (node = node1)",
        ]
    );
    assert_eq!(
        t.env.stolen,
        [(sid("ct:105"), "node3".into(), "node1".into())]
    );
    assert_eq!(t.round.sc[&sid("ct:105")].node, "node1");
    assert_eq!(t.sd("ct:105").maintenance_node.as_deref(), Some("node3"));
}

// --- §5.3 request_stop -------------------------------------------------------

#[test]
fn request_stop_reactions() {
    let mut t = T::new(
        200,
        &[("node1", NodeState::Online), ("node2", NodeState::Unknown)],
    );
    t.last_online("node2", 100);
    t.add(
        "fa:1",
        entry(S::RequestStop, "node1"),
        conf("node1", R::Stopped),
    )
    .add(
        "fa:2",
        entry(S::RequestStop, "node1"),
        conf("node1", R::Disabled),
    )
    .add(
        "fa:3",
        entry(S::RequestStop, "node1"),
        conf("node1", R::Disabled),
    )
    .add(
        "fa:4",
        entry(S::RequestStop, "node2"),
        conf("node2", R::Disabled),
    )
    .add(
        "fa:5",
        entry(S::RequestStop, "node2"),
        conf("node2", R::Disabled),
    )
    .usage()
    .result("fa:1", ResultCode::Success)
    .result("fa:2", ResultCode::Error)
    .result("fa:3", ResultCode::Ignored)
    .result("fa:5", ResultCode::Success);
    for s in ["fa:1", "fa:2", "fa:3", "fa:4", "fa:5"] {
        t.step(s);
    }
    assert_eq!(
        t.take(),
        [
            "info service 'fa:1': state changed from 'request_stop' to 'stopped'",
            "err service 'fa:2' stop failed (exit code 1)",
            "info service 'fa:2': state changed from 'request_stop' to 'error'",
            "err service 'fa:3' stop failed (exit code 8)",
            "info service 'fa:3': state changed from 'request_stop' to 'error'",
            "info service 'fa:4': state changed from 'request_stop' to 'fence'",
            "info service 'fa:5': state changed from 'request_stop' to 'stopped'",
        ]
    );
    // 03 §15.1: a disabled service leaves `error` in the next pass.
    t.step("fa:2");
    assert_eq!(
        t.take(),
        ["info service 'fa:2': state changed from 'error' to 'stopped'"]
    );
}

// --- §5.4 stopped ------------------------------------------------------------

#[test]
fn stopped_fixup_commands_and_requested_states() {
    let mut t = T::new(
        300,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Unknown),
            ("node4", NodeState::Maintenance),
        ],
    );
    t.last_online("node3", 100).last_online("node4", 100);
    let with_cmd = |node: &str, cmd: ServiceCmd| {
        let mut sd = entry(S::Stopped, node);
        sd.cmd = Some(cmd);
        sd
    };
    t.add(
        "fa:1",
        entry(S::Stopped, "node3"),
        conf("node1", R::Stopped),
    )
    .add(
        "fa:2",
        with_cmd("node1", ServiceCmd::Relocate("node2".into())),
        conf("node1", R::Disabled),
    )
    .add(
        "fa:3",
        with_cmd("node1", ServiceCmd::Stop("0".into())),
        conf("node1", R::Stopped),
    )
    .add(
        "fa:4",
        entry(S::Stopped, "node3"),
        conf("node3", R::Disabled),
    )
    .add(
        "fa:5",
        entry(S::Stopped, "node3"),
        conf("node3", R::Stopped),
    )
    .add(
        "fa:6",
        entry(S::Stopped, "node4"),
        conf("node4", R::Stopped),
    )
    .add(
        "fa:7",
        entry(S::Stopped, "node1"),
        conf("node1", R::Started),
    )
    .add(
        "fa:8",
        entry(S::Stopped, "node1"),
        conf("node1", R::Ignored),
    )
    .add(
        "fa:9",
        with_cmd("node1", ServiceCmd::Migrate("node3".into())),
        conf("node1", R::Stopped),
    )
    .usage();
    for s in [
        "fa:1", "fa:2", "fa:3", "fa:4", "fa:5", "fa:6", "fa:7", "fa:8", "fa:9",
    ] {
        t.step(s);
    }
    assert_eq!(
        t.take(),
        [
            "info fixup service 'fa:1' location (node3 => node1)",
            "info service 'fa:2': state changed from 'stopped' to 'relocate'  (node = node1, target = node2)",
            "info ignore service 'fa:3' stop request - service already stopped",
            "info service 'fa:5': state changed from 'stopped' to 'fence'",
            "info service 'fa:7': state changed from 'stopped' to 'request_start'  (node = node1)",
            "err service 'fa:8' - unknown state 'ignored' in service configuration",
            "err ignore service 'fa:9' migrate request - node 'node3' not online",
        ]
    );
    assert_eq!(t.sd("fa:1").node.as_deref(), Some("node1"));
    assert_eq!(t.state("fa:1"), S::Stopped);
    assert_eq!(t.sd("fa:3").cmd, None);
    assert_eq!(t.sd("fa:9").cmd, None);
}

// --- §5.5 migrate / relocate / request_start_balance -------------------------

#[test]
fn migrate_reactions() {
    let mut t = T::new(
        200,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Unknown),
        ],
    );
    t.last_online("node3", 100);
    let moving = |state: S, node: &str, target: &str| {
        let mut sd = entry(state, node);
        sd.target = Some(target.into());
        sd
    };
    t.add(
        "vm:1",
        moving(S::Migrate, "node1", "node2"),
        conf("node1", R::Started),
    )
    .add(
        "vm:2",
        moving(S::Relocate, "node1", "node2"),
        conf("node1", R::Stopped),
    )
    .add(
        "vm:3",
        moving(S::Migrate, "node1", "node2"),
        conf("node1", R::Started),
    )
    .add(
        "vm:4",
        moving(S::Migrate, "node3", "node2"),
        conf("node2", R::Started),
    )
    .add(
        "vm:5",
        moving(S::RequestStartBalance, "node3", "node1"),
        conf("node3", R::Started),
    )
    .add(
        "vm:6",
        moving(S::Migrate, "node3", "node1"),
        conf("node3", R::Started),
    )
    .add(
        "vm:7",
        moving(S::Migrate, "node1", "node2"),
        conf("node1", R::Started),
    )
    .usage()
    .result("vm:1", ResultCode::Success)
    .result("vm:2", ResultCode::Success)
    .result("vm:3", ResultCode::Error)
    .result("vm:4", ResultCode::WrongNode)
    .result("vm:5", ResultCode::Ignored)
    .result("vm:7", ResultCode::Other(-1));
    for s in ["vm:1", "vm:2", "vm:3", "vm:4", "vm:5", "vm:6", "vm:7"] {
        t.step(s);
    }
    assert_eq!(
        t.take(),
        [
            "info service 'vm:1': state changed from 'migrate' to 'started'  (node = node2)",
            "info service 'vm:2': state changed from 'relocate' to 'request_stop'  (node = node2)",
            "err service 'vm:3' - migration failed (exit code 1)",
            "info service 'vm:3': state changed from 'migrate' to 'started'  (node = node1)",
            "err service 'vm:4' - migration failed: service registered on wrong node!",
            "info service 'vm:4': state changed from 'migrate' to 'error'",
            "info service 'vm:4': state changed from 'error' to 'fence'",
            "info service 'vm:5' - rebalance-on-start request ignored - service already running",
            "info service 'vm:5': state changed from 'request_start_balance' to 'started'  (node = node3)",
            "info service 'vm:5': state changed from 'started' to 'fence'",
            "info service 'vm:6': state changed from 'migrate' to 'fence'",
            "err service 'vm:7' - migration failed (exit code -1)",
            "info service 'vm:7': state changed from 'migrate' to 'started'  (node = node1)",
        ]
    );
    assert_eq!(t.sd("vm:1").target, None);
}

// --- §5.7 recovery -----------------------------------------------------------

#[test]
fn recovery_moves_the_guest_and_removes_stale_locks() {
    let mut t = T::new(
        340,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Unknown),
        ],
    );
    let mut sd = entry(S::Recovery, "node3");
    sd.failed_nodes = Some(vec!["node3".into()]);
    t.add("vm:103", sd, conf("node3", R::Started))
        .add(
            "vm:104",
            entry(S::Recovery, "node3"),
            conf("node3", R::Stopped),
        )
        .add(
            "vm:1",
            entry(S::Started, "node1"),
            conf("node1", R::Started),
        )
        .usage();
    t.env.locks.insert(sid("vm:103"), "backup".into());
    t.env.locks.insert(sid("vm:104"), "create".into());
    t.step("vm:103").step("vm:104");
    assert_eq!(
        t.take(),
        [
            "info recover service 'vm:103' from fenced node 'node3' to node 'node2'",
            "warn removed leftover lock 'backup' from recovered service 'vm:103' to allow its start.",
            "info service 'vm:103': state changed from 'recovery' to 'started'  (node = node2)",
            "info recover service 'vm:104' from fenced node 'node3' to node 'node1'",
            "info service 'vm:104': state changed from 'recovery' to 'request_stop'  (node = node1)",
        ]
    );
    assert_eq!(t.sd("vm:103").failed_nodes, Some(vec!["node3".to_string()]));
    assert_eq!(
        t.env.locks.get(&sid("vm:104")).map(String::as_str),
        Some("create")
    );
    assert_eq!(t.round.sc[&sid("vm:103")].node, "node2");
    assert_eq!(t.env.stolen.len(), 2);
}

#[test]
fn recovery_without_node_waits_or_stops_when_disabled() {
    // test-recovery1/4: a strict rule to the dead node only.
    let mut t = T::new(
        300,
        &[("node1", NodeState::Online), ("node2", NodeState::Unknown)],
    );
    t.rules("node-affinity: rule-r\n\tresources fa:1,fa:2\n\tnodes node2\n\tstrict 1\n");
    let mut sd = entry(S::Recovery, "node2");
    sd.failed_nodes = Some(vec!["node2".into()]);
    t.add("fa:1", sd.clone(), conf("node2", R::Started))
        .add("fa:2", sd, conf("node2", R::Disabled))
        .usage()
        .step("fa:1")
        .step("fa:2");
    assert_eq!(
        t.take(),
        [
            "err recovering service 'fa:1' from fenced node 'node2' failed, no recovery node found",
            "err recovering service 'fa:2' from fenced node 'node2' failed, no recovery node found",
            "info service 'fa:2': state changed from 'recovery' to 'stopped'",
        ]
    );
    assert_eq!(t.state("fa:1"), S::Recovery);
    assert_eq!(t.sd("fa:2").failed_nodes, None);
    assert!(t.env.stolen.is_empty());
    // Node back: recovered to the fenced node itself.
    t.m.ns
        .status
        .insert("node2".into(), OrUnknown::Known(NodeState::Online));
    t.usage().step("fa:1");
    assert_eq!(
        t.take(),
        [
            "info recover service 'fa:1' to previous failed and fenced node 'node2' again",
            "info service 'fa:1': state changed from 'recovery' to 'started'  (node = node2)",
        ]
    );
}

#[test]
fn recovery_steal_failure_aborts() {
    let mut t = T::new(300, &[("node1", NodeState::Online)]);
    t.env.steal_error = Some("not on node".into());
    t.add(
        "fa:1",
        entry(S::Recovery, "node2"),
        conf("node2", R::Started),
    )
    .usage();
    let err =
        t.m.next_state(&mut t.env, &sid("fa:1"), &mut t.round, None)
            .unwrap_err();
    assert_eq!(err.to_string(), "not on node");
    assert_eq!(t.state("fa:1"), S::Recovery);
}

// --- §5.9 error, and services without configuration ----------------------------

#[test]
fn error_leaves_only_when_disabled() {
    let mut t = three_online(100);
    let mut sd = entry(S::Error, "node1");
    sd.failed_nodes = Some(vec!["node1".into()]);
    sd.cmd = Some(ServiceCmd::Migrate("node2".into()));
    t.add("fa:1", sd.clone(), conf("node1", R::Started))
        .add("fa:2", sd.clone(), conf("node1", R::Stopped))
        .add("fa:3", sd, conf("node1", R::Disabled))
        .usage()
        .step("fa:1")
        .step("fa:2")
        .step("fa:3");
    assert_eq!(
        t.take(),
        ["info service 'fa:3': state changed from 'error' to 'stopped'"]
    );
    assert!(t.sd("fa:1").cmd.is_some(), "cmd stays unprocessed");
    assert_eq!(t.sd("fa:3").failed_nodes, None);
}

#[test]
fn service_without_configuration_is_handled_as_disabled() {
    let mut t = three_online(100);
    t.m.ss.insert(sid("vm:9"), entry(S::Started, "node1"));
    t.usage().step("vm:9");
    assert_eq!(
        t.take(),
        ["info service 'vm:9': state changed from 'started' to 'request_stop'"]
    );
}

// --- whole rounds ----------------------------------------------------------------

/// test-basic1: node3 lost at 120, fenced at 160, recovered at 240.
#[test]
fn basic1_failover_timeline() {
    let mut t = three_online(20);
    t.add(
        "vm:101",
        entry(S::RequestStart, "node1"),
        conf("node1", R::Started),
    )
    .add(
        "vm:102",
        entry(S::RequestStop, "node2"),
        conf("node2", R::Disabled),
    )
    .add(
        "vm:103",
        entry(S::RequestStart, "node3"),
        conf("node3", R::Started),
    )
    .usage()
    .passes();
    assert_eq!(
        t.take(),
        [
            "info service 'vm:101': state changed from 'request_start' to 'started'  (node = node1)",
            "info service 'vm:103': state changed from 'request_start' to 'started'  (node = node3)",
        ]
    );
    // 40: the LRMs reported.
    t.env.time = 40;
    t.result("vm:101", ResultCode::Success)
        .result("vm:102", ResultCode::Success)
        .result("vm:103", ResultCode::Success)
        .usage()
        .passes();
    assert_eq!(
        t.take(),
        ["info service 'vm:102': state changed from 'request_stop' to 'stopped'"]
    );
    // 120: node3 unknown (last seen online at 100).
    t.m.ns
        .status
        .insert("node3".into(), OrUnknown::Known(NodeState::Unknown));
    t.last_online("node1", 120)
        .last_online("node2", 120)
        .last_online("node3", 100);
    t.env.time = 120;
    t.usage().passes();
    assert!(t.take().is_empty());
    // 160: fence; the agent lock is still held.
    t.env.time = 160;
    t.usage().passes();
    assert_eq!(
        t.take(),
        [
            "info service 'vm:103': state changed from 'started' to 'fence'",
            "info node 'node3': state changed from 'unknown' => 'fence'",
        ]
    );
    // 240: lock obtained.
    t.env.time = 240;
    t.env.agent_locks_free = true;
    t.usage().passes();
    assert_eq!(
        t.take(),
        [
            "info fencing: acknowledged - got agent lock for node 'node3'",
            "info node 'node3': state changed from 'fence' => 'unknown'",
            "info service 'vm:103': state changed from 'fence' to 'recovery'",
            "info recover service 'vm:103' from fenced node 'node3' to node 'node2'",
            "info service 'vm:103': state changed from 'recovery' to 'started'  (node = node2)",
        ]
    );
}

/// 04 §10.4 (test-resource-affinity-strict-positive3 at 280).
#[test]
fn start_failure_relocation_pulls_positive_partners() {
    let mut t = T::new(
        280,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Unknown),
        ],
    );
    t.rules(
        "resource-affinity: rule-p\n\tresources vm:101,vm:102,fa:120002\n\taffinity positive\n",
    );
    t.add(
        "fa:120002",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .add(
        "vm:101",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .add(
        "vm:102",
        entry(S::Started, "node2"),
        conf("node2", R::Started),
    )
    .add(
        "vm:201",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    )
    .add(
        "vm:202",
        entry(S::Started, "node1"),
        conf("node1", R::Started),
    )
    .usage()
    .result("fa:120002", ResultCode::Error)
    .step("fa:120002")
    .step("vm:101")
    .step("vm:102");
    assert_eq!(
        t.take(),
        [
            "warn starting service fa:120002 on node 'node2' failed, relocating service.",
            "info relocate service 'fa:120002' to node 'node1'",
            "info service 'fa:120002': state changed from 'started' to 'relocate'  (node = node2, target = node1)",
            "info migrate service 'vm:101' to node 'node1' (running)",
            "info service 'vm:101': state changed from 'started' to 'migrate'  (node = node2, target = node1)",
            "info migrate service 'vm:102' to node 'node1' (running)",
            "info service 'vm:102': state changed from 'started' to 'migrate'  (node = node2, target = node1)",
        ]
    );
}

/// 04 §10.5 (test-crs-dynamic-rebalance1): rebalance on start spreads the
/// starting services; the recovery at 240 follows the node statistics.
#[test]
fn dynamic_rebalance_on_start_and_recovery() {
    use crate::config::datacenter::CrsMode;
    use crate::env::{NodeStats, ServiceStats, Usage};
    let mut t = three_online(20);
    t.m.crs_mode = OrUnknown::Known(CrsMode::Dynamic);
    t.m.crs = CrsSettings {
        rebalance_on_start: Some(true),
        ..Default::default()
    };
    let node = |cpu: f64, mem: f64| NodeStats {
        maxcpu: Some(32.0),
        maxmem: Some(256e9),
        cpu,
        mem,
    };
    t.env.node_stats = Some(
        ["node1", "node2", "node3"]
            .iter()
            .map(|n| (n.to_string(), node(0.0, 0.0)))
            .collect(),
    );
    let gib = 1024.0 * 1024.0 * 1024.0;
    for (s, cpu, mem) in [
        ("vm:101", 1.3, 1.0 * gib),
        ("vm:102", 5.6, 3.0 * gib),
        ("vm:103", 0.5, 4e9),
        ("vm:104", 7.9, 2.0 * gib),
        ("vm:105", 3.2, 2.5 * gib),
    ] {
        t.env.stats.insert(
            sid(s),
            ServiceStats {
                node: "node3".into(),
                state: "started".into(),
                running: true,
                usage: Usage {
                    maxcpu: Some(8.0),
                    maxmem: Some(4.0 * gib),
                    cpu: Some(cpu),
                    mem: Some(mem),
                },
            },
        );
        t.add(
            s,
            entry(S::RequestStart, "node3"),
            conf("node3", R::Started),
        );
    }
    t.usage().passes();
    let lines: Vec<String> = t
        .take()
        .into_iter()
        .filter(|l| l.contains("re-balance"))
        .collect();
    assert_eq!(
        lines,
        [
            "info service vm:101: re-balance selected new node node1 for startup",
            "info service vm:102: re-balance selected new node node2 for startup",
            "info service vm:103: re-balance selected current node node3 for startup",
            "info service vm:104: re-balance selected new node node1 for startup",
            "info service vm:105: re-balance selected new node node2 for startup",
        ]
    );

    // 240: node3 fenced; node statistics contain the running guests.
    let mut t = T::new(
        240,
        &[
            ("node1", NodeState::Online),
            ("node2", NodeState::Online),
            ("node3", NodeState::Unknown),
        ],
    );
    t.m.crs_mode = OrUnknown::Known(CrsMode::Dynamic);
    t.env.node_stats = Some(
        [
            ("node1".to_string(), node(9.2, 3.0 * gib)),
            ("node2".to_string(), node(8.8, 5.5 * gib)),
            ("node3".to_string(), node(0.0, 0.0)),
        ]
        .into(),
    );
    for (s, n) in [
        ("vm:101", "node1"),
        ("vm:102", "node2"),
        ("vm:104", "node1"),
        ("vm:105", "node2"),
    ] {
        let mut sd = entry(S::Started, n);
        sd.running = true;
        t.add(s, sd, conf(n, R::Started));
    }
    t.add(
        "vm:103",
        entry(S::Recovery, "node3"),
        conf("node3", R::Started),
    );
    t.env.stats = [
        ("vm:101", 1.3, 1.0 * gib, "node1"),
        ("vm:102", 5.6, 3.0 * gib, "node2"),
        ("vm:103", 0.5, 4e9, "node3"),
        ("vm:104", 7.9, 2.0 * gib, "node1"),
        ("vm:105", 3.2, 2.5 * gib, "node2"),
    ]
    .iter()
    .map(|(s, cpu, mem, n)| {
        (
            sid(s),
            ServiceStats {
                node: n.to_string(),
                state: "started".into(),
                running: true,
                usage: Usage {
                    maxcpu: Some(8.0),
                    maxmem: Some(4.0 * gib),
                    cpu: Some(*cpu),
                    mem: Some(*mem),
                },
            },
        )
    })
    .collect();
    t.usage().step("vm:103");
    assert_eq!(
        t.take(),
        [
            "info recover service 'vm:103' from fenced node 'node3' to node 'node1'",
            "info service 'vm:103': state changed from 'recovery' to 'started'  (node = node1)",
        ]
    );
}
