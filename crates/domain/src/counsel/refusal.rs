//! Why a counsel request changes nothing: [`CounselError`], and why a user may not be a
//! queue's member: [`ManagerRefusal`], decided by [`candidate_refusal`] and
//! [`judge_manager`] from facts storage reads (under the queue's lock when a membership
//! is being written).
//!
//! Invariants:
//! - a refusal names no HTTP status and no API code: the API maps each variant once;
//! - the order of the manager checks is fixed: unknown, inactive, role/org, department,
//!   queue, already a member; the first failing one is the answer.

use thiserror::Error;
use uuid::Uuid;

use super::QueueKey;
use crate::counsel_sheet::SheetError;
use crate::error::{RepoError, ValidationError};
use crate::identity::{Role, UserStatus};

/// Why a user may not be a member of a queue. [`ManagerRefusal::as_str`] is the stable
/// code `checkValidateManager` answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagerRefusal {
    /// No user with this login id in an operator org.
    UserNotFound,
    UserInactive,
    /// Neither a `CS_MANAGER` nor an `ADMIN` of an operator org.
    NotCsManager,
    /// Not of the department asked for.
    DepartmentMismatch,
    AlreadyMember,
    QueueNotFound,
}

impl ManagerRefusal {
    /// The stable code.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::UserInactive => "USER_INACTIVE",
            Self::NotCsManager => "NOT_CS_MANAGER",
            Self::DepartmentMismatch => "DEPARTMENT_MISMATCH",
            Self::AlreadyMember => "ALREADY_MEMBER",
            Self::QueueNotFound => "QUEUE_NOT_FOUND",
        }
    }
}

impl std::fmt::Display for ManagerRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What storage knows of a would-be member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user_id: Uuid,
    pub status: UserStatus,
    pub role: Role,
    /// Whether the user's org is an operator org.
    pub operator_org: bool,
    /// The user's department (`teamId`, the seed's `deptCd`).
    pub dept: Option<String>,
}

/// What storage knows of a would-be membership: the user (`None`: no such user in an
/// operator org) and, when a queue was named, whether it exists and already has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerFacts {
    pub candidate: Option<Candidate>,
    /// `None`: no queue was named. `Some(None)`: no such queue. `Some(Some(member))`:
    /// the queue exists, and whether the user is a live member of it.
    pub queue: Option<Option<bool>>,
}

/// Why `candidate` may not be any queue's member: active, and a `CS_MANAGER` or `ADMIN`
/// of an operator org.
#[must_use]
pub fn candidate_refusal(candidate: &Candidate) -> Option<ManagerRefusal> {
    if candidate.status != UserStatus::Active {
        return Some(ManagerRefusal::UserInactive);
    }
    let role_ok = matches!(candidate.role, Role::CsManager | Role::Admin);
    if !role_ok || !candidate.operator_org {
        return Some(ManagerRefusal::NotCsManager);
    }
    None
}

/// `checkValidateManager`: whether the user may join the queue (no queue named: whether
/// they may be a member of any), of the department `dept` when one is given.
///
/// # Errors
/// The first [`ManagerRefusal`] in the fixed order.
pub fn judge_manager(facts: &ManagerFacts, dept: Option<&str>) -> Result<(), ManagerRefusal> {
    let Some(candidate) = &facts.candidate else { return Err(ManagerRefusal::UserNotFound) };
    if let Some(why) = candidate_refusal(candidate) {
        return Err(why);
    }
    if let Some(dept) = dept
        && candidate.dept.as_deref() != Some(dept)
    {
        return Err(ManagerRefusal::DepartmentMismatch);
    }
    match facts.queue {
        None | Some(Some(false)) => Ok(()),
        Some(None) => Err(ManagerRefusal::QueueNotFound),
        Some(Some(true)) => Err(ManagerRefusal::AlreadyMember),
    }
}

/// A counsel request refused (nothing changed), or a storage failure.
#[derive(Debug, Error)]
pub enum CounselError {
    #[error("no counsel queue {0}")]
    QueueNotFound(QueueKey),
    #[error("counsel queue {0} already exists")]
    QueueExists(QueueKey),
    #[error("no live membership {0}")]
    MemberNotFound(i64),
    /// The user may not be a member.
    #[error("not a manager: {0}")]
    NotAManager(ManagerRefusal),
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
    /// A CS manager closing a case assigned to someone else.
    #[error("a CS manager completes only the cases assigned to them")]
    NotTheirCase,
    /// No active user of the operator org with this login id.
    #[error("no such active user in the operator org")]
    UserNotFound,
    /// Input that breaks a rule, by field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// An upload that yields no cases.
    #[error(transparent)]
    Sheet(#[from] SheetError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(status: UserStatus, role: Role, operator_org: bool) -> Candidate {
        Candidate { user_id: Uuid::nil(), status, role, operator_org, dept: Some("D1".into()) }
    }

    #[test]
    fn a_member_is_an_active_cs_manager_or_admin_of_an_operator_org() {
        assert_eq!(candidate_refusal(&candidate(UserStatus::Active, Role::CsManager, true)), None);
        assert_eq!(candidate_refusal(&candidate(UserStatus::Active, Role::Admin, true)), None);
        let refused = [
            (candidate(UserStatus::Deleted, Role::CsManager, true), ManagerRefusal::UserInactive),
            (candidate(UserStatus::Active, Role::Member, true), ManagerRefusal::NotCsManager),
            (candidate(UserStatus::Active, Role::Admin, false), ManagerRefusal::NotCsManager),
            (candidate(UserStatus::Deleted, Role::Member, false), ManagerRefusal::UserInactive),
        ];
        for (c, why) in refused {
            assert_eq!(candidate_refusal(&c), Some(why), "{c:?}");
        }
    }

    #[test]
    fn the_first_failing_check_is_the_answer() {
        let ok = Some(candidate(UserStatus::Active, Role::CsManager, true));
        let facts = |candidate: Option<Candidate>, queue| ManagerFacts { candidate, queue };
        assert_eq!(judge_manager(&facts(None, Some(None)), Some("x")), Err(ManagerRefusal::UserNotFound));
        let inactive = Some(candidate(UserStatus::Deleted, Role::Member, true));
        assert_eq!(judge_manager(&facts(inactive, None), Some("x")), Err(ManagerRefusal::UserInactive));
        assert_eq!(judge_manager(&facts(ok.clone(), Some(None)), Some("D2")), Err(ManagerRefusal::DepartmentMismatch));
        assert_eq!(judge_manager(&facts(ok.clone(), Some(None)), Some("D1")), Err(ManagerRefusal::QueueNotFound));
        assert_eq!(judge_manager(&facts(ok.clone(), Some(Some(true))), None), Err(ManagerRefusal::AlreadyMember));
        assert_eq!(judge_manager(&facts(ok.clone(), Some(Some(false))), Some("D1")), Ok(()));
        assert_eq!(judge_manager(&facts(ok, None), None), Ok(()), "no queue: may be a manager at all");
        assert_eq!(ManagerRefusal::DepartmentMismatch.to_string(), "DEPARTMENT_MISMATCH");
    }
}
