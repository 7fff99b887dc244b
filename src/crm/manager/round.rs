//! One manager round (02 §3.2). SCAFFOLD while the round is written.

use super::Manager;
use crate::env::{Env, EnvResult};

impl Manager {
    /// Runs one manager round in the normative step order (02 §3.2).
    pub fn manage(&mut self, _env: &mut dyn Env) -> EnvResult<()> {
        Ok(())
    }
}
