//! Pending service commands (`sd.cmd`) as the `started` and `stopped`
//! handlers consume them (03 §5.2 step 3.1, §5.4 step 2, §10.1).

use serde_json::Value;

use super::node_state_is;
use crate::config::status::{perl, ServiceCmd};
use crate::crm::manager::Manager;
use crate::env::{Env, LogLevel};
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

/// The numeric value Perl gives a timeout token (03 §16 Q10): the leading
/// decimal number after optional whitespace (sign, digits, fraction,
/// exponent); 0 when there is none.
pub(super) fn perl_number(token: &str) -> f64 {
    let s = token.trim_start_matches(crate::types::text::is_space);
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        mantissa_digits += j - frac_start;
        if mantissa_digits > 0 {
            i = j;
        }
    }
    if mantissa_digits == 0 {
        // Perl also reads `inf`/`nan` words; a timeout never is one.
        return 0.0;
    }
    let mantissa_end = i;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    s[..i]
        .parse::<f64>()
        .or_else(|_| s[..mantissa_end].parse::<f64>())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinning test (hygiene): the edge cases of this numeric conversion.
    #[test]
    fn pin_number_edges() {
        for (s, want) in [
            ("", 0.0),
            ("0", 0.0),
            ("0.0", 0.0),
            ("00", 0.0),
            ("0E0", 0.0),
            (" 1", 1.0),
            ("1abc", 1.0),
            ("inf", 0.0),
            ("nan", 0.0),
            ("0x10", 0.0),
            ("+5", 5.0),
            ("\t\n\x0b\x0c\r7", 7.0),
            ("\u{a0}1", 0.0),
            ("1e", 1.0),
            ("1e+", 1.0),
            ("1E3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            (".", 0.0),
            ("-.5e1x", -5.0),
            ("1_000", 1.0),
            ("- 1", 0.0),
            ("--1", 0.0),
            ("1e400", f64::INFINITY),
            ("12.5.3", 12.5),
            ("1.e2", 100.0),
            ("e5", 0.0),
            ("-1e-2", -0.01),
            ("007", 7.0),
        ] {
            assert_eq!(perl_number(s), want, "{s:?}");
        }
        assert!(perl_number("-0").is_sign_negative());
        assert!(perl_number("-0.0").is_sign_negative());
    }

    #[test]
    fn numeric_value_of_timeout_tokens() {
        for (t, v) in [
            ("0", 0.0),
            ("10", 10.0),
            (" 5s", 5.0),
            ("abc", 0.0),
            ("", 0.0),
            ("0.0", 0.0),
            ("0.5", 0.5),
            (".5x", 0.5),
            ("-3", -3.0),
            ("1e2", 100.0),
            ("1e", 1.0),
            ("00", 0.0),
            (".", 0.0),
        ] {
            assert_eq!(perl_number(t), v, "{t:?}");
        }
    }

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
