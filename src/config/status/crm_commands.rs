//! The `crm_commands` queue (02 §3.9, 06 §8.3): one command per line.

use std::fmt;
use std::str::FromStr;

use crate::types::text::is_space;
use crate::types::DisarmMode;

/// One queued command. Sids and nodes are kept as the tokens written:
/// the CRM checks them itself and must be able to report e.g.
/// `crm command error - no such service: <line>` for any token, so a
/// token that is not a well-formed sid is not a parse error here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CrmCommand {
    /// `migrate <sid> <node>`: live-migrate.
    Migrate {
        /// The service.
        sid: String,
        /// The target node.
        node: String,
    },
    /// `relocate <sid> <node>`: stop, move, start.
    Relocate {
        /// The service.
        sid: String,
        /// The target node.
        node: String,
    },
    /// `stop <sid> <timeout>`: stop with a timeout token kept literally
    /// (the handler tests its numeric value for 0).
    Stop {
        /// The service.
        sid: String,
        /// The timeout token.
        timeout: String,
    },
    /// `enable-node-maintenance <node>`.
    EnableNodeMaintenance(String),
    /// `disable-node-maintenance <node>`.
    DisableNodeMaintenance(String),
    /// `disarm-ha freeze|ignore`.
    DisarmHa(DisarmMode),
    /// `arm-ha`.
    ArmHa,
}

/// A queue line the CRM does not understand. Displays as the CRM's log
/// message (level `err`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse crm command: {line}")]
pub struct CrmCommandError {
    /// The complete original line.
    pub line: String,
}

impl FromStr for CrmCommand {
    type Err = CrmCommandError;

    /// Matches the whole line against the grammar of 02 §3.9: tokens
    /// separated by runs of whitespace, none before the first or after
    /// the last token, the exact number of tokens per command.
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let err = || CrmCommandError {
            line: line.to_string(),
        };
        if line.starts_with(is_space) || line.ends_with(is_space) {
            return Err(err());
        }
        let tokens: Vec<&str> = line.split(is_space).filter(|t| !t.is_empty()).collect();
        let owned = |s: &str| s.to_string();
        Ok(match tokens.as_slice() {
            ["migrate", sid, node] => CrmCommand::Migrate {
                sid: owned(sid),
                node: owned(node),
            },
            ["relocate", sid, node] => CrmCommand::Relocate {
                sid: owned(sid),
                node: owned(node),
            },
            ["stop", sid, timeout] => CrmCommand::Stop {
                sid: owned(sid),
                timeout: owned(timeout),
            },
            ["enable-node-maintenance", node] => CrmCommand::EnableNodeMaintenance(owned(node)),
            ["disable-node-maintenance", node] => CrmCommand::DisableNodeMaintenance(owned(node)),
            ["disarm-ha", mode] => CrmCommand::DisarmHa(mode.parse().map_err(|_| err())?),
            ["arm-ha"] => CrmCommand::ArmHa,
            _ => return Err(err()),
        })
    }
}

/// The queue line (without newline), tokens separated by one space.
impl fmt::Display for CrmCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrmCommand::Migrate { sid, node } => write!(f, "migrate {sid} {node}"),
            CrmCommand::Relocate { sid, node } => write!(f, "relocate {sid} {node}"),
            CrmCommand::Stop { sid, timeout } => write!(f, "stop {sid} {timeout}"),
            CrmCommand::EnableNodeMaintenance(n) => write!(f, "enable-node-maintenance {n}"),
            CrmCommand::DisableNodeMaintenance(n) => write!(f, "disable-node-maintenance {n}"),
            CrmCommand::DisarmHa(m) => write!(f, "disarm-ha {m}"),
            CrmCommand::ArmHa => f.write_str("arm-ha"),
        }
    }
}

/// Splits drained queue text into commands, in order. Lines are split at
/// `\n`; trailing empty lines are dropped (Perl's `split`), any other
/// empty line is an error like every unparsable line.
pub fn parse_queue(text: &str) -> Vec<Result<CrmCommand, CrmCommandError>> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.into_iter().map(str::parse).collect()
}

/// The queue text after enqueueing `command` (06 §8.3): the old content
/// with `<command>\n` appended (trailing newlines of `command` removed).
pub fn enqueue(queue: &str, command: &str) -> String {
    format!("{queue}{}\n", command.trim_end_matches('\n'))
}

#[cfg(test)]
mod crm_commands_tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        let lines = [
            "migrate vm:100 node2",
            "relocate ct:101 node3",
            "stop vm:100 0",
            "stop fa:1 120",
            "enable-node-maintenance node1",
            "disable-node-maintenance node1",
            "disarm-ha freeze",
            "disarm-ha ignore",
            "arm-ha",
        ];
        for line in lines {
            let cmd: Result<CrmCommand, _> = line.parse();
            assert_eq!(
                cmd.as_ref().map(ToString::to_string),
                Ok(line.to_string()),
                "{line}"
            );
        }
        assert_eq!(
            "migrate vm:100 node2".parse(),
            Ok(CrmCommand::Migrate {
                sid: "vm:100".into(),
                node: "node2".into()
            })
        );
        assert_eq!(
            "disarm-ha ignore".parse(),
            Ok(CrmCommand::DisarmHa(DisarmMode::Ignore))
        );
    }

    #[test]
    fn inner_whitespace_runs_are_accepted() {
        let cmd: Result<CrmCommand, _> = "stop \t vm:1   5".parse();
        assert_eq!(
            cmd,
            Ok(CrmCommand::Stop {
                sid: "vm:1".into(),
                timeout: "5".into()
            })
        );
        assert_eq!(cmd.map(|c| c.to_string()), Ok("stop vm:1 5".to_string()));
    }

    #[test]
    fn anything_else_is_refused_with_the_line() {
        for bad in [
            "",
            " arm-ha",
            "arm-ha ",
            "arm-ha\r",
            "arm-ha now",
            "ARM-HA",
            "migrate vm:100",
            "migrate vm:100 node2 node3",
            "stop vm:100",
            "disarm-ha",
            "disarm-ha sleep",
            "enable-node-maintenance",
            "node-maintenance enable node1",
            "frobnicate",
        ] {
            let e = bad.parse::<CrmCommand>().err();
            assert_eq!(
                e.map(|e| e.to_string()),
                Some(format!("unable to parse crm command: {bad}")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn queue_splitting() {
        assert!(parse_queue("").is_empty());
        assert!(parse_queue("\n\n").is_empty());
        let q = parse_queue("arm-ha\n\nmigrate vm:1 n2\nbogus\n\n");
        assert_eq!(q.len(), 4);
        assert_eq!(q[0], Ok(CrmCommand::ArmHa));
        assert_eq!(
            q[1],
            Err(CrmCommandError {
                line: String::new()
            })
        );
        assert!(q[2].is_ok());
        assert_eq!(q[3].as_ref().err().map(|e| e.line.as_str()), Some("bogus"));
        let q = parse_queue("\narm-ha");
        assert_eq!(q.len(), 2);
        assert!(q[0].is_err());
    }

    #[test]
    fn enqueue_appends_one_line() {
        let q = enqueue("", "arm-ha");
        let q = enqueue(&q, "migrate vm:1 n2\n");
        assert_eq!(q, "arm-ha\nmigrate vm:1 n2\n");
        assert_eq!(parse_queue(&q).len(), 2);
    }
}
