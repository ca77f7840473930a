use infra::idempotency::{Begin, Scope, abandon, begin, complete, fingerprint, purge_expired};
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};

testkit::on_both_backends! { tokio::test;
    an_idempotency_key_replays_refuses_and_expires => idempotency_body;
    a_record_belongs_to_one_principal => principal_body;
    a_stored_reply_is_sealed_and_bound_to_its_row => sealed_body;
    stored_replies_move_to_the_new_key_with_a_rotation => rotation_body;
}

async fn idempotency_body(db: TestDb) {
    let conn = db.db.conn();
    let keyring = testkit::keyring();
    let now = OffsetDateTime::now_utc();
    let (org_a, org_b) = (domain::ids::new_id(), domain::ids::new_id());
    let a = Scope { org_id: org_a, principal: "key:a" };
    let b = Scope { org_id: org_b, principal: "key:b" };
    let body = fingerprint("POST", "/x", "key:a", b"{\"a\":1}");
    let other = fingerprint("POST", "/x", "key:a", b"{\"a\":2}");

    assert_eq!(begin(conn, &keyring, a, "k1", &body, now).await.expect("begin"), Begin::Fresh);
    assert_eq!(begin(conn, &keyring, a, "k1", &body, now).await.expect("again"), Begin::InFlight);
    assert_eq!(begin(conn, &keyring, a, "k1", &other, now).await.expect("other body"), Begin::Mismatch);
    assert_eq!(begin(conn, &keyring, b, "k1", &body, now).await.expect("other org"), Begin::Fresh, "scoped");

    complete(conn, &keyring, a, "k1", 201, "{\"id\":1}").await.expect("complete");
    assert_eq!(
        begin(conn, &keyring, a, "k1", &body, now).await.expect("replay"),
        Begin::Replay { status: 201, body: "{\"id\":1}".to_owned() }
    );

    abandon(conn, b, "k1").await.expect("abandon");
    assert_eq!(begin(conn, &keyring, b, "k1", &body, now).await.expect("retry"), Begin::Fresh, "abandoned run again");

    let later = now + Duration::hours(25);
    assert_eq!(begin(conn, &keyring, a, "k1", &other, later).await.expect("expired"), Begin::Fresh, "24 h lifetime");
    assert_eq!(purge_expired(conn, later + Duration::hours(25)).await.expect("purge"), 2);
}

/// Two members of one org (or one API key acting for two members) sending the same key
/// and body get two records: the second is never answered with the first's reply.
async fn principal_body(db: TestDb) {
    let conn = db.db.conn();
    let keyring = testkit::keyring();
    let now = OffsetDateTime::now_utc();
    let org = domain::ids::new_id();
    let request = b"{\"productId\":\"p\",\"memo\":\"for A only\"}";
    let pairs = [("user:a", "user:b"), ("key:k/user:a", "key:k/user:b"), ("key:k", "key:k/user:c")];
    for (first, second) in pairs {
        let (sa, sb) = (Scope { org_id: org, principal: first }, Scope { org_id: org, principal: second });
        let fa = fingerprint("POST", "/api/v1/orders", first, request);
        let fb = fingerprint("POST", "/api/v1/orders", second, request);
        assert_ne!(fa, fb, "the fingerprint covers the acting principal");
        assert_eq!(begin(conn, &keyring, sa, "shared", &fa, now).await.expect("a"), Begin::Fresh);
        complete(conn, &keyring, sa, "shared", 201, "{\"memo\":\"for A only\"}").await.expect("complete");
        assert_eq!(begin(conn, &keyring, sb, "shared", &fb, now).await.expect("b"), Begin::Fresh, "{second}");
        abandon(conn, sb, "shared").await.expect("abandon");
        assert!(matches!(begin(conn, &keyring, sa, "shared", &fa, now).await.expect("a again"), Begin::Replay { .. }));
    }
}

/// The reply is sealed: no plaintext in the row, and a sealed reply moved to another
/// row does not open.
async fn sealed_body(db: TestDb) {
    let conn = db.db.conn();
    let keyring = testkit::keyring();
    let now = OffsetDateTime::now_utc();
    let org = domain::ids::new_id();
    let (a, b) = (Scope { org_id: org, principal: "user:a" }, Scope { org_id: org, principal: "user:b" });
    let secret = "{\"memo\":\"canary-idem-홍길동-01098765432\"}";
    let fa = fingerprint("POST", "/x", "user:a", b"{}");
    let fb = fingerprint("POST", "/x", "user:b", b"{}");
    assert_eq!(begin(conn, &keyring, a, "k", &fa, now).await.expect("a"), Begin::Fresh);
    complete(conn, &keyring, a, "k", 201, secret).await.expect("complete a");
    assert_eq!(begin(conn, &keyring, b, "k", &fb, now).await.expect("b"), Begin::Fresh);
    complete(conn, &keyring, b, "k", 201, "{}").await.expect("complete b");

    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT principal, response_enc, enc_key_id FROM idempotency_records ORDER BY principal",
        ))
        .await
        .expect("raw rows");
    assert_eq!(rows.len(), 2);
    let sealed: Vec<Vec<u8>> = rows.iter().map(|r| r.try_get("", "response_enc").expect("response_enc")).collect();
    for bytes in &sealed {
        assert!(!String::from_utf8_lossy(bytes).contains("canary-idem"), "no plaintext reply in the row");
        assert!(!bytes.windows(11).any(|w| w == b"01098765432"));
    }
    let key_id: Option<i32> = rows[0].try_get("", "enc_key_id").expect("enc_key_id");
    let stored_keys = conn
        .query_all_raw(Statement::from_string(backend, "SELECT idem_key FROM idempotency_records"))
        .await
        .expect("keys");
    for row in stored_keys {
        let stored: String = row.try_get("", "idem_key").expect("idem_key");
        assert_eq!(stored.len(), 64, "the key is stored as its SHA-256, not as sent ({stored})");
    }
    assert_eq!(key_id, Some(i32::try_from(keyring.active_key_id()).expect("id")));

    // Move A's sealed reply onto B's row: it must not open there.
    let moved = match backend {
        sea_orm::DatabaseBackend::Postgres => "UPDATE idempotency_records SET response_enc = $1 WHERE principal = $2",
        _ => "UPDATE idempotency_records SET response_enc = ? WHERE principal = ?",
    };
    conn.execute_raw(Statement::from_sql_and_values(backend, moved, [sealed[0].clone().into(), "user:b".into()]))
        .await
        .expect("move");
    assert!(begin(conn, &keyring, b, "k", &fb, now).await.is_err(), "a moved reply is refused");
    assert!(matches!(begin(conn, &keyring, a, "k", &fa, now).await.expect("a"), Begin::Replay { .. }));
}

/// `ldbds keys rotate` re-seals stored replies; after it, the old key can be retired
/// and the reply still replays.
async fn rotation_body(db: TestDb) {
    let conn = db.db.conn();
    let (k1, k2) = (infra::crypto::generate_key().unwrap(), infra::crypto::generate_key().unwrap());
    let index = testkit::fixed_index_key();
    let ring1 = testkit::keyring_with(&[(1, k1)], 1, &[], index);
    let ring12 = testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[], index);
    let retired = testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[1], index);
    let now = OffsetDateTime::now_utc();
    let scope = Scope { org_id: domain::ids::new_id(), principal: "user:a" };
    let request = fingerprint("POST", "/x", "user:a", b"{}");
    assert_eq!(begin(conn, &ring1, scope, "k", &request, now).await.unwrap(), Begin::Fresh);
    complete(conn, &ring1, scope, "k", 201, "{\"id\":7}").await.unwrap();
    assert_eq!(infra::idempotency::count_by_key(conn).await.unwrap(), vec![(1, 1)]);
    assert_eq!(infra::idempotency::pending_rotation(conn, &ring12).await.unwrap(), 1);
    assert!(infra::rotation::pending(&db.db, &ring12).await.unwrap() >= 1, "counted by the rotation");

    let done = infra::rotation::rotate(&db.db, &ring12, 10, |_| {}).await.unwrap();
    assert!(done.rotated >= 1);
    assert_eq!(infra::idempotency::count_by_key(conn).await.unwrap(), vec![(2, 1)]);
    assert_eq!(infra::idempotency::pending_rotation(conn, &ring12).await.unwrap(), 0);
    assert_eq!(
        begin(conn, &retired, scope, "k", &request, now).await.unwrap(),
        Begin::Replay { status: 201, body: "{\"id\":7}".to_owned() },
        "opens with key 1 retired"
    );
}
