//! The one error type of the API and its wire form, `ErrorResponse`.
//!
//! Invariants:
//! - every non-2xx body is `{"error": {"code", "message", "details"}, "requestId"}`;
//! - `code` is a stable SCREAMING_SNAKE identifier listed in `docs/errors.md`;
//! - nothing a client sends produces a 500; an `Internal` error is logged with its cause
//!   and answered with a generic message, never the cause;
//! - a deserializer's complaint reaches the body (and any log) only as an [`InputProblem`],
//!   which keeps the field names and the kind of problem and drops every value the caller
//!   sent: serde writes `invalid type: string "010-1234-5678", expected u32`, the caller
//!   reads `invalid type: string, expected u32`. `InvalidJson` and `InvalidQuery` hold
//!   nothing else, so no handler can put a raw serde message into a reply.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::error::{FieldError, RepoError, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

mod codes;
mod input;
pub use codes::ErrorCode;
pub use input::InputProblem;

/// One offending field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Path of the field, e.g. `regions[0].quantity`.
    pub field: String,
    pub reason: String,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable code, e.g. `PRODUCT_NOT_FOUND`.
    #[schema(example = "VALIDATION_FAILED")]
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
    /// `VERIFICATION_CODE_MISMATCH` only: the checks the code has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_attempts: Option<u8>,
}

/// Every non-2xx response body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    pub error: ErrorBody,
    /// The `X-Request-Id` of the response.
    pub request_id: String,
}

impl From<serde_json::Error> for ApiError {
    /// A body that parsed as JSON but not as the endpoint's type (`serde_json::from_value`).
    fn from(err: serde_json::Error) -> Self {
        Self::InvalidJson(InputProblem::from_serde(&err.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    InvalidJson(InputProblem),
    #[error("the query string is not valid for this endpoint: {0}")]
    InvalidQuery(InputProblem),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// 409 with a business code and the fields that went stale in `details` (e.g. a
    /// consent to terms whose version changed, with the current version).
    #[error("{message}")]
    Stale { code: ErrorCode, message: String, details: Vec<FieldError> },
    /// 400 with a business code (an input the rules refuse, e.g. missing evidence),
    /// the offending fields in `details`.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String, details: Vec<FieldError> },
    /// 422 with a business code: a well-formed request whose content the rules refuse
    /// (the counsel API's convention, `api.md`: business errors are 409/422), the
    /// offending fields in `details`.
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String, details: Vec<FieldError> },
    #[error("{message}")]
    NotFound { code: ErrorCode, message: String },
    #[error("this endpoint does not take this method; it takes {allow}")]
    MethodNotAllowed { allow: String },
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the Idempotency-Key header must be 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInProgress,
    #[error("the code does not match; {remaining_attempts} attempts remain")]
    CodeMismatch { remaining_attempts: u8 },
    /// 503 with a business code: a provider did not take the request.
    #[error("{message}")]
    ProviderUnavailable { code: ErrorCode, message: String },
    #[error("a dependency is unavailable; retry later")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable code of this error.
    #[must_use]
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Stale { code, .. }
            | Self::Refused { code, .. }
            | Self::Unprocessable { code, .. } => *code,
            Self::NotFound { code, .. } => *code,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::InvalidIdempotencyKey => ErrorCode::InvalidIdempotencyKey,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::IdempotencyKeyInProgress => ErrorCode::IdempotencyKeyInProgress,
            Self::CodeMismatch { .. } => ErrorCode::VerificationCodeMismatch,
            Self::ProviderUnavailable { code, .. } => *code,
            Self::Unavailable => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The stable code of this error as it is sent (`error_code().as_str()`).
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    #[must_use]
    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::NotFound { code, message: message.into() }
    }

    /// 403 `FORBIDDEN`: a known caller, a function its role may not use.
    #[must_use]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { code: ErrorCode::Forbidden, message: message.into() }
    }

    #[must_use]
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// 400 naming one field.
    #[must_use]
    pub fn invalid(field: &str, reason: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, reason)])
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let fields: &[FieldError] = match self {
            Self::Validation(fields)
            | Self::Stale { details: fields, .. }
            | Self::Refused { details: fields, .. }
            | Self::Unprocessable { details: fields, .. } => fields,
            Self::InvalidJson(problem) | Self::InvalidQuery(problem) => problem.details(),
            _ => &[],
        };
        fields.iter().map(|f| ErrorDetail { field: f.field.clone(), reason: f.reason.clone() }).collect()
    }

    /// The wire body of this error.
    #[must_use]
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.to_string(),
                details: self.details(),
                remaining_attempts: match self {
                    Self::CodeMismatch { remaining_attempts } => Some(*remaining_attempts),
                    _ => None,
                },
            },
            request_id: crate::request_id::current().unwrap_or_default(),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::Validation(err.0)
    }
}

impl From<RepoError> for ApiError {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Unavailable(_) => Self::Unavailable,
            RepoError::Corrupted(row) => Self::Internal(anyhow::anyhow!("corrupted row {row}")),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

// Domain refusals to HTTP, one block per area (leads, intake, orders, AS, counsel,
// files), each `impl From<Refusal> for ApiError`.

// -- leads --

impl From<domain::service::leads::LeadError> for ApiError {
    fn from(err: domain::service::leads::LeadError) -> Self {
        use domain::lead::TransferRefusal;
        use domain::service::leads::LeadError;
        match err {
            LeadError::Invalid(invalid) => invalid.into(),
            LeadError::NoActingMember => Self::invalid("mohomId", "is required with an API key"),
            LeadError::NotFound => Self::not_found(ErrorCode::LeadNotFound, "no such lead among yours"),
            LeadError::ProductNotFound(id) => {
                Self::not_found(ErrorCode::ProductNotFound, format!("product {id} does not exist"))
            }
            LeadError::NotLeader => Self::forbidden("only a LEADER distributes and recalls leads"),
            LeadError::RecipientNotFound => {
                Self::not_found(ErrorCode::UserNotFound, "no such user in this organization")
            }
            LeadError::Refused { lead, refusal: TransferRefusal::NotFound } => {
                Self::not_found(ErrorCode::LeadNotFound, format!("lead {lead} is not yours to move"))
            }
            LeadError::Refused { lead, refusal: TransferRefusal::OpenAs } => {
                Self::conflict(ErrorCode::LeadHasOpenAs, format!("lead {lead} has an open AS request"))
            }
            LeadError::Refused { lead, refusal: TransferRefusal::AlreadyUsed } => {
                Self::conflict(ErrorCode::LeadAlreadyUsed, format!("lead {lead} was used by its owner"))
            }
            LeadError::Conflict(what) => {
                Self::conflict(ErrorCode::LeadConflict, format!("{what}; nothing was moved, retry"))
            }
            LeadError::Repo(err) => err.into(),
        }
    }
}

/// The `reason` of an id `POST /api/v1/leads/contacts` did not reveal.
#[must_use]
pub fn reveal_refusal_code(refusal: domain::lead::RevealRefusal) -> &'static str {
    match refusal {
        domain::lead::RevealRefusal::NotFound => "LEAD_NOT_FOUND",
        domain::lead::RevealRefusal::NotUsed => "LEAD_NOT_USED",
    }
}

// -- intake --

impl From<domain::service::intake::IntakeRefusal> for ApiError {
    fn from(err: domain::service::intake::IntakeRefusal) -> Self {
        use domain::service::intake::IntakeRefusal;
        let message = err.to_string();
        match err {
            IntakeRefusal::NotOurSource => Self::invalid("source", "is not a source of this organization"),
            IntakeRefusal::NoProduct => Self::invalid("source", "has no default product"),
            IntakeRefusal::Invalid(e) => e.into(),
            IntakeRefusal::DuplicatePhone { .. } | IntakeRefusal::DuplicateSourceLeadId { .. } => {
                Self::conflict(ErrorCode::DuplicateLead, message)
            }
            IntakeRefusal::LeadNotFound => Self::not_found(ErrorCode::LeadNotFound, message),
            IntakeRefusal::Repo(e) => e.into(),
        }
    }
}

impl From<domain::service::tokens::TokenRefusal> for ApiError {
    fn from(err: domain::service::tokens::TokenRefusal) -> Self {
        use domain::service::tokens::TokenRefusal;
        match err {
            TokenRefusal::Unauthorized(reason) => {
                tracing::info!(reason, "SSO login refused");
                Self::Unauthorized
            }
            TokenRefusal::NoRedirect => {
                Self::invalid("redirectUri", "is not allowed and the organization has no default")
            }
            TokenRefusal::UserNotFound => Self::not_found(ErrorCode::UserNotFound, "no such user in this organization"),
            TokenRefusal::Mint(e) => Self::Internal(e.into()),
            TokenRefusal::Repo(e) => e.into(),
        }
    }
}

impl From<domain::service::orgs::OnboardError> for ApiError {
    fn from(err: domain::service::orgs::OnboardError) -> Self {
        use domain::service::orgs::OnboardError;
        let message = err.to_string();
        match err {
            OnboardError::OrgNotFound => Self::not_found(ErrorCode::OrgNotFound, message),
            OnboardError::OrgExists => Self::conflict(ErrorCode::OrgAlreadyExists, message),
            OnboardError::SourceExists => Self::conflict(ErrorCode::SourceAlreadyExists, message),
            OnboardError::ProductNotFound => Self::not_found(ErrorCode::ProductNotFound, message),
            OnboardError::Repo(e) => e.into(),
        }
    }
}

impl From<domain::service::users::UserError> for ApiError {
    fn from(err: domain::service::users::UserError) -> Self {
        use domain::service::users::UserError;
        match err {
            UserError::NotFound => Self::not_found(ErrorCode::UserNotFound, "no such user in this organization"),
            UserError::AlreadyExists => Self::conflict(ErrorCode::UserAlreadyExists, "a user with this mohomId exists"),
            UserError::RoleNotAllowed { role, kind } => Self::Forbidden {
                code: ErrorCode::RoleNotAllowed,
                message: format!("a {kind} organization cannot hold {role} users"),
            },
            UserError::OwnsLeads { count } => Self::conflict(
                ErrorCode::UserOwnsLeads,
                format!("the user owns {count} leads: distribute or recall them first"),
            ),
            UserError::Repo(e) => e.into(),
        }
    }
}

// -- orders --

impl From<domain::service::orders::OrderRefusal> for ApiError {
    /// Another member's order answers as an unknown one (404 `ORDER_NOT_FOUND`).
    fn from(err: domain::service::orders::OrderRefusal) -> Self {
        use domain::service::orders::OrderRefusal;
        match err {
            OrderRefusal::NoActingMember => Self::invalid("mohomId", "is required with an API key"),
            OrderRefusal::Invalid(e) => e.into(),
            e @ OrderRefusal::ProductNotFound(_) => Self::not_found(ErrorCode::ProductNotFound, e.to_string()),
            e @ OrderRefusal::ProductNotOnSale(_) => Self::conflict(ErrorCode::ProductNotOnSale, e.to_string()),
            e @ OrderRefusal::NotFound => Self::not_found(ErrorCode::OrderNotFound, e.to_string()),
            e @ OrderRefusal::NotCancellable(_) => Self::conflict(ErrorCode::OrderNotCancellable, e.to_string()),
            e @ OrderRefusal::ChangedMeanwhile(_) => Self::conflict(ErrorCode::OrderConflict, e.to_string()),
            OrderRefusal::Repo(e) => e.into(),
        }
    }
}

// -- as_claims --

impl From<domain::as_claim::AsRefusal> for ApiError {
    fn from(refusal: domain::as_claim::AsRefusal) -> Self {
        use domain::as_claim::AsRefusal;
        let message = refusal.to_string();
        match refusal {
            AsRefusal::NotPurchased(_) => Self::conflict(ErrorCode::AsNotAllowed, message),
            AsRefusal::ReasonNotAllowed(_) => Self::Refused {
                code: ErrorCode::AsReasonNotAllowed,
                details: vec![FieldError::new("reasonCode", "is not accepted by the product's AS policy")],
                message,
            },
            AsRefusal::EvidenceRequired(_) => Self::Refused {
                code: ErrorCode::AsEvidenceRequired,
                details: vec![FieldError::new("fileKeys", "needs at least one uploaded file")],
                message,
            },
            AsRefusal::WindowClosed(_) => Self::conflict(ErrorCode::AsWindowClosed, message),
            AsRefusal::AlreadyOpen => Self::conflict(ErrorCode::AsAlreadyOpen, message),
            AsRefusal::RateExceeded { .. } => Self::conflict(ErrorCode::AsRateExceeded, message),
            AsRefusal::InvalidState { .. } => Self::conflict(ErrorCode::AsInvalidState, message),
        }
    }
}

impl From<domain::as_claim::EvidenceRefusal> for ApiError {
    /// Another owner's file key is "not found" like an unknown one.
    fn from(refusal: domain::as_claim::EvidenceRefusal) -> Self {
        use domain::as_claim::EvidenceRefusal;
        match refusal {
            EvidenceRefusal::NotFound(key) => {
                Self::not_found(ErrorCode::FileNotFound, format!("no file {key} among yours"))
            }
            EvidenceRefusal::NotUploaded(key) => {
                Self::conflict(ErrorCode::FileNotUploaded, format!("file {key} is not uploaded completely"))
            }
            EvidenceRefusal::WrongPurpose(key) => {
                Self::conflict(ErrorCode::FileWrongPurpose, format!("file {key} was uploaded for another purpose"))
            }
            EvidenceRefusal::AlreadyAttached(key) => Self::conflict(
                ErrorCode::FileAlreadyAttached,
                format!("file {key} is already attached to an AS request"),
            ),
        }
    }
}

impl From<domain::as_claim::AsError> for ApiError {
    fn from(err: domain::as_claim::AsError) -> Self {
        use domain::as_claim::AsError;
        match err {
            AsError::LeadNotFound => Self::not_found(ErrorCode::LeadNotFound, "no such lead among yours"),
            AsError::NotFound => Self::not_found(ErrorCode::AsNotFound, "no such AS request among yours"),
            AsError::MemberRequired => Self::invalid("mohomId", "is required with an API key"),
            AsError::NotDecider => Self::forbidden(err.to_string()),
            AsError::Invalid(invalid) => invalid.into(),
            AsError::Refused(refusal) => refusal.into(),
            AsError::File(refusal) => refusal.into(),
            AsError::Repo(repo) => repo.into(),
        }
    }
}

// -- the consumer funnel --

impl From<domain::service::funnel::FunnelError> for ApiError {
    fn from(err: domain::service::funnel::FunnelError) -> Self {
        use domain::service::funnel::FunnelError;
        let message = err.to_string();
        match err {
            FunnelError::Forbidden => Self::forbidden(message),
            FunnelError::Invalid(invalid) => invalid.into(),
            FunnelError::Limited(limited) => Self::RateLimited { retry_after_secs: limited.retry_after_secs },
            FunnelError::VerificationNotFound => Self::not_found(ErrorCode::VerificationNotFound, message),
            FunnelError::CodeMismatch { remaining_attempts } => Self::CodeMismatch { remaining_attempts },
            FunnelError::VerificationExpired => {
                Self::Refused { code: ErrorCode::VerificationExpired, message, details: vec![] }
            }
            FunnelError::TokenInvalid => Self::Refused {
                code: ErrorCode::VerificationExpired,
                message,
                details: vec![FieldError::new("verificationToken", "is unknown or expired; verify again")],
            },
            FunnelError::SmsUnavailable(reason) => Self::ProviderUnavailable {
                code: ErrorCode::SmsUnavailable,
                message: format!("the code could not be sent ({reason}); nothing was stored, request again"),
            },
            FunnelError::Consent(refusal) => consent_refusal(refusal),
            FunnelError::InsuranceUnavailable(reason) => Self::ProviderUnavailable {
                code: ErrorCode::InsuranceDataUnavailable,
                message: format!("the insurance-data provider did not answer ({reason}); nothing was stored"),
            },
            FunnelError::Analysis(e) => Self::Internal(anyhow::Error::new(e)),
            FunnelError::AnalysisNotFound => Self::not_found(ErrorCode::AnalysisNotFound, message),
            FunnelError::AuthSessionNotFound => Self::not_found(ErrorCode::AuthSessionNotFound, message),
            FunnelError::HealthAuthNotApproved(status) => Self::Stale {
                code: ErrorCode::HealthAuthNotApproved,
                message: format!("{message}; check-ups are released only for an approved session"),
                details: vec![FieldError::new("authSessionId", format!("status {}", status.code()))],
            },
            FunnelError::HealthUnavailable(reason) => Self::ProviderUnavailable {
                code: ErrorCode::HealthDataUnavailable,
                message: format!("the health-data provider did not answer ({reason}); nothing was stored"),
            },
            FunnelError::Render(reason) => Self::Internal(anyhow::anyhow!("report rendering failed: {reason}")),
            FunnelError::Repo(e) => e.into(),
        }
    }
}

fn consent_refusal(refusal: domain::funnel::terms::ConsentRefusal) -> ApiError {
    use domain::funnel::terms::ConsentRefusal;
    let message = refusal.to_string();
    match refusal {
        ConsentRefusal::Invalid(invalid) => invalid.into(),
        ConsentRefusal::VersionChanged { terms_id, current_version } => ApiError::Stale {
            code: ErrorCode::TermsVersionChanged,
            message: format!("{message}; show the current terms (GET /api/v1/coverage/terms) and consent again"),
            details: vec![FieldError::new(
                format!("consents.{terms_id}"),
                format!("current version {current_version}"),
            )],
        },
        ConsentRefusal::Required { missing } => ApiError::Refused {
            code: ErrorCode::ConsentRequired,
            message,
            details: missing.iter().map(|id| FieldError::new("consents", format!("{id} is required"))).collect(),
        },
    }
}

// -- webhooks --

impl From<domain::service::webhooks::WebhookError> for ApiError {
    /// Another org's endpoint answers as an unknown one (404 `WEBHOOK_NOT_FOUND`).
    fn from(err: domain::service::webhooks::WebhookError) -> Self {
        use domain::service::webhooks::WebhookError;
        let message = err.to_string();
        match err {
            WebhookError::Forbidden => Self::forbidden(message),
            WebhookError::Invalid(invalid) => invalid.into(),
            WebhookError::NotFound => Self::not_found(ErrorCode::WebhookNotFound, message),
            WebhookError::DeliveryNotFound => Self::not_found(ErrorCode::DeliveryNotFound, message),
            WebhookError::AlreadySucceeded { .. } => Self::conflict(ErrorCode::DeliveryAlreadySucceeded, message),
            WebhookError::Repo(e) => e.into(),
        }
    }
}

// -- counsel --

impl From<domain::counsel::CounselError> for ApiError {
    fn from(err: domain::counsel::CounselError) -> Self {
        use domain::counsel::CounselError as E;
        let message = err.to_string();
        match err {
            E::QueueNotFound(_) => Self::not_found(ErrorCode::CounselQueueNotFound, message),
            E::QueueExists(_) => Self::conflict(ErrorCode::CounselQueueExists, message),
            E::MemberNotFound(_) => Self::not_found(ErrorCode::CounselMemberNotFound, message),
            E::NotAManager(reason) => Self::conflict(ErrorCode::CounselNotAManager, format!("{message} ({reason})")),
            E::AlreadyMember => Self::conflict(ErrorCode::CounselAlreadyMember, message),
            E::NotAMember => Self::conflict(ErrorCode::CounselNotAMember, message),
            E::CaseNotFound(_) => Self::not_found(ErrorCode::CounselCaseNotFound, message),
            E::CaseNotWaiting(_) => Self::conflict(ErrorCode::CounselCaseNotWaiting, message),
            E::CaseNotAssigned(_) => Self::conflict(ErrorCode::CounselCaseNotAssigned, message),
            E::CaseIsAsReview(_) => Self::conflict(ErrorCode::CounselCaseIsAsReview, message),
            E::OverCapacity(_) => Self::conflict(ErrorCode::CounselOverCapacity, message),
            E::NotTheirCase => Self::forbidden(message),
            E::UserNotFound => Self::not_found(ErrorCode::UserNotFound, message),
            E::Invalid(invalid) => invalid.into(),
            E::Sheet(sheet) => sheet.into(),
            E::Repo(repo) => repo.into(),
        }
    }
}

impl From<domain::counsel_sheet::SheetError> for ApiError {
    fn from(err: domain::counsel_sheet::SheetError) -> Self {
        use domain::counsel_sheet::{MAX_FILE_BYTES, SheetError as E};
        let message = err.to_string();
        match err {
            E::TooLarge { .. } => Self::PayloadTooLarge { limit: usize::try_from(MAX_FILE_BYTES).unwrap_or(0) },
            E::Rows(rows) => Self::Unprocessable {
                code: ErrorCode::ExcelRowsInvalid,
                message,
                details: rows
                    .into_iter()
                    .map(|r| FieldError::new(format!("excelFile.rows[{}].{}", r.row, r.column.as_str()), r.reason))
                    .collect(),
            },
            E::TooManyRows => Self::Unprocessable { code: ErrorCode::ExcelTooManyRows, message, details: vec![] },
            E::NotXlsx(_) | E::ZipBomb(_) | E::Empty => {
                Self::Refused { code: ErrorCode::ExcelInvalid, message, details: vec![] }
            }
        }
    }
}

// -- files --

impl From<domain::service::files::PresignRefusal> for ApiError {
    fn from(err: domain::service::files::PresignRefusal) -> Self {
        use domain::service::files::PresignRefusal;
        match err {
            PresignRefusal::NoActingMember => Self::invalid("mohomId", "is required with an API key"),
            PresignRefusal::Invalid(e) => e.into(),
            PresignRefusal::Repo(e) => e.into(),
        }
    }
}

impl From<domain::files::UploadError> for ApiError {
    /// A URL that is not this server's, tampered or expired is 403; a used one 409; a
    /// body larger than declared 413, shorter or of another type 400.
    fn from(err: domain::files::UploadError) -> Self {
        use domain::files::UploadError;
        match err {
            UploadError::NotLocal | UploadError::InvalidSignature => {
                Self::Forbidden { code: ErrorCode::UploadUrlInvalid, message: "the upload URL is not valid".to_owned() }
            }
            UploadError::Expired => {
                Self::Forbidden { code: ErrorCode::UploadUrlExpired, message: "the upload URL has expired".to_owned() }
            }
            UploadError::AlreadyUploaded => {
                Self::conflict(ErrorCode::UploadUrlUsed, "this upload URL was already used")
            }
            e @ UploadError::ContentTypeMismatch { .. } => {
                Self::Forbidden { code: ErrorCode::UploadContentTypeMismatch, message: e.to_string() }
            }
            UploadError::TooLarge { limit } => Self::PayloadTooLarge { limit: usize::try_from(limit).unwrap_or(0) },
            e @ (UploadError::Incomplete { .. } | UploadError::ContentMismatch { .. }) => {
                Self::invalid("body", &e.to_string())
            }
            UploadError::Io(e) => Self::Internal(anyhow::Error::new(e).context("file store")),
            UploadError::Repo(e) => e.into(),
        }
    }
}

impl From<domain::files::FileUseError> for ApiError {
    /// The answers to a file key an AS request cannot use: another owner's key is
    /// "not found" like an unknown one.
    fn from(err: domain::files::FileUseError) -> Self {
        use domain::files::FileUseError;
        match err {
            FileUseError::NotFound(key) => {
                Self::not_found(ErrorCode::FileNotFound, format!("no file {key} among yours"))
            }
            FileUseError::NotUploaded(key) => {
                Self::conflict(ErrorCode::FileNotUploaded, format!("file {key} is not uploaded completely"))
            }
            FileUseError::WrongPurpose(key) => {
                Self::conflict(ErrorCode::FileWrongPurpose, format!("file {key} was uploaded for another purpose"))
            }
            FileUseError::AlreadyAttached(key) => Self::conflict(
                ErrorCode::FileAlreadyAttached,
                format!("file {key} is already attached to an AS request"),
            ),
            FileUseError::Repo(e) => e.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_)
            | Self::InvalidJson(_)
            | Self::InvalidQuery(_)
            | Self::InvalidIdempotencyKey
            | Self::CodeMismatch { .. }
            | Self::Refused { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Conflict { .. } | Self::Stale { .. } => StatusCode::CONFLICT,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::IdempotencyKeyReused | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInProgress => StatusCode::CONFLICT,
            Self::Unavailable | Self::ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable => tracing::warn!("dependency unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Self::RateLimited { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
        }
        if let Self::MethodNotAllowed { allow } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        if let Self::Unauthorized = self {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer, ApiKey header=\"X-API-Key\""),
            ));
        }
        response.json(self.body())
    }
}
