//! Events written by the API's use cases reach a partner's endpoint (issue #16): an
//! intake delivered to an open order, an order taking the pool's backlog (and the
//! pooled lead's source told so) and completing, and a cancellation, each in the transaction of its change; the deliveries verify
//! with the independent `standardwebhooks` crate and carry contacts masked only.

use std::sync::Arc;

use actix_web::test::TestRequest;
use infra::crypto::WEBHOOK_SECRET;
use infra::webhook_destination::DestinationPolicy;
use infra::webhook_dispatch::Dispatcher;
use infra::webhook_signature::WebhookSecret;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use testkit::TestDb;
use testkit::receiver::{Received, Receiver};

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    deliveries_and_orders_reach_the_buyers_endpoint_masked_and_signed => flow_body;
}

/// An endpoint of the demo partner org subscribed to everything (stored as the endpoints
/// API stores it: the secret sealed).
async fn endpoint(app: &TestApp, url: &str) -> WebhookSecret {
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let secret = WebhookSecret::generate().unwrap();
    let sealed = WEBHOOK_SECRET.seal(&app.state.keyring, &id, &secret.expose()).unwrap();
    let conn = app.db.db.conn();
    let sql = "INSERT INTO webhook_endpoints (id, org_id, url, events, status, secret, secret_enc, secret_key_id, \
               created_at, updated_at) VALUES ($1, $2, $3, '*', 'ENABLED', '', $4, $5, 0, 0)";
    let sql = if conn.get_database_backend() == DbBackend::Postgres { sql.to_owned() } else { sql.replace('$', "?") };
    let values =
        vec![id.as_str().into(), org.to_string().into(), url.into(), sealed.envelope.into(), sealed.key_id.into()];
    conn.execute_raw(Statement::from_sql_and_values(conn.get_database_backend(), sql, values)).await.unwrap();
    secret
}

fn lead(phone: &str) -> serde_json::Value {
    serde_json::json!({"name": "Nguyen Van Canary", "mobileNumber": phone, "email": "canary.lead@example.vn", "regionCode": "79"})
}

fn verified(secret: &WebhookSecret, got: &Received) -> serde_json::Value {
    let verifier = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", got.webhook_id.parse().unwrap());
    headers.insert("webhook-timestamp", got.webhook_timestamp.parse().unwrap());
    headers.insert("webhook-signature", got.webhook_signature.parse().unwrap());
    verifier.verify(&got.body, &headers).expect("the independent verifier accepts it");
    serde_json::from_slice(&got.body).unwrap()
}

async fn flow_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let receiver = Receiver::start().await;
    let secret = endpoint(&app, &receiver.url("/hook")).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let intake = |phone: &str| {
        app.with_key(
            TestRequest::post()
                .uri("/lead-platform/v1/leads/create")
                .insert_header(("source", "TCB"))
                .set_json(lead(phone)),
            &app.partner_key,
        )
    };
    // A lead with no open order waits in the pool: no event.
    assert_eq!(app.send(intake("0399000001")).await.json()["status"], "POOL");
    let events_after_pool = app.count_rows("outbox_events").await;
    assert_eq!(events_after_pool, 0);
    // An order of 2 takes the backlog (lead.assigned), an intake completes it
    // (lead.assigned, order.completed); a second order is cancelled (order.cancelled).
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
    let place = |quantity: i64| {
        let body = serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": quantity}]});
        app.with_key(TestRequest::post().uri("/api/v1/orders").set_json(body), &app.partner_key)
    };
    let order = app.send(place(2)).await;
    assert_eq!(order.status, 201, "{}", order.text);
    let order_id = order.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.send(intake("0399000002")).await.json()["status"], "ASSIGNED");
    let second = app.send(place(5)).await.json()["id"].as_str().unwrap().to_owned();
    let cancel = TestRequest::post().uri(&format!("/api/v1/orders/{second}/cancel?mohomId=m-1"));
    let cancelled = app.send(app.with_key(cancel, &app.partner_key)).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(app.count_rows("outbox_events").await, 5);

    let dispatcher =
        Dispatcher::new(app.db.db.clone(), Arc::clone(&app.state.keyring), DestinationPolicy::LOOPBACK_ALLOWED, 4)
            .unwrap();
    dispatcher.run_until_idle().await.unwrap();
    let got = receiver.received();
    let bodies: Vec<serde_json::Value> = got.iter().map(|r| verified(&secret, r)).collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["lead.assigned", "intake.status_changed", "lead.assigned", "order.completed", "order.cancelled"],
        "in commit order"
    );
    for body in &bodies {
        assert_eq!(body["orgCode"], "mohom");
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        let text = body.to_string();
        for plain in ["Nguyen Van Canary", "0399000001", "399000001", "canary.lead@example.vn"] {
            assert!(!text.contains(plain), "no plain contact in an event: {text}");
        }
    }
    let assigned = &bodies[0]["data"];
    assert_eq!(assigned["orderId"], order_id.as_str());
    assert_eq!(assigned["ownerMohomId"], "m-1");
    assert_eq!(assigned["region"], "79");
    assert_eq!(assigned["productId"], product.to_string().as_str());
    assert!(assigned["phone"].as_str().unwrap().contains('*'), "masked: {assigned}");
    assert!(assigned["name"].as_str().unwrap().contains('*'), "masked: {assigned}");
    // The pooled lead's source (the same org here) saw it leave the pool.
    let changed = &bodies[1]["data"];
    assert_eq!(
        (changed["leadId"].as_str(), changed["status"].as_str()),
        (assigned["leadId"].as_str(), Some("ASSIGNED"))
    );
    let completed = &bodies[3]["data"];
    assert_eq!((completed["orderId"].as_str(), completed["delivered"].as_u64()), (Some(order_id.as_str()), Some(2)));
    assert_eq!(bodies[4]["data"]["orderId"], second.as_str());
}
