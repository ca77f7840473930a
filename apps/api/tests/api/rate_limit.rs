use std::net::SocketAddr;

use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_key_over_its_burst_gets_429_and_others_do_not => rate_limit_body;
    search_runs_out_of_its_own_bucket_before_the_general_one => search_body;
    contact_reveals_run_out_of_their_own_bucket => reveal_body;
    failed_authentication_is_limited_per_client_address => auth_failure_body;
    x_forwarded_for_counts_only_from_a_trusted_proxy => forwarded_body;
    sso_is_limited_per_client_address => sso_body;
    tokens_minted_by_one_key_share_its_bucket => shared_bucket_body;
}

/// A 429 `RATE_LIMITED` with a `Retry-After` of whole seconds within `max`.
fn assert_limited(reply: &Reply, max: u64, what: &str) {
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (429, "RATE_LIMITED"), "{what}: {}", reply.text);
    let retry_after: u64 = reply.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=max).contains(&retry_after), "{what}: Retry-After {retry_after}");
}

fn from(addr: &str, req: TestRequest) -> TestRequest {
    req.peer_addr(addr.parse::<SocketAddr>().expect("socket address"))
}

async fn rate_limit_body(db: TestDb) {
    let app = TestApp::with(db, &[("LDBDS__RATE_LIMIT__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__BURST", "2")]).await;
    assert_eq!(app.get("/api/v1/as/reasons").await.status, 200);
    assert_eq!(app.get("/api/v1/as/reasons").await.status, 200);
    let limited = app.get("/api/v1/as/reasons").await;
    assert_limited(&limited, 2, "the key's bucket");

    let other = app
        .send(TestRequest::get().uri("/api/v1/as/reasons").insert_header(("X-API-Key", app.operator_key.as_str())))
        .await;
    assert_eq!(other.status, 200, "another key has its own bucket");
}

async fn search_body(db: TestDb) {
    let app =
        TestApp::with(db, &[("LDBDS__RATE_LIMIT__SEARCH__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__SEARCH__BURST", "3")])
            .await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    app.create_user(&app.partner_key, member("m-2", "김철수", "010-2222-3333", "kim@example.com")).await;
    let search = |who: &str, term: &str| format!("/api/v1/leads?mohomId={who}&search={term}");
    for term in ["010-9999-8888", "8888", "hong@example.com"] {
        assert_eq!(app.get(&search("m-1", term)).await.status, 200, "{term}");
    }
    assert_limited(&app.get(&search("m-1", "010-9999-8888")).await, 1, "m-1's fourth search");
    assert_limited(&app.get("/api/v1/leads/distributed-away?mohomId=m-1&search=8888").await, 1, "away list");
    assert_eq!(app.get("/api/v1/leads?mohomId=m-1").await.status, 200, "a list without search is not a search");
    assert_eq!(app.get(&search("m-2", "8888")).await.status, 200, "another user has their own search bucket");

    // The Bearer user and the API key acting for the same user share that user's bucket.
    let token = app.token(&app.partner_key, "m-1").await;
    let bearer = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/leads?search=8888"), &token)).await;
    assert_limited(&bearer, 1, "the same user by Bearer");

    // The user list's search draws on the calling key's search bucket.
    let (key, uri) = (app.operator_key.as_str(), "/api/v1/users?search=8888");
    for _ in 0..3 {
        assert_eq!(app.send(app.with_key(TestRequest::get().uri(uri), key)).await.status, 200);
    }
    assert_limited(&app.send(app.with_key(TestRequest::get().uri(uri), key)).await, 1, "user search");
}

async fn reveal_body(db: TestDb) {
    let app =
        TestApp::with(db, &[("LDBDS__RATE_LIMIT__REVEAL__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__REVEAL__BURST", "2")])
            .await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    app.create_user(&app.partner_key, member("m-2", "김철수", "010-2222-3333", "kim@example.com")).await;
    let lead = uuid::Uuid::now_v7();
    let contacts = |who: &str| {
        app.with_key(
            TestRequest::post()
                .uri("/api/v1/leads/contacts")
                .set_json(serde_json::json!({"mohomId": who, "leadIds": [lead]})),
            &app.partner_key,
        )
    };
    let reveal = app.send(contacts("m-1")).await;
    assert_eq!(reveal.status, 200, "{}", reveal.text);
    let used = app
        .send(app.with_key(TestRequest::post().uri(&format!("/api/v1/leads/{lead}/use?mohomId=m-1")), &app.partner_key))
        .await;
    assert_eq!(used.status, 404, "an unknown lead, but a reveal attempt all the same");
    assert_limited(&app.send(contacts("m-1")).await, 1, "m-1's third reveal");
    let use_again = app
        .send(app.with_key(TestRequest::post().uri(&format!("/api/v1/leads/{lead}/use?mohomId=m-1")), &app.partner_key))
        .await;
    assert_limited(&use_again, 1, "use shares the reveal bucket");
    assert_eq!(app.send(contacts("m-2")).await.status, 200, "another user reveals");
    assert_eq!(app.get("/api/v1/leads?mohomId=m-1").await.status, 200, "the general bucket is untouched");
}

async fn auth_failure_body(db: TestDb) {
    let app = TestApp::with(
        db,
        &[("LDBDS__RATE_LIMIT__AUTH_FAILURE__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__AUTH_FAILURE__BURST", "3")],
    )
    .await;
    let regions = || TestRequest::get().uri("/api/v1/regions");
    let bad_key = |addr: &str| from(addr, regions().insert_header(("X-API-Key", "ldb_live_000000000000_00")));
    let forged = |addr: &str| from(addr, regions().insert_header(("Authorization", "Bearer x.y.z")));
    assert_eq!(app.send(bad_key("198.51.100.7:1000")).await.status, 401);
    assert_eq!(app.send(forged("198.51.100.7:1001")).await.status, 401);
    for port in 1010..1015 {
        let none = app.send(from(&format!("198.51.100.7:{port}"), regions())).await;
        assert_eq!(none.status, 401, "no credentials: refused without a lookup, and not counted");
    }
    let bearer_garbage = from("198.51.100.7:1002", regions().insert_header(("Authorization", "Bearer abc")));
    assert_eq!(app.send(bearer_garbage).await.status, 401);
    assert_limited(&app.send(bad_key("198.51.100.7:1003")).await, 1, "the fourth failure from one address");
    assert_limited(&app.send(forged("198.51.100.7:1004")).await, 1, "a forged token from it");
    assert_eq!(app.send(bad_key("198.51.100.8:1000")).await.status, 401, "another address is unaffected");
    let good = from("198.51.100.7:1005", regions().insert_header(("X-API-Key", app.partner_key.as_str())));
    assert_eq!(app.send(good).await.status, 200, "valid credentials from the limited address are served");
    assert!(app.state.limits.auth_failures.keys() <= 2, "one key per address");
}

async fn forwarded_body(db: TestDb) {
    let app = TestApp::with(
        db,
        &[
            ("LDBDS__RATE_LIMIT__AUTH_FAILURE__PER_SECOND", "1"),
            ("LDBDS__RATE_LIMIT__AUTH_FAILURE__BURST", "1"),
            ("LDBDS__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.1"),
        ],
    )
    .await;
    let bad = |peer: &str, forwarded: &str| {
        from(
            peer,
            TestRequest::get()
                .uri("/api/v1/regions")
                .insert_header(("X-API-Key", "ldb_live_000000000000_00"))
                .insert_header(("X-Forwarded-For", forwarded.to_owned())),
        )
    };
    // Untrusted peer: its X-Forwarded-For is ignored, every failure counts against the peer.
    assert_eq!(app.send(bad("203.0.113.5:1", "192.0.2.1")).await.status, 401);
    assert_limited(&app.send(bad("203.0.113.5:2", "192.0.2.2")).await, 1, "a made-up header changes nothing");
    // Trusted proxy: the right-most hop it did not add is the client.
    assert_eq!(app.send(bad("10.0.0.1:1", "192.0.2.1")).await.status, 401);
    assert_limited(&app.send(bad("10.0.0.1:2", "192.0.2.1")).await, 1, "the same client behind the proxy");
    assert_eq!(app.send(bad("10.0.0.1:3", "192.0.2.9")).await.status, 401, "another client behind the proxy");
    assert_limited(&app.send(bad("10.0.0.1:4", "192.0.2.9, 192.0.2.1")).await, 1, "a spoofed left-most hop");
}

async fn sso_body(db: TestDb) {
    let app =
        TestApp::with(db, &[("LDBDS__RATE_LIMIT__SSO__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__SSO__BURST", "2")]).await;
    let sso = |addr: &str| from(addr, TestRequest::get().uri("/api/v1/auth/sso?token=not.a.jwt"));
    assert_eq!(app.send(sso("192.0.2.10:1")).await.status, 401);
    assert_eq!(app.send(sso("192.0.2.10:2")).await.status, 401);
    assert_limited(&app.send(sso("192.0.2.10:3")).await, 1, "the third SSO attempt from one address");
    assert_eq!(app.send(sso("[2001:db8::1]:1")).await.status, 401, "another address");
}

async fn shared_bucket_body(db: TestDb) {
    let app = TestApp::with(db, &[("LDBDS__RATE_LIMIT__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__BURST", "4")]).await;
    // Users written directly, so that no request of the key is spent on them.
    let org = infra::orgs::find_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    for (mohom, phone) in [("m-1", "010-1234-5678"), ("m-2", "010-2222-3333")] {
        let user = domain::identity::User {
            id: domain::ids::new_id(),
            org_id: org.id,
            mohom_id: domain::identity::MohomId::parse(mohom).unwrap(),
            role: domain::identity::Role::Member,
            team_id: None,
            name: domain::pii::PersonName::parse("홍길동").unwrap(),
            phone: Some(domain::pii::PhoneNumber::parse(phone).unwrap()),
            email: None,
            status: domain::identity::UserStatus::Active,
            created_at: time::OffsetDateTime::now_utc(),
            updated_at: time::OffsetDateTime::now_utc(),
        };
        domain::ports::UserRepository::insert(&app.state.users, &user).await.unwrap();
    }
    // Two of the key's four tokens go to minting; the two tokens then share the other two.
    let tokens = [app.token(&app.partner_key, "m-1").await, app.token(&app.partner_key, "m-2").await];
    let with = |token: &str| app.with_bearer(TestRequest::get().uri("/api/v1/regions"), token);
    let mut served = 0;
    let mut limited = None;
    for round in 0..6 {
        let reply = app.send(with(&tokens[round % 2])).await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        served += 1;
    }
    // Each user had four tokens of its own before: six requests never reached a 429.
    assert_limited(&limited.expect("the key's bucket runs out"), 1, "two tokens of one key");
    assert!((2..=3).contains(&served), "{served} requests served on the key's last two tokens");
    assert_limited(&app.get("/api/v1/regions").await, 1, "the key itself");
    let other = app
        .send(TestRequest::get().uri("/api/v1/regions").insert_header(("X-API-Key", app.operator_key.as_str())))
        .await;
    assert_eq!(other.status, 200, "another key has its own bucket");
}
