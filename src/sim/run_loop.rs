//! The tester's run loop (01 §5): drives every daemon one iteration at a
//! time in sorted node order, advances the hardware clock, checks the
//! watchdogs, handles daemon exits, applies the command batches and
//! decides when the simulation ends.
//!
//! **Lockstep extension (ours, not upstream).** Upstream serialises the
//! nodes inside a loop (each daemon iteration costs one virtual second), so
//! a loop lasts `2 × nodes` seconds and clusters of 30 or more nodes would
//! outlast the 60 s watchdog; it refuses them with `unable to simulate so
//! many nodes`. Real nodes run side by side, so for exactly those clusters
//! we step every node within the same two virtual seconds instead: each
//! node's CRM runs at the loop start `T`, its LRM at `T + 1`, and the loop
//! lasts the minimum 20 s. Clusters upstream can simulate never take this
//! path, so their logs are unchanged.

use std::collections::VecDeque;

use super::cluster::Cluster;
use super::commands::{parse_loop_command, LoopCommand};
use super::env::DaemonKind;
use super::hardware::{Hardware, SharedHardware, ShutdownKind};
use crate::env::{Env, EnvError, EnvResult, LogLevel, Time};

/// Shortest loop (01 §5.2); more nodes make it `2 × nodes`.
pub const MIN_LOOP_TIME: Time = 20;
/// A loop this long would outlast the watchdog (01 §5.2).
pub const MAX_LOOP_TIME: Time = 60;
/// The simulation is forced to end after this time (01 §5.2 step 6).
pub const MAX_TIME: Time = 10_000;
/// A batch slot comes every this many counted loops (01 §5.6).
pub const LOOPS_PER_BATCH: u64 = 5;
/// The run ends at a free batch slot more than this long after the last
/// command (01 §5.7).
pub const IDLE_END: Time = 500;

/// How a run ended (01 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No batch left and nothing happened for long enough.
    Done,
    /// An error ended the run early.
    Aborted(EnvError),
}

/// Watches a run from outside without changing what it logs: the
/// what-if planner (`super::whatif`) and the fuzzer (`super::fuzz`) read
/// the hardware's truth after every daemon iteration (one simulated
/// second each), after every watchdog check and around every applied
/// batch — every point at which the simulated hardware can change — and
/// the fuzzer supplies batches once the schedule runs dry. An observer
/// never logs, so a run with one writes the same log as without; the
/// tester uses [`NoObserver`], whose hooks do nothing.
pub trait Observer {
    /// Called right before batch `index` (0-based, empty batches
    /// counted) is applied at the hardware clock's time.
    fn before_batch(&mut self, _index: usize, _hw: &mut Hardware) {}
    /// Called right after batch `index` was applied.
    fn after_batch(&mut self, _index: usize, _hw: &mut Hardware) {}
    /// The state after a daemon iteration that ran at `ran_at` (or after
    /// a watchdog check or a batch, `ran_at == now`), at hardware time
    /// `now`. An error ends the run like a daemon error
    /// (`Outcome::Aborted`).
    fn after_step(&mut self, _cluster: &Cluster, _ran_at: Time, _now: Time) -> EnvResult<()> {
        Ok(())
    }
    /// The next batch when no scheduled one is left, or `None` to let the
    /// run end once it has been quiet long enough (01 §5.7).
    fn next_batch(&mut self, _cluster: &Cluster, _now: Time) -> Option<Vec<String>> {
        None
    }
}

/// The observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// One simulation run: the cluster plus the command schedule.
#[derive(Debug)]
pub struct Simulation {
    cluster: Cluster,
    nodes: Vec<String>,
    batches: VecDeque<Vec<String>>,
    loop_count: u64,
    last_command_time: Time,
    next_cmd_at: Time,
    skip_crm: i64,
    skip_lrm: i64,
    batches_taken: usize,
}

impl Simulation {
    /// A simulation of `hw` (clock 0, no daemons) that will apply `cmdlist`.
    pub fn new(hw: SharedHardware, cmdlist: Vec<Vec<String>>) -> Self {
        let cluster = Cluster::new(hw);
        Simulation {
            nodes: cluster.node_names(),
            cluster,
            batches: cmdlist.into(),
            loop_count: 0,
            last_command_time: 0,
            next_cmd_at: 0,
            skip_crm: 0,
            skip_lrm: 0,
            batches_taken: 0,
        }
    }

    /// The simulated cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Runs to the end, logging the start line at time 0 and the end line
    /// (01 §5.7): `exit simulation - done`, or at level `err` the error
    /// text followed by a line holding one space, upstream's shape.
    pub fn run(&mut self) -> Outcome {
        self.run_observed(&mut NoObserver)
    }

    /// [`Simulation::run`] with `observer` watching (see [`Observer`]).
    pub fn run_observed(&mut self, observer: &mut dyn Observer) -> Outcome {
        self.hw_log("info", "hardware", "starting simulation");
        let outcome = loop {
            match self.one_loop(observer) {
                Ok(true) => break Outcome::Done,
                Ok(false) => {}
                Err(e) => break Outcome::Aborted(e),
            }
        };
        match &outcome {
            Outcome::Done => self.hw_log("info", "hardware", "exit simulation - done"),
            Outcome::Aborted(e) => {
                self.hw_log("err", "hardware", &format!("exit simulation - {e}\n "))
            }
        }
        outcome
    }

    fn hw_log(&self, level: &str, id: &str, msg: &str) {
        self.cluster.hw.borrow_mut().log(level, id, msg);
    }

    fn now(&self) -> Time {
        self.cluster.hw.borrow().time()
    }

    fn set_now(&self, t: Time) {
        self.cluster.hw.borrow_mut().set_time(t);
    }

    /// One loop (01 §5.2); `Ok(true)` when the simulation ends.
    fn one_loop(&mut self, observer: &mut dyn Observer) -> EnvResult<bool> {
        let serial_looptime = MIN_LOOP_TIME.max(2 * self.nodes.len() as Time);
        // Upstream aborts here; we switch to lockstep (module doc).
        let lockstep = serial_looptime >= MAX_LOOP_TIME;
        let looptime = if lockstep {
            MIN_LOOP_TIME
        } else {
            serial_looptime
        };
        let start = self.now();
        let mut loop_end = start;
        let nodes = self.nodes.clone();
        for (i, node) in nodes.iter().enumerate() {
            let first = i == 0;
            if lockstep {
                self.set_now(start);
            }
            let t = self.now();
            self.step_daemon(node, DaemonKind::Crm, first)?;
            self.observe(observer, t)?;
            // A power cycle in the CRM exit just created a fresh LRM; it
            // runs in this same loop (01 §5.2 step 3.2).
            let t = self.now();
            self.step_daemon(node, DaemonKind::Lrm, first)?;
            self.observe(observer, t)?;
            self.watchdog_checks()?;
            self.observe(observer, self.now())?;
            loop_end = loop_end.max(self.now());
        }
        self.set_now(loop_end);
        self.skip_crm = (self.skip_crm - 1).max(0);
        self.skip_lrm = (self.skip_lrm - 1).max(0);
        if self.now() - start < looptime {
            self.set_now(start + looptime);
        }
        let now = self.now();
        if now > MAX_TIME {
            return Err(EnvError::new(format!(
                "simulation exceeded maximum time ({MAX_TIME}) - force end"
            )));
        }
        self.cluster.sync_clocks(now);
        // Loops inside a delay are not counted (01 §5.6).
        if now < self.next_cmd_at {
            return Ok(false);
        }
        if self.loop_count.is_multiple_of(LOOPS_PER_BATCH) {
            let batch = match self.batches.pop_front() {
                Some(b) => Some(b),
                None => observer.next_batch(&self.cluster, now),
            };
            match batch {
                None => {
                    if now - self.last_command_time > IDLE_END {
                        return Ok(true);
                    }
                }
                Some(batch) => {
                    let index = self.batches_taken;
                    self.batches_taken += 1;
                    observer.before_batch(index, &mut self.cluster.hw.borrow_mut());
                    for cmd in batch {
                        self.last_command_time = now;
                        self.command(&cmd)?;
                    }
                    observer.after_batch(index, &mut self.cluster.hw.borrow_mut());
                    self.observe(observer, now)?;
                }
            }
        }
        self.loop_count += 1;
        Ok(false)
    }

    /// Lets the observer look at the state after a step that ran at
    /// `ran_at`.
    fn observe(&self, observer: &mut dyn Observer, ran_at: Time) -> EnvResult<()> {
        observer.after_step(&self.cluster, ran_at, self.now())
    }

    /// Runs (or skips) one daemon of `node` if it exists, moves the
    /// hardware clock to its environment's clock, and handles its exit.
    fn step_daemon(&mut self, node: &str, kind: DaemonKind, first: bool) -> EnvResult<()> {
        let Some(slot) = self.cluster.nodes.get_mut(node) else {
            return Ok(());
        };
        let (present, skip) = match kind {
            DaemonKind::Crm => (slot.crm.is_some(), self.skip_crm > 0),
            DaemonKind::Lrm => (slot.lrm.is_some(), self.skip_lrm > 0),
        };
        if !present {
            return Ok(());
        }
        let mut stop = false;
        if skip {
            if first {
                let msg = match kind {
                    DaemonKind::Crm => "skipping CRM round",
                    DaemonKind::Lrm => "skipping LRM round",
                };
                self.cluster.hw.borrow_mut().log("info", "run-loop", msg);
            }
        } else {
            stop = match kind {
                DaemonKind::Crm => match slot.crm.as_mut() {
                    Some(c) => !c.daemon.do_one_iteration(&mut slot.crm_env)?,
                    None => false,
                },
                DaemonKind::Lrm => match slot.lrm.as_mut() {
                    Some(l) => !l.daemon.do_one_iteration(&mut slot.lrm_env)?,
                    None => false,
                },
            };
        }
        let env_time = match kind {
            DaemonKind::Crm => slot.crm_env.clock(),
            DaemonKind::Lrm => slot.lrm_env.clock(),
        };
        let now = self.now().max(env_time);
        self.set_now(now);
        if stop {
            match kind {
                DaemonKind::Crm => self.crm_exit(node)?,
                DaemonKind::Lrm => self.lrm_exit(node)?,
            }
        }
        Ok(())
    }

    /// A CRM returned "stop" (01 §5.4).
    fn crm_exit(&mut self, node: &str) -> EnvResult<()> {
        let Some(slot) = self.cluster.nodes.get_mut(node) else {
            return Ok(());
        };
        slot.crm_env.log(LogLevel::Info, "exit (loop end)");
        let stopped_on_purpose = slot.crm.take().is_some_and(|c| c.stop_requested);
        let shutdown = self.cluster.hw.borrow().node(node).and_then(|n| n.shutdown);
        match shutdown {
            Some(ShutdownKind::Reboot) => {
                self.cluster
                    .hardware_command(&format!("power {node} off"), "reboot")?;
                self.cluster
                    .hardware_command(&format!("power {node} on"), "reboot")
            }
            Some(ShutdownKind::Shutdown) => self
                .cluster
                .hardware_command(&format!("power {node} off"), "shutdown"),
            None if stopped_on_purpose => Ok(()),
            None => Err(EnvError::new("unexpected CRM exit - not implemented")),
        }
    }

    /// An LRM returned "stop" (01 §5.4).
    fn lrm_exit(&mut self, node: &str) -> EnvResult<()> {
        let Some(slot) = self.cluster.nodes.get_mut(node) else {
            return Ok(());
        };
        slot.lrm_env.log(LogLevel::Info, "exit (loop end)");
        let restart = slot.lrm.take().is_some_and(|l| l.restart);
        let shutdown = self.cluster.hw.borrow().node(node).and_then(|n| n.shutdown);
        match (restart, shutdown) {
            (true, Some(_)) => Err(EnvError::new(
                "lrm restart during shutdown - not implemented",
            )),
            (true, None) => {
                // Same environment, same timestamp as the exit line; the
                // new LRM first runs in the next loop.
                self.cluster.start_lrm(node);
                Ok(())
            }
            (false, Some(kind)) => self
                .cluster
                .hardware_command(&format!("crm {node} stop"), kind.as_str()),
            (false, None) => Err(EnvError::new("unexpected LRM exit - not implemented")),
        }
    }

    /// The watchdog check over all nodes (01 §5.2 step 3.3, §6.3).
    fn watchdog_checks(&mut self) -> EnvResult<()> {
        for node in self.nodes.clone() {
            let expired = self.cluster.hw.borrow_mut().watchdog_check(&node);
            if expired {
                self.cluster
                    .hardware_command(&format!("power {node} off"), "watchdog")?;
                self.hw_log(
                    "info",
                    "hardware",
                    &format!("server '{node}' stopped by poweroff (watchdog)"),
                );
            }
        }
        Ok(())
    }

    /// One command of a batch: a run-loop command (01 §4.3) or a hardware
    /// command with log id `cmdlist`.
    fn command(&mut self, s: &str) -> EnvResult<()> {
        let Some(lc) = parse_loop_command(s) else {
            return self.cluster.hardware_command(s, "cmdlist");
        };
        self.hw_log("info", "cmdlist", &format!("execute {s}"));
        let now = self.now();
        match lc {
            LoopCommand::Delay(n) => self.next_cmd_at = now.saturating_add(n),
            LoopCommand::SkipRound(DaemonKind::Crm, n) => {
                self.skip_crm = self.skip_crm.saturating_add(n)
            }
            LoopCommand::SkipRound(DaemonKind::Lrm, n) => {
                self.skip_lrm = self.skip_lrm.saturating_add(n)
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::hardware::{Hardware, NodeHardware};
    use crate::sim::scenario::Scenario;

    /// Runs `cmdlist` on `n` powered-off nodes without services.
    fn run(n: usize, cmdlist: &[&[&str]]) -> (Outcome, String) {
        let mut s = Scenario::empty();
        for i in 1..=n {
            s.nodes.insert(format!("node{i}"), NodeHardware::off());
        }
        let hw = Hardware::new(&s).shared();
        let cmds = cmdlist
            .iter()
            .map(|b| b.iter().map(|c| c.to_string()).collect())
            .collect();
        let mut sim = Simulation::new(hw.clone(), cmds);
        let outcome = sim.run();
        let log = hw.borrow().log_text().to_string();
        (outcome, log)
    }

    /// Lines whose id is a harness id (daemon lines depend on the daemons).
    fn harness(log: &str) -> Vec<String> {
        log.lines()
            .filter(|l| !l.contains("/crm:") && !l.contains("/lrm:"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn batches_every_100_seconds_and_end_after_500() {
        let (o, log) = run(3, &[&["network node1 on"], &[], &["network node1 off"]]);
        assert_eq!(o, Outcome::Done);
        assert_eq!(
            harness(&log),
            [
                "info      0     hardware: starting simulation",
                "info     20      cmdlist: execute network node1 on",
                "info    220      cmdlist: execute network node1 off",
                "info    820     hardware: exit simulation - done",
            ]
        );
    }

    #[test]
    fn empty_cmdlist_ends_at_the_first_slot_after_500() {
        let (o, log) = run(3, &[]);
        assert_eq!(o, Outcome::Done);
        assert_eq!(
            harness(&log).last().map(String::as_str),
            Some("info    520     hardware: exit simulation - done")
        );
    }

    #[test]
    fn delay_postpones_the_next_batch() {
        // delay at 20: T + 20·max(1, ⌈N/20⌉) + 80 (01 §5.6).
        for (n, next) in [(0, 120), (10, 120), (30, 140), (200, 300), (300, 400)] {
            let d = format!("delay {n}");
            let (_, log) = run(3, &[&[&d], &["network node2 on"]]);
            let want = format!("info  {next:>5}      cmdlist: execute network node2 on");
            assert!(harness(&log).contains(&want), "delay {n}: {log}");
        }
    }

    #[test]
    fn loop_time_grows_with_nodes() {
        let (_, log) = run(12, &[&["network node1 on"], &["network node1 off"]]);
        let h = harness(&log);
        assert_eq!(h[1], "info     24      cmdlist: execute network node1 on");
        assert_eq!(h[2], "info    144      cmdlist: execute network node1 off");
        // 29 nodes: the largest serialised loop upstream simulates (58 s).
        let (_, log) = run(29, &[&["network node1 on"], &["network node1 off"]]);
        let h = harness(&log);
        assert_eq!(h[1], "info     58      cmdlist: execute network node1 on");
        assert_eq!(h[2], "info    348      cmdlist: execute network node1 off");
    }

    #[test]
    fn thirty_nodes_and_more_run_in_lockstep() {
        // Upstream aborts here; our extension keeps 20 s loops (module doc).
        let (o, log) = run(30, &[&["network node1 on"], &["network node1 off"]]);
        assert_eq!(o, Outcome::Done);
        let h = harness(&log);
        assert_eq!(h[1], "info     20      cmdlist: execute network node1 on");
        assert_eq!(h[2], "info    120      cmdlist: execute network node1 off");
    }

    #[test]
    fn command_errors_end_the_run_abnormally() {
        let (o, log) = run(
            3,
            &[&["network node1 on", "power node1 toggle", "network node2 on"]],
        );
        assert_eq!(
            o,
            Outcome::Aborted(EnvError::new("sim_hardware_cmd: unknown action 'toggle'"))
        );
        assert_eq!(
            log,
            "info      0     hardware: starting simulation\n\
             info     20      cmdlist: execute network node1 on\n\
             info     20      cmdlist: execute power node1 toggle\n\
             err      20     hardware: exit simulation - sim_hardware_cmd: unknown action 'toggle'\n \n"
        );
    }

    #[test]
    fn time_limit() {
        let (o, log) = run(3, &[&["delay 20000"]]);
        assert_eq!(
            o,
            Outcome::Aborted(EnvError::new(
                "simulation exceeded maximum time (10000) - force end"
            ))
        );
        assert!(log.ends_with("err   10020     hardware: exit simulation - simulation exceeded maximum time (10000) - force end\n \n"));
    }

    #[test]
    fn skip_messages_only_for_the_first_node() {
        let (_, log) = run(
            3,
            &[&[
                "power node1 on",
                "power node2 on",
                "skip-round crm 2",
                "skip-round lrm",
            ]],
        );
        let h = harness(&log);
        assert_eq!(
            &h[1..7],
            [
                "info     20      cmdlist: execute power node1 on",
                "info     20      cmdlist: execute power node2 on",
                "info     20      cmdlist: execute skip-round crm 2",
                "info     20      cmdlist: execute skip-round lrm",
                "info     20     run-loop: skipping CRM round",
                "info     20     run-loop: skipping LRM round",
            ]
        );
        assert_eq!(h[7], "info     40     run-loop: skipping CRM round");
        assert!(!h[8].contains("run-loop"));
        let (_, log) = run(3, &[&["power node2 on", "skip-round crm"]]);
        assert!(
            !log.contains("skipping"),
            "node1 has no CRM: nothing logged"
        );
    }
}
