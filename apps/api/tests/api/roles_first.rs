//! Who, then may, then what: a caller without credentials gets 401 and a caller without
//! the role gets 403 before the body or query is judged, so a 400 never lists an
//! endpoint's fields to someone who may not call it (security review, defect 8).

use actix_web::http::header::ContentType;
use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_caller_without_the_role_gets_403_before_the_body_is_parsed => forbidden_first_body;
    a_caller_without_credentials_gets_401_before_the_body_is_parsed => unauthorized_first_body;
}

const PREFIX: &str = "/v2/customerservice/csAllocationMgmt";

/// Requests every one of which is malformed (a body that is not JSON, a missing or
/// unknown field, a bad query), each to an endpoint that needs a role.
fn malformed() -> Vec<(&'static str, TestRequest)> {
    let broken = |req: TestRequest| req.insert_header(ContentType::json()).set_payload("{\"autoDivGbCd\": ");
    let unknown = |req: TestRequest| req.set_json(serde_json::json!({"surprise": true}));
    let as_id = "01900000-0000-7000-8000-000000000000";
    vec![
        ("POST /api/v1/counsel/queues, broken JSON", broken(TestRequest::post().uri("/api/v1/counsel/queues"))),
        ("POST /api/v1/counsel/members, unknown field", unknown(TestRequest::post().uri("/api/v1/counsel/members"))),
        (
            "PUT /api/v1/counsel/members/{autoDivNo}, bad path and body",
            unknown(TestRequest::put().uri("/api/v1/counsel/members/not-a-number")),
        ),
        ("POST manualAssign, unknown field", unknown(TestRequest::post().uri(&format!("{PREFIX}/manualAssign")))),
        (
            "POST changeAutoDivideAllocationPossibleYn, broken JSON",
            broken(TestRequest::post().uri(&format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"))),
        ),
        (
            "POST saveObCsCounselInfoListExcel, bad query and no file",
            TestRequest::post().uri(&format!("{PREFIX}/saveObCsCounselInfoListExcel?obTypNo=%ZZ&excelColumns=")),
        ),
        (
            "GET csAllocationMgmtList, bad query",
            TestRequest::get().uri(&format!("{PREFIX}/csAllocationMgmtList?dateSelect=yesterday&page=-1")),
        ),
        (
            "GET checkValidateManager, missing parameters",
            TestRequest::get().uri(&format!("{PREFIX}/checkValidateManager")),
        ),
        (
            "POST /api/v1/as/{asId}/approve, broken JSON",
            broken(TestRequest::post().uri(&format!("/api/v1/as/{as_id}/approve"))),
        ),
        (
            "POST /api/v1/as/{asId}/reject, unknown field",
            unknown(TestRequest::post().uri(&format!("/api/v1/as/{as_id}/reject"))),
        ),
        ("POST /api/v1/users, broken JSON", broken(TestRequest::post().uri("/api/v1/users"))),
        ("PUT /api/v1/users/{mohomId}, unknown field", unknown(TestRequest::put().uri("/api/v1/users/m-1"))),
        ("GET /api/v1/users, bad query", TestRequest::get().uri("/api/v1/users?page=zero&sort=secret")),
        ("POST /api/v1/orgs, unknown field", unknown(TestRequest::post().uri("/api/v1/orgs"))),
        (
            "POST /api/v1/orgs/{code}/sources, broken JSON",
            broken(TestRequest::post().uri("/api/v1/orgs/mohom/sources")),
        ),
        (
            "POST /api/v1/orgs/{code}/api-keys, unknown field",
            unknown(TestRequest::post().uri("/api/v1/orgs/mohom/api-keys")),
        ),
        (
            "PUT /lead-platform/v1/leads/changeStatus, unknown field",
            unknown(TestRequest::put().uri("/lead-platform/v1/leads/changeStatus")).insert_header(("source", "TCB")),
        ),
        (
            "POST /lead-platform/v1/leads/create, broken JSON",
            broken(TestRequest::post().uri("/lead-platform/v1/leads/create")).insert_header(("source", "TCB")),
        ),
        ("POST /api/v1/leads/distribute, broken JSON", broken(TestRequest::post().uri("/api/v1/leads/distribute"))),
        ("POST /api/v1/leads/recall, unknown field", unknown(TestRequest::post().uri("/api/v1/leads/recall"))),
    ]
}

async fn forbidden_first_body(db: TestDb) {
    let app = TestApp::new(db).await;
    // A MEMBER of the partner org: neither the operator's staff nor a user admin.
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let token = app.token(&app.partner_key, "m-1").await;
    let users_before = app.get("/api/v1/users?mohomId=m-1").await.text;
    for (name, req) in malformed() {
        // The partner's API key is no operator: 403 for the operator's endpoints. For the
        // users API (which any API key may call), distribute/recall (a LEADER's) and the
        // intake (a source's, by its org's API key), the Bearer member is the one refused.
        let by_member =
            name.contains("/api/v1/users") || name.contains("/api/v1/leads/") || name.contains("/lead-platform/");
        let req = if by_member { app.with_bearer(req, &token) } else { app.with_key(req, &app.partner_key) };
        let reply = app.send(req).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (403, "FORBIDDEN"), "{name}: {}", reply.text);
        assert!(reply.json()["error"]["details"].as_array().is_some_and(Vec::is_empty), "{name}: no field named");
    }
    assert_eq!(app.get("/api/v1/users?mohomId=m-1").await.text, users_before, "nothing was written");
}

async fn unauthorized_first_body(db: TestDb) {
    // Many failed authentications from one address: keep them under that limit here
    // (it is `rate_limit.rs`'s business), so each is answered on its own.
    let app = TestApp::with(db, &[("LDBDS__RATE_LIMIT__AUTH_FAILURE__BURST", "1000")]).await;
    let member_scoped = || {
        let broken = || TestRequest::post().insert_header(ContentType::json()).set_payload("{\"mohomId\": ");
        vec![
            ("POST /api/v1/orders, broken JSON", broken().uri("/api/v1/orders")),
            ("POST /api/v1/leads, broken JSON", broken().uri("/api/v1/leads")),
            ("GET /api/v1/leads, bad query", TestRequest::get().uri("/api/v1/leads?page=zero&sort=secret")),
        ]
    };
    for credentials in [None, Some("ldb_live_000000000000_not-a-key")] {
        for (name, req) in malformed().into_iter().chain(member_scoped()) {
            let req = match credentials {
                Some(key) => app.with_key(req, key),
                None => req,
            };
            let reply = app.send(req).await;
            assert_eq!(
                (reply.status.as_u16(), reply.code().as_str()),
                (401, "UNAUTHORIZED"),
                "{name} with {credentials:?}: {}",
                reply.text
            );
        }
    }
}
