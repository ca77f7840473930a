//! Counsel allocation over HTTP (issue #8, seed 001): queues and memberships administered
//! by the operator, the outbound Excel import distributed by weight, the masked export
//! (which cannot come back in), availability and sweeps, manual assignment, the manager
//! lists and statistics, completion, the AS-review integration, and who may do what.
//!
//! Every test runs on the wall clock: Bearer tokens are checked on it.

use actix_web::test::TestRequest;
use domain::lead::{LeadFields, NewLead};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    queues_and_members_are_the_operators_to_administer => admin_body;
    an_outbound_sheet_is_distributed_by_weight => import_body;
    a_bad_upload_is_refused_and_writes_nothing => refused_upload_body;
    an_export_is_masked_filtered_and_comes_back_by_its_case_numbers => export_body;
    paused_managers_leave_cases_waiting_until_resumed => pause_body;
    a_waiting_case_is_assigned_by_hand => manual_body;
    manager_lists_validation_and_statistics => lists_body;
    completing_a_case_frees_room_for_the_next => complete_body;
    an_as_claim_becomes_a_review_case_its_manager_decides => as_review_body;
    without_an_as_queue_a_claim_waits_without_a_case => as_no_queue_body;
    a_waiting_review_case_starts_its_review_when_swept => as_waiting_body;
    partners_are_refused_on_every_endpoint => partner_body;
}

const PREFIX: &str = "/v2/customerservice/csAllocationMgmt";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const BOUNDARY: &str = "----ldbds-counsel-boundary-7MA4YWxkTrZu0gW";
/// The import map of the sheets written by [`sheet`].
const COLUMNS: &str = "mbrNo,ordNo,accpCont,custNm,custTelNo";

/// One outbound row: member number, order number, content, name, phone.
type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

/// Six rows with distinct Korean mobiles `010-5555-000n`.
const SIX: [Row<'static>; 6] = [
    ("M-1001", "O-2001", "해지 방어 안내", "김철수", "010-5555-0001"),
    ("M-1002", "O-2002", "요금제 변경 문의", "이영희", "010-5555-0002"),
    ("M-1003", "", "재가입 안내", "박민수", "010-5555-0003"),
    ("", "O-2004", "배송 지연 사과", "최지우", "010-5555-0004"),
    ("M-1005", "O-2005", "", "정하늘", "010-5555-0005"),
    ("M-1006", "O-2006", "만족도 조사", "", "010-5555-0006"),
];

/// An `.xlsx` with a Korean header row and the rows, in the [`COLUMNS`] order.
fn sheet(rows: &[Row<'_>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    for (col, label) in (0u16..).zip(["회원번호", "주문번호", "접수내용", "고객명", "고객연락처"]) {
        ws.write_string(0, col, label).unwrap();
    }
    for (row, (mbr, ord, accp, name, phone)) in (1u32..).zip(rows) {
        for (col, value) in (0u16..).zip([mbr, ord, accp, name, phone]) {
            if !value.is_empty() {
                ws.write_string(row, col, *value).unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

/// A `multipart/form-data` body of one file field.
fn multipart(field: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"ob.xlsx\"\r\n").as_bytes(),
    );
    body.extend_from_slice(format!("Content-Type: {XLSX}\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The committed LibreOffice fixture (5 good rows, 4 bad, 1 blank).
fn fixture() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/counsel/ob_cases.xlsx")).unwrap()
}

/// Every cell of the first sheet as text, row by row.
fn cells(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader as _;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = workbook.sheet_names().first().cloned().unwrap();
    let range = workbook.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect()
}

/// A redaction of strings only (ids, actors, times that are present).
fn any_string() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _| match value.as_str() {
        Some(_) => insta::internals::Content::from("[redacted]"),
        None => value,
    })
}

/// A redaction of UUID strings only (the explanation's `userId` is a user's id, the
/// membership's is a login id).
fn uuid_only() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _| match value.as_str() {
        Some(s) if s.parse::<Uuid>().is_ok() => insta::internals::Content::from("[uuid]"),
        _ => value,
    })
}

/// Snapshots a counsel response: ids, times and actors redacted wherever they occur.
fn snap(name: &str, value: &serde_json::Value) {
    let mut settings = testkit::redact::settings();
    for key in ["cnslNo", "asId", "assignedAt", "completedAt", "lastAssignedAt", "by"] {
        settings.add_redaction(&format!(".**.{key}"), any_string());
    }
    settings.add_redaction(".**.userId", uuid_only());
    settings.add_redaction(".from", any_string());
    settings.add_redaction(".to", any_string());
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}

fn status_code(reply: &Reply) -> (u16, String) {
    (reply.status.as_u16(), reply.code())
}

struct World {
    app: TestApp,
}

impl World {
    async fn new(db: TestDb) -> Self {
        Self { app: TestApp::new(db).await }
    }

    fn op(&self, req: TestRequest) -> TestRequest {
        self.app.with_key(req, &self.app.operator_key)
    }

    async fn post(&self, uri: &str, body: serde_json::Value) -> Reply {
        self.app.send(self.op(TestRequest::post().uri(uri).set_json(body))).await
    }

    async fn get(&self, uri: &str) -> Reply {
        self.app.send(self.op(TestRequest::get().uri(uri))).await
    }

    /// A `GET` under the seed's prefix that must answer 200.
    async fn read(&self, path: &str) -> serde_json::Value {
        let reply = self.get(&format!("{PREFIX}/{path}")).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        reply.json()
    }

    /// A CS manager of the operator in department `team`.
    async fn cs(&self, mohom: &str, team: &str) {
        let body = serde_json::json!({"mohomId": mohom, "name": "상담원", "phone": "01011112222", "email": format!("{mohom}@ldbds.kr"), "role": "CS_MANAGER", "teamId": team});
        self.app.create_user(&self.app.operator_key, body).await;
    }

    async fn queue(&self, group: &str, detail: &str, policy: &str) -> serde_json::Value {
        let body = serde_json::json!({"autoDivGbCd": group, "autoDivDtlNo": detail, "name": format!("큐 {group}-{detail}"), "policy": policy});
        let reply = self.post("/api/v1/counsel/queues", body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// Adds a member; returns its `autoDivNo`.
    async fn join(&self, group: &str, detail: &str, aemp: &str, weight: u32, capacity: u32) -> String {
        let body = serde_json::json!({"autoDivGbCd": group, "autoDivDtlNo": detail, "aempId": aemp, "weight": weight, "capacity": capacity});
        let reply = self.post("/api/v1/counsel/members", body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["autoDivNo"].as_str().unwrap().to_owned()
    }

    fn upload_request(&self, query: &str, body: Vec<u8>) -> TestRequest {
        TestRequest::post()
            .uri(&format!("{PREFIX}/saveObCsCounselInfoListExcel?{query}"))
            .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
            .set_payload(body)
    }

    async fn upload(&self, query: &str, file: &[u8]) -> Reply {
        self.app.send(self.op(self.upload_request(query, multipart("excelFile", file)))).await
    }

    /// Imports rows into queue (`50`, `ob`); must answer 200.
    async fn import(&self, ob: &str, rows: &[Row<'_>]) -> serde_json::Value {
        let reply = self.upload(&format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo={ob}"), &sheet(rows)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }

    async fn set_possible(&self, state: &str, numbers: &[&str]) -> Reply {
        self.post(
            &format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"),
            serde_json::json!({"state": state, "autoDivNoList": numbers}),
        )
        .await
    }

    async fn manual(&self, cnsl_no: &str, aemp: &str) -> Reply {
        self.post(&format!("{PREFIX}/manualAssign"), serde_json::json!({"cnslNo": cnsl_no, "aempId": aemp})).await
    }

    async fn count(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let db = &self.app.db.db;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = db.conn().query_one_raw(sea_orm::Statement::from_string(db.backend(), sql)).await.unwrap().unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// The text column `v` of a query's one row.
    async fn text(&self, sql: &str) -> String {
        use sea_orm::ConnectionTrait;
        let db = &self.app.db.db;
        let statement = sea_orm::Statement::from_string(db.backend(), sql.to_owned());
        db.conn().query_one_raw(statement).await.unwrap().unwrap().try_get::<String>("", "v").unwrap()
    }

    async fn sql(&self, statement: &str) {
        use sea_orm::ConnectionTrait;
        self.app.db.db.conn().execute_unprepared(statement).await.unwrap();
    }

    /// An operator user whose role was changed behind the API's back (the API lets the
    /// operator org hold only CS_MANAGER and ADMIN users).
    async fn demoted(&self, mohom: &str) {
        self.cs(mohom, "10141").await;
        self.sql(&format!("UPDATE users SET role = 'MEMBER' WHERE mohom_id = '{mohom}'")).await;
    }

    /// The memberships by `autoDivNo`.
    async fn memberships(&self) -> Vec<serde_json::Value> {
        self.read("csAllocationDetailMgmtList").await["data"].as_array().unwrap().clone()
    }

    async fn open_of(&self, auto_div_no: &str) -> u64 {
        let all = self.memberships().await;
        let m = all.iter().find(|m| m["autoDivNo"] == auto_div_no).unwrap();
        m["openCases"].as_u64().unwrap()
    }

    async fn waiting(&self) -> serde_json::Value {
        self.read("manualAssignList").await
    }
}

fn numbers_of(import: &serde_json::Value) -> Vec<Option<String>> {
    import["cases"].as_array().unwrap().iter().map(|c| c["autoDivNo"].as_str().map(str::to_owned)).collect()
}

async fn admin_body(db: TestDb) {
    let w = World::new(db).await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let as_cs = |req: TestRequest| w.app.with_bearer(req, &cs);

    // Queues.
    let body =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "name": "해지방어 OB", "policy": "WEIGHTED"});
    let created = w.post("/api/v1/counsel/queues", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    snap("counsel_queue_created", &created.json());
    assert_eq!(
        status_code(&w.post("/api/v1/counsel/queues", body.clone()).await),
        (409, "COUNSEL_QUEUE_EXISTS".into())
    );
    for bad in [
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "101", "name": "x", "policy": "FIFO"}),
        serde_json::json!({"autoDivGbCd": "30", "autoDivDtlNo": "101", "name": "x"}),
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "../1", "name": "x"}),
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "101", "name": " "}),
    ] {
        let reply = w.post("/api/v1/counsel/queues", bad.clone()).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    let partner = w
        .app
        .send(w.app.with_key(TestRequest::post().uri("/api/v1/counsel/queues").set_json(&body), &w.app.partner_key))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    let by_cs = w.app.send(as_cs(TestRequest::post().uri("/api/v1/counsel/queues").set_json(&body))).await;
    assert_eq!(status_code(&by_cs), (403, "FORBIDDEN".into()));
    w.queue("20", "1", "ROUND_ROBIN").await;
    let queues = w.get("/api/v1/counsel/queues").await;
    assert_eq!(queues.status, 200, "{}", queues.text);
    snap("counsel_queues", &queues.json());
    let cs_reads = w.app.send(as_cs(TestRequest::get().uri("/api/v1/counsel/queues"))).await;
    assert_eq!((cs_reads.status.as_u16(), cs_reads.json()), (200, queues.json()));
    assert_eq!(w.count("counsel_queues").await, 2);

    // Memberships.
    let join =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-1", "weight": 2, "capacity": 5});
    let added = w.post("/api/v1/counsel/members", join.clone()).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let added = added.json();
    snap("counsel_member_added", &added);
    let number = added["autoDivNo"].as_str().unwrap().to_owned();
    assert_eq!(
        status_code(&w.post("/api/v1/counsel/members", join.clone()).await),
        (409, "COUNSEL_ALREADY_MEMBER".into())
    );
    w.app.create_user(&w.app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    w.demoted("cs-9").await;
    let refusals: Vec<(serde_json::Value, u16, &str)> = vec![
        // A partner's member is no user of the operator org.
        (serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "m-1"}), 404, "USER_NOT_FOUND"),
        (serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "nobody"}), 404, "USER_NOT_FOUND"),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-9"}),
            409,
            "COUNSEL_NOT_A_MANAGER",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "999", "aempId": "cs-2"}),
            404,
            "COUNSEL_QUEUE_NOT_FOUND",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "weight": 0}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "capacity": 10001}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "allocPossibleYn": "X"}),
            400,
            "VALIDATION_FAILED",
        ),
    ];
    for (body, status, code) in refusals {
        let reply = w.post("/api/v1/counsel/members", body.clone()).await;
        assert_eq!(status_code(&reply), (status, code.to_owned()), "{body}: {}", reply.text);
    }
    assert_eq!(w.count("counsel_members").await, 1, "refusals write nothing");
    let cs_joins = w.app.send(as_cs(TestRequest::post().uri("/api/v1/counsel/members").set_json(&join))).await;
    assert_eq!(status_code(&cs_joins), (403, "FORBIDDEN".into()));

    // Terms.
    let member_uri = format!("/api/v1/counsel/members/{number}");
    let terms = serde_json::json!({"weight": 3, "capacity": 7});
    let cs_updates = w.app.send(as_cs(TestRequest::put().uri(&member_uri).set_json(&terms))).await;
    assert_eq!(status_code(&cs_updates), (403, "FORBIDDEN".into()));
    let updated = w.app.send(w.op(TestRequest::put().uri(&member_uri).set_json(&terms))).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    snap("counsel_member_updated", &updated.json());
    let unknown = w.app.send(w.op(TestRequest::put().uri("/api/v1/counsel/members/999999").set_json(&terms))).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_MEMBER_NOT_FOUND".into()));
    let bad_terms = w
        .app
        .send(w.op(TestRequest::put().uri(&member_uri).set_json(serde_json::json!({"weight": 101, "capacity": 0}))))
        .await;
    assert_eq!(status_code(&bad_terms), (400, "VALIDATION_FAILED".into()));
    assert_eq!(bad_terms.json()["error"]["details"].as_array().unwrap().len(), 2, "{}", bad_terms.text);
    let bad_number = w.app.send(w.op(TestRequest::put().uri("/api/v1/counsel/members/abc").set_json(&terms))).await;
    assert_eq!(status_code(&bad_number), (400, "VALIDATION_FAILED".into()));

    // An ADMIN of the operator administers too.
    w.app
        .create_user(
            &w.app.operator_key,
            serde_json::json!({"mohomId": "adm-1", "name": "관리자", "phone": "01099998888", "email": "adm@ldbds.kr", "role": "ADMIN"}),
        )
        .await;
    let admin = w.app.token(&w.app.operator_key, "adm-1").await;
    let by_admin = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri("/api/v1/counsel/members")
                    .set_json(serde_json::json!({"autoDivGbCd": "20", "autoDivDtlNo": "1", "aempId": "cs-2"})),
                &admin,
            ),
        )
        .await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    assert_eq!((by_admin.json()["weight"].as_u64(), by_admin.json()["capacity"].as_u64()), (Some(1), Some(10)));

    // Removal.
    let cs_removes = w.app.send(as_cs(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(status_code(&cs_removes), (403, "FORBIDDEN".into()));
    let removed = w.app.send(w.op(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    snap("counsel_member_removed", &removed.json());
    let again = w.app.send(w.op(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(status_code(&again), (404, "COUNSEL_MEMBER_NOT_FOUND".into()));
    let listed = w.memberships().await;
    assert_eq!(listed.len(), 1, "only the ADMIN-added membership is live: {listed:?}");
    // A removed manager may join again, under a new number.
    let rejoined = w.join("50", "100", "cs-1", 1, 1).await;
    assert_ne!(rejoined, number);
}

async fn import_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "WEIGHTED").await;
    let mut numbers = Vec::new();
    for (i, weight) in [1, 2, 3].into_iter().enumerate() {
        let login = format!("cs-{}", i + 1);
        w.cs(&login, "10141").await;
        numbers.push(w.join("50", "100", &login, weight, 10).await);
    }
    let imported = w.import("100", &SIX).await;
    snap("counsel_imported", &imported);
    assert_eq!((imported["imported"].as_u64(), imported["assigned"].as_u64()), (Some(6), Some(6)));
    assert_eq!(imported["waiting"], 0);
    let got = numbers_of(&imported);
    let per: Vec<usize> = numbers.iter().map(|n| got.iter().filter(|g| g.as_deref() == Some(n)).count()).collect();
    assert_eq!(per, vec![1, 2, 3], "weights 1/2/3 over six cases: {got:?}");
    for (n, expected) in numbers.iter().zip([1, 2, 3]) {
        assert_eq!(w.open_of(n).await, expected);
    }
    assert_eq!(w.count("counsel_cases").await, 6);
    assert_eq!(w.count("counsel_cases WHERE status = 'ASSIGNED' AND assign_kind = 'AUTO'").await, 6);
    // Customer data is sealed at rest.
    assert_eq!(w.count("counsel_cases WHERE cust_tel_enc IS NULL").await, 0);
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    for row in stats["data"].as_array().unwrap() {
        assert_eq!(row["actualShare"], row["weightShare"], "{row}");
    }
    // The queue is (50, obTypNo): another type has no queue.
    let missing = w.upload(&format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=999"), &sheet(&SIX)).await;
    assert_eq!(status_code(&missing), (404, "COUNSEL_QUEUE_NOT_FOUND".into()), "{}", missing.text);
    let partner = w
        .app
        .send(w.app.with_key(
            w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &sheet(&SIX)),
            ),
            &w.app.partner_key,
        ))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    // A CS manager may import.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(w.app.with_bearer(
            w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &sheet(&SIX[..1])),
            ),
            &cs,
        ))
        .await;
    assert_eq!(by_cs.status, 200, "{}", by_cs.text);
    assert_eq!(w.count("counsel_cases").await, 7);
    // A retried upload with its Idempotency-Key replays the first answer: no case twice.
    let keyed = |file: Vec<u8>| {
        w.app.send(
            w.op(w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &file),
            ))
            .insert_header(("Idempotency-Key", "ob-upload-2026-12-01")),
        )
    };
    // One file, sent again byte for byte (a workbook made twice may differ in its stamp).
    let two_rows = sheet(&SIX[..2]);
    let first = keyed(two_rows.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let retry = keyed(two_rows.clone()).await;
    assert_eq!((retry.status.as_u16(), retry.header("idempotency-replayed")), (200, Some("true")));
    assert_eq!(retry.json(), first.json());
    assert_eq!(w.count("counsel_cases").await, 9, "two new cases, once");
    let other_file = keyed(sheet(&SIX[2..4])).await;
    assert_eq!(status_code(&other_file), (422, "IDEMPOTENCY_KEY_REUSED".into()), "{}", other_file.text);
    assert_eq!(w.count("counsel_cases").await, 9, "nothing written");
    // The key belongs to the operator key that sent it: another key of the operator org
    // sending the same key and file imports on its own, never replayed the first's answer.
    let org = infra::fixtures::org_id_by_code(w.app.db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let second_key = infra::api_keys::issue(w.app.db.db.conn(), org, "second", &["*"], now).await.unwrap().plaintext;
    let by_other_key = w
        .app
        .send(
            w.app
                .with_key(
                    w.upload_request(
                        &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                        multipart("excelFile", &two_rows),
                    ),
                    &second_key,
                )
                .insert_header(("Idempotency-Key", "ob-upload-2026-12-01")),
        )
        .await;
    assert_eq!(by_other_key.status, 200, "{}", by_other_key.text);
    assert!(by_other_key.header("idempotency-replayed").is_none(), "another principal is never replayed");
    assert_eq!(w.count("counsel_cases").await, 11, "the other key's own import");
}

async fn refused_upload_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    let fixture_query = "excelColumns=mbrNo,ordNo,accpCont,custNm,custTelNo,skip&cnslTypNo=10&obTypNo=100";
    let refused = w.upload(fixture_query, &fixture()).await;
    assert_eq!(status_code(&refused), (422, "EXCEL_ROWS_INVALID".into()), "{}", refused.text);
    snap("counsel_fixture_refused", &refused.json());
    let fields: Vec<String> = refused.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "excelFile.rows[6].custTelNo",
            "excelFile.rows[7].mbrNo",
            "excelFile.rows[9].custTelNo",
            "excelFile.rows[11].custTelNo"
        ]
    );
    assert_eq!(w.count("counsel_cases").await, 0, "all or nothing");
    assert_eq!(w.open_of("1").await, 0);
    let query = format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100");
    // Not an .xlsx.
    for bytes in [&b"mbrNo,custTelNo\nM-1,010-5555-0001\n"[..], b"PK\x03\x04 not really", b""] {
        let reply = w.upload(&query, bytes).await;
        assert_eq!(status_code(&reply), (400, "EXCEL_INVALID".into()), "{}", reply.text);
    }
    // A header alone.
    let empty = w.upload(&query, &sheet(&[])).await;
    assert_eq!(status_code(&empty), (400, "EXCEL_INVALID".into()), "{}", empty.text);
    // No excelFile field.
    let other = w.app.send(w.op(w.upload_request(&query, multipart("file", &sheet(&SIX))))).await;
    assert_eq!(status_code(&other), (400, "VALIDATION_FAILED".into()), "{}", other.text);
    assert_eq!(other.json()["error"]["details"][0]["field"], "excelFile");
    // Bad query parameters: every error at once.
    let bad = w.upload("excelColumns=mbrNo,,phone&cnslTypNo=1-0&obTypNo=100", &sheet(&SIX)).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()), "{}", bad.text);
    let details = bad.json()["error"]["details"].as_array().unwrap().clone();
    let bad_fields: Vec<&str> = details.iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(bad_fields.contains(&"excelColumns") && bad_fields.contains(&"cnslTypNo"), "{}", bad.text);
    assert!(bad_fields.len() >= 4, "empty item, unknown key, no custTelNo, cnslTypNo: {}", bad.text);
    let no_query = w.app.send(w.op(w.upload_request("cnslTypNo=10", multipart("excelFile", &sheet(&SIX))))).await;
    assert_eq!(no_query.status, 400, "{}", no_query.text);
    // Only the operator.
    let partner = w
        .app
        .send(w.app.with_key(w.upload_request(fixture_query, multipart("excelFile", &fixture())), &w.app.partner_key))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    assert_eq!(w.count("counsel_cases").await, 0);
}

/// A query string with its non-ASCII text percent-encoded (Korean labels and filters).
fn encoded(query: &str) -> String {
    query.bytes().map(|b| if b.is_ascii_graphic() { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The export's bytes (`Reply::text` is lossy: read them through the test service).
async fn export_bytes(w: &World, query: &str) -> Vec<u8> {
    let app = actix_web::test::init_service(api::startup::build_app(w.app.state.clone())).await;
    let req = w.op(TestRequest::post().uri(&format!("{PREFIX}/getObCsCounselInfoListExcel{}", encoded(query))));
    let reply = actix_web::test::call_service(&app, req.to_request()).await;
    assert_eq!(reply.status(), 200, "{query}");
    actix_web::test::read_body(reply).await.to_vec()
}

/// The export's cells with its case numbers and times redacted.
fn export_cells_redacted(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut rows = cells(bytes);
    for row in rows.iter_mut().skip(1) {
        for i in [0, 10, 11] {
            if let Some(cell) = row.get_mut(i).filter(|c| !c.is_empty()) {
                *cell = "[redacted]".to_owned();
            }
        }
    }
    rows
}

async fn export_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.queue("50", "200", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    w.join("50", "200", "cs-1", 1, 10).await;
    w.import("100", &SIX[..3]).await;
    let export = |query: &str| {
        let uri = format!("{PREFIX}/getObCsCounselInfoListExcel{query}");
        w.app.send(w.op(TestRequest::post().uri(&uri)))
    };
    let reply = export("?obTypNo=100").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some(XLSX));
    assert_eq!(reply.header("content-disposition"), Some("attachment; filename=\"ob_counsel_cases.xlsx\""));
    let bytes = export_bytes(&w, "?obTypNo=100").await;
    let rows = cells(&bytes);
    let headers: Vec<&str> = infra::counsel_excel::EXPORT_COLUMNS.iter().map(|(h, _)| *h).collect();
    assert_eq!(rows[0], headers);
    assert_eq!(rows.len(), 4, "a header and three cases");
    insta::assert_json_snapshot!("counsel_export_cells", export_cells_redacted(&bytes));
    assert_eq!(rows[1][1], "M-1001");
    assert_eq!((rows[1][4].as_str(), rows[1][5].as_str()), ("김*수", "010****0001"));
    assert_eq!((rows[1][8].as_str(), rows[1][9].as_str()), ("배정", "cs-1"));
    let all: Vec<&String> = rows.iter().flatten().collect();
    for (_, _, _, name, phone) in &SIX {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let international = format!("+82{}", &digits[1..]);
        for cell in &all {
            assert!(
                !cell.contains(&digits) && !cell.contains(phone) && !cell.contains(&international),
                "{cell} shows {phone}"
            );
            assert!(name.is_empty() || !cell.contains(name), "{cell} shows {name}");
        }
    }
    // Filters: each narrows to exactly its cases.
    for (query, expected) in [
        ("", vec!["M-1001", "M-1002", "M-1003"]),
        ("?mbrNo=M-1002", vec!["M-1002"]),
        ("?ordNo=O-2001", vec!["M-1001"]),
        ("?accpCont=안내", vec!["M-1001", "M-1003"]),
        ("?cnslTypNo=10", vec!["M-1001", "M-1002", "M-1003"]),
        ("?cnslTypNo=20", vec![]),
        ("?obTypNo=100&mbrNo=M-1003", vec!["M-1003"]),
        ("?obTypNo=999", vec![]),
    ] {
        let got: Vec<String> =
            cells(&export_bytes(&w, query).await).into_iter().skip(1).map(|r| r[1].clone()).collect();
        assert_eq!(got, expected, "{query}");
    }
    for bad in ["?obTypNo=a-b", "?mbrNo="] {
        assert_eq!(status_code(&export(bad).await), (400, "VALIDATION_FAILED".into()), "{bad}");
    }

    // Masked customers do not come back in on their own: without the case numbers, every
    // masked cell is refused, row by row, and nothing is written.
    let before = w.count("counsel_cases").await;
    let back =
        w.upload("excelColumns=skip,mbrNo,ordNo,accpCont,custNm,custTelNo&cnslTypNo=10&obTypNo=200", &bytes).await;
    assert_eq!(status_code(&back), (422, "EXCEL_ROWS_INVALID".into()), "{}", back.text);
    let details = back.json()["error"]["details"].as_array().unwrap().clone();
    assert_eq!(details.len(), 6, "name and phone of three rows: {details:?}");
    for (i, d) in details.iter().enumerate() {
        let row = 2 + i / 2;
        let column = if i % 2 == 0 { "custNm" } else { "custTelNo" };
        assert_eq!(d["field"], format!("excelFile.rows[{row}].{column}"), "{d}");
        assert!(d["reason"].as_str().unwrap().contains("masked"), "{d}");
    }
    assert_eq!(w.count("counsel_cases").await, before, "nothing written");

    // The round trip: the export, its 상담번호 column read as cnslNo, comes back as new
    // cases of another campaign with the same customers (their masks, and their sealed
    // phones' blind indexes, are the originals').
    let round_trip =
        encoded("excelColumns=상담번호,회원번호,주문번호,접수내용,고객명,고객연락처&cnslTypNo=10&obTypNo=200");
    let again = w.upload(&round_trip, &bytes).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!((again.json()["imported"].as_u64(), again.json()["assigned"].as_u64()), (Some(3), Some(3)));
    let copied = cells(&export_bytes(&w, "?obTypNo=200").await);
    assert_eq!(copied.len(), 4);
    for (original, copy) in rows[1..].iter().zip(&copied[1..]) {
        assert_ne!(original[0], copy[0], "a new case number");
        assert_eq!(original[1..=5], copy[1..=5], "mbrNo, ordNo, accpCont and the masked customer");
        assert_eq!(copy[7], "200");
    }
    assert_eq!(
        w.count(
            "counsel_cases c WHERE c.ob_typ_no = '200' AND EXISTS (SELECT 1 FROM counsel_cases o \
             WHERE o.ob_typ_no = '100' AND o.cust_tel_bidx = c.cust_tel_bidx AND o.mbr_no = c.mbr_no)"
        )
        .await,
        3,
        "the very phones came back"
    );
    // A row whose masked customer is not its case's is refused, and the file with it.
    let before = w.count("counsel_cases").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    for (r, row) in (0u32..).zip(&rows) {
        for (c, value) in (0u16..).zip(row.iter().take(6)) {
            ws.write_string(r, c, value).unwrap();
        }
    }
    ws.write_string(2, 5, "010****0009").unwrap();
    ws.write_string(3, 0, Uuid::now_v7().to_string()).unwrap();
    let tampered = w.upload(&round_trip, &workbook.save_to_buffer().unwrap()).await;
    assert_eq!(status_code(&tampered), (422, "EXCEL_ROWS_INVALID".into()), "{}", tampered.text);
    let details = tampered.json()["error"]["details"].clone();
    assert_eq!(details[0]["field"], "excelFile.rows[3].custTelNo", "{details}");
    assert!(details[0]["reason"].as_str().unwrap().contains("does not match the customer"), "{details}");
    assert_eq!(
        (details[1]["field"].as_str(), details[1]["reason"].as_str()),
        (Some("excelFile.rows[4].cnslNo"), Some("names no counsel case"))
    );
    assert_eq!(w.count("counsel_cases").await, before, "nothing written");

    // A CS manager may export; a partner may not.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(w.app.with_bearer(TestRequest::post().uri(&format!("{PREFIX}/getObCsCounselInfoListExcel")), &cs))
        .await;
    assert_eq!(by_cs.status, 200);
    let partner =
        w.app
            .send(w.app.with_key(
                TestRequest::post().uri(&format!("{PREFIX}/getObCsCounselInfoListExcel")),
                &w.app.partner_key,
            ))
            .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
}

async fn pause_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.queue("50", "200", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    let b = w.join("50", "100", "cs-2", 1, 10).await;
    let paused = w.set_possible("N", &[&a, &b]).await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    snap("counsel_possible_off", &paused.json());
    let imported = w.import("100", &SIX[..3]).await;
    assert_eq!((imported["assigned"].as_u64(), imported["waiting"].as_u64()), (Some(0), Some(3)));
    let waiting = w.waiting().await;
    snap("counsel_manual_assign_list", &waiting);
    let order: Vec<&str> = waiting["data"].as_array().unwrap().iter().map(|c| c["mbrNo"].as_str().unwrap()).collect();
    assert_eq!(order, ["M-1001", "M-1002", "M-1003"], "oldest first");
    let of_queue = w.read("manualAssignList?autoDivGbCd=50&autoDivDtlNo=100").await;
    assert_eq!(of_queue["total"], 3);
    let other = w.read("manualAssignList?autoDivGbCd=50&autoDivDtlNo=200").await;
    assert_eq!(other["total"], 0);
    let of_group = w.read("manualAssignList?autoDivGbCd=50").await;
    assert_eq!(of_group["total"], 3, "a group on its own narrows too");
    assert_eq!(w.read("manualAssignList?autoDivGbCd=20").await["total"], 0);
    for bad in ["autoDivGbCd=99&autoDivDtlNo=1", "autoDivGbCd=", "autoDivDtlNo=a-b"] {
        let reply = w.get(&format!("{PREFIX}/manualAssignList?{bad}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    // All or nothing: one unknown number changes nobody.
    let unknown = w.set_possible("Y", &[&a, "999999"]).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_MEMBER_NOT_FOUND".into()), "{}", unknown.text);
    for bad in [
        serde_json::json!({"state": "X", "autoDivNoList": [a]}),
        serde_json::json!({"state": "Y", "autoDivNoList": []}),
        serde_json::json!({"state": "Y", "autoDivNoList": ["abc"]}),
    ] {
        let reply = w.post(&format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"), bad.clone()).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    let flags: Vec<String> =
        w.memberships().await.iter().map(|m| m["allocPossibleYn"].as_str().unwrap().to_owned()).collect();
    assert_eq!(flags, ["N", "N"]);
    assert_eq!(w.waiting().await["total"], 3);
    // Resuming sweeps the backlog; the seed's `{n}` spelling is tolerated.
    let braced = format!("{{{b}}}");
    let resumed = w.set_possible("Y", &[&a, &braced]).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    let resumed = resumed.json();
    let flags: Vec<&str> =
        resumed["data"].as_array().unwrap().iter().map(|m| m["allocPossibleYn"].as_str().unwrap()).collect();
    assert_eq!(flags, ["Y", "Y"]);
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.count("counsel_cases WHERE status = 'ASSIGNED' AND assignee_user_id IS NOT NULL").await, 3);
    let (open_a, open_b) = (w.open_of(&a).await, w.open_of(&b).await);
    assert_eq!(open_a + open_b, 3);
    // A removed member's open cases go back to the queue and on to the others.
    let removed = w.app.send(w.op(TestRequest::delete().uri(&format!("/api/v1/counsel/members/{a}")))).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["returnedCases"].as_u64(), Some(open_a));
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.open_of(&b).await, 3);
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    // A CS manager may toggle.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"))
                    .set_json(serde_json::json!({"state": "N", "autoDivNoList": [a]})),
                &cs,
            ),
        )
        .await;
    assert_eq!(by_cs.status, 200, "{}", by_cs.text);
}

async fn manual_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    for login in ["cs-1", "cs-2", "cs-3"] {
        w.cs(login, "10141").await;
    }
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    let b = w.join("50", "100", "cs-2", 1, 1).await;
    w.set_possible("N", &[&a, &b]).await;
    w.import("100", &SIX[..3]).await;
    let waiting = w.waiting().await;
    let case = |i: usize| waiting["data"][i]["cnslNo"].as_str().unwrap().to_owned();
    // A person may give a case to a paused member.
    let assigned = w.manual(&case(0), "cs-2").await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let assigned = assigned.json();
    snap("counsel_manual_assigned", &assigned);
    assert_eq!((assigned["status"].as_str(), assigned["assignKind"].as_str()), (Some("ASSIGNED"), Some("MANUAL")));
    assert_eq!(assigned["autoDivNo"], b);
    assert_eq!(assigned["custTelNo"], "010****0001");
    let refusals: Vec<(String, &str, u16, &str)> = vec![
        (case(0), "cs-1", 409, "COUNSEL_CASE_NOT_WAITING"),
        (case(1), "cs-3", 409, "COUNSEL_NOT_A_MEMBER"),
        (case(1), "nobody", 404, "USER_NOT_FOUND"),
        (case(1), "cs-2", 409, "COUNSEL_OVER_CAPACITY"),
        (Uuid::nil().to_string(), "cs-1", 404, "COUNSEL_CASE_NOT_FOUND"),
        ("not-a-uuid".to_owned(), "cs-1", 400, "VALIDATION_FAILED"),
    ];
    for (cnsl, aemp, status, code) in refusals {
        let reply = w.manual(&cnsl, aemp).await;
        assert_eq!(status_code(&reply), (status, code.to_owned()), "{cnsl} → {aemp}: {}", reply.text);
    }
    assert_eq!(w.waiting().await["total"], 2, "refusals change nothing");
    assert_eq!((w.open_of(&a).await, w.open_of(&b).await), (0, 1));
    let extra = w
        .post(&format!("{PREFIX}/manualAssign"), serde_json::json!({"cnslNo": case(1), "aempId": "cs-1", "x": 1}))
        .await;
    assert_eq!(status_code(&extra), (400, "INVALID_JSON".into()));
    let second = w.manual(&case(1), "cs-1").await;
    assert_eq!(second.status, 200, "{}", second.text);
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    let manual: Vec<u64> =
        stats["data"].as_array().unwrap().iter().map(|r| r["manualAssigned"].as_u64().unwrap()).collect();
    assert_eq!(manual, [1, 1]);
}

async fn lists_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "WEIGHTED").await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    w.cs("cs-3", "20000").await;
    let one = w.join("50", "100", "cs-1", 1, 10).await;
    let two = w.join("50", "100", "cs-2", 2, 10).await;
    let three = w.join("50", "100", "cs-3", 3, 10).await;
    w.join("20", "1", "cs-1", 1, 10).await;
    let imported = w.import("100", &SIX).await;
    // One more by hand, to cs-1, while everyone is paused.
    w.set_possible("N", &[&one, &two, &three]).await;
    let late = w.import("100", &[("M-1007", "O-2007", "수동 배정", "한가람", "010-5555-0007")]).await;
    let late_case = late["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(w.manual(&late_case, "cs-1").await.status, 200);
    w.set_possible("Y", &[&one, &two, &three]).await;
    // cs-3 completes one of theirs.
    let theirs = imported["cases"].as_array().unwrap().iter().find(|c| c["autoDivNo"] == three).unwrap()["cnslNo"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = w.post(&format!("/api/v1/counsel/cases/{theirs}/complete"), serde_json::json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // Managers.
    let managers = w.read("getAutoDistributionManagerList").await;
    snap("counsel_managers", &managers);
    let logins = |v: &serde_json::Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|m| m["userId"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(logins(&managers), ["cs-1", "cs-2", "cs-3"]);
    assert_eq!(managers["data"][0]["memberships"].as_array().unwrap().len(), 2);
    assert_eq!(managers["data"][0]["userNm"], "상*원", "names are masked");
    assert_eq!(logins(&w.read("getAutoDistributionManagerList?deptCd=10141").await), ["cs-1", "cs-2"]);
    assert_eq!(logins(&w.read("getAutoDistributionManagerList?userId=cs-3").await), ["cs-3"]);
    assert!(logins(&w.read("getAutoDistributionManagerList?userId=nobody").await).is_empty());
    let count = w.read("getAutoDistributionManagerListCount").await;
    snap("counsel_manager_count", &count);
    assert_eq!(count["count"], 3);
    assert_eq!(w.read("getAutoDistributionManagerListCount?deptCd=10141").await["count"], 2);
    assert_eq!(w.read("getAutoDistributionManagerListCount?deptCd=nope").await["count"], 0);

    // Memberships.
    let detail = w.read("csAllocationDetailMgmtList").await;
    snap("counsel_allocation_detail", &detail);
    assert_eq!(detail["data"].as_array().unwrap().len(), 4);
    let of_group = w.read("csAllocationDetailMgmtList?subAutoDivGbCd=20").await;
    assert_eq!(of_group["data"].as_array().unwrap().len(), 1);
    assert_eq!(of_group["data"][0]["userId"], "cs-1");
    let of_user = w.read("csAllocationDetailMgmtList?userId=cs-1").await;
    assert_eq!(of_user["data"].as_array().unwrap().len(), 2);
    let of_queue = w.read("csAllocationDetailMgmtList?subAutoDivGbCd=50&subAutoDivDtlNo=100").await;
    assert_eq!(of_queue["data"].as_array().unwrap().len(), 3);
    let bad = w.get(&format!("{PREFIX}/csAllocationDetailMgmtList?subAutoDivGbCd=99")).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()));

    // Validation.
    w.cs("cs-4", "10141").await;
    w.demoted("cs-9").await;
    let valid = w.read("checkValidateManager?aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=100&deptCd=10141").await;
    snap("counsel_validate_ok", &valid);
    assert_eq!(valid, serde_json::json!({"valid": true, "reason": null}));
    for (query, reason) in [
        ("aempId=cs-1&autoDivGbCd=50&autoDivDtlNo=100", "ALREADY_MEMBER"),
        ("aempId=cs-9&autoDivGbCd=50&autoDivDtlNo=100", "NOT_CS_MANAGER"),
        ("aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=100&deptCd=99999", "DEPARTMENT_MISMATCH"),
        ("aempId=nobody&autoDivGbCd=50&autoDivDtlNo=100", "USER_NOT_FOUND"),
        ("aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=999", "QUEUE_NOT_FOUND"),
    ] {
        let answer = w.read(&format!("checkValidateManager?{query}")).await;
        assert_eq!(answer, serde_json::json!({"valid": false, "reason": reason}), "{query}");
    }
    // Without a queue: may the user be a counsel manager at all.
    assert_eq!(w.read("checkValidateManager?aempId=cs-1").await, serde_json::json!({"valid": true, "reason": null}));
    assert_eq!(
        w.read("checkValidateManager?aempId=cs-9&deptCd=10141").await,
        serde_json::json!({"valid": false, "reason": "NOT_CS_MANAGER"})
    );
    for query in [
        "autoDivGbCd=50&autoDivDtlNo=100",
        "aempId=cs-4&autoDivGbCd=30&autoDivDtlNo=100",
        "aempId=cs-4&autoDivGbCd=50",
        "aempId=cs-4&autoDivDtlNo=100",
    ] {
        let reply = w.get(&format!("{PREFIX}/checkValidateManager?{query}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{query}");
    }

    // Statistics.
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    snap("counsel_allocation_stats", &stats);
    let row = |n: &str| stats["data"].as_array().unwrap().iter().find(|r| r["autoDivNo"] == n).unwrap().clone();
    let counts =
        |r: &serde_json::Value| ["autoAssigned", "manualAssigned", "completed", "open"].map(|k| r[k].as_u64().unwrap());
    assert_eq!(counts(&row(&one)), [1, 1, 0, 2]);
    assert_eq!(counts(&row(&two)), [2, 0, 0, 2]);
    assert_eq!(counts(&row(&three)), [3, 0, 1, 2]);
    // Within its queue: 7 cases, weights 1+2+3 (the `20` queue's row is compared with its own).
    assert_eq!(row(&three)["actualShare"], 42.86);
    assert_eq!(row(&three)["weightShare"], 50.0);
    let today = OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap()).date();
    let by_dates = w.read(&format!("csAllocationMgmtList?startDate={today}&endDate={today}")).await;
    assert_eq!(by_dates["data"], stats["data"]);
    let long_ago = w.read("csAllocationMgmtList?startDate=2020-01-01&endDate=2020-01-02").await;
    for r in long_ago["data"].as_array().unwrap() {
        assert_eq!((r["autoAssigned"].as_u64(), r["completed"].as_u64()), (Some(0), Some(0)), "{r}");
    }
    assert_eq!(
        (long_ago["from"].as_str(), long_ago["to"].as_str()),
        (Some("2019-12-31T15:00:00.000Z"), Some("2020-01-02T15:00:00.000Z"))
    );
    let all_time = w.read("csAllocationMgmtList").await;
    assert!(all_time["from"].is_null() && all_time["to"].is_null(), "{all_time}");
    assert_eq!(all_time["data"], stats["data"], "everything happened today");
    assert_eq!(w.read("csAllocationMgmtList?dateSelect=all_day").await, all_time, "all_day: the whole period");
    for select in ["week", "month"] {
        let range = w.read(&format!("csAllocationMgmtList?dateSelect={select}")).await;
        assert_eq!(range["data"], stats["data"], "{select} holds today");
        assert!(range["from"].as_str() < stats["from"].as_str(), "{select} starts before today: {range}");
        assert_eq!(range["to"], stats["to"], "{select} ends with today");
    }
    assert_eq!(all_time["data"][0]["autoDivGbCd"], "20", "queues in code order");
    let of_user = w.read("csAllocationMgmtList?userId=cs-2&autoDivGbCd=50").await;
    assert_eq!(of_user["data"].as_array().unwrap().len(), 1);
    for bad in ["dateSelect=year", "startDate=2026-13-01", "startDate=2026-11-02&endDate=2026-11-01", "autoDivGbCd=99"]
    {
        let reply = w.get(&format!("{PREFIX}/csAllocationMgmtList?{bad}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
}

async fn complete_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    let a = w.join("50", "100", "cs-1", 1, 1).await;
    let imported = w.import("100", &SIX[..2]).await;
    assert_eq!(numbers_of(&imported), [Some(a.clone()), None], "capacity 1: the second waits");
    let first = imported["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    let second = imported["cases"][1]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(w.waiting().await["total"], 1);
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let complete = |cnsl: String| {
        w.app.send(w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{cnsl}/complete")), &cs))
    };
    // Another CS manager does not close cs-1's case.
    w.cs("cs-2", "10141").await;
    let cs2 = w.app.token(&w.app.operator_key, "cs-2").await;
    let not_theirs = w
        .app
        .send(w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{first}/complete")), &cs2))
        .await;
    assert_eq!(status_code(&not_theirs), (403, "FORBIDDEN".into()), "{}", not_theirs.text);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 0, "nothing written");
    // The case as its reader sees it: manager by login id, the engine's explanation.
    let read = w.get(&format!("/api/v1/counsel/cases/{first}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let read = read.json();
    snap("counsel_case_read", &read);
    assert_eq!((read["aempId"].as_str(), read["assignKind"].as_str()), (Some("cs-1"), Some("AUTO")));
    assert_eq!(read["explanation"]["chosen"].as_i64().map(|n| n.to_string()), Some(a.clone()));
    assert_eq!(read["explanation"]["policy"], "ROUND_ROBIN");
    assert_eq!(
        status_code(&w.get(&format!("/api/v1/counsel/cases/{}", Uuid::nil())).await),
        (404, "COUNSEL_CASE_NOT_FOUND".into())
    );
    assert_eq!(status_code(&w.get("/api/v1/counsel/cases/nope").await), (400, "VALIDATION_FAILED".into()));
    let done = complete(first.clone()).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let done = done.json();
    snap("counsel_case_completed", &done);
    assert_eq!(done["status"], "COMPLETED");
    assert!(done["completedAt"].is_string());
    let again = complete(first.clone()).await;
    assert_eq!(status_code(&again), (409, "COUNSEL_CASE_NOT_ASSIGNED".into()));
    // The freed place went to the waiting case at once.
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.open_of(&a).await, 1);
    assert_eq!(w.count(&format!("counsel_cases WHERE cnsl_no = '{second}' AND status = 'ASSIGNED'")).await, 1);
    let unknown = complete(Uuid::nil().to_string()).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_CASE_NOT_FOUND".into()));
    let bad = complete("nope".to_owned()).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()));
    // A waiting case cannot be completed.
    w.import("100", &SIX[2..3]).await;
    let third = w.waiting().await["data"][0]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(status_code(&complete(third).await), (409, "COUNSEL_CASE_NOT_ASSIGNED".into()));
}

/// A partner member `m-1` who bought two `RE-HCM-APT` leads in region `79`; returns one.
async fn bought_lead(w: &World) -> String {
    bought_leads(w, 2).await.swap_remove(0)
}

/// A partner member `m-1` who bought `n` `RE-HCM-APT` leads in region `79`.
async fn bought_leads(w: &World, n: i64) -> Vec<String> {
    let app = &w.app;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    for i in 0..=n {
        let product_text = product.to_string();
        let phone = format!("039777{i:04}");
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some("홍길동"),
            phone: Some(&phone),
            region: Some("79"),
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, now.date()).unwrap();
        app.state.leads.add_to_pool(&new, org, now - Duration::hours(1) + Duration::seconds(i)).await.unwrap();
    }
    let body =
        serde_json::json!({"mohomId": "m-1", "productId": product, "regions": [{"region": "79", "quantity": n}]});
    let reply =
        app.send(app.with_key(TestRequest::post().uri("/api/v1/orders").set_json(body), &app.partner_key)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let leads = app
        .send(app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=m-1&limit=100"), &app.partner_key))
        .await
        .json();
    leads["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
}

async fn claim(w: &World, lead: &str) -> serde_json::Value {
    let body =
        serde_json::json!({"mohomId": "m-1", "leadId": lead, "reasonCode": "DUPLICATE", "description": "중복 리드"});
    let reply =
        w.app.send(w.app.with_key(TestRequest::post().uri("/api/v1/as").set_json(body), &w.app.partner_key)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

async fn as_review_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    // A second `20` queue: reviews go to the smallest detail number.
    w.queue("20", "2", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let a = w.join("20", "1", "cs-1", 1, 10).await;
    w.join("20", "2", "cs-2", 1, 10).await;
    // Twenty bought: the order's AS cap (10 %) allows two.
    let leads = bought_leads(&w, 20).await;
    let lead = leads[0].clone();
    let claimed = claim(&w, &lead).await;
    let id = claimed["id"].as_str().unwrap().to_owned();
    let stored = w.get(&format!("/api/v1/as/{id}")).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    let stored = stored.json();
    assert_eq!(stored["status"], "IN_REVIEW", "{stored}");
    let history: Vec<&str> =
        stored["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(history.len(), 2, "{stored}");
    // The claim's own answer is taken before the review case reaches its manager in the
    // same transaction; see the report if it says otherwise.
    assert_eq!(claimed["status"], stored["status"], "the 201 body shows the stored status: {claimed}");
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'ASSIGNED'").await, 1);
    assert_eq!(w.open_of(&a).await, 1);
    let lead_row = w
        .app
        .send(w.app.with_key(TestRequest::get().uri(&format!("/api/v1/leads/{lead}?mohomId=m-1")), &w.app.partner_key))
        .await
        .json();
    assert_eq!(lead_row["leadAsStatus"], "IN_REVIEW");

    // The manager sees their case.
    let cs1 = w.app.token(&w.app.operator_key, "cs-1").await;
    let cs2 = w.app.token(&w.app.operator_key, "cs-2").await;
    let read_as = |token: &str, path: &str| {
        w.app.send(w.app.with_bearer(TestRequest::get().uri(&format!("{PREFIX}/{path}")), token))
    };
    let stats = read_as(&cs1, "csAllocationMgmtList?dateSelect=today&userId=cs-1").await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    let stats = stats.json();
    assert_eq!((stats["data"][0]["autoAssigned"].as_u64(), stats["data"][0]["open"].as_u64()), (Some(1), Some(1)));
    assert_eq!(stats["data"][0]["autoDivGbCd"], "20");
    let managers = read_as(&cs1, "getAutoDistributionManagerList?userId=cs-1").await.json();
    assert_eq!(managers["data"][0]["memberships"][0]["openCases"], 1);

    // Only the assigned manager decides.
    let decide = |token: &str, action: &str| {
        w.app.send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{id}/{action}"))
                    .set_json(serde_json::json!({"comment": "중복 확인"})),
                token,
            ),
        )
    };
    let other = decide(&cs2, "approve").await;
    assert_eq!(status_code(&other), (403, "FORBIDDEN".into()), "{}", other.text);
    // The review case closes by deciding its AS, never on its own.
    let review_case = w.text(&format!("SELECT cnsl_no AS v FROM counsel_cases WHERE as_id = '{id}'")).await;
    let closing = w
        .app
        .send(
            w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{review_case}/complete")), &cs1),
        )
        .await;
    assert_eq!(status_code(&closing), (409, "COUNSEL_CASE_IS_AS_REVIEW".into()), "{}", closing.text);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 0, "nothing written");
    assert_eq!(w.get(&format!("/api/v1/as/{id}")).await.json()["status"], "IN_REVIEW");
    assert_eq!(w.open_of(&a).await, 1);
    let approved = decide(&cs1, "approve").await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json()["status"], "APPROVED");
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'COMPLETED'").await, 1);
    assert_eq!(w.count("counsel_cases WHERE completed_at IS NOT NULL").await, 1);
    assert_eq!(w.open_of(&a).await, 0);
    let after = read_as(&cs1, "csAllocationMgmtList?dateSelect=today&userId=cs-1").await.json();
    assert_eq!((after["data"][0]["completed"].as_u64(), after["data"][0]["open"].as_u64()), (Some(1), Some(0)));
    // The case is closed: the manager no longer decides, and it cannot be completed again.
    let again = decide(&cs1, "reject").await;
    assert_eq!(again.status, 403, "{}", again.text);

    // The next claim reaches cs-1 too, who rejects it: the lead stays theirs... the buyer's.
    let second = claim(&w, &leads[1]).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_eq!(w.get(&format!("/api/v1/as/{second_id}")).await.json()["status"], "IN_REVIEW");
    let reject = |token: &str| {
        w.app.send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{second_id}/reject"))
                    .set_json(serde_json::json!({"comment": "정상 통화 확인"})),
                token,
            ),
        )
    };
    assert_eq!(reject(&cs2).await.status, 403, "not cs-2's review");
    let rejected = reject(&cs1).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let rejected = rejected.json();
    assert_eq!(rejected["status"], "REJECTED");
    let last = rejected["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["status"].as_str(), last["comment"].as_str()), (Some("REJECTED"), Some("정상 통화 확인")));
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'COMPLETED'").await, 2);
    assert_eq!(w.open_of(&a).await, 0);
    let owned =
        w.app
            .send(w.app.with_key(
                TestRequest::get().uri(&format!("/api/v1/leads/{}?mohomId=m-1", leads[1])),
                &w.app.partner_key,
            ))
            .await;
    assert_eq!(owned.status, 200, "a rejected claim leaves the lead with its owner: {}", owned.text);
}

async fn as_no_queue_body(db: TestDb) {
    let w = World::new(db).await;
    // A `50` queue is no AS-review queue.
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    let lead = bought_lead(&w).await;
    let claimed = claim(&w, &lead).await;
    assert_eq!(claimed["status"], "REQUESTED");
    let stored = w.get(&format!("/api/v1/as/{}", claimed["id"].as_str().unwrap())).await.json();
    assert_eq!((stored["status"].as_str(), stored["history"].as_array().map(Vec::len)), (Some("REQUESTED"), Some(1)));
    assert_eq!(w.count("counsel_cases").await, 0);
    // And a CS manager without a review case does not decide.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let refused = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{}/approve", claimed["id"].as_str().unwrap()))
                    .set_json(serde_json::json!({})),
                &cs,
            ),
        )
        .await;
    assert_eq!(refused.status, 403);
}

async fn as_waiting_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    let a = w.join("20", "1", "cs-1", 1, 10).await;
    w.set_possible("N", &[&a]).await;
    let leads = bought_leads(&w, 10).await;
    let first = claim(&w, &leads[0]).await;
    let second = claim(&w, &leads[1]).await;
    let as_of = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    for claimed in [&first, &second] {
        assert_eq!(claimed["status"], "REQUESTED", "nobody can review yet: {claimed}");
    }
    let waiting = w.waiting().await;
    assert_eq!(waiting["total"], 2, "{waiting}");
    assert_eq!(waiting["data"][0]["asId"], first["id"]);
    assert_eq!(
        (waiting["data"][0]["cnslTypNo"].as_str(), waiting["data"][0]["autoDivGbCd"].as_str()),
        (Some("AS"), Some("20"))
    );
    assert_eq!(waiting["data"][0]["mbrNo"], "m-1");
    // The operator decides the second while its case waits: the case leaves the list.
    let rejected =
        w.post(&format!("/api/v1/as/{}/reject", as_of(&second)), serde_json::json!({"comment": "정상 리드"})).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let waiting = w.waiting().await;
    assert_eq!((waiting["total"].as_u64(), &waiting["data"][0]["asId"]), (Some(1), &first["id"]));
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED' AND auto_div_no IS NULL").await, 1);
    // Resuming sweeps the first to cs-1, and its AS goes IN_REVIEW.
    let resumed = w.set_possible("Y", &[&a]).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(w.waiting().await["total"], 0);
    let stored = w.get(&format!("/api/v1/as/{}", as_of(&first))).await.json();
    assert_eq!(stored["status"], "IN_REVIEW", "{stored}");
    assert_eq!(stored["history"].as_array().unwrap().len(), 2);
    assert_eq!(w.open_of(&a).await, 1);
    // The operator's key decides it too; the case closes.
    let approved = w.post(&format!("/api/v1/as/{}/approve", as_of(&first)), serde_json::json!({})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(w.open_of(&a).await, 0);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 2);
}

async fn partner_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    let n = w.join("50", "100", "cs-1", 1, 1).await;
    let imported = w.import("100", &SIX[..2]).await;
    let cnsl = imported["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    let waiting = imported["cases"][1]["cnslNo"].as_str().unwrap().to_owned();
    w.app.create_user(&w.app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let bearer = w.app.token(&w.app.partner_key, "m-1").await;
    let before = (w.count("counsel_cases WHERE status = 'ASSIGNED'").await, w.count("counsel_members").await);
    let gets = [
        "manualAssignList",
        "getAutoDistributionManagerList",
        "getAutoDistributionManagerListCount",
        "csAllocationMgmtList?dateSelect=today",
        "csAllocationDetailMgmtList",
        "checkValidateManager?aempId=cs-1&autoDivGbCd=50&autoDivDtlNo=100",
    ]
    .map(|p| format!("{PREFIX}/{p}"));
    let mut requests: Vec<Box<dyn Fn() -> TestRequest>> = Vec::new();
    for uri in gets.iter().cloned().chain(["/api/v1/counsel/queues".to_owned()]) {
        requests.push(Box::new(move || TestRequest::get().uri(&uri)));
    }
    let posts: Vec<(String, serde_json::Value)> = vec![
        (format!("{PREFIX}/getObCsCounselInfoListExcel"), serde_json::json!({})),
        (
            format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"),
            serde_json::json!({"state": "N", "autoDivNoList": [n]}),
        ),
        (format!("{PREFIX}/manualAssign"), serde_json::json!({"cnslNo": waiting, "aempId": "cs-1"})),
        (
            "/api/v1/counsel/queues".to_owned(),
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "300", "name": "x"}),
        ),
        (
            "/api/v1/counsel/members".to_owned(),
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-1"}),
        ),
        (format!("/api/v1/counsel/cases/{cnsl}/complete"), serde_json::json!({})),
    ];
    for (uri, body) in posts {
        requests.push(Box::new(move || TestRequest::post().uri(&uri).set_json(&body)));
    }
    let member_uri = format!("/api/v1/counsel/members/{n}");
    let put_uri = member_uri.clone();
    requests.push(Box::new(move || {
        TestRequest::put().uri(&put_uri).set_json(serde_json::json!({"weight": 2, "capacity": 2}))
    }));
    requests.push(Box::new(move || TestRequest::delete().uri(&member_uri)));
    requests.push(Box::new(|| {
        TestRequest::post()
            .uri(&format!("{PREFIX}/saveObCsCounselInfoListExcel?excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"))
            .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
            .set_payload(multipart("excelFile", &sheet(&SIX)))
    }));
    assert_eq!(requests.len(), 16, "every counsel endpoint");
    for make in &requests {
        let probe = make().to_request();
        let what = format!("{} {}", probe.method(), probe.uri());
        let by_key = w.app.send(w.app.with_key(make(), &w.app.partner_key)).await;
        assert_eq!(status_code(&by_key), (403, "FORBIDDEN".into()), "{what} (partner key): {}", by_key.text);
        let by_bearer = w.app.send(w.app.with_bearer(make(), &bearer)).await;
        assert_eq!(status_code(&by_bearer), (403, "FORBIDDEN".into()), "{what} (partner bearer): {}", by_bearer.text);
        let anonymous = w.app.send(make()).await;
        assert_eq!(anonymous.status, 401, "{what} (anonymous): {}", anonymous.text);
    }
    let after = (w.count("counsel_cases WHERE status = 'ASSIGNED'").await, w.count("counsel_members").await);
    assert_eq!(after, before, "nothing written");
    assert_eq!(w.count("counsel_cases").await, 2);
    assert_eq!(w.count("counsel_queues").await, 1);
}
