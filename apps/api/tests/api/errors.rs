use actix_web::http::Method;
use actix_web::http::header::ContentType;
use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    malformed_json_is_a_400_and_writes_nothing => malformed_json_body;
    an_unknown_field_is_refused_by_name => unknown_field_body;
    a_missing_field_is_refused_by_name => missing_field_body;
    a_body_over_the_limit_is_a_413 => oversize_body;
    a_non_json_content_type_is_a_415 => content_type_body;
    bad_pagination_and_sorting_are_400s_naming_the_parameter => pagination_body;
    an_unknown_route_is_a_json_404 => unknown_route_body;
    a_known_path_with_another_method_is_a_405_with_allow => wrong_method_body;
    an_empty_filter_value_is_a_400_not_ignored => empty_filter_body;
    an_optional_body_that_is_there_must_parse => optional_body_body;
    every_response_carries_the_request_id_of_its_body => request_id_body;
}

async fn malformed_json_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app
        .send_widgets(app.widget_post(&app.partner_key).insert_header(ContentType::json()).set_payload("{\"name\": "))
        .await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "INVALID_JSON"));
    assert_eq!(app.widgets_created().await, 0);
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("error_invalid_json", reply.json()));
}

async fn unknown_field_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let body = serde_json::json!({"name": "a", "quantity": 1, "owner": "someone-else"});
    let reply = app.send_widgets(app.widget_post(&app.partner_key).set_json(body)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "INVALID_JSON"));
    assert_eq!(reply.json()["error"]["details"], serde_json::json!([{"field": "owner", "reason": "unknown field"}]));
    assert_eq!(app.widgets_created().await, 0);
}

async fn missing_field_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app.send_widgets(app.widget_post(&app.partner_key).set_json(serde_json::json!({"name": "a"}))).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["details"][0]["field"], "quantity");
    assert_eq!(app.widgets_created().await, 0);
}

async fn oversize_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let name = "x".repeat(1024 * 1024 + 1);
    let reply = app
        .send_widgets(app.widget_post(&app.partner_key).set_json(serde_json::json!({"name": name, "quantity": 1})))
        .await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (413, "PAYLOAD_TOO_LARGE"));
    assert_eq!(app.widgets_created().await, 0);
}

async fn content_type_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app
        .send_widgets(app.widget_post(&app.partner_key).insert_header(ContentType::plaintext()).set_payload("{}"))
        .await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (415, "UNSUPPORTED_MEDIA_TYPE"));
}

async fn pagination_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("sortBy=price", "sortBy"),
        ("sortOrder=sideways", "sortOrder"),
    ];
    for (query, field) in cases {
        let reply = app.get(&format!("/api/v1/products?{query}")).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{query}");
        assert_eq!(reply.json()["error"]["details"][0]["field"], field, "{query}");
    }
    let reply = app.get("/api/v1/products?limit=500&sortBy=colour").await;
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("error_validation", reply.json()));
}

async fn unknown_route_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let reply = app.get("/api/v1/nothing-here").await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (404, "ROUTE_NOT_FOUND"));
}

async fn wrong_method_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let cases = [
        (TestRequest::default().method(Method::TRACE).uri("/api/v1/regions"), "GET"),
        (TestRequest::delete().uri("/api/v1/orders"), "GET, POST"),
        (TestRequest::get().uri("/api/v1/leads/contacts"), "POST"),
        (TestRequest::post().uri(&format!("/api/v1/leads/{}", uuid::Uuid::nil())), "GET"),
    ];
    for (req, allow) in cases {
        let reply = app.send(app.with_key(req, &app.partner_key)).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (405, "METHOD_NOT_ALLOWED"), "{allow}");
        assert_eq!(reply.header("allow"), Some(allow));
    }
    let not_an_id = app.get("/api/v1/leads/not-a-uuid?mohomId=m-1").await;
    assert_eq!((not_an_id.status.as_u16(), not_an_id.code().as_str()), (400, "VALIDATION_FAILED"));
}

async fn empty_filter_body(db: TestDb) {
    let app = TestApp::new(db).await;
    for (uri, field) in [("/api/v1/regions?country=", "country"), ("/api/v1/users?role=", "role")] {
        let reply = app.get(uri).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{uri}");
        assert_eq!(reply.json()["error"]["details"][0]["field"], field, "{uri}");
    }
}

async fn optional_body_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let nil = uuid::Uuid::nil();
    for uri in
        [format!("/api/v1/orders/{nil}/cancel?mohomId=nobody"), format!("/api/v1/leads/{nil}/use?mohomId=nobody")]
    {
        let garbage = TestRequest::post().uri(&uri).insert_header(ContentType::json()).set_payload("\u{19}~l");
        let reply = app.send(app.with_key(garbage, &app.partner_key)).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "INVALID_JSON"), "{uri}");
        let not_json = TestRequest::post().uri(&uri).insert_header(ContentType::plaintext()).set_payload("x");
        let reply = app.send(app.with_key(not_json, &app.partner_key)).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (415, "UNSUPPORTED_MEDIA_TYPE"), "{uri}");
        for empty in [
            TestRequest::post().uri(&uri),
            TestRequest::post().uri(&uri).insert_header(ContentType::json()).set_payload("null"),
        ] {
            let reply = app.send(app.with_key(empty, &app.partner_key)).await;
            assert_eq!((reply.status.as_u16(), reply.code().as_str()), (404, "USER_NOT_FOUND"), "{uri}");
        }
    }
}

async fn request_id_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let ok = app.get("/api/v1/regions").await;
    let id = ok.header("x-request-id").expect("request id on success");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let refused = app.get_anonymous("/api/v1/regions").await;
    let header = refused.header("x-request-id").expect("request id on error").to_owned();
    assert_eq!(refused.json()["requestId"], header.as_str());
    assert_ne!(header, id, "each request has its own id");
}
