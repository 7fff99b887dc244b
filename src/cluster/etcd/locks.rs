//! Lease-bound lock keys: the pmxcfs lock primitives (07 §4.2) on etcd.
//!
//! One lease per lock key. The key exists while its lease lives and is
//! deleted by etcd when the lease expires, so "nobody can take the lock
//! before it is older than the lifetime" (07 §4.3) becomes "nobody can
//! create the key before the lease's TTL has passed since its last
//! renewal" — measured by the etcd leader alone (a new leader only ever
//! extends leases), never by comparing node clocks (07 §10.1 inv. 9).
//!
//! * acquire: grant a lease of the lifetime, then a transaction "if the
//!   key does not exist (create revision 0), put it bound to that lease";
//!   when the key exists, the lease is revoked again (`File exists`).
//! * renew: exactly one keep-alive of the lease this process remembers
//!   for the key, inside the lock call — never from a background task,
//!   so a stalled or cut-off process stops renewing (and feeding its
//!   watchdog) at the same moment. The answer is checked (TTL > 0), then
//!   the key is read back and must still be bound to that lease.
//! * unlock request: nothing to do; expiry deletes the key.
//! * release: revoke the lease, which deletes exactly the key bound to it
//!   (one lease per key) — "delete if ours" in one atomic step.
//!
//! Ownership is per process (the remembered lease), not per node as on
//! pmxcfs; the HA locks are per role and node, so nothing else shares one.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::gateway::{Deadline, EtcdError, Gateway};
use super::messages::{Compare, PutRequest, RequestOp, Target};

/// Why a lock primitive failed. The texts follow pmxcfs's `strerror`
/// where there is a counterpart, so the HA lock operation's reasons
/// (`cfs lock update failed - Permission denied`) read the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockFailure {
    /// The node is not quorate (07 §4.4).
    #[error("Permission denied")]
    NoQuorum,
    /// Somebody holds the lock.
    #[error("File exists")]
    Exists,
    /// This process holds no lease for the lock, or the key is bound to
    /// another lease (pmxcfs: renewal by a node that is not the writer).
    #[error("Permission denied")]
    NotHeld,
    /// The keep-alive found the lease gone: it expired (or was revoked).
    #[error("lease expired")]
    Expired,
    /// etcd could not be asked.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
}

/// Creates `key` bound to `lease` if it does not exist; whether it did
/// not (and now holds `value`).
pub fn put_if_absent(
    gw: &Gateway,
    key: &[u8],
    value: &[u8],
    lease: i64,
    deadline: Deadline,
) -> Result<bool, EtcdError> {
    gw.txn(
        vec![Compare::equal(
            key.to_vec(),
            Target::Create { create_revision: 0 },
        )],
        vec![RequestOp::RequestPut(PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            lease,
        })],
        deadline,
    )
}

/// Whether `key` exists and is bound to `lease` (read through the leader).
pub fn bound_to(
    gw: &Gateway,
    key: &[u8],
    lease: i64,
    deadline: Deadline,
) -> Result<bool, EtcdError> {
    Ok(gw
        .get(key, false, deadline)?
        .is_some_and(|kv| kv.lease == lease))
}

/// This process's leases, by lock name.
#[derive(Debug, Default)]
pub struct LeaseLocks {
    leases: Mutex<BTreeMap<String, i64>>,
}

impl LeaseLocks {
    /// No lock held.
    pub fn new() -> LeaseLocks {
        LeaseLocks::default()
    }

    /// The memory; a panic of another thread while holding it leaves a
    /// map that is still consistent (every update is one insert/remove).
    fn memory(&self) -> MutexGuard<'_, BTreeMap<String, i64>> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lease this process holds for `name`, if any.
    pub fn lease_of(&self, name: &str) -> Option<i64> {
        self.memory().get(name).copied()
    }

    /// Acquires lock `name` as `key` with a fresh lease of `ttl` seconds,
    /// storing `holder` as the value (for people inspecting the keys).
    /// A lease remembered from an earlier hold is forgotten, not revoked:
    /// the caller only takes this path once that hold has lapsed, and as
    /// on pmxcfs (where the holder's own mkdir fails with `File exists`)
    /// a key still bound to it stays until the lease runs out.
    pub fn create(
        &self,
        gw: &Gateway,
        name: &str,
        key: &[u8],
        holder: &[u8],
        ttl: i64,
        deadline: Deadline,
    ) -> Result<(), LockFailure> {
        self.forget(name);
        let lease = gw.lease_grant(ttl, deadline)?;
        match put_if_absent(gw, key, holder, lease, deadline) {
            Ok(true) => {
                self.memory().insert(name.to_string(), lease);
                Ok(())
            }
            Ok(false) => {
                // Unused leases would only expire, but need not linger.
                let _ = gw.lease_revoke(lease, deadline);
                Err(LockFailure::Exists)
            }
            Err(e) => {
                // The put may have happened; revoking undoes it either way.
                let _ = gw.lease_revoke(lease, deadline);
                Err(e.into())
            }
        }
    }

    /// Renews lock `name` (`key`): one keep-alive of the remembered lease,
    /// checked, and the key still bound to it. A lease found expired is
    /// forgotten.
    pub fn renew(
        &self,
        gw: &Gateway,
        name: &str,
        key: &[u8],
        deadline: Deadline,
    ) -> Result<(), LockFailure> {
        let lease = self.lease_of(name).ok_or(LockFailure::NotHeld)?;
        let ttl = gw.lease_keepalive(lease, deadline)?;
        if ttl <= 0 {
            self.forget_if(name, lease);
            return Err(LockFailure::Expired);
        }
        if bound_to(gw, key, lease, deadline)? {
            Ok(())
        } else {
            Err(LockFailure::NotHeld)
        }
    }

    /// Releases lock `name`: forgets its lease and revokes it, deleting
    /// the key if it is still ours. Whether a lease was revoked.
    pub fn remove(&self, gw: &Gateway, name: &str, deadline: Deadline) -> bool {
        let lease = self.memory().remove(name);
        lease.is_some_and(|l| gw.lease_revoke(l, deadline).is_ok())
    }

    /// Forgets `name` without asking etcd (the lease then runs out).
    pub fn forget(&self, name: &str) {
        self.memory().remove(name);
    }

    fn forget_if(&self, name: &str, lease: i64) {
        let mut m = self.memory();
        if m.get(name) == Some(&lease) {
            m.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_texts_read_like_pmxcfs() {
        assert_eq!(LockFailure::NoQuorum.to_string(), "Permission denied");
        assert_eq!(LockFailure::Exists.to_string(), "File exists");
        assert_eq!(LockFailure::NotHeld.to_string(), "Permission denied");
        assert_eq!(
            LockFailure::Etcd(EtcdError::Timeout).to_string(),
            "etcd request timed out"
        );
    }

    #[test]
    fn renewal_without_a_lease_asks_nobody() {
        let Ok(gw) = Gateway::new(&["http://127.0.0.1:9".to_string()]) else {
            panic!("gateway")
        };
        let locks = LeaseLocks::new();
        let d = Deadline::after(std::time::Duration::from_secs(1));
        assert_eq!(
            locks.renew(&gw, "ha_manager_lock", b"k", d),
            Err(LockFailure::NotHeld)
        );
        assert!(!locks.remove(&gw, "ha_manager_lock", d));
    }
}
