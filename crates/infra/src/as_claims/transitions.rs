//! What every AS transition writes besides the AS row (its history row, the lead's
//! latest AS status, its audit row), and the review start counsel allocation calls when
//! an AS-review case reaches a manager.
//!
//! Invariant: this file imports nothing from `counsel`, so counsel's locked queue can
//! call [`start_review`] inside its own transaction without an import circle.

use domain::as_claim::AsActor;
use domain::error::RepoError;
use domain::ids::new_id;
use domain::lead::AsStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditEntry};
use crate::crypto::{AS_HISTORY_COMMENT, Keyring};
use crate::entities::{as_request, as_status_history, lead};
use crate::error::{corrupt, unavailable};
use crate::to_millis;

/// Appends one transition to the AS's history, its comment sealed to the new row.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_history(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_id: &str,
    from: Option<AsStatus>,
    to: AsStatus,
    actor: &AsActor<'_>,
    comment: Option<&str>,
    at: i64,
) -> Result<(), RepoError> {
    let id = new_id().to_string();
    let (comment_enc, comment_key_id) =
        AS_HISTORY_COMMENT.seal_opt(keyring, &id, comment).map_err(|e| corrupt("as_status_history", &id, e))?;
    let row = as_status_history::ActiveModel {
        id: Set(id),
        as_id: Set(as_id.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        actor: Set(actor.label.to_owned()),
        actor_user_id: Set(actor.user_id.map(|u| u.to_string())),
        comment: Set(None),
        at: Set(at),
        comment_enc: Set(comment_enc),
        comment_key_id: Set(comment_key_id),
    };
    as_status_history::Entity::insert(row).exec_without_returning(conn).await.map_err(unavailable)?;
    Ok(())
}

/// The audit row of an AS operation (`as.create`, `as.review`, ...), its detail sealed.
pub(super) async fn write_audit(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    actor: &AsActor<'_>,
    action: &str,
    as_id: &str,
    detail: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let entry = AuditEntry {
        org_id: actor.org_id,
        actor: actor.label,
        action,
        entity: "as_request",
        entity_id: Some(as_id),
        request_id: actor.request_id,
        detail,
    };
    audit::record(conn, keyring, entry, now).await.map_err(unavailable)
}

/// The lead's `latest_as_status`, which its lists show and filter on.
pub(super) async fn set_lead_as_status(
    conn: &impl ConnectionTrait,
    lead_id: &str,
    status: AsStatus,
    now_ms: i64,
) -> Result<(), RepoError> {
    lead::Entity::update_many()
        .col_expr(lead::Column::LatestAsStatus, Expr::value(status.as_str()))
        .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
        .filter(lead::Column::Id.eq(lead_id))
        .exec(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Moves an AS from `REQUESTED` to `IN_REVIEW` inside the caller's transaction, when its
/// review case reaches a CS manager (counsel allocation); an AS already past
/// `REQUESTED` is left as it is. Writes the history row, the `as.review` audit row (the
/// same shape as a review by the operator) and the lead's status, like every other
/// transition. Returns whether the AS moved.
///
/// # Errors
/// Storage failures.
pub(crate) async fn start_review(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_id: Uuid,
    actor: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let key = as_id.to_string();
    let now_ms = to_millis(now);
    let moved = as_request::Entity::update_many()
        .col_expr(as_request::Column::Status, Expr::value(AsStatus::InReview.as_str()))
        .col_expr(as_request::Column::UpdatedAt, Expr::value(now_ms))
        .filter(as_request::Column::Id.eq(key.as_str()))
        .filter(as_request::Column::Status.eq(AsStatus::Requested.as_str()))
        .exec(conn)
        .await
        .map_err(unavailable)?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    let Some(row) = as_request::Entity::find_by_id(key.clone()).one(conn).await.map_err(unavailable)? else {
        return Ok(false);
    };
    let system = AsActor { label: actor, user_id: None, org_id: None, request_id: None };
    write_history(conn, keyring, &key, Some(AsStatus::Requested), AsStatus::InReview, &system, None, now_ms).await?;
    set_lead_as_status(conn, &row.lead_id, AsStatus::InReview, now_ms).await?;
    let detail = serde_json::json!({
        "from": AsStatus::Requested.as_str(), "to": AsStatus::InReview.as_str(), "comment": null,
    });
    write_audit(conn, keyring, &system, "as.review", &key, detail, now).await?;
    Ok(true)
}
