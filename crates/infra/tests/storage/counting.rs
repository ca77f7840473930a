//! The statements a piece of storage work sends, read from `infra::statements` under a
//! use case the test names (unique per test and backend: the counters are one table for
//! the whole process, and the tests run beside each other).

use std::collections::BTreeMap;
use std::future::Future;

use infra::statements::{self, Kind};

/// Statements sent so far under `use_case`, by kind.
pub fn by_kind(use_case: &str) -> BTreeMap<Kind, u64> {
    statements::snapshot().into_iter().filter(|c| c.use_case == use_case).map(|c| (c.kind, c.total)).collect()
}

/// Statements sent so far under `use_case`, every kind.
pub fn sent(use_case: &str) -> u64 {
    by_kind(use_case).values().sum()
}

/// `INSERT`s sent so far under `use_case`.
pub fn inserts(use_case: &str) -> u64 {
    by_kind(use_case).get(&Kind::Insert).copied().unwrap_or(0)
}

/// Runs `fut` under `use_case` and returns its output and the statements it sent.
pub async fn counted<F: Future>(use_case: &str, fut: F) -> (F::Output, u64) {
    let before = sent(use_case);
    let out = statements::scoped(use_case.to_owned(), fut).await;
    (out, sent(use_case) - before)
}
