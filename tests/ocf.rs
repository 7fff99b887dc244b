//! OCF resource agents (docs/ocf.md) run for real: Debian's
//! `resource-agents` (`heartbeat:Dummy`, `heartbeat:IPaddr2`) under
//! `/usr/lib/ocf`, and a fake agent in a temporary OCF root for the
//! environment, the exit-code mapping, timeouts and background children.
//!
//! Nothing here configures an address or touches the network: IPaddr2 is
//! only asked for `meta-data` and `validate-all`, Dummy keeps its state
//! file in a temporary directory (`OCF_RESKEY_state`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pve_ha::config::ocf::{OcfParams, OcfSpec};
use pve_ha::ocf::agent::{self, AgentError, Invocation};
use pve_ha::ocf::exit::Action;
use pve_ha::ocf::validate::{self, ValidateError};
use pve_ha::ocf::OcfDriver;
use pve_ha::types::Sid;

const SYSTEM_ROOT: &str = "/usr/lib/ocf";

/// A temporary directory removed on drop (also when a test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("pve-ha-ocf-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The system's agent, or a visible skip.
fn system_agent(kind: &str, test: &str) -> bool {
    let ok = Path::new(SYSTEM_ROOT)
        .join("resource.d/heartbeat")
        .join(kind)
        .is_file();
    if !ok {
        common::skip(
            test,
            &format!("no {SYSTEM_ROOT}/resource.d/heartbeat/{kind} (package resource-agents)"),
        );
    }
    ok
}

fn spec(agent: &str, params: &str) -> OcfSpec {
    OcfSpec {
        agent: agent.parse().expect("agent"),
        params: OcfParams::parse(params).expect("params"),
    }
}

fn sid(s: &str) -> Sid {
    s.parse().expect("sid")
}

#[test]
fn dummy_start_monitor_stop() {
    if !system_agent("Dummy", "dummy_start_monitor_stop") {
        return;
    }
    let tmp = Scratch::new("dummy");
    let state = tmp.0.join("dummy.state");
    let s = spec("heartbeat:Dummy", &format!("state='{}'", state.display()));
    let d = OcfDriver::new(SYSTEM_ROOT);
    let id = sid("ocf:dummy1");
    assert!(!d.check_running(&id, &s).unwrap());
    d.start(&id, &s).unwrap();
    assert!(state.exists(), "Dummy keeps its state file where told");
    assert!(d.check_running(&id, &s).unwrap());
    d.stop(&id, &s, Some("0")).unwrap();
    assert!(!d.check_running(&id, &s).unwrap());
    // Stop of a stopped resource succeeds (OCF: stop is idempotent).
    d.stop(&id, &s, None).unwrap();
}

#[test]
fn dummy_moves_by_relocation_and_migrate_to() {
    if !system_agent("Dummy", "dummy_moves_by_relocation_and_migrate_to") {
        return;
    }
    let tmp = Scratch::new("dummy-move");
    let s = spec(
        "heartbeat:Dummy",
        &format!("state={}/d.state", tmp.0.display()),
    );
    let d = OcfDriver::new(SYSTEM_ROOT);
    let id = sid("ocf:dummy2");
    for online in [false, true] {
        d.start(&id, &s).unwrap();
        let mut moved = 0;
        let mut relocate = || {
            moved += 1;
            Ok(true)
        };
        let left = d
            .migrate(&id, &s, "node1", "node2", online, &mut relocate)
            .unwrap();
        assert!(left, "online={online}");
        assert_eq!(moved, 1);
        assert!(!d.check_running(&id, &s).unwrap(), "online={online}");
    }
    // Not running: nothing to stop, the record just moves.
    let mut relocate = || Ok(false);
    assert!(!d
        .migrate(&id, &s, "n1", "n2", false, &mut relocate)
        .unwrap());
}

#[test]
fn ipaddr2_refuses_a_missing_ip_and_unknown_parameters() {
    if !system_agent(
        "IPaddr2",
        "ipaddr2_refuses_a_missing_ip_and_unknown_parameters",
    ) {
        return;
    }
    let root = Path::new(SYSTEM_ROOT);
    let line = |params: &str| {
        validate::validate(root, "ocf:web-ip", &spec("heartbeat:IPaddr2", params), &[])
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        line("cidr_netmask=24"),
        Err("ocf:web-ip: agent heartbeat:IPaddr2 requires parameter 'ip'".into())
    );
    assert_eq!(
        line("ip=10.0.0.5 netmask=24"),
        Err("ocf:web-ip: agent heartbeat:IPaddr2 has no parameter 'netmask'".into())
    );
    // validate-all itself: an address that is none.
    let bad = line("ip=999.1.1.1").unwrap_err();
    assert!(
        bad.starts_with(
            "ocf:web-ip: agent heartbeat:IPaddr2 validate-all failed: OCF_ERR_CONFIGURED (6)"
        ),
        "{bad}"
    );
    assert!(!bad.contains('\n'), "one line: {bad}");
    let meta =
        validate::read_metadata(root, "ocf:web-ip", &"heartbeat:IPaddr2".parse().unwrap()).unwrap();
    assert!(meta.param("ip").is_some_and(|p| p.required && p.unique));
    assert!(!meta.migratable());
    let missing = validate::validate(root, "ocf:x", &spec("heartbeat:NoSuchAgent", ""), &[]);
    assert!(
        matches!(missing, Err(ValidateError::Agent { .. })),
        "{missing:?}"
    );
}

/// The fake agent: `meta-data` with a required `ip`; `validate-all`
/// exits `$OCF_RESKEY_vrc`; `start`/`stop`/`monitor` act by
/// `$OCF_RESKEY_mode`: `env` prints its environment, `hang` sleeps with
/// a child, `bg` leaves a child holding stdout, else exits `$OCF_RESKEY_rc`.
const FAKE: &str = r#"#!/bin/sh
case "$1" in
meta-data)
  cat <<'XML'
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Fake" version="1.0">
<parameters>
<parameter name="ip" required="1" unique="1"><content type="string"/></parameter>
<parameter name="rc"/><parameter name="vrc"/><parameter name="mode"/>
<parameter name="dir"/><parameter name="opt"/>
</parameters>
<actions>
<action name="start" timeout="1s"/><action name="stop" timeout="1s"/>
<action name="monitor" timeout="1s"/><action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
XML
  exit 0;;
validate-all)
  [ "${OCF_RESKEY_vrc:-0}" = 0 ] || echo "ocf-exit-reason:fake says no" >&2
  exit "${OCF_RESKEY_vrc:-0}";;
esac
case "$OCF_RESKEY_mode" in
env) env | grep -E '^(OCF_|PATH=)' | sort; exit 0;;
hang) sleep 30 & echo $! > "$OCF_RESKEY_dir/child.pid"; wait; exit 0;;
bg) sleep 5 & echo $! > "$OCF_RESKEY_dir/bg.pid"; exit 0;;
esac
rc="${OCF_RESKEY_rc:-0}"
[ "$rc" = 0 ] || [ "$rc" = 7 ] || echo "ocf-exit-reason:fake $1 failed" >&2
exit "$rc"
"#;

fn fake_root(tmp: &Scratch) -> PathBuf {
    let root = tmp.0.join("ocf");
    let dir = root.join("resource.d/test");
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join("Fake");
    fs::write(&script, FAKE).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("NotExec"), FAKE).unwrap();
    root
}

#[test]
fn fake_agent_sees_the_ocf_environment() {
    let tmp = Scratch::new("env");
    let root = fake_root(&tmp);
    let params = OcfParams::parse(r#"ip=10.0.0.9 mode=env opt='two words' rc="q\"x""#).unwrap();
    let agent = "test:Fake".parse().unwrap();
    let out = agent::run(
        &root,
        &Invocation {
            agent: &agent,
            instance: "web-ip",
            params: &params,
            action: Action::Start,
            timeout: Duration::from_millis(5000),
            meta: &[],
        },
    )
    .unwrap();
    assert_eq!(out.exit.0, 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let root_s = root.display().to_string();
    for want in [
        format!("OCF_ROOT={root_s}"),
        format!("OCF_FUNCTIONS_DIR={root_s}/lib/heartbeat"),
        "OCF_RESOURCE_INSTANCE=web-ip".to_string(),
        "OCF_RESOURCE_TYPE=Fake".to_string(),
        "OCF_RESOURCE_PROVIDER=test".to_string(),
        "OCF_RESKEY_ip=10.0.0.9".to_string(),
        "OCF_RESKEY_opt=two words".to_string(),
        "OCF_RESKEY_rc=q\"x".to_string(),
        "OCF_RESKEY_CRM_meta_timeout=5000".to_string(),
        "OCF_RA_VERSION_MAJOR=1".to_string(),
        "PATH=/sbin:/bin:/usr/sbin:/usr/bin".to_string(),
    ] {
        assert!(lines.contains(&want.as_str()), "{want} not in {lines:?}");
    }
}

#[test]
fn fake_agent_exit_codes_map_to_lrm_results() {
    let tmp = Scratch::new("codes");
    let d = OcfDriver::new(fake_root(&tmp));
    let id = sid("ocf:fake");
    let with = |p: &str| spec("test:Fake", &format!("ip=1 {p}"));
    assert!(d.check_running(&id, &with("rc=0")).unwrap());
    assert!(!d.check_running(&id, &with("rc=7")).unwrap());
    assert_eq!(
        d.check_running(&id, &with("rc=1")).unwrap_err().to_string(),
        "ocf:fake: monitor failed: OCF_ERR_GENERIC (1): fake monitor failed"
    );
    d.start(&id, &with("rc=0")).unwrap();
    assert_eq!(
        d.start(&id, &with("rc=6")).unwrap_err().to_string(),
        "ocf:fake: start failed: OCF_ERR_CONFIGURED (6): fake start failed"
    );
    assert_eq!(
        d.stop(&id, &with("rc=5"), None).unwrap_err().to_string(),
        "ocf:fake: stop failed: OCF_ERR_INSTALLED (5): fake stop failed"
    );
    // validate-all and the add-time checks on the fake agent.
    let root = d.root();
    let v = |p: &str, others: &[(&str, &OcfSpec)]| {
        validate::validate(root, "ocf:fake", &spec("test:Fake", p), others)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(v("ip=1", &[]), Ok(()));
    assert_eq!(
        v("ip=1 vrc=2", &[]),
        Err("ocf:fake: agent test:Fake validate-all failed: OCF_ERR_ARGS (2): fake says no".into())
    );
    assert_eq!(
        v("rc=0", &[]),
        Err("ocf:fake: agent test:Fake requires parameter 'ip'".into())
    );
    let other = spec("test:Fake", "ip=1");
    assert_eq!(
        v("ip=1", &[("ocf:other", &other)]),
        Err("ocf:fake: parameter 'ip' of agent test:Fake must be unique, but ocf:other has the same value".into())
    );
    let not_exec = agent::resolve(root, &"test:NotExec".parse().unwrap());
    assert!(matches!(not_exec, Err(AgentError::NotExecutable { .. })));
}

/// Whether `pid` is gone or a zombie (killed, not yet reaped by init).
fn dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn timeout_kills_the_process_group() {
    let tmp = Scratch::new("timeout");
    let d = OcfDriver::new(fake_root(&tmp));
    let s = spec(
        "test:Fake",
        &format!("ip=1 mode=hang dir={}", tmp.0.display()),
    );
    let t0 = Instant::now();
    // The advised start timeout of the fake agent is 1 s.
    let e = d.start(&sid("ocf:slow"), &s).unwrap_err().to_string();
    assert_eq!(
        e,
        "ocf:slow: agent test:Fake start timed out after 1 s (killed)"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let pid = fs::read_to_string(tmp.0.join("child.pid")).unwrap();
    let pid = pid.trim();
    let t1 = Instant::now();
    while !dead(pid) && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dead(pid), "the agent's child {pid} survived the timeout");
    // A given stop timeout wins over the advised one.
    let e = d
        .stop(&sid("ocf:slow"), &s, Some("2"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "ocf:slow: agent test:Fake stop timed out after 2 s (killed)"
    );
}

#[test]
fn a_background_child_holding_stdout_does_not_block() {
    let tmp = Scratch::new("bg");
    let d = OcfDriver::new(fake_root(&tmp));
    let s = spec(
        "test:Fake",
        &format!("ip=1 mode=bg dir={}", tmp.0.display()),
    );
    let t0 = Instant::now();
    d.start(&sid("ocf:bg"), &s).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    if let Ok(pid) = fs::read_to_string(tmp.0.join("bg.pid")) {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill(2) of the sleeper the fake agent started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}
