//! One manager round (02 §3.2) in its normative step order, the service
//! passes with the fencing block (02 §3.12–§3.13), adding and removing
//! services (02 §3.6) and writing `manager_status` (02 §3.14).

use std::collections::BTreeSet;

use super::disarm::DisarmOutcome;
use super::groups;
use super::{Manager, Round};
use crate::config::status::{ManagerStatus, ServiceEntry};
use crate::crm::fsm::StateParams;
use crate::crm::placement::OnlineNodeUsage;
use crate::env::{Env, EnvError, EnvResult, LogLevel};
use crate::types::{LrmMode, OrUnknown, RequestedState, ServiceState, Sid};

impl Manager {
    /// Runs one manager round in the normative step order (02 §3.2). An
    /// error aborts the round; the in-memory state keeps what was changed
    /// before it (02 §11.9).
    pub fn manage(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        let (node_info, _quorate) = env.get_node_info()?;
        let nodelist_changed = node_info.keys().any(|n| !self.ns.status.contains_key(n))
            || self.ns.status.keys().any(|n| !node_info.contains_key(n));

        let mut round = Round::default();
        for node in self.ns.list_nodes() {
            let lrm = env.read_lrm_status(Some(&node))?;
            round.lrm_modes.insert(node.clone(), lrm.mode());
            for (uid, result) in lrm.results {
                round.lrm_results.entry(uid).or_insert(result);
            }
        }

        self.ns.update(
            env,
            &node_info,
            &round.lrm_modes,
            self.timing.gone_node_delete_delay,
        );

        if !self.ns.node_is_operational(&self.nodename) {
            env.log(LogLevel::Info, "master seems offline");
            return Ok(());
        }

        self.update_crs_scheduler_mode(env, false);
        self.try_group_migration(env)?;

        let (sc, services_digest) = env.read_service_config()?;
        let groups = env.read_group_config()?;
        round.sc = sc;

        if self.disarm.is_none() {
            self.add_new_services(env, &round);
            self.remove_stale_services(env, &round);
        }

        let online = self.ns.list_online_nodes();
        self.usage = OnlineNodeUsage::build(env, &self.crs_mode, &online, &self.ss)?;

        let rules = env.read_rules_config()?;
        groups::apply_groups_to_services(&mut round.sc, &groups);
        self.recompute_rules(
            env,
            &rules,
            &groups,
            &round.sc,
            services_digest,
            nodelist_changed,
        );

        self.process_crm_commands(env, &round)?;

        let deferred = if self.disarm.is_some() {
            match self.handle_disarm(env, &round)? {
                DisarmOutcome::Handled => return Ok(()),
                DisarmOutcome::Deferred(set) => Some(set),
            }
        } else {
            self.auto_rebalance(env)?;
            None
        };

        self.all_lrms_disarmed = false;
        self.service_passes(env, &mut round, deferred.as_ref())?;
        self.write_manager_status(env)
    }

    /// Adds configured services the status does not track yet (02 §3.6).
    fn add_new_services(&mut self, env: &mut dyn Env, round: &Round) {
        for (sid, cd) in &round.sc {
            if self.ss.contains_key(sid) || cd.state == RequestedState::Ignored {
                continue;
            }
            env.log(
                LogLevel::Info,
                &format!("adding new service '{sid}' on node '{}'", cd.node),
            );
            let state = if cd.state == RequestedState::Started {
                ServiceState::RequestStart
            } else {
                ServiceState::RequestStop
            };
            let entry = ServiceEntry {
                state: Some(OrUnknown::Known(state)),
                node: Some(cd.node.clone()),
                uid: Some(self.new_uid(env)),
                ..ServiceEntry::default()
            };
            self.ss.insert(sid.clone(), entry);
        }
    }

    /// Drops services without configuration or with `ignored` requested
    /// (02 §3.6), in sid order.
    fn remove_stale_services(&mut self, env: &mut dyn Env, round: &Round) {
        let stale: Vec<(Sid, &str)> = self
            .ss
            .keys()
            .filter_map(|sid| match round.sc.get(sid) {
                None => Some((sid.clone(), "no config")),
                Some(cd) if cd.state == RequestedState::Ignored => {
                    Some((sid.clone(), "ignored state requested"))
                }
                Some(_) => None,
            })
            .collect();
        for (sid, reason) in stale {
            env.log(
                LogLevel::Info,
                &format!("removing stale service '{sid}' ({reason})"),
            );
            self.ss.remove(&sid);
        }
    }

    /// Repeats service passes until nothing changes (02 §3.12), each pass
    /// ending with the fencing block (02 §3.13).
    fn service_passes(
        &mut self,
        env: &mut dyn Env,
        round: &mut Round,
        deferred: Option<&BTreeSet<Sid>>,
    ) -> EnvResult<()> {
        loop {
            let mut repeat = false;
            let sids: Vec<Sid> = self.ss.keys().cloned().collect();
            for sid in sids {
                if deferred.is_some_and(|d| !d.contains(&sid)) {
                    continue;
                }
                if self.service_step(env, &sid, round)? {
                    repeat = true;
                }
            }
            if self.fencing_block(env)? {
                repeat = true;
            }
            if !repeat {
                return Ok(());
            }
        }
    }

    /// One service in one pass; returns whether its state changed.
    fn service_step(&mut self, env: &mut dyn Env, sid: &Sid, round: &mut Round) -> EnvResult<bool> {
        let Some(sd) = self.ss.get(sid) else {
            return Ok(false);
        };
        let lrm_res = sd
            .uid
            .as_ref()
            .and_then(|uid| round.lrm_results.get(uid))
            .cloned();
        let last = sd.state.clone();
        match &sd.state {
            Some(OrUnknown::Known(ServiceState::Fence)) => {}
            Some(OrUnknown::Known(ServiceState::Freeze)) => {
                let node = sd.node.clone();
                if let Some(node) = node {
                    if round.lrm_modes.get(&node) == Some(&OrUnknown::Known(LrmMode::Active)) {
                        let started = round
                            .sc
                            .get(sid)
                            .is_some_and(|cd| cd.state == RequestedState::Started);
                        let next = if started {
                            ServiceState::Started
                        } else {
                            ServiceState::RequestStop
                        };
                        self.change_service_state(env, sid, next, StateParams::default());
                    }
                }
            }
            Some(OrUnknown::Known(_)) => {
                self.next_state(env, sid, round, lrm_res.as_ref())?;
            }
            Some(OrUnknown::Unknown(word)) => {
                return Err(EnvError::new(format!("unknown service state '{word}'")));
            }
            None => return Err(EnvError::new("unknown service state ''")),
        }
        // Restart freeze (02 §3.12 step 5): an LRM restarting its daemon
        // must not see its services moved.
        if let Some(sd) = self.ss.get(sid) {
            let freezable = matches!(
                sd.state_known(),
                Some(ServiceState::Started | ServiceState::Stopped | ServiceState::RequestStop)
            );
            let restarting = sd.node.as_ref().is_some_and(|n| {
                round.lrm_modes.get(n) == Some(&OrUnknown::Known(LrmMode::Restart))
            });
            if freezable && restarting {
                self.change_service_state(env, sid, ServiceState::Freeze, StateParams::default());
            }
        }
        Ok(self.ss.get(sid).map(|sd| &sd.state) != Some(&last))
    }

    /// The fencing block at the end of every pass (02 §3.13); returns
    /// whether another pass is needed.
    fn fencing_block(&mut self, env: &mut dyn Env) -> EnvResult<bool> {
        let mut repeat = false;
        let mut fenced: std::collections::BTreeMap<String, bool> = Default::default();
        let to_fence: Vec<(Sid, String)> = self
            .ss
            .iter()
            .filter(|(_, sd)| sd.state_known() == Some(ServiceState::Fence))
            .map(|(sid, sd)| (sid.clone(), sd.node.clone().unwrap_or_default()))
            .collect();
        for (sid, node) in to_fence {
            let ok = match fenced.get(&node) {
                Some(ok) => *ok,
                None => {
                    let ok = self.ns.fence_node(env, &node)?;
                    fenced.insert(node.clone(), ok);
                    ok
                }
            };
            if ok {
                self.change_service_state(
                    env,
                    &sid,
                    ServiceState::Recovery,
                    StateParams::default(),
                );
                repeat = true;
            }
        }
        for node in self.ns.list_nodes() {
            if fenced.contains_key(&node)
                || self.ns.get_node_state(&node) != OrUnknown::Known(crate::types::NodeState::Fence)
            {
                continue;
            }
            env.log(
                LogLevel::Notice,
                &format!(
                    "node '{node}' in fence state but no services to-fence! admin interference?!"
                ),
            );
            if self.ns.fence_node(env, &node)? {
                repeat = true;
            }
        }
        Ok(repeat)
    }

    /// Writes `manager_status` (02 §3.14).
    pub(crate) fn write_manager_status(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        // The service map is moved into the status and back instead of
        // cloned: with thousands of services the copy would dominate.
        let ms = ManagerStatus {
            master_node: Some(self.nodename.clone()),
            timestamp: Some(env.get_time()),
            node_status: self.ns.status.clone(),
            service_status: std::mem::take(&mut self.ss),
            node_request: self.node_request.clone(),
            disarm: self.disarm.clone(),
        };
        let result = env.write_manager_status(&ms);
        self.ss = ms.service_status;
        result
    }
}
