//! Onboarding a partner through the operator's endpoints: the org, its source, its key,
//! and every refusal writing nothing.

use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    the_operator_onboards_a_partner_whose_key_and_source_then_post_leads => onboard_body;
    an_operator_admin_token_onboards_too => admin_token_body;
    onboarding_refusals_write_nothing => refusals_body;
}

fn post(app: &TestApp, uri: &str, key: &str, body: serde_json::Value) -> TestRequest {
    app.with_key(TestRequest::post().uri(uri).set_json(body), key)
}

async fn product(app: &TestApp, code: &str) -> String {
    infra::fixtures::product_id_by_code(app.db.db.conn(), code).await.unwrap().unwrap().to_string()
}

async fn onboard_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let op = app.operator_key.clone();
    let created = app
        .send(post(
            &app,
            "/api/v1/orgs",
            &op,
            serde_json::json!({"code": "partner-2", "name": " Partner Two ", "kind": "PARTNER"}),
        ))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let org = created.json();
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("org_created", org));
    let apartment = product(&app, "RE-HCM-APT").await;
    let source = app
        .send(post(
            &app,
            "/api/v1/orgs/partner-2/sources",
            &op,
            serde_json::json!({"code": "SRC2", "defaultProductId": apartment}),
        ))
        .await;
    assert_eq!(source.status, 201, "{}", source.text);
    let source = source.json();
    assert_eq!(source["defaultProductId"].as_str(), Some(apartment.as_str()));
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("org_source_created", source, { ".defaultProductId" => "[id]" });
    });
    let key = app.send(post(&app, "/api/v1/orgs/partner-2/api-keys", &op, serde_json::json!({"label": "crm"}))).await;
    assert_eq!(key.status, 201, "{}", key.text);
    assert_eq!(key.header("cache-control"), Some("no-store"), "the key is shown once, never cached");
    let issued = key.json();
    let plaintext = issued["key"].as_str().unwrap().to_owned();
    assert!(plaintext.starts_with("ldb_live_"), "{plaintext}");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("org_api_key_created", issued, { ".key" => "[key]" });
    });
    let bare = app.send(app.with_key(TestRequest::post().uri("/api/v1/orgs/partner-2/api-keys"), &op)).await;
    assert_eq!((bare.status.as_u16(), bare.json()["label"].as_str()), (201, Some("onboarding")), "{}", bare.text);
    assert_ne!(bare.json()["key"], issued["key"], "a new key each time");
    let stored = app.count_rows("idempotency_records").await;
    assert_eq!(stored, 0, "the key's reply is stored nowhere");

    // The new org's key and source post a lead, like the demo partner's.
    let lead = serde_json::json!({"name": "Nguyen Van A", "mobileNumber": "0399123001", "regionCode": "79"});
    let posted = app
        .send(app.with_key(
            TestRequest::post().uri("/lead-platform/v1/leads/create").insert_header(("source", "SRC2")).set_json(&lead),
            &plaintext,
        ))
        .await;
    assert_eq!((posted.status.as_u16(), posted.json()["status"].as_str()), (201, Some("POOL")), "{}", posted.text);
    let foreign = app
        .send(app.with_key(
            TestRequest::post().uri("/lead-platform/v1/leads/create").insert_header(("source", "TCB")).set_json(&lead),
            &plaintext,
        ))
        .await;
    assert_eq!(foreign.status, 400, "another org's source is not this key's: {}", foreign.text);

    let list = app.send(app.with_key(TestRequest::get().uri("/api/v1/orgs"), &op)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let list = list.json();
    let codes: Vec<&str> = list["data"].as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["mohom", "ldbds-operator", "partner-2"], "oldest first");
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("orgs_listed", list));
}

async fn admin_token_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let admin = serde_json::json!({"mohomId": "op-admin", "name": "관리자", "phone": "01012345678", "email": "a@op.kr", "role": "ADMIN"});
    app.create_user(&app.operator_key, admin).await;
    let token = app.token(&app.operator_key, "op-admin").await;
    let body = serde_json::json!({"code": "partner-3", "name": "Partner Three", "kind": "PARTNER"});
    let reply = app.send(app.with_bearer(TestRequest::post().uri("/api/v1/orgs").set_json(body), &token)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let partner = app.onboard_partner("partner-4", "SRC4", "INS-HEALTH").await;
    assert!(partner.key.starts_with("ldb_live_") && partner.code == "partner-4");
    assert_ne!(partner.org_id, reply.json()["id"].as_str().unwrap());
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut n = Vec::new();
    for table in ["organizations", "sources", "api_keys", "audit_log"] {
        n.push(app.count_rows(table).await);
    }
    n
}

async fn refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let op = app.operator_key.clone();
    let partner = app.onboard_partner("partner-2", "SRC2", "RE-HCM-APT").await;
    let apartment = product(&app, "RE-HCM-APT").await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let member_token = app.token(&app.partner_key, "m-1").await;
    let cs = serde_json::json!({"mohomId": "cs-1", "name": "상담원", "phone": "01012345679", "email": "c@op.kr", "role": "CS_MANAGER"});
    app.create_user(&app.operator_key, cs).await;
    let cs_token = app.token(&app.operator_key, "cs-1").await;
    let before = counts(&app).await;

    let org = |code: &str| serde_json::json!({"code": code, "name": "Name", "kind": "PARTNER"});
    let source = |code: &str, product: &str| serde_json::json!({"code": code, "defaultProductId": product});
    let cases: Vec<(TestRequest, u16, &str)> = vec![
        (post(&app, "/api/v1/orgs", &op, org("partner-2")), 409, "ORG_ALREADY_EXISTS"),
        (post(&app, "/api/v1/orgs", &op, org("mohom")), 409, "ORG_ALREADY_EXISTS"),
        (
            post(
                &app,
                "/api/v1/orgs",
                &op,
                serde_json::json!({"code": "p9", "name": "N", "kind": "PARTNER", "id": "x"}),
            ),
            400,
            "INVALID_JSON",
        ),
        (post(&app, "/api/v1/orgs", &op, serde_json::json!({"code": "p9", "name": "N"})), 400, "INVALID_JSON"),
        (post(&app, "/api/v1/orgs", &op, org("bad code")), 400, "VALIDATION_FAILED"),
        (post(&app, "/api/v1/orgs", &op, org("-x")), 400, "VALIDATION_FAILED"),
        (post(&app, "/api/v1/orgs", &op, org(&"x".repeat(65))), 400, "VALIDATION_FAILED"),
        (
            post(&app, "/api/v1/orgs", &op, serde_json::json!({"code": "p9", "name": "N", "kind": "OPERATOR"})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            post(&app, "/api/v1/orgs", &op, serde_json::json!({"code": "p9", "name": " ", "kind": "PARTNER"})),
            400,
            "VALIDATION_FAILED",
        ),
        (post(&app, "/api/v1/orgs", &app.partner_key, org("p9")), 403, "FORBIDDEN"),
        (post(&app, "/api/v1/orgs", &partner.key, org("p9")), 403, "FORBIDDEN"),
        (app.with_bearer(TestRequest::post().uri("/api/v1/orgs").set_json(org("p9")), &member_token), 403, "FORBIDDEN"),
        (app.with_bearer(TestRequest::post().uri("/api/v1/orgs").set_json(org("p9")), &cs_token), 403, "FORBIDDEN"),
        (TestRequest::post().uri("/api/v1/orgs").set_json(org("p9")), 401, "UNAUTHORIZED"),
        (post(&app, "/api/v1/orgs/partner-2/sources", &op, source("TCB", &apartment)), 409, "SOURCE_ALREADY_EXISTS"),
        (post(&app, "/api/v1/orgs/partner-2/sources", &op, source("SRC2", &apartment)), 409, "SOURCE_ALREADY_EXISTS"),
        (post(&app, "/api/v1/orgs/nobody/sources", &op, source("S9", &apartment)), 404, "ORG_NOT_FOUND"),
        (post(&app, "/api/v1/orgs/bad%20code/sources", &op, source("S9", &apartment)), 404, "ORG_NOT_FOUND"),
        (
            post(&app, "/api/v1/orgs/partner-2/sources", &op, source("S9", &uuid::Uuid::nil().to_string())),
            404,
            "PRODUCT_NOT_FOUND",
        ),
        (post(&app, "/api/v1/orgs/partner-2/sources", &op, source("S9", "not-a-uuid")), 400, "INVALID_JSON"),
        (post(&app, "/api/v1/orgs/partner-2/sources", &op, source("S 9", &apartment)), 400, "VALIDATION_FAILED"),
        (
            post(
                &app,
                "/api/v1/orgs/partner-2/sources",
                &op,
                serde_json::json!({"code": "S9", "defaultProductId": apartment, "orgId": partner.org_id}),
            ),
            400,
            "INVALID_JSON",
        ),
        (post(&app, "/api/v1/orgs/partner-2/sources", &partner.key, source("S9", &apartment)), 403, "FORBIDDEN"),
        (post(&app, "/api/v1/orgs/partner-2/api-keys", &partner.key, serde_json::json!({})), 403, "FORBIDDEN"),
        (post(&app, "/api/v1/orgs/mohom/api-keys", &app.partner_key, serde_json::json!({})), 403, "FORBIDDEN"),
        (
            app.with_bearer(
                TestRequest::post().uri("/api/v1/orgs/mohom/api-keys").set_json(serde_json::json!({})),
                &cs_token,
            ),
            403,
            "FORBIDDEN",
        ),
        (post(&app, "/api/v1/orgs/nobody/api-keys", &op, serde_json::json!({})), 404, "ORG_NOT_FOUND"),
        (post(&app, "/api/v1/orgs/partner-2/api-keys", &op, serde_json::json!({"scopes": ["*"]})), 400, "INVALID_JSON"),
        (
            post(&app, "/api/v1/orgs/partner-2/api-keys", &op, serde_json::json!({"label": ""})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            app.with_key(
                TestRequest::post()
                    .uri("/api/v1/orgs/partner-2/api-keys")
                    .insert_header(actix_web::http::header::ContentType::json())
                    .set_payload("{"),
                &op,
            ),
            400,
            "INVALID_JSON",
        ),
        (app.with_key(TestRequest::get().uri("/api/v1/orgs"), &app.partner_key), 403, "FORBIDDEN"),
        (app.with_bearer(TestRequest::get().uri("/api/v1/orgs"), &member_token), 403, "FORBIDDEN"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let reply = app.send(req).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "case {i}: {}", reply.text);
        assert!(!reply.text.contains("ldb_live_"), "case {i}: no key in a refusal");
    }
    assert_eq!(counts(&app).await, before, "organizations, sources, api_keys and audit_log are unchanged");
}
