//! HA groups in the running manager (04 §7, 02 §3.5): the in-memory
//! conversion of groups into resource settings and node-affinity rules,
//! and the persistent migration of groups to rules.

use std::collections::{BTreeMap, BTreeSet};

use super::Manager;
use crate::config::groups::GroupsConfig;
use crate::config::rules::{Rule, RuleKind, RulesConfig};
use crate::env::{Env, EnvError, EnvResult, LogLevel, ServiceConfig, ServiceConfigChange};
use crate::types::{LrmMode, LrmState, NodeState, OrUnknown, Sid};

/// Oldest pve-manager version that understands rules (02 §3.5).
const MIN_RULES_VERSION: &str = "9.0.0~16";

/// Groups → resources (04 §7.2): a service in a group gets `failback`
/// from the group's `nofailback` (overriding its own setting).
pub(crate) fn apply_groups_to_services(sc: &mut ServiceConfig, groups: &GroupsConfig) {
    for cd in sc.values_mut() {
        if let Some(group) = &cd.group {
            let nofailback = groups
                .get(group)
                .and_then(|g| g.nofailback)
                .unwrap_or(false);
            cd.failback = !nofailback;
        }
    }
}

/// Groups → rules (04 §7.2): one non-disabled node-affinity rule
/// `ha-group-<group>` per existing group that a service references.
pub(crate) fn groups_to_rules(rules: &mut RulesConfig, groups: &GroupsConfig, sc: &ServiceConfig) {
    let mut members: BTreeMap<&str, BTreeSet<Sid>> = BTreeMap::new();
    for (sid, cd) in sc {
        if let Some(group) = &cd.group {
            members
                .entry(group.as_str())
                .or_default()
                .insert(sid.clone());
        }
    }
    for (group_id, resources) in members {
        let Some(group) = groups.get(group_id) else {
            continue;
        };
        let id = format!("ha-group-{group_id}");
        let comment = group
            .comment
            .clone()
            .unwrap_or_else(|| format!("Generated from HA group '{group_id}'."));
        let rule = Rule {
            resources,
            disable: None,
            comment: Some(comment),
            kind: RuleKind::NodeAffinity {
                nodes: group.node_priorities(),
                strict: group.restricted,
            },
        };
        // Upstream's "next ordinal" is the smallest order plus one
        // (06 §5.5 quirk), so generated rules may share order numbers.
        let order = rules.order.values().min().map_or(1, |m| m + 1);
        rules.order.insert(id.clone(), order);
        rules.ids.insert(id, Some(rule));
    }
}

/// Compares pve-manager versions (02 §3.5): true when `version` is at
/// least `min`. Versions that do not parse compare as lower.
pub(crate) fn version_at_least(version: &str, min: &str) -> bool {
    let (Some(v), Some(m)) = (parse_version(version), parse_version(min)) else {
        return false;
    };
    if v.0 != m.0 {
        return v.0 > m.0;
    }
    match v.1 {
        Some(rev) => rev >= m.1.unwrap_or(0),
        None => true,
    }
}

/// `^(\d+)\.(\d+)(\.|-)(\d+)(~(\d+))?` as ((major, minor, patch), rev).
fn parse_version(text: &str) -> Option<((u64, u64, u64), Option<u64>)> {
    fn number(s: &str) -> Option<(u64, &str)> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        if end == 0 {
            return None;
        }
        Some((s[..end].parse().ok()?, &s[end..]))
    }
    let (major, rest) = number(text)?;
    let (minor, rest) = number(rest.strip_prefix('.')?)?;
    let rest = rest.strip_prefix(['.', '-'])?;
    let (patch, rest) = number(rest)?;
    let rev = rest.strip_prefix('~').and_then(number).map(|(r, _)| r);
    Some(((major, minor, patch), rev))
}

impl Manager {
    /// The group migration step of a round (02 §3.5).
    pub(crate) fn try_group_migration(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        let groups = env.read_group_config()?;
        if groups.sections().next().is_none() {
            return Ok(());
        }
        self.group_migration_round -= 1;
        if self.group_migration_round > 0 {
            return Ok(());
        }
        self.group_migration_round = self.timing.group_migration_retry_rounds;
        env.log(LogLevel::Notice, "start ha group migration...");
        match self.migrate_groups(env) {
            Ok(()) => env.log(LogLevel::Notice, "ha groups migration successful"),
            Err(e) => {
                env.log(LogLevel::Err, &format!("abort ha groups migration: {e}"));
                env.log(LogLevel::Err, "ha groups migration failed");
                // Upstream's text: rounds and their nominal length.
                let rounds = self.timing.group_migration_retry_rounds;
                let secs = rounds.saturating_mul(self.timing.master_round);
                env.log(
                    LogLevel::Notice,
                    &format!("retry ha groups migration in {rounds} rounds (~ {secs} seconds)"),
                );
            }
        }
        Ok(())
    }

    /// The cluster checks and the data migration; an error aborts it.
    fn migrate_groups(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        self.check_cluster_for_group_migration(env)?;

        let (sc, _) = env.read_service_config()?;
        let groups = env.read_group_config()?;
        let mut rules = env.read_rules_config()?;
        groups_to_rules(&mut rules, &groups, &sc);
        env.write_rules_config(&rules)?;
        env.log(
            LogLevel::Notice,
            "ha groups migration: migration to rules config successful",
        );

        let mut converted = sc.clone();
        apply_groups_to_services(&mut converted, &groups);
        let mut changes = BTreeMap::new();
        for (sid, cd) in &converted {
            if cd.group.is_none() {
                continue;
            }
            let mut change = ServiceConfigChange {
                delete: vec!["group".to_string()],
                ..ServiceConfigChange::default()
            };
            if !cd.failback {
                change.set.insert("failback".to_string(), "0".to_string());
            }
            changes.insert(sid.clone(), change);
        }
        env.update_service_config(&changes)?;
        env.log(
            LogLevel::Notice,
            "ha groups migration: migration to resources config successful",
        );

        env.delete_group_config()?;
        env.log(
            LogLevel::Notice,
            "ha groups migration: group config deletion successful",
        );
        Ok(())
    }

    fn check_cluster_for_group_migration(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        let fail = |msg: String| Err(EnvError::new(msg));
        if !env.quorate() {
            return fail("cluster is not quorate".into());
        }
        let nodes = self.ns.list_nodes();
        if nodes.is_empty() {
            return fail("node list is empty".into());
        }
        for node in nodes {
            if node.is_empty() {
                return fail("node with empty name".into());
            }
            let state = self.ns.get_node_state(&node);
            env.log(
                LogLevel::Notice,
                &format!("ha groups migration: node '{node}' is in state '{state}'"),
            );
            if state != OrUnknown::Known(NodeState::Online) {
                return fail(format!("node '{node}' is not online"));
            }
            let lrm = env.read_lrm_status(Some(&node))?;
            let (Some(lrm_state), Some(lrm_mode)) = (lrm.state, lrm.mode) else {
                return fail(format!("could not retrieve state for lrm '{node}'"));
            };
            env.log(
                LogLevel::Notice,
                &format!("ha groups migration: lrm '{node}' is in state '{lrm_state}' and mode '{lrm_mode}'"),
            );
            let active_services = self.ss.values().filter(|sd| sd.is_active_on(&node)).count();
            let state_ok = lrm_state == OrUnknown::Known(LrmState::Active)
                || (lrm_state == OrUnknown::Known(LrmState::WaitForAgentLock)
                    && active_services == 0);
            if !state_ok {
                return fail(format!("lrm '{node}' is not in state 'active' or 'idle'"));
            }
            if lrm_mode != OrUnknown::Known(LrmMode::Active) {
                return fail(format!("lrm '{node}' is not in mode 'active'"));
            }
            let Some(version) = env.get_node_version(&node) else {
                return fail(format!("could not retrieve version from node '{node}'"));
            };
            env.log(
                LogLevel::Notice,
                &format!("ha groups migration: node '{node}' has version '{version}'"),
            );
            if !version_at_least(&version, MIN_RULES_VERSION) {
                return fail(format!(
                    "node '{node}' needs at least pve-manager version '{MIN_RULES_VERSION}'"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::version_at_least;

    #[test]
    fn versions() {
        for (v, ok) in [
            ("9.0.0~16", true),
            ("9.0.0~15", false),
            ("9.0.0", true),
            ("9.0.1", true),
            ("8.4.1", false),
            ("7.4-4", false),
            ("10.0.0~1", true),
            ("garbage", false),
        ] {
            assert_eq!(version_at_least(v, "9.0.0~16"), ok, "{v}");
        }
    }
}
