//! In-memory adapters of the orders ports, for use-case tests without a database.
//!
//! The pool is a count of waiting leads per (product, region); an order takes from it at
//! once, at most each line's quantity and the daily limit over the whole order, as the
//! storage adapter does. A cancel checks the status with the domain's own rule.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::error::RepoError;
use domain::identity::User;
use domain::ids::new_id;
use domain::money::Money;
use domain::order::{
    Amounts, NewOrderLines, Order, OrderError, OrderFilter, OrderLine, OrderStatus, OrderSummary, amounts,
};
use domain::pagination::{Page, PageRequest};
use domain::ports::OrderRepository;
use domain::reference::Product;
use time::OffsetDateTime;
use uuid::Uuid;

/// Orders in a vector, and the pool as counts of waiting leads.
#[derive(Debug, Default)]
pub struct MemoryOrderRepository {
    pub orders: Mutex<Vec<Order>>,
    /// Waiting leads by (product id, region code).
    pub pool: Mutex<HashMap<(Uuid, String), u64>>,
    /// When set, the next cancel answers [`RepoError::Conflict`] (a concurrent change).
    pub conflict_on_cancel: Mutex<bool>,
}

impl MemoryOrderRepository {
    /// Puts `count` leads of `product` in `region` into the pool.
    pub fn add_to_pool(&self, product: Uuid, region: &str, count: u64) {
        *self.pool.lock().expect("pool lock").entry((product, region.to_owned())).or_default() += count;
    }

    /// Every stored order (tests).
    #[must_use]
    pub fn all(&self) -> Vec<Order> {
        self.orders.lock().expect("orders lock").clone()
    }
}

fn bad(e: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupted(format!("orders: {e}"))
}

impl OrderRepository for MemoryOrderRepository {
    async fn place_order(
        &self,
        buyer: &User,
        product: &Product,
        lines: &NewOrderLines,
        memo: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Uuid, RepoError> {
        let quantity = lines.quantity();
        let priced = amounts(product.unit_price, quantity, product.prices_exclude_vat).map_err(bad)?;
        let mut pool = self.pool.lock().expect("pool lock");
        let mut delivered_total = 0;
        let mut stored_lines = Vec::with_capacity(lines.lines.len());
        for line in &lines.lines {
            let allowance = lines
                .daily_limit
                .map_or(line.quantity, |limit| line.quantity.min(limit.saturating_sub(delivered_total)));
            let waiting = pool.entry((product.id, line.region.clone())).or_default();
            let delivered = allowance.min(*waiting);
            *waiting -= delivered;
            delivered_total += delivered;
            stored_lines.push(OrderLine {
                id: new_id(),
                region: line.region.clone(),
                quantity: line.quantity,
                delivered,
            });
        }
        let status = OrderStatus::Pending.after_delivery(delivered_total, quantity).map_err(bad)?;
        let id = new_id();
        self.orders.lock().expect("orders lock").push(Order {
            id,
            buyer_user_id: buyer.id,
            product_id: product.id,
            product_name: product.name.clone(),
            status,
            daily_limit: lines.daily_limit,
            memo,
            unit_price: product.unit_price,
            prices_exclude_vat: product.prices_exclude_vat,
            quantity,
            delivered: delivered_total,
            amounts: priced,
            refunded: Money::from_minor(0).map_err(bad)?,
            lines: stored_lines,
            created_at: now,
            updated_at: now,
            cancelled_at: None,
        });
        Ok(id)
    }

    async fn order_of(&self, buyer: Uuid, id: Uuid) -> Result<Option<Order>, RepoError> {
        Ok(self.orders.lock().expect("orders lock").iter().find(|o| o.id == id && o.buyer_user_id == buyer).cloned())
    }

    async fn orders_of(
        &self,
        buyer: Uuid,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> Result<(Page<Order>, OrderSummary), RepoError> {
        let mut matching: Vec<Order> = self
            .orders
            .lock()
            .expect("orders lock")
            .iter()
            .filter(|o| o.buyer_user_id == buyer)
            .filter(|o| filter.status.is_none_or(|s| o.status == s))
            .filter(|o| filter.product_id.is_none_or(|p| o.product_id == p))
            .filter(|o| filter.from.is_none_or(|from| o.created_at >= from))
            .filter(|o| filter.to.is_none_or(|to| o.created_at < to))
            .cloned()
            .collect();
        let mut summary = OrderSummary::default();
        for o in &matching {
            summary.add(o.status, o.quantity, o.delivered, o.amounts.total.as_decimal(), o.refunded.as_decimal());
        }
        matching.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
        let total = matching.len() as u64;
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        let items = matching.into_iter().skip(offset).take(limit).collect();
        Ok((Page { items, request: page, total }, summary))
    }

    async fn cancel_order(
        &self,
        buyer: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<Result<Order, OrderError>>, RepoError> {
        if std::mem::take(&mut *self.conflict_on_cancel.lock().expect("conflict lock")) {
            return Err(RepoError::Conflict(format!("order {id} changed meanwhile")));
        }
        let mut orders = self.orders.lock().expect("orders lock");
        let Some(order) = orders.iter_mut().find(|o| o.id == id && o.buyer_user_id == buyer) else {
            return Ok(None);
        };
        let cancelled = match order.status.cancel() {
            Ok(next) => next,
            Err(refusal) => return Ok(Some(Err(refusal))),
        };
        let undelivered = order.quantity.saturating_sub(order.delivered);
        let Amounts { total: refund, .. } =
            amounts(order.unit_price, undelivered, order.prices_exclude_vat).map_err(bad)?;
        order.refunded = Money::new(order.refunded.as_decimal() + refund.as_decimal()).map_err(bad)?;
        order.status = cancelled;
        order.cancelled_at = Some(now);
        order.updated_at = now;
        Ok(Some(Ok(order.clone())))
    }
}
