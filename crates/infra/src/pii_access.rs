//! The PII access log: one row per reveal of plain personal data.
//!
//! Invariants: append-only (this module has no update or delete); a row is committed
//! before the response that reveals what it records is built: `use` writes it in the
//! transaction that marks the lead, the lists, the detail and `contacts` through the
//! group-committed [`crate::reveal_log`], so a reveal whose row cannot be written reveals
//! nothing. Rows are kept at least one year (개인정보 안전성 확보조치 기준).

use domain::ports::PiiAccess;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::pii_access_log;
use crate::to_millis;

fn row(access: &PiiAccess) -> pii_access_log::ActiveModel {
    pii_access_log::ActiveModel {
        id: Set(domain::ids::new_id().to_string()),
        at: Set(to_millis(access.at)),
        org_id: Set(access.org_id.to_string()),
        user_id: Set(access.user_id.map(|u| u.to_string())),
        actor: Set(access.actor.clone()),
        subject_kind: Set(access.subject_kind.to_owned()),
        subject_id: Set(access.subject_id.to_string()),
        fields: Set(access.fields.join(",")),
        endpoint: Set(access.endpoint.clone()),
        request_id: Set(access.request_id.clone()),
    }
}

/// Appends one access.
///
/// # Errors
/// The driver's error.
pub async fn record(conn: &impl ConnectionTrait, access: &PiiAccess) -> Result<(), DbErr> {
    pii_access_log::Entity::insert(row(access)).exec_without_returning(conn).await.map(|_| ())
}

/// Appends several accesses in one multi-row statement (a list page's reveals, or a group
/// commit of many requests' reveals: at most [`crate::reveal_log::MAX_ROWS`] rows).
///
/// # Errors
/// The driver's error.
pub async fn record_all(conn: &impl ConnectionTrait, accesses: &[PiiAccess]) -> Result<(), DbErr> {
    if accesses.is_empty() {
        return Ok(());
    }
    pii_access_log::Entity::insert_many(accesses.iter().map(row)).exec_without_returning(conn).await.map(|_| ())
}

/// How many reveals of this subject are logged.
///
/// # Errors
/// The driver's error.
pub async fn count_for_subject(conn: &impl ConnectionTrait, kind: &str, subject_id: Uuid) -> Result<u64, DbErr> {
    pii_access_log::Entity::find()
        .filter(pii_access_log::Column::SubjectKind.eq(kind))
        .filter(pii_access_log::Column::SubjectId.eq(subject_id.to_string()))
        .count(conn)
        .await
}

/// The request ids of the logged reveals of this subject (a row without one is left out).
///
/// # Errors
/// The driver's error.
pub async fn request_ids_for_subject(
    conn: &impl ConnectionTrait,
    kind: &str,
    subject_id: Uuid,
) -> Result<Vec<String>, DbErr> {
    let rows = pii_access_log::Entity::find()
        .filter(pii_access_log::Column::SubjectKind.eq(kind))
        .filter(pii_access_log::Column::SubjectId.eq(subject_id.to_string()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|r| r.request_id).collect())
}
