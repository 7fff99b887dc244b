//! The cluster's shared file store as the CLI and (later) the daemons reach
//! it: one interface ([`store::ClusterStore`]) and its pmxcfs-layout
//! backend ([`pmxcfs::PmxcfsStore`], a directory laid out like `/etc/pve`).
//!
//! Invariant: this layer does file-system I/O and sleeps while waiting for
//! a lock, but never prints; progress and errors go back to the caller as
//! values (the CLI decides what reaches the terminal).

pub mod pmxcfs;
pub mod store;

pub use pmxcfs::PmxcfsStore;
pub use store::{
    with_domain_lock, ClusterStore, GuestKind, LockError, Locked, Members, StoreError, VmList,
};
