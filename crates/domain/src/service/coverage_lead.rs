//! The lead of a consented coverage analysis (`funnel.md`, "Marketing consent makes a
//! lead"): a person who gave the optional `THIRD_PARTY_PROVISION` consent becomes a
//! lead of the platform's own source, through the intake's core
//! ([`IntakeRepository::take_lead`]: dedupe, pool, allocation), like any other lead.
//!
//! Invariants:
//! - without `THIRD_PARTY_PROVISION` among the stored consents, nothing is asked of the
//!   intake and no lead exists ([`LeadShare::NotConsented`]);
//! - the source is the one `funnel.lead_source` names (the platform operator's, source
//!   codes being unique across orgs); its org is the lead's provider org and its default
//!   product the lead's product; a source or product that is missing makes no lead and
//!   says so ([`LeadShare::NotConfigured`]), the analysis itself standing;
//! - the source's own id for the lead is the analysis id, so one analysis makes at most
//!   one lead whatever the retries;
//! - the phone is the verified Korean mobile, the name, birth date and gender the verified
//!   ones; the region the person chose (a Korean 시·도 code) or none (the lead waits in
//!   the pool, `UNROUTED`);
//! - the metadata is the analysis summary (categories, amounts, statuses, the table's
//!   version), the analysis id and the inviting `mohomId`: never personal data.

use serde_json::json;
use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::funnel::coverage::CoverageReport;
use crate::funnel::identity::{Gender, IdentityClaim};
use crate::funnel::terms::ConsentInput;
use crate::funnel::terms::shares_with_agents;
use crate::intake::{IntakeIds, IntakeOutcome, IntakeWrite};
use crate::lead::{LeadFields, NewLead};
use crate::ports::{
    AnalysisRepository, Clock, IdentityRepository, InsuranceData, IntakeRepository, ReferenceRepository,
    VerificationSecrets,
};
use crate::principal::Principal;
use crate::reference::Country;
use crate::service::funnel::{AnalysisPorts, FunnelError, may_call};
use crate::service::intake::UNROUTED;

/// What became of the lead of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadShare {
    /// The person did not consent to be contacted: no lead.
    NotConsented,
    /// The configured source (or its default product) does not exist: no lead.
    NotConfigured,
    /// A lead of this phone and product arrived inside the product's window: the
    /// earlier one stands (deduplicated like any other lead).
    Duplicate,
    /// The lead was taken: pooled, held or delivered to an order.
    Taken { lead: Uuid },
}

/// A region the person chose for agents to call from: a Korean 시·도 code.
///
/// # Errors
/// Names `regionCode` when it is not a Korean region of `GET /api/v1/regions`.
pub async fn lead_region<P: ReferenceRepository + ?Sized>(
    reference: &P,
    raw: Option<&str>,
) -> Result<Option<String>, LeadRegionError> {
    let Some(code) = raw.map(str::trim) else { return Ok(None) };
    let regions = reference.list_regions(Some(Country::Kr)).await?;
    if regions.iter().any(|r| r.code == code) {
        Ok(Some(code.to_owned()))
    } else {
        Err(LeadRegionError::Invalid(ValidationError::single(
            "regionCode",
            "must be a Korean region code of GET /api/v1/regions?country=KR",
        )))
    }
}

/// A refused region, or a storage failure reading the regions.
#[derive(Debug, thiserror::Error)]
pub enum LeadRegionError {
    #[error(transparent)]
    Invalid(ValidationError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// The metadata of a coverage lead: the analysis summary, never personal data.
fn metadata(report: &CoverageReport, mohom_id: Option<&str>) -> String {
    let summary: Vec<_> = report
        .analysis
        .summary
        .iter()
        .map(|s| {
            json!({
                "category": s.category.code(),
                "held": s.held.0.to_string(),
                "recommended": s.recommended.0.to_string(),
                "status": s.status.code(),
            })
        })
        .collect();
    json!({
        "coverageAnalysisId": report.id,
        "mohomId": mohom_id,
        "recommendationVersion": report.analysis.table_version,
        "monthlyPremiumTotal": report.analysis.monthly_premium_total.0.to_string(),
        "summary": summary,
    })
    .to_string()
}

/// Makes the lead of a stored analysis, when the person consented (module invariants).
///
/// # Errors
/// A storage failure, or a lead the intake's own rules refuse (which a verified person's
/// fields do not give).
pub async fn share_as_lead<I, P>(
    intake: &I,
    reference: &P,
    source_code: &str,
    report: &CoverageReport,
    person: &IdentityClaim,
    region: Option<&str>,
) -> Result<LeadShare, LeadShareError>
where
    I: IntakeRepository + ?Sized,
    P: ReferenceRepository + ?Sized,
{
    if !shares_with_agents(&report.consents) {
        return Ok(LeadShare::NotConsented);
    }
    let Some(source) = intake.source_by_code(source_code.trim()).await? else {
        return Ok(LeadShare::NotConfigured);
    };
    let Some(product_id) = source.product_for(None) else { return Ok(LeadShare::NotConfigured) };
    let Some(product) = reference.find_product(product_id).await? else { return Ok(LeadShare::NotConfigured) };
    let product_text = product.id.to_string();
    let birth = person.birth_date.expose().to_string();
    let fields = LeadFields {
        product_id: Some(&product_text),
        name: Some(person.name.expose().as_str()),
        phone: Some(person.phone.expose().e164()),
        email: None,
        region: Some(region.unwrap_or(UNROUTED)),
        address: None,
        birth_date: Some(&birth),
        gender: Some(match person.gender {
            Gender::Male => "MALE",
            Gender::Female => "FEMALE",
        }),
        memo: None,
        metadata: Some(metadata(report, person.mohom_id.as_ref().map(|m| m.as_str()))),
    };
    let mut new = NewLead::parse(&fields, report.created_at.date()).map_err(LeadShareError::Refused)?;
    new.region = region.unwrap_or_default().to_owned();
    let ids = IntakeIds { source_lead_id: Some(report.id.to_string()), ..IntakeIds::default() };
    Ok(match intake.take_lead(&source, &product, &new, &ids, report.created_at).await? {
        IntakeWrite::SourceLeadIdTaken => LeadShare::Duplicate,
        IntakeWrite::Done(IntakeOutcome::Duplicate { .. }) => LeadShare::Duplicate,
        IntakeWrite::Done(
            IntakeOutcome::Pooled { lead } | IntakeOutcome::Delivered { lead, .. } | IntakeOutcome::Held { lead, .. },
        ) => LeadShare::Taken { lead },
    })
}

/// Why the lead of an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LeadShareError {
    /// The intake's lead rules refused the verified fields (names the field).
    #[error(transparent)]
    Refused(ValidationError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// 보장분석 결과 with its lead: the region checked first (nothing stored when it is
/// refused), then the analysis ([`AnalysisPorts::analyse`]), then the lead of a
/// consented one ([`share_as_lead`]).
///
/// The analysis and the lead are two writes: a lead that failed after its analysis was
/// stored is a storage failure to the caller, and the analysis stands without one.
///
/// # Errors
/// As [`AnalysisPorts::analyse`]; [`FunnelError::Invalid`] naming `regionCode`.
pub async fn analyse_and_share<R, S, D, A, C, I, P>(
    ports: &AnalysisPorts<'_, R, S, D, A, C>,
    intake: &I,
    reference: &P,
    source_code: &str,
    principal: &Principal,
    request: &AnalysisRequest<'_>,
) -> Result<(CoverageReport, LeadShare), FunnelError>
where
    R: IdentityRepository + ?Sized,
    S: VerificationSecrets + ?Sized,
    D: InsuranceData + ?Sized,
    A: AnalysisRepository + ?Sized,
    C: Clock + ?Sized,
    I: IntakeRepository + ?Sized,
    P: ReferenceRepository + ?Sized,
{
    if !may_call(principal) {
        return Err(FunnelError::Forbidden);
    }
    let region = lead_region(reference, request.region).await.map_err(|e| match e {
        LeadRegionError::Invalid(v) => FunnelError::Invalid(v),
        LeadRegionError::Repo(r) => FunnelError::Repo(r),
    })?;
    let (report, person) = ports.analyse_person(principal, request.token, request.consents).await?;
    let share = share_as_lead(intake, reference, source_code, &report, &person, region.as_deref()).await.map_err(
        |e| match e {
            LeadShareError::Refused(v) => FunnelError::Invalid(v),
            LeadShareError::Repo(r) => FunnelError::Repo(r),
        },
    )?;
    Ok((report, share))
}

/// A coverage-analysis request as the partner's app sends it.
pub struct AnalysisRequest<'a> {
    pub token: &'a str,
    pub consents: &'a [ConsentInput<'a>],
    /// The region agents call from, if the person chose one (a Korean 시·도 code).
    pub region: Option<&'a str>,
}
