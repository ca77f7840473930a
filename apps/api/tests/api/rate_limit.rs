use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::TestApp;

testkit::on_both_backends! { actix_web::test;
    a_key_over_its_burst_gets_429_and_others_do_not => rate_limit_body;
}

async fn rate_limit_body(db: TestDb) {
    let app = TestApp::with(db, &[("LDBDS__RATE_LIMIT__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__BURST", "2")]).await;
    assert_eq!(app.get("/api/v1/as/reasons").await.status, 200);
    assert_eq!(app.get("/api/v1/as/reasons").await.status, 200);
    let limited = app.get("/api/v1/as/reasons").await;
    assert_eq!((limited.status.as_u16(), limited.code().as_str()), (429, "RATE_LIMITED"));
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");

    let other = app
        .send(TestRequest::get().uri("/api/v1/as/reasons").insert_header(("X-API-Key", app.operator_key.as_str())))
        .await;
    assert_eq!(other.status, 200, "another key has its own bucket");
}
