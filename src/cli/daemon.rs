//! `pve-ha-crm` and `pve-ha-lrm` (07 §6.1, 05 §15.1): `start [--debug]`,
//! `stop`, `status`, `help`. Both daemons share this command line and the
//! runtime in `crate::daemon`; only the role differs.
//!
//! Outside systemd (the parent is not pid 1) `start` without `--debug`
//! and `stop` ask systemctl to do it, as upstream does, so the unit stays
//! the one owner of the daemon.

use std::ffi::OsString;
use std::process::Command;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::daemon::backend::default_backend;
use crate::daemon::{process, run, stop, Backend, Role, RunFiles};
use crate::env::LogLevel;

use super::output;

#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug, PartialEq, Eq)]
enum Cmd {
    #[command(about = "Start the daemon.")]
    Start {
        /// Debug mode - stay in foreground
        #[arg(long, value_name = "BOOLEAN", num_args = 0..=1,
              default_value = "0", default_missing_value = "1",
              value_parser = parse_bool)]
        debug: bool,
    },
    #[command(about = "Stop the daemon.")]
    Stop,
    #[command(about = "Get daemon status.")]
    Status,
}

/// Proxmox's boolean words (`1`/`0`, `yes`/`no`, `on`/`off`,
/// `true`/`false`).
fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" => Ok(true),
        "0" | "no" | "off" | "false" => Ok(false),
        _ => Err(format!("value '{s}' is not a boolean")),
    }
}

/// Entry point of the `crm` role.
pub fn crm_main(argv: Vec<OsString>) -> i32 {
    main_with(Role::Crm, argv, default_backend)
}

/// Entry point of the `lrm` role.
pub fn lrm_main(argv: Vec<OsString>) -> i32 {
    main_with(Role::Lrm, argv, default_backend)
}

/// `role`'s command line: one definition for both daemons, named and
/// described per role (parsing and the man pages use it).
fn role_command(role: Role) -> clap::Command {
    let about = match role {
        Role::Crm => "PVE Cluster HA Resource Manager Daemon",
        Role::Lrm => "PVE Local HA Resource Manager Daemon",
    };
    Args::command()
        .name(role.name())
        .bin_name(role.name())
        .about(about)
}

/// The CRM's command line (for its man page).
pub fn crm_command() -> clap::Command {
    role_command(Role::Crm)
}

/// The LRM's command line (for its man page).
pub fn lrm_command() -> clap::Command {
    role_command(Role::Lrm)
}

fn parse(role: Role, argv: Vec<OsString>) -> Result<Cmd, clap::Error> {
    let matches: ArgMatches = role_command(role).try_get_matches_from(argv)?;
    Ok(Args::from_arg_matches(&matches)?.command)
}

/// Runs one command of `role`'s command line with the backend `make`
/// builds (from the role and `--debug`); returns the exit status. Tests
/// call this with a backend of their own.
pub fn main_with(
    role: Role,
    argv: Vec<OsString>,
    make: impl FnOnce(Role, bool) -> Box<dyn Backend>,
) -> i32 {
    let cmd = match parse(role, argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let files = RunFiles::of(role);
    match cmd {
        Cmd::Start { debug } => {
            if !debug && !process::parent_is_init() {
                return systemctl("start", role);
            }
            let mut backend = make(role, debug);
            match run::start(role, &files, debug, backend.as_mut()) {
                Ok(code) => code,
                Err(e) => {
                    let msg = format!("start failed - {e}");
                    backend.log(LogLevel::Err, &msg);
                    output::error(msg);
                    run::EXIT_FAILED
                }
            }
        }
        Cmd::Stop => {
            if !process::parent_is_init() {
                return systemctl("stop", role);
            }
            let mut backend = make(role, false);
            let out = stop::stop(&files, role.stop_wait(), stop::POLL, backend.as_mut());
            if let Err(e) = out.cleanup {
                let msg = format!("cleanup failed - {e}");
                backend.log(LogLevel::Err, &msg);
                output::error(msg);
            }
            0
        }
        Cmd::Status => {
            output::print(if stop::running(&files) {
                "running\n"
            } else {
                "stopped\n"
            });
            0
        }
    }
}

/// `systemctl <verb> <name>`; its exit status is ours.
fn systemctl(verb: &str, role: Role) -> i32 {
    match Command::new("systemctl")
        .arg(verb)
        .arg(role.name())
        .status()
    {
        Ok(s) => s.code().unwrap_or(run::EXIT_FAILED),
        Err(e) => {
            output::error(format!(
                "unable to run 'systemctl {verb} {}' - {e}",
                role.name()
            ));
            run::EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Result<Cmd, clap::Error> {
        let argv = std::iter::once("pve-ha-crm")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        parse(Role::Crm, argv)
    }

    #[test]
    fn commands_and_the_debug_boolean_parse() {
        assert_eq!(cmd(&["start"]).unwrap(), Cmd::Start { debug: false });
        assert_eq!(
            cmd(&["start", "--debug"]).unwrap(),
            Cmd::Start { debug: true }
        );
        assert_eq!(
            cmd(&["start", "--debug", "1"]).unwrap(),
            Cmd::Start { debug: true }
        );
        assert_eq!(
            cmd(&["start", "--debug", "0"]).unwrap(),
            Cmd::Start { debug: false }
        );
        assert_eq!(
            cmd(&["start", "--debug=yes"]).unwrap(),
            Cmd::Start { debug: true }
        );
        assert_eq!(cmd(&["stop"]).unwrap(), Cmd::Stop);
        assert_eq!(cmd(&["status"]).unwrap(), Cmd::Status);
    }

    #[test]
    fn no_restart_or_reload_and_bad_words_are_usage_errors() {
        for bad in [
            &["restart"][..],
            &["reload"],
            &[],
            &["start", "--debug", "maybe"],
        ] {
            let e = cmd(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn help_names_the_daemon_and_describes_the_commands() {
        let e = cmd(&["help"]).unwrap_err();
        assert_eq!(e.exit_code(), 0);
        let text = e.to_string();
        for want in [
            "pve-ha-crm",
            "Start the daemon.",
            "Stop the daemon.",
            "Get daemon status.",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
        let e = cmd(&["start", "--help"]).unwrap_err();
        assert!(e.to_string().contains("Debug mode - stay in foreground"));
    }
}
