use actix_web::test::TestRequest;
use infra::tokens::{SsoClaims, sign_sso};
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_key_gets_a_token_for_its_own_user => token_body;
    forged_expired_and_alg_none_tokens_are_401 => bad_tokens_body;
    sso_logs_in_once_and_redirects_only_to_allowed_addresses => sso_body;
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
    let other_key =
        infra::tokens::TokenIssuer::new(&app.state.settings.jwt, b"some-other-secret-that-is-32-bytes-long")
            .unwrap()
            .issue(uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), "m-1", "MEMBER", time::OffsetDateTime::now_utc())
            .unwrap();
    let expired = app
        .state
        .tokens
        .issue(
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            "m-1",
            "MEMBER",
            time::OffsetDateTime::now_utc() - time::Duration::hours(3),
        )
        .unwrap();
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
