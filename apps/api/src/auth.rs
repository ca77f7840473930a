//! Who is calling: the [`ApiCaller`] extractor, and the per-key rate limit.
//!
//! Invariants:
//! - a request without a live API key never reaches a handler that takes `ApiCaller`
//!   (401 `UNAUTHORIZED`, the same answer for missing, unknown and revoked keys);
//! - each key has its own token bucket (`rate_limit.per_second`, `rate_limit.burst`); an
//!   exhausted bucket answers 429 `RATE_LIMITED` with `Retry-After`, and other keys are
//!   not affected.
//!
//! Bearer tokens (users) join this extractor with the identity issue.

use std::num::NonZeroU32;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
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

/// An authenticated server-to-server caller (an org's API key).
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub principal: KeyPrincipal,
}

impl ApiCaller {
    #[must_use]
    pub fn org_id(&self) -> Uuid {
        self.principal.org_id
    }

    /// The audit `actor` of this caller.
    #[must_use]
    pub fn actor(&self) -> String {
        format!("key:{}", self.principal.key_id)
    }
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            let presented = presented.ok_or(ApiError::Unauthorized)?;
            let principal = api_keys::authenticate(state.db.conn(), presented.trim(), state.clock.now())
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "api key lookup failed");
                    ApiError::Unavailable
                })?
                .ok_or(ApiError::Unauthorized)?;
            if let Err(not_until) = state.limiter.check_key(&principal.key_id) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Err(ApiError::RateLimited { retry_after_secs: retry_after_secs.max(1) });
            }
            tracing::Span::current().record("org_id", tracing::field::display(principal.org_id));
            Ok(ApiCaller { principal })
        })
    }
}
