//! CRM commands (02 §3.9): draining the `crm_commands` queue and applying
//! each line — resource motions (with the resource-affinity checks of
//! 04 §3.5), stop, node maintenance requests, disarm and arm.

use super::{Manager, Round};
use crate::config::status::{CrmCommand, Disarm, ServiceCmd};
use crate::env::{Env, EnvResult, LogLevel};
use crate::types::{DisarmMode, DisarmState, NodeState, OrUnknown, Sid};

/// The two kinds of resource motion a command can request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Motion {
    /// Live migration.
    Migrate,
    /// Offline relocation.
    Relocate,
}

impl Motion {
    fn word(self) -> &'static str {
        match self {
            Motion::Migrate => "migrate",
            Motion::Relocate => "relocate",
        }
    }

    fn cmd(self, target: &str) -> ServiceCmd {
        match self {
            Motion::Migrate => ServiceCmd::Migrate(target.to_string()),
            Motion::Relocate => ServiceCmd::Relocate(target.to_string()),
        }
    }
}

impl Manager {
    /// Drains the queue and applies every line in order.
    pub(crate) fn process_crm_commands(
        &mut self,
        env: &mut dyn Env,
        round: &Round,
    ) -> EnvResult<()> {
        let text = env.read_crm_commands()?;
        for parsed in crate::config::status::parse_queue(&text) {
            match parsed {
                Ok(cmd) => self.apply_command(env, round, &cmd),
                Err(e) => env.log(LogLevel::Err, &e.to_string()),
            }
        }
        Ok(())
    }

    fn apply_command(&mut self, env: &mut dyn Env, round: &Round, cmd: &CrmCommand) {
        let line = cmd.to_string();
        match cmd {
            CrmCommand::Migrate { sid, node } => {
                self.command_motion(env, &line, Motion::Migrate, sid, node)
            }
            CrmCommand::Relocate { sid, node } => {
                self.command_motion(env, &line, Motion::Relocate, sid, node)
            }
            CrmCommand::Stop { sid, timeout } => match self.tracked(sid) {
                None => env.log(
                    LogLevel::Err,
                    &format!("crm command error - no such service: {line}"),
                ),
                Some(sid) => {
                    env.log(LogLevel::Info, &format!("got crm command: {line}"));
                    if let Some(sd) = self.ss.get_mut(&sid) {
                        sd.cmd = Some(ServiceCmd::Stop(timeout.clone()));
                    }
                }
            },
            CrmCommand::EnableNodeMaintenance(node) => {
                let state = self.ns.get_node_state(node);
                if self.disarm.is_some() {
                    env.log(
                        LogLevel::Warn,
                        &format!(
                            "ignoring maintenance command for node {node} - HA stack is disarmed"
                        ),
                    );
                } else if state == OrUnknown::Known(NodeState::Online) {
                    self.node_request
                        .entry(node.clone())
                        .or_default()
                        .maintenance = true;
                } else if state == OrUnknown::Known(NodeState::Maintenance) {
                    env.log(
                        LogLevel::Info,
                        &format!(
                            "ignoring crm command - node {node} is already in maintenance state"
                        ),
                    );
                } else {
                    env.log(
                        LogLevel::Err,
                        &format!("crm command error - node not online: {line}"),
                    );
                }
            }
            CrmCommand::DisableNodeMaintenance(node) => {
                let state = self.ns.get_node_state(node);
                if state != OrUnknown::Known(NodeState::Maintenance) {
                    env.log(
                        LogLevel::Warn,
                        &format!("clearing maintenance of node {node} requested, but it's in state {state}"),
                    );
                }
                self.node_request
                    .entry(node.clone())
                    .or_default()
                    .maintenance = false;
            }
            CrmCommand::DisarmHa(mode) => self.command_disarm(env, *mode),
            CrmCommand::ArmHa => self.command_arm(env, round),
        }
    }

    /// The sid of a queue token if the manager tracks that service.
    fn tracked(&self, sid: &str) -> Option<Sid> {
        sid.parse::<Sid>().ok().filter(|s| self.ss.contains_key(s))
    }

    fn command_motion(
        &mut self,
        env: &mut dyn Env,
        line: &str,
        motion: Motion,
        sid: &str,
        target: &str,
    ) {
        let Some(sid) = self.tracked(sid) else {
            env.log(
                LogLevel::Err,
                &format!("crm command error - no such service: {line}"),
            );
            return;
        };
        if !self.ns.node_is_online(target) {
            env.log(
                LogLevel::Err,
                &format!("crm command error - node not online: {line}"),
            );
            return;
        }
        if self.ss.get(&sid).and_then(|sd| sd.node.as_deref()) == Some(target) {
            env.log(
                LogLevel::Info,
                &format!("ignore crm command - service already on target node: {line}"),
            );
            return;
        }
        self.queue_resource_motion(env, line, motion, &sid, target);
    }

    /// Queues a motion with the resource-affinity checks (02 §3.9 a.4,
    /// 04 §3.5); also used by the auto-rebalancer.
    pub(crate) fn queue_resource_motion(
        &mut self,
        env: &mut dyn Env,
        line: &str,
        motion: Motion,
        sid: &Sid,
        target: &str,
    ) {
        let negative: Vec<Sid> = self
            .rules
            .negative
            .get(sid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for csid in negative {
            let Some(csd) = self.ss.get(&csid) else {
                continue;
            };
            let node_blocks = csd.node.as_deref().is_none_or(|n| n == target);
            let target_blocks = csd.target.as_deref().is_none_or(|t| t == target);
            if node_blocks && target_blocks {
                env.log(
                    LogLevel::Err,
                    &format!(
                        "crm command '{line}' error - service '{csid}' on node '{target}' in negative affinity with service '{sid}'"
                    ),
                );
                return;
            }
        }
        env.log(LogLevel::Info, &format!("got crm command: {line}"));
        if let Some(sd) = self.ss.get_mut(sid) {
            sd.cmd = Some(motion.cmd(target));
        }
        let positive: Vec<Sid> = self
            .rules
            .positive
            .get(sid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for csid in positive {
            let Some(csd) = self.ss.get_mut(&csid) else {
                continue;
            };
            if csd.node.as_deref() == Some(target) || csd.target.as_deref() == Some(target) {
                continue;
            }
            csd.cmd = Some(motion.cmd(target));
            let task = motion.word();
            env.log(
                LogLevel::Info,
                &format!(
                    "crm command '{line}' - {task} service '{csid}' to node '{target}' (service '{csid}' in positive affinity with service '{sid}')"
                ),
            );
        }
    }

    fn command_disarm(&mut self, env: &mut dyn Env, mode: DisarmMode) {
        if let Some(disarm) = &self.disarm {
            let state = disarm
                .state
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            env.log(
                LogLevel::Notice,
                &format!("ignoring disarm-ha command - already in disarm state ({state})"),
            );
            return;
        }
        env.log(
            LogLevel::Info,
            &format!("got crm command: disarm-ha {mode}"),
        );
        if mode == DisarmMode::Ignore {
            for sid in self.ss.keys() {
                env.log(
                    LogLevel::Info,
                    &format!("disarm: suspending HA tracking for service '{sid}'"),
                );
            }
        }
        self.disarm = Some(Disarm {
            mode: Some(OrUnknown::Known(mode)),
            state: Some(OrUnknown::Known(DisarmState::Disarming)),
        });
    }

    fn command_arm(&mut self, env: &mut dyn Env, round: &Round) {
        let Some(disarm) = self.disarm.take() else {
            env.log(
                LogLevel::Notice,
                "ignoring arm-ha command - HA stack is not disarmed",
            );
            return;
        };
        env.log(LogLevel::Info, "got crm command: arm-ha");
        if disarm.mode == Some(OrUnknown::Known(DisarmMode::Ignore)) {
            // Guests may have been moved by hand while HA looked away.
            for (sid, sd) in self.ss.iter_mut() {
                let Some(cd) = round.sc.get(sid) else {
                    continue;
                };
                if sd.node.as_deref() != Some(cd.node.as_str()) {
                    let old = sd.node.clone().unwrap_or_default();
                    env.log(
                        LogLevel::Info,
                        &format!(
                            "service '{sid}': updating node '{old}' => '{}' (changed while disarmed)",
                            cd.node
                        ),
                    );
                    sd.node = Some(cd.node.clone());
                }
            }
        }
    }
}
