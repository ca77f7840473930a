use actix_web::http::header::ContentType;
use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    the_same_key_and_body_replays_the_first_response => replay_body;
    the_same_key_with_another_body_is_a_422 => mismatch_body;
    the_same_key_while_running_is_a_409 => in_flight_body;
    keys_are_scoped_to_the_callers_org => scoped_body;
    a_refused_request_releases_its_key => refused_body;
    a_malformed_key_is_a_400 => malformed_key_body;
}

fn widget(name: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "quantity": 1})
}

async fn replay_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let send = || app.widget_post(&app.partner_key).insert_header(("Idempotency-Key", "order-1")).set_json(widget("a"));
    let first = app.send_widgets(send()).await;
    assert_eq!(first.status, 201);
    assert!(first.header("idempotency-replayed").is_none());
    let second = app.send_widgets(send()).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotency-replayed"), Some("true"));
    assert_eq!(second.json(), first.json(), "the stored response, byte for byte");
    assert_eq!(app.widgets_created().await, 1, "the effect happened once");

    let without_key = app.send_widgets(app.widget_post(&app.partner_key).set_json(widget("a"))).await;
    assert_eq!(without_key.status, 201);
    assert_eq!(app.widgets_created().await, 2, "no key, no deduplication");
}

async fn mismatch_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let send = |name: &str| {
        app.widget_post(&app.partner_key).insert_header(("Idempotency-Key", "order-2")).set_json(widget(name))
    };
    assert_eq!(app.send_widgets(send("a")).await.status, 201);
    let other = app.send_widgets(send("b")).await;
    assert_eq!((other.status.as_u16(), other.code().as_str()), (422, "IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(app.widgets_created().await, 1);
}

async fn in_flight_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let now = time::OffsetDateTime::now_utc();
    let key = infra::api_keys::lookup(app.db.db.conn(), &app.partner_key).await.expect("q").expect("key");
    let principal = format!("key:{}", key.key_id);
    let scope = infra::idempotency::Scope { org_id: key.org_id, principal: &principal };
    let canonical = serde_json::to_vec(&widget("a")).expect("json");
    let fingerprint = infra::idempotency::fingerprint("POST", crate::helpers::widgets::PATH, &principal, &canonical);
    // Another worker has claimed the key and is still running.
    let claim = infra::idempotency::begin(app.db.db.conn(), &app.state.keyring, scope, "order-3", &fingerprint, now)
        .await
        .expect("claim");
    assert_eq!(claim, infra::idempotency::Begin::Fresh);
    let reply = app
        .send_widgets(
            app.widget_post(&app.partner_key).insert_header(("Idempotency-Key", "order-3")).set_json(widget("a")),
        )
        .await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (409, "IDEMPOTENCY_KEY_IN_PROGRESS"));
    assert_eq!(app.widgets_created().await, 0);
}

async fn scoped_body(db: TestDb) {
    let app = TestApp::new(db).await;
    for key in [&app.partner_key, &app.operator_key] {
        let reply = app
            .send_widgets(app.widget_post(key).insert_header(("Idempotency-Key", "shared")).set_json(widget("a")))
            .await;
        assert_eq!(reply.status, 201);
        assert!(reply.header("idempotency-replayed").is_none());
    }
    assert_eq!(app.widgets_created().await, 2);
}

async fn refused_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let send = |quantity: u32| {
        app.widget_post(&app.partner_key)
            .insert_header(("Idempotency-Key", "order-4"))
            .set_json(serde_json::json!({"name": "a", "quantity": quantity}))
    };
    let refused = app.send_widgets(send(0)).await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (400, "VALIDATION_FAILED"));
    let corrected = app.send_widgets(send(1)).await;
    assert_eq!(corrected.status, 201, "the key is free again once the refusal wrote nothing");
    assert_eq!(app.widgets_created().await, 1);
}

async fn malformed_key_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "has space"] {
        let reply = app
            .send_widgets(
                app.widget_post(&app.partner_key)
                    .insert_header(("Idempotency-Key", key))
                    .insert_header(ContentType::json())
                    .set_payload(widget("a").to_string()),
            )
            .await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "INVALID_IDEMPOTENCY_KEY"), "{key:?}");
    }
    assert_eq!(app.widgets_created().await, 0);
}
