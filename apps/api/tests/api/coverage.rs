//! Identity verification and terms through the API (`funnel.md`, issue #17): the flow
//! with a loopback fake SMS provider, every refusal with its code, and nothing stored
//! or sent on refusal.

use actix_web::test::TestRequest;
use testkit::TestDb;
use testkit::receiver::Receiver;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    coverage_a_person_requests_a_code_and_verifies_with_it => flow_body;
    coverage_bad_fields_are_named_and_nothing_is_stored_or_sent => bad_fields_body;
    coverage_the_sixth_request_of_a_phone_is_limited_with_retry_after => limited_body;
    coverage_a_failed_sms_answers_503_and_stores_nothing => sms_down_body;
    coverage_another_orgs_verification_is_not_found_and_only_partner_keys_call => tenancy_body;
    coverage_the_terms_of_a_purpose_are_listed_with_their_versions => terms_body;
    coverage_a_bad_recommendation_table_stops_the_start => bad_table_body;
    coverage_an_analysis_of_a_verified_person_is_stored_with_its_consents => analysis_body;
    coverage_an_analysis_without_its_consents_or_token_is_refused_and_nothing_stored => analysis_refusals_body;
    coverage_a_consented_analysis_is_delivered_as_a_lead_and_a_non_consented_one_is_not => lead_body;
}

const REQUEST: &str = "/api/v1/coverage/identity/request";
const VERIFY: &str = "/api/v1/coverage/identity/verify";

fn person(phone: &str) -> serde_json::Value {
    serde_json::json!({"name": "홍길동", "birthDate": "1985-04-12", "gender": "M", "phone": phone,
        "carrier": "SKT", "mohomId": "agent-7"})
}

fn settings() -> insta::Settings {
    let mut settings = testkit::redact::settings();
    settings.add_redaction(".verificationId", "[id]");
    settings.add_redaction(".verificationToken", "[token]");
    settings.add_redaction(".expiresAt", "[time]");
    settings
}

/// An app whose SMS goes to `provider`.
async fn app_with(db: TestDb, provider: &Receiver) -> TestApp {
    let url = provider.url("/v1/messages");
    TestApp::with(
        db,
        &[
            ("LDBDS__FUNNEL__SMS", "http"),
            ("LDBDS__FUNNEL__SMS_URL", &url),
            ("LDBDS__FUNNEL__SMS_TOKEN", "test-sms-token"),
        ],
    )
    .await
}

async fn post(app: &TestApp, key: &str, uri: &str, body: serde_json::Value) -> Reply {
    app.send(app.with_key(TestRequest::post().uri(uri).set_json(body), key)).await
}

/// The code in the provider's last message.
fn last_code(provider: &Receiver) -> String {
    let received = provider.received();
    let body: serde_json::Value = serde_json::from_slice(&received.last().expect("an SMS").body).unwrap();
    let text = body["text"].as_str().unwrap();
    text.split(['[', ']']).nth(3).unwrap().to_owned()
}

async fn flow_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    let sent = post(&app, &key, REQUEST, person("010-1234-5678")).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    settings().bind(|| insta::assert_json_snapshot!("coverage_code_sent", sent.json()));
    let message: serde_json::Value = serde_json::from_slice(&provider.received()[0].body).unwrap();
    assert_eq!(message["to"], "+821012345678");
    let code = last_code(&provider);
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mismatch = post(&app, &key, VERIFY, serde_json::json!({"verificationId": id, "code": wrong})).await;
    assert_eq!(
        (mismatch.status.as_u16(), mismatch.code()),
        (400, "VERIFICATION_CODE_MISMATCH".to_owned()),
        "{}",
        mismatch.text
    );
    assert_eq!(mismatch.json()["error"]["remainingAttempts"], 4);
    settings().bind(|| insta::assert_json_snapshot!("coverage_code_mismatch", mismatch.json()));
    let verified = post(&app, &key, VERIFY, serde_json::json!({"verificationId": id, "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.header("cache-control"), Some("no-store"));
    assert!(verified.json()["verificationToken"].as_str().unwrap().starts_with("vt_"));
    settings().bind(|| insta::assert_json_snapshot!("coverage_verified", verified.json()));
    let reused = post(&app, &key, VERIFY, serde_json::json!({"verificationId": id, "code": code})).await;
    assert_eq!((reused.status.as_u16(), reused.code()), (400, "VERIFICATION_EXPIRED".to_owned()), "{}", reused.text);
    let malformed = post(&app, &key, VERIFY, serde_json::json!({"verificationId": "nope", "code": code})).await;
    assert_eq!((malformed.status.as_u16(), malformed.code()), (400, "VALIDATION_FAILED".to_owned()));
    let unknown = uuid::Uuid::now_v7();
    let missing = post(&app, &key, VERIFY, serde_json::json!({"verificationId": unknown, "code": code})).await;
    assert_eq!((missing.status.as_u16(), missing.code()), (404, "VERIFICATION_NOT_FOUND".to_owned()));
}

async fn bad_fields_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    let body = serde_json::json!({"name": "홍길동", "birthDate": "2099-01-01", "gender": "X", "phone": "+84 912 345 678",
        "carrier": "VODAFONE"});
    let refused = post(&app, &key, REQUEST, body).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", refused.text);
    settings().bind(|| insta::assert_json_snapshot!("coverage_bad_fields", refused.json()));
    let missing = post(&app, &key, REQUEST, serde_json::json!({"name": "홍길동"})).await;
    assert_eq!((missing.status.as_u16(), missing.code()), (400, "INVALID_JSON".to_owned()), "{}", missing.text);
    assert!(!refused.text.contains("912 345"), "a refusal never echoes the input");
    assert_eq!(app.count_rows("identity_verifications").await, 0);
    assert!(provider.received().is_empty());
}

async fn limited_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    for _ in 0..5 {
        let sent = post(&app, &key, REQUEST, person("010-2222-3333")).await;
        assert_eq!(sent.status, 201, "{}", sent.text);
    }
    let limited = post(&app, &key, REQUEST, person("010-2222-3333")).await;
    assert_eq!((limited.status.as_u16(), limited.code()), (429, "RATE_LIMITED".to_owned()), "{}", limited.text);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(app.count_rows("identity_verifications").await, 5);
    assert_eq!(provider.received().len(), 5);
    // Another phone from the same address still gets its code.
    assert_eq!(post(&app, &key, REQUEST, person("010-2222-4444")).await.status, 201);
}

async fn sms_down_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    provider.answer_with(&[503]);
    let refused = post(&app, &app.partner_key.clone(), REQUEST, person("010-1234-5678")).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (503, "SMS_UNAVAILABLE".to_owned()), "{}", refused.text);
    assert!(!refused.text.contains("5678"), "{}", refused.text);
    assert_eq!(app.count_rows("identity_verifications").await, 0);
}

async fn tenancy_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let other = app.onboard_partner("other-partner", "OTHER-SRC", "RE-HCM-APT").await;
    let sent = post(&app, &app.partner_key.clone(), REQUEST, person("010-1234-5678")).await;
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let code = last_code(&provider);
    let theirs = post(&app, &other.key, VERIFY, serde_json::json!({"verificationId": id, "code": code})).await;
    assert_eq!((theirs.status.as_u16(), theirs.code()), (404, "VERIFICATION_NOT_FOUND".to_owned()), "{}", theirs.text);
    let operator = post(&app, &app.operator_key.clone(), REQUEST, person("010-1234-5678")).await;
    assert_eq!((operator.status.as_u16(), operator.code()), (403, "FORBIDDEN".to_owned()), "{}", operator.text);
    app.create_user(&app.partner_key.clone(), member("cov-member", "김회원", "010-9000-0001", "cov@example.com")).await;
    let token = app.token(&app.partner_key.clone(), "cov-member").await;
    let bearer =
        app.send(app.with_bearer(TestRequest::post().uri(REQUEST).set_json(person("010-1234-5678")), &token)).await;
    assert_eq!(bearer.status, 403, "{}", bearer.text);
    // Still verifies for its own org, untouched by the other's attempt.
    let ours =
        post(&app, &app.partner_key.clone(), VERIFY, serde_json::json!({"verificationId": id, "code": code})).await;
    assert_eq!(ours.status, 200, "{}", ours.text);
}

async fn terms_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let get = |uri: &str| app.with_key(TestRequest::get().uri(uri), &app.partner_key);
    let coverage = app.send(get("/api/v1/coverage/terms?purpose=COVERAGE")).await;
    assert_eq!(coverage.status, 200, "{}", coverage.text);
    let body = coverage.json();
    let ids: Vec<(&str, bool)> = body["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["termsId"].as_str().unwrap(), t["required"] == true))
        .collect();
    assert_eq!(ids, [("PRIVACY_COLLECTION", true), ("CREDIT_INFO_INQUIRY", true), ("THIRD_PARTY_PROVISION", false)]);
    assert_eq!(body["terms"][0]["version"], "2026-12-01", "the version in force, not the older one");
    insta::assert_json_snapshot!("coverage_terms", body);
    let medical = app.send(get("/api/v1/coverage/terms?purpose=MEDICAL")).await.json();
    assert!(
        medical["terms"].as_array().unwrap().iter().any(|t| t["termsId"] == "SENSITIVE_INFO" && t["required"] == true)
    );
    let bad = app.send(get("/api/v1/coverage/terms?purpose=HEALTH")).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "INVALID_QUERY".to_owned()), "{}", bad.text);
    let none = app.send(get("/api/v1/coverage/terms")).await;
    assert_eq!(none.status, 400, "{}", none.text);
}

async fn bad_table_body(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("table.toml");
    std::fs::write(&file, "version = \"x\"\n[[band]]\ngender = \"M\"\nages = [0, 120]\namounts = { LIFE = 1 }\n")
        .unwrap();
    let path = file.display().to_string();
    let settings = crate::helpers::settings(&db, &[("LDBDS__FUNNEL__RECOMMENDATIONS_FILE", &path)]);
    let keyring = std::sync::Arc::new(testkit::keyring());
    let refused = api::state::AppState::new(db.db.clone(), settings, keyring, testkit::JWT_SECRET).err().unwrap();
    let message = refused.to_string();
    assert!(message.contains("coverage_recommendations.toml") && message.contains("LIFE"), "{message}");
}

const ANALYSES: &str = "/api/v1/coverage/analyses";

/// A verified person of the partner org: their token.
async fn verify(app: &TestApp, provider: &Receiver, key: &str, phone: &str) -> String {
    let sent = post(app, key, REQUEST, person(phone)).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let verified = post(app, key, VERIFY, serde_json::json!({"verificationId": id, "code": last_code(provider)})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    verified.json()["verificationToken"].as_str().unwrap().to_owned()
}

fn required_consents() -> serde_json::Value {
    serde_json::json!([
        {"termsId": "PRIVACY_COLLECTION", "version": "2026-12-01"},
        {"termsId": "CREDIT_INFO_INQUIRY", "version": "2026-12-01"},
    ])
}

async fn analysis_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-1234-5678").await;
    let body = serde_json::json!({"verificationToken": token, "consents": required_consents()});
    let created = post(&app, &key, ANALYSES, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let json = created.json();
    assert_eq!(json["person"]["name"], "홍*동");
    let summary = json["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 10);
    assert_eq!(summary[0]["categoryName"], "사망");
    // Held per category is the sum of the in-force contracts' coverages.
    for s in summary {
        let held: u64 = json["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "ACTIVE")
            .flat_map(|c| c["coverages"].as_array().unwrap().iter())
            .filter(|v| v["category"] == s["category"])
            .map(|v| v["amount"].as_str().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(s["held"].as_str().unwrap().parse::<u64>().unwrap(), held, "{}", s["category"]);
    }
    assert_eq!(json["recommendationVersion"], "2026.12-illustrative");
    let mut settings = settings();
    settings.add_redaction(".analysisId", "[id]");
    settings.add_redaction(".**.contractDate", "[date]");
    settings.add_redaction(".person.age", "[age]");
    settings.bind(|| insta::assert_json_snapshot!("coverage_analysis", json));
    assert_eq!(app.count_rows("coverage_analyses").await, 1);
    assert_eq!(app.count_rows("analysis_consents").await, 2);
}

async fn analysis_refusals_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-1234-5678").await;
    let only_one = serde_json::json!([{"termsId": "PRIVACY_COLLECTION", "version": "2026-12-01"}]);
    let missing =
        post(&app, &key, ANALYSES, serde_json::json!({"verificationToken": token, "consents": only_one})).await;
    assert_eq!((missing.status.as_u16(), missing.code()), (400, "CONSENT_REQUIRED".to_owned()), "{}", missing.text);
    assert_eq!(missing.json()["error"]["details"][0]["reason"], "CREDIT_INFO_INQUIRY is required");
    let stale = serde_json::json!([
        {"termsId": "PRIVACY_COLLECTION", "version": "2026-06-01"},
        {"termsId": "CREDIT_INFO_INQUIRY", "version": "2026-12-01"},
    ]);
    let stale = post(&app, &key, ANALYSES, serde_json::json!({"verificationToken": token, "consents": stale})).await;
    assert_eq!((stale.status.as_u16(), stale.code()), (409, "TERMS_VERSION_CHANGED".to_owned()), "{}", stale.text);
    settings().bind(|| insta::assert_json_snapshot!("coverage_terms_version_changed", stale.json()));
    let mut sensitive = required_consents();
    sensitive.as_array_mut().unwrap().push(serde_json::json!({"termsId": "SENSITIVE_INFO", "version": "2026-12-01"}));
    let wrong =
        post(&app, &key, ANALYSES, serde_json::json!({"verificationToken": token, "consents": sensitive})).await;
    assert_eq!((wrong.status.as_u16(), wrong.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", wrong.text);
    let unknown = serde_json::json!({"verificationToken": "vt_forged", "consents": required_consents()});
    let forged = post(&app, &key, ANALYSES, unknown).await;
    assert_eq!((forged.status.as_u16(), forged.code()), (400, "VERIFICATION_EXPIRED".to_owned()), "{}", forged.text);
    let other = app.onboard_partner("analysis-other", "AO-SRC", "RE-HCM-APT").await;
    let theirs = serde_json::json!({"verificationToken": token, "consents": required_consents()});
    let theirs = post(&app, &other.key, ANALYSES, theirs).await;
    assert_eq!((theirs.status.as_u16(), theirs.code()), (400, "VERIFICATION_EXPIRED".to_owned()), "{}", theirs.text);
    assert_eq!(app.count_rows("coverage_analyses").await, 0);
    assert_eq!(app.count_rows("analysis_consents").await, 0);
}

/// How many leads the order received.
async fn delivered(app: &TestApp, key: &str, order_id: &str) -> u64 {
    let uri = format!("/api/v1/orders/{order_id}?mohomId=agent-7");
    app.send(app.with_key(TestRequest::get().uri(&uri), key)).await.json()["deliveredQuantity"].as_u64().unwrap()
}

fn consents_with_provision() -> serde_json::Value {
    let mut consents = required_consents();
    consents
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"termsId": "THIRD_PARTY_PROVISION", "version": "2026-12-01"}));
    consents
}

async fn lead_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider).await;
    let key = app.partner_key.clone();
    app.create_user(&key, member("agent-7", "김설계", "010-1111-2222", "agent7@mohom.kr")).await;
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let order = serde_json::json!({"mohomId": "agent-7", "productId": product,
        "regions": [{"region": "서울", "quantity": 3}]});
    let placed = post(&app, &key, "/api/v1/orders", order).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order_id = placed.json()["id"].as_str().unwrap().to_owned();

    // Without THIRD_PARTY_PROVISION: the analysis is stored, no lead exists.
    let token = verify(&app, &provider, &key, "010-2000-0001").await;
    let body = serde_json::json!({"verificationToken": token, "consents": required_consents(), "regionCode": "서울"});
    assert_eq!(post(&app, &key, ANALYSES, body).await.status, 201);
    assert_eq!(app.count_rows("leads").await, 0, "no consent, no lead");
    assert_eq!(delivered(&app, &key, &order_id).await, 0);

    // A region that is not a Korean 시·도 code: 400 naming it, nothing stored.
    let token = verify(&app, &provider, &key, "010-2000-0002").await;
    let bad =
        serde_json::json!({"verificationToken": token, "consents": consents_with_provision(), "regionCode": "79"});
    let bad = post(&app, &key, ANALYSES, bad).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", bad.text);
    assert_eq!(bad.json()["error"]["details"][0]["field"], "regionCode");
    assert_eq!((app.count_rows("coverage_analyses").await, app.count_rows("leads").await), (1, 0));

    // With it: a lead of the COVERAGE source, delivered to the open order.
    let body =
        serde_json::json!({"verificationToken": token, "consents": consents_with_provision(), "regionCode": "서울"});
    let created = post(&app, &key, ANALYSES, body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let analysis_id = created.json()["analysisId"].as_str().unwrap().to_owned();
    assert_eq!(delivered(&app, &key, &order_id).await, 1, "the consented person is the agent's lead");
    let owned = app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=agent-7"), &key)).await.json();
    let lead = &owned["data"][0];
    assert_eq!(lead["region"], "서울");
    assert_eq!(lead["metadata"]["coverageAnalysisId"], analysis_id.as_str());
    assert_eq!(lead["metadata"]["mohomId"], "agent-7");
    assert_eq!(lead["metadata"]["recommendationVersion"], "2026.12-illustrative");
    assert_eq!(lead["metadata"]["summary"].as_array().map(Vec::len), Some(10));
    assert!(!owned.to_string().contains("2000-0002"), "the phone stays masked until the lead is used");

    // The same person again inside the product's window: deduplicated, no second lead.
    let token = verify(&app, &provider, &key, "010-2000-0002").await;
    let again =
        serde_json::json!({"verificationToken": token, "consents": consents_with_provision(), "regionCode": "서울"});
    assert_eq!(post(&app, &key, ANALYSES, again).await.status, 201);
    assert_eq!((app.count_rows("leads").await, delivered(&app, &key, &order_id).await), (1, 1));

    // Without a region the lead waits in the pool: no order takes it.
    let token = verify(&app, &provider, &key, "010-2000-0003").await;
    let pooled = serde_json::json!({"verificationToken": token, "consents": consents_with_provision()});
    assert_eq!(post(&app, &key, ANALYSES, pooled).await.status, 201);
    assert_eq!((app.count_rows("leads").await, delivered(&app, &key, &order_id).await), (2, 1));
}
