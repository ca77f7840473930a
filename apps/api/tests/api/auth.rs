use actix_web::test::TestRequest;
use infra::tokens::{SsoClaims, TokenSubject, sign_sso};
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_key_gets_a_token_for_its_own_user => token_body;
    forged_expired_and_alg_none_tokens_are_401 => bad_tokens_body;
    sso_logs_in_once_and_redirects_only_to_allowed_addresses => sso_body;
    a_token_of_a_revoked_key_is_refused => revoked_key_body;
    a_deleted_users_token_is_refused_also_after_the_mohom_id_is_recreated => deleted_user_body;
    a_role_change_ends_the_users_tokens_and_a_name_change_does_not => role_change_body;
    an_sso_token_ends_when_its_user_is_deleted => sso_deleted_body;
    a_key_reaches_only_its_scopes_and_so_do_its_tokens => scopes_body;
}

/// A fresh API key of the demo partner org, with its id.
async fn fresh_key(app: &TestApp, scopes: &[&str]) -> (uuid::Uuid, String) {
    let org = infra::orgs::find_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let key =
        infra::api_keys::issue(app.db.db.conn(), org.id, "t", scopes, time::OffsetDateTime::now_utc()).await.unwrap();
    (key.id, key.plaintext)
}

async fn bearer_status(app: &TestApp, token: &str) -> u16 {
    app.send(app.with_bearer(TestRequest::get().uri("/api/v1/leads"), token)).await.status.as_u16()
}

async fn revoked_key_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let (key_id, key) = fresh_key(&app, &["*"]).await;
    let token = app.token(&key, "m-1").await;
    let other = app.token(&app.partner_key, "m-1").await;
    assert_eq!(bearer_status(&app, &token).await, 200);
    // What `ldbds keys revoke` does.
    assert!(infra::api_keys::revoke(app.db.db.conn(), key_id, time::OffsetDateTime::now_utc()).await.unwrap());
    let reply = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/leads"), &token)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (401, "UNAUTHORIZED"), "the revoked key's token");
    assert_eq!(bearer_status(&app, &other).await, 200, "a token of another key lives on");
}

async fn deleted_user_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let hong = member("m-1", "홍길동", "010-1234-5678", "hong@example.com");
    app.create_user(&app.partner_key, hong.clone()).await;
    let token = app.token(&app.partner_key, "m-1").await;
    assert_eq!(bearer_status(&app, &token).await, 200);
    let deleted = app.send(app.with_key(TestRequest::delete().uri("/api/v1/users/m-1"), &app.partner_key)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(bearer_status(&app, &token).await, 401, "a deleted user's token");
    app.create_user(&app.partner_key, hong).await;
    assert_eq!(bearer_status(&app, &token).await, 401, "the recreated mohomId is a new generation");
    let fresh = app.token(&app.partner_key, "m-1").await;
    assert_eq!(bearer_status(&app, &fresh).await, 200, "a token of the new generation works");
}

async fn role_change_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let token = app.token(&app.partner_key, "m-1").await;
    let put = |body: serde_json::Value| {
        app.with_key(TestRequest::put().uri("/api/v1/users/m-1").set_json(body), &app.partner_key)
    };
    assert_eq!(app.send(put(serde_json::json!({"name": "홍길순"}))).await.status, 200);
    assert_eq!(bearer_status(&app, &token).await, 200, "a name change keeps the generation");
    assert_eq!(app.send(put(serde_json::json!({"role": "LEADER"}))).await.status, 200);
    assert_eq!(bearer_status(&app, &token).await, 401, "a role change ends the token");
    let leader = app.token(&app.partner_key, "m-1").await;
    assert_eq!(bearer_status(&app, &leader).await, 200);
}

async fn sso_deleted_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let org = infra::orgs::find_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let secret = b"partner-sso-secret-that-is-long-enough-0123";
    infra::orgs::set_sso(app.db.db.conn(), &app.state.keyring, org.id, secret, &[], Some("https://app.mohom.kr/"))
        .await
        .unwrap();
    let claims = SsoClaims {
        iss: org.id.to_string(),
        sub: "sso-1".into(),
        name: "이순신".into(),
        exp: time::OffsetDateTime::now_utc().unix_timestamp() + 120,
        jti: "j-1".into(),
    };
    let uri = format!("/api/v1/auth/sso?token={}", sign_sso(&claims, secret).unwrap());
    let login = app.send(TestRequest::get().uri(&uri).insert_header(("Accept", "application/json"))).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = login.json()["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(bearer_status(&app, &token).await, 200);
    let deleted = app.send(app.with_key(TestRequest::delete().uri("/api/v1/users/sso-1"), &app.partner_key)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(bearer_status(&app, &token).await, 401, "an SSO token of a deleted user");
}

async fn scopes_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let (_, reference) = fresh_key(&app, &["reference"]).await;
    assert_eq!(app.send(app.with_key(TestRequest::get().uri("/api/v1/regions"), &reference)).await.status, 200);
    let refused = app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-1"), &reference)).await;
    assert_eq!((refused.status.as_u16(), refused.code().as_str()), (403, "INSUFFICIENT_SCOPE"), "{}", refused.text);
    let minting = app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token?mohomId=m-1"), &reference)).await;
    assert_eq!((minting.status.as_u16(), minting.code().as_str()), (403, "INSUFFICIENT_SCOPE"));

    let (_, broker) = fresh_key(&app, &["tokens", "reference"]).await;
    let token = app.token(&broker, "m-1").await;
    assert_eq!(app.send(app.with_bearer(TestRequest::get().uri("/api/v1/regions"), &token)).await.status, 200);
    let beyond = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/leads"), &token)).await;
    assert_eq!(
        (beyond.status.as_u16(), beyond.code().as_str()),
        (403, "INSUFFICIENT_SCOPE"),
        "a token has its key's scopes"
    );

    let (_, leads) = fresh_key(&app, &["leads"]).await;
    assert_eq!(app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-1"), &leads)).await.status, 200);

    let org = infra::orgs::find_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let before = infra::api_keys::count_for_org(app.db.db.conn(), org.id).await.unwrap();
    for bad in [&["lead"][..], &[][..]] {
        let refused = infra::api_keys::issue(app.db.db.conn(), org.id, "t", bad, time::OffsetDateTime::now_utc()).await;
        assert!(refused.is_err(), "{bad:?}");
    }
    assert_eq!(infra::api_keys::count_for_org(app.db.db.conn(), org.id).await.unwrap(), before, "nothing written");
}

async fn token_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let reply =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token?mohomId=m-1"), &app.partner_key)).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!((body["tokenType"].as_str(), body["expiresIn"].as_u64()), (Some("Bearer"), Some(3600)));
    let token = body["accessToken"].as_str().unwrap();
    assert_eq!(app.send(app.with_bearer(TestRequest::get().uri("/api/v1/as/reasons"), token)).await.status, 200);
    let missing = app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token"), &app.partner_key)).await;
    assert_eq!((missing.status.as_u16(), missing.code().as_str()), (400, "VALIDATION_FAILED"));
    let unknown =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token?mohomId=ghost"), &app.partner_key)).await;
    assert_eq!(unknown.status, 404);
}

async fn bad_tokens_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let good = app.token(&app.partner_key, "m-1").await;
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    // Another signature: the last character of the signature changed.
    let sig = parts[2].clone();
    let last = sig.chars().last().unwrap();
    parts[2] = format!("{}{}", &sig[..sig.len() - 1], if last == 'A' { 'B' } else { 'A' });
    let forged = parts.join(".");
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiMSJ9.{}.", good.split('.').nth(1).unwrap());
    let subject = TokenSubject {
        user_id: uuid::Uuid::now_v7(),
        org_id: uuid::Uuid::now_v7(),
        mohom_id: "m-1",
        role: "MEMBER",
        generation: 0,
        key_id: None,
    };
    let other_key =
        infra::tokens::TokenIssuer::new(&app.state.settings.jwt, b"some-other-secret-that-is-32-bytes-long")
            .unwrap()
            .issue(&subject, time::OffsetDateTime::now_utc())
            .unwrap();
    let expired = app.state.tokens.issue(&subject, time::OffsetDateTime::now_utc() - time::Duration::hours(3)).unwrap();
    for (what, token) in [
        ("forged", forged),
        ("alg none", none),
        ("wrong key", other_key),
        ("expired", expired),
        ("garbage", "x.y.z".to_owned()),
    ] {
        let reply = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/regions"), &token)).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (401, "UNAUTHORIZED"), "{what}");
    }
}

async fn sso_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let org = infra::orgs::find_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let secret = b"partner-sso-secret-that-is-long-enough-0123";
    infra::orgs::set_sso(
        app.db.db.conn(),
        &app.state.keyring,
        org.id,
        secret,
        &["https://app.mohom.kr/after-login".to_owned()],
        Some("https://app.mohom.kr/"),
    )
    .await
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let sso = |jti: &str| {
        sign_sso(
            &SsoClaims {
                iss: org.id.to_string(),
                sub: "sso-1".into(),
                name: "이순신".into(),
                exp: now.unix_timestamp() + 120,
                jti: jti.into(),
            },
            secret,
        )
        .unwrap()
    };
    let login = |token: String, redirect: &str, json: bool| {
        let mut req = TestRequest::get().uri(&format!("/api/v1/auth/sso?token={token}&redirectUri={redirect}"));
        if json {
            req = req.insert_header(("Accept", "application/json"));
        }
        req
    };
    let first = app.send(login(sso("j-1"), "https://app.mohom.kr/after-login", false)).await;
    assert_eq!(first.status, 302);
    let location = first.header("location").unwrap().to_owned();
    assert!(location.starts_with("https://app.mohom.kr/after-login#accessToken="), "{location}");
    let token = location.split("accessToken=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(app.send(app.with_bearer(TestRequest::get().uri("/api/v1/regions"), token)).await.status, 200);

    let replay = app.send(login(sso("j-1"), "https://app.mohom.kr/after-login", false)).await;
    assert_eq!((replay.status.as_u16(), replay.code().as_str()), (401, "UNAUTHORIZED"), "a replayed SSO token");

    let evil = app.send(login(sso("j-2"), "https://evil.example/steal", true)).await;
    assert_eq!(evil.status, 200, "{}", evil.text);
    let body = evil.json();
    assert_eq!(body["redirectUri"], "https://app.mohom.kr/", "off the allow-list: the org's default");
    assert_eq!(body["user"]["mohomId"], "sso-1");
    assert_eq!(body["user"]["name"], "이*신");
    assert_eq!(body["user"]["role"], "MEMBER");

    let foreign = sign_sso(
        &SsoClaims {
            iss: org.id.to_string(),
            sub: "sso-1".into(),
            name: "x".into(),
            exp: now.unix_timestamp() + 120,
            jti: "j-3".into(),
        },
        b"not-the-partner-secret-but-long-enough-012",
    )
    .unwrap();
    assert_eq!(app.send(login(foreign, "https://app.mohom.kr/", true)).await.status, 401);
    let too_long = sign_sso(
        &SsoClaims {
            iss: org.id.to_string(),
            sub: "sso-1".into(),
            name: "x".into(),
            exp: now.unix_timestamp() + 3600,
            jti: "j-4".into(),
        },
        secret,
    )
    .unwrap();
    assert_eq!(app.send(login(too_long, "https://app.mohom.kr/", true)).await.status, 401);
    let missing = app.send(TestRequest::get().uri("/api/v1/auth/sso")).await;
    assert_eq!(missing.status, 400);
}
