//! AS (seed 000: AS 신청 리스트, AS 신청, AS 신청 단건 조회, AS 신청 취소) and the
//! operator's decision (approve, reject): requests in, `domain::service::as_claims` in
//! the middle, AS DTOs out.
//!
//! - A member claims, lists, reads and cancels their own AS (API key + `mohomId`, or
//!   Bearer); another user's AS is 404.
//! - The operator (its API key, or an `ADMIN` of the operator org) lists and reads every
//!   AS and approves or rejects; anyone else gets 403 there.
//! - Every rule lives in the use case and `domain::as_claim`; a refusal changes nothing.
//! - The request schemas state each rule a schema can (formats, patterns, lengths, the
//!   reason codes); what they cannot (an existing member, a lead they own, their uploaded
//!   files, the product's AS policy) is answered 404/409/400 by the use case.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::as_claim::{AsClaim, AsFilter, NewAsClaim};
use domain::lead::AsStatus;
use domain::principal::Principal;
use domain::reference::AsReasonCode;
use domain::service::as_claims::{AsCaller, AsClaimService, AsClaimView, reach};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{self, Caller};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ActingBody, ActingQuery, optional_body};
use crate::gate::OperatorStaff;
use crate::params::{PageParams, instant};
use crate::state::AppState;
use crate::wire::{Pagination, timestamp};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_as).service(create_as).service(get_as).service(cancel_as).service(approve_as).service(reject_as);
}

/// The AS use cases over the state's ports.
macro_rules! service {
    ($state:expr) => {
        AsClaimService::new(&$state.as_claims, &$state.files, &$state.reference, &*$state.clock)
    };
}

/// `reasonCode`: one of the codes, as `domain::reference::AsReasonCode` knows them.
fn reason_code_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("A code of `GET /api/v1/as/reasons` the product's policy accepts."))
        .enum_values(Some(AsReasonCode::ALL.iter().map(|c| c.as_str())))
        .build()
}

/// One evidence file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsFileDto {
    pub file_key: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the stored bytes (local storage), when known.
    pub sha256: Option<String>,
    pub uploaded_at: Option<String>,
}

/// One transition of an AS.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsHistoryDto {
    /// Null for the creation.
    pub from_status: Option<String>,
    pub status: String,
    pub status_label: String,
    /// `user:<id>`, `key:<id>` or `system` (auto-approval).
    pub actor: String,
    pub comment: Option<String>,
    pub at: String,
}

/// One AS request with its evidence and status history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsDetail {
    pub id: Uuid,
    pub lead_id: Uuid,
    /// The assignment the claim was made on.
    pub assignment_id: Uuid,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub reason_code: String,
    pub reason_label: String,
    pub description: String,
    /// `REQUESTED`, `IN_REVIEW`, `APPROVED`, `REJECTED` or `CANCELLED`.
    pub status: String,
    pub status_label: String,
    /// `REPLACEMENT` or `REFUND` once approved; null before.
    pub compensation: Option<String>,
    /// True when the product's policy approved it at creation.
    pub auto_approved: bool,
    pub created_at: String,
    pub updated_at: String,
    pub decided_at: Option<String>,
    pub files: Vec<AsFileDto>,
    pub history: Vec<AsHistoryDto>,
}

/// One AS in a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsListItem {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub reason_code: String,
    pub reason_label: String,
    pub status: String,
    pub status_label: String,
    pub compensation: Option<String>,
    pub auto_approved: bool,
    pub file_count: usize,
    pub created_at: String,
    pub updated_at: String,
    pub decided_at: Option<String>,
}

/// AS 신청 리스트 response.
#[derive(Debug, Serialize, ToSchema)]
pub struct AsListResponse {
    pub data: Vec<AsListItem>,
    pub pagination: Pagination,
}

/// AS 신청.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAsRequest {
    /// Required with an API key.
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    #[schema(format = Uuid)]
    pub lead_id: String,
    /// A code of `GET /api/v1/as/reasons` the product's policy accepts.
    #[schema(schema_with = reason_code_schema)]
    pub reason_code: String,
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Keys of files uploaded through `POST /api/v1/files/presigned` (purpose
    /// `AS_EVIDENCE`), at most 10.
    #[schema(value_type = BTreeSet<Uuid>, max_items = 10)]
    #[serde(default)]
    pub file_keys: Vec<String>,
}

/// The operator's decision.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsDecisionRequest {
    /// Why; required to reject, at most 2,000 characters.
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// The operator's rejection: why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectAsRequest {
    /// Why, shown in the AS's history; not blank, at most 2,000 characters.
    #[schema(pattern = r"\S", max_length = 2000)]
    pub comment: String,
}

/// AS list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AsListFilter {
    /// The member the call acts for (required with a partner API key); the operator sees
    /// every AS and may narrow them to one of its own users' requests only by status,
    /// lead and time.
    pub mohom_id: Option<String>,
    /// `REQUESTED`, `IN_REVIEW`, `APPROVED`, `REJECTED` or `CANCELLED`.
    pub status: Option<String>,
    pub lead_id: Option<String>,
    /// Created at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Created before this instant (RFC 3339).
    pub to: Option<String>,
}

impl AsListFilter {
    /// The filters and the page, every bad one named in one 400.
    fn parse(&self, page: &PageParams) -> Result<AsFilter, ApiError> {
        let mut errors = Vec::new();
        // Only validation errors come out of these parsers.
        let mut keep = |e: ApiError| {
            if let ApiError::Validation(details) = e {
                errors.extend(details);
            }
        };
        let page = page.parse().map_err(&mut keep).ok();
        let status = self
            .status
            .as_deref()
            .map(|raw| {
                raw.parse::<AsStatus>().map_err(|_| {
                    ApiError::invalid("status", "must be one of REQUESTED, IN_REVIEW, APPROVED, REJECTED, CANCELLED")
                })
            })
            .transpose()
            .map_err(&mut keep)
            .ok()
            .flatten();
        let lead_id = self
            .lead_id
            .as_deref()
            .map(|raw| raw.trim().parse::<Uuid>().map_err(|_| ApiError::invalid("leadId", "must be a UUID")))
            .transpose()
            .map_err(&mut keep)
            .ok()
            .flatten();
        let from = instant(self.from.as_deref(), "from").map_err(&mut keep).ok().flatten();
        let to = instant(self.to.as_deref(), "to").map_err(&mut keep).ok().flatten();
        match page {
            Some(page) if errors.is_empty() => Ok(AsFilter { status, lead_id, from, to, page }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

fn detail(view: &AsClaimView) -> AsDetail {
    let claim = &view.claim;
    AsDetail {
        id: claim.id,
        lead_id: claim.lead_id,
        assignment_id: claim.assignment_id,
        order_id: claim.order_id,
        product_id: claim.product_id,
        reason_code: claim.reason.as_str().to_owned(),
        reason_label: view.reason_label.clone(),
        description: claim.description.clone(),
        status: claim.status.as_str().to_owned(),
        status_label: claim.status.label().to_owned(),
        compensation: claim.compensation.map(|c| c.as_str().to_owned()),
        auto_approved: claim.auto_approved,
        created_at: timestamp(claim.created_at),
        updated_at: timestamp(claim.updated_at),
        decided_at: claim.decided_at.map(timestamp),
        files: claim
            .evidence
            .iter()
            .map(|f| AsFileDto {
                file_key: f.file_key,
                file_name: f.file_name.clone(),
                content_type: f.content_type.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
                uploaded_at: f.uploaded_at.map(timestamp),
            })
            .collect(),
        history: claim
            .history
            .iter()
            .map(|h| AsHistoryDto {
                from_status: h.from.map(|s| s.as_str().to_owned()),
                status: h.to.as_str().to_owned(),
                status_label: h.to.label().to_owned(),
                actor: h.actor.clone(),
                comment: h.comment.clone(),
                at: timestamp(h.at),
            })
            .collect(),
    }
}

fn list_item(view: &AsClaimView) -> AsListItem {
    let claim: &AsClaim = &view.claim;
    AsListItem {
        id: claim.id,
        lead_id: claim.lead_id,
        order_id: claim.order_id,
        product_id: claim.product_id,
        reason_code: claim.reason.as_str().to_owned(),
        reason_label: view.reason_label.clone(),
        status: claim.status.as_str().to_owned(),
        status_label: claim.status.label().to_owned(),
        compensation: claim.compensation.map(|c| c.as_str().to_owned()),
        auto_approved: claim.auto_approved,
        file_count: claim.evidence.len(),
        created_at: timestamp(claim.created_at),
        updated_at: timestamp(claim.updated_at),
        decided_at: claim.decided_at.map(timestamp),
    }
}

fn as_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("asId", "must be a UUID"))
}

/// The caller's principal, acting as the member `mohom_id` names when it names one (a
/// Bearer caller acts as itself either way).
async fn principal(state: &AppState, caller: &Caller, mohom_id: Option<&str>) -> Result<Principal, ApiError> {
    match mohom_id {
        Some(_) => auth::principal(state, caller, mohom_id).await,
        None => Ok(caller.principal()),
    }
}

/// AS 신청 리스트: the acting member's AS (the operator: every AS), newest first.
#[utoipa::path(
    tag = "as",
    params(AsListFilter, PageParams),
    responses(
        (status = 200, body = AsListResponse, description = "one page of AS requests"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/as")]
pub async fn list_as(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<AsListFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let mohom = filter.mohom_id.as_deref();
    let scope = reach(&principal(&state, &caller, mohom).await?, mohom.is_some())?;
    let result = service!(state).list(scope, filter.parse(&page)?).await?;
    Ok(HttpResponse::Ok().json(AsListResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(list_item).collect(),
    }))
}

/// AS 신청: claims a purchased lead back. With the product's consent a plain case is
/// approved at once (`autoApproved`).
#[utoipa::path(
    tag = "as",
    request_body = CreateAsRequest,
    responses(
        (status = 201, body = AsDetail, description = "the AS request (approved already when auto-approved)"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED, INVALID_JSON, AS_EVIDENCE_REQUIRED or AS_REASON_NOT_ALLOWED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND, LEAD_NOT_FOUND or FILE_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "AS_NOT_ALLOWED, AS_WINDOW_CLOSED, AS_ALREADY_OPEN, AS_RATE_EXCEEDED, FILE_NOT_UPLOADED, FILE_ALREADY_ATTACHED"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/as")]
pub async fn create_as(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CreateAsRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let principal = auth::principal(&state, &caller, body.mohom_id.as_deref()).await?;
    let requester = principal.acting.as_ref().ok_or(domain::as_claim::AsError::MemberRequired)?;
    let once = crate::idempotency::Principal::acting(&caller, requester);
    crate::idempotency::run(&state, &once, &req, &body, || async {
        let new = NewAsClaim::parse(&body.lead_id, &body.reason_code, body.description.as_deref(), &body.file_keys)?;
        let request_id = crate::request_id::current();
        let caller = AsCaller { principal: &principal, request_id: request_id.as_deref() };
        let view = service!(state).claim(&caller, &new).await?;
        Ok((StatusCode::CREATED, detail(&view)))
    })
    .await
}

/// AS 신청 단건 조회: one AS with its evidence and status history.
#[utoipa::path(
    tag = "as",
    params(("asId" = Uuid, Path, description = "AS id"), ActingQuery),
    responses(
        (status = 200, body = AsDetail, description = "the AS request"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "AS_NOT_FOUND or USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/as/{asId}")]
pub async fn get_as(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = as_id(&path)?;
    let mohom = query.mohom_id.as_deref();
    let scope = reach(&principal(&state, &caller, mohom).await?, mohom.is_some())?;
    let view = service!(state).detail(scope, id).await?;
    Ok(HttpResponse::Ok().json(detail(&view)))
}

/// AS 신청 취소: the requester withdraws an AS while it is `REQUESTED`.
#[utoipa::path(
    tag = "as",
    params(("asId" = Uuid, Path, description = "AS id"), ActingQuery),
    request_body(content = Option<ActingBody>, description = "`mohomId` here or in the query"),
    responses(
        (status = 200, body = AsDetail, description = "the cancelled AS"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "AS_NOT_FOUND or USER_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "AS_INVALID_STATE (not REQUESTED)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/as/{asId}/cancel")]
pub async fn cancel_as(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
    body: Result<web::Json<Option<ActingBody>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = optional_body(&req, body)?;
    let id = as_id(&path)?;
    let mohom = body.and_then(|b| b.mohom_id).or_else(|| query.mohom_id.clone());
    let principal = auth::principal(&state, &caller, mohom.as_deref()).await?;
    let request_id = crate::request_id::current();
    let caller = AsCaller { principal: &principal, request_id: request_id.as_deref() };
    let view = service!(state).cancel(&caller, id).await.map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(detail(&view)))
}

/// Approves an AS (operator): the lead is returned and the order compensated
/// (`REPLACEMENT`: another lead is delivered, now or when one arrives; `REFUND`: one unit
/// price is refunded).
#[utoipa::path(
    tag = "as",
    params(("asId" = Uuid, Path, description = "AS id")),
    request_body(content = Option<AsDecisionRequest>, description = "an optional comment"),
    responses(
        (status = 200, body = AsDetail, description = "the approved AS"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator)"),
        (status = 404, body = ErrorResponse, description = "AS_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "AS_INVALID_STATE (already decided or cancelled)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/as/{asId}/approve")]
pub async fn approve_as(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    req: HttpRequest,
    path: web::Path<String>,
    body: Result<web::Json<Option<AsDecisionRequest>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let comment = optional_body(&req, body)?.and_then(|b| b.comment);
    let id = as_id(&path)?;
    let (principal, request_id) = (caller.principal(), crate::request_id::current());
    let caller = AsCaller { principal: &principal, request_id: request_id.as_deref() };
    let view = service!(state).approve(&caller, id, comment.as_deref()).await.map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(detail(&view)))
}

/// Rejects an AS (operator), with a comment: ownership stays as it was.
#[utoipa::path(
    tag = "as",
    params(("asId" = Uuid, Path, description = "AS id")),
    request_body = RejectAsRequest,
    responses(
        (status = 200, body = AsDetail, description = "the rejected AS"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (comment missing) or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator)"),
        (status = 404, body = ErrorResponse, description = "AS_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "AS_INVALID_STATE (already decided or cancelled)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/as/{asId}/reject")]
pub async fn reject_as(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    path: web::Path<String>,
    body: web::Json<RejectAsRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = as_id(&path)?;
    let (principal, request_id) = (caller.principal(), crate::request_id::current());
    let caller = AsCaller { principal: &principal, request_id: request_id.as_deref() };
    let view = service!(state).reject(&caller, id, &body.comment).await?;
    Ok(HttpResponse::Ok().json(detail(&view)))
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ArrayItems, Schema};

    use super::*;

    fn property(schema: &RefOr<Schema>, name: &str) -> Schema {
        let RefOr::T(Schema::Object(object)) = schema else { panic!("an object schema") };
        match object.properties.get(name) {
            Some(RefOr::T(property)) => property.clone(),
            _ => panic!("{name}: not an inline schema"),
        }
    }

    /// The schema's literals are the domain's limits.
    #[test]
    fn the_request_schemas_state_the_domains_limits() {
        use domain::as_claim::{MAX_FILES, MAX_TEXT};
        let create = CreateAsRequest::schema();
        let Schema::Object(description) = property(&create, "description") else { panic!("description") };
        assert_eq!(description.max_length, Some(MAX_TEXT));
        let Schema::Array(files) = property(&create, "fileKeys") else { panic!("fileKeys") };
        assert_eq!((files.max_items, files.unique_items), (Some(MAX_FILES), true));
        assert!(matches!(files.items, ArrayItems::RefOrSchema(_)));
        for schema in [AsDecisionRequest::schema(), RejectAsRequest::schema()] {
            let Schema::Object(comment) = property(&schema, "comment") else { panic!("comment") };
            assert_eq!(comment.max_length, Some(MAX_TEXT));
        }
    }
}
