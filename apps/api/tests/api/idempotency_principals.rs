//! An `Idempotency-Key` belongs to the principal that sent it (security.md, "Second
//! review"): for every endpoint that honours the header, principal B sending principal
//! A's key with the same body is a fresh request, never A's reply. The AS claim and the
//! counsel Excel import are covered in `as_claims.rs` and `counsel.rs`, beside their
//! set-up; `every_idempotent_operation_is_covered` keeps the list complete.

use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    two_members_sending_one_key_to_orders_get_two_orders => orders_body;
    two_members_sending_one_key_to_presigned_get_two_uploads => presigned_body;
    one_key_acting_for_two_members_is_two_principals => acting_body;
    a_replay_never_crosses_principals_on_any_endpoint => every_endpoint_body;
    one_key_under_two_sources_of_an_org_is_two_requests => two_sources_body;
}

const KEY: &str = "shared-key-1";

fn keyed(req: TestRequest) -> TestRequest {
    req.insert_header(("Idempotency-Key", KEY))
}

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotency-replayed") == Some("true")
}

/// Two Bearer members of the demo partner org: m-1 (a `LEADER`) and m-2.
async fn members(app: &TestApp) -> (String, String) {
    let mut leader = member("m-1", "김리더", "010-1111-2222", "m1@mohom.kr");
    leader["role"] = "LEADER".into();
    app.create_user(&app.partner_key, leader).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    (app.token(&app.partner_key, "m-1").await, app.token(&app.partner_key, "m-2").await)
}

async fn product(app: &TestApp) -> uuid::Uuid {
    infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap()
}

async fn orders_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (a, b) = members(&app).await;
    let body = serde_json::json!({"productId": product(&app).await, "regions": [{"region": "79", "quantity": 2}], "memo": "A의 메모: 010-5555-6666"});
    let send = |token: &str| {
        app.send(app.with_bearer(keyed(TestRequest::post().uri("/api/v1/orders").set_json(&body)), token))
    };

    let first = send(&a).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(replayed(&send(&a).await), "A's own retry is a replay");
    let other = send(&b).await;
    assert_eq!(other.status, 201, "{}", other.text);
    assert!(!replayed(&other), "B is never answered with A's reply");
    assert_ne!(other.json()["id"], first.json()["id"], "B's own order was created");

    for (token, id) in [(&a, &first.json()["id"]), (&b, &other.json()["id"])] {
        let list = app.send(app.with_bearer(TestRequest::get().uri("/api/v1/orders"), token)).await.json();
        let ids: Vec<&serde_json::Value> = list["data"].as_array().expect("data").iter().map(|o| &o["id"]).collect();
        assert_eq!(ids, vec![id], "each member sees exactly their own order");
    }
}

async fn presigned_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (a, b) = members(&app).await;
    let body = serde_json::json!({"fileName": "evidence.pdf", "contentType": "application/pdf", "size": 1000, "purpose": "AS_EVIDENCE"});
    let send = |token: &str| {
        app.send(app.with_bearer(keyed(TestRequest::post().uri("/api/v1/files/presigned").set_json(&body)), token))
    };
    let first = send(&a).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let other = send(&b).await;
    assert_eq!(other.status, 201, "{}", other.text);
    assert!(!replayed(&other));
    assert_ne!(other.json()["fileKey"], first.json()["fileKey"], "B gets its own evidence slot");
    assert_ne!(other.json()["uploadUrl"], first.json()["uploadUrl"], "B never sees A's upload URL");
}

/// An API key acting for m-1 and then for m-2 (each naming its `mohomId`) is two
/// principals: before, the second was refused as a reused key (422), telling B that
/// someone in the org had used it.
async fn acting_body(db: TestDb) {
    let app = TestApp::new(db).await;
    members(&app).await;
    let product = product(&app).await;
    for m in ["m-1", "m-2"] {
        let body =
            serde_json::json!({"mohomId": m, "productId": product, "regions": [{"region": "79", "quantity": 1}]});
        let reply = app
            .send(app.with_key(keyed(TestRequest::post().uri("/api/v1/orders").set_json(&body)), &app.partner_key))
            .await;
        assert_eq!(reply.status, 201, "{m}: {}", reply.text);
        assert!(!replayed(&reply));
    }
}

/// One case: the request both principals send (the same key and body), and the status
/// the second principal gets on its own merits.
struct Case {
    name: &'static str,
    first: TestRequest,
    second: TestRequest,
    second_status: u16,
}

async fn every_endpoint_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (leader, other_member) = members(&app).await;
    let now = time::OffsetDateTime::now_utc();
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let second_key = infra::api_keys::issue(app.db.db.conn(), org, "second", &["*"], now).await.unwrap().plaintext;
    let admin = serde_json::json!({"mohomId": "adm-1", "name": "관리자", "phone": "01099998888", "email": "adm-1@ldbds.kr", "role": "ADMIN"});
    app.create_user(&app.operator_key, admin).await;
    let cs = serde_json::json!({"mohomId": "cs-1", "name": "상담원", "phone": "01011112222", "email": "cs-1@ldbds.kr", "role": "CS_MANAGER", "teamId": "10141"});
    app.create_user(&app.operator_key, cs).await;
    let operator_admin = app.token(&app.operator_key, "adm-1").await;
    let product = product(&app).await;

    // A lead the leader registered, to distribute to m-2 and recall.
    let lead = serde_json::json!({"productId": product, "name": "홍길동", "phone": "01012345678", "region": "79"});
    let registered = app.send(app.with_bearer(TestRequest::post().uri("/api/v1/leads").set_json(&lead), &leader)).await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let lead_id = registered.json()["id"].as_str().unwrap().to_owned();

    let post = |uri: &str, body: &serde_json::Value| TestRequest::post().uri(uri).set_json(body);
    let put = |uri: &str, body: &serde_json::Value| TestRequest::put().uri(uri).set_json(body);
    let with_key = |req: TestRequest, key: &str| app.with_key(req, key);
    let bearer = |req: TestRequest, token: &str| app.with_bearer(req, token);
    let source = |req: TestRequest| req.insert_header(("source", "TCB"));

    let user = member("u-9", "박회원", "010-7777-8888", "u9@mohom.kr");
    let new_lead = serde_json::json!({"productId": product, "name": "최고객", "phone": "01022223333", "region": "79"});
    let distribute = serde_json::json!({"leadIds": [lead_id], "toMohomId": "m-2"});
    let recall = serde_json::json!({"leadIds": [lead_id]});
    let intake = serde_json::json!({"name": "Nguyen Van A", "mobileNumber": "0399123456", "projectCode": "VHGP", "regionCode": "79", "leadSourceId": "src-1"});
    let status = serde_json::json!({"lead_source_id": "src-1", "status": "CONTACTED"});
    let queue = serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "name": "OB", "policy": "WEIGHTED"});
    let join =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-1", "weight": 1, "capacity": 5});
    let org_body = serde_json::json!({"code": "partner-2", "name": "파트너 2", "kind": "PARTNER"});
    let source_body = serde_json::json!({"code": "P2-WEB", "defaultProductId": product});
    let webhook = serde_json::json!({"url": "https://93.184.215.14/hook", "events": ["*"]});
    let analysis = serde_json::json!({"verificationToken": verified_token(&app).await, "consents": [
        {"termsId": "PRIVACY_COLLECTION", "version": "2026-12-01"},
        {"termsId": "CREDIT_INFO_INQUIRY", "version": "2026-12-01"},
    ]});
    let cases = vec![
        Case {
            name: "POST /api/v1/users (two keys of one org)",
            first: with_key(post("/api/v1/users", &user), &app.partner_key),
            second: with_key(post("/api/v1/users", &user), &second_key),
            second_status: 409,
        },
        Case {
            name: "POST /api/v1/leads",
            first: bearer(post("/api/v1/leads", &new_lead), &leader),
            second: bearer(post("/api/v1/leads", &new_lead), &other_member),
            second_status: 201,
        },
        Case {
            name: "POST /api/v1/leads/distribute (B is no LEADER)",
            first: bearer(post("/api/v1/leads/distribute", &distribute), &leader),
            second: bearer(post("/api/v1/leads/distribute", &distribute), &other_member),
            second_status: 403,
        },
        Case {
            name: "POST /api/v1/leads/recall (B is no LEADER)",
            first: bearer(post("/api/v1/leads/recall", &recall), &leader),
            second: bearer(post("/api/v1/leads/recall", &recall), &other_member),
            second_status: 403,
        },
        Case {
            name: "POST /lead-platform/v1/leads/create (two keys of one org)",
            first: with_key(source(post("/lead-platform/v1/leads/create", &intake)), &app.partner_key),
            second: with_key(source(post("/lead-platform/v1/leads/create", &intake)), &second_key),
            second_status: 409,
        },
        Case {
            name: "PUT /lead-platform/v1/leads/changeStatus (two keys of one org)",
            first: with_key(source(put("/lead-platform/v1/leads/changeStatus", &status)), &app.partner_key),
            second: with_key(source(put("/lead-platform/v1/leads/changeStatus", &status)), &second_key),
            second_status: 200,
        },
        Case {
            name: "POST /api/v1/counsel/queues (operator key, then an operator ADMIN)",
            first: with_key(post("/api/v1/counsel/queues", &queue), &app.operator_key),
            second: bearer(post("/api/v1/counsel/queues", &queue), &operator_admin),
            second_status: 409,
        },
        Case {
            name: "POST /api/v1/counsel/members (operator key, then an operator ADMIN)",
            first: with_key(post("/api/v1/counsel/members", &join), &app.operator_key),
            second: bearer(post("/api/v1/counsel/members", &join), &operator_admin),
            second_status: 409,
        },
        Case {
            name: "POST /api/v1/orgs (operator key, then an operator ADMIN)",
            first: with_key(post("/api/v1/orgs", &org_body), &app.operator_key),
            second: bearer(post("/api/v1/orgs", &org_body), &operator_admin),
            second_status: 409,
        },
        Case {
            name: "POST /api/v1/orgs/{code}/sources (operator key, then an operator ADMIN)",
            first: with_key(post("/api/v1/orgs/partner-2/sources", &source_body), &app.operator_key),
            second: bearer(post("/api/v1/orgs/partner-2/sources", &source_body), &operator_admin),
            second_status: 409,
        },
        Case {
            name: "POST /api/v1/coverage/analyses (two keys of one org)",
            first: with_key(post("/api/v1/coverage/analyses", &analysis), &app.partner_key),
            second: with_key(post("/api/v1/coverage/analyses", &analysis), &second_key),
            second_status: 201,
        },
        Case {
            name: "POST /api/v1/webhooks (the org's key, then its LEADER)",
            first: with_key(post("/api/v1/webhooks", &webhook), &app.partner_key),
            second: bearer(post("/api/v1/webhooks", &webhook), &leader),
            second_status: 201,
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        // One key per case: both principals send it, nobody else does.
        let key = format!("case-{i}");
        let first = app.send(case.first.insert_header(("Idempotency-Key", key.clone()))).await;
        assert!(first.status.is_success(), "{}: {} {}", case.name, first.status, first.text);
        let second = app.send(case.second.insert_header(("Idempotency-Key", key))).await;
        assert!(!replayed(&second), "{}: B was answered with A's reply: {}", case.name, second.text);
        assert_eq!(second.status.as_u16(), case.second_status, "{}: {}", case.name, second.text);
    }
}

/// The operations covered above and beside their set-up (`as_claims.rs`, `counsel.rs`).
const COVERED: [(&str, &str); 16] = [
    ("post", "/api/v1/orders"),
    ("post", "/api/v1/files/presigned"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/leads"),
    ("post", "/api/v1/leads/distribute"),
    ("post", "/api/v1/leads/recall"),
    ("post", "/lead-platform/v1/leads/create"),
    ("put", "/lead-platform/v1/leads/changeStatus"),
    ("post", "/api/v1/counsel/queues"),
    ("post", "/api/v1/counsel/members"),
    ("post", "/api/v1/as"),
    ("post", "/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel"),
    ("post", "/api/v1/orgs"),
    ("post", "/api/v1/orgs/{code}/sources"),
    ("post", "/api/v1/webhooks"),
    ("post", "/api/v1/coverage/analyses"),
];

/// A `verificationToken` of the demo partner org, stored as a verification would leave
/// it (the code's SMS goes to the log in tests).
async fn verified_token(app: &TestApp) -> String {
    use domain::funnel::identity::{IdentityClaim, IdentityFields};
    use domain::ports::{CheckRecord, IdentityRepository, NewVerification, VerificationSecrets};
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let fields = IdentityFields {
        name: Some("홍길동"),
        birth_date: Some("1985-04-12"),
        gender: Some("M"),
        phone: Some("010-1234-5678"),
        carrier: Some("SKT"),
        mohom_id: None,
    };
    let new = NewVerification {
        id: uuid::Uuid::now_v7(),
        org_id: org,
        claim: IdentityClaim::parse(&fields, now.date()).unwrap(),
        client: "192.0.2.50".to_owned(),
        code_digest: "0".repeat(64),
        created_at: now,
        expires_at: now + time::Duration::minutes(3),
    };
    app.state.identity.open(&new, now - time::Duration::hours(1), |_| Ok(())).await.unwrap().unwrap();
    let token = "vt_idempotency-principals".to_owned();
    let digest = app.state.verification_secrets.token_digest(&token);
    let check = CheckRecord { seen_attempts: 0, verified: Some((now, digest, now + time::Duration::minutes(30))) };
    assert!(app.state.identity.record_check(org, new.id, &check).await.unwrap());
    token
}

/// Every operation that documents `Idempotency-Key` has a cross-principal case.
#[test]
fn every_idempotent_operation_is_covered() {
    let document: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).expect("document");
    let mut honoured = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let parameters = operation["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
            if parameters.iter().any(|p| p["name"] == "Idempotency-Key") {
                honoured.push((method.clone(), path.clone()));
            }
        }
    }
    honoured.sort();
    let mut covered: Vec<(String, String)> = COVERED.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    covered.sort();
    assert_eq!(honoured, covered);
}

/// The intake's `source` header is part of the request: the same key and body posted
/// under another source of the org is another request under a reused key (422), never
/// the first request's 201 with nothing written.
async fn two_sources_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let product = product(&app).await;
    let body = serde_json::json!({"code": "TCB-2", "defaultProductId": product});
    let added = app
        .send(app.with_key(TestRequest::post().uri("/api/v1/orgs/mohom/sources").set_json(&body), &app.operator_key))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let lead = serde_json::json!({"name": "Nguyen Van A", "mobileNumber": "0399123456", "projectCode": "VHGP", "regionCode": "79"});
    let post = |source: &str| {
        app.send(
            app.with_key(
                keyed(TestRequest::post().uri("/lead-platform/v1/leads/create").set_json(&lead))
                    .insert_header(("source", source.to_owned())),
                &app.partner_key,
            ),
        )
    };
    let first = post("TCB").await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(replayed(&post("TCB").await), "the same source's retry is a replay");
    let leads = app.count_rows("leads").await;
    let other = post("TCB-2").await;
    assert!(!replayed(&other), "another source's request is not the first one's: {}", other.text);
    assert_eq!((other.status.as_u16(), other.code().as_str()), (422, "IDEMPOTENCY_KEY_REUSED"), "{}", other.text);
    assert_eq!(app.count_rows("leads").await, leads, "nothing written");
}
