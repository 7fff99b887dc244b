//! The simulated nodes as the drivers see them: per node its two
//! environments (which live for the whole run, 01 §1) and the daemon
//! instances that power-on creates and power-off destroys, next to the
//! shared [`Hardware`](super::hardware::Hardware).

use std::collections::BTreeMap;

use super::env::{DaemonKind, SimEnv};
use super::hardware::SharedHardware;
use crate::crm::Crm;
use crate::env::{Env, LogLevel, Time, Timing};
use crate::lrm::{Lrm, LrmShared};

/// A running CRM.
#[derive(Debug)]
pub struct CrmSlot {
    /// The daemon.
    pub daemon: Crm,
    /// Stopped on purpose by `crm <node> stop`: its exit is expected
    /// (01 §5.4).
    pub stop_requested: bool,
}

/// A running LRM.
#[derive(Debug)]
pub struct LrmSlot {
    /// The daemon.
    pub daemon: Lrm,
    /// `restart-lrm` asked for a restart: recreate it when it exits.
    pub restart: bool,
}

/// One node: environments and daemons.
#[derive(Debug)]
pub struct NodeSlot {
    /// The CRM's environment (`<node>/crm`).
    pub crm_env: SimEnv,
    /// The LRM's environment (`<node>/lrm`).
    pub lrm_env: SimEnv,
    /// The CRM, if running.
    pub crm: Option<CrmSlot>,
    /// The LRM, if running.
    pub lrm: Option<LrmSlot>,
}

/// Every node of the simulated cluster with the shared hardware.
#[derive(Debug)]
pub struct Cluster {
    /// The shared hardware.
    pub hw: SharedHardware,
    /// Nodes by name (sorted, the order of every node loop).
    pub nodes: BTreeMap<String, NodeSlot>,
    /// Process-wide LRM state (01 §6.13), one per run.
    pub lrm_shared: LrmShared,
}

impl Cluster {
    /// Creates both environments of every node, in sorted order; no
    /// daemon runs yet (01 §2.3 step 11).
    pub fn new(hw: SharedHardware) -> Self {
        let names = hw.borrow().node_names();
        let nodes = names
            .into_iter()
            .map(|n| {
                let slot = NodeSlot {
                    crm_env: SimEnv::new(hw.clone(), &n, DaemonKind::Crm),
                    lrm_env: SimEnv::new(hw.clone(), &n, DaemonKind::Lrm),
                    crm: None,
                    lrm: None,
                };
                (n, slot)
            })
            .collect();
        Cluster {
            hw,
            nodes,
            lrm_shared: LrmShared::default(),
        }
    }

    /// The node names, sorted.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// Whether `node` has a CRM.
    pub fn has_crm(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|s| s.crm.is_some())
    }

    /// Whether `node` has an LRM.
    pub fn has_lrm(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|s| s.lrm.is_some())
    }

    /// Creates the node's CRM unless it has one; its constructor logs at
    /// the CRM environment's clock.
    pub fn start_crm(&mut self, node: &str) {
        if let Some(slot) = self.nodes.get_mut(node) {
            if slot.crm.is_none() {
                let daemon = Crm::new(&mut slot.crm_env, Timing::upstream());
                slot.crm = Some(CrmSlot {
                    daemon,
                    stop_requested: false,
                });
            }
        }
    }

    /// Creates the node's LRM unless it has one.
    pub fn start_lrm(&mut self, node: &str) {
        if let Some(slot) = self.nodes.get_mut(node) {
            if slot.lrm.is_none() {
                let daemon = Lrm::new(&mut slot.lrm_env, &self.lrm_shared, Timing::upstream());
                slot.lrm = Some(LrmSlot {
                    daemon,
                    restart: false,
                });
            }
        }
    }

    /// Destroys the node's daemons as a power-off does, logging `killed by
    /// poweroff` through each existing daemon's environment (01 §4.4).
    pub fn kill_daemons(&mut self, node: &str) {
        if let Some(slot) = self.nodes.get_mut(node) {
            if slot.crm.take().is_some() {
                slot.crm_env.log(LogLevel::Info, "killed by poweroff");
            }
            if slot.lrm.take().is_some() {
                slot.lrm_env.log(LogLevel::Info, "killed by poweroff");
            }
        }
    }

    /// The run loop's forced clock sync (01 §5.2 step 7): every
    /// environment, with or without a daemon, to `t`.
    pub fn sync_clocks(&mut self, t: Time) {
        for slot in self.nodes.values_mut() {
            slot.lrm_env.sync_clock(t);
            slot.crm_env.sync_clock(t);
        }
    }
}
