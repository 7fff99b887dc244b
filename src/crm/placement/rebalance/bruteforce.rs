//! The `bruteforce` method (04 §8.6): the migration with the lowest
//! expected imbalance.

use super::view::{BalanceView, Migration};
use super::Choice;

/// Picks the minimum by (truncated expected imbalance, sid, source node,
/// target node), strings compared byte-wise (04 §8.6). The truncation makes
/// mathematically equal imbalances tie, so the smallest sid and target win
/// (test-crs-dynamic-constrained-auto-rebalance2). `None` without
/// migrations.
pub fn best(view: &BalanceView, migrations: &[Migration]) -> Result<Option<Choice>, String> {
    let key = |m: &Migration| {
        (
            m.sid.as_str().to_owned(),
            m.source.clone(),
            m.target.clone(),
        )
    };
    let mut best: Option<Choice> = None;
    for m in migrations {
        let imbalance = view.expected_imbalance(m)?;
        let better = best.as_ref().is_none_or(|b| {
            imbalance
                .total_cmp(&b.imbalance)
                .then_with(|| key(m).cmp(&key(&b.migration)))
                .is_lt()
        });
        if better {
            best = Some(Choice {
                migration: m.clone(),
                imbalance,
            });
        }
    }
    Ok(best)
}
