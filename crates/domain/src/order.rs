//! Orders (주문): what a member buys, its price, and its status machine.
//!
//! Invariants:
//! - a line asks for at least one lead of an allowed region; one line per region;
//! - amounts are exact decimals: `subtotal = unit price × quantity`; when the product's
//!   price excludes VAT, `vat = ⌊subtotal × 10%⌋` in won and `total = subtotal + vat`;
//! - status: `PENDING` → `IN_PROGRESS` (first delivery) → `COMPLETED` (every line full);
//!   `CANCELLED` only from the first two; a completed or cancelled order never changes;
//! - a cancel refunds exactly the undelivered remainder at the order's prices.

use rust_decimal::Decimal;
use thiserror::Error;

use crate::error::{FieldError, ValidationError};
use crate::money::Money;
use crate::reference::code_enum;

code_enum!(
    /// Where an order is.
    OrderStatus { Pending => "PENDING", InProgress => "IN_PROGRESS", Completed => "COMPLETED", Cancelled => "CANCELLED" }
);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrderError {
    #[error("an order in status {status} cannot be cancelled")]
    NotCancellable { status: OrderStatus },
    #[error("an order in status {status} takes no more leads")]
    Closed { status: OrderStatus },
}

impl OrderStatus {
    /// The status after a delivery that brings the order to `delivered` of `quantity`.
    ///
    /// # Errors
    /// [`OrderError::Closed`] for a completed or cancelled order.
    pub fn after_delivery(self, delivered: u64, quantity: u64) -> Result<Self, OrderError> {
        match self {
            Self::Pending | Self::InProgress if delivered >= quantity => Ok(Self::Completed),
            Self::Pending | Self::InProgress if delivered > 0 => Ok(Self::InProgress),
            Self::Pending | Self::InProgress => Ok(self),
            Self::Completed | Self::Cancelled => Err(OrderError::Closed { status: self }),
        }
    }

    /// The status after a delivered unit came back to be delivered again (an approved
    /// `REPLACEMENT` AS): a completed order is in progress again; others are unchanged.
    #[must_use]
    pub fn after_return(self) -> Self {
        match self {
            Self::Completed => Self::InProgress,
            other => other,
        }
    }

    /// # Errors
    /// [`OrderError::NotCancellable`] for a completed or cancelled order.
    pub fn cancel(self) -> Result<Self, OrderError> {
        match self {
            Self::Pending | Self::InProgress => Ok(Self::Cancelled),
            Self::Completed | Self::Cancelled => Err(OrderError::NotCancellable { status: self }),
        }
    }
}

/// One `{region, quantity}` line as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionQuantity {
    pub region: String,
    pub quantity: u64,
}

/// A validated order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderLines {
    pub lines: Vec<RegionQuantity>,
    pub daily_limit: Option<u64>,
}

/// The most leads one line may ask for.
pub const MAX_LINE_QUANTITY: u64 = 100_000;

/// The longest buyer's memo, in characters.
pub const MAX_MEMO_CHARS: usize = 1000;

code_enum!(
    /// Where one line of an order is: `OPEN` while it takes leads, `FULL` once delivered,
    /// `CLOSED` when its order was cancelled before it was full.
    LineStatus { Open => "OPEN", Full => "FULL", Closed => "CLOSED" }
);

/// Order list filters (`status`, `productId`, `from` inclusive and `to` exclusive on the
/// creation time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub product_id: Option<uuid::Uuid>,
    pub from: Option<time::OffsetDateTime>,
    pub to: Option<time::OffsetDateTime>,
}

impl NewOrderLines {
    /// Checks every line against the allowed region codes, reporting all problems at once.
    ///
    /// # Errors
    /// `regions` empty; `regions[i].region` unknown or repeated; `regions[i].quantity`
    /// below 1 or above [`MAX_LINE_QUANTITY`]; `dailyLimit` below 1.
    pub fn parse(
        lines: &[(String, i64)],
        daily_limit: Option<i64>,
        allowed_region: impl Fn(&str) -> bool,
    ) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        if lines.is_empty() {
            errors.push(FieldError::new("regions", "must hold at least one line"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(lines.len());
        for (i, (region, quantity)) in lines.iter().enumerate() {
            if !allowed_region(region) {
                errors.push(FieldError::new(format!("regions[{i}].region"), "must be a code of GET /api/v1/regions"));
            } else if !seen.insert(region.clone()) {
                errors.push(FieldError::new(format!("regions[{i}].region"), "appears twice"));
            }
            match u64::try_from(*quantity) {
                Ok(q) if (1..=MAX_LINE_QUANTITY).contains(&q) => {
                    parsed.push(RegionQuantity { region: region.clone(), quantity: q })
                }
                _ => errors.push(FieldError::new(
                    format!("regions[{i}].quantity"),
                    format!("must be from 1 to {MAX_LINE_QUANTITY}"),
                )),
            }
        }
        let daily_limit = match daily_limit.map(u64::try_from) {
            None => None,
            Some(Ok(limit)) if limit >= 1 => Some(limit),
            Some(_) => {
                errors.push(FieldError::new("dailyLimit", "must be at least 1"));
                None
            }
        };
        if errors.is_empty() { Ok(Self { lines: parsed, daily_limit }) } else { Err(ValidationError(errors)) }
    }

    #[must_use]
    pub fn quantity(&self) -> u64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// One line of a stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub id: uuid::Uuid,
    pub region: String,
    pub quantity: u64,
    pub delivered: u64,
}

/// A stored order. Its `Debug` does not print the memo (free text a person typed).
#[derive(Clone, PartialEq, Eq)]
pub struct Order {
    pub id: uuid::Uuid,
    pub buyer_user_id: uuid::Uuid,
    pub product_id: uuid::Uuid,
    pub product_name: String,
    pub status: OrderStatus,
    pub daily_limit: Option<u64>,
    pub memo: Option<String>,
    pub unit_price: Money,
    pub prices_exclude_vat: bool,
    pub quantity: u64,
    pub delivered: u64,
    pub amounts: Amounts,
    pub refunded: Money,
    pub lines: Vec<OrderLine>,
    pub created_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
    pub cancelled_at: Option<time::OffsetDateTime>,
}

crate::redacting_debug!(Order {
    show: [
        id,
        buyer_user_id,
        product_id,
        product_name,
        status,
        daily_limit,
        unit_price,
        prices_exclude_vat,
        quantity,
        delivered,
        amounts,
        refunded,
        lines,
        created_at,
        updated_at,
        cancelled_at,
    ],
    redact: [memo],
});

/// Totals over every order matching a list filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderSummary {
    pub total_orders: u64,
    pub total_quantity: u64,
    pub delivered_quantity: u64,
    /// Undelivered units of open (`PENDING`, `IN_PROGRESS`) orders.
    pub remaining_quantity: u64,
    pub total_amount: Decimal,
    pub refunded_amount: Decimal,
    pub pending: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub cancelled: u64,
}

impl OrderSummary {
    /// Adds one order.
    pub fn add(&mut self, status: OrderStatus, quantity: u64, delivered: u64, total: Decimal, refunded: Decimal) {
        self.total_orders += 1;
        self.total_quantity += quantity;
        self.delivered_quantity += delivered;
        if matches!(status, OrderStatus::Pending | OrderStatus::InProgress) {
            self.remaining_quantity += quantity.saturating_sub(delivered);
        }
        self.total_amount += total;
        self.refunded_amount += refunded;
        match status {
            OrderStatus::Pending => self.pending += 1,
            OrderStatus::InProgress => self.in_progress += 1,
            OrderStatus::Completed => self.completed += 1,
            OrderStatus::Cancelled => self.cancelled += 1,
        }
    }
}

/// What an amount of leads costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub subtotal: Money,
    pub vat: Money,
    pub total: Money,
}

/// The VAT rate on prices that exclude it.
pub const VAT_PERCENT: i64 = 10;

/// `quantity` units at `unit_price`; VAT added (rounded down to the won) when the price
/// excludes it.
///
/// # Errors
/// When the amount does not fit [`Money`] (over 92 quadrillion).
pub fn amounts(
    unit_price: Money,
    quantity: u64,
    prices_exclude_vat: bool,
) -> Result<Amounts, crate::money::MoneyError> {
    let subtotal =
        unit_price.as_decimal().checked_mul(Decimal::from(quantity)).ok_or(crate::money::MoneyError::Overflow)?;
    let vat = if prices_exclude_vat { (subtotal * Decimal::new(VAT_PERCENT, 2)).floor() } else { Decimal::ZERO };
    let subtotal = Money::new(subtotal)?;
    let vat = Money::new(vat)?;
    let total = Money::new(subtotal.as_decimal() + vat.as_decimal())?;
    subtotal.to_minor()?;
    total.to_minor()?;
    Ok(Amounts { subtotal, vat, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(text: &str) -> Money {
        text.parse().unwrap()
    }

    #[test]
    fn vat_is_added_and_rounded_down_to_the_won() {
        let a = amounts(money("18000.50"), 3, true).unwrap();
        assert_eq!(
            (a.subtotal.to_string(), a.vat.to_string(), a.total.to_string()),
            ("54001.50".into(), "5400".into(), "59401.50".into())
        );
        let b = amounts(money("30000"), 2, false).unwrap();
        assert_eq!((b.vat.to_string(), b.total.to_string()), ("0".into(), "60000".into()));
    }

    #[test]
    fn every_bad_line_is_named() {
        let lines = vec![("서울".to_owned(), 0), ("도쿄".to_owned(), 1), ("서울".to_owned(), 2)];
        let err = NewOrderLines::parse(&lines, Some(0), |r| r == "서울").err().unwrap();
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["regions[0].quantity", "regions[1].region", "regions[2].region", "dailyLimit"]);
        assert!(NewOrderLines::parse(&[], None, |_| true).is_err());
    }

    #[test]
    fn completed_and_cancelled_orders_never_change() {
        for closed in [OrderStatus::Completed, OrderStatus::Cancelled] {
            assert!(closed.cancel().is_err());
            assert!(closed.after_delivery(1, 5).is_err());
        }
        assert_eq!(OrderStatus::Pending.cancel(), Ok(OrderStatus::Cancelled));
        assert_eq!(OrderStatus::InProgress.cancel(), Ok(OrderStatus::Cancelled));
    }

    proptest! {
        #[test]
        fn deliveries_walk_pending_in_progress_completed(quantity in 1u64..50) {
            let mut status = OrderStatus::Pending;
            for delivered in 1..=quantity {
                status = status.after_delivery(delivered, quantity).unwrap();
                let expected = if delivered == quantity { OrderStatus::Completed } else { OrderStatus::InProgress };
                prop_assert_eq!(status, expected);
            }
            prop_assert!(status.after_delivery(quantity + 1, quantity).is_err(), "never over-delivered");
        }

        #[test]
        fn totals_are_exact(minor in 0i64..10_000_000_000, quantity in 0u64..1000, exclude in any::<bool>()) {
            let unit = Money::from_minor(minor).unwrap();
            let a = amounts(unit, quantity, exclude).unwrap();
            prop_assert_eq!(a.subtotal.as_decimal(), unit.as_decimal() * Decimal::from(quantity));
            prop_assert_eq!(a.total.as_decimal(), a.subtotal.as_decimal() + a.vat.as_decimal());
            prop_assert!(a.vat.as_decimal().fract().is_zero(), "VAT in whole won");
            if !exclude { prop_assert!(a.vat.as_decimal().is_zero()); }
        }
    }
}
