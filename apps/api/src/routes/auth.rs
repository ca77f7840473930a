//! Tokens: `GET /api/v1/auth/token` (an org's key gets a token for one of its users) and
//! `GET /api/v1/auth/sso` (a partner-signed, single-use SSO token logs a user in).
//!
//! SSO invariants: the token is verified with its org's own secret (HS256 only), lives at
//! most 5 minutes, and its `jti` is accepted once; the redirect goes to `redirectUri` only
//! when it is on the org's allow-list (exact match), else to the org's default, never to
//! an address the token's bearer chose. Every SSO attempt draws on its client address's
//! bucket (`rate_limit.sso`) before anything is verified.
//!
//! An access token names the API key that minted it (none for SSO) and the user's
//! generation at issue; `crate::auth` refuses it once the key is revoked or the
//! generation moved (user deleted, recreated, or given another role).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::service::tokens::{AccessToken, TokenService};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, acting_user};
use crate::error::{ApiError, ErrorResponse};
use crate::routes::users::UserResponse;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(issue_token).service(sso_login);
}

/// An access token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: u64,
}

// Carries a credential: not printed.
domain::redacting_debug!(TokenResponse { show: [token_type, expires_in], redact: [access_token] });

/// The user a token is issued for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// A user of the key's org.
    pub mohom_id: Option<String>,
}

impl From<AccessToken> for TokenResponse {
    fn from(token: AccessToken) -> Self {
        Self { access_token: token.token, token_type: "Bearer", expires_in: token.expires_in }
    }
}

/// 인증토큰 발급: an access token for `mohomId`, authenticated by the org's API key.
#[utoipa::path(
    tag = "auth",
    params(TokenQuery),
    responses(
        (status = 200, body = TokenResponse, description = "a Bearer token for the user"),
        (status = 400, body = ErrorResponse, description = "mohomId missing or malformed"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "a Bearer caller cannot mint tokens"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []))
)]
#[get("/api/v1/auth/token")]
pub async fn issue_token(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let Caller::Key(key) = &caller else {
        return Err(ApiError::forbidden("tokens are issued to an organization's API key"));
    };
    let user = acting_user(&state, &caller, query.mohom_id.as_deref()).await?;
    let (token, _) = TokenService::new(&state.users, &state.orgs, &*state.tokens, &*state.clock)
        .token_for(user.id, Some(key.key_id))
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(token)))
}

/// SSO login parameters.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SsoLoginRequest {
    /// A JWT the partner org signed (HS256) with its SSO secret: `iss` = org id,
    /// `sub` = mohomId, `name`, `exp` at most 5 minutes ahead, a single-use `jti`.
    // A credential: `Secret` never prints it.
    #[param(value_type = Option<String>)]
    #[schema(value_type = Option<String>)]
    pub token: Option<domain::secret::Secret<String>>,
    /// Where to go after login; must be on the org's allow-list, else the org's default is used.
    pub redirect_uri: Option<String>,
}

/// The JSON answer of an SSO login (with `Accept: application/json`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsoLoginResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    pub expires_in: u64,
    /// The address the browser flow redirects to.
    pub redirect_uri: String,
    pub user: UserResponse,
}

// Carries a credential: not printed.
domain::redacting_debug!(SsoLoginResponse {
    show: [token_type, expires_in, user],
    redact: [access_token, redirect_uri]
});

/// SSO 로그인: verifies the partner's token, creates or updates the user, then redirects
/// to `redirectUri#accessToken=...` (302), or answers `SsoLoginResponse` to
/// `Accept: application/json`.
#[utoipa::path(
    tag = "auth",
    params(SsoLoginRequest),
    responses(
        (status = 200, body = SsoLoginResponse, description = "with Accept: application/json"),
        (status = 302, description = "to the redirect address, with the token in the fragment"),
        (status = 400, body = ErrorResponse, description = "token missing, or no usable redirect address"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED: bad, expired, replayed or foreign token"),
    )
)]
#[get("/api/v1/auth/sso")]
pub async fn sso_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SsoLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limits.sso.check(&state.limits.client_address(&req))?;
    let token = query
        .token
        .as_ref()
        .map(|t| t.expose().as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid("token", "is required"))?;
    let service = TokenService::new(&state.users, &state.orgs, &*state.tokens, &*state.clock);
    let login = service.sso_login(token, query.redirect_uri.as_deref()).await?;
    let (token, redirect) = (TokenResponse::from(login.token), login.redirect);
    let wants_json =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(HttpResponse::Ok().json(SsoLoginResponse {
            access_token: token.access_token,
            token_type: "Bearer",
            expires_in: token.expires_in,
            redirect_uri: redirect,
            user: UserResponse::from(&login.user),
        }));
    }
    let location =
        format!("{redirect}#accessToken={}&tokenType=Bearer&expiresIn={}", token.access_token, token.expires_in);
    Ok(HttpResponse::Found().insert_header((header::LOCATION, location)).finish())
}
