//! The properties of `allocation.md`, with proptest.

use proptest::prelude::*;

use super::*;

fn slots(weights: &[u64]) -> Vec<Slot<usize>> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| Slot {
            id: i,
            weight: *w,
            credit: 0,
            tiebreak: i as i64,
            load: 0,
            eligibility: Eligibility::Eligible,
        })
        .collect()
}

/// Stores a pick's credits back, as a caller does.
fn store(slots: &mut [Slot<usize>], pick: &Pick<usize>) {
    for (id, credit) in &pick.credits {
        slots[*id].credit = *credit;
    }
}

/// Runs `n` picks, storing the ledger back as a caller would; returns the counts.
fn run(policy: AllocationPolicy, slots: &mut [Slot<usize>], n: usize) -> Vec<u64> {
    let mut counts = vec![0u64; slots.len()];
    for _ in 0..n {
        let pick = pick(policy, slots).expect("someone is eligible");
        store(slots, &pick);
        counts[pick.chosen] += 1;
    }
    counts
}

proptest! {
    #[test]
    fn equal_weights_share_within_rounding(k in 1usize..20, n in 0usize..400) {
        let mut s = slots(&vec![1; k]);
        let counts = run(AllocationPolicy::RoundRobin, &mut s, n);
        let (lo, hi) = ((n / k) as u64, n.div_ceil(k) as u64);
        prop_assert!(counts.iter().all(|c| *c == lo || *c == hi), "{counts:?}");
    }

    #[test]
    fn weighted_counts_stay_within_one_of_their_share(weights in proptest::collection::vec(1u64..10, 1..8), n in 0usize..300) {
        let mut s = slots(&weights);
        let counts = run(AllocationPolicy::Weighted, &mut s, n);
        let total: u64 = weights.iter().sum();
        for (c, w) in counts.iter().zip(&weights) {
            let share = n as f64 * *w as f64 / total as f64;
            prop_assert!((*c as f64 - share).abs() <= 1.0 + 1e-9, "count {c} share {share:.3} {counts:?} {weights:?}");
        }
    }

    #[test]
    fn the_same_ledger_and_input_give_the_same_picks(weights in proptest::collection::vec(1u64..10, 1..8), n in 0usize..100) {
        let a = run(AllocationPolicy::Weighted, &mut slots(&weights), n);
        let b = run(AllocationPolicy::Weighted, &mut slots(&weights), n);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn a_slot_back_from_ineligible_gets_no_burst(k in 2usize..8, away in 0usize..200, after in 1usize..100) {
        let mut s = slots(&vec![1; k]);
        run(AllocationPolicy::RoundRobin, &mut s, k);
        s[0].eligibility = Eligibility::Skipped(SkipReason::Unavailable);
        run(AllocationPolicy::RoundRobin, &mut s, away);
        s[0].eligibility = Eligibility::Eligible;
        let counts = run(AllocationPolicy::RoundRobin, &mut s, after);
        prop_assert!(counts[0] <= after.div_ceil(k) as u64 + 1, "{counts:?} after {after} picks among {k}");
        prop_assert!(counts[0] + 1 >= (after / k) as u64, "nor is it starved: {counts:?}");
    }

    #[test]
    fn a_joining_slot_starts_at_the_pool_minimum(k in 1usize..8, before in 0usize..300, after in 1usize..100) {
        let mut s = slots(&vec![1; k]);
        run(AllocationPolicy::RoundRobin, &mut s, before);
        s.push(Slot { id: k, weight: 1, credit: 0, tiebreak: 1000, load: 0, eligibility: Eligibility::Eligible });
        let counts = run(AllocationPolicy::RoundRobin, &mut s, after);
        prop_assert!(counts[k] <= after.div_ceil(k + 1) as u64 + 1, "no flood for the newcomer: {counts:?}");
    }

    #[test]
    fn lines_are_never_over_delivered_nor_past_their_daily_limit(
        lines in proptest::collection::vec((0u64..20, proptest::option::of(1u64..5)), 1..6),
        days in 1usize..4,
        per_day in 0usize..40,
        policy in prop_oneof![Just(AllocationPolicy::Fifo), Just(AllocationPolicy::RoundRobin), Just(AllocationPolicy::Weighted)],
    ) {
        let mut remaining: Vec<u64> = lines.iter().map(|(q, _)| *q).collect();
        let mut s: Vec<Slot<usize>> = slots(&remaining.iter().map(|q| (*q).max(1)).collect::<Vec<_>>());
        let mut delivered = vec![0u64; lines.len()];
        for _day in 0..days {
            let mut today = vec![0u64; lines.len()];
            for _ in 0..per_day {
                for (i, slot) in s.iter_mut().enumerate() {
                    slot.eligibility = line_eligibility(remaining[i], today[i], lines[i].1);
                    slot.weight = remaining[i].max(1);
                }
                let Ok(pick) = pick(policy, &s) else { break };
                store(&mut s, &pick);
                remaining[pick.chosen] -= 1;
                today[pick.chosen] += 1;
                delivered[pick.chosen] += 1;
            }
            for (i, (_, limit)) in lines.iter().enumerate() {
                prop_assert!(limit.is_none_or(|l| today[i] <= l), "daily limit");
            }
        }
        for (i, (quantity, _)) in lines.iter().enumerate() {
            prop_assert!(delivered[i] <= *quantity, "over-delivered line {i}");
        }
    }

    #[test]
    fn managers_never_exceed_their_capacity(caps in proptest::collection::vec(0u64..5, 1..6), n in 0usize..40) {
        let mut open = vec![0u64; caps.len()];
        let mut s = slots(&vec![1; caps.len()]);
        for _ in 0..n {
            for (i, slot) in s.iter_mut().enumerate() {
                slot.eligibility = manager_eligibility(true, true, open[i], caps[i]);
                slot.load = open[i];
            }
            let Ok(pick) = pick(AllocationPolicy::LeastLoaded, &s) else { break };
            store(&mut s, &pick);
            open[pick.chosen] += 1;
        }
        prop_assert!(open.iter().zip(&caps).all(|(o, c)| o <= c), "{open:?} {caps:?}");
    }

    #[test]
    fn a_weighted_slot_back_from_ineligible_gets_no_burst(weights in proptest::collection::vec(1u64..10, 2..6), away in 0usize..100, after in 1usize..100) {
        let mut s = slots(&weights);
        run(AllocationPolicy::Weighted, &mut s, 10);
        s[0].eligibility = Eligibility::Skipped(SkipReason::Unavailable);
        run(AllocationPolicy::Weighted, &mut s, away);
        s[0].eligibility = Eligibility::Eligible;
        let counts = run(AllocationPolicy::Weighted, &mut s, after);
        let share = after as f64 * weights[0] as f64 / weights.iter().sum::<u64>() as f64;
        prop_assert!((counts[0] as f64) <= share + 2.0, "{counts:?} share {share:.2}");
    }

    #[test]
    fn the_bulk_pool_keeps_every_count_within_one_of_its_share(weights in proptest::collection::vec(1u64..20, 1..12), n in 0usize..500) {
        let mut pool = BulkPool::new(weights.iter().enumerate().map(|(i, w)| (i, *w, i as i64)));
        for _ in 0..n {
            prop_assert!(pool.pick().is_some());
        }
        let total: u64 = weights.iter().sum();
        for (c, w) in pool.counts().iter().zip(&weights) {
            let share = n as f64 * *w as f64 / total as f64;
            prop_assert!((*c as f64 - share).abs() < 1.0 + 1e-9, "count {c} share {share:.3} {weights:?}");
        }
    }

    #[test]
    fn the_bulk_pool_is_exact_round_robin_under_equal_weights(k in 1usize..30, n in 0usize..500) {
        let mut pool = BulkPool::new((0..k).map(|i| (i, 1, i as i64)));
        for _ in 0..n {
            pool.pick();
        }
        let (lo, hi) = ((n / k) as u64, n.div_ceil(k) as u64);
        prop_assert!(pool.counts().iter().all(|c| *c == lo || *c == hi));
    }

    #[test]
    fn eligible_credits_are_conserved(weights in proptest::collection::vec(1u64..10, 1..8), n in 0usize..100) {
        let mut s = slots(&weights);
        run(AllocationPolicy::Weighted, &mut s, n);
        prop_assert_eq!(s.iter().map(|x| x.credit).sum::<i64>(), 0);
    }
}

#[test]
fn fifo_fills_the_oldest_line_first() {
    let mut s = slots(&[1, 1, 1]);
    s[0].tiebreak = 30;
    s[1].tiebreak = 10;
    s[2].tiebreak = 20;
    let first = pick(AllocationPolicy::Fifo, &s).expect("eligible");
    assert_eq!(first.chosen, 1);
    s[1].eligibility = Eligibility::Skipped(SkipReason::Full);
    assert_eq!(pick(AllocationPolicy::Fifo, &s).expect("eligible").chosen, 2);
}

#[test]
fn least_loaded_goes_to_the_fewest_open_cases() {
    let mut s = slots(&[1, 1, 1]);
    s[0].load = 3;
    s[1].load = 1;
    s[2].load = 1;
    s[1].credit = -3;
    assert_eq!(pick(AllocationPolicy::LeastLoaded, &s).expect("eligible").chosen, 2, "ties by credit");
}

#[test]
fn every_pick_explains_itself() {
    let mut s = slots(&[1, 1, 1, 1]);
    s[0].eligibility = line_eligibility(0, 0, None);
    s[1].eligibility = line_eligibility(5, 3, Some(3));
    s[2].credit = -1;
    let picked = pick(AllocationPolicy::RoundRobin, &s).expect("eligible");
    assert_eq!(picked.chosen, 3);
    assert_eq!(picked.credits, vec![(3, -1), (2, 0)], "the winner pays back the total weight");
    let explanation = picked.explanation;
    assert_eq!(explanation.skipped, vec![(0, SkipReason::Full), (1, SkipReason::DailyLimit)]);
    let ranked: Vec<(usize, i64)> = explanation.considered.iter().map(|c| (c.id, c.credit)).collect();
    assert_eq!(ranked, vec![(3, 1), (2, 0)]);
}

#[test]
fn nobody_eligible_is_an_explained_refusal() {
    let mut s = slots(&[1, 1]);
    s[0].eligibility = manager_eligibility(false, true, 0, 5);
    s[1].eligibility = manager_eligibility(true, true, 5, 5);
    let refused = pick(AllocationPolicy::LeastLoaded, &s).expect_err("nobody eligible");
    assert_eq!(refused.skipped, vec![(0, SkipReason::Unavailable), (1, SkipReason::OverCapacity)]);
}

#[test]
#[ignore = "a measurement, run in release: cargo test -p domain --release --lib allocation -- --ignored --nocapture"]
fn measure_picks_per_second() {
    for k in [10usize, 1000] {
        let mut s = slots(&(1..=k as u64).map(|w| w % 7 + 1).collect::<Vec<_>>());
        let picks = if k == 10 { 2_000_000 } else { 50_000 };
        let started = std::time::Instant::now();
        run(AllocationPolicy::Weighted, &mut s, picks);
        let rate = picks as f64 / started.elapsed().as_secs_f64();
        println!("WEIGHTED, {k} candidates: {rate:.0} picks/s (with explanation and credits)");
        let mut pool = BulkPool::new((0..k).map(|i| (i, (i as u64) % 7 + 1, i as i64)));
        let picks = 5_000_000;
        let started = std::time::Instant::now();
        let mut sink = 0usize;
        for _ in 0..picks {
            sink = sink.wrapping_add(*pool.pick().expect("non-empty"));
        }
        let rate = f64::from(picks) / started.elapsed().as_secs_f64();
        println!("BulkPool (WF2Q, two heaps), {k} candidates: {rate:.0} picks/s ({sink})");
    }
}

proptest! {
    /// The stored ledger (one row written per pick) decides exactly what the full ledger
    /// (every credit written after every pick) decides, through eligibility changes (a
    /// daily limit reached, then a new day), lines filling up, and weights that are the
    /// lines' remaining quantities (`WEIGHTED`), so they shrink as the lines receive.
    #[test]
    fn the_stored_ledger_picks_exactly_as_the_full_ledger(
        quantities in proptest::collection::vec(1u64..12, 1..7),
        weighted in proptest::bool::ANY,
        limited in proptest::collection::vec(proptest::collection::vec(proptest::bool::weighted(0.2), 7), 0..120),
    ) {
        let policy = if weighted { AllocationPolicy::Weighted } else { AllocationPolicy::RoundRobin };
        let k = quantities.len();
        let mut remaining = quantities.clone();
        let mut full = slots(&quantities);
        let mut stored: Vec<(Slot<usize>, Option<u64>)> = slots(&quantities).into_iter().map(|s| (s, None)).collect();
        let mut picks = 0u64;
        for today in limited {
            for i in 0..k {
                let eligibility = line_eligibility(remaining[i], u64::from(today[i]), Some(1));
                full[i].eligibility = eligibility;
                full[i].weight = remaining[i];
                stored[i].0.eligibility = eligibility;
                stored[i].0.weight = remaining[i];
            }
            let expected = pick(policy, &full);
            let got = pick_stored(policy, picks, &stored);
            match (&expected, &got.outcome) {
                (Ok(e), Ok(g)) => prop_assert_eq!(e.chosen, g.chosen),
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "{expected:?} vs {:?}", got.outcome),
            }
            if let Ok(e) = &expected {
                store(&mut full, e);
                remaining[e.chosen] -= 1;
            }
            for (id, row) in got.writes {
                stored[id].0.credit = row.credit;
                stored[id].1 = row.at;
            }
            picks = got.picks;
        }
    }
}

#[test]
fn a_pick_writes_only_the_chosen_row_when_nothing_joins_or_leaves() {
    let rows: Vec<(Slot<usize>, Option<u64>)> = slots(&[1; 100]).into_iter().map(|s| (s, Some(0))).collect();
    let got = pick_stored(AllocationPolicy::RoundRobin, 0, &rows);
    assert_eq!(got.writes.len(), 1);
    assert_eq!(got.picks, 1);
    assert_eq!(got.writes[0].0, got.outcome.expect("eligible").chosen);
}

#[test]
fn a_slot_leaving_is_frozen_and_one_coming_back_rejoins_at_its_frozen_credit() {
    let mut rows: Vec<(Slot<usize>, Option<u64>)> = slots(&[1, 1, 1]).into_iter().map(|s| (s, Some(0))).collect();
    rows[1].0.eligibility = Eligibility::Skipped(SkipReason::DailyLimit);
    rows[1].0.credit = -1;
    let got = pick_stored(AllocationPolicy::RoundRobin, 4, &rows);
    assert!(got.writes.contains(&(1, Stored { credit: 3, at: None })), "{:?}", got.writes);
    rows[1] = (Slot { credit: 3, eligibility: Eligibility::Eligible, ..rows[1].0.clone() }, None);
    rows[1].0.credit = -50;
    let back = pick_stored(AllocationPolicy::RoundRobin, 9, &rows);
    assert!(back.writes.contains(&(1, Stored { credit: -50, at: Some(9) })), "{:?}", back.writes);
}
