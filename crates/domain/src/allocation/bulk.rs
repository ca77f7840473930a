//! The bulk path of the engine, for delivering a backlog or an import to a fixed set of
//! always-eligible candidates: worst-case fair weighted fair queueing (WF²Q) over two
//! heaps, O(log k) per pick, in exact integer arithmetic.
//!
//! Candidate `i` with weight `w_i` that has received `c_i` items starts its next item at
//! `c_i / w_i` and finishes it at `(c_i + 1) / w_i`; after `t` picks the pool's virtual
//! time is `t / W` (`W` the total weight). A candidate is eligible when its start is not
//! after the virtual time, and the eligible candidate with the earliest finish wins (ties:
//! the smaller tiebreak, then the insertion order). One is always eligible, since the
//! smallest `c_i / w_i` is at most `Σc / Σw = t / W`. Every count stays within one item of
//! its weighted share. Fractions are compared by cross-multiplying in `u128`, so there is
//! no rounding anywhere.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// `num / den` with a tiebreak, ordered exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    num: u64,
    den: u64,
    tiebreak: i64,
    index: usize,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        let left = u128::from(self.num) * u128::from(other.den);
        let right = u128::from(other.num) * u128::from(self.den);
        left.cmp(&right).then(self.tiebreak.cmp(&other.tiebreak)).then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A fixed pool of always-eligible candidates.
#[derive(Debug, Clone)]
pub struct BulkPool<Id> {
    ids: Vec<Id>,
    weights: Vec<u64>,
    tiebreaks: Vec<i64>,
    counts: Vec<u64>,
    picks: u64,
    total: u64,
    /// Candidates whose next start is after the virtual time, by start.
    waiting: BinaryHeap<Reverse<Key>>,
    /// Candidates whose next start has come, by finish.
    eligible: BinaryHeap<Reverse<Key>>,
}

impl<Id> BulkPool<Id> {
    /// A pool of `(id, weight, tiebreak)`; weights below 1 count as 1.
    #[must_use]
    pub fn new(candidates: impl IntoIterator<Item = (Id, u64, i64)>) -> Self {
        let mut pool = Self {
            ids: Vec::new(),
            weights: Vec::new(),
            tiebreaks: Vec::new(),
            counts: Vec::new(),
            picks: 0,
            total: 0,
            waiting: BinaryHeap::new(),
            eligible: BinaryHeap::new(),
        };
        for (id, weight, tiebreak) in candidates {
            let weight = weight.max(1);
            let index = pool.ids.len();
            pool.ids.push(id);
            pool.weights.push(weight);
            pool.tiebreaks.push(tiebreak);
            pool.counts.push(0);
            pool.total = pool.total.saturating_add(weight);
            pool.eligible.push(Reverse(Key { num: 1, den: weight, tiebreak, index }));
        }
        pool
    }

    /// The candidate that receives the next item; `None` for an empty pool.
    pub fn pick(&mut self) -> Option<&Id> {
        // Move every candidate whose start is not after the virtual time t / W.
        while let Some(Reverse(top)) = self.waiting.peek() {
            let start_le_now =
                u128::from(top.num) * u128::from(self.total) <= u128::from(self.picks) * u128::from(top.den);
            if !start_le_now {
                break;
            }
            let index = top.index;
            self.waiting.pop();
            let finish =
                Key { num: self.counts[index] + 1, den: self.weights[index], tiebreak: self.tiebreaks[index], index };
            self.eligible.push(Reverse(finish));
        }
        let Reverse(chosen) = self.eligible.pop()?;
        let index = chosen.index;
        self.counts[index] += 1;
        self.picks += 1;
        let start = Key { num: self.counts[index], den: self.weights[index], tiebreak: self.tiebreaks[index], index };
        self.waiting.push(Reverse(start));
        self.ids.get(index)
    }

    /// Items each candidate received, in insertion order.
    #[must_use]
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
}
