//! fence.cfg against upstream's conformance set (06 §6.6): the report of
//! every `fence_cfgs/*.cfg` must equal its `.cfg.expect` byte for byte and
//! every config that parses must survive write → parse. Property tests feed
//! arbitrary and fence-like text to the parser, the report and the writer.

mod common;

use std::path::Path;

use proptest::prelude::*;

use pve_ha::config::fence::{self, FenceConfig};

/// The devices' names in fencing order.
fn order(c: &FenceConfig) -> Vec<&str> {
    c.by_priority()
        .into_iter()
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Checks one conformance file; `Err` describes every mismatch.
fn check_file(cfg: &Path) -> Result<(), String> {
    let common::Golden { name, raw, expect } = common::golden(cfg)?;
    // Upstream's files are UTF-8; anything else is the caller's problem
    // and would show up as a mismatch below.
    let text = String::from_utf8_lossy(&raw);
    let file = format!("fence_cfgs/{name}");
    let report = fence::conformance_report(&file, &text);
    let mut problems = Vec::new();
    if report.as_bytes() != expect.as_slice() {
        problems.push(format!(
            "{name}: report differs\n{}",
            common::diff(&String::from_utf8_lossy(&expect), &report)
        ));
    }
    if let Ok(parsed) = fence::parse(&file, &text) {
        let first = parsed.value;
        match first.write() {
            Err(e) => problems.push(format!("{name}: write failed: {e}")),
            Ok(written) => match fence::parse(&file, &written) {
                Err(e) => problems.push(format!("{name}: written text does not parse: {e}")),
                Ok(again) if again.value != first => problems.push(format!(
                    "{name}: round trip changed the config\n{first:#?}\n{:#?}\n{written}",
                    again.value
                )),
                Ok(_) => {}
            },
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn conformance_reports_and_round_trips() {
    common::check_conformance_files(
        "fence.cfg conformance",
        "fence_cfgs",
        "fence-configs",
        check_file,
    );
}

/// Whether a parsed config can survive the writer unchanged (up to
/// priority renumbering). Upstream's writer loses information in these
/// cases, and we write what upstream writes (06 §6.5):
/// * a device name that is not all word characters (taken whole from a
///   token like `-x`) gets `:<n>` appended and reads back differently;
/// * node arguments are joined unquoted, so they must be non-empty words
///   without whitespace, quotes or backslashes, and not read as the
///   Perl-false `0`;
/// * device arguments are quoted for the shell, but the word splitter keeps
///   `\'` inside single quotes, so a backslash before a quote or at the end
///   breaks them; an empty list (or just `0`) writes a line that is ignored.
fn survives_write(c: &FenceConfig) -> bool {
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let device_args = |a: &[String]| {
        !a.is_empty()
            && a != ["0"]
            && a.iter()
                .all(|s| !s.contains('\0') && !s.ends_with('\\') && !s.contains("\\'"))
    };
    let node_args = |a: &[String]| {
        !a.is_empty()
            && a != ["0"]
            && a.iter().all(|s| {
                !s.is_empty()
                    && !s.chars().any(|c| {
                        matches!(
                            c,
                            ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r' | '"' | '\'' | '\\'
                        )
                    })
            })
    };
    c.devices.iter().all(|(name, d)| {
        word(name)
            && d.sub_devs
                .values()
                .all(|s| device_args(&s.args) && s.node_args.values().all(|a| node_args(a)))
    })
}

/// The round-trip property for one input text.
fn check_round_trip(text: &str) -> Result<(), TestCaseError> {
    let Ok(parsed) = fence::parse("f.cfg", text) else {
        return Ok(());
    };
    let first = parsed.value;
    // Parsed priorities are unique, so only a NUL in a device argument
    // can make the writer fail.
    let written = match first.write() {
        Ok(w) => w,
        Err(e) => {
            prop_assert!(text.contains('\0'), "write failed: {e}");
            return Ok(());
        }
    };
    let again = fence::parse("f.cfg", &written);
    if !survives_write(&first) {
        return Ok(());
    }
    let again = match again {
        Ok(p) => p,
        Err(e) => return Err(TestCaseError::fail(format!("{e}\n{written}"))),
    };
    prop_assert!(again.warnings.is_empty(), "{:?}\n{written}", again.warnings);
    let again = again.value;
    // Same devices in the same order with the same sub-devices; only the
    // priority numbers may change, once (the 06 §6.2 quirk renumbers
    // `a`=2, `b`=1 to `b`=0, `a`=1 on re-reading).
    prop_assert_eq!(order(&again), order(&first), "{}", written);
    for (name, device) in &first.devices {
        prop_assert_eq!(
            again.devices.get(name).map(|d| &d.sub_devs),
            Some(&device.sub_devs)
        );
    }
    // From then on the text is a fixed point.
    let rewritten = again.write();
    prop_assert_eq!(rewritten.as_deref().ok(), Some(written.as_str()));
    Ok(())
}

/// Pieces of fence.cfg lines, valid and broken.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "device",
        "connect",
        "device",
        "connect",
        "Device",
        "#",
        "0",
        "a",
        "b",
        "a:2",
        "b:10",
        "a:0",
        "a:01",
        "d-e",
        "-x",
        ":3",
        "fence_pve",
        "node=node1",
        "node=node2",
        "node=node3",
        "node=node2-x",
        "node=",
        "xnode=node1",
        "plug=1",
        "x",
        "\"q w\"",
        "'s q'",
        "\\\"",
        "\\",
        "\"",
        "'",
        "=",
        "a=b=c",
        "k=0",
        "ä",
        "f䶵₂,",
        "pw=\"1\\\"2\"",
        "it\\'s",
        "''",
        "\r",
        "",
    ])
}

/// One fence-like line: mostly `<cmd> <name> <target> <args…>` shapes.
fn line() -> impl Strategy<Value = String> {
    let ws = || prop::sample::select(vec![" ", "  ", "\t", " \t"]);
    let structured = (
        prop::sample::select(vec!["device", "connect", "connect", "#device", "devic"]),
        ws(),
        prop::sample::select(vec![
            "a", "b", "c", "a:2", "b:10", "b:2", "a:0", "d-e", "-x",
        ]),
        ws(),
        prop::sample::select(vec![
            "fence_a",
            "fence_b",
            "node=node1",
            "node=node2",
            "node=node3",
            "node=node1-x",
            "node=",
        ]),
        prop::collection::vec((ws(), fragment()), 0..4),
        prop::sample::select(vec!["", " ", "\t"]),
    )
        .prop_map(|(cmd, w1, name, w2, target, args, tail)| {
            let mut s = format!("{cmd}{w1}{name}{w2}{target}");
            for (w, a) in args {
                s.push_str(w);
                s.push_str(a);
            }
            s.push_str(tail);
            s
        });
    let loose = prop::collection::vec((fragment(), ws()), 0..6).prop_map(|v| {
        v.into_iter()
            .map(|(f, w)| format!("{f}{w}"))
            .collect::<String>()
    });
    prop_oneof![4 => structured, 1 => loose]
}

/// A whole fence-like file.
fn fence_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..10), any::<bool>()).prop_map(|(lines, newline)| {
        let mut s = lines.join("\n");
        if newline {
            s.push('\n');
        }
        s
    })
}

/// A fence.cfg that mostly parses: a few devices with parallel
/// sub-devices declared in shuffled order (so the priority quirk fires),
/// then the connect lines. Arguments are given as they appear in the file.
fn valid_text() -> impl Strategy<Value = String> {
    // Mostly arguments that survive the writer, sometimes ones that do not
    // (see `survives_write`).
    let device_arg = prop_oneof![
        9 => prop::sample::select(vec![
            "ip=1.2.3.4", "\"pw=a b\"", "'x\\y'", "\"it's\"", "u=f䶵₂,", "\"q\\\"r\"", "k=",
            "=", "a=b=c", "''", "t\\ u",
        ]),
        1 => prop::sample::select(vec!["0", "\"0\"", "'a\\'", "\"z\\\\\""]),
    ];
    let node_arg = prop_oneof![
        9 => prop::sample::select(vec!["plug=1", "plug=22", "x", "port=ä", "k=0"]),
        1 => prop::sample::select(vec!["\"p q\"", "\"\"", "0"]),
    ];
    let sub = (
        prop::sample::select(vec!["fence_pve", "fence_apc", "fence_ilo"]),
        prop::collection::vec(device_arg, 1..4),
        prop::sample::subsequence(vec!["node1", "node2", "node3"], 0..=3),
        prop::collection::vec(prop::collection::vec(node_arg, 1..3), 3),
    );
    let device = (
        prop::sample::subsequence(vec!["1", "2", "10", "01"], 1..=3),
        prop::collection::vec(sub, 4),
    );
    (
        prop::sample::subsequence(vec!["a", "b", "c", "dev_1"], 1..=4),
        prop::collection::vec(device, 4),
    )
        .prop_flat_map(|(names, devices)| {
            let mut declares = Vec::new();
            let mut connects = Vec::new();
            for (name, (numbers, subs)) in names.iter().zip(devices) {
                for (number, (agent, args, nodes, node_args)) in numbers.iter().zip(subs) {
                    let id = if *number == "1" {
                        name.to_string()
                    } else {
                        format!("{name}:{number}")
                    };
                    declares.push(format!("device {id} {agent} {}", args.join(" ")));
                    for (node, nargs) in nodes.iter().zip(node_args) {
                        connects.push(format!("connect {id} node={node} {}", nargs.join(" ")));
                    }
                }
            }
            (Just(declares).prop_shuffle(), Just(connects).prop_shuffle())
        })
        .prop_map(|(declares, connects)| {
            let mut text = declares.join("\n");
            text.push('\n');
            text.push_str(&connects.join("\n"));
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Ok(p) = fence::parse("f.cfg", &text) {
            let _ = p.value.write();
            for node in ["node1", "", "0"] {
                for cmd in p.value.commands_for(node, 0) {
                    let _ = cmd.arg_string();
                }
            }
        }
        let _ = fence::conformance_report("f.cfg", &text);
    }

    #[test]
    fn fence_like_text_never_panics_and_round_trips(text in fence_text()) {
        let report = fence::conformance_report("f.cfg", &text);
        prop_assert!(report.ends_with('\n'));
        check_round_trip(&text)?;
    }

    #[test]
    fn generated_configs_round_trip(text in valid_text()) {
        let report = fence::conformance_report("f.cfg", &text);
        prop_assert!(!report.starts_with("[FenceConfig]"), "{}", report);
        check_round_trip(&text)?;
    }

    #[test]
    fn arbitrary_lines_round_trip(lines in prop::collection::vec("[ -~\t\r\u{e4}]{0,40}", 0..8)) {
        let text = lines.join("\n");
        let _ = fence::conformance_report("f.cfg", &text);
        check_round_trip(&text)?;
    }
}

#[test]
fn the_priority_quirk_survives_a_round_trip_up_to_renumbering() {
    let text = "device a fa x=1\ndevice b fb y=1\ndevice a:2 fa x=2\n\
                connect a node=node1 p=1\nconnect a:2 node=node1 p=2\nconnect b node=node1 p=3\n";
    let first = fence::parse("f", text).map(|p| p.value).unwrap_or_default();
    assert_eq!(order(&first), ["b", "a"]);
    let again = first
        .write()
        .ok()
        .and_then(|w| fence::parse("f", &w).ok())
        .map(|p| p.value)
        .unwrap_or_default();
    assert_eq!(order(&again), ["b", "a"]);
    assert_ne!(again, first, "priorities are renumbered from 0");
    assert!(check_round_trip(text).is_ok());
}
