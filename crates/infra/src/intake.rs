//! Lead intake: a source's lead is checked for duplicates, encrypted, put in the pool and
//! offered to the allocation engine, all in one transaction (concurrent intakes of one
//! pool share one: `crate::intake_batch`; this module is the single intake they fall back
//! to, and the import's batch).
//!
//! Invariants:
//! - a duplicate (same normalized phone and product inside the product's duplicate
//!   window) is found through the phone blind index and an exact comparison. An earlier
//!   lead of the same provider org makes it a duplicate and nothing is written. An earlier
//!   lead of another provider org only makes it *held*: it is stored like a fresh lead,
//!   with status `DUPLICATE_OTHER_PROVIDER`, and offered to no order (never delivered);
//!   the caller is told what a fresh lead would have been told, so nothing crosses an org
//!   by inference (ids, answer, work done: one insert and the pool's lock and reads either
//!   way). See `docs/decisions.md`;
//! - an offered lead goes to at most one open order line; the line's counter moves only
//!   if it is still under its quantity (conditional update), so a line is never
//!   over-delivered, even by concurrent intakes; a lead no line can take stays in the pool;
//! - the engine's ledger rows, the order's counters and status change in the same
//!   transaction;
//! - the pool's row (`allocation_pools`) is locked before its lines are read, so
//!   concurrent intakes for one pool queue on one row; a pick writes the chosen line's
//!   ledger row (plus lines leaving or rejoining), not every open line (see
//!   `domain::allocation::pick_stored`);
//! - `dailyLimit` days are counted in the product's time zone; the order row's guard
//!   (open, under quantity, under today's limit) is part of its update, so an order shared
//!   by several pools is never over-delivered either.

use std::collections::{BTreeSet, HashMap, HashSet};

use domain::allocation::{Eligibility, SkipReason, Slot, Stored, line_eligibility, pick_stored};
use domain::calendar;
use domain::error::RepoError;
use domain::events::LeadRef;
use domain::ids::new_id;
use domain::intake::{IntakeIds, IntakeOutcome};
use domain::lead::{AssignmentSource, LeadStatus, NewLead};
use domain::order::OrderStatus;
use domain::reference::Product;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entities::{assignment, lead, order, order_line};
use crate::error::{corrupt, unavailable};
use crate::lead_events::{self, Assigned, Completed};
use crate::leads::{PHONE_INDEX, SeaLeadRepository};
use crate::to_millis;
use crate::{batch_delivery, outbox, pools};

/// The conflict [`SeaLeadRepository::intake`] reports when the source already used its
/// `source_lead_id` (the intake port reports it as `IntakeWrite::SourceLeadIdTaken`).
pub const SOURCE_LEAD_ID_TAKEN: &str = "leads.source_lead_id";

impl SeaLeadRepository {
    /// Takes one lead from a source in a transaction of its own (see the module
    /// invariants): the way a batch's intakes are replayed when the batch cannot be
    /// written whole (`crate::intake_batch`, whose [`Self::intake`] is the entry point).
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn intake_single(
        &self,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IntakeOutcome, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let mut empty = HashSet::new();
        let outcome = self.intake_in(&*txn, &mut empty, product, new, ids, provider_org_id, source_id, now).await?;
        if matches!(outcome, IntakeOutcome::Delivered { .. }) {
            txn.events_written();
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(outcome)
    }

    /// Takes a batch of leads of one product in one transaction (`ldbds import`): each is
    /// taken exactly as [`Self::intake`] takes it, in order, so a later lead of the batch
    /// is a duplicate of an earlier one with the same phone. All or nothing.
    ///
    /// Without source lead ids (a spreadsheet), the batch's duplicate lookups are one query
    /// per 500 phones (on PostgreSQL the first one also locks the batch's pools, see
    /// `pools::lock_many_reading_leads`), its deliveries are decided in memory under the pools' locks
    /// (`batch_delivery`: the same decisions as one intake per lead, in order), and every
    /// row is written once: leads and assignments in multi-row inserts, then the changed
    /// lines, orders and pool clocks with one `UPDATE … FROM (VALUES …)` per table.
    ///
    /// # Errors
    /// Storage failures (nothing of the batch is written then).
    pub async fn intake_batch(
        &self,
        product: &Product,
        leads: &[(NewLead, IntakeIds)],
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Vec<IntakeOutcome>, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        // Regions whose pool had no open line when this transaction locked it: none can
        // open before it commits (order creation locks the pool first), so the batch's
        // later leads of those regions skip the offer.
        let mut empty = HashSet::new();
        let outcomes = if leads.iter().any(|(_, ids)| ids.source_lead_id.is_some()) {
            // A source's own ids: their unique index settles each insert on its own.
            let mut outcomes = Vec::with_capacity(leads.len());
            for (new, ids) in leads {
                outcomes
                    .push(self.intake_in(&*txn, &mut empty, product, new, ids, provider_org_id, source_id, now).await?);
            }
            outcomes
        } else {
            self.intake_many(&*txn, &mut empty, product, leads, provider_org_id, source_id, now).await?
        };
        if outcomes.iter().any(|o| matches!(o, IntakeOutcome::Delivered { .. })) {
            txn.events_written();
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(outcomes)
    }

    /// Refreshes the planner's statistics of the leads table (`ANALYZE`), for bulk loads.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn refresh_statistics(&self) -> Result<(), RepoError> {
        self.db.conn().execute_unprepared("ANALYZE leads").await.map_err(unavailable)?;
        Ok(())
    }

    /// The batched body of [`Self::intake_batch`] for leads without source lead ids.
    #[allow(clippy::too_many_arguments)]
    async fn intake_many(
        &self,
        conn: &impl ConnectionTrait,
        empty: &mut HashSet<String>,
        product: &Product,
        leads: &[(NewLead, IntakeIds)],
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Vec<IntakeOutcome>, RepoError> {
        let now_ms = to_millis(now);
        let window_start = to_millis(now - Duration::hours(i64::from(product.duplicate_window_hours)));
        let indexes: Vec<String> =
            leads.iter().map(|(new, _)| self.keyring.blind_index(&PHONE_INDEX, new.pii.phone.e164())).collect();
        // Earlier leads of the batch's phone indexes inside the window, oldest first, with
        // their exact phones (an index may collide; the phone decides) and whether the
        // batch's provider org sent them.
        let mut known: HashMap<String, Vec<(String, Uuid, bool)>> = HashMap::new();
        let provider_key = provider_org_id.to_string();
        let distinct: Vec<&str> = indexes.iter().map(String::as_str).collect::<HashSet<_>>().into_iter().collect();
        let product_key = product.id.to_string();
        // On PostgreSQL the pools of the batch's regions are locked by the lookup's own
        // statement (`pools::lock_many_reading_leads`): one round trip fewer.
        let all_regions: BTreeSet<&str> = leads.iter().map(|(new, _)| new.region.as_str()).collect();
        let mut locked: Option<HashMap<String, u64>> = None;
        for chunk in distinct.chunks(pools::LEADS_READ_WITH_LOCK) {
            // By the phone index alone (product and window checked here): a plan that
            // cannot turn into a scan of the product's rows when statistics lag.
            let rows = if locked.is_none()
                && conn.get_database_backend() == DbBackend::Postgres
                && empty.is_empty()
                && !all_regions.is_empty()
            {
                let (pools, rows) = pools::lock_many_reading_leads(conn, &product_key, &all_regions, chunk).await?;
                locked = Some(pools);
                rows
            } else {
                lead::Entity::find()
                    .filter(lead::Column::PhoneBidx.is_in(chunk.iter().copied()))
                    .order_by_asc(lead::Column::CreatedAt)
                    .order_by_asc(lead::Column::Id)
                    .all(conn)
                    .await
                    .map_err(unavailable)?
            };
            for row in rows.into_iter().filter(|r| r.product_id == product_key && r.created_at >= window_start) {
                let phone = self.decrypt_pii(&row)?.phone.e164().to_owned();
                let id = row.id.parse().map_err(|e| corrupt("leads", &row.id, e))?;
                let own = row.provider_org_id == provider_key;
                known.entry(row.phone_bidx).or_default().push((phone, id, own));
            }
        }
        let mut outcomes = Vec::with_capacity(leads.len());
        let mut rows = Vec::new();
        let mut held = Vec::new();
        let mut fresh = Vec::new();
        for ((new, ids), index) in leads.iter().zip(indexes) {
            let phone = new.pii.phone.e164();
            let matches = known.get(&index).map(|c| c.iter().filter(|(p, _, _)| p == phone).collect::<Vec<_>>());
            let matches = matches.unwrap_or_default();
            if let Some((_, earlier, _)) = matches.iter().find(|(_, _, own)| *own) {
                outcomes.push(IntakeOutcome::Duplicate { earlier: *earlier });
                continue;
            }
            // Only other providers' leads match (or none): the lead is stored either way.
            let elsewhere = !matches.is_empty();
            let lead_id = new_id();
            let row = self.intake_row(&lead_id.to_string(), new, ids, provider_org_id, source_id, now_ms)?;
            known.entry(index).or_default().push((phone.to_owned(), lead_id, true));
            if elsewhere {
                held.push(held_row(row, false));
                outcomes.push(IntakeOutcome::Held { lead: lead_id, as_if_delivered: false });
                continue;
            }
            rows.push(row);
            fresh.push((outcomes.len(), lead_id, new.region.as_str()));
            outcomes.push(IntakeOutcome::Pooled { lead: lead_id });
        }
        let regions: Vec<&str> = fresh.iter().map(|(_, _, region)| *region).collect();
        let plan = match locked {
            Some(mut locked) => {
                // A fresh lead's pool not there yet: created and locked as `plan` would.
                if regions.iter().any(|r| !locked.contains_key(*r)) {
                    locked = pools::lock_many(conn, &product_key, &regions).await?;
                }
                batch_delivery::plan_locked(conn, empty, product, &regions, &locked, now_ms).await?
            }
            None => batch_delivery::plan(conn, empty, product, &regions, now_ms).await?,
        };
        let mut assignments = Vec::new();
        let mut assigned = Vec::new();
        for ((row, (at, lead_id, _)), delivery) in rows.iter_mut().zip(&fresh).zip(&plan.deliveries) {
            let Some(d) = delivery else { continue };
            let new = &leads[*at].0;
            assigned.push(Assigned {
                lead: LeadRef {
                    id: *lead_id,
                    product_id: product.id,
                    product_name: &product.name,
                    region: &new.region,
                    pii: &new.pii,
                },
                order_id: &d.order_id,
                owner_user_id: &d.owner_user_id,
                at_ms: now_ms,
            });
            row.status = Set(LeadStatus::Assigned.as_str().to_owned());
            row.owner_user_id = Set(Some(d.owner_user_id.clone()));
            row.owner_org_id = Set(Some(d.owner_org_id.clone()));
            row.assignment_id = Set(Some(d.assignment_id.clone()));
            row.assignment_source = Set(Some(d.source.as_str().to_owned()));
            row.assigned_at = Set(Some(now_ms));
            assignments.push(order_assignment(
                &d.assignment_id,
                *lead_id,
                &d.owner_user_id,
                &d.owner_org_id,
                &d.line_id,
                d.source,
                now_ms,
            ));
            let order = d.order_id.parse().map_err(|e| corrupt("orders", &d.order_id, e))?;
            outcomes[*at] = IntakeOutcome::Delivered { lead: *lead_id, order };
        }
        rows.extend(held);
        // 500 rows × 40 columns stays below SQLite's (32,766) and PostgreSQL's (65,535)
        // bind limits: a batch of 500 is one insert.
        for chunk in rows.chunks(500) {
            lead::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unavailable)?;
        }
        for chunk in assignments.chunks(500) {
            assignment::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unavailable)?;
        }
        plan.write(conn).await?;
        let events = lead_events::events(self.db.event_directory(), conn, &assigned, &plan.completed()?).await?;
        outbox::append_on(conn, &self.keyring, self.db.outbox_signal().nats_wanted(), &events).await?;
        Ok(outcomes)
    }

    /// A new lead's row: sealed, indexed, in the pool, with the source's ids.
    pub(crate) fn intake_row(
        &self,
        key: &str,
        new: &NewLead,
        ids: &IntakeIds,
        provider_org_id: Uuid,
        source_id: Uuid,
        now_ms: i64,
    ) -> Result<lead::ActiveModel, RepoError> {
        let mut row = self.pool_row(key, new, provider_org_id, now_ms)?;
        row.source_id = Set(Some(source_id.to_string()));
        let seal =
            |column: &str, value: &Option<String>| value.as_deref().map(|v| self.seal(key, column, v)).transpose();
        row.id_number_enc = Set(seal("id_number", &ids.id_number)?);
        row.passport_enc = Set(seal("passport", &ids.passport)?);
        row.family_book_enc = Set(seal("family_book", &ids.family_book)?);
        row.source_lead_id = Set(ids.source_lead_id.clone());
        Ok(row)
    }

    #[allow(clippy::too_many_arguments)]
    async fn intake_in(
        &self,
        conn: &impl ConnectionTrait,
        empty: &mut HashSet<String>,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IntakeOutcome, RepoError> {
        let now_ms = to_millis(now);
        let window_start = to_millis(now - Duration::hours(i64::from(product.duplicate_window_hours)));
        // By the phone index alone (product and window checked here), as in `intake_many`.
        let product_key = product.id.to_string();
        let candidates = lead::Entity::find()
            .filter(lead::Column::PhoneBidx.eq(self.keyring.blind_index(&PHONE_INDEX, new.pii.phone.e164())))
            .order_by_asc(lead::Column::CreatedAt)
            .all(conn)
            .await
            .map_err(unavailable)?;
        let provider_key = provider_org_id.to_string();
        let mut elsewhere = false;
        for candidate in candidates.iter().filter(|c| c.product_id == product_key && c.created_at >= window_start) {
            if self.decrypt_pii(candidate)?.phone.e164() != new.pii.phone.e164() {
                continue;
            }
            if candidate.provider_org_id == provider_key {
                let earlier = candidate.id.parse().map_err(|e| corrupt("leads", &candidate.id, e))?;
                return Ok(IntakeOutcome::Duplicate { earlier });
            }
            // Another provider's: decided only once no lead of this org matches.
            elsewhere = true;
        }
        let lead_id = new_id();
        let key = lead_id.to_string();
        let mut row = self.intake_row(&key, new, ids, provider_org_id, source_id, now_ms)?;
        // A held lead: the same lock and reads a fresh lead's offer makes, and the same
        // answer, but no line takes it; the answer is kept for `changeStatus`.
        let as_if_delivered = elsewhere
            && !empty.contains(&new.region)
            && self.offer_or_not(conn, empty, product, &new.region, lead_id, now_ms, false).await?.is_some();
        if elsewhere {
            row = held_row(row, as_if_delivered);
        }
        // The unique (source_id, source_lead_id) index settles two creates racing with the
        // same id: the loser's transaction writes nothing.
        lead::Entity::insert(row).exec_without_returning(conn).await.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => RepoError::Conflict(SOURCE_LEAD_ID_TAKEN.to_owned()),
            _ => unavailable(e),
        })?;
        if elsewhere {
            return Ok(IntakeOutcome::Held { lead: lead_id, as_if_delivered });
        }
        if empty.contains(&new.region) {
            return Ok(IntakeOutcome::Pooled { lead: lead_id });
        }
        Ok(match self.offer(conn, empty, product, &new.region, lead_id, now_ms).await? {
            Some(order) => IntakeOutcome::Delivered { lead: lead_id, order },
            None => IntakeOutcome::Pooled { lead: lead_id },
        })
    }

    /// Offers a pool lead to the open lines of its product and region; returns the order
    /// that took it.
    pub(crate) async fn offer(
        &self,
        conn: &impl ConnectionTrait,
        empty: &mut HashSet<String>,
        product: &Product,
        region: &str,
        lead_id: Uuid,
        now_ms: i64,
    ) -> Result<Option<Uuid>, RepoError> {
        self.offer_or_not(conn, empty, product, region, lead_id, now_ms, true).await
    }

    /// [`Self::offer`] when `deliver`; otherwise the same lock, reads and engine decision
    /// with nothing written: the order whose line the engine would pick (a held lead's
    /// answer, see [`IntakeOutcome::Held`]).
    #[allow(clippy::too_many_arguments)]
    async fn offer_or_not(
        &self,
        conn: &impl ConnectionTrait,
        empty: &mut HashSet<String>,
        product: &Product,
        region: &str,
        lead_id: Uuid,
        now_ms: i64,
        deliver: bool,
    ) -> Result<Option<Uuid>, RepoError> {
        let product_key = product.id.to_string();
        // The pool's lock: every writer of these lines holds it, so the lines need none.
        let picks = pools::lock(conn, &product_key, region).await?;
        let lines = order_line::Entity::find()
            .filter(order_line::Column::ProductId.eq(product_key.as_str()))
            .filter(order_line::Column::Region.eq(region))
            .filter(order_line::Column::Open.eq(true))
            .order_by_asc(order_line::Column::Id)
            .all(conn)
            .await
            .map_err(unavailable)?;
        if lines.is_empty() {
            empty.insert(region.to_owned());
            return Ok(None);
        }
        let order_ids: Vec<String> = lines.iter().map(|l| l.order_id.clone()).collect();
        let orders: HashMap<String, order::Model> = order::Entity::find()
            .filter(order::Column::Id.is_in(order_ids))
            .all(conn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let today =
            calendar::day_start_ms(now_ms, &product.time_zone).map_err(|e| corrupt("products", &product_key, e))?;
        let mut slots: Vec<(Slot<usize>, Option<u64>)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let order = orders.get(&l.order_id);
                let open = order.is_some_and(|o| {
                    o.status == OrderStatus::Pending.as_str() || o.status == OrderStatus::InProgress.as_str()
                });
                let remaining = if open { u64::try_from(l.quantity - l.delivered).unwrap_or(0) } else { 0 };
                let (today_count, limit) = order.map_or((0, None), |o| (delivered_today(o, today), daily_limit(o)));
                let slot = Slot {
                    id: i,
                    weight: remaining,
                    credit: l.credit,
                    tiebreak: l.created_at,
                    load: 0,
                    eligibility: line_eligibility(remaining, today_count, limit),
                };
                (slot, l.credit_pick.and_then(|p| u64::try_from(p).ok()))
            })
            .collect();
        loop {
            let decision = pick_stored(product.allocation_policy, picks, &slots);
            let chosen = match &decision.outcome {
                Ok(pick) => pick.chosen,
                Err(_) => {
                    if deliver {
                        self.write_ledger(conn, &lines, &decision.writes, None).await?;
                    }
                    return Ok(None);
                }
            };
            let line = &lines[chosen];
            let Some(order_row) = orders.get(&line.order_id) else { return Ok(None) };
            if !deliver {
                // The line's eligibility already holds the order's guard as read under the
                // pool's lock (open, under quantity, under today's limit).
                return order_row.id.parse().map(Some).map_err(|e| corrupt("orders", &order_row.id, e));
            }
            // The order row is shared by the order's pools: its guard (still open, under
            // its quantity and today's limit) is checked by the update itself.
            let counted = order::Entity::update_many()
                .col_expr(order::Column::Delivered, Expr::col(order::Column::Delivered).add(1))
                .col_expr(
                    order::Column::DeliveredToday,
                    Expr::case(
                        Expr::col(order::Column::DayStart).eq(today),
                        Expr::col(order::Column::DeliveredToday).add(1),
                    )
                    .finally(Expr::val(1))
                    .into(),
                )
                .col_expr(order::Column::DayStart, Expr::value(today))
                .col_expr(order::Column::UpdatedAt, Expr::value(now_ms))
                .filter(order::Column::Id.eq(order_row.id.as_str()))
                .filter(order::Column::Status.is_in([OrderStatus::Pending.as_str(), OrderStatus::InProgress.as_str()]))
                .filter(Expr::col(order::Column::Delivered).lt(Expr::col(order::Column::Quantity)))
                .filter(
                    Condition::any()
                        .add(order::Column::DailyLimit.is_null())
                        .add(order::Column::DayStart.is_null())
                        .add(order::Column::DayStart.ne(today))
                        .add(Expr::col(order::Column::DeliveredToday).lt(Expr::col(order::Column::DailyLimit))),
                )
                .exec(conn)
                .await
                .map_err(unavailable)?;
            if counted.rows_affected != 1 {
                // Another pool's intake reached the order's limit meanwhile, or it was
                // cancelled: this line sits out, the engine picks again.
                slots[chosen].0.eligibility = Eligibility::Skipped(SkipReason::DailyLimit);
                continue;
            }
            self.write_ledger(conn, &lines, &decision.writes, Some(chosen)).await?;
            pools::set_picks(conn, &product_key, region, decision.picks).await?;
            self.deliver(conn, product, line, order_row, lead_id, now_ms).await?;
            return order_row.id.parse().map(Some).map_err(|e| corrupt("orders", &order_row.id, e));
        }
    }

    /// Stores the ledger rows a pick wrote; the chosen line also counts its delivery
    /// (guarded by the count read under the pool lock).
    async fn write_ledger(
        &self,
        conn: &impl ConnectionTrait,
        lines: &[order_line::Model],
        writes: &[(usize, Stored)],
        chosen: Option<usize>,
    ) -> Result<(), RepoError> {
        for (i, row) in writes {
            let line = &lines[*i];
            let mut update = order_line::Entity::update_many()
                .col_expr(order_line::Column::Credit, Expr::value(row.credit))
                .col_expr(
                    order_line::Column::CreditPick,
                    Expr::value(row.at.map(|a| i64::try_from(a).unwrap_or(i64::MAX))),
                )
                .filter(order_line::Column::Id.eq(line.id.as_str()));
            if chosen == Some(*i) {
                update = update
                    .col_expr(order_line::Column::Delivered, Expr::col(order_line::Column::Delivered).add(1))
                    .col_expr(order_line::Column::Open, Expr::value(line.delivered + 1 < line.quantity))
                    .col_expr(
                        order_line::Column::ReplacementsOwed,
                        Expr::value(std::cmp::Ord::max(line.replacements_owed - 1, 0)),
                    )
                    .filter(order_line::Column::Delivered.eq(line.delivered));
            }
            let done = update.exec(conn).await.map_err(unavailable)?;
            if done.rows_affected != 1 {
                return Err(RepoError::Conflict(format!("order line {} changed outside its pool lock", line.id)));
            }
        }
        Ok(())
    }

    /// The delivery itself: the order's status, the `ORDER` assignment and the lead's
    /// owner (the order's counters were moved by the caller).
    async fn deliver(
        &self,
        conn: &impl ConnectionTrait,
        product: &Product,
        line: &order_line::Model,
        order_row: &order::Model,
        lead_id: Uuid,
        now_ms: i64,
    ) -> Result<(), RepoError> {
        let current = order::Entity::find_by_id(order_row.id.clone())
            .one(conn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt("orders", &order_row.id, "order vanished"))?;
        let status: OrderStatus = current.status.parse().map_err(|e| corrupt("orders", &current.id, e))?;
        let delivered = u64::try_from(current.delivered).unwrap_or(0);
        let quantity = u64::try_from(current.quantity).unwrap_or(0);
        let next = status.after_delivery(delivered, quantity).map_err(|e| corrupt("orders", &current.id, e))?;
        if next != status {
            order::Entity::update_many()
                .col_expr(order::Column::Status, Expr::value(next.as_str()))
                .filter(order::Column::Id.eq(current.id.as_str()))
                .exec(conn)
                .await
                .map_err(unavailable)?;
        }
        let assignment_id = new_id().to_string();
        // A line that owes replacements (approved `REPLACEMENT` AS) delivers them first;
        // `write_ledger` took one off the line's count under the same pool lock.
        let source = if line.replacements_owed > 0 { AssignmentSource::Replacement } else { AssignmentSource::Order };
        assignment::Entity::insert(order_assignment(
            &assignment_id,
            lead_id,
            &order_row.buyer_user_id,
            &order_row.org_id,
            &line.id,
            source,
            now_ms,
        ))
        .exec_without_returning(conn)
        .await
        .map_err(unavailable)?;
        lead::Entity::update_many()
            .col_expr(lead::Column::Status, Expr::value(LeadStatus::Assigned.as_str()))
            .col_expr(lead::Column::OwnerUserId, Expr::value(order_row.buyer_user_id.clone()))
            .col_expr(lead::Column::OwnerOrgId, Expr::value(order_row.org_id.clone()))
            .col_expr(lead::Column::AssignmentId, Expr::value(assignment_id))
            .col_expr(lead::Column::AssignmentSource, Expr::value(source.as_str()))
            .col_expr(lead::Column::AssignedAt, Expr::value(now_ms))
            .filter(lead::Column::Id.eq(lead_id.to_string()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        // Its events: the lead's contacts come from its row (an AS replacement offers a
        // stored lead), masked by the payload.
        let key = lead_id.to_string();
        let row = lead::Entity::find_by_id(key.clone())
            .one(conn)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| corrupt("leads", &key, "lead vanished"))?;
        let pii = self.decrypt_pii(&row)?;
        let assigned = [Assigned {
            lead: LeadRef {
                id: lead_id,
                product_id: product.id,
                product_name: &product.name,
                region: &row.region,
                pii: &pii,
            },
            order_id: &order_row.id,
            owner_user_id: &order_row.buyer_user_id,
            at_ms: now_ms,
        }];
        let completed = (next == OrderStatus::Completed && status != OrderStatus::Completed).then(|| Completed {
            order_id: &order_row.id,
            buyer_user_id: &order_row.buyer_user_id,
            product_id: product.id,
            delivered,
            at_ms: now_ms,
        });
        let events = lead_events::events(self.db.event_directory(), conn, &assigned, completed.as_slice()).await?;
        outbox::append_on(conn, &self.keyring, self.db.outbox_signal().nats_wanted(), &events).await?;
        Ok(())
    }
}

/// A new lead's row held for the operator: `DUPLICATE_OTHER_PROVIDER`, in no pool, with
/// the status its source is told (what a fresh lead would have been).
fn held_row(mut row: lead::ActiveModel, as_if_delivered: bool) -> lead::ActiveModel {
    row.status = Set(LeadStatus::DuplicateOtherProvider.as_str().to_owned());
    let shown = if as_if_delivered { LeadStatus::Assigned } else { LeadStatus::Pool };
    row.held_shown_status = Set(Some(shown.as_str().to_owned()));
    row
}

/// The open `ORDER` (or `REPLACEMENT`) assignment that delivers `lead_id` through an
/// order line.
pub(crate) fn order_assignment(
    id: &str,
    lead_id: Uuid,
    owner_user_id: &str,
    owner_org_id: &str,
    line_id: &str,
    source: AssignmentSource,
    now_ms: i64,
) -> assignment::ActiveModel {
    assignment::ActiveModel {
        id: Set(id.to_owned()),
        lead_id: Set(lead_id.to_string()),
        owner_user_id: Set(owner_user_id.to_owned()),
        owner_org_id: Set(owner_org_id.to_owned()),
        source: Set(source.as_str().to_owned()),
        distributor_user_id: Set(None),
        order_line_id: Set(Some(line_id.to_owned())),
        restored_from_id: Set(None),
        assigned_at: Set(now_ms),
        used_at: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
    }
}

/// The order's deliveries on the day starting at `today` (product time zone).
fn delivered_today(order: &order::Model, today: i64) -> u64 {
    if order.day_start == Some(today) { u64::try_from(order.delivered_today).unwrap_or(0) } else { 0 }
}

fn daily_limit(order: &order::Model) -> Option<u64> {
    order.daily_limit.and_then(|d| u64::try_from(d).ok())
}
