use infra::idempotency::{Begin, abandon, begin, complete, fingerprint, purge_expired};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};

testkit::on_both_backends! { tokio::test;
    an_idempotency_key_replays_refuses_and_expires => idempotency_body;
}

async fn idempotency_body(db: TestDb) {
    let conn = db.db.conn();
    let now = OffsetDateTime::now_utc();
    let org_a = domain::ids::new_id();
    let org_b = domain::ids::new_id();
    let body = fingerprint("POST", "/x", b"{\"a\":1}");
    let other = fingerprint("POST", "/x", b"{\"a\":2}");

    assert_eq!(begin(conn, org_a, "k1", &body, now).await.expect("begin"), Begin::Fresh);
    assert_eq!(begin(conn, org_a, "k1", &body, now).await.expect("again"), Begin::InFlight);
    assert_eq!(begin(conn, org_a, "k1", &other, now).await.expect("other body"), Begin::Mismatch);
    assert_eq!(begin(conn, org_b, "k1", &body, now).await.expect("other org"), Begin::Fresh, "scoped by org");

    complete(conn, org_a, "k1", 201, "{\"id\":1}").await.expect("complete");
    assert_eq!(
        begin(conn, org_a, "k1", &body, now).await.expect("replay"),
        Begin::Replay { status: 201, body: "{\"id\":1}".to_owned() }
    );

    abandon(conn, org_b, "k1").await.expect("abandon");
    assert_eq!(begin(conn, org_b, "k1", &body, now).await.expect("retry"), Begin::Fresh, "abandoned keys run again");

    let later = now + Duration::hours(25);
    assert_eq!(begin(conn, org_a, "k1", &other, later).await.expect("expired"), Begin::Fresh, "24 h lifetime");
    assert_eq!(purge_expired(conn, later + Duration::hours(25)).await.expect("purge"), 2);
}
