//! Which HA daemon a process is. One enum for the process runtime
//! (`src/daemon`), the real environment (`src/pve`) and the command line,
//! so the name a daemon logs under, its unit and its run files cannot
//! drift apart.

/// The two HA daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Daemon {
    /// `pve-ha-crm`, the cluster resource manager.
    Crm,
    /// `pve-ha-lrm`, the local resource manager.
    Lrm,
}

impl Daemon {
    /// The daemon's name: program name, syslog identifier (07 §2.2), unit
    /// name and the stem of its run files (07 §6).
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Crm => "pve-ha-crm",
            Daemon::Lrm => "pve-ha-lrm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Daemon::Crm.name(), "pve-ha-crm");
        assert_eq!(Daemon::Lrm.name(), "pve-ha-lrm");
    }
}
