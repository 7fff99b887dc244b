//! The cluster file store interface (00 "cluster/store", 07 §2–§4): whole
//! files by store-relative path (`ha/resources.cfg`), membership, quorum,
//! the guest list and the cluster-wide domain lock that serialises
//! configuration edits. Also the pure readers of the two special files
//! (`.members`, `.vmlist`, 07 §3.2–§3.3) every backend shares.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::config::node::BackendKind;
use crate::env::Time;
use crate::types::perl::value_truthy;

/// Why a file operation failed. The texts are upstream's (07 §2.7); the
/// `errno` parts are the C library's `strerror` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A file exists but could not be read.
    #[error("unable to read file '{path}' - {errno}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        errno: String,
    },
    /// The store did not answer a read in time, or could not be reached
    /// (an etcd member catching up, pmxcfs restarting): the same text as
    /// [`StoreError::Read`], but the same read may well work a moment
    /// later.
    #[error("unable to read file '{path}' - {reason}")]
    Unavailable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The temporary file of an atomic write could not be created.
    #[error("unable to open file '{tmp}' - {errno}")]
    Open {
        /// The temporary file.
        tmp: String,
        /// Why.
        errno: String,
    },
    /// A stale temporary file was in the way and could not be removed.
    #[error("unable to delete old temp file: {errno}")]
    StaleTemp {
        /// Why.
        errno: String,
    },
    /// Writing the temporary file failed.
    #[error("unable to write '{tmp}' - {errno}")]
    Write {
        /// The temporary file.
        tmp: String,
        /// Why.
        errno: String,
    },
    /// Closing (flushing) the temporary file failed.
    #[error("closing file '{tmp}' failed - {errno}")]
    Close {
        /// The temporary file.
        tmp: String,
        /// Why.
        errno: String,
    },
    /// The final rename over the target failed.
    #[error("close (rename) atomic file '{path}' failed: {errno}")]
    Rename {
        /// The target file.
        path: String,
        /// Why.
        errno: String,
    },
    /// Any other modifying operation (mkdir, unlink) failed.
    #[error("{op} '{path}' failed - {errno}")]
    Modify {
        /// `mkdir` or `unlink`.
        op: &'static str,
        /// The path.
        path: String,
        /// Why.
        errno: String,
    },
}

impl StoreError {
    /// Whether the store could not answer at all (worth retrying), as
    /// opposed to answering with a failure.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// Why the domain lock could not be taken (07 §4.8 steps 2, 3, 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The lock directory cannot be created: pmxcfs is not there.
    #[error("pve cluster filesystem not online.")]
    NotOnline,
    /// The 10-second acquisition budget ran out.
    #[error("got lock request timeout")]
    Timeout,
    /// The lock was never obtained and the node is not quorate.
    #[error("no quorum!")]
    NoQuorum,
}

/// The outcome of code run under the domain lock: either the code's own
/// error (passed through unchanged) or a failure of the locking itself,
/// reported as `cfs-lock 'domain-<name>' error: <error>` (07 §4.8 step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locked<E> {
    /// The locked code failed.
    Code(E),
    /// The lock could not be taken.
    Lock {
        /// The lock id (`domain-ha`).
        id: String,
        /// Why.
        err: LockError,
    },
}

impl<E: fmt::Display> fmt::Display for Locked<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locked::Code(e) => e.fmt(f),
            Locked::Lock { id, err } => write!(f, "cfs-lock '{id}' error: {err}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for Locked<E> {}

/// The kind of a guest in the cluster's VM list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestKind {
    /// A QEMU virtual machine (`qemu`).
    Qemu,
    /// An LXC container (`lxc`).
    Lxc,
    /// Any other word; HA has no plugin for it.
    Other(String),
}

impl GuestKind {
    /// The word pmxcfs writes.
    pub fn as_str(&self) -> &str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
            GuestKind::Other(w) => w,
        }
    }
}

/// One guest of the VM list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// Node whose directory holds the guest's configuration.
    pub node: String,
    /// Its kind.
    pub kind: GuestKind,
}

/// The cluster's VM list (`.vmlist`, 07 §3.2), by VMID text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmList {
    /// VMID → guest.
    pub ids: BTreeMap<String, Guest>,
}

impl VmList {
    /// Reads `.vmlist` JSON leniently: a missing file, bad JSON or an entry
    /// of the wrong shape give no guests rather than an error, as a VM list
    /// that cannot be fetched is simply empty for the HA tools.
    pub fn parse(text: &[u8]) -> VmList {
        let mut out = VmList::default();
        let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(text) else {
            return out;
        };
        let Some(Value::Object(ids)) = top.get("ids") else {
            return out;
        };
        for (vmid, entry) in ids {
            let node = entry.get("node").and_then(Value::as_str);
            let kind = entry.get("type").and_then(Value::as_str);
            if let (Some(node), Some(kind)) = (node, kind) {
                let kind = match kind {
                    "qemu" => GuestKind::Qemu,
                    "lxc" => GuestKind::Lxc,
                    other => GuestKind::Other(other.to_string()),
                };
                out.ids.insert(
                    vmid.clone(),
                    Guest {
                        node: node.to_string(),
                        kind,
                    },
                );
            }
        }
        out
    }

    /// The guest with this VMID.
    pub fn get(&self, vmid: &str) -> Option<&Guest> {
        self.ids.get(vmid)
    }
}

/// One node of the membership list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberNode {
    /// Corosync node id (0 when not given).
    pub id: u64,
    /// Reachable through the cluster file system in this partition.
    pub online: bool,
}

/// The cluster membership (`.members`, 07 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Members {
    /// The local node as pmxcfs names it.
    pub nodename: Option<String>,
    /// `cluster.quorate`; `None` when the node is not part of a cluster
    /// (local mode, always quorate) or the file is unreadable.
    pub quorate: Option<bool>,
    /// Whether a `cluster` object was present at all.
    pub in_cluster: bool,
    /// The node list.
    pub nodes: BTreeMap<String, MemberNode>,
}

impl Members {
    /// Reads `.members` JSON leniently (unknown or malformed parts are
    /// skipped); `None` if the text is not a JSON object at all.
    pub fn parse(text: &[u8]) -> Option<Members> {
        let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(text) else {
            return None;
        };
        let mut out = Members {
            nodename: top
                .get("nodename")
                .and_then(Value::as_str)
                .map(str::to_string),
            ..Members::default()
        };
        if let Some(cluster) = top.get("cluster").and_then(Value::as_object) {
            out.in_cluster = true;
            out.quorate = Some(cluster.get("quorate").is_some_and(value_truthy));
        }
        if let Some(list) = top.get("nodelist").and_then(Value::as_object) {
            for (name, n) in list {
                out.nodes.insert(
                    name.clone(),
                    MemberNode {
                        id: n.get("id").and_then(Value::as_u64).unwrap_or(0),
                        online: n.get("online").is_some_and(value_truthy),
                    },
                );
            }
        }
        Some(out)
    }

    /// Whether `node` is a cluster member (listed in the node list).
    pub fn is_member(&self, node: &str) -> bool {
        self.nodes.contains_key(node)
    }
}

/// Everything the HA tools need from the cluster's file store. Paths are
/// relative to the store's root (`ha/resources.cfg`,
/// `nodes/node1/lrm_status`).
pub trait ClusterStore {
    /// The full path of `rel`, as messages name it.
    fn path_of(&self, rel: &str) -> String;

    /// Which backend this is: decides, for example, whether resource
    /// type `ocf` may be configured (refused on `pve`, whose Perl
    /// parser would drop such sections).
    fn backend(&self) -> BackendKind {
        BackendKind::Pve
    }

    /// How long a lock outlives its last renewal (07 §4.3: pmxcfs's
    /// 120 s; the etcd backend's lease from the failover budget). The HA
    /// lock operation renews within it and creates afresh after it.
    fn lock_lifetime(&self) -> Time {
        super::halock::LOCK_LIFETIME
    }

    /// Whether the cluster file system is there at all (07 §3.1).
    fn is_mounted(&self) -> bool;

    /// The local node's quorum flag as the file system sees it (07 §2.4).
    fn quorate(&self) -> bool;

    /// The local node's name.
    fn local_node(&self) -> String;

    /// The membership (empty when unavailable).
    fn members(&self) -> Members;

    /// The VM list (empty when unavailable).
    fn vmlist(&self) -> VmList;

    /// A whole file; `None` if it does not exist.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces a file atomically (07 §2.7): readers see the old or the new
    /// content, never a mix.
    fn write_atomic(&self, rel: &str, data: &[u8]) -> Result<(), StoreError>;

    /// Removes a file; a missing file is not an error.
    fn remove(&self, rel: &str) -> Result<(), StoreError>;

    /// Renames a file within the store (a guest's configuration moving
    /// between node directories, 07 §2.8); refused without quorum.
    fn rename(&self, from: &str, to: &str) -> Result<(), String>;

    /// Creates a directory (and its parents) if missing.
    fn create_dir(&self, rel: &str) -> Result<(), StoreError>;

    /// Creates the lock directory's parent `priv/lock` if missing (ignoring
    /// failures) and tells whether it is a directory now (07 §4.5 step 2).
    fn ensure_lock_dir(&self) -> bool;

    /// Acquires lock `name` by creating its directory (07 §4.2): fails
    /// with the `strerror` text if it exists or without quorum.
    fn lock_create(&self, name: &str) -> Result<(), String>;

    /// Renews lock `name` by setting its mtime to `now` (07 §4.2): refused
    /// (`Permission denied`) without quorum or when that would move the
    /// mtime back.
    fn lock_renew(&self, name: &str, now: i64) -> Result<(), String>;

    /// Asks for lock `name` to be deleted if it has expired (07 §4.2–§4.3);
    /// the outcome is not reported, as upstream ignores it.
    fn lock_unlock_request(&self, name: &str);

    /// Deletes lock `name` at once; whether that succeeded.
    fn lock_remove(&self, name: &str) -> bool;

    /// Takes the cluster-wide lock `domain-<domain>` (07 §4.8 steps 2–3),
    /// calling `on_wait` with the progress line each time it is due.
    fn acquire_domain_lock(
        &self,
        domain: &str,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<(), LockError>;

    /// Releases a lock taken by [`ClusterStore::acquire_domain_lock`].
    fn release_domain_lock(&self, domain: &str);

    /// A token that changes whenever the membership or the VM list may
    /// have changed (pmxcfs's `.version`); `None`: unknown, so the
    /// environment refreshes its view every time (07 §2.4).
    fn view_version(&self) -> Option<Vec<u8>> {
        None
    }

    /// The membership and VM list for the daemons' cluster view (07 §2.4),
    /// or why they cannot be read — which the environment logs as
    /// `cluster file system update failed - <why>` and treats as an
    /// empty, non-quorate view.
    fn cluster_view(&self) -> Result<(Members, VmList), String> {
        Ok((self.members(), self.vmlist()))
    }
}

/// A store shared between a daemon's environment and its jobs' ones.
pub type SharedStore = std::sync::Arc<dyn ClusterStore + Send + Sync>;

/// Runs `code` under the domain lock `domain-<domain>` (07 §4.8): the lock
/// is always released afterwards; errors of the code pass through, errors
/// of the locking are wrapped, and a lock that could not be obtained on a
/// node without quorum is reported as `no quorum!`.
pub fn with_domain_lock<T, E>(
    store: &dyn ClusterStore,
    domain: &str,
    on_wait: &mut dyn FnMut(&str),
    code: impl FnOnce() -> Result<T, E>,
) -> Result<T, Locked<E>> {
    let id = format!("domain-{domain}");
    match store.acquire_domain_lock(domain, on_wait) {
        Ok(()) => {
            let res = code();
            store.release_domain_lock(domain);
            res.map_err(Locked::Code)
        }
        Err(err) => {
            let err = if store.quorate() {
                err
            } else {
                LockError::NoQuorum
            };
            Err(Locked::Lock { id, err })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_of_a_quorate_cluster() {
        let m = Members::parse(
            br#"{"nodename":"node1","version":5,"cluster":{"name":"c","version":3,"nodes":3,"quorate":1},
               "nodelist":{"node1":{"id":1,"online":1,"ip":"10.0.0.1"},"node2":{"id":2,"online":0}}}"#,
        )
        .unwrap_or_default();
        assert_eq!(m.nodename.as_deref(), Some("node1"));
        assert_eq!(m.quorate, Some(true));
        assert!(m.is_member("node2"));
        assert!(!m.nodes["node2"].online);
    }

    #[test]
    fn members_in_local_mode_and_garbage() {
        let m = Members::parse(br#"{"nodename":"n","version":1}"#).unwrap_or_default();
        assert_eq!(m.quorate, None);
        assert!(!m.in_cluster);
        assert!(Members::parse(b"[1]").is_none());
        assert!(Members::parse(b"").is_none());
    }

    #[test]
    fn vmlist_kinds() {
        let v = VmList::parse(
            br#"{"version":1,"ids":{"100":{"node":"node1","type":"qemu","version":2},
               "102":{"node":"node2","type":"lxc"},"103":{"node":"n","type":"odd"},"104":{"type":"qemu"}}}"#,
        );
        assert_eq!(v.get("100").map(|g| g.kind.clone()), Some(GuestKind::Qemu));
        assert_eq!(v.get("102").map(|g| g.node.as_str()), Some("node2"));
        assert_eq!(v.get("103").map(|g| g.kind.as_str()), Some("odd"));
        assert!(v.get("104").is_none());
        assert!(VmList::parse(b"{").ids.is_empty());
    }
}
