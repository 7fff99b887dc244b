//! The service configuration the daemons read (06 §3.3): resources.cfg
//! with its defaults applied and each guest's current node merged in from
//! the VM list. One implementation, parameterised by the defaults,
//! because the simulator's `service_config` JSON defaults differently
//! (a missing `state` is `disabled` there, 01 §2.5) and brings its node
//! with it.

use crate::config::resources::ResourcesConfig;
use crate::env::{ServiceConf, ServiceConfig};
use crate::types::{RequestedState, Sid};

use super::store::{GuestKind, VmList};

/// The values an unset property takes in the checked view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceDefaults {
    /// `state` when unset.
    pub state: RequestedState,
    /// `failback` when unset.
    pub failback: bool,
    /// `max_restart` when unset.
    pub max_restart: i64,
    /// `max_relocate` when unset.
    pub max_relocate: i64,
}

/// One resource's options as read, before defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceOptions {
    /// Requested state (`enabled` already read as `started`).
    pub state: Option<RequestedState>,
    /// Move back to the preferred node.
    pub failback: Option<bool>,
    /// Start retries.
    pub max_restart: Option<i64>,
    /// Relocations.
    pub max_relocate: Option<i64>,
    /// Deprecated group.
    pub group: Option<String>,
    /// Free text.
    pub comment: Option<String>,
}

impl ServiceDefaults {
    /// A real node (06 §3.3, 05 §12).
    pub const REAL: ServiceDefaults = ServiceDefaults {
        state: RequestedState::Started,
        failback: true,
        max_restart: 1,
        max_relocate: 1,
    };

    /// The simulator's `service_config` JSON (01 §2.5).
    pub const SIMULATOR: ServiceDefaults = ServiceDefaults {
        state: RequestedState::Disabled,
        ..ServiceDefaults::REAL
    };

    /// The checked entry of one resource located on `node`.
    pub fn apply(&self, node: String, o: ServiceOptions) -> ServiceConf {
        ServiceConf {
            node,
            state: o.state.unwrap_or(self.state),
            failback: o.failback.unwrap_or(self.failback),
            max_restart: o.max_restart.unwrap_or(self.max_restart),
            max_relocate: o.max_relocate.unwrap_or(self.max_relocate),
            group: o.group,
            comment: o.comment,
        }
    }
}

/// The node that holds the guest of `sid` according to the VM list, if
/// the VMID is known there. Like upstream, the lookup is by VMID alone:
/// the kind was checked when the resource was added (06 §3.3).
pub fn guest_node(vmlist: &VmList, sid: &Sid) -> Option<String> {
    vmlist.get(sid.name()).map(|g| g.node.clone())
}

/// The resource plugins' `exists` (05 §12.2–12.3): the VM list must hold
/// the VMID with the type's kind; upstream's error texts otherwise.
pub fn check_exists(vmlist: &VmList, ty: &str, vmid: &str) -> Result<(), String> {
    let sid = format!("{ty}:{vmid}");
    let guest = vmlist
        .get(vmid)
        .ok_or_else(|| format!("resource '{sid}' does not exist in cluster"))?;
    match (ty, &guest.kind) {
        ("vm", GuestKind::Qemu) | ("ct", GuestKind::Lxc) => Ok(()),
        ("vm", _) => Err(format!(
            "resource '{sid}' - guest with ID {vmid} is not a VM"
        )),
        _ => Err(format!(
            "resource '{sid}' - guest with ID {vmid} is not a container"
        )),
    }
}

/// The checked view of resources.cfg on a real node (06 §3.3): only the
/// registered types (`vm`, `ct`, `ocf`), defaults applied, `node` from the VM
/// list (for `ocf`: where its location record lies) (empty when the VMID is unknown, and kept: the status still shows
/// it and it can be removed).
pub fn service_config(cfg: &ResourcesConfig, vmlist: &VmList) -> ServiceConfig {
    cfg.sections()
        .filter(|(_, r)| matches!(r.sid.type_str(), "vm" | "ct" | "ocf"))
        .map(|(_, r)| {
            let node = guest_node(vmlist, &r.sid).unwrap_or_default();
            let opts = ServiceOptions {
                state: r.state.map(|s| s.requested()),
                failback: r.failback,
                max_restart: r.max_restart,
                max_relocate: r.max_relocate,
                group: r.group.clone(),
                comment: r.comment.clone(),
            };
            (r.sid.clone(), ServiceDefaults::REAL.apply(node, opts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resources::ResourcesFormat;

    #[test]
    fn real_defaults_and_nodes_from_the_vmlist() {
        let cfg = crate::config::section::parse(
            &ResourcesFormat::default(),
            "resources.cfg",
            b"vm: 100\n\tstate enabled\n\tmax_restart 3\n\nct: 101\n\nvm: 102\n\tstate stopped\n\tfailback 0\n\nvm: 103\n",
        )
        .value;
        let vmlist = VmList::parse(
            br#"{"ids":{"100":{"node":"n1","type":"qemu"},"101":{"node":"n2","type":"lxc"},"102":{"node":"n3","type":"lxc"}}}"#,
        );
        let sc = service_config(&cfg, &vmlist);
        let get = |s: &str| sc[&s.parse::<Sid>().unwrap()].clone();
        assert_eq!(get("vm:100").node, "n1");
        assert_eq!(get("vm:100").state, RequestedState::Started);
        assert_eq!(get("vm:100").max_restart, 3);
        assert_eq!(get("ct:101").state, RequestedState::Started);
        assert_eq!(get("ct:101").node, "n2");
        assert!(get("ct:101").failback);
        assert_eq!(get("vm:102").node, "n3");
        // Unknown to the cluster: kept, without a node.
        assert_eq!(get("vm:103").node, "");
        assert!(!get("vm:102").failback);
        assert_eq!(get("vm:102").state, RequestedState::Stopped);
    }

    #[test]
    fn exists_checks_the_kind() {
        let v = VmList::parse(
            br#"{"ids":{"100":{"node":"n1","type":"qemu"},"101":{"node":"n1","type":"lxc"}}}"#,
        );
        assert_eq!(check_exists(&v, "vm", "100"), Ok(()));
        assert_eq!(check_exists(&v, "ct", "101"), Ok(()));
        assert_eq!(
            check_exists(&v, "vm", "101").unwrap_err(),
            "resource 'vm:101' - guest with ID 101 is not a VM"
        );
        assert_eq!(
            check_exists(&v, "ct", "100").unwrap_err(),
            "resource 'ct:100' - guest with ID 100 is not a container"
        );
        assert_eq!(
            check_exists(&v, "vm", "7").unwrap_err(),
            "resource 'vm:7' does not exist in cluster"
        );
    }

    #[test]
    fn simulator_defaults_differ_only_in_state() {
        let c = ServiceDefaults::SIMULATOR.apply("n".into(), ServiceOptions::default());
        assert_eq!(c.state, RequestedState::Disabled);
        assert_eq!((c.failback, c.max_restart, c.max_relocate), (true, 1, 1));
    }
}
