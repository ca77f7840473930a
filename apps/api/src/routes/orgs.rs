//! Onboarding a partner: the operator's paths under `/api/v1/orgs`.
//!
//! - Every path is the operator's administration: its API key, or an `ADMIN` user of the
//!   operator org (Bearer); anyone else gets 403 `FORBIDDEN` and nothing is written.
//! - `POST /api/v1/orgs` and `POST /api/v1/orgs/{code}/sources` honour `Idempotency-Key`;
//!   `POST /api/v1/orgs/{code}/api-keys` does not, so the key's plaintext is never stored
//!   (not even in an idempotency record): it is in that one reply (`Cache-Control:
//!   no-store`) and nowhere else.
//! - The rules are `domain::service::orgs`; the handlers declare, extract, call, answer.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::reference::OrgKind;
use domain::service::orgs::{Actor, Code, IssuedApiKey, NewOrg, NewSource, OnboardError, Org, OrgService, Source};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ErrorResponse};
use crate::gate::OperatorAdmin;
use crate::idempotency::Principal;
use crate::state::AppState;
use crate::wire::timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_org).service(list_orgs).service(create_source).service(create_api_key);
}

/// `kind` of a new org: the kinds onboarding makes (there is one operator).
#[allow(deprecated)] // `example`, as the derived schemas write it
fn org_kind_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("`PARTNER` (or `PROVIDER`); there is one operator."))
        .enum_values(Some([OrgKind::Partner.as_str(), OrgKind::Provider.as_str()]))
        .example(Some("PARTNER".into()))
        .build()
}

/// A new partner organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// Unique; 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
    #[schema(example = "partner-2", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub code: String,
    /// 1 to 200 characters.
    #[schema(example = "Partner Two")]
    pub name: String,
    #[schema(schema_with = org_kind_schema)]
    pub kind: String,
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgResponse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `PARTNER`, `PROVIDER` or `OPERATOR`.
    pub kind: String,
    pub created_at: String,
}

impl From<&Org> for OrgResponse {
    fn from(org: &Org) -> Self {
        Self {
            id: org.id,
            code: org.code.clone(),
            name: org.name.clone(),
            kind: org.kind.as_str().to_owned(),
            created_at: timestamp(org.created_at),
        }
    }
}

/// An organization in the operator's list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgListItem {
    #[serde(flatten)]
    pub org: OrgResponse,
    /// Its leads held `DUPLICATE_OTHER_PROVIDER`: another provider sent the same phone
    /// and product first; kept for the operator, delivered to no order.
    pub held_leads: u64,
}

/// Every organization, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgsListResponse {
    pub data: Vec<OrgListItem>,
}

/// A new lead source of an organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSourceRequest {
    /// The intake's `source` header value; unique across organizations, same format as
    /// an org code.
    #[schema(example = "SRC2", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub code: String,
    /// The product the source's leads go to when no project code selects another.
    pub default_product_id: Uuid,
    /// 1 to 200 characters; the code when absent.
    pub name: Option<String>,
}

/// A lead source.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceResponse {
    pub id: Uuid,
    pub code: String,
    pub org_code: String,
    pub name: String,
    pub default_product_id: Uuid,
    pub created_at: String,
}

/// A new API key of an organization (the body is optional).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// 1 to 100 characters; `onboarding` when absent.
    pub label: Option<String>,
}

/// An API key just issued: `key` is shown here once and never again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    pub id: Uuid,
    pub org_code: String,
    pub label: String,
    /// `ldb_live_<prefix>_<secret>`; only its SHA-256 is stored.
    pub key: String,
    pub created_at: String,
}

// Carries a credential: not printed.
domain::redacting_debug!(ApiKeyCreated { show: [id, org_code, label, created_at], redact: [key] });

fn source_response(source: &Source, org_code: &str) -> SourceResponse {
    SourceResponse {
        id: source.id,
        code: source.code.clone(),
        org_code: org_code.to_owned(),
        name: source.name.clone(),
        default_product_id: source.default_product_id,
        created_at: timestamp(source.created_at),
    }
}

fn key_response(key: &IssuedApiKey, org_code: &str) -> ApiKeyCreated {
    ApiKeyCreated {
        id: key.id,
        org_code: org_code.to_owned(),
        label: key.label.clone(),
        key: key.key.expose().to_owned(),
        created_at: timestamp(key.created_at),
    }
}

/// The `{code}` of a path: a malformed code names no org (404, like an unknown one).
fn path_code(raw: &str) -> Result<Code, ApiError> {
    Code::parse("code", raw).map_err(|_| OnboardError::OrgNotFound.into())
}

/// Creates a partner organization (operator administrators only).
#[utoipa::path(
    tag = "orgs",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, body = OrgResponse, description = "the organization"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (code, name, kind) or INVALID_JSON (e.g. an unknown field)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator's key or an operator ADMIN)"),
        (status = 409, body = ErrorResponse, description = "ORG_ALREADY_EXISTS"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/orgs")]
pub async fn create_org(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    req: HttpRequest,
    body: web::Json<CreateOrgRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let new = NewOrg::parse(&body.code, &body.name, &body.kind)?;
        let actor = caller.actor();
        let org = OrgService::new(&state.orgs, &state.reference, &*state.clock).create_org(Actor(&actor), new).await?;
        Ok((StatusCode::CREATED, OrgResponse::from(&org)))
    })
    .await
}

/// Lists every organization, oldest first, with its held leads (operator administrators
/// only).
#[utoipa::path(
    tag = "orgs",
    responses(
        (status = 200, body = OrgsListResponse, description = "every organization"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator's key or an operator ADMIN)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/orgs")]
pub async fn list_orgs(state: web::Data<AppState>, _admin: OperatorAdmin) -> Result<HttpResponse, ApiError> {
    let orgs = OrgService::new(&state.orgs, &state.reference, &*state.clock).list_orgs().await?;
    let data = orgs.iter().map(|o| OrgListItem { org: OrgResponse::from(&o.org), held_leads: o.held_leads }).collect();
    Ok(HttpResponse::Ok().json(OrgsListResponse { data }))
}

/// Adds a lead source to an organization (operator administrators only): the intake's
/// `source` header then names it, with the organization's API key.
#[utoipa::path(
    tag = "orgs",
    params(("code" = String, Path, description = "The organization's code")),
    request_body = CreateSourceRequest,
    responses(
        (status = 201, body = SourceResponse, description = "the source"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (code, name) or INVALID_JSON (e.g. an unknown field)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator's key or an operator ADMIN)"),
        (status = 404, body = ErrorResponse, description = "ORG_NOT_FOUND or PRODUCT_NOT_FOUND (defaultProductId)"),
        (status = 409, body = ErrorResponse, description = "SOURCE_ALREADY_EXISTS (the code is taken, by any organization)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/orgs/{code}/sources")]
pub async fn create_source(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<CreateSourceRequest>,
) -> Result<HttpResponse, ApiError> {
    let org_code = path_code(&path)?;
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let new = NewSource::parse(&body.code, body.name.as_deref(), body.default_product_id)?;
        let actor = caller.actor();
        let source = OrgService::new(&state.orgs, &state.reference, &*state.clock)
            .add_source(Actor(&actor), org_code.as_str(), new)
            .await?;
        Ok((StatusCode::CREATED, source_response(&source, org_code.as_str())))
    })
    .await
}

/// Issues an API key for an organization (operator administrators only). The key is in
/// this reply once; `Idempotency-Key` is not honoured here, so it is stored nowhere.
#[utoipa::path(
    tag = "orgs",
    params(("code" = String, Path, description = "The organization's code")),
    request_body(content = Option<CreateApiKeyRequest>, description = "optional: the key's label"),
    responses(
        (status = 201, body = ApiKeyCreated, description = "the key, shown once (Cache-Control: no-store)"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (label) or INVALID_JSON (e.g. an unknown field)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator's key or an operator ADMIN)"),
        (status = 404, body = ErrorResponse, description = "ORG_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/orgs/{code}/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    req: HttpRequest,
    path: web::Path<String>,
    body: Result<web::Json<Option<CreateApiKeyRequest>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = crate::extract::optional_body(&req, body)?;
    let org_code = path_code(&path)?;
    let label = body.and_then(|b| b.label);
    let label = domain::service::orgs::parse_label(label.as_deref().unwrap_or("onboarding")).map_err(ApiError::from)?;
    let actor = caller.actor();
    let key = OrgService::new(&state.orgs, &state.reference, &*state.clock)
        .issue_api_key(Actor(&actor), org_code.as_str(), &label)
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(key_response(&key, org_code.as_str())))
}
