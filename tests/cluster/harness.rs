//! The plain-Linux cluster harness: three (or more) nodes, each in its own
//! mount, network, UTS and pid namespaces (the node harness's [`Node`]),
//! joined by veth pairs to a bridge in a fourth, "switch" namespace. Every
//! node runs the real engines from Debian's packages — corosync (knet on
//! `10.77.0.<i>`), an etcd member (data directory on disk, outside the
//! node's tmpfs, so a reset node comes back with its data) — plus
//! watchdog-mux on a recording device and both HA daemons over the etcd
//! backend, configured by one node configuration file.
//!
//! Each node has private tmpfs mounts on `/run` (with
//! `/run/resource-agents`, where `heartbeat:Dummy` keeps its state file)
//! and `/dev/shm` (libqb's ring buffers), and a private
//! `/var/lib/corosync`. libqb's IPC sockets are abstract, hence per
//! network namespace: `ha-manager` and the daemons of a node talk to
//! that node's corosync only.
//!
//! A node "reset" kills its pid 1: every process of the node ends at once
//! and its network interface disappears with its namespace. Everything is
//! bounded in time and torn down in `Drop`, also when a test fails (the
//! scratch directory is then kept for inspection).

#![allow(dead_code)]

#[path = "evidence.rs"]
pub mod evidence;
#[path = "probe.rs"]
pub mod probe;
#[path = "watchdog.rs"]
pub mod watchdog;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::common::ns::{self, Namespace};
use crate::harness::{secs, wait_until, Node, Output, BIN};
use probe::Probe;
use watchdog::{Rule, Watcher};

/// The argv[0] names a node runs.
const TOOLS: &[&str] = &[
    "pve-ha",
    "pve-ha-crm",
    "pve-ha-lrm",
    "ha-manager",
    "watchdog-mux",
];

/// Priorities of the engines and the HA stack over everything else the
/// (shared, two-core) test machine runs: a node's etcd member or
/// corosync starved by a compiler would make lock calls miss the budget's
/// `max_loop` and reset healthy nodes. Production nodes give them the
/// same precedence. `nice` execs, so the spawned pid is the program's.
const ENGINE_NICE: &str = "-10";
const HA_NICE: &str = "-5";

/// The subnet of the cluster network.
const NET: &str = "10.77.0";

/// What each node's pid 1 sets up besides the node harness's `/run`,
/// loopback and host name (`$out` is the node's scratch directory).
const SETUP: &str = "mkdir -p /run/resource-agents \
    && for w in /dev/watchdog*; do [ ! -e \"$w\" ] || mount --bind /dev/null \"$w\" || exit 1; done \
    && mount -t tmpfs tmpfs /dev/shm \
    && mkdir -p \"$out/corosync-state\" \
    && mount --bind \"$out/corosync-state\" /var/lib/corosync";

/// Whether plain-Linux clusters can be made here: root, namespaces, and
/// the engines (a visible skip, or a failure under `CI=true`).
pub fn available(test: &str) -> bool {
    let what = format!("the plain-Linux cluster test {test}");
    for (bin, pkg) in [
        ("/usr/sbin/corosync", "corosync"),
        ("/usr/bin/etcd", "etcd-server"),
        ("/usr/lib/ocf/resource.d/heartbeat/Dummy", "resource-agents"),
    ] {
        if !Path::new(bin).exists() {
            crate::common::skip(&what, &format!("{bin} missing (Debian package {pkg})"));
            return false;
        }
    }
    ns::available(
        &what,
        &["--mount", "--net", "--uts", "--pid", "--mount-proc"],
        "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm && ip link set lo up",
    )
}

/// One node of the cluster: its harness node while it runs.
pub struct PlainNode {
    pub name: String,
    /// 1-based.
    pub index: usize,
    pub dir: PathBuf,
    pub node: Option<Node>,
    /// How often the node was booted.
    boots: usize,
    /// The node's processes by log name (`crm`, `lrm`, `watchdog-mux`,
    /// `corosync`, `etcd`) → pid in the node, as last started.
    pub pids: BTreeMap<String, i32>,
}

impl PlainNode {
    /// The running node (panics if it is reset).
    pub fn up(&self) -> &Node {
        self.node
            .as_ref()
            .unwrap_or_else(|| panic!("{} is down", self.name))
    }

    /// The node's address on the cluster network.
    pub fn addr(&self) -> String {
        format!("{NET}.{}", self.index)
    }
}

/// The cluster.
pub struct Cluster {
    pub dir: PathBuf,
    pub nodes: Vec<PlainNode>,
    switch: Namespace,
    bin: PathBuf,
    /// The node configuration every node reads.
    pub node_cfg: PathBuf,
    /// The drills' instruments, when made with [`Cluster::for_drills`].
    pub drill: Option<Drill>,
}

/// What a drill cluster adds: the wrapper agents' OCF root and their
/// journals, the device-rule watcher, the floating address probe.
pub struct Drill {
    /// `OCF_ROOT` of the daemons: `resource.d/heartbeat/{Dummy,IPaddr2}`
    /// are the journal agent, `lib` is the system's.
    pub ocf_root: PathBuf,
    /// One journal per node, plus `resets.log` from the harness.
    pub journal: PathBuf,
    pub watcher: Watcher,
    pub probe: Option<Probe>,
}

fn sh(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// A fresh cluster of `n` nodes (`node1`…), with `extra` appended to
    /// the node configuration (budget lines). Nothing runs on the nodes
    /// yet: [`Cluster::start_all`].
    pub fn new(test: &str, n: usize, extra: &str) -> Cluster {
        let dir = PathBuf::from(format!(
            "/var/tmp/pve-ha-cluster-{}-{test}",
            std::process::id()
        ));
        Cluster::create(dir, n, extra)
    }

    /// [`Cluster::new`] in scratch directory `dir` (emptied first).
    fn create(dir: PathBuf, n: usize, extra: &str) -> Cluster {
        let _ = fs::remove_dir_all(&dir);
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        for tool in TOOLS {
            std::os::unix::fs::symlink(BIN, bin.join(tool)).unwrap();
        }
        // The node's own member first (every member also listens on
        // loopback), then the others.
        let endpoints: Vec<String> = std::iter::once("http://127.0.0.1:2379".to_string())
            .chain((1..=n).map(|i| format!("http://{NET}.{i}:2379")))
            .collect();
        let node_cfg = dir.join("node.cfg");
        fs::write(
            &node_cfg,
            format!(
                "backend: etcd\netcd-endpoints: {}\n{extra}",
                endpoints.join(" ")
            ),
        )
        .unwrap();
        fs::write(dir.join("corosync.conf"), corosync_conf(n)).unwrap();
        let mut switch = Namespace::spawn({
            // Its pid 1 waits for the end of its input: it ends with the
            // test process, even one killed before its `Drop` runs.
            let mut c = ns::unshare(&["--net"]);
            c.args(["sh", "-c", "read -r _"]).stdin(Stdio::piped());
            c
        });
        assert!(switch.running(), "the switch namespace ended");
        sh(
            switch
                .nsenter(&["--net"])
                .args(["ip", "link", "add", "br0", "type", "bridge"]),
            "bridge",
        );
        sh(
            switch
                .nsenter(&["--net"])
                .args(["ip", "link", "set", "br0", "up"]),
            "bridge up",
        );
        let nodes = (1..=n)
            .map(|i| PlainNode {
                name: format!("node{i}"),
                index: i,
                dir: dir.join(format!("node{i}")),
                node: None,
                boots: 0,
                pids: BTreeMap::new(),
            })
            .collect();
        Cluster {
            dir,
            nodes,
            switch,
            bin,
            node_cfg,
            drill: None,
        }
    }

    /// A cluster for the drills: as [`Cluster::new`], plus the journal
    /// agents as the daemons' `OCF_ROOT`, the systemctl stand-in on every
    /// node, the device-rule watcher (`rule`) and the probe of the
    /// floating address `vip`.
    pub fn for_drills(test: &str, n: usize, extra: &str, rule: Rule, vip: &str) -> Cluster {
        // A name of its own: leftovers of `pve-ha-cluster-*` may be
        // swept while a drill run (tens of minutes) is still using it.
        let dir = PathBuf::from(format!(
            "/var/tmp/pve-ha-drill-{}-{test}",
            std::process::id()
        ));
        let mut c = Cluster::create(dir, n, extra);
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/journal-agent");
        let ocf_root = c.dir.join("ocf");
        let heartbeat = ocf_root.join("resource.d/heartbeat");
        fs::create_dir_all(&heartbeat).unwrap();
        for ty in ["Dummy", "IPaddr2"] {
            fs::copy(&src, heartbeat.join(ty)).unwrap();
        }
        std::os::unix::fs::symlink("/usr/lib/ocf/lib", ocf_root.join("lib")).unwrap();
        let journal = c.dir.join("journal");
        fs::create_dir_all(&journal).unwrap();
        let watcher = Watcher::start(rule, journal.join("resets.log"), c.switch.pid());
        let probe = Probe::start(&c.switch, vip, c.dir.join("probe.log"));
        c.drill = Some(Drill {
            ocf_root,
            journal,
            watcher,
            probe: Some(probe),
        });
        c
    }

    /// The drill instruments (panics on a plain cluster).
    pub fn drill(&self) -> &Drill {
        self.drill.as_ref().expect("not a drill cluster")
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PVE_HA_NODE_CONFIG", self.node_cfg.display().to_string()),
            (
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", self.bin.display()),
            ),
            ("RUST_BACKTRACE", "1".to_string()),
        ];
        if let Some(d) = &self.drill {
            env.push(("OCF_ROOT", d.ocf_root.display().to_string()));
        }
        env
    }

    /// Boots node `i` (1-based): namespaces and network, no process yet.
    pub fn boot(&mut self, i: usize) {
        let env = self.env();
        let pn = &mut self.nodes[i - 1];
        assert!(pn.node.is_none(), "{} is already up", pn.name);
        pn.boots += 1;
        pn.pids.clear();
        let mut setup = SETUP.to_string();
        if self.drill.is_some() {
            // Shutdown detection reads the stand-in's job queue.
            let stub = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/systemctl-stub");
            let _ = write!(
                setup,
                " && mount --bind '{}' /bin/systemctl",
                stub.display()
            );
        }
        let node = Node::boot_in(&pn.dir, env, &pn.name, &setup);
        let port = format!("pvh{i}");
        let pid = node.host_pid().to_string();
        // A port left over from a node that ended is deleted first.
        let _ = self
            .switch
            .nsenter(&["--net"])
            .args(["ip", "link", "del", &port])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status();
        sh(
            self.switch.nsenter(&["--net"]).args([
                "ip", "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &pid,
            ]),
            "veth",
        );
        sh(
            self.switch
                .nsenter(&["--net"])
                .args(["ip", "link", "set", &port, "master", "br0", "up"]),
            "port up",
        );
        let addr = format!("{}/24", pn.addr());
        node.run(&["ip", "addr", "add", &addr, "dev", "eth0"], secs(10))
            .ok("address");
        node.run(&["ip", "link", "set", "eth0", "up"], secs(10))
            .ok("eth0 up");
        if let Some(d) = &self.drill {
            let host = node.host_pid();
            let unshare = watchdog::ppid(host).expect("the node's unshare");
            d.watcher
                .register(i, &pn.name, host, unshare, pn.dir.join("watchdog-device"));
        }
        pn.node = Some(node);
    }

    /// Starts the engines and the HA stack on node `i`: corosync, etcd,
    /// watchdog-mux (recording device), the CRM and the LRM.
    pub fn start_stack(&mut self, i: usize) {
        self.start_engines(i);
        self.start_ha(i);
    }

    /// corosync and the etcd member of node `i`.
    pub fn start_engines(&mut self, i: usize) {
        self.start_corosync(i);
        self.start_etcd(i);
    }

    /// corosync of node `i`.
    pub fn start_corosync(&mut self, i: usize) {
        let conf = self.dir.join("corosync.conf").display().to_string();
        let pn = &mut self.nodes[i - 1];
        let pid = pn.up().spawn(
            "corosync",
            &["nice", "-n", ENGINE_NICE, "corosync", "-f", "-c", &conf],
        );
        pn.pids.insert("corosync".into(), pid);
    }

    /// The etcd member of node `i` (with its data, if it has some).
    pub fn start_etcd(&mut self, i: usize) {
        let n = self.nodes.len();
        let pn = &mut self.nodes[i - 1];
        let node = pn.up();
        let data = pn.dir.join("etcd-data");
        let state = if data.exists() { "existing" } else { "new" };
        let data = data.display().to_string();
        let me = pn.addr();
        let cluster: Vec<String> = (1..=n)
            .map(|k| format!("node{k}=http://{NET}.{k}:2380"))
            .collect();
        let pid = node.spawn(
            "etcd",
            &[
                "nice",
                "-n",
                ENGINE_NICE,
                "etcd",
                "--name",
                &pn.name,
                "--data-dir",
                &data,
                "--listen-client-urls",
                &format!("http://{me}:2379,http://127.0.0.1:2379"),
                "--advertise-client-urls",
                &format!("http://{me}:2379"),
                "--listen-peer-urls",
                &format!("http://{me}:2380"),
                "--initial-advertise-peer-urls",
                &format!("http://{me}:2380"),
                "--initial-cluster",
                &cluster.join(","),
                "--initial-cluster-state",
                state,
                "--initial-cluster-token",
                "pve-ha-test",
                "--heartbeat-interval",
                "100",
                "--election-timeout",
                "1000",
                // etcd 3.4's default is off (3.5's on): without it a
                // member back from a link cut or a reset, its term
                // raised by lonely elections, deposes the leader and
                // stalls every request for an election round.
                "--pre-vote",
                "--logger",
                "zap",
                "--log-level",
                "warn",
            ],
        );
        pn.pids.insert("etcd".into(), pid);
    }

    /// watchdog-mux (recording device), then the CRM and the LRM, in the
    /// foreground (`--debug`) so their logs are the node's files.
    pub fn start_ha(&mut self, i: usize) {
        self.start_watchdog_mux(i);
        self.start_daemon(i, "crm");
        self.start_daemon(i, "lrm");
    }

    /// watchdog-mux of node `i` on its recording device (emptied: the
    /// device rule watches it from its first keep-alive); returns once
    /// its socket is there.
    pub fn start_watchdog_mux(&mut self, i: usize) {
        let pn = &mut self.nodes[i - 1];
        let device = pn.dir.join("watchdog-device");
        fs::write(&device, b"").unwrap();
        let device = device.display().to_string();
        let node = pn.node.as_ref().expect("node is down");
        let pid = node.spawn(
            "watchdog-mux",
            &["nice", "-n", HA_NICE, "watchdog-mux", "--device", &device],
        );
        let sock = node.path("/run/watchdog-mux.sock");
        wait_until(
            "watchdog-mux's socket",
            secs(10),
            || fs::read_to_string(pn.dir.join("watchdog-mux.log")).unwrap_or_default(),
            || sock.exists().then_some(()),
        );
        pn.pids.insert("watchdog-mux".into(), pid);
    }

    /// `pve-ha-crm` or `pve-ha-lrm` (`which`: `crm`, `lrm`) of node `i`
    /// in the foreground (`--debug`), its log the node's `<which>.log`.
    pub fn start_daemon(&mut self, i: usize, which: &str) {
        let pn = &mut self.nodes[i - 1];
        let argv0 = format!("pve-ha-{which}");
        let pid = pn
            .up()
            .spawn(which, &["nice", "-n", HA_NICE, &argv0, "start", "--debug"]);
        pn.pids.insert(which.into(), pid);
    }

    /// Boots every node and starts its stack.
    pub fn start_all(&mut self) {
        for i in 1..=self.nodes.len() {
            self.boot(i);
        }
        for i in 1..=self.nodes.len() {
            self.start_engines(i);
        }
        for i in 1..=self.nodes.len() {
            self.start_ha(i);
        }
    }

    /// Resets node `i`: every process of it ends at once (on a drill
    /// cluster also its switch port, and the reset is journaled).
    pub fn reset(&mut self, i: usize) {
        if let Some(d) = &self.drill {
            d.watcher.unregister(i);
        }
        if let Some(mut node) = self.nodes[i - 1].node.take() {
            if let Some(d) = &self.drill {
                let host = node.host_pid();
                if let Some(unshare) = watchdog::ppid(host) {
                    watchdog::reset_node(host, unshare, self.switch.pid(), i);
                }
                node.reset();
                watchdog::record_reset(
                    &d.journal.join("resets.log"),
                    &self.nodes[i - 1].name,
                    watchdog::now(),
                );
            } else {
                node.reset();
            }
        }
    }

    /// Forgets nodes whose pid 1 has ended (reset by the watcher);
    /// returns their indices.
    pub fn reap(&mut self) -> Vec<usize> {
        let mut gone = Vec::new();
        for pn in &mut self.nodes {
            if let Some(node) = pn.node.as_mut() {
                if !node.running() {
                    pn.node = None;
                    gone.push(pn.index);
                }
            }
        }
        gone
    }

    /// Cuts (or restores) node `i`'s link to the switch.
    pub fn set_link(&self, i: usize, up: bool) {
        let port = format!("pvh{i}");
        sh(
            self.switch.nsenter(&["--net"]).args([
                "ip",
                "link",
                "set",
                &port,
                if up { "up" } else { "down" },
            ]),
            "link",
        );
    }

    /// `ha-manager ARGS` on node `i`.
    pub fn ha_manager(&self, i: usize, args: &[&str]) -> Output {
        let mut argv = vec!["ha-manager"];
        argv.extend_from_slice(args);
        self.nodes[i - 1].up().run(&argv, secs(30))
    }

    /// The nodes (1-based) where the `heartbeat:Dummy` instance `name`
    /// is active: its state file exists in the node's `/run`.
    pub fn dummy_active(&self, name: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .filter(|pn| {
                pn.node.as_ref().is_some_and(|n| {
                    n.path(&format!("/run/resource-agents/Dummy-{name}.state"))
                        .exists()
                })
            })
            .map(|pn| pn.index)
            .collect()
    }

    /// Waits until `probe` gives a value, at most `within`.
    pub fn wait<T>(&self, what: &str, within: Duration, probe: impl FnMut() -> Option<T>) -> T {
        wait_until(what, within, || self.scene(), probe)
    }

    /// Everything a failing wait shows: `ha-manager status` from a
    /// running node and the tail of every log.
    pub fn scene(&self) -> String {
        let mut s = String::new();
        if let Some(pn) = self.nodes.iter().find(|pn| pn.node.is_some()) {
            let st = self.ha_manager(pn.index, &["status"]);
            let _ = writeln!(
                s,
                "--- ha-manager status on {}:\n{}{}",
                pn.name, st.stdout, st.stderr
            );
        }
        for pn in &self.nodes {
            for log in ["crm", "lrm", "watchdog-mux", "corosync", "etcd"] {
                let text =
                    fs::read_to_string(pn.dir.join(format!("{log}.log"))).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                let _ = writeln!(s, "--- {} {log}.log (last lines):", pn.name);
                for l in tail.iter().rev() {
                    let _ = writeln!(s, "{l}");
                }
            }
        }
        s
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The watcher and the probe stop first: nothing resets or probes
        // a node that is being torn down.
        drop(self.drill.take());
        for pn in &mut self.nodes {
            if let Some(mut node) = pn.node.take() {
                node.reset();
            }
        }
        self.switch.kill();
        if thread::panicking() || std::env::var_os("PVE_HA_KEEP_CLUSTER").is_some() {
            eprintln!("notice: keeping {} for inspection", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// corosync's configuration: knet without crypto, a 1 s token, the
/// nodes by name and id, votequorum, log to standard error — and never
/// a watchdog device (corosync would open `/dev/watchdog` by default; the
/// node's setup also covers any such device with `/dev/null`).
fn corosync_conf(n: usize) -> String {
    let mut s = String::from(
        "totem {\n  version: 2\n  cluster_name: pveha\n  transport: knet\n  token: 1000\n  \
         crypto_cipher: none\n  crypto_hash: none\n}\nnodelist {\n",
    );
    for i in 1..=n {
        let _ = write!(
            s,
            "  node {{\n    ring0_addr: {NET}.{i}\n    name: node{i}\n    nodeid: {i}\n  }}\n"
        );
    }
    s.push_str(
        "}\nquorum {\n  provider: corosync_votequorum\n}\n\
         resources {\n  watchdog_device: off\n}\n\
         system {\n  sched_rr: no\n  move_to_root_cgroup: no\n}\n\
         logging {\n  to_stderr: yes\n  \
         to_syslog: no\n  to_logfile: no\n  timestamp: on\n}\n",
    );
    s
}
