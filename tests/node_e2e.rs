//! End-to-end tests with real processes (issue 13, item 6): watchdog-mux,
//! `pve-ha-crm` and `pve-ha-lrm` run on simulated Proxmox VE nodes — each
//! node in its own namespaces, its pid 1 playing systemd's part — over a
//! shared `PVE_HA_ROOT` the harness keeps as pmxcfs and corosync would
//! (`tests/node/harness.rs` describes the design). Guests are stand-in
//! processes started by a fake guest helper
//! (`tests/fixtures/node/guest-helper`), recognised by `check_running`
//! exactly as a QEMU process is.
//!
//! Needs root, util-linux (`unshare`, `nsenter`) and iproute2 (`ip`);
//! under `CI=true` their absence is a failure, elsewhere a visible skip.
//! The three-node test takes minutes of real time (the agent lock of a
//! lost node expires after 120 s), the others run beside it.

mod common;

#[path = "node/harness.rs"]
mod harness;

use std::thread;
use std::time::{Duration, Instant};

use harness::{available, secs, wait_until, Node, Start, World};

/// The harness itself, without any daemon: a node is its own world (host
/// name, `/run`, pid 1 as the parent of every command, loopback), the
/// fake helper's guest is recognised as a QEMU process and stopped again,
/// watchdog-mux feeds the recording device, and the `.vmlist` follows a
/// config moved between node directories.
#[test]
fn a_node_is_an_isolated_world_with_a_recognisable_guest() {
    if !available("harness") {
        return;
    }
    let world = World::new("harness", &["node1", "node2"]);
    let node = Node::boot(&world, "node1");
    let scene = || world.scene(&[&node]);
    let out = node
        .run(
            &["sh", "-c", "cat /proc/sys/kernel/hostname; echo $PPID; ls -A /run; ip -o link show up"],
            secs(10),
        )
        .ok("looking around");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "node1");
    assert_eq!(lines[1], "1", "commands are children of pid 1");
    assert!(lines.iter().any(|l| l.contains(": lo:")), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("eth") || l.contains(": en")),
        "a network namespace of its own: {lines:?}"
    );

    // A guest needs its config on this node, as for `qm start`.
    let helper = std::env::var("PVE_HA_GUEST_HELPER").ok();
    assert!(helper.is_none(), "the test's own environment is not the node's");
    let fail = node.run(&["sh", "-c", "\"$PVE_HA_GUEST_HELPER\" start vm 100"], secs(20));
    assert_eq!(fail.code, 1);
    assert_eq!(
        fail.stderr,
        "Configuration file 'nodes/node1/qemu-server/100.conf' does not exist\n"
    );
    world.add_vm("node1", 100);
    node.run(&["sh", "-c", "\"$PVE_HA_GUEST_HELPER\" start vm 100"], secs(20))
        .ok("helper start");
    let pid = node.guest_pid(100).unwrap_or_else(|| panic!("no guest\n{}", scene()));
    assert!(pid > 1);
    let again = node.run(&["sh", "-c", "\"$PVE_HA_GUEST_HELPER\" start vm 100"], secs(20));
    assert_eq!(again.stderr, "VM 100 already running\n");
    node.run(
        &["sh", "-c", "\"$PVE_HA_GUEST_HELPER\" shutdown vm 100 --timeout 5"],
        secs(20),
    )
    .ok("helper shutdown");
    assert_eq!(node.guest_pid(100), None);
    assert!(!node.alive(pid), "the stand-in was stopped and reaped");

    // pmxcfs's part: the VM list follows the config.
    let vmlist = |node: &str| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(world.root.join(".vmlist")).unwrap()).unwrap();
        v["ids"]["100"]["node"] == node
    };
    assert!(vmlist("node1"));
    std::fs::rename(
        world.root.join("nodes/node1/qemu-server/100.conf"),
        world.root.join("nodes/node2/qemu-server/100.conf"),
    )
    .unwrap();
    wait_until("the VM list to follow", secs(5), scene, || vmlist("node2").then_some(()));

    // watchdog-mux on its recording device, in the node's /run.
    let wdmux = node.start_watchdog_mux();
    thread::sleep(Duration::from_millis(2500));
    assert!(node.device().iter().filter(|&&b| b == b'.').count() >= 2);
    assert!(wdmux.texts().len() == 1, "{:#?}", wdmux.texts());
    assert!(node.path("/run/watchdog-mux.sock").exists());
}
