//! Stop requests (05 §7): deciding, from the kind of stop (node
//! shutdown, reboot or LRM restart), the datacenter shutdown policy and a
//! manual maintenance, which services to stop and which mode to report.

use crate::config::datacenter::ShutdownPolicy;
use crate::env::{Env, LogLevel, NodeShutdown};
use crate::lrm::Lrm;
use crate::types::{LrmMode, OrUnknown};

/// What a stop request does, decided without touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ShutdownPlan {
    /// Lines to log, in order.
    pub(super) messages: Vec<(LogLevel, String)>,
    /// Queue a uid-less stop job for every service of the node.
    pub(super) queue_stop_jobs: bool,
    /// The new mode; `None` keeps the current one (manual maintenance).
    pub(super) mode: Option<LrmMode>,
}

/// Decides a stop request (05 §7.2 steps 4–7). `shutdown`/`reboot` say
/// whether the node goes down (without `shutdown` it is an LRM restart,
/// whatever `reboot` says); `in_maintenance` is whether the mode already
/// is `maintenance`.
pub(super) fn plan(
    shutdown: bool,
    reboot: bool,
    policy: &OrUnknown<ShutdownPolicy>,
    in_maintenance: bool,
) -> ShutdownPlan {
    let mut messages = Vec::new();
    if shutdown {
        messages.push((
            LogLevel::Info,
            format!("got shutdown request with shutdown policy '{policy}'"),
        ));
    }
    // Evaluated (and an unknown word reported) for LRM restarts too.
    let (freeze_all, maintenance) = match policy {
        OrUnknown::Known(ShutdownPolicy::Conditional) => (reboot, false),
        OrUnknown::Known(ShutdownPolicy::Freeze) => (true, false),
        OrUnknown::Known(ShutdownPolicy::Failover) => (false, false),
        OrUnknown::Known(ShutdownPolicy::Migrate) => (false, true),
        OrUnknown::Unknown(word) => {
            messages.push((
                LogLevel::Err,
                format!("unknown shutdown policy '{word}', fall back to conditional"),
            ));
            (reboot, false)
        }
    };

    // A node going down stops everything it runs, reboot or poweroff
    // alike, unless the services are moved away (migrate policy); an LRM
    // restart leaves them running.
    let queue_stop_jobs = shutdown && !maintenance;

    let kind = if reboot { "reboot" } else { "shutdown" };
    let mut level = LogLevel::Info;
    let (mode, line) = if shutdown {
        if in_maintenance && maintenance {
            (
                None,
                format!("{kind} LRM, ignore maintenance policy, already in maintenance mode"),
            )
        } else if in_maintenance {
            (
                None,
                format!("{kind} LRM, ignore {policy} policy as manual maintenance mode is enabled"),
            )
        } else if maintenance {
            (
                Some(LrmMode::Maintenance),
                format!("{kind} LRM, doing maintenance, removing this node from active list"),
            )
        } else if freeze_all {
            (
                Some(LrmMode::Restart),
                format!("{kind} LRM, stop and freeze all services"),
            )
        } else {
            // Always "shutdown", also on reboot (05 §16 item 5).
            (
                Some(LrmMode::Shutdown),
                "shutdown LRM, stop all services".to_string(),
            )
        }
    } else if in_maintenance {
        // Upstream logs this with a malformed level string (05 §7.2); the
        // simulator reproduces its bytes, real logs print it as `info`.
        level = LogLevel::MalformedInfo;
        (
            None,
            "Restarting LRM in maintenance mode may be delayed until all services are moved"
                .to_string(),
        )
    } else {
        (
            Some(LrmMode::Restart),
            "restart LRM, freeze all services".to_string(),
        )
    };
    messages.push((level, line));
    ShutdownPlan {
        messages,
        queue_stop_jobs,
        mode,
    }
}

/// Asks the Env whether the node itself goes down (05 §7.1). When that
/// cannot be told, the stop counts as an LRM restart, as upstream's
/// ignored `systemctl` failure does (07 §2.9): services get frozen rather
/// than stopped or moved, the safe choice. Upstream stays silent; the
/// failure is logged here so an admin can see why a shutdown froze.
fn detect_node_shutdown(env: &mut dyn Env) -> NodeShutdown {
    match env.is_node_shutdown() {
        Ok(node) => node,
        Err(e) => {
            env.log(
                LogLevel::Warning,
                &format!("unable to detect node shutdown, assuming LRM restart - {e}"),
            );
            NodeShutdown::default()
        }
    }
}

impl Lrm {
    /// Delivers a stop request (05 §7.2): SIGTERM/SIGINT/SIGQUIT in the
    /// daemon, `shutdown`/`reboot`/`restart-lrm` in the harness. Asks the
    /// Env whether the node itself goes down, applies the datacenter's
    /// shutdown policy (logging e.g. `got shutdown request with shutdown
    /// policy 'conditional'` or `restart LRM, freeze all services`),
    /// queues the stop jobs, sets the mode and writes the status at once,
    /// so the CRM sees the new mode before the next LRM round. A second
    /// request changes nothing.
    pub fn shutdown_request(&mut self, env: &mut dyn Env) {
        if self.shutdown_request.is_some() {
            return;
        }
        let node = detect_node_shutdown(env);
        let policy = env.get_datacenter_settings().ha.shutdown_policy();
        let plan = plan(
            node.shutdown,
            node.reboot,
            &policy,
            self.mode == LrmMode::Maintenance,
        );
        for (level, msg) in &plan.messages {
            env.log(*level, msg);
        }
        if plan.queue_stop_jobs {
            self.work
                .queue_shutdown_stop_jobs(self.view.service_status(), &self.node);
        }
        if let Some(mode) = plan.mode {
            self.mode = mode;
        }
        self.shutdown_request = Some(env.get_time());
        if !self.write_status(env) {
            env.log(
                LogLevel::Err,
                "unable to update lrm status file - not quorate?",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(p: ShutdownPolicy) -> OrUnknown<ShutdownPolicy> {
        OrUnknown::Known(p)
    }

    fn lines(plan: &ShutdownPlan) -> Vec<String> {
        plan.messages
            .iter()
            .map(|(level, msg)| format!("{level} {msg}"))
            .collect()
    }

    #[test]
    fn conditional_fails_over_on_poweroff_and_freezes_on_reboot() {
        let p = plan(true, false, &known(ShutdownPolicy::Conditional), false);
        assert_eq!(
            lines(&p),
            [
                "info got shutdown request with shutdown policy 'conditional'",
                "info shutdown LRM, stop all services",
            ]
        );
        assert!(p.queue_stop_jobs);
        assert_eq!(p.mode, Some(LrmMode::Shutdown));

        let p = plan(true, true, &known(ShutdownPolicy::Conditional), false);
        assert_eq!(
            lines(&p)[1],
            "info reboot LRM, stop and freeze all services"
        );
        assert!(p.queue_stop_jobs);
        assert_eq!(p.mode, Some(LrmMode::Restart));
    }

    #[test]
    fn freeze_and_failover_ignore_the_kind_of_stop() {
        let p = plan(true, false, &known(ShutdownPolicy::Freeze), false);
        assert_eq!(
            lines(&p)[1],
            "info shutdown LRM, stop and freeze all services"
        );
        assert_eq!(p.mode, Some(LrmMode::Restart));
        assert!(p.queue_stop_jobs);

        // "shutdown" even on reboot (05 §16 item 5).
        let p = plan(true, true, &known(ShutdownPolicy::Failover), false);
        assert_eq!(lines(&p)[1], "info shutdown LRM, stop all services");
        assert_eq!(p.mode, Some(LrmMode::Shutdown));
        assert!(p.queue_stop_jobs);
    }

    #[test]
    fn migrate_enters_maintenance_without_stop_jobs() {
        let p = plan(true, true, &known(ShutdownPolicy::Migrate), false);
        assert_eq!(
            lines(&p),
            [
                "info got shutdown request with shutdown policy 'migrate'",
                "info reboot LRM, doing maintenance, removing this node from active list",
            ]
        );
        assert!(!p.queue_stop_jobs);
        assert_eq!(p.mode, Some(LrmMode::Maintenance));
    }

    #[test]
    fn unknown_policy_falls_back_to_conditional() {
        let bogus = OrUnknown::Unknown("sometimes".to_string());
        let p = plan(true, true, &bogus, false);
        assert_eq!(
            lines(&p),
            [
                "info got shutdown request with shutdown policy 'sometimes'",
                "err unknown shutdown policy 'sometimes', fall back to conditional",
                "info reboot LRM, stop and freeze all services",
            ]
        );
        assert_eq!(p.mode, Some(LrmMode::Restart));
        // Also evaluated for an LRM restart.
        let p = plan(false, false, &bogus, false);
        assert_eq!(
            lines(&p),
            [
                "err unknown shutdown policy 'sometimes', fall back to conditional",
                "info restart LRM, freeze all services",
            ]
        );
    }

    #[test]
    fn lrm_restart_freezes_without_stop_jobs() {
        for policy in ShutdownPolicy::ALL {
            let p = plan(false, true, &known(*policy), false);
            assert_eq!(lines(&p), ["info restart LRM, freeze all services"]);
            assert!(!p.queue_stop_jobs);
            assert_eq!(p.mode, Some(LrmMode::Restart));
        }
    }

    #[test]
    fn manual_maintenance_keeps_the_mode() {
        let p = plan(true, false, &known(ShutdownPolicy::Migrate), true);
        assert_eq!(
            lines(&p)[1],
            "info shutdown LRM, ignore maintenance policy, already in maintenance mode"
        );
        assert_eq!((p.mode, p.queue_stop_jobs), (None, false));

        let p = plan(true, true, &known(ShutdownPolicy::Conditional), true);
        assert_eq!(
            lines(&p)[1],
            "info reboot LRM, ignore conditional policy as manual maintenance mode is enabled"
        );
        // The stop jobs are queued nevertheless (05 §7.2 step 7).
        assert_eq!((p.mode, p.queue_stop_jobs), (None, true));

        let p = plan(false, false, &known(ShutdownPolicy::Conditional), true);
        assert_eq!(
            lines(&p),
            ["\n\t    info Restarting LRM in maintenance mode may be delayed until all services are moved"]
        );
        assert_eq!((p.mode, p.queue_stop_jobs), (None, false));
    }
}
