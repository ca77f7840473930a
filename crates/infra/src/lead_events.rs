//! `lead.assigned` and `order.completed` for the writers that deliver leads (an intake
//! batch, a single intake, an import, an order taking its pool's backlog, an AS
//! replacement), built from what those writers hold in memory.
//!
//! Invariants:
//! - each is addressed to the owner's (buyer's) org, named by code, the owner by
//!   `mohomId`, both from the event directory (one statement on a miss, none when warm);
//! - a lead's contacts enter only through `LeadAssigned::of`, which masks them;
//! - `order.completed` is written by the transaction whose delivery completed the
//!   order, once: the order's status moves to `COMPLETED` only there.

use domain::error::RepoError;
use domain::events::{Event, LeadAssigned, LeadRef, OrderCompleted, event_time};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::corrupt;
use crate::event_directory::EventDirectory;
use crate::from_millis;
use crate::outbox::Outgoing;

/// A lead delivered through an order.
pub(crate) struct Assigned<'a> {
    pub lead: LeadRef<'a>,
    pub order_id: &'a str,
    pub owner_user_id: &'a str,
    pub at_ms: i64,
}

/// An order its delivery completed.
pub(crate) struct Completed<'a> {
    pub order_id: &'a str,
    pub buyer_user_id: &'a str,
    pub product_id: Uuid,
    pub delivered: u64,
    pub at_ms: i64,
}

/// The events of `assigned` and `completed`, in that order.
///
/// # Errors
/// Storage failures; an owner that is not a user; an id that is not a UUID.
pub(crate) async fn events(
    directory: &EventDirectory,
    conn: &impl ConnectionTrait,
    assigned: &[Assigned<'_>],
    completed: &[Completed<'_>],
) -> Result<Vec<Outgoing>, RepoError> {
    if assigned.is_empty() && completed.is_empty() {
        return Ok(Vec::new());
    }
    let users = directory
        .users(conn, assigned.iter().map(|a| a.owner_user_id).chain(completed.iter().map(|c| c.buyer_user_id)))
        .await?;
    let mut out = Vec::with_capacity(assigned.len() + completed.len());
    for a in assigned {
        let owner = users.get(a.owner_user_id).ok_or_else(|| corrupt("users", a.owner_user_id, "owner not found"))?;
        let order_id: Uuid = a.order_id.parse().map_err(|e| corrupt("orders", a.order_id, e))?;
        let at = from_millis(a.at_ms);
        let payload = LeadAssigned::of(a.lead, order_id, &owner.mohom_id, at);
        out.push(Outgoing::from(Event::new(owner.org_id, &owner.org_code, &payload, at)));
    }
    for c in completed {
        let buyer = users.get(c.buyer_user_id).ok_or_else(|| corrupt("users", c.buyer_user_id, "buyer not found"))?;
        let at = from_millis(c.at_ms);
        let payload = OrderCompleted {
            order_id: c.order_id.parse().map_err(|e| corrupt("orders", c.order_id, e))?,
            mohom_id: buyer.mohom_id.clone(),
            product_id: c.product_id,
            delivered: c.delivered,
            completed_at: event_time(at),
        };
        out.push(Outgoing::from(Event::new(buyer.org_id, &buyer.org_code, &payload, at)));
    }
    Ok(out)
}
