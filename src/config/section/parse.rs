//! The reader (06 §2.2): walks the classified lines, validates properties,
//! runs the end-of-section check and collects the warnings upstream prints.

use std::collections::BTreeMap;

use super::lex::{classify, Line};
use super::schema::check_value;
use super::{PropError, RawSection, SectionConfig, SectionFormat, Value};
use crate::config::{digest, Parsed};

/// The section being read.
struct Open {
    raw: RawSection,
    /// Line of the last non-comment line that belonged to the section.
    last_line: usize,
    /// Whether the header was refused (lines are consumed silently).
    skipped: bool,
}

/// Parses a section-config file. `file` is used only in messages. Never
/// fails: problems become warnings, and a section that cannot be used is
/// recorded as `None` (or skipped entirely where upstream skips it).
pub fn parse<F: SectionFormat>(
    format: &F,
    file: &str,
    raw: &[u8],
) -> Parsed<SectionConfig<F::Section>> {
    let text = String::from_utf8_lossy(raw);
    let mut out = SectionConfig {
        ids: BTreeMap::new(),
        order: BTreeMap::new(),
        digest: digest(raw),
        errors: Vec::new(),
    };
    let mut warnings = Vec::new();
    let mut next_order = 1;
    let mut open: Option<Open> = None;

    for (idx, line) in text.split('\n').enumerate() {
        let n = idx + 1;
        let kind = classify(line);
        if kind == Line::Comment {
            continue;
        }
        let Some(sec) = open.as_mut() else {
            match kind {
                Line::Empty | Line::Comment => {}
                Line::Header { ty, name } => {
                    let header = format.parse_header(ty, name);
                    let error = header.error.clone().or_else(|| {
                        format
                            .section_type(&header.ty)
                            .is_none()
                            .then(|| format!("unsupported type '{}'", header.ty))
                    });
                    if let Some(err) = &error {
                        warnings.push(format!(
                            "file {file} line {n} (skip section '{}'): {err}",
                            header.id
                        ));
                    }
                    open = Some(Open {
                        raw: RawSection {
                            ty: header.ty,
                            id: header.id,
                            props: BTreeMap::new(),
                        },
                        last_line: n,
                        skipped: error.is_some(),
                    });
                }
                Line::Property { .. } | Line::Other => {
                    warnings.push(format!("file {file} line {n} - ignore config line: {line}"));
                }
            }
            continue;
        };
        if kind == Line::Empty {
            if let Some(done) = open.take() {
                finish(format, file, done, &mut out, &mut warnings, &mut next_order);
            }
            continue;
        }
        sec.last_line = n;
        if sec.skipped {
            continue;
        }
        match kind {
            Line::Property { key, value } => {
                if let Err(err) = property(format, &mut sec.raw, key, value) {
                    warnings.push(format!(
                        "file {file} line {n} (section '{}') - unable to parse value of '{key}': {err}",
                        sec.raw.id
                    ));
                    out.errors.push(PropError {
                        line: n,
                        section: sec.raw.id.clone(),
                        key: key.to_string(),
                        err,
                    });
                }
            }
            _ => warnings.push(format!(
                "file {file} line {n} (section '{}') - ignore config line: {line}",
                sec.raw.id
            )),
        }
    }
    if let Some(done) = open.take() {
        finish(format, file, done, &mut out, &mut warnings, &mut next_order);
    }
    Parsed {
        value: out,
        warnings,
    }
}

/// Validates and stores one property (06 §2.2 step 4).
fn property<F: SectionFormat>(
    format: &F,
    raw: &mut RawSection,
    key: &str,
    value: Option<&str>,
) -> Result<(), String> {
    // Only registered types get here (others are skipped at the header).
    let ty = format
        .section_type(&raw.ty)
        .ok_or_else(|| format!("unknown section type '{}'", raw.ty))?;
    if key != "type" && !format.knows_property(ty, key) {
        return Err("unknown property type".to_string());
    }
    if raw.props.contains_key(key) {
        return Err("duplicate attribute".to_string());
    }
    if key == "type" {
        return if value == Some(ty.name) {
            Ok(())
        } else {
            Err("unexpected property 'type'".to_string())
        };
    }
    let prop = ty
        .prop(key)
        .ok_or_else(|| format!("unexpected property '{key}'"))?;
    let v = check_value(prop, value)?;
    raw.props.insert(key.to_string(), v);
    Ok(())
}

/// The end-of-section check (06 §2.2 step 5) and recording of the id.
fn finish<F: SectionFormat>(
    format: &F,
    file: &str,
    done: Open,
    out: &mut SectionConfig<F::Section>,
    warnings: &mut Vec<String>,
    next_order: &mut u64,
) {
    if done.skipped {
        return;
    }
    let id = done.raw.id.clone();
    let missing = format
        .section_type(&done.raw.ty)
        .and_then(|ty| first_missing_required(ty.props, &done.raw.props));
    let checked = match missing {
        Some(key) => Err(format!("missing value for required option '{key}'")),
        None => format.decode(done.raw),
    };
    let section = match checked {
        Ok(section) => Some(section),
        Err(err) => {
            warnings.push(format!(
                "file {file} line {} (skip section '{id}'): {err}",
                done.last_line
            ));
            None
        }
    };
    out.ids.insert(id.clone(), section);
    out.order.insert(id, *next_order);
    *next_order += 1;
}

/// The first required option (in key order) that is not set.
fn first_missing_required(
    props: &[super::Prop],
    set: &BTreeMap<String, Value>,
) -> Option<&'static str> {
    let mut required: Vec<&'static str> = props
        .iter()
        .filter(|p| p.required && !set.contains_key(p.key))
        .map(|p| p.key)
        .collect();
    required.sort_unstable();
    required.first().copied()
}
