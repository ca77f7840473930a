//! Lead intake: a source's lead is checked for duplicates, encrypted, put in the pool and
//! offered to the allocation engine, all in one transaction.
//!
//! Invariants:
//! - a duplicate (same normalized phone and product inside the product's duplicate
//!   window) is found through the phone blind index and an exact comparison, and nothing
//!   is written for it;
//! - an offered lead goes to at most one open order line; the line's counter moves only
//!   if it is still under its quantity (conditional update), so a line is never
//!   over-delivered, even by concurrent intakes; a lead no line can take stays in the pool;
//! - the engine's credits and the order's status change in the same transaction;
//! - the candidate lines are locked in id order before anything is decided, so
//!   concurrent intakes for one pool queue on the same rows in the same order.

use domain::allocation::{Slot, line_eligibility, pick};
use domain::error::RepoError;
use domain::ids::new_id;
use domain::lead::{AssignmentSource, LeadStatus, NewLead};
use domain::order::OrderStatus;
use domain::reference::Product;
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entities::{assignment, lead, order, order_line};
use crate::leads::{PHONE_INDEX, SeaLeadRepository};
use crate::reference::unavailable;
use crate::to_millis;

/// National id numbers a source may send; encrypted, never indexed, never shown.
#[derive(Debug, Clone, Default)]
pub struct IntakeIds {
    pub id_number: Option<String>,
    pub passport: Option<String>,
    pub family_book: Option<String>,
}

/// What became of an intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// A lead of the same phone and product arrived inside the duplicate window.
    Duplicate { earlier: Uuid },
    /// In the pool, waiting for an order.
    Pooled { lead: Uuid },
    /// Delivered at once to an order line.
    Delivered { lead: Uuid, order: Uuid },
}

fn corrupt(id: &str, what: impl std::fmt::Display) -> RepoError {
    tracing::error!(table = "order_lines", id, %what, "unreadable row");
    RepoError::Corrupted(format!("order_lines/{id}"))
}

impl SeaLeadRepository {
    /// Takes a lead from a source (see the module invariants).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn intake(
        &self,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IntakeOutcome, RepoError> {
        let now_ms = to_millis(now);
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let window_start = to_millis(now - Duration::hours(i64::from(product.duplicate_window_hours)));
        let candidates = lead::Entity::find()
            .filter(lead::Column::PhoneBidx.eq(self.keyring.blind_index(&PHONE_INDEX, new.pii.phone.e164())))
            .filter(lead::Column::ProductId.eq(product.id.to_string()))
            .filter(lead::Column::CreatedAt.gte(window_start))
            .order_by_asc(lead::Column::CreatedAt)
            .all(&*txn)
            .await
            .map_err(unavailable)?;
        for candidate in candidates {
            if self.decrypt_pii(&candidate)?.phone.e164() == new.pii.phone.e164() {
                let earlier = candidate.id.parse().map_err(|e| corrupt(&candidate.id, e))?;
                return Ok(IntakeOutcome::Duplicate { earlier });
            }
        }
        let lead_id = new_id();
        let key = lead_id.to_string();
        let mut row = self.pool_row(&key, new, provider_org_id, now_ms)?;
        row.source_id = Set(Some(source_id.to_string()));
        let seal =
            |column: &str, value: &Option<String>| value.as_deref().map(|v| self.seal(&key, column, v)).transpose();
        row.id_number_enc = Set(seal("id_number", &ids.id_number)?);
        row.passport_enc = Set(seal("passport", &ids.passport)?);
        row.family_book_enc = Set(seal("family_book", &ids.family_book)?);
        lead::Entity::insert(row).exec_without_returning(&*txn).await.map_err(unavailable)?;
        let outcome = match self.offer(&*txn, product, &new.region, lead_id, now_ms).await? {
            Some(order) => IntakeOutcome::Delivered { lead: lead_id, order },
            None => IntakeOutcome::Pooled { lead: lead_id },
        };
        txn.commit().await.map_err(unavailable)?;
        Ok(outcome)
    }

    /// Offers a pool lead to the open lines of its product and region; returns the order
    /// that took it.
    async fn offer(
        &self,
        conn: &impl ConnectionTrait,
        product: &Product,
        region: &str,
        lead_id: Uuid,
        now_ms: i64,
    ) -> Result<Option<Uuid>, RepoError> {
        // The pool's candidate rows, locked in id order (FOR UPDATE on PostgreSQL; SQLite
        // writers are already serialized by the write gate): concurrent intakes queue here
        // instead of racing, and cannot deadlock on the credit updates below.
        let lines = order_line::Entity::find()
            .filter(order_line::Column::ProductId.eq(product.id.to_string()))
            .filter(order_line::Column::Region.eq(region))
            .filter(order_line::Column::Open.eq(true))
            .order_by_asc(order_line::Column::Id)
            .lock_exclusive()
            .all(conn)
            .await
            .map_err(unavailable)?;
        if lines.is_empty() {
            return Ok(None);
        }
        let order_ids: Vec<String> = lines.iter().map(|l| l.order_id.clone()).collect();
        let orders: std::collections::HashMap<String, order::Model> = order::Entity::find()
            .filter(order::Column::Id.is_in(order_ids))
            .all(conn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let slots: Vec<Slot<usize>> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let remaining = u64::try_from(l.quantity - l.delivered).unwrap_or(0);
                let open_order = orders.get(&l.order_id).is_some_and(|o| {
                    o.status == OrderStatus::Pending.as_str() || o.status == OrderStatus::InProgress.as_str()
                });
                Slot {
                    id: i,
                    weight: remaining,
                    credit: l.credit,
                    tiebreak: l.created_at,
                    load: 0,
                    eligibility: line_eligibility(if open_order { remaining } else { 0 }, 0, None),
                }
            })
            .collect();
        let Ok(decision) = pick(product.allocation_policy, &slots) else { return Ok(None) };
        let line = &lines[decision.chosen];
        let Some(order_row) = orders.get(&line.order_id) else { return Ok(None) };
        let taken = order_line::Entity::update_many()
            .col_expr(order_line::Column::Delivered, Expr::col(order_line::Column::Delivered).add(1))
            .col_expr(order_line::Column::Open, Expr::value(line.delivered + 1 < line.quantity))
            .filter(order_line::Column::Id.eq(line.id.as_str()))
            .filter(order_line::Column::Open.eq(true))
            .filter(order_line::Column::Delivered.eq(line.delivered))
            .filter(order_line::Column::Delivered.lt(line.quantity))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        if taken.rows_affected != 1 {
            // Another intake took the line's last unit meanwhile: the lead waits in the pool.
            return Ok(None);
        }
        // Every eligible line's new credit in one statement (CASE id WHEN ... THEN ...).
        let mut credits = CaseStatement::new();
        let mut credited = Vec::with_capacity(decision.credits.len());
        for (i, credit) in &decision.credits {
            credits = credits.case(order_line::Column::Id.eq(lines[*i].id.as_str()), Expr::val(*credit));
            credited.push(lines[*i].id.clone());
        }
        order_line::Entity::update_many()
            .col_expr(order_line::Column::Credit, credits.finally(Expr::col(order_line::Column::Credit)).into())
            .filter(order_line::Column::Id.is_in(credited))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        // Count first (the row is then locked by this transaction), then derive the status
        // from what is stored, so concurrent deliveries to other lines are accounted for.
        order::Entity::update_many()
            .col_expr(order::Column::Delivered, Expr::col(order::Column::Delivered).add(1))
            .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
            .filter(order::Column::Id.eq(order_row.id.as_str()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        let current = order::Entity::find_by_id(order_row.id.clone())
            .one(conn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt(&order_row.id, "order vanished"))?;
        let status: OrderStatus = current.status.parse().map_err(|e| corrupt(&current.id, e))?;
        let delivered = u64::try_from(current.delivered).unwrap_or(0);
        let quantity = u64::try_from(current.quantity).unwrap_or(0);
        let next = status.after_delivery(delivered, quantity).map_err(|e| corrupt(&current.id, e))?;
        order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(next.as_str()))
            .filter(order::Column::Id.eq(current.id.as_str()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        let assignment_id = new_id().to_string();
        assignment::Entity::insert(assignment::ActiveModel {
            id: Set(assignment_id.clone()),
            lead_id: Set(lead_id.to_string()),
            owner_user_id: Set(order_row.buyer_user_id.clone()),
            owner_org_id: Set(order_row.org_id.clone()),
            source: Set(AssignmentSource::Order.as_str().to_owned()),
            distributor_user_id: Set(None),
            order_line_id: Set(Some(line.id.clone())),
            restored_from_id: Set(None),
            assigned_at: Set(now_ms),
            used_at: Set(None),
            ended_at: Set(None),
            end_reason: Set(None),
        })
        .exec_without_returning(conn)
        .await
        .map_err(unavailable)?;
        lead::Entity::update_many()
            .col_expr(lead::Column::Status, Expr::value(LeadStatus::Assigned.as_str()))
            .col_expr(lead::Column::OwnerUserId, Expr::value(order_row.buyer_user_id.clone()))
            .col_expr(lead::Column::OwnerOrgId, Expr::value(order_row.org_id.clone()))
            .col_expr(lead::Column::AssignmentId, Expr::value(assignment_id))
            .col_expr(lead::Column::AssignmentSource, Expr::value(AssignmentSource::Order.as_str()))
            .col_expr(lead::Column::AssignedAt, Expr::value(now_ms))
            .filter(lead::Column::Id.eq(lead_id.to_string()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        order_row.id.parse().map(Some).map_err(|e| corrupt(&order_row.id, e))
    }
}
