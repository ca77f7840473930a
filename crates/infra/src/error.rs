//! How storage failures become [`RepoError`]s, once for every repository.
//!
//! Invariants:
//! - a database error is logged here with its cause and reaches callers as
//!   [`RepoError::Unavailable`] (the API answers 503);
//! - a row that cannot be read back (a bad envelope, an unknown enum text) is logged with
//!   its table and key, never its content, and becomes [`RepoError::Corrupted`] (500).

use domain::error::RepoError;
use sea_orm::DbErr;

/// A database error: the database is unavailable to this request.
pub(crate) fn unavailable(err: DbErr) -> RepoError {
    tracing::error!(error = %err, "database error");
    RepoError::Unavailable(err.to_string())
}

/// A stored row of `table` keyed `key` that cannot be read back; `what` names the
/// problem (a decoding error), never the row's content.
pub(crate) fn corrupt(table: &str, key: &str, what: impl std::fmt::Display) -> RepoError {
    tracing::error!(table, key, %what, "corrupted row");
    RepoError::Corrupted(format!("{table}/{key}: {what}"))
}
