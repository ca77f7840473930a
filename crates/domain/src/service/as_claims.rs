//! AS claims (AS 신청) as use cases: claim, list, read, cancel, and the operator's
//! review, approval and rejection.
//!
//! Invariants:
//! - a member claims, lists, reads and cancels only their own AS: another member's AS,
//!   and a lead the member does not own, are "not found";
//! - the operator's staff (its API key, an `ADMIN` or a `CS_MANAGER` of the operator
//!   org) naming no member reads every AS ([`reach`]); naming a member, it reads that
//!   member's only;
//! - the operator's API key or an `ADMIN` decides (review, approve, reject); a
//!   `CS_MANAGER` decides only the AS whose review case is assigned to them now;
//!   anyone else is refused before the input is judged;
//! - a rejection carries a comment; a comment is trimmed text of at most
//!   [`MAX_TEXT`](crate::as_claim::MAX_TEXT) characters;
//! - a claim's evidence is confirmed first, then storage reads the facts under its
//!   locks and the claim passes [`check_claim`] over them (the rules in their fixed
//!   order); a transition follows [`AsStatus::apply`](crate::lead::AsStatus::apply),
//!   here and again under the AS row's lock. A refusal writes nothing.

use time::Duration;
use uuid::Uuid;

use crate::as_claim::{
    AsAction, AsActor, AsClaim, AsError, AsFilter, AsQuery, AsScope, NewAsClaim, check_claim, parse_text,
};
use crate::error::ValidationError;
use crate::identity::{Role, User};
use crate::pagination::Page;
use crate::ports::{AsClaimRepository, Clock, EvidenceFiles, ReferenceRepository};
use crate::principal::Principal;
use crate::reference::{AsReason, OrgKind};

/// Who calls: the resolved principal (acting as a member for member-scoped calls) and
/// the request's id for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct AsCaller<'a> {
    pub principal: &'a Principal,
    pub request_id: Option<&'a str>,
}

impl AsCaller<'_> {
    /// The acting member of a member-scoped call.
    fn member(&self) -> Result<&User, AsError> {
        self.principal.acting.as_ref().ok_or(AsError::MemberRequired)
    }

    /// The caller as the history and the audit log name it.
    fn actor<'b>(&'b self, label: &'b str) -> AsActor<'b> {
        AsActor {
            label,
            user_id: self.principal.acting.as_ref().map(|u| u.id),
            org_id: Some(self.principal.org_id),
            request_id: self.request_id,
        }
    }
}

/// An AS with its reason's label (the code itself when no label is configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsClaimView {
    pub claim: AsClaim,
    pub reason_label: String,
}

/// The operator's staff: its API key, an `ADMIN` or a `CS_MANAGER` of the operator org.
fn is_operator_staff(principal: &Principal) -> bool {
    principal.org_kind == OrgKind::Operator && matches!(principal.role(), None | Some(Role::Admin | Role::CsManager))
}

/// Whose AS a reader reaches: every AS for the operator's staff naming no member
/// (`names_member`: the request named a `mohomId`), else the acting member's own.
///
/// # Errors
/// [`AsError::MemberRequired`] for an API key of a partner that names no member.
pub fn reach(principal: &Principal, names_member: bool) -> Result<AsScope, AsError> {
    if is_operator_staff(principal) && !names_member {
        return Ok(AsScope::Operator);
    }
    principal.acting.as_ref().map(|u| AsScope::Requester(u.id)).ok_or(AsError::MemberRequired)
}

fn label(reasons: &[AsReason], claim: AsClaim) -> AsClaimView {
    let reason_label = reasons
        .iter()
        .find(|r| r.code == claim.reason)
        .map_or_else(|| claim.reason.as_str().to_owned(), |r| r.label.clone());
    AsClaimView { claim, reason_label }
}

pub struct AsClaimService<'a, R: ?Sized, F: ?Sized, P: ?Sized, C: ?Sized> {
    repo: &'a R,
    files: &'a F,
    reference: &'a P,
    clock: &'a C,
}

impl<'a, R, F, P, C> AsClaimService<'a, R, F, P, C>
where
    R: AsClaimRepository + ?Sized,
    F: EvidenceFiles + ?Sized,
    P: ReferenceRepository + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(repo: &'a R, files: &'a F, reference: &'a P, clock: &'a C) -> Self {
        Self { repo, files, reference, clock }
    }

    async fn view(&self, claim: AsClaim) -> Result<AsClaimView, AsError> {
        Ok(label(&self.reference.list_as_reasons().await?, claim))
    }

    /// AS 신청: the acting member claims a lead they own back. Approved at once when
    /// the product consents and the case is plain.
    ///
    /// # Errors
    /// [`AsError::MemberRequired`]; the first evidence key refused ([`AsError::File`]);
    /// [`AsError::LeadNotFound`] for a lead the member does not own; the first rule of
    /// [`check_claim`] the claim breaks; storage failures.
    pub async fn claim(&self, caller: &AsCaller<'_>, new: &NewAsClaim) -> Result<AsClaimView, AsError> {
        let requester = caller.member()?;
        let now = self.clock.now();
        self.files.confirm_evidence(requester.org_id, requester.id, &new.file_keys, now).await?;
        let label = caller.principal.actor();
        let claim =
            self.repo.claim(requester, new, &caller.actor(&label), now, check_claim).await.map_err(|e| match e {
                AsError::NotFound => AsError::LeadNotFound,
                other => other,
            })?;
        self.view(claim).await
    }

    /// AS 신청 리스트: one page, newest first; `to` is exclusive.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self, scope: AsScope, filter: AsFilter) -> Result<Page<AsClaimView>, AsError> {
        let query = AsQuery {
            requester: match scope {
                AsScope::Requester(user) => Some(user),
                AsScope::Operator => None,
            },
            status: filter.status,
            lead_id: filter.lead_id,
            from: filter.from,
            to: filter.to.map(|t| t - Duration::milliseconds(1)),
            page: filter.page,
        };
        let page = self.repo.list(&query).await?;
        let reasons = self.reference.list_as_reasons().await?;
        Ok(Page {
            items: page.items.into_iter().map(|c| label(&reasons, c)).collect(),
            request: page.request,
            total: page.total,
        })
    }

    /// AS 신청 단건 조회: one AS with its evidence and history.
    ///
    /// # Errors
    /// [`AsError::NotFound`] outside `scope`; storage failures.
    pub async fn detail(&self, scope: AsScope, id: Uuid) -> Result<AsClaimView, AsError> {
        let claim = self.repo.find(id, scope).await?.ok_or(AsError::NotFound)?;
        self.view(claim).await
    }

    /// AS 신청 취소: the requester withdraws their AS while it is `REQUESTED`.
    ///
    /// # Errors
    /// [`AsError::MemberRequired`]; [`AsError::NotFound`] for another member's AS;
    /// `InvalidState` past `REQUESTED`; storage failures.
    pub async fn cancel(&self, caller: &AsCaller<'_>, id: Uuid) -> Result<AsClaimView, AsError> {
        let scope = AsScope::Requester(caller.member()?.id);
        self.transition(caller, id, AsAction::Cancel, scope, None).await
    }

    /// The operator starts reviewing an AS (`REQUESTED` → `IN_REVIEW`).
    ///
    /// # Errors
    /// As [`Self::approve`].
    pub async fn review(&self, caller: &AsCaller<'_>, id: Uuid) -> Result<AsClaimView, AsError> {
        self.decide(caller, id, AsAction::Review, None).await
    }

    /// Approves an AS: the lead is returned and the order compensated.
    ///
    /// # Errors
    /// [`AsError::NotDecider`]; [`AsError::Invalid`] for a long comment;
    /// [`AsError::NotFound`]; `InvalidState` once decided; storage failures.
    pub async fn approve(
        &self,
        caller: &AsCaller<'_>,
        id: Uuid,
        comment: Option<&str>,
    ) -> Result<AsClaimView, AsError> {
        self.decide(caller, id, AsAction::Approve, comment).await
    }

    /// Rejects an AS, saying why; ownership stays as it was.
    ///
    /// # Errors
    /// As [`Self::approve`], and [`AsError::Invalid`] without a comment.
    pub async fn reject(&self, caller: &AsCaller<'_>, id: Uuid, comment: &str) -> Result<AsClaimView, AsError> {
        self.decide(caller, id, AsAction::Reject, Some(comment)).await
    }

    async fn decide(
        &self,
        caller: &AsCaller<'_>,
        id: Uuid,
        action: AsAction,
        comment: Option<&str>,
    ) -> Result<AsClaimView, AsError> {
        self.check_decider(caller.principal, id).await?;
        let comment = parse_text(comment, "comment").map_err(|e| ValidationError(vec![e]))?;
        if action == AsAction::Reject && comment.is_none() {
            return Err(ValidationError::single("comment", "is required to reject").into());
        }
        self.transition(caller, id, action, AsScope::Operator, comment.as_deref()).await
    }

    /// The operator's key or an `ADMIN` decides any AS; a `CS_MANAGER` the AS whose
    /// review case is assigned to them now.
    async fn check_decider(&self, principal: &Principal, id: Uuid) -> Result<(), AsError> {
        if principal.org_kind != OrgKind::Operator {
            return Err(AsError::NotDecider);
        }
        match (principal.role(), principal.acting.as_ref()) {
            (None | Some(Role::Admin), _) => Ok(()),
            (Some(Role::CsManager), Some(user)) if self.repo.reviewer(id).await? == Some(user.id) => Ok(()),
            _ => Err(AsError::NotDecider),
        }
    }

    async fn transition(
        &self,
        caller: &AsCaller<'_>,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        comment: Option<&str>,
    ) -> Result<AsClaimView, AsError> {
        let current = self.repo.find(id, scope).await?.ok_or(AsError::NotFound)?;
        current.status.apply(action)?;
        let label = caller.principal.actor();
        let claim = self.repo.transition(id, action, scope, &caller.actor(&label), comment, self.clock.now()).await?;
        self.view(claim).await
    }
}
