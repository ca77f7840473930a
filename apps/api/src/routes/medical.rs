//! 모홈 메디컬보장분석 (`funnel.md` "Medical coverage analysis", issue #17): the NHIS
//! simple authentication (request, complete), the check-ups with their reference
//! ranges, the medical analysis joining them with a coverage analysis, and its PDF and
//! JSON reports. Thin handlers over `domain::service::medical`.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, post, web};
use domain::funnel::health::MedicalReport;
use domain::funnel::identity::Gender;
use domain::funnel::medical::{Checkup, judge, reference};
use domain::funnel::terms::ConsentInput;
use domain::service::medical::MedicalPorts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ErrorResponse};
use crate::gate::ApiKeyOnly;
use crate::routes::coverage::ConsentRequest;
use crate::state::AppState;
use crate::wire::timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(start_auth)
        .service(complete_auth)
        .service(list_checkups)
        .service(create_medical_analysis)
        .service(medical_report_pdf)
        .service(medical_report_json);
}

/// The use case over the state's adapters.
macro_rules! medical {
    ($state:expr) => {
        MedicalPorts {
            identity: &$state.identity,
            secrets: &$state.verification_secrets,
            health: &$state.health,
            analyses: &$state.analyses,
            medical: &$state.medical,
            clock: &*$state.clock,
            terms: &$state.terms,
            retention: time::Duration::days(i64::from($state.settings.funnel.medical_retention_days)),
        }
    };
}

/// A simple-authentication request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NhisAuthRequest {
    /// From `POST /api/v1/coverage/identity/verify`, of this org, within 30 minutes.
    pub verification_token: String,
    /// The app the person approves in.
    #[schema(example = "KAKAO", pattern = "^(KAKAO|NAVER|PASS|TOSS|PAYCO|KB)$")]
    pub auth_provider: String,
    /// Every required terms of `MEDICAL` (민감정보 처리 included) at its current
    /// version (an extension of the seed's fields: health data needs its own consent).
    pub consents: Vec<ConsentRequest>,
}

/// A started session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NhisAuthResponse {
    pub auth_session_id: Uuid,
    /// When the session lapses unapproved (5 minutes).
    pub expires_at: String,
}

/// A session named.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRequest {
    /// From `POST /api/v1/medical/nhis/auth`, of this org.
    #[schema(format = Uuid)]
    pub auth_session_id: String,
}

/// Where a session stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NhisStatusResponse {
    pub auth_session_id: Uuid,
    /// `APPROVED`, `PENDING`, `EXPIRED` or `DENIED`.
    #[schema(example = "APPROVED")]
    pub status: &'static str,
}

/// A normal range of the NHIS general check-up.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceDto {
    pub low: Option<String>,
    pub high: Option<String>,
    pub high_inclusive: bool,
    /// As the report prints it (`120 미만`, `18.5–24.9`).
    pub display: String,
}

/// One measured value with its judgement.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckupItemDto {
    #[schema(example = "systolicBp")]
    pub measure: &'static str,
    #[schema(example = "수축기 혈압")]
    pub name: &'static str,
    #[schema(example = "128.0")]
    pub value: String,
    #[schema(example = "mmHg")]
    pub unit: &'static str,
    /// None for height and weight.
    pub reference: Option<ReferenceDto>,
    /// `NORMAL`, `BORDERLINE` or `DISEASE`; none for height and weight.
    pub judgement: Option<&'static str>,
}

/// One year's check-up.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckupDto {
    pub year: i32,
    pub date: String,
    pub items: Vec<CheckupItemDto>,
}

fn checkup_dtos(checkups: &[Checkup], gender: Gender) -> Vec<CheckupDto> {
    checkups
        .iter()
        .map(|c| CheckupDto {
            year: c.year,
            date: c.date.to_string(),
            items: c
                .values
                .iter()
                .map(|&(measure, value)| CheckupItemDto {
                    measure: measure.code(),
                    name: measure.name_ko(),
                    value: value.to_string(),
                    unit: measure.unit(),
                    reference: reference(measure, gender).map(|r| ReferenceDto {
                        low: r.low.map(|v| v.to_string()),
                        high: r.high.map(|v| v.to_string()),
                        high_inclusive: r.high_inclusive,
                        display: r.display(),
                    }),
                    judgement: judge(measure, gender, value).map(|j| j.code()),
                })
                .collect(),
        })
        .collect()
}

/// The person's check-ups by year.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckupsResponse {
    pub auth_session_id: Uuid,
    /// Oldest first.
    pub checkups: Vec<CheckupDto>,
}

/// A medical analysis request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MedicalAnalysisRequest {
    /// A coverage analysis of this org (`POST /api/v1/coverage/analyses`).
    #[schema(format = Uuid)]
    pub analysis_id: String,
    /// An approved session of the same person.
    #[schema(format = Uuid)]
    pub auth_session_id: String,
}

/// A measure behind a risk flag.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagMeasureDto {
    pub measure: &'static str,
    pub value: String,
    pub unit: &'static str,
}

/// A risk the latest check-up shows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RiskFlagDto {
    #[schema(example = "HYPERTENSION")]
    pub kind: &'static str,
    #[schema(example = "고혈압")]
    pub name: &'static str,
    /// `BORDERLINE` or `DISEASE`.
    pub level: &'static str,
    pub year: i32,
    pub measures: Vec<FlagMeasureDto>,
}

/// A ranked recommendation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationDto {
    pub rank: u8,
    #[schema(example = "CEREBROVASCULAR")]
    pub category: &'static str,
    #[schema(example = "뇌혈관")]
    pub category_name: &'static str,
    /// The coverage status: `LACK`, `ENOUGH`.
    pub status: &'static str,
    /// Recommended minus held, whole won as a string.
    pub gap: String,
    pub score: u32,
    /// The risks that raised it.
    pub reasons: Vec<&'static str>,
}

/// The masked person.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MedicalPerson {
    #[schema(example = "홍*동")]
    pub name: String,
    pub gender: String,
    pub age: u8,
}

/// 보장분석 결과 전송: the medical analysis.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MedicalAnalysisResponse {
    pub medical_analysis_id: Uuid,
    /// The coverage analysis it joins.
    pub analysis_id: Uuid,
    pub person: MedicalPerson,
    pub latest_checkup_year: Option<i32>,
    pub risk_flags: Vec<RiskFlagDto>,
    pub recommendations: Vec<RecommendationDto>,
    pub created_at: String,
    /// When it (and its health data) is deleted.
    pub retained_until: String,
}

impl From<&MedicalReport> for MedicalAnalysisResponse {
    fn from(r: &MedicalReport) -> Self {
        Self {
            medical_analysis_id: r.id,
            analysis_id: r.coverage_analysis_id,
            person: MedicalPerson { name: r.masked_name.clone(), gender: r.gender.as_str().to_owned(), age: r.age },
            latest_checkup_year: r.analysis.latest_year,
            risk_flags: r
                .analysis
                .flags
                .iter()
                .map(|f| RiskFlagDto {
                    kind: f.kind.code(),
                    name: f.kind.name_ko(),
                    level: f.level.code(),
                    year: f.year,
                    measures: f
                        .measures
                        .iter()
                        .map(|&(m, v)| FlagMeasureDto { measure: m.code(), value: v.to_string(), unit: m.unit() })
                        .collect(),
                })
                .collect(),
            recommendations: r
                .analysis
                .recommendations
                .iter()
                .map(|x| RecommendationDto {
                    rank: x.rank,
                    category: x.category.code(),
                    category_name: x.category.name_ko(),
                    status: x.status.code(),
                    gap: x.gap.0.to_string(),
                    score: x.score,
                    reasons: x.reasons.iter().map(|k| k.code()).collect(),
                })
                .collect(),
            created_at: timestamp(r.created_at),
            retained_until: timestamp(r.purge_after),
        }
    }
}

/// The JSON report: the analysis and the check-ups it was made from, exactly the values
/// the PDF report shows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MedicalReportJson {
    /// `MEDICAL`.
    #[schema(example = "MEDICAL")]
    pub report_type: &'static str,
    pub generated_at: String,
    #[serde(flatten)]
    pub analysis: MedicalAnalysisResponse,
    pub checkups: Vec<CheckupDto>,
}

/// 건강보험공단 - 간편인증 요청: asks the person to approve in their app.
#[utoipa::path(
    tag = "medical",
    request_body = NhisAuthRequest,
    responses(
        (status = 202, body = NhisAuthResponse, description = "the session, pending the person's approval"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (authProvider, consents[i].termsId); CONSENT_REQUIRED naming each missing MEDICAL terms; VERIFICATION_EXPIRED for an unknown, expired or other org's verificationToken"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 409, body = ErrorResponse, description = "TERMS_VERSION_CHANGED"),
        (status = 503, body = ErrorResponse, description = "HEALTH_DATA_UNAVAILABLE: the provider did not answer; nothing stored"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/nhis/auth")]
pub async fn start_auth(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    body: web::Json<NhisAuthRequest>,
) -> Result<HttpResponse, ApiError> {
    let consents: Vec<ConsentInput<'_>> =
        body.consents.iter().map(|c| ConsentInput { terms_id: &c.terms_id, version: &c.version }).collect();
    let started = medical!(state)
        .start_auth(&caller.principal(), &body.verification_token, &body.auth_provider, &consents)
        .await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED)
        .json(NhisAuthResponse { auth_session_id: started.session_id, expires_at: timestamp(started.expires_at) }))
}

/// 건강보험공단 - 간편인증 완료: where the session stands.
#[utoipa::path(
    tag = "medical",
    request_body = SessionRequest,
    responses(
        (status = 200, body = NhisStatusResponse, description = "APPROVED, PENDING (ask again), EXPIRED or DENIED"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (authSessionId)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "AUTH_SESSION_NOT_FOUND (also another org's)"),
        (status = 503, body = ErrorResponse, description = "HEALTH_DATA_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/nhis/auth/complete")]
pub async fn complete_auth(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    body: web::Json<SessionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, status) = medical!(state).complete_auth(&caller.principal(), &body.auth_session_id).await?;
    Ok(HttpResponse::Ok().json(NhisStatusResponse { auth_session_id: id, status: status.code() }))
}

/// 건강검진 데이터 조회: the person's check-ups by year, with the NHIS reference ranges.
#[utoipa::path(
    tag = "medical",
    request_body = SessionRequest,
    responses(
        (status = 200, body = CheckupsResponse, description = "the check-ups, oldest first; each value with its normal range and judgement"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (authSessionId)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "AUTH_SESSION_NOT_FOUND (also another org's)"),
        (status = 409, body = ErrorResponse, description = "HEALTH_AUTH_NOT_APPROVED: the session is pending, denied or expired (details name its status)"),
        (status = 503, body = ErrorResponse, description = "HEALTH_DATA_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/checkups")]
pub async fn list_checkups(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    body: web::Json<SessionRequest>,
) -> Result<HttpResponse, ApiError> {
    let found = medical!(state).checkups(&caller.principal(), &body.auth_session_id).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(CheckupsResponse {
        auth_session_id: found.session.id,
        checkups: checkup_dtos(&found.checkups, found.gender),
    }))
}

/// 보장분석 결과 전송: the check-ups' risk flags joined with a coverage analysis's gaps
/// into ranked recommendations; stored sealed until the retention ends.
#[utoipa::path(
    tag = "medical",
    request_body = MedicalAnalysisRequest,
    responses(
        (status = 201, body = MedicalAnalysisResponse, description = "the medical analysis"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (a malformed id; a session of another person than the analysis's)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "ANALYSIS_NOT_FOUND, AUTH_SESSION_NOT_FOUND (also another org's)"),
        (status = 409, body = ErrorResponse, description = "HEALTH_AUTH_NOT_APPROVED"),
        (status = 503, body = ErrorResponse, description = "HEALTH_DATA_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/analyses")]
pub async fn create_medical_analysis(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    body: web::Json<MedicalAnalysisRequest>,
) -> Result<HttpResponse, ApiError> {
    let report = medical!(state).analyse(&caller.principal(), &body.analysis_id, &body.auth_session_id).await?;
    Ok(HttpResponse::Created().json(MedicalAnalysisResponse::from(&report)))
}

/// PDF 리포트 요청: the medical analysis as a PDF.
#[utoipa::path(
    tag = "medical",
    params(("id" = Uuid, Path, description = "The medical analysis's id (of this org)")),
    responses(
        (status = 200, description = "the PDF report", content((inline(crate::routes::reports::PdfFile) = "application/pdf"))),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "ANALYSIS_NOT_FOUND (also another org's, and one past its retention)"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/analyses/{id}/report/pdf")]
pub async fn medical_report_pdf(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let report = medical!(state).report(&caller.principal(), &path).await?;
    let now = state.clock.now();
    let header = domain::funnel::medical::report::ReportHeader {
        masked_name: &report.masked_name,
        gender: report.gender,
        age: report.age,
        analysis_id: report.id,
        coverage_analysis_id: report.coverage_analysis_id,
        analysed_at: report.created_at,
        generated_at: now,
    };
    let document = domain::funnel::medical::report::document(&header, &report.analysis, &report.checkups);
    crate::routes::reports::pdf_reply(&state, document, format!("medical-report-{}.pdf", report.id)).await
}

/// JSON 리포트 요청: the medical analysis and its check-ups as the JSON report.
#[utoipa::path(
    tag = "medical",
    params(("id" = Uuid, Path, description = "The medical analysis's id (of this org)")),
    responses(
        (status = 200, body = MedicalReportJson, description = "the JSON report"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "ANALYSIS_NOT_FOUND (also another org's, and one past its retention)"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/medical/analyses/{id}/report/json")]
pub async fn medical_report_json(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let report = medical!(state).report(&caller.principal(), &path).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(MedicalReportJson {
        report_type: "MEDICAL",
        generated_at: timestamp(state.clock.now()),
        analysis: MedicalAnalysisResponse::from(&report),
        checkups: checkup_dtos(&report.checkups, report.gender),
    }))
}
