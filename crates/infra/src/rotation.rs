//! Key rotation: re-encrypt every stored envelope under the active key.
//!
//! Invariants:
//! - resumable: each batch is its own transaction and only touches rows whose
//!   `enc_key_id` is not the active key, so an interrupted run continues where it stopped;
//! - a row updated concurrently by the application is already under the active key: the
//!   batch's update is conditional on the old key id and skips it;
//! - the sealed text columns (`crypto::SEALED_TEXT_COLUMNS`: memos, descriptions,
//!   comments, audit details, free JSON from sources) are re-sealed the same way, each
//!   update conditional on the row's old `<c>_key_id` (`seal_backfill::reseal_column`);
//! - stored idempotency replies (`idempotency_records.response_enc`) are re-sealed too;
//! - the personal envelopes that share their row's `enc_key_id` ([`ROW_ENVELOPES`]:
//!   leads, counsel cases, identity verifications) are re-sealed row by row, every
//!   envelope of the row at once (each written whole when the row is inserted), the
//!   update conditional on the row's old key id;
//! - after a complete run no row names an old key, and retiring it is safe.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};

use crate::crypto::{CryptoError, FieldContext, Keyring, SEALED_TEXT_COLUMNS, envelope_key_id};
use crate::db::Db;
use crate::entities::user;
use crate::orgs;
use crate::seal_backfill::{self, SealTextError};

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("row {table}/{id}: {source}")]
    Crypto { table: &'static str, id: String, source: CryptoError },
}

impl From<SealTextError> for RotationError {
    fn from(err: SealTextError) -> Self {
        match err {
            SealTextError::Db(e) => Self::Db(e),
            SealTextError::Crypto { table, id, source } => Self::Crypto { table, id, source },
        }
    }
}

/// Progress of a rotation run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotationProgress {
    pub rotated: u64,
    pub total: u64,
}

/// Tables whose personal envelopes (`<c>_enc`, sealed as column `<c>` of the row id)
/// share the row's `enc_key_id`: the table, its id column, the envelope columns.
pub const ROW_ENVELOPES: &[(&str, &str, &[&str])] = &[
    (
        "leads",
        "id",
        &[
            "name",
            "phone",
            "email",
            "address",
            "birth_date",
            "memo",
            "id_number",
            "passport",
            "family_book",
            "source_note",
        ],
    ),
    ("counsel_cases", "cnsl_no", &["cust_nm", "cust_tel"]),
    ("identity_verifications", "id", &["name", "birth_date", "gender", "phone"]),
];

fn active_id(keyring: &Keyring) -> i32 {
    i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX)
}

/// Rows of [`ROW_ENVELOPES`] not under the active key.
async fn row_envelopes_pending(conn: &impl ConnectionTrait, keyring: &Keyring) -> Result<u64, DbErr> {
    let mut pending = 0;
    for (table, _, _) in ROW_ENVELOPES {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE enc_key_id <> $1");
        let row = conn
            .query_one_raw(crate::db::stmt(conn.get_database_backend(), &sql, vec![active_id(keyring).into()]))
            .await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        pending += u64::try_from(n).unwrap_or(0);
    }
    Ok(pending)
}

/// Rows of each [`ROW_ENVELOPES`] table by key id: `(table, key id, rows)`.
///
/// # Errors
/// The driver's error.
pub async fn row_envelope_status(conn: &impl ConnectionTrait) -> Result<Vec<(&'static str, i32, u64)>, DbErr> {
    let mut status = Vec::new();
    for (table, _, _) in ROW_ENVELOPES {
        let sql = format!("SELECT enc_key_id AS k, COUNT(*) AS n FROM {table} GROUP BY enc_key_id ORDER BY enc_key_id");
        for row in conn.query_all_raw(crate::db::stmt(conn.get_database_backend(), &sql, vec![])).await? {
            let key: i32 = row.try_get("", "k")?;
            let n: i64 = row.try_get("", "n")?;
            status.push((*table, key, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(status)
}

/// Re-seals up to `batch` rows of `table` not under the active key, in one write
/// transaction; the rows re-sealed.
async fn rotate_row_envelopes(
    db: &Db,
    keyring: &Keyring,
    (table, id_column, columns): (&'static str, &str, &[&str]),
    batch: u64,
) -> Result<u64, RotationError> {
    let backend = db.backend();
    let active = active_id(keyring);
    let envelopes: Vec<String> = columns.iter().map(|c| format!("{c}_enc")).collect();
    let select = format!(
        "SELECT {id_column} AS row_id, enc_key_id, {} FROM {table} WHERE enc_key_id <> $1 ORDER BY {id_column} LIMIT {}",
        envelopes.join(", "),
        batch.max(1)
    );
    let sets: Vec<String> = envelopes.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let n = envelopes.len();
    let update = format!(
        "UPDATE {table} SET {}, enc_key_id = ${} WHERE {id_column} = ${} AND enc_key_id = ${}",
        sets.join(", "),
        n + 1,
        n + 2,
        n + 3
    );
    let txn = db.begin_write().await?;
    let rows = txn.query_all_raw(crate::db::stmt(backend, &select, vec![active.into()])).await?;
    let mut rotated = 0;
    for row in rows {
        let id: String = row.try_get("", "row_id")?;
        let old: i32 = row.try_get("", "enc_key_id")?;
        let mut values: Vec<Value> = Vec::with_capacity(n + 3);
        for (column, envelope) in columns.iter().zip(&envelopes) {
            let sealed: Option<Vec<u8>> = row.try_get("", envelope)?;
            let resealed = sealed.map(|e| reseal(keyring, table, column, &id, &e)).transpose()?;
            values.push(resealed.into());
        }
        values.extend([active.into(), id.clone().into(), old.into()]);
        let done = txn.execute_raw(crate::db::stmt(backend, &update, values)).await?;
        rotated += done.rows_affected();
    }
    txn.commit().await?;
    Ok(rotated)
}

/// Rows not under the active key.
///
/// # Errors
/// The driver's error.
pub async fn pending(db: &Db, keyring: &Keyring) -> Result<u64, DbErr> {
    let active = i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX);
    let users = user::Entity::find().filter(user::Column::EncKeyId.ne(active)).count(db.conn()).await?;
    let mut orgs_pending = 0;
    for (_, envelope) in orgs::sso_secrets(db.conn()).await? {
        if envelope_key_id(&envelope).map_or(true, |k| k != keyring.active_key_id()) {
            orgs_pending += 1;
        }
    }
    let text = seal_backfill::pending_rotation(db.conn(), keyring).await?;
    let replies = crate::idempotency::pending_rotation(db.conn(), keyring).await?;
    let rows = row_envelopes_pending(db.conn(), keyring).await?;
    Ok(users + orgs_pending + text + replies + rows)
}

fn reseal(
    keyring: &Keyring,
    table: &'static str,
    column: &str,
    id: &str,
    envelope: &[u8],
) -> Result<Vec<u8>, RotationError> {
    keyring.reencrypt(envelope, &FieldContext { table, column, row_id: id }).map_err(|source| RotationError::Crypto {
        table,
        id: id.to_owned(),
        source,
    })
}

/// Re-encrypts everything under the active key, `batch` rows per transaction, calling
/// `progress` after each batch.
///
/// # Errors
/// The driver's error, or a row that does not decrypt (named, and left as it was).
pub async fn rotate(
    db: &Db,
    keyring: &Keyring,
    batch: u64,
    mut progress: impl FnMut(RotationProgress),
) -> Result<RotationProgress, RotationError> {
    let mut state = RotationProgress { rotated: 0, total: pending(db, keyring).await? };
    progress(state);
    let active = i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX);
    loop {
        let txn = db.begin_write().await?;
        let rows = user::Entity::find()
            .filter(user::Column::EncKeyId.ne(active))
            .order_by_asc(user::Column::Id)
            .limit(batch.max(1))
            .all(&*txn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id = row.id.clone();
            let update = user::ActiveModel {
                name_enc: Set(reseal(keyring, "users", "name", &id, &row.name_enc)?),
                phone_enc: Set(row
                    .phone_enc
                    .as_deref()
                    .map(|e| reseal(keyring, "users", "phone", &id, e))
                    .transpose()?),
                email_enc: Set(row
                    .email_enc
                    .as_deref()
                    .map(|e| reseal(keyring, "users", "email", &id, e))
                    .transpose()?),
                enc_key_id: Set(active),
                ..Default::default()
            };
            let done = user::Entity::update_many()
                .set(update)
                .filter(user::Column::Id.eq(id.as_str()))
                .filter(user::Column::EncKeyId.eq(row.enc_key_id))
                .exec(&*txn)
                .await?;
            state.rotated += done.rows_affected;
        }
        txn.commit().await?;
        progress(state);
    }
    let txn = db.begin_write().await?;
    for (id, envelope) in orgs::sso_secrets(&*txn).await? {
        if envelope_key_id(&envelope).is_ok_and(|k| k == keyring.active_key_id()) {
            continue;
        }
        let sealed = reseal(keyring, "organizations", "sso_secret", &id, &envelope)?;
        orgs::replace_sso_envelope(&*txn, &id, sealed).await?;
        state.rotated += 1;
    }
    txn.commit().await?;
    progress(state);
    for column in &SEALED_TEXT_COLUMNS {
        let before = state.rotated;
        let done = seal_backfill::reseal_column(db, keyring, column, batch, |n| {
            progress(RotationProgress { rotated: before + n, total: state.total });
        })
        .await?;
        state.rotated = before + done;
    }
    for table in ROW_ENVELOPES {
        loop {
            let done = rotate_row_envelopes(db, keyring, *table, batch).await?;
            if done == 0 {
                break;
            }
            state.rotated += done;
            progress(state);
        }
    }
    // Stored idempotency replies (24 h): few, one transaction.
    let txn = db.begin_write().await?;
    state.rotated += crate::idempotency::rotate(&*txn, keyring).await?;
    txn.commit().await?;
    progress(state);
    Ok(state)
}
