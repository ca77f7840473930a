//! Ports of the counsel use cases ([`crate::service::counsel`]): one method per thing a
//! use case needs from storage, and the workbook port that reads and writes `.xlsx`.
//!
//! Invariants an adapter keeps:
//! - each writer is one transaction: a refusal writes nothing;
//! - every writer that touches a queue's members or cases does so under that queue's
//!   lock, and sweeps the queue's waiting cases (oldest first) whenever someone may have
//!   become eligible; the engine (`crate::allocation`) decides each pick;
//! - a membership is written only for a user [`crate::counsel::candidate_refusal`]
//!   accepts, judged under the lock.

use std::collections::HashMap;
use std::future::Future;

use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::counsel::{
    AutoDivGroup, CaseFilter, CaseOutcome, CounselCase, CounselError, ManagerEntry, ManagerFacts, ManagerStats,
    MemberTerms, Membership, NewCounselCase, Queue, QueueKey, QueueName,
};
use crate::counsel_sheet::{ColumnMap, ExportRow, KnownCustomer, Sheet, SheetError};
use crate::error::RepoError;
use crate::identity::MohomId;
use crate::reference::AllocationPolicy;

/// Counsel queues, memberships and cases.
pub trait CounselStore: Send + Sync {
    /// Creates a queue; [`CounselError::QueueExists`] for a key already used.
    fn create_queue(
        &self,
        key: &QueueKey,
        name: &QueueName,
        policy: AllocationPolicy,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Queue, CounselError>> + Send;
    /// Every queue, by group code and detail number.
    fn list_queues(&self) -> impl Future<Output = Result<Vec<Queue>, RepoError>> + Send;
    /// The active user with this login id in `org` (any operator org when `None`).
    fn operator_user(
        &self,
        org: Option<Uuid>,
        login: &MohomId,
    ) -> impl Future<Output = Result<Option<Uuid>, RepoError>> + Send;
    /// What is known of a would-be member (and of the queue, when one is named).
    fn manager_facts(
        &self,
        login: &str,
        key: Option<&QueueKey>,
    ) -> impl Future<Output = Result<ManagerFacts, RepoError>> + Send;
    /// Adds a member (judged by `candidate_refusal` under the queue's lock); a member
    /// added with the flag on sweeps the queue.
    fn add_member(
        &self,
        key: &QueueKey,
        user_id: Uuid,
        terms: MemberTerms,
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Membership, CounselError>> + Send;
    /// New weight and capacity (a weight change takes the member out of the ledger at its
    /// live credit); sweeps the queue.
    fn update_member(
        &self,
        auto_div_no: i64,
        terms: MemberTerms,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Membership, CounselError>> + Send;
    /// Removes a membership; its open cases go back to the queue (swept). How many went back.
    fn remove_member(
        &self,
        auto_div_no: i64,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, CounselError>> + Send;
    /// Switches the flags, all or nothing; on sweeps. The memberships afterwards.
    fn set_possible(
        &self,
        auto_div_nos: &[i64],
        possible: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Membership>, CounselError>> + Send;
    /// Creates cases in one queue, all or nothing (the backlog swept first).
    fn create_cases(
        &self,
        key: &QueueKey,
        cases: &[NewCounselCase],
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<CaseOutcome>, CounselError>> + Send;
    /// Assigns a waiting case to a member of its queue by a person's decision.
    fn manual_assign(
        &self,
        cnsl_no: Uuid,
        user_id: Uuid,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<CaseOutcome, CounselError>> + Send;
    /// Completes an assigned case (not an AS review's); sweeps the queue.
    fn complete_case(
        &self,
        cnsl_no: Uuid,
        actor: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), CounselError>> + Send;
    /// One case.
    fn case(&self, cnsl_no: Uuid) -> impl Future<Output = Result<Option<CounselCase>, RepoError>> + Send;
    /// Every waiting case, oldest first.
    fn waiting_cases(&self) -> impl Future<Output = Result<Vec<CounselCase>, RepoError>> + Send;
    /// The cases passing `filter`, oldest first.
    fn list_cases(&self, filter: &CaseFilter) -> impl Future<Output = Result<Vec<CounselCase>, RepoError>> + Send;
    /// The customers of those of `ids` that are cases.
    fn customers_of(
        &self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, KnownCustomer>, RepoError>> + Send;
    /// Managers with live memberships, by login id, of the department and login given.
    fn managers(
        &self,
        dept: Option<&str>,
        login: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ManagerEntry>, RepoError>> + Send;
    /// Live memberships, by queue then number, of the group, detail and login given.
    fn memberships(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Membership>, RepoError>> + Send;
    /// Per membership, its counts in `[from, to)`.
    fn stats(
        &self,
        group: Option<AutoDivGroup>,
        detail: Option<&str>,
        login: Option<&str>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Vec<(Membership, ManagerStats)>, RepoError>> + Send;
    /// The login ids of these users (unknown ones left out).
    fn logins(&self, user_ids: &[Uuid]) -> impl Future<Output = Result<HashMap<Uuid, String>, RepoError>> + Send;
}

/// Reading and writing `.xlsx` workbooks (CPU-bound: an adapter runs it off the request's
/// worker).
pub trait CounselWorkbook: Send + Sync {
    /// The data rows of the first sheet under `map` (blank rows and a header dropped).
    fn read(&self, bytes: Vec<u8>, map: ColumnMap) -> impl Future<Output = Result<Sheet, SheetError>> + Send;
    /// The rows as a workbook, times written at `offset`, customers masked.
    fn write(&self, rows: Vec<ExportRow>, offset: UtcOffset)
    -> impl Future<Output = Result<Vec<u8>, RepoError>> + Send;
}
