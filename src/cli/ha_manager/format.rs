//! Upstream's generic result formatter (06 §9.6, §9.7a): text tables with
//! UTF-8 or ASCII borders, compact JSON, Perl-style pretty JSON and
//! libyaml-style YAML, chosen by `--output-format` and the table options.

use std::io::IsTerminal;

use serde_json::{Map, Value as Json};

use super::Params;
use crate::cli::output;
use crate::types::perl;
use crate::types::perl::json::{self, Floats, Layout};

/// The output options of a command (06 §9.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// `text`, `json`, `json-pretty` or `yaml`.
    pub format: String,
    /// Print the title row.
    pub header: bool,
    /// Draw the frame.
    pub border: bool,
    /// Print nothing.
    pub quiet: bool,
    /// Box-drawing characters (a UTF-8 locale).
    pub utf8: bool,
    /// Cut lines to this width (stdout is a terminal).
    pub columns: Option<usize>,
}

impl FormatOptions {
    /// The options given on the command line plus what the terminal says.
    pub fn from_params(p: &Params) -> Self {
        let (utf8, columns) = terminal();
        FormatOptions {
            format: p.get("output-format").unwrap_or("text").to_string(),
            header: !p.flag("noheader").unwrap_or(false),
            border: !p.flag("noborder").unwrap_or(false),
            quiet: p.flag("quiet").unwrap_or(false),
            utf8,
            columns,
        }
    }
}

/// The locale's codeset is UTF-8 (`LC_ALL`, then `LC_CTYPE`, then `LANG`,
/// as the C library picks it; glibc reports `utf8` as `UTF-8` too), and the
/// terminal width when stdout is a terminal (`COLUMNS`, else 80).
pub fn terminal() -> (bool, Option<usize>) {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    let codeset = locale
        .split_once('.')
        .map(|(_, c)| c.split('@').next().unwrap_or_default().to_ascii_lowercase())
        .unwrap_or_default();
    let utf8 = codeset == "utf-8" || codeset == "utf8";
    let columns = std::io::stdout().is_terminal().then(|| {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(80)
    });
    (utf8, columns)
}

/// Prints an index result in the chosen format. `cols` are the text
/// table's columns with whether each is boolean-typed.
pub fn print_result(items: &[Map<String, Json>], cols: &[(&str, bool)], opts: &FormatOptions) {
    if opts.quiet {
        return;
    }
    let value = Json::Array(items.iter().cloned().map(Json::Object).collect());
    let text = match opts.format.as_str() {
        "json" => format!("{}\n", compact(&value)),
        "json-pretty" => pretty(&value),
        "yaml" => yaml(&value),
        _ => table(items, cols, opts),
    };
    output::print(&text);
}

/// Compact JSON with keys sorted at every level (no newline).
pub fn compact(v: &Json) -> String {
    json::write(v, Layout::Compact, Floats::RoundTrip)
}

/// Perl's `JSON->pretty->canonical` (06 §9.3): keys sorted, three spaces
/// per level, `"key" : value`, `{}`/`[]` for empty containers, final
/// newline. Doubles keep serde_json's form, as this output always had.
pub fn pretty(v: &Json) -> String {
    json::write(v, Layout::Pretty, Floats::RoundTrip)
}

/// YAML as libyaml dumps it (06 §9.7a): a `---` start, keys sorted, block
/// sequences not indented under their key, empty containers in flow
/// style (`--- []`).
pub fn yaml(v: &Json) -> String {
    let mut out = String::from("---");
    match v {
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml_seq(a, 0, &mut out);
        }
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml_map(m, 0, &mut out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
    out
}

fn yaml_map(m: &Map<String, Json>, indent: usize, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.iter().enumerate() {
        // The first key of a map inside a sequence item follows the `- `.
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_str(k));
        out.push(':');
        yaml_value(&m[*k], indent, out, true);
    }
}

fn yaml_seq(a: &[Json], indent: usize, out: &mut String) {
    for (i, e) in a.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push('-');
        match e {
            Json::Object(m) if !m.is_empty() => {
                out.push(' ');
                yaml_map(m, indent + 2, out);
            }
            Json::Array(inner) if !inner.is_empty() => {
                out.push(' ');
                yaml_seq(inner, indent + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&yaml_scalar(other));
                out.push('\n');
            }
        }
    }
}

/// A map value: scalars on the key's line, maps indented below, sequences
/// at the key's own indentation (libyaml's style).
fn yaml_value(v: &Json, indent: usize, out: &mut String, _in_map: bool) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml_map(m, indent + 2, out);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml_seq(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&yaml_scalar(other));
            out.push('\n');
        }
    }
}

fn yaml_scalar(v: &Json) -> String {
    match v {
        Json::Null => "~".to_string(),
        Json::Bool(b) => if *b { "1" } else { "''" }.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => yaml_str(s),
        Json::Array(_) => "[]".to_string(),
        Json::Object(_) => "{}".to_string(),
    }
}

/// A string scalar: plain where libyaml allows it, single-quoted where it
/// would be read back as something else or is not allowed plain, and
/// double-quoted with escapes when it has characters a single-quoted
/// scalar cannot carry.
fn yaml_str(s: &str) -> String {
    if s.chars().any(|c| c.is_control() && c != '\t') || s.contains('\t') {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        return out;
    }
    if needs_quotes(s) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty()
        || matches!(
            s,
            "~" | "null" | "true" | "false" | "Null" | "NULL" | "True" | "False"
        )
    {
        return true;
    }
    if looks_like_number(s) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-x`, `?x`, `:x` are plain-safe when followed by a non-space,
        // except in flow context; libyaml quotes the indicators anyway.
        return true;
    }
    s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
}

fn looks_like_number(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    !t.is_empty()
        && t.parse::<f64>().is_ok()
        && t.bytes().all(|b| {
            b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+' || b == b'-'
        })
}

/// One table cell's text: booleans as `1`/`0`, numbers as written,
/// missing values empty.
fn cell(v: Option<&Json>, boolean: bool) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(v @ (Json::String(_) | Json::Number(_))) if boolean => {
            if perl::value_truthy(v) { "1" } else { "0" }.to_string()
        }
        Some(Json::Bool(b)) => if *b { "1" } else { "0" }.to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The text table (06 §9.6): rows sorted (stably) by the string value of
/// the first column; widths in characters; cells split on newlines; an
/// empty list prints nothing.
pub fn table(items: &[Map<String, Json>], cols: &[(&str, bool)], opts: &FormatOptions) -> String {
    if items.is_empty() || cols.is_empty() {
        return String::new();
    }
    let mut rows: Vec<Vec<Vec<String>>> = items
        .iter()
        .map(|m| {
            cols.iter()
                .map(|(c, b)| {
                    cell(m.get(*c), *b)
                        .split('\n')
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        })
        .collect();
    rows.sort_by(|a, b| a[0].join("\n").cmp(&b[0].join("\n")));
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .flat_map(|r| r[i].iter())
                .map(|l| width(l))
                .chain(std::iter::once(width(title)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let n = cols.len();
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(width(s))));
    let line = |cells: &[String]| -> String {
        if opts.border {
            let bar = if opts.utf8 { "│" } else { "|" };
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                s.push_str(&format!("{bar} {} ", pad(c, widths[i])));
            }
            s.push_str(bar);
            s
        } else {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(&pad(c, widths[i]));
                    s.push(' ');
                }
            }
            s
        }
    };
    let rule = |left: &str, mid: &str, right: &str, fill: &str, close: bool| -> String {
        let mut s = String::new();
        for (i, w) in widths.iter().enumerate() {
            s.push_str(if i == 0 { left } else { mid });
            s.push_str(&fill.repeat(w + 2));
        }
        if close {
            s.push_str(right);
        }
        s
    };
    let (top, head, sep, bottom) = if opts.utf8 {
        (
            rule("┌", "┬", "┐", "─", true),
            rule("╞", "╪", "╡", "═", true),
            rule("├", "┼", "┤", "─", true),
            rule("└", "┴", "┘", "─", true),
        )
    } else {
        let sep = rule("+", "+", "+", "-", true);
        // Upstream's one-column ASCII header rule has no closing `+`.
        (
            sep.clone(),
            rule("+", "+", "+", "=", n > 1),
            sep.clone(),
            sep,
        )
    };
    let mut lines: Vec<String> = Vec::new();
    if opts.border {
        lines.push(top);
    }
    if opts.header {
        let titles: Vec<String> = cols.iter().map(|(t, _)| t.to_string()).collect();
        lines.push(line(&titles));
        if opts.border {
            lines.push(head);
        }
    }
    for (ri, r) in rows.iter().enumerate() {
        if opts.border && ri > 0 {
            lines.push(sep.clone());
        }
        let height = r.iter().map(Vec::len).max().unwrap_or(1);
        for h in 0..height {
            let cells: Vec<String> = r
                .iter()
                .map(|c| c.get(h).cloned().unwrap_or_default())
                .collect();
            lines.push(line(&cells));
        }
    }
    if opts.border {
        lines.push(bottom);
    }
    let mut out = String::new();
    for l in lines {
        match opts.columns {
            Some(c) => out.push_str(&l.chars().take(c).collect::<String>()),
            None => out.push_str(&l),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(utf8: bool, border: bool, header: bool) -> FormatOptions {
        FormatOptions {
            format: "text".into(),
            header,
            border,
            quiet: false,
            utf8,
            columns: None,
        }
    }

    fn items(v: Json) -> Vec<Map<String, Json>> {
        v.as_array()
            .map(|a| a.iter().filter_map(|e| e.as_object().cloned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn perl_pretty_json() {
        let v = json!({"b": [1, {"y": "x", "a": {}}], "a": []});
        assert_eq!(
            pretty(&v),
            "{\n   \"a\" : [],\n   \"b\" : [\n      1,\n      {\n         \"a\" : {},\n         \"y\" : \"x\"\n      }\n   ]\n}\n"
        );
    }

    #[test]
    fn ascii_one_column_table() {
        let t = table(
            &items(json!([{"rule": "r2"}, {"rule": "r1"}])),
            &[("rule", false)],
            &opts(false, true, true),
        );
        assert_eq!(
            t,
            "+------+\n| rule |\n+======\n| r1   |\n+------+\n| r2   |\n+------+\n"
        );
    }

    #[test]
    fn utf8_table_sorts_by_first_column_and_splits_lines() {
        let t = table(
            &items(
                json!([{"enabled": 1, "rule": "b", "comment": "x\ny"}, {"enabled": 0, "rule": "a"}]),
            ),
            &[("enabled", true), ("rule", false), ("comment", false)],
            &opts(true, true, true),
        );
        assert_eq!(
            t,
            "┌─────────┬──────┬─────────┐\n│ enabled │ rule │ comment │\n╞═════════╪══════╪═════════╡\n│ 0       │ a    │         │\n├─────────┼──────┼─────────┤\n│ 1       │ b    │ x       │\n│         │      │ y       │\n└─────────┴──────┴─────────┘\n"
        );
    }

    #[test]
    fn borderless_and_headerless() {
        let it = items(json!([{"a": "x", "b": "long"}]));
        assert_eq!(
            table(
                &it,
                &[("a", false), ("b", false)],
                &opts(false, false, true)
            ),
            "a b\nx long\n"
        );
        assert_eq!(
            table(
                &it,
                &[("a", false), ("b", false)],
                &opts(false, false, false)
            ),
            "x long\n"
        );
        assert_eq!(table(&[], &[("a", false)], &opts(false, true, true)), "");
    }

    #[test]
    fn yaml_like_libyaml() {
        let v =
            json!([{"rule": "r1", "order": 1, "errors": {"resources": ["a: b"]}, "comment": ""}]);
        assert_eq!(
            yaml(&v),
            "---\n- comment: ''\n  errors:\n    resources:\n    - 'a: b'\n  order: 1\n  rule: r1\n"
        );
        assert_eq!(yaml(&json!([])), "--- []\n");
    }
}
