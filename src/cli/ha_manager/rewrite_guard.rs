//! What rewriting a section-config file would lose (issue 11, a deliberate
//! difference from upstream). Upstream's write commands parse the file,
//! keep what parsed and write that back, so an invalid section, a bad
//! property, a comment line or a `disable 0` silently disappears from the
//! admin's file. We list every such loss, with its line, and the write
//! commands refuse to rewrite a file that has any unless `--force` is
//! given (then they behave exactly as upstream).
//!
//! The list is the union of three sources, each catching what the others
//! cannot:
//! * the parser's warnings — every line it ignored, every section it
//!   skipped and every property it refused;
//! * a scan of the raw bytes for what the parser accepts without a word
//!   but the writer never reproduces: comment lines, CRLF line ends, bytes
//!   that are not UTF-8, and a section id defined twice (the later
//!   definition silently replaces the earlier one, 06 §2.2 step 6);
//! * a round trip: the value about to be written is written and read
//!   back, and every property that came from the file unchanged but does
//!   not survive is a loss (`disable 0`, `comment 0`, 06 §2.6 quirks).
//!
//! What the command itself removes is not a loss: problems inside a
//! section the command deletes are moot (`rules remove broken` may drop
//! an invalid rule), and a property the command sets or deletes replaces
//! whatever the file held (`rules set … --delete disable` fixes a
//! `disable 0`).
//!
//! Formatting alone (indentation, spacing, blank lines, key order, `007`
//! for 7) is not a loss: the writer normalises it and the meaning is
//! unchanged, so such files are rewritten without complaint.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::section::lex::{classify, Line};
use crate::config::section::{self, SectionConfig, SectionFormat, Value};
use crate::config::Parsed;

/// One thing a rewrite would drop or alter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// 1-based line in the file.
    pub line: usize,
    /// What would be lost, as a noun phrase.
    pub what: String,
}

/// Every problem of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblems {
    /// The file's path as shown to the admin.
    pub file: String,
    /// Sorted by line.
    pub problems: Vec<Problem>,
}

/// A refused rewrite: the files whose content would not survive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// One entry per refused file, in the order they were checked.
    pub files: Vec<FileProblems>,
}

impl Refusal {
    /// Joins two refusals of one command (e.g. `remove` rewrites both
    /// resources.cfg and rules.cfg).
    pub fn merge(mut self, other: Refusal) -> Refusal {
        self.files.extend(other.files);
        self
    }
}

/// The refusal text: one line per problem, then one summary line per file.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fp in &self.files {
            for p in &fp.problems {
                writeln!(
                    f,
                    "{} line {}: {} - refusing to rewrite (use --force to drop it)",
                    fp.file, p.line, p.what
                )?;
            }
            let n = fp.problems.len();
            writeln!(
                f,
                "{}: not rewritten, {n} problem{} would be lost - fix the file or repeat with --force",
                fp.file,
                if n == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// A file read for rewriting, with everything needed to judge a rewrite
/// of it: the problems found in the bytes, where its sections are, and
/// the value as parsed.
#[derive(Debug, Clone)]
pub struct Guard<T> {
    file: String,
    problems: Vec<Located>,
    layout: Layout,
    original: SectionConfig<T>,
}

/// A problem and the recorded section whose lines hold it, if any.
#[derive(Debug, Clone)]
struct Located {
    problem: Problem,
    section: Option<String>,
}

impl<T: Clone + PartialEq> Guard<T> {
    /// Judges `parsed`, the parse of exactly the bytes `raw`; `file` is
    /// the name the parser used in its warnings and the one shown in the
    /// problem lines.
    pub fn new<F: SectionFormat<Section = T>>(
        format: &F,
        file: &str,
        raw: &[u8],
        parsed: &Parsed<SectionConfig<T>>,
    ) -> Self {
        let mut found: Vec<Problem> = parsed
            .warnings
            .iter()
            .map(|w| from_warning(file, w))
            .collect();
        let mut file_wide = Vec::new();
        let layout = scan(format, raw, &mut found, &mut file_wide);
        let mut problems: Vec<Located> = found
            .into_iter()
            .map(|problem| Located {
                section: section_at(&layout, problem.line),
                problem,
            })
            .collect();
        problems.extend(file_wide.into_iter().map(|problem| Located {
            problem,
            section: None,
        }));
        Guard {
            file: file.to_string(),
            problems,
            layout,
            original: parsed.value.clone(),
        }
    }

    /// What writing `new` (the file's value as the command changed it)
    /// would lose, sorted by line.
    pub fn losses<F: SectionFormat<Section = T>>(
        &self,
        format: &F,
        new: &SectionConfig<T>,
    ) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .problems
            .iter()
            .filter(|l| l.section.as_ref().is_none_or(|id| new.ids.contains_key(id)))
            .map(|l| l.problem.clone())
            .collect();
        round_trip(format, &self.original, new, &self.layout, &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// The check before writing `new`: refused when anything would be
    /// lost, unless `force`.
    pub fn check<F: SectionFormat<Section = T>>(
        &self,
        format: &F,
        new: &SectionConfig<T>,
        force: bool,
    ) -> Result<(), Refusal> {
        if force {
            return Ok(());
        }
        let problems = self.losses(format, new);
        if problems.is_empty() {
            return Ok(());
        }
        Err(Refusal {
            files: vec![FileProblems {
                file: self.file.clone(),
                problems,
            }],
        })
    }
}

/// Where each recorded section's definitions are, by id; a later
/// definition of the same id comes later in the list.
type Layout = BTreeMap<String, Vec<Definition>>;

/// One section definition in the file.
#[derive(Debug, Clone, Default)]
struct Definition {
    /// Its header line.
    header: usize,
    /// Its last line (comments and ignored lines included).
    end: usize,
    /// The first line of each property key.
    keys: BTreeMap<String, usize>,
}

/// The recorded section whose lines include `line`.
fn section_at(layout: &Layout, line: usize) -> Option<String> {
    layout.iter().find_map(|(id, defs)| {
        defs.iter()
            .any(|d| (d.header..=d.end).contains(&line))
            .then(|| id.clone())
    })
}

/// Turns one parser warning (`file <F> line <N> …`, 06 §2.2) into a
/// problem. Every warning counts: one of an unexpected shape becomes a
/// problem on line 0 with the warning's text.
fn from_warning(file: &str, warning: &str) -> Problem {
    let located = warning
        .strip_prefix(&format!("file {file} line "))
        .and_then(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let line: usize = rest[..digits].parse().ok()?;
            Some((line, &rest[digits..]))
        });
    let Some((line, rest)) = located else {
        return Problem {
            line: 0,
            what: shown(warning.trim_end()),
        };
    };
    let what = if let Some(l) = rest.strip_prefix(" - ignore config line: ") {
        format!("unparsable line '{}'", shown(l))
    } else if let Some(r) = rest.strip_prefix(" (skip section '") {
        match r.split_once("'): ") {
            Some((id, err)) => format!("invalid section '{}' ({})", shown(id), shown(err)),
            None => shown(rest.trim()),
        }
    } else if let Some(r) = rest.strip_prefix(" (section '") {
        match r.split_once("') - ") {
            Some((id, msg)) => match msg.strip_prefix("ignore config line: ") {
                Some(l) => format!("unparsable line '{}' in section '{}'", shown(l), shown(id)),
                None => match msg
                    .strip_prefix("unable to parse value of '")
                    .and_then(|m| m.split_once("': "))
                {
                    Some((key, err)) => format!(
                        "invalid property '{}' in section '{}' ({})",
                        shown(key),
                        shown(id),
                        shown(err)
                    ),
                    None => format!("section '{}': {}", shown(id), shown(msg)),
                },
            },
            None => shown(rest.trim()),
        }
    } else {
        shown(rest.trim())
    };
    Problem { line, what }
}

/// Text from the file made safe for a one-line message: control
/// characters other than TAB (a CR, above all) escaped.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Walks the raw lines the way the parser does (06 §2.1) and reports what
/// it passes over silently: into `problems` what belongs to the lines it
/// is on, into `file_wide` what concerns the whole file (the line ends).
/// Returns where the recorded sections are.
fn scan<F: SectionFormat>(
    format: &F,
    raw: &[u8],
    problems: &mut Vec<Problem>,
    file_wide: &mut Vec<Problem>,
) -> Layout {
    let mut layout = Layout::new();
    // `None`: between sections; `Some(None)`: inside a skipped section;
    // `Some(Some(id))`: inside a recorded one.
    let mut open: Option<Option<String>> = None;
    for (idx, bytes) in raw.split(|b| *b == b'\n').enumerate() {
        let n = idx + 1;
        if file_wide.is_empty() && bytes.ends_with(b"\r") {
            file_wide.push(Problem {
                line: n,
                what: "CRLF line ends (the first one; the parser does not end a section at a \\r line)"
                    .to_string(),
            });
        }
        if std::str::from_utf8(bytes).is_err() {
            problems.push(Problem {
                line: n,
                what: "bytes that are not valid UTF-8".to_string(),
            });
        }
        let text = String::from_utf8_lossy(bytes);
        let kind = classify(&text);
        if kind == Line::Comment {
            problems.push(Problem {
                line: n,
                what: format!("comment line '{}'", shown(text.trim())),
            });
        }
        match (kind, &open) {
            (Line::Header { ty, name }, None) => {
                let header = format.parse_header(ty, name);
                let recorded = header.error.is_none() && format.section_type(&header.ty).is_some();
                open = Some(None);
                if recorded {
                    layout
                        .entry(header.id.clone())
                        .or_default()
                        .push(Definition {
                            header: n,
                            end: n,
                            keys: BTreeMap::new(),
                        });
                    open = Some(Some(header.id));
                }
            }
            (Line::Empty, Some(_)) => open = None,
            (kind, Some(Some(id))) => {
                if let Some(def) = layout.get_mut(id).and_then(|v| v.last_mut()) {
                    def.end = n;
                    if let Line::Property { key, .. } = kind {
                        def.keys.entry(key.to_string()).or_insert(n);
                    }
                }
            }
            _ => {}
        }
    }
    for (id, defs) in &layout {
        if let Some((last, earlier)) = defs.split_last() {
            for d in earlier {
                problems.push(Problem {
                    line: d.header,
                    what: format!(
                        "section '{}' (defined again on line {}, which replaces it)",
                        shown(id),
                        last.header
                    ),
                });
            }
        }
    }
    layout
}

/// Writes `new`, reads it back and reports every property that came
/// from the file (`original`), was left as it was by the command, and
/// does not come back with its value. Null sections cannot be written at
/// all, so they are left out here (the parser's warnings report them).
fn round_trip<F: SectionFormat>(
    format: &F,
    original: &SectionConfig<F::Section>,
    new: &SectionConfig<F::Section>,
    layout: &Layout,
    problems: &mut Vec<Problem>,
) {
    let Ok(text) = section::write(format, &new.clone().without_null_sections()) else {
        return;
    };
    let again = section::parse(format, "", text.as_bytes()).value;
    for (id, changed) in new.sections() {
        let Some(read) = original.get(id) else {
            continue;
        };
        let back = again.get(id);
        if back == Some(changed) {
            continue;
        }
        let def = layout.get(id).and_then(|v| v.last());
        let read = format.encode(read).props;
        let changed = format.encode(changed).props;
        let back = back.map(|b| format.encode(b).props).unwrap_or_default();
        for (key, v) in &read {
            if changed.get(key) != Some(v) || back.get(key) == Some(v) {
                continue;
            }
            problems.push(Problem {
                line: def
                    .and_then(|d| d.keys.get(key).copied())
                    .or(def.map(|d| d.header))
                    .unwrap_or(0),
                what: format!(
                    "property '{} {}' in section '{}' (the writer cannot write it back)",
                    shown(key),
                    shown(&value_text(v)),
                    shown(id)
                ),
            });
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Int(n) => n.to_string(),
        Value::Str(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::groups::GroupsFormat;
    use crate::config::resources::ResourcesFormat;
    use crate::config::rules::RulesFormat;

    const F: &str = "/etc/pve/ha/x.cfg";

    /// The losses of rewriting `raw` unchanged.
    fn unchanged<Fm: SectionFormat>(format: &Fm, raw: &[u8]) -> Vec<Problem>
    where
        Fm::Section: Clone + PartialEq,
    {
        let p = section::parse(format, F, raw);
        Guard::new(format, F, raw, &p).losses(format, &p.value)
    }

    fn res(text: &str) -> Vec<Problem> {
        unchanged(&ResourcesFormat::default(), text.as_bytes())
    }

    fn rules(text: &str) -> Vec<Problem> {
        unchanged(&RulesFormat, text.as_bytes())
    }

    fn lines(ps: &[Problem]) -> Vec<usize> {
        ps.iter().map(|p| p.line).collect()
    }

    #[test]
    fn clean_and_merely_uncanonical_files_lose_nothing() {
        assert!(res("").is_empty());
        assert!(res("vm: 100\n\tstate started\n\n").is_empty());
        // Spacing, key order, number forms and aliases are formatting.
        assert!(
            res("VM:100   \n    max_restart 007\n\tstate enabled\n\tcomment  a  b \n").is_empty()
        );
        assert!(res("vm:100\n  max_restart +5\n\tstate enabled\n\n\n\nct: 102\n").is_empty());
        // An ocf section's params quoting is formatting too.
        assert!(
            res("ocf: w\n\tparams  ip=\"1.2.3.4\"   nic='e0'\n\tagent heartbeat:IPaddr2\n")
                .is_empty()
        );
        assert!(rules("node-affinity: r1\n\tnodes node3:0,node1:2,node2\n\tresources vm:2,vm:1\n\tdisable 1\n").is_empty());
    }

    #[test]
    fn parser_warnings_become_problems() {
        let p = res("vm: 1\n\tstate started\n\nvm: 100\n\tstate on\n\tfoo bar\n \nx\n");
        assert_eq!(lines(&p), vec![1, 5, 6, 7, 8]);
        assert_eq!(p[0].what, "invalid section 'vm:1' (invalid VMID)");
        assert_eq!(
            p[1].what,
            "invalid property 'state' in section 'vm:100' (value 'on' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored')"
        );
        assert_eq!(
            p[2].what,
            "invalid property 'foo' in section 'vm:100' (unknown property type)"
        );
        assert_eq!(p[3].what, "unparsable line ' ' in section 'vm:100'");
        let top = res("\tstate started\n");
        assert_eq!(top[0].what, "unparsable line '\tstate started'");
    }

    #[test]
    fn comments_crlf_and_non_utf8_are_losses() {
        let p = res("# head\nvm: 100\n   # inner\n\tstate started\n");
        assert_eq!(lines(&p), vec![1, 3]);
        assert_eq!(p[0].what, "comment line '# head'");
        // One CRLF section loses nothing but its line ends; two lose the
        // second section to the first (the parser warns about those).
        let p = res("vm: 100\r\n\tstate started\r\n");
        assert_eq!(lines(&p), vec![1]);
        assert!(p[0].what.starts_with("CRLF line ends"));
        let p = res("vm: 100\r\n\tstate started\r\n\r\nvm: 101\r\n\tstate stopped\r\n");
        assert_eq!(lines(&p), vec![1, 3, 4, 5]);
        assert_eq!(p[1].what, "unparsable line '\\r' in section 'vm:100'");
        assert_eq!(
            p[2].what,
            "unparsable line 'vm: 101\\r' in section 'vm:100'"
        );
        let l = unchanged(&ResourcesFormat::default(), b"vm: 100\n\tcomment caf\xe9\n");
        assert_eq!(lines(&l), vec![2]);
    }

    #[test]
    fn duplicate_ids_lose_the_earlier_section() {
        let p = res("vm: 100\n\tstate stopped\n\nvm: 100\n\tstate started\n");
        assert_eq!(lines(&p), vec![1]);
        assert_eq!(
            p[0].what,
            "section 'vm:100' (defined again on line 4, which replaces it)"
        );
        let g = b"group: g1\n\tnodes n1\n\ngroup: g1\n\tnodes n2\n";
        let parsed = section::parse(&GroupsFormat, F, g);
        let guard = Guard::new(&GroupsFormat, F, g, &parsed);
        assert!(guard.check(&GroupsFormat, &parsed.value, false).is_err());
        assert!(guard.check(&GroupsFormat, &parsed.value, true).is_ok());
        // Removing the section removes both definitions: nothing lost.
        let mut gone = parsed.value.clone();
        gone.ids.remove("g1");
        assert!(guard.check(&GroupsFormat, &gone, false).is_ok());
    }

    #[test]
    fn values_the_writer_drops_are_losses() {
        let p = rules("node-affinity: r1\n\tnodes n1\n\tresources vm:1\n\tdisable 0\n");
        assert_eq!(lines(&p), vec![4]);
        assert_eq!(
            p[0].what,
            "property 'disable 0' in section 'r1' (the writer cannot write it back)"
        );
        let p = res("vm: 100\n\tcomment 0\n");
        assert_eq!(lines(&p), vec![2]);
    }

    #[test]
    fn what_the_command_changes_is_not_a_loss() {
        let raw = b"node-affinity: r1\n\tnodes n1\n\tresources vm:1\n\tdisable 0\n\tfoo 1\n\nresource-affinity: broken\n\tresources vm:1\n";
        let p = section::parse(&RulesFormat, F, raw);
        let guard = Guard::new(&RulesFormat, F, raw, &p);
        assert_eq!(lines(&guard.losses(&RulesFormat, &p.value)), vec![4, 5, 8]);
        // Deleting `disable` (the documented fix) leaves the bad property
        // and the broken rule.
        let mut fixed = p.value.clone();
        if let Some(Some(r)) = fixed.ids.get_mut("r1") {
            r.disable = None;
        }
        assert_eq!(lines(&guard.losses(&RulesFormat, &fixed)), vec![5, 8]);
        // Removing the broken rule makes its problem moot.
        fixed.ids.remove("broken");
        assert_eq!(lines(&guard.losses(&RulesFormat, &fixed)), vec![5]);
        fixed.ids.remove("r1");
        assert!(guard.losses(&RulesFormat, &fixed).is_empty());
    }

    #[test]
    fn a_warning_of_unexpected_shape_still_counts() {
        assert_eq!(
            from_warning(F, "something odd\n"),
            Problem {
                line: 0,
                what: "something odd".into()
            }
        );
    }

    #[test]
    fn refusal_text() {
        let r = Refusal {
            files: vec![FileProblems {
                file: F.into(),
                problems: vec![Problem {
                    line: 7,
                    what: "comment line '# x'".into(),
                }],
            }],
        };
        assert_eq!(
            r.to_string(),
            "/etc/pve/ha/x.cfg line 7: comment line '# x' - refusing to rewrite (use --force to drop it)\n\
             /etc/pve/ha/x.cfg: not rewritten, 1 problem would be lost - fix the file or repeat with --force\n"
        );
    }
}
