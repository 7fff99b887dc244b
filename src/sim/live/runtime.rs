//! The live cluster: the shared hardware, the daemon threads of every node,
//! the actions a user takes (01 §10), the once-a-second timer that checks
//! the watchdogs (fencing expired nodes) and publishes what the page
//! shows, the status directory and the Save button.
//!
//! Lock order, to rule out deadlocks: publisher → control → hardware →
//! feed. Daemon threads only ever take the hardware lock (through their
//! environment), and the log hook the feed's.

use std::collections::BTreeMap;
use std::io::{LineWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::env::{EnvError, Time};
use crate::lrm::LrmShared;
use crate::sim::cluster::Cluster;
use crate::sim::hardware::{Hardware, SharedHardware};
use crate::sim::scenario::{Scenario, ScenarioError};
use crate::sim::tester::{reset_status_dir, TesterError};

use super::actions::{check_resources, new_sid, number_arg, Action, ApiError, REQUEST_STATES};
use super::clock::{local_hms, LiveClock};
use super::daemons::{prepare_crm, prepare_lrm, Daemon};
use super::feed::Feed;
use super::recorder::Recorder;
use super::snapshot::{self, Context, DaemonFlags, Snapshot};
use super::timeline::Timeline;

/// Real time between two publications of the page's state.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// Real time between two writes of the status directory.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// Longest real pause of the timer (it also checks the watchdogs).
const TICK_MAX: Duration = Duration::from_millis(250);

/// The files the Save button writes back (01 §10), besides every
/// `service_status_<node>`; each only if present.
const SAVED_FILES: &[&str] = &[
    "static_service_stats",
    "datacenter.cfg",
    "fence.cfg",
    "hardware_status",
    "service_config",
    "groups",
    "rules_config",
    "manager_status",
];

/// The input files of a working directory (01 §2.1, without `cmdlist`:
/// the live simulator takes its commands from the user).
const INPUT_FILES: &[&str] = &[
    "hardware_status",
    "service_config",
    "manager_status",
    "rules_config",
    "groups",
    "datacenter.cfg",
    "fence.cfg",
    "static_service_stats",
    "dynamic_service_stats",
];

/// Why the live simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The working directory's files are unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The status directory could not be prepared.
    #[error(transparent)]
    Status(#[from] TesterError),
    /// A file or directory could not be created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The web server could not listen.
    #[error("unable to listen on '{addr}': {message}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why.
        message: String,
    },
}

/// How to run the live cluster.
#[derive(Debug, Clone)]
pub struct Config {
    /// The working directory (seeded as in 01 §2.3).
    pub dir: PathBuf,
    /// Clock speed factor (1 = real time).
    pub speed: f64,
    /// Record actions into `DIR/cmdlist`.
    pub record: bool,
}

/// Receives the one-line notices upstream prints on stdout (`current
/// state saved`); the command line prints them.
pub type Notice = Box<dyn Fn(&str) + Send + Sync>;

/// The daemon threads of one node.
#[derive(Debug, Default)]
struct NodeDaemons {
    crm: Option<Daemon>,
    lrm: Option<Daemon>,
}

impl NodeDaemons {
    fn flags(&self) -> (bool, bool) {
        let running = |d: &Option<Daemon>| d.as_ref().is_some_and(Daemon::running);
        (running(&self.crm), running(&self.lrm))
    }
}

/// What actions change besides the hardware.
struct Control {
    daemons: BTreeMap<String, NodeDaemons>,
    /// The `cmdlist` interpreter (01 §4) for everything but power; its
    /// nodes never get daemons.
    commands: Cluster,
}

/// The page's view over time.
struct Publisher {
    timeline: Timeline,
    last_publish: Option<Instant>,
    last_status: Option<Instant>,
    status_written: BTreeMap<String, String>,
}

struct Inner {
    hw: SharedHardware,
    clock: LiveClock,
    dir: PathBuf,
    control: Mutex<Control>,
    publisher: Mutex<Publisher>,
    feed: Feed,
    lrm_shared: LrmShared,
    recorder: Option<Mutex<Recorder>>,
    notice: Notice,
    stopping: AtomicBool,
    /// The timer thread, joined by [`Runtime::shutdown`]: it is the one
    /// thread that writes into the directory on its own.
    timer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The running live cluster; clones share it.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Locks a mutex; a panic elsewhere must not wedge the simulator.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LiveError + '_ {
    move |source| LiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the working directory's files (01 §2.3: missing files give the
/// default 3-node, 6-VM cluster).
pub fn load_dir(dir: &Path) -> Result<Scenario, ScenarioError> {
    let mut files = crate::sim::scenario::read_files(dir, INPUT_FILES)?;
    // The scenario loader wants a command list; the user is ours.
    files.insert("cmdlist".into(), "[]".into());
    Scenario::from_files(dir, &files)
}

/// Service states the manager may pass through within a single round,
/// too briefly for the page's snapshots to see; the timeline takes them
/// from the manager's log lines instead.
const BRIEF_STATES: &[&str] = &["fence", "recovery"];

/// The sid and new state of a manager line `service '<sid>': state
/// changed from '<old>' to '<new>'…` (02, upstream's wording).
fn transition(msg: &str) -> Option<(&str, &str)> {
    let rest = msg.strip_prefix("service '")?;
    let (sid, rest) = rest.split_once("': state changed from '")?;
    let (_, rest) = rest.split_once("' to '")?;
    let (to, _) = rest.split_once('\'')?;
    Some((sid, to))
}

/// One line of the interactive log (01 §10): `%-5s %10s %12s: <msg>`
/// with the local time; levels are neither cut nor filtered.
pub fn format_line(level: &str, time: Time, id: &str, msg: &str) -> String {
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    format!("{level:<5} {:>10} {id:>12}: {msg}", local_hms(time))
}

impl Runtime {
    /// Seeds the working directory (01 §2.3), truncates `DIR/log`, and
    /// starts the timer. Nodes that are on in `hardware_status` get their
    /// daemons at once (a saved state continues where it was; the tester
    /// instead leaves such nodes without daemons, 01 §2.2).
    pub fn start(cfg: Config, notice: Notice) -> Result<Runtime, LiveError> {
        let dir = cfg.dir.clone();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let scenario = load_dir(&dir)?;
        reset_status_dir(&dir.join("status"))?;
        let log_path = dir.join("log");
        let log_file = std::fs::File::create(&log_path).map_err(io_err(&log_path))?;
        let recorder = if cfg.record {
            let r = Recorder::new(&dir.join("cmdlist"));
            r.write().map_err(io_err(r.path()))?;
            Some(Mutex::new(r))
        } else {
            None
        };

        let clock = LiveClock::new(cfg.speed);
        let feed = Feed::new();
        let mut hw = Hardware::new(&scenario);
        hw.set_time(clock.now());
        let mut writer = LineWriter::new(log_file);
        let log_feed = feed.clone();
        hw.set_log_hook(Box::new(move |level, time, id, msg| {
            let line = format_line(level, time, id, msg);
            // The log file is best effort; the page gets every line.
            let _ = writeln!(writer, "{line}");
            log_feed.push_line(line);
            if let Some((sid, to)) = transition(msg) {
                if BRIEF_STATES.contains(&to) {
                    log_feed.push_service_state(time, sid, to);
                }
            }
        }));
        let hw = hw.shared();
        let nodes: Vec<String> = scenario.nodes.keys().cloned().collect();
        let control = Control {
            daemons: nodes
                .iter()
                .map(|n| (n.clone(), NodeDaemons::default()))
                .collect(),
            commands: Cluster::new(hw.clone()),
        };
        let rt = Runtime {
            inner: Arc::new(Inner {
                hw,
                clock,
                dir,
                control: Mutex::new(control),
                publisher: Mutex::new(Publisher {
                    timeline: Timeline::new(),
                    last_publish: None,
                    last_status: None,
                    status_written: BTreeMap::new(),
                }),
                feed,
                lrm_shared: LrmShared::default(),
                recorder,
                notice,
                stopping: AtomicBool::new(false),
                timer: Mutex::new(None),
            }),
        };
        {
            let mut ctl = rt.control();
            for node in &nodes {
                if rt.hw_now().node(node).is_some_and(|n| n.power) {
                    rt.start_daemons(&mut ctl, node);
                }
            }
        }
        rt.publish(true);
        let ticker = rt.clone();
        let timer = std::thread::Builder::new()
            .name("live-timer".into())
            .spawn(move || ticker.run_timer())
            .map_err(|e| LiveError::Io {
                path: rt.inner.dir.clone(),
                source: e,
            })?;
        *lock(&rt.inner.timer) = Some(timer);
        Ok(rt)
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        lock(&self.inner.control)
    }

    /// Locks the hardware with its clock moved to now (never backwards).
    fn hw_now(&self) -> MutexGuard<'_, Hardware> {
        let mut hw = self.inner.hw.lock_raw();
        let now = self.inner.clock.now().max(hw.time());
        hw.set_time(now);
        hw
    }

    /// The feed the page's event stream reads.
    pub fn feed(&self) -> &Feed {
        &self.inner.feed
    }

    /// The clock.
    pub fn clock(&self) -> LiveClock {
        self.inner.clock
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The current picture.
    pub fn snapshot(&self) -> Snapshot {
        let flags: DaemonFlags = self
            .control()
            .daemons
            .iter()
            .map(|(n, d)| (n.clone(), d.flags()))
            .collect();
        let ctx = Context {
            now: self.inner.clock.now(),
            speed: self.inner.clock.speed(),
            dir: self.inner.dir.display().to_string(),
            recording: self.inner.recorder.is_some(),
        };
        let hw = self.hw_now();
        snapshot::take(&hw, &flags, &ctx)
    }

    /// The manager status as written by the master (`{}` before).
    pub fn manager_status(&self) -> Value {
        let ms = self.hw_now().manager_status();
        snapshot::manager_status_json(&ms)
    }

    /// Brings the cluster up as a user would: requests `started` for
    /// every service, then powers on every node that is off (both
    /// recorded like any action). Services first, so that the first
    /// master adds them as wanted instead of stopping them first.
    pub fn boot(&self) -> Result<(), ApiError> {
        let snap = self.snapshot();
        for s in snap.services.iter().filter(|s| s.requested != "started") {
            self.apply(Action::SetState {
                sid: s.sid.clone(),
                state: "started".into(),
            })?;
        }
        for n in snap.nodes.iter().filter(|n| !n.power) {
            self.apply(Action::Power {
                node: n.name.clone(),
                on: true,
            })?;
        }
        Ok(())
    }

    /// Whether [`Runtime::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Stops everything: kills every daemon and ends the event streams.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        let ctl = self.control();
        for d in ctl.daemons.values() {
            for daemon in [&d.crm, &d.lrm].into_iter().flatten() {
                self.inner.hw.kill(daemon.life());
            }
        }
        drop(ctl);
        self.inner.feed.close();
    }

    /// [`Runtime::stop`], then waits for the timer thread to end, so that
    /// nothing writes into the directory afterwards (the caller may
    /// remove it).
    pub fn shutdown(&self) {
        self.stop();
        let timer = lock(&self.inner.timer).take();
        if let Some(t) = timer {
            // A panicked timer has nothing left to write either.
            let _ = t.join();
        }
    }

    /// Carries out one action; recorded (with `--record`) and published
    /// at once.
    pub fn apply(&self, action: Action) -> Result<(), ApiError> {
        let commands = self.execute(&action)?;
        if let Some(rec) = &self.inner.recorder {
            let now = self.inner.clock.now();
            let mut rec = lock(rec);
            rec.record(now, commands)
                .map_err(|e| ApiError::Internal(format!("{}: {e}", rec.path().display())))?;
        }
        self.publish(true);
        Ok(())
    }

    /// Performs `action`; returns its `cmdlist` form for the recorder.
    fn execute(&self, action: &Action) -> Result<Vec<String>, ApiError> {
        let mut ctl = self.control();
        match action {
            Action::Power { node, on } => {
                self.known_node(node)?;
                if *on {
                    self.power_on(&mut ctl, node, "hardware");
                } else {
                    self.power_off(&mut ctl, node, "hardware");
                }
                Ok(vec![format!("power {node} {}", on_off(*on))])
            }
            Action::Network { node, on } => {
                self.known_node(node)?;
                let cmd = format!("network {node} {}", on_off(*on));
                self.command(&mut ctl, &cmd, "hardware")?;
                Ok(vec![cmd])
            }
            Action::SetState { sid, state } => {
                self.known_service(sid)?;
                if !REQUEST_STATES.contains(&state.as_str()) {
                    return Err(ApiError::BadRequest(format!(
                        "unknown state '{state}' (use one of {})",
                        REQUEST_STATES.join(", ")
                    )));
                }
                // Directly, without an `execute` line (01 §10).
                self.hw_now()
                    .set_service_key(sid, "state", state)
                    .map_err(|e| ApiError::NotFound(e.message().to_string()))?;
                Ok(vec![format!("service {sid} {state}")])
            }
            Action::Migrate {
                sid,
                target,
                relocate,
            } => {
                self.known_service(sid)?;
                self.known_node(target)?;
                let verb = if *relocate { "relocate" } else { "migrate" };
                self.hw_now()
                    .queue_crm_command(&format!("{verb} {sid} {target}"));
                Ok(vec![format!("service {sid} {verb} {target}")])
            }
            Action::Add {
                kind,
                id,
                node,
                maxcpu,
                maxmem_mib,
            } => {
                let sid = new_sid(kind, id)?;
                self.known_node(node)?;
                check_resources(*maxcpu, *maxmem_mib)?;
                if self.hw_now().raw_service(&sid).is_some() {
                    return Err(ApiError::Conflict(format!(
                        "resource ID '{sid}' already defined"
                    )));
                }
                let add = format!("service {sid} add {node}");
                let stats = stats_command(&sid, *maxcpu, *maxmem_mib);
                self.command(&mut ctl, &add, "command")?;
                self.command(&mut ctl, &stats, "command")?;
                Ok(vec![add, stats])
            }
            Action::Delete { sid } => {
                self.known_service(sid)?;
                let cmd = format!("service {sid} delete");
                self.command(&mut ctl, &cmd, "command")?;
                Ok(vec![cmd])
            }
            Action::StaticStats {
                sid,
                maxcpu,
                maxmem_mib,
            } => {
                self.known_service(sid)?;
                check_resources(*maxcpu, *maxmem_mib)?;
                let cmd = stats_command(sid, *maxcpu, *maxmem_mib);
                self.command(&mut ctl, &cmd, "command")?;
                Ok(vec![cmd])
            }
            Action::Crs { mode } => {
                self.hw_now()
                    .set_crs_mode(*mode)
                    .map_err(ApiError::Internal)?;
                // No cmdlist command changes datacenter.cfg.
                Ok(Vec::new())
            }
            Action::Save => {
                drop(ctl);
                self.save().map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok(Vec::new())
            }
        }
    }

    fn known_node(&self, node: &str) -> Result<(), ApiError> {
        if self.hw_now().node(node).is_none() {
            return Err(ApiError::NotFound(format!("no such node '{node}'")));
        }
        Ok(())
    }

    fn known_service(&self, sid: &str) -> Result<(), ApiError> {
        if self.hw_now().raw_service(sid).is_none() {
            return Err(ApiError::NotFound(format!("no such service '{sid}'")));
        }
        Ok(())
    }

    /// A hardware command (01 §4) through the tester's interpreter, at
    /// the current time. Arguments were validated before, so an error
    /// here is a refused value.
    fn command(&self, ctl: &mut Control, cmd: &str, id: &str) -> Result<(), ApiError> {
        drop(self.hw_now());
        ctl.commands
            .hardware_command(cmd, id)
            .map_err(|e: EnvError| ApiError::BadRequest(e.message().to_string()))
    }

    /// `power <node> on` (01 §4.4, §10): a node that was off gets a fresh
    /// CRM and LRM (their constructors log), healthy cfs, then power and
    /// network; the daemon threads start last.
    fn power_on(&self, ctl: &mut Control, node: &str, id: &str) {
        let was_on = {
            let mut hw = self.hw_now();
            hw.log("info", id, &format!("execute power {node} on"));
            hw.node(node).is_some_and(|n| n.power)
        };
        if !was_on {
            self.start_daemons(ctl, node);
            if let Some(n) = self.hw_now().node_mut(node) {
                n.cfs_rw = true;
                n.cfs_update = true;
            }
        }
        if let Some(n) = self.hw_now().node_mut(node) {
            n.power = true;
            n.network = true;
            n.shutdown = None;
        }
    }

    /// Creates and starts the daemons `node` lacks.
    fn start_daemons(&self, ctl: &mut Control, node: &str) {
        let Some(slot) = ctl.daemons.get_mut(node) else {
            return;
        };
        let clock = self.inner.clock;
        let hw = &self.inner.hw;
        let crm =
            (!slot.crm.as_ref().is_some_and(Daemon::running)).then(|| prepare_crm(hw, node, clock));
        let lrm = (!slot.lrm.as_ref().is_some_and(Daemon::running))
            .then(|| prepare_lrm(hw, node, clock, &self.inner.lrm_shared));
        if let Some(p) = crm {
            slot.crm = Some(p.start());
        }
        if let Some(p) = lrm {
            slot.lrm = Some(p.start());
        }
    }

    /// `power <node> off` (01 §4.4): kills the node's daemons at once,
    /// removes its watchdogs, stops everything that ran there; cluster
    /// locks stay. All in one step under the hardware lock.
    fn power_off(&self, ctl: &mut Control, node: &str, id: &str) {
        let mut hw = self.hw_now();
        hw.log("info", id, &format!("execute power {node} off"));
        if hw.node(node).is_some_and(|n| n.power) {
            if let Some(slot) = ctl.daemons.get_mut(node) {
                let now = hw.time();
                for (daemon, suffix) in [(slot.crm.take(), "crm"), (slot.lrm.take(), "lrm")] {
                    let Some(d) = daemon.filter(Daemon::running) else {
                        continue;
                    };
                    self.inner.hw.kill_locked(&mut hw, d.life());
                    hw.log_line(
                        "info",
                        now,
                        &format!("{node}/{suffix}"),
                        "killed by poweroff",
                    );
                }
            }
            hw.watchdog_reset(node);
            hw.clear_run_state(node);
        }
        if let Some(n) = hw.node_mut(node) {
            n.power = false;
            n.network = false;
            n.shutdown = None;
        }
    }

    /// The timer (upstream's GUI timer, once per second, here at least
    /// once per virtual second): watchdog checks and publishing.
    fn run_timer(&self) {
        while !self.inner.stopping.load(Ordering::SeqCst) {
            self.check_watchdogs();
            self.publish(false);
            let pause = self.inner.clock.real(1.0).min(TICK_MAX);
            std::thread::sleep(pause);
        }
    }

    /// Powers off every node with an expired watchdog (01 §6.3): the
    /// simulator's fencing.
    fn check_watchdogs(&self) {
        let mut ctl = self.control();
        let nodes: Vec<String> = ctl.daemons.keys().cloned().collect();
        for node in nodes {
            let expired = self.hw_now().watchdog_check(&node);
            if expired {
                self.power_off(&mut ctl, &node, "watchdog");
                self.hw_now().log(
                    "info",
                    "hardware",
                    &format!("server '{node}' stopped by poweroff (watchdog)"),
                );
            }
        }
    }

    /// Publishes the snapshot and new timeline events to the page (at
    /// most every [`PUBLISH_EVERY`] unless `force`), and writes the
    /// status directory now and then.
    fn publish(&self, force: bool) {
        let mut publisher = lock(&self.inner.publisher);
        let due =
            |last: Option<Instant>, every: Duration| last.is_none_or(|t| t.elapsed() >= every);
        if !force && !due(publisher.last_publish, PUBLISH_EVERY) {
            return;
        }
        publisher.last_publish = Some(Instant::now());
        let snap = self.snapshot();
        let events = publisher.timeline.sample(&snap);
        self.inner.feed.push_events(events);
        if let Ok(json) = serde_json::to_string(&snap) {
            self.inner.feed.set_state(json);
        }
        if due(publisher.last_status, STATUS_EVERY) {
            publisher.last_status = Some(Instant::now());
            let files = self.hw_now().status_files();
            let status = self.inner.dir.join("status");
            for (name, content) in files {
                if publisher.status_written.get(&name) == Some(&content) {
                    continue;
                }
                // Debugging aid only (01 §2.4): a failed write is retried
                // next time.
                if std::fs::write(status.join(&name), &content).is_ok() {
                    publisher.status_written.insert(name, content);
                }
            }
        }
    }

    /// The Save button (01 §10): the current state back into the
    /// directory, so that reopening it continues from there.
    pub fn save(&self) -> Result<(), LiveError> {
        let files = self.hw_now().status_files();
        for (name, content) in files {
            if SAVED_FILES.contains(&name.as_str()) || name.starts_with("service_status_") {
                let path = self.inner.dir.join(&name);
                std::fs::write(&path, content).map_err(io_err(&path))?;
            }
        }
        (self.inner.notice)("current state saved");
        Ok(())
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// `service <sid> set-static-stats maxcpu <c> maxmem <MiB>`.
fn stats_command(sid: &str, maxcpu: f64, maxmem_mib: f64) -> String {
    format!(
        "service {sid} set-static-stats maxcpu {} maxmem {}",
        number_arg(maxcpu),
        number_arg(maxmem_mib)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isolated_node_is_fenced_by_its_watchdog() {
        let dir = std::env::temp_dir().join(format!("pve-ha-live-{}-watchdog", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = Config {
            dir: dir.clone(),
            speed: 50.0,
            record: false,
        };
        let rt = Runtime::start(cfg, Box::new(|_| {})).unwrap();
        rt.boot().unwrap();
        let wait = |what: &str, pred: &dyn Fn(&Snapshot) -> bool| {
            let start = Instant::now();
            loop {
                let snap = rt.snapshot();
                if pred(&snap) {
                    return;
                }
                let log = rt.feed().last_lines(LOG_KEEP_FOR_TEST).join("\n");
                assert!(start.elapsed() < Duration::from_secs(60), "{what}\n{log}");
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        wait("services up", &|s| {
            s.services.iter().all(|v| v.state == "started")
        });
        rt.apply(Action::Network {
            node: "node3".into(),
            on: false,
        })
        .unwrap();
        wait("node3 fenced", &|s| !s.nodes[2].power);
        let log = rt.feed().last_lines(LOG_KEEP_FOR_TEST).join("\n");
        assert!(log.contains("watchdog: execute power node3 off"), "{log}");
        assert!(log.contains("node3/lrm: killed by poweroff"), "{log}");
        assert!(
            log.contains("hardware: server 'node3' stopped by poweroff (watchdog)"),
            "{log}"
        );
        let snap = rt.snapshot();
        assert!(!snap.nodes[2].crm_running && !snap.nodes[2].lrm_running);
        rt.stop();
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Enough lines for a whole test run.
    const LOG_KEEP_FOR_TEST: usize = 500;

    #[test]
    fn manager_transitions_are_recognised() {
        assert_eq!(
            transition("service 'vm:101': state changed from 'started' to 'fence'"),
            Some(("vm:101", "fence"))
        );
        assert_eq!(
            transition(
                "service 'vm:1': state changed from 'recovery' to 'started'  (node = node2)"
            ),
            Some(("vm:1", "started"))
        );
        assert_eq!(transition("recover service 'vm:1' from fenced node"), None);
    }

    #[test]
    fn interactive_log_format() {
        let line = format_line("email", 0, "node1/crm", "FENCE: x\n");
        assert_eq!(&line[..6], "email ");
        assert!(line.ends_with("    node1/crm: FENCE: x"), "{line:?}");
        assert_eq!(
            line.len(),
            "email ".len() + 10 + 1 + 12 + ": FENCE: x".len()
        );
    }
}
