//! The `topsis` method (04 §8.7): rank the migrations by TOPSIS over the
//! expected loads of all online nodes, with the start-scoring criteria.

use super::view::{BalanceView, Migration};
use super::Choice;
use crate::crm::placement::topsis;

/// One alternative per migration in candidate order (leaders sorted,
/// targets sorted), criteria and scoring as 04 §4.5; the best score wins,
/// ties keep candidate order. The choice reports its truncated expected
/// imbalance (04 §8.6). `None` without migrations.
pub fn best(view: &BalanceView, migrations: &[Migration]) -> Result<Option<Choice>, String> {
    let matrix: Vec<[f64; topsis::N_CRITERIA]> = migrations
        .iter()
        .map(|m| topsis::alternative(&view.expected_loads(m)))
        .collect();
    let scores = topsis::score(&matrix)?;
    // A stable sort by score descending keeps the first of equal scores;
    // a strict `>` scan picks the same element.
    let mut best: Option<(usize, f64)> = None;
    for (i, s) in scores.iter().enumerate() {
        if best.is_none_or(|(_, b)| *s > b) {
            best = Some((i, *s));
        }
    }
    let Some((i, _)) = best else { return Ok(None) };
    let Some(migration) = migrations.get(i) else {
        return Ok(None);
    };
    Ok(Some(Choice {
        imbalance: view.expected_imbalance(migration)?,
        migration: migration.clone(),
    }))
}
