//! The failover budget (07 §10.1): the handful of durations whose chain
//! makes self-fencing safe, checked once before a daemon or watchdog-mux
//! starts; `env::Timing::for_budget` turns it into the state machines'
//! timing.
//!
//! Safety rests on one inequality. A node that stops renewing its lock at
//! `t` has its watchdog starve at `t + client_timeout + tick` and is reset
//! `device_timeout` later; the last watchdog update may trail the last
//! renewal by up to `max_loop` (the bound on one lock call plus the update
//! that follows it), and the lock service's clock may run ahead by
//! `skew_margin`. Nobody else can take the lock before `t + lease`. So
//! `lease > client_timeout + tick + device_timeout + max_loop + skew_margin`
//! must hold, or a partitioned node could still run a service when its
//! lock is taken over — two copies at once.

/// watchdog-mux's check-and-ping granularity (07 §10: `T_tick`). Fixed:
/// the server's timer runs once a second.
pub const TICK: i64 = 1;

/// The budget, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Lock lifetime after the last renewal (`T_lock`; etcd lease TTL).
    pub lease: i64,
    /// watchdog-mux client timeout (`T_client`).
    pub client_timeout: i64,
    /// Timeout of the watchdog device (`T_dev`).
    pub device_timeout: i64,
    /// CRM master round and active LRM round (`T_round`).
    pub round: i64,
    /// Offline time before the manager fences a node (`T_fence_delay`).
    pub fence_delay: i64,
    /// Sleep between two lock attempts (`T_retry` pacing).
    pub lock_retry_sleep: i64,
    /// Upper bound on one lock call plus the watchdog update after it;
    /// also the timeout of every request to the lock service.
    pub max_loop: i64,
    /// Margin for clock-rate differences between the lock service and
    /// this node.
    pub skew_margin: i64,
}

/// A budget that breaks the inequality; the message names every value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsafe failover budget: lease {lease} s must exceed watchdog client timeout {client} s \
     + tick {tick} s + device timeout {device} s + max loop time {max_loop} s + skew margin \
     {skew} s = {sum} s"
)]
pub struct UnsafeBudget {
    /// `lease`.
    pub lease: i64,
    /// `client_timeout`.
    pub client: i64,
    /// [`TICK`].
    pub tick: i64,
    /// `device_timeout`.
    pub device: i64,
    /// `max_loop`.
    pub max_loop: i64,
    /// `skew_margin`.
    pub skew: i64,
    /// The right-hand side.
    pub sum: i64,
}

impl Budget {
    /// Upstream's chain (07 §10): 120 s pmxcfs locks, 60 s client
    /// timeout, 10 s device timeout, 10 s rounds, 60 s fence delay; the
    /// loop bound is the slow-loop warning (30 s).
    pub const fn upstream() -> Budget {
        Budget {
            lease: 120,
            client_timeout: 60,
            device_timeout: 10,
            round: 10,
            fence_delay: 60,
            lock_retry_sleep: 1,
            max_loop: 30,
            skew_margin: 2,
        }
    }

    /// The etcd backend's default: a service is back elsewhere about
    /// `lease + 2–3 rounds` after its node dies (≈ 21 s measured on three
    /// namespaced nodes of a busy 2-core machine), with 2 s to spare in
    /// the inequality (7 + 1 + 4 + 2 + 2 = 16 < 18). A healthy daemon
    /// renews every round plus its bounded worker loop (≤ 1 + 2 s), well
    /// inside the 7 s client timeout. The fence delay is short because it
    /// is no safety value here: fencing completes only once the failed
    /// node's lease has expired; it only spares a blip a fencing attempt.
    pub const fn plain_linux() -> Budget {
        Budget {
            lease: 18,
            client_timeout: 7,
            device_timeout: 4,
            round: 1,
            fence_delay: 2,
            lock_retry_sleep: 1,
            max_loop: 2,
            skew_margin: 2,
        }
    }

    /// Checks the safety inequality (07 §10.1 invariant 3).
    pub fn check(&self) -> Result<(), UnsafeBudget> {
        let sum =
            self.client_timeout + TICK + self.device_timeout + self.max_loop + self.skew_margin;
        if self.lease > sum {
            Ok(())
        } else {
            Err(UnsafeBudget {
                lease: self.lease,
                client: self.client_timeout,
                tick: TICK,
                device: self.device_timeout,
                max_loop: self.max_loop,
                skew: self.skew_margin,
                sum,
            })
        }
    }

    /// watchdog-mux's warning threshold: upstream's 10 s before expiry
    /// from a 20 s client timeout on, a sixth of it below (at least 1 s
    /// before expiry), so a short timeout still warns before it fires.
    pub fn warn_after(&self) -> i64 {
        if self.client_timeout >= 20 {
            self.client_timeout - 10
        } else {
            (self.client_timeout - (self.client_timeout / 6).max(1)).max(0)
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::upstream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_budget_is_safe_and_gives_upstream_timing() {
        assert!(Budget::upstream().check().is_ok());
        assert_eq!(Budget::upstream().warn_after(), 50);
    }

    #[test]
    fn plain_linux_budget_is_safe() {
        let b = Budget::plain_linux();
        assert!(b.check().is_ok());
        assert_eq!(b.warn_after(), 6);
    }

    #[test]
    fn broken_budget_names_every_value() {
        let b = Budget {
            lease: 10,
            ..Budget::plain_linux()
        };
        let e = b.check().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e,
            "unsafe failover budget: lease 10 s must exceed watchdog client timeout 7 s + tick 1 s \
             + device timeout 4 s + max loop time 2 s + skew margin 2 s = 16 s"
        );
        let equal = Budget {
            lease: 16,
            ..Budget::plain_linux()
        };
        assert!(equal.check().is_err());
    }
}
