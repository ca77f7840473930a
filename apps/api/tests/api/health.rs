use actix_web::http::Method;
use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    health_and_readiness_answer_while_the_database_does => health_body;
    metrics_count_requests_by_route_pattern_and_status => metrics_body;
    made_up_methods_and_random_paths_add_no_metric_series => metrics_bounded_body;
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

async fn metrics_bounded_body(db: TestDb) {
    let app = TestApp::new(db).await;
    // Made-up methods on a known path and on unknown paths, random unknown paths, random
    // ids in a route with a parameter: the kinds of request an anonymous caller can vary.
    let round = |i: usize| {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let id = uuid::Uuid::now_v7();
        [
            TestRequest::default().method(method.clone()).uri("/api/v1/regions"),
            TestRequest::default().method(method).uri(&format!("/random-{i}/{id}")),
            TestRequest::get().uri(&format!("/api/v1/random-{i}-{id}?q={i}")),
            TestRequest::get().uri(&format!("/api/v1/products/{id}/as-policy")),
        ]
    };
    for req in round(0) {
        app.send(req).await;
    }
    app.get_anonymous("/metrics").await;
    let before = app.get_anonymous("/metrics").await.text;
    for i in 1..=150 {
        for req in round(i) {
            app.send(req).await;
        }
    }
    let after = app.get_anonymous("/metrics").await.text;

    let series = |text: &str| text.lines().filter(|l| l.starts_with("http_requests_total{")).count();
    assert_eq!(series(&after), series(&before), "600 varied requests added series:\n{after}");
    // The statement counts are the whole process's, and the tests running beside this one
    // add their use cases to them meanwhile: the bound checked here is the registry's.
    let own_lines = |text: &str| text.lines().filter(|l| !l.contains("ldbds_db_statements_total")).count();
    assert_eq!(own_lines(&after), own_lines(&before), "{after}");
    assert!(!after.contains("MADEUP") && !after.contains("random-"), "a caller's text became a label:\n{after}");
    assert!(
        after.contains(r#"http_requests_total{method="OTHER",route="/api/v1/regions",status="405"} 151"#),
        "{after}"
    );
    assert!(after.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 151"#), "{after}");
}
