//! Property tests for the section-config parsers: arbitrary input never
//! panics and whatever was salvaged round-trips; generated valid configs
//! survive write → parse unchanged.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use pve_ha::config::groups::{Group, GroupsFormat};
use pve_ha::config::resources::{Flavor, Resource, ResourcesFormat};
use pve_ha::config::rules::{Affinity, Rule, RuleKind, RulesFormat};
use pve_ha::config::section::{self, SectionConfig, SectionFormat};
use pve_ha::types::{ConfiguredState, Sid};

/// Parses, then checks that the valid sections write and re-read cleanly.
fn salvage_round_trips<F: SectionFormat>(format: &F, raw: &[u8]) -> Result<(), TestCaseError>
where
    F::Section: std::fmt::Debug,
{
    let p = section::parse(format, "f", raw);
    let valid = p.value.without_null_sections();
    let text = section::write(format, &valid);
    // Values that came from the file cannot hold line feeds, so writing
    // what was parsed always succeeds.
    let text = text.map_err(|e| TestCaseError::fail(format!("write failed: {e}")))?;
    let again = section::parse(format, "f", text.as_bytes());
    prop_assert!(again.warnings.is_empty(), "{:?}\n{}", again.warnings, text);
    prop_assert_eq!(again.value.ids.len(), valid.ids.len());
    Ok(())
}

/// Lines built from the fragments the grammar cares about, so the
/// generator reaches headers, properties and their errors, not just noise.
fn line() -> impl Strategy<Value = String> {
    let ty = prop::sample::select(vec![
        "vm",
        "ct",
        "fa",
        "VM",
        "group",
        "node-affinity",
        "resource-affinity",
        "x",
        "",
    ]);
    let name = prop::sample::select(vec![
        "100", "101", "1", "g1", "rule-1", "a", "9x", "", "a:b",
    ]);
    let key = prop::sample::select(vec![
        "state",
        "group",
        "failback",
        "max_restart",
        "max_relocate",
        "comment",
        "nodes",
        "restricted",
        "nofailback",
        "resources",
        "affinity",
        "strict",
        "disable",
        "type",
        "sid",
        "bogus",
    ]);
    let value = prop::sample::select(vec![
        "",
        "started",
        "enabled",
        "0",
        "1",
        "-1",
        "+7",
        "node1:2,node2",
        "vm:100,ct:101",
        "positive",
        "negative",
        "x y  z ",
        "%3A%C3%BC",
        "node_1",
        "100",
        "\r",
    ]);
    let ws = prop::sample::select(vec!["", " ", "\t", "  \t"]);
    prop_oneof![
        (ty.clone(), ws.clone(), name.clone(), ws.clone())
            .prop_map(|(t, w, n, w2)| format!("{t}:{w}{n}{w2}")),
        (ws.clone(), key, ws.clone(), value).prop_map(|(w, k, w2, v)| format!("\t{w}{k}{w2}{v}")),
        Just(String::new()),
        Just("# comment".to_string()),
        Just(" \t".to_string()),
        "[ -~]{0,20}",
    ]
}

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..30).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        salvage_round_trips(&ResourcesFormat::default(), &raw)?;
        salvage_round_trips(&ResourcesFormat { flavor: Flavor::Simulator }, &raw)?;
        salvage_round_trips(&GroupsFormat, &raw)?;
        salvage_round_trips(&RulesFormat, &raw)?;
    }

    #[test]
    fn line_shaped_input_round_trips(text in config_text()) {
        salvage_round_trips(&ResourcesFormat::default(), text.as_bytes())?;
        salvage_round_trips(&GroupsFormat, text.as_bytes())?;
        salvage_round_trips(&RulesFormat, text.as_bytes())?;
    }

    #[test]
    fn generated_resources_round_trip(config in resources_config()) {
        let text = ResourcesFormat::default().write(&config).unwrap();
        let back = ResourcesFormat::default().parse("f", text.as_bytes());
        prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        prop_assert_eq!(sections(&back.value), sections(&config));
    }

    #[test]
    fn generated_rules_round_trip(config in rules_config()) {
        let text = RulesFormat.write(&config).unwrap();
        let back = RulesFormat.parse("f", text.as_bytes());
        prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        prop_assert_eq!(sections(&back.value), sections(&config));
    }

    #[test]
    fn generated_groups_round_trip(config in groups_config()) {
        let text = GroupsFormat.write(&config).unwrap();
        let back = GroupsFormat.parse("f", text.as_bytes());
        prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        prop_assert_eq!(sections(&back.value), sections(&config));
    }
}

/// The sections in write order, for comparing configs whose order numbers
/// may differ (a generated config has none).
fn sections<T: Clone>(c: &SectionConfig<T>) -> Vec<(String, T)> {
    c.sections_in_order()
        .into_iter()
        .map(|(id, s)| (id.clone(), s.clone()))
        .collect()
}

fn into_config<T>(items: Vec<(String, T)>) -> SectionConfig<T> {
    let mut c = SectionConfig::default();
    for (i, (id, s)) in items.into_iter().enumerate() {
        c.order.insert(id.clone(), i as u64 + 1);
        c.ids.insert(id, Some(s));
    }
    c
}

fn comment() -> impl Strategy<Value = Option<String>> {
    // Comments are free text without line breaks. Values start after the
    // key's whitespace and end at the last non-blank, and the writer never
    // emits an empty or "0" comment, so those are not round-trip values.
    prop::option::of("[^\r\n]{1,30}").prop_map(|c| {
        c.map(|c| c.trim_matches([' ', '\t', '\x0b', '\x0c']).to_string())
            .filter(|c| !c.is_empty() && c != "0")
    })
}

fn node_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}[a-z0-9]"
}

fn sid() -> impl Strategy<Value = Sid> {
    (prop::sample::select(vec!["vm", "ct"]), 100u32..200)
        .prop_map(|(t, n)| Sid::new(t, &n.to_string()).unwrap())
}

fn resources_config() -> impl Strategy<Value = SectionConfig<Resource>> {
    let res = (
        sid(),
        prop::option::of(prop::sample::select(ConfiguredState::ALL.to_vec())),
        prop::option::of("[A-Za-z][A-Za-z0-9_-]{1,8}"),
        prop::option::of(any::<bool>()),
        prop::option::of(0i64..10),
        prop::option::of(0i64..10),
        comment(),
    )
        .prop_map(
            |(sid, state, group, failback, max_restart, max_relocate, comment)| Resource {
                sid,
                state,
                group,
                failback,
                max_restart,
                max_relocate,
                comment,
                ocf: None,
            },
        );
    prop::collection::vec(res, 0..8).prop_map(|v| {
        let mut seen = BTreeSet::new();
        into_config(
            v.into_iter()
                .filter(|r| seen.insert(r.sid.clone()))
                .map(|r| (r.sid.to_string(), r))
                .collect(),
        )
    })
}

fn rules_config() -> impl Strategy<Value = SectionConfig<Rule>> {
    let kind = prop_oneof![
        (
            prop::collection::btree_map(node_name(), 0i64..5, 1..4),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(nodes, strict)| RuleKind::NodeAffinity { nodes, strict }),
        prop::sample::select(vec![Affinity::Positive, Affinity::Negative])
            .prop_map(|affinity| RuleKind::ResourceAffinity { affinity }),
    ];
    let rule = (
        "[A-Za-z][A-Za-z0-9_-]{1,10}",
        prop::collection::btree_set(sid(), 1..4),
        prop::option::of(Just(true)),
        // A literal `%XX` in a rules comment reads back decoded (06 §5.4,
        // kept for byte compatibility), so it is not a round-trip value.
        comment().prop_filter("literal %XX decodes on read", |c| {
            c.as_deref().is_none_or(|c| !has_percent_escape(c))
        }),
        kind,
    )
        .prop_map(|(id, resources, disable, comment, kind)| {
            (
                id,
                Rule {
                    resources,
                    disable,
                    comment,
                    kind,
                },
            )
        });
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9_-]{1,10}", rule, 0..6).prop_map(|m| {
        into_config(
            m.into_values()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        )
    })
}

fn has_percent_escape(c: &str) -> bool {
    c.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fn groups_config() -> impl Strategy<Value = SectionConfig<Group>> {
    let group = (
        prop::collection::btree_set(
            (node_name(), prop::option::of(0u32..5)).prop_map(|(n, p)| match p {
                Some(p) => format!("{n}:{p}"),
                None => n,
            }),
            1..4,
        ),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        comment(),
    )
        .prop_map(|(nodes, restricted, nofailback, comment)| Group {
            nodes,
            restricted,
            nofailback,
            comment,
        });
    prop::collection::btree_map("[A-Za-z][A-Za-z0-9_-]{1,10}", group, 0..6)
        .prop_map(|m| into_config(m.into_iter().collect()))
}
