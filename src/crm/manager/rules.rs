//! Rules recompilation in the running manager (02 §3.8, 04 §6.7): decides
//! when the placement rules must be compiled again and does it.

use super::groups::groups_to_rules;
use super::Manager;
use crate::config::groups::GroupsConfig;
use crate::config::rules::RulesConfig;
use crate::crm::placement::checker::check_rules;
use crate::crm::placement::CompiledRules;
use crate::env::{Env, LogLevel, ServiceConfig};

impl Manager {
    /// Recompiles the rules when the node list, the rules, the groups or
    /// (real environment) the services changed since the last compilation.
    pub(crate) fn recompute_rules(
        &mut self,
        env: &mut dyn Env,
        rules: &RulesConfig,
        groups: &GroupsConfig,
        sc: &ServiceConfig,
        services_digest: Option<String>,
        nodelist_changed: bool,
    ) {
        let digests = (
            rules.digest.clone(),
            groups.digest.clone(),
            services_digest.clone().unwrap_or_default(),
        );
        let stale = match &self.compiled_digests {
            None => true,
            Some(old) => {
                nodelist_changed
                    || old.0 != digests.0
                    || old.1 != digests.1
                    || (services_digest.is_some() && old.2 != digests.2)
            }
        };
        if !stale {
            return;
        }
        let mut all = rules.clone();
        groups_to_rules(&mut all, groups, sc);
        // Checker and transformations against every known node, any state
        // (04 §6.7); each dropped rule is reported once per compilation.
        let nodes = self.ns.list_nodes();
        let (checked, messages) = check_rules(all, &nodes);
        for msg in &messages {
            env.log(LogLevel::Info, msg);
        }
        self.rules = CompiledRules::compile(&checked, &nodes);
        self.compiled_digests = Some(digests);
    }
}
