//! The audit log: append-only rows saying who did what to which record, and when.
//!
//! Invariant: rows are only ever inserted; nothing in the code base updates or deletes
//! them. `detail` is JSON and never holds personal data.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entities::audit_log;
use crate::to_millis;

/// One audited action.
#[derive(Clone)]
pub struct AuditEntry<'a> {
    pub org_id: Option<Uuid>,
    /// `key:<id>`, `user:<id>`, `cli` or `system`.
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

// The detail may quote what a person typed: not printed.
domain::redacting_debug!(AuditEntry<'a> { show: [org_id, actor, action, entity, entity_id, request_id], redact: [detail] });

/// Appends one entry.
///
/// # Errors
/// The driver's error.
pub async fn record(conn: &impl ConnectionTrait, entry: AuditEntry<'_>, at: OffsetDateTime) -> Result<(), DbErr> {
    let row = audit_log::ActiveModel {
        id: Set(domain::ids::new_id().to_string()),
        at: Set(to_millis(at)),
        org_id: Set(entry.org_id.map(|id| id.to_string())),
        actor: Set(entry.actor.to_owned()),
        action: Set(entry.action.to_owned()),
        entity: Set(entry.entity.to_owned()),
        entity_id: Set(entry.entity_id.map(str::to_owned)),
        request_id: Set(entry.request_id.map(str::to_owned)),
        detail: Set(entry.detail.to_string()),
    };
    audit_log::Entity::insert(row).exec_without_returning(conn).await.map(|_| ())
}

/// How many audit rows name this action (for tests and `ldbds` reports).
///
/// # Errors
/// The driver's error.
pub async fn count_action(conn: &impl ConnectionTrait, action: &str) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    audit_log::Entity::find().filter(audit_log::Column::Action.eq(action)).count(conn).await
}
