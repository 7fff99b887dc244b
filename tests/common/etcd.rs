//! Real etcd servers for tests: one member or a small cluster on loopback
//! ports nobody else uses, each with a temporary data directory, killed
//! and removed on drop (also when a test fails).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The etcd binary (Debian's `etcd-server`), unless `PVE_HA_ETCD` names
/// another.
pub fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PVE_HA_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"));
    path.is_file().then_some(path)
}

/// `n` distinct free loopback ports (all bound at once, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// One member.
pub struct Member {
    /// `m0`, `m1`, …
    pub name: String,
    /// `http://127.0.0.1:<port>`.
    pub client_url: String,
    child: Option<Child>,
}

impl Member {
    /// Kills the member at once (a crash or a cut cable, as its clients
    /// see it).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An etcd cluster of one or more members on loopback.
pub struct Etcd {
    /// The members.
    pub members: Vec<Member>,
    dir: PathBuf,
}

impl Etcd {
    /// Starts `n` members and waits (at most 20 s) until every one
    /// answers a linearizable read, i.e. a leader is elected. `None`
    /// (after saying so through `common::skip`) when there is no etcd.
    pub fn start(n: usize, what: &str) -> Option<Etcd> {
        let Some(bin) = binary() else {
            super::skip(
                what,
                "etcd not installed (/usr/bin/etcd, package etcd-server)",
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "pve-ha-etcd-{}-{}",
            std::process::id(),
            what.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("etcd scratch directory");
        let ports = free_ports(2 * n);
        let peer = |i: usize| format!("http://127.0.0.1:{}", ports[2 * i + 1]);
        let initial: Vec<String> = (0..n).map(|i| format!("m{i}={}", peer(i))).collect();
        let initial = initial.join(",");
        let mut etcd = Etcd {
            members: Vec::new(),
            dir: dir.clone(),
        };
        for i in 0..n {
            let name = format!("m{i}");
            let client_url = format!("http://127.0.0.1:{}", ports[2 * i]);
            let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
            let child = Command::new(&bin)
                .arg("--name")
                .arg(&name)
                .arg("--data-dir")
                .arg(dir.join(&name))
                .arg("--listen-client-urls")
                .arg(&client_url)
                .arg("--advertise-client-urls")
                .arg(&client_url)
                .arg("--listen-peer-urls")
                .arg(peer(i))
                .arg("--initial-advertise-peer-urls")
                .arg(peer(i))
                .arg("--initial-cluster")
                .arg(&initial)
                .arg("--initial-cluster-token")
                .arg(format!("pve-ha-test-{}", std::process::id()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start etcd");
            etcd.members.push(Member {
                name,
                client_url,
                child: Some(child),
            });
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for m in &etcd.members {
            while !ready(&m.client_url) {
                assert!(
                    Instant::now() < deadline,
                    "etcd member {} not ready within 20 s (logs in {})",
                    m.name,
                    dir.display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Some(etcd)
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into()
}

/// Whether the member answers a linearizable read.
fn ready(url: &str) -> bool {
    agent()
        .post(format!("{url}/v3/kv/range"))
        .send(r#"{"key":"AA=="}"#)
        .is_ok_and(|r| r.status() == 200)
}

/// POSTs raw JSON to a member's gateway: for tests that look at the keys
/// behind the store's back. The answer's JSON.
pub fn raw(url: &str, path: &str, body: &str) -> serde_json::Value {
    let mut r = agent()
        .post(format!("{url}{path}"))
        .send(body)
        .expect("etcd gateway request");
    let text = r.body_mut().read_to_string().expect("etcd answer");
    serde_json::from_str(&text).expect("etcd answer is JSON")
}
