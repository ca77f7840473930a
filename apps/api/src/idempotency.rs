//! The `Idempotency-Key` machinery for every POST that creates or changes state.
//!
//! A handler wraps its work in [`run`]. Without the header the work simply runs. With it:
//! - first use: the work runs; a success is stored and returned; a failure releases the
//!   key (a refused request changed nothing, so running it again is safe);
//! - same key, same request, finished: the stored status and body are replayed, with
//!   `Idempotency-Replayed: true`;
//! - same key, another body: 422 `IDEMPOTENCY_KEY_REUSED`;
//! - same key while the first is still running: 409 `IDEMPOTENCY_KEY_IN_PROGRESS`.
//!
//! Keys belong to the acting [`Principal`] (the API key, plus the user a `mohomId` or a
//! Bearer token names) and are forgotten after 24 h: the same key from another principal
//! is a fresh request, never a replay. Stored replies are sealed by the vault.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse};
use domain::identity::User;
use infra::idempotency::{self, Begin, Scope};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The SHA-256 of a request part that is not JSON (an uploaded file), for a fingerprint.
pub use infra::idempotency::content_digest;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";

/// Who a stored reply belongs to: the org and the acting principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    org_id: uuid::Uuid,
    id: String,
}

impl Principal {
    /// The caller itself: its API key, or its Bearer user. For calls that act for no member.
    #[must_use]
    pub fn caller(caller: &Caller) -> Self {
        let id = match caller {
            Caller::Key(key) => format!("key:{}", key.key_id),
            Caller::User { user, .. } => format!("user:{}", user.id),
        };
        Self { org_id: caller.org_id(), id }
    }

    /// The caller acting for `user` (the `mohomId` an API key named; a Bearer caller acts
    /// for itself only, see `auth::acting_user`).
    #[must_use]
    pub fn acting(caller: &Caller, user: &User) -> Self {
        let id = match caller {
            Caller::Key(key) => format!("key:{}/user:{}", key.key_id, user.id),
            Caller::User { user: me, .. } => format!("user:{}", me.id),
        };
        Self { org_id: caller.org_id(), id }
    }

    fn scope(&self) -> Scope<'_> {
        Scope { org_id: self.org_id, principal: &self.id }
    }
}

fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get(HEADER) else { return Ok(None) };
    let key = raw.to_str().map_err(|_| ApiError::InvalidIdempotencyKey)?;
    let valid = !key.is_empty() && key.len() <= idempotency::MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
    if valid { Ok(Some(key.to_owned())) } else { Err(ApiError::InvalidIdempotencyKey) }
}

fn storage_error(err: infra::db::DbErr) -> ApiError {
    tracing::warn!(error = %err, "idempotency store failed");
    ApiError::Unavailable
}

/// Runs `work` at most once per idempotency key; see the module docs.
///
/// `request` is the parsed body, fingerprinted in its canonical JSON form.
///
/// # Errors
/// The work's own error, or the idempotency refusals above.
pub async fn run<Req, Res, F, Fut>(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    request: &Req,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    Req: Serialize,
    Res: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, Res), ApiError>>,
{
    let Some(key) = key_of(req)? else {
        let (status, body) = work().await?;
        return Ok(HttpResponse::build(status).json(body));
    };
    let canonical = serde_json::to_vec(request).map_err(|e| ApiError::Internal(e.into()))?;
    let fingerprint = idempotency::fingerprint(req.method().as_str(), req.path(), &principal.id, &canonical);
    let scope = principal.scope();
    let conn = state.db.conn();
    let keyring = &state.keyring;
    match idempotency::begin(conn, keyring, scope, &key, &fingerprint, state.clock.now())
        .await
        .map_err(storage_error)?
    {
        Begin::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(HttpResponse::build(status)
                .insert_header((REPLAYED_HEADER, "true"))
                .content_type(ContentType::json())
                .body(body))
        }
        Begin::Mismatch => Err(ApiError::IdempotencyKeyReused),
        Begin::InFlight => Err(ApiError::IdempotencyKeyInProgress),
        Begin::Fresh => match work().await {
            Ok((status, body)) => {
                let text = serde_json::to_string(&body).map_err(|e| ApiError::Internal(e.into()))?;
                idempotency::complete(conn, keyring, scope, &key, status.as_u16(), &text)
                    .await
                    .map_err(storage_error)?;
                Ok(HttpResponse::build(status).content_type(ContentType::json()).body(text))
            }
            Err(err) => {
                idempotency::abandon(conn, scope, &key).await.map_err(storage_error)?;
                Err(err)
            }
        },
    }
}
