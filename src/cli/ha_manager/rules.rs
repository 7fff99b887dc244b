//! HA rules (06 §10.5, §9.6): `rules list` / `rules config` over the full
//! view (rules plus the rules generated from groups) with the checker's
//! feasibility errors, and `rules add` / `set` / `remove` with upstream's
//! checks, next-ordinal quirk and error prefixes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};

use super::format::{self, FormatOptions};
use super::resources::{check_digest, force, groups_migrated};
use super::{op_err, paths, CliError, Ctx, EditError, ForEdit, Params};
use crate::config::rules::{decode_comment, Rule, RuleKind, RuleType, RulesConfig, RulesFormat};
use crate::config::section::schema::node_entry_priority;
use crate::config::section::{SectionFormat, Value};
use crate::crm::placement::checker::{rule_errors, RuleErrors};
use crate::types::text::split_list;
use crate::types::Sid;

/// Keys a rule of each type may carry besides `type` (06 §5.1–§5.2).
fn allowed(ty: RuleType) -> &'static [&'static str] {
    match ty {
        RuleType::NodeAffinity => &["comment", "disable", "nodes", "resources", "strict"],
        RuleType::ResourceAffinity => &["affinity", "comment", "disable", "resources"],
    }
}

/// Required keys of each type, sorted.
fn required(ty: RuleType) -> &'static [&'static str] {
    match ty {
        RuleType::NodeAffinity => &["nodes", "resources"],
        RuleType::ResourceAffinity => &["affinity", "resources"],
    }
}

/// Every rule option the CLI knows.
const RULE_OPTIONS: &[&str] = &[
    "affinity",
    "comment",
    "disable",
    "nodes",
    "resources",
    "strict",
];

/// The rules the API works on (06 §10.5): rules.cfg plus, while groups
/// exist, one `ha-group-<group>` node-affinity rule per group used by a
/// resource (04 §7.2; next-ordinal order numbers, 06 §5.5).
pub fn full_view(ctx: &mut Ctx) -> Result<RulesConfig, CliError> {
    let mut rules = ctx.rules()?;
    let groups = ctx.groups()?;
    if groups_migrated(&groups) {
        return Ok(rules);
    }
    let resources = ctx.resources()?;
    let mut members: BTreeMap<&str, BTreeSet<Sid>> = BTreeMap::new();
    for (_, r) in resources.sections() {
        if let Some(g) = &r.group {
            members.entry(g.as_str()).or_default().insert(r.sid.clone());
        }
    }
    for (gid, sids) in members {
        let Some(group) = groups.get(gid) else {
            continue;
        };
        let id = format!("ha-group-{gid}");
        let rule = Rule {
            resources: sids,
            disable: None,
            comment: Some(
                group
                    .comment
                    .clone()
                    .unwrap_or_else(|| format!("Generated from HA group '{gid}'.")),
            ),
            kind: RuleKind::NodeAffinity {
                nodes: group.node_priorities(),
                strict: group.restricted,
            },
        };
        let order = next_ordinal(&rules);
        rules.order.insert(id.clone(), order);
        rules.ids.insert(id, Some(rule));
    }
    Ok(rules)
}

/// Upstream's "next ordinal": the smallest order number plus one, or 1
/// (06 §5.5 quirk, replicated).
pub fn next_ordinal(rules: &RulesConfig) -> u64 {
    rules.order.values().min().map_or(1, |m| m + 1)
}

/// The node list the checker runs with: manager_status's nodes (06 §10.5).
fn checker_nodes(ctx: &Ctx) -> Result<Vec<String>, CliError> {
    Ok(ctx.manager_status()?.node_status.keys().cloned().collect())
}

/// One index item (06 §10.5 index): the rule's keys with `resources` and
/// `nodes` encoded as in the file but the comment decoded, plus `rule`,
/// `digest`, `order` and, when the checker rejects it, `errors`.
fn item(id: &str, rule: &Rule, order: u64, digest: &str, errors: &RuleErrors) -> Map<String, Json> {
    let mut m = Map::new();
    for (k, v) in RulesFormat.encode(rule).props {
        let v = match v {
            Value::Int(n) => json!(n),
            Value::Str(s) => json!(s),
        };
        m.insert(k, v);
    }
    if let Some(c) = &rule.comment {
        m.insert("comment".into(), json!(c));
    }
    m.insert("type".into(), json!(rule.rule_type().as_str()));
    m.insert("rule".into(), json!(id));
    m.insert("digest".into(), json!(digest));
    m.insert("order".into(), json!(order));
    if let Some(e) = errors.get(id) {
        let e: Map<String, Json> = e.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert("errors".into(), Json::Object(e));
    }
    m
}

/// The rules index with its filters (06 §10.5).
fn index(ctx: &mut Ctx, p: &Params) -> Result<Vec<Map<String, Json>>, CliError> {
    let rules = full_view(ctx)?;
    let errors = rule_errors(&rules, &checker_nodes(ctx)?);
    let ty = p.get("type");
    let resource: Option<Sid> = p.get("resource").and_then(|s| s.parse().ok());
    let mut out = Vec::new();
    for (id, rule) in rules.sections_in_order() {
        if ty.is_some_and(|t| rule.rule_type().as_str() != t) {
            continue;
        }
        if resource
            .as_ref()
            .is_some_and(|s| !rule.resources.contains(s))
        {
            continue;
        }
        let order = rules.order.get(id).copied().unwrap_or(0);
        out.push(item(id, rule, order, &rules.digest, &errors));
    }
    Ok(out)
}

/// `rules list` (06 §9.6): one `rule` column in text.
pub fn list(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let items = index(ctx, p)?;
    format::print_result(&items, &[("rule", false)], &FormatOptions::from_params(p));
    Ok(())
}

/// `rules config` (06 §9.6): every item gets `enabled` and `state`.
pub fn config(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let mut items = index(ctx, p)?;
    for m in items.iter_mut() {
        let enabled = i64::from(!m.contains_key("disable"));
        let state = if m.contains_key("errors") {
            "ignored (conflicts)"
        } else {
            "in use"
        };
        m.insert("enabled".into(), json!(enabled));
        m.insert("state".into(), json!(state));
    }
    format::print_result(
        &items,
        &[
            ("enabled", true),
            ("state", false),
            ("rule", false),
            ("type", false),
            ("resources", false),
            ("comment", false),
        ],
        &FormatOptions::from_params(p),
    );
    Ok(())
}

/// The option parameters given for a rule, after dropping a false
/// `disable` (06 §5.3: the API never stores `disable 0`).
fn given_options(p: &Params) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    for k in RULE_OPTIONS {
        if let Some(v) = p.get(k) {
            if *k == "disable" && v == "0" {
                continue;
            }
            m.insert(*k, v.to_string());
        }
    }
    m
}

/// The section check for the given options (06 §2.4): keys of the other
/// rule type are unexpected, values must not contain line feeds, and in
/// create mode every required key must be there.
fn check_options(
    ty: RuleType,
    opts: &BTreeMap<&'static str, String>,
    create: bool,
) -> Result<(), String> {
    for (k, v) in opts {
        if !allowed(ty).contains(k) {
            return Err(format!("unexpected property '{k}'"));
        }
        if v.contains(['\r', '\n']) {
            return Err("property contains a line feed".to_string());
        }
    }
    if create {
        if let Some(k) = required(ty).iter().find(|k| !opts.contains_key(*k)) {
            return Err(format!("missing value for required option '{k}'"));
        }
    }
    Ok(())
}

/// The resources check (06 §10.5): a non-empty set of configured SIDs.
fn check_resources(ctx: &mut Ctx, text: &str) -> Result<BTreeSet<Sid>, String> {
    let sids: BTreeSet<Sid> = split_list(text)
        .into_iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    if sids.is_empty() {
        return Err("no resources were specified".to_string());
    }
    let cfg = ctx.resources().map_err(|e| e.to_string())?;
    let unmanaged: Vec<&str> = sids
        .iter()
        .filter(|s| !cfg.ids.contains_key(s.as_str()))
        .map(Sid::as_str)
        .collect();
    if !unmanaged.is_empty() {
        return Err(format!(
            "cannot use unmanaged resource(s) {}.",
            unmanaged.join(", ")
        ));
    }
    Ok(sids)
}

/// The node check (06 §10.5): a non-empty list of the local node or
/// cluster members; later duplicate entries override earlier ones.
fn check_nodes(ctx: &Ctx, text: &str) -> Result<BTreeMap<String, i64>, String> {
    let nodes: BTreeMap<String, i64> = split_list(text)
        .into_iter()
        .map(|e| {
            let (n, prio) = node_entry_priority(e);
            (n.to_string(), prio)
        })
        .collect();
    if nodes.is_empty() {
        return Err("no nodes were specified".to_string());
    }
    let members = ctx.store.members();
    let local = ctx.store.local_node();
    let missing: Vec<&str> = nodes
        .keys()
        .filter(|n| **n != local && !members.is_member(n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "cannot use non-existent node(s) {}.",
            missing.join(", ")
        ));
    }
    Ok(nodes)
}

/// Copies checked values into a rule.
fn apply(rule: &mut Rule, opts: &BTreeMap<&'static str, String>) {
    for (k, v) in opts {
        match *k {
            "comment" => rule.comment = Some(decode_comment(v)),
            "disable" => rule.disable = Some(v != "0"),
            "strict" => {
                if let RuleKind::NodeAffinity { strict, .. } = &mut rule.kind {
                    *strict = Some(v != "0");
                }
            }
            "affinity" => {
                if let (RuleKind::ResourceAffinity { affinity }, Ok(a)) =
                    (&mut rule.kind, v.parse())
                {
                    *affinity = a;
                }
            }
            _ => {}
        }
    }
}

/// Refuses a rule the checker rejects (06 §10.5): `400 Rule '<id>' is
/// invalid.` and one line per property.
fn check_feasible(ctx: &mut Ctx, rules: &RulesConfig, id: &str) -> Result<(), String> {
    let nodes = checker_nodes(ctx).map_err(|e| e.to_string())?;
    let errors = rule_errors(rules, &nodes);
    match errors.get(id) {
        Some(e) if !e.is_empty() => {
            let mut msg = format!("400 Rule '{id}' is invalid.");
            for (prop, msgs) in e {
                msg.push_str(&format!("\n{prop}: {}", msgs.join(", ")));
            }
            Err(msg)
        }
        _ => Ok(()),
    }
}

/// Writes rules.cfg from locked code (refused when the rewrite would lose
/// content and `--force` was not given).
fn write_rules(ctx: &Ctx, file: &ForEdit<Rule>, force: bool) -> Result<(), EditError> {
    ctx.write_section_file(paths::RULES, &RulesFormat, file, force)
}

/// `rules add <type> <rule> [OPTIONS]` (06 §10.5 create).
pub fn add(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    ctx.check_quorum_and_create_dir()?;
    if !groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "cannot create ha rule: ha groups have not been migrated yet",
        ));
    }
    let ty: RuleType = p
        .get("type")
        .unwrap_or_default()
        .parse()
        .map_err(|e: crate::types::UnknownWord| op_err(e.to_string()))?;
    let id = p.get("rule").unwrap_or_default().to_string();
    let opts = given_options(p);
    check_options(ty, &opts, true).map_err(op_err)?;
    let force = force(p);
    ctx.locked(Some("create ha rule failed"), |ctx| {
        let mut file = ctx.rules_for_edit()?;
        let rules = &mut file.value;
        if rules.ids.contains_key(&id) {
            return Err(format!("HA rule '{id}' already defined").into());
        }
        let resources = check_resources(ctx, opts.get("resources").map_or("", String::as_str))?;
        let kind = match ty {
            RuleType::NodeAffinity => RuleKind::NodeAffinity {
                nodes: check_nodes(ctx, opts.get("nodes").map_or("", String::as_str))?,
                strict: None,
            },
            RuleType::ResourceAffinity => RuleKind::ResourceAffinity {
                affinity: opts
                    .get("affinity")
                    .map_or("", String::as_str)
                    .parse()
                    .map_err(|e: crate::types::UnknownWord| e.to_string())?,
            },
        };
        let mut rule = Rule {
            resources,
            disable: None,
            comment: None,
            kind,
        };
        apply(&mut rule, &opts);
        let order = next_ordinal(rules);
        rules.order.insert(id.clone(), order);
        rules.ids.insert(id.clone(), Some(rule));
        check_feasible(ctx, rules, &id)?;
        write_rules(ctx, &file, force)
    })
}

/// `rules set <type> <rule> [OPTIONS]` (06 §10.5 update).
pub fn set(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    if !groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "cannot update ha rule: ha groups have not been migrated yet",
        ));
    }
    let digest = p.take("digest");
    let delete = p.take("delete");
    let given_type = p.get("type").unwrap_or_default().to_string();
    let id = p.get("rule").unwrap_or_default().to_string();
    let opts = given_options(p);
    let force = force(p);
    ctx.locked(Some("update HA rules failed"), |ctx| {
        let mut file = ctx.rules_for_edit()?;
        let rules = &mut file.value;
        check_digest(digest.as_deref(), &rules.digest)?;
        let Some(Some(stored)) = rules.ids.get(&id) else {
            return Err(format!("HA rule '{id}' does not exist").into());
        };
        let mut rule = stored.clone();
        let ty = rule.rule_type();
        if given_type != ty.as_str() {
            return Err("unexpected property 'type'".to_string().into());
        }
        check_options(ty, &opts, false)?;
        if let Some(text) = opts.get("resources") {
            rule.resources = check_resources(ctx, text)?;
        }
        if let Some(text) = opts.get("nodes") {
            let new_nodes = check_nodes(ctx, text)?;
            if let RuleKind::NodeAffinity { nodes, .. } = &mut rule.kind {
                *nodes = new_nodes;
            }
        }
        for k in split_list(delete.as_deref().unwrap_or_default()) {
            if !allowed(ty).contains(&k) {
                return Err(format!("no such option '{k}'").into());
            }
            if required(ty).contains(&k) {
                return Err(format!("unable to delete required option '{k}'").into());
            }
            if opts.contains_key(k) {
                return Err(
                    format!("cannot set and delete property '{k}' at the same time!").into(),
                );
            }
            match k {
                "comment" => rule.comment = None,
                "disable" => rule.disable = None,
                _ => {
                    if let RuleKind::NodeAffinity { strict, .. } = &mut rule.kind {
                        *strict = None;
                    }
                }
            }
        }
        apply(&mut rule, &opts);
        rules.ids.insert(id.clone(), Some(rule));
        check_feasible(ctx, rules, &id)?;
        write_rules(ctx, &file, force)
    })
}

/// `rules remove <rule>` (06 §10.5 delete): no error for a missing rule.
pub fn remove(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let id = p.get("rule").unwrap_or_default().to_string();
    let force = force(p);
    ctx.locked(Some("delete ha rule failed"), |ctx| {
        let mut file = ctx.rules_for_edit()?;
        file.value.ids.remove(&id);
        file.value.order.remove(&id);
        write_rules(ctx, &file, force)
    })
}
