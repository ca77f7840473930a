//! What counsel storage holds and hands back: queues, memberships, managers, cases and
//! the outcome of creating one. Plain records: every rule about them is decided in
//! [`crate::service::counsel`] or, where it must hold under a queue's lock, by the
//! functions of [`super`] that the storage adapter calls inside its transaction.
//!
//! Invariants:
//! - a [`CounselCase`] carries its customer decrypted (name, phone): whoever shows it
//!   masks it (the API's DTOs, the export's writer);
//! - a case's `explanation` is the engine's record of an assignment, stored as JSON
//!   (`{policy, kind, chosen, pick, considered, skipped, by?}`), kept as the value
//!   stored so every reader sees it exactly as written.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{AssignKind, CaseStatus, MemberTerms, QueueKey};
use crate::pii::{PersonName, PhoneNumber};
use crate::reference::AllocationPolicy;

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

/// A case, its customer decrypted (whoever shows it masks it).
#[derive(Debug, Clone, PartialEq)]
pub struct CounselCase {
    pub cnsl_no: Uuid,
    pub queue_id: Uuid,
    pub queue: QueueKey,
    /// Counsel type (the seed's `cnslTypNo`).
    pub cnsl_typ_no: String,
    /// Outbound type (the seed's `obTypNo`).
    pub ob_typ_no: Option<String>,
    /// Member number (the seed's `mbrNo`).
    pub mbr_no: Option<String>,
    /// Order number (the seed's `ordNo`).
    pub ord_no: Option<String>,
    /// What was received (the seed's `accpCont`).
    pub accp_cont: Option<String>,
    pub cust_nm: Option<PersonName>,
    pub cust_tel: Option<PhoneNumber>,
    pub status: CaseStatus,
    pub assignee_user_id: Option<Uuid>,
    pub auto_div_no: Option<i64>,
    pub assign_kind: Option<AssignKind>,
    /// The engine's explanation of the assignment (policy, considered, skipped), as stored.
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

/// Filters of the export (`getObCsCounselInfoListExcel`); `accp_cont` is a substring,
/// the others match exactly; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    pub cnsl_typ_no: Option<String>,
    pub ob_typ_no: Option<String>,
}

impl CaseFilter {
    /// Whether `case` passes every filter given.
    #[must_use]
    pub fn matches(&self, case: &CounselCase) -> bool {
        let exact = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
        exact(&self.mbr_no, case.mbr_no.as_deref())
            && exact(&self.ord_no, case.ord_no.as_deref())
            && exact(&self.cnsl_typ_no, Some(case.cnsl_typ_no.as_str()))
            && exact(&self.ob_typ_no, case.ob_typ_no.as_deref())
            && self.accp_cont.as_deref().is_none_or(|w| case.accp_cont.as_deref().is_some_and(|t| t.contains(w)))
    }
}
