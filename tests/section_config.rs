//! Whole-file behaviour of the section-config files: our golden fixtures
//! (parse warnings and canonical output) and parse→write→parse round trips
//! over every rules and groups file of the upstream conformance set, read
//! in place.

mod common;

use std::fmt::Debug;
use std::path::Path;

use pve_ha::config::groups::GroupsFormat;
use pve_ha::config::resources::ResourcesFormat;
use pve_ha::config::rules::{Rule, RulesFormat};
use pve_ha::config::section::{self, SectionConfig, SectionFormat, WriteError};
use pve_ha::config::Parsed;

/// What a file-specific test needs from a format.
trait Checked: SectionFormat + Sized {
    /// The file name used in warnings.
    const FILE: &'static str;
    /// The section as it must look after a write and re-read (quirks that
    /// a rewrite applies on purpose, such as dropping `disable 0`).
    fn normalised(s: &Self::Section) -> Self::Section {
        s.clone()
    }
}

impl Checked for ResourcesFormat {
    const FILE: &'static str = "resources.cfg";
}

impl Checked for GroupsFormat {
    const FILE: &'static str = "groups.cfg";
}

impl Checked for RulesFormat {
    const FILE: &'static str = "rules.cfg";
    fn normalised(r: &Rule) -> Rule {
        let mut r = r.clone();
        if r.disable == Some(false) {
            r.disable = None;
        }
        r
    }
}

fn parse<F: Checked>(format: &F, name: &str, raw: &[u8]) -> Parsed<SectionConfig<F::Section>> {
    section::parse(format, name, raw)
}

/// parse → write (valid sections) → parse gives the same sections without
/// warnings, and writing again gives the same bytes.
fn round_trip<F: Checked>(format: &F, name: &str, raw: &[u8]) -> Result<(), String>
where
    F::Section: Debug,
{
    let first = parse(format, name, raw).value.without_null_sections();
    let written = section::write(format, &first).map_err(|e| format!("{name}: write: {e}"))?;
    let again = parse(format, name, written.as_bytes());
    if !again.warnings.is_empty() {
        return Err(format!("{name}: re-parse warned: {:?}", again.warnings));
    }
    let want: Vec<_> = first
        .sections_in_order()
        .into_iter()
        .map(|(id, s)| (id.clone(), F::normalised(s)))
        .collect();
    let got: Vec<_> = again
        .value
        .sections_in_order()
        .into_iter()
        .map(|(id, s)| (id.clone(), s.clone()))
        .collect();
    if want != got {
        return Err(format!(
            "{name}: sections differ after round trip:\n{want:#?}\n{got:#?}"
        ));
    }
    let rewritten =
        section::write(format, &again.value).map_err(|e| format!("{name}: rewrite: {e}"))?;
    if rewritten != written {
        return Err(format!(
            "{name}: writer not idempotent:\n{written}\n---\n{rewritten}"
        ));
    }
    Ok(())
}

/// Every `tests/fixtures/<dir>/*.cfg` against its `.written` and
/// `.warnings` files, plus the round trip.
fn golden<F: Checked>(format: &F, dir: &str) -> usize
where
    F::Section: Debug,
{
    let files = common::files(&common::fixtures(dir), |n| n.ends_with(".cfg"));
    assert!(!files.is_empty(), "no fixtures in {dir}");
    for path in &files {
        let raw = std::fs::read(path).unwrap();
        let p = parse(format, F::FILE, &raw);
        let want_warnings = std::fs::read_to_string(path.with_extension("cfg.warnings")).unwrap();
        let got_warnings: String = p.warnings.iter().map(|w| format!("{w}\n")).collect();
        assert_eq!(
            got_warnings,
            want_warnings,
            "warnings of {}",
            path.display()
        );
        let has_null = p.value.ids.values().any(Option::is_none);
        if has_null {
            assert_eq!(
                section::write(format, &p.value),
                Err(WriteError::UnknownSectionType(String::new())),
                "a null section must refuse to be written ({})",
                path.display()
            );
        }
        let written = section::write(format, &p.value.clone().without_null_sections()).unwrap();
        let want = std::fs::read_to_string(path.with_extension("cfg.written")).unwrap();
        assert_eq!(written, want, "canonical output of {}", path.display());
        round_trip(format, F::FILE, &raw).unwrap();
    }
    files.len()
}

#[test]
fn resources_fixtures() {
    assert!(golden(&ResourcesFormat::default(), "resources") >= 3);
}

#[test]
fn rules_fixtures() {
    assert!(golden(&RulesFormat, "rules") >= 1);
}

#[test]
fn groups_fixtures() {
    assert!(golden(&GroupsFormat, "groups") >= 1);
}

/// Round trip over every scenario file called `file_name`.
fn scenario_round_trips<F: Checked>(format: &F, file_name: &str) -> Option<usize>
where
    F::Section: Debug,
{
    let dir = common::conformance_dir(&format!("{file_name} round trips"))?;
    let scenarios = common::files(&dir.join("scenarios"), |n| n.starts_with("test-"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for sc in scenarios {
        let path = sc.join(file_name);
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let name = rel(&path, &dir);
        let p = parse(format, &name, &raw);
        if !p.warnings.is_empty() {
            failures.push(format!("{name}: unexpected warnings {:?}", p.warnings));
        }
        if let Err(e) = round_trip(format, &name, &raw) {
            failures.push(e);
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Some(checked)
}

fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn conformance_rules_config_round_trips() {
    if let Some(n) = scenario_round_trips(&RulesFormat, "rules_config") {
        assert!(n > 0, "no rules_config files found");
        eprintln!("rules_config round trips: {n}");
    }
}

#[test]
fn conformance_groups_round_trips() {
    if let Some(n) = scenario_round_trips(&GroupsFormat, "groups") {
        assert!(n > 0, "no groups files found");
        eprintln!("groups round trips: {n}");
    }
}

/// The rules checker inputs hold deliberately broken rules; they must
/// parse without panicking and their valid part must round-trip.
#[test]
fn conformance_rules_cfgs_round_trip() {
    let Some(dir) = common::conformance_dir("rules_cfgs round trips") else {
        return;
    };
    let files = common::files(&dir.join("rules_cfgs"), |n| n.ends_with(".cfg"));
    assert!(!files.is_empty());
    for path in files {
        let raw = std::fs::read(&path).unwrap();
        round_trip(&RulesFormat, &rel(&path, &dir), &raw).unwrap();
    }
}
