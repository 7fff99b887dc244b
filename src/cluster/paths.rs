//! Store-relative paths of every file the HA stack reads or writes
//! (06 §1, 07 §2.6, §2.8, §4.1). One table, so the CLI, the real daemons'
//! environment and the tests name the same files.

/// HA resources.
pub const RESOURCES: &str = "ha/resources.cfg";
/// HA groups (deprecated).
pub const GROUPS: &str = "ha/groups.cfg";
/// HA rules.
pub const RULES: &str = "ha/rules.cfg";
/// Fence devices (dormant hardware fencing).
pub const FENCE: &str = "ha/fence.cfg";
/// The CRM master's status.
pub const MANAGER_STATUS: &str = "ha/manager_status";
/// The CRM command queue.
pub const CRM_COMMANDS: &str = "ha/crm_commands";
/// datacenter.cfg (HA and CRS settings, `max_workers`, `fencing`).
pub const DATACENTER: &str = "datacenter.cfg";
/// The directory holding every cluster lock.
pub const LOCK_DIR: &str = "priv/lock";

/// A node's LRM status.
pub fn lrm_status(node: &str) -> String {
    format!("nodes/{node}/lrm_status")
}

/// The directory of a cluster lock (`ha_manager_lock`, `domain-ha`, …).
pub fn lock(name: &str) -> String {
    format!("{LOCK_DIR}/{name}")
}

/// The agent lock's name of `node` (07 §4.1).
pub fn agent_lock_name(node: &str) -> String {
    format!("ha_agent_{node}_lock")
}

/// The manager lock's name (07 §4.1).
pub const MANAGER_LOCK_NAME: &str = "ha_manager_lock";

/// The configuration directory of a guest type on `node`: `qemu-server`
/// for `vm`, `lxc` for `ct` (05 §12.2–12.3), `ocf` for an OCF resource's
/// location record (docs/ocf.md: an empty `<name>.conf` in the directory
/// of the node that owns it, moved like a guest's configuration); `None`
/// for any other type (upstream: `implement me`).
pub fn guest_dir(ty: &str) -> Option<&'static str> {
    match ty {
        "vm" => Some("qemu-server"),
        "ct" => Some("lxc"),
        "ocf" => Some("ocf"),
        _ => None,
    }
}

/// A guest's configuration file on `node` (`nodes/<node>/qemu-server/<vmid>.conf`).
pub fn guest_config(ty: &str, vmid: &str, node: &str) -> Option<String> {
    guest_dir(ty).map(|d| format!("nodes/{node}/{d}/{vmid}.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_paths_by_type() {
        assert_eq!(
            guest_config("vm", "100", "n1").as_deref(),
            Some("nodes/n1/qemu-server/100.conf")
        );
        assert_eq!(
            guest_config("ct", "7", "n2").as_deref(),
            Some("nodes/n2/lxc/7.conf")
        );
        assert_eq!(
            guest_config("ocf", "web-ip", "n3").as_deref(),
            Some("nodes/n3/ocf/web-ip.conf")
        );
        assert_eq!(guest_config("fa", "1", "n"), None);
        assert_eq!(lock(&agent_lock_name("n1")), "priv/lock/ha_agent_n1_lock");
    }
}
