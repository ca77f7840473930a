//! The engine over a stored ledger in which a pick writes one row, not one per slot.
//!
//! In smooth weighted round robin every eligible slot's credit grows by its weight on
//! every pick. Stored naively, that is a write to every candidate row per pick: the hot
//! row set `performance.md` warns about (an intake rate that falls with the number of
//! open lines). Here a slot stores its credit together with the pool's pick count `at`
//! when the credit was written; while it stays eligible its live credit is
//! `credit + weight × (picks − at)`, which is exactly what the per-pick increments
//! would have produced. So a pick writes the chosen slot, and only these others:
//! - a slot that became ineligible is *frozen*: its live credit is stored with `at =
//!   None` (the engine's rule that an ineligible slot's credit does not move);
//! - a slot with `at = None` that is eligible again (or for the first time: a new slot
//!   joins at its stored credit, 0) is *rejoined*: `at = picks`.
//!
//! Invariant (proptest in `tests.rs`): for any sequence of eligibility changes, weights
//! and picks, [`pick_stored`] chooses exactly what [`pick`] chooses on a ledger that
//! stores every credit after every pick.

use super::{Eligibility, Explanation, Pick, Slot, effective_weight, pick};
use crate::reference::AllocationPolicy;

/// A slot's ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub credit: i64,
    /// The pool's pick count when `credit` was written; `None` while out of the ledger.
    pub at: Option<u64>,
}

/// The result of [`pick_stored`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPick<Id> {
    /// The decision (with live credits in its explanation), or why nobody was eligible.
    pub outcome: Result<Pick<Id>, Explanation<Id>>,
    /// The ledger rows to write; every other row stays as it is.
    pub writes: Vec<(Id, Stored)>,
    /// The pool's pick count after this call.
    pub picks: u64,
}

fn live(policy: AllocationPolicy, slot: &Slot<impl Sized>, at: Option<u64>, picks: u64) -> i64 {
    match at {
        Some(at) => {
            let elapsed = i64::try_from(picks.saturating_sub(at)).unwrap_or(i64::MAX);
            slot.credit.saturating_add(effective_weight(policy, slot.weight).saturating_mul(elapsed))
        }
        None => slot.credit,
    }
}

/// Picks from slots whose `credit` is the stored credit and whose `at` is given beside
/// them, the pool having made `picks` picks so far.
#[must_use]
pub fn pick_stored<Id: Clone + Ord>(
    policy: AllocationPolicy,
    picks: u64,
    slots: &[(Slot<Id>, Option<u64>)],
) -> StoredPick<Id> {
    let mut writes = Vec::new();
    let mut rejoined = Vec::new();
    let current: Vec<Slot<Id>> = slots
        .iter()
        .map(|(slot, at)| {
            let credit = live(policy, slot, *at, picks);
            match (slot.eligibility, at) {
                (Eligibility::Eligible, None) => rejoined.push((slot.id.clone(), credit)),
                (Eligibility::Skipped(_), Some(_)) => writes.push((slot.id.clone(), Stored { credit, at: None })),
                _ => {}
            }
            Slot { credit, ..slot.clone() }
        })
        .collect();
    let outcome = pick(policy, &current);
    let picks = match &outcome {
        Ok(decision) => {
            let after = picks + 1;
            for (id, credit) in &decision.credits {
                if *id == decision.chosen {
                    writes.push((id.clone(), Stored { credit: *credit, at: Some(after) }));
                }
            }
            for (id, credit) in rejoined {
                if id != decision.chosen {
                    writes.push((id, Stored { credit, at: Some(picks) }));
                }
            }
            after
        }
        Err(_) => picks,
    };
    StoredPick { outcome, writes, picks }
}
