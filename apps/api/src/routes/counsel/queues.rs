//! The operator's queue and membership administration (`/api/v1/counsel/...`): creating
//! and listing queues, adding, changing and removing members. Changes are the
//! administrators' (`OperatorAdmin`); reading the queues is the staff's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use domain::counsel::{QueueKey, parse_auto_div_no};
use domain::service::counsel::{AddMember, NewQueue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MembershipDto, QueueDto, QueueListResponse, fields, service};
use crate::error::{ApiError, ErrorResponse};
use crate::gate::{OperatorAdmin, OperatorStaff};
use crate::idempotency::Principal;
use crate::state::AppState;

/// A queue to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateQueueRequest {
    #[schema(schema_with = fields::group)]
    pub auto_div_gb_cd: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    pub name: String,
    /// `ROUND_ROBIN` (default), `WEIGHTED` or `LEAST_LOADED`.
    #[schema(schema_with = fields::policy)]
    pub policy: Option<String>,
}

/// Creates a counsel queue.
#[utoipa::path(
    tag = "counsel",
    request_body = CreateQueueRequest,
    responses(
        (status = 201, body = QueueDto, description = "the queue"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 409, body = ErrorResponse, description = "COUNSEL_QUEUE_EXISTS"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/counsel/queues")]
pub async fn create_queue(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    req: HttpRequest,
    body: web::Json<CreateQueueRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let new = NewQueue {
            group: &body.auto_div_gb_cd,
            detail: &body.auto_div_dtl_no,
            name: &body.name,
            policy: body.policy.as_deref(),
        };
        let queue = service(&state).create_queue(&caller.principal(), new).await?;
        Ok((StatusCode::CREATED, QueueDto::from(&queue)))
    })
    .await
}

/// Lists the counsel queues.
#[utoipa::path(
    tag = "counsel",
    responses(
        (status = 200, body = QueueListResponse, description = "queues"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/counsel/queues")]
pub async fn list_queues(state: web::Data<AppState>, _staff: OperatorStaff) -> Result<HttpResponse, ApiError> {
    let queues = service(&state).queues().await?;
    Ok(HttpResponse::Ok().json(QueueListResponse { data: queues.iter().map(QueueDto::from).collect() }))
}

/// A manager to add to a queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(schema_with = fields::group)]
    pub auto_div_gb_cd: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    /// The manager's login id.
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub aemp_id: String,
    /// 1 to 100 (default 1).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub weight: Option<f64>,
    /// Most open cases, 1 to 10,000 (default 10).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub capacity: Option<f64>,
    /// `Y` (default) or `N`.
    #[schema(schema_with = fields::possible)]
    pub alloc_possible_yn: Option<String>,
}

fn possible_flag(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.map(str::trim) {
        None | Some("Y") => Ok(true),
        Some("N") => Ok(false),
        Some(_) => Err(ApiError::invalid("allocPossibleYn", "must be Y or N")),
    }
}

/// A count sent as JSON: a whole number, also when written `2.0` (JSON has one number
/// type); a fraction or a value past `u32` is refused naming the field.
fn whole(value: f64, field: &str) -> Result<u32, ApiError> {
    if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
        // In range and whole: the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(value as u32)
    } else {
        Err(ApiError::invalid(field, "must be a whole number"))
    }
}

/// Weight and capacity as whole numbers, both errors at once (their ranges are the use
/// case's).
fn counts(weight: f64, capacity: f64) -> Result<(u32, u32), ApiError> {
    match (whole(weight, "weight"), whole(capacity, "capacity")) {
        (Ok(w), Ok(c)) => Ok((w, c)),
        (w, c) => {
            let mut details = Vec::new();
            for err in [w.err(), c.err()].into_iter().flatten() {
                if let ApiError::Validation(d) = err {
                    details.extend(d);
                }
            }
            Err(ApiError::Validation(details))
        }
    }
}

fn auto_div_no(raw: &str) -> Result<i64, ApiError> {
    parse_auto_div_no(raw).ok_or_else(|| ApiError::invalid("autoDivNo", "must be an autoDivNo"))
}

/// Adds a manager to a queue (their waiting cases are swept to them at once when `Y`).
#[utoipa::path(
    tag = "counsel",
    request_body = AddMemberRequest,
    responses(
        (status = 201, body = MembershipDto, description = "the membership"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_QUEUE_NOT_FOUND or USER_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "COUNSEL_NOT_A_MANAGER or COUNSEL_ALREADY_MEMBER"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/counsel/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    req: HttpRequest,
    body: web::Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let key = QueueKey::parse(&body.auto_div_gb_cd, &body.auto_div_dtl_no)?;
        let (weight, capacity) = counts(body.weight.unwrap_or(1.0), body.capacity.unwrap_or(10.0))?;
        let possible = possible_flag(body.alloc_possible_yn.as_deref())?;
        let add = AddMember { key: &key, login: &body.aemp_id, weight, capacity, possible };
        let member = service(&state).add_member(&caller.principal(), add).await?;
        Ok((StatusCode::CREATED, MembershipDto::from(&member)))
    })
    .await
}

/// New terms of a membership.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMemberRequest {
    /// 1 to 100.
    #[schema(value_type = u32, minimum = 1, maximum = 100)]
    pub weight: f64,
    /// Most open cases, 1 to 10,000.
    #[schema(value_type = u32, minimum = 1, maximum = 10000)]
    pub capacity: f64,
}

/// Changes a membership's weight and capacity (more capacity sweeps waiting cases).
#[utoipa::path(
    tag = "counsel",
    params(("autoDivNo" = String, Path, pattern = r"^[1-9][0-9]{0,17}$", description = "자동배분번호")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, body = MembershipDto, description = "the membership"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_MEMBER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[put("/api/v1/counsel/members/{autoDivNo}")]
pub async fn update_member(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    path: web::Path<String>,
    body: web::Json<UpdateMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let number = auto_div_no(&path)?;
    let (weight, capacity) = counts(body.weight, body.capacity)?;
    let member = service(&state).update_member(&caller.principal(), number, weight, capacity).await?;
    Ok(HttpResponse::Ok().json(MembershipDto::from(&member)))
}

/// What removing a membership did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemovedMemberResponse {
    pub auto_div_no: String,
    /// Open cases that went back to the queue (and were swept to others where possible).
    pub returned_cases: u64,
}

/// Removes a manager from a queue; their open cases go back to the queue.
#[utoipa::path(
    tag = "counsel",
    params(("autoDivNo" = String, Path, pattern = r"^[1-9][0-9]{0,17}$", description = "자동배분번호")),
    responses(
        (status = 200, body = RemovedMemberResponse, description = "removed"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_MEMBER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[delete("/api/v1/counsel/members/{autoDivNo}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    OperatorAdmin(caller): OperatorAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = auto_div_no(&path)?;
    let returned = service(&state).remove_member(&caller.principal(), number).await?;
    Ok(HttpResponse::Ok().json(RemovedMemberResponse { auto_div_no: number.to_string(), returned_cases: returned }))
}
