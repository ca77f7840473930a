//! Ports of the consumer funnel (`crate::service::funnel`): verifications in storage,
//! the secrets of codes and tokens, and the SMS provider.
//!
//! Every method that names a verification takes the org too: another org's
//! verification is absent (`None`, `false`), never an error of its own.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::funnel::coverage::{Contract, CoverageReport};
use crate::funnel::identity::{CodeState, IdentityClaim, RequestLimited, RequestWindow, VerifiedPerson};
use crate::funnel::terms::Consent;
use crate::pii::{PhoneNumber, Pii};

/// Random codes and tokens, and their keyed digests (the only form stored).
pub trait VerificationSecrets: Send + Sync {
    /// A uniformly random code of [`crate::funnel::identity::CODE_DIGITS`] digits.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the random source fails.
    fn new_code(&self) -> Result<Pii<String>, RepoError>;
    /// A random `verificationToken` (at least 256 bits).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the random source fails.
    fn new_token(&self) -> Result<String, RepoError>;
    /// The keyed digest of `code` for verification `id` (a code never verifies another
    /// verification).
    fn code_digest(&self, id: Uuid, code: &str) -> String;
    /// The keyed digest of a token.
    fn token_digest(&self, token: &str) -> String;
    /// Whether two digests are equal, in constant time.
    fn digests_match(&self, a: &str, b: &str) -> bool;
}

/// Why an SMS was not sent: a reason without personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SmsFailure(pub String);

/// The SMS provider.
pub trait SmsSender: Send + Sync {
    /// Sends `text` to `to`; returns once the provider accepted it.
    fn send(&self, to: &Pii<PhoneNumber>, text: &Pii<String>) -> impl Future<Output = Result<(), SmsFailure>> + Send;
}

/// A code request to store.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub id: Uuid,
    pub org_id: Uuid,
    pub claim: IdentityClaim,
    /// The client address the request is counted under (never stored in clear).
    pub client: String,
    pub code_digest: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A check of a code to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    /// The attempts the check saw; the record applies only if they are still so.
    pub seen_attempts: u8,
    /// When the code verified: the time, the token's digest and its expiry.
    pub verified: Option<(OffsetDateTime, String, OffsetDateTime)>,
}

/// Identity verifications in storage; the person's fields sealed by the adapter.
pub trait IdentityRepository: Send + Sync {
    /// In one write transaction: counts the requests after `window_start` of the
    /// claim's phone and of the client, asks `judge`, and stores `new` only if it
    /// allows. Concurrent requests of one phone or client are serialized.
    fn open<J>(
        &self,
        new: &NewVerification,
        window_start: OffsetDateTime,
        judge: J,
    ) -> impl Future<Output = Result<Result<(), RequestLimited>, RepoError>> + Send
    where
        J: FnOnce(&RequestWindow) -> Result<(), RequestLimited> + Send;

    /// Removes a verification whose code could not be sent.
    fn discard(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// A verification's code state and stored code digest.
    fn code_state(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(CodeState, String)>, RepoError>> + Send;

    /// Records one check (attempts + 1, and the verification when it verified); false
    /// when another check was recorded since `seen_attempts` (nothing written).
    fn record_check(
        &self,
        org_id: Uuid,
        id: Uuid,
        check: &CheckRecord,
    ) -> impl Future<Output = Result<bool, RepoError>> + Send;

    /// The verified person a token digest belongs to, in any org.
    fn person(&self, token_digest: &str) -> impl Future<Output = Result<Option<VerifiedPerson>, RepoError>> + Send;

    /// The verified person of the org's verification `id` (whatever its token's age):
    /// the person a later step (an NHIS session) was started for.
    fn verified(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<VerifiedPerson>, RepoError>> + Send;
}

/// Why a provider could not answer: a reason without personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderFailure(pub String);

/// The insurance-contract registry (the person's contracts across insurers).
pub trait InsuranceData: Send + Sync {
    /// The verified person's contracts, in force or not.
    fn contracts(&self, person: &IdentityClaim) -> impl Future<Output = Result<Vec<Contract>, ProviderFailure>> + Send;
}

/// Coverage analyses in storage; the report sealed by the adapter.
pub trait AnalysisRepository: Send + Sync {
    /// Stores an analysis and its consents, in one write transaction.
    fn store(&self, report: &CoverageReport) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// An analysis of the org.
    fn get(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Option<CoverageReport>, RepoError>> + Send;
}

/// Why a document could not be rendered (never personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderFailure(pub String);

/// Renders a report document as a PDF (`infra::pdf`). CPU-bound and synchronous.
pub trait PdfRenderer: Send + Sync {
    fn render(&self, document: &crate::funnel::document::Document) -> Result<Vec<u8>, RenderFailure>;
}

/// Medical analyses and their NHIS sessions in storage; references and reports sealed
/// by the adapter. Reads name the org: another org's row is absent.
pub trait MedicalRepository: Send + Sync {
    /// Stores a new session and the consents given with it, in one write transaction.
    fn open_session(
        &self,
        session: &crate::funnel::health::HealthSession,
        consents: &[Consent],
    ) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// A session of the org.
    fn session(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::funnel::health::HealthSession>, RepoError>> + Send;

    /// Records the provider's answer on a session (and the approval time, once).
    fn record_status(
        &self,
        org_id: Uuid,
        id: Uuid,
        status: crate::funnel::medical::AuthStatus,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// Stores a medical analysis.
    fn store(
        &self,
        report: &crate::funnel::health::MedicalReport,
    ) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// A medical analysis of the org.
    fn get(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<crate::funnel::health::MedicalReport>, RepoError>> + Send;

    /// Deletes medical analyses and sessions past their `purge_after`, and identity
    /// verifications created before `verifications_before` (long past their use).
    fn purge(
        &self,
        now: OffsetDateTime,
        verifications_before: OffsetDateTime,
    ) -> impl Future<Output = Result<crate::funnel::health::Purged, RepoError>> + Send;
}
