//! HA resources (06 §10.2): `config`, `add`, `set`, `remove`, and the
//! `migrate` / `relocate` requests with their motion output (§9.7); plus
//! the helpers other families share: SID resolution (§3.4), the
//! "managed" predicate (§10.7) and the error-state guard.

use std::collections::BTreeSet;

use super::{both, op_err, paths, CliError, Ctx, EditError, Params};
use crate::cli::output;
use crate::cluster::{ClusterStore, GuestKind};
use crate::config::groups::GroupsConfig;
use crate::config::ocf::{self, OcfParams, OcfSpec};
use crate::config::resources::{Resource, ResourcesConfig, ResourcesFormat};
use crate::config::rules::RulesFormat;
use crate::config::section::{SectionFormat, Value};
use crate::config::status::ManagerStatus;
use crate::crm::placement::checker;
use crate::crm::placement::CompiledRules;
use crate::ocf::{agent::root_from_env, validate};
use crate::types::text::split_list;
use crate::types::{ConfiguredState, DisarmMode, OrUnknown, ServiceState, Sid};

/// `detected modified configuration …` (06 §2.7).
pub const DIGEST_MISMATCH: &str =
    "detected modified configuration - file changed by other user? Try again.";

/// The option keys of a resource section (06 §3.2).
const OPTIONS: &[&str] = &[
    "comment",
    "failback",
    "group",
    "max_relocate",
    "max_restart",
    "state",
];

/// "Groups have been migrated" ⇔ groups.cfg has no section id at all
/// (null ids count as present, 06 §10.4).
pub fn groups_migrated(groups: &GroupsConfig) -> bool {
    groups.ids.is_empty()
}

/// Resolves a `sid` parameter (06 §3.4): a bare VMID through the VM list,
/// otherwise `<type>:<name>` split at the last colon that leaves a name.
/// Returns the canonical id and its type and name parts.
pub fn resolve_sid(ctx: &Ctx, text: &str) -> Result<(String, String, String), CliError> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let vmlist = ctx.store.vmlist();
        let guest = vmlist.get(text).ok_or_else(|| {
            op_err(format!(
                "unable to detect SID from VMID - VM/CT {text} does not exist"
            ))
        })?;
        let ty = match &guest.kind {
            GuestKind::Qemu => "vm",
            GuestKind::Lxc => "ct",
            GuestKind::Other(k) => return Err(op_err(format!("unknown PVE resource type '{k}'"))),
        };
        return Ok((format!("{ty}:{text}"), ty.to_string(), text.to_string()));
    }
    let bad = || op_err(format!("unable to parse service id '{text}'"));
    let colon = text.rfind(':').ok_or_else(bad)?;
    let (ty, name) = (&text[..colon], &text[colon + 1..]);
    let blank = |s: &str| s.is_empty() || s.chars().any(crate::types::text::is_space);
    if blank(ty) || blank(name) {
        return Err(bad());
    }
    Ok((text.to_string(), ty.to_string(), name.to_string()))
}

/// *Managed* (06 §10.7): configured, not `ignored`, and HA not disarmed in
/// `ignore` mode.
pub fn is_managed(cfg: &ResourcesConfig, ms: &ManagerStatus, sid: &str) -> bool {
    let Some(res) = cfg.get(sid) else {
        return false;
    };
    if res.state == Some(ConfiguredState::Ignored) {
        return false;
    }
    let ignore = ms
        .disarm
        .as_ref()
        .and_then(|d| d.mode.as_ref())
        .is_some_and(|m| *m == OrUnknown::Known(DisarmMode::Ignore));
    !ignore
}

/// The CRM state of `sid` is `error`.
pub fn in_error_state(ms: &ManagerStatus, sid: &str) -> bool {
    sid.parse::<Sid>()
        .ok()
        .and_then(|s| ms.service_status.get(&s))
        .and_then(|e| e.state.as_ref())
        .is_some_and(|s| *s == OrUnknown::Known(ServiceState::Error))
}

/// The error-state guard (06 §10.2 step 3).
pub fn error_state_guard(ctx: &mut Ctx, sid: &str) -> Result<(), CliError> {
    let cfg = ctx.resources()?;
    let ms = ctx.manager_status()?;
    if is_managed(&cfg, &ms, sid) && in_error_state(&ms, sid) {
        return Err(op_err(format!(
            "service '{sid}' in error state, must be disabled and fixed first"
        )));
    }
    Ok(())
}

/// A resource's properties as the file stores them (numbers normalised).
fn raw_props(res: &Resource) -> Vec<(String, String)> {
    ResourcesFormat::default()
        .encode(res)
        .props
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Int(n) => n.to_string(),
                Value::Str(s) => s,
            };
            (k, v)
        })
        .collect()
}

/// `config [--type ct|vm]` (06 §9.4).
pub fn config(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let cfg = ctx.resources()?;
    let groups = ctx.groups()?;
    let migrated = groups_migrated(&groups);
    let ty = p.get("type");
    for (sid, res) in cfg.sections() {
        if ty.is_some_and(|t| res.sid.type_str() != t) {
            continue;
        }
        let mut text = format!("{sid}\n");
        for (k, v) in raw_props(res) {
            if k == "group" && migrated {
                continue;
            }
            text.push_str(&format!("\t{k} {v}\n"));
        }
        output::print(&text);
        if let Some(g) = &res.group {
            if !migrated && groups.get(g).is_none() {
                output::eprint(&format!(
                    "error: property 'group' - group '{g}' does not exist\n"
                ));
            }
        }
        output::print("\n");
    }
    Ok(())
}

/// Applies the option parameters to a section (the update-mode check has
/// already validated them; a line feed in the comment is refused as the
/// section check does).
fn apply_options(res: &mut Resource, p: &Params) -> Result<(), String> {
    for key in OPTIONS {
        let Some(v) = p.get(key) else { continue };
        match *key {
            "comment" => {
                if v.contains(['\r', '\n']) {
                    return Err("property contains a line feed".to_string());
                }
                res.comment = Some(v.to_string());
            }
            "failback" => res.failback = Some(v != "0"),
            "group" => res.group = Some(v.to_string()),
            "max_relocate" => res.max_relocate = Some(parse_int(v)),
            "max_restart" => res.max_restart = Some(parse_int(v)),
            "state" => res.state = v.parse().ok(),
            _ => {}
        }
    }
    Ok(())
}

/// An integer parameter already checked by the schema (`+5`, `007`).
fn parse_int(v: &str) -> i64 {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    let n: i64 = digits.parse().unwrap_or(i64::MAX);
    if v.starts_with('-') {
        -n
    } else {
        n
    }
}

/// `--force` of the write commands: rewrite even when content would be
/// lost (upstream's behaviour).
pub fn force(p: &Params) -> bool {
    p.flag("force").unwrap_or(false)
}

/// `add <sid> [OPTIONS]` (06 §10.2 create).
pub fn add(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    ctx.check_quorum_and_create_dir()?;
    let raw_sid = p.take("sid").unwrap_or_default();
    let (sid, ty, name) = resolve_sid(ctx, &raw_sid)?;
    if let Some(t) = p.take("type") {
        if t != ty {
            return Err(op_err("types does not match"));
        }
    }
    if p.get("group").is_some() && groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "invalid parameter 'group': ha groups have been migrated to rules",
        ));
    }
    if ty == "ocf" {
        return add_ocf(ctx, p, sid, &name);
    }
    if ty != "vm" && ty != "ct" {
        return Err(op_err(format!("unknown section type '{ty}'")));
    }
    refuse_ocf_options(p)?;
    let b = name.as_bytes();
    if !(b.len() >= 2 && (b'1'..=b'9').contains(&b[0]) && b.iter().all(u8::is_ascii_digit)) {
        return Err(op_err("invalid VMID"));
    }
    crate::cluster::services::check_exists(&ctx.store.vmlist(), &ty, &name).map_err(op_err)?;
    let parsed: Sid = sid
        .parse()
        .map_err(|e: crate::types::SidError| op_err(e.to_string()))?;
    let mut res = Resource::new(parsed);
    apply_options(&mut res, p).map_err(op_err)?;
    let force = force(p);
    ctx.locked(Some("create resource failed"), |ctx| {
        insert_resource(ctx, &sid, res, force)
    })
}

/// The locked part of `add`: a new section `sid`, refused if the id is
/// taken, written back (guarded by `rewrite_guard` unless `force`).
fn insert_resource(
    ctx: &mut Ctx<'_>,
    sid: &str,
    res: Resource,
    force: bool,
) -> Result<(), EditError> {
    let mut file = ctx.resources_for_edit()?;
    let cfg = &mut file.value;
    if cfg.ids.contains_key(sid) {
        return Err(format!("resource ID '{sid}' already defined").into());
    }
    cfg.ids.insert(sid.to_string(), Some(res));
    ctx.write_section_file(paths::RESOURCES, &ResourcesFormat::default(), &file, force)
}

/// `--agent`/`--params` given for a resource that is not `ocf`.
fn refuse_ocf_options(p: &Params) -> Result<(), CliError> {
    if p.get("agent").is_some() || p.get("params").is_some() {
        return Err(op_err(
            "error: --agent and --params are for resource type 'ocf' only",
        ));
    }
    Ok(())
}

/// An `ocf` refusal: `error: ocf:<name>: <why>`.
fn ocf_err(sid: &str, why: impl std::fmt::Display) -> CliError {
    op_err(format!("error: {sid}: {why}"))
}

/// The `ocf` resources of the file but `sid`, for the `unique` check.
fn other_ocf(cfg: &ResourcesConfig, sid: &str) -> Vec<(String, OcfSpec)> {
    cfg.sections()
        .filter(|(id, _)| id.as_str() != sid)
        .filter_map(|(id, r)| r.ocf.clone().map(|o| (id.clone(), o)))
        .collect()
}

/// Runs the add-time checks of docs/ocf.md (src/ocf/validate.rs) on the
/// agents under `OCF_ROOT`.
fn validate_ocf(cfg: &ResourcesConfig, sid: &str, spec: &OcfSpec) -> Result<(), CliError> {
    let others = other_ocf(cfg, sid);
    let refs: Vec<(&str, &OcfSpec)> = others.iter().map(|(id, o)| (id.as_str(), o)).collect();
    validate::validate(&root_from_env(), sid, spec, &refs)
        .map(|_| ())
        .map_err(|e| op_err(format!("error: {e}")))
}

/// Writes the location record of a new `ocf` resource on this node,
/// unless some node holds one already (docs/ocf.md).
fn place_ocf(store: &dyn ClusterStore, name: &str) -> Result<(), String> {
    if store.vmlist().get(name).is_some() {
        return Ok(());
    }
    let node = store.local_node();
    let rel = paths::guest_config("ocf", name, &node).ok_or("no location for ocf")?;
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    store.create_dir(dir).map_err(|e| e.to_string())?;
    store.write_atomic(&rel, b"").map_err(|e| e.to_string())
}

/// `add ocf:<name> --agent P:T [--params …]`: the etcd backend only;
/// the name, agent and params syntax, then the agent's own checks, then
/// the section and the location record.
fn add_ocf(ctx: &mut Ctx, p: &Params, sid: String, name: &str) -> Result<(), CliError> {
    validate::check_backend(ctx.store.backend()).map_err(op_err)?;
    ocf::check_name(name).map_err(|e| ocf_err(&sid, e))?;
    let agent = p
        .get("agent")
        .ok_or_else(|| ocf_err(&sid, "missing --agent PROVIDER:TYPE"))?;
    let spec = OcfSpec {
        agent: agent.parse().map_err(|e| ocf_err(&sid, e))?,
        params: OcfParams::parse(p.get("params").unwrap_or_default())
            .map_err(|e| ocf_err(&sid, e))?,
    };
    let cfg = ctx.resources()?;
    if cfg.ids.contains_key(&sid) {
        return Err(op_err(format!(
            "create resource failed: resource ID '{sid}' already defined"
        )));
    }
    validate_ocf(&cfg, &sid, &spec)?;
    let parsed: Sid = sid
        .parse()
        .map_err(|e: crate::types::SidError| op_err(e.to_string()))?;
    let mut res = Resource::new(parsed);
    res.ocf = Some(spec);
    apply_options(&mut res, p).map_err(op_err)?;
    let force = force(p);
    ctx.locked(Some("create resource failed"), |ctx| {
        insert_resource(ctx, &sid, res, force)?;
        Ok(place_ocf(ctx.store, name)?)
    })
}

/// The agent and params an `ocf` resource will have after `set`, when
/// they change (`--agent`, `--params`, `--delete params`), checked as at
/// `add`; `None` when they stay.
fn ocf_update(
    ctx: &mut Ctx,
    p: &Params,
    sid: &str,
    delete: Option<&str>,
) -> Result<Option<OcfSpec>, CliError> {
    validate::check_backend(ctx.store.backend()).map_err(op_err)?;
    let deleted = delete.is_some_and(|d| split_list(d).contains(&"params"));
    if p.get("agent").is_none() && p.get("params").is_none() && !deleted {
        return Ok(None);
    }
    let cfg = ctx.resources()?;
    // A missing resource is reported under the lock, as for any type.
    let Some(current) = cfg.get(sid).and_then(|r| r.ocf.clone()) else {
        return Ok(None);
    };
    let mut spec = current;
    if let Some(a) = p.get("agent") {
        spec.agent = a.parse().map_err(|e| ocf_err(sid, e))?;
    }
    if let Some(text) = p.get("params") {
        spec.params = OcfParams::parse(text).map_err(|e| ocf_err(sid, e))?;
    }
    if deleted {
        spec.params = OcfParams::default();
    }
    validate_ocf(&cfg, sid, &spec)?;
    Ok(Some(spec))
}

/// `set <sid> [OPTIONS]` (06 §10.2 update).
pub fn set(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let digest = p.take("digest");
    let delete = p.take("delete");
    let raw_sid = p.take("sid").unwrap_or_default();
    let (sid, ty, _) = resolve_sid(ctx, &raw_sid)?;
    let is_ocf = ty == "ocf";
    let new_spec = if is_ocf {
        ocf_update(ctx, p, &sid, delete.as_deref())?
    } else {
        refuse_ocf_options(p)?;
        None
    };
    if let Some(g) = p.get("group").filter(|g| !g.is_empty()) {
        let groups = ctx.groups()?;
        if groups_migrated(&groups) {
            return Err(op_err(
                "invalid parameter 'group': ha groups have been migrated to rules",
            ));
        }
        if groups.get(g).is_none() {
            return Err(op_err(format!("HA group '{g}' does not exist")));
        }
    }
    if p.get("state") != Some("disabled") {
        error_state_guard(ctx, &sid)?;
    }
    let force = force(p);
    ctx.locked(Some("update resources config failed"), |ctx| {
        let mut file = ctx.resources_for_edit()?;
        let cfg = &mut file.value;
        check_digest(digest.as_deref(), &cfg.digest)?;
        let Some(Some(res)) = cfg.ids.get_mut(&sid) else {
            return Err(format!("no such resource '{sid}'").into());
        };
        apply_options(res, p)?;
        if let Some(spec) = new_spec {
            res.ocf = Some(spec);
        }
        if let Some(delete) = &delete {
            for k in split_list(delete) {
                match k {
                    "agent" if is_ocf => {
                        return Err("unable to delete required option 'agent'"
                            .to_string()
                            .into())
                    }
                    // Already applied to the checked spec above.
                    "params" if is_ocf => continue,
                    _ => {}
                }
                if !OPTIONS.contains(&k) {
                    return Err(format!("no such option '{k}'").into());
                }
                match k {
                    "comment" => res.comment = None,
                    "failback" => res.failback = None,
                    "group" => res.group = None,
                    "max_relocate" => res.max_relocate = None,
                    "max_restart" => res.max_restart = None,
                    _ => res.state = None,
                }
            }
        }
        ctx.write_section_file(paths::RESOURCES, &ResourcesFormat::default(), &file, force)
    })
}

/// The digest check of update operations (06 §2.7).
pub fn check_digest(given: Option<&str>, current: &str) -> Result<(), String> {
    match given {
        Some(d) if !d.is_empty() && !current.is_empty() && d != current => {
            Err(DIGEST_MISMATCH.to_string())
        }
        _ => Ok(()),
    }
}

/// `remove <sid> [--purge]` (06 §10.2 delete).
pub fn remove(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let purge = p.flag("purge").unwrap_or(true);
    let raw_sid = p.take("sid").unwrap_or_default();
    let (sid, _, _) = resolve_sid(ctx, &raw_sid)?;
    if !ctx.resources()?.ids.contains_key(&sid) {
        return Err(op_err(format!(
            "cannot delete service '{sid}', not HA managed!"
        )));
    }
    let force = force(p);
    ctx.locked(Some("delete resource failed"), |ctx| {
        let resources = ctx.resources_for_edit();
        let rules = if purge {
            ctx.rules_for_edit().map(Some)
        } else {
            Ok(None)
        };
        let (mut file, mut rules) = both(resources, rules)?;
        file.value.ids.remove(&sid);
        file.value.order.remove(&sid);
        if let Some(rules) = rules.as_mut().map(|f| &mut f.value) {
            let target: Option<Sid> = sid.parse().ok();
            let mut gone = Vec::new();
            for (id, rule) in rules.ids.iter_mut() {
                match rule {
                    Some(r) => {
                        if let Some(t) = &target {
                            r.resources.remove(t);
                        }
                        if r.resources.is_empty() {
                            gone.push(id.clone());
                        }
                    }
                    // Null sections have no resources left either.
                    None => gone.push(id.clone()),
                }
            }
            for id in gone {
                rules.ids.remove(&id);
                rules.order.remove(&id);
            }
        }
        // Both files are judged before either is written, so a refusal
        // leaves both untouched.
        let format = ResourcesFormat::default();
        let checked_resources = file.guard.check(&format, &file.value, force);
        let checked_rules = match &rules {
            Some(r) => r.guard.check(&RulesFormat, &r.value, force),
            None => Ok(()),
        };
        both(
            checked_resources.map_err(EditError::from),
            checked_rules.map_err(EditError::from),
        )?;
        ctx.write_section_file(paths::RESOURCES, &format, &file, true)?;
        if let Some(rules) = &rules {
            ctx.write_section_file(paths::RULES, &RulesFormat, rules, true)?;
        }
        Ok(unplace_ocf(ctx.store, &sid)?)
    })
}

/// Removes the location record of a removed `ocf` resource (nothing for
/// other types).
fn unplace_ocf(store: &dyn ClusterStore, sid: &str) -> Result<(), String> {
    let Some(name) = sid.strip_prefix("ocf:") else {
        return Ok(());
    };
    let Some(guest) = store.vmlist().get(name).cloned() else {
        return Ok(());
    };
    match paths::guest_config("ocf", name, &guest.node) {
        Some(rel) => store.remove(&rel).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// The affinity partners of a motion (06 §10.2 step 4).
struct Motion {
    comigrated: Vec<String>,
    blocking: Vec<String>,
}

/// Computes the positive partners that move along and the negative
/// partners on the requested node, from the compiled rules (including
/// groups converted to rules) and manager_status.
fn motion_info(ctx: &mut Ctx, sid: &str, node: &str) -> Result<Motion, CliError> {
    let ms = ctx.manager_status()?;
    let rules = super::rules::full_view(ctx)?;
    let nodes: Vec<String> = ms.node_status.keys().cloned().collect();
    let (checked, _) = checker::check_rules(rules, &nodes);
    let compiled = CompiledRules::compile(&checked, &nodes);
    let Ok(me) = sid.parse::<Sid>() else {
        return Ok(Motion {
            comigrated: Vec::new(),
            blocking: Vec::new(),
        });
    };
    let ignored = |s: &Sid| {
        ms.service_status.get(s).is_none_or(|e| {
            e.state
                .as_ref()
                .is_some_and(|st| st.to_string() == "ignored")
        })
    };
    let comigrated = compiled
        .positive
        .get(&me)
        .into_iter()
        .flatten()
        .filter(|s| !ignored(s))
        .map(|s| s.to_string())
        .collect();
    let online = ms
        .node_status
        .get(node)
        .is_some_and(|s| s.to_string() == "online");
    let mut blocking = Vec::new();
    if online {
        for s in compiled.negative.get(&me).into_iter().flatten() {
            if ignored(s) {
                continue;
            }
            let Some(e) = ms.service_status.get(s) else {
                continue;
            };
            if e.node
                .as_deref()
                .is_some_and(|n| !n.is_empty() && n != node)
            {
                continue;
            }
            if e.target
                .as_deref()
                .is_some_and(|t| !t.is_empty() && t != node)
            {
                continue;
            }
            blocking.push(s.to_string());
        }
    }
    Ok(Motion {
        comigrated,
        blocking,
    })
}

/// `crm-command migrate|relocate <sid> <node>` (06 §10.2, §9.7).
fn motion(ctx: &mut Ctx, p: &mut Params, cmd: &str) -> Result<(), CliError> {
    let raw_sid = p.take("sid").unwrap_or_default();
    let node = p.take("node").unwrap_or_default();
    let (sid, _, _) = resolve_sid(ctx, &raw_sid)?;
    let cfg = ctx.resources()?;
    let ms = ctx.manager_status()?;
    if !is_managed(&cfg, &ms, &sid) {
        return Err(op_err(format!("resource '{sid}' is not HA managed")));
    }
    if in_error_state(&ms, &sid) {
        return Err(op_err(format!(
            "service '{sid}' in error state, must be disabled and fixed first"
        )));
    }
    ctx.enqueue(&format!("{cmd} {sid} {node}"))?;
    let cfg = ctx.resources()?;
    let ms = ctx.manager_status()?;
    if !is_managed(&cfg, &ms, &sid) {
        return Ok(());
    }
    let info = motion_info(ctx, &sid, &node)?;
    if !info.blocking.is_empty() {
        let mut msg = format!("cannot {cmd} resource '{sid}' to node '{node}':\n\n");
        for b in &info.blocking {
            msg.push_str(&format!(
                "- resource '{b}' on target node '{node}' in negative affinity with resource '{sid}'\n"
            ));
        }
        return Err(op_err(msg));
    }
    let mut out = String::new();
    for c in &info.comigrated {
        out.push_str(&format!(
            "also {cmd} resource '{c}' in positive affinity with resource '{sid}' to target node '{node}'\n"
        ));
    }
    output::print(&out);
    Ok(())
}

/// `crm-command migrate <sid> <node>` and its alias `migrate`.
pub fn migrate(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    motion(ctx, p, "migrate")
}

/// `crm-command relocate <sid> <node>` and its alias `relocate`.
pub fn relocate(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    motion(ctx, p, "relocate")
}

/// The configured SIDs, for completion.
pub fn configured_sids(cfg: &ResourcesConfig) -> BTreeSet<String> {
    cfg.sections().map(|(id, _)| id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PmxcfsStore;
    use std::fs;

    #[test]
    fn ocf_location_record_follows_add_and_remove() {
        let dir = std::env::temp_dir().join(format!("pve-ha-cli-ocf-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(".members"),
            r#"{"nodename":"node1","version":1,"cluster":{"name":"c","version":1,"nodes":1,"quorate":1},"nodelist":{"node1":{"id":1,"online":1}}}"#,
        )
        .unwrap();
        let store = PmxcfsStore::new(&dir);
        place_ocf(&store, "web-ip").unwrap();
        let rec = dir.join(format!("nodes/{}/ocf/web-ip.conf", store.local_node()));
        assert!(rec.is_file(), "{}", rec.display());
        // Held elsewhere already: nothing new is written.
        fs::create_dir_all(dir.join("nodes/zz/ocf")).unwrap();
        fs::write(dir.join("nodes/zz/ocf/db.conf"), "").unwrap();
        place_ocf(&store, "db").unwrap();
        assert!(!dir
            .join(format!("nodes/{}/ocf/db.conf", store.local_node()))
            .exists());
        unplace_ocf(&store, "ocf:db").unwrap();
        assert!(!dir.join("nodes/zz/ocf/db.conf").exists());
        unplace_ocf(&store, "vm:100").unwrap();
        let _ = fs::remove_dir_all(&dir);
    }
}
