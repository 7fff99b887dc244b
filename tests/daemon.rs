//! `pve-ha-crm` and `pve-ha-lrm` as real processes (07 §6–§7).
//!
//! Each test runs a "node": its own mount and pid namespaces with its own
//! `/proc` and a tmpfs on `/run`, whose pid 1 is a shell reading commands from this test. So
//! the daemons see their parent as pid 1, exactly as under systemd: `start`
//! daemonizes and `stop` stops, with the real `/run/<name>.pid` and
//! `.pid.lock` paths.
//!
//! The daemon processes are this very test binary, filtered to the
//! ignored `daemon_process` entry, which runs the real command line
//! (`pve_ha::cli::daemon::main_with`) with a simulated one-node backend
//! (the live simulator's `SimEnv` on a 10× clock) logging to a file. The
//! pve-ha binary itself plays `status`, `stop`, the refused second
//! `start` and the error exit when its real environment cannot be made.
//!
//! Needs root and `unshare` (util-linux). Under `CI=true` their absence is
//! a failure; elsewhere the tests skip with a notice.

mod common;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use pve_ha::daemon::{Backend, BackendError, Role};
use pve_ha::env::{Env, LogLevel};
use pve_ha::sim::env::SimEnv;
use pve_ha::sim::hardware::{Hardware, Life, NodeHardware, RawService};
use pve_ha::sim::live::clock::LiveClock;
use pve_ha::sim::live::daemons::thread_pool;
use pve_ha::sim::scenario::Scenario;

const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");
const ARGV_VAR: &str = "DAEMON_TEST_ARGV";
const LOG_VAR: &str = "DAEMON_TEST_LOG";
const HANG_VAR: &str = "DAEMON_TEST_HANG";

/// A node's namespaces: its own mounts (`/run`) and process numbers.
const FLAGS: &[&str] = &["--mount", "--pid", "--mount-proc"];

/// Whether the namespace tests can run here (see the module doc).
fn namespaces_available(test: &str) -> bool {
    common::ns::available(
        &format!("{test} (daemon namespace test)"),
        FLAGS,
        "mount -t tmpfs tmpfs /run",
    )
}

/// A node: namespaces whose pid 1 is a shell run by the test.
struct Node {
    dir: PathBuf,
    shell: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// What one command of the node's shell printed, and its status.
#[derive(Debug)]
struct Out {
    rc: i32,
    stdout: String,
    stderr: String,
}

impl Node {
    fn new(name: &str) -> Option<Node> {
        if !namespaces_available(name) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("daemon-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut shell = common::ns::unshare(FLAGS)
            .args(["sh", "-c"])
            .arg("mount -t tmpfs tmpfs /run && exec sh")
            .env("T", std::env::current_exe().unwrap())
            .env("BIN", BIN)
            .env(LOG_VAR, dir.join("log"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let stdin = shell.stdin.take().unwrap();
        let stdout = BufReader::new(shell.stdout.take().unwrap());
        Some(Node {
            dir,
            shell,
            stdin,
            stdout,
        })
    }

    /// Runs `script` in the pid-1 shell (its children have parent 1).
    fn sh(&mut self, script: &str) -> Out {
        let (o, e) = (self.dir.join("out"), self.dir.join("err"));
        writeln!(
            self.stdin,
            "{{ {script}\n}} >'{}' 2>'{}' </dev/null; echo \"__rc $?\"",
            o.display(),
            e.display()
        )
        .unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "shell died");
            if let Some(rc) = line.trim_end().strip_prefix("__rc ") {
                return Out {
                    rc: rc.parse().unwrap(),
                    stdout: fs::read_to_string(o).unwrap_or_default(),
                    stderr: fs::read_to_string(e).unwrap_or_default(),
                };
            }
        }
    }

    /// The command line that starts a daemon process of this test
    /// binary with `argv` (e.g. `pve-ha-crm start`).
    fn daemon_cmd(argv: &str) -> String {
        format!(
            "{ARGV_VAR}='{argv}' \"$T\" daemon_process --exact --ignored --nocapture \
             --test-threads=1 -q"
        )
    }

    /// Starts a daemonizing `start` and returns the status of the command
    /// and the pid file's content read right after it returned.
    fn start(&mut self, role: Role, env: &str) -> (Out, Option<i32>) {
        let name = role.name();
        let out = self.sh(&format!(
            "{env} {} >/dev/null; echo \"start $?\"; cat /run/{name}.pid",
            Self::daemon_cmd(&format!("{name} start"))
        ));
        let pid = out
            .stdout
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok());
        (out, pid)
    }

    fn status(&mut self, role: Role) -> String {
        let out = self.sh(&format!("\"$BIN\" {} status", short(role)));
        assert_eq!(out.rc, 0, "{out:?}");
        out.stdout.trim().to_string()
    }

    /// The log lines (`<level> <message>`) the daemon processes wrote.
    fn log(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until the log has `line`.
    fn wait_log(&self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().iter().any(|l| l == line) {
            assert!(
                Instant::now() < deadline,
                "waited for {line:?}; log: {:#?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `pid` (of the node's namespace) is gone or a zombie.
    fn wait_gone(&mut self, pid: i32, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let out = self.sh(&format!(
                "grep -q '^State:[[:space:]]*[ZX]' /proc/{pid}/status 2>/dev/null || \
                 ! test -e /proc/{pid}"
            ));
            if out.rc == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "pid {pid} still runs");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn run_files(&mut self) -> String {
        self.sh("ls /run").stdout
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Killing the namespace's init ends every process in it.
        let _ = self.shell.kill();
        let _ = self.shell.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn short(role: Role) -> &'static str {
    match role {
        Role::Crm => "crm",
        Role::Lrm => "lrm",
    }
}

/// Asserts that `want` occur in `lines` in this order (others between).
fn assert_in_order(lines: &[String], want: &[&str]) {
    let mut at = 0;
    for w in want {
        match lines[at..].iter().position(|l| l == w) {
            Some(i) => at += i + 1,
            None => panic!("{w:?} missing (in order {want:#?}) in {lines:#?}"),
        }
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn crm_start_daemonizes_and_stop_ends_it_gracefully() {
    let Some(mut node) = Node::new("crm-cycle") else {
        return;
    };
    assert_eq!(node.status(Role::Crm), "stopped");
    let (out, pid) = node.start(Role::Crm, "");
    assert!(out.stdout.starts_with("start 0\n"), "{out:?}");
    // The pid file was there when the parent exited, naming the daemon.
    let pid = pid.unwrap_or_else(|| panic!("no pid file after start: {out:?}"));
    assert!(pid > 1);
    assert_eq!(node.status(Role::Crm), "running");
    let lock = node.sh("cat /run/pve-ha-crm.pid.lock; echo x");
    assert_eq!(lock.stdout, "x\n", "the lock file is empty");
    node.wait_log("info status change wait_for_quorum => master", secs(30));

    let begun = Instant::now();
    let out = node.sh("\"$BIN\" crm stop");
    assert_eq!((out.rc, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(begun.elapsed() < secs(60));
    node.wait_gone(pid, secs(5));
    assert_eq!(node.status(Role::Crm), "stopped");
    assert_eq!(node.run_files(), "", "pid and lock file removed");
    assert_in_order(
        &node.log(),
        &[
            "info starting server",
            "info status change startup => wait_for_quorum",
            "info status change wait_for_quorum => master",
            "info received signal TERM",
            "info server received shutdown request",
            "info voluntary release CRM lock",
            "info server stopped",
        ],
    );
    // A second stop finds nothing to stop.
    let out = node.sh("\"$BIN\" crm stop");
    assert_eq!((out.rc, out.stderr.as_str()), (0, ""), "{out:?}");
}

#[test]
fn a_second_start_is_refused_by_the_instance_lock() {
    let Some(mut node) = Node::new("second-start") else {
        return;
    };
    let (out, pid) = node.start(Role::Lrm, "");
    let pid = pid.unwrap_or_else(|| panic!("no pid file: {out:?}"));
    let begun = Instant::now();
    let out = node.sh("\"$BIN\" lrm start");
    // The lock is retried for 5 s before giving up.
    assert!(begun.elapsed() >= secs(4), "{:?}", begun.elapsed());
    assert_eq!(out.rc, 255, "{out:?}");
    let want = format!(
        "error: start failed - can't acquire lock '/var/run/pve-ha-lrm.pid.lock' - \
         daemon already started (pid = {pid})\n"
    );
    assert!(out.stderr.ends_with(&want), "{out:?}");
    // The refused start left the running daemon's files alone.
    assert_eq!(node.status(Role::Lrm), "running");
    assert_eq!(
        node.sh("cat /run/pve-ha-lrm.pid").stdout,
        format!("{pid}\n")
    );
    let out = node.sh("\"$BIN\" lrm stop");
    assert_eq!(out.rc, 0, "{out:?}");
    assert_eq!(node.status(Role::Lrm), "stopped");
}

#[test]
fn sigkill_leaves_a_stale_pid_file_that_the_next_start_replaces() {
    let Some(mut node) = Node::new("stale") else {
        return;
    };
    let (_, pid) = node.start(Role::Crm, "");
    let pid = pid.expect("pid file");
    node.wait_log("info status change startup => wait_for_quorum", secs(10));
    node.sh(&format!("kill -9 {pid}"));
    node.wait_gone(pid, secs(5));
    // Stale: the file remains, but names no running process.
    assert_eq!(node.status(Role::Crm), "stopped");
    assert_eq!(
        node.sh("cat /run/pve-ha-crm.pid").stdout,
        format!("{pid}\n")
    );
    assert!(!node.log().iter().any(|l| l == "info server stopped"));

    let (out, again) = node.start(Role::Crm, "");
    assert!(out.stdout.starts_with("start 0\n"), "{out:?}");
    let again = again.expect("new pid file");
    assert_ne!(again, pid);
    assert_eq!(node.status(Role::Crm), "running");
    let out = node.sh("\"$BIN\" crm stop");
    assert_eq!(out.rc, 0, "{out:?}");
    node.wait_gone(again, secs(5));
    assert_eq!(node.run_files(), "");
    assert_eq!(
        node.log()
            .iter()
            .filter(|l| *l == "info starting server")
            .count(),
        2
    );
}

#[test]
fn lrm_sigterm_is_a_shutdown_request_that_ends_in_restart_mode() {
    let Some(mut node) = Node::new("lrm-term") else {
        return;
    };
    let (_, pid) = node.start(Role::Lrm, "");
    let pid = pid.expect("pid file");
    node.wait_log(
        "info status change startup => wait_for_agent_lock",
        secs(10),
    );
    node.sh(&format!("kill -TERM {pid}; kill -TERM {pid}"));
    node.wait_gone(pid, secs(30));
    assert_eq!(node.run_files(), "");
    let log = node.log();
    assert_in_order(
        &log,
        &[
            "info starting server",
            "info status change startup => wait_for_agent_lock",
            "info received signal TERM",
            "info restart LRM, freeze all services",
            "info server stopped",
        ],
    );
    // Repeated signals are requests the LRM ignores.
    assert_eq!(
        log.iter()
            .filter(|l| *l == "info restart LRM, freeze all services")
            .count(),
        1
    );
}

#[test]
fn debug_start_stays_in_the_foreground_and_sigint_stops_it() {
    let Some(mut node) = Node::new("debug") else {
        return;
    };
    let out = node.sh(&format!(
        "{} >/dev/null 2>&1 & echo $!",
        Node::daemon_cmd("pve-ha-crm start --debug")
    ));
    let pid: i32 = out.stdout.trim().parse().expect("background pid");
    node.wait_log("info starting server", secs(10));
    // No fork: the pid file names the process the shell started.
    assert_eq!(
        node.sh("cat /run/pve-ha-crm.pid").stdout,
        format!("{pid}\n")
    );
    node.wait_log("info status change wait_for_quorum => master", secs(30));
    node.sh(&format!("kill -INT {pid}"));
    node.wait_gone(pid, secs(30));
    let code = node.sh(&format!("wait {pid}"));
    assert_eq!(code.rc, 0, "exit status of the foreground daemon");
    assert_in_order(
        &node.log(),
        &[
            "info received signal INT",
            "info server received shutdown request",
            "info voluntary release CRM lock",
            "info server stopped",
        ],
    );
    assert_eq!(node.run_files(), "");
}

#[test]
fn stop_kills_a_daemon_that_outlasts_the_wait_time() {
    let Some(mut node) = Node::new("kill") else {
        return;
    };
    // The backend never finishes opening: SIGTERM is recorded but never
    // reaches a safe point.
    let (_, pid) = node.start(Role::Crm, &format!("{HANG_VAR}=1"));
    let pid = pid.expect("pid file");
    let begun = Instant::now();
    let out = node.sh("\"$BIN\" crm stop");
    let took = begun.elapsed();
    assert!(took >= secs(60) && took < secs(75), "{took:?}");
    assert_eq!(out.rc, 0, "{out:?}");
    assert!(
        out.stderr.contains("server still running - send KILL"),
        "{out:?}"
    );
    node.wait_gone(pid, secs(5));
    assert_eq!(node.run_files(), "", "stop cleaned up after the kill");
    assert!(!node.log().iter().any(|l| l == "info server stopped"));
}

/// `pve-ha-crm start --debug` on a node prepared by `setup` (a script
/// of the node's pid-1 shell) and with the shell words `env` before the
/// command fails to make its environment: the error exit (07 §6.7) with
/// `error`, nothing left in `/run`.
fn error_exit(name: &str, setup: &str, env: &str, error: &str) {
    let Some(mut node) = Node::new(name) else {
        return;
    };
    let prepared = node.sh(setup);
    assert_eq!(prepared.rc, 0, "{prepared:?}");
    let out = node.sh(&format!("{env} \"$BIN\" crm start --debug"));
    assert_eq!(out.rc, 255, "{out:?}");
    let lines: Vec<String> = out
        .stderr
        .lines()
        .map(|l| l.split_once("]: ").map_or(l, |(_, m)| m).to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "starting server",
            &format!("ERROR: {error}"),
            "server stopped"
        ],
        "{out:?}"
    );
    assert!(out.stderr.starts_with("pve-ha-crm["), "{out:?}");
    assert_eq!(node.run_files(), "");
    assert_eq!(node.status(Role::Crm), "stopped");
}

#[test]
fn without_the_cluster_file_system_the_binary_takes_the_error_exit() {
    error_exit(
        "unmounted",
        "true",
        "PVE_HA_ROOT=/nonexistent/pve",
        "pve configuration filesystem not mounted ('/nonexistent/pve' is not a directory)",
    );
}

/// The real environment cannot be made without a node name (07 §2): the
/// node's host name is masked with an empty file (`-n`: no mount table
/// entry under `/run`).
#[test]
fn without_a_node_name_the_binary_takes_the_error_exit() {
    let root = std::env::temp_dir().join(format!("daemon-nodename-{}", std::process::id()));
    fs::create_dir_all(&root).unwrap();
    error_exit(
        "no-nodename",
        "mount -n --bind /dev/null /proc/sys/kernel/hostname",
        &format!("PVE_HA_ROOT='{}'", root.display()),
        "unable to read the node name - missing nodename",
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn outside_systemd_start_and_stop_ask_systemctl() {
    let dir = std::env::temp_dir().join(format!("daemon-systemctl-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let record = dir.join("calls");
    let stub = dir.join("systemctl");
    fs::write(
        &stub,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 3\n", record.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&stub)
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    // This process is the parent, not pid 1.
    assert_eq!(run(&["crm", "start"]).status.code(), Some(3));
    assert_eq!(run(&["lrm", "stop"]).status.code(), Some(3));
    assert_eq!(
        run(&["lrm", "start", "--debug", "0"]).status.code(),
        Some(3)
    );
    assert_eq!(
        fs::read_to_string(&record).unwrap(),
        "start pve-ha-crm\nstop pve-ha-lrm\nstart pve-ha-lrm\n"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_roles_answer_to_their_tool_names() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("pve-ha-crm") && text.contains("pve-ha-lrm"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("daemon-argv0-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (tool, about) in [
        ("pve-ha-crm", "Cluster HA Resource Manager"),
        ("pve-ha-lrm", "Local HA Resource Manager"),
    ] {
        let link = dir.join(tool);
        std::os::unix::fs::symlink(BIN, &link).unwrap();
        let out = Command::new(&link).arg("help").output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [tool, about, "Start the daemon.", "Get daemon status."] {
            assert!(text.contains(want), "{want}: {text}");
        }
        assert!(!text.contains("restart"), "{text}");
        let out = Command::new(&link).arg("restart").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Both units as installed pass `systemd-analyze verify` against a copy
/// of the system's units, with the binary at its installed paths.
#[test]
fn the_units_pass_systemd_analyze_verify() {
    let names = ["pve-ha-crm", "pve-ha-lrm", "watchdog-mux"];
    let Some(stderr) = common::verify_units(&["pve-ha-crm", "pve-ha-lrm"], &names, BIN) else {
        return;
    };
    for name in names {
        assert!(!stderr.contains(name), "warnings about {name}: {stderr}");
    }
    // The directives the process model depends on.
    let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let crm = fs::read_to_string(packaging.join("pve-ha-crm.service")).unwrap();
    let lrm = fs::read_to_string(packaging.join("pve-ha-lrm.service")).unwrap();
    for (text, want) in [
        (&crm, "PIDFile=/run/pve-ha-crm.pid"),
        (&crm, "TimeoutStopSec=65"),
        (&crm, "ExecStop=/usr/sbin/pve-ha-crm stop"),
        (&lrm, "PIDFile=/run/pve-ha-lrm.pid"),
        (&lrm, "TimeoutStopSec=infinity"),
        (&lrm, "KillMode=process"),
        (&lrm, "After=pve-ha-crm.service"),
        (&lrm, "ExecStop=/usr/sbin/pve-ha-lrm stop"),
    ] {
        assert!(text.lines().any(|l| l == want), "{want}");
    }
    for text in [&crm, &lrm] {
        assert!(text.lines().any(|l| l == "Type=forking"));
        let directives: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(!directives.iter().any(|l| l.starts_with("Restart=")));
        assert!(!directives.iter().any(|l| l.starts_with("ExecReload=")));
        assert!(
            !directives.iter().any(|l| l.starts_with("Requires=")),
            "soft dependencies only"
        );
    }
}

/// The simulated backend of the daemon processes: one powered, quorate
/// node with one service on a clock running 10× real time, every line (the runtime's and
/// the state machine's) appended to the file in `DAEMON_TEST_LOG`.
struct SimBackend {
    role: Role,
    log: PathBuf,
    hang: bool,
}

fn append(path: &Path, level: &str, msg: &str) {
    if let Ok(mut f) = OpenOptions::new().append(true).create(true).open(path) {
        let _ = writeln!(f, "{level} {msg}");
    }
}

impl Backend for SimBackend {
    fn log(&mut self, level: LogLevel, msg: &str) {
        append(&self.log, &level.to_string(), msg);
    }

    fn open(&mut self) -> Result<Box<dyn Env>, BackendError> {
        if self.hang {
            // Never returns: the daemon is stuck before its first safe
            // point.
            loop {
                std::thread::sleep(secs(3600));
            }
        }
        let mut s = Scenario::empty();
        let mut node = NodeHardware::off();
        node.power = true;
        node.network = true;
        s.nodes.insert("node1".into(), node);
        // A configured service: without one the CRM stays idle (02 §2.3).
        s.services.insert(
            "vm:101".into(),
            RawService::from([
                ("node".to_string(), "node1".to_string()),
                ("state".to_string(), "started".to_string()),
            ]),
        );
        let hw = Hardware::new(&s).shared();
        let path = self.log.clone();
        hw.borrow_mut()
            .set_log_hook(Box::new(move |level, _, _, msg| append(&path, level, msg)));
        let life = Life::new();
        let mut env = SimEnv::live(hw.for_life(&life), "node1", self.role, LiveClock::new(10.0));
        if self.role == Role::Lrm {
            let pool = thread_pool(env.worker_env());
            env.set_worker_pool(Box::new(pool));
        }
        Ok(Box::new(env))
    }
}

/// Not a test: a daemon process of the tests above, started by their
/// pid-1 shell. Runs `DAEMON_TEST_ARGV` (`pve-ha-crm start`, …) through the
/// real command line with [`SimBackend`] and exits with its status.
#[test]
#[ignore = "daemon process of the daemon tests, started by them"]
fn daemon_process() {
    let Ok(argv) = std::env::var(ARGV_VAR) else {
        return;
    };
    let argv: Vec<std::ffi::OsString> = argv.split_whitespace().map(Into::into).collect();
    let role = match argv.first().and_then(|a| a.to_str()) {
        Some("pve-ha-lrm") => Role::Lrm,
        _ => Role::Crm,
    };
    let log = PathBuf::from(std::env::var_os(LOG_VAR).expect("log path"));
    let hang = std::env::var_os(HANG_VAR).is_some();
    let code = pve_ha::cli::daemon::main_with(role, argv, |role, _debug| {
        Box::new(SimBackend { role, log, hang })
    });
    std::process::exit(code);
}

/// A node whose failover budget breaks 07 §10.1's inequality, or whose
/// node configuration has a bad line, is refused before anything is
/// locked, forked or written; the one line names every value.
#[test]
fn an_unsafe_budget_or_bad_node_config_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("daemon-budget-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("node.cfg");
    let start = |role: &str| {
        Command::new(BIN)
            .args([role, "start", "--debug"])
            .env("PVE_HA_NODE_CONFIG", &cfg)
            .env("PVE_HA_ROOT", dir.join("nonexistent"))
            .output()
            .unwrap()
    };
    fs::write(&cfg, "backend: etcd\nnode: n1\nlease: 10\n").unwrap();
    for role in ["crm", "lrm"] {
        let out = start(role);
        assert_eq!(out.status.code(), Some(255), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines().any(|l| l
                == "error: start failed - unsafe failover budget: lease 10 s must exceed \
                    watchdog client timeout 7 s + tick 1 s + device timeout 4 s + max loop \
                    time 2 s + skew margin 2 s = 16 s"),
            "{err}"
        );
    }
    fs::write(&cfg, "backend: etcd\nlease: twenty\n").unwrap();
    let out = start("crm");
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "start failed - {} line 2: 'lease' must be whole seconds from 1 to 3600, got 'twenty'",
            cfg.display()
        )),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}
