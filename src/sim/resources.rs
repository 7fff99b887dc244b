//! The simulated resource plugins (01 §7): `vm`, `ct` and the
//! failure-injecting `fa`, acting on the per-node run states and the
//! service configuration of the hardware. Called by an LRM through its
//! environment; every line they log carries that environment's clock.

use super::env::SimEnv;
use crate::env::{Env, EnvResult, LogLevel};
use crate::types::{ResourceType, Sid};

/// Loop delay of a start, stop or migration (01 §7.1): no clock effect.
const ACTION_SECONDS: i64 = 2;

/// What the digits of `fa:abcdef` ask for (01 §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaSpec {
    /// `b`: start attempts that fail before one succeeds.
    pub start_failures: u32,
    /// `c`: migrate attempts that fail before one succeeds.
    pub migrate_failures: u32,
    /// `d ≠ 0`: shutdown never works.
    pub cannot_stop: bool,
    /// `e`: what `exists` returns (never called by the daemons).
    pub exists: bool,
    /// `f ≠ 0`: the failures apply only on `node<f>`.
    pub only_node: Option<String>,
}

impl Default for FaSpec {
    fn default() -> Self {
        FaSpec {
            start_failures: 0,
            migrate_failures: 0,
            cannot_stop: false,
            exists: true,
            only_node: None,
        }
    }
}

impl FaSpec {
    /// Decodes the id part of an `fa` sid: 3 to 6 digits, missing digits
    /// take their defaults; anything else decodes to all defaults.
    pub fn decode(name: &str) -> Self {
        let d: Vec<u32> = name.chars().filter_map(|c| c.to_digit(10)).collect();
        if !(3..=6).contains(&name.len()) || d.len() != name.len() {
            return FaSpec::default();
        }
        let digit = |i: usize| d.get(i).copied();
        FaSpec {
            start_failures: d[1],
            migrate_failures: d[2],
            cannot_stop: digit(3).is_some_and(|v| v != 0),
            exists: digit(4).is_none_or(|v| v != 0),
            only_node: digit(5).filter(|v| *v != 0).map(|v| format!("node{v}")),
        }
    }

    /// Whether the failure digits apply on `node`.
    fn applies_on(&self, node: &str) -> bool {
        self.only_node.as_deref().is_none_or(|n| n == node)
    }
}

/// Which failure counter an `fa` attempt uses.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    Start,
    Migrate,
}

/// Counts one `fa` attempt on the process-global counter (01 §6.13) and
/// tells whether it must fail; a successful or unrestricted attempt resets
/// the counter.
fn fa_attempt_fails(env: &SimEnv, sid: &Sid, what: Attempt) -> bool {
    let spec = FaSpec::decode(sid.name());
    let node = env.nodename().to_string();
    let mut hw = env.hardware().borrow_mut();
    let (counters, failures) = match what {
        Attempt::Start => (&mut hw.fa_start_tries, spec.start_failures),
        Attempt::Migrate => (&mut hw.fa_migrate_tries, spec.migrate_failures),
    };
    if spec.applies_on(&node) {
        let tries = counters.entry(sid.to_string()).or_insert(0);
        *tries += 1;
        if failures >= *tries {
            return true;
        }
    }
    counters.insert(sid.to_string(), 0);
    false
}

/// The service's configured `lock`, if any.
fn lock_of(env: &SimEnv, sid: &Sid) -> Option<String> {
    env.hardware()
        .borrow()
        .raw_service(sid.as_str())
        .and_then(|d| d.get("lock").cloned())
}

/// Whether the guest runs on the environment's node.
pub fn check_running(env: &SimEnv, sid: &Sid) -> bool {
    env.hardware()
        .borrow()
        .is_running(env.nodename(), sid.as_str())
}

/// `start` (01 §7.1, §7.4).
pub fn start(env: &mut SimEnv, sid: &Sid) -> EnvResult<()> {
    if sid.resource_type() == Some(ResourceType::Fa) && fa_attempt_fails(env, sid, Attempt::Start) {
        return Ok(());
    }
    if let Some(lock) = lock_of(env, sid) {
        env.log(
            LogLevel::Err,
            &format!("service '{sid}' locked ({lock}), unable to start!"),
        );
        return Ok(());
    }
    env.sleep(ACTION_SECONDS);
    let node = env.nodename().to_string();
    env.hardware()
        .borrow_mut()
        .set_running(&node, sid.as_str(), true);
    Ok(())
}

/// `shutdown` (01 §7.1, §7.4); the timeout is ignored.
pub fn shutdown(env: &mut SimEnv, sid: &Sid) -> EnvResult<()> {
    if sid.resource_type() == Some(ResourceType::Fa) && FaSpec::decode(sid.name()).cannot_stop {
        return Ok(());
    }
    if let Some(lock) = lock_of(env, sid) {
        env.log(
            LogLevel::Err,
            &format!("service '{sid}' locked ({lock}), unable to shutdown!"),
        );
        return Ok(());
    }
    env.sleep(ACTION_SECONDS);
    let node = env.nodename().to_string();
    env.hardware()
        .borrow_mut()
        .set_running(&node, sid.as_str(), false);
    Ok(())
}

/// `migrate` (01 §7.2–§7.4); true when the service left the node.
pub fn migrate(env: &mut SimEnv, sid: &Sid, target: &str, mut online: bool) -> EnvResult<bool> {
    let node = env.nodename().to_string();
    match sid.resource_type() {
        Some(ResourceType::Fa) if fa_attempt_fails(env, sid, Attempt::Migrate) => return Ok(false),
        Some(ResourceType::Ct) if online && check_running(env, sid) => {
            env.log(
                LogLevel::Warn,
                "unable to live migrate running container, fallback to relocate",
            );
            online = false;
        }
        _ => {}
    }
    let cmd = if online { "migrate" } else { "relocate" };
    env.log(
        LogLevel::Info,
        &format!("service {sid} - start {cmd} to node '{target}'"),
    );
    if let Some(lock) = lock_of(env, sid) {
        env.log(
            LogLevel::Err,
            &format!("service '{sid}' locked ({lock}), unable to {cmd}!"),
        );
        return Ok(false);
    }
    if !online && check_running(env, sid) {
        env.log(
            LogLevel::Info,
            &format!("stopping service {sid} (relocate)"),
        );
        shutdown(env, sid)?;
        // Printed even when an `fa` could not be stopped (01 §7.2 step 3).
        env.log(LogLevel::Info, &format!("service status {sid} stopped"));
    } else {
        env.sleep(ACTION_SECONDS);
    }
    env.hardware()
        .borrow_mut()
        .set_service_key(sid.as_str(), "node", target)?;
    env.log(
        LogLevel::Info,
        &format!("service {sid} - end {cmd} to node '{target}'"),
    );
    // The run state is not carried over: the service runs nowhere now.
    env.hardware()
        .borrow_mut()
        .forget_running(&node, sid.as_str());
    Ok(true)
}

/// `remove_locks` (01 §7.1): tries `unlock <name>` for each name in order
/// and returns the first removed lock.
pub fn remove_locks(env: &mut SimEnv, sid: &Sid, locks: &[&str]) -> Option<String> {
    let mut hw = env.hardware().borrow_mut();
    locks
        .iter()
        .find_map(|name| hw.unlock_service(sid.as_str(), Some(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::env::DaemonKind;
    use crate::sim::hardware::{Hardware, NodeHardware, SharedHardware};
    use crate::sim::scenario::Scenario;

    fn setup(services: &[(&str, &str, Option<&str>)]) -> (SharedHardware, SimEnv, SimEnv) {
        let mut s = Scenario::empty();
        for n in ["node1", "node2", "node3"] {
            s.nodes.insert(n.into(), NodeHardware::off());
        }
        for (sid, node, lock) in services {
            let mut d = crate::sim::hardware::RawService::new();
            d.insert("node".into(), node.to_string());
            if let Some(l) = lock {
                d.insert("lock".into(), l.to_string());
            }
            s.services.insert(sid.to_string(), d);
        }
        let hw = Hardware::new(&s).shared();
        let a = SimEnv::new(hw.clone(), "node1", DaemonKind::Lrm);
        let b = SimEnv::new(hw.clone(), "node2", DaemonKind::Lrm);
        (hw, a, b)
    }

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    #[test]
    fn fa_digits() {
        assert_eq!(FaSpec::decode("12"), FaSpec::default());
        assert_eq!(FaSpec::decode("1234567"), FaSpec::default());
        let s = FaSpec::decode("130");
        assert_eq!(
            (s.start_failures, s.migrate_failures, s.cannot_stop),
            (3, 0, false)
        );
        assert!(s.exists && s.only_node.is_none());
        let s = FaSpec::decode("1001");
        assert!(s.cannot_stop);
        let s = FaSpec::decode("120001");
        assert_eq!(s.start_failures, 2);
        assert_eq!(s.only_node.as_deref(), Some("node1"));
        assert!(!FaSpec::decode("10000").exists);
        assert_eq!(FaSpec::decode("1a3"), FaSpec::default());
    }

    #[test]
    fn vm_start_stop_and_delay() {
        let (_, mut a, mut b) = setup(&[("vm:1", "node1", None)]);
        let s = sid("vm:1");
        assert!(!check_running(&a, &s));
        start(&mut a, &s).unwrap();
        assert_eq!(a.loop_delay(), 2);
        assert!(check_running(&a, &s));
        assert!(!check_running(&b, &s), "run state is per node");
        shutdown(&mut a, &s).unwrap();
        assert!(!check_running(&a, &s));
        start(&mut b, &s).unwrap();
        assert!(check_running(&b, &s));
    }

    #[test]
    fn fa_start_failures_are_counted_across_nodes() {
        let (_, mut a, mut b) = setup(&[("fa:130", "node1", None)]);
        let s = sid("fa:130");
        for on_a in [true, false, true] {
            let env = if on_a { &mut a } else { &mut b };
            start(env, &s).unwrap();
            assert!(!check_running(env, &s));
        }
        start(&mut b, &s).unwrap();
        assert!(
            check_running(&b, &s),
            "the 4th attempt succeeds, on any node"
        );
        assert_eq!(a.loop_delay(), 0, "failed starts cost nothing");
    }

    #[test]
    fn fa_node_restriction() {
        let (hw, mut a, mut b) = setup(&[("fa:120002", "node1", None)]);
        let s = sid("fa:120002");
        start(&mut a, &s).unwrap();
        assert!(check_running(&a, &s), "failures apply only on node2");
        start(&mut b, &s).unwrap();
        start(&mut b, &s).unwrap();
        assert!(!check_running(&b, &s));
        assert_eq!(hw.borrow().fa_start_tries["fa:120002"], 2);
        start(&mut b, &s).unwrap();
        assert!(check_running(&b, &s));
        assert_eq!(hw.borrow().fa_start_tries["fa:120002"], 0);
    }

    #[test]
    fn fa_cannot_stop() {
        let (_, mut a, _) = setup(&[("fa:1001", "node1", None)]);
        let s = sid("fa:1001");
        start(&mut a, &s).unwrap();
        shutdown(&mut a, &s).unwrap();
        assert!(check_running(&a, &s));
    }

    #[test]
    fn locked_services_refuse_actions() {
        let (hw, mut a, _) = setup(&[("vm:103", "node1", Some("create"))]);
        let s = sid("vm:103");
        start(&mut a, &s).unwrap();
        assert!(!check_running(&a, &s));
        hw.borrow_mut().set_running("node1", "vm:103", true);
        shutdown(&mut a, &s).unwrap();
        assert!(check_running(&a, &s));
        assert!(!migrate(&mut a, &s, "node2", true).unwrap());
        assert_eq!(
            hw.borrow().log_text(),
            "err       0    node1/lrm: service 'vm:103' locked (create), unable to start!\n\
             err       0    node1/lrm: service 'vm:103' locked (create), unable to shutdown!\n\
             info      0    node1/lrm: service vm:103 - start migrate to node 'node2'\n\
             err       0    node1/lrm: service 'vm:103' locked (create), unable to migrate!\n"
        );
        assert_eq!(remove_locks(&mut a, &s, &["backup", "mounted"]), None);
        assert_eq!(
            remove_locks(&mut a, &s, &["backup", "create"]).as_deref(),
            Some("create")
        );
        start(&mut a, &s).unwrap();
        assert!(check_running(&a, &s));
    }

    #[test]
    fn migration_moves_the_config_but_not_the_run_state() {
        let (hw, mut a, mut b) = setup(&[("vm:1", "node1", None), ("ct:2", "node2", None)]);
        let s = sid("vm:1");
        start(&mut a, &s).unwrap();
        assert!(migrate(&mut a, &s, "node2", true).unwrap());
        assert!(!check_running(&a, &s) && !check_running(&b, &s));
        assert_eq!(hw.borrow().raw_service("vm:1").unwrap()["node"], "node2");
        let c = sid("ct:2");
        start(&mut b, &c).unwrap();
        assert!(migrate(&mut b, &c, "node3", true).unwrap());
        let log = hw.borrow().log_text().to_string();
        assert_eq!(
            log,
            "info      0    node1/lrm: service vm:1 - start migrate to node 'node2'\n\
             info      0    node1/lrm: service vm:1 - end migrate to node 'node2'\n\
             warn      0    node2/lrm: unable to live migrate running container, fallback to relocate\n\
             info      0    node2/lrm: service ct:2 - start relocate to node 'node3'\n\
             info      0    node2/lrm: stopping service ct:2 (relocate)\n\
             info      0    node2/lrm: service status ct:2 stopped\n\
             info      0    node2/lrm: service ct:2 - end relocate to node 'node3'\n"
        );
    }

    #[test]
    fn fa_migrate_failures_are_silent() {
        let (hw, mut a, _) = setup(&[("fa:109", "node1", None)]);
        let s = sid("fa:109");
        for _ in 0..9 {
            assert!(!migrate(&mut a, &s, "node2", false).unwrap());
        }
        assert_eq!(hw.borrow().log_text(), "");
        assert!(migrate(&mut a, &s, "node2", false).unwrap());
    }
}
