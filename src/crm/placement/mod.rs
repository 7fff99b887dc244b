//! Placement (04): compiled rules, the online node usage and node
//! selection. The manager rebuilds the usage and (when needed) recompiles
//! the rules every round; the service FSM asks [`select_service_node`].
//!
//! Invariant: pure; the only effects are log lines and statistics reads
//! through [`crate::env::Env`] while the usage object is built.

pub mod checker;
pub mod rebalance;
pub mod rules;
pub mod select;
pub mod topsis;
pub mod usage;
pub mod weighted;

pub use rules::{compile, CompiledRules, NodeAffinitySets, ResourceAffinityMaps};
pub use select::{select_service_node, select_service_node_logged, NodePreference};
pub use usage::{used_nodes, OnlineNodeUsage};
