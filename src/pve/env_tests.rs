//! `PveEnv` on a copy of the fixture tree `tests/fixtures/pve/root`, with
//! a recording syslog socket, recorded `systemctl` output, a shell-script
//! guest helper and a fake `/proc` and QEMU run directory.

use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};

use super::*;
use crate::env::WorkerJob;
use crate::pve::helper::tests::stub;
use crate::pve::shutdown::tests::Recorded;

struct Fixture {
    dir: PathBuf,
    env: PveEnv,
    syslog: UnixDatagram,
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Self::with(name, |_| {})
    }

    fn with(name: &str, adjust: impl FnOnce(&mut PveConfig)) -> Fixture {
        let dir = std::env::temp_dir().join(format!("pve-ha-pveenv-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pve/root"),
            &dir.join("root"),
        );
        let syslog = UnixDatagram::bind(dir.join("log")).unwrap();
        syslog.set_nonblocking(true).unwrap();
        let mut cfg = PveConfig::new(Daemon::Lrm, "node1", dir.join("root"));
        cfg.log_socket = dir.join("log");
        cfg.watchdog_socket = dir.join("watchdog-mux.sock");
        cfg.host = HostPaths {
            qemu_run_dir: dir.join("run/qemu-server"),
            proc_root: dir.join("proc"),
        };
        cfg.helper = stub(&dir.join("bin"), "exit 0");
        cfg.runner = Arc::new(Recorded(None));
        adjust(&mut cfg);
        let mut env = PveEnv::new(cfg).unwrap();
        assert!(env.cluster_state_update());
        Fixture { dir, env, syslog }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// The syslog lines received so far, without priority and pid.
    fn logged(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.syslog.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            let msg = line
                .split_once("]: ")
                .map_or(line.clone(), |(_, m)| m.to_string());
            out.push(msg);
        }
        out
    }

    fn helper(&mut self, body: &str) -> PathBuf {
        let log = self.dir.join("helper.log");
        let body = format!("echo \"$@\" >> '{}'\n{body}", log.display());
        self.env.cfg.helper = stub(&self.dir.join("bin"), &body);
        log
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

#[test]
fn node_name_is_the_short_host_name() {
    assert_eq!(short_name("pve1.example.com\n").as_deref(), Some("pve1"));
    assert_eq!(short_name("node2").as_deref(), Some("node2"));
    assert_eq!(short_name(".x"), None);
    assert!(short_hostname().is_ok_and(|n| !n.contains('.')));
}

#[test]
fn missing_nodename_is_refused() {
    let cfg = PveConfig::new(Daemon::Crm, "", "/nonexistent");
    assert_eq!(
        PveEnv::new(cfg).err().map(|e| e.to_string()).as_deref(),
        Some("missing nodename")
    );
}

#[test]
fn membership_and_quorum_from_members() {
    let mut f = Fixture::new("members");
    let (nodes, quorate) = f.env.get_node_info().unwrap();
    assert_eq!(
        nodes,
        BTreeMap::from([
            ("node1".into(), true),
            ("node2".into(), true),
            ("node3".into(), false)
        ])
    );
    assert!(quorate && f.env.quorate());
    // The local node is online even when the membership says otherwise,
    // and `.members`' own nodename does not matter.
    let text = fs::read_to_string(f.root().join(".members")).unwrap();
    let text = text.replace("\"quorate\": 1", "\"quorate\": 0").replace(
        "\"node1\": { \"id\": 1, \"online\": 1",
        "\"node1\": { \"id\": 1, \"online\": 0",
    );
    fs::write(f.root().join(".members"), text).unwrap();
    assert!(f.env.cluster_state_update());
    let (nodes, quorate) = f.env.get_node_info().unwrap();
    assert!(nodes["node1"] && !quorate && !f.env.quorate());
    // Without `.members` the refresh fails, with the warning.
    fs::remove_file(f.root().join(".members")).unwrap();
    assert!(!f.env.cluster_state_update());
    let logged = f.logged();
    assert!(
        logged
            .iter()
            .any(|l| l.starts_with("cluster file system update failed - unable to read file '")),
        "{logged:?}"
    );
    assert_eq!(f.env.get_node_info().unwrap().0.len(), 1);
}

#[test]
fn with_a_version_file_the_view_is_refreshed_only_when_it_changes() {
    let mut f = Fixture::new("version");
    fs::write(
        f.root().join(".version"),
        r#"{"starttime":1,"clinfo":7,"vmlist":4}"#,
    )
    .unwrap();
    assert!(f.env.cluster_state_update());
    fs::rename(
        f.root().join("nodes/node2/qemu-server/102.conf"),
        f.root().join("nodes/node3/102.conf"),
    )
    .unwrap();
    // Same version: the cached VM list still places vm:102 on node2.
    assert!(f.env.cluster_state_update());
    assert_eq!(
        f.env.read_service_config().unwrap().0[&sid("vm:102")].node,
        "node2"
    );
    fs::write(
        f.root().join(".version"),
        r#"{"starttime":1,"clinfo":7,"vmlist":5}"#,
    )
    .unwrap();
    assert!(f.env.cluster_state_update());
    // The config file is gone from node2; `.vmlist` still names node2.
    assert_eq!(
        f.env.read_service_config().unwrap().0[&sid("vm:102")].node,
        "node2"
    );
}

#[test]
fn service_config_merges_the_vm_list() {
    let mut f = Fixture::new("services");
    let (sc, digest) = f.env.read_service_config().unwrap();
    assert_eq!(sc[&sid("vm:100")].node, "node1");
    assert_eq!(
        sc[&sid("vm:100")].state,
        crate::types::RequestedState::Started
    );
    assert_eq!(
        sc[&sid("ct:101")].state,
        crate::types::RequestedState::Stopped
    );
    assert_eq!(sc[&sid("ct:101")].max_restart, 2);
    assert_eq!(sc[&sid("vm:102")].node, "node2");
    assert_eq!(digest.map(|d| d.len()), Some(40));
    let change = ServiceConfigChange {
        set: BTreeMap::from([("state".into(), "stopped".into())]),
        delete: vec![],
    };
    f.env
        .update_service_config(&BTreeMap::from([(sid("vm:100"), change.clone())]))
        .unwrap();
    assert_eq!(
        f.env.read_service_config().unwrap().0[&sid("vm:100")].state,
        crate::types::RequestedState::Stopped
    );
    let e = f
        .env
        .update_service_config(&BTreeMap::from([(sid("vm:999"), change)]))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "update resources config failed: no such resource 'vm:999'"
    );
}

#[test]
fn status_files_are_replaced_atomically() {
    let mut f = Fixture::new("status");
    assert_eq!(
        f.env.read_manager_status().unwrap(),
        ManagerStatus::default()
    );
    let ms = ManagerStatus::from_json(
        r#"{"master_node":"node1","timestamp":10,"node_status":{"node1":"online"}}"#,
    )
    .unwrap();
    f.env.write_manager_status(&ms).unwrap();
    assert_eq!(
        fs::read_to_string(f.root().join("ha/manager_status")).unwrap(),
        ms.to_json()
    );
    assert_eq!(f.env.read_manager_status().unwrap(), ms);
    let st =
        LrmStatus::from_json(r#"{"mode":"active","state":"active","results":{},"timestamp":9}"#)
            .unwrap();
    f.env.write_lrm_status(&st).unwrap();
    assert_eq!(f.env.read_lrm_status(None).unwrap(), st);
    assert_eq!(
        f.env.read_lrm_status(Some("node2")).unwrap(),
        LrmStatus::missing_real()
    );
    let path = f.root().join("nodes/node2/lrm_status");
    assert!(f
        .logged()
        .contains(&format!("unable to read file '{}'", path.display())));
    let leftovers: Vec<_> = fs::read_dir(f.root().join("nodes/node1"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty());
    // Without quorum pmxcfs is read-only.
    let m = fs::read_to_string(f.root().join(".members"))
        .unwrap()
        .replace("\"quorate\": 1", "\"quorate\": 0");
    fs::write(f.root().join(".members"), m).unwrap();
    let e = f.env.write_manager_status(&ms).unwrap_err().to_string();
    assert!(e.ends_with("- Permission denied"), "{e}");
}

#[test]
fn command_queue_rules_and_groups() {
    let mut f = Fixture::new("queue");
    assert!(!f.env.any_pending_crm_command().unwrap());
    fs::write(f.root().join("ha/crm_commands"), "migrate vm:100 node2\n").unwrap();
    assert!(f.env.any_pending_crm_command().unwrap());
    assert_eq!(f.env.read_crm_commands().unwrap(), "migrate vm:100 node2\n");
    assert!(!f.env.any_pending_crm_command().unwrap());
    fs::write(f.root().join("ha/groups.cfg"), "group: g1\n\tnodes node1\n").unwrap();
    assert!(f.env.read_group_config().unwrap().get("g1").is_some());
    f.env.delete_group_config().unwrap();
    assert!(!f.root().join("ha/groups.cfg").exists());
    fs::write(
        f.root().join("ha/rules.cfg"),
        "node-affinity: r1\n\tnodes node1\n\tresources vm:100\n",
    )
    .unwrap();
    let rules = f.env.read_rules_config().unwrap();
    assert!(rules.get("r1").is_some());
    f.env.write_rules_config(&rules).unwrap();
    assert!(fs::read_to_string(f.root().join("ha/rules.cfg"))
        .unwrap()
        .starts_with("node-affinity: r1\n"));
}

#[test]
fn steal_service_moves_the_config_and_refreshes() {
    let mut f = Fixture::new("steal");
    f.env
        .steal_service(&sid("vm:102"), "node2", "node3")
        .unwrap_err();
    fs::create_dir_all(f.root().join("nodes/node3/qemu-server")).unwrap();
    f.env
        .steal_service(&sid("vm:102"), "node2", "node3")
        .unwrap();
    assert!(f.root().join("nodes/node3/qemu-server/102.conf").is_file());
    // A plain directory has no pmxcfs to rewrite `.vmlist`: the config
    // files decide, in the same round.
    assert_eq!(
        f.env.read_service_config().unwrap().0[&sid("vm:102")].node,
        "node3"
    );
    let e = f
        .env
        .steal_service(&sid("ct:555"), "node1", "node2")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "rename '{}' to '{}' failed - No such file or directory",
            f.root().join("nodes/node1/lxc/555.conf").display(),
            f.root().join("nodes/node2/lxc/555.conf").display()
        )
    );
}

#[test]
fn shutdown_detection_uses_systemctl() {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pve/list-jobs/reboot.txt"
    ))
    .unwrap();
    let mut f = Fixture::with("shutdown", |c| c.runner = Arc::new(Recorded(Some(text))));
    assert_eq!(
        f.env.is_node_shutdown().unwrap(),
        NodeShutdown {
            shutdown: true,
            reboot: true
        }
    );
    f.env.cfg.runner = Arc::new(Recorded(None));
    assert!(f.env.is_node_shutdown().is_err());
}

#[test]
fn datacenter_settings_and_workers() {
    let mut f = Fixture::new("datacenter");
    assert_eq!(f.env.get_max_workers(), 2);
    let dc = f.env.get_datacenter_settings();
    assert!(!dc.ha.is_empty() && !dc.crs.is_empty());
    fs::remove_file(f.root().join("datacenter.cfg")).unwrap();
    assert_eq!(f.env.get_max_workers(), 4);
    assert_eq!(f.env.get_datacenter_settings(), DatacenterConfig::default());
}

#[test]
fn service_stats_from_rrd_and_configs() {
    let mut f = Fixture::new("stats");
    let basic = f.env.get_service_stats(StatsKind::Basic).unwrap();
    assert!(basic[&sid("vm:100")].running);
    assert_eq!(basic[&sid("vm:100")].state, "started");
    assert_eq!(basic[&sid("ct:101")].state, "stopped");
    assert_eq!(basic[&sid("vm:102")].node, "node2");
    let st = f.env.get_service_stats(StatsKind::Static).unwrap();
    let u = |k: &str| st[&sid(k)].usage;
    assert_eq!(
        (u("vm:100").maxcpu, u("vm:100").maxmem),
        (Some(4.0), Some(4096.0 * 1048576.0))
    );
    assert_eq!(
        (u("ct:101").maxcpu, u("ct:101").maxmem),
        (Some(1.5), Some(1024.0 * 1048576.0))
    );
    assert_eq!(
        (u("vm:102").maxcpu, u("vm:102").maxmem),
        (Some(3.0), Some(2048.0 * 1048576.0))
    );
    let dy = f.env.get_service_stats(StatsKind::Dynamic).unwrap();
    assert_eq!(dy[&sid("vm:100")].usage.cpu, Some(2.0));
    let nodes = f.env.get_dynamic_node_stats().unwrap();
    assert_eq!(nodes["node1"].maxcpu, Some(8.0));
    assert_eq!(nodes["node2"].cpu, 0.0);
    // Without a dump: no samples, never an error.
    fs::remove_file(f.root().join(".rrd")).unwrap();
    let basic = f.env.get_service_stats(StatsKind::Basic).unwrap();
    assert!(!basic[&sid("vm:100")].running);
    assert!(f.env.get_dynamic_node_stats().unwrap().is_empty());
}

#[test]
fn static_node_stats_and_versions_from_the_helper() {
    let mut f = Fixture::new("kv");
    assert!(f.env.get_static_node_stats().unwrap().is_empty());
    f.helper(
        r#"case "$2" in
static-info) echo '{"node1":{"cpus":8,"memory":1024},"node2":"{bad"}';;
version-info) echo '{"node1":"{\"version\":\"9.0.3\"}","node2":{"version":"8.4.1"}}';;
esac"#,
    );
    let s = f.env.get_static_node_stats().unwrap();
    assert_eq!(
        (s["node1"].maxcpu, s["node1"].maxmem),
        (Some(8.0), Some(1024.0))
    );
    assert_eq!(s["node2"], NodeStats::default());
    assert!(!s.contains_key("node3"));
    assert!(f
        .logged()
        .iter()
        .any(|l| l.starts_with("unable to decode static node info for 'node2' - ")));
    assert_eq!(f.env.get_node_version("node1").as_deref(), Some("9.0.3"));
    assert_eq!(f.env.get_node_version("node2").as_deref(), Some("8.4.1"));
    assert_eq!(f.env.get_node_version("node3"), None);
}

#[test]
fn ha_locks_log_transitions() {
    let mut f = Fixture::new("locks");
    assert!(f.env.get_ha_agent_lock(None));
    assert!(f.env.get_ha_agent_lock(None));
    assert!(f.root().join("priv/lock/ha_agent_node1_lock").is_dir());
    assert!(f.env.get_ha_manager_lock());
    assert_eq!(
        f.logged(),
        vec![
            "successfully acquired lock 'ha_agent_node1_lock'".to_string(),
            "successfully acquired lock 'ha_manager_lock'".to_string()
        ]
    );
    assert!(f.env.release_ha_agent_lock());
    assert!(f.env.release_ha_manager_lock());
    assert!(!f.root().join("priv/lock/ha_manager_lock").exists());
    // Another node's agent lock held by someone else: refused, silent.
    fs::create_dir(f.root().join("priv/lock/ha_agent_node2_lock")).unwrap();
    assert!(!f.env.get_ha_agent_lock(Some("node2")));
    assert!(f.logged().is_empty());
}

fn qemu_process(f: &Fixture, vmid: &str, pid: &str, args: &[&str], state: &str) {
    let run = f.dir.join("run/qemu-server");
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join(format!("{vmid}.pid")), format!("{pid}\n")).unwrap();
    let proc = f.dir.join("proc").join(pid);
    fs::create_dir_all(&proc).unwrap();
    let pidfile = run.join(format!("{vmid}.pid")).display().to_string();
    let cmdline: Vec<String> = args
        .iter()
        .map(|a| a.replace("PIDFILE", &pidfile))
        .collect();
    fs::write(proc.join("cmdline"), cmdline.join("\0") + "\0").unwrap();
    fs::write(proc.join("stat"), format!("{pid} (kvm) {state} 1 2 3")).unwrap();
}

#[test]
fn check_running_vm_by_pid_file_and_command_line() {
    let mut f = Fixture::new("qemu");
    let vm = sid("vm:100");
    assert!(!f.env.resource_check_running(&vm).unwrap());
    qemu_process(
        &f,
        "100",
        "4242",
        &[
            "/usr/bin/kvm",
            "-id",
            "100",
            "-pidfile",
            "PIDFILE",
            "-daemonize",
        ],
        "S",
    );
    assert!(f.env.resource_check_running(&vm).unwrap());
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/qemu-system-x86_64", "--pidfile", "PIDFILE"],
        "R",
    );
    assert!(f.env.resource_check_running(&vm).unwrap());
    // A zombie does not count.
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/kvm", "-pidfile", "PIDFILE"],
        "Z",
    );
    assert!(!f.env.resource_check_running(&vm).unwrap());
    // Another program, or another pid file, is not this VM.
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/sleep", "-pidfile", "PIDFILE"],
        "S",
    );
    assert!(!f.env.resource_check_running(&vm).unwrap());
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/kvm", "-pidfile", "/run/other.pid"],
        "S",
    );
    assert!(!f.env.resource_check_running(&vm).unwrap());
    // `--` is an ordinary word: an option named `-` takes the path as its
    // value, leaving `pidfile` without one.
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/kvm", "-pidfile", "--", "PIDFILE"],
        "S",
    );
    assert!(!f.env.resource_check_running(&vm).unwrap());
    qemu_process(
        &f,
        "100",
        "4242",
        &["/usr/bin/kvm", "--", "-pidfile", "PIDFILE"],
        "S",
    );
    assert!(f.env.resource_check_running(&vm).unwrap());
    // `lock: backup` (the fixture's) and QEMU in `prelaunch`: not running.
    let qmp = f.dir.join("run/qemu-server/100.qmp");
    let server = crate::pve::qmp::tests::serve(&qmp, "prelaunch");
    assert!(!f.env.resource_check_running(&vm).unwrap());
    let _ = server.join();
    fs::remove_file(&qmp).unwrap();
    let server = crate::pve::qmp::tests::serve(&qmp, "running");
    assert!(f.env.resource_check_running(&vm).unwrap());
    let _ = server.join();
    // A QMP failure only warns.
    fs::remove_file(&qmp).unwrap();
    assert!(f.env.resource_check_running(&vm).unwrap());
    assert!(f
        .logged()
        .contains(&"unable to connect to VM socket - No such file or directory".to_string()));
    // A pid file from the future only warns.
    let pidfile = f.dir.join("run/qemu-server/100.pid");
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&pidfile)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert!(f.env.resource_check_running(&vm).unwrap());
    let warned = format!("file '{}' modified in future", pidfile.display());
    assert!(f.logged().contains(&warned));
    // The config must be on this node.
    let e = f
        .env
        .resource_check_running(&sid("vm:102"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Configuration file 'nodes/node1/qemu-server/102.conf' does not exist"
    );
}

#[test]
fn check_running_ct_by_command_socket() {
    let mut f = Fixture::new("lxc");
    let ct = sid("ct:101");
    assert!(!f.env.resource_check_running(&ct).unwrap());
    fs::create_dir_all(f.dir.join("proc/net")).unwrap();
    let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
                 0000000000000000: 00000002 00000000 00010000 0001 01 31337 @/var/lib/lxc/1011/command\n\
                 0000000000000000: 00000002 00000000 00010000 0001 01 31338 /run/systemd/notify\n";
    fs::write(f.dir.join("proc/net/unix"), table).unwrap();
    assert!(!f.env.resource_check_running(&ct).unwrap());
    fs::write(
        f.dir.join("proc/net/unix"),
        format!("{table}0000000000000000: 00000002 00000000 00010000 0001 01 31339 @/var/lib/lxc/101/command\n"),
    )
    .unwrap();
    assert!(f.env.resource_check_running(&ct).unwrap());
}

/// Recovery runs on the master and edits the fenced node's copy of the
/// configuration before stealing it (the master's own directory has
/// none): the node is the caller's, not the local one.
#[test]
fn remove_locks_edits_the_named_nodes_config() {
    let mut f = Fixture::new("unlock-other");
    let vm = sid("vm:102");
    let conf = f.root().join("nodes/node2/qemu-server/102.conf");
    fs::write(&conf, "lock: migrate\ncores: 4\n").unwrap();
    let err = f
        .env
        .resource_remove_locks(&vm, &["migrate"], "node1")
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(
        f.env
            .resource_remove_locks(&vm, &["migrate"], "node2")
            .unwrap()
            .as_deref(),
        Some("migrate")
    );
    assert_eq!(fs::read_to_string(&conf).unwrap(), "cores: 4\n");
}

#[test]
fn remove_locks_edits_only_the_main_section() {
    let mut f = Fixture::new("unlock");
    let vm = sid("vm:100");
    assert_eq!(
        f.env
            .resource_remove_locks(&vm, &["snapshot"], "node1")
            .unwrap(),
        None
    );
    assert_eq!(
        f.env
            .resource_remove_locks(&vm, &["migrate", "backup"], "node1")
            .unwrap()
            .as_deref(),
        Some("backup")
    );
    let text = fs::read_to_string(f.root().join("nodes/node1/qemu-server/100.conf")).unwrap();
    assert!(!text.contains("lock: backup") && text.contains("[snap1]\nlock: snapshot\n"));
    assert_eq!(
        f.env
            .resource_remove_locks(&vm, &["backup"], "node1")
            .unwrap(),
        None
    );
}

#[test]
fn guest_operations_call_the_helper() {
    let mut f = Fixture::new("ops");
    let log = f.helper(&format!(
        "case \"$1\" in migrate) if [ \"$2\" = vm ]; then mv \"{root}/nodes/node1/qemu-server/$3.conf\" '{root}/nodes/node2/qemu-server/'; fi;; stop) echo \"VM $3 not running\" >&2; exit 1;; esac",
        root = f.root().display()
    ));
    let vm = sid("vm:100");
    f.env.resource_start(&vm).unwrap();
    f.env.resource_shutdown(&vm, None).unwrap();
    f.env.resource_shutdown(&vm, Some("30")).unwrap();
    assert_eq!(
        f.env
            .resource_shutdown(&vm, Some("0"))
            .unwrap_err()
            .to_string(),
        "VM 100 not running"
    );
    assert!(f.env.resource_migrate(&vm, "node2", true).unwrap());
    // A container moves offline; its config stays here, so it did not leave.
    assert!(!f
        .env
        .resource_migrate(&sid("ct:101"), "node2", true)
        .unwrap());
    assert_eq!(
        fs::read_to_string(log).unwrap(),
        "start vm 100\nshutdown vm 100 --timeout 60\nshutdown vm 100 --timeout 30\nstop vm 100\n\
         migrate vm 100 --target node2 --online\nmigrate ct 101 --target node2\n"
    );
}

#[test]
fn notifications_go_to_the_helper_and_failures_are_logged() {
    let mut f = Fixture::new("notify");
    let got = f.dir.join("notify.json");
    f.helper(&format!("cat > '{}'", got.display()));
    let n = FenceNotification {
        prefix: "FENCE".into(),
        status: "Try to fence node 'node2'".into(),
        failed_node: "node2".into(),
        manager_status: ManagerStatus::from_json(
            r#"{"master_node":"node1","timestamp":5,"node_status":{"node2":"fence"}}"#,
        )
        .unwrap(),
    };
    f.env.send_notification(&n);
    let v: Value = serde_json::from_str(&fs::read_to_string(&got).unwrap()).unwrap();
    assert_eq!(v["data"]["failed-node"], "node2");
    assert_eq!(v["data"]["is-success"], false);
    assert_eq!(v["data"]["nodes"][0]["status"], "fence");
    assert_eq!(
        v["metadata"],
        json!({"type": "fencing", "hostname": "node2"})
    );
    f.helper("echo 'no targets' >&2; exit 1");
    f.env.send_notification(&n);
    assert!(f
        .logged()
        .contains(&"could not notify: no targets".to_string()));
}

#[test]
fn watchdog_through_the_mux_client() {
    let mut f = Fixture::new("watchdog");
    let e = f.env.watchdog_open().unwrap_err().to_string();
    assert_eq!(
        e,
        "unable to open watchdog socket - No such file or directory"
    );
    let listener = UnixListener::bind(f.dir.join("watchdog-mux.sock")).unwrap();
    let h = f.env.watchdog_open().unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    f.env.watchdog_update(&h).unwrap();
    f.env.watchdog_close(&h).unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut got).unwrap();
    assert_eq!(got, b"\0V");
    assert_eq!(
        f.logged(),
        vec![
            "watchdog active".to_string(),
            "watchdog closed (disabled)".to_string()
        ]
    );
    // Updating a closed watchdog only logs.
    f.env.watchdog_update(&h).unwrap();
    assert_eq!(f.logged(), vec!["watchdog not open".to_string()]);
}

#[test]
fn slow_loop_warning_and_clock() {
    let mut f = Fixture::with("slow", |c| c.slow_loop = -1);
    let t = f.env.get_time();
    f.env.loop_start_hook().unwrap();
    f.env.loop_end_hook().unwrap();
    assert_eq!(
        f.logged(),
        vec!["loop took too long (0 seconds)".to_string()]
    );
    f.env.sleep_until(t - 5);
    f.env.sleep(0);
    assert!(f.env.get_time() >= t);
    let a = f.env.unique_token();
    assert_ne!(a, f.env.unique_token());
}

#[test]
fn a_hung_helper_never_blocks_the_pool() {
    let mut f = Fixture::new("pool");
    f.helper("case \"$3\" in 100) sleep 4;; esac");
    let pool = f.env.worker_pool().unwrap();
    let slow: WorkerJob = Box::new(|env: &mut dyn Env| {
        let vm = sid("vm:100");
        i64::from(env.resource_start(&vm).is_err())
    });
    let fast: WorkerJob = Box::new(|env: &mut dyn Env| {
        // Each job has its own environment, without a pool of its own.
        assert!(env.worker_pool().is_none());
        let ct = sid("ct:101");
        if env.resource_start(&ct).is_ok() {
            0
        } else {
            256
        }
    });
    let started = std::time::Instant::now();
    pool.start(&sid("vm:100"), slow, Box::new(())).unwrap();
    pool.start(&sid("ct:101"), fast, Box::new(())).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut done = Vec::new();
    for _ in 0..100 {
        done.extend(pool.collect());
        if !done.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].sid.as_str(), done[0].status), ("ct:101", 0));
    assert!(pool.is_running(&sid("vm:100")));
    assert_eq!(pool.running(), 1);
}

/// A job finds its OCF agent and parameters in the LRM's snapshot, even
/// when resources.cfg can no longer be read; a resource the snapshot
/// lacks is read afresh.
#[test]
fn ocf_jobs_use_the_lrms_configuration_snapshot() {
    let mut f = Fixture::new("ocf-snapshot");
    let cfg = f.root().join("ha/resources.cfg");
    fs::write(
        &cfg,
        "ocf: d1\n\tagent heartbeat:Dummy\n\tparams state=/x\n",
    )
    .unwrap();
    f.env.read_service_config().unwrap();
    // Unreadable from now on (a directory where the file was).
    fs::remove_file(&cfg).unwrap();
    fs::create_dir(&cfg).unwrap();
    let job = PveEnv::for_worker(f.env.cfg.clone());
    let spec = job.ocf_spec(&sid("ocf:d1")).unwrap();
    assert_eq!(spec.agent.to_string(), "heartbeat:Dummy");
    let e = job.ocf_spec(&sid("ocf:d2")).unwrap_err();
    assert!(e.message().starts_with("unable to read file '"), "{e}");
    // A failed read replaces nothing.
    assert!(f.env.read_service_config().is_err());
    assert!(job.ocf_spec(&sid("ocf:d1")).is_ok());
}

#[test]
fn ocf_sids_run_their_agent_and_move_by_location_record() {
    let dummy = crate::ocf::agent::root_from_env().join("resource.d/heartbeat/Dummy");
    if !dummy.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: no {}",
            dummy.display()
        );
        eprintln!(
            "notice: no {}, skipping the ocf dispatch test",
            dummy.display()
        );
        return;
    }
    let mut f = Fixture::new("ocf");
    let state = f.dir.join("dummy.state");
    fs::write(
        f.root().join("ha/resources.cfg"),
        format!(
            "ocf: d1\n\tagent heartbeat:Dummy\n\tparams state='{}'\n\nvm: 100\n",
            state.display()
        ),
    )
    .unwrap();
    fs::create_dir_all(f.root().join("nodes/node1/ocf")).unwrap();
    fs::write(f.root().join("nodes/node1/ocf/d1.conf"), "").unwrap();
    let _ = f.env.cluster_state_update();
    let id = sid("ocf:d1");
    assert!(f.env.has_resource_type("ocf"));
    assert_eq!(f.env.read_service_config().unwrap().0[&id].node, "node1");
    assert!(!f.env.resource_check_running(&id).unwrap());
    f.env.resource_start(&id).unwrap();
    assert!(f.env.resource_check_running(&id).unwrap());
    assert_eq!(
        f.env
            .resource_remove_locks(&id, &["backup"], "node1")
            .unwrap(),
        None
    );
    // A relocation: stopped here, the record moved to the target.
    assert!(f.env.resource_migrate(&id, "node2", false).unwrap());
    assert!(!state.exists());
    assert!(f.root().join("nodes/node2/ocf/d1.conf").is_file());
    assert!(!f.root().join("nodes/node1/ocf/d1.conf").exists());
    // The CRM's recovery moves it on.
    f.env.steal_service(&id, "node2", "node3").unwrap();
    assert_eq!(f.env.read_service_config().unwrap().0[&id].node, "node3");
    // Without its section the operations fail with the LRM's wording.
    let e = f.env.resource_start(&sid("ocf:gone")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "missing resource configuration for 'ocf:gone'"
    );
}

/// Store errors keep their text; only "the store did not answer" is
/// `Unavailable`, whether read raw or through a typed reader.
#[test]
fn store_errors_keep_their_text_and_tell_unavailable_apart() {
    let gone = StoreError::Unavailable {
        path: "/pve-ha/ha/manager_status".into(),
        reason: "etcd request timed out".into(),
    };
    let text = "unable to read file '/pve-ha/ha/manager_status' - etcd request timed out";
    for e in [store_err(gone.clone()), file_err(FileError::Store(gone))] {
        assert_eq!((e.kind(), e.message()), (EnvErrorKind::Unavailable, text));
    }
    let refused = StoreError::Read {
        path: "/etc/pve/ha/manager_status".into(),
        errno: "Permission denied".into(),
    };
    assert_eq!(store_err(refused).kind(), EnvErrorKind::Other);
    let bad = file_err(FileError::Parse("bad JSON".into()));
    assert_eq!(
        (bad.kind(), bad.message()),
        (EnvErrorKind::Other, "bad JSON")
    );
}
