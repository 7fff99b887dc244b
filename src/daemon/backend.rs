//! The seam between the runtime and an environment. The runtime knows
//! only this trait: the real node's backend (pmxcfs or etcd, syslog, the
//! watchdog-mux client, the guest helper and OCF agents) plugs in here,
//! tests bring a simulated one, and neither the runtime nor the state
//! machines change.

use crate::cluster::{node_config, open_store};
use crate::config::node::{BackendKind, NodeConfig};
use crate::env::{Env, LogLevel, Timing};
use crate::pve::env::{short_hostname, PveConfig, PveEnv};
use crate::pve::log::Logger;

use super::Role;

/// Why an environment could not be created (the runtime logs it as
/// `ERROR: <message>` and exits 255, 07 §6.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What a daemon process needs from its environment's provider.
pub trait Backend {
    /// Logs one of the runtime's own lines (`starting server`, `received
    /// signal TERM`, `server stopped`, the stop command's messages) under
    /// the daemon's identifier, before and after the environment exists.
    /// Must not block and must not fail (a lost line is acceptable).
    fn log(&mut self, level: LogLevel, msg: &str);

    /// Checks, before the daemon takes its instance lock or forks, that
    /// it may start at all: the node configuration reads and its failover
    /// budget is safe. The error is the start failure's text.
    fn preflight(&mut self) -> Result<(), BackendError> {
        Ok(())
    }

    /// The state machines' timing (after a successful preflight).
    fn timing(&self) -> Timing {
        Timing::upstream()
    }

    /// Creates the environment of the local node, once, in the daemon
    /// process itself (after daemonizing: threads the environment starts,
    /// e.g. the LRM's worker pool, exist only from here on). The runtime
    /// then constructs the CRM or LRM on it.
    fn open(&mut self) -> Result<Box<dyn Env>, BackendError>;
}

/// The backend the `pve-ha-crm`/`pve-ha-lrm` command line uses: the one
/// place that chooses the real environment from the node configuration
/// (`cluster::node_config`): a Proxmox VE node (`PveEnv` over
/// `PVE_HA_ROOT`) or a plain Linux node (the same environment over etcd
/// and corosync), with the configured budget's timing. `debug` is `start
/// --debug` (stay in the foreground and copy the log to standard error).
pub fn default_backend(role: Role, debug: bool) -> Box<dyn Backend> {
    Box::new(Real {
        role,
        debug,
        log: Logger::new(role.name(), debug),
        config: None,
    })
}

/// A real node: the runtime's own lines go to the same syslog identity
/// as the environment's.
struct Real {
    role: Role,
    debug: bool,
    log: Logger,
    /// Read by `preflight`.
    config: Option<NodeConfig>,
}

impl Real {
    fn config(&mut self) -> Result<&NodeConfig, BackendError> {
        if self.config.is_none() {
            let cfg = node_config::load().map_err(|e| BackendError(e.to_string()))?;
            self.config = Some(cfg);
        }
        self.config
            .as_ref()
            .ok_or_else(|| BackendError("no node configuration".to_string()))
    }
}

impl Backend for Real {
    fn log(&mut self, level: LogLevel, msg: &str) {
        let _ = self.log.log(level, msg);
    }

    fn preflight(&mut self) -> Result<(), BackendError> {
        let cfg = self.config()?;
        cfg.budget.check().map_err(|e| BackendError(e.to_string()))
    }

    fn timing(&self) -> Timing {
        self.config
            .as_ref()
            .map(|c| Timing::for_budget(&c.budget))
            .unwrap_or_else(Timing::upstream)
    }

    fn open(&mut self) -> Result<Box<dyn Env>, BackendError> {
        let (role, debug) = (self.role, self.debug);
        let node_cfg = self.config()?.clone();
        let mut cfg = PveConfig::from_host(role, debug)
            .map_err(|e| BackendError(format!("unable to read the node name - {e}")))?;
        cfg.slow_loop = Timing::for_budget(&node_cfg.budget).slow_loop;
        match node_cfg.backend {
            BackendKind::Pve => {
                // Without the cluster file system there is nothing to
                // protect and no quorum to wait for: say so instead of
                // idling in `wait_for_quorum` forever.
                if !cfg.root.is_dir() {
                    return Err(BackendError(format!(
                        "pve configuration filesystem not mounted ('{}' is not a directory)",
                        cfg.root.display()
                    )));
                }
            }
            BackendKind::Etcd => {
                if let Some(node) = &node_cfg.node {
                    cfg.node = node.clone();
                } else if cfg.node.is_empty() {
                    cfg.node = short_hostname().map_err(|e| BackendError(e.to_string()))?;
                }
                cfg.store = open_store(&node_cfg).map_err(BackendError)?;
            }
        }
        let env = PveEnv::new(cfg).map_err(|e| BackendError(e.to_string()))?;
        Ok(Box::new(env))
    }
}
