//! Moving an AS (cancel by its requester; review, approve, reject by the operator) and
//! an approval's effects: the lead returned, the order compensated, the review case
//! closed.
//!
//! Events, written in the transition's transaction with one outbox insert
//! (`SeaAsClaimRepository::write_moved`): an approval or a rejection is `as.decided` to
//! the claimant's org; an approval that returns a lead sent by a source is also
//! `intake.status_changed` (`RETURNED`) to the lead's provider org; review cases a
//! closing review's sweep assigns are `counsel.case.assigned` to the operator. Their
//! cost: the outbox insert, plus the operator orgs' read when a case was assigned, the
//! returned lead's source read on an approval, and the event directory's read of an org
//! code on a cold cache. A refused transition writes nothing, events included.

use std::collections::HashSet;

use domain::as_claim::{AS_RETURNED, AsAction, AsActor, AsClaim, AsError, AsRefusal, AsScope};
use domain::error::RepoError;
use domain::events::{AsCreated, AsDecided, Event, IntakeStatusChanged, event_time};
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
use crate::counsel::{Assigned, CounselError, review};
use crate::db::WriteTxn;
use crate::entities::{as_request, as_status_history, assignment, lead, order, order_line};
use crate::error::{corrupt, unavailable};
use crate::outbox::{self, Outgoing};
use crate::{operator_events, pools, to_millis};

/// What a transition did, for its events.
pub(super) struct Moved {
    as_id: String,
    lead_id: String,
    requester_user_id: String,
    requester_org_id: Option<String>,
    /// `APPROVED` or `REJECTED`: an `as.decided`.
    decided: Option<AsStatus>,
    compensation: Option<Compensation>,
    /// The lead an approval returned, when a source sent it.
    returned: Option<ReturnedSource>,
    /// Review cases the closing review's sweep assigned.
    assigned: Assigned,
}

/// The source side of a returned lead.
struct ReturnedSource {
    /// The source's own id for the lead, or the lead id when it gave none.
    lead_source_id: String,
    provider_org_id: String,
}

fn uuid_of(table: &str, text: &str) -> Result<Uuid, RepoError> {
    text.parse().map_err(|e| corrupt(table, text, e))
}

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
        let moved = self.move_as(&*txn, &key, action, &product, actor, comment, now).await?;
        self.write_events(&txn, None, Some(&moved), &Assigned::default(), now).await?;
        let claim = self.load(&*txn, &key).await?.ok_or_else(|| corrupt("as_requests", &key, "vanished"))?;
        txn.commit().await.map_err(unavailable)?;
        Ok(claim)
    }

    /// Writes a claim's or a transition's events in `txn` with one outbox insert:
    /// `created` (`as.created`, to each operator org), `moved`'s (see the module docs) and
    /// `assigned` (`counsel.case.assigned`, to each operator org).
    ///
    /// # Errors
    /// Storage failures.
    pub(super) async fn write_events(
        &self,
        txn: &WriteTxn,
        created: Option<&AsCreated>,
        moved: Option<&Moved>,
        assigned: &Assigned,
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        let mut events = Vec::new();
        if let Some(moved) = moved {
            self.moved_events(txn, moved, now, &mut events).await?;
        }
        let assigned_too = moved.is_some_and(|m| !m.assigned.is_empty());
        if created.is_some() || !assigned.is_empty() || assigned_too {
            let operators = operator_events::operators(&**txn).await?;
            if let Some(created) = created {
                events.extend(operator_events::to_each(&operators, created, now));
            }
            if let Some(moved) = moved {
                events.extend(moved.assigned.events(&operators));
            }
            events.extend(assigned.events(&operators));
        }
        outbox::append(txn, &self.keyring, &events).await
    }

    /// `moved`'s `as.decided` and `intake.status_changed`, appended to `events`.
    async fn moved_events(
        &self,
        txn: &WriteTxn,
        moved: &Moved,
        now: OffsetDateTime,
        events: &mut Vec<Outgoing>,
    ) -> Result<(), RepoError> {
        let directory = self.db.event_directory();
        if let Some(status) = moved.decided {
            let org = match &moved.requester_org_id {
                Some(org) => org.clone(),
                None => directory
                    .users(&**txn, [moved.requester_user_id.as_str()])
                    .await?
                    .get(&moved.requester_user_id)
                    .map(|u| u.org_id.to_string())
                    .ok_or_else(|| corrupt("as_requests", &moved.as_id, "no requester"))?,
            };
            let code = directory.org_code(&**txn, &org).await?;
            let payload = AsDecided {
                as_id: uuid_of("as_requests", &moved.as_id)?,
                lead_id: uuid_of("as_requests", &moved.lead_id)?,
                status: status.as_str().to_owned(),
                compensation: moved.compensation.map(|c| c.as_str().to_owned()),
                decided_at: event_time(now),
            };
            events.push(Event::new(uuid_of("organizations", &org)?, &code, &payload, now).into());
        }
        if let Some(source) = &moved.returned {
            let code = directory.org_code(&**txn, &source.provider_org_id).await?;
            let payload = IntakeStatusChanged {
                lead_source_id: source.lead_source_id.clone(),
                lead_id: uuid_of("leads", &moved.lead_id)?,
                status: LeadStatus::Returned.as_str().to_owned(),
                changed_at: event_time(now),
            };
            let org = uuid_of("organizations", &source.provider_org_id)?;
            events.push(Event::new(org, &code, &payload, now).into());
        }
        Ok(())
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
    ) -> Result<Moved, AsError> {
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
        let mut assigned = Assigned::default();
        if next.is_final()
            && let Some(case) = &review
        {
            assigned =
                review::close_review_in(conn, &self.keyring, case, actor.label, now).await.map_err(|e| match e {
                    CounselError::Repo(repo) => repo,
                    other => RepoError::Conflict(other.to_string()),
                })?;
        }
        let mut detail = serde_json::json!({ "from": current.as_str(), "to": next.as_str(), "comment": comment });
        let (mut compensation, mut returned) = (None, None);
        if next == AsStatus::Approved {
            // The source a returned lead came from, told of the return (`intake.status_changed`).
            let lead_row = lead::Entity::find_by_id(row.lead_id.clone()).one(conn).await.map_err(unavailable)?;
            returned = lead_row.filter(|l| l.source_id.is_some()).map(|l| ReturnedSource {
                lead_source_id: l.source_lead_id.unwrap_or_else(|| l.id.clone()),
                provider_org_id: l.provider_org_id,
            });
            compensation =
                self.return_and_compensate(conn, &row, product, line.as_ref(), order_row.as_ref(), now).await?;
            detail["compensation"] = serde_json::Value::from(compensation.map(Compensation::as_str));
        }
        let audit_action = match action {
            AsAction::Review => "as.review",
            AsAction::Cancel => "as.cancel",
            AsAction::Approve => "as.approve",
            AsAction::Reject => "as.reject",
        };
        write_audit(conn, &self.keyring, actor, audit_action, key, detail, now).await?;
        Ok(Moved {
            as_id: key.to_owned(),
            lead_id: row.lead_id.clone(),
            requester_user_id: row.requester_user_id.clone(),
            requester_org_id: row.requester_org_id.clone(),
            decided: matches!(next, AsStatus::Approved | AsStatus::Rejected).then_some(next),
            compensation,
            returned,
            assigned,
        })
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
