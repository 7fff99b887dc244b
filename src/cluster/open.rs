//! Opening the cluster layer the node configuration names: the one
//! place that turns `backend: pve|etcd` into a store (`ha-manager` and
//! the daemons both come here).

use std::sync::Arc;

use crate::config::node::{BackendKind, NodeConfig};

use super::pmxcfs::PmxcfsStore;
use super::store::SharedStore;

/// The store of `cfg`'s backend for node `node`. pmxcfs: the directory
/// `PVE_HA_ROOT` (default `/etc/pve`). etcd: the configured endpoints,
/// with corosync's membership (needs the `plain-linux` build).
pub fn open_store(cfg: &NodeConfig, node: &str) -> Result<SharedStore, String> {
    match cfg.backend {
        BackendKind::Pve => Ok(Arc::new(PmxcfsStore::from_env())),
        BackendKind::Etcd => open_etcd(cfg, node),
    }
}

fn open_etcd(_cfg: &NodeConfig, _node: &str) -> Result<SharedStore, String> {
    Err("the etcd backend is not built yet".to_string())
}
