//! Who is calling and for whom: the [`Caller`] extractor (API key or Bearer token), the
//! per-caller rate limit, and [`acting_user`] (the `mohomId` rule).
//!
//! Invariants:
//! - a request without live credentials never reaches a handler that takes `Caller`:
//!   401 `UNAUTHORIZED`, the same answer for missing, unknown, revoked, expired or forged
//!   credentials, and for a token whose user is deleted;
//! - an API key acts for a `mohomId` of its own org only; another org's user is 404, not
//!   403 (no existence leak); a Bearer caller acts for itself only;
//! - each API key and each user has its own token bucket (`rate_limit.*`); an exhausted
//!   bucket answers 429 `RATE_LIMITED` with `Retry-After`, and nobody else is affected.

use std::num::NonZeroU32;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::identity::{MohomId, Role, User};
use domain::ports::UserRepository;
use domain::reference::OrgKind;
use futures_util::future::LocalBoxFuture;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use infra::api_keys::{self, KeyPrincipal};
use infra::config::RateLimitSettings;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

pub type KeyRateLimiter = DefaultKeyedRateLimiter<Uuid>;

pub const API_KEY_HEADER: &str = "x-api-key";

/// A keyed limiter from the settings (validated non-zero at start-up).
#[must_use]
pub fn rate_limiter(settings: &RateLimitSettings) -> KeyRateLimiter {
    let per_second = NonZeroU32::new(settings.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A server of an org, by its API key.
    Key(KeyPrincipal),
    /// A user, by a Bearer access token.
    User { user: User, org_kind: OrgKind },
}

impl Caller {
    #[must_use]
    pub fn org_id(&self) -> Uuid {
        match self {
            Self::Key(key) => key.org_id,
            Self::User { user, .. } => user.org_id,
        }
    }

    #[must_use]
    pub fn org_kind(&self) -> OrgKind {
        match self {
            Self::Key(key) => key.org_kind,
            Self::User { org_kind, .. } => *org_kind,
        }
    }

    /// The audit `actor` of this caller.
    #[must_use]
    pub fn actor(&self) -> String {
        match self {
            Self::Key(key) => format!("key:{}", key.key_id),
            Self::User { user, .. } => format!("user:{}", user.id),
        }
    }

    fn bucket(&self) -> Uuid {
        match self {
            Self::Key(key) => key.key_id,
            Self::User { user, .. } => user.id,
        }
    }

    /// The user role of a Bearer caller (`None` for an API key).
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Key(_) => None,
            Self::User { user, .. } => Some(user.role),
        }
    }
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "credential lookup failed");
    ApiError::Unavailable
}

async fn authenticate(state: &AppState, req_key: Option<String>, bearer: Option<String>) -> Result<Caller, ApiError> {
    if let Some(presented) = req_key {
        let principal = api_keys::authenticate(state.db.conn(), presented.trim(), state.clock.now())
            .await
            .map_err(unavailable)?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Caller::Key(principal));
    }
    let token = bearer.ok_or(ApiError::Unauthorized)?;
    let claims = state.tokens.verify(&token).map_err(|_| ApiError::Unauthorized)?;
    let user_id = claims.sub.parse::<Uuid>().map_err(|_| ApiError::Unauthorized)?;
    let user = state.users.find_by_id(user_id).await.map_err(unavailable)?.ok_or(ApiError::Unauthorized)?;
    if !user.is_active() || user.org_id.to_string() != claims.org {
        return Err(ApiError::Unauthorized);
    }
    let org =
        infra::orgs::find(state.db.conn(), user.org_id).await.map_err(unavailable)?.ok_or(ApiError::Unauthorized)?;
    Ok(Caller::User { user, org_kind: org.kind })
}

/// The credentials a request presents: the `X-API-Key` header, else a Bearer token.
pub(crate) fn presented(req: &HttpRequest) -> (Option<String>, Option<String>) {
    let key = req.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    (key, bearer)
}

/// Authenticates the presented credentials and takes a token from the caller's bucket.
///
/// # Errors
/// 401 for missing or dead credentials, 429 for an exhausted bucket, 503 when the
/// credential store does not answer.
pub(crate) async fn resolve(state: &AppState, key: Option<String>, bearer: Option<String>) -> Result<Caller, ApiError> {
    let caller = authenticate(state, key, bearer).await?;
    if let Err(not_until) = state.limiter.check_key(&caller.bucket()) {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::RateLimited { retry_after_secs: retry_after_secs.max(1) });
    }
    tracing::Span::current().record("org_id", tracing::field::display(caller.org_id()));
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// The caller `crate::gate::middleware` resolved before any extractor ran (so a
    /// refusal here comes before any body or query is parsed); without the middleware,
    /// resolved now.
    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if let Some(resolved) = crate::gate::resolved(req) {
            return Box::pin(std::future::ready(resolved));
        }
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let (key, bearer) = presented(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            resolve(&state, key, bearer).await
        })
    }
}

/// The user a member-scoped call acts for.
///
/// With an API key, `mohomId` is required and names a user of the key's own org; with a
/// Bearer token, the token's user acts, and a `mohomId` that names anyone else is refused.
///
/// # Errors
/// 400 when an API key call lacks `mohomId`; 404 `USER_NOT_FOUND` for an unknown,
/// deleted or other org's user.
pub async fn acting_user(state: &AppState, caller: &Caller, mohom_id: Option<&str>) -> Result<User, ApiError> {
    let not_found = || ApiError::not_found("USER_NOT_FOUND", "no such user in this organization");
    match caller {
        Caller::Key(key) => {
            let raw = mohom_id.ok_or_else(|| ApiError::invalid("mohomId", "is required with an API key"))?;
            let mohom = MohomId::parse(raw)?;
            match state.users.find(key.org_id, &mohom).await? {
                Some(user) if user.is_active() => Ok(user),
                _ => Err(not_found()),
            }
        }
        Caller::User { user, .. } => match mohom_id {
            Some(raw) if raw != user.mohom_id.as_str() => Err(not_found()),
            _ => Ok(user.clone()),
        },
    }
}
