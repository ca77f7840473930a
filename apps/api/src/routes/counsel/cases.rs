//! Cases: the manual-assignment list, assigning by hand, reading one case with the
//! engine's explanation, and completing one.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CaseDto, CaseListResponse, cnsl_no_of, given, optional_detail, optional_group, service};
use crate::error::{ApiError, ErrorResponse};
use crate::gate::OperatorStaff;
use crate::state::AppState;

/// A queue's identity in a query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// 자동배분구분코드 (CS023: `10`, `20`, `50`).
    pub auto_div_gb_cd: Option<String>,
    /// 자동배분상세번호.
    pub auto_div_dtl_no: Option<String>,
}

/// 수동배정 목록: the cases waiting for a manager, oldest first; `autoDivGbCd` and
/// `autoDivDtlNo` narrow them (each on its own or both).
#[utoipa::path(
    tag = "counsel",
    params(QueueQuery),
    responses(
        (status = 200, body = CaseListResponse, description = "waiting cases"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/manualAssignList")]
pub async fn manual_assign_list(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let group = optional_group(given(query.auto_div_gb_cd.as_ref()), "autoDivGbCd")?;
    let detail = optional_detail(given(query.auto_div_dtl_no.as_ref()), "autoDivDtlNo")?;
    let cases = service(&state).waiting(group, detail).await?;
    Ok(HttpResponse::Ok()
        .json(CaseListResponse { total: cases.len(), data: cases.iter().map(CaseDto::from).collect() }))
}

/// 수동배정.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualAssignRequest {
    #[schema(format = Uuid)]
    pub cnsl_no: String,
    /// The manager's login id.
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub aemp_id: String,
}

/// Assigns a waiting case to a member of its queue (counted in the ledger like a pick).
#[utoipa::path(
    tag = "counsel",
    request_body = ManualAssignRequest,
    responses(
        (status = 200, body = CaseDto, description = "the assigned case"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_CASE_NOT_FOUND or USER_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "COUNSEL_CASE_NOT_WAITING, COUNSEL_NOT_A_MEMBER, COUNSEL_OVER_CAPACITY, COUNSEL_NOT_A_MANAGER"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/v2/customerservice/csAllocationMgmt/manualAssign")]
pub async fn manual_assign(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    body: web::Json<ManualAssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let cnsl_no = cnsl_no_of(&body.cnsl_no)?;
    let view = service(&state).manual_assign(&caller.principal(), cnsl_no, &body.aemp_id).await?;
    Ok(HttpResponse::Ok().json(CaseDto::from(&view)))
}

/// One case, with the engine's explanation of its automatic pick (the policy, every
/// member considered with their credit and load, and why the others were skipped).
#[utoipa::path(
    tag = "counsel",
    params(("cnslNo" = Uuid, Path, description = "상담번호")),
    responses(
        (status = 200, body = CaseDto, description = "the case, its customer masked"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_CASE_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/counsel/cases/{cnslNo}")]
pub async fn read_case(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = service(&state).case(cnsl_no_of(&path)?).await?;
    Ok(HttpResponse::Ok().json(CaseDto::from(&view)))
}

/// Closes an assigned case (its manager's capacity frees up and waiting cases are swept).
/// A CS manager closes their own cases; the operator's key and `ADMIN`s any. An AS-review
/// case is closed by deciding its AS (`/api/v1/as/{asId}/approve|reject`), not here.
#[utoipa::path(
    tag = "counsel",
    params(("cnslNo" = Uuid, Path, description = "상담번호")),
    responses(
        (status = 200, body = CaseDto, description = "the completed case"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN (not the operator's, or another manager's case)"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_CASE_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "COUNSEL_CASE_NOT_ASSIGNED, COUNSEL_CASE_IS_AS_REVIEW"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/counsel/cases/{cnslNo}/complete")]
pub async fn complete_case(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = service(&state).complete(&caller.principal(), cnsl_no_of(&path)?).await?;
    Ok(HttpResponse::Ok().json(CaseDto::from(&view)))
}
