//! The house rules of ARCHITECTURE.md that reading the source can check,
//! on every file read whole (comments and literals blanked, `#[cfg(test)]`
//! items skipped by their braces where a rule exempts tests):
//!
//! * layering: the daemons never import the simulator, the CLI or each
//!   other; the file formats and the vocabulary import no daemon and no
//!   runtime (`use crate::x`, `crate::x::` paths, `use crate::{x, …}`
//!   groups and `super::super::` escapes alike);
//! * the pure layers (vocabulary, formats, `Env`, CRM, LRM) never reach for
//!   files, clocks, sockets, threads, processes, tokio or the terminal;
//! * the core keeps no global mutable state (`static mut`, statics holding
//!   atomics, locks, cells or lazies, `thread_local!`, `lazy_static!`):
//!   such state would leak between the simulator's many daemons in one
//!   process.
//!
//! Each checker is a function of one file's text; the `*_catch_planted_*`
//! tests prove every one of them finds a violation planted in a string.

#[path = "invariants/lexer.rs"]
mod lexer;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lexer::{NamedPath, Tok};

/// Top-level modules each layer must never name. `config` and `types` sit
/// below everything that runs; `env` declares the boundary and knows no
/// runtime; the daemons know only `env`, `config` and `types`.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "crm",
        &[
            "sim", "cli", "lrm", "cluster", "pve", "pool", "daemon", "watchdog", "sys", "ocf",
        ],
    ),
    (
        "lrm",
        &[
            "sim", "cli", "crm", "cluster", "pve", "pool", "daemon", "watchdog", "sys", "ocf",
        ],
    ),
    (
        "config",
        &[
            "crm", "lrm", "sim", "cli", "env", "cluster", "pve", "pool", "daemon", "watchdog",
            "sys", "ocf",
        ],
    ),
    (
        "types",
        &[
            "crm", "lrm", "sim", "cli", "env", "cluster", "config", "pve", "pool", "daemon",
            "watchdog", "sys", "ocf",
        ],
    ),
    (
        "env",
        &[
            "crm", "lrm", "sim", "cli", "cluster", "pve", "pool", "daemon", "watchdog", "sys",
            "ocf",
        ],
    ),
    // The cluster layer serves the CLI and both runtimes; it knows none.
    (
        "cluster",
        &["crm", "lrm", "sim", "cli", "pve", "pool", "daemon", "ocf"],
    ),
    // The real node's runtime: I/O allowed, but never the simulator or
    // the front ends, and the state machines only through `Env`.
    ("pve", &["sim", "cli", "crm", "lrm", "daemon"]),
    // OCF resource agents: processes beside `pve`, which calls them; the
    // configuration values and `Env`'s error type, nothing that runs.
    (
        "ocf",
        &[
            "sim", "cli", "crm", "lrm", "daemon", "pve", "pool", "cluster", "watchdog",
        ],
    ),
    (
        "pool",
        &["sim", "cli", "crm", "lrm", "pve", "cluster", "daemon"],
    ),
    // The daemons' process runtime drives the state machines through a
    // backend; it never reaches into the simulator or the front ends.
    ("daemon", &["sim", "cli"]),
    // watchdog-mux and its client stand alone: the daemons' environments
    // use the client, never the other way round. Below them only the
    // formats (`config`: the failover budget its thresholds come from).
    (
        "watchdog",
        &[
            "crm", "lrm", "sim", "cli", "cluster", "pve", "pool", "daemon", "env",
        ],
    ),
];

/// Modules that must stay free of I/O.
const PURE: &[&str] = &["types", "config", "env", "crm", "lrm"];

/// Text that would mean I/O or wall-clock time inside a pure module.
const FORBIDDEN_IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "SystemTime",
    "Instant::now",
    "tokio",
    "std::io::stdin",
    "println!",
    "eprintln!",
];

/// Modules that must keep no global mutable state.
const CORE: &[&str] = &["crm", "lrm", "types", "config", "env"];

/// Types that make a `static` mutable (prefix `Atomic` covers every atomic).
const INTERIOR_MUTABLE: &[&str] = &[
    "Mutex",
    "RwLock",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "LazyCell",
    "Lazy",
    "Cell",
    "RefCell",
    "UnsafeCell",
    "SyncUnsafeCell",
    "Condvar",
];

/// One source file of a layer.
struct Source {
    /// `src/crm/manager/mod.rs`.
    rel: String,
    /// Its module path below the crate root (`["crm", "manager"]`).
    module: Vec<String>,
    /// The whole file, comments and literals blanked.
    all: String,
    /// [`Self::all`] without `#[cfg(test)]` items; empty for the files of
    /// test-only modules.
    code: String,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/crm/manager/mod.rs` → `["crm", "manager"]`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_start_matches("src/")
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every file of `src/<layer>`, read whole.
fn sources(layer: &str) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(&root().join("src").join(layer), &mut files);
    assert!(!files.is_empty(), "src/{layer} has no files");
    let mut out = Vec::new();
    let mut test_files = BTreeSet::new();
    for f in files {
        let rel = f
            .strip_prefix(root())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let all = lexer::blank_comments_and_literals(&text);
        let (code, test_mods) =
            lexer::strip_cfg_test(&all).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let dir = module_path(&rel).join("/");
        for m in test_mods {
            test_files.insert(format!("src/{dir}/{m}.rs"));
            test_files.insert(format!("src/{dir}/{m}/mod.rs"));
        }
        out.push(Source {
            module: module_path(&rel),
            rel,
            all,
            code,
        });
    }
    // Everything below a test-only module is test code as well.
    for s in &mut out {
        let in_test_module = test_files.iter().any(|t| {
            s.rel == *t
                || t.strip_suffix("mod.rs")
                    .is_some_and(|dir| s.rel.starts_with(dir))
        });
        if in_test_module {
            s.code.clear();
        }
    }
    out
}

/// The module a path names, from the crate root, when it is one of ours.
fn resolve(module: &[String], p: &NamedPath) -> Option<Vec<String>> {
    let first = p.segments.first()?;
    if first == "crate" {
        return Some(p.segments[1..].to_vec());
    }
    if first != "super" && first != "self" {
        return None;
    }
    let mut base: Vec<String> = module.iter().chain(&p.inline_mods).cloned().collect();
    let mut rest = &p.segments[..];
    if rest.first().is_some_and(|s| s == "self") {
        rest = &rest[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Layering: the paths in `code` of a file of `layer` (module path
/// `module`) that reach a module the layer must not name.
fn import_violations(layer: &str, module: &[String], code: &str) -> Vec<(usize, String)> {
    let forbidden = LAYERS
        .iter()
        .find(|(l, _)| *l == layer)
        .map_or(&[][..], |(_, f)| *f);
    lexer::paths(&lexer::tokens(code))
        .into_iter()
        .filter_map(|p| {
            let target = resolve(module, &p)?;
            let top = target.first()?;
            forbidden.contains(&top.as_str()).then(|| {
                (
                    p.line,
                    format!(
                        "{} reaches crate::{}",
                        p.segments.join("::"),
                        target.join("::")
                    ),
                )
            })
        })
        .collect()
}

/// I/O: the lines of `code` that name a forbidden facility, directly or
/// through a `use` group (`use std::{fs, …}`).
fn io_violations(code: &str) -> Vec<(usize, String)> {
    let mut found = BTreeSet::new();
    for (n, line) in code.lines().enumerate() {
        for word in FORBIDDEN_IO {
            if line.contains(word) {
                found.insert((n + 1, (*word).to_string()));
            }
        }
    }
    for p in lexer::paths(&lexer::tokens(code)) {
        let text = p.segments.join("::");
        for word in FORBIDDEN_IO {
            if text.starts_with(word) {
                found.insert((p.line, (*word).to_string()));
            }
        }
    }
    found.into_iter().collect()
}

/// Global mutable state: `(line, static name, why)` for every `static mut`,
/// `static` of an interior-mutable type, `thread_local!` and `lazy_static!`.
fn global_state_violations(code: &str) -> Vec<(usize, String, String)> {
    let toks = lexer::tokens(code);
    let ident = |i: usize| match toks.get(i) {
        Some((_, Tok::Ident(s))) => Some(s.as_str()),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, (line, tok)) in toks.iter().enumerate() {
        let Tok::Ident(word) = tok else { continue };
        let bang = toks.get(i + 1).map(|t| &t.1) == Some(&Tok::Punct('!'));
        match word.as_str() {
            "thread_local" | "lazy_static" if bang => {
                out.push((*line, String::new(), format!("{word}!")));
            }
            "static" if ident(i + 1) == Some("mut") => {
                let name = ident(i + 2).unwrap_or_default().to_string();
                out.push((*line, name, "static mut".into()));
            }
            "static" => {
                let name = ident(i + 1).unwrap_or_default().to_string();
                // The type: from `:` to `=` or `;`.
                let ty = toks[i + 1..]
                    .iter()
                    .take_while(|(_, t)| !matches!(t, Tok::Punct('=' | ';')))
                    .filter_map(|(_, t)| match t {
                        Tok::Ident(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .find(|s| s.starts_with("Atomic") || INTERIOR_MUTABLE.contains(s));
                if let Some(ty) = ty {
                    out.push((*line, name, format!("static of type {ty}")));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn layers_import_only_what_they_may() {
    let mut violations = Vec::new();
    for (layer, _) in LAYERS {
        // Test code too: a test that needs the simulator belongs in tests/.
        for s in sources(layer) {
            for (line, what) in import_violations(layer, &s.module, &s.all) {
                violations.push(format!("{}:{line}: {what}", s.rel));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "forbidden imports:\n{}",
        violations.join("\n")
    );
}

#[test]
fn pure_layers_do_no_io() {
    let mut violations = Vec::new();
    for layer in PURE {
        // Unit tests may print or read fixtures; only the code counts.
        for s in sources(layer) {
            for (line, word) in io_violations(&s.code) {
                violations.push(format!("{}:{line}: {word}", s.rel));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "I/O in pure layers:\n{}",
        violations.join("\n")
    );
}

#[test]
fn core_keeps_no_global_mutable_state() {
    let mut violations = Vec::new();
    for layer in CORE {
        for s in sources(layer) {
            for (line, name, what) in global_state_violations(&s.code) {
                violations.push(format!("{}:{line}: {what} {name}", s.rel));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "global mutable state in the core:\n{}",
        violations.join("\n")
    );
}

// --- the checkers catch what they are for ---

fn strip(text: &str) -> String {
    lexer::strip_cfg_test(&lexer::blank_comments_and_literals(text))
        .map(|(code, _)| code)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn module(m: &str) -> Vec<String> {
    m.split("::").map(str::to_string).collect()
}

#[test]
fn import_checker_catches_planted_violations() {
    let crm = |m: &str, text: &str| import_violations("crm", &module(m), &strip(text)).len();
    assert_eq!(crm("crm", "use crate::sim::Foo;"), 1);
    assert_eq!(crm("crm", "use crate::{types::Sid, cli::x};"), 1);
    assert_eq!(
        crm(
            "crm",
            "use crate::{types::{Sid, text}, lrm::{Lrm, work::{self}}};"
        ),
        2
    );
    assert_eq!(crm("crm", "fn f() { crate::lrm::Lrm::new(); }"), 1);
    assert_eq!(
        crm("crm", "macro_rules! m { () => { $crate::sim::x() } }"),
        1
    );
    assert_eq!(crm("crm::manager", "use super::super::sim::Hardware;"), 1);
    assert_eq!(
        crm("crm::a::b", "use super::super::sim::X;"),
        0,
        "crm::sim is ours"
    );
    assert_eq!(crm("crm", "mod inner { use super::super::cli::X; }"), 1);
    assert_eq!(crm("crm", "mod inner { } use super::types::X;"), 0);
    assert_eq!(
        crm("crm", "use crate::simulation::A; use crate::types::sim;"),
        0
    );
    assert_eq!(
        crm(
            "crm",
            "use crate::types::X as sim; use crate::types::{Y as cli};"
        ),
        0
    );
    assert_eq!(
        crm(
            "crm",
            "// use crate::sim::A;\nconst S: &str = \"crate::sim::A\";"
        ),
        0
    );
    // After a test module, the rest of the file is still read.
    let after = "#[cfg(test)]\nmod tests { fn t() { let _ = \"}\"; } }\nuse crate::sim::Z;\n";
    assert_eq!(crm("crm", after), 1);
    let config = |text: &str| import_violations("config", &module("config::x"), &strip(text)).len();
    assert_eq!(config("use crate::env::Env;"), 1);
    assert_eq!(config("use crate::cluster::store::ClusterStore;"), 1);
    assert_eq!(config("use crate::types::Sid;"), 0);
    let types = |text: &str| import_violations("types", &module("types::x"), &strip(text)).len();
    assert_eq!(types("use crate::config::Parsed;"), 1);
}

#[test]
fn io_checker_catches_planted_violations() {
    let io = |text: &str| io_violations(&strip(text));
    assert_eq!(io("fn f() { let _ = std::fs::read(\"x\"); }").len(), 1);
    assert_eq!(io("use std::{collections::BTreeMap, fs};").len(), 1);
    assert_eq!(io("use std::{net::{TcpStream}};").len(), 1);
    assert_eq!(io("fn f() { println!(\"x\"); }").len(), 1);
    assert_eq!(
        io("fn f() { let _ = std::time::SystemTime::now(); }").len(),
        1
    );
    assert_eq!(
        io("// std::fs::read\nconst S: &str = \"std::thread\";").len(),
        0
    );
    // Test items are skipped by their braces, even with braces in
    // literals; the code after them is still checked.
    let text =
        "#[cfg(test)]\nmod tests {\n    fn t() { let _ = std::fs::read(\"{\"); let _ = '}'; }\n}\n\
                fn g() {\n    std::thread::spawn(|| {});\n}\n";
    assert_eq!(io(text), vec![(6, "std::thread".to_string())]);
    let text = "#[cfg(test)]\nfn helper(x: [u8; 2]) -> u8 { std::process::id(); x[0] }\nfn h() { tokio::spawn(); }\n";
    assert_eq!(io(text), vec![(3, "tokio".to_string())]);
    let text = "#[cfg(test)]\nuse std::fs;\nfn h() { println!(); }\n";
    assert_eq!(io(text), vec![(3, "println!".to_string())]);
    assert!(lexer::strip_cfg_test("#[cfg(test)]\nmod tests {\n").is_err());
}

#[test]
fn global_state_checker_catches_planted_violations() {
    let hits = |text: &str| global_state_violations(&strip(text));
    assert_eq!(hits("static mut X: u32 = 0;")[0].1, "X");
    assert_eq!(
        hits("fn f() { static C: AtomicU64 = AtomicU64::new(0); }")[0].1,
        "C"
    );
    assert_eq!(
        hits("static M: std::sync::Mutex<Vec<u8>> = Mutex::new(Vec::new());").len(),
        1
    );
    assert_eq!(
        hits("static O: OnceLock<String> = OnceLock::new();").len(),
        1
    );
    assert_eq!(
        hits("pub(crate) static L: LazyLock<u8> = LazyLock::new(|| 1);").len(),
        1
    );
    assert_eq!(
        hits("thread_local! { static T: Cell<u8> = Cell::new(0); }").len(),
        2
    );
    assert_eq!(hits("lazy_static! { static ref R: u8 = 1; }").len(), 1);
    assert!(hits("fn f(x: &'static str) -> &'static [u8] { b\"\" }").is_empty());
    assert!(
        hits("static NAMES: &[&str] = &[\"Mutex\"]; const C: AtomicU64 = AtomicU64::new(0);")
            .is_empty()
    );
    assert!(hits("#[cfg(test)]\nmod tests { static mut T: u8 = 0; }").is_empty());
}

#[test]
fn module_paths_and_resolution() {
    assert_eq!(module_path("src/crm/manager/mod.rs"), ["crm", "manager"]);
    assert_eq!(module_path("src/crm/daemon.rs"), ["crm", "daemon"]);
    let p = |s: &str, inline: &[&str]| NamedPath {
        line: 1,
        inline_mods: inline.iter().map(|m| m.to_string()).collect(),
        segments: s.split("::").map(str::to_string).collect(),
    };
    let m = module("crm::fsm::command");
    assert_eq!(
        resolve(&m, &p("super::node_state_is", &[])),
        Some(module("crm::fsm::node_state_is"))
    );
    assert_eq!(
        resolve(&m, &p("super::super::x", &["tests"])),
        Some(module("crm::fsm::x"))
    );
    assert_eq!(
        resolve(&m, &p("self::a", &[])),
        Some(module("crm::fsm::command::a"))
    );
    assert_eq!(resolve(&m, &p("std::fs", &[])), None);
}

#[test]
fn lexer_blanks_every_kind_of_literal_and_comment() {
    let text = "fn f() { let a = '\\''; let b = \"x\\\"y{\"; let r = r#\"a\"b{\"#;\n\
                /* outer /* } */ still comment { */ let c = '{'; let d = b'}'; let e = '\\\\';\n\
                let s: &'static str = br\"}\"; // crate::sim {\n}";
    let blank = lexer::blank_comments_and_literals(text);
    assert_eq!(blank.lines().count(), text.lines().count());
    assert_eq!(blank.matches('{').count(), 1, "{blank}");
    assert_eq!(blank.matches('}').count(), 1, "{blank}");
    for kept in ["let a", "let e", "'static", "fn f()"] {
        assert!(blank.contains(kept), "{kept} lost: {blank}");
    }
    assert!(
        !blank.contains("sim") && !blank.contains("comment"),
        "{blank}"
    );
}
