//! Pending service commands (`sd.cmd`) as the `started` and `stopped`
//! handlers consume them (03 §5.2 step 3.1, §5.4 step 2, §10.1).

use serde_json::Value;

use super::node_state_is;
use crate::config::status::ServiceCmd;
use crate::crm::manager::Manager;
use crate::env::{Env, LogLevel};
use crate::types::perl;
use crate::types::{NodeState, ServiceState, Sid};

/// A pending command split like upstream reads the array: the command word
/// and its argument (second element), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    /// `migrate` / `relocate` with the target node (empty when missing).
    Move(ServiceState, String),
    /// `stop` with the timeout token (empty when missing).
    Stop(String),
    /// Any other word.
    Unknown(String),
}

impl Pending {
    /// Reads a command. Malformed arrays whose first element is a known
    /// word are treated like upstream does: the missing argument is the
    /// undefined value, printed as an empty string.
    pub(super) fn from_cmd(cmd: &ServiceCmd) -> Self {
        let (word, arg) = match cmd {
            ServiceCmd::Migrate(t) => ("migrate".to_string(), t.clone()),
            ServiceCmd::Relocate(t) => ("relocate".to_string(), t.clone()),
            ServiceCmd::Stop(t) => ("stop".to_string(), t.clone()),
            ServiceCmd::Other(v) => {
                let arg = match v {
                    Value::Array(a) => a.get(1).and_then(perl::scalar_text),
                    _ => None,
                };
                (cmd.name(), arg.unwrap_or_default())
            }
        };
        match word.as_str() {
            "migrate" => Pending::Move(ServiceState::Migrate, arg),
            "relocate" => Pending::Move(ServiceState::Relocate, arg),
            "stop" => Pending::Stop(arg),
            _ => Pending::Unknown(word),
        }
    }
}

/// Re-checks a `migrate`/`relocate` target when the command is consumed
/// (03 §10.1): it must be `online` and not the current node. Logs why the
/// command is ignored and returns false in that case.
pub(super) fn move_target_ok(
    m: &Manager,
    env: &mut dyn Env,
    sid: &Sid,
    task: ServiceState,
    target: &str,
    current: &str,
) -> bool {
    if !node_state_is(m, target, NodeState::Online) {
        env.log(
            LogLevel::Err,
            &format!("ignore service '{sid}' {task} request - node '{target}' not online"),
        );
        false
    } else if target == current {
        env.log(
            LogLevel::Info,
            &format!("ignore service '{sid}' {task} request - service already on node '{target}'"),
        );
        false
    } else {
        true
    }
}

/// Logs `unknown command '<cmd>' for service '<sid>'`.
pub(super) fn log_unknown_command(env: &mut dyn Env, sid: &Sid, word: &str) {
    env.log(
        LogLevel::Err,
        &format!("unknown command '{word}' for service '{sid}'"),
    );
}

/// Deletes the pending command (a no-op after a state change, which has
/// dropped it already).
pub(super) fn clear_cmd(m: &mut Manager, sid: &Sid) {
    if let Some(sd) = m.ss.get_mut(sid) {
        sd.cmd = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands() {
        let v = |s: &str| ServiceCmd::Other(serde_json::from_str(s).unwrap());
        assert_eq!(
            Pending::from_cmd(&ServiceCmd::Migrate("n1".into())),
            Pending::Move(ServiceState::Migrate, "n1".into())
        );
        assert_eq!(
            Pending::from_cmd(&ServiceCmd::Stop("0".into())),
            Pending::Stop("0".into())
        );
        assert_eq!(
            Pending::from_cmd(&v(r#"["relocate"]"#)),
            Pending::Move(ServiceState::Relocate, String::new())
        );
        assert_eq!(
            Pending::from_cmd(&v(r#"["frobnicate","x"]"#)),
            Pending::Unknown("frobnicate".into())
        );
    }
}
