//! The device rule of the drills (issue 16 item 2): a node is reset only
//! when its watchdog would fire — its recording device got a keep-alive
//! (it is armed), then saw no new byte for the device timeout, and its
//! last byte is not the magic close `V`. A node whose watchdog is still
//! fed keeps running, however isolated.
//!
//! One watcher thread per cluster polls every registered node's device
//! length every 100 ms. A reset kills the node's pid 1 (the kernel then
//! ends every process of its pid namespace), deletes its link on the
//! switch (its addresses vanish at once, not whenever the kernel gets
//! round to freeing the network namespace), and appends a `reset`
//! record, stamped after both, to the evidence journal.
//!
//! The negative control uses [`Rule::Never`]: the daemons run a budget
//! that passes their check, but the harness breaks the device rule —
//! equivalent to a device timeout of infinity, which breaks the
//! inequality without any test-only path in the daemons.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// When a starved node is reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// After this long without a new byte on an armed device.
    Device(Duration),
    /// Never (the negative control).
    Never,
}

/// Seconds on the kernel's boot clock: the clock of `/proc/uptime`,
/// which the journal agent stamps with, shared by every namespace.
pub fn now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_BOOTTIME always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Appends a `reset` record for `node` at `t` to `journal`.
pub fn record_reset(journal: &std::path::Path, node: &str, t: f64) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(journal) {
        let _ = writeln!(f, "{t:.3} {node} * reset 0");
    }
}

/// What the watcher knows of one running node.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    /// Pid 1 of the node and the `unshare` process (its parent, ours:
    /// it stays unreaped until the harness waits for it, so a pid 1 whose
    /// parent is still it is the node's and no recycled pid).
    pid1: i32,
    unshare: i32,
    device: PathBuf,
    len: u64,
    since: Instant,
}

#[derive(Default)]
struct Shared {
    nodes: BTreeMap<usize, Watched>,
    /// Node index → reset time, for the harness to notice.
    resets: BTreeMap<usize, f64>,
}

/// The watcher of one cluster; stops in `Drop`.
pub struct Watcher {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching with `rule`; resets go to `journal`, links are
    /// deleted in the switch namespace of host pid `switch`.
    pub fn start(rule: Rule, journal: PathBuf, switch: i32) -> Watcher {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    poll(&shared, rule, &journal, switch);
                    thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Watcher {
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// Watches node `i` (1-based) from now on; its device starts disarmed.
    pub fn register(&self, i: usize, name: &str, pid1: i32, unshare: i32, device: PathBuf) {
        let mut s = self.shared.lock().unwrap();
        s.resets.remove(&i);
        s.nodes.insert(
            i,
            Watched {
                name: name.to_string(),
                pid1,
                unshare,
                device,
                len: 0,
                since: Instant::now(),
            },
        );
    }

    /// Stops watching node `i` (a deliberate power-off or reset).
    pub fn unregister(&self, i: usize) {
        self.shared.lock().unwrap().nodes.remove(&i);
    }

    /// When the watcher reset node `i`, if it did since it was registered.
    pub fn reset_at(&self, i: usize) -> Option<f64> {
        self.shared.lock().unwrap().resets.get(&i).copied()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The parent pid of `pid` (`None` when gone).
pub fn ppid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is gone or a zombie (pid 1 of a namespace becomes one
/// only after every other process of it has ended).
fn ended(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .unwrap_or(true)
}

/// One pass over every watched node.
fn poll(shared: &Mutex<Shared>, rule: Rule, journal: &std::path::Path, switch: i32) {
    let mut s = shared.lock().unwrap();
    let mut due = Vec::new();
    for (&i, w) in s.nodes.iter_mut() {
        let bytes = fs::read(&w.device).unwrap_or_default();
        let len = bytes.len() as u64;
        if len != w.len {
            w.len = len;
            w.since = Instant::now();
        }
        let armed = len > 0;
        let closed = bytes.last() == Some(&b'V');
        if let Rule::Device(timeout) = rule {
            if armed && !closed && w.since.elapsed() >= timeout {
                due.push(i);
            }
        }
    }
    for i in due {
        let Some(w) = s.nodes.remove(&i) else {
            continue;
        };
        reset(&w, switch, i);
        let t = now();
        record_reset(journal, &w.name, t);
        eprintln!(
            "drill: {} reset by the device rule at {t:.2} (device silent since {:.2})",
            w.name,
            t - w.since.elapsed().as_secs_f64()
        );
        s.resets.insert(i, t);
    }
}

/// Kills the node and deletes its switch port; returns once pid 1 has
/// ended (at most 5 s).
pub fn reset_node(pid1: i32, unshare: i32, switch: i32, i: usize) {
    if ppid(pid1) == Some(unshare) {
        // SAFETY: plain kill(2) of a process we verified is the node's pid 1.
        unsafe { libc::kill(pid1, libc::SIGKILL) };
    }
    let _ = Command::new("nsenter")
        .arg(format!("--target={switch}"))
        .args(["--net", "--", "ip", "link", "del", &format!("pvh{i}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ended(pid1) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
}

fn reset(w: &Watched, switch: i32, i: usize) {
    reset_node(w.pid1, w.unshare, switch, i);
}
