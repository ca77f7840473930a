//! Counsel allocation (seed 001, 상담할당관리) under `/v2/customerservice/csAllocationMgmt`,
//! and the operator's queue and membership administration under `/api/v1/counsel`.
//!
//! - Every endpoint is the operator's: its API key, or a `CS_MANAGER`/`ADMIN` user of
//!   the operator org (Bearer); anyone else gets 403. Queue and membership changes need
//!   the key or an `ADMIN`.
//! - Users are named by their login id (`userId`, `aempId` = `mohomId` of the operator
//!   org's users); departments (`deptCd`) are the users' `teamId`.
//! - Customer names and phones leave masked (JSON and the Excel export).
//! - The rules live in `domain::counsel`/`counsel_sheet`, the engine in
//!   `domain::allocation`, storage in `infra::counsel`; a refusal changes nothing.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use domain::counsel::{
    AutoDivGroup, ManagerStats, MemberTerms, QueueKey, is_detail_number, parse_auto_div_no, parse_queue_policy,
    shares_within, stats_range,
};
use domain::counsel_sheet::{MAX_FILE_BYTES, parse_request};
use domain::error::FieldError;
use domain::identity::{MohomId, Role};
use domain::pii::mask;
use domain::ports::UserRepository;
use futures_util::StreamExt as _;
use infra::counsel::{CaseFilter, CounselCase, CounselError, ManagerEntry, Membership, Queue};
use infra::counsel_excel::{ExportRow, SheetError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::gate::{OperatorAdmin, OperatorStaff};
use crate::idempotency::Principal;
use crate::state::AppState;
use crate::wire::timestamp;

/// The seed's path prefix.
pub const PREFIX: &str = "/v2/customerservice/csAllocationMgmt";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(save_excel)
        .service(export_excel)
        .service(change_possible)
        .service(manual_assign_list)
        .service(manual_assign)
        .service(manager_list)
        .service(manager_count)
        .service(allocation_stats)
        .service(allocation_detail)
        .service(check_validate_manager)
        .service(create_queue)
        .service(list_queues)
        .service(add_member)
        .service(update_member)
        .service(remove_member)
        .service(read_case)
        .service(complete_case);
}

/// The operator's CS staff (reading and working cases) or, with `admin`, its
/// administrators (changing queues and memberships).
fn actor(caller: &Caller) -> String {
    caller.actor()
}

impl From<CounselError> for ApiError {
    fn from(err: CounselError) -> Self {
        let message = err.to_string();
        match err {
            CounselError::QueueNotFound(_) => ApiError::not_found("COUNSEL_QUEUE_NOT_FOUND", message),
            CounselError::QueueExists(_) => ApiError::conflict("COUNSEL_QUEUE_EXISTS", message),
            CounselError::MemberNotFound(_) => ApiError::not_found("COUNSEL_MEMBER_NOT_FOUND", message),
            CounselError::NotAManager(reason) => {
                ApiError::conflict("COUNSEL_NOT_A_MANAGER", format!("{message} ({reason})"))
            }
            CounselError::AlreadyMember => ApiError::conflict("COUNSEL_ALREADY_MEMBER", message),
            CounselError::NotAMember => ApiError::conflict("COUNSEL_NOT_A_MEMBER", message),
            CounselError::CaseNotFound(_) => ApiError::not_found("COUNSEL_CASE_NOT_FOUND", message),
            CounselError::CaseNotWaiting(_) => ApiError::conflict("COUNSEL_CASE_NOT_WAITING", message),
            CounselError::CaseNotAssigned(_) => ApiError::conflict("COUNSEL_CASE_NOT_ASSIGNED", message),
            CounselError::CaseIsAsReview(_) => ApiError::conflict("COUNSEL_CASE_IS_AS_REVIEW", message),
            CounselError::OverCapacity(_) => ApiError::conflict("COUNSEL_OVER_CAPACITY", message),
            CounselError::Repo(repo) => repo.into(),
        }
    }
}

fn sheet_error(err: SheetError) -> ApiError {
    let message = err.to_string();
    match err {
        SheetError::TooLarge { .. } => {
            ApiError::PayloadTooLarge { limit: usize::try_from(MAX_FILE_BYTES).unwrap_or(0) }
        }
        SheetError::Rows(rows) => ApiError::Unprocessable {
            code: "EXCEL_ROWS_INVALID",
            message,
            details: rows
                .into_iter()
                .map(|r| FieldError::new(format!("excelFile.rows[{}].{}", r.row, r.column.as_str()), r.reason))
                .collect(),
        },
        SheetError::TooManyRows => ApiError::Unprocessable { code: "EXCEL_TOO_MANY_ROWS", message, details: vec![] },
        SheetError::NotXlsx(_) | SheetError::ZipBomb(_) | SheetError::Empty => {
            ApiError::Refused { code: "EXCEL_INVALID", message, details: vec![] }
        }
    }
}

/// The operator org's user named by a login id.
async fn operator_user(state: &AppState, caller: &Caller, login: &str, field: &str) -> Result<Uuid, ApiError> {
    let mohom = MohomId::parse(login).map_err(|_| ApiError::invalid(field, "must be a user id"))?;
    match state.users.find(caller.org_id(), &mohom).await? {
        Some(user) if user.is_active() => Ok(user.id),
        _ => Err(ApiError::not_found("USER_NOT_FOUND", "no such active user in the operator org")),
    }
}

fn queue_key(group: Option<&str>, detail: Option<&str>) -> Result<QueueKey, ApiError> {
    Ok(QueueKey::parse(group.unwrap_or_default(), detail.unwrap_or_default())?)
}

// Optional filters: absent means "any"; present must be a good value (an empty value is
// a bad one, as everywhere in the API: leave the parameter out instead).

fn optional_group(raw: Option<&str>, field: &str) -> Result<Option<AutoDivGroup>, ApiError> {
    raw.map(|r| r.parse::<AutoDivGroup>().map_err(|_| ApiError::invalid(field, "must be one of 10, 20, 50 (CS023)")))
        .transpose()
}

fn optional_detail<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if !is_detail_number(r) => Err(ApiError::invalid(field, "must be 1 to 20 letters or digits")),
        other => Ok(other),
    }
}

fn optional_login<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if MohomId::parse(r).is_err() => Err(ApiError::invalid(field, "must be a user id")),
        other => Ok(other),
    }
}

fn optional_text<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if r.is_empty() || r.chars().count() > 100 => {
            Err(ApiError::invalid(field, "must be 1 to 100 characters"))
        }
        other => Ok(other),
    }
}

// -----------------------------------------------------------------------------------------
// DTOs

/// A counsel queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueDto {
    pub auto_div_gb_cd: String,
    pub auto_div_gb_nm: String,
    pub auto_div_dtl_no: String,
    pub name: String,
    /// `ROUND_ROBIN`, `WEIGHTED` or `LEAST_LOADED`.
    pub policy: String,
    pub created_at: String,
}

impl From<&Queue> for QueueDto {
    fn from(q: &Queue) -> Self {
        Self {
            auto_div_gb_cd: q.key.group.as_str().to_owned(),
            auto_div_gb_nm: q.key.group.label().to_owned(),
            auto_div_dtl_no: q.key.detail.clone(),
            name: q.name.clone(),
            policy: q.policy.as_str().to_owned(),
            created_at: timestamp(q.created_at),
        }
    }
}

/// A manager's membership of a queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    /// 자동배분번호.
    pub auto_div_no: String,
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub queue_name: String,
    pub policy: String,
    /// The manager's login id (`aempId`).
    pub user_id: String,
    pub dept_cd: Option<String>,
    pub weight: u32,
    pub capacity: u32,
    /// `Y` or `N`.
    pub alloc_possible_yn: String,
    pub open_cases: u64,
    /// `Y` when the manager's account is active.
    pub use_yn: String,
    pub last_assigned_at: Option<String>,
}

fn yn(flag: bool) -> String {
    if flag { "Y" } else { "N" }.to_owned()
}

impl From<&Membership> for MembershipDto {
    fn from(m: &Membership) -> Self {
        Self {
            auto_div_no: m.auto_div_no.to_string(),
            auto_div_gb_cd: m.queue.group.as_str().to_owned(),
            auto_div_dtl_no: m.queue.detail.clone(),
            queue_name: m.queue_name.clone(),
            policy: m.policy.as_str().to_owned(),
            user_id: m.mohom_id.clone(),
            dept_cd: m.dept.clone(),
            weight: m.terms.weight,
            capacity: m.terms.capacity,
            alloc_possible_yn: yn(m.possible),
            open_cases: m.open_cases,
            use_yn: yn(m.user_active),
            last_assigned_at: m.last_assigned_at.map(timestamp),
        }
    }
}

/// A counsel case; the customer masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseDto {
    /// 상담번호.
    pub cnsl_no: Uuid,
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub cnsl_typ_no: String,
    pub ob_typ_no: Option<String>,
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    /// Masked.
    pub cust_nm: Option<String>,
    /// Masked.
    pub cust_tel_no: Option<String>,
    /// `WAITING`, `ASSIGNED` or `COMPLETED`.
    pub status: String,
    /// The assigned manager's login id (담당자ID, as `manualAssign` and the manager list
    /// name them).
    pub aemp_id: Option<String>,
    pub auto_div_no: Option<String>,
    /// `AUTO` or `MANUAL`.
    pub assign_kind: Option<String>,
    /// The engine's reasons for an automatic pick: policy, candidates with their credits,
    /// the others and why they were skipped.
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<serde_json::Value>,
    pub as_id: Option<Uuid>,
    pub created_at: String,
    pub assigned_at: Option<String>,
    pub completed_at: Option<String>,
}

impl CaseDto {
    /// The case, its manager named by `aemp_id` (their login id).
    fn new(c: &CounselCase, aemp_id: Option<String>) -> Self {
        Self {
            cnsl_no: c.cnsl_no,
            auto_div_gb_cd: c.queue.group.as_str().to_owned(),
            auto_div_dtl_no: c.queue.detail.clone(),
            cnsl_typ_no: c.cnsl_typ_no.clone(),
            ob_typ_no: c.ob_typ_no.clone(),
            mbr_no: c.mbr_no.clone(),
            ord_no: c.ord_no.clone(),
            accp_cont: c.accp_cont.clone(),
            cust_nm: c.cust_nm.as_ref().map(|n| mask::mask_name(n.as_str())),
            cust_tel_no: c.cust_tel.as_ref().map(|p| mask::mask_phone(&p.national())),
            status: c.status.as_str().to_owned(),
            aemp_id,
            auto_div_no: c.auto_div_no.map(|n| n.to_string()),
            assign_kind: c.assign_kind.map(|k| k.as_str().to_owned()),
            explanation: c.explanation.clone(),
            as_id: c.as_id,
            created_at: timestamp(c.created_at),
            assigned_at: c.assigned_at.map(timestamp),
            completed_at: c.completed_at.map(timestamp),
        }
    }
}

/// The cases as DTOs, each manager named by their login id (one lookup per manager).
async fn case_dtos(state: &AppState, cases: &[CounselCase]) -> Result<Vec<CaseDto>, ApiError> {
    let mut logins: HashMap<Uuid, Option<String>> = HashMap::new();
    for id in cases.iter().filter_map(|c| c.assignee_user_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = logins.entry(id) {
            slot.insert(state.users.find_by_id(id).await?.map(|u| u.mohom_id.as_str().to_owned()));
        }
    }
    Ok(cases.iter().map(|c| CaseDto::new(c, c.assignee_user_id.and_then(|id| logins[&id].clone()))).collect())
}

/// A case as it is now, for a reply.
async fn case_reply(state: &AppState, cnsl_no: Uuid) -> Result<CaseDto, ApiError> {
    let case = state
        .counsel
        .case(cnsl_no)
        .await?
        .ok_or_else(|| ApiError::not_found("COUNSEL_CASE_NOT_FOUND", "no such case"))?;
    case_dtos(state, std::slice::from_ref(&case))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a case without its DTO")))
}

fn cnsl_no_of(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("cnslNo", "must be a UUID"))
}

/// A list of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseListResponse {
    pub data: Vec<CaseDto>,
    pub total: usize,
}

/// A manager in auto-distribution with their memberships.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagerDto {
    pub user_id: String,
    /// Masked.
    pub user_nm: String,
    pub dept_cd: Option<String>,
    pub use_yn: String,
    pub memberships: Vec<MembershipDto>,
}

impl From<&ManagerEntry> for ManagerDto {
    fn from(m: &ManagerEntry) -> Self {
        Self {
            user_id: m.mohom_id.clone(),
            user_nm: mask::mask_name(m.name.as_str()),
            dept_cd: m.dept.clone(),
            use_yn: yn(m.active),
            memberships: m.memberships.iter().map(MembershipDto::from).collect(),
        }
    }
}

/// The manager list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerListResponse {
    pub data: Vec<ManagerDto>,
}

/// The manager count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountResponse {
    pub count: usize,
}

/// Memberships.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipListResponse {
    pub data: Vec<MembershipDto>,
}

/// Queues.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueListResponse {
    pub data: Vec<QueueDto>,
}

/// One manager's counts in the range.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationStatsDto {
    pub auto_div_no: String,
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub user_id: String,
    pub weight: u32,
    pub alloc_possible_yn: String,
    /// Assigned by the engine in the range.
    pub auto_assigned: u64,
    /// Assigned by a person in the range.
    pub manual_assigned: u64,
    pub completed: u64,
    /// Open now.
    pub open: u64,
    /// This manager's percentage of the cases assigned in the range, among the rows
    /// shown of the same queue.
    pub actual_share: f64,
    /// The percentage their weight asks for, among the rows shown of the same queue.
    pub weight_share: f64,
}

/// `csAllocationMgmtList`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationStatsResponse {
    pub data: Vec<AllocationStatsDto>,
    /// The range counted, `[from, to)`, or null for all time.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `checkValidateManager`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateManagerResponse {
    pub valid: bool,
    /// Why not: `USER_NOT_FOUND`, `USER_INACTIVE`, `NOT_CS_MANAGER`, `DEPARTMENT_MISMATCH`,
    /// `ALREADY_MEMBER`, `QUEUE_NOT_FOUND`.
    pub reason: Option<String>,
}

/// The result of an import.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResponse {
    pub imported: usize,
    pub assigned: usize,
    pub waiting: usize,
    pub cases: Vec<ImportedCase>,
}

/// One imported case.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedCase {
    pub cnsl_no: Uuid,
    pub auto_div_no: Option<String>,
}

/// The availability toggle's result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePossibleResponse {
    pub data: Vec<MembershipDto>,
}

// -----------------------------------------------------------------------------------------
// Import and export

/// `saveObCsCounselInfoListExcel` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SaveExcelQuery {
    /// Column keys in sheet order: `cnslNo`, `mbrNo`, `ordNo`, `accpCont`, `custNm`,
    /// `custTelNo`, `skip` (or their Korean labels). Required; must name `custTelNo` or
    /// `cnslNo`, and `mbrNo` or `ordNo`. A row with a `cnslNo` (an export's 상담번호)
    /// takes that case's customer: an export comes back with
    /// `cnslNo,mbrNo,ordNo,accpCont,custNm,custTelNo`.
    pub excel_columns: Option<String>,
    /// Required.
    pub cnsl_typ_no: Option<String>,
    /// The outbound type; the cases go to queue (`50`, `obTypNo`). Required.
    pub ob_typ_no: Option<String>,
}

/// The multipart body.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ExcelUpload {
    /// The .xlsx file (first sheet; a header row is recognised and skipped).
    #[schema(value_type = String, format = Binary)]
    pub excel_file: Vec<u8>,
}

async fn excel_file(mut form: Multipart) -> Result<Vec<u8>, ApiError> {
    let limit = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::invalid("excelFile", &format!("unreadable multipart body: {e}")))?;
        if field.name() != Some("excelFile") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| ApiError::invalid("excelFile", &format!("unreadable multipart body: {e}")))?;
            }
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::invalid("excelFile", &format!("unreadable multipart body: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(ApiError::invalid("excelFile", "is required (multipart/form-data field excelFile)"))
}

/// 아웃바운드 상담 엑셀 업로드: every row validated (a report of row, column and
/// reason; all or nothing), then the cases are auto-distributed in queue (`50`,
/// `obTypNo`); cases nobody can take wait for manual assignment.
#[utoipa::path(
    tag = "counsel",
    params(SaveExcelQuery),
    request_body(content = ExcelUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = ImportResponse, description = "imported and distributed"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (query), EXCEL_INVALID (not an .xlsx, a zip bomb, no rows)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "COUNSEL_QUEUE_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "IDEMPOTENCY_KEY_IN_PROGRESS"),
        (status = 413, body = ErrorResponse, description = "PAYLOAD_TOO_LARGE (20 MiB)"),
        (status = 422, body = ErrorResponse, description = "EXCEL_ROWS_INVALID (details: excelFile.rows[n].column, with the reason; nothing imported), EXCEL_TOO_MANY_ROWS (over 50,000), IDEMPOTENCY_KEY_REUSED"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel")]
pub async fn save_excel(
    state: web::Data<AppState>,
    OperatorStaff(caller): OperatorStaff,
    query: web::Query<SaveExcelQuery>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    // A declared body far past the file limit is refused before a byte is read (the
    // multipart envelope around the file is allowed 64 KiB).
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_FILE_BYTES + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge { limit: usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX) });
    }
    let (ob_typ_no, cnsl_typ_no) = (query.ob_typ_no.as_deref().unwrap_or_default(), query.cnsl_typ_no.as_deref());
    let (map, types) =
        parse_request(query.excel_columns.as_deref().unwrap_or_default(), cnsl_typ_no.unwrap_or_default(), ob_typ_no)?;
    let key = queue_key(Some(AutoDivGroup::Outbound.as_str()), Some(ob_typ_no))?;
    let bytes = excel_file(form).await?;
    // A retry with the same Idempotency-Key and the same file replays the first answer
    // instead of importing every case again.
    let fingerprint = ImportFingerprint {
        excel_columns: query.excel_columns.clone(),
        cnsl_typ_no: query.cnsl_typ_no.clone(),
        ob_typ_no: query.ob_typ_no.clone(),
        excel_file_sha256: infra::idempotency::content_digest(&bytes),
    };
    let blocking = |e: actix_web::error::BlockingError| ApiError::Internal(anyhow::anyhow!("excel reader: {e}"));
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &fingerprint, || async {
        let sheet = web::block(move || infra::counsel_excel::read_sheet(&bytes, &map))
            .await
            .map_err(blocking)?
            .map_err(sheet_error)?;
        // Rows that name an exported case (cnslNo) take its customer.
        let known = state.counsel.customers_of(&sheet.named_cases()).await?;
        let cases = web::block(move || sheet.cases(&types, &known)).await.map_err(blocking)?.map_err(sheet_error)?;
        let outcomes = state.counsel.create_cases(&key, &cases, &actor(&caller), state.clock.now()).await?;
        let assigned = outcomes.iter().filter(|o| o.assignee.is_some()).count();
        Ok((
            StatusCode::OK,
            ImportResponse {
                imported: outcomes.len(),
                assigned,
                waiting: outcomes.len() - assigned,
                cases: outcomes
                    .iter()
                    .map(|o| ImportedCase { cnsl_no: o.cnsl_no, auto_div_no: o.assignee.map(|(n, _)| n.to_string()) })
                    .collect(),
            },
        ))
    })
    .await
}

/// What makes two imports the same request, for `Idempotency-Key`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportFingerprint {
    excel_columns: Option<String>,
    cnsl_typ_no: Option<String>,
    ob_typ_no: Option<String>,
    excel_file_sha256: String,
}

/// Case filters of the export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// 회원번호 (exact).
    pub mbr_no: Option<String>,
    /// 주문번호 (exact).
    pub ord_no: Option<String>,
    /// 접수내용 (part of it).
    pub accp_cont: Option<String>,
    pub cnsl_typ_no: Option<String>,
    pub ob_typ_no: Option<String>,
}

/// 아웃바운드 상담 엑셀 다운로드: the matching cases as .xlsx (Korean headers, customer
/// name and phone masked).
#[utoipa::path(
    tag = "counsel",
    params(CaseQuery),
    responses(
        (status = 200, description = "the .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/v2/customerservice/csAllocationMgmt/getObCsCounselInfoListExcel")]
pub async fn export_excel(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = CaseFilter {
        mbr_no: optional_text(query.mbr_no.as_deref(), "mbrNo")?.map(str::to_owned),
        ord_no: optional_text(query.ord_no.as_deref(), "ordNo")?.map(str::to_owned),
        accp_cont: optional_text(query.accp_cont.as_deref(), "accpCont")?.map(str::to_owned),
        cnsl_typ_no: optional_detail(query.cnsl_typ_no.as_deref(), "cnslTypNo")?.map(str::to_owned),
        ob_typ_no: optional_detail(query.ob_typ_no.as_deref(), "obTypNo")?.map(str::to_owned),
    };
    let cases = state.counsel.list_cases(&filter).await?;
    let managers = state.counsel.managers(None, None).await?;
    let login =
        |id: Option<Uuid>| id.and_then(|id| managers.iter().find(|m| m.user_id == id).map(|m| m.mohom_id.clone()));
    let rows: Vec<ExportRow> = cases
        .iter()
        .map(|c| ExportRow {
            cnsl_no: c.cnsl_no.to_string(),
            mbr_no: c.mbr_no.clone(),
            ord_no: c.ord_no.clone(),
            accp_cont: c.accp_cont.clone(),
            cust_nm: c.cust_nm.as_ref().map(|n| n.as_str().to_owned()),
            cust_tel: c.cust_tel.as_ref().map(|p| p.national()),
            cnsl_typ_no: c.cnsl_typ_no.clone(),
            ob_typ_no: c.ob_typ_no.clone(),
            status: c.status,
            manager: login(c.assignee_user_id),
            received_at: c.created_at,
            assigned_at: c.assigned_at,
        })
        .collect();
    let seoul = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let bytes = web::block(move || infra::counsel_excel::write_cases(&rows, seoul))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("excel writer: {e}")))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("excel writer: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"ob_counsel_cases.xlsx\""))
        .body(bytes))
}

// -----------------------------------------------------------------------------------------
// Availability and manual assignment

/// 자동배분 담당자 할당 진행상태 변경 요청.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePossibleRequest {
    /// `Y` or `N`.
    pub state: String,
    /// 자동배분번호 목록.
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
    let changed = state.counsel.set_possible(&numbers, possible, &actor(&caller), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(ChangePossibleResponse { data: changed.iter().map(MembershipDto::from).collect() }))
}

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
    let group = optional_group(query.auto_div_gb_cd.as_deref(), "autoDivGbCd")?;
    let detail = optional_detail(query.auto_div_dtl_no.as_deref(), "autoDivDtlNo")?;
    let cases: Vec<CounselCase> = state
        .counsel
        .waiting_cases(None)
        .await?
        .into_iter()
        .filter(|c| group.is_none_or(|g| c.queue.group == g) && detail.is_none_or(|d| c.queue.detail == d))
        .collect();
    Ok(HttpResponse::Ok().json(CaseListResponse { total: cases.len(), data: case_dtos(&state, &cases).await? }))
}

/// 수동배정.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualAssignRequest {
    pub cnsl_no: String,
    /// The manager's login id.
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
    let cnsl_no: Uuid = cnsl_no_of(&body.cnsl_no)?;
    let user = operator_user(&state, &caller, &body.aemp_id, "aempId").await?;
    state.counsel.manual_assign(cnsl_no, user, &actor(&caller), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(case_reply(&state, cnsl_no).await?))
}

// -----------------------------------------------------------------------------------------
// Managers and statistics

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
    Ok((optional_text(query.dept_cd.as_deref(), "deptCd")?, optional_login(query.user_id.as_deref(), "userId")?))
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
    let managers = state.counsel.managers(dept, user).await?;
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
    let managers = state.counsel.managers(dept, user).await?;
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
    let (from, to) = stats_range(
        query.date_select.as_deref(),
        query.start_date.as_deref(),
        query.end_date.as_deref(),
        state.clock.now(),
    )?;
    let group = optional_group(query.auto_div_gb_cd.as_deref(), "autoDivGbCd")?;
    let detail = optional_detail(query.auto_div_dtl_no.as_deref(), "autoDivDtlNo")?;
    let user = optional_login(query.user_id.as_deref(), "userId")?;
    let rows = state.counsel.stats(group, detail, user, from, to).await?;
    let by_queue: Vec<(&QueueKey, ManagerStats)> = rows.iter().map(|(m, s)| (&m.queue, s.clone())).collect();
    let shares_of = shares_within(&by_queue);
    let data = rows
        .iter()
        .zip(shares_of)
        .map(|((m, s), (actual, expected))| AllocationStatsDto {
            auto_div_no: m.auto_div_no.to_string(),
            auto_div_gb_cd: m.queue.group.as_str().to_owned(),
            auto_div_dtl_no: m.queue.detail.clone(),
            user_id: m.mohom_id.clone(),
            weight: m.terms.weight,
            alloc_possible_yn: yn(m.possible),
            auto_assigned: s.auto_assigned,
            manual_assigned: s.manual_assigned,
            completed: s.completed,
            open: s.open,
            actual_share: actual,
            weight_share: expected,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AllocationStatsResponse { data, from: from.map(timestamp), to: to.map(timestamp) }))
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
    let group = optional_group(query.sub_auto_div_gb_cd.as_deref(), "subAutoDivGbCd")?;
    let detail = optional_detail(query.sub_auto_div_dtl_no.as_deref(), "subAutoDivDtlNo")?;
    let user = optional_login(query.user_id.as_deref(), "userId")?;
    let rows = state.counsel.memberships(group, detail, user).await?;
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
    let login = optional_login(query.aemp_id.as_deref(), "aempId")?
        .ok_or_else(|| ApiError::invalid("aempId", "is required"))?;
    let key = match (query.auto_div_gb_cd.as_deref(), query.auto_div_dtl_no.as_deref()) {
        (None, None) => None,
        (group, detail) => Some(queue_key(group, detail)?),
    };
    let dept = optional_text(query.dept_cd.as_deref(), "deptCd")?;
    let answer = state.counsel.check_manager(login, key.as_ref(), dept).await?;
    Ok(HttpResponse::Ok().json(match answer {
        Ok(()) => ValidateManagerResponse { valid: true, reason: None },
        Err(reason) => ValidateManagerResponse { valid: false, reason: Some(reason.to_owned()) },
    }))
}

// -----------------------------------------------------------------------------------------
// Administration (operator API)

/// A queue to create.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateQueueRequest {
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    pub name: String,
    /// `ROUND_ROBIN` (default), `WEIGHTED` or `LEAST_LOADED`.
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
        let key = QueueKey::parse(&body.auto_div_gb_cd, &body.auto_div_dtl_no)?;
        let policy = parse_queue_policy(body.policy.as_deref().unwrap_or("ROUND_ROBIN"))?;
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ApiError::invalid("name", "must be 1 to 100 printable characters"));
        }
        let queue = state.counsel.create_queue(&key, name, policy, state.clock.now()).await?;
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
    let queues = state.counsel.list_queues().await?;
    Ok(HttpResponse::Ok().json(QueueListResponse { data: queues.iter().map(QueueDto::from).collect() }))
}

/// A manager to add to a queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMemberRequest {
    pub auto_div_gb_cd: String,
    pub auto_div_dtl_no: String,
    /// The manager's login id.
    pub aemp_id: String,
    /// 1 to 100 (default 1).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub weight: Option<f64>,
    /// Most open cases, 1 to 10,000 (default 10).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub capacity: Option<f64>,
    /// `Y` (default) or `N`.
    pub alloc_possible_yn: Option<String>,
}

fn possible_flag(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw.map(str::trim) {
        None | Some("Y") => Ok(true),
        Some("N") => Ok(false),
        Some(_) => Err(ApiError::invalid("allocPossibleYn", "must be Y or N")),
    }
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
        let terms = terms(body.weight.unwrap_or(1.0), body.capacity.unwrap_or(10.0))?;
        let possible = possible_flag(body.alloc_possible_yn.as_deref())?;
        let user = operator_user(&state, &caller, &body.aemp_id, "aempId").await?;
        let member = state.counsel.add_member(&key, user, terms, possible, &actor(&caller), state.clock.now()).await?;
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

fn terms(weight: f64, capacity: f64) -> Result<MemberTerms, ApiError> {
    match (whole(weight, "weight"), whole(capacity, "capacity")) {
        (Ok(w), Ok(c)) => Ok(MemberTerms::new(w, c)?),
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
    let terms = terms(body.weight, body.capacity)?;
    let member = state.counsel.update_member(number, terms, &actor(&caller), state.clock.now()).await?;
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
    let returned = state.counsel.remove_member(number, &actor(&caller), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(RemovedMemberResponse { auto_div_no: number.to_string(), returned_cases: returned }))
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
    let cnsl_no: Uuid = cnsl_no_of(&path)?;
    Ok(HttpResponse::Ok().json(case_reply(&state, cnsl_no).await?))
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
    let cnsl_no: Uuid = cnsl_no_of(&path)?;
    if let Caller::User { user, .. } = &caller
        && user.role == Role::CsManager
    {
        let case = state.counsel.case(cnsl_no).await?;
        if case.is_some_and(|c| c.assignee_user_id.is_some_and(|assignee| assignee != user.id)) {
            return Err(ApiError::forbidden("a CS manager completes only the cases assigned to them"));
        }
    }
    state.counsel.complete_case(cnsl_no, &actor(&caller), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(case_reply(&state, cnsl_no).await?))
}
