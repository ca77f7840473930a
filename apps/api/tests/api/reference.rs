use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    regions_list_17_korean_and_34_vietnamese_values => regions_body;
    regions_filter_by_country_and_refuse_an_unknown_one => regions_country_body;
    the_catalogue_lists_products_on_sale => catalogue_body;
    the_catalogue_sorts_filters_and_pages => catalogue_paging_body;
    an_as_policy_is_readable_even_off_sale => as_policy_body;
    an_unknown_or_malformed_product_id_is_refused => as_policy_errors_body;
    as_reasons_list_the_eight_codes => as_reasons_body;
    reference_endpoints_need_a_live_key => auth_body;
}

async fn regions_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app.get("/api/v1/regions").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 51);
    assert_eq!(data.iter().filter(|r| r["country"] == "KR").count(), 17);
    insta::assert_json_snapshot!("regions", body);
}

async fn regions_country_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let vn = app.get("/api/v1/regions?country=VN").await.json();
    assert_eq!(vn["data"].as_array().expect("data").len(), 34);
    assert!(vn["data"].as_array().expect("data").iter().any(|r| r["code"] == "79"));
    let bad = app.get("/api/v1/regions?country=JP").await;
    assert_eq!((bad.status.as_u16(), bad.code().as_str()), (400, "VALIDATION_FAILED"));
    assert_eq!(bad.json()["error"]["details"][0]["field"], "country");
}

async fn catalogue_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app.get("/api/v1/products?sortBy=name&sortOrder=asc").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let names: Vec<&str> = body["data"].as_array().expect("data").iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(!names.iter().any(|n| n.contains("판매 중지")), "off-sale products are not listed: {names:?}");
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("products", body));
}

async fn catalogue_paging_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let cheap_first = app.get("/api/v1/products?sortBy=unitPrice&sortOrder=asc").await.json();
    let prices: Vec<&str> =
        cheap_first["data"].as_array().expect("data").iter().filter_map(|p| p["unitPrice"].as_str()).collect();
    assert_eq!(prices, ["18000.50", "30000", "120000"]);

    let page2 = app.get("/api/v1/products?sortBy=unitPrice&sortOrder=asc&limit=1&page=2").await.json();
    assert_eq!(page2["data"][0]["unitPrice"], "30000");
    assert_eq!(page2["pagination"], serde_json::json!({"page": 2, "limit": 1, "total": 3, "totalPages": 3}));

    let insurance = app.get("/api/v1/products?category=INSURANCE").await.json();
    assert_eq!(insurance["pagination"]["total"], 2);

    let beyond = app.get("/api/v1/products?page=9").await.json();
    assert_eq!(beyond["data"].as_array().map(Vec::len), Some(0));
    assert_eq!(beyond["pagination"]["total"], 3);
}

async fn product_id(app: &TestApp, code_name_fragment: &str) -> String {
    let all = app.get("/api/v1/products?limit=100").await.json();
    all["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["name"].as_str().is_some_and(|n| n.contains(code_name_fragment)))
        .and_then(|p| p["id"].as_str())
        .expect("product")
        .to_owned()
}

async fn as_policy_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let id = product_id(&app, "실손").await;
    let reply = app.get(&format!("/api/v1/products/{id}/as-policy")).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["productId"], id.as_str());
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("as_policy", body));

    let loan_id = infra::fixtures::product_id_by_code(app.db.db.conn(), "LOAN-CREDIT").await.expect("q").expect("id");
    let off_sale = app.get(&format!("/api/v1/products/{loan_id}/as-policy")).await;
    assert_eq!(off_sale.status, 200);
    assert_eq!(off_sale.json()["compensation"], "REFUND");
}

async fn as_policy_errors_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let unknown = app.get(&format!("/api/v1/products/{}/as-policy", uuid::Uuid::now_v7())).await;
    assert_eq!((unknown.status.as_u16(), unknown.code().as_str()), (404, "PRODUCT_NOT_FOUND"));
    let malformed = app.get("/api/v1/products/not-a-uuid/as-policy").await;
    assert_eq!((malformed.status.as_u16(), malformed.code().as_str()), (400, "VALIDATION_FAILED"));
    assert_eq!(malformed.json()["error"]["details"][0]["field"], "productId");
}

async fn as_reasons_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app.get("/api/v1/as/reasons").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["data"].as_array().map(Vec::len), Some(8));
    insta::assert_json_snapshot!("as_reasons", body);
}

async fn auth_body(db: TestDb) {
    let app = TestApp::new(db).await;
    for uri in ["/api/v1/regions", "/api/v1/products", "/api/v1/as/reasons"] {
        let anonymous = app.get_anonymous(uri).await;
        assert_eq!((anonymous.status.as_u16(), anonymous.code().as_str()), (401, "UNAUTHORIZED"), "{uri}");
    }
    let wrong = app
        .send(actix_web::test::TestRequest::get().uri("/api/v1/regions").insert_header(("X-API-Key", "ldb_live_x_y")))
        .await;
    assert_eq!(wrong.status, 401);

    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.expect("q").expect("org");
    let key = infra::api_keys::issue(app.db.db.conn(), org, "t", &["*"], time::OffsetDateTime::now_utc())
        .await
        .expect("issue");
    let with_key =
        |k: &str| actix_web::test::TestRequest::get().uri("/api/v1/regions").insert_header(("X-API-Key", k.to_owned()));
    assert_eq!(app.send(with_key(&key.plaintext)).await.status, 200);
    infra::api_keys::revoke(app.db.db.conn(), key.id, time::OffsetDateTime::now_utc()).await.expect("revoke");
    assert_eq!(app.send(with_key(&key.plaintext)).await.status, 401, "a revoked key is refused");
    assert_eq!(app.send(with_key(&app.operator_key)).await.status, 200, "the operator's key reads reference data");
}
