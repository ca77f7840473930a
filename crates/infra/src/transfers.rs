//! Distribution and recall (DB 분배, 분배 회수): the writes that move leads between users.
//!
//! The domain decides every move (`domain::lead::plan_distribution`, `plan_recall`); this
//! module reads what it decides on and writes what it decided.
//!
//! Invariants:
//! - the candidates are read and the moves written in one write transaction, all or
//!   nothing: a refusal writes nothing;
//! - every write is conditional on nothing having changed since the read (the ended
//!   assignment still open, the lead row still on it); a short count is
//!   [`RepoError::Conflict`] and the transaction is dropped;
//! - the partial unique index keeps one open assignment per lead, so two transfers racing
//!   on a lead move it once;
//! - leads are written in id order; a list of uniform moves (a distribution) costs three
//!   statements whatever its length.

use std::collections::HashMap;

use domain::error::RepoError;
use domain::identity::User;
use domain::ids::new_id;
use domain::lead::{
    AssignmentSource, Handover, NextAssignment, PriorAssignment, TransferCandidate, TransferOutcome, TransferRefusal,
    plan_distribution, plan_recall,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entities::{assignment, lead};
use crate::error::unavailable;
use crate::leads::{SeaLeadRepository, uuid};
use crate::{from_millis, to_millis};

fn changed(lead: impl std::fmt::Display) -> RepoError {
    RepoError::Conflict(format!("lead {lead} changed meanwhile"))
}

fn list_changed() -> RepoError {
    RepoError::Conflict("a lead of the list changed meanwhile".to_owned())
}

fn text(id: Option<Uuid>) -> Option<String> {
    id.map(|id| id.to_string())
}

/// The assignment row `next` opens for `lead_id`.
fn next_row(id: &str, lead_id: Uuid, next: &NextAssignment) -> assignment::ActiveModel {
    assignment::ActiveModel {
        id: Set(id.to_owned()),
        lead_id: Set(lead_id.to_string()),
        owner_user_id: Set(next.owner_user_id.to_string()),
        owner_org_id: Set(next.owner_org_id.to_string()),
        source: Set(next.source.as_str().to_owned()),
        distributor_user_id: Set(text(next.distributor_user_id)),
        order_line_id: Set(text(next.order_line_id)),
        restored_from_id: Set(text(next.restored_from_id)),
        assigned_at: Set(to_millis(next.assigned_at)),
        used_at: Set(next.used_at.map(to_millis)),
        ended_at: Set(None),
        end_reason: Set(None),
    }
}

/// Whether two moves write the same lead columns (all but the new assignment's id).
fn same_columns(a: &NextAssignment, b: &NextAssignment) -> bool {
    (a.owner_user_id, a.owner_org_id, a.source, a.distributor_user_id, a.used_at, a.assigned_at)
        == (b.owner_user_id, b.owner_org_id, b.source, b.distributor_user_id, b.used_at, b.assigned_at)
}

impl SeaLeadRepository {
    /// The leads of `ids` that exist, each with the assignment its open one was handed
    /// over from; four queries whatever the number of ids.
    async fn candidates(&self, conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<TransferCandidate>, RepoError> {
        let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let rows = lead::Entity::find().filter(lead::Column::Id.is_in(keys)).all(conn).await.map_err(unavailable)?;
        let open: Vec<String> = rows.iter().filter_map(|r| r.assignment_id.clone()).collect();
        let leads = self.hydrate(conn, rows).await?;
        let handed_from: HashMap<String, String> = assignment::Entity::find()
            .filter(assignment::Column::Id.is_in(open))
            .all(conn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|a| a.restored_from_id.map(|from| (a.id, from)))
            .collect();
        let priors: HashMap<String, assignment::Model> = assignment::Entity::find()
            .filter(assignment::Column::Id.is_in(handed_from.values().cloned().collect::<Vec<_>>()))
            .all(conn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        leads
            .into_iter()
            .map(|lead| {
                let prior = lead
                    .assignment
                    .as_ref()
                    .and_then(|a| handed_from.get(&a.id.to_string()))
                    .and_then(|from| priors.get(from));
                let handed_over_from = prior
                    .map(|p| {
                        let at = &p.lead_id;
                        Ok::<_, RepoError>(PriorAssignment {
                            id: uuid(at, &p.id)?,
                            used_at: p.used_at.map(from_millis),
                            distributor_user_id: p.distributor_user_id.as_deref().map(|d| uuid(at, d)).transpose()?,
                            order_line_id: p.order_line_id.as_deref().map(|o| uuid(at, o)).transpose()?,
                            restored_from_id: p.restored_from_id.as_deref().map(|r| uuid(at, r)).transpose()?,
                        })
                    })
                    .transpose()?;
                Ok(TransferCandidate { lead, handed_over_from })
            })
            .collect()
    }

    /// Reads the candidates of `ids`, lets `decide` choose the moves, and writes them, in
    /// one transaction (see the module invariants).
    ///
    /// # Errors
    /// Storage failures; [`RepoError::Conflict`] when a lead changed concurrently.
    pub(crate) async fn run_transfer<D>(&self, ids: &[Uuid], decide: D) -> Result<TransferOutcome, RepoError>
    where
        D: FnOnce(&[TransferCandidate]) -> Result<Vec<Handover>, (Uuid, TransferRefusal)>,
    {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let candidates = self.candidates(&*txn, ids).await?;
        let mut handovers = match decide(&candidates) {
            Ok(handovers) => handovers,
            Err(refused) => return Ok(Err(refused)),
        };
        handovers.sort_by_key(|h| h.lead_id);
        let uniform = handovers.windows(2).all(|w| same_columns(&w[0].next, &w[1].next));
        let moved = if uniform {
            Self::hand_over_together(&*txn, &handovers).await?
        } else {
            let mut moved = Vec::with_capacity(handovers.len());
            for handover in &handovers {
                moved.push(Self::hand_over(&*txn, handover).await?);
            }
            moved
        };
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

    /// The lead columns a move sets, besides its assignment id.
    fn lead_columns(next: &NextAssignment) -> lead::ActiveModel {
        let at = to_millis(next.assigned_at);
        let mut update = lead::ActiveModel {
            owner_user_id: Set(Some(next.owner_user_id.to_string())),
            owner_org_id: Set(Some(next.owner_org_id.to_string())),
            assignment_source: Set(Some(next.source.as_str().to_owned())),
            distributor_user_id: Set(text(next.distributor_user_id)),
            assigned_at: Set(Some(at)),
            used_at: Set(next.used_at.map(to_millis)),
            updated_at: Set(at),
            ..Default::default()
        };
        if next.source == AssignmentSource::Distributed {
            update.last_distributed_at = Set(Some(at));
        }
        update
    }

    /// One move: ends the open assignment, opens the next, moves the lead row to it.
    async fn hand_over(conn: &impl ConnectionTrait, handover: &Handover) -> Result<(Uuid, Uuid), RepoError> {
        let (lead_id, ends) = (handover.lead_id.to_string(), handover.ends.to_string());
        let next = &handover.next;
        let now_ms = to_millis(next.assigned_at);
        let ended = assignment::Entity::update_many()
            .col_expr(assignment::Column::EndedAt, Expr::value(now_ms))
            .col_expr(assignment::Column::EndReason, Expr::value(next.source.as_str()))
            .filter(assignment::Column::Id.eq(ends.as_str()))
            .filter(assignment::Column::EndedAt.is_null())
            .exec(conn)
            .await
            .map_err(unavailable)?;
        if ended.rows_affected != 1 {
            return Err(changed(&lead_id));
        }
        let next_id = new_id();
        let row = next_row(&next_id.to_string(), handover.lead_id, next);
        assignment::Entity::insert(row).exec_without_returning(conn).await.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => changed(&lead_id),
            _ => unavailable(e),
        })?;
        let mut update = Self::lead_columns(next);
        update.assignment_id = Set(Some(next_id.to_string()));
        let moved = lead::Entity::update_many()
            .set(update)
            .filter(lead::Column::Id.eq(lead_id.as_str()))
            .filter(lead::Column::AssignmentId.eq(ends.as_str()))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        if moved.rows_affected != 1 {
            return Err(changed(&lead_id));
        }
        Ok((handover.lead_id, next_id))
    }

    /// Moves that set the same lead columns, in three statements for the whole list (the
    /// open assignments ended, the new ones inserted, the lead rows moved).
    async fn hand_over_together(
        conn: &impl ConnectionTrait,
        handovers: &[Handover],
    ) -> Result<Vec<(Uuid, Uuid)>, RepoError> {
        let Some(first) = handovers.first() else { return Ok(Vec::new()) };
        let next = &first.next;
        let now_ms = to_millis(next.assigned_at);
        let expected = u64::try_from(handovers.len()).unwrap_or(u64::MAX);
        let ends: Vec<String> = handovers.iter().map(|h| h.ends.to_string()).collect();
        let next_ids: Vec<Uuid> = handovers.iter().map(|_| new_id()).collect();
        let ended = assignment::Entity::update_many()
            .col_expr(assignment::Column::EndedAt, Expr::value(now_ms))
            .col_expr(assignment::Column::EndReason, Expr::value(next.source.as_str()))
            .filter(assignment::Column::Id.is_in(ends.iter().map(String::as_str)))
            .filter(assignment::Column::EndedAt.is_null())
            .exec(conn)
            .await
            .map_err(unavailable)?;
        if ended.rows_affected != expected {
            return Err(list_changed());
        }
        let rows = handovers.iter().zip(&next_ids).map(|(h, id)| next_row(&id.to_string(), h.lead_id, &h.next));
        assignment::Entity::insert_many(rows).exec_without_returning(conn).await.map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => list_changed(),
            _ => unavailable(e),
        })?;
        // Each lead's new assignment id; an assignment id belongs to one lead, so
        // `assignment_id IN (ends)` holds for a lead exactly when it is still its own.
        let pairs: Vec<(String, String)> =
            handovers.iter().zip(&next_ids).map(|(h, id)| (h.lead_id.to_string(), id.to_string())).collect();
        let mut case =
            Expr::case(Expr::col(lead::Column::Id).eq(pairs[0].0.as_str()), Expr::value(pairs[0].1.as_str()));
        for (lead_id, next_id) in &pairs[1..] {
            case = case.case(Expr::col(lead::Column::Id).eq(lead_id.as_str()), Expr::value(next_id.as_str()));
        }
        let moved_rows = lead::Entity::update_many()
            .set(Self::lead_columns(next))
            .col_expr(lead::Column::AssignmentId, case.finally(Expr::col(lead::Column::AssignmentId)).into())
            .filter(lead::Column::Id.is_in(pairs.iter().map(|(lead_id, _)| lead_id.as_str())))
            .filter(lead::Column::AssignmentId.is_in(ends.iter().map(String::as_str)))
            .exec(conn)
            .await
            .map_err(unavailable)?;
        if moved_rows.rows_affected != expected {
            return Err(list_changed());
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
