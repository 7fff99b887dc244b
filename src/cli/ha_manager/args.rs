//! Upstream's argument syntax (06 §9.1, §9.7a): Getopt-style options with
//! one or two dashes, unique prefixes and any case, optional values for
//! booleans, repeatable list options, positional parameters filled in
//! order; then the parameter check against each command's schema with
//! upstream's `400 …` messages. Deliberately not clap: clap cannot take
//! `-nodes x`, `--verb` or `--purge vm:100` the way upstream does.

use std::collections::BTreeMap;

use super::commands::{CmdDef, Fmt, Kind};
use crate::config::section::schema::{check_config_id, is_ha_node_entry};
use crate::types::text::{is_space, split_list};

/// The parsed parameters of one command: name → value, booleans as `1` /
/// `0`, list options joined with `,`, `extra-args` as separate words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
    extra: Vec<String>,
}

impl Params {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Removes and returns the value of `name` (upstream `extract_param`).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// A boolean parameter (already normalised to `0`/`1`).
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v != "0")
    }

    /// Sets a value (tests and internal callers).
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }

    /// The words of `help`'s `extra-args`.
    pub fn extra_args(&self) -> &[String] {
        &self.extra
    }

    /// Every set parameter.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }
}

/// Why the command line could not be turned into parameters. Each prints
/// as upstream's `400 <message>`; [`ArgError::Options`] first prints the
/// option parser's own lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// Unknown, ambiguous or value-less options; one line each.
    #[error("unable to parse option")]
    Options(Vec<String>),
    /// A boolean option with a value that is not a boolean word.
    #[error("unable to parse boolean option")]
    Boolean,
    /// A required positional argument is missing.
    #[error("not enough arguments")]
    NotEnough,
    /// Positional arguments left over.
    #[error("too many arguments")]
    TooMany,
}

/// `1|on|yes|true` / `0|off|no|false`, any case.
pub fn parse_boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// Whether a word looks like an option to Getopt (`-x…`, `--x…`).
fn looks_like_option(w: &str) -> bool {
    w.len() > 1 && w.starts_with('-') && w != "--"
}

/// Parses the arguments after the command words (upstream `get_options`).
pub fn parse(def: &CmdDef, args: &[String]) -> Result<Params, ArgError> {
    let names: Vec<&'static str> = def.option_params().iter().map(|p| p.name).collect();
    let mut singles: BTreeMap<String, String> = BTreeMap::new();
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rest: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        }
        if !looks_like_option(a) {
            rest.push(a.clone());
            continue;
        }
        let body = a.strip_prefix("--").unwrap_or_else(|| &a[1..]);
        let (raw_name, inline) = match body.find('=') {
            Some(p) if p > 0 => (&body[..p], Some(body[p + 1..].to_string())),
            _ => (body, None),
        };
        let lname = raw_name.to_lowercase();
        let name = if names.contains(&lname.as_str()) {
            lname.clone()
        } else {
            let hits: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| n.starts_with(lname.as_str()))
                .collect();
            match hits.as_slice() {
                [one] => one.to_string(),
                [] => {
                    problems.push(format!("Unknown option: {lname}"));
                    continue;
                }
                many => {
                    problems.push(format!("Option {lname} is ambiguous ({})", many.join(", ")));
                    continue;
                }
            }
        };
        let Some(param) = def.param(&name) else {
            continue;
        };
        let value = match (param.kind, inline) {
            (_, Some(v)) => v,
            // An optional value takes the next word unless that looks like
            // an option (06 §9.1: `--purge vm:100` takes `vm:100`).
            (Kind::Bool, None) => match args.get(i) {
                Some(next) if next != "--" && !looks_like_option(next) => {
                    i += 1;
                    next.clone()
                }
                _ => String::new(),
            },
            (_, None) => match args.get(i) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => {
                    problems.push(format!("Option {name} requires an argument"));
                    continue;
                }
            },
        };
        let repeatable = matches!(param.kind, Kind::Format { fmt, .. } if fmt.is_list())
            || param.kind == Kind::Rest;
        if repeatable {
            lists.entry(name).or_default().push(value);
        } else {
            singles.insert(name, value);
        }
    }
    if !problems.is_empty() {
        return Err(ArgError::Options(problems));
    }

    // Booleans are converted before the positional arguments are counted,
    // so `remove --purge vm:100` reports the boolean (06 §9.1).
    for (k, v) in singles.iter_mut() {
        if def.param(k).is_some_and(|p| p.kind == Kind::Bool) {
            *v = match v.as_str() {
                "" => "1".to_string(),
                other => match parse_boolean(other) {
                    Some(b) => if b { "1" } else { "0" }.to_string(),
                    None => return Err(ArgError::Boolean),
                },
            };
        }
    }
    let mut out = Params::default();
    for (k, v) in lists {
        if k == "extra-args" {
            out.extra = v;
        } else {
            singles.insert(k, v.join(","));
        }
    }
    let mut rest = rest.into_iter();
    let mut assigned = 0;
    for name in def.args {
        let Some(p) = def.param(name) else { continue };
        if p.kind == Kind::Rest {
            out.extra = rest.by_ref().collect();
            assigned += 1;
            continue;
        }
        match rest.next() {
            Some(v) => {
                singles.insert(name.to_string(), v);
                assigned += 1;
            }
            None => break,
        }
    }
    if rest.next().is_some() {
        return Err(ArgError::TooMany);
    }
    if def.args[assigned.min(def.args.len())..]
        .iter()
        .any(|a| def.param(a).is_some_and(|p| !p.optional))
    {
        return Err(ArgError::NotEnough);
    }
    out.values = singles;
    Ok(out)
}

/// Checks every parameter against the command's schema (upstream's
/// JSON-schema validation). Returns `param → error` for the failures; an
/// error that ends in its own newline (the format validators') keeps it,
/// which leaves upstream's blank line in the output.
pub fn validate(def: &CmdDef, params: &Params) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for p in def.option_params() {
        if p.kind == Kind::Rest {
            continue;
        }
        match params.get(p.name) {
            None if !p.optional => {
                errors.insert(
                    p.name.to_string(),
                    "property is missing and it is not optional".to_string(),
                );
            }
            None => {}
            Some(v) => {
                if let Err(e) = check(p.kind, v) {
                    errors.insert(p.name.to_string(), e);
                }
            }
        }
    }
    errors
}

/// One value against its type (type, format, length, minimum, enum: the
/// first failure wins).
pub fn check(kind: Kind, v: &str) -> Result<(), String> {
    match kind {
        Kind::Bool | Kind::Rest => Ok(()),
        Kind::Int { min } => {
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("type check ('integer') failed - got '{v}'"));
            }
            let n: i128 = digits.parse().unwrap_or(i128::MAX);
            let n = if v.starts_with('-') { -n } else { n };
            match min {
                Some(m) if n < i128::from(m) => {
                    Err(format!("value must have a minimum value of {m}"))
                }
                _ => Ok(()),
            }
        }
        Kind::Str { max_len } => check_len(v, max_len),
        Kind::Enum(words) => {
            if words.contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "value '{v}' does not have a value in the enumeration '{}'",
                    words.join(", ")
                ))
            }
        }
        Kind::Format { fmt, max_len } => {
            check_format(fmt, v).map_err(|e| format!("invalid format - {e}\n"))?;
            check_len(v, max_len)
        }
    }
}

fn check_len(v: &str, max_len: Option<usize>) -> Result<(), String> {
    match max_len {
        Some(max) if v.chars().count() > max => {
            Err(format!("value may only be {max} characters long"))
        }
        _ => Ok(()),
    }
}

/// `^[a-z]+:\S+$`.
pub fn is_sid(v: &str) -> bool {
    match v.split_once(':') {
        Some((ty, name)) => {
            !ty.is_empty()
                && ty.bytes().all(|b| b.is_ascii_lowercase())
                && !name.is_empty()
                && !name.chars().any(is_space)
        }
        None => false,
    }
}

/// `pve-node`: `^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`.
pub fn is_node_name(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// The named format validators; the message is the validator's own.
pub fn check_format(fmt: Fmt, v: &str) -> Result<(), String> {
    const SID_ERR: &str = "value does not look like a valid ha resource id";
    match fmt {
        Fmt::SidOrVmid => {
            if is_sid(v) || (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) {
                Ok(())
            } else {
                Err(SID_ERR.to_string())
            }
        }
        Fmt::Sid => is_sid(v).then_some(()).ok_or_else(|| SID_ERR.to_string()),
        Fmt::SidList => split_list(v)
            .into_iter()
            .try_for_each(|e| is_sid(e).then_some(()).ok_or_else(|| SID_ERR.to_string())),
        Fmt::ConfigId => check_config_id(v),
        Fmt::ConfigIdList => split_list(v).into_iter().try_for_each(check_config_id),
        Fmt::NodeName => is_node_name(v)
            .then_some(())
            .ok_or_else(|| "value does not look like a valid node name".to_string()),
        Fmt::HaNodeList => split_list(v).into_iter().try_for_each(|e| {
            is_ha_node_entry(e)
                .then_some(())
                .ok_or_else(|| "value does not look like a valid ha node".to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ha_manager::commands::{ADD, GROUPADD, HELP, MIGRATE, REMOVE, STATUS};

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_any_dash_prefix_and_case() {
        let p = parse(&ADD, &words("vm:100 -STATE stopped --max_rel=2 --comm hi")).unwrap();
        assert_eq!(p.get("sid"), Some("vm:100"));
        assert_eq!(p.get("state"), Some("stopped"));
        assert_eq!(p.get("max_relocate"), Some("2"));
        assert_eq!(p.get("comment"), Some("hi"));
    }

    #[test]
    fn booleans_take_an_optional_value() {
        let p = parse(&GROUPADD, &words("g1 -nodes node1,node2 -restricted")).unwrap();
        assert_eq!(p.get("restricted"), Some("1"));
        let p = parse(&STATUS, &words("--verbose")).unwrap();
        assert_eq!(p.flag("verbose"), Some(true));
        let p = parse(&STATUS, &words("--verbose OFF")).unwrap();
        assert_eq!(p.get("verbose"), Some("0"));
        assert_eq!(
            parse(&REMOVE, &words("--purge vm:100")),
            Err(ArgError::Boolean)
        );
        let p = parse(&REMOVE, &words("vm:100 --purge --")).unwrap();
        assert_eq!(p.get("purge"), Some("1"));
    }

    #[test]
    fn option_errors() {
        assert_eq!(
            parse(&GROUPADD, &words("g1 --n x")),
            Err(ArgError::Options(vec![
                "Option n is ambiguous (nodes, nofailback)".into()
            ]))
        );
        assert_eq!(
            parse(&ADD, &words("vm:1 --Foo 1")),
            Err(ArgError::Options(vec!["Unknown option: foo".into()]))
        );
        assert_eq!(
            parse(&ADD, &words("vm:1 --state")),
            Err(ArgError::Options(vec![
                "Option state requires an argument".into()
            ]))
        );
        assert_eq!(parse(&MIGRATE, &words("vm:1")), Err(ArgError::NotEnough));
        assert_eq!(
            parse(&MIGRATE, &words("vm:1 n1 n2")),
            Err(ArgError::TooMany)
        );
    }

    #[test]
    fn lists_repeat_and_rest_collects() {
        let p = parse(&GROUPADD, &words("g --nodes a --nodes b:2")).unwrap();
        assert_eq!(p.get("nodes"), Some("a,b:2"));
        let p = parse(&HELP, &words("crm-command migrate")).unwrap();
        assert_eq!(p.extra_args(), ["crm-command", "migrate"]);
        let p = parse(&ADD, &words("-- -5")).unwrap();
        assert_eq!(p.get("sid"), Some("-5"));
    }

    #[test]
    fn validation_messages() {
        let p = parse(&ADD, &words("foo --max_restart -1 --state on")).unwrap();
        let e = validate(&ADD, &p);
        assert_eq!(
            e["sid"],
            "invalid format - value does not look like a valid ha resource id\n"
        );
        assert_eq!(e["max_restart"], "value must have a minimum value of 0");
        assert_eq!(
            e["state"],
            "value 'on' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored'"
        );
        let p = parse(&GROUPADD, &words("g1")).unwrap();
        assert_eq!(
            validate(&GROUPADD, &p)["nodes"],
            "property is missing and it is not optional"
        );
        assert!(check(Kind::Int { min: None }, "1.5").is_err());
    }
}
