//! The OpenAPI document is a contract: every change shows in this snapshot.

use testkit::TestDb;

use crate::helpers::TestApp;

#[test]
fn the_openapi_document_is_snapshotted() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/v1/products", "/api/v1/products/{productId}/as-policy", "/api/v1/regions", "/api/v1/as/reasons"]
    {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
    insta::assert_json_snapshot!("openapi", doc);
}

#[test]
fn docs_openapi_json_is_the_current_document() {
    let committed = include_str!("../../../../docs/openapi.json");
    let committed: serde_json::Value = serde_json::from_str(committed).expect("docs/openapi.json is JSON");
    let current: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).expect("JSON");
    assert!(committed == current, "docs/openapi.json is stale: run `just openapi`");
}

testkit::on_both_backends! { actix_web::test;
    the_document_and_its_viewer_are_served_offline => served_body;
}

async fn served_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let doc = app.get_anonymous("/api-docs/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["info"]["title"], "LDBDS API");

    let page = app.get_anonymous("/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/docs/swagger-ui-bundle.js") && page.text.contains("/api-docs/openapi.json"));
    assert!(!page.text.contains("https://"), "the viewer page loads nothing from the network");
    let bundle = app.get_anonymous("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the Swagger UI bundle is compiled in");
    let redirect = app.get_anonymous("/docs").await;
    assert_eq!((redirect.status.as_u16(), redirect.header("location")), (308, Some("/docs/")));
}
