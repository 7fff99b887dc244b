//! 06 §9.8 and 07 §8.4: the completion protocol (`bashcomplete`) with its
//! dynamic values, and the generated bash/zsh scripts and man page.

use std::process::Command;

use super::harness::{seeded, BIN};

fn complete(root: &std::path::Path, line: &str) -> Vec<String> {
    let cur = if line.ends_with(' ') {
        String::new()
    } else {
        line.rsplit(' ').next().unwrap_or_default().to_string()
    };
    let out = Command::new(BIN)
        .args(["manager", "bashcomplete", "ha-manager", &cur, "x"])
        .env("PVE_HA_ROOT", root)
        .env("COMP_LINE", line)
        .env("COMP_POINT", line.len().to_string())
        .output()
        .expect("run bashcomplete");
    assert!(out.status.success());
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn completes_commands_options_and_dynamic_values() {
    let root = seeded("complete", &["cluster3", "populated"]);
    let r = &root.path;
    assert_eq!(
        complete(r, "ha-manager gro"),
        ["groupadd", "groupconfig", "groupremove", "groupset"]
    );
    assert_eq!(
        complete(r, "ha-manager crm-command node-maintenance "),
        ["disable", "enable"]
    );
    assert_eq!(
        complete(r, "ha-manager remove vm:10"),
        ["vm:100", "vm:101", "vm:103", "vm:104", "vm:105"]
    );
    // `add` offers guests not configured yet.
    let add = complete(r, "ha-manager add ");
    assert!(
        add.contains(&"vm:106".to_string()) && !add.contains(&"vm:100".to_string()),
        "{add:?}"
    );
    assert!(!add.contains(&"ct:102".to_string()));
    assert_eq!(
        complete(r, "ha-manager migrate vm:100 "),
        ["node2", "node3"]
    );
    assert_eq!(
        complete(r, "ha-manager rules remove "),
        ["keep-apart", "prefer-node1"]
    );
    assert_eq!(
        complete(r, "ha-manager rules add node-affinity x --nodes "),
        ["node1", "node2", "node3"]
    );
    assert_eq!(complete(r, "ha-manager set vm:100 --st"), ["--state"]);
    assert_eq!(
        complete(r, "ha-manager set vm:100 --state "),
        ["disabled", "enabled", "ignored", "started", "stopped"]
    );
    assert_eq!(
        complete(r, "ha-manager rules add "),
        ["node-affinity", "resource-affinity"]
    );
}

#[test]
fn generated_scripts_and_man_page() {
    let gen = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("manager")
            .args(args)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(gen(&["completions", "bash"])
        .contains("complete -o default -C 'ha-manager bashcomplete' ha-manager"));
    assert!(gen(&["completions", "zsh"]).starts_with("#compdef ha-manager\n"));
    let man = gen(&["man"]);
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq \\(aq") || man.contains(".TH"),
        "{man}"
    );
    assert!(
        man.contains("crm\\-command") && man.contains("node\\-maintenance"),
        "{man}"
    );
    let bad = Command::new(BIN)
        .args(["manager", "completions", "fish"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(255));
}
