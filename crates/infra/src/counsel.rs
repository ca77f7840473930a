//! Counsel allocation storage (issue #8, seed 001): queues, memberships and cases, with
//! the allocation engine (`domain::allocation::pick_stored`, unchanged) deciding who
//! receives each case.
//!
//! Invariants:
//! - every writer of a queue's members or cases first locks the queue's row
//!   (`counsel_queues`, `SELECT .. FOR UPDATE` on PostgreSQL; on SQLite the write gate
//!   of [`Db::begin_write`] serializes writers), several queues in id order; the row's
//!   `picks` is the ledger's clock. So the members need no row locks, a case is assigned
//!   once, and a member's `open_cases` never passes its capacity through a pick;
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
//! - customer name and phone are envelopes bound to (`counsel_cases`, column, `cnsl_no`),
//!   the phone with a blind index, and so is the content `accp_cont`
//!   (`crypto::COUNSEL_ACCP_CONT`; the export's substring filter runs after decryption);
//!   refusals write nothing (one transaction per call).
//!
//! Layout: this file holds the types and the writers; `locked` the locked queue (ledger
//! in memory, sweeps, case creation, completion; also the entry points other
//! transactions call: [`open_case_in`], [`complete_case_in`]); `reads` the lists and
//! statistics.

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::counsel::{AssignKind, CaseStatus, MemberTerms, NewCounselCase, QueueKey};
use domain::error::RepoError;
use domain::identity::{Role, UserStatus};
use domain::ids::new_id;
use domain::pii::{PersonName, PhoneNumber};
use domain::reference::{AllocationPolicy, OrgKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    SqlErr,
};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldContext, Keyring};
use crate::db::Db;
use crate::entities::{counsel_case, counsel_member, counsel_queue, organization, user};
use crate::error::unavailable;
use crate::{from_millis, to_millis};

mod locked;
mod reads;
pub(crate) mod review;

pub(crate) use locked::complete_case_in;
pub(crate) use locked::open_case_in;
use locked::{assign_case, create_in_locked, lock_member_queue, lock_queue, lock_queue_by_key, sweep};

/// The customer phone's blind index (sized like the users' one: ~100,000 cases a year).
pub const CUST_TEL_INDEX: BlindIndex =
    BlindIndex { table: "counsel_cases", column: "cust_tel", name: "cust_tel", bits: 16 };

/// Why a user may not be a member of a queue ([`SeaCounselRepository::check_manager`],
/// [`CounselError::NotAManager`]): stable codes.
pub mod reason {
    pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
    pub const USER_INACTIVE: &str = "USER_INACTIVE";
    pub const NOT_CS_MANAGER: &str = "NOT_CS_MANAGER";
    pub const DEPARTMENT_MISMATCH: &str = "DEPARTMENT_MISMATCH";
    pub const ALREADY_MEMBER: &str = "ALREADY_MEMBER";
    pub const QUEUE_NOT_FOUND: &str = "QUEUE_NOT_FOUND";
}

/// A refusal or a storage failure.
#[derive(Debug, Error)]
pub enum CounselError {
    #[error("no counsel queue {0}")]
    QueueNotFound(QueueKey),
    #[error("counsel queue {0} already exists")]
    QueueExists(QueueKey),
    #[error("no live membership {0}")]
    MemberNotFound(i64),
    /// The user may not be a member (a [`reason`] code).
    #[error("not a manager: {0}")]
    NotAManager(&'static str),
    #[error("already a member of the queue")]
    AlreadyMember,
    /// Manual assignment to a user without a live membership of the case's queue.
    #[error("not a member of the case's queue")]
    NotAMember,
    #[error("no counsel case {0}")]
    CaseNotFound(Uuid),
    #[error("counsel case {0} is not waiting")]
    CaseNotWaiting(Uuid),
    #[error("counsel case {0} is not assigned")]
    CaseNotAssigned(Uuid),
    /// An AS-review case closes when its AS is approved or rejected, not on its own.
    #[error("counsel case {0} reviews an AS request: approve or reject the AS, which closes the case")]
    CaseIsAsReview(Uuid),
    /// Manual assignment to a member whose open cases reached their capacity.
    #[error("membership {0} is at its capacity")]
    OverCapacity(i64),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbErr> for CounselError {
    fn from(err: DbErr) -> Self {
        Self::Repo(unavailable(err))
    }
}

/// A queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub id: Uuid,
    pub key: QueueKey,
    pub name: String,
    pub policy: AllocationPolicy,
    pub created_at: OffsetDateTime,
}

/// A live membership (`autoDivNo`) with its queue and manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub auto_div_no: i64,
    pub queue_id: Uuid,
    pub queue: QueueKey,
    pub queue_name: String,
    pub policy: AllocationPolicy,
    pub user_id: Uuid,
    /// The manager's login id (the seed's `userId`/`aempId`).
    pub mohom_id: String,
    /// The manager's department (the seed's `deptCd`).
    pub dept: Option<String>,
    pub user_active: bool,
    pub terms: MemberTerms,
    /// Allocation possible (`Y`).
    pub possible: bool,
    pub open_cases: u64,
    pub last_assigned_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A manager in auto-distribution (`getAutoDistributionManagerList`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerEntry {
    pub user_id: Uuid,
    pub mohom_id: String,
    pub dept: Option<String>,
    pub name: PersonName,
    pub active: bool,
    pub memberships: Vec<Membership>,
}

/// A case, PII decrypted (the API masks it).
#[derive(Debug, Clone, PartialEq)]
pub struct CounselCase {
    pub cnsl_no: Uuid,
    pub queue_id: Uuid,
    pub queue: QueueKey,
    pub cnsl_typ_no: String,
    pub ob_typ_no: Option<String>,
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    pub cust_nm: Option<PersonName>,
    pub cust_tel: Option<PhoneNumber>,
    pub status: CaseStatus,
    pub assignee_user_id: Option<Uuid>,
    pub auto_div_no: Option<i64>,
    pub assign_kind: Option<AssignKind>,
    /// The engine's explanation of the assignment (policy, considered, skipped).
    pub explanation: Option<serde_json::Value>,
    pub as_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub assigned_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
}

/// What became of a created case: its number and, when assigned at once, the membership
/// and manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseOutcome {
    pub cnsl_no: Uuid,
    pub assignee: Option<(i64, Uuid)>,
}

/// Filters of the export (`getObCsCounselInfoListExcel`); `accp_cont` is a substring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    pub cnsl_typ_no: Option<String>,
    pub ob_typ_no: Option<String>,
}

/// Counsel storage over sea-orm, PII sealed with the shared keyring.
#[derive(Clone, Debug)]
pub struct SeaCounselRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

fn corrupt(table: &str, id: &str, what: impl std::fmt::Display) -> RepoError {
    tracing::error!(table, id, %what, "unreadable row");
    RepoError::Corrupted(format!("{table}/{id}"))
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

/// Why `u` may not be a member of a queue (the rule `check_manager` and `add_member`
/// share): active, `CS_MANAGER` or `ADMIN` of an operator org.
fn manager_refusal(u: &user::Model, operator_orgs: &[String]) -> Option<&'static str> {
    if u.status != UserStatus::Active.as_str() {
        return Some(reason::USER_INACTIVE);
    }
    let role_ok = u.role == Role::CsManager.as_str() || u.role == Role::Admin.as_str();
    if !role_ok || !operator_orgs.contains(&u.org_id) {
        return Some(reason::NOT_CS_MANAGER);
    }
    None
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

    /// Creates a queue (the policy is checked by `domain::counsel::parse_queue_policy`).
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
        let txn = self.db.begin_write().await?;
        counsel_queue::Entity::insert(row)
            .exec_without_returning(&*txn)
            .await
            .map_err(|e| if is_unique_violation(&e) { CounselError::QueueExists(key.clone()) } else { e.into() })?;
        txn.commit().await?;
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
        let txn = self.db.begin_write().await?;
        let conn = &*txn;
        let mut locked = lock_queue_by_key(conn, key).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        let user_key = user_id.to_string();
        let Some(u) = user::Entity::find_by_id(user_key.clone()).one(conn).await? else {
            return Err(CounselError::NotAManager(reason::USER_NOT_FOUND));
        };
        if let Some(why) = manager_refusal(&u, &operator_orgs(conn).await?) {
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
            .map_err(|e| if is_unique_violation(&e) { CounselError::AlreadyMember } else { e.into() })?;
        let auto_div_no = inserted.last_insert_id;
        let queue_id = locked.queue.id.clone();
        locked = lock_queue(conn, &queue_id).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        if possible {
            sweep(conn, &self.keyring, &mut locked, actor, now).await?;
        }
        locked.save(conn, now_ms).await?;
        let membership = self.membership_in(conn, auto_div_no).await?;
        txn.commit().await?;
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
        let txn = self.db.begin_write().await?;
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
        let membership = self.membership_in(conn, auto_div_no).await?;
        txn.commit().await?;
        Ok(membership)
    }

    /// Removes a membership: its assigned cases go back to `WAITING` and are swept to
    /// the others, oldest first. Returns how many cases went back.
    ///
    /// # Errors
    /// `MemberNotFound`; storage failures.
    pub async fn remove_member(&self, auto_div_no: i64, actor: &str, now: OffsetDateTime) -> Result<u64, CounselError> {
        let txn = self.db.begin_write().await?;
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
            .await?
            .rows_affected;
        let done = counsel_member::Entity::update_many()
            .col_expr(counsel_member::Column::RemovedAt, Expr::value(now_ms))
            .col_expr(counsel_member::Column::PossibleYn, Expr::value(false))
            .col_expr(counsel_member::Column::OpenCases, Expr::value(0_i64))
            .col_expr(counsel_member::Column::UpdatedAt, Expr::value(now_ms))
            .filter(counsel_member::Column::AutoDivNo.eq(auto_div_no))
            .filter(counsel_member::Column::RemovedAt.is_null())
            .exec(conn)
            .await?;
        if done.rows_affected != 1 {
            return Err(CounselError::MemberNotFound(auto_div_no));
        }
        locked.members.retain(|m| m.row.auto_div_no != auto_div_no);
        sweep(conn, &self.keyring, &mut locked, actor, now).await?;
        locked.save(conn, now_ms).await?;
        txn.commit().await?;
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
        let txn = self.db.begin_write().await?;
        let conn = &*txn;
        let rows = counsel_member::Entity::find()
            .filter(counsel_member::Column::AutoDivNo.is_in(numbers.iter().copied()))
            .filter(counsel_member::Column::RemovedAt.is_null())
            .all(conn)
            .await?;
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
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            out.push(self.membership_in(conn, n).await?);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// Whether the user (login id) may join the queue (without a queue: whether they may
    /// be a member of any): `Ok(Err(reason))` when not.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_manager(
        &self,
        mohom_id: &str,
        key: Option<&QueueKey>,
        dept: Option<&str>,
    ) -> Result<Result<(), &'static str>, RepoError> {
        let conn = self.db.conn();
        let users = operator_users_by_mohom(conn, mohom_id).await?;
        let Some(u) = users.first() else { return Ok(Err(reason::USER_NOT_FOUND)) };
        if let Some(why) = manager_refusal(u, &operator_orgs(conn).await?) {
            return Ok(Err(why));
        }
        if let Some(dept) = dept
            && u.team_id.as_deref() != Some(dept)
        {
            return Ok(Err(reason::DEPARTMENT_MISMATCH));
        }
        let Some(key) = key else { return Ok(Ok(())) };
        let Some(queue) = self.queue_row(key).await? else { return Ok(Err(reason::QUEUE_NOT_FOUND)) };
        let member = counsel_member::Entity::find()
            .filter(counsel_member::Column::QueueId.eq(queue.id.as_str()))
            .filter(counsel_member::Column::UserId.eq(u.id.as_str()))
            .filter(counsel_member::Column::RemovedAt.is_null())
            .one(conn)
            .await
            .map_err(unavailable)?;
        Ok(if member.is_some() { Err(reason::ALREADY_MEMBER) } else { Ok(()) })
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
        let txn = self.db.begin_write().await?;
        let mut locked =
            lock_queue_by_key(&*txn, key).await?.ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        let outcomes = create_in_locked(&*txn, &self.keyring, &mut locked, cases, actor, now).await?;
        txn.commit().await?;
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
        let txn = self.db.begin_write().await?;
        let conn = &*txn;
        let Some(case) = counsel_case::Entity::find_by_id(key.clone()).one(conn).await? else {
            return Err(CounselError::CaseNotFound(cnsl_no));
        };
        let mut locked = lock_queue(conn, &case.queue_id).await?.ok_or(CounselError::CaseNotFound(cnsl_no))?;
        let case = counsel_case::Entity::find_by_id(key.clone())
            .one(conn)
            .await?
            .ok_or(CounselError::CaseNotFound(cnsl_no))?;
        if case.status != CaseStatus::Waiting.as_str() {
            return Err(CounselError::CaseNotWaiting(cnsl_no));
        }
        let user_key = user_id.to_string();
        let member = locked.members.iter().find(|m| m.row.user_id == user_key).ok_or(CounselError::NotAMember)?;
        if !member.active {
            return Err(CounselError::NotAManager(reason::USER_INACTIVE));
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
        locked.save(conn, now_ms).await?;
        txn.commit().await?;
        Ok(CaseOutcome { cnsl_no, assignee: Some((auto_div_no, user_id)) })
    }

    /// Completes an assigned case (`ASSIGNED` → `COMPLETED`), frees its member's place
    /// and sweeps the queue. An AS-review case is refused: deciding its AS closes it, so a
    /// review can never end with its AS still open.
    ///
    /// # Errors
    /// `CaseNotFound`, `CaseIsAsReview`, `CaseNotAssigned`; storage failures.
    pub async fn complete_case(&self, cnsl_no: Uuid, actor: &str, now: OffsetDateTime) -> Result<(), CounselError> {
        let txn = self.db.begin_write().await?;
        // A case's AS never changes, so reading it before the queue's lock is safe.
        match counsel_case::Entity::find_by_id(cnsl_no.to_string()).one(&*txn).await? {
            None => return Err(CounselError::CaseNotFound(cnsl_no)),
            Some(case) if case.as_id.is_some() => return Err(CounselError::CaseIsAsReview(cnsl_no)),
            Some(_) => {}
        }
        complete_case_in(&*txn, &self.keyring, cnsl_no, actor, now).await?;
        txn.commit().await?;
        Ok(())
    }
}
