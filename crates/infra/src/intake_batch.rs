//! Intake batched per pool: the concurrent intakes of one (product, region) are written
//! together, in one transaction under the pool's row lock, each with its own outcome.
//!
//! [`SeaLeadRepository::intake`] queues the intake for its pool (`intake_queue`); the
//! pool's drainer opens a write transaction, takes up to [`MAX_BATCH`] waiting intakes
//! (those that arrived while the previous batch ran, or while this one waited for the
//! database), and writes them:
//! 1. the pool row's lock (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write lock);
//! 2. one duplicate lookup for the batch's phones, under that lock, decided in memory in
//!    arrival order, so a phone sent twice in one batch is one lead and one duplicate;
//! 3. the deliveries, decided by `batch_delivery` (its open lines, and their orders
//!    locked): exactly the decisions single intakes in arrival order would make;
//! 4. one multi-row lead insert (`ON CONFLICT DO NOTHING`: a source's own id already
//!    taken shows as a row not inserted), one assignments insert, and one
//!    `UPDATE … FROM (VALUES …)` each for the touched lines, orders and the pool's clock
//!    (one data-modifying CTE on PostgreSQL, see `batch_delivery::Plan::write`).
//!
//! Invariants:
//! - each intake gets its own outcome (created: pooled or delivered; duplicate), or its
//!   own error;
//! - a batch that cannot be written whole (a lead not inserted, any storage error, a
//!   lead held for another provider's phone, whose answer a single intake computes, or
//!   intakes on two sides of the product's midnight) is rolled back and its intakes are
//!   taken one by one by the single intake (`crate::intake`), each in its own
//!   transaction: a bad lead fails only itself;
//! - a batch whose commit fails is answered with that failure (whether it committed is
//!   unknown, so it is not replayed);
//! - across processes the pool row's lock still orders the batches and single intakes of
//!   a pool, so correctness does not depend on one process; the queue only shares the
//!   transaction's cost.
//!
//! Statements for a batch of `n` intakes of which some are delivered, whatever `n`:
//! `BEGIN`, the pool lock, the duplicate lookup, the open lines with their orders (`FOR
//! UPDATE OF orders`), the leads, the assignments, the lines + orders + pool (one
//! statement on PostgreSQL, three on SQLite), `COMMIT`: 8 on PostgreSQL, 10 on SQLite.
//! The pool lock cannot share a statement with the lookups after it: on PostgreSQL a
//! statement's snapshot is taken before it waits for the lock, so it would miss what the
//! lock's previous holder committed (the duplicate lookup must see those leads, and the
//! lines read must see those lines, which row locks alone do not bring back).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use domain::calendar;
use domain::error::RepoError;
use domain::events::LeadRef;
use domain::ids::new_id;
use domain::intake::{IntakeIds, IntakeOutcome};
use domain::lead::{LeadStatus, NewLead};
use domain::reference::Product;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use time::{Duration, OffsetDateTime};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::WriteTxn;
use crate::entities::{assignment, lead};
use crate::error::{corrupt, unavailable};
use crate::intake::order_assignment;
use crate::intake_queue::{Draining, IntakeRequest, MAX_BATCH, PoolKey, Waiting};
use crate::lead_events::{self, Assigned};
use crate::leads::{PHONE_INDEX, SeaLeadRepository};
use crate::{batch_delivery, outbox, pools, statements, to_millis};

/// Why a batch was not written whole.
enum Unbatched {
    /// Replay the batch's intakes one by one.
    Fallback(&'static str),
    /// The commit failed: every intake of the batch gets this failure.
    Failed(String),
}

impl From<RepoError> for Unbatched {
    fn from(_: RepoError) -> Self {
        Self::Fallback("a storage error")
    }
}

/// A phone already stored (or taken earlier in the batch) for the product.
struct Known {
    phone: String,
    id: Uuid,
    provider: Uuid,
    created_at: i64,
}

impl SeaLeadRepository {
    /// Takes a lead from a source: it joins the batch forming for its pool (see the
    /// module docs and `crate::intake`'s invariants, which every batch keeps).
    ///
    /// # Errors
    /// Storage failures; `RepoError::Conflict(SOURCE_LEAD_ID_TAKEN)` when the source's own
    /// id for the lead is taken (see `crate::intake::SOURCE_LEAD_ID_TAKEN`).
    pub async fn intake(
        &self,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        provider_org_id: Uuid,
        source_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IntakeOutcome, RepoError> {
        let request = IntakeRequest {
            product: product.clone(),
            new: new.clone(),
            ids: ids.clone(),
            provider_org_id,
            source_id,
            now,
        };
        let key: PoolKey = (product.id, new.region.clone());
        let (reply, answer) = oneshot::channel();
        if self.intake_queues.enqueue(&key, Waiting { request, reply }) {
            let repo = self.clone();
            let drain = async move { repo.drain(key).await };
            // The drainer's statements count under the use case of the intake that
            // started it.
            match statements::current() {
                Some(use_case) => tokio::spawn(statements::scoped(use_case, drain)),
                None => tokio::spawn(drain),
            };
        }
        answer.await.map_err(|_| RepoError::Unavailable("the intake batch stopped".to_owned()))?
    }

    /// How many intakes wait for the next batch of the pool (`product_id`, `region`).
    #[must_use]
    pub fn waiting_intakes(&self, product_id: Uuid, region: &str) -> usize {
        self.intake_queues.waiting(&(product_id, region.to_owned()))
    }

    /// The pool's drainer: batch after batch until no intake waits.
    async fn drain(&self, key: PoolKey) {
        let mut draining = Draining::new(Arc::clone(&self.intake_queues), key);
        loop {
            // The transaction and the pool's lock first: the intakes arriving while they
            // are awaited join this batch.
            match self.open_batch(draining.key()).await {
                Ok((txn, locked)) => {
                    let batch = draining.take(MAX_BATCH);
                    self.write_batch(txn, &locked, batch).await;
                }
                Err(_) => {
                    // The batch's intakes try alone (each reports its own failure).
                    let batch = draining.take(MAX_BATCH);
                    self.write_one_by_one(batch, "the batch could not start").await;
                }
            }
            if draining.finished() {
                return;
            }
        }
    }

    /// A write transaction holding the pool's lock, and the pool's pick count.
    async fn open_batch(&self, key: &PoolKey) -> Result<(WriteTxn, HashMap<String, u64>), RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let locked = pools::lock_many(&*txn, &key.0.to_string(), &[key.1.as_str()]).await?;
        Ok((txn, locked))
    }

    /// Writes one batch and answers each of its intakes.
    async fn write_batch(&self, txn: WriteTxn, locked: &HashMap<String, u64>, batch: Vec<Waiting>) {
        if batch.is_empty() {
            return;
        }
        match self.try_batch(txn, locked, &batch).await {
            Ok(outcomes) => {
                for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                    waiting.answer(Ok(outcome));
                }
            }
            Err(Unbatched::Failed(message)) => {
                for waiting in batch {
                    waiting.answer(Err(RepoError::Unavailable(message.clone())));
                }
            }
            Err(Unbatched::Fallback(why)) => self.write_one_by_one(batch, why).await,
        }
    }

    /// The batch's intakes, each by the single intake in its own transaction.
    async fn write_one_by_one(&self, batch: Vec<Waiting>, why: &'static str) {
        tracing::debug!(why, intakes = batch.len(), "intake batch taken one by one");
        for waiting in batch {
            let r = &waiting.request;
            let outcome = self.intake_single(&r.product, &r.new, &r.ids, r.provider_org_id, r.source_id, r.now).await;
            waiting.answer(outcome);
        }
    }

    /// The batch in `txn` (its transaction is rolled back when this returns an error).
    async fn try_batch(
        &self,
        txn: WriteTxn,
        locked: &HashMap<String, u64>,
        batch: &[Waiting],
    ) -> Result<Vec<IntakeOutcome>, Unbatched> {
        let Some(first) = batch.first() else { return Ok(Vec::new()) };
        let product = &first.request.product;
        let product_key = product.id.to_string();
        let region = first.request.new.region.as_str();
        let conn = &*txn;
        let day = |now: OffsetDateTime| calendar::day_start_ms(to_millis(now), &product.time_zone);
        let (earliest, latest) = batch
            .iter()
            .fold((first.request.now, first.request.now), |(lo, hi), w| (lo.min(w.request.now), hi.max(w.request.now)));
        let day_of_earliest = day(earliest).map_err(|e| corrupt("products", &product_key, e))?;
        let day_of_latest = day(latest).map_err(|e| corrupt("products", &product_key, e))?;
        if day_of_earliest != day_of_latest {
            return Err(Unbatched::Fallback("the batch spans the product's midnight"));
        }
        let indexes: Vec<String> =
            batch.iter().map(|w| self.keyring.blind_index(&PHONE_INDEX, w.request.new.pii.phone.e164())).collect();
        let mut known = self.known_phones(conn, &product_key, &indexes).await?;
        let window = Duration::hours(i64::from(product.duplicate_window_hours));
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut rows = Vec::new();
        // Per fresh lead: its place in `outcomes`, its id and its time.
        let mut fresh: Vec<(usize, Uuid, i64)> = Vec::new();
        for (waiting, index) in batch.iter().zip(indexes) {
            let r = &waiting.request;
            let (phone, now_ms) = (r.new.pii.phone.e164(), to_millis(r.now));
            let window_start = to_millis(r.now - window);
            let candidates = known.entry(index).or_default();
            let mut matches = candidates.iter().filter(|k| k.phone == phone && k.created_at >= window_start);
            let mut elsewhere = false;
            if let Some(earlier) = matches.find(|k| {
                elsewhere |= k.provider != r.provider_org_id;
                k.provider == r.provider_org_id
            }) {
                outcomes.push(IntakeOutcome::Duplicate { earlier: earlier.id });
                continue;
            }
            if elsewhere {
                // A held lead's answer is what an offer would have given a fresh one:
                // the single intake works it out.
                return Err(Unbatched::Fallback("a phone another provider sent"));
            }
            let lead_id = new_id();
            rows.push(self.intake_row(&lead_id.to_string(), &r.new, &r.ids, r.provider_org_id, r.source_id, now_ms)?);
            candidates.push(Known {
                phone: phone.to_owned(),
                id: lead_id,
                provider: r.provider_org_id,
                created_at: now_ms,
            });
            fresh.push((outcomes.len(), lead_id, now_ms));
            outcomes.push(IntakeOutcome::Pooled { lead: lead_id });
        }
        let regions = vec![region; fresh.len()];
        let mut empty = HashSet::new();
        let plan = batch_delivery::plan_locked(conn, &mut empty, product, &regions, locked, to_millis(latest)).await?;
        let mut assignments = Vec::new();
        let mut assigned = Vec::new();
        for ((row, (at, lead_id, now_ms)), delivery) in rows.iter_mut().zip(&fresh).zip(&plan.deliveries) {
            let Some(d) = delivery else { continue };
            let new = &batch[*at].request.new;
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
                at_ms: *now_ms,
            });
            row.status = Set(LeadStatus::Assigned.as_str().to_owned());
            row.owner_user_id = Set(Some(d.owner_user_id.clone()));
            row.owner_org_id = Set(Some(d.owner_org_id.clone()));
            row.assignment_id = Set(Some(d.assignment_id.clone()));
            row.assignment_source = Set(Some(d.source.as_str().to_owned()));
            row.assigned_at = Set(Some(*now_ms));
            assignments.push(order_assignment(
                &d.assignment_id,
                *lead_id,
                &d.owner_user_id,
                &d.owner_org_id,
                &d.line_id,
                d.source,
                *now_ms,
            ));
            let order = d.order_id.parse().map_err(|e| corrupt("orders", &d.order_id, e))?;
            outcomes[*at] = IntakeOutcome::Delivered { lead: *lead_id, order };
        }
        if !rows.is_empty() {
            let expected = u64::try_from(rows.len()).unwrap_or(u64::MAX);
            // Any unique key taken (a source's own id for a lead) leaves its row out.
            let inserted = lead::Entity::insert_many(rows)
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .exec_without_returning(conn)
                .await
                .map_err(unavailable)?;
            if inserted != expected {
                return Err(Unbatched::Fallback("a lead's unique key is taken"));
            }
        }
        if !assignments.is_empty() {
            assignment::Entity::insert_many(assignments).exec_without_returning(conn).await.map_err(unavailable)?;
        }
        plan.write(conn).await?;
        let events = lead_events::events(self.db.event_directory(), conn, &assigned, &plan.completed()?).await?;
        outbox::append(&txn, &self.keyring, &events).await?;
        txn.commit().await.map_err(|e| Unbatched::Failed(unavailable(e).to_string()))?;
        Ok(outcomes)
    }

    /// The stored leads of the product with one of these phone indexes, oldest first, with
    /// their exact phones (an index may collide; the phone decides).
    async fn known_phones(
        &self,
        conn: &impl ConnectionTrait,
        product_key: &str,
        indexes: &[String],
    ) -> Result<HashMap<String, Vec<Known>>, RepoError> {
        let mut distinct: Vec<&str> = indexes.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        // By the phone index alone (product and window checked here), as the single
        // intake looks: a plan that cannot turn into a scan of the product's rows.
        let rows = lead::Entity::find()
            .filter(lead::Column::PhoneBidx.is_in(distinct))
            .order_by_asc(lead::Column::CreatedAt)
            .order_by_asc(lead::Column::Id)
            .all(conn)
            .await
            .map_err(unavailable)?;
        let mut known: HashMap<String, Vec<Known>> = HashMap::new();
        for row in rows.into_iter().filter(|r| r.product_id == product_key) {
            let phone = self.decrypt_pii(&row)?.phone.e164().to_owned();
            let id = row.id.parse().map_err(|e| corrupt("leads", &row.id, e))?;
            let provider = row.provider_org_id.parse().map_err(|e| corrupt("leads", &row.id, e))?;
            known.entry(row.phone_bidx).or_default().push(Known { phone, id, provider, created_at: row.created_at });
        }
        Ok(known)
    }
}
