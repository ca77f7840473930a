use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    health_and_readiness_answer_while_the_database_does => health_body;
    metrics_count_requests_by_route_pattern_and_status => metrics_body;
}

async fn health_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let live = app.get_anonymous("/healthz").await;
    assert_eq!((live.status.as_u16(), live.json()["status"].as_str()), (200, Some("ok")));
    assert_eq!(app.get_anonymous("/readyz").await.status, 200);

    app.db.db.conn().close_by_ref().await.expect("close pool");
    let not_ready = app.get_anonymous("/readyz").await;
    assert_eq!((not_ready.status.as_u16(), not_ready.json()["status"].as_str()), (503, Some("unavailable")));
    assert_eq!(app.get_anonymous("/healthz").await.status, 200, "liveness does not depend on the database");
}

async fn metrics_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let id = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/products/{id}/as-policy")).await;
    app.get("/api/v1/regions").await;
    let text = app.get_anonymous("/metrics").await.text;
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/regions",status="200"} 1"#), "{text}");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/products/{productId}/as-policy",status="404"} 1"#
        ),
        "the route label is the pattern, not the path: {text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
}
