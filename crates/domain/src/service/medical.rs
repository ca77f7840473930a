//! The medical coverage analysis's use cases (`funnel.md`, 모홈 메디컬보장분석): the
//! NHIS simple authentication (start, complete), the check-ups, the analysis joining
//! them with a coverage analysis, and the purge of health data past its retention.
//!
//! Invariants:
//! - only a partner org's API key (or the command line) calls them (`may_call`);
//! - a session is started only for a verified person of the org (a live token), after
//!   the `MEDICAL` consents (민감정보 처리 included) were judged: nothing is asked of the
//!   provider before, and a refusal stores nothing;
//! - a session, a coverage analysis or a medical analysis of another org is "not
//!   found", exactly like an unknown one;
//! - check-ups are fetched only through a session whose status, at the time of the call,
//!   is `APPROVED` ([`HealthSession::status_at`], a pending one asked of the provider
//!   first); a pending, denied or expired one is refused
//!   ([`FunnelError::HealthAuthNotApproved`]) and no check-up is asked for;
//! - a medical analysis joins a coverage analysis and a session of the same person
//!   (the same verification); it is stored sealed with `purge_after` = now + retention,
//!   and [`purge`] deletes it, and the session, after that.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::ValidationError;
use crate::funnel::coverage::{CoverageReport, age_on};
use crate::funnel::health::{HealthSession, MedicalReport, Purged};
use crate::funnel::identity::VerifiedPerson;
use crate::funnel::medical::{AuthProvider, AuthStatus, Checkup, analyse_medical};
use crate::funnel::terms::{ConsentInput, TermsBook, TermsPurpose};
use crate::ports::{AnalysisRepository, Clock, HealthData, IdentityRepository, MedicalRepository, VerificationSecrets};
use crate::principal::Principal;
use crate::service::funnel::{FunnelError, may_call, verified_person};

/// A started session, as its caller is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthStarted {
    pub session_id: Uuid,
    pub expires_at: OffsetDateTime,
}

/// The check-ups of an approved session, with the person's gender (the reference
/// ranges differ by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkups {
    pub session: HealthSession,
    pub gender: crate::funnel::identity::Gender,
    pub checkups: Vec<Checkup>,
}

/// The medical analysis's ports and settings.
pub struct MedicalPorts<'a, R: ?Sized, S: ?Sized, H: ?Sized, A: ?Sized, M: ?Sized, C: ?Sized> {
    pub identity: &'a R,
    pub secrets: &'a S,
    pub health: &'a H,
    pub analyses: &'a A,
    pub medical: &'a M,
    pub clock: &'a C,
    pub terms: &'a TermsBook,
    /// How long health data is kept (`funnel.medical_retention_days`).
    pub retention: Duration,
}

fn uuid_field(raw: &str, field: &str) -> Result<Uuid, FunnelError> {
    Uuid::parse_str(raw.trim()).map_err(|_| FunnelError::Invalid(ValidationError::single(field, "must be a UUID")))
}

impl<R, S, H, A, M, C> MedicalPorts<'_, R, S, H, A, M, C>
where
    R: IdentityRepository + ?Sized,
    S: VerificationSecrets + ?Sized,
    H: HealthData + ?Sized,
    A: AnalysisRepository + ?Sized,
    M: MedicalRepository + ?Sized,
    C: Clock + ?Sized,
{
    fn allowed(principal: &Principal) -> Result<(), FunnelError> {
        if may_call(principal) { Ok(()) } else { Err(FunnelError::Forbidden) }
    }

    /// 건강보험공단 - 간편인증 요청: asks the person to approve in their app.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`] naming `authProvider`;
    /// [`FunnelError::TokenInvalid`]; [`FunnelError::Consent`];
    /// [`FunnelError::HealthUnavailable`]; a storage failure. None stores anything.
    pub async fn start_auth(
        &self,
        principal: &Principal,
        token: &str,
        provider: &str,
        consents: &[ConsentInput<'_>],
    ) -> Result<AuthStarted, FunnelError> {
        Self::allowed(principal)?;
        let provider = AuthProvider::parse(provider.trim()).ok_or_else(|| {
            FunnelError::Invalid(ValidationError::single(
                "authProvider",
                "must be one of KAKAO NAVER PASS TOSS PAYCO KB",
            ))
        })?;
        let now = self.clock.now();
        let person = verified_person(self.identity, self.secrets, now, principal, token).await?;
        let accepted = self.terms.accept(TermsPurpose::Medical, consents, now).map_err(FunnelError::Consent)?;
        let ticket = self
            .health
            .start_auth(&person.claim, provider, now)
            .await
            .map_err(|e| FunnelError::HealthUnavailable(e.0))?;
        let session = HealthSession {
            id: Uuid::now_v7(),
            org_id: principal.org_id,
            verification_id: person.verification_id,
            provider,
            reference: ticket.reference,
            status: AuthStatus::Pending,
            created_at: now,
            expires_at: ticket.expires_at,
            approved_at: None,
            purge_after: now + self.retention,
        };
        self.medical.open_session(&session, &accepted).await?;
        Ok(AuthStarted { session_id: session.id, expires_at: session.expires_at })
    }

    /// The org's session `raw` names.
    async fn session(&self, principal: &Principal, raw: &str) -> Result<HealthSession, FunnelError> {
        let id = uuid_field(raw, "authSessionId")?;
        self.medical.session(principal.org_id, id).await?.ok_or(FunnelError::AuthSessionNotFound)
    }

    /// 건강보험공단 - 간편인증 완료: where the session stands; a pending one is asked of
    /// the provider, and its answer recorded.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`];
    /// [`FunnelError::AuthSessionNotFound`]; [`FunnelError::HealthUnavailable`]; a
    /// storage failure.
    pub async fn complete_auth(
        &self,
        principal: &Principal,
        session_id: &str,
    ) -> Result<(Uuid, AuthStatus), FunnelError> {
        Self::allowed(principal)?;
        let session = self.refreshed(self.session(principal, session_id).await?).await?;
        Ok((session.id, session.status_at(self.clock.now())))
    }

    /// The session with its status brought up to date: a pending one (in its lifetime)
    /// is asked of the provider, and a final answer recorded.
    async fn refreshed(&self, mut session: HealthSession) -> Result<HealthSession, FunnelError> {
        let now = self.clock.now();
        if session.status_at(now) != AuthStatus::Pending {
            return Ok(session);
        }
        let answer =
            self.health.auth_status(&session.reference, now).await.map_err(|e| FunnelError::HealthUnavailable(e.0))?;
        if answer != AuthStatus::Pending {
            self.medical.record_status(session.org_id, session.id, answer, now).await?;
            session.status = answer;
            if answer == AuthStatus::Approved {
                session.approved_at = Some(now);
            }
        }
        Ok(session)
    }

    /// The person of an approved session, and the session (a pending one is asked of
    /// the provider first, so a caller need not poll `complete`).
    async fn approved(&self, principal: &Principal, raw: &str) -> Result<(HealthSession, VerifiedPerson), FunnelError> {
        let session = self.refreshed(self.session(principal, raw).await?).await?;
        let status = session.status_at(self.clock.now());
        if status != AuthStatus::Approved {
            return Err(FunnelError::HealthAuthNotApproved(status));
        }
        let person = self
            .identity
            .verified(principal.org_id, session.verification_id)
            .await?
            .ok_or(FunnelError::AuthSessionNotFound)?;
        Ok((session, person))
    }

    /// 건강검진 데이터 조회: the person's check-ups through an approved session.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`];
    /// [`FunnelError::AuthSessionNotFound`]; [`FunnelError::HealthAuthNotApproved`];
    /// [`FunnelError::HealthUnavailable`]; a storage failure.
    pub async fn checkups(&self, principal: &Principal, session_id: &str) -> Result<Checkups, FunnelError> {
        Self::allowed(principal)?;
        let (session, person) = self.approved(principal, session_id).await?;
        let mut checkups = self
            .health
            .checkups(&person.claim, &session.reference)
            .await
            .map_err(|e| FunnelError::HealthUnavailable(e.0))?;
        checkups.sort_by_key(|c| (c.year, c.date));
        Ok(Checkups { session, gender: person.claim.gender, checkups })
    }

    /// 보장분석 결과 전송: the check-ups' risk flags joined with a coverage analysis's
    /// gaps into ranked recommendations, stored sealed until the retention ends.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`] (a malformed id, or a session
    /// of another person than the analysis's, naming `authSessionId`);
    /// [`FunnelError::AnalysisNotFound`]; [`FunnelError::AuthSessionNotFound`];
    /// [`FunnelError::HealthAuthNotApproved`]; [`FunnelError::HealthUnavailable`]; a
    /// storage failure. None stores anything.
    pub async fn analyse(
        &self,
        principal: &Principal,
        analysis_id: &str,
        session_id: &str,
    ) -> Result<MedicalReport, FunnelError> {
        Self::allowed(principal)?;
        let coverage = self.coverage(principal, analysis_id).await?;
        let (session, person) = self.approved(principal, session_id).await?;
        if session.verification_id != coverage.verification_id {
            return Err(FunnelError::Invalid(ValidationError::single(
                "authSessionId",
                "must be a session of the person the coverage analysis is of",
            )));
        }
        let mut checkups = self
            .health
            .checkups(&person.claim, &session.reference)
            .await
            .map_err(|e| FunnelError::HealthUnavailable(e.0))?;
        checkups.sort_by_key(|c| (c.year, c.date));
        let now = self.clock.now();
        let analysis = analyse_medical(&coverage.analysis.summary, &checkups, coverage.gender);
        let report = MedicalReport {
            id: Uuid::now_v7(),
            org_id: principal.org_id,
            coverage_analysis_id: coverage.id,
            session_id: session.id,
            masked_name: coverage.masked_name,
            gender: coverage.gender,
            age: age_on(*person.claim.birth_date.expose(), now.date()),
            checkups,
            analysis,
            created_at: now,
            purge_after: now + self.retention,
        };
        self.medical.store(&report).await?;
        Ok(report)
    }

    /// The org's coverage analysis `raw` names.
    async fn coverage(&self, principal: &Principal, raw: &str) -> Result<CoverageReport, FunnelError> {
        let id = uuid_field(raw, "analysisId")?;
        self.analyses.get(principal.org_id, id).await?.ok_or(FunnelError::AnalysisNotFound)
    }

    /// A medical analysis of the org, for its reports. A malformed id is "not found".
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::AnalysisNotFound`]; a storage failure.
    pub async fn report(&self, principal: &Principal, id: &str) -> Result<MedicalReport, FunnelError> {
        Self::allowed(principal)?;
        let Ok(id) = Uuid::parse_str(id.trim()) else { return Err(FunnelError::AnalysisNotFound) };
        let report = self.medical.get(principal.org_id, id).await?.ok_or(FunnelError::AnalysisNotFound)?;
        // Past its retention, health data is gone even before the purge runs.
        if self.clock.now() >= report.purge_after {
            return Err(FunnelError::AnalysisNotFound);
        }
        Ok(report)
    }
}

/// A coverage analysis of the org, for its reports. A malformed id is "not found".
///
/// # Errors
/// [`FunnelError::Forbidden`]; [`FunnelError::AnalysisNotFound`]; a storage failure.
pub async fn coverage_report<A: AnalysisRepository + ?Sized>(
    analyses: &A,
    principal: &Principal,
    id: &str,
) -> Result<CoverageReport, FunnelError> {
    if !may_call(principal) {
        return Err(FunnelError::Forbidden);
    }
    let Ok(id) = Uuid::parse_str(id.trim()) else { return Err(FunnelError::AnalysisNotFound) };
    analyses.get(principal.org_id, id).await?.ok_or(FunnelError::AnalysisNotFound)
}

/// Deletes health data past its retention, and identity verifications older than it
/// (past their code, token and the hour the request limits count, they are kept as long
/// as health data).
///
/// # Errors
/// A storage failure (nothing is half-deleted: each table's delete is one statement).
pub async fn purge<M: MedicalRepository + ?Sized>(
    medical: &M,
    now: OffsetDateTime,
    retention: Duration,
) -> Result<Purged, FunnelError> {
    Ok(medical.purge(now, now - retention).await?)
}
