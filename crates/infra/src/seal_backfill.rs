//! Sealed text columns in storage: the start-up step that seals rows written in plain
//! text before the vault covered them, re-sealing under the active key (rotation), and
//! the per-column key counts of `ldbds keys status`.
//!
//! Invariants:
//! - the start-up step holds the keys (migrations hold schema only) and runs after the
//!   migrations, before the server answers; it seals every row whose envelope is `NULL`
//!   and whose plaintext column holds a non-empty value, clears that column (`NULL`, or
//!   `''` where it is `NOT NULL`) in the same update, and is idempotent: a sealed row is
//!   never selected again, so a second run changes nothing and an interrupted run
//!   resumes;
//! - every batch is one write transaction and each update is conditional (`<c>_enc IS
//!   NULL` when sealing, the old key id when re-sealing), so a row written meanwhile by
//!   the application is never overwritten with an older value;
//! - rows are walked in primary-key order with a moving lower bound (keyset pagination),
//!   so a run reads each table once, whatever its size;
//! - a row that fails to decrypt stops the run with its table and id named (never its
//!   content), and is left as it was;
//! - on SQLite, a run that sealed rows ends with `VACUUM` and a truncating WAL
//!   checkpoint, so the replaced plaintext does not linger in free pages or the WAL. On
//!   PostgreSQL the old row versions are dead tuples, invisible to every query and dump,
//!   until (auto)vacuum reuses their space; `VACUUM FULL` of the seven tables removes
//!   them from the disk files at once.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult};

use crate::crypto::{CryptoError, Keyring, SEALED_TEXT_COLUMNS, SealedText};
use crate::db::Db;

/// Rows per transaction of the start-up step.
pub const BACKFILL_BATCH: u64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum SealTextError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("row {table}/{id}: {source}")]
    Crypto { table: &'static str, id: String, source: CryptoError },
}

/// What the start-up step sealed, per column (`table.column`, rows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub sealed: Vec<(String, u64)>,
}

impl BackfillReport {
    /// Rows sealed over all columns.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.sealed.iter().map(|(_, n)| n).sum()
    }
}

/// One sealed text column's state, for `ldbds keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextColumnStatus {
    /// `table.column`.
    pub column: String,
    /// (key id, rows sealed under it), by key id.
    pub by_key: Vec<(i32, u64)>,
    /// Rows still holding a non-empty plaintext value and no envelope.
    pub plaintext: u64,
}

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

/// The plaintext column holds something to seal.
fn has_plaintext(c: &SealedText) -> SimpleExpr {
    col(c.sealed_column).is_null().and(col(c.column).is_not_null()).and(col(c.column).ne(""))
}

fn crypto(c: &SealedText, id: &str) -> impl FnOnce(CryptoError) -> SealTextError {
    let (table, id) = (c.table, id.to_owned());
    move |source| SealTextError::Crypto { table, id, source }
}

fn text(row: &QueryResult, column: &str) -> Result<Option<String>, DbErr> {
    row.try_get::<Option<String>>("", column)
}

/// Seals every plaintext row of every sealed text column (see the module invariants).
///
/// # Errors
/// The driver's error, or a value that cannot be sealed.
pub async fn seal_plaintext_rows(db: &Db, keyring: &Keyring) -> Result<BackfillReport, SealTextError> {
    let mut report = BackfillReport::default();
    for c in &SEALED_TEXT_COLUMNS {
        let n = seal_column(db, keyring, c, BACKFILL_BATCH).await?;
        report.sealed.push((c.name(), n));
    }
    if report.total() > 0 && db.backend() == DbBackend::Sqlite {
        db.conn().execute_unprepared("VACUUM").await?;
        db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(report)
}

async fn seal_column(db: &Db, keyring: &Keyring, c: &SealedText, batch: u64) -> Result<u64, SealTextError> {
    let mut after: Option<String> = None;
    let mut sealed = 0;
    loop {
        let txn = db.begin_write().await?;
        let mut select = Query::select();
        select
            .columns([Alias::new(c.id_column), Alias::new(c.column)])
            .from(Alias::new(c.table))
            .and_where(has_plaintext(c))
            .order_by(Alias::new(c.id_column), Order::Asc)
            .limit(std::cmp::Ord::max(batch, 1));
        if let Some(last) = &after {
            select.and_where(col(c.id_column).gt(last.as_str()));
        }
        let rows = txn.query_all(&select).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let id: String = row.try_get("", c.id_column)?;
            after = Some(id.clone());
            let Some(plain) = text(row, c.column)? else { continue };
            let value = c.seal(keyring, &id, &plain).map_err(crypto(c, &id))?;
            let update = Query::update()
                .table(Alias::new(c.table))
                .value(Alias::new(c.sealed_column), value.envelope)
                .value(Alias::new(c.key_column), value.key_id)
                .value(Alias::new(c.column), c.cleared())
                .and_where(col(c.id_column).eq(id.as_str()))
                .and_where(col(c.sealed_column).is_null())
                .to_owned();
            sealed += txn.execute(&update).await?.rows_affected();
        }
        txn.commit().await?;
    }
    Ok(sealed)
}

/// Rows of sealed text columns whose envelope is not under the active key.
///
/// # Errors
/// The driver's error.
pub async fn pending_rotation(conn: &impl ConnectionTrait, keyring: &Keyring) -> Result<u64, DbErr> {
    let active = active_id(keyring);
    let mut total = 0;
    for c in &SEALED_TEXT_COLUMNS {
        let mut select = Query::select();
        select
            .expr_as(Func::count(col(c.id_column)), Alias::new("n"))
            .from(Alias::new(c.table))
            .and_where(col(c.sealed_column).is_not_null())
            .and_where(col(c.key_column).ne(active));
        total += count_of(conn.query_one(&select).await?)?;
    }
    Ok(total)
}

fn active_id(keyring: &Keyring) -> i32 {
    i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX)
}

fn count_of(row: Option<QueryResult>) -> Result<u64, DbErr> {
    let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Re-seals under the active key every envelope of one sealed text column that is
/// under another key, `batch` rows per transaction, calling `progress` with the rows
/// done after each batch; returns the rows re-sealed.
///
/// # Errors
/// The driver's error, or an envelope that does not decrypt (named, left as it was).
pub async fn reseal_column(
    db: &Db,
    keyring: &Keyring,
    c: &SealedText,
    batch: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, SealTextError> {
    let active = active_id(keyring);
    let mut after: Option<String> = None;
    let mut done = 0;
    loop {
        let txn = db.begin_write().await?;
        let mut select = Query::select();
        select
            .columns([Alias::new(c.id_column), Alias::new(c.sealed_column), Alias::new(c.key_column)])
            .from(Alias::new(c.table))
            .and_where(col(c.sealed_column).is_not_null())
            .and_where(col(c.key_column).ne(active))
            .order_by(Alias::new(c.id_column), Order::Asc)
            .limit(std::cmp::Ord::max(batch, 1));
        if let Some(last) = &after {
            select.and_where(col(c.id_column).gt(last.as_str()));
        }
        let rows = txn.query_all(&select).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let id: String = row.try_get("", c.id_column)?;
            after = Some(id.clone());
            let old_key: Option<i32> = row.try_get("", c.key_column)?;
            let Some(envelope) = row.try_get::<Option<Vec<u8>>>("", c.sealed_column)? else { continue };
            let value = c.reseal(keyring, &id, &envelope).map_err(crypto(c, &id))?;
            let mut update = Query::update();
            update
                .table(Alias::new(c.table))
                .value(Alias::new(c.sealed_column), value.envelope)
                .value(Alias::new(c.key_column), value.key_id)
                .and_where(col(c.id_column).eq(id.as_str()));
            match old_key {
                Some(k) => update.and_where(col(c.key_column).eq(k)),
                None => update.and_where(col(c.key_column).is_null()),
            };
            done += txn.execute(&update).await?.rows_affected();
        }
        txn.commit().await?;
        progress(done);
    }
    Ok(done)
}

/// Per sealed text column: rows per key id and rows still in plain text.
///
/// # Errors
/// The driver's error.
pub async fn text_column_status(conn: &impl ConnectionTrait) -> Result<Vec<TextColumnStatus>, DbErr> {
    let mut out = Vec::with_capacity(SEALED_TEXT_COLUMNS.len());
    for c in &SEALED_TEXT_COLUMNS {
        let mut by_key = Query::select();
        by_key
            .column(Alias::new(c.key_column))
            .expr_as(Func::count(col(c.id_column)), Alias::new("n"))
            .from(Alias::new(c.table))
            .and_where(col(c.sealed_column).is_not_null())
            .group_by_col(Alias::new(c.key_column))
            .order_by(Alias::new(c.key_column), Order::Asc);
        let by_key = conn
            .query_all(&by_key)
            .await?
            .iter()
            .map(|r| {
                let key: Option<i32> = r.try_get("", c.key_column)?;
                let n: i64 = r.try_get("", "n")?;
                Ok((key.unwrap_or(0), u64::try_from(n).unwrap_or(0)))
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let mut plain = Query::select();
        plain
            .expr_as(Func::count(col(c.id_column)), Alias::new("n"))
            .from(Alias::new(c.table))
            .and_where(has_plaintext(c));
        let plaintext = count_of(conn.query_one(&plain).await?)?;
        out.push(TextColumnStatus { column: c.name(), by_key, plaintext });
    }
    Ok(out)
}
