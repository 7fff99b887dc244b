//! The one `check` helper of the golden tests: seeds a scratch root from
//! our own fixture roots (`tests/fixtures/cli/roots/<name>`, layered in
//! the order a case names them), runs the case's `ha-manager` command
//! lines against it and compares the transcript — stdout, stderr, exit
//! status of each command, then the files left under `ha/` — with
//! `<case>.expect`. `UPDATE_GOLDEN=1` rewrites the expectations.
//!
//! Placeholders keep the transcripts stable: `@NOW@` / `@NOW-100@` in a
//! seed file become the current time (± seconds); in the transcript those
//! times appear as `<NOW>` / `<NOW-100>` and their ctime text as
//! `<TIME NOW>`, and the scratch root's path as `<ROOT>`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use pve_ha::sys::localtime::format_utc_shifted;

/// The multi-call binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pve-ha");

/// `tests/fixtures/cli`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli")
}

/// A scratch root, removed when dropped.
pub struct Root {
    /// Its path.
    pub path: PathBuf,
    /// The current time the seed placeholders were filled with.
    pub now: i64,
    /// The offsets used by placeholders.
    pub offsets: Vec<i64>,
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh root named after `tag`, seeded with the fixture roots `seeds`.
pub fn seeded(tag: &str, seeds: &[&str]) -> Root {
    let path = std::env::temp_dir().join(format!("pve-ha-cli-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    fs::create_dir_all(&path).expect("create scratch root");
    let mut root = Root {
        path,
        now: now(),
        offsets: Vec::new(),
    };
    for s in seeds {
        let src = fixtures().join("roots").join(s);
        assert!(src.is_dir(), "no fixture root {}", src.display());
        copy_tree(&src, &root.path.clone(), &mut root);
    }
    root
}

fn copy_tree(src: &Path, dst: &Path, root: &mut Root) {
    fs::create_dir_all(dst).expect("mkdir");
    let mut entries: Vec<_> = fs::read_dir(src)
        .expect("read fixture dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &to, root);
        } else {
            let text = fs::read_to_string(e.path()).expect("fixture is text");
            fs::write(&to, fill_placeholders(&text, root)).expect("write seed");
        }
    }
}

/// Replaces `@NOW@` and `@NOW±k@` with the time, remembering the offsets.
fn fill_placeholders(text: &str, root: &mut Root) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("@NOW") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let Some(end) = after.find('@') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let k: i64 = after[..end].parse().unwrap_or(0);
        if !root.offsets.contains(&k) {
            root.offsets.push(k);
        }
        out.push_str(&(root.now + k).to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Runs `ha-manager <args>` on `root` with a fixed locale and time zone.
pub fn run(root: &Path, args: &[String], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("manager")
        .args(args)
        .env("PVE_HA_ROOT", root)
        .env("TZ", "UTC")
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pve-ha")
}

/// Splits a command line of a case file like a shell (quotes, backslash).
pub fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => match chars.next() {
                Some('t') => cur.push('\t'),
                Some('n') => cur.push('\n'),
                Some(n) => cur.push(n),
                None => {}
            },
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                match chars.next() {
                    Some('t') => cur.push('\t'),
                    Some('n') => cur.push('\n'),
                    Some(n) => cur.push(n),
                    None => {}
                }
                in_word = true;
            }
            (None, ' ') => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Makes output independent of the root path and the clock.
pub fn normalize(text: &str, root: &Root) -> String {
    let mut t = text.replace(&root.path.display().to_string(), "<ROOT>");
    for k in &root.offsets {
        let label = if *k == 0 {
            "NOW".to_string()
        } else {
            format!("NOW{k:+}")
        };
        t = t.replace(
            &format_utc_shifted(root.now + k),
            &format!("<TIME {label}>"),
        );
        t = t.replace(&(root.now + k).to_string(), &format!("<{label}>"));
    }
    t
}

fn section(out: &mut String, title: &str, body: &str) {
    if body.is_empty() {
        return;
    }
    out.push_str(&format!("--- {title}\n"));
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push_str("\n--- (no newline at end)\n");
    }
}

/// The files under `ha/` (and nothing else), sorted, as transcript text.
pub fn dump_ha(root: &Root) -> String {
    let mut out = String::new();
    let dir = root.path.join("ha");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for n in names {
        let body = fs::read_to_string(dir.join(&n)).unwrap_or_default();
        out.push_str(&format!("=== ha/{n}\n"));
        out.push_str(&normalize(&body, root));
        if !body.ends_with('\n') {
            out.push_str("\n=== (no newline at end)\n");
        }
    }
    out
}

/// Runs the case `tests/fixtures/cli/cases/<name>.case` and compares (or,
/// with `UPDATE_GOLDEN=1`, rewrites) `<name>.expect`.
///
/// Case syntax: `seed: <root> <root>…`, optional `env: K=V` lines, then one
/// `$ <ha-manager arguments>` line per command; `#` lines are comments.
pub fn check(name: &str) {
    let case_path = fixtures().join("cases").join(format!("{name}.case"));
    let case = fs::read_to_string(&case_path).expect("read case");
    let mut seeds: Vec<String> = Vec::new();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut cmds: Vec<String> = Vec::new();
    for line in case.lines() {
        if let Some(s) = line.strip_prefix("seed:") {
            seeds = s.split_whitespace().map(str::to_string).collect();
        } else if let Some(e) = line.strip_prefix("env:") {
            if let Some((k, v)) = e.trim().split_once('=') {
                env.push((k.to_string(), v.to_string()));
            }
        } else if let Some(c) = line.strip_prefix("$ ") {
            cmds.push(c.to_string());
        }
    }
    let seed_refs: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let root = seeded(name, &seed_refs);
    let mut transcript = String::new();
    for c in &cmds {
        let out = run(&root.path, &split(c), &env);
        transcript.push_str(&format!("$ ha-manager {c}\n"));
        section(
            &mut transcript,
            "stdout",
            &normalize(&String::from_utf8_lossy(&out.stdout), &root),
        );
        section(
            &mut transcript,
            "stderr",
            &normalize(&String::from_utf8_lossy(&out.stderr), &root),
        );
        transcript.push_str(&format!("--- exit {}\n\n", out.status.code().unwrap_or(-1)));
    }
    transcript.push_str(&dump_ha(&root));
    let expect_path = fixtures().join("cases").join(format!("{name}.expect"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&expect_path, &transcript).expect("write expectation");
        return;
    }
    let expected = fs::read_to_string(&expect_path).unwrap_or_default();
    if expected != transcript {
        panic!(
            "golden mismatch for {name} (UPDATE_GOLDEN=1 rewrites it):\n{}",
            diff(&expected, &transcript)
        );
    }
}

/// A unified diff of the golden transcript against the produced one.
pub fn diff(expected: &str, actual: &str) -> String {
    pve_ha::sim::diff::unified_diff("expected", expected, "actual", actual)
}
