//! Ports of the orders use cases (`crate::service::orders`): one method per thing a use case
//! needs from storage.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::User;
use crate::order::{NewOrderLines, Order, OrderError, OrderFilter, OrderSummary};
use crate::pagination::{Page, PageRequest};
use crate::reference::Product;

/// Orders and the delivery of pool leads to them.
pub trait OrderRepository: Send + Sync {
    /// Stores a new order of `buyer` for `product` at the product's current price and
    /// delivers matching pool leads at once, oldest first, never more than a line asks
    /// for nor more than the daily limit; all of it or nothing. Returns the order's id.
    fn place_order(
        &self,
        buyer: &User,
        product: &Product,
        lines: &NewOrderLines,
        memo: Option<String>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Uuid, RepoError>> + Send;

    /// The buyer's order; `None` for an unknown order or another buyer's.
    fn order_of(&self, buyer: Uuid, id: Uuid) -> impl Future<Output = Result<Option<Order>, RepoError>> + Send;

    /// One page of the buyer's orders matching the filter, newest first, and the summary
    /// over every order the filter matches.
    fn orders_of(
        &self,
        buyer: Uuid,
        filter: &OrderFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<(Page<Order>, OrderSummary), RepoError>> + Send;

    /// Cancels the buyer's order in one step with its status check
    /// ([`crate::order::OrderStatus::cancel`]): refunds the undelivered remainder at the
    /// order's prices and closes its lines. `None` for an order that is not the buyer's,
    /// `Some(Err(..))` for a status that cannot be cancelled; [`RepoError::Conflict`] when
    /// the order changed between the read and the write.
    fn cancel_order(
        &self,
        buyer: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Result<Order, OrderError>>, RepoError>> + Send;
}
