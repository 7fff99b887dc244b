//! The resource plugin operations (05 §12.1) for `ocf` sids, as the real
//! environment calls them: `check_running` is `monitor`, `start` and
//! `shutdown` are `start` and `stop`, `migrate` moves the resource by
//! relocation (docs/ocf.md).
//!
//! Results follow the LRM's contract: the LRM re-checks with `monitor`
//! after start and stop, and reads `migrate`'s boolean. An agent that
//! exits non-zero, times out or cannot be run raises an error naming the
//! OCF code (`ocf:web-ip: start failed: OCF_ERR_CONFIGURED (6): …`), as a
//! failing guest task does for `vm`/`ct`.
//!
//! Migration: the CRM's request reaches only the source node's LRM, and
//! the target's LRM sees nothing but a `started` service (05 §9.4). So
//! a move is: on the source, `stop` — or, for `migrate` (online) with an
//! agent that advertises both `migrate_to` and `migrate_from`,
//! `migrate_to` with `OCF_RESKEY_CRM_meta_migrate_source/_target` —
//! then the environment moves the resource's location record to the
//! target (the `relocate` callback). `migrate_from` is never run: on the
//! target the LRM's `started` command runs `monitor` and, only if that
//! says "not running", `start`. An agent whose `migrate_to` leaves the
//! resource running on the target (VirtualDomain) is thus taken as
//! migrated; one whose halves only stop and start (Dummy) is restarted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::agent::{self, Invocation, Output};
use super::exit::{self, Action, Monitor};
use super::validate::read_metadata;
use crate::config::ocf::OcfSpec;
use crate::env::{EnvError, EnvResult};
use crate::types::Sid;

/// Budget of an action whose agent advises none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs agents under one OCF root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcfDriver {
    root: PathBuf,
}

impl OcfDriver {
    /// A driver over `root` (the directory holding `resource.d`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OcfDriver { root: root.into() }
    }

    /// `OCF_ROOT`, default `/usr/lib/ocf`.
    pub fn from_env() -> Self {
        OcfDriver::new(agent::root_from_env())
    }

    /// The OCF root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn run(
        &self,
        sid: &Sid,
        spec: &OcfSpec,
        action: Action,
        timeout: Duration,
        meta: &[(&str, String)],
    ) -> EnvResult<Output> {
        agent::run(
            &self.root,
            &Invocation {
                agent: &spec.agent,
                instance: sid.name(),
                params: &spec.params,
                action,
                timeout,
                meta,
            },
        )
        .map_err(|e| EnvError::new(format!("{sid}: {e}")))
    }

    /// The agent's advised timeout for `action`; the default when it
    /// advises none or its meta-data cannot be read (the action itself
    /// then reports what is wrong).
    fn advised(&self, sid: &Sid, spec: &OcfSpec, action: Action) -> Duration {
        read_metadata(&self.root, sid.as_str(), &spec.agent)
            .ok()
            .and_then(|m| m.timeout(action.as_str()))
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// `check_running`: `monitor` exits 0 (running) or 7 (not running);
    /// any other status is an error naming it.
    pub fn check_running(&self, sid: &Sid, spec: &OcfSpec) -> EnvResult<bool> {
        let out = self.run(sid, spec, Action::Monitor, DEFAULT_TIMEOUT, &[])?;
        match exit::monitor_result(out.exit) {
            Ok(m) => Ok(m == Monitor::Running),
            Err(code) => Err(failed(sid, Action::Monitor, code, &out)),
        }
    }

    /// `start`, within the agent's advised start timeout.
    pub fn start(&self, sid: &Sid, spec: &OcfSpec) -> EnvResult<()> {
        let t = self.advised(sid, spec, Action::Start);
        self.action(sid, spec, Action::Start, t, &[])
    }

    /// `stop`: within `timeout` seconds when one above 0 is given (the
    /// LRM's shutdown timeout), else the agent's advised stop timeout.
    /// OCF has no separate hard stop: a stop must stop.
    pub fn stop(&self, sid: &Sid, spec: &OcfSpec, timeout: Option<&str>) -> EnvResult<()> {
        let given = timeout
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|t| *t > 0);
        let t = match given {
            Some(secs) => Duration::from_secs(secs),
            None => self.advised(sid, spec, Action::Stop),
        };
        self.action(sid, spec, Action::Stop, t, &[])
    }

    /// Moves the resource from `here` to `target` (module docs): stops it
    /// (or runs `migrate_to` for an online move of a migratable agent) if
    /// it runs, then `relocate` moves its location record. True iff the
    /// resource left this node; false when it still runs after the stop.
    pub fn migrate(
        &self,
        sid: &Sid,
        spec: &OcfSpec,
        here: &str,
        target: &str,
        online: bool,
        relocate: &mut dyn FnMut() -> EnvResult<bool>,
    ) -> EnvResult<bool> {
        if self.check_running(sid, spec)? {
            let meta = read_metadata(&self.root, sid.as_str(), &spec.agent).ok();
            match meta.filter(|m| online && m.migratable()) {
                Some(m) => {
                    let t = m.timeout("migrate_to").unwrap_or(DEFAULT_TIMEOUT);
                    let info = [
                        ("migrate_source", here.to_string()),
                        ("migrate_target", target.to_string()),
                    ];
                    self.action(sid, spec, Action::MigrateTo, t, &info)?;
                }
                None => self.stop(sid, spec, None)?,
            }
            if self.check_running(sid, spec)? {
                return Ok(false);
            }
        }
        relocate()
    }

    fn action(
        &self,
        sid: &Sid,
        spec: &OcfSpec,
        action: Action,
        timeout: Duration,
        meta: &[(&str, String)],
    ) -> EnvResult<()> {
        let out = self.run(sid, spec, action, timeout, meta)?;
        exit::action_result(out.exit).map_err(|code| failed(sid, action, code, &out))
    }
}

/// `ocf:web-ip: start failed: OCF_ERR_GENERIC (1): <reason>`.
fn failed(sid: &Sid, action: Action, code: exit::OcfExit, out: &Output) -> EnvError {
    let reason = out.reason().map(|r| format!(": {r}")).unwrap_or_default();
    EnvError::new(format!("{sid}: {action} failed: {code}{reason}"))
}
