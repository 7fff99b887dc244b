//! What the generator did, counted: per fault kind the seeds it appeared
//! in and its total count, and per exclusion rule how often it kept the
//! generator away from a situation. `--stats` prints this, so that no
//! narrowing of the generator goes unnoticed (issue 17 item 4).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every fault kind the generator can produce, in report order. Each
/// must appear in at least 10 % of seeds (checked by `tests/fuzz.rs`).
pub const KINDS: &[&str] = &[
    "power-off",
    "power-on",
    "network-off",
    "network-on",
    "cfs-rw-fail",
    "cfs-update-fail",
    "cfs-work",
    "restart-lrm",
    "crm-stop",
    "crm-start",
    "reboot",
    "shutdown",
    "policy-freeze",
    "policy-failover",
    "policy-conditional",
    "policy-migrate",
    "maintenance-on",
    "maintenance-off",
    "disarm-freeze",
    "disarm-ignore",
    "arm-ha",
    "service-add",
    "service-delete",
    "service-migrate",
    "service-relocate",
    "service-state",
    "fa-start-failure",
    "fa-migrate-failure",
    "delay",
];

/// A named rule that keeps the generator away from a situation, with why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The name `--stats` prints.
    pub name: &'static str,
    /// Why the situation is excluded.
    pub reason: &'static str,
}

/// Every exclusion rule. A rule is either a limit of the simulator
/// itself (01 §5.4 aborts with "not implemented") or an upstream design
/// decision documented as a finding under `tests/scenarios/`.
pub const RULES: &[Rule] = &[
    Rule {
        name: "sim-no-restart-lrm-during-shutdown",
        reason: "01 §5.4: an LRM restart on a node shutting down aborts the simulator ('lrm restart during shutdown - not implemented')",
    },
    Rule {
        name: "sim-no-shutdown-during-restart-lrm",
        reason: "01 §5.4: the same abort, reached from the other order",
    },
    Rule {
        name: "sim-no-power-on-while-on",
        reason: "01 §4.4: 'power on' of a running node clears its pending shutdown, so its exiting LRM aborts the simulator ('unexpected LRM exit')",
    },
    Rule {
        name: "upstream-lrm-dies-on-cfs-read-failure",
        reason: "05 §16 items 8, 13: with 'cfs rw' failing, an LRM that runs its queue from the state-change phase (idle, disarm, maintenance, shutdown) dies, and so does the simulation; 'rw fail' only for an LRM active with a service or waiting for its lock, and no reboot/shutdown/restart-lrm while it lasts; a waiting LRM counts only if its last status shows no active service or a configured one (an LRM that is only a migration target takes its lock on the stale status and dies in the idle rule: seed 54712) (findings: tests/scenarios/test-fuzz-finding-cfs-rw-fail-maintenance, test-fuzz-finding-cfs-rw-fail-target-only)",
    },
    Rule {
        name: "upstream-restart-lrm-waits-for-migration",
        reason: "05 §7.3: a restarting LRM executes no CRM command, and the CRM never freezes a service in migrate/relocate, so the restart waits for ever (also while disarmed with 'ignore'); the heal power-cycles such a node after one heal round (finding: tests/scenarios/test-fuzz-finding-restart-lrm-relocate)",
    },
    Rule {
        name: "upstream-arm-ha-fences-disarmed-node",
        reason: "02 §3.9-3.10, 05 §8: a disarmed LRM gives up lock and watchdog while its services keep running; if its node is cut off then, 'arm-ha' lets the master take the free agent lock at once and recover the services elsewhere while they still run (double run); no 'network off' while disarmed or a disarm is queued, nor of a node that runs services without holding its agent lock (after 'arm-ha' a shutting-down or restarting LRM may not have taken it back yet: seeds 37228, 43200 of 1..100000) (finding: tests/scenarios/test-fuzz-finding-arm-ha-isolated-node)",
    },
    Rule {
        name: "upstream-maintenance-stops-without-lock",
        reason: "05 §16 item 12: an LRM in 'maintenance' whose services are all inactive (moved, or frozen by 'disarm-ha freeze') releases lock and watchdog; a reboot/shutdown then runs its stop jobs without the agent lock (stops only); no reboot/shutdown of such a node; a 'stopped' service whose stop fails is re-stopped every round the same way (items 7, 12), so no enable-node-maintenance of a node running a never-stopping service, nor a stop/disable of such a service on a node maintenance was drawn for (seed 28012) (findings: tests/scenarios/test-fuzz-finding-maintenance-stop-without-lock, test-fuzz-finding-maintenance-stop-failing-without-lock)",
    },
    Rule {
        name: "sim-watchdog-expires-on-requorum",
        reason: "01 §6.3: a daemon that regains quorum may feed its watchdog in the very second it expired, before the run loop's check removed it, and the simulator dies ('watchdog expired'); no power-on/network-on (heal: one round of waiting) while a watchdog has gone unfed for 26-61 s",
    },
    Rule {
        name: "upstream-lost-migration-result-errors",
        reason: "03 §3 (EWRONG_NODE): a migration result lost before the manager read it (LRM restarted, rebooted, powered off) leaves the service registered on the target, and the manager puts it in 'error'; no power-off/reboot/shutdown/restart-lrm of a node whose LRM holds an unread migration result; as a quorum loss gets the holder reset by its watchdog, no power-off/reboot/shutdown/network-off of any node while any LRM holds one, and no migrate/relocate/enable-node-maintenance in a batch with such an action or while a shutdown is pending, nor such an action after one in the same batch (seeds 16476, 78192, 46999) (findings: tests/scenarios/test-fuzz-finding-lost-migration-result, test-fuzz-finding-lost-migration-result-quorum)",
    },
    Rule {
        name: "upstream-delete-while-disarmed-aborts-recovery",
        reason: "02 §3.2 step 9, §2.6: while 'ms.disarm' is present the manager removes no stale service, so a deleted service in 'fence' stays; its recovery fails ('no such service') and aborts the round after an earlier service's configuration was moved, the status is not written and that service stays in 'fence' for ever; no 'service <sid> delete' while disarmed or a disarm is queued or drawn (seed 39038) (finding: tests/scenarios/test-fuzz-finding-delete-while-disarmed)",
    },
];

/// Counts of one seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedStats {
    /// Kind → occurrences.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Rule → times it suppressed a choice.
    pub rules: BTreeMap<&'static str, u64>,
}

impl SeedStats {
    /// Counts one occurrence of `kind`.
    pub fn kind(&mut self, kind: &'static str) {
        *self.kinds.entry(kind).or_default() += 1;
    }

    /// Counts one hit of `rule`.
    pub fn rule(&mut self, rule: &'static str) {
        *self.rules.entry(rule).or_default() += 1;
    }
}

/// Counts over many seeds.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Seeds counted.
    pub seeds: u64,
    /// Kind → (seeds with it, total occurrences).
    pub kinds: BTreeMap<&'static str, (u64, u64)>,
    /// Rule → hits.
    pub rules: BTreeMap<&'static str, u64>,
}

impl Stats {
    /// Adds one seed.
    pub fn add(&mut self, s: &SeedStats) {
        self.seeds += 1;
        for (k, n) in &s.kinds {
            let e = self.kinds.entry(k).or_default();
            e.0 += 1;
            e.1 += n;
        }
        for (r, n) in &s.rules {
            *self.rules.entry(r).or_default() += n;
        }
    }

    /// Adds the counts of another set of seeds.
    pub fn merge(&mut self, o: &Stats) {
        self.seeds += o.seeds;
        for (k, (w, n)) in &o.kinds {
            let e = self.kinds.entry(k).or_default();
            e.0 += w;
            e.1 += n;
        }
        for (r, n) in &o.rules {
            *self.rules.entry(r).or_default() += n;
        }
    }

    /// Share of seeds (0..=1) in which `kind` appeared.
    pub fn share(&self, kind: &str) -> f64 {
        let with = self.kinds.get(kind).map_or(0, |e| e.0);
        with as f64 / self.seeds.max(1) as f64
    }

    /// The `--stats` report: one line per kind, then one per rule.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>7} {:>9}",
            "kind", "seeds", "share", "count"
        );
        for k in KINDS {
            let (with, n) = self.kinds.get(k).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>6.1}% {:>9}",
                k,
                with,
                100.0 * self.share(k),
                n
            );
        }
        let _ = writeln!(out, "{:<38} {:>9}  reason", "exclusion rule", "hits");
        for r in RULES {
            let hits = self.rules.get(r.name).copied().unwrap_or_default();
            let _ = writeln!(out, "{:<38} {:>9}  {}", r.name, hits, r.reason);
        }
        out
    }
}
