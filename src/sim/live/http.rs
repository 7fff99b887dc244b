//! The web side of the live simulator: the page (assets embedded in the
//! binary), the JSON API with one endpoint per action, and the
//! server-sent event stream that keeps the page live. Every refused
//! request gets a 4xx status and `{"error": "<one line>"}`; nothing a
//! client sends can stop the simulator or lose its state.
//!
//! Routing ([`route`]) is a pure function of method, path and body, and
//! the access rule ([`access::check`]) of the request head, so both are
//! tested without sockets; [`Server`] only moves bytes.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};

use super::access::{self, Head, Policy};
use super::actions::{Action, ApiError, DEFAULT_CPU, DEFAULT_MEM_MIB};
use super::feed::{Cursor, LOG_KEEP};
use super::runtime::{LiveError, Runtime};
use crate::config::datacenter::CrsMode;

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Log lines a new page (or `GET /api/log`) gets by default (01 §10:
/// "roughly the last 100 lines").
pub const PAGE_LINES: usize = 100;

/// How long an idle event stream waits before a keep-alive comment (also
/// how quickly it notices a closed connection).
const KEEPALIVE: Duration = Duration::from_secs(10);

/// How long the server waits for a request before checking for a stop.
const ACCEPT_POLL: Duration = Duration::from_millis(200);

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// What a request gets back.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A JSON document, status 200.
    Json(Value),
    /// An embedded file with its content type.
    Asset(&'static str, &'static str),
    /// Nothing, status 204.
    Empty,
    /// The event stream (handled by the server, it never ends by itself).
    Events,
}

/// The body of the power and network switches.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    on: bool,
}

/// The body of the requested-state selector.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

/// The body of the migrate dialog.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateBody {
    target: String,
    #[serde(default)]
    relocate: bool,
}

/// A number or a string of digits (the add dialog's id).
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Number(u64),
    Text(String),
}

/// The body of the add dialog.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    #[serde(rename = "type", default = "default_kind")]
    kind: String,
    id: IdValue,
    node: String,
    #[serde(default = "default_cpu")]
    maxcpu: f64,
    /// MiB.
    #[serde(default = "default_mem")]
    maxmem: f64,
}

fn default_kind() -> String {
    "vm".into()
}
fn default_cpu() -> f64 {
    DEFAULT_CPU
}
fn default_mem() -> f64 {
    DEFAULT_MEM_MIB
}

/// The body of the static-resources dialog.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsBody {
    maxcpu: f64,
    /// MiB.
    maxmem: f64,
}

/// The body of the scheduler selector.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrsBody {
    mode: String,
}

/// Parses a JSON body, refusing malformed or unexpected documents.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))
}

/// Decodes `%XX` escapes of a path segment (`vm%3A101` → `vm:101`).
pub fn percent_decode(s: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadRequest(format!("malformed escape in path segment '{s}'"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// The value of `key` in a query string, if present.
fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Answers one request. `GET` paths serve the page and read-only data;
/// `POST`/`DELETE` paths are the actions (README's API table).
pub fn route(rt: &Runtime, method: &str, url: &str, body_bytes: &[u8]) -> Result<Reply, ApiError> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect::<Result<_, _>>()?;
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = method == "GET" || method == "HEAD";
    let post = method == "POST";
    let wrong = || ApiError::MethodNotAllowed(method.to_string());
    let done = |r: Result<(), ApiError>| r.map(|()| Reply::Json(json!({ "ok": true })));

    match seg.as_slice() {
        [] | ["index.html"] if get => Ok(Reply::Asset(INDEX_HTML, "text/html; charset=utf-8")),
        ["app.js"] if get => Ok(Reply::Asset(APP_JS, "text/javascript; charset=utf-8")),
        ["style.css"] if get => Ok(Reply::Asset(STYLE_CSS, "text/css; charset=utf-8")),
        ["favicon.ico"] if get => Ok(Reply::Empty),
        [] | ["index.html"] | ["app.js"] | ["style.css"] | ["favicon.ico"] => Err(wrong()),

        ["api", "state"] if get => Ok(Reply::Json(json!(rt.snapshot()))),
        ["api", "log"] if get => {
            let n = match query_value(query, "lines") {
                None => PAGE_LINES,
                Some(v) => v.parse::<usize>().map_err(|_| {
                    ApiError::BadRequest(format!("lines must be a number, got '{v}'"))
                })?,
            };
            Ok(Reply::Json(
                json!({ "lines": rt.feed().last_lines(n.min(LOG_KEEP)) }),
            ))
        }
        ["api", "timeline"] if get => Ok(Reply::Json(json!({ "events": rt.feed().events() }))),
        ["api", "manager-status"] if get => Ok(Reply::Json(rt.manager_status())),
        ["api", "events"] if get => Ok(Reply::Events),
        ["api", "state" | "log" | "timeline" | "manager-status" | "events"] => Err(wrong()),

        ["api", "nodes", node, what @ ("power" | "network")] if post => {
            let s: Switch = body(body_bytes)?;
            let node = node.to_string();
            let action = if *what == "power" {
                Action::Power { node, on: s.on }
            } else {
                Action::Network { node, on: s.on }
            };
            done(rt.apply(action))
        }
        ["api", "nodes", _, "power" | "network"] => Err(wrong()),

        ["api", "services"] if post => {
            let b: AddBody = body(body_bytes)?;
            let id = match b.id {
                IdValue::Number(n) => n.to_string(),
                IdValue::Text(t) => t,
            };
            done(rt.apply(Action::Add {
                kind: b.kind,
                id,
                node: b.node,
                maxcpu: b.maxcpu,
                maxmem_mib: b.maxmem,
            }))
        }
        ["api", "services"] => Err(wrong()),
        ["api", "services", sid] if method == "DELETE" => done(rt.apply(Action::Delete {
            sid: sid.to_string(),
        })),
        ["api", "services", _] => Err(wrong()),
        ["api", "services", sid, "state"] if post => {
            let b: StateBody = body(body_bytes)?;
            done(rt.apply(Action::SetState {
                sid: sid.to_string(),
                state: b.state,
            }))
        }
        ["api", "services", sid, "migrate"] if post => {
            let b: MigrateBody = body(body_bytes)?;
            done(rt.apply(Action::Migrate {
                sid: sid.to_string(),
                target: b.target,
                relocate: b.relocate,
            }))
        }
        ["api", "services", sid, "static-stats"] if post => {
            let b: StatsBody = body(body_bytes)?;
            done(rt.apply(Action::StaticStats {
                sid: sid.to_string(),
                maxcpu: b.maxcpu,
                maxmem_mib: b.maxmem,
            }))
        }
        ["api", "services", sid, "delete"] if post => done(rt.apply(Action::Delete {
            sid: sid.to_string(),
        })),
        ["api", "services", _, "state" | "migrate" | "static-stats" | "delete"] => Err(wrong()),
        ["api", "crs"] if post => {
            let b: CrsBody = body(body_bytes)?;
            let mode: CrsMode = b.mode.parse().map_err(|_| {
                ApiError::BadRequest(format!(
                    "unknown scheduler mode '{}' (use basic, static or dynamic)",
                    b.mode
                ))
            })?;
            done(rt.apply(Action::Crs { mode }))
        }
        ["api", "save"] if post => done(rt.apply(Action::Save)),
        ["api", "crs" | "save"] => Err(wrong()),
        _ => Err(ApiError::NotFound(format!("no such endpoint '{path}'"))),
    }
}

/// A bound listening socket, not yet serving: binding comes first, so
/// that a busy port fails before anything is created on disk.
pub struct Listener {
    http: tiny_http::Server,
    addr: SocketAddr,
}

impl Listener {
    /// Listens on `addr` (`host:port`; port 0 picks a free one).
    pub fn bind(addr: &str) -> Result<Listener, LiveError> {
        let listen_err = |message: String| LiveError::Listen {
            addr: addr.to_string(),
            message,
        };
        let http = tiny_http::Server::http(addr).map_err(|e| listen_err(e.to_string()))?;
        let local = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| listen_err("not an IP address".into()))?;
        Ok(Listener { http, addr: local })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The web server of one live cluster.
pub struct Server {
    http: tiny_http::Server,
    rt: Runtime,
    policy: Policy,
    url: String,
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

impl Server {
    /// Serves `rt` on `listener` under the access `policy`.
    pub fn new(listener: Listener, rt: Runtime, policy: Policy) -> Server {
        let mut url = format!("http://{}/", listener.addr);
        if let Some(t) = policy.token() {
            url.push_str(&format!("?token={t}"));
        }
        Server {
            http: listener.http,
            rt,
            policy,
            url,
        }
    }

    /// The live cluster behind the page.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// The page's address (with its `?token=` when one is required).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves requests until the runtime is stopped or `interrupted`
    /// says so (checked at least every [`ACCEPT_POLL`]). Event streams
    /// run on their own threads; everything else is answered in turn, so
    /// actions apply in the order they arrive.
    pub fn serve(self, interrupted: impl Fn() -> bool) {
        while !self.rt.stopped() && !interrupted() {
            match self.http.recv_timeout(ACCEPT_POLL) {
                Ok(Some(req)) => self.handle(req),
                Ok(None) => {}
                // The listener itself failed; nothing more to serve.
                Err(_) => break,
            }
        }
    }

    fn handle(&self, mut req: Request) {
        let method = req.method().to_string();
        let url = req.url().to_string();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|h| (h.field.to_string(), h.value.to_string()))
            .collect();
        let mut bytes = Vec::new();
        let read = req
            .as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut bytes);
        let head = Head {
            method: &method,
            url: &url,
            headers: &headers,
            has_body: !bytes.is_empty(),
        };
        let result = match read {
            Err(e) => Err(ApiError::BadRequest(format!("unable to read body: {e}"))),
            Ok(_) if bytes.len() > MAX_BODY => Err(ApiError::TooLarge(MAX_BODY)),
            Ok(_) => access::check(&self.policy, &head)
                .and_then(|()| route(&self.rt, &method, &url, &bytes)),
        };
        let head = *req.method() == Method::Head;
        let response = match result {
            Ok(Reply::Events) => {
                let rt = self.rt.clone();
                let _ = std::thread::Builder::new()
                    .name("live-events".into())
                    .spawn(move || stream_events(&rt, req));
                return;
            }
            Ok(Reply::Json(v)) => json_response(200, &v),
            Ok(Reply::Asset(text, ty)) => {
                let r = Response::from_string(text).with_status_code(200);
                match header("Content-Type", ty) {
                    Some(h) => r.with_header(h),
                    None => r,
                }
            }
            Ok(Reply::Empty) => Response::from_string("").with_status_code(204),
            Err(e) => {
                let r = json_response(e.status(), &json!({ "error": e.line() }));
                match (&e, header("WWW-Authenticate", "Bearer")) {
                    (ApiError::Unauthorized(_), Some(h)) => r.with_header(h),
                    _ => r,
                }
            }
        };
        let response = if head {
            response.with_data(std::io::empty(), Some(0)).boxed()
        } else {
            response.boxed()
        };
        // A client that went away is no error of ours.
        let _ = req.respond(response);
    }
}

fn json_response(status: u16, v: &Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    let mut r = Response::from_string(text).with_status_code(status);
    for (k, val) in [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
    ] {
        if let Some(h) = header(k, val) {
            r = r.with_header(h);
        }
    }
    r
}

/// Serves one event stream (`text/event-stream`): `log` events carry a
/// log line (a JSON string), `timeline` events one timeline event,
/// `state` events the snapshot. Written straight to the socket with a
/// flush per batch, so the page sees every change at once.
fn stream_events(rt: &Runtime, req: Request) {
    let mut w = req.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    if w.write_all(head.as_bytes())
        .and_then(|()| w.flush())
        .is_err()
    {
        return;
    }
    let mut cursor = Cursor::default();
    loop {
        let up = rt.feed().wait(&mut cursor, KEEPALIVE, PAGE_LINES);
        if up.closed {
            return;
        }
        let mut out = String::new();
        for line in &up.lines {
            out.push_str(&format!("event: log\ndata: {}\n\n", json!(line)));
        }
        for e in &up.events {
            out.push_str(&format!("event: timeline\ndata: {}\n\n", json!(e)));
        }
        if let Some(state) = &up.state {
            out.push_str(&format!("event: state\ndata: {state}\n\n"));
        }
        if out.is_empty() {
            out.push_str(": keep-alive\n\n");
        }
        if w.write_all(out.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::live::runtime::Config;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    /// A live cluster on a fresh directory (all nodes off: no daemons),
    /// with the notices it printed.
    fn runtime(name: &str) -> (Runtime, PathBuf, Arc<Mutex<Vec<String>>>) {
        let dir = std::env::temp_dir().join(format!("pve-ha-live-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let notices = Arc::new(Mutex::new(Vec::new()));
        let sink = notices.clone();
        let cfg = Config {
            dir: dir.clone(),
            speed: 50.0,
            record: true,
        };
        let rt = Runtime::start(
            cfg,
            Box::new(move |m| sink.lock().unwrap().push(m.to_string())),
        )
        .unwrap();
        (rt, dir, notices)
    }

    fn status(r: Result<Reply, ApiError>) -> u16 {
        match r {
            Ok(_) => 200,
            Err(e) => e.status(),
        }
    }

    #[test]
    fn refusals_name_their_reason() {
        let (rt, dir, _) = runtime("refusals");
        let cases: &[(&str, &str, &str, u16, &str)] = &[
            (
                "POST",
                "/api/nodes/node9/power",
                r#"{"on":true}"#,
                404,
                "no such node 'node9'",
            ),
            (
                "POST",
                "/api/nodes/node1/power",
                r#"{"on":1}"#,
                400,
                "malformed JSON body",
            ),
            (
                "POST",
                "/api/nodes/node1/power",
                "",
                400,
                "malformed JSON body",
            ),
            (
                "GET",
                "/api/nodes/node1/power",
                "",
                405,
                "method GET not allowed here",
            ),
            (
                "POST",
                "/api/services/vm:9/state",
                r#"{"state":"started"}"#,
                404,
                "no such service 'vm:9'",
            ),
            (
                "POST",
                "/api/services/vm:101/state",
                r#"{"state":"up"}"#,
                400,
                "unknown state 'up'",
            ),
            (
                "POST",
                "/api/services/vm%3A101/migrate",
                r#"{"target":"x"}"#,
                404,
                "no such node 'x'",
            ),
            (
                "POST",
                "/api/services/vm%ZZ101/migrate",
                "{}",
                400,
                "malformed escape",
            ),
            (
                "POST",
                "/api/services",
                r#"{"id":"101","node":"node1"}"#,
                409,
                "already defined",
            ),
            (
                "POST",
                "/api/services",
                r#"{"id":"1x","node":"node1"}"#,
                400,
                "id must be",
            ),
            (
                "POST",
                "/api/services",
                r#"{"id":5,"node":"node1","maxmem":0}"#,
                400,
                "maxmem",
            ),
            (
                "POST",
                "/api/services/vm:101/static-stats",
                r#"{"maxcpu":2000,"maxmem":1}"#,
                400,
                "maxcpu",
            ),
            ("DELETE", "/api/services/vm:9", "", 404, "no such service"),
            ("PUT", "/api/services/vm:101", "", 405, "not allowed"),
            (
                "POST",
                "/api/crs",
                r#"{"mode":"x"}"#,
                400,
                "unknown scheduler mode 'x'",
            ),
            (
                "GET",
                "/api/log?lines=many",
                "",
                400,
                "lines must be a number",
            ),
            ("GET", "/nope", "", 404, "no such endpoint '/nope'"),
        ];
        for (method, url, body, want, reason) in cases {
            match route(&rt, method, url, body.as_bytes()) {
                Err(e) => {
                    assert_eq!(e.status(), *want, "{method} {url}: {e}");
                    assert!(e.line().contains(reason), "{method} {url}: {e}");
                }
                Ok(r) => panic!("{method} {url} answered {r:?}"),
            }
        }
        // Nothing was changed by the refusals.
        let snap = rt.snapshot();
        assert_eq!(snap.services.len(), 6);
        assert!(snap.nodes.iter().all(|n| !n.power));
        rt.stop();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn actions_change_the_cluster_and_are_recorded() {
        let (rt, dir, notices) = runtime("actions");
        let ok = |m: &str, u: &str, b: &str| {
            assert_eq!(status(route(&rt, m, u, b.as_bytes())), 200, "{m} {u}")
        };
        ok(
            "POST",
            "/api/services/vm%3A101/state",
            r#"{"state":"stopped"}"#,
        );
        ok(
            "POST",
            "/api/services",
            r#"{"type":"ct","id":7,"node":"node2","maxcpu":2,"maxmem":512}"#,
        );
        ok(
            "POST",
            "/api/services/ct:7/static-stats",
            r#"{"maxcpu":3,"maxmem":1024}"#,
        );
        ok("DELETE", "/api/services/vm:106", "");
        ok("POST", "/api/services/vm:102/delete", "");
        ok("POST", "/api/crs", r#"{"mode":"static"}"#);
        ok("POST", "/api/nodes/node1/network", r#"{"on":true}"#);
        ok("POST", "/api/save", "");
        let snap = rt.snapshot();
        let sids: Vec<&str> = snap.services.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(sids, ["ct:7", "vm:101", "vm:103", "vm:104", "vm:105"]);
        let ct = &snap.services[0];
        assert_eq!(
            (ct.node.as_str(), ct.maxcpu, ct.maxmem_mib),
            ("node2", Some(3.0), Some(1024.0))
        );
        assert_eq!(snap.services[1].requested, "stopped");
        assert_eq!(snap.crs, "static");
        assert!(snap.nodes[0].network && !snap.nodes[0].power);
        assert_eq!(*notices.lock().unwrap(), ["current state saved"]);
        let saved = std::fs::read_to_string(dir.join("datacenter.cfg")).unwrap();
        assert!(saved.contains("\"static\""), "{saved}");
        assert!(dir.join("service_config").exists() && dir.join("service_status_node1").exists());
        let cmdlist: Vec<Vec<String>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cmdlist")).unwrap()).unwrap();
        assert_eq!(
            cmdlist.concat(),
            [
                "service vm:101 stopped",
                "service ct:7 add node2",
                "service ct:7 set-static-stats maxcpu 2 maxmem 512",
                "service ct:7 set-static-stats maxcpu 3 maxmem 1024",
                "service vm:106 delete",
                "service vm:102 delete",
                "network node1 on",
            ]
        );
        let log = rt.feed().last_lines(100).join("\n");
        assert!(
            log.contains("command: execute service ct:7 add node2"),
            "{log}"
        );
        assert!(log.contains("hardware: execute network node1 on"), "{log}");
        assert!(
            !log.contains("vm:101 stopped"),
            "the selector logs nothing: {log}"
        );
        match route(&rt, "GET", "/api/log?lines=2", b"") {
            Ok(Reply::Json(v)) => assert_eq!(v["lines"].as_array().map(Vec::len), Some(2)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            route(&rt, "GET", "/", b""),
            Ok(Reply::Asset(_, "text/html; charset=utf-8"))
        ));
        assert!(matches!(
            route(&rt, "GET", "/api/events", b""),
            Ok(Reply::Events)
        ));
        rt.stop();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(percent_decode("vm%3A101").unwrap(), "vm:101");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        for bad in ["%", "%4", "%zz", "%ff%fe"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
        assert_eq!(query_value("a=1&lines=5", "lines"), Some("5"));
        assert_eq!(query_value("", "lines"), None);
    }
}
