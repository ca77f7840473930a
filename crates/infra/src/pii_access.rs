//! The PII access log: one row per reveal of plain personal data.
//!
//! Invariants: append-only (this module has no update or delete); callers write the row
//! in the same transaction as the read that reveals, so a reveal without its log row
//! cannot commit. Rows are kept at least one year (개인정보 안전성 확보조치 기준).

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

/// Appends several accesses in one statement (a list page's reveals).
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
