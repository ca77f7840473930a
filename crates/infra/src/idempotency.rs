//! Idempotency keys: a creating POST sent twice with the same `Idempotency-Key` has its
//! effect once.
//!
//! Invariants (scoped by org, 24 h lifetime):
//! - same key, same body, first call finished: the stored response is replayed;
//! - same key, different body: [`Begin::Mismatch`] (the API answers 422);
//! - same key while the first call runs: [`Begin::InFlight`] (409);
//! - a key older than [`LIFETIME`] is forgotten and may be reused;
//! - a call that failed with a server error is [`abandon`]ed, so a retry runs again.

use ring::digest::{SHA256, digest};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entities::idempotency_key as row;
use crate::to_millis;

/// How long a key is remembered.
pub const LIFETIME: Duration = Duration::hours(24);
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

const RUNNING: &str = "RUNNING";
const DONE: &str = "DONE";

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: run it, then [`complete`] or [`abandon`].
    Fresh,
    /// Seen and finished: send this response again.
    Replay { status: u16, body: String },
    /// Seen with another body.
    Mismatch,
    /// Seen and still running.
    InFlight,
}

/// The fingerprint of a request: method, path and body.
#[must_use]
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut material = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    material.extend_from_slice(method.as_bytes());
    material.push(0);
    material.extend_from_slice(path.as_bytes());
    material.push(0);
    material.extend_from_slice(body);
    digest(&SHA256, &material).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 (hex) of a request part that is not JSON (an uploaded file), to put in the
/// request's fingerprint instead of the bytes themselves.
#[must_use]
pub fn content_digest(bytes: &[u8]) -> String {
    digest(&SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Claims `key` for this request, or says why it cannot run.
///
/// # Errors
/// The driver's error.
pub async fn begin(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    key: &str,
    request_sha256: &str,
    now: OffsetDateTime,
) -> Result<Begin, DbErr> {
    let org = org_id.to_string();
    // Forget this key if it has expired, so the insert below can claim it again.
    row::Entity::delete_many()
        .filter(row::Column::OrgId.eq(&org))
        .filter(row::Column::IdemKey.eq(key))
        .filter(row::Column::CreatedAt.lt(to_millis(now - LIFETIME)))
        .exec(conn)
        .await?;
    let claim = row::ActiveModel {
        org_id: Set(org.clone()),
        idem_key: Set(key.to_owned()),
        request_sha256: Set(request_sha256.to_owned()),
        state: Set(RUNNING.to_owned()),
        response_status: Set(None),
        response_body: Set(None),
        created_at: Set(to_millis(now)),
    };
    let inserted = row::Entity::insert(claim)
        .on_conflict(OnConflict::columns([row::Column::OrgId, row::Column::IdemKey]).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    if inserted == 1 {
        return Ok(Begin::Fresh);
    }
    let Some(existing) = row::Entity::find_by_id((org, key.to_owned())).one(conn).await? else {
        // Expired and removed between the two statements by a concurrent call: treat as running.
        return Ok(Begin::InFlight);
    };
    if existing.request_sha256 != request_sha256 {
        return Ok(Begin::Mismatch);
    }
    match (existing.state.as_str(), existing.response_status, existing.response_body) {
        (DONE, Some(status), Some(body)) => Ok(Begin::Replay { status: u16::try_from(status).unwrap_or(200), body }),
        _ => Ok(Begin::InFlight),
    }
}

/// Stores the response of a finished request for replay.
///
/// # Errors
/// The driver's error.
pub async fn complete(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    row::Entity::update_many()
        .col_expr(row::Column::State, Expr::value(DONE))
        .col_expr(row::Column::ResponseStatus, Expr::value(i16::try_from(status).unwrap_or(i16::MAX)))
        .col_expr(row::Column::ResponseBody, Expr::value(body.to_owned()))
        .filter(row::Column::OrgId.eq(org_id.to_string()))
        .filter(row::Column::IdemKey.eq(key))
        .exec(conn)
        .await
        .map(|_| ())
}

/// Releases a key whose request failed on the server's side, so that it can be retried.
///
/// # Errors
/// The driver's error.
pub async fn abandon(conn: &impl ConnectionTrait, org_id: Uuid, key: &str) -> Result<(), DbErr> {
    row::Entity::delete_many()
        .filter(row::Column::OrgId.eq(org_id.to_string()))
        .filter(row::Column::IdemKey.eq(key))
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
