//! The state-change routine (03 §2, 02 §3.15): the only way a service
//! changes its CRM state during the passes.

use super::StateParams;
use crate::config::status::ServiceEntry;
use crate::crm::manager::Manager;
use crate::env::{Env, LogLevel};
use crate::types::{OrUnknown, ServiceState, Sid};

impl Manager {
    /// Changes a service's state (03 §2): clears the entry in place except
    /// `node`, `failed_nodes` and `maintenance_node`, applies the
    /// parameters, re-accounts its usage, issues a fresh uid and logs
    /// `service '<sid>': state changed from '<old>' to '<new>'` with the
    /// parameters appended as `  (<k> = <v>, …)` in key order.
    ///
    /// Changing to the current state is an internal error upstream (it
    /// raises); no handler does it. Here it is logged and ignored so a bug
    /// cannot corrupt the entry.
    pub(crate) fn change_service_state(
        &mut self,
        env: &mut dyn Env,
        sid: &Sid,
        new: ServiceState,
        params: StateParams,
    ) {
        let uid = self.new_uid(env);
        let Some(sd) = self.ss.get_mut(sid) else {
            env.log(
                LogLevel::Err,
                &format!("internal error - no service status for '{sid}' to change to '{new}'"),
            );
            return;
        };
        let old = sd.state.clone();
        if old == Some(OrUnknown::Known(new)) {
            env.log(
                LogLevel::Err,
                &format!("internal error - service '{sid}' is already in state '{new}'"),
            );
            return;
        }

        // Step 3: every field but these three goes (cmd, target, timeout,
        // running and anything unknown).
        *sd = ServiceEntry {
            state: Some(OrUnknown::Known(new)),
            node: sd.node.take(),
            failed_nodes: sd.failed_nodes.take(),
            maintenance_node: sd.maintenance_node.take(),
            ..Default::default()
        };

        // Step 4: parameters in sorted key order (node < target < timeout).
        let mut text: Vec<String> = Vec::new();
        for (key, value, field) in [
            ("node", params.node, &mut sd.node),
            ("target", params.target, &mut sd.target),
            ("timeout", params.timeout, &mut sd.timeout),
        ] {
            if let Some(v) = value {
                text.push(format!("{key} = {v}"));
                *field = Some(v);
            }
        }

        // Step 6 (the uid was drawn first only to satisfy the borrow).
        sd.uid = Some(uid);

        // Step 5: later selections in this round see the new placement.
        let entry = sd.clone();
        self.usage.remove_service_usage(sid);
        self.usage.add_logged(env, sid, &entry);

        // Step 7.
        let old = old.map(|s| s.to_string()).unwrap_or_default();
        let mut line = format!("service '{sid}': state changed from '{old}' to '{new}'");
        if !text.is_empty() {
            line.push_str(&format!("  ({})", text.join(", ")));
        }
        env.log(LogLevel::Info, &line);
    }
}
