//! The served OpenAPI document against the server's behaviour, for the facts a client
//! relies on that no schema check sees:
//! - `Idempotency-Key`: exactly the operations the document marks with the header honour
//!   it. Every writing operation (POST, PUT, PATCH, DELETE) of the document is sent, with
//!   valid credentials and a request that reaches its handler, carrying a key of 300
//!   characters: the marked ones answer 400 `INVALID_IDEMPOTENCY_KEY`, the others
//!   ignore the header and do their work (2xx), or, for the few whose subject needs a
//!   whole purchase or counsel flow to exist, answer their own not-found code. A new
//!   writing operation fails the test until it is added to the table below.
//! - `checkValidateManager`: the queue (`autoDivGbCd`, `autoDivDtlNo`) is optional in the
//!   document as in the handler (without it: may the user be a counsel manager at all).
//! - what client generators need: no request body is `oneOf [T, null]` (an optional body
//!   is `T` with `required: false`), and every string enumeration with values that are
//!   not identifiers names them in `x-enum-varnames`.

use actix_web::test::TestRequest;
use testkit::TestDb;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    exactly_the_documented_operations_honour_the_idempotency_key => idempotency_key_body;
    check_validate_manager_takes_its_queue_as_optional_as_documented => validate_manager_body;
}

/// A key the server must refuse: longer than 255 characters.
fn bad_key() -> String {
    "k".repeat(300)
}

const WRITE_METHODS: [&str; 4] = ["post", "put", "patch", "delete"];

/// The writing operations of the served document, each with whether it declares the
/// `Idempotency-Key` header.
fn writing_operations(doc: &serde_json::Value) -> Vec<(String, String, bool)> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in WRITE_METHODS {
            let Some(operation) = item.get(method) else { continue };
            let marked = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"));
            operations.push((method.to_owned(), path.clone(), marked));
        }
    }
    operations
}

/// What a request of the table may answer when its operation does not take the key.
enum Unmarked {
    /// The work is done: any 2xx.
    Done,
    /// The handler's own refusal for a subject this test does not build (404 and code).
    NotFound(&'static str),
    /// The use case's own refusal of a subject this test does not build (a verified
    /// person): the status and code only the handler's end gives.
    Refused(u16, &'static str),
}

/// The data the requests act on, made through the API with the demo keys.
struct World {
    app: TestApp,
    product: String,
    lead: String,
    order: String,
    member_kept: String,
    member_removed: String,
    upload_url: String,
}

const LEADER: &str = "ct-leader";
const MEMBER: &str = "ct-member";
const DOOMED: &str = "ct-doomed";
const QUEUE_DETAIL: &str = "CT1";

fn json_request(method: &str, uri: &str, body: Option<serde_json::Value>) -> TestRequest {
    let req = match method {
        "post" => TestRequest::post(),
        "put" => TestRequest::put(),
        "patch" => TestRequest::patch(),
        "delete" => TestRequest::delete(),
        other => panic!("not a writing method: {other}"),
    };
    let req = req.uri(uri);
    match body {
        Some(body) => req.set_json(body),
        None => req,
    }
}

impl World {
    async fn new(db: TestDb) -> Self {
        let app = TestApp::new(db).await;
        let (partner, operator) = (app.partner_key.clone(), app.operator_key.clone());
        for (mohom, role, phone) in [(LEADER, "LEADER", "010-7100-0001"), (MEMBER, "MEMBER", "010-7100-0002")] {
            let mut body = member(mohom, &format!("Contract {role}"), phone, &format!("{mohom}@example.com"));
            body["role"] = role.into();
            app.create_user(&partner, body).await;
        }
        app.create_user(&partner, member(DOOMED, "Contract Doomed", "010-7100-0003", "ct-doomed@example.com")).await;
        for (aemp, phone) in [("ct-manager-a", "010-7100-0011"), ("ct-manager-b", "010-7100-0012")] {
            let mut body = member(aemp, "Contract Manager", phone, &format!("{aemp}@example.com"));
            body["role"] = "CS_MANAGER".into();
            app.create_user(&operator, body).await;
        }

        let first = |reply: crate::helpers::Reply, what: &str| {
            assert_eq!(reply.status, 200, "{what}: {}", reply.text);
            reply.json()["data"][0].clone()
        };
        let product =
            first(app.get("/api/v1/products?limit=1").await, "products")["id"].as_str().expect("id").to_owned();
        let region = first(app.get("/api/v1/regions?country=KR").await, "regions")["code"]
            .as_str()
            .expect("region code")
            .to_owned();

        let send = |key: &str, req: TestRequest| app.send(app.with_key(req, key));
        let created = |reply: crate::helpers::Reply, what: &str| {
            assert!(reply.status.is_success(), "{what}: {} {}", reply.status, reply.text);
            reply.json()
        };
        let lead = serde_json::json!({"mohomId": LEADER, "productId": product, "name": "Contract Lead",
            "phone": "010-7200-0001", "region": region});
        let lead = created(send(&partner, json_request("post", "/api/v1/leads", Some(lead))).await, "lead");
        let order = serde_json::json!({"mohomId": LEADER, "productId": product,
            "regions": [{"region": region, "quantity": 1}]});
        let order = created(send(&partner, json_request("post", "/api/v1/orders", Some(order))).await, "order");

        let queue = serde_json::json!({"autoDivGbCd": "10", "autoDivDtlNo": QUEUE_DETAIL, "name": "Contract queue"});
        created(send(&operator, json_request("post", "/api/v1/counsel/queues", Some(queue))).await, "queue");
        let mut members = Vec::new();
        for aemp in ["ct-manager-a", "ct-manager-b"] {
            let body = serde_json::json!({"autoDivGbCd": "10", "autoDivDtlNo": QUEUE_DETAIL, "aempId": aemp});
            let reply =
                created(send(&operator, json_request("post", "/api/v1/counsel/members", Some(body))).await, aemp);
            members.push(reply["autoDivNo"].as_str().expect("autoDivNo").to_owned());
        }

        let presign = serde_json::json!({"mohomId": LEADER, "fileName": "evidence.png", "contentType": "image/png",
            "size": png().len(), "purpose": "AS_EVIDENCE"});
        let presigned =
            created(send(&partner, json_request("post", "/api/v1/files/presigned", Some(presign))).await, "presign");
        let upload_url = presigned["uploadUrl"].as_str().expect("uploadUrl").to_owned();
        // The upload is local: the URL's path and query are what the test app serves.
        let upload_url = match upload_url.find("/api/v1/files/upload/") {
            Some(at) => upload_url[at..].to_owned(),
            None => panic!("not a local upload URL: {upload_url}"),
        };

        let id = |value: &serde_json::Value| value["id"].as_str().expect("id").to_owned();
        Self {
            product,
            lead: id(&lead),
            order: id(&order),
            member_removed: members.pop().expect("member b"),
            member_kept: members.pop().expect("member a"),
            upload_url,
            app,
        }
    }

    /// The request for an operation of the document (credentials included), and what
    /// it answers when the operation does not take the key; `None` for an operation
    /// this table does not know yet.
    fn request(&self, method: &str, path: &str) -> Option<(TestRequest, Unmarked)> {
        let (partner, operator) = (self.app.partner_key.as_str(), self.app.operator_key.as_str());
        let unknown = uuid::Uuid::now_v7().to_string();
        let acting = format!("?mohomId={LEADER}");
        let with = |key: &str, req: TestRequest| self.app.with_key(req, key);
        let post = |uri: &str, body: serde_json::Value| json_request("post", uri, Some(body));
        let done = Unmarked::Done;
        let request = match (method, path) {
            ("post", "/api/v1/as") => with(
                partner,
                post(
                    "/api/v1/as",
                    serde_json::json!({"mohomId": LEADER, "leadId": self.lead, "reasonCode": "WRONG_NUMBER"}),
                ),
            ),
            ("post", "/api/v1/as/{asId}/approve") => {
                let req = with(operator, json_request("post", &format!("/api/v1/as/{unknown}/approve"), None));
                return Some((req, Unmarked::NotFound("AS_NOT_FOUND")));
            }
            ("post", "/api/v1/as/{asId}/cancel") => {
                let req = with(partner, json_request("post", &format!("/api/v1/as/{unknown}/cancel{acting}"), None));
                return Some((req, Unmarked::NotFound("AS_NOT_FOUND")));
            }
            ("post", "/api/v1/as/{asId}/reject") => {
                let body = serde_json::json!({"comment": "not a claim"});
                let req = with(operator, post(&format!("/api/v1/as/{unknown}/reject"), body));
                return Some((req, Unmarked::NotFound("AS_NOT_FOUND")));
            }
            ("post", "/api/v1/counsel/cases/{cnslNo}/complete") => {
                let req =
                    with(operator, json_request("post", &format!("/api/v1/counsel/cases/{unknown}/complete"), None));
                return Some((req, Unmarked::NotFound("COUNSEL_CASE_NOT_FOUND")));
            }
            ("post", "/api/v1/counsel/members") => with(
                operator,
                post(
                    "/api/v1/counsel/members",
                    serde_json::json!({"autoDivGbCd": "10", "autoDivDtlNo": QUEUE_DETAIL, "aempId": "ct-manager-a"}),
                ),
            ),
            ("put", "/api/v1/counsel/members/{autoDivNo}") => with(
                operator,
                json_request(
                    "put",
                    &format!("/api/v1/counsel/members/{}", self.member_kept),
                    Some(serde_json::json!({"weight": 2, "capacity": 20})),
                ),
            ),
            ("delete", "/api/v1/counsel/members/{autoDivNo}") => with(
                operator,
                json_request("delete", &format!("/api/v1/counsel/members/{}", self.member_removed), None),
            ),
            ("post", "/api/v1/counsel/queues") => with(
                operator,
                post(
                    "/api/v1/counsel/queues",
                    serde_json::json!({"autoDivGbCd": "10", "autoDivDtlNo": "CT2", "name": "Another"}),
                ),
            ),
            ("post", "/api/v1/files/presigned") => with(
                partner,
                post(
                    "/api/v1/files/presigned",
                    serde_json::json!({"mohomId": LEADER, "fileName": "more.png", "contentType": "image/png",
                        "size": 100, "purpose": "AS_EVIDENCE"}),
                ),
            ),
            // Authorized by its signature alone.
            ("put", "/api/v1/files/upload/{fileKey}") => {
                TestRequest::put().uri(&self.upload_url).insert_header(("Content-Type", "image/png")).set_payload(png())
            }
            ("post", "/api/v1/leads") => with(
                partner,
                post(
                    "/api/v1/leads",
                    serde_json::json!({"mohomId": LEADER, "productId": self.product, "name": "Another Lead",
                        "phone": "010-7200-0002", "region": "서울"}),
                ),
            ),
            ("post", "/api/v1/leads/contacts") => with(
                partner,
                post("/api/v1/leads/contacts", serde_json::json!({"mohomId": LEADER, "leadIds": [self.lead]})),
            ),
            ("post", "/api/v1/leads/distribute") => with(
                partner,
                post(
                    "/api/v1/leads/distribute",
                    serde_json::json!({"mohomId": LEADER, "toMohomId": MEMBER, "leadIds": [self.lead]}),
                ),
            ),
            ("post", "/api/v1/leads/recall") => with(
                partner,
                post("/api/v1/leads/recall", serde_json::json!({"mohomId": LEADER, "leadIds": [self.lead]})),
            ),
            ("post", "/api/v1/leads/{leadId}/use") => {
                with(partner, json_request("post", &format!("/api/v1/leads/{}/use{acting}", self.lead), None))
            }
            ("post", "/api/v1/orders") => with(
                partner,
                post(
                    "/api/v1/orders",
                    serde_json::json!({"mohomId": LEADER, "productId": self.product,
                        "regions": [{"region": "서울", "quantity": 1}]}),
                ),
            ),
            ("post", "/api/v1/orders/{orderId}/cancel") => {
                with(partner, json_request("post", &format!("/api/v1/orders/{}/cancel{acting}", self.order), None))
            }
            ("post", "/api/v1/orgs") => with(
                operator,
                post("/api/v1/orgs", serde_json::json!({"code": "ct-org", "name": "Contract Org", "kind": "PARTNER"})),
            ),
            ("post", "/api/v1/orgs/{code}/api-keys") => {
                with(operator, json_request("post", "/api/v1/orgs/mohom/api-keys", None))
            }
            ("post", "/api/v1/orgs/{code}/sources") => with(
                operator,
                post(
                    "/api/v1/orgs/mohom/sources",
                    serde_json::json!({"code": "CT-SRC", "defaultProductId": self.product}),
                ),
            ),
            ("post", "/api/v1/users") => with(
                partner,
                post("/api/v1/users", member("ct-new", "Contract New", "010-7100-0009", "ct-new@example.com")),
            ),
            ("put", "/api/v1/users/{mohomId}") => with(
                partner,
                json_request("put", &format!("/api/v1/users/{MEMBER}"), Some(serde_json::json!({"name": "Renamed"}))),
            ),
            ("delete", "/api/v1/users/{mohomId}") => {
                with(partner, json_request("delete", &format!("/api/v1/users/{DOOMED}"), None))
            }
            ("put", "/lead-platform/v1/leads/changeStatus") => with(
                partner,
                json_request(
                    "put",
                    "/lead-platform/v1/leads/changeStatus",
                    Some(serde_json::json!({"lead_source_id": "ct-1", "status": "CONTACTED"})),
                ),
            )
            .insert_header(("source", "TCB")),
            ("post", "/lead-platform/v1/leads/create") => with(
                partner,
                post(
                    "/lead-platform/v1/leads/create",
                    serde_json::json!({"name": "Nguyen Van B", "mobileNumber": "0399777111"}),
                ),
            )
            .insert_header(("source", "TCB")),
            ("post", "/v2/customerservice/csAllocationMgmt/changeAutoDivideAllocationPossibleYn") => {
                with(operator, post(path, serde_json::json!({"state": "N", "autoDivNoList": [self.member_kept]})))
            }
            ("post", "/v2/customerservice/csAllocationMgmt/getObCsCounselInfoListExcel") => {
                with(operator, json_request("post", path, None))
            }
            ("post", "/v2/customerservice/csAllocationMgmt/manualAssign") => {
                let body = serde_json::json!({"cnslNo": unknown, "aempId": "ct-manager-a"});
                return Some((with(operator, post(path, body)), Unmarked::NotFound("COUNSEL_CASE_NOT_FOUND")));
            }
            ("post", "/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel") => {
                const BOUNDARY: &str = "contract-boundary-1f3c";
                let mut body = format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"excelFile\"; filename=\"ob.xlsx\"\r\n\
                     Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                )
                .into_bytes();
                body.extend_from_slice(b"PK\x03\x04 not read before the key is checked");
                body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
                with(
                    operator,
                    TestRequest::post()
                        .uri(&format!(
                            "{path}?excelColumns=mbrNo,ordNo,accpCont,custNm,custTelNo&cnslTypNo=10&obTypNo=ob1"
                        ))
                        .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
                        .set_payload(body),
                )
            }
            ("post", "/api/v1/webhooks") => with(
                partner,
                post("/api/v1/webhooks", serde_json::json!({"url": "https://93.184.215.14/ct", "events": ["*"]})),
            ),
            ("patch", "/api/v1/webhooks/{id}") => {
                let body = serde_json::json!({"status": "DISABLED"});
                let req = with(partner, json_request("patch", &format!("/api/v1/webhooks/{unknown}"), Some(body)));
                return Some((req, Unmarked::NotFound("WEBHOOK_NOT_FOUND")));
            }
            ("delete", "/api/v1/webhooks/{id}") => {
                let req = with(partner, json_request("delete", &format!("/api/v1/webhooks/{unknown}"), None));
                return Some((req, Unmarked::NotFound("WEBHOOK_NOT_FOUND")));
            }
            ("post", "/api/v1/webhooks/{id}/rotate-secret" | "/api/v1/webhooks/{id}/test") => {
                let uri = path.replace("{id}", &unknown);
                return Some((
                    with(partner, json_request("post", &uri, None)),
                    Unmarked::NotFound("WEBHOOK_NOT_FOUND"),
                ));
            }
            ("post", "/api/v1/webhooks/{id}/deliveries/{eventId}/retry") => {
                let uri = path.replace("{id}", &unknown).replace("{eventId}", "evt_unknown");
                return Some((
                    with(partner, json_request("post", &uri, None)),
                    Unmarked::NotFound("WEBHOOK_NOT_FOUND"),
                ));
            }
            ("post", "/api/v1/coverage/identity/request") => with(
                partner,
                post(
                    "/api/v1/coverage/identity/request",
                    serde_json::json!({"name": "홍길동", "birthDate": "1985-04-12", "gender": "M",
                        "phone": "010-7300-0001", "carrier": "KT"}),
                ),
            ),
            ("post", "/api/v1/coverage/analyses") => with(
                partner,
                post(
                    "/api/v1/coverage/analyses",
                    serde_json::json!({"verificationToken": "vt_unknown", "consents": []}),
                ),
            ),
            ("post", "/api/v1/coverage/identity/verify") => {
                let body = serde_json::json!({"verificationId": unknown, "code": "123456"});
                return Some((
                    with(partner, post("/api/v1/coverage/identity/verify", body)),
                    Unmarked::NotFound("VERIFICATION_NOT_FOUND"),
                ));
            }
            ("post", "/api/v1/coverage/analyses/{analysisId}/report") => {
                let uri = path.replace("{analysisId}", &unknown);
                return Some((
                    with(partner, post(&uri, serde_json::json!({"format": "JSON"}))),
                    Unmarked::NotFound("ANALYSIS_NOT_FOUND"),
                ));
            }
            ("post", "/api/v1/medical/analyses/{id}/report/json" | "/api/v1/medical/analyses/{id}/report/pdf") => {
                let uri = path.replace("{id}", &unknown);
                return Some((
                    with(partner, json_request("post", &uri, None)),
                    Unmarked::NotFound("ANALYSIS_NOT_FOUND"),
                ));
            }
            ("post", "/api/v1/medical/nhis/auth/complete" | "/api/v1/medical/checkups") => {
                let body = serde_json::json!({"authSessionId": unknown});
                return Some((with(partner, post(path, body)), Unmarked::NotFound("AUTH_SESSION_NOT_FOUND")));
            }
            ("post", "/api/v1/medical/analyses") => {
                let body = serde_json::json!({"analysisId": unknown, "authSessionId": unknown});
                return Some((with(partner, post(path, body)), Unmarked::NotFound("ANALYSIS_NOT_FOUND")));
            }
            ("post", "/api/v1/medical/nhis/auth") => {
                let body = serde_json::json!({"verificationToken": "vt_unknown", "authProvider": "KAKAO",
                    "consents": []});
                return Some((with(partner, post(path, body)), Unmarked::Refused(400, "VERIFICATION_EXPIRED")));
            }
            _ => return None,
        };
        Some((request, done))
    }
}

/// The smallest body the upload accepts as `image/png`: the PNG signature and padding.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(64, 0);
    bytes
}

async fn idempotency_key_body(db: TestDb) {
    let world = World::new(db).await;
    let doc = world.app.get_anonymous("/api-docs/openapi.json").await.json();
    let operations = writing_operations(&doc);
    assert!(operations.iter().any(|(_, _, marked)| *marked), "the document marks some operations");
    let mut wrong = Vec::new();
    for (method, path, marked) in &operations {
        let Some((request, unmarked)) = world.request(method, path) else {
            wrong.push(format!("{method} {path}: not in this test's table; add a request that reaches its handler"));
            continue;
        };
        let reply = world.app.send(request.insert_header(("Idempotency-Key", bad_key()))).await;
        let refused = reply.status == 400 && reply.code() == "INVALID_IDEMPOTENCY_KEY";
        let outcome = format!("{} {}", reply.status.as_u16(), reply.text.chars().take(300).collect::<String>());
        if *marked {
            if !refused {
                wrong.push(format!("{method} {path}: documents Idempotency-Key but answered {outcome}"));
            }
            continue;
        }
        let expected = match unmarked {
            Unmarked::Done => reply.status.is_success(),
            Unmarked::NotFound(code) => reply.status == 404 && reply.code() == code,
            Unmarked::Refused(status, code) => reply.status.as_u16() == status && reply.code() == code,
        };
        if refused {
            wrong.push(format!("{method} {path}: honours Idempotency-Key but the document does not say so"));
        } else if !expected {
            wrong.push(format!("{method} {path}: the request did not reach its handler's end: {outcome}"));
        }
    }
    assert!(wrong.is_empty(), "Idempotency-Key, document against server:\n{}", wrong.join("\n"));
}

#[test]
fn the_document_serves_client_generators() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).expect("JSON");
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            for (media, content) in operation["requestBody"]["content"].as_object().into_iter().flatten() {
                let nullable = content["schema"]["oneOf"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|s| s["type"] == "null"));
                if nullable {
                    wrong.push(format!("{method} {path} ({media}): an optional body as oneOf [.., null]"));
                }
            }
        }
    }
    let mut stack = vec![("".to_owned(), &doc)];
    while let Some((at, value)) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(values) = map.get("enum").and_then(serde_json::Value::as_array) {
                    let texts: Vec<&str> = values.iter().filter_map(serde_json::Value::as_str).collect();
                    let identifiers = texts.iter().all(|t| {
                        t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                    let names = map.get("x-enum-varnames").and_then(serde_json::Value::as_array);
                    if !identifiers && names.is_none_or(|n| n.len() != texts.len()) {
                        wrong.push(format!("{at}: enum {texts:?} without one x-enum-varnames name per value"));
                    }
                }
                stack.extend(map.iter().map(|(k, v)| (format!("{at}/{k}"), v)));
            }
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|v| (at.clone(), v))),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn validate_manager_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let doc = app.get_anonymous("/api-docs/openapi.json").await.json();
    let path = "/v2/customerservice/csAllocationMgmt/checkValidateManager";
    let required: Vec<&str> = doc["paths"][path]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(required, ["aempId"], "only the user is required");
    let reply =
        app.send(app.with_key(TestRequest::get().uri(&format!("{path}?aempId=nobody")), &app.operator_key)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["valid"], false);
}
