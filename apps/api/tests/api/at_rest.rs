//! Personal data at rest (issue #13, defect 4): a distinctive name, phone and email typed
//! into every writable text field, through every endpoint that takes free text, are found
//! nowhere in the database (SQLite: the file, the WAL; PostgreSQL: everything the server
//! dumps, and every `bytea` column read raw) nor under the data directory, nor in the
//! server's log of the run (captured at debug level through `api::telemetry`).
//!
//! Codes, enums and ids (`mohomId`, `leadSourceId`, region and product codes, statuses)
//! are not personal data and are not planted. Every write carries an `Idempotency-Key`
//! (so every reply is stored, sealed), and an evidence file whose name and bytes carry
//! the planted values is uploaded. To extend the test, add a step to [`plant_everything`].

use actix_web::test::TestRequest;
use domain::lead::{LeadFields, NewLead};
use sea_orm::{ConnectionTrait, Statement};
use testkit::{Backend, TestDb};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp};

testkit::on_both_backends! { actix_web::test;
    planted_personal_data_is_found_nowhere_at_rest => at_rest_body;
    the_start_up_seals_free_text_stored_in_plain_text_before => start_up_body;
}

const NAME: &str = "김비밀유출";
const PHONE: &str = "010-9876-5432";
const EMAIL: &str = "leak.canary@example.org";
/// Sources of Vietnamese products send Vietnamese mobiles.
const VN_PHONE: &str = "0399876543";
/// A member id: not personal data, stored in plain text; the scan must find it.
const LOGIN: &str = "leak-canary-1";

/// A birth date typed into identity verification (funnel.md): sealed like the name.
const BIRTH: &str = "1961-07-23";

/// Every form of the planted values that must appear nowhere.
const NEEDLES: [&str; 11] = [
    NAME,
    PHONE,
    "01098765432",
    "1098765432",
    "+821098765432",
    EMAIL,
    VN_PHONE,
    "399876543",
    "+84399876543",
    BIRTH,
    "19610723",
];

/// Free text carrying all three planted values.
fn text() -> String {
    format!("{NAME} {PHONE} {EMAIL}")
}

const COUNSEL: &str = "/v2/customerservice/csAllocationMgmt";
const BOUNDARY: &str = "----ldbds-at-rest-boundary-5jQ2";

struct World {
    app: TestApp,
    org: Uuid,
}

impl World {
    /// Every write of the test goes through here, each with its own `Idempotency-Key`
    /// (endpoints that do not honour it ignore it).
    fn post(&self, key: &str, uri: &str, body: serde_json::Value) -> TestRequest {
        keyed(self.app.with_key(TestRequest::post().uri(uri).set_json(body), key))
    }

    async fn ok(&self, what: &str, req: TestRequest) -> serde_json::Value {
        let reply: Reply = self.app.send(req).await;
        assert!(reply.status.is_success(), "{what}: {} {}", reply.status, reply.text);
        reply.json()
    }

    async fn product(&self, code: &str) -> Uuid {
        infra::fixtures::product_id_by_code(self.app.db.db.conn(), code).await.unwrap().unwrap()
    }

    /// Leads in a product's pool (setup only: the pool is filled by intake or import).
    async fn pool(&self, code: &str, region: &str, count: usize) -> Vec<Uuid> {
        let product = self.product(code).await.to_string();
        let mut ids = Vec::new();
        for i in 0..count {
            let phone = format!("010-4444-{i:04}");
            let fields = LeadFields {
                product_id: Some(&product),
                name: Some("홍길동"),
                phone: Some(&phone),
                region: Some(region),
                ..LeadFields::default()
            };
            let new = NewLead::parse(&fields, OffsetDateTime::now_utc().date()).unwrap();
            let at = OffsetDateTime::now_utc() - Duration::hours(1) + Duration::seconds(i as i64);
            ids.push(self.app.state.leads.add_to_pool(&new, self.org, at).await.unwrap());
        }
        ids
    }
}

/// A fresh `Idempotency-Key` on a request: its reply is stored for replay.
fn keyed(req: TestRequest) -> TestRequest {
    req.insert_header(("Idempotency-Key", format!("at-rest-{}", domain::ids::new_id())))
}

/// An `.xlsx` of one outbound row: member number, order number, content, name, phone.
fn sheet() -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    for (col, label) in (0u16..).zip(["회원번호", "주문번호", "접수내용", "고객명", "고객연락처"]) {
        ws.write_string(0, col, label).unwrap();
    }
    for (col, value) in (0u16..).zip(["M-9001", "O-9001", text().as_str(), NAME, PHONE]) {
        ws.write_string(1, col, value).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    body.extend_from_slice(b"Content-Disposition: form-data; name=\"excelFile\"; filename=\"ob.xlsx\"\r\n");
    body.extend_from_slice(b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n");
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Every endpoint that takes free text, every writable text field planted.
async fn plant_everything(w: &World) {
    let (partner, operator) = (w.app.partner_key.clone(), w.app.operator_key.clone());
    let t = text();

    // Users: create, then update every personal field.
    let user = serde_json::json!({"mohomId": LOGIN, "name": NAME, "phone": PHONE, "email": EMAIL, "role": "MEMBER"});
    w.ok("create user", w.post(&partner, "/api/v1/users", user)).await;
    let update = serde_json::json!({"name": NAME, "phone": PHONE, "email": EMAIL});
    let put = TestRequest::put().uri(&format!("/api/v1/users/{LOGIN}")).set_json(update);
    w.ok("update user", w.app.with_key(put, &partner)).await;

    // A self-registered lead: every text field, and free metadata.
    let health = w.product("INS-HEALTH").await;
    let lead = serde_json::json!({
        "mohomId": LOGIN, "productId": health, "name": NAME, "phone": PHONE, "email": EMAIL, "region": "서울",
        "address": t, "birth_date": "1990-01-01", "memo": t,
        "metadata": {"note": t, "contact": {"name": NAME, "phone": PHONE, "email": EMAIL}},
    });
    w.ok("register lead", w.post(&partner, "/api/v1/leads", lead)).await;

    // Intake from a source, then the source's status report with its free `sale` object.
    let intake = serde_json::json!({
        "leadSourceId": "LEAK-1", "name": NAME, "mobileNumber": VN_PHONE, "homePhone": PHONE, "email": EMAIL,
        "gender": "MALE", "birthDate": "1990-05-01", "regionCode": "79", "projectCode": "VHGP",
        "houseNumber": t, "street": t, "demand": t, "projectName": t, "housePrice": t, "houseInformation": t,
        "agentCode": t, "communicationType": t, "interactionType": t, "sourceOrigin": t, "contactType": t,
    });
    let create = w.post(&partner, "/lead-platform/v1/leads/create", intake).insert_header(("source", "TCB"));
    w.ok("intake", create).await;
    let report = serde_json::json!({
        "lead_source_id": "LEAK-1", "status": "CONTACTED", "name": NAME, "mobile_number": VN_PHONE, "email": EMAIL,
        "note": t, "sale": {"buyer": NAME, "phone": PHONE, "email": EMAIL, "memo": t},
        "project_name": t, "house_price": t, "channel": t, "address": t,
    });
    let change = keyed(TestRequest::put().uri("/lead-platform/v1/leads/changeStatus").set_json(report));
    w.ok("changeStatus", w.app.with_key(change.insert_header(("source", "TCB")), &partner)).await;

    // An order with a memo, delivering three pool leads to the member.
    let pooled = w.pool("INS-HEALTH", "서울", 3).await;
    let order = serde_json::json!({"mohomId": LOGIN, "productId": health, "regions": [{"region": "서울", "quantity": 3}], "memo": t});
    w.ok("order", w.post(&partner, "/api/v1/orders", order)).await;

    // AS claims with descriptions, one after the other (the order's AS cap): one
    // rejected and one approved (both with comments), one cancelled by its requester.
    let comment = serde_json::json!({"comment": t});
    for (lead, action) in pooled.iter().zip(["reject", "cancel", "approve"]) {
        let claim = serde_json::json!({"mohomId": LOGIN, "leadId": lead, "reasonCode": "DUPLICATE", "description": t});
        let claimed = w.ok("AS claim", w.post(&partner, "/api/v1/as", claim)).await;
        let id = claimed["id"].as_str().unwrap();
        let decided = match action {
            "cancel" => w.post(&partner, &format!("/api/v1/as/{id}/cancel"), serde_json::json!({"mohomId": LOGIN})),
            _ => w.post(&operator, &format!("/api/v1/as/{id}/{action}"), comment.clone()),
        };
        w.ok(action, decided).await;
    }

    // Counsel cases imported from a spreadsheet: content, customer name and phone.
    let queue =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "900", "name": "아웃바운드", "policy": "ROUND_ROBIN"});
    w.ok("counsel queue", w.post(&operator, "/api/v1/counsel/queues", queue)).await;
    let upload = TestRequest::post()
        .uri(&format!(
            "{COUNSEL}/saveObCsCounselInfoListExcel?excelColumns=mbrNo,ordNo,accpCont,custNm,custTelNo&cnslTypNo=10&obTypNo=900"
        ))
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
        .set_payload(multipart(&sheet()));
    let imported = w.ok("counsel import", keyed(w.app.with_key(upload, &operator))).await;
    assert_eq!(imported["imported"], 1, "{imported}");

    // Evidence: a file whose name and bytes carry the planted values, uploaded through
    // the presigned local URL.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend_from_slice(t.as_bytes());
    pdf.extend_from_slice(b"\n%%EOF\n");
    let presign = serde_json::json!({"mohomId": LOGIN, "fileName": format!("{NAME} {PHONE}.pdf"), "contentType": "application/pdf", "size": pdf.len(), "purpose": "AS_EVIDENCE"});
    let presigned = w.ok("presign", w.post(&partner, "/api/v1/files/presigned", presign)).await;
    let url = presigned["uploadUrl"].as_str().unwrap();
    let path = &url[url.find("/api/").expect("a local upload URL")..];
    let put = TestRequest::put().uri(path).insert_header(("content-type", "application/pdf")).set_payload(pdf);
    w.ok("evidence upload", put).await;
}

fn found(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file under `dir`, recursively: (path, bytes).
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

/// Everything the database holds, as named byte blobs.
async fn database_bytes(db: &TestDb) -> Vec<(String, Vec<u8>)> {
    match db.backend {
        Backend::Sqlite => {
            db.db.conn().execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await.unwrap();
            let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            // The WAL as it was, then the file after a full checkpoint: both are scanned.
            let mut out: Vec<(String, Vec<u8>)> = ["-wal", "-shm"]
                .iter()
                .filter_map(|s| std::fs::read(format!("{path}{s}")).ok().map(|b| (format!("{path}{s}"), b)))
                .collect();
            db.db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            let dir = std::path::Path::new(&path).parent().unwrap();
            out.extend(files_under(dir));
            out
        }
        Backend::Postgres => {
            let dump = std::process::Command::new("pg_dump").arg("--data-only").arg(&db.url).output().expect("pg_dump");
            assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
            let mut out = vec![("pg_dump".to_owned(), dump.stdout)];
            // A dump shows bytea as hex: read every bytea column raw as well.
            let sql = "SELECT table_name, column_name FROM information_schema.columns \
                       WHERE table_schema = 'public' AND data_type = 'bytea'";
            let columns = db.db.conn().query_all_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap();
            for c in columns {
                let (table, column): (String, String) =
                    (c.try_get("", "table_name").unwrap(), c.try_get("", "column_name").unwrap());
                let sql = format!("SELECT \"{column}\" AS v FROM \"{table}\" WHERE \"{column}\" IS NOT NULL");
                let rows = db.db.conn().query_all_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap();
                let bytes: Vec<u8> = rows.iter().flat_map(|r| r.try_get::<Vec<u8>>("", "v").unwrap()).collect();
                out.push((format!("{table}.{column}"), bytes));
            }
            out
        }
    }
}

async fn at_rest_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let w = World { app, org };
    // The whole run logs through the real telemetry, at debug level, into `log`.
    let log = Log::default();
    let writer = log.clone();
    let settings = infra::config::LogSettings { format: infra::config::LogFormat::Json, level: "debug".to_owned() };
    let guard = tracing::subscriber::set_default(api::telemetry::subscriber(&settings, move || writer.clone(), false));
    plant_everything(&w).await;
    // A refused search carrying the values in its query string is logged (a line per
    // failed request): by its route template only.
    let refused = w.app.send(TestRequest::get().uri(&format!("/api/v1/leads?search={PHONE}&email={EMAIL}"))).await;
    assert_eq!(refused.status, 401);
    // A consumer's identity verification (the funnel): name, birth date, phone.
    let identity = serde_json::json!({"name": NAME, "birthDate": BIRTH, "gender": "F", "phone": PHONE,
        "carrier": "KT", "mohomId": LOGIN});
    let sent =
        w.ok("identity verification", w.post(&w.app.partner_key, "/api/v1/coverage/identity/request", identity)).await;
    // ... verified (the code from the development SMS log), analysed, and through NHIS
    // to a medical analysis: the check-up values are health data, sealed like the rest.
    let code = {
        let log = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
        log.split("본인인증번호 [").nth(1).and_then(|rest| rest.get(..6)).expect("the code in the SMS log").to_owned()
    };
    let verify = serde_json::json!({"verificationId": sent["verificationId"], "code": code});
    let token = w.ok("verify", w.post(&w.app.partner_key, "/api/v1/coverage/identity/verify", verify)).await;
    let token = token["verificationToken"].clone();
    let required = |purpose: &str| -> serde_json::Value {
        let book = infra::terms::book().unwrap();
        let purpose = domain::funnel::terms::TermsPurpose::parse(purpose).unwrap();
        book.current(purpose, time::OffsetDateTime::now_utc())
            .iter()
            .filter(|t| t.required)
            .map(|t| serde_json::json!({"termsId": t.terms.id, "version": t.terms.version}))
            .collect()
    };
    let analysis = serde_json::json!({"verificationToken": token, "consents": required("COVERAGE")});
    let analysis = w.ok("coverage analysis", w.post(&w.app.partner_key, "/api/v1/coverage/analyses", analysis)).await;
    let auth = serde_json::json!({"verificationToken": token, "authProvider": "PASS", "consents": required("MEDICAL")});
    let session = w.ok("NHIS session", w.post(&w.app.partner_key, "/api/v1/medical/nhis/auth", auth)).await;
    let session = session["authSessionId"].clone();
    let checkups = serde_json::json!({"authSessionId": session});
    let checkups = w.ok("check-ups", w.post(&w.app.partner_key, "/api/v1/medical/checkups", checkups)).await;
    let medical = serde_json::json!({"analysisId": analysis["analysisId"], "authSessionId": session});
    w.ok("medical analysis", w.post(&w.app.partner_key, "/api/v1/medical/analyses", medical)).await;
    drop(guard);
    // The check-up values (those long enough not to occur by chance) and the measure
    // codes, which only health data carries.
    let mut health_needles: Vec<String> =
        ["systolicBp", "fastingGlucose", "gammaGtp", "totalCholesterol"].iter().map(|s| (*s).to_owned()).collect();
    for checkup in checkups["checkups"].as_array().unwrap() {
        for item in checkup["items"].as_array().unwrap() {
            let value = item["value"].as_str().unwrap();
            if value.len() >= 5 {
                health_needles.push(value.to_owned());
            }
        }
    }
    assert!(health_needles.len() > 10, "{health_needles:?}");
    assert_eq!(w.app.count_rows("medical_analyses").await, 1);

    assert!(w.app.count_rows("idempotency_records").await >= 10, "the replies were stored (sealed)");
    assert_eq!(w.app.count_rows("uploaded_files").await, 1, "the evidence was stored (sealed)");
    let mut blobs = database_bytes(&w.app.db).await;
    blobs.push(("the server log".to_owned(), log.0.lock().unwrap().clone()));
    // The refused search's line proves the capture. (Its span fields, the route, are
    // missing in some runs when other tests with scoped subscribers run beside this one:
    // the span's callsite interest is shared by every subscriber in the process.)
    assert!(found(&log.0.lock().unwrap(), "request refused"), "the log was captured");
    blobs.extend(files_under(&w.app.state.settings.data_dir));
    assert!(
        blobs.iter().any(|(_, bytes)| found(bytes, LOGIN)),
        "the scan reads the stored rows (the member id is plain)"
    );
    for needle in NEEDLES.iter().copied().chain(health_needles.iter().map(String::as_str)) {
        for (name, bytes) in &blobs {
            assert!(!found(bytes, needle), "{needle} found in plain text in {name} on {:?}", w.app.db.backend);
        }
    }
}

/// Every byte the log subscriber writes.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One text value of one row, by raw SQL.
async fn scalar(db: &TestDb, sql: &str) -> Option<String> {
    let row = db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql.to_owned())).await.unwrap();
    row.unwrap().try_get::<Option<String>>("", "v").unwrap()
}

/// `startup::prepare`, which every `ldbds serve` runs, seals a memo stored in plain text
/// by the previous version before the server answers.
async fn start_up_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let w = World { app, org };
    let user = serde_json::json!({"mohomId": LOGIN, "name": "홍길동", "phone": "010-1212-3434", "email": "m@mohom.kr", "role": "MEMBER"});
    w.ok("create user", w.post(&w.app.partner_key, "/api/v1/users", user)).await;
    let order = serde_json::json!({"mohomId": LOGIN, "productId": w.product("INS-HEALTH").await, "regions": [{"region": "서울", "quantity": 1}]});
    let order = w.ok("order", w.post(&w.app.partner_key, "/api/v1/orders", order)).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let old = format!("UPDATE orders SET memo = '{}', memo_enc = NULL, memo_key_id = NULL WHERE id = '{id}'", text());
    w.app.db.db.conn().execute_raw(Statement::from_string(w.app.db.db.backend(), old)).await.unwrap();

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let prepared =
        api::startup::prepare(crate::helpers::settings(&w.app.db, &[("LDBDS__DATA_DIR", dir.as_str())])).await.unwrap();
    assert_eq!(scalar(&w.app.db, &format!("SELECT memo AS v FROM orders WHERE id = '{id}'")).await, None);
    let buyer = scalar(&w.app.db, &format!("SELECT buyer_user_id AS v FROM orders WHERE id = '{id}'")).await.unwrap();
    let read = prepared.state.orders.get(buyer.parse().unwrap(), id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(read.memo, Some(text()), "the memo reads as before, from its envelope");
    let status = infra::seal_backfill::text_column_status(w.app.db.db.conn()).await.unwrap();
    assert!(status.iter().all(|c| c.plaintext == 0), "{status:?}");
}
