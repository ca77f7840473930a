//! Orders (주문 등록, 목록·통계, 단건 조회, 취소) for the acting member.
//!
//! Invariants:
//! - every use case acts for the principal's acting member: an order is placed for that
//!   member, and another member's order is "not found", never "forbidden";
//! - an order is placed only for a product that exists and is on sale, with lines that
//!   name known regions once each ([`NewOrderLines::parse`]), a memo of at most
//!   [`MAX_MEMO_CHARS`] characters (a blank memo is none), and nothing is written for a
//!   refused request;
//! - input is checked in a fixed order and the first refused part answers: `productId`,
//!   then the lines and `dailyLimit` together, then `memo`, then the product;
//! - a line's status is decided here ([`line_status`]): `FULL` once delivered, else
//!   `CLOSED` when the order was cancelled, else `OPEN`; its amount is unit price ×
//!   quantity, before VAT ([`line_amount`]);
//! - a cancel refunds exactly the undelivered remainder and is refused for a completed or
//!   cancelled order; a cancel that raced another change is refused, to be retried.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::identity::User;
use crate::money::Money;
use crate::order::{
    LineStatus, MAX_MEMO_CHARS, NewOrderLines, Order, OrderError, OrderFilter, OrderLine, OrderStatus, OrderSummary,
    amounts,
};
use crate::pagination::{Page, PageRequest};
use crate::ports::{Clock, OrderRepository, ReferenceRepository};
use crate::principal::Principal;

/// Why an order use case refused.
#[derive(Debug, thiserror::Error)]
pub enum OrderRefusal {
    /// The principal acts for no member (an API key that named no `mohomId`).
    #[error("the call acts for no member")]
    NoActingMember,
    #[error(transparent)]
    Invalid(ValidationError),
    #[error("product {0} does not exist")]
    ProductNotFound(Uuid),
    #[error("product {0} is not on sale")]
    ProductNotOnSale(Uuid),
    /// Unknown, or another member's.
    #[error("no such order among yours")]
    NotFound,
    #[error(transparent)]
    NotCancellable(OrderError),
    /// The order changed between the cancel's read and its write.
    #[error("{0}; retry")]
    ChangedMeanwhile(String),
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for OrderRefusal {
    fn from(err: RepoError) -> Self {
        Self::Repo(err)
    }
}

impl From<ValidationError> for OrderRefusal {
    fn from(err: ValidationError) -> Self {
        Self::Invalid(err)
    }
}

/// An order as a client sends it, before any check.
#[derive(Debug, Clone, Default)]
pub struct OrderRequest {
    /// Must be a UUID.
    pub product_id: String,
    /// `(region code, quantity)` per line.
    pub regions: Vec<(String, i64)>,
    pub daily_limit: Option<i64>,
    pub memo: Option<String>,
}

/// Order list filters as a client sends them, before any check.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderListQuery<'a> {
    /// An [`OrderStatus`] code.
    pub status: Option<&'a str>,
    /// A product id (UUID).
    pub product_id: Option<&'a str>,
    /// RFC 3339: orders created at or after it.
    pub from: Option<&'a str>,
    /// RFC 3339: orders created before it.
    pub to: Option<&'a str>,
}

impl OrderListQuery<'_> {
    /// # Errors
    /// The first malformed filter, in the order `status`, `productId`, `from`, `to`.
    pub fn parse(&self) -> Result<OrderFilter, ValidationError> {
        let status = self
            .status
            .map(|raw| {
                raw.parse::<OrderStatus>().map_err(|_| {
                    ValidationError::single("status", "must be one of PENDING, IN_PROGRESS, COMPLETED, CANCELLED")
                })
            })
            .transpose()?;
        let product_id = self.product_id.map(product_id).transpose()?;
        Ok(OrderFilter { status, product_id, from: instant(self.from, "from")?, to: instant(self.to, "to")? })
    }
}

fn product_id(raw: &str) -> Result<Uuid, ValidationError> {
    raw.parse().map_err(|_| ValidationError::single("productId", "must be a UUID"))
}

fn instant(raw: Option<&str>, field: &str) -> Result<Option<OffsetDateTime>, ValidationError> {
    raw.map(|text| {
        OffsetDateTime::parse(text.trim(), &Rfc3339)
            .map_err(|_| ValidationError::single(field, "must be an RFC 3339 instant, e.g. 2026-11-24T00:00:00Z"))
    })
    .transpose()
}

/// The status of one line of `order`.
#[must_use]
pub fn line_status(order: &Order, line: &OrderLine) -> LineStatus {
    if line.delivered >= line.quantity {
        LineStatus::Full
    } else if order.status == OrderStatus::Cancelled {
        LineStatus::Closed
    } else {
        LineStatus::Open
    }
}

/// A line's amount: the order's unit price × the line's quantity, before VAT. `None`
/// only for an amount [`Money`] cannot hold (never for a stored order, whose whole
/// subtotal fits).
#[must_use]
pub fn line_amount(order: &Order, line: &OrderLine) -> Option<Money> {
    amounts(order.unit_price, line.quantity, false).ok().map(|a| a.subtotal)
}

/// The order use cases over an order store, reference data and a clock.
pub struct OrderService<'a, O: ?Sized, R: ?Sized, C: ?Sized> {
    orders: &'a O,
    reference: &'a R,
    clock: &'a C,
}

impl<'a, O, R, C> OrderService<'a, O, R, C>
where
    O: OrderRepository + ?Sized,
    R: ReferenceRepository + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(orders: &'a O, reference: &'a R, clock: &'a C) -> Self {
        Self { orders, reference, clock }
    }

    /// Places an order for the acting member; matching pool leads are delivered at once.
    ///
    /// # Errors
    /// [`OrderRefusal::Invalid`] (`productId`, `regions[i].*`, `dailyLimit`, `memo`),
    /// [`OrderRefusal::ProductNotFound`], [`OrderRefusal::ProductNotOnSale`], or a
    /// storage failure.
    pub async fn place(&self, principal: &Principal, request: OrderRequest) -> Result<Order, OrderRefusal> {
        let buyer = acting(principal)?;
        let product_id = product_id(&request.product_id)?;
        let regions = self.reference.list_regions(None).await?;
        let lines =
            NewOrderLines::parse(&request.regions, request.daily_limit, |code| regions.iter().any(|r| r.code == code))?;
        if request.memo.as_ref().is_some_and(|memo| memo.chars().count() > MAX_MEMO_CHARS) {
            return Err(ValidationError::single("memo", format!("must be at most {MAX_MEMO_CHARS} characters")).into());
        }
        let product =
            self.reference.find_product(product_id).await?.ok_or(OrderRefusal::ProductNotFound(product_id))?;
        if !product.on_sale {
            return Err(OrderRefusal::ProductNotOnSale(product_id));
        }
        let memo = request.memo.filter(|m| !m.trim().is_empty());
        let id = self.orders.place_order(buyer, &product, &lines, memo, self.clock.now()).await?;
        self.orders.order_of(buyer.id, id).await?.ok_or(OrderRefusal::NotFound)
    }

    /// One page of the acting member's orders, newest first, and the summary over the
    /// whole filter.
    ///
    /// # Errors
    /// [`OrderRefusal::Invalid`] for a malformed filter, or a storage failure.
    pub async fn list(
        &self,
        principal: &Principal,
        query: OrderListQuery<'_>,
        page: PageRequest,
    ) -> Result<(Page<Order>, OrderSummary), OrderRefusal> {
        let buyer = acting(principal)?;
        let filter = query.parse()?;
        Ok(self.orders.orders_of(buyer.id, &filter, page).await?)
    }

    /// One of the acting member's orders.
    ///
    /// # Errors
    /// [`OrderRefusal::NotFound`] for an unknown order or another member's.
    pub async fn detail(&self, principal: &Principal, id: Uuid) -> Result<Order, OrderRefusal> {
        let buyer = acting(principal)?;
        self.orders.order_of(buyer.id, id).await?.ok_or(OrderRefusal::NotFound)
    }

    /// Cancels one of the acting member's orders: the undelivered remainder is refunded.
    ///
    /// # Errors
    /// [`OrderRefusal::NotFound`]; [`OrderRefusal::NotCancellable`] for a completed or
    /// cancelled order; [`OrderRefusal::ChangedMeanwhile`] when it changed during the
    /// cancel; a storage failure.
    pub async fn cancel(&self, principal: &Principal, id: Uuid) -> Result<Order, OrderRefusal> {
        let buyer = acting(principal)?;
        match self.orders.cancel_order(buyer.id, id, self.clock.now()).await {
            Ok(Some(Ok(order))) => Ok(order),
            Ok(Some(Err(refusal))) => Err(OrderRefusal::NotCancellable(refusal)),
            Ok(None) => Err(OrderRefusal::NotFound),
            Err(RepoError::Conflict(what)) => Err(OrderRefusal::ChangedMeanwhile(what)),
            Err(other) => Err(other.into()),
        }
    }
}

fn acting(principal: &Principal) -> Result<&User, OrderRefusal> {
    principal.acting.as_ref().ok_or(OrderRefusal::NoActingMember)
}
