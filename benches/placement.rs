//! Benchmarks of placement (issue 6) on a generated cluster of 64 nodes and
//! 2,000 services: one `static` and one `dynamic` scheduling decision
//! (`select_service_node` with the best-score preference a recovery uses),
//! and a manager round with one automatic-rebalancing decision, next to
//! the same round without rebalancing (their difference is the
//! rebalancing pass).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use pve_ha::config::datacenter::{CrsMode, RebalanceMethod};
use pve_ha::config::status::{ManagerStatus, ServiceEntry};
use pve_ha::crm::manager::Manager;
use pve_ha::crm::placement::{select_service_node, CompiledRules, NodePreference, OnlineNodeUsage};
use pve_ha::env::{Env, ServiceConf, Timing, Usage};
use pve_ha::sim::env::DaemonKind;
use pve_ha::sim::hardware::{NodeHardware, RawService};
use pve_ha::sim::{Hardware, Scenario, SimEnv};
use pve_ha::types::{NodeState, OrUnknown, RequestedState, ServiceState, Sid};

const NODES: usize = 64;
const SERVICES: usize = 2_000;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn node(i: usize) -> String {
    format!("node{:02}", i + 1)
}

/// Half of the services crowd the first eight nodes, the rest are spread
/// over all of them, so the cluster is clearly imbalanced.
fn host(i: usize) -> String {
    if i < SERVICES / 2 {
        node(i % 8)
    } else {
        node(i % NODES)
    }
}

fn sid(i: usize) -> Sid {
    format!("vm:{}", 100_000 + i).parse().expect("valid sid")
}

/// A scenario for the generated cluster in `mode`, optionally with
/// automatic rebalancing (hold duration 0: decide in the first round).
fn scenario(mode: CrsMode, auto: Option<RebalanceMethod>) -> Scenario {
    let mut s = Scenario::empty();
    for i in 0..NODES {
        let mut hw = NodeHardware::off();
        hw.power = true;
        hw.network = true;
        hw.maxcpu = Some(64.0);
        hw.maxmem = Some(256.0 * GIB);
        s.nodes.insert(node(i), hw);
    }
    let mut ms = ManagerStatus {
        master_node: Some(node(0)),
        ..ManagerStatus::default()
    };
    for i in 0..NODES {
        ms.node_status
            .insert(node(i), OrUnknown::Known(NodeState::Online));
    }
    for i in 0..SERVICES {
        let (sid, host) = (sid(i), host(i));
        let raw: RawService = BTreeMap::from([
            ("node".to_string(), host.clone()),
            ("state".to_string(), "started".to_string()),
        ]);
        s.services.insert(sid.to_string(), raw);
        s.static_stats.insert(
            sid.to_string(),
            Usage {
                maxcpu: Some(1.0 + (i % 4) as f64),
                maxmem: Some((1 + i % 8) as f64 * GIB),
                ..Usage::default()
            },
        );
        s.dynamic_stats.insert(
            sid.to_string(),
            Usage {
                cpu: Some(0.25 + (i % 7) as f64 * 0.25),
                mem: Some((1 + i % 5) as f64 * 0.5 * GIB),
                ..Usage::default()
            },
        );
        s.service_status
            .entry(host.clone())
            .or_default()
            .insert(sid.to_string(), true);
        ms.service_status.insert(
            sid,
            ServiceEntry {
                state: Some(OrUnknown::Known(ServiceState::Started)),
                node: Some(host),
                uid: Some(format!("uid{i}")),
                running: true,
                ..ServiceEntry::default()
            },
        );
    }
    s.manager_status = Some(ms);
    s.datacenter.crs.mode = Some(OrUnknown::Known(mode));
    if let Some(method) = auto {
        s.datacenter.crs.auto_rebalance = Some(true);
        s.datacenter.crs.auto_rebalance_method = Some(OrUnknown::Known(method));
        s.datacenter.crs.auto_rebalance_hold_duration = Some(0.0);
    }
    s
}

fn master_env(s: &Scenario) -> SimEnv {
    let mut env = SimEnv::new(Hardware::new(s).shared(), &node(0), DaemonKind::Crm);
    env.sync_clock(1000);
    env
}

fn decision(c: &mut Criterion, mode: CrsMode) {
    let s = scenario(mode, None);
    let mut env = master_env(&s);
    let ms = env.read_manager_status().expect("generated status");
    let nodes: Vec<String> = (0..NODES).map(node).collect();
    let usage = OnlineNodeUsage::build(
        &mut env,
        &OrUnknown::Known(mode),
        &nodes,
        &ms.service_status,
    )
    .expect("usage");
    let rules = CompiledRules::default();
    let sid = sid(0);
    let cd = ServiceConf {
        node: host(0),
        state: RequestedState::Started,
        failback: true,
        max_restart: 1,
        max_relocate: 1,
        group: None,
        comment: None,
    };
    c.bench_function(
        &format!("placement: one {mode} decision, 64 nodes x 2000 services"),
        |b| {
            b.iter(|| {
                black_box(select_service_node(
                    &rules,
                    &usage,
                    &sid,
                    &cd,
                    &ms.service_status,
                    NodePreference::BestScore,
                ))
            })
        },
    );
}

fn round(c: &mut Criterion, name: &str, auto: Option<RebalanceMethod>) {
    let s = scenario(CrsMode::Static, auto);
    c.bench_function(name, |b| {
        b.iter_batched(
            || {
                let mut env = master_env(&s);
                let m = Manager::new(&mut env, Timing::upstream()).expect("manager");
                (env, m)
            },
            |(mut env, mut m)| {
                m.manage(&mut env).expect("round");
                (env, m)
            },
            BatchSize::LargeInput,
        )
    });
}

fn bench(c: &mut Criterion) {
    decision(c, CrsMode::Static);
    decision(c, CrsMode::Dynamic);
    round(
        c,
        "placement: static round without auto-rebalance, 64 x 2000",
        None,
    );
    round(
        c,
        "placement: static round with one bruteforce auto-rebalance pass, 64 x 2000",
        Some(RebalanceMethod::Bruteforce),
    );
    round(
        c,
        "placement: static round with one topsis auto-rebalance pass, 64 x 2000",
        Some(RebalanceMethod::Topsis),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
