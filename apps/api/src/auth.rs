//! Who is calling and for whom: the [`Caller`] extractor (API key or Bearer token), the
//! rate limits ([`Limits`]), the scopes of API keys, and [`acting_user`] (the `mohomId`
//! rule).
//!
//! Invariants:
//! - a request without live credentials never reaches a handler that takes `Caller`:
//!   401 `UNAUTHORIZED`, the same answer for missing, unknown, revoked, expired or forged
//!   credentials, and for a token whose user is deleted;
//! - a Bearer token lives only as long as what issued it: every request checks the token's
//!   user (active, same org, same `generation`: a delete, a revival of the `mohomId` or a
//!   role change bumps it) and, for a token minted by an API key, that key (not revoked);
//! - keys, users, orgs and members come from `state.principals`, the bounded in-process
//!   cache of ADR 0009: a request whose principal is cached sends no statement to
//!   authenticate. A revocation or role change made through this process (or, on
//!   PostgreSQL, through any node: LISTEN/NOTIFY) takes effect on the next request; one
//!   made where no notification reaches (the CLI on SQLite) within `auth.cache_ttl_secs`
//!   (at most 60 s);
//! - an API key acts for a `mohomId` of its own org only; another org's user is 404, not
//!   403 (no existence leak); a Bearer caller acts for itself only;
//! - an API key reaches only the routes of its scopes ([`scope_of`]); a token minted by a
//!   key has the key's scopes; a route without a scope needs `*`;
//! - buckets: each API key has one (`rate_limit.per_second/burst`), shared by every
//!   token it minted, so minting tokens does not multiply the rate; an SSO user has its
//!   own. Searches and contact reveals draw on stricter per-acting-user buckets
//!   (`rate_limit.search`, `rate_limit.reveal`). Failed authentications and SSO logins
//!   draw on per-client-address buckets (`rate_limit.auth_failure`, `rate_limit.sso`);
//! - every exhausted bucket answers 429 `RATE_LIMITED` with `Retry-After` (whole seconds,
//!   at least 1), and nobody else's bucket is touched;
//! - limiter keys are bounded: the address-keyed ones take the client address only
//!   (IPv4, or the /64 of an IPv6 address; `X-Forwarded-For` only from a configured
//!   trusted proxy), and idle keys are swept ([`Buckets`]).

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::identity::{MohomId, Role, User};
use domain::reference::OrgKind;
use futures_util::future::LocalBoxFuture;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use infra::api_keys::KeyPrincipal;
use infra::config::{BucketSettings, RateLimitSettings};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

/// How often idle keys are swept out of a limiter.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Past this many keys, a limiter sweeps as soon as a second has passed since the last sweep.
const SWEEP_AT_KEYS: usize = 10_000;

/// A keyed token-bucket limiter whose idle keys are swept out.
///
/// A key is idle once its bucket is full again (at most `burst / per_second` seconds after
/// its last request); it is then indistinguishable from a new key and dropped by
/// `retain_recent`. The sweep runs on the request path, every [`SWEEP_EVERY`] (or each
/// second above [`SWEEP_AT_KEYS`] keys), so the number of keys is bounded by the keys
/// active within the last refill time plus the sweep interval.
pub struct Buckets<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    started: Instant,
    /// Milliseconds after `started` of the last sweep.
    last_sweep_ms: AtomicU64,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Buckets<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets").field("keys", &self.limiter.len()).finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Buckets of `per_second` with `burst` (zero is raised to 1; settings validate non-zero).
    #[must_use]
    pub fn new(bucket: BucketSettings) -> Self {
        let per_second = NonZeroU32::new(bucket.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(bucket.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: governor::RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            started: Instant::now(),
            last_sweep_ms: AtomicU64::new(0),
        }
    }

    /// Takes one request from `key`'s bucket.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] with the whole seconds until the bucket has a token again.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        self.sweep_if_due();
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited { retry_after_secs: secs.max(1) }
        })
    }

    /// How many keys the limiter holds now.
    #[must_use]
    pub fn keys(&self) -> usize {
        self.limiter.len()
    }

    /// Drops the keys whose bucket is full again.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    fn sweep_if_due(&self) {
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        let every = if self.limiter.len() > SWEEP_AT_KEYS { 1_000 } else { SWEEP_EVERY.as_millis() as u64 };
        if now_ms.saturating_sub(last) >= every
            && self.last_sweep_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.sweep();
        }
    }
}

/// The rate limits of the API (see the module invariants).
#[derive(Debug)]
pub struct Limits {
    /// Per API key (tokens it minted included) or per SSO user.
    pub general: Buckets<Uuid>,
    /// Per acting user: searches by phone, email or name.
    pub search: Buckets<Uuid>,
    /// Per acting user: contact reveals.
    pub reveal: Buckets<Uuid>,
    /// Per client address: failed authentications.
    pub auth_failures: Buckets<IpAddr>,
    /// Per client address: SSO logins.
    pub sso: Buckets<IpAddr>,
    trusted_proxies: Vec<IpAddr>,
}

impl Limits {
    #[must_use]
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            general: Buckets::new(BucketSettings { per_second: settings.per_second, burst: settings.burst }),
            search: Buckets::new(settings.search),
            reveal: Buckets::new(settings.reveal),
            auth_failures: Buckets::new(settings.auth_failure),
            sso: Buckets::new(settings.sso),
            trusted_proxies: settings.trusted_proxy_addrs(),
        }
    }

    /// The client address a request is counted under: the TCP peer; when the peer is a
    /// configured trusted proxy, the right-most `X-Forwarded-For` entry that is not itself
    /// a trusted proxy (entries left of it are the client's to write, so never believed).
    /// IPv6 addresses count by their /64, IPv4-mapped ones as IPv4. Without a peer (an
    /// in-process test request) the unspecified address stands in.
    #[must_use]
    pub fn client_address(&self, req: &HttpRequest) -> IpAddr {
        let peer = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let mut client = peer;
        if self.trusted_proxies.contains(&peer) {
            let hops = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect::<Vec<_>>();
            for hop in hops.iter().rev() {
                match hop.parse::<IpAddr>() {
                    Ok(ip) if self.trusted_proxies.contains(&ip) => {}
                    Ok(ip) => {
                        client = ip;
                        break;
                    }
                    // A malformed hop: stop believing the header there.
                    Err(_) => break,
                }
            }
        }
        bucket_address(client)
    }
}

/// IPv4 as is; IPv4-mapped IPv6 as IPv4; other IPv6 reduced to its /64 (one host's share).
fn bucket_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
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

    /// The domain's view of this caller; a token's user acts as itself, an API key acts
    /// as no one until [`principal`] resolves its `mohomId`.
    #[must_use]
    pub fn principal(&self) -> domain::principal::Principal {
        use domain::principal::{Credential, Principal};
        match self {
            Self::Key(key) => Principal {
                org_id: key.org_id,
                org_kind: key.org_kind,
                credential: Credential::ApiKey { key_id: key.key_id },
                acting: None,
            },
            Self::User { user, org_kind } => Principal {
                org_id: user.org_id,
                org_kind: *org_kind,
                credential: Credential::Token { user_id: user.id },
                acting: Some(user.clone()),
            },
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

    /// The key's id for an API key, the user's id for a Bearer caller.
    #[must_use]
    pub fn principal_id(&self) -> Uuid {
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

/// The scope (see [`infra::api_keys::SCOPES`]) an API key needs for a route, by the
/// route's template; `None`: the route belongs to no area, and only `*` reaches it.
#[must_use]
pub fn scope_of(template: &str) -> Option<&'static str> {
    // First match wins: the reference reads under /as before the AS area.
    const AREAS: &[(&str, &str)] = &[
        ("/api/v1/as/reasons", "reference"),
        ("/api/v1/products", "reference"),
        ("/api/v1/regions", "reference"),
        ("/api/v1/auth/token", "tokens"),
        ("/api/v1/leads", "leads"),
        ("/api/v1/orders", "orders"),
        ("/api/v1/as", "as"),
        ("/api/v1/files", "as"),
        ("/api/v1/users", "users"),
        ("/api/v1/counsel", "counsel"),
        ("/v2/customerservice", "counsel"),
        ("/lead-platform", "intake"),
        ("/api/v1/orgs", "orgs"),
        ("/api/v1/webhooks", "webhooks"),
        ("/api/v1/coverage", "funnel"),
    ];
    AREAS.iter().find_map(|(prefix, scope)| {
        let under = template.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        under.then_some(*scope)
    })
}

fn check_scope(key: &KeyPrincipal, template: Option<&str>) -> Result<(), ApiError> {
    let needed = template.and_then(scope_of);
    let allowed = match needed {
        Some(scope) => key.allows(scope),
        None => key.allows("*"),
    };
    if allowed {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        code: ErrorCode::InsufficientScope,
        message: format!("this API key's scopes do not include `{}`", needed.unwrap_or("*")),
    })
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "credential lookup failed");
    ApiError::Unavailable
}

/// A caller, the bucket of its general rate limit, and the key whose scopes bind it.
struct Authenticated {
    caller: Caller,
    bucket: Uuid,
    key: Option<KeyPrincipal>,
}

async fn authenticate(
    state: &AppState,
    req_key: Option<String>,
    bearer: Option<String>,
) -> Result<Authenticated, ApiError> {
    if let Some(presented) = req_key {
        let principal = state
            .principals
            .key(state.db.conn(), presented.trim(), state.clock.now())
            .await
            .map_err(unavailable)?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Authenticated {
            bucket: principal.key_id,
            key: Some(principal.clone()),
            caller: Caller::Key(principal),
        });
    }
    let token = bearer.ok_or(ApiError::Unauthorized)?;
    let claims = state.tokens.verify(&token).map_err(|_| ApiError::Unauthorized)?;
    let user_id = claims.sub.parse::<Uuid>().map_err(|_| ApiError::Unauthorized)?;
    let minted_by = claims.key.as_deref().map(str::parse::<Uuid>).transpose().map_err(|_| ApiError::Unauthorized)?;
    let (user, generation) =
        state.principals.user(&state.users, user_id).await.map_err(unavailable)?.ok_or(ApiError::Unauthorized)?;
    if !user.is_active() || user.org_id.to_string() != claims.org || generation != claims.r#gen {
        return Err(ApiError::Unauthorized);
    }
    match minted_by {
        Some(key_id) => {
            let key = state
                .principals
                .key_by_id(state.db.conn(), key_id)
                .await
                .map_err(unavailable)?
                .filter(|k| k.org_id == user.org_id)
                .ok_or(ApiError::Unauthorized)?;
            Ok(Authenticated {
                bucket: key.key_id,
                caller: Caller::User { user, org_kind: key.org_kind },
                key: Some(key),
            })
        }
        None => {
            let org = state
                .principals
                .org(state.db.conn(), user.org_id)
                .await
                .map_err(unavailable)?
                .ok_or(ApiError::Unauthorized)?;
            Ok(Authenticated { bucket: user.id, caller: Caller::User { user, org_kind: org.kind }, key: None })
        }
    }
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

/// The scopes of the API key behind a request's caller (the key itself, or the key that
/// minted its Bearer token), kept in the request's extensions by [`resolve`] for the
/// `Caller` extractor, which knows the matched route.
#[derive(Clone)]
struct KeyScopes(KeyPrincipal);

/// Authenticates the presented credentials and takes a token from the caller's bucket; a
/// failure takes one from the client address's failure bucket instead.
///
/// # Errors
/// 401 for missing or dead credentials, 429 for an exhausted bucket (the caller's, or the
/// address's failure bucket), 503 when the credential store does not answer.
pub(crate) async fn resolve(
    state: &AppState,
    req: &HttpRequest,
    key: Option<String>,
    bearer: Option<String>,
) -> Result<Caller, ApiError> {
    let client = state.limits.client_address(req);
    let authenticated = match authenticate(state, key, bearer).await {
        Ok(authenticated) => authenticated,
        Err(ApiError::Unauthorized) => {
            // Past the address's failure budget, a failure answers 429 instead.
            state.limits.auth_failures.check(&client)?;
            return Err(ApiError::Unauthorized);
        }
        Err(other) => return Err(other),
    };
    state.limits.general.check(&authenticated.bucket)?;
    if let Some(key) = authenticated.key {
        req.extensions_mut().insert(KeyScopes(key));
    }
    let caller = authenticated.caller;
    tracing::Span::current().record("org_id", tracing::field::display(caller.org_id()));
    Ok(caller)
}

/// The scope check of a resolved caller, on the route the request matched.
fn scoped(req: &HttpRequest, caller: Result<Caller, ApiError>) -> Result<Caller, ApiError> {
    let caller = caller?;
    let scopes = req.extensions().get::<KeyScopes>().cloned();
    if let Some(KeyScopes(key)) = scopes {
        check_scope(&key, req.match_pattern().as_deref())?;
    }
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// The caller `crate::gate::middleware` resolved before any extractor ran (so a
    /// refusal here comes before any body or query is parsed); without the middleware,
    /// resolved now. Either way, an API key's scopes are checked on the matched route.
    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if let Some(resolved) = crate::gate::resolved(req) {
            return Box::pin(std::future::ready(scoped(req, resolved)));
        }
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Box::pin(async { Err(ApiError::Internal(anyhow::anyhow!("AppState is not registered"))) });
        };
        let (key, bearer) = presented(req);
        let req = req.clone();
        Box::pin(async move {
            let resolved = resolve(&state, &req, key, bearer).await;
            scoped(&req, resolved)
        })
    }
}

/// Takes one search from the acting user's bucket (`rate_limit.search`); `acting` is the
/// acting user's id, or [`Caller::principal_id`] where no user acts (the user list).
///
/// # Errors
/// 429 `RATE_LIMITED` with `Retry-After`.
pub fn limit_search(state: &AppState, acting: Uuid) -> Result<(), ApiError> {
    state.limits.search.check(&acting)
}

/// Takes one contact reveal from the acting user's bucket (`rate_limit.reveal`).
///
/// # Errors
/// 429 `RATE_LIMITED` with `Retry-After`.
pub fn limit_reveal(state: &AppState, acting: Uuid) -> Result<(), ApiError> {
    state.limits.reveal.check(&acting)
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
    let not_found = || ApiError::not_found(ErrorCode::UserNotFound, "no such user in this organization");
    match caller {
        Caller::Key(key) => {
            let raw = mohom_id.ok_or_else(|| ApiError::invalid("mohomId", "is required with an API key"))?;
            let mohom = MohomId::parse(raw)?;
            match state.principals.member(&state.users, key.org_id, &mohom).await? {
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

/// The principal of a member-scoped call: the caller acting as the user [`acting_user`]
/// resolves.
///
/// # Errors
/// As [`acting_user`].
pub async fn principal(
    state: &AppState,
    caller: &Caller,
    mohom_id: Option<&str>,
) -> Result<domain::principal::Principal, ApiError> {
    let user = acting_user(state, caller, mohom_id).await?;
    Ok(caller.principal().acting_as(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_their_area_and_unknown_routes_to_none() {
        assert_eq!(scope_of("/api/v1/as/reasons"), Some("reference"));
        assert_eq!(scope_of("/api/v1/as/{asId}/approve"), Some("as"));
        assert_eq!(scope_of("/api/v1/leads/{leadId}/use"), Some("leads"));
        assert_eq!(scope_of("/lead-platform/v1/leads/create"), Some("intake"));
        assert_eq!(scope_of("/v2/customerservice/csAllocationMgmt/manualAssign"), Some("counsel"));
        assert_eq!(scope_of("/api/v1/webhooks/{id}/deliveries"), Some("webhooks"));
        assert_eq!(scope_of("/api/v1/coverage/identity/request"), Some("funnel"));
        assert_eq!(scope_of("/api/v1/assets"), None, "a prefix only counts at a path segment");
        assert_eq!(scope_of("/test/widgets"), None);
    }

    #[test]
    fn every_area_scope_is_one_a_key_can_hold() {
        for template in ["/api/v1/regions", "/api/v1/auth/token", "/api/v1/orders", "/api/v1/files/presigned"] {
            let scope = scope_of(template).unwrap_or("?");
            assert!(infra::api_keys::SCOPES.contains(&scope), "{template}: {scope}");
        }
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(bucket_address(a), bucket_address(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(bucket_address(mapped), IpAddr::from([192, 0, 2, 7]));
    }

    #[test]
    fn idle_keys_are_swept_out() {
        let buckets = Buckets::<u32>::new(BucketSettings { per_second: 1000, burst: 1 });
        for key in 0..100 {
            assert!(buckets.check(&key).is_ok());
        }
        assert_eq!(buckets.keys(), 100);
        std::thread::sleep(Duration::from_millis(5));
        buckets.sweep();
        assert_eq!(buckets.keys(), 0, "full buckets are indistinguishable from new ones");
    }

    #[test]
    fn an_exhausted_bucket_says_when_to_retry() {
        let buckets = Buckets::<u32>::new(BucketSettings { per_second: 1, burst: 2 });
        assert!(buckets.check(&1).is_ok() && buckets.check(&1).is_ok());
        match buckets.check(&1) {
            Err(ApiError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(buckets.check(&2).is_ok(), "another key is untouched");
    }
}
