//! OCF return codes (OCF Resource Agent API 1.1, "Return codes") and what
//! they mean for the LRM: start and stop succeed only with 0; monitor
//! answers "running" with 0 and "not running" with 7; anything else is an
//! error whose message names the code.

use std::fmt;

/// An agent's exit status, with the standard's names for 0..=9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcfExit(pub i32);

/// The standard's names, by code.
const NAMES: [&str; 10] = [
    "OCF_SUCCESS",
    "OCF_ERR_GENERIC",
    "OCF_ERR_ARGS",
    "OCF_ERR_UNIMPLEMENTED",
    "OCF_ERR_PERM",
    "OCF_ERR_INSTALLED",
    "OCF_ERR_CONFIGURED",
    "OCF_NOT_RUNNING",
    "OCF_RUNNING_PROMOTED",
    "OCF_FAILED_PROMOTED",
];

impl OcfExit {
    /// `OCF_SUCCESS`.
    pub const SUCCESS: OcfExit = OcfExit(0);
    /// `OCF_NOT_RUNNING`.
    pub const NOT_RUNNING: OcfExit = OcfExit(7);

    /// The standard's name, or `unknown` beyond 9.
    pub fn name(self) -> &'static str {
        usize::try_from(self.0)
            .ok()
            .and_then(|i| NAMES.get(i))
            .copied()
            .unwrap_or("unknown")
    }
}

impl fmt::Display for OcfExit {
    /// `OCF_ERR_CONFIGURED (6)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// The actions the HA stack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `monitor`.
    Monitor,
    /// `meta-data`.
    MetaData,
    /// `validate-all`.
    ValidateAll,
    /// `migrate_to` (on the source node).
    MigrateTo,
    /// `migrate_from` (on the target node).
    MigrateFrom,
}

impl Action {
    /// The word passed to the agent.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::MetaData => "meta-data",
            Action::ValidateAll => "validate-all",
            Action::MigrateTo => "migrate_to",
            Action::MigrateFrom => "migrate_from",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a monitor said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    /// 0: running (here).
    Running,
    /// 7: cleanly stopped.
    NotRunning,
}

/// A monitor's exit status: 0 running, 7 not running, otherwise the
/// failure (an error state, a missing binary, bad configuration…).
pub fn monitor_result(code: OcfExit) -> Result<Monitor, OcfExit> {
    match code {
        OcfExit::SUCCESS => Ok(Monitor::Running),
        OcfExit::NOT_RUNNING => Ok(Monitor::NotRunning),
        other => Err(other),
    }
}

/// Any other action's exit status: only 0 is success.
pub fn action_result(code: OcfExit) -> Result<(), OcfExit> {
    if code == OcfExit::SUCCESS {
        Ok(())
    } else {
        Err(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_mapping() {
        assert_eq!(OcfExit(6).to_string(), "OCF_ERR_CONFIGURED (6)");
        assert_eq!(OcfExit(9).name(), "OCF_FAILED_PROMOTED");
        assert_eq!(OcfExit(42).to_string(), "unknown (42)");
        assert_eq!(OcfExit(-1).name(), "unknown");
        assert_eq!(monitor_result(OcfExit(0)), Ok(Monitor::Running));
        assert_eq!(monitor_result(OcfExit(7)), Ok(Monitor::NotRunning));
        assert_eq!(monitor_result(OcfExit(1)), Err(OcfExit(1)));
        assert_eq!(monitor_result(OcfExit(8)), Err(OcfExit(8)));
        assert_eq!(action_result(OcfExit(0)), Ok(()));
        assert_eq!(action_result(OcfExit(7)), Err(OcfExit(7)));
    }
}
