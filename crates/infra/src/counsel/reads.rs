//! Counsel reads: the manual-assignment list, the export, memberships, managers and
//! their statistics. PII is decrypted here (the API masks it); reads take no lock.

use std::collections::{BTreeSet, HashMap};

use domain::counsel::{
    AssignKind, AutoDivGroup, CaseFilter, CaseStatus, CounselCase, CounselError, ManagerEntry, ManagerStats,
    MemberTerms, Membership, Queue, QueueKey,
};
use domain::counsel_sheet::KnownCustomer;
use domain::error::RepoError;
use domain::identity::UserStatus;
use domain::pii::{PersonName, PhoneNumber};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SeaCounselRepository, count, ctx, db, operator_users_by_mohom, queue_from_row};
use crate::crypto::{COUNSEL_ACCP_CONT, FieldContext};
use crate::entities::{counsel_case, counsel_member, counsel_queue, user};
use crate::error::{corrupt, unavailable};
use crate::{from_millis, to_millis};

impl SeaCounselRepository {
    /// Cases waiting for manual assignment (`manualAssignList`), oldest first; of one
    /// queue, or of all.
    ///
    /// # Errors
    /// Storage failures; a row that fails to decrypt.
    pub async fn waiting_cases(&self, key: Option<&QueueKey>) -> Result<Vec<CounselCase>, RepoError> {
        let mut select =
            counsel_case::Entity::find().filter(counsel_case::Column::Status.eq(CaseStatus::Waiting.as_str()));
        if let Some(key) = key {
            let Some(queue) = self.queue_row(key).await? else { return Ok(Vec::new()) };
            select = select.filter(counsel_case::Column::QueueId.eq(queue.id));
        }
        let rows = select
            .order_by_asc(counsel_case::Column::CreatedAt)
            .order_by_asc(counsel_case::Column::CnslNo)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?;
        self.read_cases(rows).await
    }

    /// Cases matching the export's filters, oldest first, PII decrypted.
    ///
    /// # Errors
    /// Storage failures; a row that fails to decrypt.
    pub async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CounselCase>, RepoError> {
        let mut select = counsel_case::Entity::find();
        if let Some(v) = &filter.mbr_no {
            select = select.filter(counsel_case::Column::MbrNo.eq(v.as_str()));
        }
        if let Some(v) = &filter.ord_no {
            select = select.filter(counsel_case::Column::OrdNo.eq(v.as_str()));
        }
        if let Some(v) = &filter.cnsl_typ_no {
            select = select.filter(counsel_case::Column::CnslTypNo.eq(v.as_str()));
        }
        if let Some(v) = &filter.ob_typ_no {
            select = select.filter(counsel_case::Column::ObTypNo.eq(v.as_str()));
        }
        let rows = select
            .order_by_asc(counsel_case::Column::CreatedAt)
            .order_by_asc(counsel_case::Column::CnslNo)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?;
        // `accp_cont` is sealed: the substring filter runs on the decrypted cases.
        let cases = self.read_cases(rows).await?;
        Ok(match filter.accp_cont.as_deref() {
            Some(v) => {
                cases.into_iter().filter(|c| c.accp_cont.as_deref().is_some_and(|text| text.contains(v))).collect()
            }
            None => cases,
        })
    }

    /// One case.
    ///
    /// # Errors
    /// Storage failures; a row that fails to decrypt.
    pub async fn case(&self, cnsl_no: Uuid) -> Result<Option<CounselCase>, RepoError> {
        let row =
            counsel_case::Entity::find_by_id(cnsl_no.to_string()).one(self.db.conn()).await.map_err(unavailable)?;
        Ok(self.read_cases(row.into_iter().collect()).await?.into_iter().next())
    }

    /// The case of an AS request.
    ///
    /// # Errors
    /// Storage failures; a row that fails to decrypt.
    pub async fn case_for_as(&self, as_id: Uuid) -> Result<Option<CounselCase>, RepoError> {
        let row = counsel_case::Entity::find()
            .filter(counsel_case::Column::AsId.eq(as_id.to_string()))
            .one(self.db.conn())
            .await
            .map_err(unavailable)?;
        Ok(self.read_cases(row.into_iter().collect()).await?.into_iter().next())
    }

    /// Managers with live memberships (`getAutoDistributionManagerList`; its count is the
    /// length), by login id; filtered by department and login id.
    ///
    /// # Errors
    /// Storage failures; a name that fails to decrypt.
    pub async fn managers(
        &self,
        dept: Option<&str>,
        user_filter: Option<&str>,
    ) -> Result<Vec<ManagerEntry>, RepoError> {
        let memberships = self.memberships(None, None, user_filter).await?;
        let mut by_user: Vec<ManagerEntry> = Vec::new();
        let user_ids: Vec<String> = memberships.iter().map(|m| m.user_id.to_string()).collect();
        let users: HashMap<String, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(self.db.conn())
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        for m in memberships {
            if dept.is_some_and(|d| m.dept.as_deref() != Some(d)) {
                continue;
            }
            if let Some(entry) = by_user.iter_mut().find(|e| e.user_id == m.user_id) {
                entry.memberships.push(m);
                continue;
            }
            let key = m.user_id.to_string();
            let u = users.get(&key).ok_or_else(|| corrupt("users", &key, "membership of an unknown user"))?;
            let sealed = FieldContext { table: "users", column: "name", row_id: &key };
            let name = self.keyring.decrypt_string(&u.name_enc, &sealed).map_err(|e| corrupt("users", &key, e))?;
            by_user.push(ManagerEntry {
                user_id: m.user_id,
                mohom_id: m.mohom_id.clone(),
                dept: m.dept.clone(),
                name: PersonName::parse(&name).map_err(|e| corrupt("users", &key, e))?,
                active: m.user_active,
                memberships: vec![m],
            });
        }
        by_user.sort_by(|a, b| a.mohom_id.cmp(&b.mohom_id).then(a.user_id.cmp(&b.user_id)));
        Ok(by_user)
    }

    /// Live memberships (`csAllocationDetailMgmtList`), by queue then number; filtered by
    /// group, detail number and login id.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn memberships(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        user_filter: Option<&str>,
    ) -> Result<Vec<Membership>, RepoError> {
        let conn = self.db.conn();
        let mut queues = counsel_queue::Entity::find();
        if let Some(group) = group {
            queues = queues.filter(counsel_queue::Column::AutoDivGbCd.eq(group.as_str()));
        }
        if let Some(detail) = detail {
            queues = queues.filter(counsel_queue::Column::AutoDivDtlNo.eq(detail));
        }
        let queues = queues.all(conn).await.map_err(unavailable)?;
        let mut select = counsel_member::Entity::find()
            .filter(counsel_member::Column::RemovedAt.is_null())
            .filter(counsel_member::Column::QueueId.is_in(queues.iter().map(|q| q.id.clone())));
        if let Some(login) = user_filter {
            let ids: Vec<String> = operator_users_by_mohom(conn, login).await?.into_iter().map(|u| u.id).collect();
            select = select.filter(counsel_member::Column::UserId.is_in(ids));
        }
        let rows = select.order_by_asc(counsel_member::Column::AutoDivNo).all(conn).await.map_err(unavailable)?;
        let mut out = self.read_memberships(conn, rows).await?;
        out.sort_by(|a, b| a.queue.cmp(&b.queue).then(a.auto_div_no.cmp(&b.auto_div_no)));
        Ok(out)
    }

    /// Per-membership counts (`csAllocationMgmtList`): assigned automatically and
    /// manually (by `assigned_at` in `[from, to)`), completed (by `completed_at`), and
    /// open now; beside the weight (see `domain::counsel::shares`).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn stats(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        user_filter: Option<&str>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Result<Vec<(Membership, ManagerStats)>, RepoError> {
        let conn = self.db.conn();
        let memberships = self.memberships(group, detail, user_filter).await?;
        let numbers: Vec<i64> = memberships.iter().map(|m| m.auto_div_no).collect();
        let mut assigned: HashMap<(i64, String), u64> = HashMap::new();
        let mut completed: HashMap<i64, u64> = HashMap::new();
        for chunk in numbers.chunks(500) {
            let mut select = counsel_case::Entity::find()
                .select_only()
                .column(counsel_case::Column::AutoDivNo)
                .column(counsel_case::Column::AssignKind)
                .column_as(Expr::from(Func::count(Expr::col(counsel_case::Column::CnslNo))), "n")
                .filter(counsel_case::Column::AutoDivNo.is_in(chunk.iter().copied()))
                .filter(counsel_case::Column::AssignedAt.is_not_null());
            if let Some(from) = from {
                select = select.filter(counsel_case::Column::AssignedAt.gte(to_millis(from)));
            }
            if let Some(to) = to {
                select = select.filter(counsel_case::Column::AssignedAt.lt(to_millis(to)));
            }
            let rows: Vec<(Option<i64>, Option<String>, i64)> = select
                .group_by(counsel_case::Column::AutoDivNo)
                .group_by(counsel_case::Column::AssignKind)
                .into_tuple()
                .all(conn)
                .await
                .map_err(unavailable)?;
            for (n, kind, c) in rows {
                if let (Some(n), Some(kind)) = (n, kind) {
                    *assigned.entry((n, kind)).or_default() += count(c);
                }
            }
            let mut select = counsel_case::Entity::find()
                .select_only()
                .column(counsel_case::Column::AutoDivNo)
                .column_as(Expr::from(Func::count(Expr::col(counsel_case::Column::CnslNo))), "n")
                .filter(counsel_case::Column::AutoDivNo.is_in(chunk.iter().copied()))
                .filter(counsel_case::Column::Status.eq(CaseStatus::Completed.as_str()));
            if let Some(from) = from {
                select = select.filter(counsel_case::Column::CompletedAt.gte(to_millis(from)));
            }
            if let Some(to) = to {
                select = select.filter(counsel_case::Column::CompletedAt.lt(to_millis(to)));
            }
            let rows: Vec<(Option<i64>, i64)> =
                select.group_by(counsel_case::Column::AutoDivNo).into_tuple().all(conn).await.map_err(unavailable)?;
            for (n, c) in rows {
                if let Some(n) = n {
                    *completed.entry(n).or_default() += count(c);
                }
            }
        }
        Ok(memberships
            .into_iter()
            .map(|m| {
                let n = m.auto_div_no;
                let of = |kind: AssignKind| assigned.get(&(n, kind.as_str().to_owned())).copied().unwrap_or(0);
                let stats = ManagerStats {
                    user_id: m.user_id,
                    auto_assigned: of(AssignKind::Auto),
                    manual_assigned: of(AssignKind::Manual),
                    completed: completed.get(&n).copied().unwrap_or(0),
                    open: m.open_cases,
                    weight: m.terms.weight,
                };
                (m, stats)
            })
            .collect())
    }

    // -----------------------------------------------------------------------------------
    // Helpers

    pub(super) async fn queue_row(&self, key: &QueueKey) -> Result<Option<counsel_queue::Model>, RepoError> {
        counsel_queue::Entity::find()
            .filter(counsel_queue::Column::AutoDivGbCd.eq(key.group.as_str()))
            .filter(counsel_queue::Column::AutoDivDtlNo.eq(key.detail.as_str()))
            .one(self.db.conn())
            .await
            .map_err(unavailable)
    }

    pub(super) async fn membership_in(
        &self,
        conn: &impl ConnectionTrait,
        auto_div_no: i64,
    ) -> Result<Membership, CounselError> {
        let row = counsel_member::Entity::find_by_id(auto_div_no)
            .one(conn)
            .await
            .map_err(db)?
            .ok_or(CounselError::MemberNotFound(auto_div_no))?;
        self.read_memberships(conn, vec![row])
            .await?
            .into_iter()
            .next()
            .ok_or(CounselError::MemberNotFound(auto_div_no))
    }

    async fn read_memberships(
        &self,
        conn: &impl ConnectionTrait,
        rows: Vec<counsel_member::Model>,
    ) -> Result<Vec<Membership>, RepoError> {
        let queue_ids: BTreeSet<String> = rows.iter().map(|r| r.queue_id.clone()).collect();
        let user_ids: BTreeSet<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        let mut queues: HashMap<String, (Queue, String)> = HashMap::new();
        for chunk in queue_ids.into_iter().collect::<Vec<_>>().chunks(500) {
            for q in counsel_queue::Entity::find()
                .filter(counsel_queue::Column::Id.is_in(chunk.iter().cloned()))
                .all(conn)
                .await
                .map_err(unavailable)?
            {
                queues.insert(q.id.clone(), (queue_from_row(&q)?, q.id));
            }
        }
        let mut users: HashMap<String, user::Model> = HashMap::new();
        for chunk in user_ids.into_iter().collect::<Vec<_>>().chunks(500) {
            for u in user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.iter().cloned()))
                .all(conn)
                .await
                .map_err(unavailable)?
            {
                users.insert(u.id.clone(), u);
            }
        }
        rows.into_iter()
            .map(|r| {
                let bad = |e: &dyn std::fmt::Display| corrupt("counsel_members", &r.auto_div_no.to_string(), e);
                let (queue, _) = queues.get(&r.queue_id).ok_or_else(|| bad(&"unknown queue"))?;
                let u = users.get(&r.user_id).ok_or_else(|| bad(&"unknown user"))?;
                let terms = MemberTerms {
                    weight: u32::try_from(r.weight).map_err(|e| bad(&e))?,
                    capacity: u32::try_from(r.capacity).map_err(|e| bad(&e))?,
                };
                Ok(Membership {
                    auto_div_no: r.auto_div_no,
                    queue_id: queue.id,
                    queue: queue.key.clone(),
                    queue_name: queue.name.clone(),
                    policy: queue.policy,
                    user_id: r.user_id.parse().map_err(|e| bad(&e))?,
                    mohom_id: u.mohom_id.clone(),
                    dept: u.team_id.clone(),
                    user_active: u.status == UserStatus::Active.as_str(),
                    terms,
                    possible: r.possible_yn,
                    open_cases: count(r.open_cases),
                    last_assigned_at: r.last_assigned_at.map(from_millis),
                    created_at: from_millis(r.created_at),
                })
            })
            .collect()
    }

    async fn read_cases(&self, rows: Vec<counsel_case::Model>) -> Result<Vec<CounselCase>, RepoError> {
        let conn = self.db.conn();
        let queue_ids: BTreeSet<String> = rows.iter().map(|r| r.queue_id.clone()).collect();
        let mut queues: HashMap<String, QueueKey> = HashMap::new();
        for chunk in queue_ids.into_iter().collect::<Vec<_>>().chunks(500) {
            for q in counsel_queue::Entity::find()
                .filter(counsel_queue::Column::Id.is_in(chunk.iter().cloned()))
                .all(conn)
                .await
                .map_err(unavailable)?
            {
                queues.insert(q.id.clone(), queue_from_row(&q)?.key);
            }
        }
        rows.into_iter().map(|r| self.read_case(r, &queues)).collect()
    }

    /// A case row's customer, decrypted.
    fn customer(&self, r: &counsel_case::Model) -> Result<KnownCustomer, RepoError> {
        let id = &r.cnsl_no;
        let bad = |e: &dyn std::fmt::Display| corrupt("counsel_cases", id, e);
        let open =
            |column: &str, bytes: &[u8]| self.keyring.decrypt_string(bytes, &ctx(column, id)).map_err(|e| bad(&e));
        let name = match &r.cust_nm_enc {
            Some(bytes) => Some(PersonName::parse(&open("cust_nm", bytes)?).map_err(|e| bad(&e))?),
            None => None,
        };
        let phone = match &r.cust_tel_enc {
            Some(bytes) => Some(PhoneNumber::parse(&open("cust_tel", bytes)?).map_err(|e| bad(&e))?),
            None => None,
        };
        Ok(KnownCustomer { name, phone })
    }

    /// The customers of those of `ids` that are cases, for an import's rows that name a
    /// case (`cnslNo`, the round trip of an export). Cases never change their customer, so
    /// what this reads stays true until the import's cases are written.
    ///
    /// # Errors
    /// Storage failures; a row that fails to decrypt.
    pub async fn customers_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, KnownCustomer>, RepoError> {
        let mut known = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = counsel_case::Entity::find()
                .filter(counsel_case::Column::CnslNo.is_in(chunk.iter().map(Uuid::to_string)))
                .all(self.db.conn())
                .await
                .map_err(unavailable)?;
            for r in rows {
                let id = r.cnsl_no.parse::<Uuid>().map_err(|e| corrupt("counsel_cases", &r.cnsl_no, &e))?;
                known.insert(id, self.customer(&r)?);
            }
        }
        Ok(known)
    }

    fn read_case(&self, r: counsel_case::Model, queues: &HashMap<String, QueueKey>) -> Result<CounselCase, RepoError> {
        let id = r.cnsl_no.clone();
        let bad = |e: &dyn std::fmt::Display| corrupt("counsel_cases", &id, e);
        let KnownCustomer { name: cust_nm, phone: cust_tel } = self.customer(&r)?;
        let uuid = |text: &str| text.parse::<Uuid>().map_err(|e| bad(&e));
        Ok(CounselCase {
            cnsl_no: uuid(&r.cnsl_no)?,
            queue_id: uuid(&r.queue_id)?,
            queue: queues.get(&r.queue_id).cloned().ok_or_else(|| bad(&"unknown queue"))?,
            cnsl_typ_no: r.cnsl_typ_no,
            ob_typ_no: r.ob_typ_no,
            mbr_no: r.mbr_no,
            ord_no: r.ord_no,
            accp_cont: COUNSEL_ACCP_CONT
                .open(&self.keyring, &r.cnsl_no, r.accp_cont_enc.as_deref(), r.accp_cont.as_deref())
                .map_err(|e| bad(&e))?,
            cust_nm,
            cust_tel,
            status: r.status.parse().map_err(|e| bad(&e))?,
            assignee_user_id: r.assignee_user_id.as_deref().map(uuid).transpose()?,
            auto_div_no: r.auto_div_no,
            assign_kind: r.assign_kind.as_deref().map(str::parse).transpose().map_err(|e| bad(&e))?,
            explanation: r.explanation.as_deref().map(serde_json::from_str).transpose().map_err(|e| bad(&e))?,
            as_id: r.as_id.as_deref().map(uuid).transpose()?,
            created_at: from_millis(r.created_at),
            assigned_at: r.assigned_at.map(from_millis),
            completed_at: r.completed_at.map(from_millis),
        })
    }
}
