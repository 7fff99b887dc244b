//! The invariants (issue 17 item 2), judged from the simulated hardware's
//! truth — run states, locks, watchdogs, daemon states — never from the
//! log.
//!
//! **Safety**, after every step of the run loop (every daemon iteration
//! is one simulated second; between steps nothing changes, so this is
//! every second at which anything can change):
//!
//! * `single-run` — no service is marked running on two nodes;
//! * `job-needs-agent-lock` — an LRM runs a resource job (start, stop,
//!   migrate) only while its node holds its unexpired agent lock (judged
//!   by the probe at the job, `sim::probe`);
//! * `fenced-before-takeover` — when a lock changes owner, the previous
//!   owner's daemon of that lock's kind (CRM for the manager lock, LRM for
//!   an agent lock) has not fed a watchdog within the watchdog timeout:
//!   it has stopped feeding before anyone else could take its lock, so the
//!   watchdog has fired or will fire at the next check (probe);
//! * `one-master-per-partition` — at most one CRM in state `master` on a
//!   quorate node (the simulator has at most one quorate partition, 01
//!   §6.1).
//!
//! **Liveness**, once, at the end of a run that ended normally (after the
//! heal and at least 600 quiet seconds). For every configured service:
//!
//! * `error-only-if-injected` — a service may be in manager state `error`
//!   only if it is an `fa` resource whose id injects a failure (a start
//!   failure b, a migrate failure c, or "cannot stop" d, 01 §7.4;
//!   [`injects_failure`]). Such a service in `error` is exempt from the
//!   two checks below: `error` is where upstream parks it for the admin;
//! * `started-runs-once` — requested `started`: marked running on exactly
//!   one node;
//! * `stopped-is-stopped` — requested `stopped` or `disabled`: running
//!   nowhere, unless it is an `fa` that cannot stop (d ≠ 0): the LRM keeps
//!   trying, and upstream's manager leaves it `stopped` without `error`
//!   for a `disabled` request, so it runs on by injection, not by HA.
//!
//! `ignored` services are not managed by HA and not checked; deleted ones
//! are gone from the configuration (their run flag stays behind, 01 §4.6).
//!
//! `run-completes` — the run must end normally: an abort (a daemon error,
//! a simulator limit) is reported too.

use std::collections::BTreeMap;
use std::fmt;

use super::generator::{cannot_stop, injects_failure};
use crate::env::Time;
use crate::sim::cluster::Cluster;
use crate::sim::probe::ProbeFinding;
use crate::types::{CrmState, OrUnknown, RequestedState};

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name (module doc).
    pub invariant: &'static str,
    /// Simulated second at which it was seen.
    pub second: Time,
    /// What exactly was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant {} violated at second {}: {}",
            self.invariant, self.second, self.detail
        )
    }
}

fn violation(invariant: &'static str, second: Time, detail: String) -> Violation {
    Violation {
        invariant,
        second,
        detail,
    }
}

/// The safety invariants after one step at hardware time `now`.
pub fn check_safety(cluster: &Cluster, now: Time) -> Option<Violation> {
    let mut hw = cluster.hw.borrow_mut();
    if let Some(p) = hw.probe_mut() {
        if let Some(f) = p.findings.drain(..).next() {
            return Some(match f {
                ProbeFinding::JobWithoutLock {
                    time,
                    node,
                    sid,
                    op,
                } => violation(
                    "job-needs-agent-lock",
                    time,
                    format!(
                        "{node}'s LRM ran '{}' of {sid} without holding ha_agent_{node}_lock",
                        op.as_str()
                    ),
                ),
                ProbeFinding::EarlyTakeover {
                    time,
                    lock,
                    from,
                    to,
                    last_fed,
                } => violation(
                    "fenced-before-takeover",
                    time,
                    format!("{to} took '{lock}' from {from}, whose watchdog was fed at {last_fed}"),
                ),
            });
        }
    }
    let mut running: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (node, states) in &hw.run_state {
        for (sid, on) in states {
            if *on {
                running.entry(sid).or_default().push(node);
            }
        }
    }
    if let Some((sid, nodes)) = running.iter().find(|(_, n)| n.len() > 1) {
        return Some(violation(
            "single-run",
            now,
            format!("{sid} runs on {}", nodes.join(" and ")),
        ));
    }
    let masters: Vec<&String> = cluster
        .nodes
        .iter()
        .filter(|(n, s)| {
            s.crm
                .as_ref()
                .is_some_and(|c| c.daemon.state() == CrmState::Master)
                && hw.quorate(n)
        })
        .map(|(n, _)| n)
        .collect();
    if masters.len() > 1 {
        let names: Vec<&str> = masters.iter().map(|s| s.as_str()).collect();
        return Some(violation(
            "one-master-per-partition",
            now,
            format!("quorate masters: {}", names.join(", ")),
        ));
    }
    None
}

/// The liveness invariants at the end of a run (hardware time `now`).
pub fn check_liveness(cluster: &Cluster, now: Time) -> Option<Violation> {
    let hw = cluster.hw.borrow();
    let Ok(config) = hw.service_config() else {
        return Some(violation(
            "started-runs-once",
            now,
            "the service configuration is unreadable".into(),
        ));
    };
    let ms = hw.manager_status();
    for (sid, conf) in &config {
        let state = ms
            .service_status
            .get(sid)
            .and_then(|e| e.state.clone())
            .map(|s| match s {
                OrUnknown::Known(s) => s.to_string(),
                OrUnknown::Unknown(w) => w,
            });
        let state_text = state.as_deref().unwrap_or("none");
        let nodes: Vec<&str> = hw
            .run_state
            .iter()
            .filter(|(_, m)| m.get(sid.as_str()).copied().unwrap_or(false))
            .map(|(n, _)| n.as_str())
            .collect();
        if state.as_deref() == Some("error") {
            if injects_failure(sid.as_str()) {
                continue;
            }
            return Some(violation(
                "error-only-if-injected",
                now,
                format!("{sid} is in state 'error' without an injected failure"),
            ));
        }
        let bad = match conf.state {
            RequestedState::Started => nodes.len() != 1,
            // An `fa` that cannot stop is physically unable to: the
            // injected failure, not HA, keeps it running.
            RequestedState::Stopped | RequestedState::Disabled => {
                !nodes.is_empty() && !cannot_stop(sid.as_str())
            }
            RequestedState::Ignored => false,
        };
        if bad {
            let inv = if conf.state == RequestedState::Started {
                "started-runs-once"
            } else {
                "stopped-is-stopped"
            };
            return Some(violation(
                inv,
                now,
                format!(
                    "{sid} requested '{}' (manager state '{state_text}') runs on [{}]",
                    conf.state,
                    nodes.join(", ")
                ),
            ));
        }
    }
    None
}
