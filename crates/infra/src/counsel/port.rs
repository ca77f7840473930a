//! [`CounselStore`] over [`SeaCounselRepository`]: each method one call of the
//! repository (one transaction for a writer), plus the two lookups the use cases need
//! (an operator user by login id, login ids by user id).

use std::collections::HashMap;

use domain::counsel::{
    AutoDivGroup, CaseFilter, CaseOutcome, CounselCase, CounselError, ManagerEntry, ManagerFacts, ManagerStats,
    MemberTerms, Membership, NewCounselCase, Queue, QueueKey, QueueName,
};
use domain::counsel_sheet::KnownCustomer;
use domain::error::RepoError;
use domain::identity::{MohomId, UserStatus};
use domain::ports::CounselStore;
use domain::reference::AllocationPolicy;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::SeaCounselRepository;
use crate::entities::user;
use crate::error::{corrupt, unavailable};

impl SeaCounselRepository {
    /// The active user with this login id in `org`; in any operator org when `None`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn active_user(&self, org: Option<Uuid>, login: &MohomId) -> Result<Option<Uuid>, RepoError> {
        match org {
            None => self.operator_user_id(login.as_str()).await,
            Some(org) => user::Entity::find()
                .filter(user::Column::OrgId.eq(org.to_string()))
                .filter(user::Column::MohomId.eq(login.as_str()))
                .filter(user::Column::Status.eq(UserStatus::Active.as_str()))
                .one(self.db.conn())
                .await
                .map_err(unavailable)?
                .map(|u| u.id.parse().map_err(|e| corrupt("users", &u.id, e)))
                .transpose(),
        }
    }

    /// The login ids of these users.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn logins_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, RepoError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.iter().map(Uuid::to_string)))
                .all(self.db.conn())
                .await
                .map_err(unavailable)?;
            for u in rows {
                out.insert(u.id.parse().map_err(|e| corrupt("users", &u.id, e))?, u.mohom_id);
            }
        }
        Ok(out)
    }
}

impl CounselStore for SeaCounselRepository {
    async fn create_queue(
        &self,
        key: &QueueKey,
        name: &QueueName,
        policy: AllocationPolicy,
        now: OffsetDateTime,
    ) -> Result<Queue, CounselError> {
        Self::create_queue(self, key, name.as_str(), policy, now).await
    }

    async fn list_queues(&self) -> Result<Vec<Queue>, RepoError> {
        Self::list_queues(self).await
    }

    async fn operator_user(&self, org: Option<Uuid>, login: &MohomId) -> Result<Option<Uuid>, RepoError> {
        self.active_user(org, login).await
    }

    async fn manager_facts(&self, login: &str, key: Option<&QueueKey>) -> Result<ManagerFacts, RepoError> {
        Self::manager_facts(self, login, key).await
    }

    async fn add_member(
        &self,
        key: &QueueKey,
        user_id: Uuid,
        terms: MemberTerms,
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        Self::add_member(self, key, user_id, terms, possible, actor, now).await
    }

    async fn update_member(
        &self,
        auto_div_no: i64,
        terms: MemberTerms,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        Self::update_member(self, auto_div_no, terms, actor, now).await
    }

    async fn remove_member(&self, auto_div_no: i64, actor: &str, now: OffsetDateTime) -> Result<u64, CounselError> {
        Self::remove_member(self, auto_div_no, actor, now).await
    }

    async fn set_possible(
        &self,
        auto_div_nos: &[i64],
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Membership>, CounselError> {
        Self::set_possible(self, auto_div_nos, possible, actor, now).await
    }

    async fn create_cases(
        &self,
        key: &QueueKey,
        cases: &[NewCounselCase],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CaseOutcome>, CounselError> {
        Self::create_cases(self, key, cases, actor, now).await
    }

    async fn manual_assign(
        &self,
        cnsl_no: Uuid,
        user_id: Uuid,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<CaseOutcome, CounselError> {
        Self::manual_assign(self, cnsl_no, user_id, actor, now).await
    }

    async fn complete_case(&self, cnsl_no: Uuid, actor: &str, now: OffsetDateTime) -> Result<(), CounselError> {
        Self::complete_case(self, cnsl_no, actor, now).await
    }

    async fn case(&self, cnsl_no: Uuid) -> Result<Option<CounselCase>, RepoError> {
        Self::case(self, cnsl_no).await
    }

    async fn waiting_cases(&self) -> Result<Vec<CounselCase>, RepoError> {
        Self::waiting_cases(self, None).await
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CounselCase>, RepoError> {
        Self::list_cases(self, filter).await
    }

    async fn customers_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, KnownCustomer>, RepoError> {
        Self::customers_of(self, ids).await
    }

    async fn managers(&self, dept: Option<&str>, login: Option<&str>) -> Result<Vec<ManagerEntry>, RepoError> {
        Self::managers(self, dept, login).await
    }

    async fn memberships(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
    ) -> Result<Vec<Membership>, RepoError> {
        Self::memberships(self, group, detail, login).await
    }

    async fn stats(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Result<Vec<(Membership, ManagerStats)>, RepoError> {
        Self::stats(self, group, detail, login, from, to).await
    }

    async fn logins(&self, user_ids: &[Uuid]) -> Result<HashMap<Uuid, String>, RepoError> {
        self.logins_of(user_ids).await
    }
}
