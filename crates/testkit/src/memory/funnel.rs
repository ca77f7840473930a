//! In-memory ports of the consumer funnel: verifications in a vector, predictable
//! secrets, and an SMS outbox the tests read.

use std::sync::Mutex;

use domain::error::RepoError;
use domain::funnel::identity::{CodeState, RequestLimited, RequestWindow, VerifiedPerson};
use domain::pii::{PhoneNumber, Pii};
use domain::ports::{CheckRecord, IdentityRepository, NewVerification, SmsFailure, SmsSender, VerificationSecrets};
use time::OffsetDateTime;
use uuid::Uuid;

/// One stored verification.
#[derive(Debug, Clone)]
pub struct StoredVerification {
    pub new: NewVerification,
    pub attempts: u8,
    pub verified_at: Option<OffsetDateTime>,
    pub token: Option<(String, OffsetDateTime)>,
}

/// Verifications in a vector.
#[derive(Debug, Default)]
pub struct MemoryIdentityRepository {
    pub rows: Mutex<Vec<StoredVerification>>,
}

impl MemoryIdentityRepository {
    /// The stored rows, cloned.
    #[must_use]
    pub fn rows(&self) -> Vec<StoredVerification> {
        self.rows.lock().expect("rows lock").clone()
    }
}

impl IdentityRepository for MemoryIdentityRepository {
    async fn open<J>(
        &self,
        new: &NewVerification,
        window_start: OffsetDateTime,
        judge: J,
    ) -> Result<Result<(), RequestLimited>, RepoError>
    where
        J: FnOnce(&RequestWindow) -> Result<(), RequestLimited> + Send,
    {
        let mut rows = self.rows.lock().expect("rows lock");
        let recent = || rows.iter().filter(|r| r.new.created_at > window_start);
        let phone = recent().filter(|r| r.new.claim.phone == new.claim.phone).map(|r| r.new.created_at);
        let address = recent().filter(|r| r.new.client == new.client).map(|r| r.new.created_at);
        let window = RequestWindow {
            phone_requests: u32::try_from(phone.clone().count()).unwrap_or(u32::MAX),
            phone_oldest: phone.min(),
            address_requests: u32::try_from(address.clone().count()).unwrap_or(u32::MAX),
            address_oldest: address.min(),
        };
        if let Err(limited) = judge(&window) {
            return Ok(Err(limited));
        }
        rows.push(StoredVerification { new: new.clone(), attempts: 0, verified_at: None, token: None });
        Ok(Ok(()))
    }

    async fn discard(&self, org_id: Uuid, id: Uuid) -> Result<(), RepoError> {
        self.rows.lock().expect("rows lock").retain(|r| !(r.new.org_id == org_id && r.new.id == id));
        Ok(())
    }

    async fn code_state(&self, org_id: Uuid, id: Uuid) -> Result<Option<(CodeState, String)>, RepoError> {
        let rows = self.rows.lock().expect("rows lock");
        Ok(rows.iter().find(|r| r.new.org_id == org_id && r.new.id == id).map(|r| {
            let state = CodeState { expires_at: r.new.expires_at, attempts: r.attempts, verified_at: r.verified_at };
            (state, r.new.code_digest.clone())
        }))
    }

    async fn record_check(&self, org_id: Uuid, id: Uuid, check: &CheckRecord) -> Result<bool, RepoError> {
        let mut rows = self.rows.lock().expect("rows lock");
        let Some(row) = rows.iter_mut().find(|r| r.new.org_id == org_id && r.new.id == id) else { return Ok(false) };
        if row.attempts != check.seen_attempts || row.verified_at.is_some() {
            return Ok(false);
        }
        row.attempts += 1;
        if let Some((at, digest, expires)) = &check.verified {
            row.verified_at = Some(*at);
            row.token = Some((digest.clone(), *expires));
        }
        Ok(true)
    }

    async fn verified(&self, org_id: Uuid, id: Uuid) -> Result<Option<VerifiedPerson>, RepoError> {
        let rows = self.rows.lock().expect("rows lock");
        Ok(rows.iter().find(|r| r.new.id == id && r.new.org_id == org_id).and_then(|r| {
            let (_, expires) = r.token.as_ref()?;
            Some(VerifiedPerson {
                verification_id: r.new.id,
                org_id: r.new.org_id,
                claim: r.new.claim.clone(),
                verified_at: r.verified_at?,
                token_expires_at: *expires,
            })
        }))
    }

    async fn person(&self, token_digest: &str) -> Result<Option<VerifiedPerson>, RepoError> {
        let rows = self.rows.lock().expect("rows lock");
        Ok(rows.iter().find(|r| r.token.as_ref().is_some_and(|(d, _)| d == token_digest)).and_then(|r| {
            let (_, expires) = r.token.as_ref()?;
            Some(VerifiedPerson {
                verification_id: r.new.id,
                org_id: r.new.org_id,
                claim: r.new.claim.clone(),
                verified_at: r.verified_at?,
                token_expires_at: *expires,
            })
        }))
    }
}

/// Codes `100000`, `100001`, ... and tokens `token-1`, `token-2`, ...; digests are the
/// plain values prefixed (readable in assertions).
#[derive(Debug, Default)]
pub struct CountingSecrets {
    issued: Mutex<u32>,
}

impl CountingSecrets {
    fn next(&self) -> u32 {
        let mut n = self.issued.lock().expect("secrets lock");
        *n += 1;
        *n
    }
}

impl VerificationSecrets for CountingSecrets {
    fn new_code(&self) -> Result<Pii<String>, RepoError> {
        Ok(Pii::new(format!("{}", 99_999 + self.next())))
    }

    fn new_token(&self) -> Result<String, RepoError> {
        Ok(format!("token-{}", self.next()))
    }

    fn code_digest(&self, id: Uuid, code: &str) -> String {
        format!("code:{id}:{code}")
    }

    fn token_digest(&self, token: &str) -> String {
        format!("token:{token}")
    }

    fn digests_match(&self, a: &str, b: &str) -> bool {
        a == b
    }
}

/// An SMS provider that keeps what it sent, or fails when told to.
#[derive(Debug, Default)]
pub struct MemorySms {
    pub sent: Mutex<Vec<(String, String)>>,
    pub failing: Mutex<bool>,
}

impl MemorySms {
    /// The last message sent to `e164`.
    #[must_use]
    pub fn last_to(&self, e164: &str) -> Option<String> {
        self.sent.lock().expect("sms lock").iter().rev().find(|(to, _)| to == e164).map(|(_, text)| text.clone())
    }
}

impl SmsSender for MemorySms {
    async fn send(&self, to: &Pii<PhoneNumber>, text: &Pii<String>) -> Result<(), SmsFailure> {
        if *self.failing.lock().expect("sms lock") {
            return Err(SmsFailure("provider answered 503".to_owned()));
        }
        self.sent.lock().expect("sms lock").push((to.expose().e164().to_owned(), text.expose().clone()));
        Ok(())
    }
}

/// Analyses in a vector.
#[derive(Debug, Default)]
pub struct MemoryAnalysisRepository {
    pub rows: Mutex<Vec<domain::funnel::coverage::CoverageReport>>,
}

impl domain::ports::AnalysisRepository for MemoryAnalysisRepository {
    async fn store(&self, report: &domain::funnel::coverage::CoverageReport) -> Result<(), RepoError> {
        self.rows.lock().expect("rows lock").push(report.clone());
        Ok(())
    }

    async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<domain::funnel::coverage::CoverageReport>, RepoError> {
        Ok(self.rows.lock().expect("rows lock").iter().find(|r| r.org_id == org_id && r.id == id).cloned())
    }
}

/// An insurance-data provider that answers with fixed contracts, or fails when told to.
#[derive(Debug, Default)]
pub struct FixedInsurance {
    pub contracts: Vec<domain::funnel::coverage::Contract>,
    pub failing: Mutex<bool>,
    pub asked: Mutex<usize>,
}

impl domain::ports::InsuranceData for FixedInsurance {
    async fn contracts(
        &self,
        _person: &domain::funnel::identity::IdentityClaim,
    ) -> Result<Vec<domain::funnel::coverage::Contract>, domain::ports::ProviderFailure> {
        *self.asked.lock().expect("asked lock") += 1;
        if *self.failing.lock().expect("failing lock") {
            return Err(domain::ports::ProviderFailure("the registry answered 502".to_owned()));
        }
        Ok(self.contracts.clone())
    }
}
