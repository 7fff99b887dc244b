//! The multi-call binary as a user meets it: argv[0] symlinks, role
//! subcommands, `--help`, `--version` and the unknown-role error.

use std::path::PathBuf;
use std::process::{Command, Output};

use pve_ha::cli::ROLES;

const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");

fn run(program: &std::path::Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .expect("run pve-ha")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A symlink named `name` to the binary, in a fresh temporary directory.
fn link(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("pve-ha-dispatch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::os::unix::fs::symlink(BIN, &path).unwrap();
    (dir, path)
}

#[test]
fn help_lists_the_roles_that_exist() {
    let out = run(BIN.as_ref(), &["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for r in ROLES {
        assert!(help.contains(r.name) && help.contains(r.tool), "{help}");
    }
    // Roles later issues build must not show up as stubs.
    for absent in ["pve-ha-crm", "pve-ha-lrm", "watchdog-mux"] {
        if !ROLES.iter().any(|r| r.tool == absent) {
            assert!(
                !help.contains(absent),
                "{absent} listed but not built:\n{help}"
            );
        }
    }
}

#[test]
fn version_is_printed() {
    let out = run(BIN.as_ref(), &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("pve-ha {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_role_is_a_usage_error() {
    let out = run(BIN.as_ref(), &["bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert_eq!(
        err.lines().next(),
        Some("error: unknown role 'bogus'"),
        "{err}"
    );
    assert!(err.contains("Usage:"));
}

#[test]
fn no_role_is_a_usage_error() {
    let out = run(BIN.as_ref(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage:"));
}

#[test]
fn every_role_answers_to_its_tool_name_and_subcommand() {
    for r in ROLES {
        let (dir, path) = link(r.tool);
        let via_link = run(&path, &["--help"]);
        assert!(via_link.status.success(), "{} --help", r.tool);
        let via_sub = run(BIN.as_ref(), &[r.name, "--help"]);
        assert!(via_sub.status.success(), "pve-ha {} --help", r.name);
        let via_long = run(BIN.as_ref(), &[r.tool, "--help"]);
        assert!(via_long.status.success(), "pve-ha {} --help", r.tool);
        // The role sees its tool name as argv[0], whichever way it came.
        assert_eq!(text(&via_link.stdout), text(&via_sub.stdout));
        assert!(text(&via_sub.stdout).contains(r.tool));
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn an_unbuilt_tool_name_falls_back_to_the_multicall_usage() {
    let (dir, path) = link("ha-manager");
    let out = run(&path, &["--help"]);
    if ROLES.iter().all(|r| r.tool != "ha-manager") {
        assert!(out.status.success());
        assert!(text(&out.stdout).contains("Usage: pve-ha <ROLE>"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `packaging/install-ha-manager.sh` installs the binary itself and a
/// relative `ha-manager` link that works from the installed tree.
#[test]
fn install_script_installs_the_binary_and_a_working_link() {
    let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("install-ha-manager");
    let _ = std::fs::remove_dir_all(&dest);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("packaging/install-ha-manager.sh");
    let out = Command::new("sh")
        .arg(&script)
        .arg(BIN)
        .env("DESTDIR", &dest)
        .output()
        .expect("run the install script");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bin = dest.join("usr/bin/pve-ha");
    assert!(bin.is_file(), "the binary is installed");
    let link = dest.join("usr/sbin/ha-manager");
    assert_eq!(
        std::fs::read_link(&link).expect("ha-manager is a link"),
        PathBuf::from("../bin/pve-ha")
    );
    let help = run(&link, &["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", text(&help.stderr));
    assert!(text(&help.stdout).contains("ha-manager"));
    for f in [
        "usr/share/bash-completion/completions/ha-manager",
        "usr/share/zsh/vendor-completions/_ha-manager",
        "usr/share/man/man1/ha-manager.1.gz",
    ] {
        assert!(dest.join(f).is_file(), "{f} is installed");
    }
    let _ = std::fs::remove_dir_all(&dest);
}
