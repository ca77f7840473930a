//! Queues and memberships: creating and listing queues, adding, changing and removing
//! members, their allocation-possible flag, whether a user may be a member, and the
//! per-member statistics.

use time::OffsetDateTime;

use super::CounselService;
use crate::counsel::{
    AutoDivGroup, CounselError, ManagerEntry, ManagerStats, MemberTerms, Membership, Queue, QueueKey, QueueName,
    judge_manager, parse_queue_policy, shares_within,
};
use crate::error::{RepoError, ValidationError};
use crate::ports::{Clock, CounselStore, CounselWorkbook};
use crate::principal::Principal;

/// A queue to create, as given.
#[derive(Debug, Clone, Copy)]
pub struct NewQueue<'a> {
    pub group: &'a str,
    pub detail: &'a str,
    pub name: &'a str,
    /// `None`: `ROUND_ROBIN`.
    pub policy: Option<&'a str>,
}

/// A manager to add to a queue, as given.
#[derive(Debug, Clone, Copy)]
pub struct AddMember<'a> {
    pub key: &'a QueueKey,
    /// The manager's login id (`aempId`).
    pub login: &'a str,
    pub weight: u32,
    pub capacity: u32,
    pub possible: bool,
}

/// One membership's counts in a range, with its share of the queue's assignments beside
/// the share its weight asks for (percent).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    pub membership: Membership,
    pub stats: ManagerStats,
    pub actual_share: f64,
    pub weight_share: f64,
}

impl<S: CounselStore + ?Sized, W: CounselWorkbook + ?Sized, C: Clock + ?Sized> CounselService<'_, S, W, C> {
    /// Creates a queue: key, then policy (default `ROUND_ROBIN`, never `FIFO`), then name.
    ///
    /// # Errors
    /// [`CounselError::Invalid`] (the first bad part), [`CounselError::QueueExists`].
    pub async fn create_queue(&self, _principal: &Principal, new: NewQueue<'_>) -> Result<Queue, CounselError> {
        let key = QueueKey::parse(new.group, new.detail)?;
        let policy = parse_queue_policy(new.policy.unwrap_or("ROUND_ROBIN"))?;
        let name = QueueName::parse(new.name)?;
        self.store.create_queue(&key, &name, policy, self.clock.now()).await
    }

    /// # Errors
    /// Storage failures.
    pub async fn queues(&self) -> Result<Vec<Queue>, RepoError> {
        self.store.list_queues().await
    }

    /// Adds a manager to a queue (terms checked, the manager resolved by login id).
    ///
    /// # Errors
    /// [`CounselError::Invalid`], [`CounselError::UserNotFound`], and the store's
    /// refusals (`QueueNotFound`, `NotAManager`, `AlreadyMember`).
    pub async fn add_member(&self, principal: &Principal, add: AddMember<'_>) -> Result<Membership, CounselError> {
        let terms = MemberTerms::new(add.weight, add.capacity)?;
        let user = self.operator_user(principal, add.login, "aempId").await?;
        self.store.add_member(add.key, user, terms, add.possible, &principal.actor(), self.clock.now()).await
    }

    /// # Errors
    /// [`CounselError::Invalid`] for terms out of range, `MemberNotFound`.
    pub async fn update_member(
        &self,
        principal: &Principal,
        auto_div_no: i64,
        weight: u32,
        capacity: u32,
    ) -> Result<Membership, CounselError> {
        let terms = MemberTerms::new(weight, capacity)?;
        self.store.update_member(auto_div_no, terms, &principal.actor(), self.clock.now()).await
    }

    /// Removes a membership; how many open cases went back to the queue.
    ///
    /// # Errors
    /// `MemberNotFound`.
    pub async fn remove_member(&self, principal: &Principal, auto_div_no: i64) -> Result<u64, CounselError> {
        self.store.remove_member(auto_div_no, &principal.actor(), self.clock.now()).await
    }

    /// Switches memberships' flag, all or nothing; at least one must be named.
    ///
    /// # Errors
    /// [`CounselError::Invalid`] on `autoDivNoList` for none, `MemberNotFound`.
    pub async fn set_possible(
        &self,
        principal: &Principal,
        auto_div_nos: &[i64],
        possible: bool,
    ) -> Result<Vec<Membership>, CounselError> {
        if auto_div_nos.is_empty() {
            return Err(ValidationError::single("autoDivNoList", "must name at least one autoDivNo").into());
        }
        self.store.set_possible(auto_div_nos, possible, &principal.actor(), self.clock.now()).await
    }

    /// Whether the user named by `login` may join the queue (without one: be a member of
    /// any), of the department `dept` when given: `Ok(Err(reason))` when not.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_manager(
        &self,
        login: &str,
        key: Option<&QueueKey>,
        dept: Option<&str>,
    ) -> Result<Result<(), crate::counsel::ManagerRefusal>, RepoError> {
        let facts = self.store.manager_facts(login, key).await?;
        Ok(judge_manager(&facts, dept))
    }

    /// # Errors
    /// Storage failures.
    pub async fn memberships(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
    ) -> Result<Vec<Membership>, RepoError> {
        self.store.memberships(group, detail, login).await
    }

    /// # Errors
    /// Storage failures.
    pub async fn managers(&self, dept: Option<&str>, login: Option<&str>) -> Result<Vec<ManagerEntry>, RepoError> {
        self.store.managers(dept, login).await
    }

    /// Per membership, its counts in `[from, to)` and its shares within its queue.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn stats(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
        range: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    ) -> Result<Vec<StatsRow>, RepoError> {
        let rows = self.store.stats(group, detail, login, range.0, range.1).await?;
        let by_queue: Vec<(&QueueKey, ManagerStats)> = rows.iter().map(|(m, s)| (&m.queue, s.clone())).collect();
        let shares = shares_within(&by_queue);
        Ok(rows
            .into_iter()
            .zip(shares)
            .map(|((membership, stats), (actual_share, weight_share))| StatsRow {
                membership,
                stats,
                actual_share,
                weight_share,
            })
            .collect())
    }

    /// The range of the statistics, days counted in the counsel zone.
    ///
    /// # Errors
    /// See [`crate::counsel::stats_range`].
    pub fn stats_range(
        &self,
        date_select: Option<&str>,
        start_date: Option<&str>,
        end_date: Option<&str>,
    ) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), ValidationError> {
        crate::counsel::stats_range(date_select, start_date, end_date, self.clock.now())
    }
}
