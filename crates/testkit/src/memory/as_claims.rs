//! In-memory adapters of the AS ports (`AsClaimRepository`, `EvidenceFiles`), for
//! use-case tests without a database.
//!
//! They keep the ports' contracts in the small: a claim reads its facts and writes only
//! what the rule accepted, under one lock (the mutex); a transition moves an AS only
//! from a status the state machine allows; nothing outside the scope is reached. An
//! approval returns the lead (ownerless) and counts on the order; compensation beyond
//! the label (replacement delivery, refunds) is storage's and not modelled here.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::as_claim::{
    AUTO_APPROVAL_COMMENT, AsAction, AsActor, AsClaim, AsError, AsHistoryEntry, AsQuery, AsRefusal, AsScope,
    ClaimFacts, EvidenceRefusal, NewAsClaim, SYSTEM_ACTOR,
};
use domain::error::RepoError;
use domain::files::EvidenceFile;
use domain::identity::User;
use domain::lead::AsStatus;
use domain::pagination::Page;
use domain::ports::{AsClaimRepository, ClaimRule, EvidenceFiles};
use domain::reference::AsPolicy;
use time::OffsetDateTime;
use uuid::Uuid;

/// A lead as a claim sees it.
#[derive(Debug, Clone)]
pub struct MemoryAsLead {
    pub owner: Option<Uuid>,
    pub product_id: Uuid,
    pub policy: AsPolicy,
    /// When an order delivered it; `None` for a lead its owner registered.
    pub purchased_at: Option<OffsetDateTime>,
    pub first_used_at: Option<OffsetDateTime>,
    /// The order that delivered it.
    pub order_id: Option<Uuid>,
}

/// An order's counters as a claim sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryAsOrder {
    pub delivered: u64,
    pub open_as: u64,
    pub approved_as: u64,
}

/// One audit row: (action, actor, AS id).
pub type MemoryAudit = (String, String, Uuid);

#[derive(Debug, Default)]
struct State {
    leads: HashMap<Uuid, MemoryAsLead>,
    orders: HashMap<Uuid, MemoryAsOrder>,
    claims: Vec<AsClaim>,
    reviewers: HashMap<Uuid, Uuid>,
    audit: Vec<MemoryAudit>,
}

/// AS requests, leads and orders held in memory.
#[derive(Debug, Default)]
pub struct MemoryAsClaimRepository {
    state: Mutex<State>,
}

impl MemoryAsClaimRepository {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add_lead(&self, id: Uuid, lead: MemoryAsLead) {
        self.state().leads.insert(id, lead);
    }

    pub fn add_order(&self, id: Uuid, order: MemoryAsOrder) {
        self.state().orders.insert(id, order);
    }

    /// The review case of `as_id` is assigned to `user` now.
    pub fn assign_review(&self, as_id: Uuid, user: Uuid) {
        self.state().reviewers.insert(as_id, user);
    }

    #[must_use]
    pub fn claims(&self) -> Vec<AsClaim> {
        self.state().claims.clone()
    }

    #[must_use]
    pub fn lead(&self, id: Uuid) -> Option<MemoryAsLead> {
        self.state().leads.get(&id).cloned()
    }

    #[must_use]
    pub fn order(&self, id: Uuid) -> Option<MemoryAsOrder> {
        self.state().orders.get(&id).copied()
    }

    #[must_use]
    pub fn audit(&self) -> Vec<MemoryAudit> {
        self.state().audit.clone()
    }
}

fn history(
    from: Option<AsStatus>,
    to: AsStatus,
    actor: &str,
    comment: Option<&str>,
    at: OffsetDateTime,
) -> AsHistoryEntry {
    AsHistoryEntry { from, to, actor: actor.to_owned(), comment: comment.map(str::to_owned), at }
}

/// Moves `claim` by `action` with its effects on the lead and the order.
fn apply(
    state: &mut State,
    index: usize,
    action: AsAction,
    actor: &AsActor<'_>,
    comment: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), AsRefusal> {
    let claim = &mut state.claims[index];
    let current = claim.status;
    let next = current.apply(action)?;
    claim.status = next;
    claim.updated_at = now;
    claim.history.push(history(Some(current), next, actor.label, comment, now));
    let (lead_id, order_id, claim_id) = (claim.lead_id, claim.order_id, claim.id);
    if next.is_final() {
        claim.decided_at = Some(now);
    }
    if next == AsStatus::Approved
        && let Some(lead) = state.leads.get_mut(&lead_id)
    {
        claim.compensation = Some(lead.policy.compensation());
        lead.owner = None;
    }
    if let Some(order) = order_id.and_then(|id| state.orders.get_mut(&id))
        && next.is_final()
    {
        order.open_as = order.open_as.saturating_sub(1);
        order.approved_as += u64::from(next == AsStatus::Approved);
    }
    let audit = format!("as.{}", action.as_str().to_lowercase());
    state.audit.push((audit, actor.label.to_owned(), claim_id));
    Ok(())
}

impl AsClaimRepository for MemoryAsClaimRepository {
    async fn claim<R: ClaimRule>(
        &self,
        requester: &User,
        new: &NewAsClaim,
        actor: &AsActor<'_>,
        now: OffsetDateTime,
        rule: R,
    ) -> Result<AsClaim, AsError> {
        let mut state = self.state();
        let lead = state.leads.get(&new.lead_id).filter(|l| l.owner == Some(requester.id)).cloned();
        let Some(lead) = lead else { return Err(AsError::NotFound) };
        let order = lead.order_id.and_then(|id| state.orders.get(&id).copied()).unwrap_or_default();
        let facts = ClaimFacts {
            purchased_at: lead.purchased_at,
            first_used_at: lead.first_used_at,
            open_as: state.claims.iter().any(|c| c.lead_id == new.lead_id && c.status.is_open()),
            order_delivered: order.delivered,
            order_open_as: order.open_as,
            order_approved_as: order.approved_as,
            reason: new.reason,
            evidence_files: new.file_keys.len(),
            now,
        };
        let verdict = rule(&lead.policy, &facts)?;
        let Some(order_id) = lead.order_id else {
            return Err(AsRefusal::NotPurchased("no order delivered this lead").into());
        };
        let claim = AsClaim {
            id: domain::ids::new_id(),
            lead_id: new.lead_id,
            assignment_id: domain::ids::new_id(),
            requester_user_id: requester.id,
            order_id: Some(order_id),
            product_id: Some(lead.product_id),
            reason: new.reason,
            description: new.description.clone(),
            status: AsStatus::Requested,
            compensation: None,
            auto_approved: false,
            created_at: now,
            updated_at: now,
            decided_at: None,
            evidence: new
                .file_keys
                .iter()
                .map(|key| EvidenceFile {
                    file_key: *key,
                    file_name: format!("{key}.png"),
                    content_type: "image/png".to_owned(),
                    size: 1,
                    sha256: None,
                    uploaded_at: Some(now),
                })
                .collect(),
            history: vec![history(None, AsStatus::Requested, actor.label, None, now)],
        };
        let id = claim.id;
        state.claims.push(claim);
        state.orders.entry(order_id).or_default().open_as += 1;
        state.audit.push(("as.create".to_owned(), actor.label.to_owned(), id));
        let index = state.claims.len() - 1;
        if verdict.auto_approved {
            let system = AsActor { label: SYSTEM_ACTOR, user_id: None, ..*actor };
            apply(&mut state, index, AsAction::Approve, &system, Some(AUTO_APPROVAL_COMMENT), now)?;
            state.claims[index].auto_approved = true;
        }
        Ok(state.claims[index].clone())
    }

    async fn transition(
        &self,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AsClaim, AsError> {
        let mut state = self.state();
        let index = state.claims.iter().position(|c| c.id == id && scope.reaches(c)).ok_or(AsError::NotFound)?;
        apply(&mut state, index, action, actor, comment, now)?;
        Ok(state.claims[index].clone())
    }

    async fn find(&self, id: Uuid, scope: AsScope) -> Result<Option<AsClaim>, RepoError> {
        Ok(self.state().claims.iter().find(|c| c.id == id && scope.reaches(c)).cloned())
    }

    async fn list(&self, query: &AsQuery) -> Result<Page<AsClaim>, RepoError> {
        let mut items: Vec<AsClaim> = self
            .state()
            .claims
            .iter()
            .filter(|c| query.requester.is_none_or(|u| c.requester_user_id == u))
            .filter(|c| query.status.is_none_or(|s| c.status == s))
            .filter(|c| query.lead_id.is_none_or(|l| c.lead_id == l))
            .filter(|c| query.from.is_none_or(|from| c.created_at >= from))
            .filter(|c| query.to.is_none_or(|to| c.created_at <= to))
            .cloned()
            .collect();
        items.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        let total = items.len() as u64;
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.page.limit()).unwrap_or(usize::MAX);
        let items = items.into_iter().skip(offset).take(limit).map(|c| AsClaim { history: Vec::new(), ..c }).collect();
        Ok(Page { items, request: query.page, total })
    }

    async fn reviewer(&self, id: Uuid) -> Result<Option<Uuid>, RepoError> {
        Ok(self.state().reviewers.get(&id).copied())
    }
}

/// An uploaded file as the evidence check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEvidenceFile {
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// Uploaded for `AS_EVIDENCE`.
    pub evidence: bool,
    pub uploaded: bool,
    pub attached: bool,
}

/// Uploaded files held in memory.
#[derive(Debug, Default)]
pub struct MemoryEvidenceFiles {
    pub files: Mutex<HashMap<Uuid, MemoryEvidenceFile>>,
}

impl MemoryEvidenceFiles {
    pub fn add(&self, key: Uuid, file: MemoryEvidenceFile) {
        self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, file);
    }
}

impl EvidenceFiles for MemoryEvidenceFiles {
    async fn confirm_evidence(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        keys: &[Uuid],
        _now: OffsetDateTime,
    ) -> Result<(), AsError> {
        let files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in keys {
            let refusal = match files.get(key).filter(|f| f.org_id == org_id && f.user_id == user_id) {
                None => Some(EvidenceRefusal::NotFound(*key)),
                Some(f) if !f.evidence => Some(EvidenceRefusal::WrongPurpose(*key)),
                Some(f) if f.attached => Some(EvidenceRefusal::AlreadyAttached(*key)),
                Some(f) if !f.uploaded => Some(EvidenceRefusal::NotUploaded(*key)),
                Some(_) => None,
            };
            if let Some(refusal) = refusal {
                return Err(refusal.into());
            }
        }
        Ok(())
    }
}
