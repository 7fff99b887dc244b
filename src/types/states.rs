//! The state words of every daemon and file: CRM service states, requested
//! (configured) states, node states, LRM modes and states, CRM daemon states,
//! the disarm words and the resource commands an LRM result names.

use crate::word_enum;

word_enum! {
    /// State of a service entry in `manager_status` (03 §1.1).
    pub enum ServiceState ("service state") {
        /// Stopped service asked to start; the CRM may pick a better node.
        RequestStart => "request_start",
        /// Start requested; first move the stopped service to `target`.
        RequestStartBalance => "request_start_balance",
        /// Should run on `node`.
        Started => "started",
        /// Should stop; waiting for the LRM's confirmation.
        RequestStop => "request_stop",
        /// Stopped and confirmed.
        Stopped => "stopped",
        /// Live-migrating from `node` to `target`.
        Migrate => "migrate",
        /// Moving offline from `node` to `target`.
        Relocate => "relocate",
        /// Its node is gone and must be fenced first.
        Fence => "fence",
        /// Node fenced; looking for a node to recover onto.
        Recovery => "recovery",
        /// Do not touch (LRM restart, reboot, disarmed HA).
        Freeze => "freeze",
        /// Gave up; needs an admin.
        Error => "error",
    }
}

word_enum! {
    /// The state an admin requests for a resource, after the readers'
    /// normalisation: `enabled` is accepted as an alias of `started`
    /// (06 §3.2, 03 §1.2).
    pub enum RequestedState ("requested state") {
        /// Keep running, recover on failures.
        Started => "started" | "enabled",
        /// Keep stopped, still relocated when the node fails.
        Stopped => "stopped",
        /// Stop and do not relocate; the only way out of `error`.
        Disabled => "disabled",
        /// Not managed by HA at all.
        Ignored => "ignored",
    }
}

word_enum! {
    /// The `state` word as written in resources.cfg: like
    /// [`RequestedState`] but keeping `enabled` verbatim, because the file
    /// keeps the alias and only readers normalise it (06 §3.2).
    pub enum ConfiguredState ("state") {
        /// `started`.
        Started => "started",
        /// `stopped`.
        Stopped => "stopped",
        /// `enabled`, an alias of `started`.
        Enabled => "enabled",
        /// `disabled`.
        Disabled => "disabled",
        /// `ignored`.
        Ignored => "ignored",
    }
}

impl ConfiguredState {
    /// The state the daemons act on.
    pub fn requested(self) -> RequestedState {
        match self {
            ConfiguredState::Started | ConfiguredState::Enabled => RequestedState::Started,
            ConfiguredState::Stopped => RequestedState::Stopped,
            ConfiguredState::Disabled => RequestedState::Disabled,
            ConfiguredState::Ignored => RequestedState::Ignored,
        }
    }
}

word_enum! {
    /// A node's entry in `manager_status.node_status` (02 §5.1).
    pub enum NodeState ("node state") {
        /// Member of the quorate partition and usable.
        Online => "online",
        /// Member whose LRM is in maintenance mode.
        Maintenance => "maintenance",
        /// Not seen online; the default for nodes not in the map.
        Unknown => "unknown",
        /// Must be fenced before its services are recovered.
        Fence => "fence",
        /// No longer a cluster member.
        Gone => "gone",
    }
}

word_enum! {
    /// The mode an LRM reports in `lrm_status` (05 §2).
    pub enum LrmMode ("LRM mode") {
        /// Normal operation.
        Active => "active",
        /// The LRM daemon restarts (services freeze).
        Restart => "restart",
        /// The node shuts down or reboots.
        Shutdown => "shutdown",
        /// The node is in maintenance; services move away.
        Maintenance => "maintenance",
        /// HA is disarmed.
        Disarm => "disarm",
    }
}

word_enum! {
    /// The state an LRM reports in `lrm_status` (05 §2). `startup` is only
    /// the constructor's initial value and never written.
    pub enum LrmState ("LRM state") {
        /// Pseudo state of a fresh instance.
        Startup => "startup",
        /// Waiting for (or not needing) the node's agent lock.
        WaitForAgentLock => "wait_for_agent_lock",
        /// Holds the agent lock and runs services.
        Active => "active",
        /// Could not renew the agent lock.
        LostAgentLock => "lost_agent_lock",
        /// Maintenance mode: holds the lock, runs nothing new.
        Maintenance => "maintenance",
    }
}

word_enum! {
    /// The CRM daemon's local state (02 §2.1).
    pub enum CrmState ("CRM state") {
        /// Pseudo state of a fresh instance.
        Startup => "startup",
        /// Idle: not quorate, nothing to do, or cannot be active.
        WaitForQuorum => "wait_for_quorum",
        /// Willing to be master, but another CRM holds the manager lock.
        Slave => "slave",
        /// Holds the manager lock and runs the manager.
        Master => "master",
        /// The manager lock could not be renewed (transient).
        LostManagerLock => "lost_manager_lock",
    }
}

word_enum! {
    /// How HA is disarmed (`disarm-ha <mode>`, 02 §3.10).
    pub enum DisarmMode ("disarm-mode") {
        /// Services are frozen in place.
        Freeze => "freeze",
        /// Services are left alone as if not managed.
        Ignore => "ignore",
    }
}

word_enum! {
    /// Progress of a disarm request (02 §3.10).
    pub enum DisarmState ("disarm state") {
        /// Waiting for transient services to settle.
        Disarming => "disarming",
        /// Fully disarmed.
        Disarmed => "disarmed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for s in ServiceState::ALL {
            assert_eq!(s.as_str().parse::<ServiceState>().unwrap(), *s);
        }
        for s in NodeState::ALL {
            assert_eq!(s.to_string().parse::<NodeState>().unwrap(), *s);
        }
    }

    #[test]
    fn enabled_is_an_alias_of_started() {
        assert_eq!(
            "enabled".parse::<RequestedState>().unwrap(),
            RequestedState::Started
        );
        assert_eq!(RequestedState::Started.to_string(), "started");
        assert_eq!(
            ConfiguredState::Enabled.requested(),
            RequestedState::Started
        );
        assert_eq!(ConfiguredState::Enabled.to_string(), "enabled");
    }

    #[test]
    fn unknown_word_names_its_kind() {
        let err = "bogus".parse::<ServiceState>().unwrap_err();
        assert_eq!(err.to_string(), "unknown service state 'bogus'");
    }

    #[test]
    fn serde_uses_the_words() {
        let v: Vec<LrmMode> = serde_json::from_str(r#"["active","disarm"]"#).unwrap();
        assert_eq!(v, vec![LrmMode::Active, LrmMode::Disarm]);
        assert_eq!(
            serde_json::to_string(&CrmState::LostManagerLock).unwrap(),
            "\"lost_manager_lock\""
        );
    }
}
