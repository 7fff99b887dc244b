//! The LRM's copy of the manager status (05 §4, §5.1): the last
//! successfully read service and node status, the predicates derived from
//! them, and the mode the manager status asks for.

use std::collections::BTreeMap;

use crate::config::status::{ManagerStatus, ServiceEntry};
use crate::types::{LrmMode, NodeState, OrUnknown, ServiceState, Sid};

/// What the LRM last read from the manager status. A failed read keeps
/// the previous content (05 §5.1 step 1, §16 item 2), so this is only
/// replaced as a whole by [`ManagerView::update`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ManagerView {
    service_status: BTreeMap<Sid, ServiceEntry>,
    node_status: OrUnknown<NodeState>,
}

impl Default for ManagerView {
    /// Nothing read yet: no services, node state `unknown` (05 §2).
    fn default() -> Self {
        ManagerView {
            service_status: BTreeMap::new(),
            node_status: OrUnknown::Known(NodeState::Unknown),
        }
    }
}

impl ManagerView {
    /// Takes over a freshly read manager status (05 §5.1 step 2).
    pub(super) fn update(&mut self, ms: &ManagerStatus, node: &str) {
        self.service_status = ms.service_status.clone();
        self.node_status = ms.node_state(node);
    }

    /// The last read `service_status` (empty before the first read).
    pub(super) fn service_status(&self) -> &BTreeMap<Sid, ServiceEntry> {
        &self.service_status
    }

    /// active_service_count (05 §4): services whose node *or target* is
    /// `node` in a state that needs this node (not `stopped`, `freeze`,
    /// `error`, `request_start`).
    pub(super) fn active_service_count(&self, node: &str) -> usize {
        self.service_status
            .values()
            .filter(|sd| sd.is_active_on(node))
            .count()
    }

    /// has_configured_service_on_local_node (05 §4): any service whose
    /// `node` is `node`, whatever its state; being a target does not count.
    pub(super) fn has_configured_service_on(&self, node: &str) -> bool {
        self.service_status
            .values()
            .any(|sd| sd.node.as_deref() == Some(node))
    }

    /// is_fence_requested (05 §4): a service of `node` waits in `fence`,
    /// or the node itself is marked `fence`.
    pub(super) fn is_fence_requested(&self, node: &str) -> bool {
        let fenced_service = self.service_status.values().any(|sd| {
            sd.node.as_deref() == Some(node) && sd.state_known() == Some(ServiceState::Fence)
        });
        fenced_service || self.node_status == OrUnknown::Known(NodeState::Fence)
    }
}

/// The mode after a successful manager-status read while no shutdown is
/// pending (05 §5.1 step 3): a maintenance request for `node` wins over a
/// disarm; when neither is present any more, `maintenance` and `disarm`
/// fall back to `active`; `restart`/`shutdown` are never touched here
/// (they only exist while a shutdown is pending, when this is not called).
pub(super) fn requested_mode(ms: &ManagerStatus, node: &str, current: LrmMode) -> LrmMode {
    if ms.maintenance_requested(node) {
        LrmMode::Maintenance
    } else if ms.disarm.is_some() {
        LrmMode::Disarm
    } else if matches!(current, LrmMode::Maintenance | LrmMode::Disarm) {
        LrmMode::Active
    } else {
        current
    }
}
