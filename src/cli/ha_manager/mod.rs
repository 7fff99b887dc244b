//! The `ha-manager` role (06 §9–§11): command resolution, argument parsing
//! and the one place where errors become upstream's texts on stderr and
//! exit status 255. The commands themselves live in one module per family
//! ([`resources`], [`groups`], [`rules`], [`status`], [`crm_command`],
//! and our extension [`what_if`]);
//! [`commands`] is the command table they are all registered in. Every
//! write command rewrites its files through [`Ctx::write_section_file`],
//! where [`rewrite_guard`] refuses a rewrite that would lose content
//! unless `--force` is given (a deliberate difference from upstream).
//!
//! Hidden extras (exact names only, outside prefix matching, like
//! upstream's own `verifyapi` and `bashcomplete`): `completions
//! <bash|zsh>` prints a completion script and `man` the man page (see
//! [`completion`]); `--help` and `--version` answer as every role of the
//! multi-call binary does.

pub mod args;
pub mod commands;
pub mod completion;
pub mod crm_command;
pub mod format;
pub mod groups;
pub mod resources;
pub mod rewrite_guard;
pub mod rules;
pub mod status;
pub mod what_if;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;

use args::ArgError;
pub use args::Params;
use commands::{CmdDef, Resolved};

use super::output;
use crate::cluster::{
    files, node_config, open_store, with_domain_lock, ClusterStore, Locked, StoreError,
};
use crate::config::groups::{Group, GroupsConfig, GroupsFormat};
use crate::config::resources::{Resource, ResourcesConfig, ResourcesFormat};
use crate::config::rules::{Rule, RulesConfig, RulesFormat};
use crate::config::section::{self, SectionConfig, SectionFormat};
use crate::config::status::ManagerStatus;
use crate::config::Parsed;
use rewrite_guard::{Guard, Refusal};

/// Exit status of every failure (06 §9.7a).
pub const EXIT_FAILURE: i32 = 255;

/// Store-relative paths of the files the CLI touches (06 §1): the
/// cluster layer's one table.
pub use crate::cluster::paths;

/// Every way a command can fail, each printed as upstream prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// Command resolution failed: `ERROR: <msg>` plus the usage listing.
    #[error("ERROR: {0}")]
    Command(String),
    /// The arguments could not be parsed: `400 <msg>` plus the usage line.
    #[error("400 {err}")]
    Args {
        /// What went wrong.
        err: ArgError,
        /// The command's usage line.
        usage: String,
    },
    /// Parameters failed the schema: one line per parameter.
    #[error("400 Parameter verification failed.")]
    Params {
        /// Parameter → message, printed in this (sorted) order.
        errors: BTreeMap<String, String>,
        /// The command's usage line.
        usage: String,
    },
    /// The operation failed; the message is printed as is.
    #[error("{0}")]
    Op(String),
    /// A write command refused to rewrite a file whose content would not
    /// survive it (issue 11; `--force` overrides). Printed as is, without
    /// the command's error prefix.
    #[error("{0}")]
    Refused(Refusal),
}

/// How code run under the domain lock fails: with a message that gets
/// the command's error prefix, or with a refusal that does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// An ordinary failure (`<prefix>: <message>`).
    #[error("{0}")]
    Failed(String),
    /// A refused rewrite.
    #[error("{0}")]
    Refused(Refusal),
}

impl From<String> for EditError {
    fn from(msg: String) -> Self {
        EditError::Failed(msg)
    }
}

impl From<Refusal> for EditError {
    fn from(r: Refusal) -> Self {
        EditError::Refused(r)
    }
}

impl From<CliError> for EditError {
    fn from(e: CliError) -> Self {
        match e {
            CliError::Refused(r) => EditError::Refused(r),
            other => EditError::Failed(other.to_string()),
        }
    }
}

/// A section-config file read for rewriting: its value, for the command
/// to change, and the guard that judges the rewrite (checked by
/// [`Ctx::write_section_file`]).
pub struct ForEdit<T> {
    /// The parsed file.
    pub value: SectionConfig<T>,
    /// What the bytes read hold that a rewrite could lose.
    pub guard: Guard<T>,
}

/// A section-config file's parse.
type ParsedFile<T> = Parsed<SectionConfig<T>>;

/// Both halves of an edit that rewrites two files, with the refusals of
/// both reported together.
pub fn both<A, B>(a: Result<A, EditError>, b: Result<B, EditError>) -> Result<(A, B), EditError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(EditError::Refused(x)), Err(EditError::Refused(y))) => {
            Err(EditError::Refused(x.merge(y)))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError::Op(e.to_string())
    }
}

impl CliError {
    /// The complete stderr text of the error.
    pub fn render(&self) -> String {
        match self {
            CliError::Command(msg) => format!("ERROR: {msg}\n{}", commands::usage_listing()),
            CliError::Args { err, usage } => {
                let mut s = String::new();
                if let ArgError::Options(lines) = err {
                    for l in lines {
                        s.push_str(l);
                        s.push('\n');
                    }
                }
                s.push_str(&format!("400 {err}\n{usage}\n"));
                s
            }
            CliError::Params { errors, usage } => {
                let mut s = "400 Parameter verification failed.\n".to_string();
                for (p, e) in errors {
                    s.push_str(&format!("{p}: {e}\n"));
                }
                s.push_str(usage);
                s.push('\n');
                s
            }
            CliError::Op(msg) if msg.ends_with('\n') => msg.clone(),
            CliError::Op(msg) => format!("{msg}\n"),
            CliError::Refused(r) => r.to_string(),
        }
    }
}

/// Shorthand for an operation error.
pub fn op_err(msg: impl Into<String>) -> CliError {
    CliError::Op(msg.into())
}

/// What a running command works with: the store, and the parse warnings
/// already shown (upstream caches parsed files by version, so each
/// version's warnings appear once per run, 06 §9.1).
pub struct Ctx<'a> {
    /// The cluster file store.
    pub store: &'a dyn ClusterStore,
    warned: BTreeSet<(String, String)>,
}

/// Prints parse warnings. A validator message ends in its own newline
/// upstream, so a format error leaves a blank line after it (06 §2.2).
fn print_warnings(warnings: &[String]) {
    for w in warnings {
        output::eprint(&format!("{w}\n"));
        if w.contains("': invalid format - ") {
            output::eprint("\n");
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context on `store`.
    pub fn new(store: &'a dyn ClusterStore) -> Self {
        Ctx {
            store,
            warned: BTreeSet::new(),
        }
    }

    /// A file's bytes; a missing file reads as empty.
    pub fn read_file(&self, rel: &str) -> Result<Vec<u8>, CliError> {
        Ok(self.store.read(rel)?.unwrap_or_default())
    }

    fn warn_once(&mut self, rel: &str, digest: &str, warnings: &[String]) {
        if self.warned.insert((rel.to_string(), digest.to_string())) {
            print_warnings(warnings);
        }
    }

    /// A section-config file's bytes and parse (warnings shown once).
    fn parse_section_file<F: SectionFormat>(
        &mut self,
        rel: &str,
        format: &F,
    ) -> Result<(Vec<u8>, ParsedFile<F::Section>), CliError> {
        let (raw, p) = files::read_section(self.store, rel, format)?;
        self.warn_once(rel, &p.value.digest, &p.warnings);
        Ok((raw, p))
    }

    /// A section-config file read for rewriting, from locked code: what a
    /// rewrite would lose is judged on exactly the bytes read here.
    fn for_edit<F: SectionFormat>(
        &mut self,
        rel: &str,
        format: &F,
    ) -> Result<ForEdit<F::Section>, EditError> {
        let (raw, p) = self.parse_section_file(rel, format)?;
        let guard = Guard::new(format, &self.store.path_of(rel), &raw, &p);
        Ok(ForEdit {
            value: p.value,
            guard,
        })
    }

    /// Writes a section-config file read by [`Ctx::for_edit`] as the
    /// command changed it — or refuses to, leaving it untouched, when the
    /// rewrite would lose content and `force` is not set.
    pub fn write_section_file<F: SectionFormat>(
        &self,
        rel: &str,
        format: &F,
        file: &ForEdit<F::Section>,
        force: bool,
    ) -> Result<(), EditError> {
        file.guard.check(format, &file.value, force)?;
        let text = section::write(format, &file.value).map_err(|e| e.to_string())?;
        Ok(self.write(rel, &text)?)
    }

    /// resources.cfg, parsed (warnings shown once).
    pub fn resources(&mut self) -> Result<ResourcesConfig, CliError> {
        Ok(self
            .parse_section_file(paths::RESOURCES, &ResourcesFormat::default())?
            .1
            .value)
    }

    /// groups.cfg, parsed (warnings shown once).
    pub fn groups(&mut self) -> Result<GroupsConfig, CliError> {
        Ok(self
            .parse_section_file(paths::GROUPS, &GroupsFormat)?
            .1
            .value)
    }

    /// rules.cfg, parsed (warnings shown once).
    pub fn rules(&mut self) -> Result<RulesConfig, CliError> {
        Ok(self.parse_section_file(paths::RULES, &RulesFormat)?.1.value)
    }

    /// resources.cfg read for rewriting (see [`Ctx::for_edit`]).
    pub fn resources_for_edit(&mut self) -> Result<ForEdit<Resource>, EditError> {
        self.for_edit(paths::RESOURCES, &ResourcesFormat::default())
    }

    /// groups.cfg read for rewriting.
    pub fn groups_for_edit(&mut self) -> Result<ForEdit<Group>, EditError> {
        self.for_edit(paths::GROUPS, &GroupsFormat)
    }

    /// rules.cfg read for rewriting.
    pub fn rules_for_edit(&mut self) -> Result<ForEdit<Rule>, EditError> {
        self.for_edit(paths::RULES, &RulesFormat)
    }

    /// manager_status (absent or empty ⇒ `{}`).
    pub fn manager_status(&self) -> Result<ManagerStatus, CliError> {
        files::read_manager_status(self.store).map_err(|e| op_err(e.to_string()))
    }

    /// Writes a file atomically, as a plain error text for locked code.
    pub fn write(&self, rel: &str, text: &str) -> Result<(), String> {
        self.store
            .write_atomic(rel, text.as_bytes())
            .map_err(|e| e.to_string())
    }

    /// Runs `code` under the `ha` domain lock (06 §10.1, 07 §4.8); its
    /// errors and the lock's are reported as `<prefix>: <error>` when a
    /// prefix is given. A refused rewrite is reported as it is.
    pub fn locked<T>(
        &mut self,
        prefix: Option<&str>,
        code: impl FnOnce(&mut Ctx<'a>) -> Result<T, EditError>,
    ) -> Result<T, CliError> {
        let store = self.store;
        let mut on_wait = |line: &str| output::eprint(&format!("{line}\n"));
        let msg = match with_domain_lock(store, "ha", &mut on_wait, || code(self)) {
            Ok(v) => return Ok(v),
            Err(Locked::Code(EditError::Refused(r))) => return Err(CliError::Refused(r)),
            Err(Locked::Code(EditError::Failed(m))) => m,
            Err(lock) => lock.to_string(),
        };
        Err(match prefix {
            Some(p) => op_err(format!("{p}: {msg}")),
            None => op_err(msg),
        })
    }

    /// Appends one command to `crm_commands` under the lock (06 §8.3).
    pub fn enqueue(&mut self, command: &str) -> Result<(), CliError> {
        let mut on_wait = |line: &str| output::eprint(&format!("{line}\n"));
        files::queue_crm_command(self.store, command, &mut on_wait).map_err(|e| match e {
            Locked::Code(msg) => op_err(msg),
            lock => op_err(lock.to_string()),
        })
    }

    /// The check of operations that create files (06 §10.1): quorum, then
    /// the `ha` directory.
    pub fn check_quorum_and_create_dir(&self) -> Result<(), CliError> {
        if !self.store.quorate() {
            return Err(op_err("cluster not ready - no quorum?"));
        }
        self.store.create_dir("ha")?;
        Ok(())
    }
}

/// Entry point of the role: argv with argv[0] = `ha-manager`.
pub fn main(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The node configuration decides the backend (pmxcfs or etcd); a
    // node without one is a Proxmox VE node, as before.
    let store = match node_config::load()
        .map_err(|e| e.to_string())
        .and_then(|cfg| open_store(&cfg))
    {
        Ok(s) => s,
        Err(e) => {
            output::error(e);
            return EXIT_FAILURE;
        }
    };
    run(store.as_ref(), &args)
}

/// Runs one command line (without argv[0]) against `store` and returns
/// the exit status. Order of checks as upstream (06 §9.1, §9.7a): no
/// command, the hidden commands, incomplete command, pmxcfs mounted,
/// unknown command, arguments, parameters, the operation.
pub fn run(store: &dyn ClusterStore, args: &[String]) -> i32 {
    match execute(store, args) {
        Ok(()) => 0,
        Err(e) => {
            output::eprint(&e.render());
            EXIT_FAILURE
        }
    }
}

fn execute(store: &dyn ClusterStore, args: &[String]) -> Result<(), CliError> {
    let Some(first) = args.first() else {
        return Err(CliError::Command("no command specified".into()));
    };
    match first.as_str() {
        "verifyapi" => return Ok(()),
        "bashcomplete" => {
            completion::bashcomplete(store, &args[1..]);
            return Ok(());
        }
        "completions" => return completion::print_script(args.get(1).map(String::as_str)),
        "man" => {
            output::print(&completion::man_page());
            return Ok(());
        }
        // The multi-call binary's contract (00 "Dispatch"): every role
        // answers `--help` and `--version`, even without pmxcfs.
        "--help" | "-h" => {
            output::print(&commands::usage_listing());
            return Ok(());
        }
        "--version" | "-V" => {
            output::print(&format!(
                "{} {}\n",
                commands::EXE,
                env!("CARGO_PKG_VERSION")
            ));
            return Ok(());
        }
        _ => {}
    }
    let resolved = commands::resolve(args);
    if let Resolved::Incomplete(name) = &resolved {
        return Err(CliError::Command(format!("incomplete command '{name}'")));
    }
    if !store.is_mounted() {
        return Err(op_err("pve configuration filesystem (pmxcfs) not mounted"));
    }
    let (def, name, rest) = match resolved {
        Resolved::Cmd(def, name, rest) => (def, name, rest),
        Resolved::Unknown(name) | Resolved::Incomplete(name) => {
            return Err(CliError::Command(format!("unknown command '{name}'")))
        }
    };
    let mut params = args::parse(def, &rest).map_err(|err| CliError::Args {
        err,
        usage: def.usage(&name),
    })?;
    let errors = args::validate(def, &params);
    if !errors.is_empty() {
        return Err(CliError::Params {
            errors,
            usage: def.usage(&name),
        });
    }
    let mut ctx = Ctx::new(store);
    (def.run)(&mut ctx, &mut params)
}

/// `help [<command…>] [--verbose]`: the usage listing, or one command's
/// usage (verbose by default when a command is named, as upstream).
pub fn help(_ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let words = p.extra_args().to_vec();
    let verbose = p.flag("verbose").unwrap_or(!words.is_empty());
    if words.is_empty() {
        if verbose {
            output::print(&verbose_listing());
        } else {
            output::print(&commands::usage_listing());
        }
        return Ok(());
    }
    match commands::resolve(&words) {
        Resolved::Unknown(name) => Err(CliError::Command(format!("unknown command '{name}'"))),
        Resolved::Incomplete(name) => {
            let mut s = String::new();
            for (_, full, def) in commands::listing() {
                if !full.is_empty() && full.starts_with(&format!("{name} ")) {
                    s.push_str(&if verbose {
                        full_usage(def, &full)
                    } else {
                        format!("USAGE: {}\n", def.usage(&full))
                    });
                }
            }
            output::print(&s);
            Ok(())
        }
        Resolved::Cmd(def, name, _) => {
            output::print(&if verbose {
                full_usage(def, &name)
            } else {
                format!("USAGE: {}\n", def.usage(&name))
            });
            Ok(())
        }
    }
}

/// Every command's full usage.
fn verbose_listing() -> String {
    let mut s = String::new();
    for (_, name, def) in commands::listing() {
        if !name.is_empty() {
            s.push_str(&full_usage(def, &name));
        }
    }
    s
}

/// One command's usage with its description and parameters.
pub fn full_usage(def: &CmdDef, name: &str) -> String {
    let mut s = format!("USAGE: {}\n\n  {}\n\n", def.usage(name), def.about);
    for a in def.args {
        if let Some(p) = def.param(a) {
            s.push_str(&format!(
                "  <{}>: {}\n\n    {}\n\n",
                p.name,
                value_hint(p),
                p.desc
            ));
        }
    }
    for p in def.option_params() {
        if def.args.contains(&p.name) {
            continue;
        }
        let default = p
            .default
            .map(|d| format!(" (default={d})"))
            .unwrap_or_default();
        s.push_str(&format!(
            "  --{} {}{default}\n\n    {}\n\n",
            p.name,
            value_hint(p),
            p.desc
        ));
    }
    s
}

/// The `<type>` hint of a parameter in help texts.
pub fn value_hint(p: &commands::Param) -> String {
    use commands::{Fmt, Kind};
    match p.kind {
        Kind::Bool => "<boolean>".to_string(),
        Kind::Int { min: Some(m) } => format!("<integer> ({m} - N)"),
        Kind::Int { min: None } => "<integer>".to_string(),
        Kind::Str { .. } => "<string>".to_string(),
        Kind::Enum(words) => format!("<{}>", words.join(" | ")),
        Kind::Format { fmt, .. } => match fmt {
            Fmt::SidOrVmid | Fmt::Sid => "<type>:<name>".to_string(),
            Fmt::SidList => "<type>:<name>{,<type>:<name>}*".to_string(),
            Fmt::ConfigId => "<string>".to_string(),
            Fmt::ConfigIdList => "<string>".to_string(),
            Fmt::NodeName => "<string>".to_string(),
            Fmt::HaNodeList => "<node>[:<pri>]{,<node>[:<pri>]}*".to_string(),
        },
        Kind::Rest => "<array>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_errors_render_with_blank_line_after_format_errors() {
        let mut errors = BTreeMap::new();
        errors.insert(
            "node".to_string(),
            "invalid format - value does not look like a valid node name\n".to_string(),
        );
        let e = CliError::Params {
            errors,
            usage: "ha-manager crm-command migrate <sid> <node>".into(),
        };
        assert_eq!(
            e.render(),
            "400 Parameter verification failed.\nnode: invalid format - value does not look like a valid node name\n\nha-manager crm-command migrate <sid> <node>\n"
        );
    }

    #[test]
    fn option_errors_print_the_parser_lines_first() {
        let e = CliError::Args {
            err: ArgError::Options(vec!["Unknown option: foo".into()]),
            usage: "ha-manager add <sid> [OPTIONS]".into(),
        };
        assert_eq!(
            e.render(),
            "Unknown option: foo\n400 unable to parse option\nha-manager add <sid> [OPTIONS]\n"
        );
    }
}
