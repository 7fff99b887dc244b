//! The guest helper (`packaging/pve-ha-guest-helper`, installed as
//! `/usr/libexec/pve-ha/guest-helper`): its argument parsing, the HA
//! context of the guest API calls (05 §12.5), the task wait (05 §12.4),
//! `kv` and `notify` (07 §2.12–2.13), and the exit/stderr contract.
//!
//! No Proxmox package is needed: the helper runs under Debian's perl with
//! the stub `PVE::*` modules of `tests/fixtures/guest-helper/perl` first on
//! the include path. Each stub appends a JSON record of its call to
//! `STUB_LOG`, which the tests read back; `StubClock` (loaded with `-M`
//! before the helper is compiled) makes `time`/`sleep` virtual, so a task
//! wait of many seconds takes none. Under `CI=true` a missing perl fails.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

/// The stub task id's pid and process start time (hex 1234 and ABCDEF).
const STUB_PID: u64 = 0x1234;
const STUB_PSTART: u64 = 0x00AB_CDEF;
const STUB_UPID: &str = "UPID:node1:00001234:00ABCDEF:65000000:qmstart:100:root@pam:";
const LANG: &str = "C.UTF-8";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/pve-ha-guest-helper")
}

fn stubs() -> PathBuf {
    common::fixtures("guest-helper").join("perl")
}

/// Whether perl can run here; otherwise a visible skip (a failure under CI).
fn perl_available(test: &str) -> bool {
    match Command::new("perl").arg("-e1").status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            common::skip(test, &format!("perl -e1 exited with {s}"));
            false
        }
        Err(e) => {
            common::skip(test, &format!("cannot run perl: {e}"));
            false
        }
    }
}

/// A scratch directory per helper run: the call log and a stand-in for
/// `/etc/pve` holding guest config files.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pve-ha-guest-helper-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch { dir }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("calls.jsonl")
    }

    fn root(&self) -> PathBuf {
        self.dir.join("etc-pve")
    }

    /// Creates the guest's config file on `node` and returns its path.
    fn guest_config(&self, node: &str, kind: &str, vmid: u32) -> PathBuf {
        let dir = self.root().join("nodes").join(node).join(kind);
        std::fs::create_dir_all(&dir).expect("create config dir");
        let path = dir.join(format!("{vmid}.conf"));
        std::fs::write(&path, "memory: 512\n").expect("write config");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one helper run did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The stubs' call records, in order.
    calls: Vec<Value>,
}

impl Outcome {
    /// The records of one function, by its full name.
    fn calls_of(&self, name: &str) -> Vec<&Value> {
        self.calls.iter().filter(|c| c["call"] == name).collect()
    }

    /// The names of all calls, in order.
    fn names(&self) -> Vec<&str> {
        self.calls
            .iter()
            .map(|c| c["call"].as_str().unwrap_or("?"))
            .collect()
    }

    /// The exactly one call of `name`, with its arguments.
    fn only(&self, name: &str) -> &Value {
        let calls = self.calls_of(name);
        assert_eq!(
            calls.len(),
            1,
            "one call of {name} expected: {:?}",
            self.calls
        );
        calls[0]
    }

    fn assert_ok(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "exit status; stderr {:?}; calls {:?}",
            self.stderr,
            self.calls
        );
        assert_eq!(self.stderr, "", "nothing on stderr on success");
    }

    /// Exit `code`, exactly `line` on stderr, nothing on stdout.
    fn assert_fails(&self, code: i32, line: &str) {
        assert_eq!(
            self.code,
            Some(code),
            "exit status; stderr {:?}",
            self.stderr
        );
        assert_eq!(self.stderr, format!("{line}\n"), "the one stderr line");
        assert_eq!(self.stdout, "", "nothing on stdout");
    }
}

/// Runs the helper with the stubs, `env` added and `stdin` fed.
fn run_in(scratch: &Scratch, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
    run_with(scratch, None, args, env, stdin)
}

/// As [`run_in`], with `lib` (if any) on the include path ahead of the stubs.
fn run_with(
    scratch: &Scratch,
    lib: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Outcome {
    let mut cmd = Command::new("perl");
    if let Some(lib) = lib {
        cmd.arg("-I").arg(lib);
    }
    cmd.arg("-I")
        .arg(stubs())
        .arg("-MStubClock")
        .arg(script())
        .args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("STUB_") || k == "PERL5LIB" || k == "PERL5OPT" {
            cmd.env_remove(k);
        }
    }
    cmd.env("STUB_LOG", scratch.log())
        .env("STUB_ROOT", scratch.root())
        .env("LANG", LANG)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn perl");
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait for the helper");
    let calls = match std::fs::read_to_string(scratch.log()) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("call record is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    };
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        calls,
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    run_in(&Scratch::new(), args, env, "")
}

/// The RPC environment every guest API call must see (05 §12.5, 07 §9).
fn ha_context() -> Value {
    json!({"type": "ha", "user": "root@pam", "language": LANG, "request": 1})
}

/// Asserts the one guest API call `name` ran in the HA context with
/// exactly `params`, after the context was set up.
fn assert_api_call(out: &Outcome, name: &str, params: Value) {
    let call = out.only(name);
    assert_eq!(call["args"], json!([params]), "parameters of {name}");
    assert_eq!(call["rpcenv"], ha_context(), "context of {name}");
    let names = out.names();
    let pos = |n: &str| names.iter().position(|x| *x == n);
    assert!(
        pos("PVE::Cluster::cfs_update") < pos(name),
        "cluster state refreshed before {name}: {names:?}"
    );
    assert_eq!(
        out.only("PVE::SafeSyslog::initlog")["args"],
        json!(["pve-ha-lrm"])
    );
}

#[test]
fn script_compiles_with_the_stubs() {
    if !perl_available("script_compiles_with_the_stubs") {
        return;
    }
    let out = Command::new("perl")
        .arg("-I")
        .arg(stubs())
        .arg("-c")
        .arg(script())
        .output()
        .expect("run perl -c");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "perl -c failed: {stderr}");
    assert!(stderr.contains("syntax OK"), "{stderr}");

    // The stubs themselves, each on its own.
    let mut modules = Vec::new();
    let mut dirs = vec![stubs()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read stub dir") {
            let path = entry.expect("stub dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "pm") {
                modules.push(path);
            }
        }
    }
    assert!(modules.len() >= 14, "stub modules found: {modules:?}");
    for module in modules {
        let out = Command::new("perl")
            .arg("-I")
            .arg(stubs())
            .arg("-c")
            .arg(&module)
            .output()
            .expect("run perl -c");
        assert!(
            out.status.success(),
            "{}: {}",
            module.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn start_runs_the_guest_api_in_the_ha_context() {
    if !perl_available("start_runs_the_guest_api_in_the_ha_context") {
        return;
    }
    let out = run(&["start", "vm", "100"], &[]);
    out.assert_ok();
    assert_eq!(out.stdout, "", "guest operations print nothing");
    assert_api_call(
        &out,
        "PVE::API2::Qemu::vm_start",
        json!({"node": "node1", "vmid": "100"}),
    );
    assert_eq!(out.only("PVE::RPCEnvironment::init")["args"], json!(["ha"]));
    assert_eq!(
        out.only("PVE::RPCEnvironment::set_user")["args"],
        json!(["root@pam"])
    );
    // The task is waited for, then its status read.
    assert_eq!(
        out.only("PVE::Tools::upid_read_status")["args"],
        json!([STUB_UPID])
    );

    let out = run(&["start", "ct", "101"], &[("STUB_NODENAME", "pve2")]);
    out.assert_ok();
    assert_api_call(
        &out,
        "PVE::API2::LXC::Status::vm_start",
        json!({"node": "pve2", "vmid": "101"}),
    );
    assert!(out.calls_of("PVE::API2::Qemu::vm_start").is_empty());
}

#[test]
fn stop_is_a_hard_stop() {
    if !perl_available("stop_is_a_hard_stop") {
        return;
    }
    for (kind, api) in [
        ("vm", "PVE::API2::Qemu::vm_stop"),
        ("ct", "PVE::API2::LXC::Status::vm_stop"),
    ] {
        let out = run(&["stop", kind, "100"], &[]);
        out.assert_ok();
        assert_api_call(&out, api, json!({"node": "node1", "vmid": "100"}));
    }
}

#[test]
fn shutdown_timeouts_and_forced_stop_follow_the_guest_type() {
    if !perl_available("shutdown_timeouts_and_forced_stop_follow_the_guest_type") {
        return;
    }
    let vm = "PVE::API2::Qemu::vm_shutdown";
    let ct = "PVE::API2::LXC::Status::vm_shutdown";
    let cases: [(&[&str], &str, Value); 5] = [
        // Without --timeout: 60 s; QEMU guests are force-stopped after it.
        (
            &["shutdown", "vm", "100"],
            vm,
            json!({"node": "node1", "vmid": "100", "timeout": 60, "forceStop": 1}),
        ),
        (
            &["shutdown", "vm", "100", "--timeout", "37"],
            vm,
            json!({"node": "node1", "vmid": "100", "timeout": 37, "forceStop": 1}),
        ),
        // Containers are never force-stopped (05 §12.3).
        (
            &["shutdown", "ct", "100"],
            ct,
            json!({"node": "node1", "vmid": "100", "timeout": 60}),
        ),
        (
            &["shutdown", "ct", "100", "--timeout=5"],
            ct,
            json!({"node": "node1", "vmid": "100", "timeout": 5}),
        ),
        // Timeout 0 is a hard stop.
        (
            &["shutdown", "vm", "100", "--timeout", "0"],
            "PVE::API2::Qemu::vm_stop",
            json!({"node": "node1", "vmid": "100"}),
        ),
    ];
    for (args, api, params) in cases {
        let out = run(args, &[]);
        out.assert_ok();
        assert_api_call(&out, api, params);
        let api_calls = out
            .names()
            .into_iter()
            .filter(|n| n.starts_with("PVE::API2::"))
            .count();
        assert_eq!(api_calls, 1, "{args:?}: one guest API call");
    }
    let out = run(&["shutdown", "ct", "100", "--timeout", "0"], &[]);
    out.assert_ok();
    assert_api_call(
        &out,
        "PVE::API2::LXC::Status::vm_stop",
        json!({"node": "node1", "vmid": "100"}),
    );
}

#[test]
fn migrate_succeeds_when_the_config_left_this_node() {
    if !perl_available("migrate_succeeds_when_the_config_left_this_node") {
        return;
    }
    let moves = [("STUB_MIGRATE_MOVES", "1")];

    let scratch = Scratch::new();
    let conf = scratch.guest_config("node1", "qemu-server", 100);
    let out = run_in(
        &scratch,
        &["migrate", "vm", "100", "--target", "node2", "--online"],
        &moves,
        "",
    );
    out.assert_ok();
    assert_api_call(
        &out,
        "PVE::API2::Qemu::migrate_vm",
        json!({"node": "node1", "vmid": "100", "target": "node2", "online": 1,
               "force": 1, "with-local-disks": 1}),
    );
    assert!(!conf.exists());

    let scratch = Scratch::new();
    scratch.guest_config("node1", "qemu-server", 100);
    let out = run_in(
        &scratch,
        &["migrate", "vm", "100", "--target=node3"],
        &moves,
        "",
    );
    out.assert_ok();
    assert_api_call(
        &out,
        "PVE::API2::Qemu::migrate_vm",
        json!({"node": "node1", "vmid": "100", "target": "node3", "online": 0,
               "force": 1, "with-local-disks": 1}),
    );

    // Containers move offline whatever the caller asked for.
    let scratch = Scratch::new();
    scratch.guest_config("node1", "lxc", 200);
    let out = run_in(
        &scratch,
        &["migrate", "ct", "200", "--online", "--target", "node2"],
        &moves,
        "",
    );
    out.assert_ok();
    assert_api_call(
        &out,
        "PVE::API2::LXC::migrate_vm",
        json!({"node": "node1", "vmid": "200", "target": "node2", "online": 0}),
    );
    assert_eq!(
        out.only("PVE::LXC::Config::config_file")["args"],
        json!(["200", "node1"])
    );
    // The helper never stops the guest itself: that is the caller's part.
    assert!(out
        .names()
        .iter()
        .all(|n| !n.ends_with("::vm_shutdown") && !n.ends_with("::vm_stop")));
}

#[test]
fn migrate_that_leaves_the_guest_here_is_not_done() {
    if !perl_available("migrate_that_leaves_the_guest_here_is_not_done") {
        return;
    }
    // The task says OK, but the config is still on this node.
    let scratch = Scratch::new();
    scratch.guest_config("node1", "qemu-server", 100);
    let out = run_in(
        &scratch,
        &["migrate", "vm", "100", "--target", "node2"],
        &[],
        "",
    );
    out.assert_fails(3, "guest 100 is still on node 'node1'");

    // The task failed: its status is the reason.
    let scratch = Scratch::new();
    scratch.guest_config("node1", "qemu-server", 100);
    let out = run_in(
        &scratch,
        &["migrate", "vm", "100", "--target", "node2"],
        &[("STUB_TASK_STATUS", "migration aborted")],
        "",
    );
    out.assert_fails(3, "migration aborted");
}

#[test]
fn task_wait_polls_every_second_and_reports_every_five() {
    if !perl_available("task_wait_polls_every_second_and_reports_every_five") {
        return;
    }
    let out = run(&["start", "vm", "100"], &[("STUB_TASK_POLLS", "12")]);
    out.assert_ok();
    // Twelve checks find the worker running, the thirteenth does not.
    let checks = out.calls_of("PVE::ProcFSTools::check_process_running");
    assert_eq!(checks.len(), 13);
    for c in &checks {
        assert_eq!(c["args"], json!([STUB_PID, STUB_PSTART]));
    }
    let sleeps = out.calls_of("sleep");
    assert_eq!(sleeps.len(), 12);
    assert!(sleeps.iter().all(|s| s["args"] == json!([1])));
    // At 5 s and 10 s of (virtual) waiting, into the journal.
    let line = format!("Task '{STUB_UPID}' still active, waiting");
    let reports = out.calls_of("PVE::SafeSyslog::syslog");
    assert_eq!(reports.len(), 2, "{reports:?}");
    for r in &reports {
        assert_eq!(r["args"], json!(["info", line]));
    }
    let names = out.names();
    let report_at: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == "PVE::SafeSyslog::syslog")
        .map(|(i, _)| names[..i].iter().filter(|n| **n == "sleep").count())
        .collect();
    assert_eq!(report_at, [5, 10], "reports after 5 and 10 sleeps");
    // The status is read once the worker is gone.
    assert_eq!(names.last(), Some(&"PVE::Tools::upid_read_status"));

    // A task that has already ended: one check, no sleep.
    let out = run(&["stop", "ct", "100"], &[]);
    out.assert_ok();
    assert_eq!(
        out.calls_of("PVE::ProcFSTools::check_process_running")
            .len(),
        1
    );
    assert!(out.calls_of("sleep").is_empty());
}

#[test]
fn failed_task_exits_3_with_its_status() {
    if !perl_available("failed_task_exits_3_with_its_status") {
        return;
    }
    let status = "start failed: QEMU exited with code 1";
    for args in [&["start", "vm", "100"][..], &["shutdown", "ct", "100"][..]] {
        let out = run(
            args,
            &[("STUB_TASK_STATUS", status), ("STUB_TASK_POLLS", "2")],
        );
        out.assert_fails(3, status);
    }
    // Warnings are success.
    let out = run(
        &["start", "vm", "100"],
        &[("STUB_TASK_STATUS", "WARNINGS: 2")],
    );
    out.assert_ok();
}

#[test]
fn error_raised_by_the_api_exits_1_with_one_line() {
    if !perl_available("error_raised_by_the_api_exits_1_with_one_line") {
        return;
    }
    // Perl appends " at FILE line N." to a message without newline.
    let out = run(
        &["start", "vm", "100"],
        &[("STUB_DIE", "VM 100 already running")],
    );
    out.assert_fails(1, "VM 100 already running");
    assert!(out
        .calls_of("PVE::ProcFSTools::check_process_running")
        .is_empty());

    // A multi-line error becomes one line.
    let out = run(
        &["shutdown", "vm", "100"],
        &[(
            "STUB_DIE",
            "parameter verification failed.\ntimeout: out of range\n",
        )],
    );
    out.assert_fails(1, "parameter verification failed.; timeout: out of range");

    // An unparsable task id is an error too.
    let out = run(&["start", "ct", "100"], &[("STUB_UPID", "UPID:garbage")]);
    out.assert_fails(1, "unable to parse task id 'UPID:garbage'");
}

#[test]
fn library_output_never_reaches_the_caller() {
    if !perl_available("library_output_never_reaches_the_caller") {
        return;
    }
    // Prints and warnings inside the Proxmox code: stdout and stderr stay
    // clean, warnings go to the journal.
    let out = run(&["start", "vm", "100"], &[("STUB_NOISE", "1")]);
    out.assert_ok();
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.only("PVE::SafeSyslog::syslog")["args"],
        json!(["warning", "a library warning"])
    );

    // On failure, only the error's line.
    let out = run(
        &["stop", "vm", "100"],
        &[("STUB_NOISE", "1"), ("STUB_DIE", "VM 100 not running")],
    );
    out.assert_fails(1, "VM 100 not running");
}

#[test]
fn a_broken_proxmox_module_is_reported_as_one_line() {
    if !perl_available("a_broken_proxmox_module_is_reported_as_one_line") {
        return;
    }
    let scratch = Scratch::new();
    let lib = scratch.dir.join("broken");
    std::fs::create_dir_all(lib.join("PVE")).expect("create dir");
    std::fs::write(
        lib.join("PVE/Notify.pm"),
        "package PVE::Notify;\ndie 'cannot load notification config';\n",
    )
    .expect("write module");
    let out = run_with(
        &scratch,
        Some(&lib),
        &["notify", "fencing"],
        &[],
        r#"{"data": {}}"#,
    );
    out.assert_fails(
        1,
        "cannot load notification config; Compilation failed in require",
    );
}

#[test]
fn usage_errors_exit_2_with_one_line_and_touch_nothing() {
    if !perl_available("usage_errors_exit_2_with_one_line_and_touch_nothing") {
        return;
    }
    let cases: &[(&[&str], &str)] = &[
        (&[], "missing command"),
        (&["reboot", "vm", "100"], "unknown command 'reboot'"),
        (&["start"], "missing resource type"),
        (&["start", "qemu", "100"], "unknown resource type 'qemu'"),
        (&["start", "vm"], "missing VMID"),
        (&["start", "vm", "abc"], "invalid VMID 'abc'"),
        (&["stop", "ct", "0100"], "invalid VMID '0100'"),
        (&["stop", "ct", "7"], "invalid VMID '7'"),
        (
            &["start", "vm", "100", "extra"],
            "unexpected argument 'extra'",
        ),
        (
            &["start", "vm", "100", "--timeout", "5"],
            "unknown option '--timeout' for 'start'",
        ),
        (
            &["stop", "vm", "100", "--online"],
            "unknown option '--online' for 'stop'",
        ),
        (
            &["shutdown", "vm", "100", "--timeout", "soon"],
            "invalid timeout 'soon'",
        ),
        (
            &["shutdown", "vm", "100", "--timeout", "-1"],
            "invalid timeout '-1'",
        ),
        (
            &["shutdown", "vm", "100", "--timeout"],
            "option '--timeout' needs a value",
        ),
        (
            &["shutdown", "vm", "100", "--timeout", "1", "--timeout", "2"],
            "option '--timeout' given twice",
        ),
        (&["migrate", "vm", "100"], "'migrate' needs --target NODE"),
        (
            &["migrate", "vm", "100", "--online"],
            "'migrate' needs --target NODE",
        ),
        (
            &["migrate", "vm", "100", "--target", "bad_node"],
            "invalid node name 'bad_node'",
        ),
        (
            &["migrate", "vm", "100", "--target", "n2", "--online=1"],
            "option '--online' takes no value",
        ),
        (&["kv"], "missing kv key"),
        (&["kv", "rrd"], "unknown kv key 'rrd'"),
        (
            &["kv", "static-info", "node1", "node2"],
            "unexpected argument 'node2'",
        ),
        (&["notify"], "missing notification template"),
        (
            &["notify", "../etc/passwd"],
            "invalid template name '../etc/passwd'",
        ),
    ];
    for (args, expect) in cases {
        let out = run(args, &[]);
        assert_eq!(out.code, Some(2), "{args:?}: stderr {:?}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {:?}", out.stderr);
        assert!(
            lines[0].starts_with(expect),
            "{args:?}: {:?} should start with {expect:?}",
            lines[0]
        );
        assert!(!lines[0].contains(" line "), "{args:?}: no Perl location");
        // Parsed before any Proxmox module was loaded or called.
        assert!(out.calls.is_empty(), "{args:?}: {:?}", out.calls);
    }
}

#[test]
fn kv_prints_the_entries_as_json() {
    if !perl_available("kv_prints_the_entries_as_json") {
        return;
    }
    let kv = json!({
        "static-info": {
            "node1": r#"{"cpus":8,"memory":34359738368}"#,
            "node2": "not json",
        },
        "version-info": {
            "node1": r#"{"version":"8.2.4"}"#,
            "node2": r#"{"version":"8.1.0"}"#,
        },
    })
    .to_string();
    let env = [("STUB_KV", kv.as_str())];

    let out = run(&["kv", "static-info"], &env);
    out.assert_ok();
    let printed: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    // The values as broadcast: the caller decodes (and reports) each.
    assert_eq!(
        printed,
        json!({"node1": r#"{"cpus":8,"memory":34359738368}"#, "node2": "not json"})
    );
    assert_eq!(out.stdout.lines().count(), 1);
    assert_eq!(
        out.only("PVE::Cluster::get_node_kv")["args"],
        json!(["static-info", null])
    );
    let names = out.names();
    assert_eq!(
        names[names.len() - 2..],
        ["PVE::Cluster::cfs_update", "PVE::Cluster::get_node_kv"]
    );

    let out = run(&["kv", "version-info", "node2"], &env);
    out.assert_ok();
    let printed: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(printed, json!({"node2": r#"{"version":"8.1.0"}"#}));
    assert_eq!(
        out.only("PVE::Cluster::get_node_kv")["args"],
        json!(["version-info", "node2"])
    );

    // No entry at all: an empty object.
    let out = run(&["kv", "version-info"], &[]);
    out.assert_ok();
    assert_eq!(out.stdout, "{}\n");

    let out = run(
        &["kv", "static-info"],
        &[
            ("STUB_DIE", "ipcc_send_rec[7] failed: Connection refused"),
            ("STUB_DIE_IN", "PVE::Cluster::get_node_kv"),
        ],
    );
    out.assert_fails(1, "ipcc_send_rec[7] failed: Connection refused");
}

#[test]
fn notify_sends_an_error_notification_from_stdin() {
    if !perl_available("notify_sends_an_error_notification_from_stdin") {
        return;
    }
    let input = json!({
        "data": {"hostname": "custom", "fence-status": "fence", "failed-node": "node2"},
        "metadata": {"hostname": "node2", "type": "fencing"},
    })
    .to_string();
    let out = run_in(&Scratch::new(), &["notify", "fencing"], &[], &input);
    out.assert_ok();
    assert_eq!(out.stdout, "");
    // Common fields fill only the keys the caller left unset.
    assert_eq!(
        out.only("PVE::Notify::error")["args"],
        json!([
            "fencing",
            {"hostname": "custom", "fqdn": "node1.example.com", "cluster-name": "testcluster",
             "fence-status": "fence", "failed-node": "node2"},
            {"hostname": "node2", "type": "fencing"},
        ])
    );

    // Metadata may be left out.
    let out = run_in(
        &Scratch::new(),
        &["notify", "fencing"],
        &[],
        r#"{"data": {}}"#,
    );
    out.assert_ok();
    assert_eq!(out.only("PVE::Notify::error")["args"][2], json!({}));

    // A failing dispatch is an error of the operation.
    let out = run_in(
        &Scratch::new(),
        &["notify", "fencing"],
        &[("STUB_DIE", "could not render template")],
        r#"{"data": {}}"#,
    );
    out.assert_fails(1, "could not render template");

    // Bad input is a usage error, before anything is loaded.
    for (stdin, expect) in [
        ("", "invalid JSON on stdin"),
        ("{\"data\": ", "invalid JSON on stdin"),
        ("[1, 2]", "stdin must hold a JSON object"),
        (r#"{"metadata": {}}"#, "stdin must hold a JSON object"),
        (
            r#"{"data": {}, "metadata": 3}"#,
            "'metadata' must be a JSON object",
        ),
    ] {
        let out = run_in(&Scratch::new(), &["notify", "fencing"], &[], stdin);
        assert_eq!(out.code, Some(2), "{stdin:?}: {:?}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{stdin:?}: {:?}", out.stderr);
        assert!(
            out.stderr.starts_with(expect),
            "{stdin:?}: {:?}",
            out.stderr
        );
        assert!(out.calls.is_empty(), "{stdin:?}");
    }
}
