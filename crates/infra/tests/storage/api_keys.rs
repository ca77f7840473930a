use infra::api_keys::{issue, lookup, revoke};
use infra::fixtures::{org_id_by_code, seed_demo};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};

testkit::on_both_backends! { tokio::test;
    a_key_authenticates_until_it_is_revoked => key_lifecycle_body;
}

async fn key_lifecycle_body(db: TestDb) {
    let now = OffsetDateTime::now_utc();
    seed_demo(&db.db, now).await.expect("seed");
    let org = org_id_by_code(db.db.conn(), "mohom").await.expect("query").expect("demo org");
    let key = issue(db.db.conn(), org, "test", &["*"], now).await.expect("issue");
    assert!(key.plaintext.starts_with("ldb_live_"));

    let principal = lookup(db.db.conn(), &key.plaintext).await.expect("auth").expect("valid key");
    assert_eq!((principal.org_id, principal.org_code.as_str()), (org, "mohom"));

    let mut wrong = key.plaintext.clone();
    wrong.pop();
    wrong.push('x');
    assert!(lookup(db.db.conn(), &wrong).await.expect("auth").is_none(), "wrong secret");
    assert!(lookup(db.db.conn(), "ldb_live_000000000000_00").await.expect("auth").is_none(), "unknown");
    assert!(lookup(db.db.conn(), "garbage").await.expect("auth").is_none(), "malformed");

    assert!(revoke(db.db.conn(), key.id, now + Duration::seconds(1)).await.expect("revoke"));
    assert!(!revoke(db.db.conn(), key.id, now + Duration::seconds(2)).await.expect("revoke twice"), "once only");
    assert!(lookup(db.db.conn(), &key.plaintext).await.expect("auth").is_none(), "revoked");
}
