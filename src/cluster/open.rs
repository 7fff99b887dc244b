//! Opening the cluster layer the node configuration names: the one
//! place that turns `backend: pve|etcd` into a store (`ha-manager` and
//! the daemons both come here).

use std::sync::Arc;

use crate::config::node::{BackendKind, NodeConfig};

use super::etcd::{EtcdSettings, EtcdStore};
use super::membership::Membership;
use super::pmxcfs::PmxcfsStore;
use super::store::SharedStore;

/// The store of `cfg`'s backend. pmxcfs: the directory `PVE_HA_ROOT`
/// (default `/etc/pve`). etcd: the configured endpoints and prefix, the
/// budget's lease and request timeout, and corosync's membership (which
/// needs the `plain-linux` build).
pub fn open_store(cfg: &NodeConfig) -> Result<SharedStore, String> {
    match cfg.backend {
        BackendKind::Pve => Ok(Arc::new(PmxcfsStore::from_env())),
        BackendKind::Etcd => {
            let settings = EtcdSettings::from_budget(
                cfg.etcd.endpoints.clone(),
                cfg.etcd.prefix.clone(),
                &cfg.budget,
            );
            let store = EtcdStore::connect(settings, membership()?).map_err(|e| e.to_string())?;
            Ok(Arc::new(store))
        }
    }
}

#[cfg(feature = "plain-linux")]
fn membership() -> Result<Box<dyn Membership>, String> {
    Ok(Box::new(super::corosync::CorosyncMembership::new()))
}

#[cfg(not(feature = "plain-linux"))]
fn membership() -> Result<Box<dyn Membership>, String> {
    Err(
        "the etcd backend takes membership and quorum from corosync, and this pve-ha \
         was built without it (rebuild with `--features plain-linux`)"
            .to_string(),
    )
}
