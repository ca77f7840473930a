//! Two ledger moves counsel allocation needs besides an ordinary pick, both built on
//! [`pick_stored`] alone (the engine itself has no counsel-specific variant):
//!
//! - [`freeze`]: a slot leaving the ledger *now* (a manager switched to `N`, a weight
//!   about to change) stores its live credit with `at = None`, exactly what the engine
//!   writes for a slot it finds ineligible; it rejoins at that credit, so no burst;
//! - [`manual_pick`]: a person assigns an item to a slot of their choosing. It counts as
//!   a pick in which that slot was chosen: the clock moves by one, every slot the caller
//!   marks eligible (and the target, even when switched off) gains its weight, and the
//!   target pays the total of those weights, exactly as the engine's own choice would
//!   have paid.
//!
//! Invariants (tests below): a manual pick of the slot the engine would have chosen
//! writes what [`pick_stored`] writes; any manual pick keeps the sum of the live credits
//! of the slots it considered; a switched-off target stays out of the ledger afterwards.

use crate::allocation::{Eligibility, Explanation, SkipReason, Slot, Stored, pick_stored};
use crate::reference::AllocationPolicy;

/// The live credit of `slot` (stored credit `slot.credit`, written at pick `at`) frozen at
/// pick count `picks`: the row to store while the slot is out of the ledger.
#[must_use]
pub fn freeze<Id: Clone + Ord>(policy: AllocationPolicy, picks: u64, slot: &Slot<Id>, at: Option<u64>) -> Stored {
    let skipped = Slot { eligibility: Eligibility::Skipped(SkipReason::Unavailable), ..slot.clone() };
    let decision = pick_stored(policy, picks, &[(skipped, at)]);
    decision.writes.into_iter().next().map_or(Stored { credit: slot.credit, at: None }, |(_, stored)| stored)
}

/// The result of [`manual_pick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualPick<Id> {
    /// The ledger rows to write; every other row stays as it is.
    pub writes: Vec<(Id, Stored)>,
    /// The pool's pick count after this pick.
    pub picks: u64,
    /// What the engine saw, the target counted as eligible.
    pub explanation: Explanation<Id>,
}

/// A pick in which a person chose `target` (see the module doc). The target is counted
/// as eligible whatever its flag (the caller refuses what a person may not override,
/// such as capacity); `None` when `target` is not among `slots`.
#[must_use]
pub fn manual_pick<Id: Clone + Ord>(
    policy: AllocationPolicy,
    picks: u64,
    slots: &[(Slot<Id>, Option<u64>)],
    target: &Id,
) -> Option<ManualPick<Id>> {
    let original = slots.iter().find(|(s, _)| s.id == *target)?.0.eligibility;
    let forced: Vec<(Slot<Id>, Option<u64>)> = slots
        .iter()
        .map(|(s, at)| {
            if s.id == *target {
                (Slot { eligibility: Eligibility::Eligible, ..s.clone() }, *at)
            } else {
                (s.clone(), *at)
            }
        })
        .collect();
    let base = pick_stored(policy, picks, &forced);
    let decision = base.outcome.ok()?;
    let considered = |id: &Id| decision.explanation.considered.iter().find(|c| c.id == *id).map(|c| c.credit);
    let engine = decision.chosen.clone();
    let engine_before = considered(&engine)?;
    let engine_after = decision.credits.iter().find(|(id, _)| *id == engine).map(|(_, c)| *c)?;
    let total = engine_before.saturating_sub(engine_after);
    let after = base.picks;
    let mut writes: Vec<(Id, Stored)> =
        base.writes.into_iter().filter(|(id, _)| *id != engine && *id != *target).collect();
    if engine != *target {
        writes.push((engine, Stored { credit: engine_before, at: Some(after) }));
    }
    let target_at = (original == Eligibility::Eligible).then_some(after);
    writes.push((target.clone(), Stored { credit: considered(target)?.saturating_sub(total), at: target_at }));
    Some(ManualPick { writes, picks: after, explanation: decision.explanation })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: u32, weight: u64, credit: i64, eligible: bool) -> Slot<u32> {
        Slot {
            id,
            weight,
            credit,
            tiebreak: 0,
            load: 0,
            eligibility: if eligible { Eligibility::Eligible } else { Eligibility::Skipped(SkipReason::Unavailable) },
        }
    }

    fn live(policy: AllocationPolicy, s: &Slot<u32>, stored: Stored, picks: u64) -> i64 {
        let w = if policy == AllocationPolicy::Weighted { i64::try_from(s.weight).unwrap() } else { 1 };
        stored.credit + stored.at.map_or(0, |at| w * i64::try_from(picks - at).unwrap())
    }

    #[test]
    fn freezing_keeps_the_live_credit() {
        let s = slot(1, 3, 2, true);
        assert_eq!(freeze(AllocationPolicy::Weighted, 10, &s, Some(7)), Stored { credit: 11, at: None });
        assert_eq!(freeze(AllocationPolicy::Weighted, 10, &s, None), Stored { credit: 2, at: None });
    }

    #[test]
    fn a_manual_pick_of_the_engine_choice_is_the_engine_pick() {
        let slots = vec![(slot(1, 1, 0, true), Some(0)), (slot(2, 2, 0, true), Some(0)), (slot(3, 3, 0, true), None)];
        let engine = pick_stored(AllocationPolicy::Weighted, 4, &slots);
        let chosen = engine.outcome.as_ref().unwrap().chosen;
        let manual = manual_pick(AllocationPolicy::Weighted, 4, &slots, &chosen).unwrap();
        let mut a = engine.writes.clone();
        let mut b = manual.writes.clone();
        a.sort_by_key(|(id, _)| *id);
        b.sort_by_key(|(id, _)| *id);
        assert_eq!(a, b);
        assert_eq!(manual.picks, engine.picks);
    }

    #[test]
    fn a_manual_pick_charges_the_target_and_keeps_the_sum() {
        let policy = AllocationPolicy::Weighted;
        let slots = vec![(slot(1, 1, 0, true), Some(0)), (slot(2, 1, 0, true), Some(0)), (slot(3, 1, -5, false), None)];
        let manual = manual_pick(policy, 0, &slots, &3).unwrap();
        assert_eq!(manual.picks, 1);
        let stored = |id: u32| manual.writes.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
        // Slot 1 would have been the engine's choice; it keeps its +1 instead of paying.
        assert_eq!(stored(1), Some(Stored { credit: 1, at: Some(1) }));
        // The switched-off target paid 3 (the total) after gaining 1, and stays frozen.
        assert_eq!(stored(3), Some(Stored { credit: -7, at: None }));
        let before: i64 = -5;
        let after: i64 = slots
            .iter()
            .map(|(s, at)| {
                let row = stored(s.id).unwrap_or(Stored { credit: s.credit, at: *at });
                live(policy, s, row, manual.picks)
            })
            .sum();
        assert_eq!(after, before);
        assert!(manual_pick(policy, 0, &slots, &9).is_none());
    }

    use proptest::prelude::*;

    /// Up to 6 slots: (weight, credit, eligible, in the ledger since pick `at`).
    fn slots() -> impl Strategy<Value = Vec<(Slot<u32>, Option<u64>)>> {
        prop::collection::vec((1u64..6, -20i64..20, any::<bool>(), prop::option::of(0u64..10)), 1..6).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (w, c, e, at))| {
                    let id = u32::try_from(i).unwrap();
                    // A slot out of the ledger is stored with `at = None`, an eligible one
                    // may be either (joining or in).
                    let at = if e { at } else { None };
                    (slot(id, w, c, e), at)
                })
                .collect()
        })
    }

    proptest! {
        /// Whoever a person picks, the live credits of the slots considered keep their
        /// sum (the target pays exactly what the others gained), and the pick clock moves
        /// by one.
        #[test]
        fn any_manual_pick_conserves_the_live_credits(slots in slots(), target in 0u32..6, policy_weighted in any::<bool>()) {
            let policy = if policy_weighted { AllocationPolicy::Weighted } else { AllocationPolicy::RoundRobin };
            let picks = 10;
            let Some(manual) = manual_pick(policy, picks, &slots, &target) else {
                prop_assert!(usize::try_from(target).unwrap() >= slots.len());
                return Ok(());
            };
            prop_assert_eq!(manual.picks, picks + 1);
            let stored = |id: u32| manual.writes.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
            let considered = |s: &Slot<u32>| s.eligibility == Eligibility::Eligible || s.id == target;
            // Live credits before, as the engine would see them at `picks`; joiners count
            // at their stored credit.
            let before: i64 = slots.iter().filter(|(s, _)| considered(s)).map(|(s, at)| {
                live(policy, s, Stored { credit: s.credit, at: *at }, picks)
            }).sum();
            let after: i64 = slots.iter().filter(|(s, _)| considered(s)).map(|(s, at)| {
                let row = stored(s.id).unwrap_or(Stored { credit: s.credit, at: *at });
                live(policy, s, row, manual.picks)
            }).sum();
            // The target may be frozen (switched off): its stored credit is its live one.
            prop_assert_eq!(after, before);
        }

        /// Choosing what the engine would choose writes exactly what the engine writes.
        #[test]
        fn a_manual_pick_of_the_engine_choice_is_always_the_engine_pick(slots in slots()) {
            let policy = AllocationPolicy::Weighted;
            let engine = pick_stored(policy, 10, &slots);
            let Ok(choice) = &engine.outcome else { return Ok(()) };
            let manual = manual_pick(policy, 10, &slots, &choice.chosen).unwrap();
            let mut a = engine.writes.clone();
            let mut b = manual.writes.clone();
            a.sort_by_key(|(id, _)| *id);
            b.sort_by_key(|(id, _)| *id);
            prop_assert_eq!(a, b);
        }
    }
}
