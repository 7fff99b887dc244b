//! Automatic rebalancing (04 §8). SCAFFOLD — the hook the manager round
//! calls; being written.

use crate::crm::manager::Manager;
use crate::env::{Env, EnvResult};

impl Manager {
    /// The auto-rebalancing step of a round (02 §3.11, 04 §8): may queue
    /// one resource motion.
    pub(crate) fn auto_rebalance(&mut self, _env: &mut dyn Env) -> EnvResult<()> {
        let _ = self.sustained_imbalance_round;
        Ok(())
    }
}
