//! [`EtcdStore`]: the cluster store on etcd (00 "environment trait",
//! issue 15), for clusters without pmxcfs.
//!
//! * Files are keys `<prefix><rel>` (default prefix `/pve-ha/`, so
//!   `/pve-ha/ha/resources.cfg`, `/pve-ha/nodes/<node>/lrm_status`,
//!   `/pve-ha/datacenter.cfg`) holding exactly the bytes pmxcfs would
//!   hold. A put replaces a value atomically, which is 07 §2.7's atomic
//!   replace; there are no directories. docs/etcd-backend.md has the
//!   whole layout.
//! * Locks are keys `<prefix>priv/lock/<name>` bound to leases
//!   ([`super::locks`], [`super::domain`]).
//! * Membership and quorum come from the injected [`Membership`]
//!   (corosync). Without quorum every write and every lock operation is
//!   refused (`Permission denied`), as pmxcfs does (07 §3.1, §4.4), and
//!   reads fall back to the member's local copy, as pmxcfs serves its
//!   local database read-only; with quorum reads go through the etcd
//!   leader and are never stale.
//! * Every operation is bounded by the settings' `timeout` (the
//!   budget's `max_loop`, 07 §10.1), across all endpoints.

use std::time::Duration;

use crate::cluster::membership::Membership;
use crate::cluster::paths;
use crate::cluster::store::{
    ClusterStore, Guest, GuestKind, LockError, Members, StoreError, VmList,
};
use crate::config::budget::Budget;
use crate::config::node::BackendKind;
use crate::env::Time;

use super::domain::DomainLocks;
use super::gateway::{Deadline, EtcdError, Gateway};
use super::locks::{LeaseLocks, LockFailure};
use super::messages::{Compare, DeleteRequest, PutRequest, RequestOp, Target};

/// The key prefix unless configured otherwise.
pub const DEFAULT_PREFIX: &str = "/pve-ha/";

/// etcd's smallest lease: shorter TTLs are raised by the server to about
/// 1.5 election timeouts, which would silently lengthen the lock.
const MIN_LEASE: i64 = 2;

/// How to reach etcd and how long locks live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdSettings {
    /// Client URLs (`http://10.0.0.1:2379`), tried in order.
    pub endpoints: Vec<String>,
    /// Key prefix of every file and lock; a missing final `/` is added.
    pub prefix: String,
    /// Lifetime of the manager and agent locks (the budget's `lease`).
    pub lease_secs: i64,
    /// Bound on every store operation (the budget's `max_loop`).
    pub timeout: Duration,
    /// How long taking the `domain-ha` lock may wait: upstream's 10 s for
    /// `ha-manager`, the loop bound for a daemon (see
    /// [`EtcdSettings::for_daemon`]).
    pub domain_wait: Duration,
}

impl EtcdSettings {
    /// Settings for `endpoints` and `prefix` with the budget's lease and
    /// loop bound.
    pub fn from_budget(endpoints: Vec<String>, prefix: String, budget: &Budget) -> EtcdSettings {
        EtcdSettings {
            endpoints,
            prefix,
            lease_secs: budget.lease,
            timeout: Duration::from_secs(u64::try_from(budget.max_loop.max(1)).unwrap_or(1)),
            domain_wait: super::domain::ACQUIRE_BUDGET,
        }
    }

    /// The same for a daemon: it takes `domain-ha` (the CRM command
    /// queue, service configuration updates) inside its watchdog-protected
    /// round, so it waits no longer than the loop bound. Waiting
    /// upstream's 10 s there would starve a 7 s client timeout whenever a
    /// lost node still holds the lock (its lease outlives it by 120 s).
    pub fn for_daemon(mut self) -> EtcdSettings {
        self.domain_wait = self.timeout;
        self
    }
}

/// Why the settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// No endpoint, or another gateway problem.
    #[error(transparent)]
    Etcd(#[from] EtcdError),
    /// The lease is below etcd's minimum.
    #[error("etcd lease of {0} s is too short (at least {MIN_LEASE} s)")]
    LeaseTooShort(i64),
    /// A zero timeout would fail every request.
    #[error("etcd request timeout must be positive")]
    NoTimeout,
}

/// The etcd store. One per process: it remembers the leases of the locks
/// this process holds.
pub struct EtcdStore {
    gw: Gateway,
    prefix: String,
    lease_secs: i64,
    timeout: Duration,
    membership: Box<dyn Membership>,
    locks: LeaseLocks,
    domains: DomainLocks,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("gateway", &self.gw)
            .field("prefix", &self.prefix)
            .field("lease_secs", &self.lease_secs)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The text pmxcfs gives a write without quorum.
const NO_QUORUM: &str = "Permission denied";

impl EtcdStore {
    /// A store over `settings` with membership and quorum from
    /// `membership`. Contacts nobody: an etcd that is not up yet is no
    /// error here ([`ClusterStore::is_mounted`] tells).
    pub fn connect(
        settings: EtcdSettings,
        membership: Box<dyn Membership>,
    ) -> Result<EtcdStore, SettingsError> {
        if settings.lease_secs < MIN_LEASE {
            return Err(SettingsError::LeaseTooShort(settings.lease_secs));
        }
        if settings.timeout.is_zero() {
            return Err(SettingsError::NoTimeout);
        }
        let mut prefix = settings.prefix;
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(EtcdStore {
            gw: Gateway::new(&settings.endpoints)?,
            prefix,
            lease_secs: settings.lease_secs,
            timeout: settings.timeout,
            membership,
            locks: LeaseLocks::new(),
            domains: DomainLocks::with_wait(settings.domain_wait),
        })
    }

    /// The key prefix (ends with `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The lease this process holds for lock `name`, if any (for
    /// inspection and tests).
    pub fn lease_of(&self, name: &str) -> Option<i64> {
        self.locks.lease_of(name)
    }

    /// The seconds lease `id` has left; `None` once it is gone.
    pub fn lease_time_to_live(&self, id: i64) -> Result<Option<i64>, EtcdError> {
        self.gw.lease_time_to_live(id, self.deadline())
    }

    fn key(&self, rel: &str) -> Vec<u8> {
        format!("{}{rel}", self.prefix).into_bytes()
    }

    fn lock_key(&self, name: &str) -> Vec<u8> {
        self.key(&paths::lock(name))
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// A put or delete: plain when the calling thread holds no domain
    /// lock, otherwise guarded by it (see [`super::domain`]).
    fn modify(&self, op: RequestOp) -> Result<(), String> {
        if !self.quorate() {
            return Err(NO_QUORUM.to_string());
        }
        let guard = self.domains.guard().map_err(|e| e.to_string())?;
        let deadline = self.deadline();
        if guard.compares.is_empty() {
            return match op {
                RequestOp::RequestPut(p) => self.gw.put(&p.key, &p.value, deadline),
                RequestOp::RequestDeleteRange(d) => self.gw.delete(&d.key, deadline),
            }
            .map_err(|e| e.to_string());
        }
        match self.gw.txn(guard.compares, vec![op], deadline) {
            Ok(true) => Ok(()),
            Ok(false) => Err("domain lock lost - aborting".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn holder(&self) -> Vec<u8> {
        self.local_node().into_bytes()
    }
}

impl ClusterStore for EtcdStore {
    /// The key, as messages name it.
    fn path_of(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    fn backend(&self) -> BackendKind {
        BackendKind::Etcd
    }

    fn lock_lifetime(&self) -> Time {
        self.lease_secs
    }

    /// Whether an etcd member answers (its own copy, no leader needed).
    fn is_mounted(&self) -> bool {
        self.gw
            .ping(self.prefix.as_bytes(), self.deadline())
            .is_ok()
    }

    /// Only what the membership says: quorate if it says so.
    fn quorate(&self) -> bool {
        self.membership
            .members()
            .is_ok_and(|m| m.quorate == Some(true))
    }

    fn local_node(&self) -> String {
        self.membership
            .members()
            .ok()
            .and_then(|m| m.nodename)
            .unwrap_or_else(crate::cluster::pmxcfs::host_name)
    }

    fn members(&self) -> Members {
        self.membership.members().unwrap_or_default()
    }

    /// No guests on plain Linux; the "guest list" holds the OCF
    /// resources' location records (`nodes/<node>/ocf/<name>.conf`,
    /// docs/ocf.md), which place each resource on its node as a guest's
    /// configuration file does. Unreadable: empty.
    fn vmlist(&self) -> VmList {
        let prefix = self.key("nodes/");
        let keys = self
            .gw
            .keys_with_prefix(&prefix, !self.quorate(), self.deadline())
            .unwrap_or_default();
        let mut list = VmList::default();
        for key in keys {
            let Ok(rel) = std::str::from_utf8(&key[prefix.len()..]) else {
                continue;
            };
            let mut parts = rel.split('/');
            if let (Some(node), Some("ocf"), Some(file), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                if let Some(name) = file.strip_suffix(".conf") {
                    if crate::config::ocf::check_name(name).is_ok() {
                        list.ids.insert(
                            name.to_string(),
                            Guest {
                                node: node.to_string(),
                                kind: GuestKind::Other("ocf".to_string()),
                            },
                        );
                    }
                }
            }
        }
        list
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let serializable = !self.quorate();
        self.gw
            .get(&self.key(rel), serializable, self.deadline())
            .map(|kv| kv.map(|kv| kv.value))
            .map_err(|e| match e {
                EtcdError::Timeout | EtcdError::Unreachable { .. } => StoreError::Unavailable {
                    path: self.path_of(rel),
                    reason: e.to_string(),
                },
                _ => StoreError::Read {
                    path: self.path_of(rel),
                    errno: e.to_string(),
                },
            })
    }

    /// One put: etcd replaces a value atomically.
    fn write_atomic(&self, rel: &str, data: &[u8]) -> Result<(), StoreError> {
        self.modify(RequestOp::RequestPut(PutRequest {
            key: self.key(rel),
            value: data.to_vec(),
            lease: 0,
        }))
        .map_err(|errno| StoreError::Write {
            tmp: self.path_of(rel),
            errno,
        })
    }

    fn remove(&self, rel: &str) -> Result<(), StoreError> {
        self.modify(RequestOp::RequestDeleteRange(DeleteRequest {
            key: self.key(rel),
        }))
        .map_err(|errno| StoreError::Modify {
            op: "unlink",
            path: self.path_of(rel),
            errno,
        })
    }

    /// One transaction: the value moves to `to` and `from` goes, if
    /// `from` is still the key that was read (its creation revision), so a
    /// concurrent rename cannot duplicate it. The error text is pmxcfs's.
    fn rename(&self, from: &str, to: &str) -> Result<(), String> {
        let fail = |errno: String| {
            format!(
                "rename '{}' to '{}' failed - {errno}",
                self.path_of(from),
                self.path_of(to)
            )
        };
        if !self.quorate() {
            return Err(fail(NO_QUORUM.to_string()));
        }
        let deadline = self.deadline();
        let kv = self
            .gw
            .get(&self.key(from), false, deadline)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("No such file or directory".to_string()))?;
        let moved = self
            .gw
            .txn(
                vec![Compare::equal(
                    self.key(from),
                    Target::Create {
                        create_revision: kv.create_revision,
                    },
                )],
                vec![
                    RequestOp::RequestPut(PutRequest {
                        key: self.key(to),
                        value: kv.value,
                        lease: 0,
                    }),
                    RequestOp::RequestDeleteRange(DeleteRequest {
                        key: self.key(from),
                    }),
                ],
                deadline,
            )
            .map_err(|e| fail(e.to_string()))?;
        if moved {
            Ok(())
        } else {
            Err(fail("No such file or directory".to_string()))
        }
    }

    /// Keys need no directories.
    fn create_dir(&self, _rel: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Lock keys need no directory.
    fn ensure_lock_dir(&self) -> bool {
        true
    }

    fn lock_create(&self, name: &str) -> Result<(), String> {
        if !self.quorate() {
            return Err(LockFailure::NoQuorum.to_string());
        }
        let key = self.lock_key(name);
        self.locks
            .create(
                &self.gw,
                name,
                &key,
                &self.holder(),
                self.lease_secs,
                self.deadline(),
            )
            .map_err(|e| e.to_string())
    }

    /// One keep-alive, checked; `now` is not needed: the lease, not an
    /// mtime, carries the age.
    fn lock_renew(&self, name: &str, _now: i64) -> Result<(), String> {
        if !self.quorate() {
            return Err(LockFailure::NoQuorum.to_string());
        }
        self.locks
            .renew(&self.gw, name, &self.lock_key(name), self.deadline())
            .map_err(|e| e.to_string())
    }

    /// Nothing to ask: etcd deletes the key when its lease expires.
    fn lock_unlock_request(&self, _name: &str) {}

    /// Revokes this process's lease of the lock (deleting the key if it
    /// is still ours); refused without quorum, when the lease is left to
    /// expire.
    fn lock_remove(&self, name: &str) -> bool {
        if !self.quorate() {
            self.locks.forget(name);
            return false;
        }
        self.locks.remove(&self.gw, name, self.deadline())
    }

    fn acquire_domain_lock(
        &self,
        domain: &str,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<(), LockError> {
        let name = format!("domain-{domain}");
        self.domains.acquire(
            &self.gw,
            &name,
            &self.lock_key(&name),
            &self.holder(),
            &|| self.quorate(),
            self.timeout,
            on_wait,
        )
    }

    fn release_domain_lock(&self, domain: &str) {
        self.domains
            .release(&self.gw, &format!("domain-{domain}"), self.deadline());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::StaticMembership;

    fn settings() -> EtcdSettings {
        EtcdSettings {
            endpoints: vec!["http://127.0.0.1:2379".to_string()],
            prefix: "/x".to_string(),
            lease_secs: 20,
            timeout: Duration::from_secs(3),
            domain_wait: Duration::from_secs(10),
        }
    }

    fn membership() -> Box<dyn Membership> {
        Box::new(StaticMembership(Members::default()))
    }

    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<EtcdStore>();
    }

    #[test]
    fn settings_are_checked_and_prefix_completed() {
        let s = EtcdStore::connect(settings(), membership());
        assert_eq!(
            s.as_ref().map(|s| s.prefix().to_string()).ok(),
            Some("/x/".into())
        );
        let s = s.ok();
        assert_eq!(
            s.as_ref().map(|s| s.path_of("ha/rules.cfg")),
            Some("/x/ha/rules.cfg".into())
        );
        assert_eq!(s.as_ref().map(|s| s.backend()), Some(BackendKind::Etcd));
        assert_eq!(s.as_ref().map(|s| s.lock_lifetime()), Some(20));
        let short = EtcdSettings {
            lease_secs: 1,
            ..settings()
        };
        assert_eq!(
            EtcdStore::connect(short, membership()).err(),
            Some(SettingsError::LeaseTooShort(1))
        );
        let none = EtcdSettings {
            endpoints: vec![],
            ..settings()
        };
        assert_eq!(
            EtcdStore::connect(none, membership()).err(),
            Some(SettingsError::Etcd(EtcdError::NoEndpoints))
        );
    }

    #[test]
    fn budget_gives_lease_and_timeout() {
        let s = EtcdSettings::from_budget(
            vec!["http://a:2379".into()],
            DEFAULT_PREFIX.into(),
            &Budget::plain_linux(),
        );
        assert_eq!((s.lease_secs, s.timeout), (18, Duration::from_secs(2)));
    }

    #[test]
    fn without_quorum_writes_and_locks_are_refused_locally() {
        let Ok(s) = EtcdStore::connect(settings(), membership()) else {
            panic!("store")
        };
        assert!(!s.quorate());
        assert!(s.vmlist().ids.is_empty());
        let err = s.write_atomic("ha/x", b"1").map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("unable to write '/x/ha/x' - Permission denied".into())
        );
        assert_eq!(
            s.lock_create("ha_manager_lock"),
            Err("Permission denied".into())
        );
        assert_eq!(
            s.lock_renew("ha_manager_lock", 0),
            Err("Permission denied".into())
        );
        assert!(!s.lock_remove("ha_manager_lock"));
    }

    #[test]
    fn without_etcd_nothing_is_mounted_and_the_domain_lock_is_not_online() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let quorate = Members {
            nodename: Some("n1".into()),
            quorate: Some(true),
            in_cluster: true,
            ..Members::default()
        };
        let settings = EtcdSettings {
            endpoints: vec![format!("http://127.0.0.1:{port}")],
            ..settings()
        };
        let Ok(s) = EtcdStore::connect(settings, Box::new(StaticMembership(quorate))) else {
            panic!("store")
        };
        assert!(s.quorate());
        assert_eq!(s.local_node(), "n1");
        assert!(!s.is_mounted());
        let read = s.read("ha/x");
        // Worth trying again: an LRM job does not fail on it.
        assert!(read.as_ref().is_err_and(StoreError::is_unavailable));
        let err = read.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(
            err.starts_with("unable to read file '/x/ha/x' - etcd unreachable (http://127.0.0.1:"),
            "{err}"
        );
        let res = crate::cluster::with_domain_lock(&s, "ha", &mut |_| {}, || Ok::<_, String>(()));
        assert_eq!(
            res.map_err(|e| e.to_string()),
            Err("cfs-lock 'domain-ha' error: pve cluster filesystem not online.".to_string())
        );
        assert!(s.lock_create("ha_manager_lock").is_err());
    }
}
