//! The consumer funnel end to end through the API (`funnel.md`, issue #17): verify →
//! terms → coverage analysis → its PDF and JSON reports → NHIS simple authentication →
//! check-ups → medical analysis → its PDF and JSON reports, on the sandbox providers;
//! every refusal with its code and nothing stored; another org's analysis or session is
//! "not found"; the purge of health data past its retention.

use std::process::Command;

use actix_web::test::TestRequest;
use testkit::TestDb;
use testkit::receiver::Receiver;

use crate::helpers::{Reply, TestApp};

testkit::on_both_backends! { actix_web::test;
    funnel_verify_terms_analysis_reports_nhis_checkups_medical_analysis_end_to_end => flow_body;
    medical_refusals_name_their_cause_and_store_nothing => refusals_body;
    medical_a_pending_session_releases_no_checkups => pending_body;
    medical_a_denied_session_releases_no_checkups => denied_body;
    reports_of_another_orgs_analysis_are_not_found => tenancy_body;
    medical_health_data_is_purged_after_its_retention => purge_body;
}

const REQUEST: &str = "/api/v1/coverage/identity/request";
const VERIFY: &str = "/api/v1/coverage/identity/verify";
const ANALYSES: &str = "/api/v1/coverage/analyses";
const AUTH: &str = "/api/v1/medical/nhis/auth";
const COMPLETE: &str = "/api/v1/medical/nhis/auth/complete";
const CHECKUPS: &str = "/api/v1/medical/checkups";
const MEDICAL: &str = "/api/v1/medical/analyses";

const CATEGORIES: [&str; 10] =
    ["사망", "암", "뇌혈관", "심장", "실손의료비", "입원", "수술", "후유장해", "치아", "배상책임"];

async fn app_with(db: TestDb, provider: &Receiver, vars: &[(&str, &str)]) -> TestApp {
    let url = provider.url("/v1/messages");
    let mut all = vec![
        ("LDBDS__FUNNEL__SMS", "http"),
        ("LDBDS__FUNNEL__SMS_URL", url.as_str()),
        ("LDBDS__FUNNEL__SMS_TOKEN", "test-sms-token"),
    ];
    all.extend_from_slice(vars);
    TestApp::with(db, &all).await
}

async fn post(app: &TestApp, key: &str, uri: &str, body: serde_json::Value) -> Reply {
    app.send(app.with_key(TestRequest::post().uri(uri).set_json(body), key)).await
}

/// A verified person of the org: their token.
async fn verify(app: &TestApp, provider: &Receiver, key: &str, phone: &str) -> String {
    let person = serde_json::json!({"name": "홍길동", "birthDate": "1968-04-12", "gender": "M", "phone": phone,
        "carrier": "KT"});
    let sent = post(app, key, REQUEST, person).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["verificationId"].as_str().unwrap().to_owned();
    let received = provider.received();
    let body: serde_json::Value = serde_json::from_slice(&received.last().expect("an SMS").body).unwrap();
    let code = body["text"].as_str().unwrap().split(['[', ']']).nth(3).unwrap().to_owned();
    let verified = post(app, key, VERIFY, serde_json::json!({"verificationId": id, "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    verified.json()["verificationToken"].as_str().unwrap().to_owned()
}

/// The consents of a purpose, as the terms endpoint lists them (required ones only).
async fn consents(app: &TestApp, key: &str, purpose: &str) -> serde_json::Value {
    let uri = format!("/api/v1/coverage/terms?purpose={purpose}");
    let terms = app.send(app.with_key(TestRequest::get().uri(&uri), key)).await;
    assert_eq!(terms.status, 200, "{}", terms.text);
    let list: Vec<serde_json::Value> = terms.json()["terms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["required"] == true)
        .map(|t| serde_json::json!({"termsId": t["termsId"], "version": t["version"]}))
        .collect();
    serde_json::Value::Array(list)
}

async fn coverage_analysis(app: &TestApp, key: &str, token: &str) -> String {
    let body = serde_json::json!({"verificationToken": token, "consents": consents(app, key, "COVERAGE").await});
    let created = post(app, key, ANALYSES, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.json()["analysisId"].as_str().unwrap().to_owned()
}

async fn start_session(app: &TestApp, key: &str, token: &str) -> String {
    let body = serde_json::json!({"verificationToken": token, "authProvider": "KAKAO",
        "consents": consents(app, key, "MEDICAL").await});
    let started = post(app, key, AUTH, body).await;
    assert_eq!(started.status, 202, "{}", started.text);
    started.json()["authSessionId"].as_str().unwrap().to_owned()
}

/// The text `pdftotext` extracts from a PDF, or `None` (said loudly) where poppler is
/// missing outside CI; under CI its absence fails the test.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    match Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output() {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "pdftotext (poppler-utils) is required under CI: {e}");
            eprintln!("WARNING: pdftotext not found ({e}): the PDF text was NOT checked");
            None
        }
    }
}

/// Page 1 rendered by `pdftoppm` is a PNG (skipped, loudly, like [`pdf_text`]).
fn renders_page_one(pdf: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = dir.path().join("page");
    match Command::new("pdftoppm").args(["-png", "-r", "40", "-f", "1", "-l", "1"]).arg(&path).arg(&out).output() {
        Ok(done) => {
            assert!(done.status.success(), "pdftoppm failed: {}", String::from_utf8_lossy(&done.stderr));
            let png = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(Result::ok)
                .find(|e| e.file_name().to_string_lossy().starts_with("page"))
                .expect("a rendered page");
            let bytes = std::fs::read(png.path()).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000, "a PNG of page 1");
        }
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "pdftoppm (poppler-utils) is required under CI: {e}");
            eprintln!("WARNING: pdftoppm not found ({e}): page 1 was NOT rendered");
        }
    }
}

fn redactions() -> insta::Settings {
    let mut settings = testkit::redact::settings();
    for field in [".**.authSessionId", ".medicalAnalysisId", ".analysisId"] {
        settings.add_redaction(field, "[id]");
    }
    for field in [".expiresAt", ".createdAt", ".retainedUntil", ".generatedAt", ".**.date"] {
        settings.add_redaction(field, "[time]");
    }
    settings
}

async fn flow_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider, &[]).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-3456-7890").await;
    let analysis = coverage_analysis(&app, &key, &token).await;

    // The coverage reports: JSON (the analysis as the PDF shows it) and a real PDF.
    let report = format!("{ANALYSES}/{analysis}/report");
    let json = post(&app, &key, &report, serde_json::json!({"format": "JSON"})).await;
    assert_eq!(json.status, 200, "{}", json.text);
    assert_eq!(json.json()["reportType"], "COVERAGE");
    assert_eq!(json.json()["person"]["name"], "홍*동");
    assert_eq!(json.json()["summary"].as_array().map(Vec::len), Some(10));
    let pdf = post(&app, &key, &report, serde_json::json!({"format": "PDF"})).await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    assert_eq!(pdf.headers.get("content-type").unwrap(), "application/pdf");
    let bytes = pdf.bytes();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("보장분석 리포트"), "{text}");
        assert!(text.contains("홍*동"), "the masked name: {text}");
        assert!(!text.contains("홍길동") && !text.contains("3456"), "never the full name or the phone");
        for category in CATEGORIES {
            assert!(text.contains(category), "category {category} in {text}");
        }
    }
    renders_page_one(&bytes);

    // NHIS simple authentication: started, approved at once (sandbox delay 0 in tests).
    let session = start_session(&app, &key, &token).await;
    let status = post(&app, &key, COMPLETE, serde_json::json!({"authSessionId": session})).await;
    assert_eq!((status.status.as_u16(), status.json()["status"].as_str()), (200, Some("APPROVED")), "{}", status.text);

    // The check-ups by year, each value with its NHIS range and judgement.
    let checkups = post(&app, &key, CHECKUPS, serde_json::json!({"authSessionId": session})).await;
    assert_eq!(checkups.status, 200, "{}", checkups.text);
    assert_eq!(checkups.headers.get("cache-control").unwrap(), "no-store");
    let years = checkups.json()["checkups"].as_array().unwrap().clone();
    assert!((3..=5).contains(&years.len()), "{}", checkups.text);
    let items = years[0]["items"].as_array().unwrap();
    let systolic = items.iter().find(|i| i["measure"] == "systolicBp").expect("blood pressure");
    assert_eq!(systolic["unit"], "mmHg");
    assert_eq!(systolic["reference"]["display"], "120 미만");
    assert!(systolic["judgement"].is_string());
    let height = items.iter().find(|i| i["measure"] == "height").expect("height");
    assert!(height["judgement"].is_null() && height["reference"].is_null());

    // The medical analysis: risk flags and ranked recommendations, stored sealed.
    let body = serde_json::json!({"analysisId": analysis, "authSessionId": session});
    let created = post(&app, &key, MEDICAL, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let medical = created.json();
    let ranks: Vec<u64> =
        medical["recommendations"].as_array().unwrap().iter().map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>(), "ranks 1..n");
    assert_eq!(medical["person"]["name"], "홍*동");
    let id = medical["medicalAnalysisId"].as_str().unwrap().to_owned();
    assert_eq!(app.count_rows("medical_analyses").await, 1);

    let json = post(&app, &key, &format!("{MEDICAL}/{id}/report/json"), serde_json::json!({})).await;
    assert_eq!(json.status, 200, "{}", json.text);
    let report = json.json();
    assert_eq!(report["reportType"], "MEDICAL");
    assert_eq!(report["recommendations"], medical["recommendations"], "the report shows the analysis");
    assert_eq!(report["checkups"], serde_json::Value::Array(years.clone()), "and the check-ups it was made from");
    let pdf = post(&app, &key, &format!("{MEDICAL}/{id}/report/pdf"), serde_json::json!({})).await;
    assert_eq!(pdf.status, 200, "{}", pdf.text);
    let bytes = pdf.bytes();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("메디컬 보장분석 리포트") && text.contains("홍*동"), "{text}");
        assert!(text.contains("수축기 혈압") || text.contains("혈압"), "{text}");
    }
    renders_page_one(&bytes);

    let shape = serde_json::json!({
        "session": status.json(),
        "checkupItem": systolic.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        "medicalKeys": medical.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        "firstRecommendationKeys": medical["recommendations"][0].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        "reportKeys": report.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
    });
    redactions().bind(|| insta::assert_json_snapshot!("medical_flow_shapes", shape));
}

async fn refusals_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider, &[]).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-3456-7891").await;
    let medical = consents(&app, &key, "MEDICAL").await;
    let cases = [
        (
            serde_json::json!({"verificationToken": token, "authProvider": "SAMSUNG", "consents": medical}),
            400,
            "VALIDATION_FAILED",
            Some("authProvider"),
        ),
        (
            serde_json::json!({"verificationToken": token, "authProvider": "KAKAO", "consents": consents(&app, &key, "COVERAGE").await}),
            400,
            "CONSENT_REQUIRED",
            Some("consents"),
        ),
        (
            serde_json::json!({"verificationToken": "vt_forged", "authProvider": "KAKAO", "consents": medical}),
            400,
            "VERIFICATION_EXPIRED",
            Some("verificationToken"),
        ),
    ];
    for (body, status, code, field) in cases {
        let reply = post(&app, &key, AUTH, body).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code.to_owned()), "{}", reply.text);
        if let Some(field) = field {
            assert_eq!(reply.json()["error"]["details"][0]["field"], field, "{}", reply.text);
        }
    }
    assert_eq!((app.count_rows("health_auth_sessions").await, app.count_rows("health_consents").await), (0, 0));

    // Unknown and malformed sessions; an analysis of nothing.
    let missing = post(&app, &key, COMPLETE, serde_json::json!({"authSessionId": uuid::Uuid::now_v7()})).await;
    assert_eq!((missing.status.as_u16(), missing.code()), (404, "AUTH_SESSION_NOT_FOUND".to_owned()));
    let malformed = post(&app, &key, CHECKUPS, serde_json::json!({"authSessionId": "nope"})).await;
    assert_eq!((malformed.status.as_u16(), malformed.code()), (400, "VALIDATION_FAILED".to_owned()));
    let session = start_session(&app, &key, &token).await;
    let body = serde_json::json!({"analysisId": uuid::Uuid::now_v7(), "authSessionId": session});
    let no_analysis = post(&app, &key, MEDICAL, body).await;
    assert_eq!((no_analysis.status.as_u16(), no_analysis.code()), (404, "ANALYSIS_NOT_FOUND".to_owned()));

    // A session of another person than the analysis's.
    let other = verify(&app, &provider, &key, "010-3456-7892").await;
    let theirs = coverage_analysis(&app, &key, &other).await;
    let body = serde_json::json!({"analysisId": theirs, "authSessionId": session});
    let mixed = post(&app, &key, MEDICAL, body).await;
    assert_eq!((mixed.status.as_u16(), mixed.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", mixed.text);
    assert_eq!(mixed.json()["error"]["details"][0]["field"], "authSessionId");
    let unknown =
        post(&app, &key, &format!("{MEDICAL}/{}/report/json", uuid::Uuid::now_v7()), serde_json::json!({})).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "ANALYSIS_NOT_FOUND".to_owned()));
    let bad_format =
        post(&app, &key, &format!("{ANALYSES}/{theirs}/report"), serde_json::json!({"format": "DOCX"})).await;
    assert_eq!(bad_format.status, 400, "{}", bad_format.text);
    assert_eq!(app.count_rows("medical_analyses").await, 0);
}

async fn pending_body(db: TestDb) {
    let provider = Receiver::start().await;
    // The person takes a minute to approve.
    let app = app_with(db, &provider, &[("LDBDS__FUNNEL__HEALTH_APPROVE_AFTER_MS", "60000")]).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-3456-7893").await;
    let analysis = coverage_analysis(&app, &key, &token).await;
    let session = start_session(&app, &key, &token).await;
    let status = post(&app, &key, COMPLETE, serde_json::json!({"authSessionId": session})).await;
    assert_eq!(status.json()["status"], "PENDING", "{}", status.text);
    for (uri, body) in [
        (CHECKUPS, serde_json::json!({"authSessionId": session})),
        (MEDICAL, serde_json::json!({"analysisId": analysis, "authSessionId": session})),
    ] {
        let refused = post(&app, &key, uri, body).await;
        assert_eq!(
            (refused.status.as_u16(), refused.code()),
            (409, "HEALTH_AUTH_NOT_APPROVED".to_owned()),
            "{}",
            refused.text
        );
        assert_eq!(refused.json()["error"]["details"][0]["reason"], "status PENDING");
    }

    assert_eq!(app.count_rows("medical_analyses").await, 0);
}

async fn denied_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider, &[]).await;
    let key = app.partner_key.clone();
    // The sandbox's documented test person who refuses: a phone ending in 0000.
    let token = verify(&app, &provider, &key, "010-3456-0000").await;
    let session = start_session(&app, &key, &token).await;
    let status = post(&app, &key, COMPLETE, serde_json::json!({"authSessionId": session})).await;
    assert_eq!(status.json()["status"], "DENIED", "{}", status.text);
    let refused = post(&app, &key, CHECKUPS, serde_json::json!({"authSessionId": session})).await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (409, "HEALTH_AUTH_NOT_APPROVED".to_owned()),
        "{}",
        refused.text
    );
    assert_eq!(refused.json()["error"]["details"][0]["reason"], "status DENIED");
    assert_eq!(app.count_rows("medical_analyses").await, 0);
}

async fn tenancy_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider, &[]).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-3456-7894").await;
    let analysis = coverage_analysis(&app, &key, &token).await;
    let session = start_session(&app, &key, &token).await;
    let body = serde_json::json!({"analysisId": analysis, "authSessionId": session});
    let medical =
        post(&app, &key, MEDICAL, body.clone()).await.json()["medicalAnalysisId"].as_str().unwrap().to_owned();
    let other = app.onboard_partner("medical-other", "MO-SRC", "RE-HCM-APT").await;
    let cases = [
        (format!("{ANALYSES}/{analysis}/report"), serde_json::json!({"format": "PDF"}), "ANALYSIS_NOT_FOUND"),
        (format!("{MEDICAL}/{medical}/report/pdf"), serde_json::json!({}), "ANALYSIS_NOT_FOUND"),
        (format!("{MEDICAL}/{medical}/report/json"), serde_json::json!({}), "ANALYSIS_NOT_FOUND"),
        (COMPLETE.to_owned(), serde_json::json!({"authSessionId": session}), "AUTH_SESSION_NOT_FOUND"),
        (CHECKUPS.to_owned(), serde_json::json!({"authSessionId": session}), "AUTH_SESSION_NOT_FOUND"),
        (MEDICAL.to_owned(), body, "ANALYSIS_NOT_FOUND"),
    ];
    for (uri, body, code) in cases {
        let reply = post(&app, &other.key, &uri, body).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (404, code.to_owned()), "{uri}: {}", reply.text);
    }
    // The operator's key is no partner's app.
    let operator =
        post(&app, &app.operator_key, &format!("{MEDICAL}/{medical}/report/json"), serde_json::json!({})).await;
    assert_eq!(operator.status, 403, "{}", operator.text);
    assert_eq!(app.count_rows("medical_analyses").await, 1);
}

async fn purge_body(db: TestDb) {
    let provider = Receiver::start().await;
    let app = app_with(db, &provider, &[]).await;
    let key = app.partner_key.clone();
    let token = verify(&app, &provider, &key, "010-3456-7895").await;
    let analysis = coverage_analysis(&app, &key, &token).await;
    let session = start_session(&app, &key, &token).await;
    let body = serde_json::json!({"analysisId": analysis, "authSessionId": session});
    let created = post(&app, &key, MEDICAL, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let retention = time::Duration::days(90);
    let now = time::OffsetDateTime::now_utc();
    let early =
        domain::service::medical::purge(&app.state.medical, now + time::Duration::days(89), retention).await.unwrap();
    assert_eq!(early, domain::funnel::health::Purged::default(), "nothing before the retention ends");
    let purged =
        domain::service::medical::purge(&app.state.medical, now + time::Duration::days(91), retention).await.unwrap();
    assert_eq!((purged.medical_analyses, purged.health_sessions), (1, 1));
    assert!(purged.identity_verifications >= 1, "{purged:?}");
    for table in ["medical_analyses", "health_auth_sessions", "health_consents", "identity_verifications"] {
        assert_eq!(app.count_rows(table).await, 0, "{table}");
    }
    assert_eq!(app.count_rows("coverage_analyses").await, 1, "the coverage analysis is no health data");
}
