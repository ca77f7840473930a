//! Distribution and recall (DB 분배, 분배 회수): the writes that move leads between users.
//!
//! The domain decides every move (`domain::lead::plan_distribution`, `plan_recall`); this
//! module reads what it decides on and writes what it decided.
//!
//! Invariants:
//! - the candidates are read and the moves written in one write transaction, all or
//!   nothing: a refusal writes nothing;
//! - the read is one statement: the leads (with their product names and AS statuses,
//!   `leads::with_extras`) left-joined to their open assignment, to the assignment that
//!   one was handed over from and to the open one's owner (user and org, for the event);
//!   on PostgreSQL it locks the lead rows in id order (`FOR UPDATE OF leads`), so two
//!   transfers of overlapping leads queue on their first common lead instead of
//!   deadlocking (every writer of an open assignment locks its lead first: `use`, AS
//!   claims, transfers);
//! - every write is conditional on nothing having changed since the read (the ended
//!   assignment still open, the lead row still on it); a short count is
//!   [`RepoError::Conflict`] and the transaction is dropped; the partial unique index keeps
//!   one open assignment per lead, so two transfers racing on a lead move it once;
//! - the write is one list of moves, whatever its length (at most
//!   `domain::lead::MAX_TRANSFER_IDS`) and whether the moves are alike (a distribution) or
//!   each its own (a recall restores each lead's prior rights): on PostgreSQL one
//!   statement, data-modifying CTEs chained by their `RETURNING` rows (`ended` → `opened`
//!   → `moved`), whose three counts are the guards; on SQLite the same three parts as
//!   three statements in process (it has no data-modifying CTEs);
//! - the transfer's events (`events.md`: `lead.distributed`, `lead.recalled`) are written
//!   with the moves, in the same transaction, to the new owner's org: one per previous
//!   holder (a distribution has one, the leader; a recall one per member it takes leads
//!   back from), `leadIds` in id order, `fromMohomId` the holder, `toMohomId` the new
//!   owner. Nothing more is read for them: the holder's `mohomId` and org code come with
//!   the candidates (the read joins the open assignment's owner and org), the new owner's
//!   `mohomId` with the plan (`NextAssignment::owner_mohom_id`). On PostgreSQL their
//!   outbox insert (`outbox::insert_part`) is one more part of the write's CTE; on SQLite
//!   it follows the three parts. A refusal or a short count rolls them back with the rest;
//! - so a transfer sends `BEGIN`, the read, the write and `COMMIT`: 4 statements on
//!   PostgreSQL, 7 on SQLite (the three parts and the outbox insert).

use std::collections::{BTreeMap, HashMap};

use domain::error::RepoError;
use domain::events::{Event, LeadsDistributed, LeadsRecalled, event_time};
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{
    AssignmentSource, Handover, PriorAssignment, TransferCandidate, TransferOutcome, TransferRefusal,
    plan_distribution, plan_recall,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, InsertStatement, JoinType, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryResult, QuerySelect,
    QueryTrait, Statement, Value,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::WriteTxn;
use crate::entities::{assignment, lead, organization, user};
use crate::error::unavailable;
use crate::leads::{SeaLeadRepository, uuid, with_extras};
use crate::outbox::{self, Outgoing};
use crate::update_rows::values_select;
use crate::{from_millis, to_millis};

fn list_changed() -> RepoError {
    RepoError::Conflict("a lead of the list changed meanwhile".to_owned())
}

fn text(id: Option<Uuid>) -> Value {
    Value::from(id.map(|id| id.to_string()))
}

/// The columns of the assignment the open one was handed over from, as the read names
/// them.
const PRIOR_COLUMNS: [(assignment::Column, &str); 5] = [
    (assignment::Column::Id, "p_id"),
    (assignment::Column::UsedAt, "p_used_at"),
    (assignment::Column::DistributorUserId, "p_distributor_user_id"),
    (assignment::Column::OrderLineId, "p_order_line_id"),
    (assignment::Column::RestoredFromId, "p_restored_from_id"),
];

/// The prior assignment of one read row; `None` when the open one was not handed over.
fn prior(lead_id: &str, res: &QueryResult) -> Result<Option<PriorAssignment>, RepoError> {
    let get_text = |column: &str| res.try_get::<Option<String>>("", column).map_err(unavailable);
    let Some(id) = get_text("p_id")? else { return Ok(None) };
    let id_of = |column: &str| get_text(column)?.as_deref().map(|t| uuid(lead_id, t)).transpose();
    Ok(Some(PriorAssignment {
        id: uuid(lead_id, &id)?,
        used_at: res.try_get::<Option<i64>>("", "p_used_at").map_err(unavailable)?.map(from_millis),
        distributor_user_id: id_of("p_distributor_user_id")?,
        order_line_id: id_of("p_order_line_id")?,
        restored_from_id: id_of("p_restored_from_id")?,
    }))
}

/// Who holds a lead now, as its transfer's event names them (read beside the candidates:
/// the open assignment's owner, joined to their user row and org).
#[derive(Debug, Clone, Default)]
struct Holder {
    mohom_id: String,
    org_id: String,
    org_code: String,
}

/// What one transfer event is per: previous holder, new owner, new owner's org, source.
type EventKey<'a> = (String, &'a str, Uuid, &'a str);

fn holder(res: &QueryResult) -> Result<Option<Holder>, RepoError> {
    let get_text = |column: &str| res.try_get::<Option<String>>("", column).map_err(unavailable);
    let (Some(mohom_id), Some(org_id), Some(org_code)) =
        (get_text("h_mohom_id")?, get_text("h_org_id")?, get_text("h_org_code")?)
    else {
        return Ok(None);
    };
    Ok(Some(Holder { mohom_id, org_id, org_code }))
}

/// The columns of one move, in the order of its values ([`move_values`]).
const MOVE_COLUMNS: [&str; 12] = [
    "lead_id",
    "ends",
    "next_id",
    "owner_user_id",
    "owner_org_id",
    "source",
    "distributor_user_id",
    "order_line_id",
    "restored_from_id",
    "assigned_at",
    "used_at",
    "last_distributed_at",
];

/// One move's values, in [`MOVE_COLUMNS`] order.
fn move_values(handover: &Handover, next_id: Uuid) -> Vec<Value> {
    let next = &handover.next;
    let at = to_millis(next.assigned_at);
    let distributed = (next.source == AssignmentSource::Distributed).then_some(at);
    vec![
        handover.lead_id.to_string().into(),
        handover.ends.to_string().into(),
        next_id.to_string().into(),
        next.owner_user_id.to_string().into(),
        next.owner_org_id.to_string().into(),
        next.source.as_str().into(),
        text(next.distributor_user_id),
        text(next.order_line_id),
        text(next.restored_from_id),
        at.into(),
        Value::from(next.used_at.map(to_millis)),
        Value::from(distributed),
    ]
}

/// Ends each move's open assignment (only while it is still open).
const END_SQL: &str = r#"UPDATE "assignments" SET "ended_at" = m."assigned_at", "end_reason" = m."source" FROM {m} WHERE "assignments"."id" = m."ends" AND "assignments"."ended_at" IS NULL"#;
/// Opens each move's next assignment.
const OPEN_SQL: &str = r#"INSERT INTO "assignments" ("id", "lead_id", "owner_user_id", "owner_org_id", "source", "distributor_user_id", "order_line_id", "restored_from_id", "assigned_at", "used_at") SELECT m."next_id", m."lead_id", m."owner_user_id", m."owner_org_id", m."source", m."distributor_user_id", m."order_line_id", m."restored_from_id", m."assigned_at", m."used_at" FROM {m}"#;
/// Moves each lead row onto its next assignment (only while it is still on the ended one).
const MOVE_SQL: &str = r#"UPDATE "leads" SET "assignment_id" = m."next_id", "owner_user_id" = m."owner_user_id", "owner_org_id" = m."owner_org_id", "assignment_source" = m."source", "distributor_user_id" = m."distributor_user_id", "assigned_at" = m."assigned_at", "used_at" = m."used_at", "updated_at" = m."assigned_at", "last_distributed_at" = COALESCE(m."last_distributed_at", "leads"."last_distributed_at") FROM {m} WHERE "leads"."id" = m."lead_id" AND "leads"."assignment_id" = m."ends""#;

/// The PostgreSQL statement of the whole write: the three parts as data-modifying CTEs,
/// each fed by the rows the one before returned, and their counts; the outbox insert of
/// the transfer's events (`events`) is one more part, first so that its placeholders come
/// before the moves' (it depends on no other part: a short count rolls it back with them).
fn together_sql(moves: &[Vec<Value>], events: Option<&InsertStatement>) -> Statement {
    let mut values = Vec::new();
    let mut written = String::new();
    if let Some(insert) = events {
        let built = DbBackend::Postgres.build(insert);
        values.extend(built.values.map(|v| v.0).unwrap_or_default());
        written = format!("written AS ({} RETURNING 1), ", built.sql);
    }
    let list = values_select(DbBackend::Postgres, &MOVE_COLUMNS, moves, &mut values);
    let ended = END_SQL.replace("{m}", "m");
    let opened = OPEN_SQL.replace("{m}", r#"m JOIN ended ON ended."id" = m."ends""#);
    let moved = MOVE_SQL.replace("{m}", r#"m JOIN opened ON opened."id" = m."next_id""#);
    let sql = format!(
        r#"WITH {written}m AS ({list}), ended AS ({ended} RETURNING "assignments"."id"), opened AS ({opened} RETURNING "id"), moved AS ({moved} RETURNING "leads"."id") SELECT (SELECT count(*) FROM ended) AS n_ended, (SELECT count(*) FROM opened) AS n_opened, (SELECT count(*) FROM moved) AS n_moved"#
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// One part of the write on SQLite, over its own copy of the moves.
fn part_sql(part: &str, moves: &[Vec<Value>]) -> Statement {
    let mut values = Vec::new();
    let list = values_select(DbBackend::Sqlite, &MOVE_COLUMNS, moves, &mut values);
    let sql = part.replace("{m}", &format!("({list}) AS m"));
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

/// A unique violation (another transfer opened an assignment for the lead first) is a
/// conflict; anything else is a storage failure.
fn write_failed(err: sea_orm::DbErr) -> RepoError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => list_changed(),
        _ => unavailable(err),
    }
}

impl SeaLeadRepository {
    /// The leads of `ids` that exist, each with the assignment its open one was handed
    /// over from, and who holds it now (by lead id): one statement (see the module
    /// invariants).
    async fn candidates(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[Uuid],
    ) -> Result<(Vec<TransferCandidate>, HashMap<Uuid, Holder>), RepoError> {
        let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let (open, prior_alias) = (Alias::new("open_a"), Alias::new("prior_a"));
        let (holder_u, holder_o) = (Alias::new("holder_u"), Alias::new("holder_o"));
        let mut query = with_extras(lead::Entity::find().filter(lead::Column::Id.is_in(keys))).into_query();
        query
            .join_as(
                JoinType::LeftJoin,
                assignment::Entity,
                open.clone(),
                Expr::col((open.clone(), assignment::Column::Id)).equals((lead::Entity, lead::Column::AssignmentId)),
            )
            .join_as(
                JoinType::LeftJoin,
                assignment::Entity,
                prior_alias.clone(),
                Expr::col((prior_alias.clone(), assignment::Column::Id))
                    .equals((open.clone(), assignment::Column::RestoredFromId)),
            )
            .join_as(
                JoinType::LeftJoin,
                user::Entity,
                holder_u.clone(),
                Expr::col((holder_u.clone(), user::Column::Id)).equals((open.clone(), assignment::Column::OwnerUserId)),
            )
            .join_as(
                JoinType::LeftJoin,
                organization::Entity,
                holder_o.clone(),
                Expr::col((holder_o.clone(), organization::Column::Id)).equals((holder_u.clone(), user::Column::OrgId)),
            );
        for (column, name) in PRIOR_COLUMNS {
            query.expr_as(Expr::col((prior_alias.clone(), column)), name);
        }
        query
            .expr_as(Expr::col((holder_u.clone(), user::Column::MohomId)), "h_mohom_id")
            .expr_as(Expr::col((holder_u, user::Column::OrgId)), "h_org_id")
            .expr_as(Expr::col((holder_o, organization::Column::Code)), "h_org_code");
        query.order_by((lead::Entity, lead::Column::Id), Order::Asc).lock_with_tables(LockType::Update, [lead::Entity]);
        let rows = conn.query_all(&query).await.map_err(unavailable)?;
        let mut holders = HashMap::new();
        let candidates = rows
            .iter()
            .map(|row| {
                let lead = self.read_lead(row)?;
                let handed_over_from = prior(&lead.id.to_string(), row)?;
                if let Some(h) = holder(row)? {
                    holders.insert(lead.id, h);
                }
                Ok(TransferCandidate { lead, handed_over_from })
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        Ok((candidates, holders))
    }

    /// The events of `handovers`: one `lead.distributed` or `lead.recalled` per previous
    /// holder (a distribution has one, the leader; a recall one per member it takes back
    /// from), to the new owner's org, its `leadIds` in id order.
    async fn transfer_events(
        &self,
        txn: &WriteTxn,
        handovers: &[Handover],
        holders: &HashMap<Uuid, Holder>,
    ) -> Result<Vec<Outgoing>, RepoError> {
        let mut groups: BTreeMap<EventKey<'_>, (Vec<Uuid>, &Handover)> = BTreeMap::new();
        for h in handovers {
            let from = holders
                .get(&h.lead_id)
                .ok_or_else(|| RepoError::Conflict(format!("lead {} has no holder to transfer it from", h.lead_id)))?;
            let key =
                (from.mohom_id.clone(), h.next.owner_mohom_id.as_str(), h.next.owner_org_id, h.next.source.as_str());
            groups.entry(key).or_insert_with(|| (Vec::new(), h)).0.push(h.lead_id);
        }
        let mut events = Vec::with_capacity(groups.len());
        for ((from, to, org_id, _), (lead_ids, first)) in groups {
            let org = org_id.to_string();
            // The holder's org is the new owner's (transfers stay inside an org); read the
            // code only if that ever differs.
            let code = match holders.get(&first.lead_id) {
                Some(h) if h.org_id == org => h.org_code.clone(),
                _ => self.db.event_directory().org_code(&**txn, &org).await?.to_string(),
            };
            let at = first.next.assigned_at;
            let event = if first.next.source == AssignmentSource::Recalled {
                let payload = LeadsRecalled {
                    lead_ids,
                    from_mohom_id: from,
                    to_mohom_id: to.to_owned(),
                    recalled_at: event_time(at),
                };
                Event::new(org_id, &code, &payload, at)
            } else {
                let payload = LeadsDistributed {
                    lead_ids,
                    from_mohom_id: from,
                    to_mohom_id: to.to_owned(),
                    distributed_at: event_time(at),
                };
                Event::new(org_id, &code, &payload, at)
            };
            events.push(Outgoing::from(event));
        }
        Ok(events)
    }

    /// Reads the candidates of `ids`, lets `decide` choose the moves, and writes them with
    /// their events, in one transaction (see the module invariants).
    ///
    /// # Errors
    /// Storage failures; [`RepoError::Conflict`] when a lead changed concurrently.
    pub(crate) async fn run_transfer<D>(&self, ids: &[Uuid], decide: D) -> Result<TransferOutcome, RepoError>
    where
        D: FnOnce(&[TransferCandidate]) -> Result<Vec<Handover>, (Uuid, TransferRefusal)>,
    {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let (candidates, holders) = self.candidates(&*txn, ids).await?;
        let mut handovers = match decide(&candidates) {
            Ok(handovers) => handovers,
            Err(refused) => return Ok(Err(refused)),
        };
        handovers.sort_by_key(|h| h.lead_id);
        let events = self.transfer_events(&txn, &handovers, &holders).await?;
        let insert = if events.is_empty() {
            None
        } else {
            let rows = outbox::rows(&self.keyring, &events, txn.outbox_signal().nats_wanted())?;
            Some(outbox::insert_part(rows))
        };
        let moved = Self::hand_over(&*txn, &handovers, insert.as_ref()).await?;
        if insert.is_some() {
            txn.events_written();
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(Ok(moved))
    }

    /// DB 분배: moves every lead from `leader` to `recipient`, all or nothing.
    ///
    /// # Errors
    /// Storage failures; [`RepoError::Conflict`] when a lead changed concurrently.
    pub async fn distribute(
        &self,
        leader: &User,
        recipient: &User,
        ids: &[Uuid],
        now: OffsetDateTime,
    ) -> Result<TransferOutcome, RepoError> {
        self.run_transfer(ids, |candidates| plan_distribution(ids, candidates, leader, recipient, now)).await
    }

    /// DB 분배 회수: gives every lead back to `leader` with the rights they had before,
    /// all or nothing.
    ///
    /// # Errors
    /// Storage failures; [`RepoError::Conflict`] when a lead changed concurrently.
    pub async fn recall(&self, leader: &User, ids: &[Uuid], now: OffsetDateTime) -> Result<TransferOutcome, RepoError> {
        self.run_transfer(ids, |candidates| plan_recall(ids, candidates, leader, now)).await
    }

    /// Writes the moves (see the module invariants): every open assignment they end is
    /// ended, every next one opened, every lead row moved onto it, and `events` (the
    /// outbox insert of their events) written, or [`RepoError::Conflict`].
    async fn hand_over(
        conn: &impl ConnectionTrait,
        handovers: &[Handover],
        events: Option<&InsertStatement>,
    ) -> Result<Vec<(Uuid, Uuid)>, RepoError> {
        if handovers.is_empty() {
            return Ok(Vec::new());
        }
        let next_ids: Vec<Uuid> = handovers.iter().map(|_| new_id()).collect();
        let moves: Vec<Vec<Value>> = handovers.iter().zip(&next_ids).map(|(h, id)| move_values(h, *id)).collect();
        let expected = u64::try_from(moves.len()).unwrap_or(u64::MAX);
        if conn.get_database_backend() == DbBackend::Postgres {
            let row = conn.query_one_raw(together_sql(&moves, events)).await.map_err(write_failed)?;
            let row = row.ok_or_else(|| RepoError::Unavailable("the transfer write returned no counts".to_owned()))?;
            for name in ["n_ended", "n_opened", "n_moved"] {
                if u64::try_from(row.try_get::<i64>("", name).map_err(unavailable)?).ok() != Some(expected) {
                    return Err(list_changed());
                }
            }
        } else {
            if conn.execute_raw(part_sql(END_SQL, &moves)).await.map_err(unavailable)?.rows_affected() != expected {
                return Err(list_changed());
            }
            conn.execute_raw(part_sql(OPEN_SQL, &moves)).await.map_err(write_failed)?;
            if conn.execute_raw(part_sql(MOVE_SQL, &moves)).await.map_err(unavailable)?.rows_affected() != expected {
                return Err(list_changed());
            }
            if let Some(insert) = events {
                conn.execute(insert).await.map_err(unavailable)?;
            }
        }
        Ok(handovers.iter().map(|h| h.lead_id).zip(next_ids).collect())
    }

    /// Open assignments per lead (for invariant checks): leads with other than one.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn leads_without_exactly_one_open_assignment(&self) -> Result<u64, RepoError> {
        let conn = self.db.conn();
        let open: Vec<(String, i64)> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::LeadId)
            .column_as(Expr::from(Func::count(Expr::col(assignment::Column::Id))), "n")
            .filter(assignment::Column::EndedAt.is_null())
            .group_by(assignment::Column::LeadId)
            .into_tuple()
            .all(conn)
            .await
            .map_err(unavailable)?;
        let leads = lead::Entity::find().count(conn).await.map_err(unavailable)?;
        let well = open.iter().filter(|(_, n)| *n == 1).count() as u64;
        Ok(leads - std::cmp::Ord::min(well, leads))
    }
}
