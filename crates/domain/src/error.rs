//! Errors shared by every domain module.
//!
//! A [`ValidationError`] always names each offending field and why, so the API can
//! answer 400 with `details` that a client can act on.

use thiserror::Error;

/// One field that failed validation, with a reason a client can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// Input that could not be turned into a domain value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("validation failed: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))]
pub struct ValidationError(pub Vec<FieldError>);

impl ValidationError {
    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, reason)])
    }
}

/// What a repository can report. Anything richer stays inside the adapter and is logged there.
#[derive(Debug, Error)]
pub enum RepoError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored row that cannot be read back: a ciphertext that fails to decrypt, a value
    /// that no longer parses. A server-side fault, never the caller's.
    #[error("corrupted row: {0}")]
    Corrupted(String),
}
