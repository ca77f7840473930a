//! Moving an AS (cancel by its requester; review, approve, reject by the operator) and
//! an approval's effects: the lead returned, the order compensated, the review case
//! closed.

use std::collections::HashSet;

use domain::as_claim::{AS_RETURNED, AsAction, AsActor, AsClaim, AsError, AsRefusal, AsScope};
use domain::error::RepoError;
use domain::lead::{AsStatus, LeadStatus};
use domain::money::Money;
use domain::order::{OrderStatus, amounts};
use domain::reference::{Compensation, Product};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use super::transitions::{set_lead_as_status, write_audit, write_history};
use super::{SeaAsClaimRepository, line_by_id, locked_order, product_by_id};
use crate::counsel::{CounselError, review};
use crate::entities::{as_request, as_status_history, assignment, lead, order, order_line};
use crate::error::{corrupt, unavailable};
use crate::{pools, to_millis};

impl SeaAsClaimRepository {
    /// Moves an AS by `action` (cancel by its requester; review, approve, reject by the
    /// operator), with its effects (see the module invariants).
    ///
    /// # Errors
    /// [`AsError::NotFound`] outside `scope`; [`AsRefusal::InvalidState`] when the status
    /// does not allow the action (also when another request moved it first); storage
    /// failures. Nothing is written then.
    pub async fn act_on_as(
        &self,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AsClaim, AsError> {
        let key = id.to_string();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let Some(row) = as_request::Entity::find_by_id(key.clone()).one(&*txn).await.map_err(unavailable)? else {
            return Err(AsError::NotFound);
        };
        if let AsScope::Requester(user) = scope
            && row.requester_user_id != user.to_string()
        {
            return Err(AsError::NotFound);
        }
        let status: AsStatus = row.status.parse().map_err(|e| corrupt("as_requests", &key, e))?;
        status.apply(action)?;
        let product_key = row.product_id.clone().ok_or_else(|| corrupt("as_requests", &key, "no product"))?;
        let product = product_by_id(&*txn, &product_key).await?;
        self.move_as(&*txn, &key, action, &product, actor, comment, now).await?;
        let claim = self.load(&*txn, &key).await?.ok_or_else(|| corrupt("as_requests", &key, "vanished"))?;
        txn.commit().await.map_err(unavailable)?;
        Ok(claim)
    }

    /// One transition inside the caller's transaction: locks, the conditional update, the
    /// counters, history, audit and, for an approval, the return and the compensation.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn move_as(
        &self,
        conn: &impl ConnectionTrait,
        key: &str,
        action: AsAction,
        product: &Product,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AsError> {
        let now_ms = to_millis(now);
        let row = as_request::Entity::find_by_id(key.to_owned())
            .one(conn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt("as_requests", key, "vanished"))?;
        let line = match &row.order_line_id {
            Some(line_id) => Some(line_by_id(conn, line_id).await?),
            None => None,
        };
        // The writers' lock order: pool (a replacement reopens its line), then the order.
        if action == AsAction::Approve
            && product.as_policy.compensation() == Compensation::Replacement
            && let Some(line) = &line
        {
            pools::lock(conn, &line.product_id, &line.region).await?;
        }
        let order_row = match &row.order_id {
            Some(order_id) => Some(locked_order(conn, order_id).await?),
            None => None,
        };
        // The review case's queue, before the AS row: a sweep of that queue locks the
        // queue first and then moves the AS it assigns (`start_review`).
        let review = review::lock_review_of(conn, key).await?;
        // Read again under the AS row's own lock: a transition that committed while this
        // one waited for the pool or order lock is the status this one starts from.
        let row = as_request::Entity::find_by_id(key.to_owned())
            .lock_exclusive()
            .one(conn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt("as_requests", key, "vanished"))?;
        let allowed: Vec<&str> = AsStatus::allowed_before(action).iter().map(|s| s.as_str()).collect();
        let current: AsStatus = row.status.parse().map_err(|e| corrupt("as_requests", key, e))?;
        let next = current.apply(action)?;
        // History stays a chain in time order even when `now` was read before a wait.
        let last_at = as_status_history::Entity::find()
            .filter(as_status_history::Column::AsId.eq(key))
            .order_by_desc(as_status_history::Column::At)
            .one(conn)
            .await
            .map_err(unavailable)?
            .map_or(now_ms, |h| h.at);
        let at_ms = std::cmp::Ord::max(now_ms, last_at);
        let mut update = as_request::Entity::update_many()
            .col_expr(as_request::Column::Status, Expr::value(next.as_str()))
            .col_expr(as_request::Column::UpdatedAt, Expr::value(now_ms))
            .filter(as_request::Column::Id.eq(key))
            .filter(as_request::Column::Status.is_in(allowed));
        if next.is_final() {
            update = update
                .col_expr(as_request::Column::DecidedAt, Expr::value(now_ms))
                .col_expr(as_request::Column::DecidedBy, Expr::value(actor.label));
        }
        if update.exec(conn).await.map_err(unavailable)?.rows_affected != 1 {
            // Another request moved it first: report the status it has now.
            let now_status = as_request::Entity::find_by_id(key.to_owned())
                .one(conn)
                .await
                .map_err(unavailable)?
                .and_then(|r| r.status.parse().ok())
                .unwrap_or(current);
            return Err(AsRefusal::InvalidState { status: now_status, action }.into());
        }
        write_history(conn, &self.keyring, key, Some(current), next, actor, comment, at_ms).await?;
        set_lead_as_status(conn, &row.lead_id, next, now_ms).await?;
        if let Some(order_row) = &order_row {
            let mut counters = order::Entity::update_many().filter(order::Column::Id.eq(order_row.id.as_str()));
            if next.is_final() {
                counters = counters.col_expr(order::Column::AsOpen, Expr::col(order::Column::AsOpen).sub(1));
            }
            if next == AsStatus::Approved {
                counters = counters.col_expr(order::Column::AsApproved, Expr::col(order::Column::AsApproved).add(1));
            }
            if next.is_final() {
                counters.exec(conn).await.map_err(unavailable)?;
            }
        }
        if next.is_final()
            && let Some(case) = &review
        {
            review::close_review_in(conn, &self.keyring, case, actor.label, now).await.map_err(|e| match e {
                CounselError::Repo(repo) => repo,
                other => RepoError::Conflict(other.to_string()),
            })?;
        }
        let mut detail = serde_json::json!({ "from": current.as_str(), "to": next.as_str(), "comment": comment });
        if next == AsStatus::Approved {
            let given = self.return_and_compensate(conn, &row, product, line.as_ref(), order_row.as_ref(), now).await?;
            detail["compensation"] = serde_json::Value::from(given.map(Compensation::as_str));
        }
        let audit_action = match action {
            AsAction::Review => "as.review",
            AsAction::Cancel => "as.cancel",
            AsAction::Approve => "as.approve",
            AsAction::Reject => "as.reject",
        };
        Ok(write_audit(conn, &self.keyring, actor, audit_action, key, detail, now).await?)
    }

    /// An approval's effects on the lead and the order; returns the compensation given.
    async fn return_and_compensate(
        &self,
        conn: &impl ConnectionTrait,
        row: &as_request::Model,
        product: &Product,
        line: Option<&order_line::Model>,
        order_row: Option<&order::Model>,
        now: OffsetDateTime,
    ) -> Result<Option<Compensation>, RepoError> {
        let now_ms = to_millis(now);
        // The lead row first, then its assignment: the lock order of every writer of an
        // open assignment (`crate::transfers`).
        let none = Option::<String>::None;
        lead::Entity::update_many()
            .col_expr(lead::Column::Status, Expr::value(LeadStatus::Returned.as_str()))
            .col_expr(lead::Column::OwnerUserId, Expr::value(none.clone()))
            .col_expr(lead::Column::OwnerOrgId, Expr::value(none.clone()))
            .col_expr(lead::Column::AssignmentId, Expr::value(none.clone()))
            .col_expr(lead::Column::AssignmentSource, Expr::value(none.clone()))
            .col_expr(lead::Column::DistributorUserId, Expr::value(none))
            .col_expr(lead::Column::AssignedAt, Expr::value(Option::<i64>::None))
            .col_expr(lead::Column::UsedAt, Expr::value(Option::<i64>::None))
            .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
            .filter(lead::Column::Id.eq(row.lead_id.as_str()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        assignment::Entity::update_many()
            .col_expr(assignment::Column::EndedAt, Expr::value(now_ms))
            .col_expr(assignment::Column::EndReason, Expr::value(AS_RETURNED))
            .filter(assignment::Column::LeadId.eq(row.lead_id.as_str()))
            .filter(assignment::Column::EndedAt.is_null())
            .exec(conn)
            .await
            .map_err(unavailable)?;
        let (Some(line), Some(order_row)) = (line, order_row) else { return Ok(None) };
        let status: OrderStatus = order_row.status.parse().map_err(|e| corrupt("orders", &order_row.id, e))?;
        let given = if product.as_policy.compensation() == Compensation::Replacement && status != OrderStatus::Cancelled
        {
            order_line::Entity::update_many()
                .col_expr(order_line::Column::Delivered, Expr::col(order_line::Column::Delivered).sub(1))
                .col_expr(order_line::Column::ReplacementsOwed, Expr::col(order_line::Column::ReplacementsOwed).add(1))
                .col_expr(order_line::Column::Open, Expr::value(true))
                .col_expr(order_line::Column::CreditPick, Expr::value(Option::<i64>::None))
                .filter(order_line::Column::Id.eq(line.id.as_str()))
                .exec(conn)
                .await
                .map_err(unavailable)?;
            order::Entity::update_many()
                .col_expr(order::Column::Delivered, Expr::col(order::Column::Delivered).sub(1))
                .col_expr(order::Column::Status, Expr::value(status.after_return().as_str()))
                .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
                .filter(order::Column::Id.eq(order_row.id.as_str()))
                .exec(conn)
                .await
                .map_err(unavailable)?;
            // A lead already waiting in the pool is the replacement, now.
            let waiting = lead::Entity::find()
                .filter(lead::Column::Status.eq(LeadStatus::Pool.as_str()))
                .filter(lead::Column::ProductId.eq(line.product_id.as_str()))
                .filter(lead::Column::Region.eq(line.region.as_str()))
                .order_by_asc(lead::Column::CreatedAt)
                .order_by_asc(lead::Column::Id)
                .one(conn)
                .await
                .map_err(unavailable)?;
            if let Some(waiting) = waiting {
                let lead_id = waiting.id.parse().map_err(|e| corrupt("leads", &waiting.id, e))?;
                self.leads.offer(conn, &mut HashSet::new(), product, &line.region, lead_id, now_ms).await?;
            }
            Compensation::Replacement
        } else {
            let unit =
                Money::from_minor(order_row.unit_price_minor).map_err(|e| corrupt("orders", &order_row.id, e))?;
            let refund = amounts(unit, 1, order_row.prices_exclude_vat)
                .and_then(|a| a.total.to_minor())
                .map_err(|e| corrupt("orders", &order_row.id, e))?;
            order::Entity::update_many()
                .col_expr(order::Column::RefundedMinor, Expr::col(order::Column::RefundedMinor).add(refund))
                .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
                .filter(order::Column::Id.eq(order_row.id.as_str()))
                .exec(conn)
                .await
                .map_err(unavailable)?;
            Compensation::Refund
        };
        as_request::Entity::update_many()
            .col_expr(as_request::Column::Compensation, Expr::value(given.as_str()))
            .filter(as_request::Column::Id.eq(row.id.as_str()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        Ok(Some(given))
    }
}
