//! The audit log: append-only rows saying who did what to which record, and when.
//!
//! Invariants:
//! - rows are only ever inserted; nothing in the code base updates or deletes them, except
//!   the start-up step sealing rows written before the vault covered `detail`
//!   (`seal_backfill`) and key rotation, which rewrite the envelope only;
//! - `detail` is JSON that may carry what people typed (AS comments, login ids, labels):
//!   it is sealed (`crypto::AUDIT_DETAIL`, bound to the row id) into `detail_enc`, and
//!   the plaintext column is left `''`. Only [`record_without_detail`], for entries that
//!   carry nothing (the demo seed, which runs before the keyring is loaded), writes no
//!   envelope.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{AUDIT_DETAIL, Keyring};
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

/// An audit row as read back, its detail decrypted.
#[derive(Clone, PartialEq)]
pub struct AuditRecord {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    /// `Null` for an entry recorded without detail.
    pub detail: serde_json::Value,
}

// Decrypted: not printed either.
domain::redacting_debug!(AuditRecord { show: [id, at, actor, action, entity, entity_id], redact: [detail] });

fn row(entry: &AuditEntry<'_>, id: String, at: OffsetDateTime) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        id: Set(id),
        at: Set(to_millis(at)),
        org_id: Set(entry.org_id.map(|id| id.to_string())),
        actor: Set(entry.actor.to_owned()),
        action: Set(entry.action.to_owned()),
        entity: Set(entry.entity.to_owned()),
        entity_id: Set(entry.entity_id.map(str::to_owned)),
        request_id: Set(entry.request_id.map(str::to_owned)),
        detail: Set(String::new()),
        detail_enc: Set(None),
        detail_key_id: Set(None),
    }
}

/// Appends one entry, its detail sealed.
///
/// # Errors
/// The driver's error, or `DbErr::Custom` when sealing fails.
pub async fn record(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    entry: AuditEntry<'_>,
    at: OffsetDateTime,
) -> Result<(), DbErr> {
    let id = domain::ids::new_id().to_string();
    let sealed = AUDIT_DETAIL
        .seal(keyring, &id, &entry.detail.to_string())
        .map_err(|e| DbErr::Custom(format!("sealing an audit detail: {e}")))?;
    let mut model = row(&entry, id, at);
    model.detail_enc = Set(Some(sealed.envelope));
    model.detail_key_id = Set(Some(sealed.key_id));
    audit_log::Entity::insert(model).exec_without_returning(conn).await.map(|_| ())
}

/// Appends an entry that carries no detail (`entry.detail` must be `Null`), where no
/// keyring is at hand: the demo seed, which runs before the keys are loaded.
///
/// # Errors
/// `DbErr::Custom` when the entry has a detail; the driver's error.
pub async fn record_without_detail(
    conn: &impl ConnectionTrait,
    entry: AuditEntry<'_>,
    at: OffsetDateTime,
) -> Result<(), DbErr> {
    if !entry.detail.is_null() {
        return Err(DbErr::Custom("an audit entry with a detail must be sealed (audit::record)".to_owned()));
    }
    let model = row(&entry, domain::ids::new_id().to_string(), at);
    audit_log::Entity::insert(model).exec_without_returning(conn).await.map(|_| ())
}

/// How many audit rows name this action (for tests and `ldbds` reports).
///
/// # Errors
/// The driver's error.
pub async fn count_action(conn: &impl ConnectionTrait, action: &str) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    audit_log::Entity::find().filter(audit_log::Column::Action.eq(action)).count(conn).await
}

/// The entries of one action, oldest first, details decrypted (operators and tests).
///
/// # Errors
/// The driver's error, or `DbErr::Custom` naming a row whose detail does not decrypt or
/// is not JSON.
pub async fn entries(conn: &impl ConnectionTrait, keyring: &Keyring, action: &str) -> Result<Vec<AuditRecord>, DbErr> {
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .order_by_asc(audit_log::Column::At)
        .order_by_asc(audit_log::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let bad = |what: &dyn std::fmt::Display| DbErr::Custom(format!("audit_log/{}: {what}", r.id));
            let text =
                AUDIT_DETAIL.open(keyring, &r.id, r.detail_enc.as_deref(), Some(&r.detail)).map_err(|e| bad(&e))?;
            let detail = match text.as_deref() {
                None | Some("") => serde_json::Value::Null,
                Some(json) => serde_json::from_str(json).map_err(|e| bad(&e))?,
            };
            Ok(AuditRecord {
                id: r.id.clone(),
                at: r.at,
                actor: r.actor.clone(),
                action: r.action.clone(),
                entity: r.entity.clone(),
                entity_id: r.entity_id.clone(),
                detail,
            })
        })
        .collect()
}
