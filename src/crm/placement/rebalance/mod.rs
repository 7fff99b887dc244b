//! Automatic rebalancing (04 §8): once per round, measure how unevenly the
//! online nodes are loaded and, after the imbalance has held for a while,
//! queue the one bundle migration that improves it most.

mod bruteforce;
pub mod bundles;
pub mod candidates;
pub mod imbalance;
mod topsis;
pub mod view;

use crate::config::datacenter::{CrsMode, RebalanceMethod};
use crate::config::status::ServiceEntry;
use crate::crm::manager::{Manager, Motion};
use crate::env::{Env, EnvResult, LogLevel};
use crate::types::{OrUnknown, ServiceState};

pub use bundles::{resource_bundles, Bundles};
pub use candidates::{candidates, migrations, Candidate};
pub use view::{BalanceView, Migration};

/// The migration a method chose, with its truncated expected imbalance.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The chosen move.
    pub migration: Migration,
    /// Imbalance expected after it (04 §8.6 truncation applied).
    pub imbalance: f64,
}

/// The best migration by `method` (04 §8.6, §8.7); `None` when there is
/// none. The error is the `<error>` of `unable to score best balancing
/// migration - <error>`.
pub fn best_migration(
    view: &BalanceView,
    candidates: &[Candidate],
    method: RebalanceMethod,
) -> Result<Option<Choice>, String> {
    let migrations = migrations(view, candidates)?;
    match method {
        RebalanceMethod::Bruteforce => bruteforce::best(view, &migrations),
        RebalanceMethod::Topsis => topsis::best(view, &migrations),
    }
}

/// Advances the hold counter (04 §8.3) with this round's imbalance;
/// `true` when the round should look for a migration. The counter resets
/// whenever the imbalance is within the threshold and whenever an
/// evaluation is due — whether or not a migration results (04 §12.14).
pub fn hold_expired(counter: &mut i64, imbalance: f64, threshold: f64, hold_duration: f64) -> bool {
    if imbalance <= threshold {
        *counter = 0;
        return false;
    }
    *counter += 1;
    if (*counter as f64) < hold_duration {
        return false;
    }
    *counter = 0;
    true
}

/// Whether the margin allows issuing (04 §8.8): the relative improvement
/// `(current − expected) / current` must reach `margin`. A current
/// imbalance of 0 (only reachable with a negative threshold, where
/// upstream would divide by zero) never issues.
pub fn improves_enough(current: f64, expected: f64, margin: f64) -> bool {
    current != 0.0 && (current - expected) / current >= margin
}

/// A service that is moving or about to move (04 §8.1 item 3).
fn is_moving(sd: &ServiceEntry) -> bool {
    let moving_state = matches!(
        sd.state_known(),
        Some(ServiceState::Migrate | ServiceState::Relocate)
    );
    let moving_cmd = sd
        .cmd
        .as_ref()
        .is_some_and(|c| matches!(c.name().as_str(), "migrate" | "relocate"));
    moving_state || moving_cmd
}

impl Manager {
    /// The auto-rebalancing step of a round (02 §3.11, 04 §8): may queue
    /// one resource motion.
    pub(crate) fn auto_rebalance(&mut self, env: &mut dyn Env) -> EnvResult<()> {
        // 04 §8.1: off, a mode without load figures, or a motion already
        // under way (this one must settle first) — no counting either.
        if !self.crs.auto_rebalance()
            || !matches!(
                self.crs_mode,
                OrUnknown::Known(CrsMode::Static | CrsMode::Dynamic)
            )
            || self.ss.values().any(is_moving)
        {
            return Ok(());
        }

        // 04 §8.2: with a basic fallback in effect there is no weighted
        // usage and the imbalance counts as 0.
        let (view, current) = match self.usage.weighted() {
            None => (None, 0.0),
            Some(w) => {
                let view = BalanceView::of(w);
                let current = view.imbalance().unwrap_or_else(|e| {
                    let mode = w.flavour().word();
                    env.log(
                        LogLevel::Warning,
                        &format!("unable to calculate {mode} node imbalance - {e}"),
                    );
                    0.0
                });
                (Some(view), current)
            }
        };

        let threshold = self.crs.auto_rebalance_threshold();
        let hold = self.crs.auto_rebalance_hold_duration();
        if !hold_expired(
            &mut self.sustained_imbalance_round,
            current,
            threshold,
            hold,
        ) {
            return Ok(());
        }
        let Some(view) = view else { return Ok(()) };
        // 04 §8.9: an unknown method never issues anything.
        let OrUnknown::Known(method) = self.crs.auto_rebalance_method() else {
            return Ok(());
        };

        let bundles = resource_bundles(&self.ss, &self.rules.positive);
        let cands = candidates(&bundles, &self.ss, &self.rules, self.usage.online_set());
        let choice = match best_migration(&view, &cands, method) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err(e) => {
                env.log(
                    LogLevel::Warning,
                    &format!("unable to score best balancing migration - {e}"),
                );
                return Ok(());
            }
        };
        if !improves_enough(current, choice.imbalance, self.crs.auto_rebalance_margin()) {
            return Ok(());
        }

        // 04 §8.8: only VMs migrate live; everything else relocates.
        let Migration { sid, target, .. } = choice.migration;
        let (task, motion) = if sid.type_str() == "vm" {
            ("migrate", Motion::Migrate)
        } else {
            ("relocate", Motion::Relocate)
        };
        env.log(
            LogLevel::Info,
            &format!(
                "auto rebalance - {task} {sid} to {target} (expected change for imbalance from {current:.2} to {:.2})",
                choice.imbalance
            ),
        );
        let line = format!("{task} {sid} {target}");
        self.queue_resource_motion(env, &line, motion, &sid, &target);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
