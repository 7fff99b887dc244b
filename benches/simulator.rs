//! Benchmarks of the regression tester and the manager (issue 5): the whole
//! visible scenario suite in-process, one steady manager round on a
//! generated 100-node × 5,000-service cluster, and the round in which a
//! node holding 1,000 of those services is fenced and its services are
//! recovered.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use pve_ha::config::status::{LrmResult, LrmStatus, ManagerStatus, ServiceEntry};
use pve_ha::crm::manager::Manager;
use pve_ha::env::Timing;
use pve_ha::sim::env::DaemonKind;
use pve_ha::sim::hardware::{NodeHardware, RawService};
use pve_ha::sim::tester::{run_scenario, RunOptions};
use pve_ha::sim::{Hardware, Scenario, SimEnv};
use pve_ha::types::{NodeState, OrUnknown, ResultCode, ServiceState, Sid};

const NODES: usize = 100;
const SERVICES: usize = 5_000;
/// Services on the node that fails in the recovery benchmark.
const ON_FAILED_NODE: usize = 1_000;

fn node(i: usize) -> String {
    format!("node{:03}", i + 1)
}

/// The upstream scenarios, loaded once (nothing is read while timing).
fn visible_suite() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/scenarios");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "notice: {} not found, suite benchmark skipped",
            dir.display()
        );
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    dirs.iter().filter_map(|d| Scenario::load(d).ok()).collect()
}

/// A cluster of `NODES` online nodes and `SERVICES` started services; the
/// first `ON_FAILED_NODE` services live on the last node, the others are
/// spread round-robin over the remaining nodes. Every LRM has reported
/// success for the current request of each of its services, as in a
/// steady cluster. With `failed`, the last node is powered off and already
/// in `fence` state, as are its services.
fn generated_cluster(failed: bool) -> (SimEnv, Manager) {
    let mut s = Scenario::empty();
    let victim = node(NODES - 1);
    for i in 0..NODES {
        let mut hw = NodeHardware::off();
        let up = !(failed && i == NODES - 1);
        hw.power = up;
        hw.network = up;
        s.nodes.insert(node(i), hw);
    }
    let mut ms = ManagerStatus {
        master_node: Some(node(0)),
        ..ManagerStatus::default()
    };
    for i in 0..NODES {
        let state = if failed && i == NODES - 1 {
            NodeState::Fence
        } else {
            NodeState::Online
        };
        ms.node_status.insert(node(i), OrUnknown::Known(state));
    }
    for i in 0..SERVICES {
        let sid: Sid = format!("vm:{}", 100_000 + i).parse().expect("valid sid");
        let host = if i < ON_FAILED_NODE {
            victim.clone()
        } else {
            node(i % (NODES - 1))
        };
        let raw: RawService = BTreeMap::from([
            ("node".to_string(), host.clone()),
            ("state".to_string(), "started".to_string()),
        ]);
        s.services.insert(sid.to_string(), raw);
        let state = if failed && host == victim {
            ServiceState::Fence
        } else {
            ServiceState::Started
        };
        ms.service_status.insert(
            sid,
            ServiceEntry {
                state: Some(OrUnknown::Known(state)),
                node: Some(host),
                uid: Some(format!("uid{i}")),
                running: true,
                ..ServiceEntry::default()
            },
        );
    }
    let mut lrm: BTreeMap<String, LrmStatus> = BTreeMap::new();
    for (sid, sd) in &ms.service_status {
        let (Some(node), Some(uid)) = (&sd.node, &sd.uid) else {
            continue;
        };
        lrm.entry(node.clone()).or_default().results.insert(
            uid.clone(),
            LrmResult {
                sid: sid.clone(),
                state: OrUnknown::Known(ServiceState::Started),
                exit_code: ResultCode::Success,
            },
        );
    }
    s.manager_status = Some(ms);
    let mut hw = Hardware::new(&s);
    for (node, st) in &lrm {
        hw.set_lrm_status(node, st);
    }
    let hw = hw.shared();
    let mut env = SimEnv::new(hw, &node(0), DaemonKind::Crm);
    env.sync_clock(1000);
    let manager = Manager::new(&mut env, Timing::upstream())
        .expect("manager takes over the generated status");
    (env, manager)
}

fn bench(c: &mut Criterion) {
    let suite = visible_suite();
    if !suite.is_empty() {
        c.bench_function(
            &format!("tester: visible suite ({} scenarios)", suite.len()),
            |b| {
                b.iter(|| {
                    for s in &suite {
                        black_box(run_scenario(s, RunOptions::default()));
                    }
                })
            },
        );
    }

    // A steady round consumes one LRM result per service and re-arms its
    // request (03 §5.2), so every iteration starts from a fresh cluster.
    c.bench_function("manager: steady round, 100 nodes x 5000 services", |b| {
        b.iter_batched(
            || generated_cluster(false),
            |(mut env, mut manager)| {
                manager.manage(&mut env).expect("steady round");
                (env, manager)
            },
            BatchSize::LargeInput,
        )
    });

    c.bench_function(
        "manager: fence round, 1000 of 5000 services recovered",
        |b| {
            b.iter_batched(
                || generated_cluster(true),
                |(mut env, mut manager)| {
                    manager.manage(&mut env).expect("recovery round");
                    (env, manager)
                },
                BatchSize::LargeInput,
            )
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
