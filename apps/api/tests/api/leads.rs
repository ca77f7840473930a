use actix_web::test::TestRequest;
use testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_registered_lead_is_owned_masked_until_used => register_body;
    registering_refuses_bad_input_and_writes_nothing => register_refusals_body;
    use_is_idempotent_reveals_and_logs => use_body;
    the_masking_matrix_holds_over_the_api => matrix_body;
    contacts_reveal_only_used_owned_leads => contacts_body;
    the_owned_list_filters_and_sorts => list_body;
    a_user_who_owns_leads_cannot_be_deleted => owns_leads_body;
    the_api_and_the_intake_refuse_metadata_over_8_kib_alike => metadata_cap_body;
    a_page_a_search_and_a_detail_cost_one_statement_beyond_the_caller => statements_body;
}

async fn product_id(app: &TestApp, code: &str) -> Uuid {
    infra::fixtures::product_id_by_code(app.db.db.conn(), code).await.unwrap().unwrap()
}

async fn setup(app: &TestApp) {
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
}

async fn register(app: &TestApp, mohom: &str, product: Uuid, name: &str, phone: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "mohomId": mohom, "productId": product, "name": name, "phone": phone, "email": "lead@example.com",
        "region": "서울", "address": "서울 강남구 테헤란로 123", "birth_date": "1985-03-12", "gender": "FEMALE",
        "memo": "오후 통화 선호", "metadata": {"campaign": "autumn"}
    });
    let reply =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(&body), &app.partner_key)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn get(app: &TestApp, uri: &str) -> TestRequest {
    app.with_key(TestRequest::get().uri(uri), &app.partner_key)
}

async fn register_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let created = register(&app, "m-1", product, "홍길동", "010-1234-5678").await;
    testkit::redact::settings()
        .bind(|| insta::assert_json_snapshot!("lead_created", created, { ".assignmentId" => "[id]" }));
    let id = created["id"].as_str().unwrap();
    let detail = app.send(get(&app, &format!("/api/v1/leads/{id}?mohomId=m-1"))).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let body = detail.json();
    for field in [
        "id",
        "productId",
        "product",
        "name",
        "phone",
        "email",
        "region",
        "address",
        "birth_date",
        "gender",
        "memo",
        "assignmentId",
        "usedAt",
        "assignedAt",
        "lastDistributedAt",
        "metadata",
        "leadAs",
        "leadAsStatus",
        "leadAsStatusLabel",
    ] {
        assert!(body.get(field).is_some(), "seed field {field} missing: {body}");
    }
    assert_eq!((body["name"].as_str(), body["phone"].as_str()), (Some("홍*동"), Some("010****5678")));
    assert_eq!(body["address"], "서울 강남구 ***");
    assert_eq!(body["birth_date"], "1985-**-**");
    assert_eq!(body["assignments"][0]["source"], "REGISTERED");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("lead_detail_masked", body, {
            ".assignmentId" => "[id]", ".assignedAt" => "[time]", ".assignments[].id" => "[id]",
            ".assignments[].ownerId" => "[id]", ".assignments[].assignedAt" => "[time]"
        });
    });
}

async fn register_refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let post = |body: serde_json::Value| {
        app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(body), &app.partner_key)
    };
    let cases = [
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "02-123-4567", "region": "서울"}),
            400,
            "phone",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "01012345678", "region": "도쿄"}),
            400,
            "region",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "01012345678", "region": "서울", "metadata": [1]}),
            400,
            "metadata",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "productId": "nope", "name": "홍길동", "phone": "01012345678", "region": "서울"}),
            400,
            "productId",
        ),
    ];
    for (body, status, field) in cases {
        let reply = app.send(post(body)).await;
        assert_eq!(reply.status.as_u16(), status, "{field}: {}", reply.text);
        assert_eq!(reply.json()["error"]["details"][0]["field"], field);
    }
    let unknown_product = app
        .send(post(serde_json::json!({"mohomId": "m-1", "productId": Uuid::now_v7(), "name": "홍길동", "phone": "01012345678", "region": "서울"})))
        .await;
    assert_eq!((unknown_product.status.as_u16(), unknown_product.code().as_str()), (404, "PRODUCT_NOT_FOUND"));
    let no_user = app
        .send(post(
            serde_json::json!({"productId": product, "name": "홍길동", "phone": "01012345678", "region": "서울"}),
        ))
        .await;
    assert_eq!(no_user.status, 400, "an API key call names its mohomId");
    let other = app.onboard_partner("partner-2", "P2-WEB", "INS-HEALTH").await;
    let other_org = app
        .send(app.with_key(
            TestRequest::post().uri("/api/v1/leads").set_json(serde_json::json!({"mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "01012345678", "region": "서울"})),
            &other.key,
        ))
        .await;
    assert_eq!(other_org.status, 404, "another org's mohomId");
    let list = app.send(get(&app, "/api/v1/leads?mohomId=m-1")).await.json();
    assert_eq!(list["pagination"]["total"], 0, "nothing was written");
}

async fn use_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let id = register(&app, "m-1", product, "홍길동", "010-1234-5678").await["id"].as_str().unwrap().to_owned();
    let use_it = || {
        app.with_key(
            TestRequest::post().uri(&format!("/api/v1/leads/{id}/use")).set_json(serde_json::json!({"mohomId": "m-1"})),
            &app.partner_key,
        )
    };
    let first = app.send(use_it()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let body = first.json();
    assert_eq!((body["name"].as_str(), body["phone"].as_str()), (Some("홍길동"), Some("01012345678")));
    assert_eq!(body["email"], "lead@example.com");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("lead_used", body, { ".assignmentId" => "[id]", ".assignedAt" => "[time]", ".usedAt" => "[time]" });
    });
    let second = app.send(use_it()).await.json();
    assert_eq!(second["usedAt"], body["usedAt"], "idempotent: the same usedAt");
    let lead: Uuid = id.parse().unwrap();
    assert_eq!(
        infra::pii_access::count_for_subject(app.db.db.conn(), "lead", lead).await.unwrap(),
        2,
        "each reveal logged"
    );
    let detail = app.send(get(&app, &format!("/api/v1/leads/{id}?mohomId=m-1"))).await.json();
    assert_eq!(detail["name"], "홍길동", "the owner sees it plain once used");
    assert_eq!(infra::pii_access::count_for_subject(app.db.db.conn(), "lead", lead).await.unwrap(), 3);
    let by_other = app
        .send(app.with_key(
            TestRequest::post().uri(&format!("/api/v1/leads/{id}/use")).set_json(serde_json::json!({"mohomId": "m-2"})),
            &app.partner_key,
        ))
        .await;
    assert_eq!((by_other.status.as_u16(), by_other.code().as_str()), (404, "LEAD_NOT_FOUND"));
    assert_eq!(
        infra::pii_access::count_for_subject(app.db.db.conn(), "lead", lead).await.unwrap(),
        3,
        "another user's attempt revealed and logged nothing"
    );
    let unknown = app
        .send(
            app.with_key(
                TestRequest::post()
                    .uri(&format!("/api/v1/leads/{}/use", Uuid::now_v7()))
                    .set_json(serde_json::json!({"mohomId": "m-1"})),
                &app.partner_key,
            ),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

async fn matrix_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let id = register(&app, "m-1", product, "홍길동", "010-1234-5678").await["id"].as_str().unwrap().to_owned();
    let as_owner = app.send(get(&app, &format!("/api/v1/leads/{id}?mohomId=m-1"))).await.json();
    assert_eq!(as_owner["phone"], "010****5678", "owner, unused: masked");
    let as_other = app.send(get(&app, &format!("/api/v1/leads/{id}?mohomId=m-2"))).await;
    assert_eq!(as_other.status, 404, "another user: not found");
    let token = app.token(&app.partner_key, "m-2").await;
    let bearer_other = app.send(app.with_bearer(TestRequest::get().uri(&format!("/api/v1/leads/{id}")), &token)).await;
    assert_eq!(bearer_other.status, 404);
    let bearer_mismatch =
        app.send(app.with_bearer(TestRequest::get().uri(&format!("/api/v1/leads/{id}?mohomId=m-1")), &token)).await;
    assert_eq!(bearer_mismatch.status, 404, "a token acts for its own user only");
    let owner_token = app.token(&app.partner_key, "m-1").await;
    app.send(app.with_bearer(TestRequest::post().uri(&format!("/api/v1/leads/{id}/use")), &owner_token)).await;
    let used =
        app.send(app.with_bearer(TestRequest::get().uri(&format!("/api/v1/leads/{id}")), &owner_token)).await.json();
    assert_eq!(used["phone"], "01012345678", "owner, used: plain");
}

async fn contacts_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let used = register(&app, "m-1", product, "홍길동", "010-1234-5678").await["id"].as_str().unwrap().to_owned();
    let unused = register(&app, "m-1", product, "김철수", "010-5555-6666").await["id"].as_str().unwrap().to_owned();
    let others = register(&app, "m-2", product, "박영희", "010-7777-8888").await["id"].as_str().unwrap().to_owned();
    app.send(app.with_key(
        TestRequest::post().uri(&format!("/api/v1/leads/{used}/use")).set_json(serde_json::json!({"mohomId": "m-1"})),
        &app.partner_key,
    ))
    .await;
    let ghost = Uuid::now_v7().to_string();
    let ask = |ids: serde_json::Value| {
        app.with_key(
            TestRequest::post()
                .uri("/api/v1/leads/contacts")
                .set_json(serde_json::json!({"mohomId": "m-1", "leadIds": ids})),
            &app.partner_key,
        )
    };
    let reply = app.send(ask(serde_json::json!([used, unused, others, ghost]))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["data"], serde_json::json!([{"id": used, "name": "홍길동", "phone": "01012345678"}]));
    let reasons: Vec<(&str, &str)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [(unused.as_str(), "LEAD_NOT_USED"), (others.as_str(), "LEAD_NOT_FOUND"), (ghost.as_str(), "LEAD_NOT_FOUND")]
    );
    assert!(!reply.text.contains("박영희") && !reply.text.contains("김철수"));
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("contacts", body, { ".data[].id" => "[id]", ".rejected[].id" => "[id]" });
    });
    let many: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    assert_eq!(app.send(ask(serde_json::json!(many))).await.status, 400, "over 100 ids");
    assert_eq!(app.send(ask(serde_json::json!([used, used]))).await.status, 400, "duplicates");
    assert_eq!(app.send(ask(serde_json::json!([]))).await.status, 400, "empty");
    assert_eq!(app.send(ask(serde_json::json!(["x"]))).await.status, 400, "malformed");
}

async fn list_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let health = product_id(&app, "INS-HEALTH").await;
    let car = product_id(&app, "INS-CAR").await;
    let a = register(&app, "m-1", health, "홍길동", "010-1234-5678").await["id"].as_str().unwrap().to_owned();
    let b = register(&app, "m-1", car, "김철수", "0399333999").await["id"].as_str().unwrap().to_owned();
    let c = register(&app, "m-1", health, "Nguyen Van A", "010-9999-5678").await["id"].as_str().unwrap().to_owned();
    register(&app, "m-2", health, "박영희", "010-7777-8888").await;
    app.send(app.with_key(
        TestRequest::post().uri(&format!("/api/v1/leads/{b}/use")).set_json(serde_json::json!({"mohomId": "m-1"})),
        &app.partner_key,
    ))
    .await;
    let m1: Uuid = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    testkit::record_as_status(
        &app.db,
        a.parse().unwrap(),
        m1,
        domain::lead::AsStatus::InReview,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    testkit::record_as_status(
        &app.db,
        c.parse().unwrap(),
        m1,
        domain::lead::AsStatus::Cancelled,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1".into()).await,
        [c.as_str(), b.as_str(), a.as_str()],
        "newest assigned first"
    );
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&sortOrder=asc".into()).await, [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&used=Y".into()).await, [b.as_str()]);
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&used=N".into()).await, [c.as_str(), a.as_str()]);
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1&hasAs=Y".into()).await,
        [a.as_str()],
        "a cancelled AS does not count"
    );
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1&hasAs=Y&sortBy=usedAt".into()).await,
        [a.as_str()],
        "hasAs=Y with sortBy=usedAt filters the same"
    );
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&hasAs=N".into()).await, [c.as_str(), b.as_str()]);
    assert_eq!(ids(&app, format!("/api/v1/leads?mohomId=m-1&productId={car}")).await, [b.as_str()]);
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&sortBy=usedAt".into()).await[0], b, "used leads first by usedAt");
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1&search=5678".into()).await,
        [c.as_str(), a.as_str()],
        "last 4 digits"
    );
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1&search=%2B84%20399%20333%20999".into()).await,
        [b.as_str()],
        "full phone"
    );
    assert_eq!(ids(&app, "/api/v1/leads?mohomId=m-1&search=nguyen%20van%20a".into()).await, [c.as_str()], "exact name");
    assert_eq!(
        ids(&app, "/api/v1/leads?mohomId=m-1&search=%EC%9E%90%EB%8F%99%EC%B0%A8".into()).await,
        [b.as_str()],
        "product name (자동차)"
    );
    let page = app.send(get(&app, "/api/v1/leads?mohomId=m-1&limit=2&page=2")).await.json();
    assert_eq!(page["pagination"], serde_json::json!({"page": 2, "limit": 2, "total": 3, "totalPages": 2}));
    let listed = app.send(get(&app, "/api/v1/leads?mohomId=m-1&used=Y")).await.json();
    assert_eq!(listed["data"][0]["name"], "김철수", "used: plain in the list");
    let masked = app.send(get(&app, "/api/v1/leads?mohomId=m-1&hasAs=Y")).await.json();
    assert_eq!(masked["data"][0]["name"], "홍*동");
    assert_eq!(masked["data"][0]["leadAsStatus"], "IN_REVIEW");
    assert_eq!(masked["data"][0]["leadAsStatusLabel"], "검토중");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("leads_list", masked, { ".data[].assignmentId" => "[id]", ".data[].assignedAt" => "[time]" });
    });
    for bad in ["used=yes", "hasAs=1", "sortBy=distributedAt", "productId=x", "providerId=y", "limit=0"] {
        let reply = app.send(get(&app, &format!("/api/v1/leads?mohomId=m-1&{bad}"))).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{bad}");
    }
}

async fn ids(app: &TestApp, uri: String) -> Vec<String> {
    let reply = app.send(get(app, &uri)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
    reply.json()["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
}

async fn owns_leads_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    register(&app, "m-1", product, "홍길동", "010-1234-5678").await;
    let reply = app.send(app.with_key(TestRequest::delete().uri("/api/v1/users/m-1"), &app.partner_key)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (409, "USER_OWNS_LEADS"));
    assert_eq!(app.get("/api/v1/users?search=01011112222").await.json()["pagination"]["total"], 1, "still active");
    let free = app.send(app.with_key(TestRequest::delete().uri("/api/v1/users/m-2"), &app.partner_key)).await;
    assert_eq!(free.status, 200);
}

/// `POST /api/v1/leads` and the intake's create share `NewLead::parse`, so metadata over
/// 8 KiB is the same 400 on both doors (the import shares it too, see
/// `domain::import` tests), and nothing is written.
async fn metadata_cap_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let product = product_id(&app, "INS-HEALTH").await;
    let big = "x".repeat(domain::lead::MAX_METADATA_BYTES);
    let register = serde_json::json!({
        "mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "01012345678", "region": "서울",
        "metadata": {"note": big}
    });
    let intake = serde_json::json!({
        "name": "Nguyen Van A", "mobileNumber": "0399000777", "regionCode": "79", "houseInformation": big
    });
    let replies = [
        app.send(app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(&register), &app.partner_key)).await,
        app.send(
            app.with_key(
                TestRequest::post()
                    .uri("/lead-platform/v1/leads/create")
                    .insert_header(("source", "TCB"))
                    .set_json(&intake),
                &app.partner_key,
            ),
        )
        .await,
    ];
    for reply in replies {
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{}", reply.text);
        assert_eq!(
            reply.json()["error"]["details"],
            serde_json::json!([{"field": "metadata", "reason": "must be at most 8 KiB"}])
        );
    }
    let list = app.send(get(&app, "/api/v1/leads?mohomId=m-1")).await.json();
    assert_eq!(list["pagination"]["total"], 0, "nothing was registered");
    let small = serde_json::json!({"mohomId": "m-1", "productId": product, "name": "홍길동", "phone": "01012345678", "region": "서울", "metadata": {"note": "x"}});
    let ok = app.send(app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(&small), &app.partner_key)).await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

/// A GET on a POST-only path beside `{leadId}` is a wrong method, not a bad lead id.
#[actix_web::test]
async fn a_get_on_a_post_only_sibling_is_405() {
    let app = TestApp::new(TestDb::sqlite().await).await;
    for path in api::routes::leads::POST_ONLY_SIBLINGS {
        let reply = app.send(get(&app, &format!("{path}?mohomId=m-1"))).await;
        assert_eq!(reply.status.as_u16(), 405, "{path}: {}", reply.text);
        assert!(api::openapi::allowed_methods(path).is_some_and(|m| m == "POST"), "{path} is documented POST only");
    }
}

/// The document states the lead rules the domain enforces, from the same constants.
#[test]
fn the_document_states_the_domains_lead_rules() {
    use domain::lead::{
        MAX_ADDRESS_CHARS, MAX_CONTACT_IDS, MAX_MEMO_CHARS, MAX_TRANSFER_IDS, NAME_PATTERN, PHONE_PATTERN, TEXT_PATTERN,
    };
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateLeadV1Request"]["properties"];
    assert_eq!(create["phone"]["pattern"], PHONE_PATTERN);
    assert_eq!(create["name"]["pattern"], NAME_PATTERN);
    assert_eq!(create["name"]["maxLength"], domain::pii::PersonName::MAX_CHARS);
    assert_eq!(create["email"]["maxLength"], domain::pii::Email::MAX_CHARS);
    assert_eq!(
        (&create["address"]["pattern"], &create["address"]["maxLength"]),
        (&TEXT_PATTERN.into(), &MAX_ADDRESS_CHARS.into())
    );
    assert_eq!(
        (&create["memo"]["pattern"], &create["memo"]["maxLength"]),
        (&TEXT_PATTERN.into(), &MAX_MEMO_CHARS.into())
    );
    assert_eq!(create["gender"]["enum"], serde_json::json!(["MALE", "FEMALE", null]));
    for (schema, max) in [
        ("ContactsRequest", MAX_CONTACT_IDS),
        ("DistributeRequest", MAX_TRANSFER_IDS),
        ("RecallRequest", MAX_TRANSFER_IDS),
    ] {
        let properties = &schemas[schema]["properties"];
        assert_eq!(properties["leadIds"]["maxItems"], max, "{schema}");
        assert_eq!(properties["mohomId"]["pattern"], api::openapi::MOHOM_ID_PATTERN, "{schema}");
    }
    assert_eq!(schemas["CreateLeadV1Request"]["properties"]["mohomId"]["pattern"], api::openapi::MOHOM_ID_PATTERN);
    assert_eq!(schemas["DistributeRequest"]["properties"]["toMohomId"]["pattern"], api::openapi::MOHOM_ID_PATTERN);
}

/// What one request sends to the database, counted under a use case of its own.
async fn statements_of(app: &TestApp, use_case: &str, req: TestRequest) -> (u16, u64) {
    let sent =
        |uc: &str| -> u64 { infra::statements::snapshot().iter().filter(|c| c.use_case == uc).map(|c| c.total).sum() };
    let before = sent(use_case);
    let reply = infra::statements::scoped(use_case.to_owned(), app.send(req)).await;
    (reply.status.as_u16(), sent(use_case) - before)
}

/// The read path of issue #15 over the API: whatever finding the caller costs (the key,
/// the acting member), a page costs one statement more, the same with rows or without,
/// revealed or not (the reveal log is its own use case, `reveal-log`); so do a search by
/// full phone and a detail; a page past the last row costs one more (its count).
async fn statements_body(db: TestDb) {
    let app = TestApp::new(db).await;
    setup(&app).await;
    let backend = format!("{:?}", app.db.backend);
    let product = product_id(&app, "INS-HEALTH").await;
    let mut ids = Vec::new();
    for (name, phone) in [("홍길동", "010-1234-5678"), ("김철수", "010-5555-6666"), ("박영희", "010-7777-8888")]
    {
        ids.push(register(&app, "m-1", product, name, phone).await["id"].as_str().unwrap().to_owned());
    }
    app.send(
        app.with_key(
            TestRequest::post()
                .uri(&format!("/api/v1/leads/{}/use", ids[0]))
                .set_json(serde_json::json!({"mohomId": "m-1"})),
            &app.partner_key,
        ),
    )
    .await;
    // Warm whatever the server keeps of the caller, for both members.
    for uri in ["/api/v1/leads?mohomId=m-1", "/api/v1/leads?mohomId=m-2"] {
        assert_eq!(app.send(get(&app, uri)).await.status, 200);
    }
    let uc = |what: &str| format!("test: leads statements {what} {backend}");
    let (status, empty) = statements_of(&app, &uc("empty"), get(&app, "/api/v1/leads?mohomId=m-2")).await;
    assert_eq!(status, 200);
    let (status, page) = statements_of(&app, &uc("page"), get(&app, "/api/v1/leads?mohomId=m-1")).await;
    assert_eq!(status, 200);
    assert_eq!(page, empty, "a page of 3 leads, one revealed, costs what an empty page costs");
    let (status, search) =
        statements_of(&app, &uc("search"), get(&app, "/api/v1/leads?mohomId=m-1&search=01055556666")).await;
    assert_eq!(status, 200);
    assert_eq!(search, page, "a search by full phone costs what a page costs");
    let (status, detail) =
        statements_of(&app, &uc("detail"), get(&app, &format!("/api/v1/leads/{}?mohomId=m-1", ids[0]))).await;
    assert_eq!(status, 200);
    assert_eq!(detail, page, "a revealed detail costs what a page costs");
    let (status, past) = statements_of(&app, &uc("past"), get(&app, "/api/v1/leads?mohomId=m-1&page=2&limit=10")).await;
    assert_eq!(status, 200);
    assert_eq!(past, page + 1, "past the last row, the count is one more statement");
    eprintln!("statements per request ({backend}): page {page}, search {search}, detail {detail}, past the end {past}");
}
