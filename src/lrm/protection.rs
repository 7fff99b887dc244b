//! The agent lock and the watchdog that protects it (05 §3.1–§3.3, §13):
//! acquiring or renewing the lock feeds (or opens) the watchdog; giving
//! the watchdog up disables self-fencing.

use crate::env::{Env, EnvResult, Timing, WatchdogHandle};

/// The LRM's watchdog connection. The lock itself lives in the cluster;
/// only the watchdog handle is local state.
#[derive(Debug, Default)]
pub(super) struct Protection {
    watchdog: Option<WatchdogHandle>,
}

impl Protection {
    /// Whether a watchdog connection is open.
    pub(super) fn has_watchdog(&self) -> bool {
        self.watchdog.is_some()
    }

    /// Acquires or renews `ha_agent_<node>_lock` (05 §3.1): with
    /// upstream's timing at most six attempts one second apart, giving up
    /// once more than 5 s passed.
    /// On success the watchdog is fed, or opened if none is open: the
    /// watchdog is opened *only* together with the lock, so the node can
    /// only self-fence while it may run services.
    ///
    /// Watchdog errors propagate (the simulated watchdog dies on an
    /// expired or unknown handle, as upstream's does); an update's own
    /// result carries no information beyond that.
    pub(super) fn acquire(&mut self, env: &mut dyn Env, timing: &Timing) -> EnvResult<bool> {
        let start = env.get_time();
        let mut retries = 0;
        loop {
            if env.get_ha_agent_lock(None) {
                match &self.watchdog {
                    Some(handle) => env.watchdog_update(handle)?,
                    None => self.watchdog = Some(env.watchdog_open()?),
                }
                return Ok(true);
            }
            retries += 1;
            if retries > timing.lock_retries || env.get_time() - start > timing.lock_give_up_after {
                return Ok(false);
            }
            env.sleep(timing.lock_retry_sleep);
        }
    }

    /// Closes the watchdog cleanly if one is open (05 §3.2). The handle is
    /// forgotten only after a successful close, so a failing close leaves
    /// the node protected (and later reset) rather than silently unarmed.
    pub(super) fn give_up_watchdog(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        if let Some(handle) = &self.watchdog {
            env.watchdog_close(handle)?;
            self.watchdog = None;
        }
        Ok(())
    }

    /// Releases the agent lock (05 §3.3). Idempotent and silent; the
    /// boolean the Env returns only says whether there was anything to
    /// release, which no caller needs.
    pub(super) fn release_lock(&mut self, env: &mut dyn Env) {
        let _ = env.release_ha_agent_lock();
    }
}
