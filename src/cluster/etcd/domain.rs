//! The cluster-wide domain locks (`domain-ha`, 07 §4.8) on etcd: the
//! configuration edits of `ha-manager` and the daemons' command-queue and
//! resource updates.
//!
//! Upstream's limits are kept: 10 s to acquire, with the progress line
//! at most once a second, and 60 s for the locked code. The lock key has
//! a lease of its own of [`DOMAIN_LEASE`] (pmxcfs's 120 s), independent
//! of the failover budget: a short budget lease would expire under an
//! edit that is still within its 60 s. Nothing renews it.
//!
//! pmxcfs aborts locked code after 60 s with an alarm. Here the code runs
//! in the caller's thread and cannot be interrupted, so the limit is
//! enforced where it matters: while a thread holds a domain lock, every
//! write and delete it makes through the store is a transaction that
//! also checks the lock key is still bound to this hold's lease, and is
//! refused once the hold is older than 60 s (`'domain-ha'-locked command
//! timed out - aborting`). An edit can thus never land after its lock
//! expired or was taken over.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::cluster::pmxcfs::jitter;

use super::gateway::{Deadline, EtcdError, Gateway};
use super::locks::put_if_absent;
use super::messages::{Compare, Target};
use crate::cluster::store::LockError;

/// The domain lock's lease: pmxcfs's lock lifetime (07 §4.3), at least
/// twice the locked-code limit.
pub const DOMAIN_LEASE: i64 = 120;

/// Budget for taking a domain lock (07 §4.8 step 3).
pub(crate) const ACQUIRE_BUDGET: Duration = Duration::from_secs(10);

/// Limit for the locked code (07 §4.8 step 4).
pub const LOCKED_CODE_LIMIT: Duration = Duration::from_secs(60);

/// A domain lock this process holds.
#[derive(Debug, Clone)]
struct Hold {
    /// The lock key.
    key: Vec<u8>,
    /// Its lease.
    lease: i64,
    /// The thread running the locked code.
    thread: ThreadId,
    /// When the lock was obtained.
    since: Instant,
}

/// Why a guarded write is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The locked code ran longer than 60 s.
    #[error("'{0}'-locked command timed out - aborting")]
    TimedOut(String),
}

/// What a write of the holding thread must check: the lock keys with
/// their leases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// `key bound to lease` comparisons.
    pub compares: Vec<Compare>,
}

/// The domain locks this process holds, by lock name (`domain-ha`).
#[derive(Debug)]
pub struct DomainLocks {
    held: Mutex<BTreeMap<String, Hold>>,
    /// How long an acquisition may wait: upstream's 10 s for
    /// `ha-manager`; a daemon waits no longer than its budget's loop
    /// bound, because it waits inside a watchdog-protected round.
    wait: Duration,
}

impl Default for DomainLocks {
    fn default() -> Self {
        DomainLocks {
            held: Mutex::default(),
            wait: ACQUIRE_BUDGET,
        }
    }
}

impl DomainLocks {
    /// None held.
    pub fn new() -> DomainLocks {
        DomainLocks::default()
    }

    /// Locks whose acquisition waits at most `wait` (never more than
    /// upstream's 10 s).
    pub fn with_wait(wait: Duration) -> DomainLocks {
        DomainLocks {
            wait: wait.min(ACQUIRE_BUDGET),
            ..DomainLocks::default()
        }
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<String, Hold>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes lock `name` (`key`, value `holder`) within 10 s (07 §4.8
    /// step 3): a lease of [`DOMAIN_LEASE`] is granted once and offered
    /// on every attempt; between attempts the back-off grows by 0.1 s up
    /// to 1 s, and `on_wait` gets the progress line at most once a second.
    /// Without quorum no attempt is made, and the wait ends in the
    /// timeout that the caller reports as `no quorum!`. An etcd nobody
    /// answers is "not online".
    #[allow(clippy::too_many_arguments)]
    pub fn acquire(
        &self,
        gw: &Gateway,
        name: &str,
        key: &[u8],
        holder: &[u8],
        quorate: &dyn Fn() -> bool,
        request_timeout: Duration,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<(), LockError> {
        let start = Instant::now();
        let budget = self.wait;
        let deadline = || {
            let left = budget.saturating_sub(start.elapsed());
            Deadline::after(request_timeout.min(left).max(Duration::from_millis(100)))
        };
        let mut lease: Option<i64> = None;
        let mut last_notice: Option<Instant> = None;
        let mut attempt: u32 = 0;
        loop {
            if quorate() {
                let id = match lease {
                    Some(id) => Ok(id),
                    None => gw.lease_grant(DOMAIN_LEASE, deadline()),
                };
                match id {
                    Ok(id) => {
                        lease = Some(id);
                        match put_if_absent(gw, key, holder, id, deadline()) {
                            Ok(true) => {
                                self.held().insert(
                                    name.to_string(),
                                    Hold {
                                        key: key.to_vec(),
                                        lease: id,
                                        thread: thread::current().id(),
                                        since: Instant::now(),
                                    },
                                );
                                return Ok(());
                            }
                            Ok(false) => {}
                            Err(_) => {
                                // The put may have landed: revoking undoes
                                // it, the next attempt takes a new lease.
                                let _ = gw.lease_revoke(id, deadline());
                                lease = None;
                            }
                        }
                    }
                    Err(EtcdError::Unreachable { .. } | EtcdError::NoEndpoints) => {
                        return Err(LockError::NotOnline)
                    }
                    Err(_) => {}
                }
            }
            attempt += 1;
            let backoff = Duration::from_millis(100 * u64::from(attempt.min(10))) + jitter();
            if start.elapsed() + backoff >= budget {
                if let Some(id) = lease {
                    let _ = gw.lease_revoke(id, deadline());
                }
                return Err(LockError::Timeout);
            }
            if last_notice.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                on_wait(&format!("trying to acquire cfs lock '{name}' ..."));
                last_notice = Some(Instant::now());
            }
            std::thread::sleep(backoff);
        }
    }

    /// Releases lock `name`: revoking its lease deletes the key if it is
    /// still ours.
    pub fn release(&self, gw: &Gateway, name: &str, deadline: Deadline) {
        let hold = self.held().remove(name);
        if let Some(h) = hold {
            let _ = gw.lease_revoke(h.lease, deadline);
        }
    }

    /// What a write by the current thread must check: nothing when it
    /// holds no domain lock; an error when its hold is older than the
    /// locked-code limit.
    pub fn guard(&self) -> Result<Guard, GuardError> {
        let me = thread::current().id();
        let mut guard = Guard::default();
        for (name, h) in self.held().iter().filter(|(_, h)| h.thread == me) {
            if h.since.elapsed() > LOCKED_CODE_LIMIT {
                return Err(GuardError::TimedOut(name.clone()));
            }
            guard.compares.push(Compare::equal(
                h.key.clone(),
                Target::Lease { lease: h.lease },
            ));
        }
        Ok(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hold_no_guard() {
        assert_eq!(DomainLocks::new().guard(), Ok(Guard::default()));
    }

    #[test]
    fn an_old_hold_refuses_and_other_threads_are_not_guarded() {
        let d = DomainLocks::new();
        let since = Instant::now()
            .checked_sub(Duration::from_secs(61))
            .unwrap_or_else(Instant::now);
        d.held().insert(
            "domain-ha".to_string(),
            Hold {
                key: b"/pve-ha/priv/lock/domain-ha".to_vec(),
                lease: 7,
                thread: thread::current().id(),
                since,
            },
        );
        if since.elapsed() > LOCKED_CODE_LIMIT {
            assert_eq!(
                d.guard().map_err(|e| e.to_string()),
                Err("'domain-ha'-locked command timed out - aborting".to_string())
            );
        }
        let other = thread::scope(|s| s.spawn(|| d.guard()).join().ok());
        assert_eq!(other, Some(Ok(Guard::default())));
        if let Some(h) = d.held().get_mut("domain-ha") {
            h.since = Instant::now();
        }
        assert_eq!(d.guard().map(|g| g.compares.len()), Ok(1));
    }
}
