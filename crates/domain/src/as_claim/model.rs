//! The vocabulary of AS claims: a claim as stored and shown, a new claim as parsed from a
//! request, who acts, whose AS a call reaches, the list's query, and why an operation
//! did nothing.
//!
//! Invariants:
//! - a [`NewAsClaim`] is valid once built: its lead id and file keys are UUIDs, the file
//!   keys are distinct and at most [`MAX_FILES`], the description is trimmed and at most
//!   [`MAX_TEXT`] characters (blank is none);
//! - what people type (a description, a comment, an evidence file's name) never prints
//!   in `Debug`;
//! - [`AsError`] carries no API code: the API maps each variant once.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::as_claim::AsRefusal;
use crate::error::{FieldError, RepoError, ValidationError};
use crate::files::EvidenceFile;
use crate::lead::AsStatus;
use crate::pagination::PageRequest;
use crate::reference::{AsReasonCode, Compensation};

/// Longest `description` and `comment`, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most evidence files on one AS.
pub const MAX_FILES: usize = 10;
/// The end reason of an assignment returned by an approved AS.
pub const AS_RETURNED: &str = "AS_RETURNED";
/// The actor of what the system does on its own (an auto-approval).
pub const SYSTEM_ACTOR: &str = "system";
/// The history comment of an auto-approval.
pub const AUTO_APPROVAL_COMMENT: &str = "auto-approved: a wrong number with evidence, claimed within 24 h of use";

/// Trimmed free text of at most [`MAX_TEXT`] characters; blank is none.
///
/// # Errors
/// Names `field` when the text is longer.
pub fn parse_text(raw: Option<&str>, field: &str) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > MAX_TEXT => Err(FieldError::new(field, "must be at most 2000 characters")),
        other => Ok(other.map(str::to_owned)),
    }
}

/// A claim as the requester sends it, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAsClaim {
    pub lead_id: Uuid,
    pub reason: AsReasonCode,
    pub description: String,
    /// Distinct, at most [`MAX_FILES`].
    pub file_keys: Vec<Uuid>,
}

// Free text a person typed: not printed.
crate::redacting_debug!(NewAsClaim { show: [lead_id, reason, file_keys], redact: [description] });

impl NewAsClaim {
    /// Parses a claim's fields as they arrive (`leadId`, `reasonCode`, `description`,
    /// `fileKeys`); ids may carry surrounding blanks.
    ///
    /// # Errors
    /// One [`FieldError`] per problem: `leadId` or `fileKeys[i]` not a UUID, a key listed
    /// twice, more than [`MAX_FILES`] keys, an unknown `reasonCode`, a long `description`.
    pub fn parse(
        lead_id: &str,
        reason_code: &str,
        description: Option<&str>,
        file_keys: &[String],
    ) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let lead_id =
            lead_id.trim().parse::<Uuid>().map_err(|_| errors.push(FieldError::new("leadId", "must be a UUID"))).ok();
        let reason = reason_code.parse::<AsReasonCode>().map_err(|e| errors.extend(e.0)).ok();
        if let Some(e) = errors.iter_mut().find(|e| e.field == "AsReasonCode") {
            e.field = "reasonCode".to_owned();
        }
        let description = parse_text(description, "description").map_err(|e| errors.push(e)).ok();
        let mut keys = Vec::new();
        for (i, raw) in file_keys.iter().enumerate() {
            match raw.trim().parse::<Uuid>() {
                Ok(key) if !keys.contains(&key) => keys.push(key),
                Ok(_) => errors.push(FieldError::new(format!("fileKeys[{i}]"), "is listed twice")),
                Err(_) => errors.push(FieldError::new(format!("fileKeys[{i}]"), "must be a UUID")),
            }
        }
        if keys.len() > MAX_FILES {
            errors.push(FieldError::new("fileKeys", "at most 10 files"));
        }
        match (lead_id, reason, description) {
            (Some(lead_id), Some(reason), Some(description)) if errors.is_empty() => {
                Ok(Self { lead_id, reason, description: description.unwrap_or_default(), file_keys: keys })
            }
            _ => Err(ValidationError(errors)),
        }
    }
}

/// Who acts, for the history and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AsActor<'a> {
    /// `user:<id>`, `key:<id>` or `system`.
    pub label: &'a str,
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
}

/// Whose AS a reader or actor may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsScope {
    /// Only the AS this user requested (others are "not found").
    Requester(Uuid),
    /// Every AS (the operator).
    Operator,
}

impl AsScope {
    /// Whether `claim` is within reach.
    #[must_use]
    pub fn reaches(self, claim: &AsClaim) -> bool {
        match self {
            Self::Requester(user) => claim.requester_user_id == user,
            Self::Operator => true,
        }
    }
}

/// One transition of an AS.
#[derive(Clone, PartialEq, Eq)]
pub struct AsHistoryEntry {
    pub from: Option<AsStatus>,
    pub to: AsStatus,
    pub actor: String,
    pub comment: Option<String>,
    pub at: OffsetDateTime,
}

// Free text a person typed: not printed.
crate::redacting_debug!(AsHistoryEntry { show: [from, to, actor, at], redact: [comment] });

/// An AS request with its evidence and history.
#[derive(Clone, PartialEq, Eq)]
pub struct AsClaim {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub assignment_id: Uuid,
    pub requester_user_id: Uuid,
    pub order_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub reason: AsReasonCode,
    pub description: String,
    pub status: AsStatus,
    pub compensation: Option<Compensation>,
    pub auto_approved: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub evidence: Vec<EvidenceFile>,
    /// Oldest first; empty in list pages.
    pub history: Vec<AsHistoryEntry>,
}

// Free text a person typed: not printed.
crate::redacting_debug!(AsClaim {
    show: [
        id,
        lead_id,
        assignment_id,
        requester_user_id,
        order_id,
        product_id,
        reason,
        status,
        compensation,
        auto_approved,
        created_at,
        updated_at,
        decided_at,
        evidence,
        history
    ],
    redact: [description]
});

/// The AS list's filters as a caller gives them.
#[derive(Debug, Clone)]
pub struct AsFilter {
    pub status: Option<AsStatus>,
    pub lead_id: Option<Uuid>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before (exclusive).
    pub to: Option<OffsetDateTime>,
    pub page: PageRequest,
}

/// The AS list's query as storage runs it.
#[derive(Debug, Clone)]
pub struct AsQuery {
    /// Only this user's requests; `None`: every AS.
    pub requester: Option<Uuid>,
    pub status: Option<AsStatus>,
    pub lead_id: Option<Uuid>,
    /// `createdAt` bounds, both included.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub page: PageRequest,
}

/// Why a file key cannot serve as an AS's evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceRefusal {
    /// Unknown, or another org's or user's (the same answer: no existence leak).
    #[error("file {0} not found")]
    NotFound(Uuid),
    /// Not uploaded completely (or the stored object is not what was declared).
    #[error("file {0} is not uploaded")]
    NotUploaded(Uuid),
    #[error("file {0} was uploaded for another purpose")]
    WrongPurpose(Uuid),
    #[error("file {0} is already attached to an AS request")]
    AlreadyAttached(Uuid),
}

/// Why an AS operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AsError {
    /// A claim on a lead the requester does not own (or that does not exist).
    #[error("no such lead among yours")]
    LeadNotFound,
    /// No such AS within the caller's reach (no existence leak).
    #[error("not found")]
    NotFound,
    /// A member-scoped call by an API key that names no member.
    #[error("a member-scoped call with an API key names its member")]
    MemberRequired,
    /// Deciding is the operator's (its API key or an `ADMIN`), or the assigned reviewer's.
    #[error("only the operator (its API key or an ADMIN) or the CS manager the review is assigned to decides")]
    NotDecider,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Refused(#[from] AsRefusal),
    #[error(transparent)]
    File(#[from] EvidenceRefusal),
    #[error(transparent)]
    Repo(#[from] RepoError),
}
