//! The reveal log, group-committed: the `pii_access_log` rows of the lists, the detail
//! and `contacts` are written by one [`GroupCommit`] writer, many requests' rows in one
//! multi-row `INSERT`.
//!
//! Invariants:
//! - [`RevealLog::log`] returns `Ok` only once its rows are committed (one autocommitted
//!   `INSERT`: durable when it returns, on PostgreSQL with `synchronous_commit` on, on
//!   SQLite in its WAL), so a response that reveals data, built after it, is never sent
//!   for a reveal whose row a crash could lose;
//! - a write that fails fails every request whose rows it held (they reveal nothing);
//! - one `INSERT` holds at most [`MAX_ROWS`] rows (10 binds a row: 5,000, under both
//!   databases' limits);
//! - its statements count under the use case [`USE_CASE`]: amortized, they are the
//!   "reveal log shared" of the round-trip budget;
//! - unstarted (tests, the command line) and after the drain, rows are written directly
//!   by the request, one `INSERT` each; the server starts the writer before it serves
//!   and drains it after its last request (`api::startup::serve`).
//!
//! `use` is not on it: it marks the lead used and logs in one transaction.

use domain::error::RepoError;
use domain::ports::PiiAccess;
use sea_orm::DbErr;

use crate::db::Db;
use crate::group_commit::{Failed, GroupCommit, Sink};
use crate::pii_access;

/// The use case of the reveal log's statements.
pub const USE_CASE: &str = "reveal-log";
/// Rows per `INSERT` at most.
pub const MAX_ROWS: usize = 500;
/// Requests that may wait for the writer at once; more wait to be queued.
pub const QUEUE: usize = 4_096;

/// Writes access rows to `pii_access_log`, one multi-row `INSERT` per call.
#[derive(Debug, Clone)]
pub struct AccessLogSink {
    db: Db,
}

impl AccessLogSink {
    #[must_use]
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl Sink for AccessLogSink {
    type Entry = PiiAccess;
    type Error = DbErr;

    async fn write(&self, entries: &[PiiAccess]) -> Result<(), DbErr> {
        pii_access::record_all(self.db.conn(), entries).await
    }
}

/// The group-committed reveal log.
#[derive(Debug)]
pub struct RevealLog {
    group: GroupCommit<AccessLogSink>,
}

/// The reveal log of `db`, not started.
#[must_use]
pub fn reveal_log(db: Db) -> RevealLog {
    RevealLog { group: GroupCommit::new(AccessLogSink::new(db), USE_CASE, MAX_ROWS, QUEUE) }
}

impl RevealLog {
    /// Appends `accesses` and returns once they are committed.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when they could not be written (or the writer stopped
    /// before it said so): the caller reveals nothing.
    pub async fn log(&self, accesses: Vec<PiiAccess>) -> Result<(), RepoError> {
        self.group.submit(accesses).await.map_err(|e| match e {
            // The writer logged the cause once for the whole write.
            Failed::Write(cause) => RepoError::Unavailable(cause.to_string()),
            Failed::WriterGone => {
                tracing::error!("the reveal log writer stopped before it answered");
                RepoError::Unavailable("the reveal log writer stopped".to_owned())
            }
        })
    }

    /// Starts the writer on the current Tokio runtime (a second call does nothing).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(&self) {
        self.group.start();
    }

    /// Writes what is queued, stops the writer; later reveals are logged directly.
    pub async fn drain(&self) {
        self.group.drain().await;
    }

    /// Whether the writer runs.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.group.is_running()
    }

    /// `INSERT`s and rows written so far.
    #[must_use]
    pub fn stats(&self) -> crate::group_commit::Stats {
        self.group.stats()
    }
}
