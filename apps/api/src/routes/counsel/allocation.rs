//! The seed's allocation screens: managers and their count, per-manager statistics,
//! memberships by queue, whether a user may be a manager (`checkValidateManager`), and
//! the allocation-possible flag.

use actix_web::{HttpResponse, get, post, web};
use domain::counsel::{QueueKey, parse_auto_div_no};
use domain::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AllocationStatsDto, AllocationStatsResponse, ChangePossibleResponse, CountResponse, ManagerDto,
    ManagerListResponse, MembershipDto, MembershipListResponse, ValidateManagerResponse, fields, given,
    optional_detail, optional_group, optional_login, optional_text, service,
};
use crate::error::{ApiError, ErrorResponse};
use crate::gate::OperatorStaff;
use crate::state::AppState;
use crate::wire::timestamp;

/// 자동배분 담당자 할당 진행상태 변경 요청.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePossibleRequest {
    /// `Y` or `N`.
    #[schema(schema_with = fields::state)]
    pub state: String,
    /// 자동배분번호 목록.
    #[schema(schema_with = fields::auto_div_no_list)]
    pub auto_div_no_list: Vec<String>,
}

fn auto_div_numbers(list: &[String]) -> Result<Vec<i64>, ApiError> {
    let mut errors = Vec::new();
    let mut numbers = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        // The seed's example writes `{1000442}`: braces around the number are tolerated.
        let digits = raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(raw);
        match parse_auto_div_no(digits) {
            Some(n) => numbers.push(n),
            None => errors.push(FieldError::new(format!("autoDivNoList[{i}]"), "must be an autoDivNo")),
        }
    }
    if list.is_empty() {
        errors.push(FieldError::new("autoDivNoList", "must name at least one autoDivNo"));
    }
    if errors.is_empty() { Ok(numbers) } else { Err(ApiError::Validation(errors)) }
}

/// Turns managers' allocation-possible flag on or off (all or nothing); turning one on
/// sweeps the waiting cases of their queues, oldest first.
#[utoipa::path(
    tag = "counsel",
    request_body = ChangePossibleRequest,
    responses(
        (status = 200, body = ChangePossibleResponse, description = "the memberships afterwards"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_MEMBER_NOT_FOUND (nothing changed)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/v2/customerservice/csAllocationMgmt/changeAutoDivideAllocationPossibleYn")]
pub async fn change_possible(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    body: web::Json<ChangePossibleRequest>,
) -> Result<HttpResponse, ApiError> {
    let possible = match body.state.as_str() {
        "Y" => true,
        "N" => false,
        _ => return Err(ApiError::invalid("state", "must be Y or N")),
    };
    let numbers = auto_div_numbers(&body.auto_div_no_list)?;
    let changed = service(&state).set_possible(&caller.principal(), &numbers, possible).await?;
    Ok(HttpResponse::Ok().json(ChangePossibleResponse { data: changed.iter().map(MembershipDto::from).collect() }))
}

/// Manager filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ManagerQuery {
    /// 부서코드 (the users' `teamId`).
    pub dept_cd: Option<String>,
    /// 사용자ID (login id).
    pub user_id: Option<String>,
}

fn manager_filters(query: &ManagerQuery) -> Result<(Option<&str>, Option<&str>), ApiError> {
    Ok((
        optional_text(given(query.dept_cd.as_ref()), "deptCd")?,
        optional_login(given(query.user_id.as_ref()), "userId")?,
    ))
}

/// 자동배분 담당자 목록: managers in auto-distribution with their queues and flags.
#[utoipa::path(
    tag = "counsel",
    params(ManagerQuery),
    responses(
        (status = 200, body = ManagerListResponse, description = "managers"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/getAutoDistributionManagerList")]
pub async fn manager_list(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<ManagerQuery>,
) -> Result<HttpResponse, ApiError> {
    let (dept, user) = manager_filters(&query)?;
    let managers = service(&state).managers(dept, user).await?;
    Ok(HttpResponse::Ok().json(ManagerListResponse { data: managers.iter().map(ManagerDto::from).collect() }))
}

/// 자동배분 담당자 수.
#[utoipa::path(
    tag = "counsel",
    params(ManagerQuery),
    responses(
        (status = 200, body = CountResponse, description = "how many managers match"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/getAutoDistributionManagerListCount")]
pub async fn manager_count(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<ManagerQuery>,
) -> Result<HttpResponse, ApiError> {
    let (dept, user) = manager_filters(&query)?;
    let managers = service(&state).managers(dept, user).await?;
    Ok(HttpResponse::Ok().json(CountResponse { count: managers.len() }))
}

/// Statistics filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// 시작일자 (`YYYY-MM-DD`, Asia/Seoul).
    pub start_date: Option<String>,
    /// 종료일자 (included).
    pub end_date: Option<String>,
    /// `all_day` (the whole period, 전체), `today`, `week` (7 days), `month` (30 days),
    /// today included; ignored when a date is given. Absent: the whole period.
    pub date_select: Option<String>,
    pub auto_div_gb_cd: Option<String>,
    pub auto_div_dtl_no: Option<String>,
    /// 담당자ID.
    pub user_id: Option<String>,
}

/// 상담할당 현황: per manager, assigned automatically and manually, completed and open in
/// the range, with the actual share beside the weight's share.
#[utoipa::path(
    tag = "counsel",
    params(StatsQuery),
    responses(
        (status = 200, body = AllocationStatsResponse, description = "per-manager counts"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/csAllocationMgmtList")]
pub async fn allocation_stats(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = &*query;
    let counsel = service(&state);
    let range =
        counsel.stats_range(given(q.date_select.as_ref()), given(q.start_date.as_ref()), given(q.end_date.as_ref()))?;
    let group = optional_group(given(q.auto_div_gb_cd.as_ref()), "autoDivGbCd")?;
    let detail = optional_detail(given(q.auto_div_dtl_no.as_ref()), "autoDivDtlNo")?;
    let user = optional_login(given(q.user_id.as_ref()), "userId")?;
    let rows = counsel.stats(group, detail, user, range).await?;
    Ok(HttpResponse::Ok().json(AllocationStatsResponse {
        data: rows.iter().map(AllocationStatsDto::from).collect(),
        from: range.0.map(timestamp),
        to: range.1.map(timestamp),
    }))
}

/// Membership filters (업무유형별 담당자).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DetailQuery {
    pub sub_auto_div_gb_cd: Option<String>,
    pub sub_auto_div_dtl_no: Option<String>,
    pub user_id: Option<String>,
}

/// 업무유형별 담당자: queue memberships with weight, capacity and flag.
#[utoipa::path(
    tag = "counsel",
    params(DetailQuery),
    responses(
        (status = 200, body = MembershipListResponse, description = "memberships"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/csAllocationDetailMgmtList")]
pub async fn allocation_detail(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ApiError> {
    let group = optional_group(given(query.sub_auto_div_gb_cd.as_ref()), "subAutoDivGbCd")?;
    let detail = optional_detail(given(query.sub_auto_div_dtl_no.as_ref()), "subAutoDivDtlNo")?;
    let user = optional_login(given(query.user_id.as_ref()), "userId")?;
    let rows = service(&state).memberships(group, detail, user).await?;
    Ok(HttpResponse::Ok().json(MembershipListResponse { data: rows.iter().map(MembershipDto::from).collect() }))
}

/// `checkValidateManager` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ValidateQuery {
    /// 담당자ID (login id). Required: there is nobody to check without it.
    pub aemp_id: Option<String>,
    /// With `autoDivDtlNo`, the queue to check; both absent: any queue.
    pub auto_div_gb_cd: Option<String>,
    /// With `autoDivGbCd`.
    pub auto_div_dtl_no: Option<String>,
    /// 부서코드: the user must be of this department (team).
    pub dept_cd: Option<String>,
}

/// Whether a user may join a queue (exists, active, `CS_MANAGER`, the department given,
/// not already a member), with the reason when not; without a queue, whether they may
/// be a counsel manager at all.
#[utoipa::path(
    tag = "counsel",
    params(ValidateQuery),
    responses(
        (status = 200, body = ValidateManagerResponse, description = "the answer"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/v2/customerservice/csAllocationMgmt/checkValidateManager")]
pub async fn check_validate_manager(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<ValidateQuery>,
) -> Result<HttpResponse, ApiError> {
    let login = optional_login(given(query.aemp_id.as_ref()), "aempId")?
        .ok_or_else(|| ApiError::invalid("aempId", "is required"))?;
    let key = match (given(query.auto_div_gb_cd.as_ref()), given(query.auto_div_dtl_no.as_ref())) {
        (None, None) => None,
        (group, detail) => Some(QueueKey::parse(group.unwrap_or_default(), detail.unwrap_or_default())?),
    };
    let dept = optional_text(given(query.dept_cd.as_ref()), "deptCd")?;
    let answer = service(&state).check_manager(login, key.as_ref(), dept).await?;
    Ok(HttpResponse::Ok().json(ValidateManagerResponse {
        valid: answer.is_ok(),
        reason: answer.err().map(|why| why.as_str().to_owned()),
    }))
}
