//! Executing one job against the resource plugin (05 §9.4,
//! `exec_resource_agent`): the checks, the plugin calls, the log lines and
//! the result code.
//!
//! The real plugins set `PATH=/sbin:/bin:/usr/sbin:/usr/bin` for the
//! processes they spawn; that belongs to their Env implementation, not to
//! this pure function.

use crate::env::{Env, EnvError, EnvResult, LogLevel, ServiceConf};
use crate::lrm::work::{Command, Params};
use crate::types::{OrUnknown, ResultCode, ServiceState, Sid};

/// Runs `command` for `sid` on this node and returns its result code.
///
/// Errors raised by plugin operations propagate, as do the two errors
/// upstream raises itself: an unknown resource type (upstream's plugin
/// lookup dies before its "not implemented" branch, 05 §9.4 step 2, §16
/// item 10) and a move without target.
pub(super) fn exec_resource_agent(
    env: &mut dyn Env,
    sid: &Sid,
    conf: Option<&ServiceConf>,
    command: &Command,
    params: &Params,
) -> EnvResult<ResultCode> {
    let ty = sid.type_str();
    if !env.has_resource_type(ty) {
        return Err(EnvError::new(format!("unknown section type '{ty}'")));
    }
    let Some(conf) = conf else {
        env.log(
            LogLevel::Err,
            &format!("missing resource configuration for '{sid}'"),
        );
        return Ok(ResultCode::UnknownService);
    };
    // Checked before the node: a service in error is reported wherever it
    // is configured, and the command always "succeeds".
    if *command == OrUnknown::Known(ServiceState::Error) {
        env.log(
            LogLevel::Err,
            &format!(
                "service {sid} is in an error state and needs manual intervention. \
                 Look up 'ERROR RECOVERY' in the documentation."
            ),
        );
        return Ok(ResultCode::Success);
    }
    if conf.node != env.nodename() {
        env.log(LogLevel::Err, &format!("service '{sid}' not on this node"));
        return Ok(ResultCode::WrongNode);
    }

    let running = env.resource_check_running(sid)?;
    let Some(known) = command.known().copied() else {
        return Ok(implement_me(env, command));
    };
    match known {
        ServiceState::Started => start(env, sid, running),
        ServiceState::RequestStop | ServiceState::Stopped => stop(env, sid, running, params),
        ServiceState::Migrate | ServiceState::Relocate | ServiceState::RequestStartBalance => {
            migrate(env, sid, conf, known, running, params)
        }
        _ => Ok(implement_me(env, command)),
    }
}

/// `started` (05 §9.4 step 7): silent when already running (the common
/// "ensure started" case); success is judged by re-checking, not by the
/// plugin.
fn start(env: &mut dyn Env, sid: &Sid, running: bool) -> EnvResult<ResultCode> {
    if running {
        return Ok(ResultCode::Success);
    }
    env.log(LogLevel::Info, &format!("starting service {sid}"));
    env.resource_start(sid)?;
    if env.resource_check_running(sid)? {
        env.log(LogLevel::Info, &format!("service status {sid} started"));
        Ok(ResultCode::Success)
    } else {
        env.log(LogLevel::Warning, &format!("unable to start service {sid}"));
        Ok(ResultCode::Error)
    }
}

/// `request_stop` / `stopped` (05 §9.4 step 8).
fn stop(env: &mut dyn Env, sid: &Sid, running: bool, params: &Params) -> EnvResult<ResultCode> {
    if !running {
        return Ok(ResultCode::Success);
    }
    match &params.timeout {
        Some(t) => env.log(
            LogLevel::Info,
            &format!("stopping service {sid} (timeout={t})"),
        ),
        None => env.log(LogLevel::Info, &format!("stopping service {sid}")),
    }
    env.resource_shutdown(sid, params.timeout.as_deref())?;
    if env.resource_check_running(sid)? {
        // `info`, not a warning: upstream's level (05 §16 item 6).
        env.log(
            LogLevel::Info,
            &format!("unable to stop service {sid} (still running)"),
        );
        Ok(ResultCode::Error)
    } else {
        env.log(LogLevel::Info, &format!("service status {sid} stopped"));
        Ok(ResultCode::Success)
    }
}

/// `migrate`, `relocate`, `request_start_balance` (05 §9.4 step 9). Only
/// `migrate` is a live move.
fn migrate(
    env: &mut dyn Env,
    sid: &Sid,
    conf: &ServiceConf,
    command: ServiceState,
    running: bool,
    params: &Params,
) -> EnvResult<ResultCode> {
    let Some(target) = &params.target else {
        return Err(EnvError::new(format!(
            "{command} '{sid}' failed - missing target"
        )));
    };
    if conf.node == *target {
        return Ok(ResultCode::Success);
    }
    if command == ServiceState::RequestStartBalance && running {
        env.log(
            LogLevel::Info,
            &format!("ignoring rebalance-on-start for service {sid} - already running"),
        );
        return Ok(ResultCode::Ignored);
    }
    let online = command == ServiceState::Migrate;
    if env.resource_migrate(sid, target, online)? {
        Ok(ResultCode::Success)
    } else {
        env.log(
            LogLevel::Err,
            &format!("service {sid} not moved (migration error)"),
        );
        Ok(ResultCode::Error)
    }
}

/// Any other command (05 §9.4 step 10).
fn implement_me(env: &mut dyn Env, command: &Command) -> ResultCode {
    env.log(LogLevel::Err, &format!("implement me (cmd '{command}')"));
    ResultCode::UnknownCommand
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrm::fake_env::{sid, FakeEnv};

    fn cmd(state: ServiceState) -> Command {
        OrUnknown::Known(state)
    }

    /// Runs one command for `s` with its configuration from the fake.
    fn run(env: &mut FakeEnv, s: &str, command: Command, params: Params) -> EnvResult<ResultCode> {
        let sid = sid(s);
        let conf = env.service_config.get(&sid).cloned();
        exec_resource_agent(env, &sid, conf.as_ref(), &command, &params)
    }

    fn target(node: &str) -> Params {
        Params {
            target: Some(node.into()),
            timeout: None,
        }
    }

    fn setup() -> FakeEnv {
        let mut env = FakeEnv::new();
        env.set_service("vm:100", ServiceState::Started, "node1", "u");
        env
    }

    #[test]
    fn start_logs_and_is_judged_by_check_running() {
        let mut env = setup();
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert_eq!(
            env.take_log(),
            [
                "info starting service vm:100",
                "info service status vm:100 started"
            ]
        );
        // Already running: silent.
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert!(env.take_log().is_empty());

        env.running.clear();
        env.failing_starts.insert(sid("vm:100"), 1);
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Error));
        assert_eq!(
            env.take_log(),
            [
                "info starting service vm:100",
                "warning unable to start service vm:100"
            ]
        );
    }

    #[test]
    fn stop_with_and_without_timeout() {
        let mut env = setup();
        // Not running: silent success, no plugin call.
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Stopped),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert!(env.take_log().is_empty() && env.calls.is_empty());

        env.running.insert(sid("vm:100"));
        let params = Params {
            target: None,
            timeout: Some("0".into()),
        };
        let r = run(&mut env, "vm:100", cmd(ServiceState::RequestStop), params);
        assert_eq!(r, Ok(ResultCode::Success));
        assert_eq!(
            env.take_log(),
            [
                "info stopping service vm:100 (timeout=0)",
                "info service status vm:100 stopped"
            ]
        );
        assert_eq!(env.calls, ["shutdown vm:100 Some(\"0\")"]);

        env.running.insert(sid("vm:100"));
        env.unstoppable.insert(sid("vm:100"));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Stopped),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Error));
        assert_eq!(
            env.take_log(),
            [
                "info stopping service vm:100",
                "info unable to stop service vm:100 (still running)"
            ]
        );
    }

    #[test]
    fn moves() {
        let mut env = setup();
        env.running.insert(sid("vm:100"));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Migrate),
            target("node2"),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert_eq!(env.calls, ["migrate vm:100 node2 online=true"]);
        // The configuration moved with it: no longer this node's business.
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Relocate),
            target("node3"),
        );
        assert_eq!(r, Ok(ResultCode::WrongNode));

        // A move to where the configuration already is: silent success.
        let mut env = setup();
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Migrate),
            target("node1"),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert!(env.calls.is_empty() && env.take_log().is_empty());

        let mut env = setup();
        env.failing_migrations.insert(sid("vm:100"));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Relocate),
            target("node3"),
        );
        assert_eq!(r, Ok(ResultCode::Error));
        assert_eq!(env.calls, ["migrate vm:100 node3 online=false"]);
        assert_eq!(
            env.take_log(),
            ["err service vm:100 not moved (migration error)"]
        );
    }

    #[test]
    fn rebalance_on_start_of_a_running_service_is_ignored() {
        let mut env = setup();
        env.running.insert(sid("vm:100"));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::RequestStartBalance),
            target("node2"),
        );
        assert_eq!(r, Ok(ResultCode::Ignored));
        assert_eq!(
            env.take_log(),
            ["info ignoring rebalance-on-start for service vm:100 - already running"]
        );
        env.running.clear();
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::RequestStartBalance),
            target("node2"),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        assert_eq!(env.calls, ["migrate vm:100 node2 online=false"]);
    }

    #[test]
    fn a_move_without_target_raises() {
        let mut env = setup();
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Relocate),
            Params::default(),
        );
        assert_eq!(
            r,
            Err(EnvError::new("relocate 'vm:100' failed - missing target"))
        );
    }

    #[test]
    fn checks_before_the_plugin() {
        let mut env = setup();
        // Unknown type: upstream's plugin lookup raises.
        let r = run(
            &mut env,
            "xx:1",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Err(EnvError::new("unknown section type 'xx'")));
        // No configuration.
        let r = run(
            &mut env,
            "vm:999",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::UnknownService));
        // Error state: reported wherever configured, always succeeds.
        env.set_service("vm:200", ServiceState::Error, "node2", "e");
        let r = run(
            &mut env,
            "vm:200",
            cmd(ServiceState::Error),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::Success));
        // Wrong node.
        let r = run(
            &mut env,
            "vm:200",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::WrongNode));
        // Unknown and unhandled commands.
        let r = run(
            &mut env,
            "vm:100",
            OrUnknown::Unknown("dance".into()),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::UnknownCommand));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Fence),
            Params::default(),
        );
        assert_eq!(r, Ok(ResultCode::UnknownCommand));
        assert_eq!(
            env.take_log(),
            [
                "err missing resource configuration for 'vm:999'",
                "err service vm:200 is in an error state and needs manual intervention. \
                 Look up 'ERROR RECOVERY' in the documentation.",
                "err service 'vm:200' not on this node",
                "err implement me (cmd 'dance')",
                "err implement me (cmd 'fence')",
            ]
        );
        assert!(env.calls.is_empty());
    }

    #[test]
    fn plugin_errors_propagate() {
        let mut env = setup();
        env.raising
            .insert(sid("vm:100"), EnvError::new("guest locked"));
        let r = run(
            &mut env,
            "vm:100",
            cmd(ServiceState::Started),
            Params::default(),
        );
        assert_eq!(r, Err(EnvError::new("guest locked")));
    }
}
