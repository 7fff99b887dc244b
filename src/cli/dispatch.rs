//! Multi-call dispatch: one executable, many roles (00 "Dispatch"). The
//! basename of argv[0] picks the role (`pve-ha-tester` → tester); called as
//! `pve-ha` (or under any other name) the first argument names it.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use super::output;

/// One role of the multi-call binary.
pub struct Role {
    /// Subcommand name (`pve-ha tester`).
    pub name: &'static str,
    /// Tool name, the argv[0] of its symlink (`pve-ha-tester`).
    pub tool: &'static str,
    /// One line for `pve-ha --help`.
    pub about: &'static str,
    /// Entry point; receives argv with argv[0] set to the tool name and
    /// returns the exit code.
    pub main: fn(Vec<OsString>) -> i32,
    /// The role's clap definition, the one source of its man page, so the
    /// page cannot drift from what the role accepts.
    pub command: fn() -> clap::Command,
    /// Man page section: 1 for user commands, 8 for daemons.
    pub man_section: ManSection,
}

/// The man page sections the roles' pages go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManSection {
    /// User commands (`man1`).
    User,
    /// System administration and daemons (`man8`).
    Admin,
}

impl ManSection {
    /// The section's number, as in `ha-manager.1`.
    pub fn number(self) -> &'static str {
        match self {
            ManSection::User => "1",
            ManSection::Admin => "8",
        }
    }
}

/// The roles that exist. Roles not built yet are absent, not stubbed.
pub const ROLES: &[Role] = &[
    Role {
        name: "tester",
        tool: "pve-ha-tester",
        about: "regression tester: scenarios, suites, fence configs",
        main: super::tester::main,
        command: super::tester::command,
        man_section: ManSection::User,
    },
    Role {
        name: "manager",
        tool: "ha-manager",
        about: "admin CLI: resources, groups, rules, status, CRM commands",
        main: super::ha_manager::main,
        command: super::ha_manager::completion::clap_command,
        man_section: ManSection::User,
    },
    Role {
        name: "simulator",
        tool: "pve-ha-simulator",
        about: "live virtual cluster in the browser (or --batch: the tester)",
        main: super::simulator::main,
        command: super::simulator::command,
        man_section: ManSection::User,
    },
    Role {
        name: "watchdog-mux",
        tool: "watchdog-mux",
        about: "owns /dev/watchdog; fences the node when a client stops feeding",
        main: super::watchdog_mux::main,
        command: super::watchdog_mux::command,
        man_section: ManSection::Admin,
    },
    Role {
        name: "crm",
        tool: "pve-ha-crm",
        about: "cluster resource manager daemon: start [--debug], stop, status",
        main: super::daemon::crm_main,
        command: super::daemon::crm_command,
        man_section: ManSection::Admin,
    },
    Role {
        name: "lrm",
        tool: "pve-ha-lrm",
        about: "local resource manager daemon: start [--debug], stop, status",
        main: super::daemon::lrm_main,
        command: super::daemon::lrm_command,
        man_section: ManSection::Admin,
    },
];

/// Exit code for usage errors (unknown role, bad arguments).
pub const EXIT_USAGE: i32 = 2;

/// The role a name stands for: its subcommand or its tool name.
pub fn find_role(name: &OsStr) -> Option<&'static Role> {
    ROLES.iter().find(|r| name == r.name || name == r.tool)
}

/// Runs the process: `args` is the full argv. Returns the exit code.
pub fn dispatch(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter();
    let argv0 = args.next().unwrap_or_default();
    let base = Path::new(&argv0)
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    if base != "pve-ha" {
        if let Some(role) = find_role(&base) {
            return (role.main)(std::iter::once(role.tool.into()).chain(args).collect());
        }
    }
    let Some(first) = args.next() else {
        output::eprint(&usage());
        return EXIT_USAGE;
    };
    match first.to_str() {
        Some("-h" | "--help" | "help") => {
            output::print(&usage());
            0
        }
        // Hidden: the packaging renders every role's man page with it.
        Some("man") => man(args.next().as_deref()),
        Some("-V" | "--version") => {
            output::print(&format!("pve-ha {}\n", env!("CARGO_PKG_VERSION")));
            0
        }
        _ => match find_role(&first) {
            Some(role) => (role.main)(std::iter::once(role.tool.into()).chain(args).collect()),
            None => {
                output::eprint(&format!(
                    "error: unknown role '{}'\n\n{}",
                    first.to_string_lossy(),
                    usage()
                ));
                EXIT_USAGE
            }
        },
    }
}

/// `pve-ha man [ROLE]`: prints the role's man page (roff) on stdout, or
/// without a role the page of the multi-call binary itself.
fn man(role: Option<&OsStr>) -> i32 {
    let page = match role {
        None => super::man::render(command(), "1"),
        Some(name) => match find_role(name) {
            Some(role) => man_page(role),
            None => {
                output::eprint("error: usage: pve-ha man [ROLE]\n");
                return EXIT_USAGE;
            }
        },
    };
    match page {
        Ok(page) => {
            output::print(&page);
            0
        }
        Err(e) => {
            output::eprint(&format!("error: cannot render the man page: {e}\n"));
            1
        }
    }
}

/// The role's man page in roff, named after its tool and rendered from its
/// clap definition by clap_mangen.
pub fn man_page(role: &Role) -> std::io::Result<String> {
    let cmd = (role.command)().name(role.tool).bin_name(role.tool);
    super::man::render(cmd, role.man_section.number())
}

/// The multi-call binary's command line for its man page: one subcommand
/// per role.
pub fn command() -> clap::Command {
    let mut cmd = clap::Command::new("pve-ha")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Proxmox VE high availability stack (multi-call binary)")
        .long_about(
            "One executable for every role of the HA stack. Called through a link named \
             after a role's tool (ha-manager, pve-ha-crm, ...) it runs that role; called \
             as pve-ha, the first argument names the role.",
        );
    for r in ROLES {
        cmd = cmd.subcommand(clap::Command::new(r.name).about(r.about));
    }
    cmd
}

/// The multi-call usage text, listing the roles that exist.
pub fn usage() -> String {
    let mut s = format!(
        "pve-ha {} - Proxmox VE high availability stack (multi-call binary)\n\n\
         Usage: pve-ha <ROLE> [ARGS]...\n       \
         <TOOL> [ARGS]...    (through a symlink named after the role's tool)\n\n\
         Roles:\n",
        env!("CARGO_PKG_VERSION")
    );
    for r in ROLES {
        s.push_str(&format!("  {:<14}{:<20}{}\n", r.name, r.tool, r.about));
    }
    s.push_str(
        "\nOptions:\n  -h, --help     Print this help\n  -V, --version  Print the version\n\n\
         Run 'pve-ha <ROLE> --help' for the options of a role.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_a_man_page_under_its_tool_name() {
        for r in ROLES {
            let page = man_page(r).expect("renders");
            let th = format!(".TH {} {}", r.tool, r.man_section.number());
            assert!(page.contains(&th), "{}: no '{th}' in\n{page}", r.name);
            assert!(page.contains(".SH SYNOPSIS"), "{}", r.name);
            // Only the roles' own pages exist: no reference to another.
            assert!(!page.contains("(1)\n") && !page.contains("(8)\n"), "{page}");
        }
    }

    #[test]
    fn roles_are_found_by_either_name() {
        for r in ROLES {
            assert_eq!(find_role(OsStr::new(r.name)).map(|x| x.tool), Some(r.tool));
            assert_eq!(find_role(OsStr::new(r.tool)).map(|x| x.name), Some(r.name));
        }
        assert!(find_role(OsStr::new("pve-ha")).is_none());
    }

    #[test]
    fn usage_lists_every_role() {
        let u = usage();
        for r in ROLES {
            assert!(u.contains(r.tool), "{u}");
        }
    }
}
