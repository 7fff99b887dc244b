//! Watching a what-if run (see the parent module): the place of every
//! service right before the event, every change of place after it (to
//! the second: the run loop reports after each daemon iteration), and
//! from the manager's own log lines, why a service moved.

use std::collections::BTreeMap;

use super::{Event, Move};
use crate::config::rules::{RuleKind, RulesFormat};
use crate::env::{EnvResult, Time};
use crate::sim::cluster::Cluster;
use crate::sim::hardware::Hardware;
use crate::sim::log::parse_line;
use crate::sim::run_loop::Observer;

/// Where a service is: the node it runs on, or — when it runs nowhere —
/// the node its configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The node.
    pub node: String,
    /// Whether it runs there.
    pub running: bool,
}

/// Every service's place in `hw`.
fn places(hw: &Hardware) -> BTreeMap<String, Place> {
    let runs = hw.run_states();
    hw.raw_services()
        .iter()
        .map(|(sid, d)| {
            let on = runs
                .iter()
                .find(|(_, m)| m.get(sid).copied().unwrap_or(false))
                .map(|(n, _)| n.clone());
            let place = match on {
                Some(node) => Place {
                    node,
                    running: true,
                },
                None => Place {
                    node: d.get("node").cloned().unwrap_or_default(),
                    running: false,
                },
            };
            (sid.clone(), place)
        })
        .collect()
}

/// The run-loop observer of a what-if.
#[derive(Debug)]
pub struct Watch {
    event_batch: usize,
    event: Event,
    lock_ages: BTreeMap<String, Time>,
    /// Time of the event.
    t0: Option<Time>,
    /// Places right before the event.
    before: BTreeMap<String, Place>,
    /// Current places and since when (after the event).
    now: BTreeMap<String, (Place, Time)>,
    event_error: Option<String>,
}

impl Watch {
    /// Watches for `event` at batch `event_batch`; `lock_ages` are the
    /// live ages given to the simulated locks at that moment.
    pub fn new(event_batch: usize, event: Event, lock_ages: BTreeMap<String, Time>) -> Self {
        Watch {
            event_batch,
            event,
            lock_ages,
            t0: None,
            before: BTreeMap::new(),
            now: BTreeMap::new(),
            event_error: None,
        }
    }

    /// The time of the event, once it happened.
    pub fn event_time(&self) -> Option<Time> {
        self.t0
    }

    /// Why the event could not be applied, if it could not.
    pub fn event_error(&self) -> Option<&str> {
        self.event_error.as_deref()
    }

    /// Every service whose final place is on another node than before
    /// the event, with the time it took that place and the reason read
    /// from `log` (the run's log).
    pub fn moves(&self, log: &str) -> Vec<Move> {
        let Some(t0) = self.t0 else {
            return Vec::new();
        };
        let lines: Vec<(Time, &str, &str)> = log
            .lines()
            .filter_map(parse_line)
            .filter(|(t, id, _)| *t >= t0 && id.ends_with("/crm"))
            .collect();
        let mut out = Vec::new();
        for (sid, before) in &self.before {
            let Some((place, since)) = self.now.get(sid) else {
                continue;
            };
            if place.node == before.node || place.node.is_empty() {
                continue;
            }
            out.push(Move {
                sid: sid.clone(),
                from: before.node.clone(),
                to: place.node.clone(),
                after_s: since - t0,
                reason: self.reason(sid, &before.node, *since, &lines),
            });
        }
        out
    }

    /// Why `sid` moved: the last motion the manager logged for it up to
    /// `until`, read in the light of the event. A plain migrate/relocate
    /// line is explained by what the manager logged for the service in
    /// the same second before it: an auto-rebalance decision, or a queued
    /// command.
    fn reason(&self, sid: &str, from: &str, until: Time, lines: &[(Time, &str, &str)]) -> String {
        let quoted = format!("'{sid}'");
        let upto: Vec<&(Time, &str, &str)> = lines.iter().filter(|(t, _, _)| *t <= until).collect();
        let Some((i, motion)) = upto
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, (_, _, msg))| classify(msg, sid, &quoted).map(|m| (i, m)))
        else {
            return self.move_reason(sid, from, "placement");
        };
        let same_second = |i: usize| {
            let t = upto[i].0;
            upto[..i]
                .iter()
                .rev()
                .take_while(move |(u, _, _)| *u == t)
                .filter_map(|(_, _, msg)| classify(msg, sid, &quoted))
        };
        match motion {
            Motion::Recovery(node) => format!("{node} fenced, recovery"),
            Motion::Rebalance => "rebalance".into(),
            Motion::StartFailed => "start failed, relocation".into(),
            Motion::Command(task) => format!("requested {task}"),
            Motion::Move(task) => {
                let mut cause = same_second(i).filter(|m| !matches!(m, Motion::Move(_)));
                match cause.next() {
                    Some(Motion::Rebalance) => "rebalance".into(),
                    Some(Motion::Command(_)) => match cause.next() {
                        Some(Motion::Rebalance) => "rebalance".into(),
                        _ => format!("requested {task}"),
                    },
                    _ => self.move_reason(sid, from, task),
                }
            }
        }
    }

    /// The reason of a move the started-service handler chose.
    fn move_reason(&self, sid: &str, from: &str, task: &str) -> String {
        match &self.event {
            Event::Maintenance(n) if n == from => format!("maintenance: {task}"),
            Event::NodeDown(n) if n == from => format!("{n} down: {task}"),
            Event::Rules(text) => match rule_of(text, sid) {
                Some((id, ty)) => format!("rule '{id}' ({ty})"),
                None => format!("new rules: {task}"),
            },
            Event::Crs(mode) => format!("crs {mode}: {task}"),
            _ => format!("placement: {task}"),
        }
    }
}

/// A motion the manager logs.
enum Motion<'a> {
    /// `recover service '<sid>' …` from the fenced node.
    Recovery(&'a str),
    /// `auto rebalance - migrate <sid> …`.
    Rebalance,
    /// `starting service <sid> on node '…' failed, relocating service.`
    StartFailed,
    /// `migrate service '<sid>' …` / `relocate service '<sid>' …`.
    Move(&'static str),
    /// `got crm command: migrate <sid> …` (queued by a user, a rule's
    /// co-migration or the rebalancer).
    Command(&'static str),
}

/// The motion `msg` logs for `sid`, if any (the manager's texts, 02 §6.1,
/// 03, 04 §8).
fn classify<'a>(msg: &'a str, sid: &str, quoted: &str) -> Option<Motion<'a>> {
    if let Some(rest) = msg.strip_prefix(&format!("recover service {quoted} ")) {
        let node = rest
            .strip_prefix("from fenced node '")
            .or_else(|| rest.strip_prefix("to previous failed and fenced node '"))?;
        return Some(Motion::Recovery(node.split('\'').next().unwrap_or(node)));
    }
    for task in ["migrate", "relocate"] {
        if msg.starts_with(&format!("auto rebalance - {task} {sid} ")) {
            return Some(Motion::Rebalance);
        }
        if msg.starts_with(&format!("{task} service {quoted} to node ")) {
            return Some(Motion::Move(task));
        }
        if msg.starts_with(&format!("got crm command: {task} {sid} ")) {
            return Some(Motion::Command(task));
        }
    }
    if msg.starts_with(&format!("starting service {sid} on node "))
        && msg.ends_with("relocating service.")
    {
        return Some(Motion::StartFailed);
    }
    None
}

/// The first enabled rule of `text` (in file order, node affinity first)
/// that names `sid`: its id and type.
fn rule_of(text: &str, sid: &str) -> Option<(String, &'static str)> {
    let rules = RulesFormat.parse("rules.cfg", text.as_bytes()).value;
    let named: Vec<(&String, &crate::config::rules::Rule)> = rules
        .sections_in_order()
        .into_iter()
        .filter(|(_, r)| !r.is_disabled() && r.resources.iter().any(|s| s.as_str() == sid))
        .collect();
    let pick = named
        .iter()
        .find(|(_, r)| matches!(r.kind, RuleKind::NodeAffinity { .. }))
        .or_else(|| named.first())?;
    let ty = match pick.1.kind {
        RuleKind::NodeAffinity { .. } => "node-affinity",
        RuleKind::ResourceAffinity { .. } => "resource-affinity",
    };
    Some((pick.0.clone(), ty))
}

impl Observer for Watch {
    fn before_batch(&mut self, index: usize, hw: &mut Hardware) {
        if index == self.event_batch {
            self.t0 = Some(hw.time());
            self.before = places(hw);
            self.now = self
                .before
                .iter()
                .map(|(sid, p)| (sid.clone(), (p.clone(), hw.time())))
                .collect();
        }
    }

    fn after_batch(&mut self, index: usize, hw: &mut Hardware) {
        if index != self.event_batch {
            return;
        }
        if let Err(e) = self.event.apply(hw) {
            self.event_error = Some(e);
        }
        let t0 = hw.time();
        for (name, age) in &self.lock_ages {
            hw.set_lock_time(name, t0 - (*age).max(0));
        }
    }

    fn after_step(&mut self, cluster: &Cluster, time: Time, _now: Time) -> EnvResult<()> {
        if self.t0.is_none() {
            return Ok(());
        }
        let hw = cluster.hw.borrow();
        for (sid, p) in places(&hw) {
            match self.now.get(&sid) {
                Some((old, _)) if *old == p => {}
                _ => {
                    self.now.insert(sid, (p, time));
                }
            }
        }
        Ok(())
    }
}
