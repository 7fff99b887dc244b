//! Shell completion and the man page (06 §9.8, 07 §8.4). Completion keeps
//! upstream's protocol: the bash and zsh scripts call the hidden
//! `ha-manager bashcomplete <cmd> <cur> <prev>` with `COMP_LINE` /
//! `COMP_POINT` set, which completes command words, options and dynamic
//! values (sids, groups, rules, nodes) from the live cluster files. The
//! man page is rendered by clap_mangen from a clap command built out of
//! the same command table the parser uses.

use std::collections::BTreeSet;

use super::commands::{self, CmdDef, Comp, Entry, Expansion, Kind, EXE, TOP};
use super::{full_usage, op_err, value_hint, CliError, Ctx};
use crate::cli::output;
use crate::cluster::{ClusterStore, GuestKind};

/// The bash completion script (upstream's: `:` is removed from the word
/// break characters so `vm:100` completes as one word).
pub const BASH_SCRIPT: &str = "# ha-manager bash completion\n\
\n\
# see http://tiswww.case.edu/php/chet/bash/FAQ\n\
# and __ltrim_colon_completions() in /usr/share/bash-completion/bash_completion\n\
# this modifies global var, but I found no better way\n\
COMP_WORDBREAKS=${COMP_WORDBREAKS//:}\n\
\n\
complete -o default -C 'ha-manager bashcomplete' ha-manager\n";

/// The zsh completion function: the same protocol as bash.
pub const ZSH_SCRIPT: &str = "#compdef ha-manager\n\
\n\
_ha-manager() {\n\
    local cwords line point cmd curr prev\n\
    cwords=${#words[@]}\n\
    line=$words\n\
    point=${#line}\n\
    cmd=${words[1]}\n\
    curr=${words[cwords]}\n\
    prev=${words[cwords-1]}\n\
    compadd -- $(COMP_CWORD=\"$cwords\" COMP_LINE=\"$line\" COMP_POINT=\"$point\" \\\n\
        ha-manager bashcomplete \"$cmd\" \"$curr\" \"$prev\")\n\
}\n";

/// `ha-manager completions <bash|zsh>`.
pub fn print_script(shell: Option<&str>) -> Result<(), CliError> {
    match shell {
        Some("bash") => output::print(BASH_SCRIPT),
        Some("zsh") => output::print(ZSH_SCRIPT),
        _ => return Err(op_err("usage: ha-manager completions <bash|zsh>")),
    }
    Ok(())
}

/// Splits a command line like a shell would (quotes and backslashes), as
/// far as completion needs it.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
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

/// `ha-manager bashcomplete <cmd> <cur> <prev>`: prints the candidates
/// for the word under the cursor, one per line, those starting with
/// `<cur>`.
pub fn bashcomplete(store: &dyn ClusterStore, args: &[String]) {
    let (Some(_), Some(cur), Some(_)) = (args.first(), args.get(1), args.get(2)) else {
        return;
    };
    let (Ok(line), Ok(point)) = (std::env::var("COMP_LINE"), std::env::var("COMP_POINT")) else {
        return;
    };
    let point = point.parse::<usize>().unwrap_or(line.len()).min(line.len());
    let head = line.get(..point).unwrap_or(&line);
    let mut words = split_words(head);
    if words.is_empty() {
        return;
    }
    words.remove(0);
    if head.ends_with(char::is_whitespace) || words.is_empty() {
        words.push(String::new());
    }
    let partial = words.pop().unwrap_or_default();
    let mut text = String::new();
    for c in candidates(store, &words, &partial) {
        if c.starts_with(cur.as_str()) {
            text.push_str(&c);
            text.push('\n');
        }
    }
    output::print(&text);
}

/// The candidates for the word after `done` (the complete words after
/// the program name).
pub fn candidates(store: &dyn ClusterStore, done: &[String], partial: &str) -> Vec<String> {
    let mut words: Vec<String> = done.to_vec();
    'restart: loop {
        let mut level: &'static [(&'static str, Entry)] = TOP;
        for i in 0..words.len() {
            match commands::expand(level, &words[i]) {
                Expansion::Found(_, Entry::Group(next)) => level = next,
                Expansion::Found(_, Entry::Cmd(def)) => {
                    return arg_candidates(store, def, &words[i + 1..], partial)
                }
                Expansion::Found(_, Entry::Alias(exp)) => {
                    let rest = words.split_off(i + 1);
                    words.truncate(i);
                    words.extend(exp.iter().map(|s| s.to_string()));
                    words.extend(rest);
                    continue 'restart;
                }
                Expansion::Ambiguous | Expansion::None => return Vec::new(),
            }
        }
        return level.iter().map(|(n, _)| n.to_string()).collect();
    }
}

fn is_option(w: &str) -> bool {
    w.len() > 1 && w.starts_with('-') && w != "--"
}

/// The parameter an option word names (any dash count, unique prefix).
fn option_param(def: &CmdDef, word: &str) -> Option<&'static commands::Param> {
    let name = word
        .trim_start_matches('-')
        .split('=')
        .next()?
        .to_lowercase();
    let params = def.option_params();
    params.iter().find(|p| p.name == name).copied().or_else(|| {
        let hits: Vec<_> = params
            .iter()
            .filter(|p| p.name.starts_with(&name))
            .collect();
        (hits.len() == 1).then(|| *hits[0])
    })
}

fn arg_candidates(
    store: &dyn ClusterStore,
    def: &CmdDef,
    done: &[String],
    partial: &str,
) -> Vec<String> {
    if let Some(prev) = done.last().filter(|w| is_option(w) && !w.contains('=')) {
        if let Some(p) = option_param(def, prev).filter(|p| p.kind != Kind::Bool) {
            return values(store, p);
        }
    }
    if partial.starts_with('-') {
        let used: BTreeSet<&str> = done
            .iter()
            .filter(|w| is_option(w))
            .filter_map(|w| option_param(def, w).map(|p| p.name))
            .collect();
        return def
            .option_params()
            .into_iter()
            .filter(|p| !def.args.contains(&p.name) && !used.contains(p.name))
            .map(|p| format!("--{}", p.name))
            .collect();
    }
    let mut pos = 0;
    let mut i = 0;
    while i < done.len() {
        if is_option(&done[i]) {
            let takes_value = option_param(def, &done[i]).is_some_and(|p| p.kind != Kind::Bool);
            i += if takes_value && !done[i].contains('=') {
                2
            } else {
                1
            };
            continue;
        }
        pos += 1;
        i += 1;
    }
    match def.args.get(pos).and_then(|a| def.param(a)) {
        Some(p) if p.kind == Kind::Rest => {
            // `help <command…>`: complete command words.
            candidates(store, &done[pos.min(done.len())..], partial)
        }
        Some(p) => values(store, p),
        None => Vec::new(),
    }
}

/// Dynamic values of a parameter (06 §9.8).
fn values(store: &dyn ClusterStore, p: &commands::Param) -> Vec<String> {
    if let Kind::Enum(words) = p.kind {
        return words.iter().map(|w| w.to_string()).collect();
    }
    let mut ctx = Ctx::new(store);
    let quiet = |v: Result<Vec<String>, CliError>| v.unwrap_or_default();
    match p.comp {
        Comp::None => Vec::new(),
        Comp::Sid | Comp::SidList => quiet(
            ctx.resources()
                .map(|c| c.sections().map(|(id, _)| id.clone()).collect()),
        ),
        Comp::NewSid => {
            let configured: BTreeSet<String> = quiet(
                ctx.resources()
                    .map(|c| c.sections().map(|(id, _)| id.clone()).collect()),
            )
            .into_iter()
            .collect();
            store
                .vmlist()
                .ids
                .iter()
                .filter_map(|(id, g)| match g.kind {
                    GuestKind::Qemu => Some(format!("vm:{id}")),
                    GuestKind::Lxc => Some(format!("ct:{id}")),
                    GuestKind::Other(_) => None,
                })
                .filter(|sid| !configured.contains(sid))
                .collect()
        }
        Comp::Group => quiet(
            ctx.groups()
                .map(|g| g.sections().map(|(id, _)| id.clone()).collect()),
        ),
        Comp::Rule => quiet(
            ctx.rules()
                .map(|r| r.sections().map(|(id, _)| id.clone()).collect()),
        ),
        Comp::MigrationTarget => {
            let local = store.local_node();
            store
                .members()
                .nodes
                .iter()
                .filter(|(n, m)| m.online && **n != local)
                .map(|(n, _)| n.clone())
                .collect()
        }
        Comp::Node | Comp::NodeList => store.members().nodes.keys().cloned().collect(),
    }
}

/// A clap command mirroring the command tree, for the man page (and any
/// other clap-based generator).
pub fn clap_command() -> clap::Command {
    let mut details = String::from("COMMANDS\n\n");
    for (_, name, def) in commands::listing() {
        if !name.is_empty() {
            details.push_str(&full_usage(def, &name));
        }
    }
    let cmd = clap::Command::new(EXE)
        .about("Proxmox VE HA Manager")
        .long_about(
            "ha-manager handles management of user-defined cluster services. This includes \
             handling of user requests which may start, stop, relocate, migrate a service.",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .after_long_help(details);
    add_level(cmd, TOP)
}

fn add_level(mut cmd: clap::Command, level: &'static [(&'static str, Entry)]) -> clap::Command {
    for (name, entry) in level {
        let sub = match entry {
            Entry::Cmd(def) => cmd_for(name, def),
            Entry::Group(next) => add_level(
                clap::Command::new(*name).about(format!("{name} commands")),
                next,
            ),
            Entry::Alias(exp) => {
                clap::Command::new(*name).about(format!("An alias for '{EXE} {}'.", exp.join(" ")))
            }
        };
        cmd = cmd.subcommand(sub);
    }
    cmd
}

fn cmd_for(name: &'static str, def: &'static CmdDef) -> clap::Command {
    let mut c = clap::Command::new(name).about(def.about);
    for a in def.args {
        if let Some(p) = def.param(a) {
            c = c.arg(
                clap::Arg::new(p.name)
                    .value_name(p.name)
                    .help(p.desc)
                    .required(!p.optional)
                    .num_args(if p.kind == Kind::Rest {
                        0..=usize::MAX
                    } else {
                        1..=1
                    }),
            );
        }
    }
    for p in def.option_params() {
        if def.args.contains(&p.name) {
            continue;
        }
        let mut help = format!("{} {}", value_hint(p), p.desc);
        if let Some(d) = p.default {
            help.push_str(&format!(" (default: {d})"));
        }
        c = c.arg(
            clap::Arg::new(p.name)
                .long(p.name)
                .value_name(p.name)
                .help(help)
                .num_args(if p.kind == Kind::Bool { 0..=1 } else { 1..=1 }),
        );
    }
    c
}

/// The man page of `ha-manager` (section 1), in roff.
pub fn man_page() -> String {
    crate::cli::man::render(clap_command(), "1").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_words("ha-manager add 'a b' \"c\\\"d\" e\\ f"),
            ["ha-manager", "add", "a b", "c\"d", "e f"]
        );
    }

    #[test]
    fn clap_command_is_consistent() {
        clap_command().debug_assert();
        assert!(man_page().contains("ha\\-manager"));
    }
}
