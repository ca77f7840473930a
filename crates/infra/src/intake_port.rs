//! The intake port ([`domain::ports::IntakeRepository`]) over [`SeaLeadRepository`]: a
//! source with its project map (from the database's reference cache, no statement while it
//! is fresh), the intake's transaction
//! (`intake`), and the source side of leads (`source_status`).
//!
//! Invariant: the unique index on a source's own id for a lead is reported as
//! [`IntakeWrite::SourceLeadIdTaken`], never as a storage failure; the transaction that
//! hit it wrote nothing.

use domain::error::RepoError;
use domain::intake::{IntakeIds, IntakeWrite, Source, SourceLead, SourceStatusReport};
use domain::lead::NewLead;
use domain::ports::IntakeRepository;
use domain::reference::Product;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::intake::SOURCE_LEAD_ID_TAKEN;
use crate::leads::SeaLeadRepository;

impl IntakeRepository for SeaLeadRepository {
    async fn source_by_code(&self, code: &str) -> Result<Option<Source>, RepoError> {
        // From memory: the intake's sources are reference data (ADR 0009).
        Ok(self.db.reference_cache().snapshot(self.db.conn()).await?.source(code))
    }

    async fn lead_by_source_id(&self, source_id: Uuid, source_lead_id: &str) -> Result<Option<Uuid>, RepoError> {
        self.lead_by_source_lead_id(source_id, source_lead_id).await
    }

    async fn take_lead(
        &self,
        source: &Source,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        now: OffsetDateTime,
    ) -> Result<IntakeWrite, RepoError> {
        match self.intake(product, new, ids, source.org_id, source.id, now).await {
            Ok(outcome) => Ok(IntakeWrite::Done(outcome)),
            Err(RepoError::Conflict(what)) if what == SOURCE_LEAD_ID_TAKEN => Ok(IntakeWrite::SourceLeadIdTaken),
            Err(e) => Err(e),
        }
    }

    async fn record_source_status(
        &self,
        source_id: Uuid,
        key: &str,
        report: &SourceStatusReport,
        now: OffsetDateTime,
    ) -> Result<Option<SourceLead>, RepoError> {
        self.report_source_status(source_id, key, report, now).await
    }
}
