//! Ports of the AS use cases (`crate::service::as_claims`): one method per thing a use
//! case needs from storage.
//!
//! Invariants an adapter keeps:
//! - [`AsClaimRepository::claim`] reads the claim's facts under the locks that make them
//!   true until it commits (the lead, its order, its pool), hands them to the use case's
//!   rule, and writes only what the rule accepted; a refusal writes nothing;
//! - [`AsClaimRepository::transition`] moves an AS only from a status the state machine
//!   allows for the action, checked again under the AS row's lock: of two racing
//!   transitions one moves it, the other gets [`AsRefusal::InvalidState`] with the status
//!   the winner left;
//! - nothing outside the given [`AsScope`] is reached: it is "not found".

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::as_claim::{
    AsAction, AsActor, AsClaim, AsError, AsQuery, AsRefusal, AsScope, ClaimFacts, ClaimVerdict, NewAsClaim,
};
use crate::error::RepoError;
use crate::identity::User;
use crate::pagination::Page;
use crate::reference::AsPolicy;

/// The decision a claim's facts get: the product's AS policy and the facts read under
/// the claim's locks in, the verdict (or the first rule broken) out.
pub trait ClaimRule: Fn(&AsPolicy, &ClaimFacts) -> Result<ClaimVerdict, AsRefusal> + Send + Sync {}

impl<F: Fn(&AsPolicy, &ClaimFacts) -> Result<ClaimVerdict, AsRefusal> + Send + Sync> ClaimRule for F {}

/// AS requests in storage, with their effects on leads, orders and review cases.
pub trait AsClaimRepository: Send + Sync {
    /// Claims `new.lead_id` for `requester`: under the locks, reads the facts, asks
    /// `rule`, and writes the AS (its history, evidence, counters, audit row, review case),
    /// approving it at once when the verdict says so. Returns the stored AS.
    ///
    /// Errors: [`AsError::NotFound`] when `requester` does not own the lead; the rule's
    /// refusal; [`AsError::File`] for a key that cannot be attached; storage failures.
    fn claim<R: ClaimRule>(
        &self,
        requester: &User,
        new: &NewAsClaim,
        actor: &AsActor<'_>,
        now: OffsetDateTime,
        rule: R,
    ) -> impl Future<Output = Result<AsClaim, AsError>> + Send;

    /// Moves the AS by `action` with its effects (an approval returns the lead and
    /// compensates the order); `comment` goes to the history.
    ///
    /// Errors: [`AsError::NotFound`] outside `scope`; [`AsRefusal::InvalidState`];
    /// storage failures.
    fn transition(
        &self,
        id: Uuid,
        action: AsAction,
        scope: AsScope,
        actor: &AsActor<'_>,
        comment: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<AsClaim, AsError>> + Send;

    /// One AS within `scope`, with its evidence and history.
    fn find(&self, id: Uuid, scope: AsScope) -> impl Future<Output = Result<Option<AsClaim>, RepoError>> + Send;

    /// One page of AS requests matching `query`, newest first, without history.
    fn list(&self, query: &AsQuery) -> impl Future<Output = Result<Page<AsClaim>, RepoError>> + Send;

    /// The user the AS's review case is assigned to now, if it has an assigned one.
    fn reviewer(&self, id: Uuid) -> impl Future<Output = Result<Option<Uuid>, RepoError>> + Send;
}

/// The uploaded files an AS takes as evidence.
pub trait EvidenceFiles: Send + Sync {
    /// Checks, before a claim, that every key is an uploaded `AS_EVIDENCE` file of
    /// (`org_id`, `user_id`) attached to no AS (an object store is looked at now).
    ///
    /// Errors: the first key's refusal, in the order given, as [`AsError::File`]; storage
    /// failures.
    fn confirm_evidence(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        keys: &[Uuid],
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), AsError>> + Send;
}
