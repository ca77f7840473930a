//! Idempotency records: a creating POST sent twice with the same `Idempotency-Key` has its
//! effect once, for the principal that sent it.
//!
//! Invariants (24 h lifetime):
//! - a record belongs to one [`Scope`]: the org and the acting principal (the API key id,
//!   plus the acting user when a `mohomId` or a Bearer token names one). The same key from
//!   another principal is another record: a replay never crosses principals;
//! - same principal, key and fingerprint, first call finished: the stored response is
//!   replayed;
//! - same principal and key, different fingerprint: [`Begin::Mismatch`] (the API answers 422);
//! - same principal and key while the first call runs: [`Begin::InFlight`] (409);
//! - a key older than [`LIFETIME`] is forgotten and may be reused;
//! - a call that failed is [`abandon`]ed, so a retry runs again;
//! - the client's key is stored as its SHA-256, never as sent;
//! - the stored response is personal data (a memo, a name, an upload URL): it is sealed by
//!   the vault with the row's own associated data (`idempotency_records`, `response_enc`,
//!   the row's unique principal and stored key),
//!   and never stored or logged in plain text.

use ring::digest::{SHA256, digest};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::{FieldContext, Keyring};
use crate::entities::idempotency_record as row;
use crate::to_millis;

/// How long a key is remembered.
pub const LIFETIME: Duration = Duration::hours(24);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// The longest principal stored (`key:<uuid>/user:<uuid>` is 83).
pub const MAX_PRINCIPAL_LEN: usize = 120;

const TABLE: &str = "idempotency_records";
const RESPONSE_COLUMN: &str = "response_enc";
const RUNNING: &str = "RUNNING";
const DONE: &str = "DONE";

/// Whose record: the org (for purging and tenancy) and the acting principal.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub org_id: Uuid,
    /// `key:<api key id>`, `key:<api key id>/user:<user id>` or `user:<user id>`.
    pub principal: &'a str,
}

/// What to do with a request that carries an idempotency key.
#[derive(Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: run it, then [`complete`] or [`abandon`].
    Fresh,
    /// Seen and finished: send this response again.
    Replay { status: u16, body: String },
    /// Seen with another request.
    Mismatch,
    /// Seen and still running.
    InFlight,
}

impl std::fmt::Debug for Begin {
    /// A stored reply may carry personal data: its body is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fresh => f.write_str("Fresh"),
            Self::Replay { status, body } => write!(f, "Replay {{ status: {status}, body: <{} bytes> }}", body.len()),
            Self::Mismatch => f.write_str("Mismatch"),
            Self::InFlight => f.write_str("InFlight"),
        }
    }
}

/// The fingerprint of a request: method, path, acting principal and body.
#[must_use]
pub fn fingerprint(method: &str, path: &str, principal: &str, body: &[u8]) -> String {
    let mut material = Vec::with_capacity(method.len() + path.len() + principal.len() + body.len() + 3);
    for part in [method.as_bytes(), path.as_bytes(), principal.as_bytes()] {
        material.extend_from_slice(part);
        material.push(0);
    }
    material.extend_from_slice(body);
    hex_sha256(&material)
}

/// The SHA-256 (hex) of a request part that is not JSON (an uploaded file), to put in the
/// request's fingerprint instead of the bytes themselves.
#[must_use]
pub fn content_digest(bytes: &[u8]) -> String {
    hex_sha256(bytes)
}

fn hex_sha256(bytes: &[u8]) -> String {
    digest(&SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The row a reply is sealed to: its unique (principal, stored key) pair, known before
/// the row is read, so completing a request is one statement.
fn row_ref(principal: &str, stored_key: &str) -> String {
    format!("{principal}/{stored_key}")
}

fn context(row_ref: &str) -> FieldContext<'_> {
    FieldContext { table: TABLE, column: RESPONSE_COLUMN, row_id: row_ref }
}

fn sealing(err: impl std::fmt::Display) -> DbErr {
    DbErr::Custom(format!("idempotency record: {err}"))
}

/// The stored form of a client's key: its SHA-256 (a client may put anything in the
/// header, an order number or a name; the plain key is never stored).
fn stored_key(key: &str) -> String {
    hex_sha256(key.as_bytes())
}

fn by_key(scope: Scope<'_>, key: &str) -> Condition {
    Condition::all().add(row::Column::Principal.eq(scope.principal)).add(row::Column::IdemKey.eq(stored_key(key)))
}

/// Claims `key` for this request, or says why it cannot run.
///
/// # Errors
/// The driver's error, or a stored reply that does not open (tampered or moved).
pub async fn begin(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    scope: Scope<'_>,
    key: &str,
    request_sha256: &str,
    now: OffsetDateTime,
) -> Result<Begin, DbErr> {
    if scope.principal.is_empty() || scope.principal.len() > MAX_PRINCIPAL_LEN {
        return Err(DbErr::Custom("idempotency record: principal out of range".to_owned()));
    }
    // Forget this key if it has expired, so the insert below can claim it again.
    row::Entity::delete_many()
        .filter(by_key(scope, key))
        .filter(row::Column::CreatedAt.lt(to_millis(now - LIFETIME)))
        .exec(conn)
        .await?;
    let claim = row::ActiveModel {
        id: Set(domain::ids::new_id().to_string()),
        org_id: Set(scope.org_id.to_string()),
        principal: Set(scope.principal.to_owned()),
        idem_key: Set(stored_key(key)),
        request_sha256: Set(request_sha256.to_owned()),
        state: Set(RUNNING.to_owned()),
        response_status: Set(None),
        response_enc: Set(None),
        enc_key_id: Set(None),
        created_at: Set(to_millis(now)),
    };
    let inserted = row::Entity::insert(claim)
        .on_conflict(OnConflict::columns([row::Column::Principal, row::Column::IdemKey]).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    if inserted == 1 {
        return Ok(Begin::Fresh);
    }
    let Some(existing) = row::Entity::find().filter(by_key(scope, key)).one(conn).await? else {
        // Expired and removed between the two statements by a concurrent call: treat as running.
        return Ok(Begin::InFlight);
    };
    if existing.request_sha256 != request_sha256 {
        return Ok(Begin::Mismatch);
    }
    match (existing.state.as_str(), existing.response_status, existing.response_enc) {
        (DONE, Some(status), Some(sealed)) => {
            let at = row_ref(&existing.principal, &existing.idem_key);
            let body = keyring.decrypt_string(&sealed, &context(&at)).map_err(sealing)?;
            Ok(Begin::Replay { status: u16::try_from(status).unwrap_or(200), body })
        }
        _ => Ok(Begin::InFlight),
    }
}

/// Stores the response of a finished request for replay, sealed by the vault.
///
/// # Errors
/// The driver's error, or a sealing failure.
pub async fn complete(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    scope: Scope<'_>,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    let at = row_ref(scope.principal, &stored_key(key));
    let sealed = keyring.encrypt_str(body, &context(&at)).map_err(sealing)?;
    let done = row::Entity::update_many()
        .col_expr(row::Column::State, Expr::value(DONE))
        .col_expr(row::Column::ResponseStatus, Expr::value(i16::try_from(status).unwrap_or(i16::MAX)))
        .col_expr(row::Column::ResponseEnc, Expr::value(sealed))
        .col_expr(row::Column::EncKeyId, Expr::value(active_id(keyring)))
        .filter(by_key(scope, key))
        .exec(conn)
        .await?;
    if done.rows_affected == 1 {
        Ok(())
    } else {
        Err(DbErr::RecordNotFound("idempotency record vanished while running".to_owned()))
    }
}

/// Releases a key whose request failed, so that it can be retried.
///
/// # Errors
/// The driver's error.
pub async fn abandon(conn: &impl ConnectionTrait, scope: Scope<'_>, key: &str) -> Result<(), DbErr> {
    row::Entity::delete_many()
        .filter(by_key(scope, key))
        .filter(row::Column::State.eq(RUNNING))
        .exec(conn)
        .await
        .map(|_| ())
}

/// Deletes expired keys; returns how many.
///
/// # Errors
/// The driver's error.
pub async fn purge_expired(conn: &impl ConnectionTrait, now: OffsetDateTime) -> Result<u64, DbErr> {
    let result =
        row::Entity::delete_many().filter(row::Column::CreatedAt.lt(to_millis(now - LIFETIME))).exec(conn).await?;
    Ok(result.rows_affected)
}

/// Stored replies per key id (`ldbds keys status`).
///
/// # Errors
/// The driver's error.
pub async fn count_by_key(conn: &impl ConnectionTrait) -> Result<Vec<(i32, u64)>, DbErr> {
    let mut counts = std::collections::BTreeMap::<i32, u64>::new();
    let keys: Vec<Option<i32>> = row::Entity::find()
        .select_only()
        .column(row::Column::EncKeyId)
        .filter(row::Column::ResponseEnc.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    for key in keys {
        *counts.entry(key.unwrap_or(0)).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

/// Stored replies not under the active key.
///
/// # Errors
/// The driver's error.
pub async fn pending_rotation(conn: &impl ConnectionTrait, keyring: &Keyring) -> Result<u64, DbErr> {
    row::Entity::find()
        .filter(row::Column::ResponseEnc.is_not_null())
        .filter(row::Column::EncKeyId.ne(active_id(keyring)))
        .count(conn)
        .await
}

fn active_id(keyring: &Keyring) -> i32 {
    i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX)
}

/// Re-seals under the active key every stored reply under another key (they live 24 h,
/// so there are few); each update is conditional on the old key id. Returns how many.
///
/// # Errors
/// The driver's error, or a reply that does not open (left as it was).
pub async fn rotate(conn: &impl ConnectionTrait, keyring: &Keyring) -> Result<u64, DbErr> {
    let active = active_id(keyring);
    let stale = row::Entity::find()
        .filter(row::Column::ResponseEnc.is_not_null())
        .filter(row::Column::EncKeyId.ne(active))
        .all(conn)
        .await?;
    let mut done = 0;
    for record in stale {
        let Some(sealed) = record.response_enc else { continue };
        let at = row_ref(&record.principal, &record.idem_key);
        let resealed = keyring.reencrypt(&sealed, &context(&at)).map_err(sealing)?;
        done += row::Entity::update_many()
            .col_expr(row::Column::ResponseEnc, Expr::value(resealed))
            .col_expr(row::Column::EncKeyId, Expr::value(active))
            .filter(row::Column::Id.eq(record.id.as_str()))
            .filter(match record.enc_key_id {
                Some(old) => row::Column::EncKeyId.eq(old),
                None => row::Column::EncKeyId.is_null(),
            })
            .exec(conn)
            .await?
            .rows_affected;
    }
    Ok(done)
}
