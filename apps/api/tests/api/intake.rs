use actix_web::test::TestRequest;
use domain::intake::IntakeIds;
use domain::intake::SourceLeadIdSet;
use domain::lead::{LeadFields, NewLead};
use domain::ports::ReferenceRepository;
use testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_source_lead_is_pooled_then_delivered_fifo_to_open_orders => deliver_body;
    intake_refusals_write_nothing => refusals_body;
    a_duplicate_names_the_earlier_lead_and_replays_are_idempotent => duplicate_body;
    a_mapped_project_code_picks_its_product_and_an_unmapped_one_the_default => project_body;
    a_reused_lead_source_id_is_a_duplicate_and_writes_nothing => source_lead_id_body;
    a_source_reports_its_status_by_its_own_id_or_the_lead_id => change_status_body;
    status_report_refusals_write_nothing => change_status_refusals_body;
    two_creates_racing_with_one_lead_source_id_write_one_lead => source_lead_id_race_body;
    another_orgs_phone_is_answered_as_a_fresh_lead_and_held_for_the_operator => held_body;
    another_orgs_phone_waiting_in_the_pool_is_answered_as_pooled => held_pool_body;
    an_import_holds_another_orgs_phone_and_delivers_it_nowhere => held_import_body;
}

fn lead(phone: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "Nguyen Van A", "mobileNumber": phone, "email": "nva@example.vn", "gender": "MALE",
        "birthDate": "1990-05-01", "idNumber": "079090001234", "maritalStatus": "MARRIED", "projectCode": "VHGP",
        "regionCode": "79", "districtCode": "769", "homeDirections": ["EAST", "SOUTHEAST"], "agentId": 42
    })
}

fn intake(app: &TestApp, source: &str, body: serde_json::Value) -> TestRequest {
    intake_as(app, &app.partner_key, source, body)
}

/// An intake with another org's key.
fn intake_as(app: &TestApp, key: &str, source: &str, body: serde_json::Value) -> TestRequest {
    app.with_key(
        TestRequest::post()
            .uri("/lead-platform/v1/leads/create")
            .insert_header(("source", source.to_owned()))
            .set_json(body),
        key,
    )
}

async fn place(app: &TestApp, mohom: &str, quantity: i64) -> String {
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
    let body = serde_json::json!({"mohomId": mohom, "productId": product, "regions": [{"region": "79", "quantity": quantity}]});
    let reply =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/orders").set_json(body), &app.partner_key)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

async fn order(app: &TestApp, mohom: &str, id: &str) -> serde_json::Value {
    app.send(app.with_key(TestRequest::get().uri(&format!("/api/v1/orders/{id}?mohomId={mohom}")), &app.partner_key))
        .await
        .json()
}

async fn deliver_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    let pooled = app.send(intake(&app, "TCB", lead("0399000001"))).await;
    assert_eq!(pooled.status, 201, "{}", pooled.text);
    assert_eq!(pooled.json()["status"], "POOL");
    let first = place(&app, "m-1", 2).await;
    assert_eq!(order(&app, "m-1", &first).await["deliveredQuantity"], 1, "the pooled lead went to the new order");
    let second = place(&app, "m-2", 2).await;
    for phone in ["0399000002", "0399000003"] {
        let reply = app.send(intake(&app, "TCB", lead(phone))).await;
        assert_eq!((reply.status.as_u16(), reply.json()["status"].as_str()), (201, Some("ASSIGNED")), "{}", reply.text);
    }
    let (a, b) = (order(&app, "m-1", &first).await, order(&app, "m-2", &second).await);
    assert_eq!(
        (a["status"].as_str(), a["deliveredQuantity"].as_u64()),
        (Some("COMPLETED"), Some(2)),
        "FIFO fills the oldest first"
    );
    assert_eq!((b["status"].as_str(), b["deliveredQuantity"].as_u64()), (Some("IN_PROGRESS"), Some(1)));
    let owned =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-2"), &app.partner_key)).await.json();
    let item = &owned["data"][0];
    assert_eq!(item["region"], "79");
    assert_eq!(item["metadata"]["projectCode"], "VHGP");
    assert_eq!(item["metadata"]["homeDirections"], serde_json::json!(["EAST", "SOUTHEAST"]));
    assert!(item["metadata"].get("idNumber").is_none(), "national ids never land in metadata");
    assert!(!owned.to_string().contains("079090001234"));
    let web = serde_json::json!({"fullName": "Tran Thi B", "phoneNumber": "+84 912 345 678", "email": "b@example.vn", "demand": "BUY", "project": "Vinhomes"});
    let reply = app.send(intake(&app, "TCB", web)).await;
    assert_eq!(
        (reply.status.as_u16(), reply.json()["status"].as_str()),
        (201, Some("POOL")),
        "web-form leads carry no province"
    );
}

async fn refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let cases = vec![
        (intake(&app, "NOPE", lead("0399000001")), 400, "VALIDATION_FAILED"),
        (
            app.with_key(
                TestRequest::post().uri("/lead-platform/v1/leads/create").set_json(lead("0399000001")),
                &app.partner_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (
            app.with_key(
                TestRequest::post()
                    .uri("/lead-platform/v1/leads/create")
                    .insert_header(("source", "TCB"))
                    .set_json(lead("0399000001")),
                &app.operator_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (intake(&app, "TCB", lead("010-1234-5678")), 400, "VALIDATION_FAILED"),
        (intake(&app, "TCB", lead("(03|07)39933399")), 400, "VALIDATION_FAILED"),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["regionCode"] = "99".into();
                l
            }),
            400,
            "VALIDATION_FAILED",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["gender"] = "OTHER".into();
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["homeDirections"] = serde_json::json!(["UP"]);
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (
            intake(&app, "TCB", {
                let mut l = lead("0399000001");
                l["ownerId"] = "x".into();
                l
            }),
            400,
            "INVALID_JSON",
        ),
        (intake(&app, "TCB", serde_json::json!({"mobileNumber": "0399000001"})), 400, "INVALID_JSON"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let reply = app.send(req).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "case {i}: {}", reply.text);
    }
    let legacy = app.send(intake(&app, "TCB", lead("01699333999"))).await;
    assert_eq!(legacy.status, 201, "a legacy 11-digit number is accepted and normalized: {}", legacy.text);
}

async fn duplicate_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let first = app.send(intake(&app, "TCB", lead("0399333999"))).await.json();
    let earlier = first["id"].as_str().unwrap().to_owned();
    let again = app.send(intake(&app, "TCB", lead("+84 399 333 999"))).await;
    assert_eq!((again.status.as_u16(), again.code().as_str()), (409, "DUPLICATE_LEAD"));
    assert!(again.json()["error"]["message"].as_str().unwrap().contains(&earlier), "names the earlier lead");
    let legacy = app.send(intake(&app, "TCB", lead("01699333999"))).await;
    assert_eq!(legacy.status, 409, "the legacy form is the same number");
    let keyed = || intake(&app, "TCB", lead("0399777888")).insert_header(("Idempotency-Key", "tcb-0001"));
    let one = app.send(keyed()).await;
    let two = app.send(keyed()).await;
    assert_eq!((one.status.as_u16(), two.status.as_u16()), (201, 201));
    assert_eq!(one.json()["id"], two.json()["id"], "a replay returns the same lead");
    assert_eq!(two.header("idempotency-replayed"), Some("true"));
}

async fn product(app: &TestApp, code: &str) -> Uuid {
    infra::fixtures::product_id_by_code(app.db.db.conn(), code).await.unwrap().unwrap()
}

async fn tcb(app: &TestApp) -> domain::intake::Source {
    infra::orgs::find_source(app.db.db.conn(), "TCB").await.unwrap().unwrap()
}

async fn side(app: &TestApp, id: &str) -> domain::intake::SourceSide {
    app.state.leads.source_side(id.parse().unwrap()).await.unwrap().unwrap()
}

/// Creates through the API; panics unless 201; the lead id.
async fn created(app: &TestApp, body: serde_json::Value) -> String {
    let reply = app.send(intake(app, "TCB", body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn web_form(phone: &str, project: &str) -> serde_json::Value {
    serde_json::json!({"fullName": "Tran Thi B", "phoneNumber": phone, "email": "b@example.vn", "demand": "BUY", "project": project})
}

async fn project_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let (apartment, health) = (product(&app, "RE-HCM-APT").await, product(&app, "INS-HEALTH").await);
    let source = tcb(&app).await;
    let conn = app.db.db.conn();
    assert_eq!(
        infra::orgs::product_for_project(conn, source.id, "VHGP").await.unwrap(),
        Some(apartment),
        "the demo fixture maps TCB's projects"
    );
    infra::orgs::map_project(conn, source.id, "TCB-INS", health).await.unwrap();
    let mut mapped = lead("0399100001");
    mapped["projectCode"] = "TCB-INS".into();
    let id = created(&app, mapped).await;
    assert_eq!(side(&app, &id).await.product_id, health, "a mapped projectCode picks its product");
    let id = created(&app, web_form("0399100002", " TCB-INS ")).await;
    assert_eq!(side(&app, &id).await.product_id, health, "so does the web form's project");
    let id = created(&app, lead("0399100003")).await;
    assert_eq!(side(&app, &id).await.product_id, apartment, "VHGP is mapped to the default product");
    let mut unmapped = lead("0399100004");
    unmapped["projectCode"] = "NOT-MAPPED".into();
    let id = created(&app, unmapped).await;
    assert_eq!(side(&app, &id).await.product_id, apartment, "an unmapped code goes to the default product");
    let id = created(&app, web_form("0399100005", "Vinhomes")).await;
    assert_eq!(side(&app, &id).await.product_id, apartment);
    // Another source's mapping is not TCB's.
    let other = domain::ids::new_id();
    infra::orgs::map_project(conn, other, "OTHER-ONLY", health).await.unwrap();
    let mut foreign = lead("0399100006");
    foreign["projectCode"] = "OTHER-ONLY".into();
    let id = created(&app, foreign).await;
    assert_eq!(side(&app, &id).await.product_id, apartment);
    // Seeding again keeps the source's id and its mappings (fixture ones and added ones).
    infra::fixtures::seed_demo(&app.db.db, time::OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(tcb(&app).await.id, source.id);
    assert_eq!(infra::orgs::product_for_project(conn, source.id, "VHCP").await.unwrap(), Some(apartment));
    assert_eq!(infra::orgs::product_for_project(conn, source.id, "TCB-INS").await.unwrap(), Some(health));
}

async fn source_lead_id_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let mut first = lead("0399200001");
    first["leadSourceId"] = " TCB-0001 ".into();
    let earlier = created(&app, first).await;
    let stored = side(&app, &earlier).await;
    assert_eq!(stored.lead.source_lead_id.as_deref(), Some("TCB-0001"), "stored trimmed");
    assert_eq!(stored.source_id, Some(tcb(&app).await.id));
    let mut again = lead("0399200002");
    again["leadSourceId"] = "TCB-0001".into();
    let reply = app.send(intake(&app, "TCB", again.clone())).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (409, "DUPLICATE_LEAD"), "{}", reply.text);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains(&earlier), "names the earlier lead");
    let mut form = web_form("0399200003", "Vinhomes");
    form["leadSourceId"] = "TCB-0001".into();
    let reply = app.send(intake(&app, "TCB", form)).await;
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (409, "DUPLICATE_LEAD"), "the web form too");
    for bad in ["", "   ", &"x".repeat(129)] {
        let mut body = lead("0399200002");
        body["leadSourceId"] = bad.into();
        let reply = app.send(intake(&app, "TCB", body)).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (400, "VALIDATION_FAILED"), "{bad:?}");
    }
    // Nothing was written for the refusals: the same phones are not duplicates now.
    again["leadSourceId"] = "TCB-0002".into();
    let second = created(&app, again).await;
    assert_eq!(side(&app, &second).await.lead.source_lead_id.as_deref(), Some("TCB-0002"));
    let id = created(&app, web_form("0399200003", "Vinhomes")).await;
    assert_eq!(side(&app, &id).await.lead.source_lead_id, None, "leadSourceId is optional");
    assert!(side(&app, &second).await.detail.is_none(), "no report yet");
    // The unique index settles a race the pre-check cannot see.
    let taken = app.state.leads.set_source_lead_id(id.parse().unwrap(), tcb(&app).await.id, "TCB-0001").await.unwrap();
    assert_eq!(taken, SourceLeadIdSet::Taken);
    assert_eq!(side(&app, &id).await.lead.source_lead_id, None);
}

fn change(app: &TestApp, source: &str, body: serde_json::Value) -> TestRequest {
    app.with_key(
        TestRequest::put()
            .uri("/lead-platform/v1/leads/changeStatus")
            .insert_header(("source", source.to_owned()))
            .set_json(body),
        &app.partner_key,
    )
}

/// The seed's status object, personal fields included.
fn report(lead_source_id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "lead_source_id": lead_source_id, "name": "Someone Else", "mobile_number": "0399999999",
        "email": "other@example.vn", "gender": "FEMALE", "birth_date": "1991-01-01T00:00:00Z",
        "project_code": "VHGP", "project_name": "Vinhomes Grand Park", "house_type": "HT3001",
        "house_information": "HI4002", "house_price": "3500000000", "request_time": "2026-11-20T09:00:00+07:00",
        "meeting_time": "2026-11-25T14:30:00Z", "channel": "HOTLINE", "status": status,
        "note": "Khách hẹn xem nhà thứ Bảy", "sale": "agent-17", "lead_score": 87, "address": "12 Nguyen Hue",
        "city_code": "79", "district_code": "760", "ward_code": "26734"
    })
}

async fn change_status_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let mut body = lead("0399300001");
    body["leadSourceId"] = "TCB-7001".into();
    let id = created(&app, body).await;
    let reply = app.send(change(&app, "TCB", report("TCB-7001", "MEETING_SCHEDULED"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let changed = reply.json();
    assert_eq!(changed["id"].as_str(), Some(id.as_str()));
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("source_status_changed", changed, { ".sourceStatusAt" => "[time]" });
    });
    let stored = side(&app, &id).await;
    assert_eq!(stored.lead.source_status.as_deref(), Some("MEETING_SCHEDULED"));
    assert!(stored.lead.source_status_at.is_some());
    assert_eq!(stored.note.as_deref(), Some("Khách hẹn xem nhà thứ Bảy"), "the note is sealed and opens");
    let detail = stored.detail.unwrap();
    assert_eq!(
        detail,
        serde_json::json!({
            "status": "MEETING_SCHEDULED", "meeting_time": "2026-11-25T14:30:00Z",
            "request_time": "2026-11-20T09:00:00+07:00", "lead_score": 87, "sale": "agent-17", "channel": "HOTLINE",
            "house_type": "HT3001", "house_information": "HI4002", "house_price": "3500000000",
            "project_code": "VHGP", "project_name": "Vinhomes Grand Park", "city_code": "79",
            "district_code": "760", "ward_code": "26734"
        }),
        "the non-personal fields only"
    );
    assert_eq!(stored.product_id, product(&app, "RE-HCM-APT").await, "the report's project_code moves nothing");
    let duplicate = app.send(intake(&app, "TCB", lead("0399300001"))).await;
    assert_eq!(duplicate.status, 409, "the lead kept its own phone, not the report's mobile_number");
    let other = app.send(intake(&app, "TCB", lead("0399999999"))).await;
    assert_eq!(other.status, 201, "the report's mobile_number was not applied: {}", other.text);

    // By the LDBDS lead id, for a lead created without a source id; a report replaces the
    // previous one as a whole.
    let id = created(&app, web_form("0399300002", "Vinhomes")).await;
    let reply = app.send(change(&app, "TCB", serde_json::json!({"lead_source_id": id, "status": "CONTACTED"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let changed = reply.json();
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("source_status_changed_by_lead_id", changed, { ".sourceStatusAt" => "[time]" });
    });
    let keyed = || {
        change(&app, "TCB", serde_json::json!({"lead_source_id": id, "status": "LOST", "note": " "}))
            .insert_header(("Idempotency-Key", "tcb-status-1"))
    };
    let (one, two) = (app.send(keyed()).await, app.send(keyed()).await);
    assert_eq!((one.status.as_u16(), two.status.as_u16()), (200, 200), "{}", one.text);
    assert_eq!(one.json(), two.json());
    assert_eq!(two.header("idempotency-replayed"), Some("true"));
    let stored = side(&app, &id).await;
    assert_eq!(stored.lead.source_status.as_deref(), Some("LOST"));
    assert_eq!((stored.note, stored.detail), (None, Some(serde_json::json!({"status": "LOST"}))));
    assert_eq!(stored.lead.status, "POOL", "the lifecycle is the platform's");
}

/// A lead of another org's source (an org onboarded through the operator's endpoints),
/// holding `source_lead_id` there.
async fn lead_of_another_source(app: &TestApp, source_lead_id: &str) -> Uuid {
    let partner = app.onboard_partner("partner-2", "SRC2", "RE-HCM-APT").await;
    let mut body = lead("+84399555666");
    body["name"] = "Le Van C".into();
    body["leadSourceId"] = source_lead_id.into();
    let reply = app.send(intake_as(app, &partner.key, &partner.source, body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().unwrap().parse().unwrap()
}

async fn change_status_refusals_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let mut body = lead("0399400001");
    body["leadSourceId"] = "TCB-8001".into();
    let id = created(&app, body).await;
    let foreign = lead_of_another_source(&app, "SHARED-1").await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let registered = app
        .send(app.with_key(
            TestRequest::post().uri("/api/v1/leads").set_json(serde_json::json!({
                "mohomId": "m-1", "productId": product(&app, "INS-HEALTH").await, "name": "홍길동",
                "phone": "010-1234-5678", "region": "서울"
            })),
            &app.partner_key,
        ))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let registered = registered.json()["id"].as_str().unwrap().to_owned();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut body = report("TCB-8001", "CONTACTED");
        f(&mut body);
        body
    };
    let cases = vec![
        (change(&app, "TCB", report("TCB-9999", "CONTACTED")), 404, "LEAD_NOT_FOUND"),
        (change(&app, "TCB", report(&Uuid::nil().to_string(), "CONTACTED")), 404, "LEAD_NOT_FOUND"),
        (change(&app, "TCB", report("SHARED-1", "CONTACTED")), 404, "LEAD_NOT_FOUND"),
        (change(&app, "TCB", report(&foreign.to_string(), "CONTACTED")), 404, "LEAD_NOT_FOUND"),
        (change(&app, "TCB", report(&registered, "CONTACTED")), 404, "LEAD_NOT_FOUND"),
        (change(&app, "NOPE", report("TCB-8001", "CONTACTED")), 400, "VALIDATION_FAILED"),
        (
            app.with_key(
                TestRequest::put().uri("/lead-platform/v1/leads/changeStatus").set_json(report("TCB-8001", "X")),
                &app.partner_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (
            app.with_key(
                TestRequest::put()
                    .uri("/lead-platform/v1/leads/changeStatus")
                    .insert_header(("source", "TCB"))
                    .set_json(report("TCB-8001", "CONTACTED")),
                &app.operator_key,
            ),
            400,
            "VALIDATION_FAILED",
        ),
        (
            TestRequest::put()
                .uri("/lead-platform/v1/leads/changeStatus")
                .insert_header(("source", "TCB"))
                .set_json(report("TCB-8001", "CONTACTED")),
            401,
            "UNAUTHORIZED",
        ),
        (change(&app, "TCB", with(&|b| drop(b.as_object_mut().unwrap().remove("status")))), 400, "INVALID_JSON"),
        (change(&app, "TCB", report("TCB-8001", "")), 400, "VALIDATION_FAILED"),
        (change(&app, "TCB", report("TCB-8001", "   ")), 400, "VALIDATION_FAILED"),
        (change(&app, "TCB", report("TCB-8001", &"S".repeat(33))), 400, "VALIDATION_FAILED"),
        (change(&app, "TCB", report(" ", "CONTACTED")), 400, "VALIDATION_FAILED"),
        (change(&app, "TCB", with(&|b| b["leadSourceId"] = "TCB-8001".into())), 400, "INVALID_JSON"),
        (change(&app, "TCB", with(&|b| b["house_type"] = "HT3004".into())), 400, "INVALID_JSON"),
        (change(&app, "TCB", with(&|b| b["house_information"] = "HI4001".into())), 400, "INVALID_JSON"),
        (change(&app, "TCB", with(&|b| b["gender"] = "OTHER".into())), 400, "INVALID_JSON"),
        (change(&app, "TCB", with(&|b| b["lead_score"] = 3_000_000_000_i64.into())), 400, "INVALID_JSON"),
        (change(&app, "TCB", with(&|b| b["meeting_time"] = "next Saturday".into())), 400, "VALIDATION_FAILED"),
        (change(&app, "TCB", with(&|b| b["request_time"] = "2026-11-20".into())), 400, "VALIDATION_FAILED"),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let reply = app.send(req).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "case {i}: {}", reply.text);
    }
    for lead in [id.parse().unwrap(), foreign, registered.parse().unwrap()] {
        let stored = app.state.leads.source_side(lead).await.unwrap().unwrap();
        assert_eq!(
            (stored.lead.source_status, stored.lead.source_status_at, stored.detail, stored.note),
            (None, None, None, None),
            "nothing was written on {lead}"
        );
    }
    assert_eq!(side(&app, &foreign.to_string()).await.lead.source_lead_id.as_deref(), Some("SHARED-1"));
}

/// Two creates with one `leadSourceId` sent at once: one 201, one 409, one lead. And the
/// index inside the intake's transaction, without the handler's pre-check: the second
/// intake fails and writes nothing.
async fn source_lead_id_race_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let mut a = lead("0399300001");
    a["leadSourceId"] = "RACE-1".into();
    let mut b = lead("0399300002");
    b["leadSourceId"] = "RACE-1".into();
    let (ra, rb) = futures_util::future::join(app.send(intake(&app, "TCB", a)), app.send(intake(&app, "TCB", b))).await;
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", ra.text, rb.text);
    let loser = if ra.status == 409 { &ra } else { &rb };
    assert_eq!(loser.code(), "DUPLICATE_LEAD");
    let leads = |app: &TestApp| {
        let conn = app.db.db.conn().clone();
        async move {
            use sea_orm::ConnectionTrait;
            let sql = "SELECT COUNT(*) AS n FROM leads";
            let row = conn
                .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    assert_eq!(leads(&app).await, 1, "the loser wrote nothing");

    let source = tcb(&app).await;
    let product_id = source.default_product_id.unwrap();
    let product = app.state.reference.find_product(product_id).await.unwrap().unwrap();
    let product_text = product.id.to_string();
    let fields = LeadFields {
        product_id: Some(&product_text),
        name: Some("Tran Thi B"),
        phone: Some("0399300003"),
        region: Some("79"),
        ..LeadFields::default()
    };
    let new = NewLead::parse(&fields, app.state.clock.now().date()).unwrap();
    let ids = IntakeIds { source_lead_id: Some("RACE-1".to_owned()), ..IntakeIds::default() };
    let err = app
        .state
        .leads
        .intake(&product, &new, &ids, source.org_id, source.id, app.state.clock.now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, domain::error::RepoError::Conflict(what) if what == infra::intake::SOURCE_LEAD_ID_TAKEN),
        "{err:?}"
    );
    assert_eq!(leads(&app).await, 1, "the failed intake wrote nothing");
}

/// The stored lifecycle of a lead: status, owner, open assignment, and its assignment rows.
async fn stored(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>, i64) {
    use sea_orm::ConnectionTrait;
    let conn = app.db.db.conn();
    let backend = conn.get_database_backend();
    let sql = format!("SELECT status, owner_user_id, assignment_id FROM leads WHERE id = '{id}'");
    let row = conn.query_one_raw(sea_orm::Statement::from_string(backend, sql)).await.unwrap().unwrap();
    let sql = format!("SELECT COUNT(*) AS n FROM assignments WHERE lead_id = '{id}'");
    let n = conn.query_one_raw(sea_orm::Statement::from_string(backend, sql)).await.unwrap().unwrap();
    (
        row.try_get("", "status").unwrap(),
        row.try_get("", "owner_user_id").unwrap(),
        row.try_get("", "assignment_id").unwrap(),
        n.try_get::<i64>("", "n").unwrap(),
    )
}

/// The body's keys and the kinds of their values: the shape a caller can compare.
fn shape(body: &serde_json::Value) -> Vec<(String, &'static str)> {
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Null => "null",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    let mut keys: Vec<(String, &'static str)> =
        body.as_object().unwrap().iter().map(|(k, v)| (k.clone(), kind(v))).collect();
    keys.sort();
    keys
}

/// Header names of a reply (values differ by request id).
fn header_names(reply: &crate::helpers::Reply) -> Vec<String> {
    let mut names: Vec<String> = reply.headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();
    names
}

/// Org B's source posts a phone org A sent: the answer is a fresh lead's (201, a new id,
/// the status a fresh lead gets, no trace of A's lead); the lead is kept flagged for the
/// operator and delivered to no order.
async fn held_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let b = app.onboard_partner("partner-2", "SRC2", "RE-HCM-APT").await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let open = place(&app, "m-1", 5).await;
    let a_lead = created(&app, lead("0399333999")).await;
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 1);

    // The control: a fresh phone from B, delivered to the open order.
    let fresh = app.send(intake_as(&app, &b.key, &b.source, lead("0399444001"))).await;
    assert_eq!((fresh.status.as_u16(), fresh.json()["status"].as_str()), (201, Some("ASSIGNED")), "{}", fresh.text);
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 2);

    // A's phone, in another spelling, from B.
    let held = app.send(intake_as(&app, &b.key, &b.source, lead("+84 399 333 999"))).await;
    assert_eq!(held.status, fresh.status, "{}", held.text);
    assert_eq!(shape(&held.json()), shape(&fresh.json()));
    assert_eq!(held.json()["status"], fresh.json()["status"], "the status a fresh lead would get");
    assert_eq!(header_names(&held), header_names(&fresh));
    let held_id = held.json()["id"].as_str().unwrap().to_owned();
    assert_ne!(held_id, a_lead, "its own new id");
    assert!(!held.text.contains(&a_lead), "A's lead id is not in the body");
    for (name, value) in &held.headers {
        assert!(!value.to_str().unwrap_or_default().contains(&a_lead), "A's lead id is not in header {name}");
    }

    // Stored flagged, delivered to nobody; the order is untouched.
    assert_eq!(stored(&app, &held_id).await, ("DUPLICATE_OTHER_PROVIDER".to_owned(), None, None, 0));
    let after = order(&app, "m-1", &open).await;
    assert_eq!((after["deliveredQuantity"].as_u64(), after["status"].as_str()), (Some(2), Some("IN_PROGRESS")));
    let owned =
        app.send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-1"), &app.partner_key)).await.json();
    assert_eq!(owned["pagination"]["total"], 2, "the buyer got A's lead and B's fresh one only");
    assert_eq!(stored(&app, &a_lead).await.0, "ASSIGNED", "A's lead is as it was");

    // The source reading its lead back sees no flag either.
    let report = serde_json::json!({"lead_source_id": held_id, "status": "CONTACTED"});
    let read = app
        .send(
            app.with_key(
                TestRequest::put()
                    .uri("/lead-platform/v1/leads/changeStatus")
                    .insert_header(("source", b.source.clone()))
                    .set_json(report),
                &b.key,
            ),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(!read.text.contains("DUPLICATE") && !read.text.contains(&a_lead), "{}", read.text);
    // Read back at once, it says what the intake said: the same as the fresh lead's.
    let fresh_id = fresh.json()["id"].as_str().unwrap().to_owned();
    let fresh_report = serde_json::json!({"lead_source_id": fresh_id, "status": "CONTACTED"});
    let fresh_read = app
        .send(
            app.with_key(
                TestRequest::put()
                    .uri("/lead-platform/v1/leads/changeStatus")
                    .insert_header(("source", b.source.clone()))
                    .set_json(fresh_report),
                &b.key,
            ),
        )
        .await;
    assert_eq!(fresh_read.status, 200, "{}", fresh_read.text);
    assert_eq!(read.json()["status"], fresh_read.json()["status"], "held and fresh read back alike");
    assert_eq!(read.json()["status"], held.json()["status"], "as the intake answered");

    // Within one org a duplicate is still a 409 naming that org's own lead, never the
    // other org's.
    let again = app.send(intake_as(&app, &b.key, &b.source, lead("0399333999"))).await;
    assert_eq!((again.status.as_u16(), again.code().as_str()), (409, "DUPLICATE_LEAD"));
    assert!(again.text.contains(&held_id) && !again.text.contains(&a_lead), "{}", again.text);
    let by_a = app.send(intake(&app, "TCB", lead("0399333999"))).await;
    assert_eq!((by_a.status.as_u16(), by_a.code().as_str()), (409, "DUPLICATE_LEAD"));
    assert!(by_a.text.contains(&a_lead) && !by_a.text.contains(&held_id), "{}", by_a.text);

    // The operator sees the flag: B holds one such lead.
    let orgs = app.send(app.with_key(TestRequest::get().uri("/api/v1/orgs"), &app.operator_key)).await.json();
    let held_of = |code: &str| {
        orgs["data"].as_array().unwrap().iter().find(|o| o["code"] == code).unwrap()["heldLeads"].as_u64().unwrap()
    };
    assert_eq!((held_of("partner-2"), held_of("mohom")), (1, 0));
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 2, "still untouched");
}

/// With no open order, a fresh lead is pooled: so is the answer for another org's phone,
/// and an order placed later never takes the held lead.
async fn held_pool_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let b = app.onboard_partner("partner-2", "SRC2", "RE-HCM-APT").await;
    let a_lead = created(&app, lead("0399555001")).await;
    let fresh = app.send(intake_as(&app, &b.key, &b.source, lead("0399555002"))).await;
    let held = app.send(intake_as(&app, &b.key, &b.source, lead("0399555001"))).await;
    assert_eq!((held.status, held.json()["status"].as_str()), (fresh.status, Some("POOL")), "{}", held.text);
    assert_eq!(shape(&held.json()), shape(&fresh.json()));
    assert!(!held.text.contains(&a_lead));
    let held_id = held.json()["id"].as_str().unwrap().to_owned();
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let open = place(&app, "m-1", 5).await;
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 2, "A's lead and B's fresh one, not the held one");
    assert_eq!(stored(&app, &held_id).await, ("DUPLICATE_OTHER_PROVIDER".to_owned(), None, None, 0));
}

/// `ldbds import` for org B's source: a row with org A's phone is held (stored flagged,
/// delivered nowhere), not counted as B's duplicate; B's own repeat still is one.
async fn held_import_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let b = app.onboard_partner("partner-2", "SRC2", "RE-HCM-APT").await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let a_lead = created(&app, lead("0399666001")).await;
    let open = place(&app, "m-1", 5).await;
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 1);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leads.csv");
    std::fs::write(&csv, "name,phone,region\nLe Van C,0399666001,79\nTran Thi D,0399666002,79\n").unwrap();
    let product = app.state.reference.find_product(product(&app, "RE-HCM-APT").await).await.unwrap().unwrap();
    let regions = app.state.reference.list_regions(None).await.unwrap();
    let from =
        infra::import::ImportSource { org_id: b.org_id.parse().unwrap(), source_id: b.source_id.parse().unwrap() };
    let options = infra::import::ImportOptions::for_file(&csv);
    let run = || infra::import::import_file(&app.state.leads, &product, &regions, from, &csv, &options, |_| {});
    let summary = run().await.unwrap();
    assert_eq!(
        (summary.rows, summary.imported, summary.delivered, summary.held, summary.duplicates),
        (2, 1, 1, 1, 0),
        "{summary:?}"
    );
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 2, "only the fresh row was delivered");
    assert_eq!(stored(&app, &a_lead).await.0, "ASSIGNED");
    let held = app.count_rows("leads WHERE status = 'DUPLICATE_OTHER_PROVIDER' AND owner_user_id IS NULL").await;
    assert_eq!(held, 1);
    let again = run().await.unwrap();
    assert_eq!((again.imported, again.held, again.duplicates), (0, 0, 2), "B's own rows now: {again:?}");
    assert_eq!(order(&app, "m-1", &open).await["deliveredQuantity"], 2);
}
