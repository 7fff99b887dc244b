//! The canonical writer (06 §2.6): the byte layout upstream produces for
//! the same content, so files we rewrite diff cleanly against theirs.

use super::{RawSection, SectionConfig, SectionFormat, Value, WriteError};

/// Writes a config. Sections come out by ascending order number (ties and
/// sections without a number by id, numbered after the largest), each as
/// header, comment, disable, required options, optional options, blank
/// line. Fails on a null section, a missing required option or a line feed
/// in a key or value — before anything is produced, so a failed write never
/// leaves half a file.
pub fn write<F: SectionFormat>(
    format: &F,
    config: &SectionConfig<F::Section>,
) -> Result<String, WriteError> {
    let max = config.order.values().copied().max().unwrap_or(0);
    let mut next = max;
    let mut entries: Vec<(u64, &String)> = Vec::with_capacity(config.ids.len());
    for id in config.ids.keys() {
        let n = match config.order.get(id) {
            Some(n) => *n,
            None => {
                next += 1;
                next
            }
        };
        entries.push((n, id));
    }
    entries.sort();

    let mut out = String::new();
    for (_, id) in entries {
        let raw = match config.ids.get(id).and_then(Option::as_ref) {
            Some(section) => format.encode(section),
            None => return Err(WriteError::UnknownSectionType(String::new())),
        };
        write_section(format, id, &raw, &mut out)?;
    }
    Ok(out)
}

fn write_section<F: SectionFormat>(
    format: &F,
    id: &str,
    raw: &RawSection,
    out: &mut String,
) -> Result<(), WriteError> {
    let ty = format
        .section_type(&raw.ty)
        .ok_or_else(|| WriteError::UnknownSectionType(raw.ty.clone()))?;
    out.push_str(&raw.ty);
    out.push_str(": ");
    out.push_str(format.header_name(&raw.ty, id));
    out.push('\n');

    let truthy = |k: &str| raw.props.get(k).is_some_and(Value::is_truthy);
    if ty.prop("comment").is_some() && truthy("comment") {
        line(out, "comment", raw.props.get("comment"), false)?;
    }
    if ty.prop("disable").is_some() && truthy("disable") {
        out.push_str("\tdisable\n");
    }
    let mut required: Vec<_> = ty.props.iter().filter(|p| p.required).collect();
    required.sort_by_key(|p| p.key);
    for p in required {
        let v = raw
            .props
            .get(p.key)
            .ok_or_else(|| WriteError::MissingRequired {
                id: id.to_string(),
                key: p.key.to_string(),
            })?;
        line(out, p.key, Some(v), p.kind == super::PropKind::Bool)?;
    }
    let mut optional: Vec<_> = ty
        .props
        .iter()
        .filter(|p| !p.required && p.key != "comment" && p.key != "disable")
        .collect();
    optional.sort_by_key(|p| p.key);
    for p in optional {
        line(
            out,
            p.key,
            raw.props.get(p.key),
            p.kind == super::PropKind::Bool,
        )?;
    }
    out.push('\n');
    Ok(())
}

/// One `⇥key value` line; booleans by truthiness, empty texts omitted.
fn line(out: &mut String, key: &str, v: Option<&Value>, boolean: bool) -> Result<(), WriteError> {
    let text = match (v, boolean) {
        (None, _) => return Ok(()),
        (Some(v), true) => if v.is_truthy() { "1" } else { "0" }.to_string(),
        (Some(Value::Int(n)), false) => n.to_string(),
        (Some(Value::Str(s)), false) if s.is_empty() => return Ok(()),
        (Some(Value::Str(s)), false) => s.clone(),
    };
    if key.contains(['\r', '\n']) || text.contains(['\r', '\n']) {
        return Err(WriteError::LineFeed(key.to_string()));
    }
    out.push('\t');
    out.push_str(key);
    out.push(' ');
    out.push_str(&text);
    out.push('\n');
    Ok(())
}
