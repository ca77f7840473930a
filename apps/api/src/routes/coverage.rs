//! The consumer funnel's identity verification and terms (`funnel.md` "Coverage
//! analysis"; seed 000's 모홈 보장분석: 본인인증 - 인증번호 요청/검증, 약관조회), under
//! `/api/v1/coverage`.
//!
//! - Who may call: a partner org's API key ([`ApiKeyOnly`]; the use case also refuses
//!   other kinds of org); the partner's app speaks for the person.
//! - A code request is counted under the client address (`rate_limit.trusted_proxies`
//!   decides which address that is) and the phone; it is not idempotent by key: each
//!   call sends a new code, which is what "resend" means to a person.
//! - The `verificationToken` is in the verification's answer only (`no-store`).
//! - The rules are `domain::service::funnel`; the handlers declare, extract, call, answer.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::funnel::coverage::CoverageReport;
use domain::funnel::identity::IdentityFields;
use domain::funnel::terms::ConsentInput;
use domain::service::coverage_lead;
use domain::service::funnel::{AnalysisPorts, IdentityService, current_terms};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorResponse};
use crate::gate::ApiKeyOnly;
use crate::idempotency::Principal;
use crate::state::AppState;
use crate::wire::timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(request_code)
        .service(verify_code)
        .service(list_terms)
        .service(create_analysis)
        .service(analysis_report);
}

/// The use case over the state's adapters.
macro_rules! identity {
    ($state:expr) => {
        IdentityService::new(&$state.identity, &$state.verification_secrets, &$state.sms, &*$state.clock)
    };
}

/// A person asking for a verification code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityRequest {
    /// The person's name as registered with the carrier.
    #[schema(example = "홍길동", max_length = 100)]
    pub name: String,
    /// `YYYY-MM-DD`, not in the future.
    #[schema(example = "1985-04-12", format = Date)]
    pub birth_date: String,
    /// `M` or `F`.
    #[schema(example = "M", pattern = "^[MF]$")]
    pub gender: String,
    /// A Korean mobile number, any common format.
    #[schema(example = "010-1234-5678")]
    pub phone: String,
    /// `SKT`, `KT`, `LGU`, `SKT_MVNO`, `KT_MVNO` or `LGU_MVNO`.
    #[schema(example = "SKT")]
    pub carrier: String,
    /// The partner's member who invited the person (becomes the provider of a lead made
    /// from the person's analysis).
    #[schema(example = "agent-7")]
    pub mohom_id: Option<String>,
}

/// A code sent by SMS.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeSentResponse {
    pub verification_id: Uuid,
    /// When the code stops verifying (3 minutes after it was sent).
    pub expires_at: String,
}

/// A code to check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    /// The `verificationId` of the code request.
    #[schema(format = Uuid)]
    pub verification_id: String,
    /// The 6 digits the person received.
    #[schema(example = "482913", pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// The person is verified.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedResponse {
    /// Names the verified person in the next steps, for this org only; shown once.
    #[schema(example = "vt_3q2XG0mBf8k1yLr4dPz9cS7wV5hN6jT0aE2uQ1oI8Kx")]
    pub verification_token: String,
    /// 30 minutes after the verification.
    pub expires_at: String,
}

/// What the terms are consented for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    Coverage,
    Medical,
    Claim,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Coverage => "COVERAGE",
            Self::Medical => "MEDICAL",
            Self::Claim => "CLAIM",
        }
    }
}

/// `GET /api/v1/coverage/terms` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TermsQuery {
    /// `COVERAGE` (보장분석), `MEDICAL` (메디컬보장분석) or `CLAIM` (청구).
    #[param(inline)]
    pub purpose: Purpose,
}

/// One terms text in force.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsResponse {
    #[schema(example = "PRIVACY_COLLECTION")]
    pub terms_id: String,
    /// Consent to this exact version.
    #[schema(example = "2026-12-01")]
    pub version: String,
    #[schema(example = "개인정보 수집·이용 동의")]
    pub title: String,
    /// Whether the purpose needs this consent.
    pub required: bool,
    pub effective_at: String,
    pub content: String,
}

/// The terms in force for a purpose, in display order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TermsListResponse {
    #[schema(example = "COVERAGE")]
    pub purpose: String,
    pub terms: Vec<TermsResponse>,
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 본인인증 - 인증번호 요청: sends a 6-digit code to the person's phone.
#[utoipa::path(
    tag = "coverage",
    request_body = IdentityRequest,
    responses(
        (status = 201, body = CodeSentResponse, description = "the code was sent; it verifies for 3 minutes and 5 checks"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED naming each bad field (a birth date in the future, a phone that is not a Korean mobile, an unknown carrier); nothing stored or sent"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not a partner org's API key"),
        (status = 429, body = ErrorResponse, description = "RATE_LIMITED: 5 requests per phone or 20 per client address in the hour; Retry-After"),
        (status = 503, body = ErrorResponse, description = "SMS_UNAVAILABLE: the SMS provider did not take the message; nothing stored"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/coverage/identity/request")]
pub async fn request_code(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    req: HttpRequest,
    body: web::Json<IdentityRequest>,
) -> Result<HttpResponse, ApiError> {
    let fields = IdentityFields {
        name: Some(&body.name),
        birth_date: Some(&body.birth_date),
        gender: Some(&body.gender),
        phone: Some(&body.phone),
        carrier: Some(&body.carrier),
        mohom_id: body.mohom_id.as_deref(),
    };
    let client = state.limits.client_address(&req).to_string();
    let sent = identity!(state).request(&caller.principal(), &fields, &client).await?;
    Ok(HttpResponse::Created()
        .json(CodeSentResponse { verification_id: sent.verification_id, expires_at: timestamp(sent.expires_at) }))
}

/// 본인인증 - 인증번호 검증: checks the code and issues the `verificationToken`.
#[utoipa::path(
    tag = "coverage",
    request_body = VerifyRequest,
    responses(
        (status = 200, body = VerifiedResponse, description = "verified; the token is shown once (Cache-Control: no-store)"),
        (status = 400, body = ErrorResponse, description = "VERIFICATION_CODE_MISMATCH with remainingAttempts (the check is counted); VERIFICATION_EXPIRED after 3 minutes, 5 checks or a verification (nothing counted); VALIDATION_FAILED for a verificationId that is not a UUID"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "VERIFICATION_NOT_FOUND (another org's too)"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/coverage/identity/verify")]
pub async fn verify_code(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let issued = identity!(state).verify(&caller.principal(), &body.verification_id, &body.code).await?;
    Ok(no_store(
        HttpResponse::Ok()
            .json(VerifiedResponse { verification_token: issued.token, expires_at: timestamp(issued.expires_at) }),
    ))
}

/// 약관조회: the terms in force for a purpose.
#[utoipa::path(
    tag = "coverage",
    params(TermsQuery),
    responses(
        (status = 200, body = TermsListResponse, description = "the terms in force, each with its version and whether the purpose requires it"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED naming purpose"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []))
)]
#[get("/api/v1/coverage/terms")]
pub async fn list_terms(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    query: web::Query<TermsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (purpose, terms) = current_terms(&state.terms, &caller.principal(), query.purpose.as_str(), state.clock.now())?;
    Ok(HttpResponse::Ok().json(TermsListResponse {
        purpose: purpose.as_str().to_owned(),
        terms: terms
            .into_iter()
            .map(|t| TermsResponse {
                terms_id: t.terms.id.clone(),
                version: t.terms.version.clone(),
                title: t.terms.title.clone(),
                required: t.required,
                effective_at: timestamp(t.terms.effective_at),
                content: t.terms.content.clone(),
            })
            .collect(),
    }))
}

/// A consent to one terms text, at the version shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsentRequest {
    #[schema(example = "PRIVACY_COLLECTION")]
    pub terms_id: String,
    #[schema(example = "2026-12-01")]
    pub version: String,
}

/// An analysis of the verified person's coverage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisRequest {
    /// From `POST /api/v1/coverage/identity/verify`, of this org, within 30 minutes.
    pub verification_token: String,
    /// Every required terms of `COVERAGE` at its current version; `THIRD_PARTY_PROVISION`
    /// too, to be contacted by an agent.
    pub consents: Vec<ConsentRequest>,
    /// An extension of the seed's fields: the region (a Korean 시·도 code of
    /// `GET /api/v1/regions?country=KR`) the person wants an agent from, for the lead of
    /// a `THIRD_PARTY_PROVISION` consent; without it that lead waits in the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "서울")]
    pub region_code: Option<String>,
}

/// The person, masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysedPerson {
    #[schema(example = "홍*동")]
    pub name: String,
    /// `M` or `F`.
    pub gender: String,
    /// Full years on the day of the analysis.
    pub age: u8,
}

/// One coverage of a contract.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoverageDto {
    #[schema(example = "CANCER")]
    pub category: String,
    #[schema(example = "암")]
    pub category_name: String,
    /// Whole won, as a string.
    #[schema(example = "30000000")]
    pub amount: String,
}

/// One insurance contract.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractDto {
    #[schema(example = "교보생명")]
    pub insurer: String,
    pub product: String,
    #[schema(format = Date)]
    pub contract_date: String,
    /// `ACTIVE`, `LAPSED` or `MATURED`; only `ACTIVE` counts in the summary.
    pub status: String,
    /// Whole won, as a string.
    pub monthly_premium: String,
    pub coverages: Vec<CoverageDto>,
}

/// Held against recommended, for one category.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryDto {
    pub category: String,
    pub category_name: String,
    pub held: String,
    pub recommended: String,
    /// `LACK`, `ENOUGH` or `EXCESS`.
    pub status: String,
}

/// A consent recorded with the analysis.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentDto {
    pub terms_id: String,
    pub version: String,
}

/// 보장분석 결과.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisResponse {
    pub analysis_id: Uuid,
    pub person: AnalysedPerson,
    pub contracts: Vec<ContractDto>,
    /// The ten categories, in order.
    pub summary: Vec<SummaryDto>,
    /// Of the contracts in force; whole won, as a string.
    pub monthly_premium_total: String,
    /// The version of the recommendation table used.
    #[schema(example = "2026.12-illustrative")]
    pub recommendation_version: String,
    pub consents: Vec<ConsentDto>,
    pub created_at: String,
}

impl From<&CoverageReport> for AnalysisResponse {
    fn from(r: &CoverageReport) -> Self {
        Self {
            analysis_id: r.id,
            person: AnalysedPerson {
                name: r.masked_name.clone(),
                gender: r.gender.as_str().to_owned(),
                age: r.analysis.age,
            },
            contracts: r
                .contracts
                .iter()
                .map(|c| ContractDto {
                    insurer: c.insurer.clone(),
                    product: c.product.clone(),
                    contract_date: c.contract_date.to_string(),
                    status: c.status.code().to_owned(),
                    monthly_premium: c.monthly_premium.0.to_string(),
                    coverages: c
                        .coverages
                        .iter()
                        .map(|v| CoverageDto {
                            category: v.category.code().to_owned(),
                            category_name: v.category.name_ko().to_owned(),
                            amount: v.amount.0.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            summary: r
                .analysis
                .summary
                .iter()
                .map(|s| SummaryDto {
                    category: s.category.code().to_owned(),
                    category_name: s.category.name_ko().to_owned(),
                    held: s.held.0.to_string(),
                    recommended: s.recommended.0.to_string(),
                    status: s.status.code().to_owned(),
                })
                .collect(),
            monthly_premium_total: r.analysis.monthly_premium_total.0.to_string(),
            recommendation_version: r.analysis.table_version.clone(),
            consents: r
                .consents
                .iter()
                .map(|c| ConsentDto { terms_id: c.terms_id.clone(), version: c.version.clone() })
                .collect(),
            created_at: timestamp(r.created_at),
        }
    }
}

/// 보장분석 결과: the verified person's contracts analysed against the recommended
/// amounts, with the consents recorded.
#[utoipa::path(
    tag = "coverage",
    request_body = AnalysisRequest,
    responses(
        (status = 201, body = AnalysisResponse, description = "the analysis, stored with its consents"),
        (status = 400, body = ErrorResponse, description = "CONSENT_REQUIRED naming each missing required terms in details; VERIFICATION_EXPIRED for an unknown, expired or other org's verificationToken; VALIDATION_FAILED for a consent to terms that do not apply to COVERAGE"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 409, body = ErrorResponse, description = "TERMS_VERSION_CHANGED: a consent names another version than the one in force (details name the current one)"),
        (status = 503, body = ErrorResponse, description = "INSURANCE_DATA_UNAVAILABLE: the insurance-data provider did not answer; nothing stored"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/coverage/analyses")]
pub async fn create_analysis(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    req: HttpRequest,
    body: web::Json<AnalysisRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let consents: Vec<ConsentInput<'_>> =
            body.consents.iter().map(|c| ConsentInput { terms_id: &c.terms_id, version: &c.version }).collect();
        let ports = AnalysisPorts {
            identity: &state.identity,
            secrets: &state.verification_secrets,
            insurance: &state.insurance,
            analyses: &state.analyses,
            clock: &*state.clock,
            terms: &state.terms,
            table: &state.recommendations,
        };
        let request = coverage_lead::AnalysisRequest {
            token: &body.verification_token,
            consents: &consents,
            region: body.region_code.as_deref(),
        };
        let (report, share) = coverage_lead::analyse_and_share(
            &ports,
            &state.leads,
            &state.reference,
            &state.settings.funnel.lead_source,
            &caller.principal(),
            &request,
        )
        .await?;
        if share == coverage_lead::LeadShare::NotConfigured {
            tracing::warn!(
                analysis = %report.id,
                source = %state.settings.funnel.lead_source,
                "consented analysis made no lead: funnel.lead_source names no source with a default product"
            );
        }
        Ok((StatusCode::CREATED, AnalysisResponse::from(&report)))
    })
    .await
}

/// The format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReportFormat {
    /// `application/pdf`: tables, a chart of held vs recommended, Korean text embedded.
    Pdf,
    /// The JSON report.
    Json,
}

/// A report request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportRequest {
    pub format: ReportFormat,
}

/// The JSON report of a coverage analysis: the analysis exactly as the PDF shows it,
/// and when the report was issued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoverageReportJson {
    /// `COVERAGE`.
    #[schema(example = "COVERAGE")]
    pub report_type: &'static str,
    pub generated_at: String,
    #[serde(flatten)]
    pub analysis: AnalysisResponse,
}

/// 보장분석 결과 리포트: the analysis as a PDF or as the JSON report (both made from
/// the stored analysis; the PDF is a rendering of the same values).
#[utoipa::path(
    tag = "coverage",
    params(("analysisId" = Uuid, Path, description = "The analysis's id (of this org)")),
    request_body = ReportRequest,
    responses(
        (status = 200, description = "the report", content(
            (inline(crate::routes::reports::PdfFile) = "application/pdf"),
            (CoverageReportJson = "application/json"),
        )),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (format)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "ANALYSIS_NOT_FOUND (also another org's analysis)"),
    ),
    security(("api_key" = []))
)]
#[post("/api/v1/coverage/analyses/{analysisId}/report")]
pub async fn analysis_report(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    path: web::Path<String>,
    body: web::Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let report = domain::service::medical::coverage_report(&state.analyses, &caller.principal(), &path).await?;
    let now = state.clock.now();
    match body.format {
        ReportFormat::Json => {
            Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(CoverageReportJson {
                report_type: "COVERAGE",
                generated_at: timestamp(now),
                analysis: AnalysisResponse::from(&report),
            }))
        }
        ReportFormat::Pdf => {
            let document = domain::funnel::coverage::report::document(&report, now);
            crate::routes::reports::pdf_reply(&state, document, format!("coverage-report-{}.pdf", report.id)).await
        }
    }
}
