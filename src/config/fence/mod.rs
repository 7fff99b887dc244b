//! fence.cfg, the hardware fence-device configuration: parse it, pick the
//! agent commands for a node, write it back (06 §6).
//!
//! The file is line oriented (`device` and `connect` lines, §6.1). Parsing
//! collects every line error and fails at the end; lines of unknown shape
//! are only warned about. Upstream's Perl truthiness shows through in a few
//! places (an argument string, sub-device number, node name or line that is
//! exactly `0` counts as missing); those quirks are kept because they change
//! which commands run.

pub mod shell;

use std::collections::BTreeMap;
use std::fmt;

use crate::config::Parsed;
use crate::types::perl::{compare_numbers, truthy};

use shell::{is_space, is_word, shell_quote, shell_quote_lossy, split_args};

/// The nodes the conformance report asks about (06 §6.6).
const REPORT_NODES: [&str; 3] = ["node1", "node2", "node3"];

/// Everything that can go wrong with fence.cfg.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceError {
    /// The file had line errors; parsing collects all of them (06 §6.1).
    /// Display gives upstream's text, ending in a newline.
    #[error("Encountered error(s) on parsing '{file}':\n{}", render_line_errors(.errors))]
    Parse {
        /// The file name as given to [`parse`].
        file: String,
        /// One entry per failed line, in file order.
        errors: Vec<LineError>,
    },
    /// Two devices share a priority, so the write order would be
    /// ambiguous (06 §6.5).
    #[error("Device '{0}' reuses priority! Priorities must be unique")]
    ReusedPriority(String),
    /// An argument that must be shell-quoted contains NUL, which no shell
    /// word can hold (String::ShellQuote refuses it as well).
    #[error("shell_quote(): No way to quote string containing null (\\000) bytes")]
    NulByte,
}

/// Renders the collected line errors, each as `line N: msg\n`.
fn render_line_errors(errors: &[LineError]) -> String {
    errors.iter().map(|e| format!("{e}\n")).collect()
}

/// One failed line of fence.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number, counting every line.
    pub line: usize,
    /// What was wrong.
    pub kind: LineErrorKind,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

/// The line errors of 06 §6.1, with upstream's messages as Display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineErrorKind {
    /// `device` for a sub-device that exists already.
    AlreadyDeclared {
        /// Device name.
        device: String,
        /// Sub-device number.
        sub_dev: String,
    },
    /// `connect` to a device without any declared sub-device.
    NotDeclared {
        /// Device name.
        device: String,
    },
    /// `connect` to a sub-device number the device does not have.
    NoParallelDevice {
        /// Device name.
        device: String,
        /// Sub-device number.
        sub_dev: String,
    },
    /// `connect` whose target holds no usable `node=<name>`.
    NodeNeeded {
        /// Device name.
        device: String,
    },
    /// `connect` of a node that the sub-device has already.
    AlreadyConnected {
        /// Node name.
        node: String,
        /// Device name.
        device: String,
        /// Sub-device number.
        sub_dev: String,
    },
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyDeclared { device, sub_dev } => {
                write!(f, "device '{device}:{sub_dev}' already declared")
            }
            Self::NotDeclared { device } => write!(
                f,
                "device '{device}' must be declared before you can connect to it"
            ),
            Self::NoParallelDevice { device, sub_dev } => {
                write!(f, "No parallel device '{device}:{sub_dev}' found")
            }
            Self::NodeNeeded { device } => write!(
                f,
                "node=nodename needed to connect device '{device}' to node"
            ),
            Self::AlreadyConnected {
                node,
                device,
                sub_dev,
            } => write!(
                f,
                "node '{node}' already connected to device '{device}:{sub_dev}'"
            ),
        }
    }
}

/// A parsed fence.cfg: the devices by name (06 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FenceConfig {
    /// Devices by name.
    pub devices: BTreeMap<String, FenceDevice>,
}

/// One fence device: a group of parallel sub-devices that are all used
/// together on the same try.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FenceDevice {
    /// Position in the fencing order (lower is tried first); unique within
    /// a parsed config.
    pub priority: i64,
    /// Sub-devices by number. The number is kept as the text of the file
    /// (`01` and `1` are different sub-devices) and maps iterate in string
    /// order, `1` < `10` < `2`, as upstream does (06 §6.3).
    pub sub_devs: BTreeMap<String, SubDevice>,
}

/// One sub-device: an agent, its arguments and the nodes it can fence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubDevice {
    /// The fence agent program.
    pub agent: String,
    /// Arguments for every node, usually `key=value`.
    pub args: Vec<String>,
    /// Extra arguments per connected node.
    pub node_args: BTreeMap<String, Vec<String>>,
}

/// One agent invocation for fencing a node (06 §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceCommand {
    /// The fence agent program.
    pub agent: String,
    /// The sub-device number, as written in the file.
    pub sub_dev: String,
    /// Device arguments followed by the node's arguments.
    pub params: Vec<String>,
}

impl FenceCommand {
    /// The agent's argument string (`gen_arg_str`, 06 §6.4). A NUL inside a
    /// value is dropped; [`FenceCommand::try_arg_string`] reports it.
    pub fn arg_string(&self) -> String {
        gen_arg_str(&self.params, |v| Ok(shell_quote_lossy(v))).unwrap_or_default()
    }

    /// The agent's argument string, failing like upstream on a value that
    /// contains NUL.
    pub fn try_arg_string(&self) -> Result<String, FenceError> {
        gen_arg_str(&self.params, shell_quote)
    }
}

/// `gen_arg_str` (06 §6.4) with the quoting function to use for values.
fn gen_arg_str(
    params: &[String],
    quote: impl Fn(&str) -> Result<String, FenceError>,
) -> Result<String, FenceError> {
    let mut words = Vec::with_capacity(params.len());
    for arg in params {
        let (key, value) = split_key_value(arg);
        // Perl: `if $value`, so an empty value and `0` count as none.
        let value = value.filter(|v| truthy(v));
        // Key length in bytes, as Perl measures a byte string.
        if key.len() == 1 {
            words.push(format!("-{key}"));
            if let Some(v) = value {
                words.push(quote(v)?);
            }
        } else {
            match value {
                Some(v) => words.push(format!("--{key}={}", quote(v)?)),
                None => words.push(format!("--{key}")),
            }
        }
    }
    Ok(words.join(" "))
}

/// Perl's `my ($key, $value) = split(/=/, $arg)`: trailing empty fields
/// vanish, so `a=` has no value, and anything after a second `=` is lost
/// (06 §6.4 quirk).
fn split_key_value(arg: &str) -> (&str, Option<&str>) {
    let mut fields: Vec<&str> = arg.split('=').collect();
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    let key = fields.first().copied().unwrap_or("");
    (key, fields.get(1).copied())
}

/// The two commands of fence.cfg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// `device <name>[:<n>] <agent> <args>`
    Device,
    /// `connect <name>[:<n>] node=<node> <args>`
    Connect,
}

/// A line matching `^(device|connect)\s+(\S+)\s+(\S+)\s+(.+)$`.
struct Line<'a> {
    command: Command,
    name: &'a str,
    target: &'a str,
    args: &'a str,
}

/// Removes a non-empty run of Perl whitespace from the front of `s`.
fn skip_space1(s: &str) -> Option<&str> {
    let rest = s.trim_start_matches(is_space);
    (rest.len() < s.len()).then_some(rest)
}

/// Splits `s` after its leading run of characters satisfying `keep`.
fn split_while(s: &str, keep: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(|c: char| !keep(c)).unwrap_or(s.len());
    s.split_at_checked(end).unwrap_or((s, ""))
}

/// Splits a non-empty run of non-whitespace off the front of `s`.
fn take_token(s: &str) -> Option<(&str, &str)> {
    let (token, rest) = split_while(s, |c| !is_space(c));
    (!token.is_empty()).then_some((token, rest))
}

impl<'a> Line<'a> {
    /// Matches one stripped line (06 §6.1 rule 3).
    fn parse(line: &'a str) -> Option<Self> {
        let (command, rest) = if let Some(rest) = line.strip_prefix("device") {
            (Command::Device, rest)
        } else {
            (Command::Connect, line.strip_prefix("connect")?)
        };
        let (name, rest) = take_token(skip_space1(rest)?)?;
        let (target, rest) = take_token(skip_space1(rest)?)?;
        // `\s+(.+)$`: the greedy `\s+` gives back one character when only
        // whitespace is left, so the argument string is never empty.
        let after = rest.trim_start_matches(is_space);
        let args = if !after.is_empty() && after.len() < rest.len() {
            after
        } else {
            let mut chars = rest.chars();
            let last = chars.next_back()?;
            // At least one whitespace character must remain for `\s+`.
            chars.next()?;
            rest.get(rest.len() - last.len_utf8()..)?
        };
        Some(Line {
            command,
            name,
            target,
            args,
        })
    }
}

/// Splits a name token into device name and sub-device number (06 §6.1
/// rule 5): the leading word characters name the device (`d-e` is `d`),
/// digits after a following `:` are the number, default and `0` give `1`;
/// a token not starting with a word character is the name as a whole.
fn split_name(token: &str) -> (&str, String) {
    let (name, rest) = split_while(token, is_word);
    if name.is_empty() {
        return (token, "1".to_string());
    }
    let digits = rest
        .strip_prefix(':')
        .map(|r| split_while(r, |c| c.is_ascii_digit()).0);
    let number = match digits {
        Some(d) if truthy(d) => d.to_string(),
        _ => "1".to_string(),
    };
    (name, number)
}

/// The node of a `connect` target: the word characters after the first
/// `node=` that is followed by any (06 §6.1: `node=node2-x` is `node2`).
fn target_node(target: &str) -> Option<&str> {
    target.match_indices("node=").find_map(|(i, m)| {
        let node = split_while(target.get(i + m.len()..)?, is_word).0;
        (!node.is_empty()).then_some(node)
    })
}

/// Parses fence.cfg (06 §6.1, §6.2). `file` is only used in messages.
///
/// Warnings are the `<file> ignore line <N>: <line>` lines for lines of
/// unknown shape. Any line error makes the whole parse fail with all of
/// them collected in [`FenceError::Parse`].
pub fn parse(file: &str, text: &str) -> Result<Parsed<FenceConfig>, FenceError> {
    let mut config = FenceConfig::default();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    // Perl-false content is an empty configuration.
    if !truthy(text) {
        return Ok(Parsed {
            value: config,
            warnings,
        });
    }
    let mut counter: i64 = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = raw.trim_matches(|c| c == ' ' || c == '\t');
        // `next if !$line`: a line reading just `0` is skipped as well.
        if !truthy(line) || line.starts_with('#') {
            continue;
        }
        let Some(l) = Line::parse(line) else {
            warnings.push(format!("{file} ignore line {lineno}: {line}"));
            continue;
        };
        let args = split_args(l.args);
        let (name, sub_dev) = split_name(l.name);
        let result = match l.command {
            Command::Device => declare(&mut config, &mut counter, name, sub_dev, l.target, args),
            Command::Connect => connect(&mut config, name, sub_dev, l.target, args),
        };
        if let Err(kind) = result {
            errors.push(LineError { line: lineno, kind });
        }
    }
    if errors.is_empty() {
        Ok(Parsed {
            value: config,
            warnings,
        })
    } else {
        Err(FenceError::Parse {
            file: file.to_string(),
            errors,
        })
    }
}

/// A `device` line: adds the sub-device and assigns the device's priority.
fn declare(
    config: &mut FenceConfig,
    counter: &mut i64,
    name: &str,
    sub_dev: String,
    agent: &str,
    args: Vec<String>,
) -> Result<(), LineErrorKind> {
    if config
        .devices
        .get(name)
        .is_some_and(|d| d.sub_devs.contains_key(&sub_dev))
    {
        return Err(LineErrorKind::AlreadyDeclared {
            device: name.to_string(),
            sub_dev,
        });
    }
    let device = config.devices.entry(name.to_string()).or_default();
    device.sub_devs.insert(
        sub_dev,
        SubDevice {
            agent: agent.to_string(),
            args,
            node_args: BTreeMap::new(),
        },
    );
    // Quirk (06 §6.2): priority 0 counts as unset, so the first device
    // declared is moved to the end by its next sub-device.
    if device.priority == 0 {
        device.priority = *counter;
        *counter += 1;
    }
    Ok(())
}

/// A `connect` line: attaches a node to an existing sub-device.
fn connect(
    config: &mut FenceConfig,
    name: &str,
    sub_dev: String,
    target: &str,
    args: Vec<String>,
) -> Result<(), LineErrorKind> {
    let Some(device) = config.devices.get_mut(name) else {
        return Err(LineErrorKind::NotDeclared {
            device: name.to_string(),
        });
    };
    let Some(sub) = device.sub_devs.get_mut(&sub_dev) else {
        return Err(LineErrorKind::NoParallelDevice {
            device: name.to_string(),
            sub_dev,
        });
    };
    // `if (!$node)`: a node called `0` is no node.
    let Some(node) = target_node(target).filter(|n| truthy(n)) else {
        return Err(LineErrorKind::NodeNeeded {
            device: name.to_string(),
        });
    };
    if sub.node_args.contains_key(node) {
        return Err(LineErrorKind::AlreadyConnected {
            node: node.to_string(),
            device: name.to_string(),
            sub_dev,
        });
    }
    sub.node_args.insert(node.to_string(), args);
    Ok(())
}

impl FenceConfig {
    /// The devices in fencing order: ascending priority, ties (only in
    /// hand-made configs) by name.
    pub fn by_priority(&self) -> Vec<(&String, &FenceDevice)> {
        let mut devices: Vec<_> = self.devices.iter().collect();
        devices.sort_by_key(|(_, d)| d.priority);
        devices
    }

    /// `get_commands(node, try)` (06 §6.3): the commands of the
    /// (`try_`+1)-th device connected to `node`, one per connected
    /// sub-device in string order of the sub-device number; empty when there
    /// is no such device. A negative `try_` counts as 0; an empty node name
    /// or `0` (Perl-false) gets nothing.
    pub fn commands_for(&self, node: &str, try_: i64) -> Vec<FenceCommand> {
        if !truthy(node) {
            return Vec::new();
        }
        let mut remaining = try_.max(0);
        for (_, device) in self.by_priority() {
            let commands: Vec<FenceCommand> = device
                .sub_devs
                .iter()
                .filter_map(|(number, sub)| {
                    sub.node_args.get(node).map(|node_args| FenceCommand {
                        agent: sub.agent.clone(),
                        sub_dev: number.clone(),
                        params: sub.args.iter().chain(node_args).cloned().collect(),
                    })
                })
                .collect();
            if !commands.is_empty() {
                if remaining == 0 {
                    return commands;
                }
                remaining -= 1;
            }
        }
        Vec::new()
    }

    /// The number of devices with at least one sub-device connected to
    /// `node`, i.e. how many tries fencing `node` can make (06 §6.3).
    pub fn device_count_for(&self, node: &str) -> usize {
        self.devices
            .values()
            .filter(|d| d.sub_devs.values().any(|s| s.node_args.contains_key(node)))
            .count()
    }

    /// Writes the configuration (06 §6.5): devices by priority, each
    /// sub-device as a blank line, its `device` line with shell-quoted
    /// arguments and one `connect` line per node with the node arguments
    /// joined unquoted. Fails if two devices share a priority or a device
    /// argument contains NUL.
    pub fn write(&self) -> Result<String, FenceError> {
        let mut out = String::new();
        let mut last_priority = None;
        for (name, device) in self.by_priority() {
            if last_priority == Some(device.priority) {
                return Err(FenceError::ReusedPriority(name.clone()));
            }
            last_priority = Some(device.priority);
            for (number, sub) in &device.sub_devs {
                let args = sub
                    .args
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(" ");
                out.push_str(&format!("\ndevice {name}:{number} {} {args}\n", sub.agent));
                for (node, node_args) in &sub.node_args {
                    out.push_str(&format!(
                        "connect {name}:{number} node={node} {}\n",
                        node_args.join(" ")
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The fence conformance report of 06 §6.6 for one file: the parse error
/// as `[FenceConfig] …`, or for tries 0, 1, … the commands of `node1`,
/// `node2`, `node3` (sorted by numeric sub-device number) until a try in
/// which no node had any. Every line ends in `\n`.
pub fn conformance_report(file: &str, text: &str) -> String {
    let config = match parse(file, text) {
        Ok(parsed) => parsed.value,
        Err(e) => return error_line(&e),
    };
    let mut out = String::new();
    let mut try_: i64 = 0;
    loop {
        out.push_str(&format!("[try] {try_}\n"));
        let mut any = false;
        for node in REPORT_NODES {
            let mut commands = config.commands_for(node, try_);
            if commands.is_empty() {
                out.push_str(&format!("[{node}-cmd] none\n"));
                continue;
            }
            any = true;
            // Stable like Perl's merge sort: equal numbers (`1`, `01`)
            // keep their string order.
            commands.sort_by(|a, b| compare_numbers(&a.sub_dev, &b.sub_dev));
            for command in commands {
                match command.try_arg_string() {
                    Ok(args) => out.push_str(&format!("[{node}-cmd] {} {args}\n", command.agent)),
                    Err(e) => {
                        out.push_str(&error_line(&e));
                        return out;
                    }
                }
            }
        }
        if !any {
            return out;
        }
        try_ += 1;
    }
}

/// `[FenceConfig] <error>` with the error's final newline removed (the
/// test's logger chomps it), ending in exactly one newline.
fn error_line(e: &FenceError) -> String {
    let text = e.to_string();
    let text = text.strip_suffix('\n').unwrap_or(&text);
    format!("[FenceConfig] {text}\n")
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    fn ok(text: &str) -> Parsed<FenceConfig> {
        match parse("f.cfg", text) {
            Ok(p) => p,
            Err(e) => panic!("unexpected parse error: {e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse("f.cfg", text) {
            Ok(p) => panic!("unexpected success: {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn priorities(c: &FenceConfig) -> Vec<(&str, i64)> {
        c.devices
            .iter()
            .map(|(n, d)| (n.as_str(), d.priority))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_and_false_files_are_empty_configs() {
        for text in ["", "0", "\n\n", "# only a comment\n", "  \t\n0\n"] {
            let p = ok(text);
            assert_eq!(p.value, FenceConfig::default(), "{text:?}");
            assert!(p.warnings.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn device_and_connect_build_the_model() {
        let p = ok(
            "device pve fence_pve ip=\"1.2.3.4\" password=\"12\\\"345\"\n\
                    connect pve node=node1 plug=500 x\n",
        );
        let sub = &p.value.devices["pve"].sub_devs["1"];
        assert_eq!(sub.agent, "fence_pve");
        assert_eq!(sub.args, strings(&["ip=1.2.3.4", "password=12\"345"]));
        assert_eq!(sub.node_args["node1"], strings(&["plug=500", "x"]));
        assert_eq!(p.value.devices["pve"].priority, 0);
    }

    #[test]
    fn name_token_quirks() {
        let c = ok(
            "device d-e a x\ndevice f:0 a x\ndevice g:3z a x\ndevice h: a x\n\
                    device -x:3 a x\ndevice i:007 a x\n",
        )
        .value;
        assert!(c.devices["d"].sub_devs.contains_key("1"));
        assert!(c.devices["f"].sub_devs.contains_key("1"));
        assert!(c.devices["g"].sub_devs.contains_key("3"));
        assert!(c.devices["h"].sub_devs.contains_key("1"));
        assert!(c.devices["-x:3"].sub_devs.contains_key("1"));
        assert!(c.devices["i"].sub_devs.contains_key("007"));
    }

    #[test]
    fn priority_quirk_moves_the_first_device_back() {
        let c = ok("device a x y\ndevice b x y\ndevice a:2 x y\n").value;
        assert_eq!(priorities(&c), [("a", 2), ("b", 1)]);
        // A later device is never moved.
        let c = ok("device a x y\ndevice b x y\ndevice b:2 x y\n").value;
        assert_eq!(priorities(&c), [("a", 0), ("b", 1)]);
        let c = ok("device a x y\ndevice a:2 x y\ndevice b x y\n").value;
        assert_eq!(priorities(&c), [("a", 1), ("b", 2)]);
    }

    #[test]
    fn ignored_lines_warn_and_count_every_line() {
        let p =
            ok("\n# c\ndevice a\ndevice a x\nDevice a x y\n  connect a node=n1  \n0\nfoo bar\n");
        assert_eq!(
            p.warnings,
            [
                "f.cfg ignore line 3: device a",
                "f.cfg ignore line 4: device a x",
                "f.cfg ignore line 5: Device a x y",
                "f.cfg ignore line 6: connect a node=n1",
                "f.cfg ignore line 8: foo bar",
            ]
        );
        assert_eq!(p.value, FenceConfig::default());
    }

    #[test]
    fn each_error_message() {
        let text = "device a x y\n\
                    device a:1 x y\n\
                    connect b node=n1 p\n\
                    connect a:2 node=n1 p\n\
                    connect a nodes n1\n\
                    connect a node=0 p\n\
                    connect a node=n1 p\n\
                    connect a node=n1-x q\n";
        assert_eq!(
            err(text),
            "Encountered error(s) on parsing 'f.cfg':\n\
             line 2: device 'a:1' already declared\n\
             line 3: device 'b' must be declared before you can connect to it\n\
             line 4: No parallel device 'a:2' found\n\
             line 5: node=nodename needed to connect device 'a' to node\n\
             line 6: node=nodename needed to connect device 'a' to node\n\
             line 8: node 'n1' already connected to device 'a:1'\n"
        );
    }

    #[test]
    fn errors_are_checked_in_order() {
        // Undeclared device wins over a missing node=.
        assert!(err("connect a nonode x\n")
            .ends_with("line 1: device 'a' must be declared before you can connect to it\n"));
        // Missing sub-device wins over a missing node=.
        assert!(err("device a x y\nconnect a:2 nonode x\n")
            .ends_with("line 2: No parallel device 'a:2' found\n"));
    }

    #[test]
    fn failed_lines_contribute_nothing() {
        let e = parse("f", "device a x y\ndevice a x z\n").err();
        let Some(FenceError::Parse { errors, .. }) = e else {
            panic!("expected a parse error");
        };
        assert_eq!(
            errors,
            [LineError {
                line: 2,
                kind: LineErrorKind::AlreadyDeclared {
                    device: "a".into(),
                    sub_dev: "1".into()
                }
            }]
        );
    }

    #[test]
    fn target_node_takes_the_first_usable_node() {
        assert_eq!(target_node("node=node2-x"), Some("node2"));
        assert_eq!(target_node("xnode=ab"), Some("ab"));
        assert_eq!(target_node("node=-node=cd"), Some("cd"));
        assert_eq!(target_node("node="), None);
        assert_eq!(target_node("Node=ab"), None);
    }

    #[test]
    fn argument_string_edge_cases() {
        let c = ok("device a x \"unbalanced\ndevice b x 0\ndevice c x '' y\n").value;
        assert!(c.devices["a"].sub_devs["1"].args.is_empty());
        assert!(c.devices["b"].sub_devs["1"].args.is_empty());
        assert_eq!(c.devices["c"].sub_devs["1"].args, strings(&["", "y"]));
        // `\s+(.+)$` leaves the last whitespace character as arguments.
        let c = ok("device d x \r\ndevice e x \r\x0c\n").value;
        assert!(c.devices["d"].sub_devs["1"].args.is_empty());
        assert!(c.devices["e"].sub_devs["1"].args.is_empty());
        let p = ok("device f x \t \n");
        assert!(p.value.devices.is_empty());
        assert_eq!(p.warnings, ["f.cfg ignore line 1: device f x"]);
    }

    fn config(text: &str) -> FenceConfig {
        ok(text).value
    }

    fn cmd_lines(c: &FenceConfig, node: &str, try_: i64) -> Vec<String> {
        c.commands_for(node, try_)
            .iter()
            .map(|cmd| format!("{}:{} {}", cmd.agent, cmd.sub_dev, cmd.arg_string()))
            .collect()
    }

    #[test]
    fn commands_follow_priority_and_string_order() {
        let c = config(
            "device a:1 fa kk=1\ndevice a:2 fa kk=2\ndevice a:10 fa kk=10\n\
             connect a:1 node=n1 pp=1\nconnect a:2 node=n1 pp=2\nconnect a:10 node=n1 pp=10\n\
             device b fb kk=b\nconnect b node=n1\nconnect b node=n2 pp=3\n",
        );
        assert_eq!(
            cmd_lines(&c, "n1", 0),
            [
                "fa:1 --kk=1 --pp=1",
                "fa:10 --kk=10 --pp=10",
                "fa:2 --kk=2 --pp=2"
            ]
        );
        // `connect b node=n1` has no arguments part: ignored line.
        assert_eq!(cmd_lines(&c, "n1", 1), Vec::<String>::new());
        assert_eq!(cmd_lines(&c, "n2", 0), ["fb:1 --kk=b --pp=3"]);
        assert_eq!(cmd_lines(&c, "n2", -5), ["fb:1 --kk=b --pp=3"]);
        assert!(c.commands_for("n2", 1).is_empty());
        assert!(c.commands_for("", 0).is_empty());
        assert_eq!(c.device_count_for("n1"), 1);
        assert_eq!(c.device_count_for("n2"), 1);
        assert_eq!(c.device_count_for("n3"), 0);
    }

    #[test]
    fn commands_skip_devices_not_connected() {
        let c = config(
            "device a fa x\nconnect a node=n1 p\ndevice b fb y\nconnect b node=n2 q\n\
             device c fc z\nconnect c node=n1 r\n",
        );
        assert_eq!(cmd_lines(&c, "n1", 0), ["fa:1 -x -p"]);
        assert_eq!(cmd_lines(&c, "n1", 1), ["fc:1 -z -r"]);
        assert_eq!(c.device_count_for("n1"), 2);
    }

    fn arg_str(params: &[&str]) -> String {
        FenceCommand {
            agent: "a".into(),
            sub_dev: "1".into(),
            params: strings(params),
        }
        .arg_string()
    }

    #[test]
    fn gen_arg_str_rules() {
        assert_eq!(arg_str(&["x", "x=1", "ip=1.2.3.4"]), "-x -x 1 --ip=1.2.3.4");
        assert_eq!(
            arg_str(&["a=b=c", "a=", "abc=", "k=0", "key=0"]),
            "-a b -a --abc -k --key"
        );
        assert_eq!(arg_str(&["", "=", "=x", "==x", "a==b"]), "-- -- --=x -- -a");
        assert_eq!(
            arg_str(&["pw=12\"345", "u=f䶵₂,", "v=it's"]),
            "--pw='12\"345' -u 'f䶵₂,' -v 'it'\\''s'"
        );
        assert_eq!(arg_str(&["ä=1"]), "--ä=1");
        assert_eq!(arg_str(&[]), "");
    }

    #[test]
    fn nul_in_a_value_is_refused_or_dropped() {
        let cmd = FenceCommand {
            agent: "a".into(),
            sub_dev: "1".into(),
            params: strings(&["pw=a\0b"]),
        };
        assert_eq!(cmd.try_arg_string(), Err(FenceError::NulByte));
        assert_eq!(cmd.arg_string(), "--pw=ab");
    }

    #[test]
    fn writer_format() {
        // b is declared first, so b:10 moves it behind a (priority quirk).
        let c = config(
            "device b:2 fb ip=1 'x y'\ndevice a fa pw=\"12\\\"3\"\n\
             connect a node=n2 plug=2 \"q r\"\nconnect a node=n1 plug=1\ndevice b:10 fb z\n",
        );
        assert_eq!(
            c.write().ok().as_deref(),
            Some(
                "\ndevice a:1 fa 'pw=12\"3'\n\
                 connect a:1 node=n1 plug=1\n\
                 connect a:1 node=n2 plug=2 q r\n\
                 \ndevice b:10 fb z\n\
                 \ndevice b:2 fb 'ip=1' 'x y'\n"
            )
        );
        assert_eq!(FenceConfig::default().write().ok().as_deref(), Some(""));
    }

    #[test]
    fn writer_refuses_shared_priorities_and_nul() {
        let mut c = config("device a x y\ndevice b x y\n");
        if let Some(b) = c.devices.get_mut("b") {
            b.priority = 0;
        }
        assert_eq!(c.write(), Err(FenceError::ReusedPriority("b".into())));
        assert_eq!(
            c.write().err().map(|e| e.to_string()).as_deref(),
            Some("Device 'b' reuses priority! Priorities must be unique")
        );
        let c = config("device a x \"y\0\"\n");
        assert_eq!(c.write(), Err(FenceError::NulByte));
    }

    #[test]
    fn write_then_parse_keeps_order_and_content() {
        let c = config(
            "device a fa ip=1 \"pw=x'y\" 'q\\r'\ndevice b fb z\ndevice a:2 fa k\n\
             connect a node=n1 p=1\nconnect a:2 node=n1 p=2\nconnect b node=n2 p=3\n",
        );
        let again = config(&c.write().unwrap_or_default());
        let names = |c: &FenceConfig| -> Vec<String> {
            c.by_priority()
                .into_iter()
                .map(|(n, _)| n.clone())
                .collect()
        };
        assert_eq!(names(&again), names(&c));
        for (name, d) in &c.devices {
            assert_eq!(
                again.devices.get(name).map(|d| &d.sub_devs),
                Some(&d.sub_devs)
            );
        }
        // Priorities are renumbered once (the quirk's a=2, b=1 becomes
        // b=0, a=1) and are stable from then on.
        assert_eq!(priorities(&again), [("a", 1), ("b", 0)]);
        assert_eq!(config(&again.write().unwrap_or_default()), again);
    }

    #[test]
    fn numeric_sort_key_is_perls() {
        assert_eq!(compare_numbers("2", "10"), Ordering::Less);
        assert_eq!(compare_numbers("01", "1"), Ordering::Equal);
        // Beyond 64 bits Perl compares doubles (checked against perl).
        assert_eq!(
            compare_numbers("9007199254740993", "9007199254740992"),
            Ordering::Greater
        );
        assert_eq!(
            compare_numbers("18446744073709551615", "18446744073709551616"),
            Ordering::Equal
        );
        assert_eq!(
            compare_numbers("100000000000000000000", "100000000000000000001"),
            Ordering::Equal
        );
        assert_eq!(compare_numbers("x", "0"), Ordering::Equal);
    }

    #[test]
    fn report_for_a_parse_error_has_one_prefix() {
        assert_eq!(
            conformance_report("fence_cfgs/x.cfg", "connect a node=node1 p\n"),
            "[FenceConfig] Encountered error(s) on parsing 'fence_cfgs/x.cfg':\n\
             line 1: device 'a' must be declared before you can connect to it\n"
        );
    }

    #[test]
    fn report_tries_until_no_node_has_commands() {
        let text =
            "device p:2 fence_apc ip=1\ndevice p:1 fence_apc ip=2\ndevice p:01 fence_apc ip=3\n\
                    connect p:2 node=node1 plug=a\nconnect p:1 node=node1 plug=b\n\
                    connect p:01 node=node1 plug=c\ndevice q fq x\nconnect q node=node3 e\n";
        assert_eq!(
            conformance_report("f", text),
            "[try] 0\n\
             [node1-cmd] fence_apc --ip=3 --plug=c\n\
             [node1-cmd] fence_apc --ip=2 --plug=b\n\
             [node1-cmd] fence_apc --ip=1 --plug=a\n\
             [node2-cmd] none\n\
             [node3-cmd] fq -x -e\n\
             [try] 1\n\
             [node1-cmd] none\n\
             [node2-cmd] none\n\
             [node3-cmd] none\n"
        );
        assert_eq!(
            conformance_report("f", ""),
            "[try] 0\n[node1-cmd] none\n[node2-cmd] none\n[node3-cmd] none\n"
        );
    }

    #[test]
    fn report_with_empty_arguments_keeps_the_space() {
        let text = "device a fa \"\nconnect a node=node1 0\n";
        assert!(conformance_report("f", text).contains("[node1-cmd] fa \n"));
    }
}
