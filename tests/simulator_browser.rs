//! The simulator's page in a real browser: Debian's chromium, driven over
//! WebDriver (chromium-driver) by a small hand-written client. Loads the
//! page, waits for the three nodes to come up, clicks node1's power
//! switch and sees the node's state change on the page and in the API:
//! its services marked `node down`/`fenced`, the agent lock the recovery
//! waits for, the recovery itself; the dialogs; then the same page on a
//! wildcard listen, where it must carry the token.
//!
//! Skips with a notice only when chromium or its driver is not installed
//! (`.ci/run` installs both); under `CI=true` that is a failure.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Longest real wait for one expected state.
const WAIT: Duration = Duration::from_secs(90);

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first of `names` found in PATH or the usual Debian places.
fn find(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/bin", "/usr/lib/chromium"].map(PathBuf::from));
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A free local port (bound, then released for the driver to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The key of an element reference in W3C WebDriver replies.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session (W3C protocol, JSON over HTTP).
struct Session {
    base: String,
    id: String,
}

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.id);
        wd(method, &url, body)
    }

    /// The element for a CSS selector, if present.
    fn find(&self, css: &str) -> Option<String> {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v["value"][ELEMENT].as_str().map(str::to_string)
    }

    fn text(&self, css: &str) -> Option<String> {
        let el = self.find(css)?;
        self.call("GET", &format!("/element/{el}/text"), None)["value"]
            .as_str()
            .map(str::to_string)
    }

    fn property(&self, css: &str, name: &str) -> Value {
        match self.find(css) {
            Some(el) => {
                self.call("GET", &format!("/element/{el}/property/{name}"), None)["value"].clone()
            }
            None => Value::Null,
        }
    }

    /// Replaces the value of an input field.
    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).unwrap_or_else(|| panic!("no element {css}"));
        self.call("POST", &format!("/element/{el}/clear"), Some(json!({})));
        let v = self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
        assert!(v["value"].is_null(), "type into {css}: {v}");
    }

    fn click(&self, css: &str) {
        let el = self.find(css).unwrap_or_else(|| panic!("no element {css}"));
        let v = self.call("POST", &format!("/element/{el}/click"), Some(json!({})));
        assert!(v["value"].is_null(), "click {css}: {v}");
    }

    /// Polls until `pred` holds for the text of `css`.
    fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(t) = self.text(css) {
                if pred(&t) {
                    return t;
                }
            }
            if start.elapsed() > WAIT {
                let page = self.call("GET", "/source", None).to_string();
                let page: String = page.chars().take(3000).collect();
                panic!(
                    "timed out waiting for {what} ({css}: {:?})\n{page}",
                    self.text(css)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn screenshot(&self, path: &Path) {
        let v = self.call("GET", "/screenshot", None);
        if let Some(b64) = v["value"].as_str() {
            let _ = std::fs::write(path, base64_decode(b64));
        }
    }
}

/// One WebDriver request; the reply's JSON.
fn wd(method: &str, url: &str, body: Option<Value>) -> Value {
    try_wd(method, url, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// One WebDriver request, or the transport error.
fn try_wd(method: &str, url: &str, body: Option<Value>) -> Result<Value, ureq::Error> {
    let a = agent();
    let resp = match (method, body) {
        ("GET", _) => a.get(url).call(),
        ("DELETE", _) => a.delete(url).call(),
        (_, b) => a
            .post(url)
            .content_type("application/json")
            .send(b.unwrap_or(json!({})).to_string()),
    };
    let mut r = resp?;
    let text = r.body_mut().read_to_string().unwrap_or_default();
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Standard base64 (the screenshot's encoding).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = s.bytes().filter_map(val).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().fold(0u32, |acc, d| (acc << 6) | d) << (6 * (4 - chunk.len()));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

/// Starts the simulator on `dir` with `args`; the URL it prints.
fn start_simulator(dir: &Path, args: &[&str]) -> (Guard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-ha"))
        .arg("simulator")
        .arg(dir)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let url = common::read_simulator_start(&mut child).url;
    (Guard(child), url)
}

#[test]
fn clicking_a_power_switch_powers_the_node_off() {
    let (Some(chromium), Some(driver)) = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    ) else {
        common::skip("the browser test", "chromium or chromedriver not installed");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulator-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_sim, url) = start_simulator(
        &dir,
        &["--listen", "127.0.0.1:0", "--speed", "20", "--boot"],
    );

    let port = free_port();
    let _driver = Guard(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    // The driver needs a moment before it listens.
    while try_wd("GET", &format!("{base}/status"), None)
        .map_or(true, |v| v["value"]["ready"] != true)
    {
        assert!(start.elapsed() < WAIT, "chromedriver did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let caps = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1200"],
        },
    }}});
    let created = wd("POST", &format!("{base}/session"), Some(caps));
    let id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {created}"))
        .to_string();
    let s = Session { base, id };

    s.call("POST", "/url", Some(json!({ "url": url })));
    assert_eq!(s.text("h1").as_deref(), Some("Proxmox HA Simulator"));
    // The three nodes come up; one of them is the master.
    for n in ["node1", "node2", "node3"] {
        s.wait_text(&format!("#node-state-{n}"), "the node online", |t| {
            t.starts_with("online")
        });
    }
    s.wait_text(
        "[data-testid='service-state-vm:101']",
        "vm:101 started",
        |t| t == "started",
    );
    assert_eq!(s.property("#power-node1", "checked"), true);
    // Where things are: the working directory Save writes, where each
    // service runs, what the node lanes' colours mean.
    assert_eq!(
        s.text("[data-testid='workdir']").as_deref(),
        Some(dir.to_string_lossy().as_ref())
    );
    assert_eq!(
        s.text("[data-testid='runs-on-vm:101']").as_deref(),
        Some("node1")
    );
    let legend = s.text("[data-testid='legend-nodes']").unwrap_or_default();
    for want in ["on", "isolated", "off"] {
        assert!(legend.contains(want), "{legend:?}");
    }
    assert_eq!(s.text("#node-wait-node1").as_deref(), Some(""));

    // Click node1's power switch: the page shows the node off and no
    // longer online, and the cluster agrees.
    s.click("label[title='power-node1']");
    let t = s.wait_text("#node-state-node1", "node1 no longer online", |t| {
        !t.starts_with("online")
    });
    assert!(!t.is_empty());
    assert_eq!(s.property("#power-node1", "checked"), false);
    let state = wd("GET", &format!("{url}api/state"), None);
    let node1 = state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "node1")
        .unwrap();
    assert_eq!(node1["power"], false);
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(log.contains("hardware: execute power node1 off"), "{log}");
    assert!(log.contains("node1/crm: killed by poweroff"), "{log}");
    // Its service is no longer shown as a green `started`, nothing runs
    // it, and the node shows the agent lock its recovery waits for.
    s.wait_text(
        "[data-testid='service-state-vm:101']",
        "vm:101 marked as down",
        |t| t == "node down" || t == "fenced",
    );
    assert_eq!(
        s.text("[data-testid='runs-on-vm:101']").as_deref(),
        Some("–")
    );
    s.wait_text("#node-wait-node1", "node1's agent lock shown", |t| {
        t.contains("agent lock")
    });
    // The recovery: vm:101 started, and really running, elsewhere.
    s.wait_text("[data-testid='runs-on-vm:101']", "vm:101 recovered", |t| {
        t == "node2" || t == "node3"
    });
    s.wait_text(
        "[data-testid='service-state-vm:101']",
        "vm:101 started again",
        |t| t == "started",
    );

    // The dialogs: add a container, migrate a VM, delete the container.
    s.click("#add");
    s.type_into("#add-id", "4242");
    s.click("#add-type option[value='ct']");
    s.click("#add-node option[value='node3']");
    s.click("#add-ok");
    s.wait_text(
        "[data-testid='service-state-ct:4242']",
        "ct:4242 added",
        |t| !t.is_empty(),
    );
    s.click("[data-testid='migrate-vm:102']");
    s.click("#migrate-target option[value='node3']");
    s.click("#migrate-ok");
    s.wait_text(
        "#service-vm\\:102 td:nth-child(4)",
        "vm:102 on node3",
        |t| t == "node3",
    );
    s.click("#service-ct\\:4242 button[title='delete']");
    let alert = s.call("GET", "/alert/text", None);
    assert_eq!(alert["value"], "Delete Service 'ct:4242'?");
    s.call("POST", "/alert/accept", Some(json!({})));
    let start = Instant::now();
    while s.find("#service-ct\\:4242").is_some() {
        assert!(start.elapsed() < WAIT, "ct:4242 still shown");
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    for want in [
        "command: execute service ct:4242 add node3",
        "command: execute service ct:4242 set-static-stats maxcpu 4 maxmem 4096",
        "got crm command: migrate vm:102 node3",
        "command: execute service ct:4242 delete",
    ] {
        assert!(log.contains(want), "{want}\n{log}");
    }

    s.screenshot(&dir.join("page.png"));

    // A wildcard listen: the page opened with its ?token= passes the token
    // on (the event stream goes live, a switch works).
    let dir2 = Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulator-browser-token");
    let _ = std::fs::remove_dir_all(&dir2);
    std::fs::create_dir_all(&dir2).unwrap();
    let (_sim2, url2) = start_simulator(&dir2, &["--listen", "0.0.0.0:0", "--speed", "20"]);
    let url2 = url2.replace("0.0.0.0", "127.0.0.1");
    assert!(url2.contains("/?token="), "{url2}");
    s.call("POST", "/url", Some(json!({ "url": url2 })));
    s.wait_text("#conn", "the event stream live", |t| t == "live");
    s.wait_text("#node-state-node1", "node1 shown", |t| t == "-");
    s.click("label[title='power-node1']");
    let start = Instant::now();
    loop {
        let state = wd("GET", &url2.replace("/?token=", "/api/state?token="), None);
        if state["nodes"][0]["power"] == true {
            break;
        }
        assert!(start.elapsed() < WAIT, "node1 not powered on: {state}");
        std::thread::sleep(Duration::from_millis(200));
    }
    s.call("DELETE", "", None);
}

#[test]
fn base64_decoding() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8hIQ=="), b"hello!!");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
