//! Outbound cases in and out of Excel (seed 001), each path read both ways the seed can
//! be read:
//! - `saveObCsCounselInfoListExcel` with a multipart `excelFile` imports the sheet (all or
//!   nothing); without a file, the query's `mbrNo`, `ordNo`, `accpCont` make one case;
//! - `getObCsCounselInfoListExcel` without a body exports the matching cases as `.xlsx`;
//!   with a multipart `excelFile` it previews the sheet as JSON (each row judged, nothing
//!   saved).

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::counsel::CaseFilter;
use domain::counsel_sheet::{CaseTypes, MAX_FILE_BYTES, parse_request};
use domain::service::counsel::outbound_queue;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ImportResponse, PreviewResponse, XlsxFile, given, optional_detail, optional_text, service};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::gate::OperatorStaff;
use crate::idempotency::{Principal, content_digest};
use crate::state::AppState;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `saveObCsCounselInfoListExcel` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SaveExcelQuery {
    /// Column keys in sheet order: `cnslNo`, `mbrNo`, `ordNo`, `accpCont`, `custNm`,
    /// `custTelNo`, `skip` (or their Korean labels). Required with a file; must name
    /// `custTelNo` or `cnslNo`, and `mbrNo` or `ordNo`. A row with a `cnslNo` (an export's
    /// 상담번호) takes that case's customer: an export comes back with
    /// `cnslNo,mbrNo,ordNo,accpCont,custNm,custTelNo`.
    pub excel_columns: Option<String>,
    /// Required.
    pub cnsl_typ_no: Option<String>,
    /// The outbound type; the cases go to queue (`50`, `obTypNo`). Required.
    pub ob_typ_no: Option<String>,
    /// 회원번호 of the one case saved without a file (`mbrNo` or `ordNo` required then).
    pub mbr_no: Option<String>,
    /// 주문번호 of the one case saved without a file.
    pub ord_no: Option<String>,
    /// 접수내용 of the one case saved without a file.
    pub accp_cont: Option<String>,
}

/// The multipart body.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExcelUpload {
    /// The .xlsx file (first sheet; a header row is recognised and skipped).
    #[schema(value_type = String, format = Binary)]
    pub excel_file: Vec<u8>,
}

/// A multipart body that is there: a `multipart/*` type with content. Generated clients
/// send the multipart type with an empty body when the optional file is left out, which
/// is the other reading of the path, not a form missing its file.
fn is_multipart(req: &HttpRequest) -> bool {
    let headers = req.headers();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/"));
    let empty = !headers.contains_key(header::TRANSFER_ENCODING)
        && headers.get(header::CONTENT_LENGTH).is_none_or(|len| len.as_bytes() == b"0");
    multipart && !empty
}

/// The `excelFile` part of a multipart body, refused past the file limit (a declared body
/// far past it is refused before a byte is read: the envelope is allowed 64 KiB).
async fn excel_file(req: &HttpRequest, payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let limit = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX);
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_FILE_BYTES + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let unreadable =
        |e: &dyn std::fmt::Display| ApiError::invalid("excelFile", &format!("unreadable multipart body: {e}"));
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| unreadable(&e))?;
        let wanted = field.name() == Some("excelFile");
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| unreadable(&e))?;
            if wanted {
                if bytes.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                bytes.extend_from_slice(&chunk);
            }
        }
        if wanted {
            return Ok(bytes);
        }
    }
    Err(ApiError::invalid("excelFile", "is required (multipart/form-data field excelFile)"))
}

/// What makes two saves the same request, for `Idempotency-Key` (a file by its digest).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SaveFingerprint {
    excel_columns: Option<String>,
    cnsl_typ_no: Option<String>,
    ob_typ_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excel_file_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mbr_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ord_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accp_cont: Option<String>,
}

/// 아웃바운드 상담 엑셀 업로드: every row validated (a report of row, column and
/// reason; all or nothing), then the cases are auto-distributed in queue (`50`,
/// `obTypNo`); cases nobody can take wait for manual assignment. Without a file (not
/// `multipart/form-data`), the query's `mbrNo`, `ordNo` and `accpCont` are one case,
/// saved the same way.
#[utoipa::path(
    tag = "counsel",
    params(SaveExcelQuery),
    request_body(
        content = ref("#/components/schemas/ExcelUpload"),
        content_type = "multipart/form-data",
        description = "The sheet to import; without it, the query's one case is saved",
    ),
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
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let fingerprint = SaveFingerprint {
        excel_columns: query.excel_columns.clone(),
        cnsl_typ_no: query.cnsl_typ_no.clone(),
        ob_typ_no: query.ob_typ_no.clone(),
        excel_file_sha256: None,
        mbr_no: None,
        ord_no: None,
        accp_cont: None,
    };
    if is_multipart(&req) {
        import_file(&state, &caller, &query, fingerprint, &req, payload).await
    } else {
        save_fields(&state, &caller, &query, fingerprint, &req).await
    }
}

/// The sheet of a multipart save, imported all or nothing.
async fn import_file(
    state: &AppState,
    caller: &Caller,
    q: &SaveExcelQuery,
    mut fingerprint: SaveFingerprint,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (cnsl_typ_no, ob_typ_no) = (given(q.cnsl_typ_no.as_ref()), given(q.ob_typ_no.as_ref()));
    let columns = given(q.excel_columns.as_ref()).unwrap_or_default();
    let (map, types) = parse_request(columns, cnsl_typ_no.unwrap_or_default(), ob_typ_no.unwrap_or_default())?;
    outbound_queue(types.ob_typ_no())?;
    let bytes = excel_file(req, payload).await?;
    // A retry with the same Idempotency-Key and the same file replays the first answer.
    fingerprint.excel_file_sha256 = Some(content_digest(&bytes));
    crate::idempotency::run(state, &Principal::caller(caller), req, &fingerprint, || async {
        let imported = service(state).import(&caller.principal(), map, &types, bytes).await?;
        Ok((StatusCode::OK, ImportResponse::from(&imported)))
    })
    .await
}

/// The one case a save without a file names in its query.
async fn save_fields(
    state: &AppState,
    caller: &Caller,
    q: &SaveExcelQuery,
    mut fingerprint: SaveFingerprint,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (cnsl_typ_no, ob_typ_no) = (given(q.cnsl_typ_no.as_ref()), given(q.ob_typ_no.as_ref()));
    let types = CaseTypes::parse(cnsl_typ_no.unwrap_or_default(), ob_typ_no.unwrap_or_default())?;
    let (mbr_no, ord_no, accp_cont) = (given(q.mbr_no.as_ref()), given(q.ord_no.as_ref()), given(q.accp_cont.as_ref()));
    fingerprint.mbr_no = mbr_no.map(str::to_owned);
    fingerprint.ord_no = ord_no.map(str::to_owned);
    fingerprint.accp_cont = accp_cont.map(str::to_owned);
    crate::idempotency::run(state, &Principal::caller(caller), req, &fingerprint, || async {
        let saved = service(state).save_one(&caller.principal(), &types, mbr_no, ord_no, accp_cont).await?;
        Ok((StatusCode::OK, ImportResponse::from(&saved)))
    })
    .await
}

/// The sheet of a multipart export request, previewed: nothing saved.
async fn preview_file(
    state: &AppState,
    q: &CaseQuery,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (cnsl_typ_no, ob_typ_no) = (given(q.cnsl_typ_no.as_ref()), given(q.ob_typ_no.as_ref()));
    let columns = given(q.excel_columns.as_ref()).unwrap_or_default();
    let (map, types) = parse_request(columns, cnsl_typ_no.unwrap_or_default(), ob_typ_no.unwrap_or_default())?;
    let bytes = excel_file(req, payload).await?;
    let rows = service(state).preview(map, &types, bytes).await?;
    Ok(HttpResponse::Ok().json(PreviewResponse::from(rows.as_slice())))
}

/// Case filters of the export; with a file, the preview's `excelColumns`, `cnslTypNo`
/// and `obTypNo`.
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
    /// With an `excelFile` (a preview): the sheet's columns, as
    /// `saveObCsCounselInfoListExcel` takes them.
    pub excel_columns: Option<String>,
}

/// 아웃바운드 상담 엑셀 다운로드: the matching cases as .xlsx (Korean headers, customer
/// name and phone masked, times in Asia/Seoul). With a multipart `excelFile`, a preview
/// instead: the sheet's rows as `saveObCsCounselInfoListExcel` would judge them, as JSON,
/// each with its errors; nothing is saved.
#[utoipa::path(
    tag = "counsel",
    params(CaseQuery),
    request_body(
        content = ref("#/components/schemas/ExcelUpload"),
        content_type = "multipart/form-data",
        description = "A sheet to preview; without it, the matching cases are exported",
    ),
    responses(
        (status = 200, description = "the .xlsx workbook, or the preview of an uploaded one", content(
            (inline(XlsxFile) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (PreviewResponse = "application/json"),
        )),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED, EXCEL_INVALID (a preview's file)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 413, body = ErrorResponse, description = "PAYLOAD_TOO_LARGE (20 MiB)"),
        (status = 422, body = ErrorResponse, description = "EXCEL_TOO_MANY_ROWS (a preview's file, over 50,000)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/v2/customerservice/csAllocationMgmt/getObCsCounselInfoListExcel")]
pub async fn export_excel(
    state: web::Data<AppState>,
    _staff: OperatorStaff,
    query: web::Query<CaseQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    if is_multipart(&req) {
        return preview_file(&state, &q, &req, payload).await;
    }
    let owned = |v: Option<&str>| v.map(str::to_owned);
    let filter = CaseFilter {
        mbr_no: owned(optional_text(given(q.mbr_no.as_ref()), "mbrNo")?),
        ord_no: owned(optional_text(given(q.ord_no.as_ref()), "ordNo")?),
        accp_cont: owned(optional_text(given(q.accp_cont.as_ref()), "accpCont")?),
        cnsl_typ_no: owned(optional_detail(given(q.cnsl_typ_no.as_ref()), "cnslTypNo")?),
        ob_typ_no: owned(optional_detail(given(q.ob_typ_no.as_ref()), "obTypNo")?),
    };
    let bytes = service(&state).export(&filter).await?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"ob_counsel_cases.xlsx\""))
        .body(bytes))
}
