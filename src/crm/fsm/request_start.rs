//! The `request_start` handler (03 §5.1, 04 §5): optionally let
//! rebalance-on-start pick a better node, then start.

use super::{node_of, StateParams};
use crate::crm::manager::Manager;
use crate::crm::placement::{select_service_node_logged, NodePreference};
use crate::env::{Env, LogLevel, ServiceConf};
use crate::types::{ServiceState, Sid};

/// Runs the handler. No node-status check here: a service on a dead node
/// becomes `started` and is fenced by the `started` handler next pass
/// (test-service-ignore2).
pub(super) fn run(m: &mut Manager, env: &mut dyn Env, sid: &Sid, cd: &ServiceConf) {
    let current = node_of(m, sid);
    if m.crs.rebalance_on_start() {
        let selected = select_service_node_logged(
            env,
            &m.rules,
            &m.usage,
            sid,
            cd,
            &m.ss,
            NodePreference::BestScore,
        );
        // Upstream compares the (possibly undefined) selection with the
        // current node as strings: nothing selected counts as a new, empty
        // node (04 §5 edge case, kept for fidelity).
        let selected = selected.unwrap_or_default();
        let kind = if selected == current {
            "current"
        } else {
            "new"
        };
        env.log(
            LogLevel::Info,
            &format!("service {sid}: re-balance selected {kind} node {selected} for startup"),
        );
        if selected != current {
            m.change_service_state(
                env,
                sid,
                ServiceState::RequestStartBalance,
                StateParams::move_to(current, selected),
            );
            return;
        }
    }
    m.change_service_state(env, sid, ServiceState::Started, StateParams::node(current));
}
