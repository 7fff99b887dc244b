//! Running one action of an OCF agent (OCF Resource Agent API 1.1): the
//! script `<OCF_ROOT>/resource.d/<provider>/<type>` with the action as its
//! only argument and the resource described in the environment.
//!
//! The agent runs in a process group of its own, so a timeout kills it
//! and everything it started (`kill(-pgid, SIGKILL)`). Its output goes
//! to unlinked temporary files, not pipes: an agent that leaves a
//! background process holding its stdout (IPaddr2's `send_arp`) cannot
//! keep us waiting for end-of-file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::exit::{Action, OcfExit};
use crate::config::ocf::{OcfAgent, OcfParams};

/// Where the agents live unless `OCF_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/usr/lib/ocf";
/// The environment variable naming the OCF root (the standard's name).
pub const ROOT_ENV: &str = "OCF_ROOT";
/// `PATH` of every process a resource job spawns (05 §9.4).
const PATH: &str = "/sbin:/bin:/usr/sbin:/usr/bin";
/// How much of each output stream is kept.
const OUTPUT_LIMIT: u64 = 64 * 1024;
/// How often a running agent is looked at.
const POLL: Duration = Duration::from_millis(20);

/// The OCF root: `OCF_ROOT` if set and not empty, else `/usr/lib/ocf`.
pub fn root_from_env() -> PathBuf {
    match std::env::var_os(ROOT_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_ROOT),
    }
}

/// Why an action could not produce an exit status.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No such script.
    #[error("agent {agent} not found ({path})")]
    NotFound {
        /// The agent.
        agent: OcfAgent,
        /// Where it was looked for.
        path: String,
    },
    /// The script exists but cannot be executed.
    #[error("agent {agent} is not executable ({path})")]
    NotExecutable {
        /// The agent.
        agent: OcfAgent,
        /// The script.
        path: String,
    },
    /// The process could not be started, or its output not kept.
    #[error("agent {agent} {action}: {err}")]
    Io {
        /// The agent.
        agent: OcfAgent,
        /// The action.
        action: Action,
        /// Why.
        err: std::io::Error,
    },
    /// The deadline passed; the process group was killed.
    #[error("agent {agent} {action} timed out after {secs} s (killed)")]
    Timeout {
        /// The agent.
        agent: OcfAgent,
        /// The action.
        action: Action,
        /// The timeout in seconds (rounded up).
        secs: u64,
    },
    /// The agent was killed by a signal it did not ask for.
    #[error("agent {agent} {action} killed by signal {signal}")]
    Signal {
        /// The agent.
        agent: OcfAgent,
        /// The action.
        action: Action,
        /// The signal.
        signal: i32,
    },
}

/// The script of `agent` under `root`, checked to exist and be
/// executable. The agent's syntax (config/ocf.rs) keeps it inside
/// `resource.d`.
pub fn resolve(root: &Path, agent: &OcfAgent) -> Result<PathBuf, AgentError> {
    let path = root
        .join("resource.d")
        .join(&agent.provider)
        .join(&agent.kind);
    let shown = path.display().to_string();
    let meta = fs::metadata(&path).map_err(|_| AgentError::NotFound {
        agent: agent.clone(),
        path: shown.clone(),
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(AgentError::NotExecutable {
            agent: agent.clone(),
            path: shown,
        });
    }
    Ok(path)
}

/// One action to run.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// The agent.
    pub agent: &'a OcfAgent,
    /// `OCF_RESOURCE_INSTANCE`: the name part of the sid.
    pub instance: &'a str,
    /// The `OCF_RESKEY_*` parameters.
    pub params: &'a OcfParams,
    /// The action.
    pub action: Action,
    /// The deadline; also passed as `OCF_RESKEY_CRM_meta_timeout` (ms).
    pub timeout: Duration,
    /// Further `OCF_RESKEY_CRM_meta_*` values (`migrate_target`, …).
    pub meta: &'a [(&'a str, String)],
}

/// What the agent left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its exit status.
    pub exit: OcfExit,
    /// Standard output (at most 64 KiB, lossy UTF-8).
    pub stdout: String,
    /// Standard error (likewise).
    pub stderr: String,
}

impl Output {
    /// Why the agent failed, for a one-line message: the last
    /// `ocf-exit-reason:` line (the standard's channel), else the last
    /// non-empty line of standard error.
    pub fn reason(&self) -> Option<&str> {
        let lines = || self.stderr.lines().rev().map(str::trim);
        lines()
            .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .map(str::trim)
            .or_else(|| lines().find(|l| !l.is_empty()))
            .filter(|l| !l.is_empty())
    }
}

/// A fresh temporary file, already unlinked: only our handle and the
/// child's copy of it keep it alive.
fn scratch() -> std::io::Result<File> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("pve-ha-ocf.{}.{n}", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary file name"))
}

fn read_back(mut f: File) -> String {
    let mut buf = Vec::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.take(OUTPUT_LIMIT).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs one action (module docs) and waits for it, at most
/// `inv.timeout`.
pub fn run(root: &Path, inv: &Invocation<'_>) -> Result<Output, AgentError> {
    let path = resolve(root, inv.agent)?;
    let io = |err| AgentError::Io {
        agent: inv.agent.clone(),
        action: inv.action,
        err,
    };
    let out = scratch().map_err(io)?;
    let err = scratch().map_err(io)?;
    let mut cmd = Command::new(&path);
    cmd.arg(inv.action.as_str());
    // Nothing of another resource may leak in from our own environment.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OCF_") {
            cmd.env_remove(&k);
        }
    }
    let ms = inv.timeout.as_millis().to_string();
    cmd.env("PATH", PATH)
        .env("OCF_ROOT", root)
        .env("OCF_FUNCTIONS_DIR", root.join("lib/heartbeat"))
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", inv.instance)
        .env("OCF_RESOURCE_TYPE", &inv.agent.kind)
        .env("OCF_RESOURCE_PROVIDER", &inv.agent.provider)
        .env("OCF_RESKEY_CRM_meta_timeout", ms);
    for (k, v) in inv.meta {
        cmd.env(format!("OCF_RESKEY_CRM_meta_{k}"), v);
    }
    for (k, v) in &inv.params.0 {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().map_err(io)?)
        .stderr(err.try_clone().map_err(io)?)
        .process_group(0);
    let mut child = cmd.spawn().map_err(io)?;
    let deadline = Instant::now() + inv.timeout;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(io)? {
            break st;
        }
        if Instant::now() >= deadline {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on the child's own process group (it
                // was made its leader above); no memory is involved.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
            return Err(AgentError::Timeout {
                agent: inv.agent.clone(),
                action: inv.action,
                secs: inv.timeout.as_secs() + u64::from(inv.timeout.subsec_nanos() > 0),
            });
        }
        std::thread::sleep(POLL);
    };
    let exit = match (status.code(), status.signal()) {
        (Some(c), _) => OcfExit(c),
        (None, Some(signal)) => {
            return Err(AgentError::Signal {
                agent: inv.agent.clone(),
                action: inv.action,
                signal,
            })
        }
        (None, None) => OcfExit(-1),
    };
    Ok(Output {
        exit,
        stdout: read_back(out),
        stderr: read_back(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_prefers_ocf_exit_reason() {
        let o = |stderr: &str| Output {
            exit: OcfExit(1),
            stdout: String::new(),
            stderr: stderr.to_string(),
        };
        assert_eq!(
            o("ocf-exit-reason:IP address is mandatory\nlater noise\n").reason(),
            Some("IP address is mandatory")
        );
        assert_eq!(o("first\nlast line\n\n").reason(), Some("last line"));
        assert_eq!(o("").reason(), None);
    }

    #[test]
    fn missing_agents_are_named() {
        let agent: OcfAgent = "nobody:Nothing".parse().unwrap();
        let e = resolve(Path::new("/nonexistent-ocf"), &agent).unwrap_err();
        assert_eq!(
            e.to_string(),
            "agent nobody:Nothing not found (/nonexistent-ocf/resource.d/nobody/Nothing)"
        );
    }
}
