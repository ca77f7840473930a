//! Webhook endpoints through the API (`events.md` "Endpoints"): the whole life of an
//! endpoint, who may call, and every refusal writing nothing.

use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{Reply, TestApp, leader, member};

testkit::on_both_backends! { actix_web::test;
    an_endpoint_is_created_read_changed_pinged_retried_rotated_and_deleted => lifecycle_body;
    a_leader_and_an_admin_manage_webhooks_and_a_member_does_not => roles_body;
    refused_destinations_and_subscriptions_write_nothing => refusals_body;
    another_orgs_endpoint_is_not_found => tenancy_body;
}

/// A public address: accepted by every policy without a name to resolve.
const HOOK: &str = "https://93.184.215.14/ldbds";

fn settings() -> insta::Settings {
    let mut settings = testkit::redact::settings();
    settings.add_redaction(".secret", "[secret]");
    settings.add_redaction(".**.eventId", "[event-id]");
    settings.add_redaction(".**.updatedAt", "[time]");
    settings.add_redaction(".**.disabledAt", "[time]");
    settings
}

fn json(method: TestRequest, uri: &str, body: serde_json::Value) -> TestRequest {
    method.uri(uri).set_json(body)
}

async fn call(app: &TestApp, key: &str, req: TestRequest) -> Reply {
    app.send(app.with_key(req, key)).await
}

async fn create(app: &TestApp, key: &str, body: serde_json::Value) -> Reply {
    call(app, key, json(TestRequest::post(), "/api/v1/webhooks", body)).await
}

async fn exec(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.db.db.conn().execute_unprepared(sql).await.unwrap();
}

async fn scalar(app: &TestApp, sql: &str) -> String {
    use sea_orm::ConnectionTrait;
    let conn = app.db.db.conn();
    let row = conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    row.unwrap().try_get::<String>("", "v").unwrap()
}

/// The endpoint's delivery of `event` as the dispatcher would have written it.
async fn insert_delivery(app: &TestApp, endpoint: &str, event: &str, status: &str) {
    let id = uuid::Uuid::now_v7();
    exec(
        app,
        &format!(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, event_created_at, status, \
             attempt, response_status, latency_ms, error, next_attempt_at, delivered_at, created_at, updated_at) \
             VALUES ('{id}', '{endpoint}', '{event}', 'ping', 1764667530525, '{status}', 1, 204, 87, NULL, NULL, \
             NULL, 1764667530525, 1764667530525)"
        ),
    )
    .await;
}

async fn lifecycle_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let key = app.partner_key.clone();
    let body = serde_json::json!({"url": HOOK, "events": ["lead.assigned", "order.completed"], "description": "CRM"});
    let created = create(&app, &key, body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"), "the secret is shown once, never cached");
    let created = created.json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 50, "{secret}");
    settings().bind(|| insta::assert_json_snapshot!("webhook_created", created));
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/webhooks/{id}");

    let listed = call(&app, &key, TestRequest::get().uri("/api/v1/webhooks")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(!listed.text.contains("whsec_"), "no secret in a list");
    settings().bind(|| insta::assert_json_snapshot!("webhooks_listed", listed.json()));

    let patch = serde_json::json!({"status": "DISABLED", "events": ["*"], "description": ""});
    let changed = call(&app, &key, json(TestRequest::patch(), &uri, patch)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    settings().bind(|| insta::assert_json_snapshot!("webhook_disabled", changed.json()));
    let enabled = call(&app, &key, json(TestRequest::patch(), &uri, serde_json::json!({"status": "ENABLED"}))).await;
    assert_eq!((enabled.status.as_u16(), enabled.json()["status"].as_str()), (200, Some("ENABLED")));
    assert!(enabled.json().get("disabledReason").is_none(), "{}", enabled.text);

    exec(&app, &format!("UPDATE webhook_endpoints SET last_failure_at = 1764667530525, failing_since = 1764667530525 WHERE id = '{id}'")).await;
    let one = call(&app, &key, TestRequest::get().uri(&uri)).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert!(!one.text.contains("whsec_"));
    assert_eq!(one.json()["failingSince"].as_str(), Some("2025-12-02T09:25:30.525Z"));
    settings().bind(|| insta::assert_json_snapshot!("webhook_read", one.json()));

    let ping = call(&app, &key, TestRequest::post().uri(&format!("{uri}/test"))).await;
    assert_eq!(ping.status, 202, "{}", ping.text);
    let event = ping.json()["eventId"].as_str().unwrap().to_owned();
    assert!(event.starts_with("evt_"), "{event}");
    let target = scalar(
        &app,
        &format!("SELECT endpoint_id AS v FROM outbox_events WHERE id = '{event}' AND event_type = 'ping'"),
    )
    .await;
    assert_eq!(target, id, "the ping targets this endpoint only");

    insert_delivery(&app, &id, &event, "SUCCEEDED").await;
    let deliveries = call(&app, &key, TestRequest::get().uri(&format!("{uri}/deliveries?limit=10"))).await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.text);
    settings().bind(|| insta::assert_json_snapshot!("webhook_deliveries", deliveries.json()));
    let retry = format!("{uri}/deliveries/{event}/retry");
    let refused = call(&app, &key, TestRequest::post().uri(&retry)).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (409, "DELIVERY_ALREADY_SUCCEEDED".to_owned()));
    settings().bind(|| insta::assert_json_snapshot!("webhook_error_already_succeeded", refused.json()));
    let status = scalar(&app, &format!("SELECT status AS v FROM webhook_deliveries WHERE event_id = '{event}'")).await;
    assert_eq!(status, "SUCCEEDED", "nothing was written");
    exec(&app, &format!("UPDATE webhook_deliveries SET status = 'FAILED' WHERE event_id = '{event}'")).await;
    let retried = call(&app, &key, TestRequest::post().uri(&retry)).await;
    assert_eq!(retried.status, 202, "{}", retried.text);
    let status = scalar(&app, &format!("SELECT status AS v FROM webhook_deliveries WHERE event_id = '{event}'")).await;
    assert_eq!(status, "PENDING");
    let unknown = call(&app, &key, TestRequest::post().uri(&format!("{uri}/deliveries/evt_unknown/retry"))).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "DELIVERY_NOT_FOUND".to_owned()));

    let rotated = call(&app, &key, TestRequest::post().uri(&format!("{uri}/rotate-secret"))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    let deleted = call(&app, &key, TestRequest::delete().uri(&uri)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let gone = call(&app, &key, TestRequest::get().uri(&uri)).await;
    assert_eq!((gone.status.as_u16(), gone.code()), (404, "WEBHOOK_NOT_FOUND".to_owned()));
    assert_eq!(app.count_rows("webhook_deliveries").await, 0, "the deliveries went with it");
}

async fn roles_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, leader("wh-leader", "리더", "010-7300-0001", "wh-leader@example.com")).await;
    app.create_user(&app.partner_key, member("wh-member", "멤버", "010-7300-0002", "wh-member@example.com")).await;
    let mut admin = member("wh-admin", "관리자", "010-7300-0003", "wh-admin@example.com");
    admin["role"] = "ADMIN".into();
    app.create_user(&app.operator_key, admin).await;
    let body = serde_json::json!({"url": HOOK, "events": ["*"]});
    for (key, mohom) in [(&app.partner_key, "wh-leader"), (&app.operator_key, "wh-admin")] {
        let token = app.token(key, mohom).await;
        let req = json(TestRequest::post(), "/api/v1/webhooks", body.clone());
        let reply = app.send(app.with_bearer(req, &token)).await;
        assert_eq!(reply.status, 201, "{mohom}: {}", reply.text);
    }
    let token = app.token(&app.partner_key, "wh-member").await;
    let req = json(TestRequest::post(), "/api/v1/webhooks", serde_json::json!({"nonsense": true}));
    let reply = app.send(app.with_bearer(req, &token)).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (403, "FORBIDDEN".to_owned()), "before the body is judged");
    let reply = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/webhooks"), &token)).await;
    assert_eq!(reply.status, 403);
    assert_eq!(app.count_rows("webhook_endpoints").await, 2);
}

async fn refusals_body(db: TestDb) {
    let app = TestApp::with(db, &[("LDBDS__EVENTS__ALLOW_LOOPBACK", "false")]).await;
    let key = app.partner_key.clone();
    let table = [
        ("url", "http://93.184.215.14/ldbds", "must use https"),
        ("url", "https://127.0.0.1/hook", "must not point at a loopback address"),
        ("url", "https://localhost/hook", "must not point at a loopback address"),
        ("url", "https://169.254.169.254/latest/meta-data", "must not point at a link-local or metadata address"),
        ("events", "lead.eaten", "unknown event type \"lead.eaten\""),
        ("events", "ping", "ping cannot be subscribed to: it is sent by the test call only"),
    ];
    for (field, value, reason) in table {
        let body = if field == "url" {
            serde_json::json!({"url": value, "events": ["*"]})
        } else {
            serde_json::json!({"url": HOOK, "events": ["lead.assigned", value]})
        };
        let reply = create(&app, &key, body).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (400, "VALIDATION_FAILED".to_owned()), "{value}");
        let details = &reply.json()["error"]["details"];
        assert_eq!(details, &serde_json::json!([{"field": field, "reason": reason}]), "{value}");
    }
    let long = serde_json::json!({"url": "http://x", "events": ["lead.eaten"], "description": "d".repeat(501)});
    let reply = create(&app, &key, long).await;
    assert_eq!(reply.status, 400);
    settings().bind(|| insta::assert_json_snapshot!("webhook_error_every_field", reply.json()));
    assert_eq!(app.count_rows("webhook_endpoints").await, 0, "nothing was written");
    assert_eq!(app.count_rows("idempotency_records").await, 0);

    let ok = create(&app, &key, serde_json::json!({"url": HOOK, "events": ["*"]})).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let uri = format!("/api/v1/webhooks/{}", ok.json()["id"].as_str().unwrap());
    let patch = serde_json::json!({"url": "https://localhost/hook", "status": "PAUSED"});
    let reply = call(&app, &key, json(TestRequest::patch(), &uri, patch)).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let reply = reply.json();
    let fields: Vec<&str> =
        reply["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["status", "url"]);
    let url = scalar(&app, "SELECT url AS v FROM webhook_endpoints").await;
    assert_eq!(url, HOOK, "nothing was written");
    let bad_id = call(&app, &key, TestRequest::get().uri("/api/v1/webhooks/not-a-uuid")).await;
    assert_eq!((bad_id.status.as_u16(), bad_id.code()), (400, "VALIDATION_FAILED".to_owned()));
}

async fn tenancy_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let created = create(&app, &app.partner_key, serde_json::json!({"url": HOOK, "events": ["*"]})).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let event = call(&app, &app.partner_key, TestRequest::post().uri(&format!("/api/v1/webhooks/{id}/test"))).await;
    let event = event.json()["eventId"].as_str().unwrap().to_owned();
    insert_delivery(&app, &id, &event, "FAILED").await;
    let other = app.operator_key.clone();
    let uri = format!("/api/v1/webhooks/{id}");
    let requests = [
        TestRequest::get().uri(&uri),
        json(TestRequest::patch(), &uri, serde_json::json!({"status": "DISABLED"})),
        TestRequest::post().uri(&format!("{uri}/rotate-secret")),
        TestRequest::post().uri(&format!("{uri}/test")),
        TestRequest::get().uri(&format!("{uri}/deliveries")),
        TestRequest::post().uri(&format!("{uri}/deliveries/{event}/retry")),
        TestRequest::delete().uri(&uri),
    ];
    for req in requests {
        let reply = call(&app, &other, req).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (404, "WEBHOOK_NOT_FOUND".to_owned()), "{}", reply.text);
    }
    let listed = call(&app, &other, TestRequest::get().uri("/api/v1/webhooks")).await;
    assert_eq!(listed.json()["data"], serde_json::json!([]));
    let mine = call(&app, &app.partner_key, TestRequest::get().uri(&uri)).await;
    assert_eq!(mine.json()["status"].as_str(), Some("ENABLED"), "unchanged");
    assert_eq!(app.count_rows("outbox_events").await, 1, "one ping, the owner's");
    let status = scalar(&app, "SELECT status AS v FROM webhook_deliveries").await;
    assert_eq!(status, "FAILED");
}
