//! Disarm handling (02 §3.10): while HA is disarmed the manager freezes
//! (or stops tracking) services, defers the disarm while services are in
//! transient states, and detects when every LRM has disarmed.

use std::collections::BTreeSet;

use super::{Manager, Round};
use crate::config::status::ServiceEntry;
use crate::env::{Env, EnvResult, LogLevel};
use crate::types::{DisarmMode, DisarmState, LrmMode, OrUnknown, ServiceState, Sid};

/// What the disarm step decided for this round.
pub(crate) enum DisarmOutcome {
    /// The round ends here (status already written if needed).
    Handled,
    /// Continue with service passes restricted to these sids.
    Deferred(BTreeSet<Sid>),
}

impl Manager {
    /// Runs the disarm step; call only while `self.disarm` is set.
    pub(crate) fn handle_disarm(
        &mut self,
        env: &mut dyn Env,
        round: &Round,
    ) -> EnvResult<DisarmOutcome> {
        let Some(disarm) = self.disarm.clone() else {
            return Ok(DisarmOutcome::Handled);
        };
        let mode = match &disarm.mode {
            Some(OrUnknown::Known(mode)) => *mode,
            other => {
                let word = other.as_ref().map(ToString::to_string).unwrap_or_default();
                env.log(
                    LogLevel::Err,
                    &format!("unknown disarm-mode '{word}', ignoring"),
                );
                return Ok(DisarmOutcome::Handled);
            }
        };

        let mut deferred = BTreeSet::new();
        for (sid, sd) in &self.ss {
            let level = match sd.state_known() {
                Some(ServiceState::Fence | ServiceState::Recovery) => LogLevel::Warn,
                Some(ServiceState::Migrate | ServiceState::Relocate) => LogLevel::Info,
                _ => continue,
            };
            let state = sd
                .state
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            env.log(
                level,
                &format!("deferring disarm - service '{sid}' is in '{state}' state"),
            );
            deferred.insert(sid.clone());
        }
        if !deferred.is_empty() {
            return Ok(DisarmOutcome::Deferred(deferred));
        }

        let sids: Vec<Sid> = self.ss.keys().cloned().collect();
        for sid in sids {
            let uid = match mode {
                DisarmMode::Freeze => {
                    let freezable = self
                        .ss
                        .get(&sid)
                        .and_then(ServiceEntry::state_known)
                        .filter(|s| {
                            matches!(
                                s,
                                ServiceState::Started
                                    | ServiceState::Stopped
                                    | ServiceState::RequestStop
                                    | ServiceState::RequestStart
                                    | ServiceState::RequestStartBalance
                            )
                        });
                    let Some(state) = freezable else { continue };
                    env.log(
                        LogLevel::Info,
                        &format!("disarm: freezing service '{sid}' (was '{state}')"),
                    );
                    Some(self.new_uid(env))
                }
                DisarmMode::Ignore => None,
            };
            if let Some(sd) = self.ss.get_mut(&sid) {
                prune(sd);
                if let Some(uid) = uid {
                    sd.state = Some(OrUnknown::Known(ServiceState::Freeze));
                    sd.uid = Some(uid);
                }
            }
        }

        let all_disarmed = self
            .ns
            .list_online_nodes()
            .iter()
            .all(|node| round.lrm_modes.get(node) == Some(&OrUnknown::Known(LrmMode::Disarm)));
        let disarmed = OrUnknown::Known(DisarmState::Disarmed);
        if let Some(d) = self.disarm.as_mut() {
            if all_disarmed && d.state.as_ref() != Some(&disarmed) {
                env.log(
                    LogLevel::Info,
                    "all LRMs disarmed, HA stack is now fully disarmed",
                );
                d.state = Some(disarmed.clone());
            }
            self.all_lrms_disarmed = d.state.as_ref() == Some(&disarmed);
        }
        self.write_manager_status(env)?;
        Ok(DisarmOutcome::Handled)
    }
}

/// Keeps only `state`, `node`, `uid` and `maintenance_node`.
fn prune(sd: &mut ServiceEntry) {
    *sd = ServiceEntry {
        state: sd.state.take(),
        node: sd.node.take(),
        uid: sd.uid.take(),
        maintenance_node: sd.maintenance_node.take(),
        ..ServiceEntry::default()
    };
}
