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
    /// change the configuration mid-run; the planner does it itself. The
    /// planner also starts from the live `lrm_status` files, which the
    /// scenario format cannot hold (a tester run reads them as absent:
    /// mode `active`, no results).
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
    let mut hw = Hardware::new(&scenario);
    // Beyond the scenario format (01 §2.1 has no LRM status files): the
    // live LRMs' reports, read by the first simulated manager round.
    for (node, st) in &state.lrm_status {
        hw.set_lrm_status(node, st);
    }
    let hw = hw.shared();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::status::ManagerStatus;
    use crate::sim::hardware::RawService;

    /// Three online nodes, `vm:103` started on node3, node1 master.
    fn state() -> LiveState {
        let mut st = LiveState::default();
        for n in ["node1", "node2", "node3"] {
            st.nodes.insert(n.into(), true);
        }
        let svc = RawService::from([
            ("node".to_string(), "node3".to_string()),
            ("state".to_string(), "started".to_string()),
        ]);
        st.services.insert("vm:103".into(), svc);
        st.manager_status = ManagerStatus::from_json(
            r#"{"master_node":"node1","node_status":{"node1":"online","node2":"online","node3":"online"},
               "service_status":{"vm:103":{"state":"started","node":"node3","uid":"u"}}}"#,
        )
        .unwrap();
        st.running
            .insert("node3".into(), [("vm:103".to_string(), true)].into());
        st
    }

    #[test]
    fn node_down_recovers_after_fence_delay_and_lock_expiry() {
        let p = plan(&state(), &Event::NodeDown("node3".into())).unwrap();
        assert_eq!(p.moves.len(), 1, "{}", p.log);
        let m = &p.moves[0];
        assert_eq!((m.from.as_str(), m.to.as_str()), ("node3", "node1"));
        assert_eq!(m.reason, "node3 fenced, recovery");
        assert!((120..=140).contains(&m.after_s), "{}", m.after_s);
    }

    #[test]
    fn an_old_live_agent_lock_expires_sooner() {
        let plain = plan(&state(), &Event::NodeDown("node3".into())).unwrap();
        let mut st = state();
        st.lock_ages.insert("ha_agent_node3_lock".into(), 100);
        let aged = plan(&st, &Event::NodeDown("node3".into())).unwrap();
        // Only the fence delay is left to wait for.
        assert!(
            aged.moves[0].after_s < plain.moves[0].after_s,
            "{} vs {}",
            aged.moves[0].after_s,
            plain.moves[0].after_s
        );
        assert!(aged.moves[0].after_s >= 40, "{}", aged.log);
    }

    #[test]
    fn a_node_in_maintenance_stays_there_while_settling() {
        let mut st = state();
        let svc = RawService::from([
            ("node".to_string(), "node1".to_string()),
            ("state".to_string(), "started".to_string()),
        ]);
        st.services.insert("vm:101".into(), svc);
        st.running
            .insert("node1".into(), [("vm:101".to_string(), true)].into());
        st.manager_status = ManagerStatus::from_json(
            r#"{"master_node":"node1","node_status":{"node1":"online","node2":"maintenance","node3":"online"},
               "node_request":{"node2":{"maintenance":1}},
               "service_status":{"vm:101":{"state":"started","node":"node1","uid":"v"},
                                 "vm:103":{"state":"started","node":"node3","uid":"u"}}}"#,
        )
        .unwrap();
        st.lrm_status.insert(
            "node2".into(),
            crate::config::status::LrmStatus::from_json(r#"{"mode":"maintenance"}"#).unwrap(),
        );
        let p = plan(&st, &Event::NodeDown("node3".into())).unwrap();
        assert!(!p.log.contains("'maintenance' => 'online'"), "{}", p.log);
        // node2 would be the emptier node, but it is in maintenance.
        assert_eq!(p.moves.len(), 1);
        assert_eq!(p.moves[0].to, "node1");
    }

    #[test]
    fn events_on_unknown_or_offline_nodes_are_refused() {
        let mut st = state();
        let e = plan(&st, &Event::Maintenance("node9".into())).unwrap_err();
        assert_eq!(e.to_string(), "no such node 'node9'");
        st.nodes.insert("node3".into(), false);
        let e = plan(&st, &Event::NodeDown("node3".into())).unwrap_err();
        assert_eq!(e.to_string(), "node 'node3' is not online");
    }

    #[test]
    fn the_scenario_holds_the_warm_up_and_the_event() {
        let mut st = state();
        st.manager_status.master_node = Some("node2".into());
        let files = st.scenario_for(&Event::NodeDown("node3".into()));
        let cmdlist: Vec<Vec<String>> = serde_json::from_str(&files["cmdlist"]).unwrap();
        assert_eq!(
            cmdlist,
            vec![
                vec![
                    "power node1 on",
                    "power node2 on",
                    "power node3 on",
                    "crm node1 stop",
                    "crm node3 stop"
                ],
                vec!["crm node1 start", "crm node3 start"],
                vec![],
                vec!["power node3 off"],
            ]
        );
        assert_eq!(files["service_status_node3"], r#"{"vm:103":1}"#);
        assert_eq!(files["service_status_node1"], "{}");
    }
}
