//! The AS side's entry points into counsel allocation: where AS reviews go, the review
//! case of an AS (its queue locked, in the order a sweep takes locks: queue, then AS),
//! and closing it when the AS is decided. `as_claims` calls these inside its own
//! transaction; the counsel tables stay this module's business.

use domain::counsel::{AutoDivGroup, CaseStatus, QueueKey};
use domain::error::RepoError;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Assigned, CounselError, complete_case_in, db};
use crate::crypto::Keyring;
use crate::entities::{counsel_case, counsel_queue};
use crate::error::{corrupt, unavailable};
use crate::to_millis;

/// The review case of an AS, its queue locked by this transaction.
pub(crate) struct ReviewCase(counsel_case::Model);

/// The queue AS reviews go to: the CS023 `20` queue with the smallest detail number, if
/// any is configured (none: the AS waits for the operator without a counsel case).
///
/// # Errors
/// Storage failures.
pub(crate) async fn as_review_queue(conn: &impl ConnectionTrait) -> Result<Option<QueueKey>, RepoError> {
    let row = counsel_queue::Entity::find()
        .filter(counsel_queue::Column::AutoDivGbCd.eq(AutoDivGroup::AsReview.as_str()))
        .order_by_asc(counsel_queue::Column::AutoDivDtlNo)
        .one(conn)
        .await
        .map_err(unavailable)?;
    Ok(row.map(|q| QueueKey { group: AutoDivGroup::AsReview, detail: q.auto_div_dtl_no }))
}

/// The review case of `as_id`, if any, after locking its queue's row. Call before
/// locking the AS row: a sweep of the queue locks the queue first, then moves the AS it
/// assigns (`as_claims::start_review`).
///
/// # Errors
/// Storage failures.
pub(crate) async fn lock_review_of(conn: &impl ConnectionTrait, as_id: &str) -> Result<Option<ReviewCase>, RepoError> {
    let Some(case) = counsel_case::Entity::find()
        .filter(counsel_case::Column::AsId.eq(as_id))
        .one(conn)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    counsel_queue::Entity::find_by_id(case.queue_id.clone()).lock_exclusive().one(conn).await.map_err(unavailable)?;
    Ok(Some(ReviewCase(case)))
}

/// A decided AS closes its review case: an assigned one is completed (its manager's
/// place frees up and the queue is swept), a waiting one leaves the manual list. Returns
/// the cases the sweep assigned, whose events the caller writes.
///
/// # Errors
/// Storage failures; a case that changed although its queue was locked.
pub(crate) async fn close_review_in(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    review: &ReviewCase,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Assigned, CounselError> {
    let case = &review.0;
    if case.status == CaseStatus::Assigned.as_str() {
        let cnsl_no: Uuid = case.cnsl_no.parse().map_err(|e| corrupt("counsel_cases", &case.cnsl_no, e))?;
        return complete_case_in(conn, keyring, cnsl_no, actor, now).await;
    }
    if case.status == CaseStatus::Waiting.as_str() {
        counsel_case::Entity::update_many()
            .col_expr(counsel_case::Column::Status, Expr::value(CaseStatus::Completed.as_str()))
            .col_expr(counsel_case::Column::CompletedAt, Expr::value(to_millis(now)))
            .filter(counsel_case::Column::CnslNo.eq(case.cnsl_no.as_str()))
            .filter(counsel_case::Column::Status.eq(CaseStatus::Waiting.as_str()))
            .exec(conn)
            .await
            .map_err(db)?;
    }
    Ok(Assigned::default())
}
