//! Every `code` the API sends in an error body, in one enum.
//!
//! Invariants:
//! - each code is a SCREAMING_SNAKE string, unique, and serializes as that string;
//! - each code has exactly one HTTP status, whichever `ApiError` variant carries it;
//! - `docs/errors.md` lists exactly these codes with these statuses (its rows' code and
//!   HTTP columns; the test below reads the file), so a code cannot be added, renamed or
//!   dropped without the document following.

use serde::{Serialize, Serializer};

/// Declares [`ErrorCode`] from one list of `Variant => "CODE", status;` so the variant,
/// its wire string, its status and [`ErrorCode::ALL`] cannot disagree.
macro_rules! error_codes {
    ($($variant:ident => $code:literal, $status:literal;)+) => {
        /// A stable error code of the API (`docs/errors.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = concat!("`", $code, "` (HTTP ", stringify!($status), ")")] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order declared (by status, then name).
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The code as it appears on the wire, e.g. `LEAD_NOT_FOUND`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The HTTP status every response with this code has.
            #[must_use]
            pub const fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                }
            }
        }
    };
}

error_codes! {
    AsEvidenceRequired => "AS_EVIDENCE_REQUIRED", 400;
    AsReasonNotAllowed => "AS_REASON_NOT_ALLOWED", 400;
    ExcelInvalid => "EXCEL_INVALID", 400;
    InvalidIdempotencyKey => "INVALID_IDEMPOTENCY_KEY", 400;
    InvalidJson => "INVALID_JSON", 400;
    InvalidQuery => "INVALID_QUERY", 400;
    ValidationFailed => "VALIDATION_FAILED", 400;
    ConsentRequired => "CONSENT_REQUIRED", 400;
    VerificationCodeMismatch => "VERIFICATION_CODE_MISMATCH", 400;
    VerificationExpired => "VERIFICATION_EXPIRED", 400;
    Unauthorized => "UNAUTHORIZED", 401;
    Forbidden => "FORBIDDEN", 403;
    InsufficientScope => "INSUFFICIENT_SCOPE", 403;
    RoleNotAllowed => "ROLE_NOT_ALLOWED", 403;
    UploadContentTypeMismatch => "UPLOAD_CONTENT_TYPE_MISMATCH", 403;
    UploadUrlExpired => "UPLOAD_URL_EXPIRED", 403;
    UploadUrlInvalid => "UPLOAD_URL_INVALID", 403;
    AsNotFound => "AS_NOT_FOUND", 404;
    CounselCaseNotFound => "COUNSEL_CASE_NOT_FOUND", 404;
    CounselMemberNotFound => "COUNSEL_MEMBER_NOT_FOUND", 404;
    CounselQueueNotFound => "COUNSEL_QUEUE_NOT_FOUND", 404;
    DeliveryNotFound => "DELIVERY_NOT_FOUND", 404;
    FileNotFound => "FILE_NOT_FOUND", 404;
    LeadNotFound => "LEAD_NOT_FOUND", 404;
    OrderNotFound => "ORDER_NOT_FOUND", 404;
    OrgNotFound => "ORG_NOT_FOUND", 404;
    ProductNotFound => "PRODUCT_NOT_FOUND", 404;
    RouteNotFound => "ROUTE_NOT_FOUND", 404;
    UserNotFound => "USER_NOT_FOUND", 404;
    VerificationNotFound => "VERIFICATION_NOT_FOUND", 404;
    AnalysisNotFound => "ANALYSIS_NOT_FOUND", 404;
    AuthSessionNotFound => "AUTH_SESSION_NOT_FOUND", 404;
    WebhookNotFound => "WEBHOOK_NOT_FOUND", 404;
    MethodNotAllowed => "METHOD_NOT_ALLOWED", 405;
    AsAlreadyOpen => "AS_ALREADY_OPEN", 409;
    AsInvalidState => "AS_INVALID_STATE", 409;
    AsNotAllowed => "AS_NOT_ALLOWED", 409;
    AsRateExceeded => "AS_RATE_EXCEEDED", 409;
    AsWindowClosed => "AS_WINDOW_CLOSED", 409;
    CounselAlreadyMember => "COUNSEL_ALREADY_MEMBER", 409;
    CounselCaseIsAsReview => "COUNSEL_CASE_IS_AS_REVIEW", 409;
    CounselCaseNotAssigned => "COUNSEL_CASE_NOT_ASSIGNED", 409;
    CounselCaseNotWaiting => "COUNSEL_CASE_NOT_WAITING", 409;
    CounselNotAManager => "COUNSEL_NOT_A_MANAGER", 409;
    CounselNotAMember => "COUNSEL_NOT_A_MEMBER", 409;
    CounselOverCapacity => "COUNSEL_OVER_CAPACITY", 409;
    CounselQueueExists => "COUNSEL_QUEUE_EXISTS", 409;
    DeliveryAlreadySucceeded => "DELIVERY_ALREADY_SUCCEEDED", 409;
    DuplicateLead => "DUPLICATE_LEAD", 409;
    FileAlreadyAttached => "FILE_ALREADY_ATTACHED", 409;
    FileNotUploaded => "FILE_NOT_UPLOADED", 409;
    FileWrongPurpose => "FILE_WRONG_PURPOSE", 409;
    IdempotencyKeyInProgress => "IDEMPOTENCY_KEY_IN_PROGRESS", 409;
    LeadAlreadyUsed => "LEAD_ALREADY_USED", 409;
    LeadConflict => "LEAD_CONFLICT", 409;
    LeadHasOpenAs => "LEAD_HAS_OPEN_AS", 409;
    OrderConflict => "ORDER_CONFLICT", 409;
    OrderNotCancellable => "ORDER_NOT_CANCELLABLE", 409;
    OrgAlreadyExists => "ORG_ALREADY_EXISTS", 409;
    ProductNotOnSale => "PRODUCT_NOT_ON_SALE", 409;
    SourceAlreadyExists => "SOURCE_ALREADY_EXISTS", 409;
    TermsVersionChanged => "TERMS_VERSION_CHANGED", 409;
    HealthAuthNotApproved => "HEALTH_AUTH_NOT_APPROVED", 409;
    UploadUrlUsed => "UPLOAD_URL_USED", 409;
    UserAlreadyExists => "USER_ALREADY_EXISTS", 409;
    UserOwnsLeads => "USER_OWNS_LEADS", 409;
    PayloadTooLarge => "PAYLOAD_TOO_LARGE", 413;
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE", 415;
    ExcelRowsInvalid => "EXCEL_ROWS_INVALID", 422;
    ExcelTooManyRows => "EXCEL_TOO_MANY_ROWS", 422;
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED", 422;
    RateLimited => "RATE_LIMITED", 429;
    InternalError => "INTERNAL_ERROR", 500;
    ServiceUnavailable => "SERVICE_UNAVAILABLE", 503;
    SmsUnavailable => "SMS_UNAVAILABLE", 503;
    InsuranceDataUnavailable => "INSURANCE_DATA_UNAVAILABLE", 503;
    HealthDataUnavailable => "HEALTH_DATA_UNAVAILABLE", 503;
}

impl ErrorCode {
    /// The code whose wire string is `code`.
    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Lets a test compare a code with its wire string (`assert_eq!(err.code(), "FORBIDDEN")`).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::ErrorCode;

    const ERRORS_MD: &str = include_str!("../../../../docs/errors.md");

    /// The (code, status) pairs of every table row `| 404 | `CODE` | ... |` of the document.
    fn documented() -> BTreeMap<String, BTreeSet<u16>> {
        let mut rows: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
        for line in ERRORS_MD.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // "", status, code, when, ""
            let (Some(status), Some(code)) = (cells.get(1), cells.get(2)) else { continue };
            let Ok(status) = status.parse::<u16>() else { continue };
            let code = code.trim_matches('`');
            rows.entry(code.to_owned()).or_default().insert(status);
        }
        rows
    }

    #[test]
    fn docs_errors_md_lists_exactly_the_codes_with_their_statuses() {
        let documented = documented();
        let declared: BTreeMap<String, BTreeSet<u16>> =
            ErrorCode::ALL.iter().map(|c| (c.as_str().to_owned(), BTreeSet::from([c.status()]))).collect();
        let missing: Vec<&String> = declared.keys().filter(|c| !documented.contains_key(*c)).collect();
        let unknown: Vec<&String> = documented.keys().filter(|c| !declared.contains_key(*c)).collect();
        assert!(missing.is_empty(), "codes of ErrorCode that docs/errors.md does not list: {missing:?}");
        assert!(unknown.is_empty(), "codes docs/errors.md lists that ErrorCode does not have: {unknown:?}");
        assert_eq!(documented, declared, "docs/errors.md gives a code another HTTP status");
    }

    #[test]
    fn codes_are_unique_screaming_snake_strings_serialized_as_such() {
        let mut seen = BTreeSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.starts_with(|c: char| c.is_ascii_uppercase())
                    && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{text}"
            );
            assert_eq!(serde_json::to_value(code).ok(), Some(serde_json::Value::from(text)));
            assert_eq!(ErrorCode::parse(text), Some(*code));
            assert_eq!(code.to_string(), text);
            assert!((400..600).contains(&code.status()), "{text}: {}", code.status());
        }
        assert_eq!(ErrorCode::parse("NOT_A_CODE"), None);
    }
}
