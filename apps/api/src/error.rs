//! The one error type of the API and its wire form, `ErrorResponse`.
//!
//! Invariants:
//! - every non-2xx body is `{"error": {"code", "message", "details"}, "requestId"}`;
//! - `code` is a stable SCREAMING_SNAKE identifier listed in `docs/errors.md`;
//! - nothing a client sends produces a 500; an `Internal` error is logged with its cause
//!   and answered with a generic message, never the cause.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::error::{FieldError, RepoError, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

/// One offending field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Path of the field, e.g. `regions[0].quantity`.
    pub field: String,
    pub reason: String,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `PRODUCT_NOT_FOUND`.
    #[schema(example = "VALIDATION_FAILED")]
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

/// Every non-2xx response body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    pub error: ErrorBody,
    /// The `X-Request-Id` of the response.
    pub request_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("the request body is not valid JSON for this endpoint: {message}")]
    InvalidJson { message: String, details: Vec<FieldError> },
    #[error("the query string is not valid for this endpoint: {0}")]
    InvalidQuery(String),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 400 with a business code (an input the rules refuse, e.g. missing evidence),
    /// the offending fields in `details`.
    #[error("{message}")]
    Refused { code: &'static str, message: String, details: Vec<FieldError> },
    /// 422 with a business code: a well-formed request whose content the rules refuse
    /// (the counsel API's convention, `api.md`: business errors are 409/422), the
    /// offending fields in `details`.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String, details: Vec<FieldError> },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
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
    #[error("a dependency is unavailable; retry later")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable code of this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::InvalidJson { .. } => "INVALID_JSON",
            Self::InvalidQuery(_) => "INVALID_QUERY",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Refused { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::NotFound { code, .. } => code,
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::InvalidIdempotencyKey => "INVALID_IDEMPOTENCY_KEY",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::IdempotencyKeyInProgress => "IDEMPOTENCY_KEY_IN_PROGRESS",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    #[must_use]
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound { code, message: message.into() }
    }

    /// 403 `FORBIDDEN`: a known caller, a function its role may not use.
    #[must_use]
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { code: "FORBIDDEN", message: message.into() }
    }

    #[must_use]
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
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
            | Self::InvalidJson { details: fields, .. }
            | Self::Refused { details: fields, .. }
            | Self::Unprocessable { details: fields, .. } => fields,
            _ => &[],
        };
        fields.iter().map(|f| ErrorDetail { field: f.field.clone(), reason: f.reason.clone() }).collect()
    }

    /// The wire body of this error.
    #[must_use]
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorBody { code: self.code().to_owned(), message: self.to_string(), details: self.details() },
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

impl From<infra::orgs::OrgError> for ApiError {
    /// A database error is the database being unavailable (503, as from a repository);
    /// a row that cannot be read back is a server fault (500).
    fn from(err: infra::orgs::OrgError) -> Self {
        match err {
            infra::orgs::OrgError::Db(e) => {
                tracing::warn!(error = %e, "database error");
                Self::Unavailable
            }
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_)
            | Self::InvalidJson { .. }
            | Self::InvalidQuery(_)
            | Self::InvalidIdempotencyKey
            | Self::Refused { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::IdempotencyKeyReused | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInProgress => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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
