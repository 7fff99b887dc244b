//! The node configuration file (issue 15 item 4): which backend this node
//! uses (`pve` or `etcd`), the etcd endpoints and key prefix, the node
//! name and the failover budget. Path `/etc/pve-ha/node.cfg`, moved by
//! `PVE_HA_NODE_CONFIG`. A missing file means the `pve` backend with
//! upstream's constants, so a Proxmox VE node needs no new file.
//!
//! (Skeleton: the parser and the budget follow in the same issue.)

/// Which cluster layer the daemons and `ha-manager` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// Proxmox VE: pmxcfs (`/etc/pve`), its locks and membership.
    #[default]
    Pve,
    /// Plain Linux: etcd for files and locks, corosync for membership.
    Etcd,
}

impl BackendKind {
    /// The word of the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Pve => "pve",
            BackendKind::Etcd => "etcd",
        }
    }
}
