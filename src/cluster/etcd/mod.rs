//! The etcd backend of the cluster layer (issue 15, 00 "environment
//! trait"): the HA files as etcd keys under one prefix, the HA locks as
//! keys bound to leases with pmxcfs's semantics, membership and quorum
//! from an injected [`Membership`](crate::cluster::Membership).
//!
//! etcd is reached through its v3 JSON gateway with a blocking HTTP
//! client: synchronous like the `Env` the daemons call it from, no code
//! generation, no system library.
//!
//! * [`messages`] — the gateway's JSON messages (pure).
//! * [`gateway`] — the HTTP client: endpoints, fail-over, deadlines.
//! * [`locks`] — the manager and agent locks on leases.
//! * [`domain`] — the `domain-ha` edit lock.
//! * [`store`] — [`EtcdStore`], the [`ClusterStore`](crate::cluster::ClusterStore).
//!
//! docs/etcd-backend.md describes the key layout and the lock semantics.

pub mod domain;
pub mod gateway;
pub mod locks;
pub mod messages;
pub mod store;

pub use gateway::EtcdError;
pub use store::{EtcdSettings, EtcdStore, SettingsError, DEFAULT_PREFIX};
