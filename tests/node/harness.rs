//! The node harness: real `pve-ha` processes on simulated Proxmox VE
//! nodes, one Linux namespace world per node.
//!
//! * A [`Node`] is a mount, network, UTS and pid namespace with a tmpfs
//!   on `/run`, loopback up and the node's name as host name. Its pid 1
//!   is a small bash command loop ([`INIT`]) that plays systemd's part:
//!   every command the test sends is started *by pid 1*, so a daemon's
//!   `start`/`stop` sees its parent is pid 1 and behaves as under systemd
//!   (07 §6.1), and pid 1 reaps what daemons and guests leave behind.
//!   Foreground commands ([`Node::run`]) report their exit status and
//!   output; background ones ([`Node::spawn`]) write a log file the test
//!   follows ([`Node::follow`]). Killing pid 1 ends every process of the
//!   node at once: that is both the cleanup (also when a test fails, from
//!   `Drop`) and the "reset" of a failed node ([`Node::reset`]).
//! * A [`World`] is what the nodes share: one `PVE_HA_ROOT` directory in
//!   pmxcfs's layout (07 §3), the argv[0] links to the built binary, the
//!   fake guest helper (`tests/fixtures/node/guest-helper`) and its call
//!   log. The world stands in for pmxcfs and corosync and for nothing
//!   else: it writes `.members` (quorate, nodes online or not) and keeps
//!   `.vmlist` consistent with `nodes/*/{qemu-server,lxc}/*.conf` (a
//!   background thread, as pmxcfs does when a config moves). It never
//!   touches lock directories or status files: the daemons own those.
//!
//! Every wait is bounded; a failing wait shows the whole scene (status
//! files, helper calls, each daemon's log) and keeps the scratch
//! directory for inspection.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::ns::{self, Namespace};
use crate::common::transcript::{no_probe, Transcript};

/// The binary under test; every role is a link to it.
pub const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");

/// The argv[0] names the nodes run (`pve-ha-lrm start` etc.).
const TOOLS: &[&str] = &[
    "pve-ha",
    "pve-ha-crm",
    "pve-ha-lrm",
    "ha-manager",
    "watchdog-mux",
];

/// A node's namespaces: its own mounts (`/run`), network (its own
/// `/proc/net/unix`, where containers are looked for), host name and
/// process numbers (`/proc` remounted, so pid files hold the node's pids).
const FLAGS: &[&str] = &["--mount", "--net", "--uts", "--pid", "--mount-proc"];

/// Exactly what a node's pid 1 does before it takes commands.
const PROBE: &str = "mount -t tmpfs tmpfs /run && ip link set lo up \
     && echo probe >/proc/sys/kernel/hostname && nsenter --version >/dev/null";

/// Pid 1 of a node (bash, `$0` = node name, `$1` = output directory).
/// It prints `ready`, then reads one command a line — `ID fg COMMAND` or
/// `ID bg COMMAND`, COMMAND shell-quoted — and answers `ID exit STATUS`
/// when a foreground command has ended, `ID pid PID` when a background
/// one has started. Foreground output goes to `ID.out`/`ID.err`,
/// background output to `ID.log`. At the end of its input (the test is
/// gone) it exits, which ends the node.
const INIT: &str = r#"set -u
mount -t tmpfs tmpfs /run || exit 1
ip link set lo up || exit 1
echo "$0" >/proc/sys/kernel/hostname || exit 1
out=$1
eval "${2:-}" || exit 1
echo ready
while read -r id mode cmd; do
    case $mode in
    fg)
        eval "$cmd" </dev/null >"$out/$id.out" 2>"$out/$id.err"
        echo "$id exit $?"
        ;;
    bg)
        (eval "exec $cmd") </dev/null >>"$out/$id.log" 2>&1 &
        echo "$id pid $!"
        ;;
    esac
done
"#;

/// Whether node worlds can be made here (root, util-linux, iproute2);
/// otherwise a visible skip, or a failure under `CI=true`.
pub fn available(test: &str) -> bool {
    ns::available(&format!("the node end-to-end test {test}"), FLAGS, PROBE)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One word for the node's shell.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The result of a foreground command.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Fails unless the command succeeded.
    pub fn ok(self, what: &str) -> Output {
        assert_eq!(self.code, 0, "{what} failed: {self:#?}");
        self
    }
}

/// What the nodes share: the cluster file system and the tools.
pub struct World {
    /// Scratch directory of the test.
    pub dir: PathBuf,
    /// `PVE_HA_ROOT`, laid out like `/etc/pve`.
    pub root: PathBuf,
    bin: PathBuf,
    /// The fake guest helper's call log.
    pub helper_log: PathBuf,
    /// Node → online, as `.members` says.
    members: Mutex<BTreeMap<String, bool>>,
    /// Serialises `.vmlist` rewrites (test thread and keeper).
    vmlist: Mutex<(u64, String)>,
}

impl World {
    /// A fresh cluster of `nodes`, all online and quorate, no guests;
    /// the `.vmlist` keeper runs until the world is dropped.
    pub fn new(test: &str, nodes: &[&str]) -> Arc<World> {
        let dir = std::env::temp_dir().join(format!("pve-ha-e2e-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let root = dir.join("pve");
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        for tool in TOOLS {
            std::os::unix::fs::symlink(BIN, bin.join(tool)).unwrap();
        }
        fs::create_dir_all(root.join("ha")).unwrap();
        fs::create_dir_all(root.join("priv/lock")).unwrap();
        for node in nodes {
            for sub in ["qemu-server", "lxc"] {
                fs::create_dir_all(root.join("nodes").join(node).join(sub)).unwrap();
            }
            fs::create_dir_all(dir.join(node)).unwrap();
        }
        let world = Arc::new(World {
            helper_log: dir.join("guest-helper.log"),
            dir,
            root,
            bin,
            members: Mutex::new(nodes.iter().map(|n| (n.to_string(), true)).collect()),
            vmlist: Mutex::new((0, String::new())),
        });
        world.write_members();
        world.sync_vmlist();
        let weak: Weak<World> = Arc::downgrade(&world);
        thread::spawn(move || {
            while let Some(world) = weak.upgrade() {
                world.sync_vmlist();
                drop(world);
                thread::sleep(Duration::from_millis(200));
            }
        });
        world
    }

    /// The environment every process of every node gets.
    fn env(&self) -> Vec<(&'static str, String)> {
        let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node/guest-helper");
        vec![
            ("PVE_HA_ROOT", self.root.display().to_string()),
            ("PVE_HA_GUEST_HELPER", helper.display().to_string()),
            ("PVE_HA_E2E_LOG", self.helper_log.display().to_string()),
            // The container stand-in: this test binary's ignored
            // `container_stand_in` entry.
            (
                "PVE_HA_E2E_STANDIN",
                std::env::current_exe().unwrap().display().to_string(),
            ),
            (
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", self.bin.display()),
            ),
            ("RUST_BACKTRACE", "1".to_string()),
        ]
    }

    /// Writes `path` (relative to the root) the way pmxcfs presents a
    /// change: all at once (temporary file and rename).
    fn replace(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        let tmp = self.root.join(format!("{rel}.e2e-tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, &path).unwrap();
    }

    /// `.members` (07 §3.3) without `nodename`: the nodes share the file,
    /// and each daemon names itself by its host name.
    fn write_members(&self) {
        let members = self.members.lock().unwrap();
        let nodelist: serde_json::Map<String, Value> = members
            .iter()
            .enumerate()
            .map(|(i, (name, online))| {
                (
                    name.clone(),
                    json!({"id": i + 1, "online": u8::from(*online), "ip": format!("127.0.0.{}", i + 1)}),
                )
            })
            .collect();
        let text = json!({
            "version": 1,
            "cluster": {"name": "e2e", "version": 1, "nodes": members.len(), "quorate": 1},
            "nodelist": nodelist,
        });
        self.replace(".members", &text.to_string());
    }

    /// What corosync and pmxcfs report when a node is lost or back.
    pub fn set_online(&self, node: &str, online: bool) {
        self.members
            .lock()
            .unwrap()
            .insert(node.to_string(), online);
        self.write_members();
    }

    /// Rewrites `.vmlist` when the guest configs moved (pmxcfs keeps the
    /// list in step with `nodes/*/{qemu-server,lxc}/*.conf`).
    pub fn sync_vmlist(&self) {
        let mut ids = BTreeMap::new();
        for node in fs::read_dir(self.root.join("nodes"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = node.file_name().to_string_lossy().into_owned();
            for (sub, kind) in [("qemu-server", "qemu"), ("lxc", "lxc")] {
                for conf in fs::read_dir(node.path().join(sub))
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let file = conf.file_name().to_string_lossy().into_owned();
                    if let Some(vmid) = file.strip_suffix(".conf") {
                        ids.insert(vmid.to_string(), (name.clone(), kind));
                    }
                }
            }
        }
        let key = format!("{ids:?}");
        let mut state = self.vmlist.lock().unwrap();
        if state.0 > 0 && state.1 == key {
            return;
        }
        state.0 += 1;
        state.1 = key;
        let ids: serde_json::Map<String, Value> = ids
            .into_iter()
            .map(|(vmid, (node, kind))| {
                (
                    vmid,
                    json!({"node": node, "type": kind, "version": state.0}),
                )
            })
            .collect();
        let text = if ids.is_empty() {
            json!({"version": state.0})
        } else {
            json!({"version": state.0, "ids": ids})
        };
        self.replace(".vmlist", &text.to_string());
    }

    /// Creates VM `vmid` on `node` (its config file) and lists it.
    pub fn add_vm(&self, node: &str, vmid: u32) {
        let conf = self
            .root
            .join(format!("nodes/{node}/qemu-server/{vmid}.conf"));
        fs::write(conf, "name: e2e\nmemory: 512\ncores: 1\nsockets: 1\n").unwrap();
        self.sync_vmlist();
    }

    /// Creates container `vmid` on `node` and lists it.
    pub fn add_ct(&self, node: &str, vmid: u32) {
        let conf = self.root.join(format!("nodes/{node}/lxc/{vmid}.conf"));
        fs::write(conf, "hostname: e2e\nmemory: 256\ncores: 1\n").unwrap();
        self.sync_vmlist();
    }

    /// The node whose directory holds VM `vmid`'s config.
    pub fn vm_node(&self, vmid: u32) -> Option<String> {
        fs::read_dir(self.root.join("nodes"))
            .ok()?
            .flatten()
            .find(|n| n.path().join(format!("qemu-server/{vmid}.conf")).exists())
            .map(|n| n.file_name().to_string_lossy().into_owned())
    }

    fn json(&self, rel: &str) -> Value {
        fs::read(self.root.join(rel))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    }

    /// `ha/manager_status`, `null` while absent or unreadable.
    pub fn manager_status(&self) -> Value {
        self.json("ha/manager_status")
    }

    /// `nodes/<node>/lrm_status`, `null` while absent or unreadable.
    pub fn lrm_status(&self, node: &str) -> Value {
        self.json(&format!("nodes/{node}/lrm_status"))
    }

    /// The manager's entry for `sid` (`service_status`).
    pub fn service(&self, sid: &str) -> Value {
        self.manager_status()["service_status"][sid].clone()
    }

    /// The helper's calls so far.
    pub fn helper_calls(&self) -> String {
        fs::read_to_string(&self.helper_log).unwrap_or_default()
    }

    /// Everything a failing wait should show.
    pub fn scene(&self, nodes: &[&Node]) -> String {
        let mut s = String::new();
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let _ = writeln!(s, "scratch directory: {}", self.dir.display());
        let _ = writeln!(s, "manager_status: {}", pretty(&self.manager_status()));
        for node in nodes {
            let _ = writeln!(
                s,
                "{} lrm_status: {}",
                node.name,
                pretty(&self.lrm_status(&node.name))
            );
        }
        let _ = writeln!(
            s,
            "locks: {:?}",
            fs::read_dir(self.root.join("priv/lock"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
                .unwrap_or_default()
        );
        let _ = writeln!(s, "guest helper calls:\n{}", self.helper_calls());
        for node in nodes {
            for log in ["watchdog-mux", "crm", "lrm"] {
                let text =
                    fs::read_to_string(node.dir.join(format!("{log}.log"))).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let _ = writeln!(s, "--- {} {log} (last {} lines)", node.name, tail.len());
                for l in tail.iter().rev() {
                    let _ = writeln!(s, "{l}");
                }
            }
        }
        s
    }
}

impl Drop for World {
    fn drop(&mut self) {
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

/// Polls `probe` every 250 ms until it gives a value; fails after
/// `within` with `what` and the scene.
pub fn wait_until<T>(
    what: &str,
    within: Duration,
    scene: impl Fn() -> String,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("waited {within:?} for {what}\n{}", scene());
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// The command channel to a node's pid 1.
struct Control {
    stdin: ChildStdin,
    replies: Receiver<String>,
    next: u64,
}

/// One simulated Proxmox VE node.
pub struct Node {
    pub name: String,
    /// The node's own scratch directory (command output, logs).
    pub dir: PathBuf,
    ns: Namespace,
    ctl: Mutex<Control>,
    device: PathBuf,
}

impl Node {
    /// Boots `name` in `world`: namespaces, `/run`, loopback, host name,
    /// and pid 1 ready for commands. No daemon runs yet.
    pub fn boot(world: &World, name: &str) -> Node {
        Node::boot_in(&world.dir.join(name), world.env(), name, "")
    }

    /// Boots node `name` with its scratch directory `dir`, the process
    /// environment `env`, and `setup` (shell) run by pid 1 after `/run`,
    /// loopback and the host name, before it takes commands.
    pub fn boot_in(dir: &Path, env: Vec<(&'static str, String)>, name: &str, setup: &str) -> Node {
        let dir = dir.to_path_buf();
        fs::create_dir_all(&dir).unwrap();
        let mut cmd = ns::unshare(FLAGS);
        cmd.args(["bash", "-c", INIT, name])
            .arg(&dir)
            .arg(setup)
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(dir.join("init.err")).unwrap());
        let mut ns = Namespace::spawn(cmd);
        let stdin = ns.child().stdin.take().unwrap();
        let stdout = ns.child().stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        match replies.recv_timeout(secs(10)) {
            Ok(l) if l == "ready" => {}
            other => panic!(
                "{name}: pid 1 did not get ready ({other:?}): {}",
                fs::read_to_string(dir.join("init.err")).unwrap_or_default()
            ),
        }
        Node {
            name: name.to_string(),
            device: dir.join("watchdog-device"),
            dir,
            ns,
            ctl: Mutex::new(Control {
                stdin,
                replies,
                next: 0,
            }),
        }
    }

    /// Sends one command line to pid 1 and waits for its answer.
    fn send(&self, id: &str, mode: &str, argv: &[&str], within: Duration) -> String {
        let mut ctl = self.ctl.lock().unwrap();
        let cmd: Vec<String> = argv.iter().map(|w| quote(w)).collect();
        writeln!(ctl.stdin, "{id} {mode} {}", cmd.join(" "))
            .unwrap_or_else(|e| panic!("{}: pid 1 is gone ({e})", self.name));
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match ctl.replies.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(&format!("{id} ")) {
                        return rest.to_string();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: `{}` did not finish within {within:?}",
                        self.name,
                        argv.join(" ")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{}: pid 1 ended during `{}`", self.name, argv.join(" "))
                }
            }
        }
    }

    /// Runs `argv` as a child of pid 1 and waits for it (at most
    /// `within`, else the test fails).
    pub fn run(&self, argv: &[&str], within: Duration) -> Output {
        let id = {
            let mut ctl = self.ctl.lock().unwrap();
            ctl.next += 1;
            format!("cmd{}", ctl.next)
        };
        let reply = self.send(&id, "fg", argv, within);
        let code = reply
            .strip_prefix("exit ")
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{}: odd answer {reply:?}", self.name));
        let read = |ext: &str| {
            fs::read_to_string(self.dir.join(format!("{id}.{ext}"))).unwrap_or_default()
        };
        Output {
            code,
            stdout: read("out"),
            stderr: read("err"),
        }
    }

    /// Starts `argv` in the background as a child of pid 1, its output
    /// appended to `<name>.log`; returns its pid in the node.
    pub fn spawn(&self, name: &str, argv: &[&str]) -> i32 {
        let reply = self.send(name, "bg", argv, secs(10));
        reply
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{}: odd answer {reply:?}", self.name))
    }

    /// Follows `<name>.log` (a background command's output).
    pub fn follow(&self, name: &str) -> Transcript {
        Transcript::follow(self.dir.join(format!("{name}.log")), no_probe)
    }

    /// `path` (absolute, free of absolute symbolic links such as
    /// `/var/run`) as the node sees it.
    pub fn path(&self, path: &str) -> PathBuf {
        self.ns.path(path)
    }

    /// The node's watchdog recording device (`.` per keep-alive, `V` on
    /// a magic close).
    pub fn device(&self) -> Vec<u8> {
        fs::read(&self.device).unwrap_or_default()
    }

    /// Starts watchdog-mux on the recording device and waits until its
    /// socket is there. Each line of the returned transcript carries the
    /// device's length when it was seen.
    pub fn start_watchdog_mux(&self) -> Transcript {
        fs::write(&self.device, b"").unwrap();
        let device = self.device.display().to_string();
        self.spawn("watchdog-mux", &["watchdog-mux", "--device", &device]);
        let dev = self.device.clone();
        let log = Transcript::follow(self.dir.join("watchdog-mux.log"), move || {
            fs::metadata(&dev).map_or(0, |m| m.len() as usize)
        });
        log.wait_suffix("watchdog timeout and identity skipped", secs(10));
        let sock = self.path("/run/watchdog-mux.sock");
        wait_until(
            "watchdog-mux's socket",
            secs(10),
            || format!("{:#?}", log.texts()),
            || sock.exists().then_some(()),
        );
        log
    }

    /// Whether process `pid` of the node runs (exists, not a zombie).
    pub fn alive(&self, pid: i32) -> bool {
        fs::read_to_string(self.path(&format!("/proc/{pid}/stat")))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
            .unwrap_or(false)
    }

    /// The pid a pid file of the node names.
    pub fn pid_file(&self, path: &str) -> Option<i32> {
        fs::read_to_string(self.path(path))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The pid of VM `vmid`'s process on this node if one runs that
    /// `check_running` would accept (05 §12.2): named by the pid file, a
    /// command line starting with a word ending in `kvm` and giving that
    /// pid file as `-pidfile`, not a zombie.
    pub fn guest_pid(&self, vmid: u32) -> Option<i32> {
        let pidfile = format!("/var/run/qemu-server/{vmid}.pid");
        // Read through `/run`: the absolute link `/var/run` would be
        // resolved in the host's tree, not the node's.
        let pid = self.pid_file(&format!("/run/qemu-server/{vmid}.pid"))?;
        let cmdline = fs::read(self.path(&format!("/proc/{pid}/cmdline"))).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let kvm = args.first().is_some_and(|a| a.ends_with(b"kvm"));
        let named = args
            .windows(2)
            .any(|w| w[0] == b"-pidfile" && w[1] == pidfile.as_bytes());
        (kvm && named && self.alive(pid)).then_some(pid)
    }

    /// Whether container `vmid` runs on this node as `check_running` sees
    /// it (05 §12.3): its monitor's abstract command socket is listed in
    /// the node's `/proc/net/unix` (read through pid 1, whose network
    /// namespace it is).
    pub fn container_running(&self, vmid: u32) -> bool {
        let want = format!("@/var/lib/lxc/{vmid}/command");
        fs::read_to_string(format!("/proc/{}/net/unix", self.ns.pid()))
            .map(|t| {
                t.lines()
                    .skip(1)
                    .any(|l| l.split_whitespace().nth(7) == Some(want.as_str()))
            })
            .unwrap_or(false)
    }

    /// Pid 1 of the node as the host sees it (for `nsenter` and `ip
    /// link … netns`).
    pub fn host_pid(&self) -> i32 {
        self.ns.pid()
    }

    /// The node's "reset": every process of it dies at once.
    pub fn reset(&mut self) {
        self.ns.kill();
    }

    /// Whether the node still runs.
    pub fn running(&mut self) -> bool {
        self.ns.running()
    }
}

/// How a daemon is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `start --debug` in the background: stays in the foreground and
    /// logs to standard error, which the test follows.
    Debug,
    /// `start` run by pid 1 (the unit's `ExecStart`): forks, and returns
    /// once the daemon's pid file is written (07 §6.2).
    Forking,
}

impl Node {
    /// Starts `pve-ha-crm` or `pve-ha-lrm` (`daemon`) and waits for its
    /// pid file; returns its log (empty for a forking start, whose
    /// standard error is `/dev/null`) and its pid.
    pub fn start_daemon(&self, daemon: &str, how: Start) -> (Transcript, i32) {
        let short = daemon.trim_start_matches("pve-ha-");
        let pidfile = format!("/run/{daemon}.pid");
        match how {
            Start::Debug => {
                self.spawn(short, &[daemon, "start", "--debug"]);
            }
            Start::Forking => {
                let out = self.run(&[daemon, "start"], secs(30));
                assert_eq!(out.code, 0, "{}: {daemon} start: {out:#?}", self.name);
                assert!(
                    self.pid_file(&pidfile).is_some(),
                    "{}: {daemon} start returned before its pid file was written",
                    self.name
                );
            }
        }
        let log = self.follow(short);
        let pid = wait_until(
            &format!("{}: {daemon}'s pid file", self.name),
            secs(15),
            || format!("{:#?}", log.texts()),
            || self.pid_file(&pidfile).filter(|&p| self.alive(p)),
        );
        (log, pid)
    }
}
