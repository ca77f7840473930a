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
//! - after a complete run no row names an old key, and retiring it is safe.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
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
    Ok(users + orgs_pending + text + replies)
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
    // Stored idempotency replies (24 h): few, one transaction.
    let txn = db.begin_write().await?;
    state.rotated += crate::idempotency::rotate(&*txn, keyring).await?;
    txn.commit().await?;
    progress(state);
    Ok(state)
}
