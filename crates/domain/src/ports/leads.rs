//! Ports of the leads use cases (`crate::service::leads`): one method per thing a use case
//! needs from storage.
//!
//! Invariants an adapter keeps:
//! - [`LeadRepository::register`] writes the lead and its `REGISTERED` assignment together;
//! - [`LeadRepository::mark_used`] sets `usedAt` once and writes the access row in the same
//!   transaction (a use that cannot be logged is not made);
//! - [`LeadRepository::transfer`] reads the candidates and writes the decided moves in one
//!   transaction, all or nothing; a lead that changed after it was read is
//!   [`RepoError::Conflict`], and nothing is written.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::identity::User;
use crate::lead::{
    AssignmentRecord, Handover, Lead, NewLead, OwnedQuery, TransferCandidate, TransferOutcome, TransferRefusal,
};
use crate::pagination::Page;
use crate::ports::PiiAccess;

/// Leads, their assignments and the PII access log of their reveals.
pub trait LeadRepository: Send + Sync {
    /// A lead `owner` found, owned at once: `(leadId, assignmentId)`.
    fn register(
        &self,
        owner: &User,
        new: &NewLead,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(Uuid, Uuid), RepoError>> + Send;

    /// One page of a lead list (owned, or distributed away), filtered and sorted.
    fn owned_page(&self, query: &OwnedQuery) -> impl Future<Output = Result<Page<Lead>, RepoError>> + Send;

    /// A lead, whoever owns it, with its ownership history oldest first.
    fn lead_with_history(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(Lead, Vec<AssignmentRecord>)>, RepoError>> + Send;

    /// Marks `owner`'s open assignment of the lead used (first call only) and appends
    /// `access` for it, in one transaction; `None` when `owner` does not own the lead.
    fn mark_used(
        &self,
        lead_id: Uuid,
        owner: &User,
        access: PiiAccess,
    ) -> impl Future<Output = Result<Option<Lead>, RepoError>> + Send;

    /// The leads among `ids` that `owner` owns now (any order; the others are left out).
    fn owned_among(&self, owner: Uuid, ids: &[Uuid]) -> impl Future<Output = Result<Vec<Lead>, RepoError>> + Send;

    /// Appends one access row per lead (`template` with its `subject_id` set), committed
    /// before it returns.
    fn reveal_log(&self, leads: &[Uuid], template: &PiiAccess) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// Reads the leads of `ids` that exist, lets `decide` choose the moves, and writes
    /// them, in one transaction; `decide`'s refusal writes nothing.
    fn transfer<D>(&self, ids: &[Uuid], decide: D) -> impl Future<Output = Result<TransferOutcome, RepoError>> + Send
    where
        D: FnOnce(&[TransferCandidate]) -> Result<Vec<Handover>, (Uuid, TransferRefusal)> + Send;
}
