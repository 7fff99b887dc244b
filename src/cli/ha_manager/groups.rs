//! The deprecated HA groups (06 §10.4): `groupconfig`, `groupadd`,
//! `groupset`, `groupremove`. They keep working while groups.cfg still has
//! groups and refuse with upstream's "migrated to rules" messages once it
//! has none; their help texts say they are deprecated, as upstream's do.

use super::resources::{check_digest, force, groups_migrated};
use super::{op_err, paths, CliError, Ctx, EditError, ForEdit, Params};
use crate::cli::output;
use crate::config::groups::{Group, GroupsFormat};
use crate::types::text::split_list;

/// Writes groups.cfg from locked code (refused when the rewrite would
/// lose content and `--force` was not given).
fn write_groups(ctx: &Ctx, file: &ForEdit<Group>, force: bool) -> Result<(), EditError> {
    ctx.write_section_file(paths::GROUPS, &GroupsFormat, file, force)
}

/// `groupconfig` (06 §9.5).
pub fn config(ctx: &mut Ctx, _p: &mut Params) -> Result<(), CliError> {
    let groups = ctx.groups()?;
    if groups_migrated(&groups) {
        return Err(op_err(
            "cannot index groups: ha groups have been migrated to rules",
        ));
    }
    let mut out = String::new();
    for (id, g) in groups.sections() {
        out.push_str(&format!("group: {id}\n"));
        if let Some(c) = &g.comment {
            out.push_str(&format!("\tcomment {c}\n"));
        }
        let nodes: Vec<&str> = g.nodes.iter().map(String::as_str).collect();
        out.push_str(&format!("\tnodes {}\n", nodes.join(",")));
        if let Some(n) = g.nofailback {
            out.push_str(&format!("\tnofailback {}\n", u8::from(n)));
        }
        if let Some(r) = g.restricted {
            out.push_str(&format!("\trestricted {}\n", u8::from(r)));
        }
        out.push('\n');
    }
    output::print(&out);
    Ok(())
}

/// Copies the option parameters into a group.
fn apply(g: &mut Group, p: &Params) -> Result<(), String> {
    if let Some(c) = p.get("comment") {
        if c.contains(['\r', '\n']) {
            return Err("property contains a line feed".to_string());
        }
        g.comment = Some(c.to_string());
    }
    if let Some(n) = p.get("nodes") {
        g.nodes = split_list(n).into_iter().map(str::to_string).collect();
    }
    if let Some(b) = p.flag("nofailback") {
        g.nofailback = Some(b);
    }
    if let Some(b) = p.flag("restricted") {
        g.restricted = Some(b);
    }
    Ok(())
}

/// `groupadd <group> --nodes …` (06 §10.4 create).
pub fn add(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    if groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "cannot create group: ha groups have been migrated to rules",
        ));
    }
    ctx.check_quorum_and_create_dir()?;
    if p.take("type").is_some_and(|t| t != "group") {
        return Err(op_err("types does not match"));
    }
    let id = p.take("group").unwrap_or_default();
    let mut g = Group::default();
    apply(&mut g, p).map_err(op_err)?;
    let force = force(p);
    ctx.locked(Some("create ha group failed"), |ctx| {
        let mut file = ctx.groups_for_edit()?;
        if file.value.ids.contains_key(&id) {
            return Err(format!("ha group ID '{id}' already defined").into());
        }
        file.value.ids.insert(id.clone(), Some(g));
        write_groups(ctx, &file, force)
    })
}

/// `groupset <group> [OPTIONS]` (06 §10.4 update).
pub fn set(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    if groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "cannot update group: ha groups have been migrated to rules",
        ));
    }
    let digest = p.take("digest");
    let delete = p.take("delete");
    let id = p.take("group").unwrap_or_default();
    let force = force(p);
    ctx.locked(Some("update ha group failed"), |ctx| {
        let mut file = ctx.groups_for_edit()?;
        check_digest(digest.as_deref(), &file.value.digest)?;
        let Some(Some(g)) = file.value.ids.get_mut(&id) else {
            return Err(format!("no such ha group '{id}'").into());
        };
        apply(g, p)?;
        for k in split_list(delete.as_deref().unwrap_or_default()) {
            match k {
                "nodes" => return Err(format!("unable to delete required option '{k}'").into()),
                "comment" => g.comment = None,
                "nofailback" => g.nofailback = None,
                "restricted" => g.restricted = None,
                _ => return Err(format!("no such option '{k}'").into()),
            }
        }
        write_groups(ctx, &file, force)
    })
}

/// `groupremove <group>` (06 §10.4 delete).
pub fn remove(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    if groups_migrated(&ctx.groups()?) {
        return Err(op_err(
            "cannot delete group: ha groups have been migrated to rules",
        ));
    }
    let id = p.take("group").unwrap_or_default();
    let force = force(p);
    ctx.locked(Some("delete ha group failed"), |ctx| {
        let resources = ctx.resources()?;
        if let Some((sid, _)) = resources
            .sections()
            .find(|(_, r)| r.group.as_deref() == Some(id.as_str()))
        {
            return Err(format!("ha group is used by service '{sid}'").into());
        }
        let mut file = ctx.groups_for_edit()?;
        file.value.ids.remove(&id);
        file.value.order.remove(&id);
        write_groups(ctx, &file, force)
    })
}
