//! The interactive simulator driven through its HTTP API, as a script
//! would (`curl`): start it on a scratch directory with a fast clock,
//! power off the node running `vm:101`, wait for the service to be fenced
//! and recovered elsewhere, bring the node back and migrate the service
//! home; check that bad requests are refused with a 4xx one-line reason
//! without harming the cluster; replay the recorded actions in the tester.
//! Also: cross-site, foreign-host and token-less requests are refused
//! (raw HTTP, so that every header is ours), and the process behaves on
//! Ctrl-C and on a busy port.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Clock speed for the test: a failover (watchdog 60 s, lock 120 s)
/// takes a few real seconds, while a loaded 2-core CI machine still keeps
/// every daemon iteration far below the 30 s limit.
const SPEED: &str = "40";

/// Longest real wait for one expected state.
const WAIT: Duration = Duration::from_secs(90);

/// The simulator process; killed when the test ends, however it ends.
struct Sim {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh scratch directory under the target's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `pve-ha simulator DIR --listen 127.0.0.1:0 …` and reads the URL
/// it prints.
fn start(dir: &Path, extra: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .arg("simulator")
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--speed", SPEED])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the simulator");
    let url = common::read_simulator_start(&mut child).url;
    Sim {
        child,
        url,
        dir: dir.to_path_buf(),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

impl Sim {
    fn get(&self, path: &str) -> (u16, String) {
        let mut r = agent()
            .get(format!("{}{path}", self.url))
            .call()
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        let mut r = agent()
            .post(format!("{}{path}", self.url))
            .content_type("application/json")
            .send(body)
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    }

    fn delete(&self, path: &str) -> (u16, String) {
        let mut r = agent()
            .delete(format!("{}{path}", self.url))
            .call()
            .expect("DELETE");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    }

    /// Posts an action that must succeed.
    fn act(&self, path: &str, body: Value) {
        let (status, text) = self.post(path, &body.to_string());
        assert_eq!(status, 200, "POST {path} {body}: {text}");
    }

    fn state(&self) -> Value {
        let (status, text) = self.get("api/state");
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Polls the state until `pred` holds; fails with the log after
    /// [`WAIT`].
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let s = self.state();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > WAIT {
                let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
                panic!("timed out waiting for {what}\nstate: {s}\nlog:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn service<'a>(s: &'a Value, sid: &str) -> &'a Value {
    s["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["sid"] == sid)
        .unwrap_or(&Value::Null)
}

fn node<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or(&Value::Null)
}

/// Asserts a refused request: the status and a one-line reason.
fn refused(got: (u16, String), status: u16, reason: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let v: Value = serde_json::from_str(&got.1).expect("errors are JSON");
    let msg = v["error"].as_str().expect("an error text");
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    assert!(msg.contains(reason), "{msg:?} should mention {reason:?}");
}

#[test]
fn failover_and_migration_through_the_api() {
    let dir = scratch("simulator-http");
    let sim = start(&dir, &["--boot", "--record"]);

    // The default cluster comes up: three nodes, six services started.
    let s = sim.wait_for("all six services started", |s| {
        let services = s["services"].as_array().unwrap();
        services.len() == 6
            && services
                .iter()
                .all(|v| v["state"] == "started" && v["running_on"] == v["node"])
    });
    assert_eq!(s["nodes"].as_array().unwrap().len(), 3);
    let home = service(&s, "vm:101")["node"].as_str().unwrap().to_string();

    // Power off the node running vm:101: fenced, then recovered elsewhere.
    sim.act(&format!("api/nodes/{home}/power"), json!({ "on": false }));
    let s = sim.state();
    assert_eq!(node(&s, &home)["power"], false);
    // The `fence` state may last less than one poll (when the new master
    // finds the node's lock already expired); the log and the timeline
    // show it below.
    let s = sim.wait_for("vm:101 recovered on another node", |s| {
        let v = service(s, "vm:101");
        v["state"] == "started" && v["node"] != home.as_str() && v["running_on"] == v["node"]
    });
    let rescuer = service(&s, "vm:101")["node"].as_str().unwrap().to_string();
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.contains(&format!(
            "node '{home}': state changed from 'unknown' => 'fence'"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "fencing: acknowledged - got agent lock for node '{home}'"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "recover service 'vm:101' from fenced node '{home}' to node '{rescuer}'"
        )),
        "{log}"
    );

    // Bad requests: a 4xx with a one-line reason, and nothing breaks.
    refused(
        sim.post("api/nodes/node9/power", r#"{"on": true}"#),
        404,
        "no such node 'node9'",
    );
    refused(
        sim.post("api/services/vm:999/state", r#"{"state": "started"}"#),
        404,
        "no such service 'vm:999'",
    );
    refused(
        sim.post("api/services/vm%3A101/state", r#"{"state": "dancing"}"#),
        400,
        "unknown state 'dancing'",
    );
    refused(
        sim.post("api/nodes/node1/power", "{\"on\": tru"),
        400,
        "malformed JSON",
    );
    refused(
        sim.post("api/nodes/node1/power", r#"{"on": true, "x": 1}"#),
        400,
        "malformed JSON",
    );
    refused(
        sim.post("api/services/vm:101/migrate", r#"{"target": "node9"}"#),
        404,
        "no such node 'node9'",
    );
    refused(
        sim.post(
            "api/services",
            r#"{"type": "vm", "id": 101, "node": "node1"}"#,
        ),
        409,
        "resource ID 'vm:101' already defined",
    );
    refused(
        sim.post(
            "api/services",
            r#"{"type": "fa", "id": 1, "node": "node1"}"#,
        ),
        400,
        "type must be",
    );
    refused(
        sim.post(
            "api/services/vm:102/static-stats",
            r#"{"maxcpu": 0, "maxmem": 1}"#,
        ),
        400,
        "maxcpu",
    );
    refused(
        sim.post("api/crs", r#"{"mode": "fastest"}"#),
        400,
        "unknown scheduler mode",
    );
    refused(sim.delete("api/services/vm:999"), 404, "no such service");
    refused(sim.get("api/nope"), 404, "no such endpoint");
    refused(sim.get("api/nodes/node1/power"), 405, "not allowed");
    refused(sim.post("api/state", "{}"), 405, "not allowed");
    let s = sim.state();
    assert_eq!(s["services"].as_array().unwrap().len(), 6, "no state lost");

    // Add and delete a service, the way the dialogs do.
    sim.act(
        "api/services",
        json!({ "type": "ct", "id": "200", "node": rescuer, "maxcpu": 2, "maxmem": 512 }),
    );
    let s = sim.state();
    assert_eq!(service(&s, "ct:200")["maxmem_mib"], 512.0);
    let (status, text) = sim.delete("api/services/ct:200");
    assert_eq!(status, 200, "{text}");

    // Bring the node back and migrate vm:101 home.
    sim.act(&format!("api/nodes/{home}/power"), json!({ "on": true }));
    sim.wait_for("the node back online", |s| {
        s["manager_status"]["node_status"][home.as_str()] == "online"
    });
    sim.act("api/services/vm:101/migrate", json!({ "target": home }));
    sim.wait_for("vm:101 migrated home", |s| {
        let v = service(s, "vm:101");
        v["state"] == "started" && v["node"] == home.as_str() && v["running_on"] == home.as_str()
    });
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.contains(&format!("service vm:101 - end migrate to node '{home}'")),
        "{log}"
    );

    // The page and its parts are served; the timeline saw the failover.
    let (status, html) = sim.get("");
    assert_eq!(status, 200);
    assert!(html.contains("Proxmox HA Simulator"));
    let (_, timeline) = sim.get("api/timeline");
    let timeline: Value = serde_json::from_str(&timeline).unwrap();
    let fenced =
        timeline["events"].as_array().unwrap().iter().any(|e| {
            e["subject"] == "vm:101" && e["state"] == "fence" && e["node"] == home.as_str()
        });
    assert!(fenced, "{timeline}");
    let (_, log_json) = sim.get("api/log?lines=5");
    let lines: Value = serde_json::from_str(&log_json).unwrap();
    assert_eq!(lines["lines"].as_array().unwrap().len(), 5);

    // Save writes the state back into the directory.
    sim.act("api/save", json!({}));
    let hw: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("hardware_status")).unwrap())
            .unwrap();
    assert_eq!(hw[home.as_str()]["power"], "on");
    assert!(dir.join("manager_status").exists());
    drop(sim);

    // The recorded actions replay in the tester (upstream's --batch).
    let cmdlist: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cmdlist")).unwrap()).unwrap();
    let all: Vec<&str> = cmdlist
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b.as_array().unwrap().iter().map(|c| c.as_str().unwrap()))
        .collect();
    for want in [
        "power node1 on".to_string(),
        "service vm:101 started".to_string(),
        format!("power {home} off"),
        format!("service vm:101 migrate {home}"),
    ] {
        assert!(all.contains(&want.as_str()), "{want} in {all:?}");
    }
    // Replay from the initial state, not the saved one.
    for f in ["hardware_status", "manager_status", "service_config"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("service_status_")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .arg("simulator")
        .arg(&dir)
        .arg("--batch")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The replay's timing is the tester's (20 s loops, batches 100 s
    // apart, and whichever node wins the election), so it need not fence
    // exactly as the live run did; it must run every recorded action.
    let replay = std::fs::read_to_string(dir.join("status/log")).unwrap();
    for want in [
        format!("cmdlist: execute power {home} off"),
        format!("cmdlist: execute service vm:101 migrate {home}"),
    ] {
        assert!(replay.contains(&want), "{want}\n{replay}");
    }
    assert!(replay.ends_with("exit simulation - done\n"), "{replay}");
}

#[test]
fn the_main_command_serves_the_default_cluster() {
    // No DIR: a fresh temporary directory, booted.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["simulator", "--listen", "127.0.0.1:0", "--speed", SPEED])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = common::read_simulator_start(&mut child);
    let sim = Sim {
        child,
        url: start.url,
        dir: start.dir.expect("directory printed"),
    };
    sim.wait_for("three nodes and six services up", |s| {
        s["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["power"] == true)
            && s["services"].as_array().unwrap().len() == 6
            && s["services"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["state"] == "started")
    });
    let tmp = sim.dir.clone();
    drop(sim);
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["simulator", "--speed", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--speed"));
    let out = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["simulator", "--batch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["simulator", "--token", "a b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"));
}

/// One raw HTTP/1.1 request to `addr` with exactly the given header lines
/// (no `Host` unless given); the status, the headers and the body.
fn raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(&format!("{h}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// `host:port` of a printed URL.
fn authority(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest.split('/').next().unwrap().to_string()
}

/// Asserts a raw refusal: status and a one-line JSON reason.
fn raw_refused(got: (u16, String, String), status: u16, reason: &str) {
    refused((got.0, got.2), status, reason);
}

#[test]
fn cross_site_and_foreign_host_requests_are_refused() {
    let dir = scratch("simulator-http-access");
    let sim = start(&dir, &[]);
    let addr = authority(&sim.url);
    let port = addr.rsplit(':').next().unwrap().to_string();
    let host = format!("Host: {addr}");
    let json = "Content-Type: application/json";
    let power_off = r#"{"on": false}"#;

    // A rebound DNS name: refused on every method, GET included.
    raw_refused(
        raw(&addr, "GET", "/api/state", &["Host: evil.example"], ""),
        403,
        "Host 'evil.example' refused",
    );
    raw_refused(
        raw(
            &addr,
            "GET",
            "/",
            &[&format!("Host: evil.example:{port}")],
            "",
        ),
        403,
        "refused",
    );
    raw_refused(
        raw(&addr, "POST", "/api/save", &["Host: evil.example"], ""),
        403,
        "refused",
    );
    raw_refused(
        raw(&addr, "GET", "/api/state", &[], ""),
        403,
        "missing Host",
    );
    // A foreign page posting to us: refused whatever it sends.
    for origin in ["http://evil.example", "null", "https://127.0.0.1"] {
        raw_refused(
            raw(
                &addr,
                "POST",
                "/api/nodes/node1/power",
                &[&host, &format!("Origin: {origin}"), json],
                r#"{"on": true}"#,
            ),
            403,
            "cross-site request",
        );
    }
    raw_refused(
        raw(
            &addr,
            "POST",
            "/api/save",
            &[&host, "Origin: http://evil.example"],
            "",
        ),
        403,
        "cross-site request",
    );
    // A body must be declared JSON (a plain cross-site form cannot).
    for ty in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut headers = vec![host.clone()];
        if let Some(t) = ty {
            headers.push(format!("Content-Type: {t}"));
        }
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        raw_refused(
            raw(
                &addr,
                "POST",
                "/api/nodes/node1/power",
                &headers,
                r#"{"on": true}"#,
            ),
            415,
            "Content-Type: application/json",
        );
    }
    // Nothing of that reached the cluster.
    let s = sim.state();
    assert_eq!(node(&s, "node1")["power"], false);
    assert!(!dir.join("hardware_status").exists(), "no Save happened");

    // Loopback names on any port (an ssh -L forward) and the own origin
    // are fine.
    for h in [
        format!("Host: localhost:{port}"),
        "Host: LOCALHOST:1".to_string(),
        format!("Host: [::1]:{port}"),
        "Host: 127.0.0.1".to_string(),
    ] {
        let (status, _, body) = raw(&addr, "GET", "/api/state", &[&h], "");
        assert_eq!(status, 200, "{h}: {body}");
    }
    let (status, _, body) = raw(
        &addr,
        "POST",
        "/api/nodes/node1/power",
        &[
            &host,
            &format!("Origin: http://{addr}"),
            "content-type: application/json; charset=utf-8",
        ],
        r#"{"on": true}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(node(&sim.state(), "node1")["power"], true);
    let (status, _, body) = raw(
        &addr,
        "POST",
        "/api/nodes/node1/power",
        &[&host, "Origin: http://localhost:9999", json],
        power_off,
    );
    assert_eq!(status, 200, "{body}");
    // A bodiless action needs no content type.
    let (status, _, body) = raw(&addr, "POST", "/api/save", &[&host], "");
    assert_eq!(status, 200, "{body}");
    assert!(dir.join("hardware_status").exists());
}

/// Starts the simulator on a wildcard address (token mode) and returns it
/// with the token it printed.
fn start_wildcard(dir: &Path, extra: &[&str]) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .arg("simulator")
        .arg(dir)
        .args(["--listen", "0.0.0.0:0", "--speed", SPEED])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let url = common::read_simulator_start(&mut child).url;
    let (base, token) = url
        .split_once("/?token=")
        .expect("the URL carries the token");
    let port = base.rsplit(':').next().unwrap();
    (child, format!("127.0.0.1:{port}"), token.to_string())
}

#[test]
fn a_wildcard_listen_requires_the_token() {
    let dir = scratch("simulator-http-token");
    let (child, addr, token) = start_wildcard(&dir, &[]);
    let _guard = Sim {
        child,
        url: String::new(),
        dir: dir.clone(),
    };
    assert_eq!(token.len(), 32, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    let host = "Host: pve.example:8480";
    let bearer = format!("Authorization: Bearer {token}");

    // Without the token, or with a wrong one: 401.
    let (status, head, body) = raw(&addr, "GET", "/api/state", &[host], "");
    raw_refused((status, head.clone(), body), 401, "token");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    raw_refused(
        raw(&addr, "GET", "/api/state?token=0123", &[host], ""),
        401,
        "token",
    );
    raw_refused(
        raw(
            &addr,
            "GET",
            "/api/state",
            &[host, "Authorization: Bearer 0123"],
            "",
        ),
        401,
        "token",
    );
    raw_refused(
        raw(
            &addr,
            "POST",
            "/api/nodes/node1/power",
            &[host, "Content-Type: application/json"],
            r#"{"on": true}"#,
        ),
        401,
        "token",
    );
    raw_refused(raw(&addr, "GET", "/", &[host], ""), 401, "token");

    // With it, by query or header, under any Host.
    let (status, _, body) = raw(
        &addr,
        "GET",
        &format!("/api/state?token={token}"),
        &[host],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = raw(
        &addr,
        "GET",
        "/api/state",
        &["Host: 192.0.2.7:1", &bearer],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let (status, _, html) = raw(&addr, "GET", &format!("/?token={token}"), &[host], "");
    assert_eq!(status, 200);
    assert!(html.contains("Proxmox HA Simulator"));
    // The page's parts load without it (relative URLs lose the query).
    let (status, _, js) = raw(&addr, "GET", "/app.js", &[host], "");
    assert_eq!(status, 200);
    assert!(js.contains("Bearer"), "the page passes the token on");
    let (status, _, body) = raw(
        &addr,
        "POST",
        "/api/nodes/node1/power",
        &[
            host,
            &bearer,
            "Origin: http://pve.example:8480",
            "Content-Type: application/json",
        ],
        r#"{"on": true}"#,
    );
    assert_eq!(status, 200, "{body}");
    // A foreign Origin is refused even with the token.
    raw_refused(
        raw(
            &addr,
            "POST",
            "/api/save",
            &[host, &bearer, "Origin: http://evil.example"],
            "",
        ),
        403,
        "cross-site request",
    );
    raw_refused(
        raw(
            &addr,
            "POST",
            "/api/nodes/node1/power",
            &[host, &bearer, "Content-Type: text/plain"],
            r#"{"on": false}"#,
        ),
        415,
        "Content-Type",
    );
    let s: Value = {
        let (_, _, body) = raw(&addr, "GET", "/api/state", &[host, &bearer], "");
        serde_json::from_str(&body).unwrap()
    };
    assert_eq!(node(&s, "node1")["power"], true);

    // A given token is used as is.
    let dir2 = scratch("simulator-http-token-given");
    let (child, addr, token) = start_wildcard(&dir2, &["--token", "my-secret"]);
    let _guard2 = Sim {
        child,
        url: String::new(),
        dir: dir2,
    };
    assert_eq!(token, "my-secret");
    let (status, _, _) = raw(&addr, "GET", "/api/state?token=my-secret", &[host], "");
    assert_eq!(status, 200);
}

/// Waits for `child` to exit (at most [`WAIT`]); its exit code.
fn wait_exit(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        assert!(start.elapsed() < WAIT, "the simulator did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `sig` to the process.
fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// The entries of a directory, by name.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn ctrl_c_removes_the_temporary_directory_and_only_that() {
    // No DIR: the simulator makes one under TMPDIR, prints it, and removes
    // it on Ctrl-C.
    let tmp = scratch("simulator-http-sigint");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .args(["simulator", "--listen", "127.0.0.1:0", "--speed", SPEED])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let printed = common::read_simulator_start(&mut child);
    let url = printed.url;
    let dir = printed.dir.expect("the directory is printed");
    assert!(dir.starts_with(&tmp), "{} under TMPDIR", dir.display());
    let sim = Sim {
        child,
        url,
        dir: dir.clone(),
    };
    sim.wait_for("the cluster up", |s| {
        s["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["state"] == "started")
    });
    assert!(dir.join("log").exists() && dir.join("status").is_dir());
    let mut sim = sim;
    signal(&sim.child, libc::SIGINT);
    assert_eq!(wait_exit(&mut sim.child), Some(130));
    assert!(!dir.exists(), "{} removed", dir.display());
    assert_eq!(
        entries(&tmp),
        Vec::<String>::new(),
        "nothing left in TMPDIR"
    );

    // A DIR the user gave stays, on SIGTERM too.
    let own = scratch("simulator-http-sigterm");
    let mut sim = start(&own, &["--boot"]);
    sim.wait_for("a node up", |s| node(s, "node1")["power"] == true);
    signal(&sim.child, libc::SIGTERM);
    assert_eq!(wait_exit(&mut sim.child), Some(143));
    assert!(own.join("log").exists(), "the user's directory is kept");
}

#[test]
fn a_busy_port_fails_before_anything_is_created() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let tmp = scratch("simulator-http-busy");
    let wanted = tmp.join("new-dir");
    for dir in [None, Some(&wanted)] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pve-ha"));
        cmd.arg("simulator");
        if let Some(d) = dir {
            cmd.arg(d);
        }
        let out = cmd
            .args(["--listen", &addr])
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with(&format!("error: unable to listen on '{addr}': ")),
            "{err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(entries(&tmp), Vec::<String>::new(), "nothing created");
    }
    drop(busy);
}
