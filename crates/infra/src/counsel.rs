//! Counsel allocation storage (seed 001): queues, memberships and cases, with the
//! allocation engine (`domain::allocation::pick_stored`) deciding who receives each case.
//! The records and refusals are the domain's (`domain::counsel`); this adapter implements
//! `domain::ports::CounselStore` (`port`).
//!
//! Invariants:
//! - every writer of a queue's members or cases first locks the queue's row
//!   (`counsel_queues`, `SELECT .. FOR UPDATE` on PostgreSQL; on SQLite the write gate
//!   of [`Db::begin_write`] serializes writers), several queues in id order; the row's
//!   `picks` is the ledger's clock. So the members need no row locks, a case is assigned
//!   once, and a member's `open_cases` never passes its capacity through a pick;
//! - a membership is written only for a user `domain::counsel::candidate_refusal`
//!   accepts, judged under the queue's lock;
//! - a case goes to an eligible membership (`domain::counsel::member_eligibility`: flag
//!   `Y`, user active, under capacity) by the queue's policy, or waits (`WAITING`); every
//!   event that can make someone eligible (a flag to `Y`, a new member, more capacity, a
//!   completed case, a removed member's cases coming back) sweeps the queue's waiting
//!   cases oldest first, in the same transaction; a new case never overtakes a waiting one;
//! - the ledger is the engine's: a member leaving it (flag `N`, a weight change) stores
//!   its live credit with `credit_pick = NULL` and rejoins at that credit (no burst); a
//!   manual assignment counts as a pick of that member (`domain::counsel_ledger`);
//! - every assignment stores its explanation (policy, members considered with credits
//!   and loads, members skipped with reasons) as JSON on the case; an assigned case with
//!   an AS request moves that AS to `IN_REVIEW` (`as_claims::start_review`) in the same
//!   transaction;
//! - every assignment (automatic, by a sweep or a new case, or manual) writes one
//!   `counsel.case.assigned` event per case to the operator org (`operator_events`) in
//!   the same transaction; a transaction's assignments, however many queues they span,
//!   are one outbox insert after one read of the operator orgs (2 statements, none when
//!   nothing was assigned); the AS side's transactions write them with their own events;
//! - customer name and phone are envelopes bound to (`counsel_cases`, column, `cnsl_no`),
//!   the phone with a blind index, and so is the content `accp_cont`
//!   (`crypto::COUNSEL_ACCP_CONT`; the export's substring filter runs after decryption);
//!   refusals write nothing (one transaction per call).
//!
//! Layout: this file holds the types and the writers; `locked` the locked queue (ledger
//! in memory, sweeps, case creation, completion; also the entry points other
//! transactions call: [`open_case_in`], [`complete_case_in`]); `reads` the lists and
//! statistics; `port` the port's implementation.

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::counsel::{
    AssignKind, Candidate, CaseOutcome, CaseStatus, ManagerFacts, ManagerRefusal, MemberTerms, Membership,
    NewCounselCase, Queue, QueueKey, candidate_refusal, judge_manager,
};
use domain::error::RepoError;
use domain::events::CounselCaseAssigned;
use domain::identity::{Role, UserStatus};
use domain::ids::new_id;
use domain::reference::{AllocationPolicy, OrgKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    SqlErr,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldContext, Keyring};
use crate::db::{Db, WriteTxn};
use crate::entities::{counsel_case, counsel_member, counsel_queue, organization, user};
use crate::error::{corrupt, unavailable};
use crate::operator_events::{self, OrgRef};
use crate::outbox::{self, Outgoing};
use crate::{from_millis, to_millis};

mod locked;
mod port;
mod reads;
pub(crate) mod review;

/// The refusal type of this module's writers (the domain's), for the AS side's calls.
pub(crate) use domain::counsel::CounselError;
pub(crate) use locked::complete_case_in;
pub(crate) use locked::open_case_in;
use locked::{assign_case, create_in_locked, lock_member_queue, lock_queue, lock_queue_by_key, sweep};

/// The customer phone's blind index (sized like the users' one: ~100,000 cases a year).
pub const CUST_TEL_INDEX: BlindIndex =
    BlindIndex { table: "counsel_cases", column: "cust_tel", name: "cust_tel", bits: 16 };

/// Cases assigned in one transaction, as their `counsel.case.assigned` payloads and times.
#[derive(Debug, Default)]
pub(crate) struct Assigned(Vec<(CounselCaseAssigned, OffsetDateTime)>);

impl Assigned {
    fn push(&mut self, payload: CounselCaseAssigned, at: OffsetDateTime) {
        self.0.push((payload, at));
    }

    /// Adds `other`'s cases after these.
    pub(crate) fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One event per case and operator org.
    pub(crate) fn events(&self, operators: &[OrgRef]) -> Vec<Outgoing> {
        self.0.iter().flat_map(|(payload, at)| operator_events::to_each(operators, payload, *at)).collect()
    }
}

/// Writes the events of `assigned` in `txn`: the operator orgs read and one outbox insert
/// (nothing when no case was assigned).
///
/// # Errors
/// Storage failures.
pub(crate) async fn write_assigned(txn: &WriteTxn, keyring: &Keyring, assigned: &Assigned) -> Result<(), RepoError> {
    if assigned.is_empty() {
        return Ok(());
    }
    let operators = operator_events::operators(&**txn).await?;
    outbox::append(txn, keyring, &assigned.events(&operators)).await
}

/// A database error inside a counsel writer.
fn db(err: DbErr) -> CounselError {
    CounselError::Repo(unavailable(err))
}

/// Counsel storage over sea-orm, PII sealed with the shared keyring.
#[derive(Clone, Debug)]
pub struct SeaCounselRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

fn ctx<'a>(column: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext { table: "counsel_cases", column, row_id: id }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn stored_pick(at: Option<u64>) -> Option<i64> {
    at.map(|a| i64::try_from(a).unwrap_or(i64::MAX))
}

/// What the domain judges of a would-be member: `u` as a [`Candidate`].
fn candidate(u: &user::Model, operator_orgs: &[String]) -> Result<Candidate, RepoError> {
    let bad = |e: &dyn std::fmt::Display| corrupt("users", &u.id, e);
    Ok(Candidate {
        user_id: u.id.parse().map_err(|e| bad(&e))?,
        status: u.status.parse::<UserStatus>().map_err(|e| bad(&e))?,
        role: u.role.parse::<Role>().map_err(|e| bad(&e))?,
        operator_org: operator_orgs.contains(&u.org_id),
        dept: u.team_id.clone(),
    })
}

async fn operator_orgs(conn: &impl ConnectionTrait) -> Result<Vec<String>, RepoError> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrgKind::Operator.as_str()))
        .all(conn)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|o| o.id)
        .collect())
}

/// Users of the operator orgs with this login id.
async fn operator_users_by_mohom(conn: &impl ConnectionTrait, mohom_id: &str) -> Result<Vec<user::Model>, RepoError> {
    let orgs = operator_orgs(conn).await?;
    user::Entity::find()
        .filter(user::Column::MohomId.eq(mohom_id))
        .filter(user::Column::OrgId.is_in(orgs))
        .all(conn)
        .await
        .map_err(unavailable)
}

impl SeaCounselRepository {
    /// The id of the live user of an operator org with this login id (for `ldbds
    /// counsel`); `None` when there is none or it is not active.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn operator_user_id(&self, mohom_id: &str) -> Result<Option<Uuid>, RepoError> {
        let users = operator_users_by_mohom(self.db.conn(), mohom_id).await?;
        users
            .into_iter()
            .find(|u| u.status == UserStatus::Active.as_str())
            .map(|u| u.id.parse().map_err(|e| corrupt("users", &u.id, e)))
            .transpose()
    }
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn queue_from_row(row: &counsel_queue::Model) -> Result<Queue, RepoError> {
    let bad = |e: &dyn std::fmt::Display| corrupt("counsel_queues", &row.id, e);
    Ok(Queue {
        id: row.id.parse().map_err(|e| bad(&e))?,
        key: QueueKey::parse(&row.auto_div_gb_cd, &row.auto_div_dtl_no).map_err(|e| bad(&e))?,
        name: row.name.clone(),
        policy: row.policy.parse().map_err(|e| bad(&e))?,
        created_at: from_millis(row.created_at),
    })
}

impl SeaCounselRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    // -----------------------------------------------------------------------------------
    // Queues and memberships

    /// Creates a queue (its name a `domain::counsel::QueueName`, its policy checked by
    /// `domain::counsel::parse_queue_policy`: the use case's).
    ///
    /// # Errors
    /// `QueueExists` for a key already used; storage failures.
    pub async fn create_queue(
        &self,
        key: &QueueKey,
        name: &str,
        policy: AllocationPolicy,
        now: OffsetDateTime,
    ) -> Result<Queue, CounselError> {
        let id = new_id();
        let row = counsel_queue::ActiveModel {
            id: Set(id.to_string()),
            auto_div_gb_cd: Set(key.group.as_str().to_owned()),
            auto_div_dtl_no: Set(key.detail.clone()),
            name: Set(name.to_owned()),
            policy: Set(policy.as_str().to_owned()),
            picks: Set(0),
            created_at: Set(to_millis(now)),
        };
        let txn = self.db.begin_write().await.map_err(db)?;
        counsel_queue::Entity::insert(row)
            .exec_without_returning(&*txn)
            .await
            .map_err(|e| if is_unique_violation(&e) { CounselError::QueueExists(key.clone()) } else { db(e) })?;
        txn.commit().await.map_err(db)?;
        Ok(Queue { id, key: key.clone(), name: name.to_owned(), policy, created_at: from_millis(to_millis(now)) })
    }

    /// Every queue, by group code and detail number.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_queues(&self) -> Result<Vec<Queue>, RepoError> {
        counsel_queue::Entity::find()
            .order_by_asc(counsel_queue::Column::AutoDivGbCd)
            .order_by_asc(counsel_queue::Column::AutoDivDtlNo)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?
            .iter()
            .map(queue_from_row)
            .collect()
    }

    /// Adds a manager to a queue (joining the ledger at credit 0, the pool's mean); a
    /// member added with `Y` sweeps the queue's waiting cases.
    ///
    /// # Errors
    /// `QueueNotFound`, `NotAManager(reason)` (unknown, inactive, not a `CS_MANAGER` or
    /// `ADMIN` of the operator org), `AlreadyMember`; storage failures.
    pub async fn add_member(
        &self,
        key: &QueueKey,
        user_id: Uuid,
        terms: MemberTerms,
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        let txn = self.db.begin_write().await.map_err(db)?;
        let conn = &*txn;
        let mut locked = lock_queue_by_key(conn, key).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        let user_key = user_id.to_string();
        let Some(u) = user::Entity::find_by_id(user_key.clone()).one(conn).await.map_err(db)? else {
            return Err(CounselError::NotAManager(ManagerRefusal::UserNotFound));
        };
        if let Some(why) = candidate_refusal(&candidate(&u, &operator_orgs(conn).await?)?) {
            return Err(CounselError::NotAManager(why));
        }
        if locked.members.iter().any(|m| m.row.user_id == user_key) {
            return Err(CounselError::AlreadyMember);
        }
        let now_ms = to_millis(now);
        let row = counsel_member::ActiveModel {
            auto_div_no: NotSet,
            queue_id: Set(locked.queue.id.clone()),
            user_id: Set(user_key),
            weight: Set(i64::from(terms.weight)),
            capacity: Set(i64::from(terms.capacity)),
            possible_yn: Set(possible),
            open_cases: Set(0),
            credit: Set(0),
            credit_pick: Set(None),
            last_assigned_at: Set(None),
            created_at: Set(now_ms),
            updated_at: Set(now_ms),
            removed_at: Set(None),
        };
        let inserted = counsel_member::Entity::insert(row)
            .exec(conn)
            .await
            .map_err(|e| if is_unique_violation(&e) { CounselError::AlreadyMember } else { db(e) })?;
        let auto_div_no = inserted.last_insert_id;
        let queue_id = locked.queue.id.clone();
        locked = lock_queue(conn, &queue_id).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        if possible {
            sweep(conn, &self.keyring, &mut locked, actor, now).await?;
        }
        locked.save(conn, now_ms).await?;
        write_assigned(&txn, &self.keyring, &locked.assigned).await?;
        let membership = self.membership_in(conn, auto_div_no).await?;
        txn.commit().await.map_err(db)?;
        Ok(membership)
    }

    /// Changes a membership's weight and capacity. A weight change first takes the member
    /// out of the ledger at its live credit (it rejoins at that credit, under the new
    /// weight); the queue is swept (more capacity may let waiting cases in).
    ///
    /// # Errors
    /// `MemberNotFound`; storage failures.
    pub async fn update_member(
        &self,
        auto_div_no: i64,
        terms: MemberTerms,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        let txn = self.db.begin_write().await.map_err(db)?;
        let conn = &*txn;
        let mut locked = lock_member_queue(conn, auto_div_no).await?;
        let weight = i64::from(terms.weight);
        let changed = locked.member_mut(auto_div_no).is_some_and(|m| m.weight != weight);
        if changed {
            locked.freeze(auto_div_no);
        }
        let m = locked.member_mut(auto_div_no).ok_or(CounselError::MemberNotFound(auto_div_no))?;
        m.weight = weight;
        m.capacity = i64::from(terms.capacity);
        m.dirty = true;
        sweep(conn, &self.keyring, &mut locked, actor, now).await?;
        locked.save(conn, to_millis(now)).await?;
        write_assigned(&txn, &self.keyring, &locked.assigned).await?;
        let membership = self.membership_in(conn, auto_div_no).await?;
        txn.commit().await.map_err(db)?;
        Ok(membership)
    }

    /// Removes a membership: its assigned cases go back to `WAITING` and are swept to
    /// the others, oldest first. Returns how many cases went back.
    ///
    /// # Errors
    /// `MemberNotFound`; storage failures.
    pub async fn remove_member(&self, auto_div_no: i64, actor: &str, now: OffsetDateTime) -> Result<u64, CounselError> {
        let txn = self.db.begin_write().await.map_err(db)?;
        let conn = &*txn;
        let mut locked = lock_member_queue(conn, auto_div_no).await?;
        let now_ms = to_millis(now);
        let returned = counsel_case::Entity::update_many()
            .col_expr(counsel_case::Column::Status, Expr::value(CaseStatus::Waiting.as_str()))
            .col_expr(counsel_case::Column::AssigneeUserId, Expr::value(Option::<String>::None))
            .col_expr(counsel_case::Column::AutoDivNo, Expr::value(Option::<i64>::None))
            .col_expr(counsel_case::Column::AssignKind, Expr::value(Option::<String>::None))
            .col_expr(counsel_case::Column::Explanation, Expr::value(Option::<String>::None))
            .col_expr(counsel_case::Column::AssignedAt, Expr::value(Option::<i64>::None))
            .filter(counsel_case::Column::AutoDivNo.eq(auto_div_no))
            .filter(counsel_case::Column::Status.eq(CaseStatus::Assigned.as_str()))
            .exec(conn)
            .await
            .map_err(db)?
            .rows_affected;
        let done = counsel_member::Entity::update_many()
            .col_expr(counsel_member::Column::RemovedAt, Expr::value(now_ms))
            .col_expr(counsel_member::Column::PossibleYn, Expr::value(false))
            .col_expr(counsel_member::Column::OpenCases, Expr::value(0_i64))
            .col_expr(counsel_member::Column::UpdatedAt, Expr::value(now_ms))
            .filter(counsel_member::Column::AutoDivNo.eq(auto_div_no))
            .filter(counsel_member::Column::RemovedAt.is_null())
            .exec(conn)
            .await
            .map_err(db)?;
        if done.rows_affected != 1 {
            return Err(CounselError::MemberNotFound(auto_div_no));
        }
        locked.members.retain(|m| m.row.auto_div_no != auto_div_no);
        sweep(conn, &self.keyring, &mut locked, actor, now).await?;
        locked.save(conn, now_ms).await?;
        write_assigned(&txn, &self.keyring, &locked.assigned).await?;
        txn.commit().await.map_err(db)?;
        Ok(returned)
    }

    /// Switches memberships' allocation-possible flag, all or nothing (an unknown number
    /// refuses the whole call). Switching off takes a member out of the ledger at its
    /// live credit; switching on lets it rejoin there (no burst) and sweeps the waiting
    /// cases of the affected queues, oldest first. Returns the memberships afterwards.
    ///
    /// # Errors
    /// `MemberNotFound` (the first unknown or removed number); storage failures.
    pub async fn set_possible(
        &self,
        auto_div_nos: &[i64],
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Membership>, CounselError> {
        let numbers: BTreeSet<i64> = auto_div_nos.iter().copied().collect();
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.db.begin_write().await.map_err(db)?;
        let conn = &*txn;
        let rows = counsel_member::Entity::find()
            .filter(counsel_member::Column::AutoDivNo.is_in(numbers.iter().copied()))
            .filter(counsel_member::Column::RemovedAt.is_null())
            .all(conn)
            .await
            .map_err(db)?;
        if let Some(missing) = numbers.iter().find(|n| !rows.iter().any(|r| r.auto_div_no == **n)) {
            return Err(CounselError::MemberNotFound(*missing));
        }
        let queues: BTreeSet<String> = rows.iter().map(|r| r.queue_id.clone()).collect();
        let now_ms = to_millis(now);
        let mut locked_all = Vec::with_capacity(queues.len());
        for queue_id in &queues {
            locked_all.push(
                lock_queue(conn, queue_id)
                    .await?
                    .ok_or_else(|| RepoError::Corrupted(format!("counsel_queues/{queue_id}")))?,
            );
        }
        for locked in &mut locked_all {
            let mine: Vec<i64> = rows.iter().filter(|r| r.queue_id == locked.queue.id).map(|r| r.auto_div_no).collect();
            for n in mine {
                if !possible {
                    locked.freeze(n);
                }
                let m = locked.member_mut(n).ok_or(CounselError::MemberNotFound(n))?;
                m.possible = possible;
                m.dirty = true;
            }
            if possible {
                sweep(conn, &self.keyring, locked, actor, now).await?;
            }
            locked.save(conn, now_ms).await?;
        }
        let mut assigned = Assigned::default();
        for locked in locked_all {
            assigned.extend(locked.assigned);
        }
        // Every queue's assignments, one insert.
        write_assigned(&txn, &self.keyring, &assigned).await?;
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            out.push(self.membership_in(conn, n).await?);
        }
        txn.commit().await.map_err(db)?;
        Ok(out)
    }

    /// What is known of the user with this login id in an operator org, and of the queue
    /// (exists, already has them) when one is named.
    ///
    /// # Errors
    /// Storage failures; a user row that does not parse.
    pub async fn manager_facts(&self, mohom_id: &str, key: Option<&QueueKey>) -> Result<ManagerFacts, RepoError> {
        let conn = self.db.conn();
        let users = operator_users_by_mohom(conn, mohom_id).await?;
        let orgs = operator_orgs(conn).await?;
        let candidate = users.first().map(|u| candidate(u, &orgs)).transpose()?;
        let queue = match key {
            None => None,
            Some(key) => match self.queue_row(key).await? {
                None => Some(None),
                Some(queue) => {
                    let member = match users.first() {
                        None => None,
                        Some(u) => counsel_member::Entity::find()
                            .filter(counsel_member::Column::QueueId.eq(queue.id.as_str()))
                            .filter(counsel_member::Column::UserId.eq(u.id.as_str()))
                            .filter(counsel_member::Column::RemovedAt.is_null())
                            .one(conn)
                            .await
                            .map_err(unavailable)?,
                    };
                    Some(Some(member.is_some()))
                }
            },
        };
        Ok(ManagerFacts { candidate, queue })
    }

    /// Whether the user (login id) may join the queue (without a queue: whether they may
    /// be a member of any), judged by `domain::counsel::judge_manager`: `Ok(Err(why))`
    /// when not.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_manager(
        &self,
        mohom_id: &str,
        key: Option<&QueueKey>,
        dept: Option<&str>,
    ) -> Result<Result<(), ManagerRefusal>, RepoError> {
        Ok(judge_manager(&self.manager_facts(mohom_id, key).await?, dept))
    }

    // -----------------------------------------------------------------------------------
    // Cases

    /// Creates cases in one queue in one transaction (all or nothing): the queue's
    /// waiting cases are swept first, then each new case is offered to the engine in
    /// order; one the engine cannot place waits.
    ///
    /// # Errors
    /// `QueueNotFound`; storage failures (nothing is written then).
    pub async fn create_cases(
        &self,
        key: &QueueKey,
        cases: &[NewCounselCase],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CaseOutcome>, CounselError> {
        let txn = self.db.begin_write().await.map_err(db)?;
        let mut locked =
            lock_queue_by_key(&*txn, key).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        let outcomes = create_in_locked(&*txn, &self.keyring, &mut locked, cases, actor, now).await?;
        write_assigned(&txn, &self.keyring, &locked.assigned).await?;
        txn.commit().await.map_err(db)?;
        Ok(outcomes)
    }

    /// Assigns a waiting case to a member of its queue by a person's decision: counted in
    /// the ledger as a pick of that member, recorded `MANUAL`. A member switched to `N`
    /// may receive it (a person decided); one at its capacity may not.
    ///
    /// # Errors
    /// `CaseNotFound`, `CaseNotWaiting`, `NotAMember` (no live membership of the case's
    /// queue), `NotAManager(USER_INACTIVE)`, `OverCapacity`; storage failures.
    pub async fn manual_assign(
        &self,
        cnsl_no: Uuid,
        user_id: Uuid,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<CaseOutcome, CounselError> {
        let key = cnsl_no.to_string();
        let txn = self.db.begin_write().await.map_err(db)?;
        let conn = &*txn;
        let Some(case) = counsel_case::Entity::find_by_id(key.clone()).one(conn).await.map_err(db)? else {
            return Err(CounselError::CaseNotFound(cnsl_no));
        };
        let mut locked = lock_queue(conn, &case.queue_id).await?.ok_or(CounselError::CaseNotFound(cnsl_no))?;
        let case = counsel_case::Entity::find_by_id(key.clone())
            .one(conn)
            .await
            .map_err(db)?
            .ok_or(CounselError::CaseNotFound(cnsl_no))?;
        if case.status != CaseStatus::Waiting.as_str() {
            return Err(CounselError::CaseNotWaiting(cnsl_no));
        }
        let user_key = user_id.to_string();
        let member = locked.members.iter().find(|m| m.row.user_id == user_key).ok_or(CounselError::NotAMember)?;
        if !member.active {
            return Err(CounselError::NotAManager(ManagerRefusal::UserInactive));
        }
        if member.open >= member.capacity {
            return Err(CounselError::OverCapacity(member.row.auto_div_no));
        }
        let auto_div_no = member.row.auto_div_no;
        let now_ms = to_millis(now);
        let decided = locked
            .assign_manually(auto_div_no, actor, now_ms)
            .ok_or_else(|| RepoError::Corrupted(format!("counsel_members/{auto_div_no}")))?;
        assign_case(conn, &self.keyring, &case, &decided, AssignKind::Manual, actor, now).await?;
        locked.record(&case.cnsl_no, &decided, now);
        locked.save(conn, now_ms).await?;
        write_assigned(&txn, &self.keyring, &locked.assigned).await?;
        txn.commit().await.map_err(db)?;
        Ok(CaseOutcome { cnsl_no, assignee: Some((auto_div_no, user_id)) })
    }

    /// Completes an assigned case (`ASSIGNED` → `COMPLETED`), frees its member's place
    /// and sweeps the queue. An AS-review case is refused: deciding its AS closes it, so a
    /// review can never end with its AS still open.
    ///
    /// # Errors
    /// `CaseNotFound`, `CaseIsAsReview`, `CaseNotAssigned`; storage failures.
    pub async fn complete_case(&self, cnsl_no: Uuid, actor: &str, now: OffsetDateTime) -> Result<(), CounselError> {
        let txn = self.db.begin_write().await.map_err(db)?;
        // A case's AS never changes, so reading it before the queue's lock is safe.
        match counsel_case::Entity::find_by_id(cnsl_no.to_string()).one(&*txn).await.map_err(db)? {
            None => return Err(CounselError::CaseNotFound(cnsl_no)),
            Some(case) if case.as_id.is_some() => return Err(CounselError::CaseIsAsReview(cnsl_no)),
            Some(_) => {}
        }
        let assigned = complete_case_in(&*txn, &self.keyring, cnsl_no, actor, now).await?;
        write_assigned(&txn, &self.keyring, &assigned).await?;
        txn.commit().await.map_err(db)?;
        Ok(())
    }
}
