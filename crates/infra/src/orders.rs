//! The order repository: orders, their lines, and delivery of pool leads.
//!
//! Invariants:
//! - an order, its lines and every delivery made at its creation commit together;
//! - a line never receives more than its quantity: delivery takes at most the remainder,
//!   and marks a pool lead taken only if it is still in the pool (conditional update);
//! - a cancel settles the undelivered remainder at the order's own prices and closes its
//!   lines, in one transaction, conditional on the status it read;
//! - the buyer's memo is sealed (`crypto::ORDER_MEMO`, bound to the order id) and the
//!   plaintext `memo` column stays `NULL`.

use std::sync::Arc;

use domain::calendar;
use domain::error::RepoError;
use domain::events::{Event, IntakeStatusChanged, LeadRef, OrderCancelled, event_time};
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{AssignmentSource, LeadStatus};
use domain::money::Money;
use domain::order::{NewOrderLines, Order, OrderError, OrderFilter, OrderLine, OrderStatus, OrderSummary, amounts};
use domain::pagination::{Page, PageRequest};
use domain::ports::OrderRepository;
use domain::reference::Product;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{Keyring, ORDER_MEMO};
use crate::db::Db;
use crate::entities::{assignment, lead, order, order_line, product};
use crate::error::{corrupt, unavailable};
use crate::lead_events::{self, Assigned, Completed};
use crate::leads::decrypt_lead_pii;
use crate::outbox::{self, Outgoing};
use crate::pools;
use crate::{from_millis, to_millis};

#[derive(Clone, Debug)]
pub struct SeaOrderRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

/// The table named when a row of it cannot be read back.
const TABLE: &str = "orders";

fn minor(id: &str, money: Money) -> Result<i64, RepoError> {
    money.to_minor().map_err(|e| corrupt(TABLE, id, e))
}

impl SeaOrderRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    /// Creates an order and delivers matching pool leads at once, oldest first.
    ///
    /// # Errors
    /// Storage failures, or an amount too large to store (`Corrupted`).
    pub async fn create(
        &self,
        buyer: &User,
        product: &Product,
        lines: &NewOrderLines,
        memo: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Uuid, RepoError> {
        let id = new_id();
        let key = id.to_string();
        let now_ms = to_millis(now);
        let today = calendar::day_start_ms(now_ms, &product.time_zone).map_err(|e| corrupt(TABLE, &key, e))?;
        let quantity = lines.quantity();
        let priced =
            amounts(product.unit_price, quantity, product.prices_exclude_vat).map_err(|e| corrupt(TABLE, &key, e))?;
        let (memo_enc, memo_key_id) =
            ORDER_MEMO.seal_opt(&self.keyring, &key, memo.as_deref()).map_err(|e| corrupt(TABLE, &key, e))?;
        let row = order::ActiveModel {
            id: Set(key.clone()),
            org_id: Set(buyer.org_id.to_string()),
            buyer_user_id: Set(buyer.id.to_string()),
            product_id: Set(product.id.to_string()),
            status: Set(OrderStatus::Pending.as_str().to_owned()),
            daily_limit: Set(lines.daily_limit.map(|d| i64::try_from(d).unwrap_or(i64::MAX))),
            memo: Set(None),
            memo_enc: Set(memo_enc),
            memo_key_id: Set(memo_key_id),
            unit_price_minor: Set(minor(&key, product.unit_price)?),
            prices_exclude_vat: Set(product.prices_exclude_vat),
            quantity: Set(i64::try_from(quantity).unwrap_or(i64::MAX)),
            delivered: Set(0),
            subtotal_minor: Set(minor(&key, priced.subtotal)?),
            vat_minor: Set(minor(&key, priced.vat)?),
            total_minor: Set(minor(&key, priced.total)?),
            refunded_minor: Set(0),
            created_at: Set(now_ms),
            updated_at: Set(now_ms),
            cancelled_at: Set(None),
            day_start: Set(Some(today)),
            delivered_today: Set(0),
            as_open: Set(0),
            as_approved: Set(0),
        };
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        // The pools of the order's lines, locked in order before their leads are read, so
        // an intake arriving now either is seen here or sees the new line.
        let pools: Vec<(String, String)> =
            lines.lines.iter().map(|l| (product.id.to_string(), l.region.clone())).collect();
        pools::lock_all(&*txn, &pools).await?;
        order::Entity::insert(row).exec_without_returning(&*txn).await.map_err(unavailable)?;
        let mut delivered_total: u64 = 0;
        // The backlog this order takes, for its `lead.assigned` events: (lead row, pii).
        let mut taken_leads = Vec::new();
        for line in &lines.lines {
            let line_id = new_id().to_string();
            // Today's allowance: the order's daily limit bounds what one day delivers.
            let allowance = lines.daily_limit.map_or(line.quantity, |limit| {
                std::cmp::Ord::min(line.quantity, limit.saturating_sub(delivered_total))
            });
            let pool = lead::Entity::find()
                .filter(lead::Column::Status.eq(LeadStatus::Pool.as_str()))
                .filter(lead::Column::ProductId.eq(product.id.to_string()))
                .filter(lead::Column::Region.eq(line.region.as_str()))
                .order_by_asc(lead::Column::CreatedAt)
                .order_by_asc(lead::Column::Id)
                .limit(allowance)
                .all(&*txn)
                .await
                .map_err(unavailable)?;
            let mut delivered: u64 = 0;
            for candidate in pool {
                let assignment_id = new_id().to_string();
                let taken = lead::Entity::update_many()
                    .col_expr(lead::Column::Status, Expr::value(LeadStatus::Assigned.as_str()))
                    .col_expr(lead::Column::OwnerUserId, Expr::value(buyer.id.to_string()))
                    .col_expr(lead::Column::OwnerOrgId, Expr::value(buyer.org_id.to_string()))
                    .col_expr(lead::Column::AssignmentId, Expr::value(assignment_id.clone()))
                    .col_expr(lead::Column::AssignmentSource, Expr::value(AssignmentSource::Order.as_str()))
                    .col_expr(lead::Column::AssignedAt, Expr::value(now_ms))
                    .col_expr(lead::Column::UpdatedAt, Expr::value(now_ms))
                    .filter(lead::Column::Id.eq(candidate.id.as_str()))
                    .filter(lead::Column::Status.eq(LeadStatus::Pool.as_str()))
                    .exec(&*txn)
                    .await
                    .map_err(unavailable)?;
                if taken.rows_affected != 1 {
                    continue;
                }
                let open = assignment::ActiveModel {
                    id: Set(assignment_id),
                    lead_id: Set(candidate.id.clone()),
                    owner_user_id: Set(buyer.id.to_string()),
                    owner_org_id: Set(buyer.org_id.to_string()),
                    source: Set(AssignmentSource::Order.as_str().to_owned()),
                    distributor_user_id: Set(None),
                    order_line_id: Set(Some(line_id.clone())),
                    restored_from_id: Set(None),
                    assigned_at: Set(now_ms),
                    used_at: Set(None),
                    ended_at: Set(None),
                    end_reason: Set(None),
                };
                assignment::Entity::insert(open).exec_without_returning(&*txn).await.map_err(unavailable)?;
                let pii = decrypt_lead_pii(&self.keyring, &candidate)?;
                taken_leads.push((candidate, pii));
                delivered += 1;
            }
            delivered_total += delivered;
            let row = order_line::ActiveModel {
                id: Set(line_id),
                order_id: Set(key.clone()),
                product_id: Set(product.id.to_string()),
                region: Set(line.region.clone()),
                quantity: Set(i64::try_from(line.quantity).unwrap_or(i64::MAX)),
                delivered: Set(i64::try_from(delivered).unwrap_or(i64::MAX)),
                credit: Set(0),
                credit_pick: Set(None),
                open: Set(delivered < line.quantity),
                created_at: Set(now_ms),
                replacements_owed: Set(0),
            };
            order_line::Entity::insert(row).exec_without_returning(&*txn).await.map_err(unavailable)?;
        }
        let status =
            OrderStatus::Pending.after_delivery(delivered_total, quantity).map_err(|e| corrupt(TABLE, &key, e))?;
        order::Entity::update_many()
            .col_expr(order::Column::Delivered, Expr::value(i64::try_from(delivered_total).unwrap_or(i64::MAX)))
            .col_expr(order::Column::DeliveredToday, Expr::value(i64::try_from(delivered_total).unwrap_or(i64::MAX)))
            .col_expr(order::Column::Status, Expr::value(status.as_str()))
            .filter(order::Column::Id.eq(key.as_str()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        let buyer_key = buyer.id.to_string();
        let mut assigned = Vec::with_capacity(taken_leads.len());
        for (row, pii) in &taken_leads {
            assigned.push(Assigned {
                lead: LeadRef {
                    id: row.id.parse().map_err(|e| corrupt("leads", &row.id, e))?,
                    product_id: product.id,
                    product_name: &product.name,
                    region: &row.region,
                    pii,
                },
                order_id: &key,
                owner_user_id: &buyer_key,
                at_ms: now_ms,
            });
        }
        let completed = (status == OrderStatus::Completed).then(|| Completed {
            order_id: &key,
            buyer_user_id: &buyer_key,
            product_id: product.id,
            delivered: delivered_total,
            at_ms: now_ms,
        });
        let mut events = lead_events::events(self.db.event_directory(), &*txn, &assigned, completed.as_slice()).await?;
        // Each backlog lead's source sees it leave the pool: `intake.status_changed`.
        for (row, _) in taken_leads.iter().filter(|(row, _)| row.source_id.is_some()) {
            let code = self.db.event_directory().org_code(&*txn, &row.provider_org_id).await?;
            let payload = IntakeStatusChanged {
                lead_source_id: row.source_lead_id.clone().unwrap_or_else(|| row.id.clone()),
                lead_id: row.id.parse().map_err(|e| corrupt("leads", &row.id, e))?,
                status: LeadStatus::Assigned.as_str().to_owned(),
                changed_at: event_time(now),
            };
            let org = row.provider_org_id.parse().map_err(|e| corrupt("leads", &row.id, e))?;
            events.push(Outgoing::from(Event::new(org, &code, &payload, now)));
        }
        outbox::append(&txn, &self.keyring, &events).await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(id)
    }

    async fn hydrate(&self, conn: &impl ConnectionTrait, rows: Vec<order::Model>) -> Result<Vec<Order>, RepoError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids))
            .order_by_asc(order_line::Column::CreatedAt)
            .order_by_asc(order_line::Column::Id)
            .all(conn)
            .await
            .map_err(unavailable)?;
        let product_ids: Vec<String> = rows.iter().map(|r| r.product_id.clone()).collect();
        let names: std::collections::HashMap<String, String> = product::Entity::find()
            .filter(product::Column::Id.is_in(product_ids))
            .all(conn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        rows.into_iter()
            .map(|row| {
                let id = row.id.clone();
                let bad = |e: &dyn std::fmt::Display| corrupt(TABLE, &id, e);
                let money = |m: i64| Money::from_minor(m).map_err(|e| bad(&e));
                let count = |n: i64| u64::try_from(n).map_err(|e| bad(&e));
                Ok(Order {
                    id: row.id.parse().map_err(|e| bad(&e))?,
                    buyer_user_id: row.buyer_user_id.parse().map_err(|e| bad(&e))?,
                    product_id: row.product_id.parse().map_err(|e| bad(&e))?,
                    product_name: names.get(&row.product_id).cloned().unwrap_or_default(),
                    status: row.status.parse().map_err(|e| bad(&e))?,
                    daily_limit: row.daily_limit.map(count).transpose()?,
                    memo: ORDER_MEMO
                        .open(&self.keyring, &row.id, row.memo_enc.as_deref(), row.memo.as_deref())
                        .map_err(|e| bad(&e))?,
                    unit_price: money(row.unit_price_minor)?,
                    prices_exclude_vat: row.prices_exclude_vat,
                    quantity: count(row.quantity)?,
                    delivered: count(row.delivered)?,
                    amounts: domain::order::Amounts {
                        subtotal: money(row.subtotal_minor)?,
                        vat: money(row.vat_minor)?,
                        total: money(row.total_minor)?,
                    },
                    refunded: money(row.refunded_minor)?,
                    lines: lines
                        .iter()
                        .filter(|l| l.order_id == row.id)
                        .map(|l| {
                            Ok(OrderLine {
                                id: l.id.parse().map_err(|e| bad(&e))?,
                                region: l.region.clone(),
                                quantity: count(l.quantity)?,
                                delivered: count(l.delivered)?,
                            })
                        })
                        .collect::<Result<_, RepoError>>()?,
                    created_at: from_millis(row.created_at),
                    updated_at: from_millis(row.updated_at),
                    cancelled_at: row.cancelled_at.map(from_millis),
                })
            })
            .collect()
    }

    /// An order of this buyer; `None` for another buyer's or an unknown order.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn get(&self, buyer: Uuid, id: Uuid) -> Result<Option<Order>, RepoError> {
        let conn = self.db.conn();
        let row = order::Entity::find_by_id(id.to_string())
            .filter(order::Column::BuyerUserId.eq(buyer.to_string()))
            .one(conn)
            .await
            .map_err(unavailable)?;
        Ok(self.hydrate(conn, row.into_iter().collect()).await?.pop())
    }

    /// One page of the buyer's orders, newest first, and the summary over the whole filter.
    ///
    /// # Errors
    /// Storage failures or an unreadable row.
    pub async fn list(
        &self,
        buyer: Uuid,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<(Page<Order>, OrderSummary), RepoError> {
        let conn = self.db.conn();
        let mut select = order::Entity::find().filter(order::Column::BuyerUserId.eq(buyer.to_string()));
        if let Some(status) = filter.status {
            select = select.filter(order::Column::Status.eq(status.as_str()));
        }
        if let Some(product) = filter.product_id {
            select = select.filter(order::Column::ProductId.eq(product.to_string()));
        }
        if let Some(from) = filter.from {
            select = select.filter(order::Column::CreatedAt.gte(to_millis(from)));
        }
        if let Some(to) = filter.to {
            select = select.filter(order::Column::CreatedAt.lt(to_millis(to)));
        }
        let mut summary = OrderSummary::default();
        let all: Vec<(String, String, i64, i64, i64, i64)> = select
            .clone()
            .select_only()
            .column(order::Column::Id)
            .column(order::Column::Status)
            .column(order::Column::Quantity)
            .column(order::Column::Delivered)
            .column(order::Column::TotalMinor)
            .column(order::Column::RefundedMinor)
            .into_tuple()
            .all(conn)
            .await
            .map_err(unavailable)?;
        for (id, status, quantity, delivered, total, refunded) in &all {
            let status: OrderStatus = status.parse().map_err(|e| corrupt(TABLE, id, e))?;
            let total = Money::from_minor(*total).map_err(|e| corrupt(TABLE, id, e))?.as_decimal();
            let refunded = Money::from_minor(*refunded).map_err(|e| corrupt(TABLE, id, e))?.as_decimal();
            summary.add(
                status,
                u64::try_from(*quantity).unwrap_or(0),
                u64::try_from(*delivered).unwrap_or(0),
                total,
                refunded,
            );
        }
        let rows = select
            .order_by_desc(order::Column::CreatedAt)
            .order_by_desc(order::Column::Id)
            .offset(page.offset())
            .limit(page.limit())
            .all(conn)
            .await
            .map_err(unavailable)?;
        let total = all.len() as u64;
        Ok((Page { items: self.hydrate(conn, rows).await?, request: page, total }, summary))
    }

    /// Cancels the buyer's order: refunds the undelivered remainder, closes its lines.
    ///
    /// # Errors
    /// `Ok(Err(..))` for a status that cannot be cancelled; `Ok(Ok(None))` for an order
    /// that is not the buyer's; storage failures.
    pub async fn cancel(
        &self,
        buyer: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<Result<Order, OrderError>>, RepoError> {
        let key = id.to_string();
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let mine = order::Entity::find_by_id(key.clone())
            .filter(order::Column::BuyerUserId.eq(buyer.to_string()))
            .count(&*txn)
            .await
            .map_err(unavailable)?;
        if mine == 0 {
            return Ok(None);
        }
        // Lock the pools of the order's lines (in order, as every writer does), then read
        // the order again: a delivery that committed meanwhile is counted.
        let pools: Vec<(String, String)> = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(key.as_str()))
            .all(&*txn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|l| (l.product_id, l.region))
            .collect();
        pools::lock_all(&*txn, &pools).await?;
        let Some(row) = order::Entity::find_by_id(key.clone()).one(&*txn).await.map_err(unavailable)? else {
            return Ok(None);
        };
        let status: OrderStatus = row.status.parse().map_err(|e| corrupt(TABLE, &key, e))?;
        let cancelled = match status.cancel() {
            Ok(next) => next,
            Err(refusal) => return Ok(Some(Err(refusal))),
        };
        let undelivered = u64::try_from(row.quantity - row.delivered).unwrap_or(0);
        let unit = Money::from_minor(row.unit_price_minor).map_err(|e| corrupt(TABLE, &key, e))?;
        let refund = amounts(unit, undelivered, row.prices_exclude_vat).map_err(|e| corrupt(TABLE, &key, e))?.total;
        let now_ms = to_millis(now);
        let done = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(cancelled.as_str()))
            .col_expr(order::Column::RefundedMinor, Expr::col(order::Column::RefundedMinor).add(minor(&key, refund)?))
            .col_expr(order::Column::CancelledAt, Expr::value(now_ms))
            .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
            .filter(order::Column::Id.eq(key.as_str()))
            .filter(order::Column::Status.eq(status.as_str()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        if done.rows_affected != 1 {
            return Err(RepoError::Conflict(format!("order {key} changed meanwhile")));
        }
        order_line::Entity::update_many()
            .col_expr(order_line::Column::Open, Expr::value(false))
            .filter(order_line::Column::OrderId.eq(key.as_str()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        let row = order::Entity::find_by_id(key.clone()).one(&*txn).await.map_err(unavailable)?;
        let order = self.hydrate(&*txn, row.into_iter().collect()).await?.pop();
        let buyer_key = buyer.to_string();
        let users = self.db.event_directory().users(&*txn, [buyer_key.as_str()]).await?;
        let owner = users.get(&buyer_key).ok_or_else(|| corrupt("users", &buyer_key, "buyer not found"))?;
        let payload = OrderCancelled {
            order_id: id,
            mohom_id: owner.mohom_id.clone(),
            refunded_amount: refund,
            cancelled_at: event_time(now),
        };
        let event = Event::new(owner.org_id, &owner.org_code, &payload, now);
        outbox::append(&txn, &self.keyring, &[Outgoing::from(event)]).await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(order.map(Ok))
    }

    /// How many orders a buyer has (tests and reports).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn count_for(&self, buyer: Uuid) -> Result<u64, RepoError> {
        order::Entity::find()
            .filter(order::Column::BuyerUserId.eq(buyer.to_string()))
            .count(self.db.conn())
            .await
            .map_err(unavailable)
    }
}

/// The use cases' port: each method is the inherent one of the same purpose.
impl OrderRepository for SeaOrderRepository {
    async fn place_order(
        &self,
        buyer: &User,
        product: &Product,
        lines: &NewOrderLines,
        memo: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Uuid, RepoError> {
        self.create(buyer, product, lines, memo, now).await
    }

    async fn order_of(&self, buyer: Uuid, id: Uuid) -> Result<Option<Order>, RepoError> {
        self.get(buyer, id).await
    }

    async fn orders_of(
        &self,
        buyer: Uuid,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<(Page<Order>, OrderSummary), RepoError> {
        self.list(buyer, filter, page).await
    }

    async fn cancel_order(
        &self,
        buyer: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<Result<Order, OrderError>>, RepoError> {
        self.cancel(buyer, id, now).await
    }
}
