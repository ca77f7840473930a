use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_user_is_created_with_masked_personal_data => create_body;
    every_bad_field_is_refused_and_nothing_is_written => create_refusals_body;
    a_partner_key_cannot_create_operator_roles => roles_body;
    users_are_found_by_phone_in_any_format_email_name_and_last4 => search_body;
    an_update_changes_only_the_given_fields => update_body;
    a_deleted_user_disappears_and_cannot_act => delete_body;
    another_orgs_user_is_not_found => bola_body;
    a_member_with_a_token_cannot_manage_users => bfla_body;
    an_undecryptable_row_is_a_clean_500_without_plaintext => tamper_body;
}

async fn create_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let body = serde_json::json!({
        "mohomId": "m-001", "name": "홍길동", "phone": "010-1234-5678", "email": "hong.gildong@example.com",
        "role": "LEADER", "teamId": "seoul-1"
    });
    let created = app.create_user(&app.partner_key, body).await;
    assert_eq!(created["name"], "홍*동");
    assert_eq!(created["phone"], "010****5678");
    assert_eq!(created["email"], "ho**********@example.com");
    let text = created.to_string();
    for plain in ["홍길동", "1234", "hong.gildong"] {
        assert!(!text.contains(plain), "{plain} leaked: {text}");
    }
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("user_created", created, { ".updatedAt" => "[time]" });
    });
    let again = app
        .send(app.with_key(
            TestRequest::post().uri("/api/v1/users").set_json(member("m-001", "김철수", "01099998888", "k@x.io")),
            &app.partner_key,
        ))
        .await;
    assert_eq!((again.status.as_u16(), again.code().as_str()), (409, "USER_ALREADY_EXISTS"));
}

async fn create_refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let bad =
        serde_json::json!({"mohomId": "bad id", "name": "", "phone": "02-123-4567", "email": "nope", "role": "BOSS"});
    let reply = app.send(app.with_key(TestRequest::post().uri("/api/v1/users").set_json(&bad), &app.partner_key)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"));
    let fields: Vec<String> = reply.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["mohomId", "name", "phone", "email", "role"]);
    let owner = serde_json::json!({"mohomId": "m", "name": "a", "phone": "01012345678", "email": "a@b.co", "role": "MEMBER", "status": "DELETED"});
    let bopla =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/users").set_json(&owner), &app.partner_key)).await;
    assert_eq!((bopla.status.as_u16(), bopla.code().as_str()), (400, "INVALID_JSON"));
    let list = app.get("/api/v1/users").await.json();
    assert_eq!(list["pagination"]["total"], 0, "nothing was written");
}

async fn roles_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let admin = serde_json::json!({"mohomId": "a1", "name": "관리자", "phone": "01012345678", "email": "a@b.co", "role": "ADMIN"});
    let reply =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/users").set_json(&admin), &app.partner_key)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (403, "ROLE_NOT_ALLOWED"));
    let created = app.create_user(&app.operator_key, admin).await;
    assert_eq!(created["role"], "ADMIN");
    let member_of_operator = member("m9", "상담원", "01012345679", "c@b.co");
    let refused = app
        .send(app.with_key(TestRequest::post().uri("/api/v1/users").set_json(&member_of_operator), &app.operator_key))
        .await;
    assert_eq!(refused.status, 403);
}

async fn search_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("vn-1", "Nguyen Van A", "0399333999", "nva@example.vn")).await;
    app.create_user(&app.partner_key, member("kr-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    app.create_user(&app.partner_key, member("kr-2", "김철수", "010-5555-5678", "kim@example.com")).await;
    for vn in ["0399333999", "+84 399 333 999", "84399333999", "01699333999"] {
        assert_eq!(found(&app, vn).await, ["vn-1"], "{vn}");
    }
    for kr in ["010-1234-5678", "+821012345678"] {
        assert_eq!(found(&app, kr).await, ["kr-1"], "{kr}");
    }
    assert_eq!(found(&app, "5678").await, ["kr-1", "kr-2"]);
    assert_eq!(found(&app, "HONG@example.com").await, ["kr-1"]);
    assert_eq!(found(&app, "홍길동").await, ["kr-1"]);
    assert_eq!(found(&app, "nguyen van a").await, ["vn-1"], "Latin names match case-insensitively");
    assert!(found(&app, "010-0000-0000").await.is_empty());
    let bad = app.get("/api/v1/users?search=02-123-4567").await;
    assert_eq!((bad.status.as_u16(), bad.code().as_str()), (400, "VALIDATION_FAILED"));
    let leaders = app.get("/api/v1/users?role=LEADER").await.json();
    assert_eq!(leaders["pagination"]["total"], 0);
    assert_eq!(app.get("/api/v1/users?role=KING").await.status, 400);
}

async fn found(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v1/users?search={}", urlencode(query))).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    let mut ids: Vec<String> =
        reply.json()["data"].as_array().unwrap().iter().map(|u| u["mohomId"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn update_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let put = |body: serde_json::Value| {
        app.with_key(TestRequest::put().uri("/api/v1/users/m-1").set_json(body), &app.partner_key)
    };
    let updated = app.send(put(serde_json::json!({"phone": "+84 399 333 999", "role": "LEADER"}))).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let body = updated.json();
    assert_eq!(
        (body["phone"].as_str(), body["role"].as_str(), body["name"].as_str()),
        (Some("039***3999"), Some("LEADER"), Some("홍*동"))
    );
    assert_eq!(app.get("/api/v1/users?search=0399333999").await.json()["pagination"]["total"], 1);
    assert_eq!(app.get("/api/v1/users?search=01012345678").await.json()["pagination"]["total"], 0, "old index gone");
    let empty = app.send(put(serde_json::json!({}))).await;
    assert_eq!(empty.status, 400);
    let admin = app.send(put(serde_json::json!({"role": "ADMIN"}))).await;
    assert_eq!(admin.status, 403);
    let missing = app
        .send(app.with_key(
            TestRequest::put().uri("/api/v1/users/nobody").set_json(serde_json::json!({"name": "x"})),
            &app.partner_key,
        ))
        .await;
    assert_eq!((missing.status.as_u16(), missing.code().as_str()), (404, "USER_NOT_FOUND"));
}

async fn delete_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let token = app.token(&app.partner_key, "m-1").await;
    let del = || app.with_key(TestRequest::delete().uri("/api/v1/users/m-1"), &app.partner_key);
    let deleted = app.send(del()).await;
    assert_eq!((deleted.status.as_u16(), deleted.json()["status"].as_str()), (200, Some("DELETED")));
    assert_eq!(app.send(del()).await.status, 404, "a second delete finds nobody");
    assert_eq!(app.get("/api/v1/users").await.json()["pagination"]["total"], 0);
    let as_deleted = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/regions"), &token)).await;
    assert_eq!(as_deleted.status, 401, "a deleted user's token no longer works");
    let no_token =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token?mohomId=m-1"), &app.partner_key)).await;
    assert_eq!(no_token.status, 404);
    let revived = app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    assert_eq!(revived["id"], deleted.json()["id"], "re-creating revives the same user");
}

async fn bola_body(db: TestDb) {
    let app = TestApp::new(db).await;
    // Two real partner orgs: the demo partner and one onboarded by the operator.
    let other = app.onboard_partner("partner-2", "P2-WEB", "INS-HEALTH").await;
    app.create_user(&other.key, member("cs-1", "상담원", "01011112222", "cs@ldbds.kr")).await;
    let token =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/auth/token?mohomId=cs-1"), &app.partner_key)).await;
    assert_eq!((token.status.as_u16(), token.code().as_str()), (404, "USER_NOT_FOUND"));
    let update = app
        .send(app.with_key(
            TestRequest::put().uri("/api/v1/users/cs-1").set_json(serde_json::json!({"name": "x"})),
            &app.partner_key,
        ))
        .await;
    assert_eq!(update.status, 404);
    let delete = app.send(app.with_key(TestRequest::delete().uri("/api/v1/users/cs-1"), &app.partner_key)).await;
    assert_eq!(delete.status, 404);
    assert_eq!(app.get("/api/v1/users?search=01011112222").await.json()["pagination"]["total"], 0);
}

async fn bfla_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    let token = app.token(&app.partner_key, "m-1").await;
    let create = app
        .send(app.with_bearer(
            TestRequest::post().uri("/api/v1/users").set_json(member("m-2", "김", "01099998888", "k@x.io")),
            &token,
        ))
        .await;
    assert_eq!((create.status.as_u16(), create.code().as_str()), (403, "FORBIDDEN"));
    let list = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/users"), &token)).await;
    assert_eq!(list.status, 403);
    let mint = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/auth/token?mohomId=m-1"), &token)).await;
    assert_eq!(mint.status, 403, "a user cannot mint tokens");
    let reads = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/regions"), &token)).await;
    assert_eq!(reads.status, 200, "a user reads reference data");
}

async fn tamper_body(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "홍길동", "010-1234-5678", "hong@example.com")).await;
    // A ciphertext moved to another column must not decrypt.
    app.db.db.conn().execute_unprepared("UPDATE users SET name_enc = email_enc").await.unwrap();
    let reply = app.get("/api/v1/users").await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (500, "INTERNAL_ERROR"));
    for plain in ["홍길동", "hong@example.com", "01012345678", "+821012345678"] {
        assert!(!reply.text.contains(plain), "{plain} in {}", reply.text);
    }
    assert_eq!(reply.json()["requestId"].as_str(), reply.header("x-request-id"));
}
