//! The rewrite guard (issue 11, docs/ha-manager.md "Refusing to lose
//! content"): every write command over each malformed fixture of
//! `tests/fixtures/cli/malformed-files/`, once without `--force` — exit
//! 255, one `… line N: … - refusing to rewrite …` line per problem, the
//! summary line, every file under `ha/` byte-identical — and once with
//! `--force`, which must do what upstream does: rewrite the file with
//! what parsed (or fail exactly as upstream fails).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::harness::{fixtures, run, seeded, split};

/// Which file a fixture replaces, with the files the commands need
/// besides it and the write commands that rewrite it.
struct Kind {
    /// Directory under `malformed-files/` and the file name under `ha/`.
    dir: &'static str,
    file: &'static str,
    /// Other `ha/` files seeded next to the fixture.
    others: &'static [(&'static str, &'static str)],
    /// Write commands that would succeed on a clean file.
    commands: &'static [&'static str],
}

/// The resources the rules fixtures refer to: `good` holds vm:100, the
/// defective rules vm:102/vm:103, and the commands add vm:101.
const FOUR_VMS: &str = "vm: 100\n\tstate started\n\nvm: 101\n\tstate started\n\nvm: 102\n\tstate started\n\nvm: 103\n\tstate started\n\n";

const KINDS: &[Kind] = &[
    Kind {
        dir: "resources",
        file: "resources.cfg",
        others: &[],
        commands: &[
            "add vm:120",
            "set vm:100 --comment x",
            "remove vm:100 --purge 0",
            "remove vm:100",
        ],
    },
    Kind {
        dir: "rules",
        file: "rules.cfg",
        others: &[("resources.cfg", FOUR_VMS)],
        commands: &[
            "rules add node-affinity r9 --resources vm:101 --nodes node1",
            "rules set node-affinity good --strict 1",
            "rules remove good",
            "remove vm:101",
        ],
    },
    Kind {
        dir: "groups",
        file: "groups.cfg",
        others: &[],
        commands: &[
            "groupadd g9 --nodes node1",
            "groupset g1 --comment x",
            "groupremove g2",
        ],
    },
];

/// What a command does to a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Exit 255 with the refusal; nothing written.
    Refused,
    /// Exit 0; the fixture file was rewritten.
    Rewritten,
    /// Exit 255 with this upstream error; nothing written.
    Fails(&'static str),
}

/// The exceptions to "refused without --force, rewritten with it":
/// (kind dir, fixture, command, without --force, with --force).
const EXCEPTIONS: &[(&str, &str, &str, Outcome, Outcome)] = &[
    // Upstream cannot write a rules file holding a null section (06 §5.6)…
    (
        "rules",
        "missing-required.cfg",
        "rules add node-affinity r9 --resources vm:101 --nodes node1",
        Outcome::Refused,
        Outcome::Fails("create ha rule failed: unknown section type ''"),
    ),
    (
        "rules",
        "missing-required.cfg",
        "rules set node-affinity good --strict 1",
        Outcome::Refused,
        Outcome::Fails("update HA rules failed: unknown section type ''"),
    ),
    (
        "rules",
        "missing-required.cfg",
        "rules remove good",
        Outcome::Refused,
        Outcome::Fails("delete ha rule failed: unknown section type ''"),
    ),
    // …except `remove` with purge, which drops null rules on purpose: the
    // command removes the broken section itself, so nothing is lost.
    (
        "rules",
        "missing-required.cfg",
        "remove vm:101",
        Outcome::Rewritten,
        Outcome::Rewritten,
    ),
];

fn expected(kind: &Kind, fixture: &str, cmd: &str) -> (Outcome, Outcome) {
    EXCEPTIONS
        .iter()
        .find(|(d, f, c, _, _)| *d == kind.dir && *f == fixture && *c == cmd)
        .map_or((Outcome::Refused, Outcome::Rewritten), |e| (e.3, e.4))
}

/// Every file under `ha/`, as bytes.
fn ha_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(root.join("ha")) {
        for e in rd.flatten() {
            if let Ok(b) = fs::read(e.path()) {
                out.insert(e.file_name().to_string_lossy().into_owned(), b);
            }
        }
    }
    out
}

fn fixture_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures().join("malformed-files").join(dir))
        .expect("fixture dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cfg"))
        .collect();
    names.sort();
    names
}

/// Runs one command on a fresh root holding the fixture and checks the
/// outcome; returns a description of the mismatch, if any.
fn check_one(kind: &Kind, fixture: &str, cmd: &str, force: bool, want: Outcome) -> Option<String> {
    let tag = format!(
        "guard-{}-{}-{}-{}",
        kind.dir,
        fixture.trim_end_matches(".cfg"),
        cmd.len() + cmd.bytes().map(usize::from).sum::<usize>(),
        force
    );
    let root = seeded(&tag, &["cluster3"]);
    let ha = root.path.join("ha");
    fs::create_dir_all(&ha).expect("mkdir ha");
    let bytes = fs::read(
        fixtures()
            .join("malformed-files")
            .join(kind.dir)
            .join(fixture),
    )
    .expect("read fixture");
    fs::write(ha.join(kind.file), &bytes).expect("seed fixture");
    for (name, text) in kind.others {
        fs::write(ha.join(name), text).expect("seed file");
    }
    let before = ha_files(&root.path);
    let mut args = split(cmd);
    if force {
        args.push("--force".into());
    }
    let out = run(&root.path, &args, &[]);
    let after = ha_files(&root.path);
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let path = format!("{}/ha/{}", root.path.display(), kind.file);
    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.ends_with(" - refusing to rewrite (use --force to drop it)"))
        .collect();
    let label = format!(
        "{}/{fixture}: `{cmd}`{}",
        kind.dir,
        if force { " --force" } else { "" }
    );
    let fail = |why: &str| Some(format!("{label}: {why}\nexit {code}\n{stderr}"));
    match want {
        Outcome::Refused => {
            if code != 255 {
                return fail("expected exit 255");
            }
            if after != before {
                return fail("a file changed although the rewrite was refused");
            }
            let own: Vec<&&str> = refusals
                .iter()
                .filter(|l| l.starts_with(&format!("{path} line ")))
                .collect();
            if own.is_empty() {
                return fail("no refusal line for the fixture file");
            }
            let n = own.len();
            let summary = format!(
                "{path}: not rewritten, {n} problem{} would be lost - fix the file or repeat with --force",
                if n == 1 { "" } else { "s" }
            );
            if !stderr.lines().any(|l| l == summary) {
                return fail(&format!("no summary line `{summary}`"));
            }
            // Every problem line names a line of the file.
            let lines = bytes.split(|b| *b == b'\n').count();
            for l in own {
                let num = l[path.len() + " line ".len()..]
                    .split(':')
                    .next()
                    .and_then(|s| s.parse::<usize>().ok());
                if !num.is_some_and(|x| (1..=lines).contains(&x)) {
                    return fail(&format!("bad line number in `{l}`"));
                }
            }
        }
        Outcome::Rewritten => {
            if code != 0 {
                return fail("expected exit 0");
            }
            if !refusals.is_empty() {
                return fail("refused");
            }
            if after.get(kind.file) == Some(&bytes) {
                return fail("the file was not rewritten");
            }
        }
        Outcome::Fails(msg) => {
            if code != 255 || !stderr.lines().any(|l| l == msg) {
                return fail(&format!("expected `{msg}`"));
            }
            if !refusals.is_empty() {
                return fail("refused");
            }
            if after != before {
                return fail("a file changed");
            }
        }
    }
    None
}

#[test]
fn every_write_command_over_every_malformed_fixture() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for kind in KINDS {
        let names = fixture_names(kind.dir);
        assert!(names.len() >= 6, "too few fixtures in {}", kind.dir);
        for fixture in &names {
            for cmd in kind.commands {
                let (plain, forced) = expected(kind, fixture, cmd);
                for (force, want) in [(false, plain), (true, forced)] {
                    runs += 1;
                    failures.extend(check_one(kind, fixture, cmd, force, want));
                }
            }
        }
    }
    assert!(runs >= 100, "only {runs} runs");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The clean counterparts: a file that is merely not in canonical form
/// (spacing, key order, number forms, aliases) is rewritten without
/// `--force` — formatting is not content.
#[test]
fn uncanonical_but_complete_files_are_rewritten() {
    let root = seeded("guard-uncanonical", &["cluster3"]);
    let ha = root.path.join("ha");
    fs::create_dir_all(&ha).expect("mkdir ha");
    let text = "VM:100   \n    max_restart 007\n  \tstate enabled\n\tcomment  two  spaces \n\n\n\nvm: 101\n";
    fs::write(ha.join("resources.cfg"), text).expect("seed");
    let out = run(&root.path, &split("set vm:101 --state stopped"), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(ha.join("resources.cfg")).unwrap_or_default(),
        "vm: 100\n\tcomment two  spaces\n\tmax_restart 7\n\tstate enabled\n\nvm: 101\n\tstate stopped\n\n"
    );
}

/// The acceptance case of issue 11: the malformed resources.cfg of
/// `roots/malformed` (invalid sections, bad and unknown properties, a
/// comment, stray lines) is refused byte for byte without `--force`; with
/// it, `set` behaves as today's upstream: the valid sections are written
/// back canonically and everything else is gone.
#[test]
fn malformed_resources_cfg_refused_without_force_rewritten_with_it() {
    let root = seeded("guard-acceptance", &["cluster3", "malformed"]);
    let file = root.path.join("ha/resources.cfg");
    let before = fs::read(&file).expect("seeded resources.cfg");

    let out = run(&root.path, &split("set ct:102 --comment fine"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert_eq!(fs::read(&file).ok(), Some(before.clone()), "file changed");
    let path = file.display().to_string();
    assert!(
        stderr.lines().any(|l| l
            == format!("{path} line 9: invalid property 'foo' in section 'vm:100' (unknown property type) - refusing to rewrite (use --force to drop it)")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l
            == format!(
            "{path}: not rewritten, 9 problems would be lost - fix the file or repeat with --force"
        )),
        "{stderr}"
    );

    let out = run(&root.path, &split("set ct:102 --comment fine --force"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("refusing to rewrite"), "{stderr}");
    assert_eq!(
        fs::read_to_string(&file).unwrap_or_default(),
        "vm: 100\n\tstate stopped\n\nct: 102\n\tcomment fine\n\tstate started\n\n"
    );
}
