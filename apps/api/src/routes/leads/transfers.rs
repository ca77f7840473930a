//! DB 분배 and 분배 회수: a `LEADER` hands leads to a member of their org and takes them
//! back. The use cases decide every rule (the role, the recipient, each lead's state,
//! the rights a recall restores); these handlers parse the ids, resolve the acting
//! member, and run the use case under the request's idempotency key.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::lead::{MAX_TRANSFER_IDS, parse_lead_ids};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{lead_ids, leads, member, replay_scope};
use crate::error::{ApiError, ErrorResponse};
use crate::gate::LeaderOrKey;
use crate::idempotency;
use crate::state::AppState;

fn transfer_ids() -> utoipa::openapi::schema::Array {
    lead_ids(MAX_TRANSFER_IDS, "1 to 500 distinct lead ids.")
}

/// DB 분배.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistributeRequest {
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    /// A user of the same org.
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub to_mohom_id: String,
    /// 1 to 500 distinct lead ids.
    #[schema(schema_with = transfer_ids)]
    pub lead_ids: Vec<String>,
}

/// DB 분배 회수.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecallRequest {
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    /// 1 to 500 distinct lead ids.
    #[schema(schema_with = transfer_ids)]
    pub lead_ids: Vec<String>,
}

/// One lead moved and its new assignment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovedLead {
    pub lead_id: Uuid,
    pub assignment_id: Uuid,
}

/// The result of a distribution.
#[derive(Debug, Serialize, ToSchema)]
pub struct DistributeResponse {
    pub distributed: usize,
    pub assignments: Vec<MovedLead>,
}

/// The result of a recall.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecallResponse {
    pub recalled: usize,
    pub assignments: Vec<MovedLead>,
}

fn moved_leads(moved: Vec<(Uuid, Uuid)>) -> Vec<MovedLead> {
    moved.into_iter().map(|(lead_id, assignment_id)| MovedLead { lead_id, assignment_id }).collect()
}

/// DB 분배: all or nothing; each lead owned by the caller (a `LEADER`) with no open AS;
/// the recipient an active user of the same org.
#[utoipa::path(
    tag = "leads",
    request_body = DistributeRequest,
    responses(
        (status = 200, body = DistributeResponse, description = "every lead moved"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED: ids empty, over 500, duplicate or malformed; recipient is the caller"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not a LEADER"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND or LEAD_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "LEAD_HAS_OPEN_AS or LEAD_CONFLICT"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/distribute")]
pub async fn distribute(
    state: web::Data<AppState>,
    LeaderOrKey(caller): LeaderOrKey,
    req: HttpRequest,
    body: web::Json<DistributeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ids = parse_lead_ids(&body.lead_ids, MAX_TRANSFER_IDS)?;
    let (leader, principal) = member(&state, &caller, body.mohom_id.as_deref()).await?;
    idempotency::run(&state, &replay_scope(&caller, &leader), &req, &body, || async {
        let assignments = moved_leads(leads(&state).distribute(&principal, &body.to_mohom_id, &ids).await?);
        Ok((StatusCode::OK, DistributeResponse { distributed: assignments.len(), assignments }))
    })
    .await
}

/// DB 분배 회수: all or nothing; each lead's open assignment was distributed by the
/// caller (a `LEADER`), is unused, and has no open AS. The caller gets back exactly the
/// rights they had before (a lead they had used is still used for them).
#[utoipa::path(
    tag = "leads",
    request_body = RecallRequest,
    responses(
        (status = 200, body = RecallResponse, description = "every lead recalled"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not a LEADER"),
        (status = 404, body = ErrorResponse, description = "LEAD_NOT_FOUND: unknown, or not distributed by the caller"),
        (status = 409, body = ErrorResponse, description = "LEAD_ALREADY_USED, LEAD_HAS_OPEN_AS or LEAD_CONFLICT"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/recall")]
pub async fn recall(
    state: web::Data<AppState>,
    LeaderOrKey(caller): LeaderOrKey,
    req: HttpRequest,
    body: web::Json<RecallRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ids = parse_lead_ids(&body.lead_ids, MAX_TRANSFER_IDS)?;
    let (leader, principal) = member(&state, &caller, body.mohom_id.as_deref()).await?;
    idempotency::run(&state, &replay_scope(&caller, &leader), &req, &body, || async {
        let assignments = moved_leads(leads(&state).recall(&principal, &ids).await?);
        Ok((StatusCode::OK, RecallResponse { recalled: assignments.len(), assignments }))
    })
    .await
}
