//! A locked queue: its row held (`FOR UPDATE` on PostgreSQL, the write gate on SQLite),
//! its live members and their ledger in memory, every decision of the transaction made
//! there by the engine, and each changed member written back once.
//!
//! Invariants:
//! - nothing here reads or writes a queue's members or cases without holding the queue's
//!   row: [`lock_queue`], [`lock_queue_by_key`] and [`lock_member_queue`] are the only
//!   ways to get a [`Locked`];
//! - a member's row is written back guarded by the `open_cases` read under the lock, so a
//!   write that bypassed the lock is a `Conflict`, never a silent overwrite;
//! - a case is assigned by a conditional update (`WAITING` → `ASSIGNED`), and an AS-review
//!   case starts its AS's review in the same transaction;
//! - every assignment (a sweep's, a new case's, a manual one) is noted in
//!   [`Locked::assigned`] as its `counsel.case.assigned` payload (`aempId` the member's
//!   login id, read with the members' users at no extra statement); the transaction's
//!   owner writes them all with one outbox insert before it commits
//!   (`counsel::write_assigned`), the entry points for other transactions return them.

use std::collections::HashMap;

use domain::allocation::{Eligibility, Explanation, Slot, Stored, pick_stored};
use domain::counsel::{AssignKind, CaseOutcome, CaseStatus, NewCounselCase, QueueKey};
use domain::counsel_ledger::{freeze, manual_pick};
use domain::error::RepoError;
use domain::events::{CounselCaseAssigned, event_time};
use domain::identity::UserStatus;
use domain::ids::new_id;
use domain::reference::AllocationPolicy;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Assigned, CUST_TEL_INDEX, CounselError, count, ctx, db, stored_pick};
use crate::as_claims::transitions;
use crate::crypto::{COUNSEL_ACCP_CONT, Keyring};
use crate::entities::{counsel_case, counsel_member, counsel_queue, user};
use crate::error::{corrupt, unavailable};
use crate::to_millis;

/// A membership as the locked queue holds it.
pub(super) struct Member {
    pub(super) row: counsel_member::Model,
    pub(super) active: bool,
    /// The member's login id (`aempId` in events).
    pub(super) login: String,
    pub(super) weight: i64,
    pub(super) capacity: i64,
    pub(super) possible: bool,
    pub(super) open: i64,
    pub(super) credit: i64,
    pub(super) at: Option<u64>,
    pub(super) last_assigned_at: Option<i64>,
    pub(super) dirty: bool,
}

impl Member {
    pub(super) fn eligibility(&self) -> Eligibility {
        domain::counsel::member_eligibility(self.possible, self.active, count(self.open), count(self.capacity))
    }

    pub(super) fn slot(&self) -> (Slot<i64>, Option<u64>) {
        let slot = Slot {
            id: self.row.auto_div_no,
            weight: count(self.weight),
            credit: self.credit,
            // Ties: the least recently assigned first (never assigned: first of all).
            tiebreak: self.last_assigned_at.unwrap_or(i64::MIN),
            load: count(self.open),
            eligibility: self.eligibility(),
        };
        (slot, self.at)
    }
}

/// An assignment decided in memory.
pub(super) struct Decided {
    pub(super) auto_div_no: i64,
    pub(super) user_id: String,
    pub(super) explanation: String,
}

/// A queue whose row this transaction holds locked.
pub(super) struct Locked {
    pub(super) queue: counsel_queue::Model,
    pub(super) policy: AllocationPolicy,
    pub(super) picks: u64,
    pub(super) members: Vec<Member>,
    /// The cases this transaction assigned in the queue, for their events.
    pub(super) assigned: Assigned,
}

impl Locked {
    pub(super) fn member_mut(&mut self, auto_div_no: i64) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.row.auto_div_no == auto_div_no)
    }

    pub(super) fn slots(&self) -> Vec<(Slot<i64>, Option<u64>)> {
        self.members.iter().map(Member::slot).collect()
    }

    /// Free places among the eligible members: an upper bound on what a sweep assigns.
    pub(super) fn room(&self) -> u64 {
        self.members
            .iter()
            .filter(|m| m.eligibility() == Eligibility::Eligible)
            .map(|m| count(m.capacity - m.open))
            .sum()
    }

    pub(super) fn apply(&mut self, writes: &[(i64, Stored)]) {
        for (id, stored) in writes {
            if let Some(m) = self.member_mut(*id) {
                m.credit = stored.credit;
                m.at = stored.at;
                m.dirty = true;
            }
        }
    }

    pub(super) fn explain(
        &self,
        explanation: &Explanation<i64>,
        kind: AssignKind,
        chosen: i64,
        actor: Option<&str>,
    ) -> String {
        let user = |id: i64| self.members.iter().find(|m| m.row.auto_div_no == id).map(|m| m.row.user_id.clone());
        let considered: Vec<serde_json::Value> = explanation
            .considered
            .iter()
            .map(|c| json!({ "autoDivNo": c.id, "userId": user(c.id), "credit": c.credit, "load": c.load }))
            .collect();
        let skipped: Vec<serde_json::Value> = explanation
            .skipped
            .iter()
            .map(|(id, why)| json!({ "autoDivNo": id, "userId": user(*id), "reason": why.as_str() }))
            .collect();
        let mut value = json!({
            "policy": explanation.policy.as_str(),
            "kind": kind.as_str(),
            "chosen": chosen,
            "pick": self.picks,
            "considered": considered,
            "skipped": skipped,
        });
        if let (Some(actor), Some(map)) = (actor, value.as_object_mut()) {
            map.insert("by".to_owned(), json!(actor));
        }
        value.to_string()
    }

    /// Notes that case `cnsl_no` went to `decided`'s member at `now` (its event).
    pub(super) fn record(&mut self, cnsl_no: &str, decided: &Decided, now: OffsetDateTime) {
        let login = self.members.iter().find(|m| m.row.auto_div_no == decided.auto_div_no).map(|m| m.login.clone());
        let payload = CounselCaseAssigned {
            cnsl_no: cnsl_no.to_owned(),
            aemp_id: login.unwrap_or_default(),
            auto_div_gb_cd: self.queue.auto_div_gb_cd.clone(),
            auto_div_dtl_no: self.queue.auto_div_dtl_no.clone(),
            assigned_at: event_time(now),
        };
        self.assigned.push(payload, now);
    }

    pub(super) fn take(&mut self, auto_div_no: i64, now_ms: i64) -> Option<String> {
        let m = self.member_mut(auto_div_no)?;
        m.open += 1;
        m.last_assigned_at = Some(now_ms);
        m.dirty = true;
        Some(m.row.user_id.clone())
    }

    /// Offers one case to the engine; the chosen member is charged in memory.
    pub(super) fn offer(&mut self, now_ms: i64) -> Option<Decided> {
        let decision = pick_stored(self.policy, self.picks, &self.slots());
        self.apply(&decision.writes);
        let pick = decision.outcome.ok()?;
        self.picks = decision.picks;
        let explanation = self.explain(&pick.explanation, AssignKind::Auto, pick.chosen, None);
        let user_id = self.take(pick.chosen, now_ms)?;
        Some(Decided { auto_div_no: pick.chosen, user_id, explanation })
    }

    /// A person's choice of member, counted as a pick of that member among the members
    /// in rotation (flag `Y`, active): one at its capacity still counts, as capacity is a
    /// limit, not a reason to be owed less; the target pays the total of their weights.
    pub(super) fn assign_manually(&mut self, auto_div_no: i64, actor: &str, now_ms: i64) -> Option<Decided> {
        let slots: Vec<(Slot<i64>, Option<u64>)> = self
            .members
            .iter()
            .map(|m| {
                let (mut slot, at) = m.slot();
                if m.possible && m.active {
                    slot.eligibility = Eligibility::Eligible;
                }
                (slot, at)
            })
            .collect();
        let decision = manual_pick(self.policy, self.picks, &slots, &auto_div_no)?;
        self.apply(&decision.writes);
        self.picks = decision.picks;
        let explanation = self.explain(&decision.explanation, AssignKind::Manual, auto_div_no, Some(actor));
        let user_id = self.take(auto_div_no, now_ms)?;
        Some(Decided { auto_div_no, user_id, explanation })
    }

    /// Takes a member out of the ledger now, at its live credit.
    pub(super) fn freeze(&mut self, auto_div_no: i64) {
        let (policy, picks) = (self.policy, self.picks);
        if let Some(m) = self.member_mut(auto_div_no)
            && m.at.is_some()
        {
            let (slot, at) = m.slot();
            let stored = freeze(policy, picks, &slot, at);
            m.credit = stored.credit;
            m.at = stored.at;
            m.dirty = true;
        }
    }

    /// Writes the changed members and the clock (guarded by the counts read under the lock).
    pub(super) async fn save(&self, conn: &impl ConnectionTrait, now_ms: i64) -> Result<(), RepoError> {
        for m in self.members.iter().filter(|m| m.dirty) {
            let done = counsel_member::Entity::update_many()
                .col_expr(counsel_member::Column::Weight, Expr::value(m.weight))
                .col_expr(counsel_member::Column::Capacity, Expr::value(m.capacity))
                .col_expr(counsel_member::Column::PossibleYn, Expr::value(m.possible))
                .col_expr(counsel_member::Column::OpenCases, Expr::value(m.open))
                .col_expr(counsel_member::Column::Credit, Expr::value(m.credit))
                .col_expr(counsel_member::Column::CreditPick, Expr::value(stored_pick(m.at)))
                .col_expr(counsel_member::Column::LastAssignedAt, Expr::value(m.last_assigned_at))
                .col_expr(counsel_member::Column::UpdatedAt, Expr::value(now_ms))
                .filter(counsel_member::Column::AutoDivNo.eq(m.row.auto_div_no))
                .filter(counsel_member::Column::OpenCases.eq(m.row.open_cases))
                .filter(counsel_member::Column::RemovedAt.is_null())
                .exec(conn)
                .await
                .map_err(unavailable)?;
            if done.rows_affected != 1 {
                return Err(RepoError::Conflict(format!(
                    "counsel member {} changed outside its queue lock",
                    m.row.auto_div_no
                )));
            }
        }
        if i64::try_from(self.picks).unwrap_or(i64::MAX) != self.queue.picks {
            counsel_queue::Entity::update_many()
                .col_expr(counsel_queue::Column::Picks, Expr::value(i64::try_from(self.picks).unwrap_or(i64::MAX)))
                .filter(counsel_queue::Column::Id.eq(self.queue.id.as_str()))
                .exec(conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

/// Locks a queue's row by id and loads its live members.
pub(super) async fn lock_queue(conn: &impl ConnectionTrait, queue_id: &str) -> Result<Option<Locked>, RepoError> {
    let Some(queue) =
        counsel_queue::Entity::find_by_id(queue_id.to_owned()).lock_exclusive().one(conn).await.map_err(unavailable)?
    else {
        return Ok(None);
    };
    load_locked(conn, queue).await.map(Some)
}

/// Locks a queue's row by key and loads its live members.
pub(super) async fn lock_queue_by_key(
    conn: &impl ConnectionTrait,
    key: &QueueKey,
) -> Result<Option<Locked>, RepoError> {
    let Some(queue) = counsel_queue::Entity::find()
        .filter(counsel_queue::Column::AutoDivGbCd.eq(key.group.as_str()))
        .filter(counsel_queue::Column::AutoDivDtlNo.eq(key.detail.as_str()))
        .lock_exclusive()
        .one(conn)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    load_locked(conn, queue).await.map(Some)
}

pub(super) async fn load_locked(conn: &impl ConnectionTrait, queue: counsel_queue::Model) -> Result<Locked, RepoError> {
    let policy: AllocationPolicy = queue.policy.parse().map_err(|e| corrupt("counsel_queues", &queue.id, e))?;
    let rows = counsel_member::Entity::find()
        .filter(counsel_member::Column::QueueId.eq(queue.id.as_str()))
        .filter(counsel_member::Column::RemovedAt.is_null())
        .order_by_asc(counsel_member::Column::AutoDivNo)
        .all(conn)
        .await
        .map_err(unavailable)?;
    let user_ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let users: HashMap<String, (bool, String)> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(conn)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|u| (u.id, (u.status == UserStatus::Active.as_str(), u.mohom_id)))
        .collect();
    let members = rows
        .into_iter()
        .map(|row| Member {
            active: users.get(&row.user_id).is_some_and(|u| u.0),
            login: users.get(&row.user_id).map(|u| u.1.clone()).unwrap_or_default(),
            weight: row.weight,
            capacity: row.capacity,
            possible: row.possible_yn,
            open: row.open_cases,
            credit: row.credit,
            at: row.credit_pick.and_then(|p| u64::try_from(p).ok()),
            last_assigned_at: row.last_assigned_at,
            dirty: false,
            row,
        })
        .collect();
    Ok(Locked { picks: count(queue.picks), policy, queue, members, assigned: Assigned::default() })
}

/// Marks a waiting case assigned (guarded: it must still be waiting) and starts the
/// review of its AS request, if any.
#[allow(clippy::too_many_arguments)]
pub(super) async fn assign_case(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    case: &counsel_case::Model,
    decided: &Decided,
    kind: AssignKind,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let now_ms = to_millis(now);
    let done = counsel_case::Entity::update_many()
        .col_expr(counsel_case::Column::Status, Expr::value(CaseStatus::Assigned.as_str()))
        .col_expr(counsel_case::Column::AssigneeUserId, Expr::value(decided.user_id.clone()))
        .col_expr(counsel_case::Column::AutoDivNo, Expr::value(decided.auto_div_no))
        .col_expr(counsel_case::Column::AssignKind, Expr::value(kind.as_str()))
        .col_expr(counsel_case::Column::Explanation, Expr::value(decided.explanation.clone()))
        .col_expr(counsel_case::Column::AssignedAt, Expr::value(now_ms))
        .filter(counsel_case::Column::CnslNo.eq(case.cnsl_no.as_str()))
        .filter(counsel_case::Column::Status.eq(CaseStatus::Waiting.as_str()))
        .exec(conn)
        .await
        .map_err(unavailable)?;
    if done.rows_affected != 1 {
        return Err(RepoError::Conflict(format!("counsel case {} changed outside its queue lock", case.cnsl_no)));
    }
    start_review(conn, keyring, case.as_id.as_deref(), actor, now).await
}

pub(super) async fn start_review(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_id: Option<&str>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    if let Some(as_id) = as_id {
        let id = as_id.parse().map_err(|e| corrupt("counsel_cases", as_id, e))?;
        transitions::start_review(conn, keyring, id, actor, now).await?;
    }
    Ok(())
}

/// Offers the queue's waiting cases, oldest first, until nobody can take one.
pub(super) async fn sweep(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    locked: &mut Locked,
    actor: &str,
    now: OffsetDateTime,
) -> Result<u64, RepoError> {
    let room = locked.room();
    if room == 0 {
        return Ok(0);
    }
    let waiting = counsel_case::Entity::find()
        .filter(counsel_case::Column::QueueId.eq(locked.queue.id.as_str()))
        .filter(counsel_case::Column::Status.eq(CaseStatus::Waiting.as_str()))
        .order_by_asc(counsel_case::Column::CreatedAt)
        .order_by_asc(counsel_case::Column::CnslNo)
        .limit(room)
        .all(conn)
        .await
        .map_err(unavailable)?;
    let now_ms = to_millis(now);
    let mut assigned = 0;
    for case in &waiting {
        let Some(decided) = locked.offer(now_ms) else { break };
        assign_case(conn, keyring, case, &decided, AssignKind::Auto, actor, now).await?;
        locked.record(&case.cnsl_no, &decided, now);
        assigned += 1;
    }
    Ok(assigned)
}

/// The new cases of a locked queue: the backlog first, then each case offered in order;
/// rows inserted with their assignment, AS reviews started, the ledger saved.
pub(super) async fn create_in_locked(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    locked: &mut Locked,
    cases: &[NewCounselCase],
    actor: &str,
    now: OffsetDateTime,
) -> Result<Vec<CaseOutcome>, RepoError> {
    let now_ms = to_millis(now);
    sweep(conn, keyring, locked, actor, now).await?;
    let mut rows = Vec::with_capacity(cases.len());
    let mut outcomes = Vec::with_capacity(cases.len());
    let mut reviews = Vec::new();
    for new in cases {
        let cnsl_no = new_id();
        let mut row = case_row(keyring, &cnsl_no.to_string(), &locked.queue.id, new, now_ms)?;
        let mut assignee = None;
        if let Some(decided) = locked.offer(now_ms) {
            let user_id: Uuid = decided.user_id.parse().map_err(|e| corrupt("users", &decided.user_id, e))?;
            locked.record(&cnsl_no.to_string(), &decided, now);
            row.status = Set(CaseStatus::Assigned.as_str().to_owned());
            row.assignee_user_id = Set(Some(decided.user_id.clone()));
            row.auto_div_no = Set(Some(decided.auto_div_no));
            row.assign_kind = Set(Some(AssignKind::Auto.as_str().to_owned()));
            row.explanation = Set(Some(decided.explanation));
            row.assigned_at = Set(Some(now_ms));
            assignee = Some((decided.auto_div_no, user_id));
            if let Some(as_id) = new.as_id {
                reviews.push(as_id.to_string());
            }
        }
        rows.push(row);
        outcomes.push(CaseOutcome { cnsl_no, assignee });
    }
    // 100 rows × 20 columns stays far below both databases' bind limits.
    for chunk in rows.chunks(100) {
        counsel_case::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(|e| {
            match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => RepoError::Conflict("counsel_cases.as_id".to_owned()),
                _ => unavailable(e),
            }
        })?;
    }
    for as_id in reviews {
        start_review(conn, keyring, Some(&as_id), actor, now).await?;
    }
    locked.save(conn, now_ms).await?;
    Ok(outcomes)
}

pub(super) fn case_row(
    keyring: &Keyring,
    id: &str,
    queue_id: &str,
    new: &NewCounselCase,
    now_ms: i64,
) -> Result<counsel_case::ActiveModel, RepoError> {
    let seal = |column: &str, text: &str| {
        keyring.encrypt_str(text, &ctx(column, id)).map_err(|e| corrupt("counsel_cases", id, e))
    };
    let (accp_cont_enc, accp_cont_key_id) = COUNSEL_ACCP_CONT
        .seal_opt(keyring, id, new.accp_cont.as_deref())
        .map_err(|e| corrupt("counsel_cases", id, e))?;
    Ok(counsel_case::ActiveModel {
        cnsl_no: Set(id.to_owned()),
        queue_id: Set(queue_id.to_owned()),
        cnsl_typ_no: Set(new.cnsl_typ_no.clone()),
        ob_typ_no: Set(new.ob_typ_no.clone()),
        mbr_no: Set(new.mbr_no.clone()),
        ord_no: Set(new.ord_no.clone()),
        accp_cont: Set(None),
        accp_cont_enc: Set(accp_cont_enc),
        accp_cont_key_id: Set(accp_cont_key_id),
        cust_nm_enc: Set(new.cust_nm.as_ref().map(|n| seal("cust_nm", n.as_str())).transpose()?),
        cust_tel_enc: Set(new.cust_tel.as_ref().map(|p| seal("cust_tel", p.e164())).transpose()?),
        cust_tel_bidx: Set(new.cust_tel.as_ref().map(|p| keyring.blind_index(&CUST_TEL_INDEX, p.e164()))),
        enc_key_id: Set(i32::try_from(keyring.active_key_id()).unwrap_or(i32::MAX)),
        status: Set(CaseStatus::Waiting.as_str().to_owned()),
        assignee_user_id: Set(None),
        auto_div_no: Set(None),
        assign_kind: Set(None),
        explanation: Set(None),
        as_id: Set(new.as_id.map(|a| a.to_string())),
        created_at: Set(now_ms),
        assigned_at: Set(None),
        completed_at: Set(None),
    })
}

/// Opens one case in the caller's transaction (the AS claim's): locks the queue, offers
/// the case and, when assigned, starts the AS review. No such queue: `Ok(None)` (no
/// AS-review queue configured means no case). Also returns the cases it assigned (this
/// one, and any the sweep before it placed), whose events the caller writes.
///
/// # Errors
/// Storage failures.
pub(crate) async fn open_case_in(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    key: &QueueKey,
    new: &NewCounselCase,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(Option<CaseOutcome>, Assigned), RepoError> {
    let Some(mut locked) = lock_queue_by_key(conn, key).await? else { return Ok((None, Assigned::default())) };
    let outcomes = create_in_locked(conn, keyring, &mut locked, std::slice::from_ref(new), actor, now).await?;
    Ok((outcomes.into_iter().next(), locked.assigned))
}

/// Completes an assigned case in the caller's transaction: frees its member's place and
/// sweeps the queue. Returns the cases the sweep assigned, whose events the caller writes.
///
/// # Errors
/// `CaseNotFound`, `CaseNotAssigned`, storage failures.
pub(crate) async fn complete_case_in(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    cnsl_no: Uuid,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Assigned, CounselError> {
    let key = cnsl_no.to_string();
    let Some(case) = counsel_case::Entity::find_by_id(key.clone()).one(conn).await.map_err(db)? else {
        return Err(CounselError::CaseNotFound(cnsl_no));
    };
    let mut locked = lock_queue(conn, &case.queue_id).await?.ok_or(CounselError::CaseNotFound(cnsl_no))?;
    let case = counsel_case::Entity::find_by_id(key.clone())
        .one(conn)
        .await
        .map_err(db)?
        .ok_or(CounselError::CaseNotFound(cnsl_no))?;
    if case.status != CaseStatus::Assigned.as_str() {
        return Err(CounselError::CaseNotAssigned(cnsl_no));
    }
    let now_ms = to_millis(now);
    let done = counsel_case::Entity::update_many()
        .col_expr(counsel_case::Column::Status, Expr::value(CaseStatus::Completed.as_str()))
        .col_expr(counsel_case::Column::CompletedAt, Expr::value(now_ms))
        .filter(counsel_case::Column::CnslNo.eq(key.as_str()))
        .filter(counsel_case::Column::Status.eq(CaseStatus::Assigned.as_str()))
        .exec(conn)
        .await
        .map_err(db)?;
    if done.rows_affected != 1 {
        return Err(CounselError::CaseNotAssigned(cnsl_no));
    }
    if let Some(m) = case.auto_div_no.and_then(|n| locked.member_mut(n)) {
        m.open = (m.open - 1).max(0);
        m.dirty = true;
    }
    sweep(conn, keyring, &mut locked, actor, now).await?;
    locked.save(conn, now_ms).await?;
    Ok(locked.assigned)
}

/// Locks the queue of a live membership and loads it.
pub(super) async fn lock_member_queue(conn: &impl ConnectionTrait, auto_div_no: i64) -> Result<Locked, CounselError> {
    let Some(row) = counsel_member::Entity::find_by_id(auto_div_no)
        .filter(counsel_member::Column::RemovedAt.is_null())
        .one(conn)
        .await
        .map_err(db)?
    else {
        return Err(CounselError::MemberNotFound(auto_div_no));
    };
    let locked = lock_queue(conn, &row.queue_id).await?.ok_or(CounselError::MemberNotFound(auto_div_no))?;
    if locked.members.iter().any(|m| m.row.auto_div_no == auto_div_no) {
        Ok(locked)
    } else {
        Err(CounselError::MemberNotFound(auto_div_no))
    }
}
