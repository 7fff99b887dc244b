//! watchdog-mux as real processes (07 §5): each server runs in its own
//! mount and pid namespaces with a tmpfs on `/run`, so it uses its real
//! socket and marker paths, and writes to a *recording device* (a regular
//! file: `.` per keep-alive, `V` on the magic close). No test ever opens
//! /dev/watchdog or loads a module: every server gets `--device FILE`.
//!
//! Clients run inside the server's namespaces: `nsenter` starts this very
//! test binary there, filtered to the ignored `client_process` entry,
//! which plays a script from `WDMUX_CLIENT` with the library's client
//! (`pve_ha::watchdog::client`). Being in the server's pid namespace, the
//! clients show up with their real pids in the server's messages.
//!
//! Needs root and `unshare`/`nsenter` (util-linux). Under `CI=true` their
//! absence is a failure; elsewhere the tests skip with a notice. The
//! expiry test with upstream's timing takes about 62 s of real time; the
//! same with a short failover budget (node.cfg, `PVE_HA_NODE_CONFIG`)
//! takes about 4 s. Every server is given its node configuration: a
//! file the test writes, or a path that does not exist (upstream's
//! timing), never the machine's.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::ns::{self, Namespace};
use common::transcript::Transcript;
use pve_ha::watchdog::client::Watchdog;

const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");
const SCRIPT_VAR: &str = "WDMUX_CLIENT";
/// Where watchdog-mux finds the node configuration (its failover budget).
const NODE_CONFIG_VAR: &str = "PVE_HA_NODE_CONFIG";

/// A server's namespaces: its own mount (for `/run`) and pid numbers.
const FLAGS: &[&str] = &["--mount", "--pid"];

/// Whether the namespace tests can run here: exactly what every server
/// start does, plus nsenter's presence (a skip, or a failure under CI).
fn namespaces_available(test: &str) -> bool {
    ns::available(
        &format!("the watchdog-mux namespace test {test}"),
        FLAGS,
        "mount -t tmpfs tmpfs /run && nsenter --version >/dev/null",
    )
}

/// A watchdog-mux in its own namespaces, as pid 1 there.
struct Server {
    dir: PathBuf,
    device: PathBuf,
    ns: Namespace,
    /// Its standard error; each line's probe is the device's length then.
    log: Transcript,
    started: Instant,
}

impl Server {
    /// A server recording to an empty regular file.
    fn start(name: &str) -> Server {
        Self::start_on(name, |dir| {
            let device = dir.join("device");
            fs::write(&device, b"").unwrap();
            device
        })
    }

    /// A server on the device `make` prepares in the test's directory.
    fn start_on(name: &str, make: impl FnOnce(&Path) -> PathBuf) -> Server {
        Self::launch(name, make, None)
    }

    /// A server recording to an empty regular file, with `node_cfg` as
    /// its node configuration file.
    fn start_with_config(name: &str, node_cfg: &str) -> Server {
        let empty_file = |dir: &Path| {
            let device = dir.join("device");
            fs::write(&device, b"").unwrap();
            device
        };
        Self::launch(name, empty_file, Some(node_cfg))
    }

    /// Without `node_cfg` the node configuration is a file that does not
    /// exist (upstream's timing), whatever the machine has in /etc.
    fn launch(name: &str, make: impl FnOnce(&Path) -> PathBuf, node_cfg: Option<&str>) -> Server {
        let dir = scratch(name);
        let device = make(&dir);
        let cfg_path = node_config(&dir, node_cfg);
        let notify_path = dir.join("notify");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut cmd = ns::unshare(FLAGS);
        cmd.args(["sh", "-c"])
            .arg(r#"mount -t tmpfs tmpfs /run && exec "$0" watchdog-mux --device "$1""#)
            .arg(BIN)
            .arg(&device)
            .env("NOTIFY_SOCKET", &notify_path)
            .env(NODE_CONFIG_VAR, &cfg_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut ns = Namespace::spawn(cmd);
        let stderr = ns.child().stderr.take().unwrap();
        let dev2 = device.clone();
        let log = Transcript::read(stderr, move || {
            fs::metadata(&dev2).map_or(0, |m| m.len() as usize)
        });
        // Readiness (sd_notify) comes after the socket listens.
        let mut buf = [0u8; 64];
        let n = notify.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "{name}: no READY=1 from watchdog-mux ({e}); stderr: {:?}",
                log.texts()
            )
        });
        assert_eq!(&buf[..n], b"READY=1");
        Server {
            dir,
            device,
            ns,
            log,
            started: Instant::now(),
        }
    }

    /// Starts a client process in the server's namespaces playing `script`.
    fn client(&self, script: &str) -> Child {
        self.ns
            .nsenter(&["--mount", "--pid"])
            .arg(std::env::current_exe().unwrap())
            .args(["client_process", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads=1", "-q"])
            .env(SCRIPT_VAR, script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn nsenter")
    }

    /// Runs `pve-ha ARGS` in the server's mount namespace (the same /run).
    fn run_beside(&self, args: &[&str]) -> std::process::Output {
        self.ns
            .nsenter(&["--mount"])
            .arg(BIN)
            .args(args)
            .env(NODE_CONFIG_VAR, self.dir.join("absent-node.cfg"))
            .output()
            .expect("run nsenter")
    }

    /// A path of the server's `/run`, seen from here.
    fn run_path(&self, name: &str) -> PathBuf {
        self.ns.path(&format!("/run/{name}"))
    }

    fn signal(&self, sig: libc::c_int) {
        self.ns.signal(sig);
    }

    fn texts(&self) -> Vec<String> {
        self.log.texts()
    }

    /// Waits for the server (and its namespace) to end.
    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.ns.child().try_wait().unwrap() {
                // Let the reader thread see the end of the stream.
                self.log.wait_closed(Duration::from_secs(5));
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit: {:#?}",
                self.texts()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn device(&self) -> Vec<u8> {
        fs::read(&self.device).unwrap()
    }

    /// The pid of the first client, from its `added new client` line.
    fn client_pid(&self) -> i32 {
        let texts = self.texts();
        let pid = texts
            .iter()
            .find_map(|t| t.strip_prefix("added new client (PID "))
            .and_then(|r| r.strip_suffix(") to watch"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no client in {texts:#?}"));
        // A real peer pid of the server's namespace (the server is 1).
        assert!(pid > 1, "peer pid {pid}");
        pid
    }

    fn notice(&self) -> String {
        format!(
            "recording device '{}' (regular file): watchdog timeout and identity skipped",
            self.device.display()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killing the namespace's init ends every process in it.
        self.ns.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The node configuration file a watchdog-mux of the test in `dir`
/// reads: `text` written to `node.cfg`, or a path that does not exist.
fn node_config(dir: &Path, text: Option<&str>) -> PathBuf {
    match text {
        Some(t) => {
            let p = dir.join("node.cfg");
            fs::write(&p, t).unwrap();
            p
        }
        None => dir.join("absent-node.cfg"),
    }
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wdmux-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Keep-alive bytes in a recording.
fn pings(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'.').count()
}

/// A recording of keep-alives only, no magic close.
fn assert_only_pings(bytes: &[u8]) {
    assert!(
        bytes.iter().all(|&b| b == b'.'),
        "unexpected bytes: {:?}",
        String::from_utf8_lossy(bytes)
    );
}

/// A recording of keep-alives ended by exactly one magic close.
fn assert_magic_closed(bytes: &[u8]) {
    assert_eq!(
        bytes.last(),
        Some(&b'V'),
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
    assert_only_pings(&bytes[..bytes.len() - 1]);
}

/// The three ways a client can leave without a clean goodbye: each
/// disables the pings at once and the server leaves its loop on the next
/// wake-up, without magic close, exit status 0.
fn unclean_departure(name: &str, script: &str) {
    if !namespaces_available(name) {
        return;
    }
    let mut s = Server::start(name);
    let mut c = s.client(script);
    let gone = s.log.wait_suffix(
        " did not stop watchdog - disable watchdog updates",
        secs(20),
    );
    let pid = s.client_pid();
    let status = s.wait_exit(secs(5));
    let _ = c.wait();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        s.texts(),
        [
            s.notice(),
            format!("added new client (PID {pid}) to watch"),
            format!("client (PID {pid}) did not stop watchdog - disable watchdog updates"),
            "exit watchdog-mux with active connections".to_string(),
        ]
    );
    let dev = s.device();
    assert_only_pings(&dev);
    assert!(pings(&dev) >= 1, "the device was fed while the client was");
    assert_eq!(
        dev.len(),
        gone.probe,
        "a keep-alive after the unclean departure"
    );
}

#[test]
fn a_client_that_feeds_and_closes_with_v_leaves_cleanly() {
    if !namespaces_available("clean") {
        return;
    }
    let mut s = Server::start("clean");
    let mut c = s.client("open 1; update; sleep 1200; update; sleep 1200; close");
    s.log.wait_suffix(" to watch", secs(20));
    assert!(
        s.run_path("watchdog-mux.active").is_dir(),
        "marker while a client is active"
    );
    assert!(s.run_path("watchdog-mux.sock").exists());
    let left = s.log.wait_line(
        "all watchdog client connections to the multiplexer closed",
        secs(20),
    );
    assert!(c.wait().unwrap().success());
    // Pings go on with no client at all.
    thread::sleep(Duration::from_millis(2600));
    assert!(pings(&s.device()) >= pings(&s.device()[..left.probe]) + 2);
    assert!(
        !s.run_path("watchdog-mux.active").exists(),
        "marker removed"
    );
    s.signal(libc::SIGHUP);
    s.log.wait_line("got SIGHUP - ignored", secs(5));
    s.signal(libc::SIGTERM);
    let status = s.wait_exit(secs(5));
    assert_eq!(status.code(), Some(0));
    let pid = s.client_pid();
    assert_eq!(
        s.texts(),
        [
            s.notice(),
            format!("added new client (PID {pid}) to watch"),
            format!(
                "client (PID {pid}) has disconnected cleanly. Removing it gracefully from the watch"
            ),
            "all watchdog client connections to the multiplexer closed".to_string(),
            "got SIGHUP - ignored".to_string(),
            "got terminate request".to_string(),
            "clean exit".to_string(),
        ]
    );
    assert_magic_closed(&s.device());
    assert!(s.started.elapsed() < secs(30));
}

/// Upstream pings only in quiet seconds, so a client writing many times a
/// second would starve the device; here the tick fires regardless, and
/// still only about once a second (07 §5.11).
#[test]
fn a_chatty_client_does_not_starve_the_pings() {
    if !namespaces_available("chatty") {
        return;
    }
    let mut s = Server::start("chatty");
    let mut c = s.client("open 1; feed 4000; close");
    let added = s.log.wait_suffix(" to watch", secs(20));
    let left = s
        .log
        .wait_suffix(" Removing it gracefully from the watch", secs(20));
    assert!(c.wait().unwrap().success());
    let fed = (left.at - added.at).as_secs_f64();
    let during = left.probe - added.probe;
    assert!(fed >= 3.9, "the client fed for {fed} s");
    assert!(
        during >= 3 && during as f64 <= fed + 1.5,
        "{during} keep-alives in {fed} s of constant writes"
    );
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait_exit(secs(5)).code(), Some(0));
    assert_magic_closed(&s.device());
}

#[test]
fn a_client_that_closes_without_v_fences() {
    unclean_departure("no-v", "open 1; update; sleep 1500; drop");
}

#[test]
fn a_killed_client_fences() {
    unclean_departure("kill-9", "open 1; update; sleep 1500; kill");
}

#[test]
fn v_followed_by_more_bytes_is_not_a_goodbye() {
    // NUL, `V`, NUL in separate writes, then a full close.
    unclean_departure(
        "v-then-more",
        "raw 00; sleep 1200; raw 56; sleep 300; raw 00; sleep 300; drop",
    );
}

/// One silent client expires; another is warned, writes again (averted)
/// and then leaves cleanly. Both servers run at once (~62 s in all).
#[test]
fn silent_clients_are_warned_then_expire_unless_they_write_again() {
    if !namespaces_available("silent") {
        return;
    }
    let averted = thread::spawn(|| {
        let mut s = Server::start("averted");
        let mut c = s.client("open 1; update; sleep 55000; update; sleep 1500; close");
        let added = s.log.wait_suffix(" to watch", secs(20));
        let pid = s.client_pid();
        let warned = s.log.wait_line(
            &format!("client (PID {pid}) watchdog is about to expire"),
            secs(70),
        );
        let idle = warned.at - added.at;
        assert!(
            idle >= secs(50) && idle <= secs(53),
            "warned after {idle:?}"
        );
        s.log.wait_line(
            &format!("client (PID {pid}) watchdog was updated before expiring"),
            secs(10),
        );
        s.log.wait_line(
            "all watchdog client connections to the multiplexer closed",
            secs(10),
        );
        assert!(c.wait().unwrap().success());
        s.signal(libc::SIGTERM);
        assert_eq!(s.wait_exit(secs(5)).code(), Some(0));
        assert_eq!(
            s.texts(),
            [
                s.notice(),
                format!("added new client (PID {pid}) to watch"),
                format!("client (PID {pid}) watchdog is about to expire"),
                format!("client (PID {pid}) watchdog was updated before expiring"),
                format!(
                    "client (PID {pid}) has disconnected cleanly. Removing it gracefully from the watch"
                ),
                "all watchdog client connections to the multiplexer closed".to_string(),
                "got terminate request".to_string(),
                "clean exit".to_string(),
            ]
        );
        assert_magic_closed(&s.device());
    });

    let mut s = Server::start("expired");
    let mut c = s.client("open 1; update; hold");
    let added = s.log.wait_suffix(" to watch", secs(20));
    let pid = s.client_pid();
    let warned = s.log.wait_line(
        &format!("client (PID {pid}) watchdog is about to expire"),
        secs(70),
    );
    let expired = s.log.wait_line(
        &format!("client (PID {pid}) watchdog expired - disable watchdog updates"),
        secs(20),
    );
    let (w, e) = (warned.at - added.at, expired.at - added.at);
    assert!(w >= secs(50) && w <= secs(53), "warned after {w:?}");
    assert!(e >= secs(60) && e <= secs(63), "expired after {e:?}");
    let status = s.wait_exit(secs(5));
    let _ = c.wait(); // ended with its namespace
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        s.texts(),
        [
            s.notice(),
            format!("added new client (PID {pid}) to watch"),
            format!("client (PID {pid}) watchdog is about to expire"),
            format!("client (PID {pid}) watchdog expired - disable watchdog updates"),
            "exit watchdog-mux with active connections".to_string(),
        ]
    );
    let dev = s.device();
    assert_only_pings(&dev);
    // Fed once a second until the expiry, never afterwards.
    assert!(pings(&dev) >= 55, "{} pings", pings(&dev));
    assert_eq!(dev.len(), expired.probe, "a keep-alive after the expiry");

    averted.join().unwrap();
}

#[test]
fn a_restart_is_refused_while_the_marker_exists() {
    if !namespaces_available("restart") {
        return;
    }
    let mut s = Server::start("restart");
    let mut c = s.client("open 1; update; hold");
    s.log.wait_suffix(" to watch", secs(20));
    let second = s.dir.join("second-device");
    fs::write(&second, b"").unwrap();
    let out = s.run_beside(&["watchdog-mux", "--device", second.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "watchdog active - unable to restart watchdog-mux\n"
    );
    assert_eq!(
        fs::read(&second).unwrap(),
        b"",
        "the refused instance wrote to its device"
    );
    // SIGTERM with a client still connected: the device stays armed.
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait_exit(secs(5)).code(), Some(0));
    let _ = c.wait();
    let pid = s.client_pid();
    assert_eq!(
        s.texts(),
        [
            s.notice(),
            format!("added new client (PID {pid}) to watch"),
            "got terminate request".to_string(),
            "exit watchdog-mux with active connections".to_string(),
        ]
    );
    assert_only_pings(&s.device());
}

#[test]
fn ninety_eight_clients_at_once_and_not_one_more() {
    if !namespaces_available("98") {
        return;
    }
    let mut s = Server::start("98");
    let mut c = s.client("open 98; update; sleep 1500; update; close");
    let added = s.log.wait_count_suffix(" to watch", 98, secs(30));
    s.log.wait_line(
        "all watchdog client connections to the multiplexer closed",
        secs(20),
    );
    assert!(c.wait().unwrap().success());
    let texts = s.texts();
    let clean = texts
        .iter()
        .filter(|t| t.ends_with("Removing it gracefully from the watch"));
    assert_eq!(clean.count(), 98);
    assert!(added.probe <= s.device().len());
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait_exit(secs(5)).code(), Some(0));
    assert_eq!(s.texts().last().map(String::as_str), Some("clean exit"));
    assert_magic_closed(&s.device());

    // The 99th connection finds the table full: the error exit.
    let mut s = Server::start("99");
    let mut c = s.client("open 99; hold");
    s.log
        .wait_line("unable to alloc wd_client structure", secs(30));
    assert_eq!(s.wait_exit(secs(5)).code(), Some(1));
    let _ = c.wait();
    let texts = s.texts();
    assert_eq!(
        texts.iter().filter(|t| t.ends_with(" to watch")).count(),
        98
    );
    assert_eq!(
        texts.last().map(String::as_str),
        Some("unable to alloc wd_client structure")
    );
    assert_only_pings(&s.device());
}

/// Start-up failures (07 §5.3) end with one message and status 1, before
/// any socket exists.
#[test]
fn a_device_that_cannot_be_opened_is_a_start_up_failure() {
    if !namespaces_available("open-fails") {
        return;
    }
    let dir = scratch("open-fails");
    for (device, message) in [
        (
            dir.join("missing"),
            "watchdog open: No such file or directory\n",
        ),
        (dir.clone(), "watchdog open: Is a directory\n"),
    ] {
        let out = start_up_failure(&device, &dir.join("absent-node.cfg"));
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr), message);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "",
            "nothing left in /run"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Runs watchdog-mux on `device` with the node configuration `node_cfg`
/// in fresh namespaces with an empty `/run`, and lists what it left in
/// `/run` on standard output.
fn start_up_failure(device: &Path, node_cfg: &Path) -> std::process::Output {
    ns::unshare(FLAGS)
        .args(["sh", "-c"])
        .arg(
            r#"mount -t tmpfs tmpfs /run && "$0" watchdog-mux --device "$1"; s=$?; ls -A /run; exit $s"#,
        )
        .arg(BIN)
        .arg(device)
        .env(NODE_CONFIG_VAR, node_cfg)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The etcd backend's budget shortens the client timeout: a client that
/// stops writing is warned after 2 s of silence (`Budget::warn_after` of
/// a 3 s timeout) and expires after 3 s, not after 50 s and 60 s; the
/// device gets no keep-alive after the expiry.
#[test]
fn a_short_budget_warns_and_expires_within_seconds() {
    if !namespaces_available("short-budget") {
        return;
    }
    let mut s = Server::start_with_config(
        "short-budget",
        "# a short failover budget\nbackend: etcd\nwatchdog-client-timeout: 3\n\
         watchdog-device-timeout: 2\nlease: 12\n",
    );
    let mut c = s.client("open 1; update; hold");
    let added = s.log.wait_suffix(" to watch", secs(20));
    let pid = s.client_pid();
    let warned = s.log.wait_line(
        &format!("client (PID {pid}) watchdog is about to expire"),
        secs(10),
    );
    let expired = s.log.wait_line(
        &format!("client (PID {pid}) watchdog expired - disable watchdog updates"),
        secs(10),
    );
    // Whole seconds of idleness, checked once a second: the first tick
    // with 3 (4) full seconds of silence warns (expires).
    let (w, e) = (warned.at - added.at, expired.at - added.at);
    eprintln!("short budget: warned after {w:?}, expired after {e:?}");
    assert!(w >= secs(3) && w <= secs(5), "warned after {w:?}");
    assert!(e >= secs(4) && e <= secs(6), "expired after {e:?}");
    let status = s.wait_exit(secs(5));
    let _ = c.wait();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        s.texts(),
        [
            s.notice(),
            format!("added new client (PID {pid}) to watch"),
            format!("client (PID {pid}) watchdog is about to expire"),
            format!("client (PID {pid}) watchdog expired - disable watchdog updates"),
            "exit watchdog-mux with active connections".to_string(),
        ]
    );
    let dev = s.device();
    assert_only_pings(&dev);
    assert!(pings(&dev) >= 3, "{} pings", pings(&dev));
    assert_eq!(dev.len(), expired.probe, "a keep-alive after the expiry");
    assert!(s.started.elapsed() < secs(20));
}

/// A budget whose lease does not outlast the watchdog chain (07 §10.1)
/// is refused before the device, the marker or the socket is touched:
/// one line naming every value, status 1.
#[test]
fn an_unsafe_budget_is_refused_before_anything_is_touched() {
    if !namespaces_available("unsafe-budget") {
        return;
    }
    let dir = scratch("unsafe-budget");
    let device = dir.join("device");
    fs::write(&device, b"untouched").unwrap();
    let cfg = node_config(
        &dir,
        Some("backend: etcd\nwatchdog-client-timeout: 3\nwatchdog-device-timeout: 2\nlease: 5\n"),
    );
    let out = start_up_failure(&device, &cfg);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unsafe failover budget: lease 5 s must exceed watchdog client timeout 3 s \
         + tick 1 s + device timeout 2 s + max loop time 2 s + skew margin 2 s = 10 s\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "nothing in /run");
    assert_eq!(fs::read(&device).unwrap(), b"untouched");
    let _ = fs::remove_dir_all(&dir);
}

/// A node configuration that cannot be used is one line naming the file
/// (and the line), status 1, nothing touched.
#[test]
fn a_bad_node_config_is_refused_naming_file_and_line() {
    if !namespaces_available("bad-config") {
        return;
    }
    let dir = scratch("bad-config");
    let device = dir.join("device");
    fs::write(&device, b"").unwrap();
    let cfg = node_config(&dir, Some("backend: etcd\n\nlease: soon\n"));
    let cases = [
        (
            cfg.clone(),
            format!(
                "error: {} line 3: 'lease' must be whole seconds from 1 to 3600, got 'soon'\n",
                cfg.display()
            ),
        ),
        (
            dir.clone(),
            format!(
                "error: unable to read '{}' - Is a directory\n",
                dir.display()
            ),
        ),
    ];
    for (path, message) in cases {
        let out = start_up_failure(&device, &path);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stderr), message);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "nothing in /run");
        assert_eq!(fs::read(&device).unwrap(), b"");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A FIFO gets the same bytes a file would; its reader sees them live.
#[test]
fn a_fifo_records_like_a_file() {
    if !namespaces_available("fifo") {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut s = Server::start_on("fifo", |dir| {
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = fifo.clone();
        // Opening a FIFO waits for the other end: read in the background.
        thread::spawn(move || {
            let _ = tx.send(fs::read(reader).unwrap());
        });
        fifo
    });
    thread::sleep(Duration::from_millis(2500));
    s.signal(libc::SIGTERM);
    assert_eq!(s.wait_exit(secs(5)).code(), Some(0));
    let got = rx.recv_timeout(secs(5)).unwrap();
    assert!(pings(&got) >= 2, "{got:?}");
    assert_magic_closed(&got);
    assert_eq!(
        s.texts(),
        [
            format!(
                "recording device '{}' (FIFO): watchdog timeout and identity skipped",
                s.device.display()
            ),
            "got terminate request".to_string(),
            "clean exit".to_string(),
        ]
    );
}

/// The unit as installed passes `systemd-analyze verify` against a copy
/// of the system's units, with the binary at its installed path.
#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let Some(stderr) = common::verify_units(&["watchdog-mux"], &["watchdog-mux"], BIN) else {
        return;
    };
    assert!(
        !stderr.contains("watchdog-mux"),
        "warnings about the unit: {stderr}"
    );
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/watchdog-mux.service");
    let text = fs::read_to_string(&unit).unwrap();
    assert!(
        !text.lines().any(|l| l.trim() == "[Install]"),
        "a static unit has no [Install]"
    );
}

/// Not a test: the client process the tests above start inside a
/// server's namespaces (through `nsenter`), playing the script in
/// `WDMUX_CLIENT`. Commands, separated by `;`:
/// `open N` (N connections through the client API), `update`, `close`
/// (`V` and close, the clean goodbye), `drop` (close without `V`),
/// `raw HEX` (one write of raw bytes on a plain connection, kept open),
/// `feed MS` (an update every 20 ms for MS milliseconds), `sleep MS`,
/// `hold` (wait to be killed), `kill` (SIGKILL to itself).
#[test]
#[ignore = "helper process of the watchdog-mux tests, started by them"]
fn client_process() {
    let script =
        std::env::var(SCRIPT_VAR).expect("WDMUX_CLIENT: started by the watchdog-mux tests");
    let mut conns: Vec<Watchdog> = Vec::new();
    let mut raw: Option<UnixStream> = None;
    for cmd in script.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let (word, arg) = cmd.split_once(' ').unwrap_or((cmd, ""));
        match word {
            "open" => {
                for _ in 0..arg.parse::<usize>().unwrap() {
                    let mut w = Watchdog::default();
                    w.open().unwrap();
                    conns.push(w);
                }
            }
            "update" => conns.iter_mut().for_each(|w| w.update().unwrap()),
            "close" => conns.iter_mut().for_each(|w| w.close().unwrap()),
            "drop" => {
                conns.clear();
                raw = None;
            }
            "raw" => {
                let s = raw
                    .get_or_insert_with(|| UnixStream::connect(pve_ha::watchdog::SOCKET).unwrap());
                let bytes: Vec<u8> = (0..arg.len() / 2)
                    .map(|i| u8::from_str_radix(&arg[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                s.write_all(&bytes).unwrap();
            }
            "feed" => {
                let end = Instant::now() + Duration::from_millis(arg.parse().unwrap());
                while Instant::now() < end {
                    conns.iter_mut().for_each(|w| w.update().unwrap());
                    thread::sleep(Duration::from_millis(20));
                }
            }
            "sleep" => thread::sleep(Duration::from_millis(arg.parse().unwrap())),
            "hold" => loop {
                thread::sleep(secs(3600));
            },
            "kill" => unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            },
            other => panic!("unknown client command {other:?}"),
        }
    }
}
