//! The consumer funnel's use cases (`funnel.md`, issue #17): identity verification and
//! the terms in force.
//!
//! Invariants:
//! - only a partner org's API key (or the command line) calls them: the partner's app
//!   speaks for the person; anyone else is refused before any input is judged;
//! - a code request is parsed whole before anything is stored; the limits are judged in
//!   the same write transaction that stores it; the code goes out by SMS only after it
//!   is stored, and a request whose SMS failed is removed again, so a refused or failed
//!   request leaves nothing behind;
//! - a verification of another org is "not found"; a check of an expired, spent or used
//!   code writes nothing; a wrong code is counted before it is answered;
//! - a token is found only by its digest, answers only within [`TOKEN_TTL`] and only for
//!   the org that requested it; any other token is refused alike, saying nothing of why.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::funnel::coverage::{AnalysisError, CoverageReport, RecommendationTable, analyse};
use crate::funnel::identity::{
    CODE_TTL, CodeCheck, IdentityClaim, IdentityFields, RATE_WINDOW, RequestLimited, TOKEN_TTL, VerifiedPerson,
    check_code, is_code_shaped,
};
use crate::funnel::terms::{ConsentInput, ConsentRefusal, CurrentTerms, TermsBook, TermsPurpose};
use crate::pii::Pii;
use crate::pii::mask::mask_name;
use crate::ports::{
    AnalysisRepository, CheckRecord, Clock, IdentityRepository, InsuranceData, NewVerification, SmsSender,
    VerificationSecrets,
};
use crate::principal::{Credential, Principal};
use crate::reference::OrgKind;

/// Why a funnel call was refused.
#[derive(Debug, thiserror::Error)]
pub enum FunnelError {
    #[error("only a partner organization's API key calls the consumer funnel")]
    Forbidden,
    #[error(transparent)]
    Invalid(ValidationError),
    #[error("too many code requests; retry after {} s", .0.retry_after_secs)]
    Limited(RequestLimited),
    #[error("no such verification in this organization")]
    VerificationNotFound,
    #[error("the code does not match")]
    CodeMismatch { remaining_attempts: u8 },
    #[error("the code expired, was used, or had too many attempts; request a new one")]
    VerificationExpired,
    #[error("the verification token is unknown or expired")]
    TokenInvalid,
    #[error("the SMS provider did not take the message: {0}")]
    SmsUnavailable(String),
    #[error(transparent)]
    Consent(ConsentRefusal),
    #[error("the insurance-data provider did not answer: {0}")]
    InsuranceUnavailable(String),
    #[error(transparent)]
    Analysis(AnalysisError),
    /// No such analysis (coverage or medical) in the caller's org.
    #[error("no such analysis in this organization")]
    AnalysisNotFound,
    /// No such NHIS session in the caller's org.
    #[error("no such authentication session in this organization")]
    AuthSessionNotFound,
    /// The NHIS session is not approved (pending, denied or expired).
    #[error("the authentication session is {}", .0.code())]
    HealthAuthNotApproved(crate::funnel::medical::AuthStatus),
    #[error("the health-data provider did not answer: {0}")]
    HealthUnavailable(String),
    #[error("the report could not be rendered: {0}")]
    Render(String),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A code sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSent {
    pub verification_id: Uuid,
    pub expires_at: OffsetDateTime,
}

/// A verification token issued; shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIssued {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// Whether the principal may call the funnel (see the module invariants).
#[must_use]
pub fn may_call(principal: &Principal) -> bool {
    match principal.credential {
        Credential::ApiKey { .. } => principal.org_kind == OrgKind::Partner,
        Credential::Cli => true,
        Credential::Token { .. } => false,
    }
}

/// The text of the code's SMS.
#[must_use]
pub fn code_message(code: &str) -> String {
    format!("[모홈] 본인인증번호 [{code}]를 입력해 주세요. 3분 안에 입력해야 합니다.")
}

/// Identity verification over its ports.
pub struct IdentityService<'a, R: ?Sized, S: ?Sized, M: ?Sized, C: ?Sized> {
    repo: &'a R,
    secrets: &'a S,
    sms: &'a M,
    clock: &'a C,
}

impl<'a, R, S, M, C> IdentityService<'a, R, S, M, C>
where
    R: IdentityRepository + ?Sized,
    S: VerificationSecrets + ?Sized,
    M: SmsSender + ?Sized,
    C: Clock + ?Sized,
{
    pub fn new(repo: &'a R, secrets: &'a S, sms: &'a M, clock: &'a C) -> Self {
        Self { repo, secrets, sms, clock }
    }

    fn allowed(principal: &Principal) -> Result<Uuid, FunnelError> {
        if may_call(principal) { Ok(principal.org_id) } else { Err(FunnelError::Forbidden) }
    }

    /// Stores a code request and sends its code; `client` is the address it is counted
    /// under.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`] naming every bad field;
    /// [`FunnelError::Limited`]; [`FunnelError::SmsUnavailable`] (the request removed);
    /// a storage failure. Nothing is left stored by any of them.
    pub async fn request(
        &self,
        principal: &Principal,
        fields: &IdentityFields<'_>,
        client: &str,
    ) -> Result<CodeSent, FunnelError> {
        let org_id = Self::allowed(principal)?;
        let now = self.clock.now();
        let claim = IdentityClaim::parse(fields, now.date()).map_err(FunnelError::Invalid)?;
        let id = Uuid::now_v7();
        let code = self.secrets.new_code()?;
        let new = NewVerification {
            id,
            org_id,
            claim,
            client: client.to_owned(),
            code_digest: self.secrets.code_digest(id, code.expose()),
            created_at: now,
            expires_at: now + CODE_TTL,
        };
        self.repo.open(&new, now - RATE_WINDOW, |window| window.judge(now)).await?.map_err(FunnelError::Limited)?;
        let text = Pii::new(code_message(code.expose()));
        if let Err(failure) = self.sms.send(&new.claim.phone, &text).await {
            self.repo.discard(org_id, id).await?;
            return Err(FunnelError::SmsUnavailable(failure.0));
        }
        Ok(CodeSent { verification_id: id, expires_at: new.expires_at })
    }

    /// Checks a code; the right one, in time, issues the token.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`] for a malformed id;
    /// [`FunnelError::VerificationNotFound`]; [`FunnelError::CodeMismatch`] (counted);
    /// [`FunnelError::VerificationExpired`] (nothing written); a storage failure.
    pub async fn verify(
        &self,
        principal: &Principal,
        verification_id: &str,
        code: &str,
    ) -> Result<TokenIssued, FunnelError> {
        let org_id = Self::allowed(principal)?;
        let id = Uuid::parse_str(verification_id.trim())
            .map_err(|_| FunnelError::Invalid(ValidationError::single("verificationId", "must be a UUID")))?;
        // A concurrent check of the same code may be recorded first: judge again on
        // what it left (a few times at most; each pass is one check's worth of state).
        for _ in 0..3 {
            let (state, stored) = self.repo.code_state(org_id, id).await?.ok_or(FunnelError::VerificationNotFound)?;
            let now = self.clock.now();
            let matches = is_code_shaped(code.trim())
                && self.secrets.digests_match(&self.secrets.code_digest(id, code.trim()), &stored);
            let (record, outcome) = match check_code(&state, matches, now) {
                CodeCheck::Expired => return Err(FunnelError::VerificationExpired),
                CodeCheck::Mismatch { remaining_attempts } => (
                    CheckRecord { seen_attempts: state.attempts, verified: None },
                    Err(FunnelError::CodeMismatch { remaining_attempts }),
                ),
                CodeCheck::Verified => {
                    let token = self.secrets.new_token()?;
                    let expires_at = now + TOKEN_TTL;
                    (
                        CheckRecord {
                            seen_attempts: state.attempts,
                            verified: Some((now, self.secrets.token_digest(&token), expires_at)),
                        },
                        Ok(TokenIssued { token, expires_at }),
                    )
                }
            };
            if self.repo.record_check(org_id, id, &record).await? {
                return outcome;
            }
        }
        Err(FunnelError::VerificationExpired)
    }

    /// The verified person of a token, for the org's next step.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::TokenInvalid`] for an unknown token,
    /// an expired one, or one of another org; a storage failure.
    pub async fn person(&self, principal: &Principal, token: &str) -> Result<VerifiedPerson, FunnelError> {
        verified_person(self.repo, self.secrets, self.clock.now(), principal, token).await
    }
}

/// The verified person of a token, for the org's next step.
///
/// # Errors
/// [`FunnelError::Forbidden`]; [`FunnelError::TokenInvalid`] for an unknown token,
/// an expired one, or one of another org; a storage failure.
pub async fn verified_person<R, S>(
    repo: &R,
    secrets: &S,
    now: OffsetDateTime,
    principal: &Principal,
    token: &str,
) -> Result<VerifiedPerson, FunnelError>
where
    R: IdentityRepository + ?Sized,
    S: VerificationSecrets + ?Sized,
{
    if !may_call(principal) {
        return Err(FunnelError::Forbidden);
    }
    let person = repo.person(&secrets.token_digest(token.trim())).await?;
    match person {
        Some(p) if p.org_id == principal.org_id && now < p.token_expires_at => Ok(p),
        _ => Err(FunnelError::TokenInvalid),
    }
}

/// The ports and fixtures of a coverage analysis.
pub struct AnalysisPorts<'a, R: ?Sized, S: ?Sized, D: ?Sized, A: ?Sized, C: ?Sized> {
    pub identity: &'a R,
    pub secrets: &'a S,
    pub insurance: &'a D,
    pub analyses: &'a A,
    pub clock: &'a C,
    pub terms: &'a TermsBook,
    pub table: &'a RecommendationTable,
}

impl<R, S, D, A, C> AnalysisPorts<'_, R, S, D, A, C>
where
    R: IdentityRepository + ?Sized,
    S: VerificationSecrets + ?Sized,
    D: InsuranceData + ?Sized,
    A: AnalysisRepository + ?Sized,
    C: Clock + ?Sized,
{
    /// 보장분석 결과: the verified person's contracts analysed and stored with the
    /// consents given (funnel.md).
    ///
    /// Order: the token, then the consents (nothing is asked of the provider before the
    /// person consented), then the contracts, then one write.
    ///
    /// # Errors
    /// [`FunnelError::Forbidden`]; [`FunnelError::TokenInvalid`];
    /// [`FunnelError::Consent`] (unknown terms, a stale version, a missing required
    /// consent); [`FunnelError::InsuranceUnavailable`]; [`FunnelError::Analysis`]; a
    /// storage failure. Nothing is stored by any of them.
    pub async fn analyse(
        &self,
        principal: &Principal,
        token: &str,
        consents: &[ConsentInput<'_>],
    ) -> Result<CoverageReport, FunnelError> {
        Ok(self.analyse_person(principal, token, consents).await?.0)
    }

    /// [`Self::analyse`], also answering the verified person (for the lead of a
    /// consented analysis, `crate::service::coverage_lead`).
    ///
    /// # Errors
    /// As [`Self::analyse`].
    pub async fn analyse_person(
        &self,
        principal: &Principal,
        token: &str,
        consents: &[ConsentInput<'_>],
    ) -> Result<(CoverageReport, IdentityClaim), FunnelError> {
        let now = self.clock.now();
        let person = verified_person(self.identity, self.secrets, now, principal, token).await?;
        let accepted = self.terms.accept(TermsPurpose::Coverage, consents, now).map_err(FunnelError::Consent)?;
        let contracts =
            self.insurance.contracts(&person.claim).await.map_err(|e| FunnelError::InsuranceUnavailable(e.0))?;
        let claim = &person.claim;
        let analysis = analyse(&contracts, *claim.birth_date.expose(), claim.gender, now.date(), self.table)
            .map_err(FunnelError::Analysis)?;
        let report = CoverageReport {
            id: Uuid::now_v7(),
            org_id: principal.org_id,
            verification_id: person.verification_id,
            masked_name: mask_name(claim.name.expose().as_str()),
            gender: claim.gender,
            contracts,
            analysis,
            consents: accepted,
            created_at: now,
        };
        self.analyses.store(&report).await?;
        Ok((report, person.claim))
    }
}

/// The terms in force for a purpose.
///
/// # Errors
/// [`FunnelError::Forbidden`]; [`FunnelError::Invalid`] naming `purpose`.
pub fn current_terms<'b>(
    book: &'b TermsBook,
    principal: &Principal,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<(TermsPurpose, Vec<CurrentTerms<'b>>), FunnelError> {
    if !may_call(principal) {
        return Err(FunnelError::Forbidden);
    }
    let purpose = TermsPurpose::parse(purpose).map_err(FunnelError::Invalid)?;
    Ok((purpose, book.current(purpose, now)))
}
