//! Free text typed by people and partners on real databases (issue #13, defect 4):
//! sealed on write and bound to its row and column, old plaintext rows sealed once by
//! the start-up step, the sealed columns rotated with the keys.

use std::sync::Arc;

use domain::as_claim::AsScope;
use domain::counsel::{NewCounselCase, QueueKey};
use domain::identity::{Role, User};
use domain::lead::{AsStatus, LeadFields, NewLead};
use domain::order::NewOrderLines;
use domain::ports::ReferenceRepository;
use domain::reference::{AllocationPolicy, Product};
use infra::as_claims::SeaAsClaimRepository;
use infra::audit::{AuditEntry, entries, record};
use infra::counsel::SeaCounselRepository;
use infra::crypto::{Keyring, SEALED_TEXT_COLUMNS, generate_key};
use infra::leads::SeaLeadRepository;
use infra::orders::SeaOrderRepository;
use infra::reference::SeaReferenceRepository;
use infra::seal_backfill::{seal_plaintext_rows, text_column_status};
use infra::users::SeaUserRepository;
use sea_orm::{ConnectionTrait, Statement};
use testkit::{Backend, TestDb};
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test;
    free_text_is_sealed_on_write_and_a_moved_ciphertext_fails => written_body;
    old_plaintext_rows_are_sealed_once_at_start_and_rotate_with_the_keys => backfill_body;
}

const NAME: &str = "김비밀유출";
const PHONE: &str = "010-9876-5432";
const EMAIL: &str = "leak.canary@example.org";

/// What is planted: the name, the phone and the email together.
fn canary() -> String {
    format!("{NAME} {PHONE} {EMAIL}")
}

/// Every form of the planted values a dump must not hold.
fn needles() -> [&'static str; 6] {
    [NAME, PHONE, "01098765432", "1098765432", "+821098765432", EMAIL]
}

struct World {
    owner: User,
    product: Product,
    leads: SeaLeadRepository,
    orders: SeaOrderRepository,
    counsel: SeaCounselRepository,
    queue: QueueKey,
    keyring: Arc<Keyring>,
}

async fn world(db: &TestDb, keyring: Arc<Keyring>) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let product_id = infra::fixtures::product_id_by_code(db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let product = SeaReferenceRepository::new(db.db.conn().clone()).find_product(product_id).await.unwrap().unwrap();
    let users = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring));
    let owner = crate::counsel::insert_user(&users, "sealed-owner", org, Role::Member, None).await;
    let counsel = SeaCounselRepository::new(db.db.clone(), Arc::clone(&keyring));
    let queue = QueueKey::parse("50", "77").unwrap();
    counsel.create_queue(&queue, "봉인", AllocationPolicy::RoundRobin, OffsetDateTime::now_utc()).await.unwrap();
    World {
        owner,
        product,
        leads: SeaLeadRepository::new(db.db.clone(), Arc::clone(&keyring)),
        orders: SeaOrderRepository::new(db.db.clone(), Arc::clone(&keyring)),
        counsel,
        queue,
        keyring,
    }
}

impl World {
    async fn lead(&self, phone: &str, metadata: Option<String>) -> Uuid {
        let product = self.product.id.to_string();
        let fields = LeadFields {
            product_id: Some(&product),
            name: Some("홍길동"),
            phone: Some(phone),
            region: Some("서울"),
            metadata,
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, OffsetDateTime::now_utc().date()).unwrap();
        self.leads.register(&self.owner, &new, OffsetDateTime::now_utc()).await.unwrap().0
    }

    async fn order(&self, memo: Option<String>) -> Uuid {
        let lines = NewOrderLines::parse(&[("부산".to_owned(), 1)], None, |_| true).unwrap();
        self.orders.create(&self.owner, &self.product, &lines, memo, OffsetDateTime::now_utc()).await.unwrap()
    }

    async fn case(&self, accp_cont: Option<String>) -> Uuid {
        let case = NewCounselCase {
            cnsl_typ_no: "OB01".to_owned(),
            ob_typ_no: None,
            mbr_no: Some("M1".to_owned()),
            ord_no: None,
            accp_cont,
            cust_nm: None,
            cust_tel: None,
            as_id: None,
        };
        let done = self.counsel.create_cases(&self.queue, &[case], "importer", OffsetDateTime::now_utc()).await;
        done.unwrap()[0].cnsl_no
    }

    async fn audit(&self, db: &TestDb, detail: serde_json::Value) {
        let entry = AuditEntry {
            org_id: None,
            actor: "test",
            action: "sealed.test",
            entity: "test",
            entity_id: None,
            request_id: None,
            detail,
        };
        record(db.db.conn(), &self.keyring, entry, OffsetDateTime::now_utc()).await.unwrap();
    }
}

async fn exec(db: &TestDb, sql: &str) {
    db.db.conn().execute_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap();
}

/// (plaintext column, envelope) of one row.
async fn raw(db: &TestDb, table: &str, id_column: &str, column: &str, id: &str) -> (Option<String>, Option<Vec<u8>>) {
    let sql = format!("SELECT {column} AS plain, {column}_enc AS sealed FROM {table} WHERE {id_column} = '{id}'");
    let row = db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap().unwrap();
    (row.try_get("", "plain").unwrap(), row.try_get("", "sealed").unwrap())
}

async fn audit_id(db: &TestDb) -> String {
    let sql = "SELECT id FROM audit_log WHERE action = 'sealed.test'";
    let row = db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap().unwrap();
    row.try_get("", "id").unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The database as the disk (SQLite: file, WAL) or the server (PostgreSQL: a dump) holds it.
async fn dump(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            db.db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            ["", "-wal", "-shm"].iter().filter_map(|s| std::fs::read(format!("{path}{s}")).ok()).flatten().collect()
        }
        Backend::Postgres => {
            let out =
                std::process::Command::new("pg_dump").arg("--data-only").arg(&db.url).output().expect("pg_dump runs");
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

async fn written_body(db: TestDb) {
    let w = world(&db, Arc::new(testkit::keyring())).await;
    let text = canary();
    let metadata = serde_json::json!({ "note": text }).to_string();
    let lead = w.lead("010-3000-0001", Some(metadata.clone())).await;
    let other_lead = w.lead("010-3000-0002", Some(r#"{"note":"other"}"#.to_owned())).await;
    let order = w.order(Some(text.clone())).await;
    let other_order = w.order(Some("other".to_owned())).await;
    let case = w.case(Some(text.clone())).await;
    w.audit(&db, serde_json::json!({ "comment": text })).await;
    let audit = audit_id(&db).await;

    // The raw rows hold envelopes only; the plaintext columns are cleared.
    for (table, id_column, column, id, cleared) in [
        ("leads", "id", "metadata", lead.to_string(), None),
        ("orders", "id", "memo", order.to_string(), None),
        ("counsel_cases", "cnsl_no", "accp_cont", case.to_string(), None),
        ("audit_log", "id", "detail", audit.clone(), Some(String::new())),
    ] {
        let (plain, sealed) = raw(&db, table, id_column, column, &id).await;
        assert_eq!(plain, cleared, "{table}.{column} keeps no plaintext");
        let sealed = sealed.unwrap_or_else(|| panic!("{table}.{column}_enc is written"));
        for needle in needles() {
            assert!(!contains(&sealed, needle), "{needle} in {table}.{column}_enc");
        }
    }
    let bytes = dump(&db).await;
    for needle in needles() {
        assert!(!contains(&bytes, needle), "{needle} found in plain text on {:?}", db.backend);
    }

    // Reads give back exactly what was written.
    assert_eq!(w.leads.get(lead).await.unwrap().unwrap().metadata.as_deref(), Some(metadata.as_str()));
    assert_eq!(w.orders.get(w.owner.id, order).await.unwrap().unwrap().memo.as_deref(), Some(text.as_str()));
    assert_eq!(w.counsel.case(case).await.unwrap().unwrap().accp_cont.as_deref(), Some(text.as_str()));
    let audited = entries(db.db.conn(), &w.keyring, "sealed.test").await.unwrap();
    assert_eq!(audited[0].detail, serde_json::json!({ "comment": text }));

    // A ciphertext copied to another row, or another column, does not decrypt.
    let copy = |table: &str, column: &str, id_column: &str, from: &str, to: &str| {
        format!(
            "UPDATE {table} SET {column}_enc = (SELECT {column}_enc FROM {table} WHERE {id_column} = '{from}') WHERE {id_column} = '{to}'"
        )
    };
    exec(&db, &copy("orders", "memo", "id", &order.to_string(), &other_order.to_string())).await;
    assert!(w.orders.get(w.owner.id, other_order).await.is_err(), "an order memo moved to another order");
    exec(&db, &copy("leads", "metadata", "id", &lead.to_string(), &other_lead.to_string())).await;
    assert!(w.leads.get(other_lead).await.is_err(), "lead metadata moved to another lead");
    exec(&db, &format!("UPDATE leads SET source_detail_enc = metadata_enc WHERE id = '{lead}'")).await;
    assert!(w.leads.source_side(lead).await.is_err(), "metadata moved to the source detail column");
    assert!(w.orders.get(w.owner.id, order).await.unwrap().is_some(), "the original rows still read");
}

async fn backfill_body(db: TestDb) {
    let (k1, k2) = (generate_key().unwrap(), generate_key().unwrap());
    let index = testkit::fixed_index_key();
    let ring1 = testkit::keyring_with(&[(1, k1)], 1, &[], index);
    let ring12 = Arc::new(testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[], index));
    let w = world(&db, Arc::clone(&ring12)).await;
    let text = canary();
    let json_text = serde_json::json!({ "sale": { "buyer": text } }).to_string();

    // Rows as the previous version wrote them: plain text, no envelope.
    let lead = w.lead("010-3000-0003", None).await;
    let order = w.order(None).await;
    let case = w.case(None).await;
    let as_id =
        testkit::record_as_status(&db, lead, w.owner.id, AsStatus::Requested, OffsetDateTime::now_utc()).await.unwrap();
    let history = Uuid::now_v7();
    exec(&db, &format!("UPDATE leads SET metadata = '{json_text}', source_detail = '{json_text}' WHERE id = '{lead}'"))
        .await;
    exec(&db, &format!("UPDATE orders SET memo = '{text}' WHERE id = '{order}'")).await;
    exec(&db, &format!("UPDATE counsel_cases SET accp_cont = '{text}' WHERE cnsl_no = '{case}'")).await;
    exec(&db, &format!("UPDATE as_requests SET description = '{text}' WHERE id = '{as_id}'")).await;
    exec(
        &db,
        &format!(
            "INSERT INTO as_status_history (id, as_id, from_status, to_status, actor, actor_user_id, comment, at) \
             VALUES ('{history}', '{as_id}', NULL, 'REQUESTED', 'system', NULL, '{text}', 1)"
        ),
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO audit_log (id, at, org_id, actor, action, entity, entity_id, request_id, detail) \
             VALUES ('{}', 1, NULL, 'test', 'sealed.test', 'test', NULL, NULL, '{json_text}')",
            Uuid::now_v7()
        ),
    )
    .await;
    // A webhook endpoint's description and secrets, and an event's body (issue #16).
    let endpoint = Uuid::now_v7();
    let org = w.owner.org_id;
    exec(
        &db,
        &format!(
            "INSERT INTO webhook_endpoints (id, org_id, url, events, description, status, secret, previous_secret, \
             created_at, updated_at) VALUES ('{endpoint}', '{org}', 'https://example.org/hook', '*', '{text}', \
             'ENABLED', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1, 1)"
        ),
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO outbox_events (id, org_id, event_type, created_at, body, nats_wanted) \
             VALUES ('evt_{}', '{org}', 'ping', 1, '{json_text}', false)",
            Uuid::now_v7().simple()
        ),
    )
    .await;
    // A coverage analysis's report (issue #17).
    exec(
        &db,
        &format!(
            "INSERT INTO coverage_analyses (id, org_id, verification_id, report, shares_with_agents, created_at) \
             VALUES ('{}', '{org}', '{}', '{json_text}', false, 1)",
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
    )
    .await;
    // Health data: an NHIS session's provider handle and a medical report.
    exec(
        &db,
        &format!(
            "INSERT INTO health_auth_sessions (id, org_id, verification_id, provider, reference, status, \
               created_at, expires_at, purge_after) VALUES ('{}', '{org}', '{}', 'KAKAO', '{json_text}', 'PENDING', 1, 2, 3)",
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
    )
    .await;
    exec(
        &db,
        &format!(
            "INSERT INTO medical_analyses (id, org_id, coverage_analysis_id, session_id, report, created_at, \
               purge_after) VALUES ('{}', '{org}', '{}', '{}', '{json_text}', 1, 2)",
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7()
        ),
    )
    .await;
    let before = text_column_status(db.db.conn()).await.unwrap();
    assert_eq!(before.len(), SEALED_TEXT_COLUMNS.len());
    for column in &before {
        assert_eq!(column.plaintext, 1, "{} has one plaintext row", column.column);
    }
    assert!(contains(&dump(&db).await, NAME), "the dump shows the planted plaintext before the step");

    // The start-up step seals each of them and clears the plaintext.
    let report = seal_plaintext_rows(&db.db, &ring1).await.unwrap();
    assert_eq!(report.total(), 14, "{report:?}");
    assert!(report.sealed.iter().all(|(_, n)| *n == 1), "{report:?}");
    let bytes = dump(&db).await;
    for needle in needles() {
        assert!(!contains(&bytes, needle), "{needle} left in plain text on {:?}", db.backend);
    }
    for column in text_column_status(db.db.conn()).await.unwrap() {
        assert_eq!((column.plaintext, column.by_key.clone()), (0, vec![(1, 1)]), "{}", column.column);
    }
    let memo_envelope = raw(&db, "orders", "id", "memo", &order.to_string()).await;
    assert_eq!(memo_envelope.0, None);

    // Idempotent: a second start changes nothing.
    let again = seal_plaintext_rows(&db.db, &ring1).await.unwrap();
    assert_eq!(again.total(), 0);
    assert_eq!(raw(&db, "orders", "id", "memo", &order.to_string()).await, memo_envelope);

    // Every value reads back as it was written.
    let check = || async {
        assert_eq!(w.leads.get(lead).await.unwrap().unwrap().metadata.as_deref(), Some(json_text.as_str()));
        let side = w.leads.source_side(lead).await.unwrap().unwrap();
        assert_eq!(side.detail, Some(serde_json::from_str(&json_text).unwrap()));
        assert_eq!(w.orders.get(w.owner.id, order).await.unwrap().unwrap().memo.as_deref(), Some(text.as_str()));
        assert_eq!(w.counsel.case(case).await.unwrap().unwrap().accp_cont.as_deref(), Some(text.as_str()));
        let as_claims = SeaAsClaimRepository::new(db.db.clone(), Arc::clone(&w.keyring));
        let claim = as_claims.get_as(as_id, AsScope::Operator).await.unwrap().unwrap();
        assert_eq!(claim.description, text);
        assert_eq!(claim.history.last().unwrap().comment.as_deref(), Some(text.as_str()));
        let audited = entries(db.db.conn(), &w.keyring, "sealed.test").await.unwrap();
        assert_eq!(audited[0].detail, serde_json::from_str::<serde_json::Value>(&json_text).unwrap());
    };
    check().await;

    // Rotation moves the sealed text columns to the new key too.
    assert_eq!(infra::rotation::pending(&db.db, &ring12).await.unwrap(), 14);
    let done = infra::rotation::rotate(&db.db, &ring12, 2, |_| {}).await.unwrap();
    assert_eq!(done.rotated, 14);
    assert_eq!(infra::rotation::pending(&db.db, &ring12).await.unwrap(), 0);
    for column in text_column_status(db.db.conn()).await.unwrap() {
        assert_eq!((column.plaintext, column.by_key.clone()), (0, vec![(2, 1)]), "{}", column.column);
    }
    check().await;
}
