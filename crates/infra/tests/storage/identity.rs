//! Identity verifications on both databases (issue #17): a request sealed and found
//! back by its token, the hour's limits holding under concurrent requests (serialized
//! per phone and per client), a check recorded once when two race, another org's
//! verification never touched; and the SMS `http` adapter against a local fake provider.

use std::sync::Arc;

use domain::funnel::identity::{CODE_TTL, IdentityClaim, IdentityFields, RATE_WINDOW, TOKEN_TTL};
use domain::pii::Pii;
use domain::ports::{CheckRecord, IdentityRepository, NewVerification, SmsSender, VerificationSecrets};
use infra::identity::{KeyedSecrets, SeaIdentityRepository};
use infra::sms::{HttpSms, SmsAdapter};
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use testkit::receiver::Receiver;
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    identity_a_verification_is_sealed_and_found_back_by_its_token => round_trip_body;
    identity_concurrent_requests_of_one_phone_store_at_most_five => concurrent_body;
    identity_two_racing_checks_are_recorded_once => racing_body;
    identity_another_orgs_verification_is_never_read_or_changed => other_org_body;
    analysis_is_stored_sealed_with_its_consents_and_read_back_by_its_org => analysis_body;
}

const NAME: &str = "김인증카나리";
const PHONE: &str = "010-7654-3219";
const BIRTH: &str = "1961-07-23";

struct World {
    repo: SeaIdentityRepository,
    secrets: KeyedSecrets,
    org: Uuid,
}

async fn world(db: &TestDb) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    World {
        repo: SeaIdentityRepository::new(db.db.clone(), Arc::clone(&keyring)),
        secrets: KeyedSecrets::new(keyring),
        org,
    }
}

fn claim(phone: &str) -> IdentityClaim {
    let fields = IdentityFields {
        name: Some(NAME),
        birth_date: Some(BIRTH),
        gender: Some("F"),
        phone: Some(phone),
        carrier: Some("LGU_MVNO"),
        mohom_id: Some("agent-3"),
    };
    IdentityClaim::parse(&fields, OffsetDateTime::now_utc().date()).unwrap()
}

fn now() -> OffsetDateTime {
    infra::from_millis(infra::to_millis(OffsetDateTime::now_utc()))
}

impl World {
    fn request(&self, phone: &str, client: &str, code: &str) -> NewVerification {
        let id = Uuid::now_v7();
        let at = now();
        NewVerification {
            id,
            org_id: self.org,
            claim: claim(phone),
            client: client.to_owned(),
            code_digest: self.secrets.code_digest(id, code),
            created_at: at,
            expires_at: at + CODE_TTL,
        }
    }

    async fn open(&self, new: &NewVerification) -> bool {
        let at = new.created_at;
        self.repo.open(new, at - RATE_WINDOW, |w| w.judge(at)).await.unwrap().is_ok()
    }
}

async fn count(db: &TestDb) -> i64 {
    let row = db
        .db
        .conn()
        .query_one_raw(Statement::from_string(db.db.backend(), "SELECT COUNT(*) AS n FROM identity_verifications"))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn round_trip_body(db: TestDb) {
    let w = world(&db).await;
    let new = w.request(PHONE, "203.0.113.5", "482913");
    assert!(w.open(&new).await);
    let (state, digest) = w.repo.code_state(w.org, new.id).await.unwrap().unwrap();
    assert_eq!((state.attempts, state.verified_at, state.expires_at), (0, None, new.expires_at));
    assert!(w.secrets.digests_match(&digest, &w.secrets.code_digest(new.id, "482913")));
    let token = w.secrets.new_token().unwrap();
    let at = now();
    let check = CheckRecord { seen_attempts: 0, verified: Some((at, w.secrets.token_digest(&token), at + TOKEN_TTL)) };
    assert!(w.repo.record_check(w.org, new.id, &check).await.unwrap());
    let person = w.repo.person(&w.secrets.token_digest(&token)).await.unwrap().unwrap();
    assert_eq!((person.verification_id, person.org_id, person.verified_at), (new.id, w.org, at));
    assert_eq!(person.claim, new.claim);
    assert!(w.repo.person(&w.secrets.token_digest("vt_unknown")).await.unwrap().is_none());
    // Nothing of the person, the code or the token is stored in clear.
    let row = db
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            db.db.backend(),
            "SELECT name_enc, birth_date_enc, gender_enc, phone_enc, phone_bidx, client_bidx, code_digest, token_digest \
             FROM identity_verifications",
        ))
        .await
        .unwrap()
        .unwrap();
    let mut stored: Vec<u8> = Vec::new();
    for column in ["name_enc", "birth_date_enc", "gender_enc", "phone_enc"] {
        stored.extend(row.try_get::<Vec<u8>>("", column).unwrap());
    }
    for column in ["phone_bidx", "client_bidx", "code_digest", "token_digest"] {
        stored.extend(row.try_get::<String>("", column).unwrap().into_bytes());
    }
    for needle in [NAME, "+821076543219", "01076543219", "7654", BIRTH, "19610723", "203.0.113.5", "482913", &token] {
        assert!(!contains(&stored, needle), "{needle} stored in clear on {:?}", db.backend);
    }
}

async fn concurrent_body(db: TestDb) {
    let w = Arc::new(world(&db).await);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let w = Arc::clone(&w);
        tasks.push(tokio::spawn(async move {
            let new = w.request(PHONE, &format!("198.51.100.{i}"), "000000");
            w.open(&new).await
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap());
    }
    assert_eq!(stored, 5, "exactly the hour's 5 requests of one phone on {:?}", db.backend);
    assert_eq!(count(&db).await, 5);
    // The same client, 20 phones and then one more: the 21st is refused.
    let mut tasks = Vec::new();
    for i in 0..21 {
        let w = Arc::clone(&w);
        tasks.push(tokio::spawn(async move {
            let new = w.request(&format!("010-3000-{i:04}"), "192.0.2.44", "000000");
            w.open(&new).await
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap());
    }
    assert_eq!(stored, 20, "the hour's 20 requests of one client on {:?}", db.backend);
}

async fn racing_body(db: TestDb) {
    let w = Arc::new(world(&db).await);
    let new = w.request(PHONE, "203.0.113.6", "111111");
    assert!(w.open(&new).await);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let w = Arc::clone(&w);
        let id = new.id;
        tasks.push(tokio::spawn(async move {
            w.repo.record_check(w.org, id, &CheckRecord { seen_attempts: 0, verified: None }).await.unwrap()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap());
    }
    assert_eq!(recorded, 1);
    assert_eq!(w.repo.code_state(w.org, new.id).await.unwrap().unwrap().0.attempts, 1);
}

async fn other_org_body(db: TestDb) {
    let w = world(&db).await;
    let other = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let new = w.request(PHONE, "203.0.113.7", "222222");
    assert!(w.open(&new).await);
    assert!(w.repo.code_state(other, new.id).await.unwrap().is_none());
    let check = CheckRecord { seen_attempts: 0, verified: None };
    assert!(!w.repo.record_check(other, new.id, &check).await.unwrap());
    w.repo.discard(other, new.id).await.unwrap();
    assert_eq!(count(&db).await, 1);
    assert_eq!(w.repo.code_state(w.org, new.id).await.unwrap().unwrap().0.attempts, 0);
    w.repo.discard(w.org, new.id).await.unwrap();
    assert_eq!(count(&db).await, 0);
}

#[tokio::test]
async fn sms_http_adapter_posts_to_the_provider_and_reports_its_refusal() {
    let provider = Receiver::start().await;
    let sms = SmsAdapter::Http(HttpSms::new(&provider.url("/v1/messages"), "sms-token-1", "1588-0000").unwrap());
    let to = Pii::new(domain::pii::PhoneNumber::parse(PHONE).unwrap());
    sms.send(&to, &Pii::new("[모홈] 본인인증번호 [123456]".to_owned())).await.unwrap();
    provider.answer_with(&[503]);
    let refused = sms.send(&to, &Pii::new("again".to_owned())).await.unwrap_err();
    assert_eq!(refused.0, "the SMS provider answered 503");
    assert!(!refused.0.contains("7654"), "a failure never names the phone");
    let got = provider.received();
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].path.as_str(), got[0].authorization.as_str()), ("/v1/messages", "Bearer sms-token-1"));
    assert_eq!(got[0].content_type, "application/json");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"to": "+821076543219", "from": "1588-0000", "text": "[모홈] 본인인증번호 [123456]"})
    );
    provider.set_down(true);
    let down = sms.send(&to, &Pii::new("down".to_owned())).await.unwrap_err();
    assert!(down.0.starts_with("the "), "{down}");
    let disabled = SmsAdapter::Disabled.send(&to, &Pii::new("x".to_owned())).await.unwrap_err();
    assert!(disabled.0.contains("none"));
}

async fn analysis_body(db: TestDb) {
    use domain::funnel::coverage::{
        Analysis, Category, CategorySummary, Contract, ContractStatus, Coverage, CoverageReport, CoverageStatus, Won,
    };
    use domain::funnel::identity::Gender;
    use domain::funnel::terms::Consent;
    use domain::ports::AnalysisRepository;
    use infra::analyses::SeaAnalysisRepository;

    let w = world(&db).await;
    let repo = SeaAnalysisRepository::new(db.db.clone(), Arc::new(testkit::keyring()));
    let report = CoverageReport {
        id: Uuid::now_v7(),
        org_id: w.org,
        verification_id: Uuid::now_v7(),
        masked_name: "김*카나리".to_owned(),
        gender: Gender::Female,
        contracts: vec![Contract {
            insurer: "라이나생명".to_owned(),
            product: "라이나생명 암보험 카나리7".to_owned(),
            contract_date: time::macros::date!(2019 - 08 - 30),
            status: ContractStatus::Lapsed,
            monthly_premium: Won(38_700),
            coverages: vec![Coverage { category: Category::Cancer, amount: Won(30_000_000) }],
        }],
        analysis: Analysis {
            summary: vec![CategorySummary {
                category: Category::Cancer,
                held: Won(0),
                recommended: Won(70_000_000),
                status: CoverageStatus::Lack,
            }],
            monthly_premium_total: Won(0),
            table_version: "2026.12-illustrative".to_owned(),
            age: 65,
        },
        consents: vec![
            Consent { terms_id: "PRIVACY_COLLECTION".to_owned(), version: "2026-12-01".to_owned() },
            Consent { terms_id: "THIRD_PARTY_PROVISION".to_owned(), version: "2026-12-01".to_owned() },
        ],
        created_at: now(),
    };
    repo.store(&report).await.unwrap();
    assert_eq!(repo.get(w.org, report.id).await.unwrap().unwrap(), report);
    let other = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    assert!(repo.get(other, report.id).await.unwrap().is_none());
    let row = db
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            db.db.backend(),
            "SELECT report, report_enc, shares_with_agents FROM coverage_analyses",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "report").unwrap(), "");
    assert!(row.try_get::<bool>("", "shares_with_agents").unwrap());
    let sealed: Vec<u8> = row.try_get("", "report_enc").unwrap();
    assert!(!contains(&sealed, "카나리7") && !contains(&sealed, "38700"), "the report is sealed");
}

#[tokio::test]
async fn insurance_http_adapter_posts_the_person_and_takes_only_a_whole_answer() {
    use domain::ports::InsuranceData;
    use infra::insurance_http::{HttpInsurance, InsuranceAdapter};

    let provider = Receiver::start().await;
    provider.answer_body(
        r#"{"contracts":[{"insurer":"현대해상","product":"현대해상 운전자보험","contractDate":"2021-07-01",
            "status":"ACTIVE","monthlyPremium":12300,"coverages":[{"category":"LIABILITY","amount":100000000}]}]}"#,
    );
    let registry = InsuranceAdapter::Http(HttpInsurance::new(&provider.url("/v1/"), "ins-token").unwrap());
    let person = claim(PHONE);
    let contracts = registry.contracts(&person).await.unwrap();
    assert_eq!((contracts.len(), contracts[0].insurer.as_str()), (1, "현대해상"));
    let got = provider.received();
    assert_eq!((got[0].path.as_str(), got[0].authorization.as_str()), ("/v1/contracts", "Bearer ins-token"));
    let sent: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(sent, serde_json::json!({"name": NAME, "birthDate": BIRTH, "gender": "F", "phone": "+821076543219"}));
    provider.answer_with(&[502]);
    let refused = registry.contracts(&person).await.unwrap_err();
    assert_eq!(refused.0, "the insurance-data provider answered 502");
    provider.answer_body(r#"{"contracts":[{"insurer":"x","product":"y","contractDate":"2021-07-01","status":"ON_HOLD","monthlyPremium":1,"coverages":[]}]}"#);
    let malformed = registry.contracts(&person).await.unwrap_err();
    assert!(malformed.0.contains("contracts[0].status") && !malformed.0.contains(NAME), "{malformed}");
    let none = InsuranceAdapter::Disabled.contracts(&person).await.unwrap_err();
    assert!(none.0.contains("no insurance-data provider"));
}
