//! Cases: reading one, the manual-assignment list, assigning by hand and completing.
//! Each case comes back as a [`CaseView`], its manager named by login id.

use std::collections::HashMap;

use uuid::Uuid;

use super::CounselService;
use crate::counsel::{AutoDivGroup, CounselCase, CounselError};
use crate::error::RepoError;
use crate::identity::Role;
use crate::ports::{Clock, CounselStore, CounselWorkbook};
use crate::principal::Principal;

/// A case and its manager's login id.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    pub case: CounselCase,
    pub manager_login: Option<String>,
}

impl<S: CounselStore + ?Sized, W: CounselWorkbook + ?Sized, C: Clock + ?Sized> CounselService<'_, S, W, C> {
    /// The cases with their managers' login ids (one lookup for all).
    ///
    /// # Errors
    /// Storage failures.
    pub(super) async fn views(&self, cases: Vec<CounselCase>) -> Result<Vec<CaseView>, RepoError> {
        let mut ids: Vec<Uuid> = cases.iter().filter_map(|c| c.assignee_user_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let logins: HashMap<Uuid, String> =
            if ids.is_empty() { HashMap::new() } else { self.store.logins(&ids).await? };
        Ok(cases
            .into_iter()
            .map(|case| {
                let manager_login = case.assignee_user_id.and_then(|id| logins.get(&id).cloned());
                CaseView { case, manager_login }
            })
            .collect())
    }

    /// One case.
    ///
    /// # Errors
    /// [`CounselError::CaseNotFound`].
    pub async fn case(&self, cnsl_no: Uuid) -> Result<CaseView, CounselError> {
        let case = self.store.case(cnsl_no).await?.ok_or(CounselError::CaseNotFound(cnsl_no))?;
        Ok(self.views(vec![case]).await?.remove(0))
    }

    /// The cases waiting for a manager, oldest first, of the group and detail given.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn waiting(&self, group: Option<AutoDivGroup>, detail: Option<&str>) -> Result<Vec<CaseView>, RepoError> {
        let cases = self
            .store
            .waiting_cases()
            .await?
            .into_iter()
            .filter(|c| group.is_none_or(|g| c.queue.group == g) && detail.is_none_or(|d| c.queue.detail == d))
            .collect();
        self.views(cases).await
    }

    /// Assigns a waiting case to the manager `login` names (counted in the ledger).
    ///
    /// # Errors
    /// [`CounselError::Invalid`] on `aempId`, [`CounselError::UserNotFound`], and the
    /// store's refusals (`CaseNotFound`, `CaseNotWaiting`, `NotAMember`, `OverCapacity`,
    /// `NotAManager`).
    pub async fn manual_assign(
        &self,
        principal: &Principal,
        cnsl_no: Uuid,
        login: &str,
    ) -> Result<CaseView, CounselError> {
        let user = self.operator_user(principal, login, "aempId").await?;
        self.store.manual_assign(cnsl_no, user, &principal.actor(), self.clock.now()).await?;
        self.case(cnsl_no).await
    }

    /// Completes an assigned case. A CS manager completes only their own.
    ///
    /// # Errors
    /// [`CounselError::NotTheirCase`], and the store's refusals (`CaseNotFound`,
    /// `CaseIsAsReview`, `CaseNotAssigned`).
    pub async fn complete(&self, principal: &Principal, cnsl_no: Uuid) -> Result<CaseView, CounselError> {
        if let Some(user) = principal.acting.as_ref().filter(|u| u.role == Role::CsManager) {
            let case = self.store.case(cnsl_no).await?;
            if case.is_some_and(|c| c.assignee_user_id.is_some_and(|assignee| assignee != user.id)) {
                return Err(CounselError::NotTheirCase);
            }
        }
        self.store.complete_case(cnsl_no, &principal.actor(), self.clock.now()).await?;
        self.case(cnsl_no).await
    }
}
