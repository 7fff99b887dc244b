//! The fuzzer's window into the simulated hardware (issue 17): facts that
//! only the hardware knows at the instant they happen — a resource job run
//! by an LRM, a cluster lock changing owner — judged right there against
//! the hardware's truth and kept as findings for the invariant checker
//! (`sim::fuzz::invariants`).
//!
//! A [`Hardware`](super::hardware::Hardware) carries a probe only when the
//! fuzzer installs one; the tester and the live simulator never do, so
//! their cost is one `None` check per job and per lock takeover, and
//! nothing here ever logs (the 105 upstream scenarios stay byte-exact).
//!
//! The probe is also where the fuzzer's *planted bug* lives
//! ([`Probe::double_grant_agent_lock`]): a deliberately broken lock service
//! that grants an agent lock to a second node while its owner still holds
//! it, so that tests can prove the invariants and the shrinker catch a
//! real safety bug.

use std::collections::BTreeMap;

use crate::env::Time;
use crate::types::Daemon;

/// What a resource job did (01 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOp {
    /// `start`.
    Start,
    /// `shutdown`.
    Shutdown,
    /// `migrate` or `relocate`.
    Migrate,
}

impl JobOp {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOp::Start => "start",
            JobOp::Shutdown => "shutdown",
            JobOp::Migrate => "migrate",
        }
    }
}

/// A safety finding recorded at the instant it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFinding {
    /// An LRM ran a resource job while its node did not hold a valid
    /// agent lock.
    JobWithoutLock {
        /// The daemon's clock at the job.
        time: Time,
        /// The LRM's node.
        node: String,
        /// The service.
        sid: String,
        /// The operation.
        op: JobOp,
    },
    /// A lock changed owner while the previous owner's daemon of the
    /// lock's kind had fed a watchdog within the watchdog timeout.
    EarlyTakeover {
        /// Hardware clock at the takeover.
        time: Time,
        /// The lock's name.
        lock: String,
        /// Previous owner.
        from: String,
        /// New owner.
        to: String,
        /// Hardware time of the previous owner's last feed.
        last_fed: Time,
    },
}

/// The probe installed by the fuzzer.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The planted bug (tests only): an agent lock held, unexpired, by
    /// one node is granted to another node that asks for it.
    pub double_grant_agent_lock: bool,
    /// Findings since the checker last drained them.
    pub findings: Vec<ProbeFinding>,
    /// Which daemon opened each watchdog handle: a takeover of the
    /// manager lock is judged on the CRM's watchdogs, of an agent lock on
    /// the LRM's.
    pub watchdog_kinds: BTreeMap<String, Daemon>,
}

impl Probe {
    /// The daemon whose watchdog protects lock `name` while `owner` holds
    /// it: the CRM for the manager lock, the LRM for the node's own agent
    /// lock. `None` for another node's agent lock: a master takes it only
    /// as the fencing acknowledgement (02 §6) and runs nothing under it,
    /// so no watchdog protects it and its expiry is by design.
    pub fn lock_kind(name: &str, owner: &str) -> Option<Daemon> {
        match name
            .strip_prefix("ha_agent_")
            .and_then(|r| r.strip_suffix("_lock"))
        {
            Some(node) if node == owner => Some(Daemon::Lrm),
            Some(_) => None,
            None => Some(Daemon::Crm),
        }
    }
}
