//! `CorosyncMembership` against real corosync daemons (07 §2.4–§2.5,
//! §3.4): a three-node cluster, each node in its own mount, network, UTS
//! and pid namespaces, joined by veth pairs to a bridge in a hub network
//! namespace. Every address used lives inside namespaces this test made.
//! Each node has private tmpfs mounts on `/run`, `/dev/shm` (libqb's IPC
//! buffers), `/var/lib/corosync` and `/var/log/corosync`; the IPC sockets
//! themselves are abstract, hence private to the node's network
//! namespace. corosync runs with `watchdog_device: off`, and any
//! `/dev/watchdog*` is covered by `/dev/null` in the node's mounts.
//!
//! The library is called from inside node1: `nsenter` starts this very
//! test binary there, filtered to the ignored `membership_helper` entry,
//! which keeps one `CorosyncMembership` for its whole life and answers
//! one query per line of input. So a corosync restart on node1 is seen
//! by the same value, which must reconnect by itself.
//!
//! Needs root, util-linux, iproute2 (bridge and veth links) and corosync;
//! missing any is a skip, or a failure under `CI=true`. Takes about
//! 12 s (corosync's membership changes run on its 1 s token; a graceful
//! corosync stop takes a few seconds).

#![cfg(feature = "plain-linux")]

mod common;

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use common::ns::{self, Namespace};
use pve_ha::cluster::{CorosyncMembership, Membership};

const HELPER_VAR: &str = "PVE_HA_COROSYNC_HELPER";

/// The helper's bound on one query.
const QUERY_TIMEOUT: Duration = Duration::from_millis(1000);

/// How much later than its bound a query may return on a busy machine
/// (thread wake-ups), and how long an immediate answer may take.
const SLACK: Duration = Duration::from_millis(750);

/// A node's namespaces.
const NODE_FLAGS: &[&str] = &["--mount", "--net", "--uts", "--pid", "--mount-proc"];

/// The private mounts every node makes before corosync starts.
const NODE_MOUNTS: &str = "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm \
     && mount -t tmpfs tmpfs /var/lib/corosync && mount -t tmpfs tmpfs /var/log/corosync";

/// Pid 1 of a node (bash, `$0` = node name, `$1` = scratch directory):
/// its mounts, loopback, host name, then one command a line from the
/// test — `start`, `stop`, `freeze`, `thaw` of its corosync — each
/// answered with one line. At the end of its input it exits, ending
/// every process of the node.
const NODE_INIT: &str = r#"set -u
dir=$1
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /dev/shm \
    && mount -t tmpfs tmpfs /var/lib/corosync && mount -t tmpfs tmpfs /var/log/corosync || exit 1
for w in /dev/watchdog*; do
    if [ -e "$w" ]; then mount --bind /dev/null "$w" || exit 1; fi
done
ip link set lo up || exit 1
echo "$0" >/proc/sys/kernel/hostname || exit 1
echo ready
cpid=
while read -r cmd; do
    case $cmd in
    start)
        corosync -f -c "$dir/corosync.conf" >>"$dir/$0-corosync.log" 2>&1 &
        cpid=$!
        echo "started $cpid"
        ;;
    stop)
        kill "$cpid"
        i=0
        while kill -0 "$cpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$cpid" 2>/dev/null
        wait "$cpid"
        echo "stopped $?"
        ;;
    freeze) kill -STOP "$cpid" && echo frozen ;;
    thaw) kill -CONT "$cpid" && echo thawed ;;
    *) echo "unknown $cmd" ;;
    esac
done
"#;

/// Pid 1 of the hub: a bridge, then it waits for the end of its input.
const HUB_INIT: &str = "ip link set lo up && ip link add br0 type bridge \
     && ip link set br0 up && echo ready && exec cat >/dev/null";

const NODES: [&str; 3] = ["node1", "node2", "node3"];

fn address(i: usize) -> String {
    format!("10.213.0.{}", i + 1)
}

fn corosync_conf() -> String {
    let mut nodes = String::new();
    for (i, name) in NODES.iter().enumerate() {
        let _ = write!(
            nodes,
            "  node {{\n    name: {name}\n    nodeid: {}\n    ring0_addr: {}\n  }}\n",
            i + 1,
            address(i)
        );
    }
    format!(
        "totem {{\n  version: 2\n  cluster_name: hatest\n  transport: knet\n  \
         crypto_cipher: none\n  crypto_hash: none\n  token: 1000\n}}\n\
         nodelist {{\n{nodes}}}\n\
         quorum {{\n  provider: corosync_votequorum\n}}\n\
         resources {{\n  watchdog_device: off\n}}\n\
         system {{\n  sched_rr: no\n  move_to_root_cgroup: no\n}}\n\
         logging {{\n  to_stderr: yes\n  to_syslog: no\n  to_logfile: no\n  timestamp: on\n}}\n"
    )
}

/// Whether everything the test needs is here (else a skip, a failure
/// under CI).
fn available() -> bool {
    let what = "the corosync membership test";
    let have_corosync = Command::new("corosync")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_corosync {
        common::skip(what, "corosync is not installed");
        return false;
    }
    ns::available(
        what,
        NODE_FLAGS,
        &format!(
            "{NODE_MOUNTS} && ip link add br0 type bridge \
             && ip link add name probe0 type veth peer name probe1 && nsenter --version >/dev/null"
        ),
    )
}

/// Runs a short command to its end, at most `within`.
fn run(cmd: &mut Command, within: Duration) {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("{what} failed ({status}): {err}");
            }
            return;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {within:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Lines a child writes on stdout, through a channel (so reads are
/// bounded).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the next line starting with `prefix`, at most `within`.
fn expect_line(rx: &Receiver<String>, prefix: &str, within: Duration, who: &str) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) => {}
            Err(e) => panic!("{who}: no `{prefix}` line within {within:?} ({e})"),
        }
    }
}

/// One node: its namespaces and pid 1's command channel.
struct Node {
    name: String,
    ns: Namespace,
    stdin: ChildStdin,
    replies: Receiver<String>,
}

impl Node {
    fn boot(name: &str, dir: &Path) -> Node {
        let mut cmd = ns::unshare(NODE_FLAGS);
        cmd.args(["bash", "-c", NODE_INIT, name])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join(format!("{name}-init.err"))).expect("init.err"));
        let mut ns = Namespace::spawn(cmd);
        let stdin = ns.child().stdin.take().expect("piped stdin");
        let replies = lines_of(ns.child());
        expect_line(&replies, "ready", Duration::from_secs(10), name);
        Node {
            name: name.to_string(),
            ns,
            stdin,
            replies,
        }
    }

    /// Sends a command to pid 1 and waits for its answer.
    fn command(&mut self, cmd: &str, answer: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap_or_else(|e| panic!("{}: pid 1 gone: {e}", self.name));
        expect_line(&self.replies, answer, Duration::from_secs(20), &self.name)
    }

    fn start(&mut self) {
        self.command("start", "started");
    }

    fn stop(&mut self) {
        self.command("stop", "stopped");
    }
}

/// The library running inside a node (this test binary in helper mode).
struct Helper {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<String>,
}

impl Helper {
    fn start(node: &Node, dir: &Path) -> Helper {
        let mut child = node
            .ns
            .nsenter(&["--mount", "--net", "--uts", "--pid"])
            .arg(std::env::current_exe().expect("test binary"))
            .args(["membership_helper", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads=1", "-q"])
            .env(HELPER_VAR, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("helper.err")).expect("helper.err"))
            .spawn()
            .expect("nsenter the helper");
        let stdin = child.stdin.take().expect("piped stdin");
        let answers = lines_of(&mut child);
        Helper {
            child,
            stdin,
            answers,
        }
    }

    /// One query: how long it took inside the helper, and its answer.
    fn ask(&mut self) -> (Duration, String) {
        writeln!(self.stdin, "members").expect("helper gone");
        let line = expect_line(&self.answers, "ANSWER ", Duration::from_secs(10), "helper");
        let mut words = line.splitn(3, ' ').skip(1);
        let ms: u64 = words.next().and_then(|w| w.parse().ok()).expect("elapsed");
        (
            Duration::from_millis(ms),
            words.next().unwrap_or("").to_string(),
        )
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole cluster. Fields drop in order: helper, nodes, hub.
struct Cluster {
    dir: PathBuf,
    helper: Option<Helper>,
    nodes: Vec<Node>,
    _hub: Namespace,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = std::env::temp_dir().join(format!("pve-ha-corosync-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        fs::write(dir.join("corosync.conf"), corosync_conf()).expect("corosync.conf");

        let mut cmd = ns::unshare(&["--net"]);
        cmd.args(["sh", "-c", HUB_INIT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("hub.err")).expect("hub.err"));
        let mut hub = Namespace::spawn(cmd);
        let hub_ready = lines_of(hub.child());
        expect_line(&hub_ready, "ready", Duration::from_secs(10), "hub");

        let mut nodes = Vec::new();
        for (i, name) in NODES.iter().enumerate() {
            let node = Node::boot(name, &dir);
            let port = format!("v{}", i + 1);
            let secs = Duration::from_secs(10);
            let in_hub = |args: &[&str]| {
                let mut c = hub.nsenter(&["--net"]);
                c.arg("ip").args(args);
                c
            };
            run(
                &mut in_hub(&[
                    "link", "add", "name", "eth0", "type", "veth", "peer", "name", &port,
                ]),
                secs,
            );
            run(
                &mut in_hub(&["link", "set", "eth0", "netns", &node.ns.pid().to_string()]),
                secs,
            );
            run(&mut in_hub(&["link", "set", &port, "master", "br0"]), secs);
            run(&mut in_hub(&["link", "set", &port, "up"]), secs);
            let cidr = format!("{}/24", address(i));
            let in_node = |args: &[&str]| {
                let mut c = node.ns.nsenter(&["--net"]);
                c.arg("ip").args(args);
                c
            };
            run(&mut in_node(&["addr", "add", &cidr, "dev", "eth0"]), secs);
            run(&mut in_node(&["link", "set", "eth0", "up"]), secs);
            nodes.push(node);
        }
        Cluster {
            dir,
            helper: None,
            nodes,
            _hub: hub,
        }
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("a node of the cluster")
    }

    /// corosync's logs, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for name in NODES {
            let log = fs::read_to_string(self.dir.join(format!("{name}-corosync.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let _ = writeln!(out, "--- {name} corosync (last lines) ---");
            for l in tail.iter().rev() {
                let _ = writeln!(out, "{l}");
            }
        }
        out
    }

    fn helper(&mut self) -> &mut Helper {
        self.helper.as_mut().expect("helper started")
    }

    /// Asks until the answer is `want`; fails after `within` with the
    /// last answer and the logs.
    fn wait_for(&mut self, want: &str, within: Duration) -> Duration {
        let t0 = Instant::now();
        let mut last = String::new();
        while t0.elapsed() < within {
            let (took, answer) = self.helper().ask();
            assert!(took <= QUERY_TIMEOUT + SLACK, "a query took {took:?}");
            if answer == want {
                return t0.elapsed();
            }
            last = answer;
            thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "waited {within:?} for `{want}`, last answer `{last}`\n{}",
            self.logs()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.helper = None;
        self.nodes.clear();
        if thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "notice: keeping {} for inspection",
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

const ALL_ONLINE: &str = "ok node1 quorate node1=1:on node2=2:on node3=3:on";
const ALONE: &str = "ok node1 not-quorate node1=1:on node2=2:off node3=3:off";

#[test]
fn membership_and_quorum_follow_corosync() {
    if !available() {
        return;
    }
    let mut cluster = Cluster::new();
    for name in NODES {
        cluster.node(name).start();
    }
    let node1 = &cluster.nodes[0];
    cluster.helper = Some(Helper::start(node1, &cluster.dir));
    let formed = cluster.wait_for(ALL_ONLINE, Duration::from_secs(30));

    // The minority: node1 alone is not quorate and sees the others offline.
    cluster.node("node2").stop();
    cluster.node("node3").stop();
    let split = cluster.wait_for(ALONE, Duration::from_secs(30));

    // A stuck corosync: the query gives up within its bound, the next one
    // does not wait behind it, and a thawed corosync answers again.
    cluster.node("node1").command("freeze", "frozen");
    let (took, answer) = cluster.helper().ask();
    assert_eq!(answer, "err corosync query: no answer within 1s");
    assert!(
        took >= QUERY_TIMEOUT && took < QUERY_TIMEOUT + SLACK,
        "a stuck query took {took:?}"
    );
    let (took, answer) = cluster.helper().ask();
    assert_eq!(
        answer,
        "err corosync query: an earlier query has not returned yet"
    );
    assert!(took < SLACK, "busy took {took:?}");
    cluster.node("node1").command("thaw", "thawed");
    cluster.wait_for(ALONE, Duration::from_secs(10));

    // corosync down: an error at once, never a hang.
    cluster.node("node1").stop();
    let (took, answer) = cluster.helper().ask();
    assert!(answer.starts_with("err "), "corosync down: {answer}");
    assert!(took < QUERY_TIMEOUT, "corosync down took {took:?}");

    // Restarted: the same value reconnects by itself.
    for name in NODES {
        cluster.node(name).start();
    }
    let rejoined = cluster.wait_for(ALL_ONLINE, Duration::from_secs(30));

    let _ = writeln!(
        std::io::stderr(),
        "corosync membership: formed in {formed:?}, minority seen in {split:?}, \
         rejoined in {rejoined:?}"
    );
}

/// The library inside a node: one `CorosyncMembership` for the whole
/// run, one query per input line, one `ANSWER <ms> <text>` line each.
#[test]
#[ignore = "helper process of membership_and_quorum_follow_corosync"]
fn membership_helper() {
    if std::env::var_os(HELPER_VAR).is_none() {
        return;
    }
    let membership = CorosyncMembership::with_timeout(QUERY_TIMEOUT);
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() != "members" {
            continue;
        }
        let t0 = Instant::now();
        let answer = membership.members();
        let took = t0.elapsed().as_millis();
        let text = match answer {
            Ok(m) => {
                let mut t = format!(
                    "ok {} {}",
                    m.nodename.as_deref().unwrap_or("-"),
                    match m.quorate {
                        Some(true) => "quorate",
                        Some(false) => "not-quorate",
                        None => "quorate-unknown",
                    }
                );
                for (name, n) in &m.nodes {
                    let _ = write!(
                        t,
                        " {name}={}:{}",
                        n.id,
                        if n.online { "on" } else { "off" }
                    );
                }
                t
            }
            Err(e) => format!("err {e}"),
        };
        let mut out = stdout.lock();
        let _ = writeln!(out, "ANSWER {took} {text}");
        let _ = out.flush();
    }
}
