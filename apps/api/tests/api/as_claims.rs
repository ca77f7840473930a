//! AS over HTTP: claim with evidence, review, approve (replacement or refund), reject,
//! cancel, auto-approval, every refusal with nothing written, and who may do what: a
//! lead a leader passed down, decisions by operator ADMIN tokens, a cancel during review,
//! evidence keys that cannot be used, and `Idempotency-Key` on the claim.

use std::sync::{Arc, Mutex};

use actix_web::test::TestRequest;
use domain::lead::{LeadFields, NewLead};
use testkit::TestDb;
use testkit::memory::FixedClock;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_claim_with_evidence_is_approved_and_replaced_from_the_pool => replacement_body;
    a_replacement_waits_for_the_next_lead_and_comes_once => replacement_later_body;
    a_refund_shows_in_the_order_and_the_summary => refund_body;
    claim_refusals_write_nothing => refusals_body;
    the_window_closes_one_second_after_its_end => window_body;
    transitions_follow_the_state_machine_and_the_roles => transitions_body;
    a_plain_case_is_auto_approved_when_the_product_allows => auto_body;
    members_see_only_their_own_as_and_the_list_filters => list_body;
    a_lead_a_leader_bought_and_passed_down_is_claimed_by_the_member_and_leaves_both_lists => passed_down_body;
    a_self_registered_lead_passed_down_is_not_claimable_and_nothing_is_written => passed_down_registered_body;
    operator_admins_decide_by_token_and_a_partner_admin_is_refused => admin_tokens_body;
    cancelling_an_as_in_review_is_refused_and_writes_nothing => cancel_in_review_body;
    evidence_keys_already_attached_foreign_or_for_another_purpose_are_refused => evidence_refusals_body;
    an_idempotency_key_replays_the_claim_and_refuses_another_body => idempotent_claim_body;
}

/// 2026-11-25 09:00 UTC: every test runs on this clock, moved by hand.
const T0: OffsetDateTime = time::macros::datetime!(2026-11-25 09:00 UTC);

struct World {
    app: TestApp,
    clock: Arc<FixedClock>,
    org: Uuid,
}

impl World {
    async fn new(db: TestDb) -> Self {
        let mut app = TestApp::new(db).await;
        let clock = Arc::new(FixedClock(Mutex::new(T0)));
        app.state.clock = clock.clone();
        app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
        app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
        let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
        Self { app, clock, org }
    }

    fn set(&self, at: OffsetDateTime) {
        *self.clock.0.lock().unwrap() = at;
    }

    async fn product(&self, code: &str) -> Uuid {
        infra::fixtures::product_id_by_code(self.app.db.db.conn(), code).await.unwrap().unwrap()
    }

    /// `count` leads in the product's pool, one second apart before now.
    async fn pool(&self, code: &str, region: &str, count: usize, tag: u32) -> Vec<Uuid> {
        let product = self.product(code).await;
        let mut ids = Vec::new();
        for i in 0..count {
            let product_text = product.to_string();
            let phone = if region == "79" { format!("039{tag:03}{i:04}") } else { format!("010-{tag:04}-{i:04}") };
            let fields = LeadFields {
                product_id: Some(&product_text),
                name: Some("홍길동"),
                phone: Some(&phone),
                region: Some(region),
                ..LeadFields::default()
            };
            let new = NewLead::parse(&fields, T0.date()).unwrap();
            let at = T0 - Duration::hours(1) + Duration::seconds(i as i64);
            ids.push(self.app.state.leads.add_to_pool(&new, self.org, at).await.unwrap());
        }
        ids
    }

    /// `m` orders `quantity` leads of `code` in `region`; returns the order id.
    async fn buy(&self, m: &str, code: &str, region: &str, quantity: u64) -> String {
        let body = serde_json::json!({"mohomId": m, "productId": self.product(code).await, "regions": [{"region": region, "quantity": quantity}]});
        let reply = self.app.send(self.post("/api/v1/orders", body)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    fn post(&self, uri: &str, body: serde_json::Value) -> TestRequest {
        self.app.with_key(TestRequest::post().uri(uri).set_json(body), &self.app.partner_key)
    }

    fn operator(&self, uri: &str, body: serde_json::Value) -> TestRequest {
        self.app.with_key(TestRequest::post().uri(uri).set_json(body), &self.app.operator_key)
    }

    async fn get(&self, uri: &str) -> serde_json::Value {
        let reply = self.app.send(self.app.with_key(TestRequest::get().uri(uri), &self.app.partner_key)).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
        reply.json()
    }

    async fn owned(&self, m: &str) -> Vec<String> {
        let list = self.get(&format!("/api/v1/leads?mohomId={m}&limit=100")).await;
        list["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn use_lead(&self, m: &str, lead: &str) {
        let reply =
            self.app.send(self.post(&format!("/api/v1/leads/{lead}/use"), serde_json::json!({"mohomId": m}))).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    /// Presigns and uploads a small PNG for `m`; returns its file key.
    async fn evidence(&self, m: &str) -> String {
        let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 56]].concat();
        let body = serde_json::json!({"mohomId": m, "fileName": "통화기록.png", "contentType": "image/png", "size": png.len(), "purpose": "AS_EVIDENCE"});
        let reply = self.app.send(self.post("/api/v1/files/presigned", body)).await;
        assert!(reply.status.is_success(), "{}", reply.text);
        let issued = reply.json();
        let url = issued["uploadUrl"].as_str().unwrap();
        let path = &url[url.find("/api/").unwrap()..];
        let put = self
            .app
            .send(TestRequest::put().uri(path).insert_header(("Content-Type", "image/png")).set_payload(png))
            .await;
        assert!(put.status.is_success(), "{}", put.text);
        issued["fileKey"].as_str().unwrap().to_owned()
    }

    async fn claim(&self, m: &str, lead: &str, reason: &str, files: &[String]) -> crate::helpers::Reply {
        let body = serde_json::json!({"mohomId": m, "leadId": lead, "reasonCode": reason, "description": "전화번호 결번 안내", "fileKeys": files});
        self.app.send(self.post("/api/v1/as", body)).await
    }

    async fn claimed(&self, m: &str, lead: &str, reason: &str, files: &[String]) -> serde_json::Value {
        let reply = self.claim(m, lead, reason, files).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    async fn decide(&self, id: &str, action: &str, comment: Option<&str>) -> crate::helpers::Reply {
        let body = comment.map_or(serde_json::json!({}), |c| serde_json::json!({"comment": c}));
        self.app.send(self.operator(&format!("/api/v1/as/{id}/{action}"), body)).await
    }

    async fn order(&self, m: &str, id: &str) -> serde_json::Value {
        self.get(&format!("/api/v1/orders/{id}?mohomId={m}")).await
    }

    async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let db = &self.app.db.db;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db.conn().query_one_raw(sea_orm::Statement::from_string(db.backend(), sql)).await.unwrap().unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// What a refused claim must leave as it was.
    async fn footprint(&self) -> (i64, i64, i64, i64) {
        (
            self.count("as_requests").await,
            self.count("as_status_history").await,
            self.count("audit_log").await,
            self.count("uploaded_files WHERE as_id IS NOT NULL").await,
        )
    }

    /// One text column `v` of every row the query returns.
    async fn texts(&self, sql: &str) -> Vec<String> {
        use sea_orm::ConnectionTrait;
        let db = &self.app.db.db;
        let rows = db.conn().query_all_raw(sea_orm::Statement::from_string(db.backend(), sql)).await.unwrap();
        rows.iter().map(|row| row.try_get::<String>("", "v").unwrap()).collect()
    }

    /// Everything a refused or forbidden AS call must leave as it was: row counts of the
    /// AS tables, the audit log, files, assignments and counsel cases, and the state of
    /// every AS, lead, order, order line, file and counsel case.
    async fn written(&self) -> (Vec<(&'static str, i64)>, Vec<String>) {
        let mut counts = Vec::new();
        for table in [
            "as_requests",
            "as_status_history",
            "audit_log",
            "uploaded_files",
            "uploaded_files WHERE as_id IS NOT NULL",
            "assignments",
            "assignments WHERE ended_at IS NULL",
            "counsel_cases",
        ] {
            counts.push((table, self.count(table).await));
        }
        let mut rows = Vec::new();
        for sql in [
            "SELECT 'as ' || id || ' ' || status || ' ' || COALESCE(compensation, '-') AS v FROM as_requests",
            "SELECT 'lead ' || id || ' ' || status || ' ' || COALESCE(owner_user_id, '-') || ' ' \
             || COALESCE(assignment_id, '-') || ' ' || COALESCE(latest_as_status, '-') AS v FROM leads",
            "SELECT 'order ' || id || ' ' || status || ' ' || CAST(delivered AS TEXT) || ' ' || CAST(as_open AS TEXT) \
             || ' ' || CAST(as_approved AS TEXT) || ' ' || CAST(refunded_minor AS TEXT) AS v FROM orders",
            "SELECT 'line ' || id || ' ' || CAST(delivered AS TEXT) || ' ' || CAST(replacements_owed AS TEXT) AS v \
             FROM order_lines",
            "SELECT 'file ' || file_key || ' ' || status || ' ' || purpose || ' ' || COALESCE(as_id, '-') AS v \
             FROM uploaded_files",
            "SELECT 'case ' || cnsl_no || ' ' || status AS v FROM counsel_cases",
        ] {
            let mut found = self.texts(sql).await;
            found.sort();
            rows.extend(found);
        }
        (counts, rows)
    }

    /// A user of the partner created through the API, then given `role` behind its back
    /// (the API lets a partner hold no `ADMIN`; the check must not rely on that).
    async fn partner_user_with_role(&self, mohom: &str, role: &str) {
        use sea_orm::ConnectionTrait;
        self.app.create_user(&self.app.partner_key, member(mohom, "관리자", "010-7777-8888", "p@mohom.kr")).await;
        let sql = format!("UPDATE users SET role = '{role}' WHERE mohom_id = '{mohom}'");
        self.app.db.db.conn().execute_unprepared(&sql).await.unwrap();
    }

    /// A `20` (AS review) queue with one CS manager taking cases: every claim from now on
    /// is `IN_REVIEW` at once.
    async fn review_queue(&self, manager: &str) {
        let op = |uri: &str, body: serde_json::Value| self.app.send(self.operator(uri, body));
        let cs = serde_json::json!({"mohomId": manager, "name": "상담원", "phone": "01011112222", "email": "cs@ldbds.kr", "role": "CS_MANAGER"});
        self.app.create_user(&self.app.operator_key, cs).await;
        let queue = op(
            "/api/v1/counsel/queues",
            serde_json::json!({"autoDivGbCd": "20", "autoDivDtlNo": "1", "name": "AS 검토", "policy": "ROUND_ROBIN"}),
        )
        .await;
        assert_eq!(queue.status, 201, "{}", queue.text);
        let joined = op(
            "/api/v1/counsel/members",
            serde_json::json!({"autoDivGbCd": "20", "autoDivDtlNo": "1", "aempId": manager, "weight": 1, "capacity": 10}),
        )
        .await;
        assert_eq!(joined.status, 201, "{}", joined.text);
    }
}

/// Snapshots an error body (the request id redacted).
fn snap_error(name: &str, reply: &crate::helpers::Reply) {
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!(name, reply.json()));
}

fn redactions() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _| match value.as_str() {
        Some(_) => insta::internals::Content::from("[redacted]"),
        None => value,
    })
}

async fn replacement_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 3, 1).await;
    let order = w.buy("m-1", "RE-HCM-APT", "79", 2).await;
    assert_eq!(w.owned("m-1").await.len(), 2, "the two oldest pool leads were delivered");
    let lead = leads[0].to_string();
    w.use_lead("m-1", &lead).await;
    w.set(T0 + Duration::hours(2));
    let file = w.evidence("m-1").await;
    let created = w.claimed("m-1", &lead, "WRONG_NUMBER", std::slice::from_ref(&file)).await;
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_created", created, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".files[].fileKey" => "[id]", ".files[].uploadedAt" => "[time]", ".history[].actor" => redactions(),
        });
    });
    assert_eq!(created["files"][0]["size"], 64);
    assert_eq!(created["files"][0]["sha256"].as_str().map(str::len), Some(64));
    let id = created["id"].as_str().unwrap().to_owned();
    let leads_row = w.get(&format!("/api/v1/leads/{lead}?mohomId=m-1")).await;
    assert_eq!(
        (leads_row["leadAsStatus"].as_str(), leads_row["leadAsStatusLabel"].as_str()),
        (Some("REQUESTED"), Some("접수"))
    );
    // An open AS blocks distribution, as the leads issue promised.
    let leader_move = w
        .app
        .send(w.post(
            "/api/v1/leads/distribute",
            serde_json::json!({"mohomId": "m-1", "toMohomId": "m-2", "leadIds": [lead]}),
        ))
        .await;
    assert_ne!(leader_move.status, 200, "{}", leader_move.text);

    w.set(T0 + Duration::hours(3));
    let approved = w.decide(&id, "approve", Some("결번 확인")).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let approved = approved.json();
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_approved", approved, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".files[].fileKey" => "[id]", ".files[].uploadedAt" => "[time]", ".history[].actor" => redactions(),
        });
    });
    assert_eq!(approved["history"].as_array().unwrap().len(), 2);
    assert_eq!(approved["history"][1]["actor"].as_str().map(|a| a.starts_with("key:")), Some(true));
    // The lead left m-1's lists; the third pool lead came as the replacement at once.
    let owned = w.owned("m-1").await;
    assert!(!owned.contains(&lead), "the returned lead left the owner's list");
    assert!(owned.contains(&leads[2].to_string()), "the waiting pool lead is the replacement");
    assert_eq!(owned.len(), 2);
    let replacement = w.get(&format!("/api/v1/leads/{}?mohomId=m-1", leads[2])).await;
    assert_eq!(replacement["assignments"][0]["source"], "REPLACEMENT", "{replacement}");
    let gone = w
        .app
        .send(w.app.with_key(TestRequest::get().uri(&format!("/api/v1/leads/{lead}?mohomId=m-1")), &w.app.partner_key))
        .await;
    assert_eq!(gone.status, 404);
    let order = w.order("m-1", &order).await;
    assert_eq!((order["status"].as_str(), order["deliveredQuantity"].as_u64()), (Some("COMPLETED"), Some(2)));
    assert_eq!(order["refundAmount"], "0");
    // A decided AS never changes again.
    for action in ["approve", "reject"] {
        let again = w.decide(&id, action, Some("again")).await;
        assert_eq!((again.status.as_u16(), again.code()), (409, "AS_INVALID_STATE".to_owned()), "{}", again.text);
    }
    let cancel = w.app.send(w.post(&format!("/api/v1/as/{id}/cancel"), serde_json::json!({"mohomId": "m-1"}))).await;
    assert_eq!(cancel.code(), "AS_INVALID_STATE");
    assert_eq!(w.count("audit_log WHERE action LIKE 'as.%'").await, 2);
}

async fn replacement_later_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 2, 2).await;
    let order = w.buy("m-1", "RE-HCM-APT", "79", 2).await;
    let claim = w.claimed("m-1", &leads[1].to_string(), "DUPLICATE", &[]).await;
    let approved = w.decide(claim["id"].as_str().unwrap(), "approve", None).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json()["compensation"], "REPLACEMENT");
    let open = w.order("m-1", &order).await;
    assert_eq!((open["status"].as_str(), open["deliveredQuantity"].as_u64()), (Some("IN_PROGRESS"), Some(1)));
    // The next lead of the pool is the replacement; the one after it stays in the pool.
    let intake = |phone: &str| {
        let body = serde_json::json!({"name": "Nguyen Van B", "mobileNumber": phone, "regionCode": "79", "projectCode": "VHGP"});
        w.app.with_key(
            TestRequest::post().uri("/lead-platform/v1/leads/create").insert_header(("source", "TCB")).set_json(body),
            &w.app.partner_key,
        )
    };
    let first = w.app.send(intake("0398000001")).await;
    assert_eq!(first.json()["status"], "ASSIGNED", "{}", first.text);
    let second = w.app.send(intake("0398000002")).await;
    assert_eq!(second.json()["status"], "POOL", "{}", second.text);
    let done = w.order("m-1", &order).await;
    assert_eq!((done["status"].as_str(), done["deliveredQuantity"].as_u64()), (Some("COMPLETED"), Some(2)));
    assert_eq!(w.count("assignments WHERE source = 'REPLACEMENT'").await, 1);
    assert_eq!(w.count("order_lines WHERE replacements_owed <> 0").await, 0);
}

async fn refund_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("INS-CAR", "서울", 2, 3).await;
    let order = w.buy("m-1", "INS-CAR", "서울", 4).await;
    let before = w.order("m-1", &order).await;
    let lead = leads[0].to_string();
    // INS-CAR counts its 48 h window from use.
    let unused = w.claim("m-1", &lead, "DUPLICATE", &[]).await;
    assert_eq!((unused.status.as_u16(), unused.code()), (409, "AS_WINDOW_CLOSED".to_owned()), "{}", unused.text);
    w.use_lead("m-1", &lead).await;
    let claim = w.claimed("m-1", &lead, "DUPLICATE", &[]).await;
    let approved = w.decide(claim["id"].as_str().unwrap(), "approve", Some("중복 확인")).await.json();
    assert_eq!(approved["compensation"], "REFUND");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_approved_refund", approved, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".history[].actor" => redactions(),
        });
    });
    let after = w.order("m-1", &order).await;
    assert_eq!(before["unitPrice"], after["unitPrice"]);
    assert_eq!(after["refundAmount"], after["unitPrice"], "one unit price (INS-CAR prices include VAT)");
    assert_eq!((after["status"].as_str(), after["deliveredQuantity"].as_u64()), (Some("IN_PROGRESS"), Some(2)));
    let list = w.get("/api/v1/orders?mohomId=m-1").await;
    assert_eq!(list["summary"]["refundedAmount"], after["unitPrice"]);
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("orders_summary_after_refund", list["summary"]));
    // A cancel later adds the undelivered remainder to the refund, it does not replace it.
    let cancelled =
        w.app.send(w.post(&format!("/api/v1/orders/{order}/cancel"), serde_json::json!({"mohomId": "m-1"}))).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let unit: rust_decimal::Decimal = after["unitPrice"].as_str().unwrap().parse().unwrap();
    let refunded: rust_decimal::Decimal = cancelled.json()["refundAmount"].as_str().unwrap().parse().unwrap();
    assert_eq!(refunded, unit * rust_decimal::Decimal::from(3), "one AS refund + two undelivered units");
}

async fn refusals_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 6, 4).await;
    w.buy("m-1", "RE-HCM-APT", "79", 3).await;
    w.buy("m-2", "RE-HCM-APT", "79", 3).await;
    let (mine, mine2, theirs) = (leads[0].to_string(), leads[1].to_string(), leads[3].to_string());
    let registered = {
        let body = serde_json::json!({"mohomId": "m-1", "productId": w.product("RE-HCM-APT").await, "name": "자가등록", "phone": "0391234567", "region": "79"});
        let reply = w.app.send(w.post("/api/v1/leads", body)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_str().unwrap().to_owned()
    };
    let their_file = w.evidence("m-2").await;
    let pending = {
        let body = serde_json::json!({"mohomId": "m-1", "fileName": "a.png", "contentType": "image/png", "size": 64, "purpose": "AS_EVIDENCE"});
        w.app.send(w.post("/api/v1/files/presigned", body)).await.json()["fileKey"].as_str().unwrap().to_owned()
    };
    let start = w.footprint().await;
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (serde_json::json!({"mohomId": "m-1", "leadId": theirs, "reasonCode": "DUPLICATE"}), 404, "LEAD_NOT_FOUND"),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": Uuid::nil(), "reasonCode": "DUPLICATE"}),
            404,
            "LEAD_NOT_FOUND",
        ),
        (serde_json::json!({"mohomId": "m-1", "leadId": registered, "reasonCode": "DUPLICATE"}), 409, "AS_NOT_ALLOWED"),
        (serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "UNDERAGE"}), 400, "AS_REASON_NOT_ALLOWED"),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "WRONG_NUMBER"}),
            400,
            "AS_EVIDENCE_REQUIRED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "WRONG_NUMBER", "fileKeys": [Uuid::nil()]}),
            404,
            "FILE_NOT_FOUND",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "WRONG_NUMBER", "fileKeys": [their_file]}),
            404,
            "FILE_NOT_FOUND",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "WRONG_NUMBER", "fileKeys": [pending]}),
            409,
            "FILE_NOT_UPLOADED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": "nope", "reasonCode": "BAD", "fileKeys": ["x"]}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "DUPLICATE", "description": "가".repeat(2001)}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"mohomId": "m-1", "leadId": mine, "reasonCode": "DUPLICATE", "extra": 1}),
            400,
            "INVALID_JSON",
        ),
        (serde_json::json!({"leadId": mine, "reasonCode": "DUPLICATE"}), 400, "VALIDATION_FAILED"),
        (serde_json::json!({"mohomId": "nobody", "leadId": mine, "reasonCode": "DUPLICATE"}), 404, "USER_NOT_FOUND"),
    ];
    for (body, status, code) in cases {
        let reply = w.app.send(w.post("/api/v1/as", body.clone())).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code.to_owned()), "{body}: {}", reply.text);
        assert_eq!(w.footprint().await, start, "{body} wrote something");
        match code {
            "AS_NOT_ALLOWED" => snap_error("as_error_not_allowed", &reply),
            "AS_EVIDENCE_REQUIRED" => snap_error("as_error_evidence_required", &reply),
            _ => {}
        }
    }
    // One open AS per lead; the order's cap (20 % of 3 delivered → 1) counts it too.
    let first = w.claimed("m-1", &mine, "DUPLICATE", &[]).await;
    let after_first = w.footprint().await;
    let again = w.claim("m-1", &mine, "DUPLICATE", &[]).await;
    assert_eq!((again.status.as_u16(), again.code()), (409, "AS_ALREADY_OPEN".to_owned()), "{}", again.text);
    snap_error("as_error_already_open", &again);
    let capped = w.claim("m-1", &mine2, "DUPLICATE", &[]).await;
    assert_eq!((capped.status.as_u16(), capped.code()), (409, "AS_RATE_EXCEEDED".to_owned()), "{}", capped.text);
    snap_error("as_error_rate_exceeded", &capped);
    assert_eq!(w.footprint().await, after_first);
    // A file attached to one AS cannot serve another.
    let file = w.evidence("m-2").await;
    let theirs2 = leads[4].to_string();
    w.claimed("m-2", &theirs, "WRONG_NUMBER", std::slice::from_ref(&file)).await;
    let reused = w.claim("m-2", &theirs2, "WRONG_NUMBER", &[file]).await;
    assert_eq!((reused.status.as_u16(), reused.code()), (409, "FILE_ALREADY_ATTACHED".to_owned()), "{}", reused.text);
    let lead = w.get(&format!("/api/v1/leads/{mine}?mohomId=m-1")).await;
    assert_eq!(lead["leadAsStatus"], "REQUESTED");
    assert_eq!(first["status"], "REQUESTED");
}

async fn window_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 4, 5).await;
    w.buy("m-1", "RE-HCM-APT", "79", 2).await;
    w.buy("m-2", "RE-HCM-APT", "79", 2).await;
    // RE-HCM-APT: 168 h from the purchase (T0).
    let end = T0 + Duration::hours(168);
    w.set(end + Duration::seconds(1));
    let late = w.claim("m-1", &leads[0].to_string(), "DUPLICATE", &[]).await;
    assert_eq!((late.status.as_u16(), late.code()), (409, "AS_WINDOW_CLOSED".to_owned()), "{}", late.text);
    snap_error("as_error_window_closed", &late);
    assert_eq!(w.count("as_requests").await, 0);
    w.set(end - Duration::seconds(1));
    w.claimed("m-2", &leads[2].to_string(), "DUPLICATE", &[]).await;
}

async fn transitions_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("INS-HEALTH", "서울", 20, 6).await;
    w.buy("m-1", "INS-HEALTH", "서울", 20).await;
    let lead = |i: usize| leads[i].to_string();
    // Cancel while REQUESTED; nothing more after that.
    let a = w.claimed("m-1", &lead(0), "DUPLICATE", &[]).await;
    let a_id = a["id"].as_str().unwrap();
    let other_member =
        w.app.send(w.post(&format!("/api/v1/as/{a_id}/cancel"), serde_json::json!({"mohomId": "m-2"}))).await;
    assert_eq!((other_member.status.as_u16(), other_member.code()), (404, "AS_NOT_FOUND".to_owned()));
    let cancelled =
        w.app.send(w.post(&format!("/api/v1/as/{a_id}/cancel"), serde_json::json!({"mohomId": "m-1"}))).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let cancelled = cancelled.json();
    assert_eq!((cancelled["status"].as_str(), cancelled["statusLabel"].as_str()), (Some("CANCELLED"), Some("취소")));
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_cancelled", cancelled, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".history[].actor" => redactions(),
        });
    });
    assert_eq!(w.decide(a_id, "approve", None).await.code(), "AS_INVALID_STATE");
    // The lead may be claimed again once the earlier AS is closed.
    let b = w.claimed("m-1", &lead(0), "DUPLICATE", &[]).await;
    let b_id = b["id"].as_str().unwrap();
    // Tokens are issued and checked on the wall clock.
    w.set(OffsetDateTime::now_utc());
    // Only the operator decides: a partner key, a partner member's token are refused.
    let partner = w.app.send(w.post(&format!("/api/v1/as/{b_id}/approve"), serde_json::json!({}))).await;
    assert_eq!((partner.status.as_u16(), partner.code()), (403, "FORBIDDEN".to_owned()));
    let token = w.app.token(&w.app.partner_key, "m-1").await;
    let as_member = w
        .app
        .send(w.app.with_bearer(
            TestRequest::post().uri(&format!("/api/v1/as/{b_id}/reject")).set_json(serde_json::json!({"comment": "x"})),
            &token,
        ))
        .await;
    assert_eq!(as_member.status, 403);
    // A CS manager of the operator reads every AS but does not decide (yet).
    w.app.create_user(&w.app.operator_key, serde_json::json!({"mohomId": "cs-1", "name": "상담원", "phone": "01011112222", "email": "cs@ldbds.kr", "role": "CS_MANAGER"})).await;
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let read = w.app.send(w.app.with_bearer(TestRequest::get().uri(&format!("/api/v1/as/{b_id}")), &cs)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let cs_decides = w
        .app
        .send(w.app.with_bearer(
            TestRequest::post().uri(&format!("/api/v1/as/{b_id}/approve")).set_json(serde_json::json!({})),
            &cs,
        ))
        .await;
    assert_eq!(cs_decides.status, 403);
    // Reject needs a comment; with one, ownership stays.
    let bare = w.decide(b_id, "reject", None).await;
    assert_eq!((bare.status.as_u16(), bare.code()), (400, "INVALID_JSON".to_owned()), "comment is required");
    let blank = w.decide(b_id, "reject", Some("   ")).await;
    assert_eq!((blank.status.as_u16(), blank.code()), (400, "VALIDATION_FAILED".to_owned()));
    let rejected = w.decide(b_id, "reject", Some("통화 기록상 정상 연결")).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let rejected = rejected.json();
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_rejected", rejected, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".history[].actor" => redactions(), ".history[].at" => "[time]", ".decidedAt" => "[time]",
            ".updatedAt" => "[time]",
        });
    });
    assert!(w.owned("m-1").await.contains(&lead(0)), "a rejection leaves ownership as it was");
    assert_eq!(w.get(&format!("/api/v1/leads/{}?mohomId=m-1", lead(0))).await["leadAsStatus"], "REJECTED");
    let after_reject =
        w.app.send(w.post(&format!("/api/v1/as/{b_id}/cancel"), serde_json::json!({"mohomId": "m-1"}))).await;
    assert_eq!(after_reject.code(), "AS_INVALID_STATE");
    // Malformed ids and bodies.
    let bad_id = w.decide("not-a-uuid", "approve", None).await;
    assert_eq!((bad_id.status.as_u16(), bad_id.code()), (400, "VALIDATION_FAILED".to_owned()));
    let unknown = w.decide(&Uuid::nil().to_string(), "approve", None).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "AS_NOT_FOUND".to_owned()));
    let garbage =
        w.app.send(w.operator(&format!("/api/v1/as/{b_id}/approve"), serde_json::json!({"comment": 5}))).await;
    assert_eq!(garbage.code(), "INVALID_JSON");
}

async fn auto_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("INS-HEALTH", "서울", 20, 7).await;
    let order = w.buy("m-1", "INS-HEALTH", "서울", 20).await;
    let (plain, not_used) = (leads[0].to_string(), leads[1].to_string());
    w.use_lead("m-1", &plain).await;
    w.set(T0 + Duration::hours(23));
    let file = w.evidence("m-1").await;
    let auto = w.claimed("m-1", &plain, "WRONG_NUMBER", &[file]).await;
    assert_eq!((auto["status"].as_str(), auto["autoApproved"].as_bool()), (Some("APPROVED"), Some(true)), "{auto}");
    assert_eq!(auto["compensation"], "REPLACEMENT");
    assert_eq!(auto["history"][1]["actor"], "system");
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_auto_approved", auto, {
            ".id" => "[id]", ".leadId" => "[id]", ".assignmentId" => "[id]", ".orderId" => "[id]", ".productId" => "[id]",
            ".files[].fileKey" => "[id]", ".files[].uploadedAt" => "[time]", ".history[0].actor" => redactions(),
        });
    });
    assert!(!w.owned("m-1").await.contains(&plain));
    assert_eq!(w.order("m-1", &order).await["deliveredQuantity"], 19, "the unit waits for its replacement");
    // Not used yet: not a plain case, a person decides.
    let file = w.evidence("m-1").await;
    let manual = w.claimed("m-1", &not_used, "WRONG_NUMBER", &[file]).await;
    assert_eq!((manual["status"].as_str(), manual["autoApproved"].as_bool()), (Some("REQUESTED"), Some(false)));
}

async fn list_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("INS-HEALTH", "서울", 40, 8).await;
    w.buy("m-1", "INS-HEALTH", "서울", 20).await;
    w.buy("m-2", "INS-HEALTH", "서울", 20).await;
    let mine: Vec<String> = w.owned("m-1").await;
    let theirs: Vec<String> = w.owned("m-2").await;
    assert_eq!(leads.len(), mine.len() + theirs.len());
    let a = w.claimed("m-1", &mine[0], "DUPLICATE", &[]).await;
    w.set(T0 + Duration::hours(1));
    let b = w.claimed("m-1", &mine[1], "DUPLICATE", &[]).await;
    let c = w.claimed("m-2", &theirs[0], "DUPLICATE", &[]).await;
    w.decide(b["id"].as_str().unwrap(), "reject", Some("정상")).await;
    let list = w.get("/api/v1/as?mohomId=m-1").await;
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("as_list", list, {
            ".data[].id" => "[id]", ".data[].leadId" => "[id]", ".data[].orderId" => "[id]", ".data[].productId" => "[id]",
        });
    });
    assert_eq!(list["pagination"]["total"], 2);
    assert_eq!(list["data"][0]["id"], b["id"], "newest first");
    let rejected = w.get("/api/v1/as?mohomId=m-1&status=REJECTED").await;
    assert_eq!(rejected["data"].as_array().unwrap().len(), 1);
    let by_lead = w.get(&format!("/api/v1/as?mohomId=m-1&leadId={}", mine[0])).await;
    assert_eq!(by_lead["data"][0]["id"], a["id"]);
    let early = w.get("/api/v1/as?mohomId=m-1&to=2026-11-25T09:30:00Z").await;
    assert_eq!(early["data"].as_array().unwrap().len(), 1);
    let late = w.get("/api/v1/as?mohomId=m-1&from=2026-11-25T09:30:00Z").await;
    assert_eq!(late["data"][0]["id"], b["id"]);
    // m-2 sees only their own; m-1's AS is "not found" to them.
    let other = w.get("/api/v1/as?mohomId=m-2").await;
    assert_eq!((other["pagination"]["total"].as_u64(), &other["data"][0]["id"]), (Some(1), &c["id"]));
    let hidden = w
        .app
        .send(w.app.with_key(
            TestRequest::get().uri(&format!("/api/v1/as/{}?mohomId=m-2", a["id"].as_str().unwrap())),
            &w.app.partner_key,
        ))
        .await;
    assert_eq!((hidden.status.as_u16(), hidden.code()), (404, "AS_NOT_FOUND".to_owned()));
    // The operator sees all three.
    let all = w.app.send(w.app.with_key(TestRequest::get().uri("/api/v1/as"), &w.app.operator_key)).await.json();
    assert_eq!(all["pagination"]["total"], 3);
    for bad in ["status=OPEN", "leadId=x", "from=yesterday", "page=0", "status="] {
        let reply = w
            .app
            .send(w.app.with_key(TestRequest::get().uri(&format!("/api/v1/as?mohomId=m-1&{bad}")), &w.app.partner_key))
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "VALIDATION_FAILED".to_owned()),
            "{bad}: {}",
            reply.text
        );
    }
    let detail = w.get(&format!("/api/v1/as/{}?mohomId=m-1", b["id"].as_str().unwrap())).await;
    assert_eq!(detail["history"].as_array().unwrap().len(), 2);
    assert_eq!(detail["history"][1]["comment"], "정상");
}

/// A `LEADER` of the partner.
async fn leader(w: &World) {
    let body = serde_json::json!({"mohomId": "leader", "name": "팀장", "phone": "010-1000-0000", "email": "l@mohom.kr", "role": "LEADER"});
    w.app.create_user(&w.app.partner_key, body).await;
}

async fn distribute(w: &World, lead: &str) {
    let body = serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": [lead]});
    let reply = w.app.send(w.post("/api/v1/leads/distribute", body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

async fn distributed_away(w: &World) -> Vec<String> {
    let list = w.get("/api/v1/leads/distributed-away?mohomId=leader&limit=100").await;
    list["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
}

async fn passed_down_body(db: TestDb) {
    let w = World::new(db).await;
    leader(&w).await;
    let leads = w.pool("RE-HCM-APT", "79", 3, 10).await;
    let order = w.buy("leader", "RE-HCM-APT", "79", 3).await;
    let lead = leads[0].to_string();
    distribute(&w, &lead).await;
    assert_eq!(w.owned("m-1").await, std::slice::from_ref(&lead), "the member owns the lead passed down");
    assert_eq!(distributed_away(&w).await, std::slice::from_ref(&lead), "the leader sees it distributed away");

    // The leader's ORDER assignment is the purchase: the member may claim.
    w.set(T0 + Duration::hours(1));
    let claimed = w.claimed("m-1", &lead, "DUPLICATE", &[]).await;
    assert_eq!((claimed["status"].as_str(), claimed["orderId"].as_str()), (Some("REQUESTED"), Some(order.as_str())));
    let away = w.get("/api/v1/leads/distributed-away?mohomId=leader").await;
    assert_eq!(away["data"][0]["leadAsStatus"], "REQUESTED", "{away}");

    w.set(T0 + Duration::hours(2));
    let approved = w.decide(claimed["id"].as_str().unwrap(), "approve", Some("중복 확인")).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(
        (approved.json()["status"].as_str(), approved.json()["compensation"].as_str()),
        (Some("APPROVED"), Some("REPLACEMENT"))
    );
    // Gone from the member's list, the leader's distributed-away list and both details.
    assert!(w.owned("m-1").await.is_empty(), "the returned lead left the member's list");
    assert!(distributed_away(&w).await.is_empty(), "and the leader's distributed-away list");
    assert_eq!(w.owned("leader").await.len(), 2, "the leader keeps the two leads never passed down");
    for m in ["m-1", "leader"] {
        let detail = w
            .app
            .send(
                w.app
                    .with_key(TestRequest::get().uri(&format!("/api/v1/leads/{lead}?mohomId={m}")), &w.app.partner_key),
            )
            .await;
        assert_eq!((detail.status.as_u16(), detail.code()), (404, "LEAD_NOT_FOUND".to_owned()), "{m}: {}", detail.text);
    }
    // The leader's order owes the replacement (no lead waits in the pool).
    let order = w.order("leader", &order).await;
    assert_eq!((order["status"].as_str(), order["deliveredQuantity"].as_u64()), (Some("IN_PROGRESS"), Some(2)));
    assert_eq!(w.count("assignments WHERE end_reason = 'AS_RETURNED'").await, 1);
    assert_eq!(w.count("assignments WHERE ended_at IS NULL").await, 2, "only the leader's two leads stay owned");
}

async fn passed_down_registered_body(db: TestDb) {
    let w = World::new(db).await;
    leader(&w).await;
    let body = serde_json::json!({"mohomId": "leader", "productId": w.product("RE-HCM-APT").await, "name": "자가등록", "phone": "0391234567", "region": "79"});
    let registered = w.app.send(w.post("/api/v1/leads", body)).await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let lead = registered.json()["id"].as_str().unwrap().to_owned();
    distribute(&w, &lead).await;
    assert_eq!(w.owned("m-1").await, std::slice::from_ref(&lead));
    let before = w.written().await;
    let refused = w.claim("m-1", &lead, "DUPLICATE", &[]).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (409, "AS_NOT_ALLOWED".to_owned()), "{}", refused.text);
    assert_eq!(w.written().await, before, "a refused claim writes nothing");
    assert_eq!(w.count("as_requests").await, 0);
    assert_eq!(w.owned("m-1").await, [lead], "the member still owns the lead");
}

async fn admin_tokens_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 10, 11).await;
    let order = w.buy("m-1", "RE-HCM-APT", "79", 10).await;
    let approve_me = w.claimed("m-1", &leads[0].to_string(), "DUPLICATE", &[]).await;
    let reject_me = w.claimed("m-1", &leads[1].to_string(), "DUPLICATE", &[]).await;
    let (approve_id, reject_id) = (approve_me["id"].as_str().unwrap(), reject_me["id"].as_str().unwrap());
    // Tokens are issued and checked on the wall clock.
    w.set(OffsetDateTime::now_utc());
    for admin in ["adm-1", "adm-2"] {
        let body = serde_json::json!({"mohomId": admin, "name": "관리자", "phone": "01099998888", "email": format!("{admin}@ldbds.kr"), "role": "ADMIN"});
        w.app.create_user(&w.app.operator_key, body).await;
    }
    w.partner_user_with_role("p-admin", "ADMIN").await;
    let (adm_1, adm_2) =
        (w.app.token(&w.app.operator_key, "adm-1").await, w.app.token(&w.app.operator_key, "adm-2").await);
    let partner_admin = w.app.token(&w.app.partner_key, "p-admin").await;
    let decide = |token: &str, id: &str, action: &str, body: serde_json::Value| {
        let req = TestRequest::post().uri(&format!("/api/v1/as/{id}/{action}")).set_json(body);
        w.app.send(w.app.with_bearer(req, token))
    };

    // An ADMIN of a partner org decides nothing, and nothing is written.
    let before = w.written().await;
    let refused = [
        decide(&partner_admin, approve_id, "approve", serde_json::json!({})).await,
        decide(&partner_admin, reject_id, "reject", serde_json::json!({"comment": "정상"})).await,
    ];
    for reply in &refused {
        assert_eq!((reply.status.as_u16(), reply.code()), (403, "FORBIDDEN".to_owned()), "{}", reply.text);
    }
    assert_eq!(w.written().await, before, "a forbidden decision writes nothing");

    // An operator ADMIN's token approves: the lead is returned, the decision is theirs.
    let admin_1 = w.app.state.counsel.operator_user_id("adm-1").await.unwrap().unwrap();
    let approved = decide(&adm_1, approve_id, "approve", serde_json::json!({"comment": "중복 확인"})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let approved = approved.json();
    assert_eq!(
        (approved["status"].as_str(), approved["compensation"].as_str()),
        (Some("APPROVED"), Some("REPLACEMENT"))
    );
    let by = format!("user:{admin_1}");
    assert_eq!(
        (approved["history"][1]["actor"].as_str(), approved["history"][1]["comment"].as_str()),
        (Some(by.as_str()), Some("중복 확인"))
    );
    assert!(!w.owned("m-1").await.contains(&leads[0].to_string()));
    assert_eq!(w.order("m-1", &order).await["deliveredQuantity"], 9);
    assert_eq!(w.count(&format!("audit_log WHERE action = 'as.approve' AND actor = '{by}'")).await, 1);

    // Another operator ADMIN rejects with a comment: ownership stays.
    let admin_2 = w.app.state.counsel.operator_user_id("adm-2").await.unwrap().unwrap();
    let rejected = decide(&adm_2, reject_id, "reject", serde_json::json!({"comment": "통화 기록상 정상 연결"})).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let rejected = rejected.json();
    assert_eq!(rejected["status"], "REJECTED");
    let by = format!("user:{admin_2}");
    assert_eq!(
        (rejected["history"][1]["actor"].as_str(), rejected["history"][1]["comment"].as_str()),
        (Some(by.as_str()), Some("통화 기록상 정상 연결"))
    );
    assert!(w.owned("m-1").await.contains(&leads[1].to_string()), "a rejection leaves ownership as it was");
    assert_eq!(w.count(&format!("audit_log WHERE action = 'as.reject' AND actor = '{by}'")).await, 1);

    // Decided: the partner ADMIN is still refused (403 before any state check).
    let late = decide(&partner_admin, reject_id, "approve", serde_json::json!({})).await;
    assert_eq!((late.status.as_u16(), late.code()), (403, "FORBIDDEN".to_owned()));
}

async fn cancel_in_review_body(db: TestDb) {
    let w = World::new(db).await;
    w.review_queue("cs-1").await;
    let leads = w.pool("RE-HCM-APT", "79", 2, 12).await;
    w.buy("m-1", "RE-HCM-APT", "79", 2).await;
    let lead = leads[0].to_string();
    let claimed = w.claimed("m-1", &lead, "DUPLICATE", &[]).await;
    assert_eq!(claimed["status"], "IN_REVIEW", "the review case reached cs-1 at once: {claimed}");
    let id = claimed["id"].as_str().unwrap();
    assert_eq!(w.count("counsel_cases WHERE status = 'ASSIGNED'").await, 1);

    let before = w.written().await;
    let cancel = w.app.send(w.post(&format!("/api/v1/as/{id}/cancel"), serde_json::json!({"mohomId": "m-1"}))).await;
    assert_eq!((cancel.status.as_u16(), cancel.code()), (409, "AS_INVALID_STATE".to_owned()), "{}", cancel.text);
    snap_error("as_error_invalid_state", &cancel);
    assert_eq!(w.written().await, before, "a refused cancel writes nothing");
    let stored = w.get(&format!("/api/v1/as/{id}?mohomId=m-1")).await;
    assert_eq!((stored["status"].as_str(), stored["history"].as_array().map(Vec::len)), (Some("IN_REVIEW"), Some(2)));
    assert!(w.owned("m-1").await.contains(&lead));
}

async fn evidence_refusals_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 10, 13).await;
    w.buy("m-1", "RE-HCM-APT", "79", 10).await;
    let (first, second) = (leads[0].to_string(), leads[1].to_string());
    let attached = w.evidence("m-1").await;
    w.claimed("m-1", &first, "WRONG_NUMBER", std::slice::from_ref(&attached)).await;

    // A file of the operator org: uploaded by one of its users, named by m-1.
    let cs = serde_json::json!({"mohomId": "cs-9", "name": "상담원", "phone": "01011112222", "email": "cs9@ldbds.kr", "role": "CS_MANAGER"});
    w.app.create_user(&w.app.operator_key, cs).await;
    let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 56]].concat();
    let body = serde_json::json!({"mohomId": "cs-9", "fileName": "a.png", "contentType": "image/png", "size": png.len(), "purpose": "AS_EVIDENCE"});
    let issued = w.app.send(w.operator("/api/v1/files/presigned", body)).await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    let issued = issued.json();
    let url = issued["uploadUrl"].as_str().unwrap();
    let put = w
        .app
        .send(
            TestRequest::put()
                .uri(&url[url.find("/api/").unwrap()..])
                .insert_header(("Content-Type", "image/png"))
                .set_payload(png),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let foreign = issued["fileKey"].as_str().unwrap().to_owned();

    // A file of another purpose: AS_EVIDENCE is the only purpose a request can ask for, so
    // the row is edited behind the API's back (what a future purpose would look like).
    let other_purpose = w.evidence("m-1").await;
    {
        use sea_orm::ConnectionTrait;
        let sql = format!("UPDATE uploaded_files SET purpose = 'AVATAR' WHERE file_key = '{other_purpose}'");
        w.app.db.db.conn().execute_unprepared(&sql).await.unwrap();
    }

    let cases = [
        (attached, 409, "FILE_ALREADY_ATTACHED"),
        (foreign, 404, "FILE_NOT_FOUND"),
        (other_purpose, 409, "FILE_WRONG_PURPOSE"),
    ];
    for (key, status, code) in cases {
        let before = w.written().await;
        let reply = w.claim("m-1", &second, "WRONG_NUMBER", std::slice::from_ref(&key)).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code.to_owned()), "{code}: {}", reply.text);
        assert!(reply.json()["error"]["message"].as_str().unwrap().contains(&key), "the message names the key");
        assert_eq!(w.written().await, before, "{code}: nothing written");
    }
    assert_eq!(w.count("as_requests").await, 1);
    let lead = w.get(&format!("/api/v1/leads/{second}?mohomId=m-1")).await;
    assert!(lead["leadAsStatus"].is_null(), "{lead}");
}

async fn idempotent_claim_body(db: TestDb) {
    let w = World::new(db).await;
    let leads = w.pool("RE-HCM-APT", "79", 10, 14).await;
    w.buy("m-1", "RE-HCM-APT", "79", 10).await;
    let body = |lead: &str, description: &str| serde_json::json!({"mohomId": "m-1", "leadId": lead, "reasonCode": "DUPLICATE", "description": description});
    let send = |body: serde_json::Value| {
        w.app.send(w.post("/api/v1/as", body).insert_header(("Idempotency-Key", "as-claim-1")))
    };
    let lead = leads[0].to_string();
    let first = send(body(&lead, "중복 리드")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("idempotency-replayed").is_none());
    let after_first = w.written().await;

    let replay = send(body(&lead, "중복 리드")).await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.json(), first.json(), "the same AS, byte for byte");
    assert_eq!(w.written().await, after_first, "the replay wrote nothing");
    assert_eq!(w.count("as_requests").await, 1);

    // The same key with another body (another description, or another lead) is refused.
    for other in [body(&lead, "다른 설명"), body(&leads[1].to_string(), "중복 리드")] {
        let reused = send(other.clone()).await;
        assert_eq!(
            (reused.status.as_u16(), reused.code()),
            (422, "IDEMPOTENCY_KEY_REUSED".to_owned()),
            "{other}: {}",
            reused.text
        );
        assert_eq!(w.written().await, after_first, "{other}: nothing written");
    }
    assert_eq!(w.count("as_requests").await, 1);
    // The key belongs to the key acting for m-1: acting for m-2 it is m-2's own request
    // (m-2 owns no such lead), neither a replay nor a reused key.
    let mut for_m2 = body(&lead, "중복 리드");
    for_m2["mohomId"] = "m-2".into();
    let other = send(for_m2).await;
    assert!(other.header("idempotency-replayed").is_none(), "{}", other.text);
    assert_eq!((other.status.as_u16(), other.code()), (404, "LEAD_NOT_FOUND".to_owned()), "{}", other.text);
    assert_eq!(w.written().await, after_first, "m-2's refused claim wrote nothing");
    // Without the key the other lead is claimed as usual.
    w.claimed("m-1", &leads[1].to_string(), "DUPLICATE", &[]).await;
    assert_eq!(w.count("as_requests").await, 2);
}
