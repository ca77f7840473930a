//! Ports of the intake use cases (`crate::service::intake`): one method per thing a use case
//! needs from storage.
//!
//! Invariants an adapter keeps:
//! - [`IntakeRepository::take_lead`] is one transaction: the duplicate check (same phone
//!   and product inside the product's window), the insert, the hold of another provider's
//!   phone, the pool and the offer to open order lines, all or nothing;
//! - the source's own id for a lead is unique per source whatever the callers do: a write
//!   that would repeat it stores nothing and reports [`IntakeWrite::SourceLeadIdTaken`];
//! - a status report writes only the source's side of a lead of that very source.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::intake::{IntakeIds, IntakeWrite, Source, SourceLead, SourceStatusReport};
use crate::lead::NewLead;
use crate::reference::Product;

/// Lead sources, the intake's write and the source side of leads.
pub trait IntakeRepository: Send + Sync {
    /// The source with this code, with its project map, whatever its org.
    fn source_by_code(&self, code: &str) -> impl Future<Output = Result<Option<Source>, RepoError>> + Send;
    /// The lead of the source holding the source's own id `source_lead_id`, if any.
    fn lead_by_source_id(
        &self,
        source_id: Uuid,
        source_lead_id: &str,
    ) -> impl Future<Output = Result<Option<Uuid>, RepoError>> + Send;
    /// Takes a lead of `product` from `source` (see the module invariants).
    fn take_lead(
        &self,
        source: &Source,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<IntakeWrite, RepoError>> + Send;
    /// Records a status report on the lead of the source named by `key` (the source's own
    /// id for it first, then the LDBDS lead id); `None`, nothing written, when the source
    /// has no such lead.
    fn record_source_status(
        &self,
        source_id: Uuid,
        key: &str,
        report: &SourceStatusReport,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<SourceLead>, RepoError>> + Send;
}
