//! The queue-only CRM commands (06 §10.3, §10.6): `crm-command stop`,
//! `node-maintenance enable|disable`, `disarm-ha`, `arm-ha`. Each checks
//! its arguments and appends one line to `crm_commands` under the `ha`
//! domain lock (06 §8.3); the CRM acts on it in its next round (02). No
//! error prefix: these are not configuration edits (06 §9.7a).

use super::resources::{in_error_state, is_managed, resolve_sid};
use super::{op_err, CliError, Ctx, Params};

/// `crm-command stop <sid> <timeout>`.
pub fn stop(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let raw_sid = p.take("sid").unwrap_or_default();
    let timeout = p.take("timeout").unwrap_or_default();
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
    ctx.enqueue(&format!("stop {sid} {timeout}"))
}

/// The node must be a cluster member (upstream `check_node_exists`); a
/// node outside any cluster knows only itself.
fn check_node(ctx: &Ctx, node: &str) -> Result<(), CliError> {
    let members = ctx.store.members();
    let known = if members.nodes.is_empty() {
        node == ctx.store.local_node()
    } else {
        members.is_member(node)
    };
    if known {
        Ok(())
    } else {
        Err(op_err(format!("no such cluster node '{node}'")))
    }
}

fn maintenance(ctx: &mut Ctx, p: &mut Params, word: &str) -> Result<(), CliError> {
    let node = p.take("node").unwrap_or_default();
    check_node(ctx, &node)?;
    ctx.enqueue(&format!("{word}-node-maintenance {node}"))
}

/// `crm-command node-maintenance enable <node>`.
pub fn maintenance_enable(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    maintenance(ctx, p, "enable")
}

/// `crm-command node-maintenance disable <node>`.
pub fn maintenance_disable(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    maintenance(ctx, p, "disable")
}

/// `crm-command disarm-ha <freeze|ignore>`.
pub fn disarm(ctx: &mut Ctx, p: &mut Params) -> Result<(), CliError> {
    let mode = p.take("resource-mode").unwrap_or_default();
    ctx.enqueue(&format!("disarm-ha {mode}"))
}

/// `crm-command arm-ha`.
pub fn arm(ctx: &mut Ctx, _p: &mut Params) -> Result<(), CliError> {
    ctx.enqueue("arm-ha")
}
