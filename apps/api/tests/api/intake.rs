use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_source_lead_is_pooled_then_delivered_fifo_to_open_orders => deliver_body;
    intake_refusals_write_nothing => refusals_body;
    a_duplicate_names_the_earlier_lead_and_replays_are_idempotent => duplicate_body;
}

fn lead(phone: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "Nguyen Van A", "mobileNumber": phone, "email": "nva@example.vn", "gender": "MALE",
        "birthDate": "1990-05-01", "idNumber": "079090001234", "maritalStatus": "MARRIED", "projectCode": "VHGP",
        "regionCode": "79", "districtCode": "769", "homeDirections": ["EAST", "SOUTHEAST"], "agentId": 42
    })
}

fn intake(app: &TestApp, source: &str, body: serde_json::Value) -> TestRequest {
    app.with_key(
        TestRequest::post()
            .uri("/lead-platform/v1/leads/create")
            .insert_header(("source", source.to_owned()))
            .set_json(body),
        &app.partner_key,
    )
}

async fn place(app: &TestApp, mohom: &str, quantity: i64) -> String {
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
    let body = serde_json::json!({"mohomId": mohom, "productId": product, "regions": [{"region": "79", "quantity": quantity}]});
    let reply =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/orders").set_json(body), &app.partner_key)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

async fn order(app: &TestApp, mohom: &str, id: &str) -> serde_json::Value {
    app.send(app.with_key(TestRequest::get().uri(&format!("/api/v1/orders/{id}?mohomId={mohom}")), &app.partner_key))
        .await
        .json()
}

async fn deliver_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    let pooled = app.send(intake(&app, "TCB", lead("0399000001"))).await;
    assert_eq!(pooled.status, 201, "{}", pooled.text);
    assert_eq!(pooled.json()["status"], "POOL");
    let first = place(&app, "m-1", 2).await;
    assert_eq!(order(&app, "m-1", &first).await["deliveredQuantity"], 1, "the pooled lead went to the new order");
    let second = place(&app, "m-2", 2).await;
    for phone in ["0399000002", "0399000003"] {
        let reply = app.send(intake(&app, "TCB", lead(phone))).await;
        assert_eq!((reply.status.as_u16(), reply.json()["status"].as_str()), (201, Some("ASSIGNED")), "{}", reply.text);
    }
    let (a, b) = (order(&app, "m-1", &first).await, order(&app, "m-2", &second).await);
    assert_eq!(
        (a["status"].as_str(), a["deliveredQuantity"].as_u64()),
        (Some("COMPLETED"), Some(2)),
        "FIFO fills the oldest first"
    );
    assert_eq!((b["status"].as_str(), b["deliveredQuantity"].as_u64()), (Some("IN_PROGRESS"), Some(1)));
    let owned =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-2"), &app.partner_key)).await.json();
    let item = &owned["data"][0];
    assert_eq!(item["region"], "79");
    assert_eq!(item["metadata"]["projectCode"], "VHGP");
    assert_eq!(item["metadata"]["homeDirections"], serde_json::json!(["EAST", "SOUTHEAST"]));
    assert!(item["metadata"].get("idNumber").is_none(), "national ids never land in metadata");
    assert!(!owned.to_string().contains("079090001234"));
    let web = serde_json::json!({"fullName": "Tran Thi B", "phoneNumber": "+84 912 345 678", "email": "b@example.vn", "demand": "BUY", "project": "Vinhomes"});
    let reply = app.send(intake(&app, "TCB", web)).await;
    assert_eq!(
        (reply.status.as_u16(), reply.json()["status"].as_str()),
        (201, Some("POOL")),
        "web-form leads carry no province"
    );
}

async fn refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let cases = vec![
        (intake(&app, "NOPE", lead("0399000001")), 400, "VALIDATION_FAILED"),
        (
            app.with_key(
                TestRequest::post().uri("/lead-platform/v1/leads/create").set_json(lead("0399000001")),
                &app.partner_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (
            app.with_key(
                TestRequest::post()
                    .uri("/lead-platform/v1/leads/create")
                    .insert_header(("source", "TCB"))
                    .set_json(lead("0399000001")),
                &app.operator_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (intake(&app, "TCB", lead("010-1234-5678")), 400, "VALIDATION_FAILED"),
        (intake(&app, "TCB", lead("(03|07)39933399")), 400, "VALIDATION_FAILED"),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["regionCode"] = "99".into();
                l
            }),
            400,
            "VALIDATION_FAILED",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["gender"] = "OTHER".into();
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["homeDirections"] = serde_json::json!(["UP"]);
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["ownerId"] = "x".into();
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (intake(&app, "TCB", serde_json::json!({"mobileNumber": "0399000001"})), 400, "INVALID_JSON"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let reply = app.send(req).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "case {i}: {}", reply.text);
    }
    let legacy = app.send(intake(&app, "TCB", lead("01699333999"))).await;
    assert_eq!(legacy.status, 201, "a legacy 11-digit number is accepted and normalized: {}", legacy.text);
}

async fn duplicate_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let first = app.send(intake(&app, "TCB", lead("0399333999"))).await.json();
    let earlier = first["id"].as_str().unwrap().to_owned();
    let again = app.send(intake(&app, "TCB", lead("+84 399 333 999"))).await;
    assert_eq!((again.status.as_u16(), again.code().as_str()), (409, "DUPLICATE_LEAD"));
    assert!(again.json()["error"]["message"].as_str().unwrap().contains(&earlier), "names the earlier lead");
    let legacy = app.send(intake(&app, "TCB", lead("01699333999"))).await;
    assert_eq!(legacy.status, 409, "the legacy form is the same number");
    let keyed = || intake(&app, "TCB", lead("0399777888")).insert_header(("Idempotency-Key", "tcb-0001"));
    let one = app.send(keyed()).await;
    let two = app.send(keyed()).await;
    assert_eq!((one.status.as_u16(), two.status.as_u16()), (201, 201));
    assert_eq!(one.json()["id"], two.json()["id"], "a replay returns the same lead");
    assert_eq!(two.header("idempotency-replayed"), Some("true"));
}
