//! The cluster layer the CLI and the real daemons' environment share: one
//! store interface ([`store::ClusterStore`]) and its pmxcfs-layout backend
//! ([`pmxcfs::PmxcfsStore`], a directory laid out like `/etc/pve`); the
//! paths of every HA file ([`paths`]); typed reads, writes and locked
//! edits of those files ([`files`]); the checked service configuration
//! merged with the VM list ([`services`], also giving the simulator its
//! defaults); the HA lock operation ([`halock`]); where membership
//! comes from without pmxcfs ([`membership`]; corosync's in `corosync`,
//! with the `plain-linux` feature); and [`etcd::EtcdStore`], the second
//! backend, for plain Linux: files and locks in etcd.
//!
//! Invariant: this layer does file-system I/O and sleeps while waiting for
//! a lock, but never prints; progress and errors go back to the caller as
//! values (the CLI decides what reaches the terminal).

#[cfg(feature = "plain-linux")]
pub mod corosync;
pub mod etcd;
pub mod files;
pub mod halock;
pub mod membership;
pub mod node_config;
mod open;
pub mod paths;
pub mod pmxcfs;
pub mod services;
pub mod store;

#[cfg(feature = "plain-linux")]
pub use corosync::{CorosyncError, CorosyncMembership};
pub use etcd::{EtcdSettings, EtcdStore};
pub use halock::{HaLocks, LockEvent};
pub use membership::{Membership, StaticMembership};
pub use open::open_store;
pub use pmxcfs::PmxcfsStore;
pub use services::{service_config, ServiceDefaults, ServiceOptions};
pub use store::{
    with_domain_lock, ClusterStore, GuestKind, LockError, Locked, Members, SharedStore, StoreError,
    VmList,
};
