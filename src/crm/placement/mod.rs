//! Placement (04): compiled rules, the online node usage and node
//! selection. SCAFFOLD — the API the manager and the service FSM call;
//! bodies are being written (issue 5 basic mode, issue 6 the rest).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::datacenter::CrsMode;
use crate::config::status::ServiceEntry;
use crate::env::{Env, EnvResult, ServiceConf};
use crate::types::{OrUnknown, Sid};

/// How `select_service_node` treats the current node (04 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePreference {
    /// Stay on the current node whenever acceptable.
    None,
    /// Best node not yet tried (after a start failure).
    TryNext,
    /// Best-scored node, no bonus for the current one.
    BestScore,
}

/// The compiled rules placement consumes (04 §2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledRules {
    /// sid → node → priority.
    pub node_affinity: BTreeMap<Sid, BTreeMap<String, i64>>,
    /// sid → sids that must share its node.
    pub positive: BTreeMap<Sid, BTreeSet<Sid>>,
    /// sid → sids that must not share its node.
    pub negative: BTreeMap<Sid, BTreeSet<Sid>>,
}

impl CompiledRules {
    /// Compiles the enabled rules for this node list (04 §6.5).
    pub fn compile(_rules: &crate::config::rules::RulesConfig, _nodes: &[String]) -> Self {
        CompiledRules::default()
    }
}

/// Load per online node, rebuilt every round (04 §4.1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnlineNodeUsage {
    nodes: Vec<String>,
}

impl OnlineNodeUsage {
    /// Builds the usage for the online nodes (04 §4.1), logging scheduler
    /// fallbacks.
    pub fn build(
        _env: &mut dyn Env,
        _mode: &OrUnknown<CrsMode>,
        online_nodes: &[String],
        _ss: &BTreeMap<Sid, ServiceEntry>,
    ) -> EnvResult<Self> {
        Ok(OnlineNodeUsage {
            nodes: online_nodes.to_vec(),
        })
    }

    /// The online nodes, sorted.
    pub fn online_nodes(&self) -> &[String] {
        &self.nodes
    }

    /// Accounts a service's entry (04 §4.1 "add service usage").
    pub fn add_service_usage(&mut self, _sid: &Sid, _sd: &ServiceEntry) {}

    /// Removes a service's contribution.
    pub fn remove_service_usage(&mut self, _sid: &Sid) {}
}

/// Picks a node for a service (04 §3); `None` when no node qualifies.
pub fn select_service_node(
    _rules: &CompiledRules,
    usage: &OnlineNodeUsage,
    _sid: &Sid,
    _cd: &ServiceConf,
    _ss: &BTreeMap<Sid, ServiceEntry>,
    _pref: NodePreference,
) -> Option<String> {
    usage.online_nodes().first().cloned()
}
