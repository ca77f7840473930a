//! In-memory adapters of the counsel ports, for use-case tests without a database.
//!
//! [`MemoryCounselStore`] keeps queues, memberships and cases in vectors behind one lock
//! (one lock = one transaction: a refusal changes nothing). Its allocation is the
//! simplest fair one the tests need: a new case goes to the eligible member
//! (`member_eligibility`) with the fewest open cases, lowest number first; waiting cases
//! are swept oldest first when a member may have become eligible. It judges a would-be
//! member with the domain's `candidate_refusal`, as the database adapter does.
//!
//! [`MemoryWorkbook`] reads a "workbook" written as text: one row per line, cells
//! separated by `,`, the first line row 1; it writes the rows back as text, one line
//! per case with its times at the offset given, so a test can read what was exported.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::allocation::Eligibility;
use domain::counsel::{
    AssignKind, AutoDivGroup, Candidate, CaseFilter, CaseOutcome, CaseStatus, CounselCase, CounselError, ManagerEntry,
    ManagerFacts, ManagerRefusal, ManagerStats, MemberTerms, Membership, NewCounselCase, Queue, QueueKey, QueueName,
    candidate_refusal, member_eligibility,
};
use domain::counsel_sheet::{ColumnMap, ExportRow, KnownCustomer, Sheet, SheetError, is_blank_row, is_header_row};
use domain::error::RepoError;
use domain::identity::{MohomId, User};
use domain::import::Cell;
use domain::ports::{CounselStore, CounselWorkbook};
use domain::reference::AllocationPolicy;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

/// Counsel storage in memory; `users` are the users it knows, with whether their org is
/// an operator org.
#[derive(Debug, Default)]
pub struct MemoryCounselStore {
    pub state: Mutex<CounselState>,
}

/// What [`MemoryCounselStore`] holds.
#[derive(Debug, Default)]
pub struct CounselState {
    pub users: Vec<(User, bool)>,
    pub queues: Vec<Queue>,
    pub members: Vec<Membership>,
    pub cases: Vec<CounselCase>,
    /// Every writer call that got past its refusals, by name (to show a refusal wrote nothing).
    pub writes: Vec<&'static str>,
    next_member: i64,
}

impl MemoryCounselStore {
    /// A store that knows these users (`true`: of an operator org).
    #[must_use]
    pub fn with_users(users: Vec<(User, bool)>) -> Self {
        Self { state: Mutex::new(CounselState { users, next_member: 1000, ..CounselState::default() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CounselState> {
        self.state.lock().expect("counsel state lock")
    }
}

impl CounselState {
    fn candidate(&self, user: &User, operator_org: bool) -> Candidate {
        Candidate { user_id: user.id, status: user.status, role: user.role, operator_org, dept: user.team_id.clone() }
    }

    fn refresh(&mut self) {
        for m in &mut self.members {
            m.open_cases = self
                .cases
                .iter()
                .filter(|c| c.auto_div_no == Some(m.auto_div_no) && c.status == CaseStatus::Assigned)
                .count() as u64;
            m.user_active = self.users.iter().any(|(u, _)| u.id == m.user_id && u.is_active());
        }
    }

    fn pick(&self, queue_id: Uuid) -> Option<usize> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.queue_id == queue_id)
            .filter(|(_, m)| {
                member_eligibility(m.possible, m.user_active, m.open_cases, u64::from(m.terms.capacity))
                    == Eligibility::Eligible
            })
            .min_by_key(|(_, m)| (m.open_cases, m.auto_div_no))
            .map(|(i, _)| i)
    }

    fn assign(&mut self, case: usize, member: usize, kind: AssignKind, now: OffsetDateTime) {
        let m = &mut self.members[member];
        m.open_cases += 1;
        m.last_assigned_at = Some(now);
        let c = &mut self.cases[case];
        c.status = CaseStatus::Assigned;
        c.assignee_user_id = Some(m.user_id);
        c.auto_div_no = Some(m.auto_div_no);
        c.assign_kind = Some(kind);
        c.assigned_at = Some(now);
    }

    fn sweep(&mut self, queue_id: Uuid, now: OffsetDateTime) {
        self.refresh();
        let waiting: Vec<usize> = (0..self.cases.len())
            .filter(|&i| self.cases[i].queue_id == queue_id && self.cases[i].status == CaseStatus::Waiting)
            .collect();
        for case in waiting {
            let Some(member) = self.pick(queue_id) else { break };
            self.assign(case, member, AssignKind::Auto, now);
        }
    }

    fn queue_by_key(&self, key: &QueueKey) -> Option<Queue> {
        self.queues.iter().find(|q| &q.key == key).cloned()
    }

    fn member(&self, auto_div_no: i64) -> Result<usize, CounselError> {
        self.members.iter().position(|m| m.auto_div_no == auto_div_no).ok_or(CounselError::MemberNotFound(auto_div_no))
    }
}

impl CounselStore for MemoryCounselStore {
    async fn create_queue(
        &self,
        key: &QueueKey,
        name: &QueueName,
        policy: AllocationPolicy,
        now: OffsetDateTime,
    ) -> Result<Queue, CounselError> {
        let mut s = self.lock();
        if s.queue_by_key(key).is_some() {
            return Err(CounselError::QueueExists(key.clone()));
        }
        let queue = Queue {
            id: domain::ids::new_id(),
            key: key.clone(),
            name: name.as_str().to_owned(),
            policy,
            created_at: now,
        };
        s.queues.push(queue.clone());
        s.writes.push("create_queue");
        Ok(queue)
    }

    async fn list_queues(&self) -> Result<Vec<Queue>, RepoError> {
        let mut queues = self.lock().queues.clone();
        queues.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(queues)
    }

    async fn operator_user(&self, org: Option<Uuid>, login: &MohomId) -> Result<Option<Uuid>, RepoError> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|(u, operator)| {
                *operator && u.is_active() && &u.mohom_id == login && org.is_none_or(|o| u.org_id == o)
            })
            .map(|(u, _)| u.id))
    }

    async fn manager_facts(&self, login: &str, key: Option<&QueueKey>) -> Result<ManagerFacts, RepoError> {
        let s = self.lock();
        let candidate = s
            .users
            .iter()
            .find(|(u, operator)| *operator && u.mohom_id.as_str() == login)
            .map(|(u, o)| s.candidate(u, *o));
        let queue = key.map(|k| {
            s.queue_by_key(k).map(|q| {
                candidate
                    .as_ref()
                    .is_some_and(|c| s.members.iter().any(|m| m.queue_id == q.id && m.user_id == c.user_id))
            })
        });
        Ok(ManagerFacts { candidate, queue })
    }

    async fn add_member(
        &self,
        key: &QueueKey,
        user_id: Uuid,
        terms: MemberTerms,
        possible: bool,
        _actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        let mut s = self.lock();
        let queue = s.queue_by_key(key).ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        let Some((user, operator)) = s.users.iter().find(|(u, _)| u.id == user_id).cloned() else {
            return Err(CounselError::NotAManager(ManagerRefusal::UserNotFound));
        };
        if let Some(why) = candidate_refusal(&s.candidate(&user, operator)) {
            return Err(CounselError::NotAManager(why));
        }
        if s.members.iter().any(|m| m.queue_id == queue.id && m.user_id == user_id) {
            return Err(CounselError::AlreadyMember);
        }
        s.next_member += 1;
        let member = Membership {
            auto_div_no: s.next_member,
            queue_id: queue.id,
            queue: queue.key.clone(),
            queue_name: queue.name.clone(),
            policy: queue.policy,
            user_id,
            mohom_id: user.mohom_id.as_str().to_owned(),
            dept: user.team_id.clone(),
            user_active: user.is_active(),
            terms,
            possible,
            open_cases: 0,
            last_assigned_at: None,
            created_at: now,
        };
        s.members.push(member);
        s.writes.push("add_member");
        if possible {
            s.sweep(queue.id, now);
        }
        let i = s.members.len() - 1;
        Ok(s.members[i].clone())
    }

    async fn update_member(
        &self,
        auto_div_no: i64,
        terms: MemberTerms,
        _actor: &str,
        now: OffsetDateTime,
    ) -> Result<Membership, CounselError> {
        let mut s = self.lock();
        let i = s.member(auto_div_no)?;
        s.members[i].terms = terms;
        let queue = s.members[i].queue_id;
        s.writes.push("update_member");
        s.sweep(queue, now);
        Ok(s.members[i].clone())
    }

    async fn remove_member(&self, auto_div_no: i64, _actor: &str, now: OffsetDateTime) -> Result<u64, CounselError> {
        let mut s = self.lock();
        let i = s.member(auto_div_no)?;
        let removed = s.members.remove(i);
        let mut returned = 0;
        for c in &mut s.cases {
            if c.auto_div_no == Some(auto_div_no) && c.status == CaseStatus::Assigned {
                c.status = CaseStatus::Waiting;
                c.assignee_user_id = None;
                c.auto_div_no = None;
                c.assign_kind = None;
                c.assigned_at = None;
                returned += 1;
            }
        }
        s.writes.push("remove_member");
        s.sweep(removed.queue_id, now);
        Ok(returned)
    }

    async fn set_possible(
        &self,
        auto_div_nos: &[i64],
        possible: bool,
        _actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Membership>, CounselError> {
        let mut s = self.lock();
        let found = auto_div_nos.iter().map(|n| s.member(*n)).collect::<Result<Vec<usize>, _>>()?;
        for &i in &found {
            s.members[i].possible = possible;
        }
        s.writes.push("set_possible");
        let queues: Vec<Uuid> = found.iter().map(|&i| s.members[i].queue_id).collect();
        for q in queues {
            s.sweep(q, now);
        }
        Ok(found.iter().map(|&i| s.members[i].clone()).collect())
    }

    async fn create_cases(
        &self,
        key: &QueueKey,
        cases: &[NewCounselCase],
        _actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<CaseOutcome>, CounselError> {
        let mut s = self.lock();
        let queue = s.queue_by_key(key).ok_or_else(|| CounselError::QueueNotFound(key.clone()))?;
        s.sweep(queue.id, now);
        let mut outcomes = Vec::with_capacity(cases.len());
        for new in cases {
            let cnsl_no = domain::ids::new_id();
            s.cases.push(CounselCase {
                cnsl_no,
                queue_id: queue.id,
                queue: queue.key.clone(),
                cnsl_typ_no: new.cnsl_typ_no.clone(),
                ob_typ_no: new.ob_typ_no.clone(),
                mbr_no: new.mbr_no.clone(),
                ord_no: new.ord_no.clone(),
                accp_cont: new.accp_cont.clone(),
                cust_nm: new.cust_nm.clone(),
                cust_tel: new.cust_tel.clone(),
                status: CaseStatus::Waiting,
                assignee_user_id: None,
                auto_div_no: None,
                assign_kind: None,
                explanation: None,
                as_id: new.as_id,
                created_at: now,
                assigned_at: None,
                completed_at: None,
            });
            let case = s.cases.len() - 1;
            let assignee = s.pick(queue.id).map(|m| {
                s.assign(case, m, AssignKind::Auto, now);
                (s.members[m].auto_div_no, s.members[m].user_id)
            });
            outcomes.push(CaseOutcome { cnsl_no, assignee });
        }
        s.writes.push("create_cases");
        Ok(outcomes)
    }

    async fn manual_assign(
        &self,
        cnsl_no: Uuid,
        user_id: Uuid,
        _actor: &str,
        now: OffsetDateTime,
    ) -> Result<CaseOutcome, CounselError> {
        let mut s = self.lock();
        s.refresh();
        let case = s.cases.iter().position(|c| c.cnsl_no == cnsl_no).ok_or(CounselError::CaseNotFound(cnsl_no))?;
        if s.cases[case].status != CaseStatus::Waiting {
            return Err(CounselError::CaseNotWaiting(cnsl_no));
        }
        let queue = s.cases[case].queue_id;
        let member = s
            .members
            .iter()
            .position(|m| m.queue_id == queue && m.user_id == user_id)
            .ok_or(CounselError::NotAMember)?;
        let m = &s.members[member];
        if !m.user_active {
            return Err(CounselError::NotAManager(ManagerRefusal::UserInactive));
        }
        if m.open_cases >= u64::from(m.terms.capacity) {
            return Err(CounselError::OverCapacity(m.auto_div_no));
        }
        let auto_div_no = m.auto_div_no;
        s.assign(case, member, AssignKind::Manual, now);
        s.writes.push("manual_assign");
        Ok(CaseOutcome { cnsl_no, assignee: Some((auto_div_no, user_id)) })
    }

    async fn complete_case(&self, cnsl_no: Uuid, _actor: &str, now: OffsetDateTime) -> Result<(), CounselError> {
        let mut s = self.lock();
        let case = s.cases.iter().position(|c| c.cnsl_no == cnsl_no).ok_or(CounselError::CaseNotFound(cnsl_no))?;
        if s.cases[case].as_id.is_some() {
            return Err(CounselError::CaseIsAsReview(cnsl_no));
        }
        if s.cases[case].status != CaseStatus::Assigned {
            return Err(CounselError::CaseNotAssigned(cnsl_no));
        }
        s.cases[case].status = CaseStatus::Completed;
        s.cases[case].completed_at = Some(now);
        let queue = s.cases[case].queue_id;
        s.writes.push("complete_case");
        s.sweep(queue, now);
        Ok(())
    }

    async fn case(&self, cnsl_no: Uuid) -> Result<Option<CounselCase>, RepoError> {
        Ok(self.lock().cases.iter().find(|c| c.cnsl_no == cnsl_no).cloned())
    }

    async fn waiting_cases(&self) -> Result<Vec<CounselCase>, RepoError> {
        Ok(self.lock().cases.iter().filter(|c| c.status == CaseStatus::Waiting).cloned().collect())
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CounselCase>, RepoError> {
        Ok(self.lock().cases.iter().filter(|c| filter.matches(c)).cloned().collect())
    }

    async fn customers_of(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, KnownCustomer>, RepoError> {
        Ok(self
            .lock()
            .cases
            .iter()
            .filter(|c| ids.contains(&c.cnsl_no))
            .map(|c| (c.cnsl_no, KnownCustomer { name: c.cust_nm.clone(), phone: c.cust_tel.clone() }))
            .collect())
    }

    async fn managers(&self, dept: Option<&str>, login: Option<&str>) -> Result<Vec<ManagerEntry>, RepoError> {
        let s = self.lock();
        let mut out: Vec<ManagerEntry> = Vec::new();
        for m in s.members.iter().filter(|m| login.is_none_or(|l| m.mohom_id == l)) {
            if dept.is_some_and(|d| m.dept.as_deref() != Some(d)) {
                continue;
            }
            if let Some(entry) = out.iter_mut().find(|e| e.user_id == m.user_id) {
                entry.memberships.push(m.clone());
                continue;
            }
            let Some((user, _)) = s.users.iter().find(|(u, _)| u.id == m.user_id) else { continue };
            out.push(ManagerEntry {
                user_id: m.user_id,
                mohom_id: m.mohom_id.clone(),
                dept: m.dept.clone(),
                name: user.name.clone(),
                active: user.is_active(),
                memberships: vec![m.clone()],
            });
        }
        out.sort_by(|a, b| a.mohom_id.cmp(&b.mohom_id));
        Ok(out)
    }

    async fn memberships(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
    ) -> Result<Vec<Membership>, RepoError> {
        let mut out: Vec<Membership> = self
            .lock()
            .members
            .iter()
            .filter(|m| group.is_none_or(|g| m.queue.group == g))
            .filter(|m| detail.is_none_or(|d| m.queue.detail == d))
            .filter(|m| login.is_none_or(|l| m.mohom_id == l))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.queue.cmp(&b.queue).then(a.auto_div_no.cmp(&b.auto_div_no)));
        Ok(out)
    }

    async fn stats(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Result<Vec<(Membership, ManagerStats)>, RepoError> {
        let members = self.memberships(group, detail, login).await?;
        let s = self.lock();
        let within =
            |at: Option<OffsetDateTime>| at.is_some_and(|at| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at < t));
        Ok(members
            .into_iter()
            .map(|m| {
                let mine: Vec<&CounselCase> = s.cases.iter().filter(|c| c.auto_div_no == Some(m.auto_div_no)).collect();
                let assigned = |kind: AssignKind| {
                    mine.iter().filter(|c| c.assign_kind == Some(kind) && within(c.assigned_at)).count() as u64
                };
                let stats = ManagerStats {
                    user_id: m.user_id,
                    auto_assigned: assigned(AssignKind::Auto),
                    manual_assigned: assigned(AssignKind::Manual),
                    completed: mine.iter().filter(|c| within(c.completed_at)).count() as u64,
                    open: m.open_cases,
                    weight: m.terms.weight,
                };
                (m, stats)
            })
            .collect())
    }

    async fn logins(&self, user_ids: &[Uuid]) -> Result<HashMap<Uuid, String>, RepoError> {
        Ok(self
            .lock()
            .users
            .iter()
            .filter(|(u, _)| user_ids.contains(&u.id))
            .map(|(u, _)| (u.id, u.mohom_id.as_str().to_owned()))
            .collect())
    }
}

/// Workbooks as text (see the module docs); `written` keeps every export's offset.
#[derive(Debug, Default)]
pub struct MemoryWorkbook {
    pub written: Mutex<Vec<UtcOffset>>,
}

impl CounselWorkbook for MemoryWorkbook {
    async fn read(&self, bytes: Vec<u8>, map: ColumnMap) -> Result<Sheet, SheetError> {
        let text = String::from_utf8(bytes).map_err(|_| SheetError::NotXlsx("not text".into()))?;
        let rows: Vec<(u64, Vec<Cell>)> = text
            .lines()
            .zip(1..)
            .map(|(line, n)| {
                let cells = line
                    .split(',')
                    .map(|c| if c.trim().is_empty() { Cell::Empty } else { Cell::Text(c.to_owned()) })
                    .collect();
                (n, cells)
            })
            .collect();
        let mut data = rows.into_iter().filter(|(_, cells)| !is_blank_row(&map, cells)).peekable();
        if data.peek().is_some_and(|(_, cells)| is_header_row(&map, cells)) {
            data.next();
        }
        let rows: Vec<(u64, Vec<Cell>)> = data.collect();
        Sheet::new(map, rows)
    }

    async fn write(&self, rows: Vec<ExportRow>, offset: UtcOffset) -> Result<Vec<u8>, RepoError> {
        self.written.lock().expect("workbook lock").push(offset);
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{},{},{},{}",
                    r.cnsl_no,
                    r.status.as_str(),
                    r.manager.as_deref().unwrap_or(""),
                    r.received_at.to_offset(offset)
                )
            })
            .collect();
        Ok(lines.join("\n").into_bytes())
    }
}
