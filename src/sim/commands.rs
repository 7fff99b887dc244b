//! The `cmdlist` command language (01 §4): the two commands the run loop
//! handles itself (`delay`, `skip-round`) and every hardware command
//! (`power`, `network`, `cfs`, `reboot`, `shutdown`, `restart-lrm`,
//! `pve-manager-version`, `crm …`, `service …`). Errors carry upstream's
//! texts and abort the simulation (01 §5.7).

use super::cluster::Cluster;
use super::env::DaemonKind;
use super::hardware::{RawService, ShutdownKind};
use super::scenario::MIB;
use crate::env::{EnvError, EnvResult};
use crate::types::perl;
use crate::types::text::is_space;
use crate::types::{ConfiguredState, DisarmMode, OrUnknown, Sid};

/// A command the run loop handles itself (01 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopCommand {
    /// `delay <N>`: no batch before `now + N`.
    Delay(i64),
    /// `skip-round crm|lrm [<N>]`: skip N rounds of that daemon kind.
    SkipRound(DaemonKind, i64),
}

/// Digits as a number; saturates instead of overflowing (the run then
/// ends at the time limit, as an absurd delay would).
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(i64::MAX))
}

/// Matches `^delay\s+(\d+)\s*$` and `^skip-round\s+(crm|lrm)(?:\s+(\d+))?\s*$`.
/// Anything else (`delay 1.5`) is a hardware command.
pub fn parse_loop_command(s: &str) -> Option<LoopCommand> {
    let args = |prefix: &str| -> Option<Vec<&str>> {
        let rest = s.strip_prefix(prefix)?;
        if !rest.starts_with(is_space) {
            return None;
        }
        Some(rest.split(is_space).filter(|w| !w.is_empty()).collect())
    };
    if let Some(a) = args("delay") {
        return match a.as_slice() {
            [n] => digits(n).map(LoopCommand::Delay),
            _ => None,
        };
    }
    let a = args("skip-round")?;
    let kind = match a.first().copied() {
        Some("crm") => DaemonKind::Crm,
        Some("lrm") => DaemonKind::Lrm,
        _ => return None,
    };
    match a.as_slice() {
        [_] => Some(LoopCommand::SkipRound(kind, 1)),
        [_, n] => digits(n).map(|n| LoopCommand::SkipRound(kind, n)),
        _ => None,
    }
}

/// Splits like Perl's `split(/\s+/, S)`: a leading blank yields an empty
/// first word, trailing empty words are dropped.
fn split_words(s: &str) -> Vec<&str> {
    let mut parts = s.split(is_space);
    let mut out: Vec<&str> = parts.next().into_iter().collect();
    out.extend(parts.filter(|p| !p.is_empty()));
    if out.iter().all(|w| w.is_empty()) {
        out.clear();
    }
    out
}

/// An error with the `sim_hardware_cmd: ` prefix.
fn cmd_err(msg: impl AsRef<str>) -> EnvError {
    EnvError::new(format!("sim_hardware_cmd: {}", msg.as_ref()))
}

fn no_such_service(sid: &str) -> EnvError {
    EnvError::new(format!("no such service '{sid}'"))
}

impl Cluster {
    /// Applies one hardware command with log id `id` (01 §4.2): validates
    /// the object, logs `execute <S>` at the hardware clock, then performs
    /// (and only then validates) the action.
    pub fn hardware_command(&mut self, s: &str, id: &str) -> EnvResult<()> {
        let words = split_words(s);
        let cmd = words.first().copied().unwrap_or("");
        let obj = words
            .get(1)
            .copied()
            .ok_or_else(|| cmd_err("no node or service for command specified"))?;
        let action = words.get(2).copied().unwrap_or("");
        let params = words.get(3..).unwrap_or(&[]);
        if cmd == "service" {
            if obj.parse::<Sid>().is_err() {
                return Err(EnvError::new(
                    "value does not look like a valid ha resource id",
                ));
            }
        } else if self.hw.borrow().node(obj).is_none() {
            return Err(cmd_err(format!("no such node '{obj}'")));
        }
        self.hw
            .borrow_mut()
            .log("info", id, &format!("execute {s}"));
        match cmd {
            "power" => self.power(obj, action),
            "network" => {
                let on = match action {
                    "on" => true,
                    "off" => false,
                    _ => return Err(cmd_err(format!("unknown network action '{action}'"))),
                };
                if let Some(n) = self.hw.borrow_mut().node_mut(obj) {
                    n.network = on;
                }
                Ok(())
            }
            "cfs" => self.cfs(obj, action, params.first().copied().unwrap_or("")),
            "reboot" | "shutdown" => {
                let kind = if cmd == "reboot" {
                    ShutdownKind::Reboot
                } else {
                    ShutdownKind::Shutdown
                };
                if let Some(n) = self.hw.borrow_mut().node_mut(obj) {
                    n.shutdown = Some(kind);
                }
                if let Some(slot) = self.nodes.get_mut(obj) {
                    if let Some(lrm) = slot.lrm.as_mut() {
                        lrm.daemon.shutdown_request(&mut slot.lrm_env);
                    }
                }
                Ok(())
            }
            "restart-lrm" => {
                if let Some(slot) = self.nodes.get_mut(obj) {
                    if let Some(lrm) = slot.lrm.as_mut() {
                        lrm.restart = true;
                        lrm.daemon.shutdown_request(&mut slot.lrm_env);
                    }
                }
                Ok(())
            }
            "pve-manager-version" => {
                if action != "set" {
                    return Err(cmd_err(format!("unknown version action '{action}'")));
                }
                if let Some(n) = self.hw.borrow_mut().node_mut(obj) {
                    n.version = params.first().map(|v| v.to_string());
                }
                Ok(())
            }
            "crm" => self.crm(obj, action, params),
            "service" => self.service(obj, action, params),
            _ => Err(cmd_err(format!("unknown command '{s}'"))),
        }
    }

    /// `power <node> on|off` (01 §4.4).
    fn power(&mut self, node: &str, action: &str) -> EnvResult<()> {
        let on = match action {
            "on" => true,
            "off" => false,
            _ => return Err(cmd_err(format!("unknown action '{action}'"))),
        };
        let was_on = self.hw.borrow().node(node).is_some_and(|n| n.power);
        if was_on != on {
            if on {
                // A node that is already on gets no daemons (01 §2.2).
                self.start_crm(node);
                self.start_lrm(node);
                if let Some(lrm) = self.nodes.get_mut(node).and_then(|s| s.lrm.as_mut()) {
                    lrm.restart = false;
                }
                if let Some(n) = self.hw.borrow_mut().node_mut(node) {
                    n.cfs_rw = true;
                    n.cfs_update = true;
                }
            } else {
                self.kill_daemons(node);
                let mut hw = self.hw.borrow_mut();
                hw.watchdog_reset(node);
                hw.clear_run_state(node);
                // Cluster locks survive a power-off (01 §4.4).
            }
        }
        if let Some(n) = self.hw.borrow_mut().node_mut(node) {
            n.power = on;
            n.network = on;
            n.shutdown = None;
        }
        Ok(())
    }

    /// `cfs <node> rw|update work|fail` (01 §4.4, §6.4).
    fn cfs(&mut self, node: &str, action: &str, param: &str) -> EnvResult<()> {
        if action != "rw" && action != "update" {
            return Err(cmd_err(format!(
                "unknown cfs action '{action}' for node '{node}'"
            )));
        }
        let works = match param {
            "work" => true,
            "fail" => false,
            _ => {
                return Err(cmd_err(format!(
                    "unknown cfs command '{param}' for '{action}' on node '{node}'"
                )))
            }
        };
        if let Some(n) = self.hw.borrow_mut().node_mut(node) {
            if action == "rw" {
                n.cfs_rw = works;
            } else {
                n.cfs_update = works;
            }
        }
        Ok(())
    }

    /// `crm <node> <action> …` (01 §4.5). Queueing does not check cfs.
    fn crm(&mut self, node: &str, action: &str, params: &[&str]) -> EnvResult<()> {
        let queue = |c: &mut Cluster, line: String| {
            c.hw.borrow_mut().queue_crm_command(&line);
            Ok(())
        };
        match action {
            "stop" => {
                if let Some(slot) = self.nodes.get_mut(node) {
                    if let Some(crm) = slot.crm.as_mut() {
                        crm.stop_requested = true;
                        crm.daemon.shutdown_request(&mut slot.crm_env);
                    }
                }
                Ok(())
            }
            "start" => {
                self.start_crm(node);
                Ok(())
            }
            "enable-node-maintenance" | "disable-node-maintenance" => {
                queue(self, format!("{action} {node}"))
            }
            "disarm-ha" => {
                let mode = params.first().copied().unwrap_or("");
                if mode.parse::<DisarmMode>().is_err() {
                    return Err(cmd_err(format!("unknown resource mode '{mode}'")));
                }
                queue(self, format!("disarm-ha {mode}"))
            }
            "arm-ha" => queue(self, "arm-ha".to_string()),
            _ => Err(cmd_err(format!("unknown action '{action}'"))),
        }
    }

    /// `service <sid> <action> …` (01 §4.6).
    fn service(&mut self, sid: &str, action: &str, params: &[&str]) -> EnvResult<()> {
        let param = params.first().copied();
        let exists = self.hw.borrow().raw_service(sid).is_some();
        match action {
            "started" | "disabled" | "stopped" | "ignored" => {
                self.hw.borrow_mut().set_service_key(sid, "state", action)
            }
            "migrate" | "relocate" => {
                let target = param.ok_or_else(|| {
                    cmd_err(format!("missing target node for '{action}' command"))
                })?;
                self.hw
                    .borrow_mut()
                    .queue_crm_command(&format!("{action} {sid} {target}"));
                Ok(())
            }
            "stop" => {
                let timeout = param
                    .ok_or_else(|| cmd_err(format!("missing timeout for '{action}' command")))?;
                self.hw
                    .borrow_mut()
                    .queue_crm_command(&format!("stop {sid} {timeout}"));
                Ok(())
            }
            "add" => {
                if exists {
                    return Err(EnvError::new(format!(
                        "resource ID '{sid}' already defined"
                    )));
                }
                // Upstream would store a service without node, which then
                // breaks every read; refuse it here instead.
                let node = param.ok_or_else(|| {
                    cmd_err(format!("missing target node for '{action}' command"))
                })?;
                let state = params.get(1).copied().unwrap_or("started");
                if state.parse::<ConfiguredState>().is_err() {
                    return Err(cmd_err(format!(
                        "unknown state '{state}' for '{action}' command"
                    )));
                }
                let running = params.get(2).is_some_and(|r| perl::truthy(r));
                let mut hw = self.hw.borrow_mut();
                hw.edit_services(|s| {
                    let d = RawService::from([
                        ("node".to_string(), node.to_string()),
                        ("state".to_string(), state.to_string()),
                    ]);
                    s.insert(sid.to_string(), d);
                });
                // No usage statistics are created for the new service.
                hw.set_running(node, sid, running);
                Ok(())
            }
            "delete" => {
                if !exists {
                    return Err(no_such_service(sid));
                }
                let mut hw = self.hw.borrow_mut();
                hw.edit_services(|s| s.remove(sid));
                // Dynamic stats and run flags are left behind (01 §4.6).
                hw.static_stats.remove(sid);
                Ok(())
            }
            "lock" => self
                .hw
                .borrow_mut()
                .set_service_key(sid, "lock", param.unwrap_or("backup")),
            "unlock" => {
                self.hw.borrow_mut().unlock_service(sid, param);
                Ok(())
            }
            "set-static-stats" | "set-dynamic-stats" => self.set_stats(sid, action, params),
            "manual-migrate" => self.manual_migrate(sid, action, param),
            _ => Err(cmd_err(format!(
                "unknown service action '{action}' - not implemented"
            ))),
        }
    }

    /// `set-static-stats` / `set-dynamic-stats <key> <value> …`: memory in
    /// MiB, stored in bytes.
    fn set_stats(&mut self, sid: &str, action: &str, params: &[&str]) -> EnvResult<()> {
        if params.is_empty() {
            return Err(cmd_err(format!(
                "missing target stat for '{action}' command"
            )));
        }
        let mut hw = self.hw.borrow_mut();
        if hw.raw_service(sid).is_none() {
            return Err(no_such_service(sid));
        }
        let dynamic = action == "set-dynamic-stats";
        let mut entry = if dynamic {
            hw.dynamic_stats.get(sid).copied()
        } else {
            hw.static_stats.get(sid).copied()
        }
        .unwrap_or_default();
        for pair in params.chunks(2) {
            let key = pair[0];
            let value = pair
                .get(1)
                .ok_or_else(|| cmd_err(format!("missing value for '{action} {key}' command")))?;
            let n = perl::number(value);
            let slot = match (dynamic, key) {
                (false, "maxcpu") => (&mut entry.maxcpu, n),
                (false, "maxmem") => (&mut entry.maxmem, n * MIB),
                (true, "cpu") => (&mut entry.cpu, n),
                (true, "mem") => (&mut entry.mem, n * MIB),
                _ => {
                    return Err(cmd_err(format!(
                        "unknown target stat '{key}' for '{action}' command"
                    )))
                }
            };
            *slot.0 = Some(slot.1);
        }
        let map = if dynamic {
            &mut hw.dynamic_stats
        } else {
            &mut hw.static_stats
        };
        map.insert(sid.to_string(), entry);
        Ok(())
    }

    /// `manual-migrate <node>`: moves a service HA does not manage.
    fn manual_migrate(&mut self, sid: &str, action: &str, target: Option<&str>) -> EnvResult<()> {
        let target =
            target.ok_or_else(|| cmd_err(format!("missing target node for '{action}' command")))?;
        let mut hw = self.hw.borrow_mut();
        let d = hw
            .raw_service(sid)
            .ok_or_else(|| cmd_err(format!("service '{sid}' not configured")))?;
        if !d.get("node").is_some_and(|n| perl::truthy(n)) {
            return Err(cmd_err(format!("service '{sid}' has no node")));
        }
        let ignored = d.get("state").is_some_and(|s| s == "ignored");
        let disarm_ignore = hw
            .manager_status()
            .disarm
            .and_then(|d| d.mode)
            .is_some_and(|m| m == OrUnknown::Known(DisarmMode::Ignore));
        if !(ignored || disarm_ignore) {
            return Err(cmd_err(
                "manual-migrate requires service in 'ignored' state or disarm-ha ignore mode",
            ));
        }
        hw.set_service_key(sid, "node", target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::hardware::{Hardware, NodeHardware};
    use crate::sim::scenario::Scenario;

    #[test]
    fn loop_commands() {
        assert_eq!(parse_loop_command("delay 0"), Some(LoopCommand::Delay(0)));
        assert_eq!(
            parse_loop_command("delay  30 \t"),
            Some(LoopCommand::Delay(30))
        );
        assert_eq!(parse_loop_command("delay 1.5"), None);
        assert_eq!(parse_loop_command("delay"), None);
        assert_eq!(parse_loop_command("delayed 5"), None);
        assert_eq!(parse_loop_command(" delay 5"), None);
        assert_eq!(parse_loop_command("delay 5 6"), None);
        assert_eq!(
            parse_loop_command("skip-round crm 2"),
            Some(LoopCommand::SkipRound(DaemonKind::Crm, 2))
        );
        assert_eq!(
            parse_loop_command("skip-round lrm"),
            Some(LoopCommand::SkipRound(DaemonKind::Lrm, 1))
        );
        assert_eq!(parse_loop_command("skip-round lrm2"), None);
        assert_eq!(parse_loop_command("skip-round foo"), None);
        assert_eq!(parse_loop_command("skip-round crm x"), None);
        assert_eq!(parse_loop_command("power node1 on"), None);
    }

    #[test]
    fn word_splitting_like_perl() {
        assert_eq!(split_words("power  node1\ton"), ["power", "node1", "on"]);
        assert_eq!(split_words(" power node1"), ["", "power", "node1"]);
        assert_eq!(split_words("a b "), ["a", "b"]);
        assert!(split_words("").is_empty());
        assert!(split_words("  ").is_empty());
    }

    fn cluster(services: &[(&str, &str)]) -> Cluster {
        let mut s = Scenario::empty();
        for n in ["node1", "node2", "node3"] {
            s.nodes.insert(n.into(), NodeHardware::off());
        }
        for (sid, node) in services {
            s.services.insert(
                sid.to_string(),
                RawService::from([("node".to_string(), node.to_string())]),
            );
        }
        Cluster::new(Hardware::new(&s).shared())
    }

    fn err(c: &mut Cluster, s: &str) -> String {
        c.hardware_command(s, "cmdlist").unwrap_err().to_string()
    }

    #[test]
    fn object_errors_come_before_the_execute_line() {
        let mut c = cluster(&[]);
        assert_eq!(
            err(&mut c, "power"),
            "sim_hardware_cmd: no node or service for command specified"
        );
        assert_eq!(
            err(&mut c, "power node9 on"),
            "sim_hardware_cmd: no such node 'node9'"
        );
        assert_eq!(
            err(&mut c, "delay 1.5"),
            "sim_hardware_cmd: no such node '1.5'"
        );
        assert_eq!(
            err(&mut c, "service VM:1 started"),
            "value does not look like a valid ha resource id"
        );
        assert_eq!(c.hw.borrow().log_text(), "");
    }

    #[test]
    fn action_errors_come_after_the_execute_line() {
        let mut c = cluster(&[("vm:1", "node1")]);
        let cases = [
            ("power node1 toggle", "sim_hardware_cmd: unknown action 'toggle'"),
            ("network node1 up", "sim_hardware_cmd: unknown network action 'up'"),
            ("cfs node1 ro fail", "sim_hardware_cmd: unknown cfs action 'ro' for node 'node1'"),
            ("cfs node1 rw maybe", "sim_hardware_cmd: unknown cfs command 'maybe' for 'rw' on node 'node1'"),
            ("pve-manager-version node1 get", "sim_hardware_cmd: unknown version action 'get'"),
            ("crm node1 disarm-ha all", "sim_hardware_cmd: unknown resource mode 'all'"),
            ("crm node1 dance", "sim_hardware_cmd: unknown action 'dance'"),
            ("service vm:1 migrate", "sim_hardware_cmd: missing target node for 'migrate' command"),
            ("service vm:1 stop", "sim_hardware_cmd: missing timeout for 'stop' command"),
            ("service vm:2 started", "no such service 'vm:2'"),
            ("service vm:1 add node2", "resource ID 'vm:1' already defined"),
            ("service vm:2 delete", "no such service 'vm:2'"),
            ("service vm:2 lock", "no such service 'vm:2'"),
            ("service vm:1 set-static-stats", "sim_hardware_cmd: missing target stat for 'set-static-stats' command"),
            ("service vm:1 set-static-stats maxcpu", "sim_hardware_cmd: missing value for 'set-static-stats maxcpu' command"),
            ("service vm:1 set-static-stats cpu 1", "sim_hardware_cmd: unknown target stat 'cpu' for 'set-static-stats' command"),
            ("service vm:2 set-dynamic-stats cpu 1", "no such service 'vm:2'"),
            ("service vm:1 manual-migrate", "sim_hardware_cmd: missing target node for 'manual-migrate' command"),
            ("service vm:2 manual-migrate node2", "sim_hardware_cmd: service 'vm:2' not configured"),
            (
                "service vm:1 manual-migrate node2",
                "sim_hardware_cmd: manual-migrate requires service in 'ignored' state or disarm-ha ignore mode",
            ),
            ("service vm:1 fly", "sim_hardware_cmd: unknown service action 'fly' - not implemented"),
            ("frobnicate node1 x", "sim_hardware_cmd: unknown command 'frobnicate node1 x'"),
        ];
        for (cmd, want) in cases {
            let before = c.hw.borrow().log_text().len();
            assert_eq!(err(&mut c, cmd), want, "{cmd}");
            let log = c.hw.borrow().log_text()[before..].to_string();
            assert_eq!(
                log,
                format!("info      0      cmdlist: execute {cmd}\n"),
                "{cmd}"
            );
        }
    }

    #[test]
    fn service_commands_change_the_config() {
        let mut c = cluster(&[("vm:1", "node1")]);
        let run = |c: &mut Cluster, s: &str| c.hardware_command(s, "cmdlist").unwrap();
        run(&mut c, "service vm:1 ignored");
        run(&mut c, "service vm:1 manual-migrate node3");
        run(&mut c, "service vm:1 lock");
        run(&mut c, "service vm:2 add node2 stopped 1");
        run(&mut c, "service vm:3 add node1");
        run(&mut c, "service vm:1 set-dynamic-stats cpu 3.9 mem 6517");
        run(&mut c, "service vm:1 set-static-stats maxmem 1");
        run(&mut c, "service vm:3 delete");
        let hw = c.hw.borrow();
        let d = hw.raw_service("vm:1").unwrap();
        assert_eq!(d["node"], "node3");
        assert_eq!(d["lock"], "backup");
        assert_eq!(hw.raw_service("vm:2").unwrap()["state"], "stopped");
        assert!(hw.is_running("node2", "vm:2"));
        assert!(!hw.is_running("node1", "vm:3"));
        assert!(hw.raw_service("vm:3").is_none());
        assert_eq!(hw.dynamic_stats["vm:1"].cpu, Some(3.9));
        assert_eq!(hw.dynamic_stats["vm:1"].mem, Some(6_833_569_792.0));
        assert_eq!(hw.static_stats["vm:1"].maxmem, Some(1_048_576.0));
        assert!(hw.service_config().is_ok());
    }

    #[test]
    fn queue_commands() {
        let mut c = cluster(&[("vm:1", "node1")]);
        for s in [
            "service vm:1 migrate node2",
            "service vm:1 relocate node3",
            "service vm:1 stop 0",
            "crm node2 enable-node-maintenance",
            "crm node1 disarm-ha freeze",
            "crm node3 arm-ha",
        ] {
            c.hardware_command(s, "cmdlist").unwrap();
        }
        assert_eq!(
            c.hw.borrow_mut().take_crm_commands(),
            "migrate vm:1 node2\nrelocate vm:1 node3\nstop vm:1 0\nenable-node-maintenance node2\ndisarm-ha freeze\narm-ha\n"
        );
    }

    #[test]
    fn power_creates_and_kills_daemons() {
        let mut c = cluster(&[]);
        c.hardware_command("power node1 on", "cmdlist").unwrap();
        assert!(c.has_crm("node1") && c.has_lrm("node1"));
        assert!(c.hw.borrow().node("node1").unwrap().online());
        c.hw.borrow_mut().watchdog_open("node1");
        c.hw.borrow_mut().set_running("node1", "vm:1", true);
        c.hw.borrow_mut()
            .acquire_lock("ha_agent_node1_lock", "node1", 0);
        // Already on: nothing but the network.
        c.hardware_command("network node1 off", "cmdlist").unwrap();
        c.hardware_command("power node1 on", "cmdlist").unwrap();
        assert!(c.hw.borrow().node("node1").unwrap().network);
        c.hardware_command("power node1 off", "watchdog").unwrap();
        assert!(!c.has_crm("node1") && !c.has_lrm("node1"));
        let hw = c.hw.borrow();
        assert!(hw.watchdogs().is_empty());
        assert!(!hw.is_running("node1", "vm:1"));
        assert_eq!(hw.locks().len(), 1, "locks survive power off");
        assert_eq!(
            hw.log_text(),
            "info      0      cmdlist: execute power node1 on\n\
             info      0    node1/crm: status change startup => wait_for_quorum\n\
             info      0    node1/lrm: status change startup => wait_for_agent_lock\n\
             info      0      cmdlist: execute network node1 off\n\
             info      0      cmdlist: execute power node1 on\n\
             info      0     watchdog: execute power node1 off\n\
             info      0    node1/crm: killed by poweroff\n\
             info      0    node1/lrm: killed by poweroff\n"
        );
    }

    #[test]
    fn cfs_and_versions() {
        let mut c = cluster(&[]);
        c.hardware_command("cfs node2 rw fail", "cmdlist").unwrap();
        c.hardware_command("cfs node2 update fail", "cmdlist")
            .unwrap();
        c.hardware_command("pve-manager-version node2 set 9.0.1", "cmdlist")
            .unwrap();
        {
            let hw = c.hw.borrow();
            let n = hw.node("node2").unwrap();
            assert!(!n.cfs_rw && !n.cfs_update);
            assert_eq!(n.version.as_deref(), Some("9.0.1"));
        }
        c.hardware_command("power node2 on", "cmdlist").unwrap();
        let hw = c.hw.borrow();
        let n = hw.node("node2").unwrap();
        assert!(n.cfs_rw && n.cfs_update, "power on resets cfs");
    }
}
