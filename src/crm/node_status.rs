//! The master's view of the cluster nodes (02 §5): node states, when each
//! node was last seen online, the offline delay that makes a node's
//! services fence-eligible, and watchdog-based fencing (02 §6.1).

use std::collections::BTreeMap;

use crate::config::status::ManagerStatus;
use crate::env::{Env, EnvResult, FenceNotification, LogLevel, Time};
use crate::types::{LrmMode, NodeState, OrUnknown};

/// Node states plus the in-memory `last_online` times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStatus {
    /// State per node, as persisted in `manager_status.node_status`.
    /// Unknown words read from disk are kept as they are.
    pub status: BTreeMap<String, OrUnknown<NodeState>>,
    /// Last manager round that saw each node online (not persisted).
    pub last_online: BTreeMap<String, Time>,
}

impl NodeStatus {
    /// Starts from the persisted map of a previous master (02 §3.1).
    pub fn new(status: BTreeMap<String, OrUnknown<NodeState>>) -> Self {
        NodeStatus {
            status,
            last_online: BTreeMap::new(),
        }
    }

    /// The node's state; absent nodes are `unknown`.
    pub fn get_node_state(&self, node: &str) -> OrUnknown<NodeState> {
        self.status
            .get(node)
            .cloned()
            .unwrap_or(OrUnknown::Known(NodeState::Unknown))
    }

    fn is(&self, node: &str, state: NodeState) -> bool {
        self.get_node_state(node) == OrUnknown::Known(state)
    }

    /// State `online`.
    pub fn node_is_online(&self, node: &str) -> bool {
        self.is(node, NodeState::Online)
    }

    /// State `online` or `maintenance`.
    pub fn node_is_operational(&self, node: &str) -> bool {
        self.is(node, NodeState::Online) || self.is(node, NodeState::Maintenance)
    }

    /// Sorted nodes in state `online`.
    pub fn list_online_nodes(&self) -> Vec<String> {
        self.status
            .iter()
            .filter(|(_, s)| **s == OrUnknown::Known(NodeState::Online))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Sorted node names of the map.
    pub fn list_nodes(&self) -> Vec<String> {
        self.status.keys().cloned().collect()
    }

    /// Sets a node's state, logging the change (02 §5.1).
    pub fn set_node_state(&mut self, env: &mut dyn Env, node: &str, state: NodeState) {
        let old = self.get_node_state(node);
        if old == OrUnknown::Known(state) {
            return;
        }
        env.log(
            LogLevel::Info,
            &format!("node '{node}': state changed from '{old}' => '{state}'"),
        );
        self.status
            .insert(node.to_string(), OrUnknown::Known(state));
    }

    /// Whether a node has been offline for at least `delay` seconds,
    /// measured from the last round that saw it online (02 §5.4). Starts
    /// the clock when the node was never seen.
    pub fn offline_delayed(&mut self, node: &str, now: Time, delay: Time) -> bool {
        if self.node_is_online(node) {
            return false;
        }
        match self.last_online.get(node) {
            None => {
                self.last_online.insert(node.to_string(), now);
                false
            }
            Some(t) => now - t >= delay,
        }
    }

    /// Updates node states from membership and LRM modes (02 §5.2); a
    /// node `gone` for `gone_delete_delay` seconds is deleted (02 §5.5,
    /// [`Timing::gone_node_delete_delay`](crate::env::Timing)).
    pub fn update(
        &mut self,
        env: &mut dyn Env,
        node_info: &BTreeMap<String, bool>,
        lrm_modes: &BTreeMap<String, OrUnknown<LrmMode>>,
        gone_delete_delay: Time,
    ) {
        let now = env.get_time();
        // A node without a read mode counts as `unknown`, i.e. not in
        // maintenance.
        let in_maintenance =
            |node: &str| lrm_modes.get(node) == Some(&OrUnknown::Known(LrmMode::Maintenance));
        for (node, _) in node_info.iter().filter(|(_, online)| **online) {
            self.last_online.insert(node.clone(), now);
            match self.get_node_state(node) {
                OrUnknown::Known(NodeState::Online) => {
                    if in_maintenance(node) {
                        self.set_node_state(env, node, NodeState::Maintenance);
                    }
                }
                OrUnknown::Known(NodeState::Unknown | NodeState::Gone) => {
                    self.set_node_state(env, node, NodeState::Online);
                }
                OrUnknown::Known(NodeState::Maintenance) => {
                    if !in_maintenance(node) {
                        self.set_node_state(env, node, NodeState::Online);
                    }
                }
                OrUnknown::Known(NodeState::Fence) | OrUnknown::Unknown(_) => {}
            }
        }
        let offline: Vec<String> = self
            .status
            .keys()
            .filter(|n| node_info.get(*n) != Some(&true))
            .cloned()
            .collect();
        for node in offline {
            match self.get_node_state(&node) {
                OrUnknown::Known(NodeState::Online) => {
                    self.set_node_state(env, &node, NodeState::Unknown)
                }
                OrUnknown::Known(NodeState::Maintenance) => {
                    if !in_maintenance(&node) {
                        self.set_node_state(env, &node, NodeState::Unknown);
                    }
                }
                OrUnknown::Known(NodeState::Unknown) => {
                    if !node_info.contains_key(&node) {
                        self.set_node_state(env, &node, NodeState::Gone);
                    }
                }
                OrUnknown::Known(NodeState::Gone) => {
                    if self.offline_delayed(&node, now, gone_delete_delay) {
                        self.delete_node(env, &node);
                    }
                }
                OrUnknown::Known(NodeState::Fence) | OrUnknown::Unknown(_) => {}
            }
        }
    }

    /// Forgets a `gone` node (02 §5.5).
    fn delete_node(&mut self, env: &mut dyn Env, node: &str) {
        if !self.is(node, NodeState::Gone) {
            return;
        }
        env.log(
            LogLevel::Notice,
            &format!("deleting gone node '{node}', not a cluster member anymore."),
        );
        self.status.remove(node);
        self.last_online.remove(node);
    }

    /// Watchdog-based fencing (02 §6.1): marks the node `fence` (with a
    /// notification) and tries to take its agent lock, which can only
    /// succeed once the node's own watchdog must have reset it. Returns
    /// whether the node is fenced now.
    pub fn fence_node(&mut self, env: &mut dyn Env, node: &str) -> EnvResult<bool> {
        if !self.is(node, NodeState::Fence) {
            self.set_node_state(env, node, NodeState::Fence);
            notify(env, "FENCE", &format!("Try to fence node '{node}'"), node)?;
        }
        if !env.get_ha_agent_lock(Some(node)) {
            return Ok(false);
        }
        let msg = format!("fencing: acknowledged - got agent lock for node '{node}'");
        env.log(LogLevel::Info, &msg);
        self.set_node_state(env, node, NodeState::Unknown);
        notify(env, "SUCCEED", &msg, node)?;
        Ok(true)
    }
}

/// Sends a fence notification built from the on-disk manager status
/// (02 §6.2: not the in-memory state); a read failure aborts the round.
fn notify(env: &mut dyn Env, prefix: &str, status: &str, node: &str) -> EnvResult<()> {
    let manager_status: ManagerStatus = env.read_manager_status()?;
    env.send_notification(&FenceNotification {
        prefix: prefix.to_string(),
        status: status.to_string(),
        failed_node: node.to_string(),
        manager_status,
    });
    Ok(())
}
