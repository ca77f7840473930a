//! The intake use cases: a partner's source pushes a lead (`create`), and reports its own
//! status of a lead it sent (`changeStatus`).
//!
//! Invariants:
//! - a source is reached only with an API key of the source's own org; an unknown source
//!   and another org's source get the same refusal ([`IntakeRefusal::NotOurSource`]);
//! - an intake's phone is a Vietnamese mobile number; its product is the one its project
//!   code is mapped to for the source, else the source's default
//!   ([`crate::intake::Source::product_for`]); a product that does not exist is refused
//!   like a missing default;
//! - a lead without a province (the web form) is validated with the `"unrouted"`
//!   placeholder and pooled with region `""`, so no order line takes it automatically; a
//!   province that is given must be a known region code;
//! - the lead's own fields go through [`NewLead::parse`], the rules every lead obeys;
//! - the source's own id for a lead (`leadSourceId`) is 1 to 128 characters, trimmed, and
//!   names at most one lead of the source: a second use is refused naming the earlier
//!   lead ([`IntakeRefusal::DuplicateSourceLeadId`]), also when two creates race with it
//!   (storage settles the race, the loser writes nothing);
//! - a phone the caller's own org sent for the product inside the product's duplicate
//!   window is refused naming the earlier lead; a phone only another provider org sent is
//!   answered exactly like a fresh lead (a new id, the status the offer would have given)
//!   while storage holds the lead for the operator: nothing tells the caller another org
//!   sent it;
//! - a status report writes only the source's side of the lead; a held lead reads back
//!   as the status its source was told, never `DUPLICATE_OTHER_PROVIDER`;
//! - every refusal writes nothing.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::intake::{
    IntakeIds, IntakeOutcome, IntakeWrite, MAX_SOURCE_LEAD_ID, MAX_SOURCE_STATUS, Source, SourceLead,
    SourceStatusReport,
};
use crate::lead::{Gender, LeadFields, LeadStatus, NewLead};
use crate::pii::PhoneNumber;
use crate::ports::{Clock, IntakeRepository, ReferenceRepository};
use crate::principal::{Credential, Principal};
use crate::reference::Country;

/// The region a lead without a province is validated with; it is stored as `""`.
pub const UNROUTED: &str = "unrouted";

/// Why an intake or a status report is refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeRefusal {
    /// The `source` names no source of the caller's org (unknown, or another org's).
    #[error("the source is not a source of this organization")]
    NotOurSource,
    /// Neither a mapped project nor the source's default names an existing product.
    #[error("the source has no default product")]
    NoProduct,
    /// A field is missing or malformed (the wire names it).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The caller's org sent this phone for this product inside the duplicate window.
    #[error("a lead with this phone for this product arrived earlier: {earlier}")]
    DuplicatePhone { earlier: Uuid },
    /// The source already used this id for another lead (`None`: that lead could not be
    /// read back, e.g. it was being written when the race was lost).
    #[error("a lead with this leadSourceId from this source arrived earlier: {}", earlier.map_or_else(|| "another lead".to_owned(), |e| e.to_string()))]
    DuplicateSourceLeadId { earlier: Option<Uuid> },
    /// The source has no lead by that key (its own id or the LDBDS lead id).
    #[error("no lead of this source has this lead_source_id")]
    LeadNotFound,
    #[error(transparent)]
    Repo(RepoError),
}

impl From<RepoError> for IntakeRefusal {
    fn from(err: RepoError) -> Self {
        Self::Repo(err)
    }
}

/// A lead as a source sends it, either body shape, its fields still text.
#[derive(Clone, Default)]
pub struct IntakeLead {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub address: Option<String>,
    /// A province code; none for the web form.
    pub region: Option<String>,
    /// The project code that may select the product.
    pub project: Option<String>,
    /// National ids and the source's own id for the lead (trimmed and checked here).
    pub ids: IntakeIds,
    /// The body's other fields, a JSON object as text (never PII), or none.
    pub metadata: Option<String>,
}

crate::redacting_debug!(IntakeLead {
    show: [gender, region, project, metadata],
    redact: [name, phone, email, birth_date, address, ids],
});

/// What a source is told of its new lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeCreated {
    pub lead: Uuid,
    /// [`LeadStatus::Pool`] (waiting for an order) or [`LeadStatus::Assigned`].
    pub status: LeadStatus,
}

/// A source's status report as sent, before validation.
#[derive(Clone, Default)]
pub struct StatusReportInput {
    /// The source's own id for the lead, or the LDBDS lead id.
    pub lead_key: String,
    pub status: String,
    pub note: Option<String>,
    /// RFC 3339.
    pub request_time: Option<String>,
    /// RFC 3339.
    pub meeting_time: Option<String>,
    /// The report's other non-personal fields as sent (nulls left out).
    pub detail: serde_json::Map<String, serde_json::Value>,
}

crate::redacting_debug!(StatusReportInput {
    show: [lead_key, status, request_time, meeting_time],
    redact: [note, detail]
});

/// A status report as stored, seen by its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    pub lead: SourceLead,
    /// The status just reported.
    pub reported: String,
}

/// A trimmed source id for a lead, 1 to [`MAX_SOURCE_LEAD_ID`] characters.
fn source_lead_id(raw: &str) -> Result<String, ValidationError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > MAX_SOURCE_LEAD_ID {
        return Err(ValidationError::single("leadSourceId", "must be 1 to 128 characters"));
    }
    Ok(id.to_owned())
}

/// The validated report of a status input.
fn report_of(input: StatusReportInput) -> Result<SourceStatusReport, ValidationError> {
    let status = input.status.trim();
    if status.is_empty() || status.chars().count() > MAX_SOURCE_STATUS {
        return Err(ValidationError::single("status", "must be 1 to 32 characters"));
    }
    let mut detail = input.detail;
    for (field, value) in [("request_time", input.request_time), ("meeting_time", input.meeting_time)] {
        if let Some(at) = value {
            if OffsetDateTime::parse(&at, &Rfc3339).is_err() {
                return Err(ValidationError::single(field, "must be an RFC 3339 date-time"));
            }
            detail.insert(field.to_owned(), at.into());
        }
    }
    detail.insert("status".to_owned(), status.into());
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    Ok(SourceStatusReport { status: status.to_owned(), note, detail: serde_json::Value::Object(detail) })
}

/// The lifecycle status a source is shown: a held lead is shown as waiting in the pool
/// unless storage kept what its source was told.
fn source_view(status: String) -> String {
    if status == LeadStatus::DuplicateOtherProvider.as_str() { LeadStatus::Pool.as_str().to_owned() } else { status }
}

pub struct IntakeService<'a, I: ?Sized, P: ?Sized, C: ?Sized> {
    repo: &'a I,
    reference: &'a P,
    clock: &'a C,
}

impl<'a, I: IntakeRepository + ?Sized, P: ReferenceRepository + ?Sized, C: Clock + ?Sized> IntakeService<'a, I, P, C> {
    pub fn new(repo: &'a I, reference: &'a P, clock: &'a C) -> Self {
        Self { repo, reference, clock }
    }

    /// The source `code` names, when it is a source of the principal's org and the
    /// principal is that org's API key.
    ///
    /// # Errors
    /// [`IntakeRefusal::NotOurSource`], or a storage failure.
    pub async fn source(&self, principal: &Principal, code: &str) -> Result<Source, IntakeRefusal> {
        let code = code.trim();
        if code.is_empty() || !matches!(principal.credential, Credential::ApiKey { .. }) {
            return Err(IntakeRefusal::NotOurSource);
        }
        match self.repo.source_by_code(code).await? {
            Some(source) if source.org_id == principal.org_id => Ok(source),
            _ => Err(IntakeRefusal::NotOurSource),
        }
    }

    /// Takes a lead from `source` (see the module invariants).
    ///
    /// # Errors
    /// [`IntakeRefusal::Invalid`] naming the field, [`IntakeRefusal::NoProduct`],
    /// [`IntakeRefusal::DuplicatePhone`], [`IntakeRefusal::DuplicateSourceLeadId`], or a
    /// storage failure.
    pub async fn create(&self, source: &Source, lead: IntakeLead) -> Result<IntakeCreated, IntakeRefusal> {
        let phone = PhoneNumber::parse_for(&lead.phone, Country::Vn)
            .map_err(|_| ValidationError::single("mobileNumber", "must be a Vietnamese mobile number"))?;
        let source_lead_id = lead.ids.source_lead_id.as_deref().map(source_lead_id).transpose()?;
        let product_id = source.product_for(lead.project.as_deref()).ok_or(IntakeRefusal::NoProduct)?;
        let product = self.reference.find_product(product_id).await?.ok_or(IntakeRefusal::NoProduct)?;
        let region = match lead.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(code) => {
                let regions = self.reference.list_regions(None).await?;
                if !regions.iter().any(|r| r.code == code) {
                    return Err(ValidationError::single(
                        "regionCode",
                        "must be a province code of GET /api/v1/regions",
                    )
                    .into());
                }
                code.to_owned()
            }
            None => String::new(),
        };
        let now = self.clock.now();
        let product_text = product.id.to_string();
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some(&lead.name),
            phone: Some(phone.e164()),
            email: lead.email.as_deref(),
            region: Some(if region.is_empty() { UNROUTED } else { &region }),
            address: lead.address.as_deref(),
            birth_date: lead.birth_date.as_deref(),
            gender: lead.gender.map(Gender::as_str),
            memo: None,
            metadata: lead.metadata,
        };
        let mut new = NewLead::parse(&fields, now.date())?;
        new.region = region;
        // Checked first to name the earlier lead; a create racing with the same id is
        // refused by storage inside the intake's transaction (nothing written).
        if let Some(id) = source_lead_id.as_deref()
            && let Some(earlier) = self.repo.lead_by_source_id(source.id, id).await?
        {
            return Err(IntakeRefusal::DuplicateSourceLeadId { earlier: Some(earlier) });
        }
        let ids = IntakeIds { source_lead_id: source_lead_id.clone(), ..lead.ids };
        let outcome = match self.repo.take_lead(source, &product, &new, &ids, now).await? {
            IntakeWrite::Done(outcome) => outcome,
            IntakeWrite::SourceLeadIdTaken => {
                let id = source_lead_id.as_deref().unwrap_or_default();
                let earlier = self.repo.lead_by_source_id(source.id, id).await?;
                return Err(IntakeRefusal::DuplicateSourceLeadId { earlier });
            }
        };
        let (lead, delivered) = match outcome {
            IntakeOutcome::Duplicate { earlier } => return Err(IntakeRefusal::DuplicatePhone { earlier }),
            IntakeOutcome::Pooled { lead } => (lead, false),
            IntakeOutcome::Delivered { lead, .. } => (lead, true),
            // Another provider org sent this phone: the lead is held for the operator, and
            // the caller gets a fresh lead's answer (its own new id, the status the offer
            // would have given), so nothing tells it the other lead exists.
            IntakeOutcome::Held { lead, as_if_delivered } => (lead, as_if_delivered),
        };
        Ok(IntakeCreated { lead, status: if delivered { LeadStatus::Assigned } else { LeadStatus::Pool } })
    }

    /// Stores a source's status report on the lead it names (see the module invariants).
    ///
    /// # Errors
    /// [`IntakeRefusal::Invalid`] naming the field, [`IntakeRefusal::LeadNotFound`], or a
    /// storage failure.
    pub async fn change_status(
        &self,
        source: &Source,
        input: StatusReportInput,
    ) -> Result<StatusChanged, IntakeRefusal> {
        let key = input.lead_key.trim().to_owned();
        if key.is_empty() {
            return Err(ValidationError::single("lead_source_id", "must not be empty").into());
        }
        let report = report_of(input)?;
        let now = self.clock.now();
        let mut lead =
            self.repo.record_source_status(source.id, &key, &report, now).await?.ok_or(IntakeRefusal::LeadNotFound)?;
        lead.status = source_view(lead.status);
        Ok(StatusChanged { lead, reported: report.status })
    }
}
