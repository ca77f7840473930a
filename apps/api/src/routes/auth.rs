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
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::PersonName;
use domain::ports::UserRepository;
use domain::reference::OrgKind;
use infra::tokens::{self, SsoClaims, TokenSubject};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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

/// A token for the user as stored now (its current generation), minted by `key_id` (`None`
/// for SSO); 404 `USER_NOT_FOUND` if the user was deleted in the meantime.
async fn token_for(state: &AppState, user_id: Uuid, key_id: Option<Uuid>) -> Result<(TokenResponse, User), ApiError> {
    let (user, generation) = state
        .users
        .find_for_token(user_id)
        .await?
        .filter(|(u, _)| u.is_active())
        .ok_or_else(|| ApiError::not_found("USER_NOT_FOUND", "no such user in this organization"))?;
    let subject = TokenSubject {
        user_id: user.id,
        org_id: user.org_id,
        mohom_id: user.mohom_id.as_str(),
        role: user.role.as_str(),
        generation,
        key_id,
    };
    let access_token = state.tokens.issue(&subject, state.clock.now()).map_err(|e| ApiError::Internal(e.into()))?;
    Ok((TokenResponse { access_token, token_type: "Bearer", expires_in: state.tokens.ttl_secs() }, user))
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
    let (token, _) = token_for(&state, user.id, Some(key.key_id)).await?;
    Ok(HttpResponse::Ok().json(token))
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

fn unauthorized(reason: &str) -> ApiError {
    tracing::info!(reason, "SSO login refused");
    ApiError::Unauthorized
}

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
    let now = state.clock.now();
    let org_id = tokens::sso_issuer_unverified(token)
        .ok()
        .and_then(|iss| iss.parse::<Uuid>().ok())
        .ok_or_else(|| unauthorized("no org id in iss"))?;
    let org = infra::orgs::find(state.db.conn(), org_id)
        .await?
        .filter(|o| o.kind == OrgKind::Partner)
        .ok_or_else(|| unauthorized("unknown or non-partner org"))?;
    let sso = infra::orgs::sso(state.db.conn(), &state.keyring, org.id)
        .await?
        .ok_or_else(|| unauthorized("org has no SSO secret"))?;
    let claims: SsoClaims = tokens::verify_sso(token, org.id, &sso.secret, state.settings.jwt.leeway_secs, now)
        .map_err(|_| unauthorized("verification failed"))?;
    let mohom_id = MohomId::parse(&claims.sub).map_err(|_| unauthorized("bad sub"))?;
    let name = PersonName::parse(&claims.name).map_err(|_| unauthorized("bad name"))?;
    let redirect = match query.redirect_uri.as_deref() {
        Some(uri) if sso.redirect_allowlist.iter().any(|allowed| allowed == uri) => uri.to_owned(),
        _ => sso
            .default_redirect
            .clone()
            .ok_or_else(|| ApiError::invalid("redirectUri", "is not allowed and the organization has no default"))?,
    };
    if !infra::orgs::consume_sso_jti(state.db.conn(), org.id, &claims.jti, claims.exp, now)
        .await
        .map_err(|e| ApiError::from(infra::orgs::OrgError::Db(e)))?
    {
        return Err(unauthorized("replayed jti"));
    }
    let user = upsert_sso_user(&state, org.id, mohom_id, name).await?;
    let (token, user) = token_for(&state, user.id, None).await?;
    let wants_json =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(HttpResponse::Ok().json(SsoLoginResponse {
            access_token: token.access_token,
            token_type: "Bearer",
            expires_in: token.expires_in,
            redirect_uri: redirect,
            user: UserResponse::from(&user),
        }));
    }
    let location =
        format!("{redirect}#accessToken={}&tokenType=Bearer&expiresIn={}", token.access_token, token.expires_in);
    Ok(HttpResponse::Found().insert_header((header::LOCATION, location)).finish())
}

/// Creates the SSO user as a `MEMBER`, or refreshes the name of an existing one; a
/// deleted user cannot log in.
async fn upsert_sso_user(
    state: &AppState,
    org_id: Uuid,
    mohom_id: MohomId,
    name: PersonName,
) -> Result<User, ApiError> {
    let now = state.clock.now();
    match state.users.find(org_id, &mohom_id).await? {
        Some(user) if user.status == UserStatus::Deleted => Err(unauthorized("deleted user")),
        Some(user) => {
            let updated = User { name, updated_at: now, ..user };
            state.users.update(&updated).await?;
            Ok(updated)
        }
        None => {
            // SSO users arrive without phone or email, so they are built here, not by NewUser.
            let user = User {
                id: domain::ids::new_id(),
                org_id,
                mohom_id,
                role: Role::Member,
                team_id: None,
                name,
                phone: None,
                email: None,
                status: UserStatus::Active,
                created_at: now,
                updated_at: now,
            };
            state.users.insert(&user).await?;
            Ok(user)
        }
    }
}
