//! The identity verification and terms use cases over the in-memory ports: every rule
//! of `domain::service::funnel` without a database or an SMS provider.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Mutex;

use domain::funnel::coverage::{
    Category, Contract, ContractStatus, Coverage, CoverageStatus, RecommendationBand, RecommendationTable, Won,
};
use domain::funnel::identity::{CODE_TTL, Gender, IdentityFields, TOKEN_TTL};
use domain::funnel::terms::{ConsentInput, ConsentRefusal, THIRD_PARTY_PROVISION, Terms, TermsBook, TermsPurpose};
use domain::principal::{Credential, Principal};
use domain::reference::OrgKind;
use domain::service::funnel::{AnalysisPorts, FunnelError, IdentityService, current_terms};
use testkit::memory::{
    CountingSecrets, FixedClock, FixedInsurance, MemoryAnalysisRepository, MemoryIdentityRepository, MemorySms,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-12-03 09:00 UTC);

struct World {
    repo: MemoryIdentityRepository,
    secrets: CountingSecrets,
    sms: MemorySms,
    clock: FixedClock,
    org: Uuid,
}

impl World {
    fn new() -> Self {
        Self {
            repo: MemoryIdentityRepository::default(),
            secrets: CountingSecrets::default(),
            sms: MemorySms::default(),
            clock: FixedClock(Mutex::new(NOW)),
            org: Uuid::now_v7(),
        }
    }

    fn service(&self) -> IdentityService<'_, MemoryIdentityRepository, CountingSecrets, MemorySms, FixedClock> {
        IdentityService::new(&self.repo, &self.secrets, &self.sms, &self.clock)
    }

    fn key(&self) -> Principal {
        key(self.org)
    }

    fn advance(&self, by: Duration) {
        *self.clock.0.lock().unwrap() += by;
    }

    /// The code in the last SMS to the test phone.
    fn code(&self) -> String {
        let text = self.sms.last_to("+821012345678").expect("an SMS");
        text.split(['[', ']']).nth(3).expect("the code in brackets").to_owned()
    }
}

fn key(org: Uuid) -> Principal {
    Principal {
        org_id: org,
        org_kind: OrgKind::Partner,
        credential: Credential::ApiKey { key_id: Uuid::nil() },
        acting: None,
    }
}

fn person() -> IdentityFields<'static> {
    IdentityFields {
        name: Some("홍길동"),
        birth_date: Some("1985-04-12"),
        gender: Some("M"),
        phone: Some("010-1234-5678"),
        carrier: Some("KT"),
        mohom_id: Some("agent-7"),
    }
}

#[tokio::test]
async fn a_request_stores_the_code_as_a_digest_and_texts_it() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "203.0.113.9").await.unwrap();
    assert_eq!(sent.expires_at, NOW + CODE_TTL);
    let code = w.code();
    assert_eq!(code.len(), 6);
    let rows = w.repo.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].new.code_digest, format!("code:{}:{code}", sent.verification_id));
    assert_eq!(rows[0].new.claim.mohom_id.as_ref().unwrap().as_str(), "agent-7");
}

#[tokio::test]
async fn bad_fields_are_named_and_nothing_is_stored_or_sent() {
    let w = World::new();
    let bad = IdentityFields { birth_date: Some("2030-01-01"), carrier: Some("ORANGE"), ..person() };
    let Err(FunnelError::Invalid(err)) = w.service().request(&w.key(), &bad, "203.0.113.9").await else { panic!() };
    let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["birthDate", "carrier"]);
    assert!(w.repo.rows().is_empty());
    assert!(w.sms.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_sixth_request_of_a_phone_in_an_hour_is_limited_and_not_stored() {
    let w = World::new();
    for i in 0..5 {
        w.service().request(&w.key(), &person(), &format!("198.51.100.{i}")).await.unwrap();
        w.advance(Duration::minutes(1));
    }
    let Err(FunnelError::Limited(limited)) = w.service().request(&w.key(), &person(), "198.51.100.77").await else {
        panic!()
    };
    assert!(limited.by_phone);
    assert_eq!(limited.retry_after_secs, 55 * 60);
    assert_eq!(w.repo.rows().len(), 5);
    w.advance(Duration::minutes(55));
    w.service().request(&w.key(), &person(), "198.51.100.77").await.unwrap();
}

#[tokio::test]
async fn the_twenty_first_request_of_an_address_is_limited() {
    let w = World::new();
    for i in 0..20 {
        let phone = format!("010-2000-{i:04}");
        w.service().request(&w.key(), &IdentityFields { phone: Some(&phone), ..person() }, "192.0.2.1").await.unwrap();
    }
    let Err(FunnelError::Limited(limited)) = w.service().request(&w.key(), &person(), "192.0.2.1").await else {
        panic!()
    };
    assert!(!limited.by_phone);
    assert_eq!(w.repo.rows().len(), 20);
}

#[tokio::test]
async fn a_failed_sms_leaves_nothing_behind() {
    let w = World::new();
    *w.sms.failing.lock().unwrap() = true;
    let result = w.service().request(&w.key(), &person(), "192.0.2.1").await;
    assert!(matches!(result, Err(FunnelError::SmsUnavailable(_))), "{result:?}");
    assert!(w.repo.rows().is_empty());
}

#[tokio::test]
async fn the_right_code_issues_a_token_that_finds_the_person() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    let issued = w.service().verify(&w.key(), &sent.verification_id.to_string(), &w.code()).await.unwrap();
    assert_eq!(issued.expires_at, NOW + TOKEN_TTL);
    let found = w.service().person(&w.key(), &issued.token).await.unwrap();
    assert_eq!(found.verification_id, sent.verification_id);
    assert_eq!(found.claim.phone.expose().e164(), "+821012345678");
}

#[tokio::test]
async fn wrong_codes_count_down_then_even_the_right_one_is_expired() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    let id = sent.verification_id.to_string();
    for remaining in (0..5).rev() {
        let result = w.service().verify(&w.key(), &id, "000000").await;
        assert!(
            matches!(result, Err(FunnelError::CodeMismatch { remaining_attempts }) if remaining_attempts == remaining)
        );
    }
    let result = w.service().verify(&w.key(), &id, &w.code()).await;
    assert!(matches!(result, Err(FunnelError::VerificationExpired)), "{result:?}");
    assert_eq!(w.repo.rows()[0].attempts, 5);
}

#[tokio::test]
async fn a_code_after_three_minutes_is_expired_and_nothing_is_counted() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    w.advance(Duration::minutes(3));
    let result = w.service().verify(&w.key(), &sent.verification_id.to_string(), &w.code()).await;
    assert!(matches!(result, Err(FunnelError::VerificationExpired)), "{result:?}");
    assert_eq!(w.repo.rows()[0].attempts, 0);
}

#[tokio::test]
async fn a_used_code_does_not_verify_twice() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    let id = sent.verification_id.to_string();
    w.service().verify(&w.key(), &id, &w.code()).await.unwrap();
    let again = w.service().verify(&w.key(), &id, &w.code()).await;
    assert!(matches!(again, Err(FunnelError::VerificationExpired)), "{again:?}");
}

#[tokio::test]
async fn another_orgs_verification_is_not_found_and_its_token_is_invalid() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    let other = key(Uuid::now_v7());
    let result = w.service().verify(&other, &sent.verification_id.to_string(), &w.code()).await;
    assert!(matches!(result, Err(FunnelError::VerificationNotFound)), "{result:?}");
    assert_eq!(w.repo.rows()[0].attempts, 0);
    let issued = w.service().verify(&w.key(), &sent.verification_id.to_string(), &w.code()).await.unwrap();
    let result = w.service().person(&other, &issued.token).await;
    assert!(matches!(result, Err(FunnelError::TokenInvalid)), "{result:?}");
}

#[tokio::test]
async fn a_token_after_thirty_minutes_is_invalid() {
    let w = World::new();
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    let issued = w.service().verify(&w.key(), &sent.verification_id.to_string(), &w.code()).await.unwrap();
    w.advance(Duration::minutes(30));
    let result = w.service().person(&w.key(), &issued.token).await;
    assert!(matches!(result, Err(FunnelError::TokenInvalid)), "{result:?}");
}

#[tokio::test]
async fn a_member_token_or_a_provider_key_is_refused_before_the_input_is_read() {
    let w = World::new();
    let provider = Principal { org_kind: OrgKind::Provider, ..w.key() };
    let result = w.service().request(&provider, &IdentityFields::default(), "192.0.2.1").await;
    assert!(matches!(result, Err(FunnelError::Forbidden)), "{result:?}");
}

#[test]
fn the_terms_of_a_purpose_are_listed_and_an_unknown_purpose_is_named() {
    let book = TermsBook::new(vec![Terms {
        id: "PRIVACY_COLLECTION".into(),
        version: "2026-12-01".into(),
        title: "개인정보 수집·이용 동의".into(),
        purposes: vec![TermsPurpose::Coverage],
        required_for: vec![TermsPurpose::Coverage],
        effective_at: NOW - Duration::days(2),
        content: "...".into(),
    }]);
    let principal = key(Uuid::now_v7());
    let (_, terms) = current_terms(&book, &principal, "COVERAGE", NOW).unwrap();
    assert_eq!(terms.len(), 1);
    assert!(terms[0].required);
    let Err(FunnelError::Invalid(err)) = current_terms(&book, &principal, "HEALTH", NOW) else { panic!() };
    assert_eq!(err.0[0].field, "purpose");
}

fn coverage_terms() -> TermsBook {
    let terms = |id: &str, required: bool| Terms {
        id: id.into(),
        version: "v1".into(),
        title: id.into(),
        purposes: vec![TermsPurpose::Coverage],
        required_for: if required { vec![TermsPurpose::Coverage] } else { vec![] },
        effective_at: NOW - Duration::days(1),
        content: "...".into(),
    };
    TermsBook::new(vec![terms("PRIVACY_COLLECTION", true), terms(THIRD_PARTY_PROVISION, false)])
}

fn recommendations() -> RecommendationTable {
    let band = |gender| RecommendationBand {
        age_from: 0,
        age_to: 120,
        gender,
        amounts: vec![(Category::Death, Won(100_000_000)), (Category::Cancer, Won(50_000_000))],
    };
    RecommendationTable { version: "t1".into(), bands: vec![band(Gender::Male), band(Gender::Female)] }
}

fn insurance() -> FixedInsurance {
    FixedInsurance {
        contracts: vec![Contract {
            insurer: "교보생명".into(),
            product: "교보생명 종신보험".into(),
            contract_date: time::macros::date!(2012 - 05 - 01),
            status: ContractStatus::Active,
            monthly_premium: Won(150_000),
            coverages: vec![Coverage { category: Category::Death, amount: Won(200_000_000) }],
        }],
        ..FixedInsurance::default()
    }
}

/// A verified person of `w`'s org: their token.
async fn verified(w: &World) -> String {
    let sent = w.service().request(&w.key(), &person(), "192.0.2.1").await.unwrap();
    w.service().verify(&w.key(), &sent.verification_id.to_string(), &w.code()).await.unwrap().token
}

#[tokio::test]
async fn an_analysis_sums_the_contracts_and_stores_them_with_the_consents() {
    let w = World::new();
    let token = verified(&w).await;
    let (analyses, insurance, terms, table) =
        (MemoryAnalysisRepository::default(), insurance(), coverage_terms(), recommendations());
    let ports = AnalysisPorts {
        identity: &w.repo,
        secrets: &w.secrets,
        insurance: &insurance,
        analyses: &analyses,
        clock: &w.clock,
        terms: &terms,
        table: &table,
    };
    let consents = [ConsentInput { terms_id: "PRIVACY_COLLECTION", version: "v1" }];
    let report = ports.analyse(&w.key(), &token, &consents).await.unwrap();
    assert_eq!(report.masked_name, "홍*동");
    let death = &report.analysis.summary[0];
    assert_eq!((death.held, death.status), (Won(200_000_000), CoverageStatus::Enough));
    assert_eq!(report.analysis.table_version, "t1");
    assert_eq!(report.consents.len(), 1);
    assert_eq!(analyses.rows.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_required_consent_the_provider_is_not_asked_and_nothing_is_stored() {
    let w = World::new();
    let token = verified(&w).await;
    let (analyses, insurance, terms, table) =
        (MemoryAnalysisRepository::default(), insurance(), coverage_terms(), recommendations());
    let ports = AnalysisPorts {
        identity: &w.repo,
        secrets: &w.secrets,
        insurance: &insurance,
        analyses: &analyses,
        clock: &w.clock,
        terms: &terms,
        table: &table,
    };
    let only_optional = [ConsentInput { terms_id: THIRD_PARTY_PROVISION, version: "v1" }];
    let refused = ports.analyse(&w.key(), &token, &only_optional).await;
    assert!(matches!(refused, Err(FunnelError::Consent(ConsentRefusal::Required { .. }))), "{refused:?}");
    let stale = [ConsentInput { terms_id: "PRIVACY_COLLECTION", version: "v0" }];
    let refused = ports.analyse(&w.key(), &token, &stale).await;
    assert!(matches!(refused, Err(FunnelError::Consent(ConsentRefusal::VersionChanged { .. }))), "{refused:?}");
    assert_eq!(*insurance.asked.lock().unwrap(), 0);
    *insurance.failing.lock().unwrap() = true;
    let consents = [ConsentInput { terms_id: "PRIVACY_COLLECTION", version: "v1" }];
    let refused = ports.analyse(&w.key(), &token, &consents).await;
    assert!(matches!(refused, Err(FunnelError::InsuranceUnavailable(_))), "{refused:?}");
    let other_org = ports.analyse(&key(Uuid::now_v7()), &token, &consents).await;
    assert!(matches!(other_org, Err(FunnelError::TokenInvalid)), "{other_org:?}");
    assert!(analyses.rows.lock().unwrap().is_empty());
}
