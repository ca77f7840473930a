//! Throughput of the pure allocation engine (`domain::allocation`), in picks per second.
//!
//! Three groups, each at 10 and 1,000 always-eligible candidates with weights 1..=5
//! under `WEIGHTED` (criterion prints `elements/s`, which is picks/s):
//! - `bulk`: [`BulkPool`] (WF²Q over two heaps, the backlog/import path), a batch of
//!   10,000 picks per iteration on a pool that keeps its state between iterations;
//! - `pick`: the transactional smooth weighted round robin ([`pick`]) with its full
//!   explanation, one pick per iteration, its credits stored back as a caller does;
//! - `pick_stored`: the stored-ledger path intake uses ([`pick_stored`]), one pick per
//!   iteration, its ledger writes applied back and the pick count carried forward.
//!
//! The target is 5,000,000 picks/s at 1,000 candidates.
//!
//! Run (release build): `cargo bench -p domain --bench engine`; one group only, e.g.
//! `cargo bench -p domain --bench engine -- bulk`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use domain::allocation::{BulkPool, Slot, line_eligibility, pick, pick_stored};
use domain::reference::AllocationPolicy;

/// Candidate counts measured.
const SIZES: [usize; 2] = [10, 1_000];
/// Picks per iteration of the `bulk` group.
const BULK_BATCH: u64 = 10_000;
const POLICY: AllocationPolicy = AllocationPolicy::Weighted;

/// Candidate `i`'s weight: 1..=5.
fn weight(i: usize) -> u64 {
    (i % 5) as u64 + 1
}

/// `k` open order lines with nothing delivered today and no daily limit, fresh credits.
fn slots(k: usize) -> Vec<Slot<usize>> {
    (0..k)
        .map(|i| Slot {
            id: i,
            weight: weight(i),
            credit: 0,
            tiebreak: i as i64,
            load: 0,
            eligibility: line_eligibility(1_000_000, 0, None),
        })
        .collect()
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulk");
    configure(&mut group);
    group.throughput(Throughput::Elements(BULK_BATCH));
    for k in SIZES {
        let mut pool = BulkPool::new((0..k).map(|i| (i, weight(i), i as i64)));
        group.bench_function(BenchmarkId::from_parameter(k), |b| {
            b.iter(|| {
                let mut sink = 0usize;
                for _ in 0..BULK_BATCH {
                    sink = sink.wrapping_add(*pool.pick().expect("a non-empty pool always picks"));
                }
                black_box(sink)
            });
        });
    }
    group.finish();
}

fn transactional(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    for k in SIZES {
        let mut ledger = slots(k);
        group.bench_function(BenchmarkId::from_parameter(k), |b| {
            b.iter(|| {
                let decision = pick(POLICY, black_box(&ledger)).expect("every slot is eligible");
                for (id, credit) in &decision.credits {
                    ledger[*id].credit = *credit;
                }
                black_box(decision.chosen)
            });
        });
    }
    group.finish();
}

fn stored(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick_stored");
    configure(&mut group);
    group.throughput(Throughput::Elements(1));
    for k in SIZES {
        let mut rows: Vec<(Slot<usize>, Option<u64>)> = slots(k).into_iter().map(|s| (s, Some(0))).collect();
        let mut picks = 0u64;
        group.bench_function(BenchmarkId::from_parameter(k), |b| {
            b.iter(|| {
                let got = pick_stored(POLICY, picks, black_box(&rows));
                for (id, row) in &got.writes {
                    rows[*id].0.credit = row.credit;
                    rows[*id].1 = row.at;
                }
                picks = got.picks;
                black_box(got.outcome.expect("every slot is eligible").chosen)
            });
        });
    }
    group.finish();
}

criterion_group!(engine, bulk, transactional, stored);
criterion_main!(engine);
