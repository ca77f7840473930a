use actix_web::test::TestRequest;
use domain::lead::{LeadFields, NewLead};
use testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    an_order_takes_pool_leads_oldest_first_and_prices_exactly => create_body;
    order_refusals_write_nothing => refusals_body;
    cancel_refunds_the_remainder_once => cancel_body;
    the_order_list_summarizes_the_whole_filter => list_body;
}

async fn setup(app: &TestApp) -> (Uuid, Uuid) {
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
    (org, product)
}

/// Puts leads in the pool the way the intake will (one second apart, oldest first).
async fn pool(app: &TestApp, org: Uuid, product: Uuid, region: &str, count: usize) -> Vec<Uuid> {
    let base = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let mut ids = Vec::new();
    for i in 0..count {
        let product_text = product.to_string();
        let phone = format!("0399{:06}", i + (region.len() * 1000));
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some("Nguyen Van A"),
            phone: Some(&phone),
            region: Some(region),
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, base.date()).unwrap();
        ids.push(app.state.leads.add_to_pool(&new, org, base + time::Duration::seconds(i as i64)).await.unwrap());
    }
    ids
}

fn post(app: &TestApp, uri: &str, body: serde_json::Value) -> TestRequest {
    app.with_key(TestRequest::post().uri(uri).set_json(body), &app.partner_key)
}

async fn create_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (org, product) = setup(&app).await;
    let hcm = pool(&app, org, product, "79", 3).await;
    pool(&app, org, product, "01", 1).await;
    let body = serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 2}, {"region": "01", "quantity": 3}], "memo": "분양 상담"});
    let reply = app.send(post(&app, "/api/v1/orders", body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let order = reply.json();
    assert_eq!(
        (order["status"].as_str(), order["quantity"].as_u64(), order["deliveredQuantity"].as_u64()),
        (Some("IN_PROGRESS"), Some(5), Some(3))
    );
    assert_eq!(
        (order["unitPrice"].as_str(), order["subtotal"].as_str(), order["vat"].as_str(), order["totalAmount"].as_str()),
        (Some("120000"), Some("600000"), Some("60000"), Some("660000"))
    );
    assert_eq!(order["lines"][0]["status"], "FULL");
    assert_eq!(order["lines"][1]["delivered"], 1);
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("order_created", order, { ".lines[].id" => "[id]", ".updatedAt" => "[time]" });
    });
    let owned = app
        .send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-1&sortOrder=asc"), &app.partner_key))
        .await
        .json();
    let mut ids: Vec<String> =
        owned["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert!(ids.contains(&hcm[0].to_string()) && ids.contains(&hcm[1].to_string()), "the two oldest of 79");
    assert!(!ids.contains(&hcm[2].to_string()), "the third stays in the pool");
    let detail = app
        .send(app.with_key(TestRequest::get().uri(&format!("/api/v1/leads/{}?mohomId=m-1", hcm[0])), &app.partner_key))
        .await
        .json();
    assert_eq!(detail["assignments"][0]["source"], "ORDER");
    let other = app
        .send(app.with_key(
            TestRequest::get().uri(&format!("/api/v1/orders/{}?mohomId=m-2", order["id"].as_str().unwrap())),
            &app.partner_key,
        ))
        .await;
    assert_eq!((other.status.as_u16(), other.code().as_str()), (404, "ORDER_NOT_FOUND"), "another user's order");
}

async fn refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (_, product) = setup(&app).await;
    let off_sale = infra::fixtures::product_id_by_code(app.db.db.conn(), "LOAN-CREDIT").await.unwrap().unwrap();
    let cases = vec![
        (serde_json::json!({"mohomId": "m-1", "productId": product, "regions": []}), 400, "VALIDATION_FAILED"),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 0}]}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "도쿄", "quantity": 1}]}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 1}, {"region": "79", "quantity": 1}]}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 1}], "dailyLimit": 0}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": "x", "regions": [{"region": "79", "quantity": 1}]}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": Uuid::now_v7(), "regions": [{"region": "79", "quantity": 1}]}),
            404,
            "PRODUCT_NOT_FOUND",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": off_sale, "regions": [{"region": "서울", "quantity": 1}]}),
            409,
            "PRODUCT_NOT_ON_SALE",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 1}], "price": "1"}),
            400,
            "INVALID_JSON",
        ),
        (
            serde_json::json!({"mohomId": "ghost", "productId": product, "regions": [{"region": "79", "quantity": 1}]}),
            404,
            "USER_NOT_FOUND",
        ),
    ];
    for (body, status, code) in cases {
        let reply = app.send(post(&app, "/api/v1/orders", body.clone())).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "{body}: {}", reply.text);
    }
    let list =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/orders?mohomId=m-1"), &app.partner_key)).await.json();
    assert_eq!(list["summary"]["totalOrders"], 0, "nothing was written");
}

async fn cancel_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (org, product) = setup(&app).await;
    pool(&app, org, product, "79", 1).await;
    let order = app
        .send(post(
            &app,
            "/api/v1/orders",
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": 4}]}),
        ))
        .await
        .json();
    let id = order["id"].as_str().unwrap().to_owned();
    let cancel = || post(&app, &format!("/api/v1/orders/{id}/cancel"), serde_json::json!({"mohomId": "m-1"}));
    let by_other =
        app.send(post(&app, &format!("/api/v1/orders/{id}/cancel"), serde_json::json!({"mohomId": "m-2"}))).await;
    assert_eq!(by_other.status, 404);
    let cancelled = app.send(cancel()).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let body = cancelled.json();
    assert_eq!(
        (body["status"].as_str(), body["refundAmount"].as_str()),
        (Some("CANCELLED"), Some("396000")),
        "3 undelivered × 120000 + 10% VAT"
    );
    assert_eq!(body["lines"][0]["status"], "CLOSED");
    let again = app.send(cancel()).await;
    assert_eq!((again.status.as_u16(), again.code().as_str()), (409, "ORDER_NOT_CANCELLABLE"));
    let full = app
        .send(post(
            &app,
            "/api/v1/orders",
            serde_json::json!({"mohomId": "m-2", "productId": product, "regions": [{"region": "79", "quantity": 1}]}),
        ))
        .await
        .json();
    assert_eq!(full["status"], "PENDING", "the pool is empty now");
}

async fn list_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (org, product) = setup(&app).await;
    pool(&app, org, product, "79", 2).await;
    let place = |q: i64| {
        post(
            &app,
            "/api/v1/orders",
            serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": q}]}),
        )
    };
    let completed = app.send(place(2)).await.json();
    assert_eq!(completed["status"], "COMPLETED");
    let pending = app.send(place(3)).await.json();
    let cancelled = app.send(place(1)).await.json();
    app.send(post(
        &app,
        &format!("/api/v1/orders/{}/cancel", cancelled["id"].as_str().unwrap()),
        serde_json::json!({"mohomId": "m-1"}),
    ))
    .await;
    let list =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/orders?mohomId=m-1&limit=2"), &app.partner_key)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let body = list.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 2, "a page of 2");
    assert_eq!(body["data"][0]["id"], cancelled["id"], "newest first");
    let summary = &body["summary"];
    assert_eq!(summary["totalOrders"], 3, "over the whole filter, not the page");
    assert_eq!(
        (
            summary["totalQuantity"].as_u64(),
            summary["deliveredQuantity"].as_u64(),
            summary["remainingQuantity"].as_u64()
        ),
        (Some(6), Some(2), Some(3))
    );
    assert_eq!((summary["totalAmount"].as_str(), summary["refundedAmount"].as_str()), (Some("792000"), Some("132000")));
    assert_eq!(
        summary["byStatus"],
        serde_json::json!({"PENDING": 1, "IN_PROGRESS": 0, "COMPLETED": 1, "CANCELLED": 1})
    );
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("orders_summary", summary);
    });
    let only_pending = app
        .send(app.with_key(TestRequest::get().uri("/api/v1/orders?mohomId=m-1&status=PENDING"), &app.partner_key))
        .await
        .json();
    assert_eq!(only_pending["data"][0]["id"], pending["id"]);
    assert_eq!(only_pending["summary"]["totalOrders"], 1);
    let future =
        app.send(app.with_key(
            TestRequest::get().uri("/api/v1/orders?mohomId=m-1&from=2999-01-01T00:00:00Z"),
            &app.partner_key,
        ))
        .await
        .json();
    assert_eq!(future["summary"]["totalOrders"], 0);
    for bad in ["status=DONE", "from=yesterday", "productId=x", "limit=0"] {
        let reply = app
            .send(app.with_key(TestRequest::get().uri(&format!("/api/v1/orders?mohomId=m-1&{bad}")), &app.partner_key))
            .await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{bad}");
    }
}

#[test]
fn the_order_request_states_the_rules_of_an_order() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).expect("JSON");
    let order = &doc["components"]["schemas"]["CreateOrderRequest"]["properties"];
    assert_eq!(order["mohomId"]["pattern"], api::openapi::MOHOM_ID_PATTERN);
    assert_eq!(order["productId"]["format"], "uuid");
    assert_eq!(order["regions"]["minItems"], 1);
    assert_eq!(order["dailyLimit"]["minimum"], 1);
    assert_eq!(order["memo"]["maxLength"], domain::order::MAX_MEMO_CHARS);
    let line = &doc["components"]["schemas"]["RegionQuantity"]["properties"];
    assert_eq!(line["region"]["minLength"], 1);
    assert_eq!(line["quantity"]["minimum"], 1);
    assert_eq!(line["quantity"]["maximum"], domain::order::MAX_LINE_QUANTITY);
}
