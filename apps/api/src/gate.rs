//! Authenticate first, then authorize, then parse.
//!
//! actix-web polls a handler's extractors together, so a body or query extractor that
//! fails at once would answer 400 (listing the fields it wanted) while the credential
//! lookup is still waiting on the database. To keep the order "who are you, may you,
//! what do you want":
//! - [`middleware`] resolves the request's credentials (API key or Bearer, and the
//!   caller's rate-limit bucket) before any extractor runs and keeps the outcome in the
//!   request's extensions; `Caller` then extracts at once;
//! - the role extractors ([`OperatorStaff`], [`OperatorAdmin`], [`UserAdmin`],
//!   [`LeaderOrKey`], [`ApiKeyOnly`], [`WebhookManager`]) decide on
//!   that caller at once too. Written before the body in a handler's arguments, they
//!   answer 401/403 before a byte of the body or query is judged.
//!
//! Invariant: a caller without the role never learns an endpoint's fields from a 400.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};
use domain::identity::Role;
use domain::reference::OrgKind;
use futures_util::future::LocalBoxFuture;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// What the middleware found, kept for the extractors.
#[derive(Clone)]
enum Outcome {
    Caller(Box<Caller>),
    Unauthorized,
    RateLimited { retry_after_secs: u64 },
    Unavailable,
}

impl Outcome {
    fn of(result: Result<Caller, ApiError>) -> Self {
        match result {
            Ok(caller) => Self::Caller(Box::new(caller)),
            Err(ApiError::Unauthorized) => Self::Unauthorized,
            Err(ApiError::RateLimited { retry_after_secs }) => Self::RateLimited { retry_after_secs },
            Err(_) => Self::Unavailable,
        }
    }

    fn into_result(self) -> Result<Caller, ApiError> {
        match self {
            Self::Caller(caller) => Ok(*caller),
            Self::Unauthorized => Err(ApiError::Unauthorized),
            Self::RateLimited { retry_after_secs } => Err(ApiError::RateLimited { retry_after_secs }),
            Self::Unavailable => Err(ApiError::Unavailable),
        }
    }
}

/// The caller the middleware resolved for this request, if it ran.
pub(crate) fn resolved(req: &HttpRequest) -> Option<Result<Caller, ApiError>> {
    req.extensions().get::<Outcome>().cloned().map(Outcome::into_result)
}

/// Middleware: resolves the credentials before the handler's extractors run.
///
/// # Errors
/// Passes the inner service's error through; a refusal is kept for the extractors, so
/// public endpoints (health, docs) answer as usual whatever credentials came along.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let (key, bearer) = crate::auth::presented(req.request());
    let outcome = if key.is_none() && bearer.is_none() {
        Outcome::Unauthorized
    } else if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        Outcome::of(crate::auth::resolve(&state, req.request(), key, bearer).await)
    } else {
        Outcome::Unavailable
    };
    req.extensions_mut().insert(outcome);
    next.call(req).await
}

fn decided(req: &HttpRequest, payload: &mut Payload, rule: fn(&Caller) -> Result<(), ApiError>) -> Decided {
    let caller = Caller::from_request(req, payload);
    Box::pin(async move {
        let caller = caller.await?;
        rule(&caller)?;
        Ok(caller)
    })
}

type Decided = LocalBoxFuture<'static, Result<Caller, ApiError>>;

fn is_operator(caller: &Caller) -> bool {
    caller.org_kind() == OrgKind::Operator
}

/// The operator's staff: its API key, an `ADMIN` or a `CS_MANAGER` of the operator org.
pub struct OperatorStaff(pub Caller);

/// The operator's API key or an `ADMIN` of the operator org.
pub struct OperatorAdmin(pub Caller);

/// Who manages an org's users: any org's API key (for its own org), or an operator `ADMIN`.
pub struct UserAdmin(pub Caller);

/// A caller who may distribute and recall: a `LEADER` by Bearer token, or an API key
/// (whose acting `mohomId` is checked for the role once the body names it).
pub struct LeaderOrKey(pub Caller);

/// The rule of [`LeaderOrKey`].
///
/// # Errors
/// 403 `FORBIDDEN` for a Bearer caller who is not a `LEADER`.
pub fn leader_or_key(caller: &Caller) -> Result<(), ApiError> {
    match caller.role() {
        None | Some(Role::Leader) => Ok(()),
        Some(_) => Err(ApiError::forbidden("only a LEADER distributes and recalls leads")),
    }
}

/// An organization's server by its API key (lead intake: its sources post and report
/// under the key of the org they belong to).
pub struct ApiKeyOnly(pub Caller);

/// The rule of [`ApiKeyOnly`].
///
/// # Errors
/// 403 `FORBIDDEN` for a Bearer caller.
pub fn api_key_only(caller: &Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Key(_) => Ok(()),
        Caller::User { .. } => Err(ApiError::forbidden("lead intake takes an organization's API key")),
    }
}

/// Who manages an org's webhook endpoints: its API key, or its `ADMIN` or `LEADER` by
/// Bearer token (`events.md` "Endpoints"; the use case checks the same rule).
pub struct WebhookManager(pub Caller);

/// The rule of [`WebhookManager`].
///
/// # Errors
/// 403 `FORBIDDEN` for a Bearer caller who is neither an `ADMIN` nor a `LEADER`.
pub fn webhook_manager(caller: &Caller) -> Result<(), ApiError> {
    match caller.role() {
        None | Some(Role::Admin | Role::Leader) => Ok(()),
        Some(_) => {
            Err(ApiError::forbidden("only the organization's API key, an ADMIN or a LEADER manages its webhooks"))
        }
    }
}

/// The rule of [`OperatorStaff`].
///
/// # Errors
/// 403 `FORBIDDEN` for anyone else.
pub fn operator_staff(caller: &Caller) -> Result<(), ApiError> {
    let allowed = is_operator(caller) && matches!(caller.role(), None | Some(Role::Admin | Role::CsManager));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden("this is the operator's: its API key, a CS_MANAGER or an ADMIN"))
    }
}

/// The rule of [`OperatorAdmin`].
///
/// # Errors
/// 403 `FORBIDDEN` for anyone else.
pub fn operator_admin(caller: &Caller) -> Result<(), ApiError> {
    if is_operator(caller) && matches!(caller.role(), None | Some(Role::Admin)) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only the operator's API key or an ADMIN of the operator does this"))
    }
}

/// The rule of [`UserAdmin`].
///
/// # Errors
/// 403 `FORBIDDEN` for a Bearer caller who is not an operator `ADMIN`.
pub fn user_admin(caller: &Caller) -> Result<(), ApiError> {
    match caller.role() {
        None => Ok(()),
        Some(Role::Admin) if is_operator(caller) => Ok(()),
        Some(_) => Err(ApiError::forbidden("only an API key or an operator ADMIN manages users")),
    }
}

macro_rules! role_extractor {
    ($name:ident, $rule:path) => {
        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let decided = decided(req, payload, $rule);
                Box::pin(async move { decided.await.map($name) })
            }
        }
    };
}

role_extractor!(OperatorStaff, operator_staff);
role_extractor!(OperatorAdmin, operator_admin);
role_extractor!(UserAdmin, user_admin);
role_extractor!(LeaderOrKey, leader_or_key);
role_extractor!(ApiKeyOnly, api_key_only);
role_extractor!(WebhookManager, webhook_manager);
