//! In-memory adapters of the intake ports, for use-case tests without a database.
//!
//! [`MemoryIntakeRepository`] keeps the storage invariants the use cases rely on, in
//! the simplest form: a phone the same provider org sent for the product inside the
//! window is a duplicate (nothing stored), one only another org sent is held, a source's
//! own id is unique per source, and a status report touches only the source's side. It
//! offers no lead to orders: a lead is delivered only when `deliver_next` says so.

use std::sync::Mutex;

use domain::error::RepoError;
use domain::intake::{IntakeIds, IntakeOutcome, IntakeWrite, Source, SourceLead, SourceStatusReport};
use domain::lead::{LeadStatus, NewLead};
use domain::ports::IntakeRepository;
use domain::reference::Product;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A lead as the in-memory intake stored it.
#[derive(Debug, Clone)]
pub struct StoredIntake {
    pub id: Uuid,
    pub source_id: Uuid,
    pub provider_org_id: Uuid,
    pub product_id: Uuid,
    pub phone: String,
    pub region: String,
    pub status: LeadStatus,
    /// What a held lead's source was told.
    pub shown: Option<LeadStatus>,
    pub ids: IntakeIds,
    pub created_at: OffsetDateTime,
    pub report: Option<SourceStatusReport>,
    pub reported_at: Option<OffsetDateTime>,
}

/// Sources and the leads they sent, in vectors.
#[derive(Debug, Default)]
pub struct MemoryIntakeRepository {
    pub sources: Vec<Source>,
    pub leads: Mutex<Vec<StoredIntake>>,
    /// The order the next fresh lead is delivered to (taken once); `None`: pooled.
    pub deliver_next: Mutex<Option<Uuid>>,
    /// Makes the next write lose a race on the source's own id (taken once), as if a
    /// concurrent create stored it after the use case's check.
    pub lose_race_to: Mutex<Option<StoredIntake>>,
}

impl MemoryIntakeRepository {
    /// The stored leads, oldest first.
    #[must_use]
    pub fn stored(&self) -> Vec<StoredIntake> {
        self.leads.lock().expect("leads lock").clone()
    }
}

impl IntakeRepository for MemoryIntakeRepository {
    async fn source_by_code(&self, code: &str) -> Result<Option<Source>, RepoError> {
        Ok(self.sources.iter().find(|s| s.code == code).cloned())
    }

    async fn lead_by_source_id(&self, source_id: Uuid, source_lead_id: &str) -> Result<Option<Uuid>, RepoError> {
        let leads = self.leads.lock().expect("leads lock");
        Ok(leads
            .iter()
            .find(|l| l.source_id == source_id && l.ids.source_lead_id.as_deref() == Some(source_lead_id))
            .map(|l| l.id))
    }

    async fn take_lead(
        &self,
        source: &Source,
        product: &Product,
        new: &NewLead,
        ids: &IntakeIds,
        now: OffsetDateTime,
    ) -> Result<IntakeWrite, RepoError> {
        let mut leads = self.leads.lock().expect("leads lock");
        if let Some(winner) = self.lose_race_to.lock().expect("race lock").take() {
            leads.push(winner);
        }
        if let Some(id) = ids.source_lead_id.as_deref()
            && leads.iter().any(|l| l.source_id == source.id && l.ids.source_lead_id.as_deref() == Some(id))
        {
            return Ok(IntakeWrite::SourceLeadIdTaken);
        }
        let window_start = now - Duration::hours(i64::from(product.duplicate_window_hours));
        let phone = new.pii.phone.e164();
        let same = |l: &&StoredIntake| l.phone == phone && l.product_id == product.id && l.created_at >= window_start;
        if let Some(earlier) = leads.iter().filter(same).find(|l| l.provider_org_id == source.org_id) {
            return Ok(IntakeWrite::Done(IntakeOutcome::Duplicate { earlier: earlier.id }));
        }
        let elsewhere = leads.iter().any(|l| same(&l));
        let order = self.deliver_next.lock().expect("delivery lock").take();
        let id = domain::ids::new_id();
        let (status, shown, outcome) = match (elsewhere, order) {
            (true, order) => {
                let shown = if order.is_some() { LeadStatus::Assigned } else { LeadStatus::Pool };
                let outcome = IntakeOutcome::Held { lead: id, as_if_delivered: order.is_some() };
                (LeadStatus::DuplicateOtherProvider, Some(shown), outcome)
            }
            (false, Some(order)) => (LeadStatus::Assigned, None, IntakeOutcome::Delivered { lead: id, order }),
            (false, None) => (LeadStatus::Pool, None, IntakeOutcome::Pooled { lead: id }),
        };
        leads.push(StoredIntake {
            id,
            source_id: source.id,
            provider_org_id: source.org_id,
            product_id: product.id,
            phone: phone.to_owned(),
            region: new.region.clone(),
            status,
            shown,
            ids: ids.clone(),
            created_at: now,
            report: None,
            reported_at: None,
        });
        Ok(IntakeWrite::Done(outcome))
    }

    async fn record_source_status(
        &self,
        source_id: Uuid,
        key: &str,
        report: &SourceStatusReport,
        now: OffsetDateTime,
    ) -> Result<Option<SourceLead>, RepoError> {
        let mut leads = self.leads.lock().expect("leads lock");
        let by_own_id =
            leads.iter().position(|l| l.source_id == source_id && l.ids.source_lead_id.as_deref() == Some(key));
        let by_lead_id = || {
            let id = key.parse::<Uuid>().ok()?;
            leads.iter().position(|l| l.source_id == source_id && l.id == id)
        };
        let Some(at) = by_own_id.or_else(by_lead_id) else { return Ok(None) };
        let lead = &mut leads[at];
        lead.report = Some(report.clone());
        lead.reported_at = Some(now);
        Ok(Some(SourceLead {
            id: lead.id,
            source_lead_id: lead.ids.source_lead_id.clone(),
            status: lead.shown.unwrap_or(lead.status).as_str().to_owned(),
            source_status: Some(report.status.clone()),
            source_status_at: Some(now),
        }))
    }
}
