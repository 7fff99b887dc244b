//! What-if planning on live state (issue 17, our extension): which
//! services would move, where to, when and why, if a node went down, a
//! node entered maintenance, a proposed rules.cfg took effect or the
//! scheduler mode changed.
//!
//! It does not call the placement code: it runs the very same CRM and
//! LRM through the tester's run loop (01 §5) from the live state
//! ([`state`]), and watches the simulated hardware ([`observe`]):
//!
//! 1. the live state becomes a tester scenario ([`LiveState::scenario_files`])
//!    whose nodes are all off, with the manager status, services, run
//!    states, rules, groups and datacenter settings of the cluster;
//! 2. the warm-up batches ([`LiveState::warmup_cmdlist`]) power the
//!    online nodes on (keeping the live master the master) and let the
//!    cluster settle for two quiet batches;
//! 3. the event is batch [`EVENT_BATCH`] (at 320 s with up to ten
//!    nodes): `power <node> off` for a node going down — its watchdog,
//!    the fence delay and the agent lock's expiry then follow the
//!    normal simulated path — or `crm <node> enable-node-maintenance`;
//!    a proposed rules file or scheduler mode replaces the simulated
//!    configuration at that moment (the cmdlist language has no command
//!    for it). Live lock ages, when known, are given to the simulated
//!    locks at that moment, so a lock expires when the real one would;
//! 4. the run ends as every tester run does, 600 s after the event
//!    (01 §5.7), and every service whose place differs from its place
//!    right before the event is reported, with the time it first ran at
//!    its new place (or, for a service that does not run, the time it
//!    was assigned there).
//!
//! Nothing is written anywhere: the simulation lives in memory.

pub mod observe;
pub mod state;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::hardware::Hardware;
use super::run_loop::{Outcome, Simulation};
use super::scenario::{Scenario, ScenarioError};
use crate::config::datacenter::CrsMode;
use crate::env::Time;
pub use observe::Watch;
pub use state::{LiveState, StateError};

/// The batch (0-based) at which the event happens; see the module doc.
pub const EVENT_BATCH: usize = 3;

/// What might happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The node fails (powered off, as a fence would).
    NodeDown(String),
    /// `ha-manager crm-command node-maintenance enable <node>`.
    Maintenance(String),
    /// The given rules.cfg text replaces the current one.
    Rules(String),
    /// The datacenter's `crs: ha=<mode>` changes.
    Crs(CrsMode),
}

impl Event {
    /// The event's cmdlist batch (empty when it changes configuration).
    pub fn batch(&self) -> Vec<String> {
        match self {
            Event::NodeDown(n) => vec![format!("power {n} off")],
            Event::Maintenance(n) => vec![format!("crm {n} enable-node-maintenance")],
            Event::Rules(_) | Event::Crs(_) => Vec::new(),
        }
    }

    /// Applies a configuration event to the simulated hardware.
    fn apply(&self, hw: &mut Hardware) -> Result<(), String> {
        match self {
            Event::Rules(text) => {
                hw.set_rules_text(text);
                Ok(())
            }
            Event::Crs(mode) => hw.set_crs_mode(*mode),
            Event::NodeDown(_) | Event::Maintenance(_) => Ok(()),
        }
    }
}

/// One service that would change its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The service.
    pub sid: String,
    /// Its node right before the event.
    pub from: String,
    /// Its node at the end.
    pub to: String,
    /// Seconds after the event when it first ran there (or was assigned
    /// there, for a service that does not run).
    pub after_s: Time,
    /// Why, in a few words.
    pub reason: String,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// The event names a node that is no cluster member.
    #[error("no such node '{0}'")]
    UnknownNode(String),
    /// The event names a node that is not online.
    #[error("node '{0}' is not online")]
    NodeOffline(String),
    /// The live state does not make a valid scenario.
    #[error("live state: {0}")]
    Scenario(#[from] ScenarioError),
    /// The simulation ended abnormally.
    #[error("simulation failed: {0}")]
    Aborted(String),
    /// The event could not be applied.
    #[error("{0}")]
    Event(String),
}

impl LiveState {
    /// The whole tester scenario of this state and `event`: the files of
    /// [`LiveState::scenario_files`] plus the `cmdlist` (warm-up, then
    /// the event's batch). For configuration events the tester cannot
    /// change the configuration mid-run; the planner does it itself.
    pub fn scenario_for(&self, event: &Event) -> BTreeMap<String, String> {
        let mut files = self.scenario_files();
        let mut cmdlist = self.warmup_cmdlist();
        cmdlist.push(event.batch());
        files.insert(
            "cmdlist".into(),
            serde_json::to_string(&cmdlist).unwrap_or_else(|_| "[]".into()),
        );
        files
    }
}

/// The plan and the simulation log it was read from.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every service that would move, by sid.
    pub moves: Vec<Move>,
    /// The simulated log (01 §3), for `--verbose` inspection.
    pub log: String,
}

/// Simulates `event` on `state` and returns the moves.
pub fn plan(state: &LiveState, event: &Event) -> Result<Plan, WhatIfError> {
    if let Event::NodeDown(n) | Event::Maintenance(n) = event {
        match state.nodes.get(n) {
            None => return Err(WhatIfError::UnknownNode(n.clone())),
            Some(false) => return Err(WhatIfError::NodeOffline(n.clone())),
            Some(true) => {}
        }
    }
    let files = state.scenario_for(event);
    let scenario = Scenario::from_files(Path::new("live"), &files)?;
    let hw = Hardware::new(&scenario).shared();
    let mut watch = Watch::new(EVENT_BATCH, event.clone(), state.lock_ages.clone());
    let outcome = Simulation::new(hw.clone(), scenario.cmdlist.clone()).run_observed(&mut watch);
    if let Outcome::Aborted(e) = outcome {
        return Err(WhatIfError::Aborted(e.to_string()));
    }
    if let Some(e) = watch.event_error() {
        return Err(WhatIfError::Event(e.to_string()));
    }
    let log = hw.borrow().log_text().to_string();
    Ok(Plan {
        moves: watch.moves(&log),
        log,
    })
}
