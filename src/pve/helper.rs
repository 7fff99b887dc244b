//! The guest helper (05 §12.5, 07 §2.12–2.13): one executable that runs
//! Proxmox's guest API in the HA context and answers what only pmxcfs's
//! IPC or the Perl frameworks provide. Located by `PVE_HA_GUEST_HELPER`,
//! default [`DEFAULT_PATH`]. Contract:
//!
//! * `HELPER start|shutdown|stop|migrate vm|ct VMID [--timeout N]
//!   [--target NODE] [--online]` waits for the guest task; exit 0 when the
//!   operation was carried out; exit 3 when the task ran but did not
//!   succeed — not an error, as upstream's plugins raise none there and
//!   the LRM judges by `check_running` or the migrate result (05 §12.1,
//!   §12.4); any other status is an error whose message is the one line
//!   on standard error;
//! * `HELPER kv static-info|version-info` prints a JSON object, node name
//!   → that node's key/value entry;
//! * `HELPER notify TEMPLATE` reads `{"data":…,"metadata":…}` JSON on
//!   standard input.
//!
//! The helper runs in its own process, so a hung guest operation only
//! ever blocks the worker thread that waits for it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::sys::errno::errno_text;
use crate::types::Sid;

/// Where the package installs the helper.
pub const DEFAULT_PATH: &str = "/usr/libexec/pve-ha/guest-helper";

/// The environment variable naming another helper.
pub const HELPER_ENV: &str = "PVE_HA_GUEST_HELPER";

/// The helper's exit code for "the task ran but did not succeed".
pub const TASK_FAILED: i32 = 3;

/// A helper run that did not end with exit 0.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    /// The exit code (`None`: not started, or killed by a signal).
    status: Option<i32>,
    /// What went wrong, one line.
    message: String,
}

/// A guest operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestOp {
    /// Start on this node.
    Start,
    /// Graceful shutdown (the helper picks the forced-stop semantics).
    Shutdown,
    /// Hard stop.
    Stop,
    /// Move to another node.
    Migrate,
}

impl GuestOp {
    fn word(self) -> &'static str {
        match self {
            GuestOp::Start => "start",
            GuestOp::Shutdown => "shutdown",
            GuestOp::Stop => "stop",
            GuestOp::Migrate => "migrate",
        }
    }
}

/// Options of a guest operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpOptions {
    /// `--timeout N`.
    pub timeout: Option<String>,
    /// `--target NODE`.
    pub target: Option<String>,
    /// `--online`.
    pub online: bool,
}

/// The helper executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestHelper {
    path: PathBuf,
}

impl Default for GuestHelper {
    fn default() -> Self {
        GuestHelper::new(DEFAULT_PATH)
    }
}

impl GuestHelper {
    /// The helper at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        GuestHelper { path: path.into() }
    }

    /// The helper named by `PVE_HA_GUEST_HELPER`, else the installed one.
    pub fn from_env() -> Self {
        match std::env::var_os(HELPER_ENV) {
            Some(p) if !p.is_empty() => GuestHelper::new(p),
            _ => GuestHelper::default(),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The argument vector of a guest operation (without the program).
    pub fn op_args(op: GuestOp, sid: &Sid, o: &OpOptions) -> Vec<String> {
        let mut v = vec![
            op.word().to_string(),
            sid.type_str().to_string(),
            sid.name().to_string(),
        ];
        if let Some(t) = &o.timeout {
            v.extend(["--timeout".to_string(), t.clone()]);
        }
        if let Some(t) = &o.target {
            v.extend(["--target".to_string(), t.clone()]);
        }
        if o.online {
            v.push("--online".to_string());
        }
        v
    }

    /// Runs a guest operation and waits for it; a task that ran without
    /// success (exit 3) is not an error (see the module doc).
    pub fn guest_op(&self, op: GuestOp, sid: &Sid, o: &OpOptions) -> Result<(), String> {
        match self.run(&Self::op_args(op, sid, o), None) {
            Ok(_)
            | Err(Failure {
                status: Some(TASK_FAILED),
                ..
            }) => Ok(()),
            Err(f) => Err(f.message),
        }
    }

    /// `kv <key>`: node → entry.
    pub fn kv(&self, key: &str) -> Result<serde_json::Map<String, Value>, String> {
        let out = self
            .run(&["kv".to_string(), key.to_string()], None)
            .map_err(|f| f.message)?;
        match serde_json::from_str::<Value>(&out) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("guest helper 'kv {key}': not a JSON object")),
            Err(e) => Err(format!("guest helper 'kv {key}': {e}")),
        }
    }

    /// `notify <template>` with `{data, metadata}` on standard input.
    pub fn notify(&self, template: &str, data: &Value, metadata: &Value) -> Result<(), String> {
        let input = serde_json::json!({"data": data, "metadata": metadata}).to_string();
        self.run(
            &["notify".to_string(), template.to_string()],
            Some(input.as_bytes()),
        )
        .map(|_| ())
        .map_err(|f| f.message)
    }

    /// Runs the helper; its standard output on exit 0, else its exit
    /// code and first non-empty standard error line (or the status).
    fn run(&self, args: &[String], input: Option<&[u8]>) -> Result<String, Failure> {
        let failed = |message: String| Failure {
            status: None,
            message,
        };
        let mut child = Command::new(&self.path)
            .args(args)
            .env("PATH", "/sbin:/bin:/usr/sbin:/usr/bin")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                failed(format!(
                    "unable to run guest helper '{}' - {}",
                    self.path.display(),
                    errno_text(&e)
                ))
            })?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // A helper that does not read gets EPIPE here; its exit
            // status decides.
            let _ = stdin.write_all(data);
        }
        let out = child.wait_with_output().map_err(|e| {
            failed(format!(
                "guest helper '{}' failed - {}",
                self.path.display(),
                errno_text(&e)
            ))
        })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message = match stderr.lines().map(str::trim_end).find(|l| !l.is_empty()) {
            Some(line) => line.to_string(),
            None => format!(
                "guest helper {} ({})",
                args.first().map_or("", String::as_str),
                out.status
            ),
        };
        Err(Failure {
            status: out.status.code(),
            message,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Writes an executable shell script `helper` into `dir`.
    pub fn stub(dir: &Path, body: &str) -> GuestHelper {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join("helper");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        GuestHelper::new(p)
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pve-ha-helper-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn argv_exit_status_and_error_line() {
        let dir = tmp("argv");
        let log = dir.join("argv.log");
        let h = stub(
            &dir,
            &format!(
                "echo \"$@\" >> '{}'\ncase \"$3\" in 666) echo 'VM 666 not running' >&2; echo second >&2; exit 1;; 777) echo 'task failed' >&2; exit 3;; esac\nexit 0",
                log.display()
            ),
        );
        let vm: Sid = "vm:100".parse().unwrap();
        h.guest_op(GuestOp::Start, &vm, &OpOptions::default())
            .unwrap();
        let o = OpOptions {
            timeout: Some("30".into()),
            target: Some("node2".into()),
            online: true,
        };
        h.guest_op(GuestOp::Migrate, &vm, &o).unwrap();
        let ct: Sid = "ct:101".parse().unwrap();
        h.guest_op(
            GuestOp::Shutdown,
            &ct,
            &OpOptions {
                timeout: Some("0".into()),
                ..OpOptions::default()
            },
        )
        .unwrap();
        let bad: Sid = "vm:666".parse().unwrap();
        assert_eq!(
            h.guest_op(GuestOp::Stop, &bad, &OpOptions::default()),
            Err("VM 666 not running".to_string())
        );
        // The task ran without success: the LRM judges by check_running.
        let failed: Sid = "vm:777".parse().unwrap();
        assert_eq!(
            h.guest_op(GuestOp::Start, &failed, &OpOptions::default()),
            Ok(())
        );
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "start vm 100\nmigrate vm 100 --timeout 30 --target node2 --online\nshutdown ct 101 --timeout 0\nstop vm 666\nstart vm 777\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn kv_notify_and_missing_helper() {
        let dir = tmp("kv");
        let got = dir.join("stdin.json");
        let h = stub(
            &dir,
            &format!(
                "case \"$1\" in kv) echo '{{\"node1\":{{\"cpus\":8}}}}';; notify) cat > '{}';; esac",
                got.display()
            ),
        );
        assert_eq!(h.kv("static-info").unwrap()["node1"]["cpus"], 8);
        h.notify(
            "fencing",
            &serde_json::json!({"a": 1}),
            &serde_json::json!({"type": "fencing"}),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&got).unwrap(),
            r#"{"data":{"a":1},"metadata":{"type":"fencing"}}"#
        );
        let silent = stub(&dir.join("silent"), "exit 3");
        let err = silent.kv("version-info").unwrap_err();
        assert!(err.contains("exit status: 3"), "{err}");
        let missing = GuestHelper::new(dir.join("nope"));
        let err = missing.kv("static-info").unwrap_err();
        assert!(err.ends_with("No such file or directory"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
