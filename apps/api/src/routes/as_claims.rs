//! AS (seed 000: AS 신청 리스트, AS 신청, AS 신청 단건 조회, AS 신청 취소) and the
//! operator's decision (approve, reject).
//!
//! - A member claims, lists, reads and cancels their own AS (API key + `mohomId`, or
//!   Bearer); another user's AS is 404.
//! - The operator (its API key, or an `ADMIN` of the operator org) lists and reads every
//!   AS and approves or rejects; anyone else gets 403 there.
//! - The rules live in `domain::as_claim`, the locking and the compensation in
//!   `infra::as_claims`; a refusal changes nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::as_claim::{AsAction, AsRefusal};
use domain::error::FieldError;
use domain::files::FilePurpose;
use domain::identity::Role;
use domain::lead::AsStatus;
use domain::ports::ReferenceRepository;
use domain::reference::{AsReasonCode, OrgKind};
use infra::as_claims::{AsActor, AsClaim, AsError, AsQuery, AsScope, NewAsClaim};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, acting_user};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ActingBody, ActingQuery, optional_body};
use crate::gate::OperatorStaff;
use crate::idempotency::Principal;
use crate::params::{PageParams, instant};
use crate::state::AppState;
use crate::wire::{Pagination, timestamp};

/// Longest `description` and `comment`, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most evidence files on one AS.
pub const MAX_FILES: usize = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_as).service(create_as).service(get_as).service(cancel_as).service(approve_as).service(reject_as);
}

fn as_not_found() -> ApiError {
    ApiError::not_found("AS_NOT_FOUND", "no such AS request among yours")
}

impl From<AsRefusal> for ApiError {
    fn from(refusal: AsRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            AsRefusal::NotPurchased(_) => ApiError::conflict("AS_NOT_ALLOWED", message),
            AsRefusal::ReasonNotAllowed(_) => ApiError::Refused {
                code: "AS_REASON_NOT_ALLOWED",
                details: vec![FieldError::new("reasonCode", "is not accepted by the product's AS policy")],
                message,
            },
            AsRefusal::EvidenceRequired(_) => ApiError::Refused {
                code: "AS_EVIDENCE_REQUIRED",
                details: vec![FieldError::new("fileKeys", "needs at least one uploaded file")],
                message,
            },
            AsRefusal::WindowClosed(_) => ApiError::conflict("AS_WINDOW_CLOSED", message),
            AsRefusal::AlreadyOpen => ApiError::conflict("AS_ALREADY_OPEN", message),
            AsRefusal::RateExceeded { .. } => ApiError::conflict("AS_RATE_EXCEEDED", message),
            AsRefusal::InvalidState { .. } => ApiError::conflict("AS_INVALID_STATE", message),
        }
    }
}

impl From<AsError> for ApiError {
    fn from(err: AsError) -> Self {
        match err {
            AsError::NotFound => as_not_found(),
            AsError::Refused(refusal) => refusal.into(),
            AsError::File(file) => file.into(),
            AsError::Repo(repo) => repo.into(),
        }
    }
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
    pub mohom_id: Option<String>,
    pub lead_id: String,
    /// A code of `GET /api/v1/as/reasons` the product's policy accepts.
    pub reason_code: String,
    /// At most 2,000 characters.
    pub description: Option<String>,
    /// Keys of files uploaded through `POST /api/v1/files/presigned` (purpose
    /// `AS_EVIDENCE`), at most 10.
    #[serde(default)]
    pub file_keys: Vec<String>,
}

/// The operator's decision.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsDecisionRequest {
    /// Why; required to reject, at most 2,000 characters.
    pub comment: Option<String>,
}

/// The operator's rejection: why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectAsRequest {
    /// Why, shown in the AS's history; not blank, at most 2,000 characters.
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

fn labels(reasons: &[domain::reference::AsReason], code: AsReasonCode) -> String {
    reasons.iter().find(|r| r.code == code).map_or_else(|| code.as_str().to_owned(), |r| r.label.clone())
}

fn detail(claim: &AsClaim, reasons: &[domain::reference::AsReason]) -> AsDetail {
    AsDetail {
        id: claim.id,
        lead_id: claim.lead_id,
        assignment_id: claim.assignment_id,
        order_id: claim.order_id,
        product_id: claim.product_id,
        reason_code: claim.reason.as_str().to_owned(),
        reason_label: labels(reasons, claim.reason),
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

fn list_item(claim: &AsClaim, reasons: &[domain::reference::AsReason]) -> AsListItem {
    AsListItem {
        id: claim.id,
        lead_id: claim.lead_id,
        order_id: claim.order_id,
        product_id: claim.product_id,
        reason_code: claim.reason.as_str().to_owned(),
        reason_label: labels(reasons, claim.reason),
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

/// The operator may read every AS and decide them: its API key, or an `ADMIN` (or, for
/// reading, a `CS_MANAGER`) of the operator org. A `CS_MANAGER` decides the AS whose
/// review case is assigned to them ([`is_assigned_reviewer`]).
fn is_operator(caller: &Caller, deciding: bool) -> bool {
    caller.org_kind() == OrgKind::Operator
        && match caller.role() {
            None => true,
            Some(Role::Admin) => true,
            Some(Role::CsManager) => !deciding,
            Some(_) => false,
        }
}

/// A `CS_MANAGER` of the operator to whom the AS's review case is assigned now.
async fn is_assigned_reviewer(state: &AppState, caller: &Caller, id: Uuid) -> Result<bool, ApiError> {
    let Caller::User { user, org_kind: OrgKind::Operator } = caller else { return Ok(false) };
    if user.role != Role::CsManager {
        return Ok(false);
    }
    let case = state.counsel.case_for_as(id).await?;
    Ok(case.is_some_and(|c| c.status == domain::counsel::CaseStatus::Assigned && c.assignee_user_id == Some(user.id)))
}

fn as_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("asId", "must be a UUID"))
}

fn text(raw: Option<&str>, field: &str) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > MAX_TEXT => Err(FieldError::new(field, "must be at most 2000 characters")),
        other => Ok(other.map(str::to_owned)),
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
    let requester = if is_operator(&caller, false) && filter.mohom_id.is_none() {
        None
    } else {
        Some(acting_user(&state, &caller, filter.mohom_id.as_deref()).await?.id)
    };
    let mut errors = Vec::new();
    let page = page.parse().map_err(|e| errors.push(e)).ok();
    let status = filter
        .status
        .as_deref()
        .map(|raw| {
            raw.parse::<AsStatus>().map_err(|_| {
                ApiError::invalid("status", "must be one of REQUESTED, IN_REVIEW, APPROVED, REJECTED, CANCELLED")
            })
        })
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let lead_id = filter
        .lead_id
        .as_deref()
        .map(|raw| raw.trim().parse::<Uuid>().map_err(|_| ApiError::invalid("leadId", "must be a UUID")))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let from = instant(filter.from.as_deref(), "from").map_err(|e| errors.push(e)).ok().flatten();
    let to = instant(filter.to.as_deref(), "to").map_err(|e| errors.push(e)).ok().flatten();
    let Some(page) = page.filter(|_| errors.is_empty()) else {
        let details = errors
            .into_iter()
            .flat_map(|e| match e {
                ApiError::Validation(d) => d,
                _ => Vec::new(),
            })
            .collect();
        return Err(ApiError::Validation(details));
    };
    // `to` is exclusive, as in the orders list.
    let to = to.map(|t| t - time::Duration::milliseconds(1));
    let query = AsQuery { requester, status, lead_id, from, to, page };
    let result = state.leads.list_as(&query).await?;
    let reasons = state.reference.list_as_reasons().await?;
    Ok(HttpResponse::Ok().json(AsListResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(|c| list_item(c, &reasons)).collect(),
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
    let requester = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    crate::idempotency::run(&state, &Principal::acting(&caller, &requester), &req, &body, || async {
        let mut errors = Vec::new();
        let lead_id = body
            .lead_id
            .trim()
            .parse::<Uuid>()
            .map_err(|_| errors.push(FieldError::new("leadId", "must be a UUID")))
            .ok();
        let reason = body.reason_code.parse::<AsReasonCode>().map_err(|e| errors.extend(e.0)).ok();
        if let Some(e) = errors.iter_mut().find(|e| e.field == "AsReasonCode") {
            e.field = "reasonCode".to_owned();
        }
        let description = text(body.description.as_deref(), "description").map_err(|e| errors.push(e)).ok();
        let mut file_keys = Vec::new();
        for (i, raw) in body.file_keys.iter().enumerate() {
            match raw.trim().parse::<Uuid>() {
                Ok(key) if !file_keys.contains(&key) => file_keys.push(key),
                Ok(_) => errors.push(FieldError::new(format!("fileKeys[{i}]"), "is listed twice")),
                Err(_) => errors.push(FieldError::new(format!("fileKeys[{i}]"), "must be a UUID")),
            }
        }
        if file_keys.len() > MAX_FILES {
            errors.push(FieldError::new("fileKeys", "at most 10 files"));
        }
        let (Some(lead_id), Some(reason), Some(description)) = (lead_id, reason, description) else {
            return Err(ApiError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let now = state.clock.now();
        // Every key exists, is the requester's, uploaded (S3: confirmed by HEAD) and free.
        state.files.confirm_for_use(requester.org_id, requester.id, FilePurpose::AsEvidence, &file_keys, now).await?;
        let new = NewAsClaim { lead_id, reason, description: description.unwrap_or_default(), file_keys };
        let label = caller.actor();
        let request_id = crate::request_id::current();
        let actor = AsActor {
            label: &label,
            user_id: Some(requester.id),
            org_id: Some(requester.org_id),
            request_id: request_id.as_deref(),
        };
        let claim = state.leads.claim_as(&requester, &new, &actor, now).await.map_err(|e| match e {
            AsError::NotFound => ApiError::not_found("LEAD_NOT_FOUND", "no such lead among yours"),
            other => other.into(),
        })?;
        let reasons = state.reference.list_as_reasons().await?;
        Ok((StatusCode::CREATED, detail(&claim, &reasons)))
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
    let scope = if is_operator(&caller, false) && query.mohom_id.is_none() {
        AsScope::Operator
    } else {
        AsScope::Requester(acting_user(&state, &caller, query.mohom_id.as_deref()).await?.id)
    };
    let claim = state.leads.get_as(id, scope).await?.ok_or_else(as_not_found)?;
    let reasons = state.reference.list_as_reasons().await?;
    Ok(HttpResponse::Ok().json(detail(&claim, &reasons)))
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
    let requester = acting_user(&state, &caller, mohom.as_deref()).await?;
    let label = caller.actor();
    let request_id = crate::request_id::current();
    let actor = AsActor {
        label: &label,
        user_id: Some(requester.id),
        org_id: Some(requester.org_id),
        request_id: request_id.as_deref(),
    };
    let claim = state
        .leads
        .act_on_as(id, AsAction::Cancel, AsScope::Requester(requester.id), &actor, None, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    let reasons = state.reference.list_as_reasons().await.map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(detail(&claim, &reasons)))
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    path: &str,
    body: AsDecisionRequest,
    action: AsAction,
) -> Result<HttpResponse, ApiError> {
    let id = as_id(path)?;
    if !is_operator(caller, true) && !is_assigned_reviewer(state, caller, id).await? {
        return Err(ApiError::forbidden(
            "only the operator (its API key or an ADMIN) or the CS manager the review is assigned to decides",
        ));
    }
    let comment = text(body.comment.as_deref(), "comment").map_err(|e| ApiError::Validation(vec![e]))?;
    if action == AsAction::Reject && comment.is_none() {
        return Err(ApiError::invalid("comment", "is required to reject"));
    }
    let label = caller.actor();
    let request_id = crate::request_id::current();
    let user_id = match caller {
        Caller::User { user, .. } => Some(user.id),
        Caller::Key(_) => None,
    };
    let actor = AsActor { label: &label, user_id, org_id: Some(caller.org_id()), request_id: request_id.as_deref() };
    let claim =
        state.leads.act_on_as(id, action, AsScope::Operator, &actor, comment.as_deref(), state.clock.now()).await?;
    let reasons = state.reference.list_as_reasons().await?;
    Ok(HttpResponse::Ok().json(detail(&claim, &reasons)))
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
    let body = optional_body(&req, body)?;
    Ok(decide(&state, &caller, &path, body.unwrap_or_default(), AsAction::Approve).await?)
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
    let body = AsDecisionRequest { comment: Some(body.into_inner().comment) };
    decide(&state, &caller, &path, body, AsAction::Reject).await
}
