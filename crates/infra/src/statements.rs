//! Counting the statements the server sends to its database, by use case: the round-trip
//! budget of `performance.md` (`ldbds_db_statements_total`).
//!
//! Invariants:
//! - every statement sea-orm executes is counted once ([`crate::db::Db::connect`] installs
//!   [`count_sql`] as the connection's metric callback), and so is every `BEGIN`,
//!   `COMMIT` and `ROLLBACK` of [`crate::db::Db::begin_write`], which sea-orm does not
//!   report;
//! - a statement is counted under the use case of the task that sent it: the one
//!   [`scoped`] set around the future (a request's route, a background writer's name),
//!   else [`UNSCOPED`];
//! - the counts only grow; a scrape reads a [`snapshot`] of them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};

/// The use case of statements sent outside any [`scoped`] future.
pub const UNSCOPED: &str = "unscoped";

tokio::task_local! {
    static USE_CASE: Arc<str>;
}

/// What kind of statement was sent, by its first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    Begin,
    Commit,
    Rollback,
    Other,
}

impl Kind {
    /// The kind of a SQL text, by its first keyword (`WITH` counts as what it mostly is in
    /// this code base, a read; a data-modifying CTE is counted as `Other`).
    #[must_use]
    pub fn of(sql: &str) -> Self {
        let head: String = sql.trim_start().chars().take(8).collect::<String>().to_ascii_uppercase();
        match head.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("") {
            "SELECT" | "VALUES" => Self::Select,
            "WITH" if is_data_modifying(sql) => Self::Other,
            "WITH" => Self::Select,
            "INSERT" => Self::Insert,
            "UPDATE" => Self::Update,
            "DELETE" => Self::Delete,
            "BEGIN" => Self::Begin,
            "COMMIT" => Self::Commit,
            "ROLLBACK" => Self::Rollback,
            _ => Self::Other,
        }
    }

    /// The label value in `/metrics`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Select => "select",
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Begin => "begin",
            Self::Commit => "commit",
            Self::Rollback => "rollback",
            Self::Other => "other",
        }
    }
}

fn is_data_modifying(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    ["INSERT ", "UPDATE ", "DELETE "].iter().any(|w| upper.contains(w))
}

type Counts = HashMap<(Arc<str>, Kind), u64>;

static COUNTS: LazyLock<Mutex<Counts>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Runs `fut` with its statements counted under `use_case`.
pub async fn scoped<F: Future>(use_case: impl Into<Arc<str>>, fut: F) -> F::Output {
    USE_CASE.scope(use_case.into(), fut).await
}

/// Runs `fut` under `use_case` unless the task already has one: the outer use case wins
/// (a test or a command measuring one request keeps its own count apart from the route's).
pub async fn scoped_unless_set<F: Future>(use_case: impl Into<Arc<str>>, fut: F) -> F::Output {
    if current().is_some() { fut.await } else { scoped(use_case, fut).await }
}

/// The use case of the current task, if one was set with [`scoped`].
#[must_use]
pub fn current() -> Option<Arc<str>> {
    USE_CASE.try_with(Arc::clone).ok()
}

/// Counts one statement of `kind` under the current task's use case.
pub fn count(kind: Kind) {
    let use_case = current().unwrap_or_else(|| Arc::from(UNSCOPED));
    // A poisoned lock only means another counter panicked mid-increment; the map is
    // still a valid map, so counting goes on.
    let mut counts = COUNTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *counts.entry((use_case, kind)).or_insert(0) += 1;
}

/// Counts one statement by its SQL text (the connection's metric callback).
pub fn count_sql(sql: &str) {
    count(Kind::of(sql));
}

/// One counter: the use case, the statement kind and how many were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub use_case: String,
    pub kind: Kind,
    pub total: u64,
}

/// Every counter so far, sorted by use case and kind.
#[must_use]
pub fn snapshot() -> Vec<Count> {
    let counts = COUNTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut all: Vec<Count> = counts
        .iter()
        .map(|((use_case, kind), total)| Count { use_case: use_case.to_string(), kind: *kind, total: *total })
        .collect();
    all.sort_by(|a, b| (&a.use_case, a.kind).cmp(&(&b.use_case, b.kind)));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_by_their_first_keyword() {
        assert_eq!(Kind::of("  select 1"), Kind::Select);
        assert_eq!(Kind::of("INSERT INTO leads VALUES ($1)"), Kind::Insert);
        assert_eq!(Kind::of("UPDATE order_lines SET delivered = v.d FROM (VALUES (1)) v"), Kind::Update);
        assert_eq!(Kind::of("DELETE FROM x"), Kind::Delete);
        assert_eq!(Kind::of("WITH page AS (SELECT 1) SELECT * FROM page"), Kind::Select);
        assert_eq!(Kind::of("WITH moved AS (UPDATE leads SET x = 1 RETURNING id) SELECT id FROM moved"), Kind::Other);
        assert_eq!(Kind::of("COMMIT"), Kind::Commit);
        assert_eq!(Kind::of("pragma foo"), Kind::Other);
    }

    #[tokio::test]
    async fn a_statement_counts_under_the_use_case_of_its_task() {
        let name = "test: a_statement_counts_under_the_use_case_of_its_task";
        let of =
            |kind: Kind| snapshot().into_iter().find(|c| c.use_case == name && c.kind == kind).map_or(0, |c| c.total);
        scoped(name, async {
            count_sql("SELECT 1");
            count_sql("SELECT 2");
            count(Kind::Commit);
        })
        .await;
        count_sql("SELECT 3");
        assert_eq!(of(Kind::Select), 2);
        assert_eq!(of(Kind::Commit), 1);
        assert_eq!(current(), None);
    }
}
