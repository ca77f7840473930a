//! Counsel allocation over HTTP (seed 001): queues and memberships administered by the
//! operator (`queues`), the outbound Excel import distributed by weight, its preview and
//! the masked export (`excel`), availability, the manager lists and statistics
//! (`allocation`), manual assignment, completion and the AS-review integration (`cases`),
//! and who may do what (here). The helpers below are shared by all of them.
//!
//! Every test runs on the wall clock: Bearer tokens are checked on it.

mod allocation;
mod cases;
mod excel;
mod queues;

use actix_web::test::TestRequest;
use domain::lead::{LeadFields, NewLead};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
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
    settings.set_snapshot_path("../snapshots");
    settings.bind(|| insta::assert_json_snapshot!(name, value));
}

/// Snapshots a value as it is, beside the other counsel snapshots.
fn snap_plain<T: serde::Serialize>(name: &str, value: &T) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
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
