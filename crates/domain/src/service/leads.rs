//! The leads use cases (LDBDS v1, seed 000): register, the owned and distributed-away
//! lists, one lead, use, contacts, distribute, recall.
//!
//! Invariants:
//! - every use case acts for the principal's acting member; without one it refuses
//!   ([`LeadError::NoActingMember`]) before reading anything;
//! - plain PII leaves only through [`LeadService::reveal`]: for the owner of a used lead
//!   (`Lead::visibility_for`), and only after the access rows are committed (a reveal
//!   that cannot be logged fails and shows nothing); `use` marks and logs in one
//!   transaction;
//! - a lead the member neither owns nor distributed does not exist for them
//!   ([`LeadError::NotFound`], never "forbidden"); the detail is the owner's only;
//! - only a `LEADER` distributes and recalls, never to themselves, only to an active
//!   member of their own org; a transfer is all or nothing, and a recall gives back
//!   exactly the rights the leader had (`crate::lead::plan_recall`);
//! - a registered lead names an existing product and a region of the region table, and
//!   its metadata is within `crate::lead::MAX_METADATA_BYTES` (`NewLead::parse`).

use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::identity::{MohomId, Role, User};
use crate::lead::{
    AssignmentRecord, Lead, LeadFields, ListFilter, ListScope, NewLead, RevealRefusal, TransferOutcome,
    TransferRefusal, Visibility, plan_distribution, plan_recall,
};
use crate::pagination::Page;
use crate::ports::{Clock, LeadRepository, PiiAccess, ReferenceRepository, UserRepository};
use crate::principal::Principal;

/// What a refusal of the leads use cases is.
#[derive(Debug, Error)]
pub enum LeadError {
    #[error("{0}")]
    Invalid(ValidationError),
    #[error("a member-scoped call names the member it acts for")]
    NoActingMember,
    #[error("no such lead among yours")]
    NotFound,
    #[error("product {0} does not exist")]
    ProductNotFound(Uuid),
    #[error("only a LEADER distributes and recalls leads")]
    NotLeader,
    #[error("no such user in this organization")]
    RecipientNotFound,
    /// A transfer refused by its first lead; nothing moved.
    #[error("lead {lead} cannot move: {refusal:?}")]
    Refused { lead: Uuid, refusal: TransferRefusal },
    /// A lead of a transfer changed while it was being moved; nothing moved.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for LeadError {
    fn from(err: RepoError) -> Self {
        Self::Repo(err)
    }
}

impl From<ValidationError> for LeadError {
    fn from(err: ValidationError) -> Self {
        Self::Invalid(err)
    }
}

/// Where a reveal happened, for its access rows.
#[derive(Debug, Clone)]
pub struct RevealTrace {
    /// The operation, e.g. `GET /api/v1/leads`.
    pub endpoint: &'static str,
    /// The request's id, when there is one.
    pub request_id: Option<String>,
}

/// A lead as one member may see it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub lead: Lead,
    pub visibility: Visibility,
}

/// One lead and its ownership history, for its owner.
#[derive(Debug, Clone)]
pub struct LeadDetail {
    pub shown: Shown,
    pub history: Vec<AssignmentRecord>,
}

/// A registered lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub id: Uuid,
    pub assignment_id: Uuid,
    pub created_at: OffsetDateTime,
}

/// Each asked id of `contacts`: the lead, revealed, or why not.
pub type ContactOutcome = (Uuid, Result<Lead, RevealRefusal>);

/// The personal fields a lead shows plain.
pub const REVEALED_FIELDS: [&str; 6] = ["name", "phone", "email", "address", "birth_date", "memo"];
/// The fields `contacts` reveals.
pub const CONTACT_FIELDS: [&str; 2] = ["name", "phone"];

pub struct LeadService<'a, L: ?Sized, R: ?Sized, U: ?Sized, C: ?Sized> {
    leads: &'a L,
    reference: &'a R,
    users: &'a U,
    clock: &'a C,
}

fn acting(principal: &Principal) -> Result<&User, LeadError> {
    principal.acting.as_ref().ok_or(LeadError::NoActingMember)
}

fn leader(principal: &Principal) -> Result<&User, LeadError> {
    let user = acting(principal)?;
    if user.role == Role::Leader { Ok(user) } else { Err(LeadError::NotLeader) }
}

fn moved(outcome: Result<TransferOutcome, RepoError>) -> Result<Vec<(Uuid, Uuid)>, LeadError> {
    match outcome {
        Ok(Ok(moved)) => Ok(moved),
        Ok(Err((lead, refusal))) => Err(LeadError::Refused { lead, refusal }),
        Err(RepoError::Conflict(what)) => Err(LeadError::Conflict(what)),
        Err(other) => Err(LeadError::Repo(other)),
    }
}

impl<'a, L, R, U, C> LeadService<'a, L, R, U, C>
where
    L: LeadRepository + ?Sized,
    R: ReferenceRepository + ?Sized,
    U: UserRepository + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(leads: &'a L, reference: &'a R, users: &'a U, clock: &'a C) -> Self {
        Self { leads, reference, users, clock }
    }

    /// The access row template of a reveal by the acting member.
    fn access(&self, principal: &Principal, member: &User, trace: &RevealTrace, fields: &[&'static str]) -> PiiAccess {
        PiiAccess {
            org_id: member.org_id,
            user_id: Some(member.id),
            actor: principal.actor(),
            subject_kind: "lead",
            subject_id: Uuid::nil(),
            fields: fields.to_vec(),
            endpoint: trace.endpoint.to_owned(),
            request_id: trace.request_id.clone(),
            at: self.clock.now(),
        }
    }

    /// The one reveal-and-log step of the lists, the detail and `contacts`: logs a reveal
    /// of `fields` for every lead of `revealed` (nothing for none) before anything is shown.
    async fn reveal(
        &self,
        principal: &Principal,
        member: &User,
        trace: &RevealTrace,
        fields: &[&'static str],
        revealed: &[Uuid],
    ) -> Result<(), LeadError> {
        if revealed.is_empty() {
            return Ok(());
        }
        let template = self.access(principal, member, trace, fields);
        Ok(self.leads.reveal_log(revealed, &template).await?)
    }

    /// DB 단건 등록: a lead the acting member found, owned at once (`REGISTERED`).
    ///
    /// # Errors
    /// [`LeadError::Invalid`] for bad fields (all of them) or a region not in the table,
    /// [`LeadError::ProductNotFound`], or a storage failure; nothing is written then.
    pub async fn register(&self, principal: &Principal, fields: &LeadFields<'_>) -> Result<Registered, LeadError> {
        let owner = acting(principal)?;
        let now = self.clock.now();
        let new = NewLead::parse(fields, now.date())?;
        let regions = self.reference.list_regions(None).await?;
        if !regions.iter().any(|r| r.code == new.region) {
            return Err(ValidationError::single("region", "must be a code of GET /api/v1/regions").into());
        }
        if self.reference.find_product(new.product_id).await?.is_none() {
            return Err(LeadError::ProductNotFound(new.product_id));
        }
        let (id, assignment_id) = self.leads.register(owner, &new, now).await?;
        Ok(Registered { id, assignment_id, created_at: now })
    }

    /// 소유 DB 리스트: one page of the acting member's leads, plain where they may see
    /// them plain (each such reveal logged).
    ///
    /// # Errors
    /// Storage failures, or a reveal that cannot be logged.
    pub async fn list_owned(
        &self,
        principal: &Principal,
        filter: ListFilter,
        trace: &RevealTrace,
    ) -> Result<Page<Shown>, LeadError> {
        let owner = acting(principal)?;
        let page = self.leads.owned_page(&filter.scoped(ListScope::Owned(owner.id))).await?;
        let shown: Vec<Shown> =
            page.items.into_iter().map(|lead| Shown { visibility: lead.visibility_for(owner.id), lead }).collect();
        let revealed: Vec<Uuid> =
            shown.iter().filter(|s| s.visibility == Visibility::Revealed).map(|s| s.lead.id).collect();
        self.reveal(principal, owner, trace, &REVEALED_FIELDS, &revealed).await?;
        Ok(Page { items: shown, request: page.request, total: page.total })
    }

    /// 기분배 DB 리스트: leads the acting member distributed that another member owns now;
    /// always masked (the distributor never sees plain PII), so nothing is logged.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn distributed_away(&self, principal: &Principal, filter: ListFilter) -> Result<Page<Lead>, LeadError> {
        let distributor = acting(principal)?;
        Ok(self.leads.owned_page(&filter.scoped(ListScope::DistributedBy(distributor.id))).await?)
    }

    /// 소유 DB 단건 조회: the owner's lead with its history, plain once used (logged).
    ///
    /// # Errors
    /// [`LeadError::NotFound`] for an unknown lead or one the member does not own.
    pub async fn detail(&self, principal: &Principal, id: Uuid, trace: &RevealTrace) -> Result<LeadDetail, LeadError> {
        let owner = acting(principal)?;
        let (lead, history) = self.leads.lead_with_history(id).await?.ok_or(LeadError::NotFound)?;
        if lead.assignment.as_ref().is_none_or(|a| a.owner_user_id != owner.id) {
            return Err(LeadError::NotFound);
        }
        let visibility = lead.visibility_for(owner.id);
        if visibility == Visibility::Revealed {
            self.reveal(principal, owner, trace, &REVEALED_FIELDS, &[id]).await?;
        }
        Ok(LeadDetail { shown: Shown { lead, visibility }, history })
    }

    /// DB 사용처리: marks the owner's lead used (the first time only: the same `usedAt`
    /// every time) and returns it plain, the reveal logged in the same transaction.
    ///
    /// # Errors
    /// [`LeadError::NotFound`] for an unknown lead or one the member does not own.
    pub async fn use_lead(&self, principal: &Principal, id: Uuid, trace: &RevealTrace) -> Result<Lead, LeadError> {
        let owner = acting(principal)?;
        let mut access = self.access(principal, owner, trace, &REVEALED_FIELDS);
        access.subject_id = id;
        self.leads.mark_used(id, owner, access).await?.ok_or(LeadError::NotFound)
    }

    /// 이름·연락처 조회: for each id, the lead when the member owns and has used it, or
    /// why not; the revealed ones are logged before any is returned.
    ///
    /// # Errors
    /// Storage failures, or a reveal that cannot be logged.
    pub async fn contacts(
        &self,
        principal: &Principal,
        ids: &[Uuid],
        trace: &RevealTrace,
    ) -> Result<Vec<ContactOutcome>, LeadError> {
        let owner = acting(principal)?;
        let mut owned = self.leads.owned_among(owner.id, ids).await?;
        let outcomes: Vec<ContactOutcome> = ids
            .iter()
            .map(|id| match owned.iter().position(|l| l.id == *id) {
                Some(at) => {
                    let lead = owned.swap_remove(at);
                    (*id, lead.check_reveal(owner.id).map(|()| lead))
                }
                None => (*id, Err(RevealRefusal::NotFound)),
            })
            .collect();
        let revealed: Vec<Uuid> = outcomes.iter().filter(|(_, o)| o.is_ok()).map(|(id, _)| *id).collect();
        self.reveal(principal, owner, trace, &CONTACT_FIELDS, &revealed).await?;
        Ok(outcomes)
    }

    /// DB 분배: the acting `LEADER` hands `ids` to `to`, an active member of their org
    /// other than themselves; all or nothing.
    ///
    /// # Errors
    /// [`LeadError::NotLeader`], [`LeadError::Invalid`] for `to` malformed or the leader,
    /// [`LeadError::RecipientNotFound`], [`LeadError::Refused`] by the first lead that
    /// cannot move, [`LeadError::Conflict`] when a lead changed meanwhile.
    pub async fn distribute(
        &self,
        principal: &Principal,
        to: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, Uuid)>, LeadError> {
        let leader = leader(principal)?;
        let to = MohomId::parse(to).map_err(|_| ValidationError::single("toMohomId", "must be a mohomId"))?;
        if to == leader.mohom_id {
            return Err(ValidationError::single("toMohomId", "must be another user").into());
        }
        let recipient = match self.users.find(leader.org_id, &to).await? {
            Some(user) if user.is_active() => user,
            _ => return Err(LeadError::RecipientNotFound),
        };
        let now = self.clock.now();
        moved(self.leads.transfer(ids, |candidates| plan_distribution(ids, candidates, leader, &recipient, now)).await)
    }

    /// DB 분배 회수: the acting `LEADER` takes back `ids` they distributed, unused and
    /// without an open AS, with the rights they had before; all or nothing.
    ///
    /// # Errors
    /// [`LeadError::NotLeader`], [`LeadError::Refused`] by the first lead that cannot come
    /// back, [`LeadError::Conflict`] when a lead changed meanwhile.
    pub async fn recall(&self, principal: &Principal, ids: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, LeadError> {
        let leader = leader(principal)?;
        let now = self.clock.now();
        moved(self.leads.transfer(ids, |candidates| plan_recall(ids, candidates, leader, now)).await)
    }
}
