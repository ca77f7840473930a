//! Deliveries of a batch of leads of one product, decided in memory under the pools' locks
//! and written once per batch.
//!
//! One intake per lead would update the pool row, the chosen line and the order row once
//! per lead; inside one batch transaction that is hundreds of versions of the same few
//! rows (PostgreSQL walks each row's version chain on every lookup: 414 rows/s for an
//! import whose leads are all delivered). Here the batch:
//! 1. locks the pools of its regions in region order (`pools::lock_many`, one statement),
//!    then reads their open lines with their orders, locking the orders in id order (one
//!    statement, `FOR UPDATE OF orders`: an order spans pools, and an intake of another
//!    pool may otherwise move its counters);
//! 2. replays, lead by lead in the order given, exactly the decisions
//!    [`SeaLeadRepository`]'s single intake makes (`pick_stored` over the lines, the
//!    order's guard: open, under its quantity and today's limit), on in-memory copies of
//!    the rows;
//! 3. returns the plan: each lead's delivery (its row is inserted already owned, with its
//!    `ORDER` assignment), and the final line, order and pool rows, written by
//!    [`Plan::write`] with one `UPDATE … FROM (VALUES …)` per table (`update_rows`), all
//!    three in one statement on PostgreSQL (data-modifying CTEs, whose counts keep the
//!    lines' guard); SQLite has no data-modifying CTEs and sends the three updates apart
//!    (in process, no network round trip): however many lines, orders and owners the
//!    batch touches.
//!
//! Invariant: the outcome (which lead goes to which line, the ledger, the counters and
//! statuses) is the one a sequence of single intakes would produce in the same order; the
//! storage tests of imports and intake check the counters and fairness on both databases.
//!
//! [`SeaLeadRepository`]: crate::leads::SeaLeadRepository

use std::collections::{BTreeSet, HashMap, HashSet};

use domain::allocation::{Eligibility, SkipReason, Slot, line_eligibility, pick_stored};
use domain::calendar;
use domain::error::RepoError;
use domain::ids::new_id;
use domain::lead::AssignmentSource;
use domain::order::OrderStatus;
use domain::reference::Product;
use sea_orm::sea_query::LockType;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityName, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::{order, order_line};
use crate::error::unavailable;
use crate::pools;
use crate::update_rows::{self, UpdateRows};

/// One lead's delivery.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub order_id: String,
    pub line_id: String,
    pub owner_user_id: String,
    pub owner_org_id: String,
    pub assignment_id: String,
    /// `REPLACEMENT` while the line owes replacements, else `ORDER`.
    pub source: AssignmentSource,
}

struct Line {
    row: order_line::Model,
    delivered: i64,
    replacements_owed: i64,
    credit: i64,
    credit_pick: Option<i64>,
    dirty: bool,
    /// Closed by a delivery of this batch (a single intake would no longer read it).
    closed: bool,
}

struct Order {
    row: order::Model,
    status: OrderStatus,
    delivered: i64,
    delivered_today: i64,
    day_start: Option<i64>,
    dirty: bool,
}

impl Order {
    fn today_count(&self, today: i64) -> u64 {
        if self.day_start == Some(today) { u64::try_from(self.delivered_today).unwrap_or(0) } else { 0 }
    }

    fn limit(&self) -> Option<u64> {
        self.row.daily_limit.and_then(|d| u64::try_from(d).ok())
    }

    fn open(&self) -> bool {
        matches!(self.status, OrderStatus::Pending | OrderStatus::InProgress)
    }

    /// The guard of the single intake's conditional update.
    fn takes_one(&self, today: i64) -> bool {
        self.open() && self.delivered < self.row.quantity && self.limit().is_none_or(|l| self.today_count(today) < l)
    }
}

/// The batch's decisions and the rows to write.
pub(crate) struct Plan {
    /// Per lead, in the order given.
    pub deliveries: Vec<Option<Delivery>>,
    lines: Vec<Line>,
    orders: HashMap<String, Order>,
    picks: HashMap<String, (u64, u64)>,
    product_id: String,
    now_ms: i64,
}

fn corrupt(table: &str, id: &str, what: impl std::fmt::Display) -> RepoError {
    tracing::error!(table, id, %what, "unreadable row");
    RepoError::Corrupted(format!("{table}/{id}"))
}

/// Locks the pools of `regions` (one per lead, in file order) and the orders of their open
/// lines, and decides every lead's delivery. Regions found without an open line join
/// `empty`.
///
/// # Errors
/// Storage failures; a row that cannot be read.
pub(crate) async fn plan(
    conn: &impl ConnectionTrait,
    empty: &mut HashSet<String>,
    product: &Product,
    regions: &[&str],
    now_ms: i64,
) -> Result<Plan, RepoError> {
    let wanted: BTreeSet<&str> = regions.iter().copied().filter(|r| !empty.contains(*r)).collect();
    let wanted: Vec<&str> = wanted.into_iter().collect();
    let locked = pools::lock_many(conn, &product.id.to_string(), &wanted).await?;
    plan_locked(conn, empty, product, regions, &locked, now_ms).await
}

/// [`plan`] for a caller that holds the pools' locks already: `locked` holds the pick
/// count of each pool of `regions` (a region without one is not offered).
///
/// # Errors
/// Storage failures; a row that cannot be read.
pub(crate) async fn plan_locked(
    conn: &impl ConnectionTrait,
    empty: &mut HashSet<String>,
    product: &Product,
    regions: &[&str],
    locked: &HashMap<String, u64>,
    now_ms: i64,
) -> Result<Plan, RepoError> {
    let product_id = product.id.to_string();
    let wanted: BTreeSet<&str> =
        regions.iter().copied().filter(|r| !empty.contains(*r) && locked.contains_key(*r)).collect();
    let mut picks: HashMap<String, (u64, u64)> =
        wanted.iter().map(|r| ((*r).to_owned(), (locked[*r], locked[*r]))).collect();
    // The open lines with their orders, in one statement; the orders locked (`FOR UPDATE
    // OF orders` on PostgreSQL) in id order, as every writer of several orders locks them.
    let mut pairs = if wanted.is_empty() {
        Vec::new()
    } else {
        open_lines_with_orders(&product_id, &wanted).all(conn).await.map_err(unavailable)?
    };
    pairs.sort_by(|(a, _), (b, _)| a.id.cmp(&b.id));
    let mut orders = HashMap::new();
    let mut rows = Vec::with_capacity(pairs.len());
    for (line, order) in pairs {
        if let Some(row) = order
            && !orders.contains_key(&row.id)
        {
            let status = row.status.parse().map_err(|e| corrupt("orders", &row.id, e))?;
            let state = Order {
                status,
                delivered: row.delivered,
                delivered_today: row.delivered_today,
                day_start: row.day_start,
                dirty: false,
                row,
            };
            orders.insert(state.row.id.clone(), state);
        }
        rows.push(line);
    }
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|row| Line {
            delivered: row.delivered,
            replacements_owed: row.replacements_owed,
            credit: row.credit,
            credit_pick: row.credit_pick,
            dirty: false,
            closed: false,
            row,
        })
        .collect();
    let mut by_region: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(region) = wanted.get(line.row.region.as_str()) {
            by_region.entry(region).or_default().push(i);
        }
    }
    for region in &wanted {
        if !by_region.contains_key(region) {
            empty.insert((*region).to_owned());
        }
    }
    let today = calendar::day_start_ms(now_ms, &product.time_zone).map_err(|e| corrupt("products", &product_id, e))?;
    let mut deliveries = Vec::with_capacity(regions.len());
    for region in regions {
        let Some(indexes) = by_region.get(region) else {
            deliveries.push(None);
            continue;
        };
        deliveries.push(decide(product, today, region, indexes, &mut lines, &mut orders, &mut picks)?);
    }
    Ok(Plan { deliveries, lines, orders, picks, product_id, now_ms })
}

/// The open lines of `regions` with their orders, the orders locked in id order.
fn open_lines_with_orders(
    product_id: &str,
    regions: &BTreeSet<&str>,
) -> sea_orm::SelectTwo<order_line::Entity, order::Entity> {
    let relation =
        order_line::Entity::belongs_to(order::Entity).from(order_line::Column::OrderId).to(order::Column::Id).into();
    let mut select = order_line::Entity::find()
        .select_also(order::Entity)
        .join(JoinType::InnerJoin, relation)
        .filter(order_line::Column::ProductId.eq(product_id))
        .filter(order_line::Column::Region.is_in(regions.iter().copied()))
        .filter(order_line::Column::Open.eq(true))
        .order_by_asc(order::Column::Id)
        .order_by_asc(order_line::Column::Id);
    QuerySelect::query(&mut select).lock_with_tables(LockType::Update, [order::Entity.table_ref()]);
    select
}

/// One lead of `region`: the single intake's loop, on the in-memory rows.
fn decide(
    product: &Product,
    today: i64,
    region: &str,
    indexes: &[usize],
    lines: &mut [Line],
    orders: &mut HashMap<String, Order>,
    picks: &mut HashMap<String, (u64, u64)>,
) -> Result<Option<Delivery>, RepoError> {
    let Some(&mut (_, ref mut at)) = picks.get_mut(region) else { return Ok(None) };
    // A single intake reads only open lines: a line this batch filled is gone for it too.
    let indexes: Vec<usize> = indexes.iter().copied().filter(|&i| !lines[i].closed).collect();
    let indexes = indexes.as_slice();
    let mut refused: HashSet<usize> = HashSet::new();
    loop {
        let slots: Vec<(Slot<usize>, Option<u64>)> = indexes
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let line = &lines[i];
                let order = orders.get(&line.row.order_id);
                let open = order.is_some_and(Order::open);
                let remaining = if open { u64::try_from(line.row.quantity - line.delivered).unwrap_or(0) } else { 0 };
                let (today_count, limit) = order.map_or((0, None), |o| (o.today_count(today), o.limit()));
                let eligibility = if refused.contains(&k) {
                    Eligibility::Skipped(SkipReason::DailyLimit)
                } else {
                    line_eligibility(remaining, today_count, limit)
                };
                let slot = Slot {
                    id: k,
                    weight: remaining,
                    credit: line.credit,
                    tiebreak: line.row.created_at,
                    load: 0,
                    eligibility,
                };
                (slot, line.credit_pick.and_then(|p| u64::try_from(p).ok()))
            })
            .collect();
        let decision = pick_stored(product.allocation_policy, *at, &slots);
        let chosen = match &decision.outcome {
            Ok(pick) => pick.chosen,
            Err(_) => {
                apply(lines, indexes, &decision.writes);
                return Ok(None);
            }
        };
        let i = indexes[chosen];
        let Some(order) = orders.get_mut(&lines[i].row.order_id) else { return Ok(None) };
        if !order.takes_one(today) {
            refused.insert(chosen);
            continue;
        }
        order.delivered += 1;
        order.delivered_today = if order.day_start == Some(today) { order.delivered_today + 1 } else { 1 };
        order.day_start = Some(today);
        order.status = order
            .status
            .after_delivery(u64::try_from(order.delivered).unwrap_or(0), u64::try_from(order.row.quantity).unwrap_or(0))
            .map_err(|e| corrupt("orders", &order.row.id, e))?;
        order.dirty = true;
        apply(lines, indexes, &decision.writes);
        lines[i].delivered += 1;
        lines[i].closed = lines[i].delivered >= lines[i].row.quantity;
        lines[i].dirty = true;
        let source = if lines[i].replacements_owed > 0 {
            lines[i].replacements_owed -= 1;
            AssignmentSource::Replacement
        } else {
            AssignmentSource::Order
        };
        *at = decision.picks;
        return Ok(Some(Delivery {
            order_id: order.row.id.clone(),
            line_id: lines[i].row.id.clone(),
            owner_user_id: order.row.buyer_user_id.clone(),
            owner_org_id: order.row.org_id.clone(),
            assignment_id: new_id().to_string(),
            source,
        }));
    }
}

fn apply(lines: &mut [Line], indexes: &[usize], writes: &[(usize, domain::allocation::Stored)]) {
    for (k, row) in writes {
        let line = &mut lines[indexes[*k]];
        line.credit = row.credit;
        line.credit_pick = row.at.map(|a| i64::try_from(a).unwrap_or(i64::MAX));
        line.dirty = true;
    }
}

impl Plan {
    /// The orders this plan's deliveries complete (open when read, `COMPLETED` after).
    pub(crate) fn completed(&self) -> Result<Vec<crate::lead_events::Completed<'_>>, RepoError> {
        let done = OrderStatus::Completed.as_str();
        let mut completed: Vec<&Order> =
            self.orders.values().filter(|o| o.status == OrderStatus::Completed && o.row.status != done).collect();
        completed.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        completed
            .into_iter()
            .map(|o| {
                Ok(crate::lead_events::Completed {
                    order_id: &o.row.id,
                    buyer_user_id: &o.row.buyer_user_id,
                    product_id: o.row.product_id.parse().map_err(|e| corrupt("orders", &o.row.id, e))?,
                    delivered: u64::try_from(o.delivered).unwrap_or(0),
                    at_ms: self.now_ms,
                })
            })
            .collect()
    }

    /// Writes the changed lines (guarded by the count read under the pool lock), orders
    /// and pool clocks: one statement on PostgreSQL (a data-modifying CTE per table,
    /// `update_rows::exec_together`), one per table on SQLite. Call after the leads and
    /// their assignments are inserted.
    ///
    /// # Errors
    /// Storage failures; a line changed outside its pool's lock.
    pub(crate) async fn write(&self, conn: &impl ConnectionTrait) -> Result<(), RepoError> {
        let mut lines = UpdateRows::new(
            "order_lines",
            &["id", "was", "credit", "credit_pick", "delivered", "open", "replacements_owed"],
        )
        .matching(&[("id", "id"), ("delivered", "was")])
        .setting(&["credit", "credit_pick", "delivered", "open", "replacements_owed"]);
        for line in self.lines.iter().filter(|l| l.dirty) {
            lines.row(vec![
                line.row.id.as_str().into(),
                line.row.delivered.into(),
                line.credit.into(),
                line.credit_pick.into(),
                line.delivered.into(),
                (line.delivered < line.row.quantity).into(),
                line.replacements_owed.into(),
            ]);
        }
        let mut orders =
            UpdateRows::new("orders", &["id", "delivered", "delivered_today", "day_start", "status", "updated_at"])
                .matching(&[("id", "id")])
                .setting(&["delivered", "delivered_today", "day_start", "status", "updated_at"]);
        let mut dirty: Vec<&Order> = self.orders.values().filter(|o| o.dirty).collect();
        dirty.sort_by(|a, b| a.row.id.cmp(&b.row.id));
        for order in dirty {
            orders.row(vec![
                order.row.id.as_str().into(),
                order.delivered.into(),
                order.delivered_today.into(),
                order.day_start.into(),
                order.status.as_str().into(),
                self.now_ms.into(),
            ]);
        }
        let mut moved: Vec<(&str, u64)> = self
            .picks
            .iter()
            .filter(|(_, (before, after))| before != after)
            .map(|(region, (_, after))| (region.as_str(), *after))
            .collect();
        moved.sort_unstable();
        let pools = pools::picks_update(&self.product_id, &moved);
        let affected = update_rows::exec_together(conn, &[&lines, &orders, &pools]).await?;
        if affected[0] != u64::try_from(lines.len()).unwrap_or(u64::MAX) {
            return Err(RepoError::Conflict("an order line changed outside its pool lock".to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait};

    use super::*;

    #[test]
    fn the_lines_come_with_their_orders_locked_in_id_order() {
        let regions = BTreeSet::from(["부산", "서울"]);
        let sql = open_lines_with_orders("p", &regions).build(DbBackend::Postgres).to_string();
        assert!(sql.contains("INNER JOIN \"orders\""), "{sql}");
        assert!(sql.contains("ORDER BY \"orders\".\"id\" ASC, \"order_lines\".\"id\" ASC"), "{sql}");
        assert!(sql.ends_with("FOR UPDATE OF \"orders\""), "{sql}");
        let lite = open_lines_with_orders("p", &regions).build(DbBackend::Sqlite).to_string();
        assert!(!lite.contains("FOR UPDATE"), "SQLite's write lock serializes instead: {lite}");
    }
}
