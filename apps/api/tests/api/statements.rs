//! The statements a request sends are counted under its use case, `<METHOD> <route>`, and
//! `/metrics` shows them as `ldbds_db_statements_total` (the round-trip budget of #15).
//!
//! The counts are one table for the whole process, and the other tests of this binary run
//! beside these, some on the same routes. So a measurement is the delta of one request,
//! taken while this file's tests hold [`SERIAL`] (its SQLite and PostgreSQL runs do not
//! overlap), and the least of [`ATTEMPTS`] deltas is kept: another test's request can only
//! add to a delta, never take from it.

use std::collections::BTreeMap;

use actix_web::test::TestRequest;
use infra::statements::{self, Kind};
use sea_orm::DbBackend;
use testkit::TestDb;

use crate::helpers::{TestApp, leader, member};

testkit::on_both_backends! { actix_web::test;
    a_requests_statements_are_counted_under_its_route => route_body;
    a_transfer_keeps_its_round_trip_budget => transfer_body;
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ATTEMPTS: usize = 5;

/// What `GET /api/v1/regions` with a partner's API key sends once warm: nothing. The key
/// and its org come from the principal cache and the regions from the reference data in
/// memory (ADR 0009).
const REGIONS: &[(Kind, u64)] = &[];

/// What a member's owned-list page sends once warm (key and member cached): the page
/// alone, with its total, product names and AS statuses in the same statement
/// (`infra::leads`). An empty first page is the same one statement.
const OWNED_PAGE: &[(Kind, u64)] = &[(Kind::Select, 1)];

/// What one distribution or recall sends once warm (key, leader and recipient cached):
/// `BEGIN`, the one read of its leads, the write with its event (`lead.distributed` or
/// `lead.recalled`), `COMMIT` (`infra::transfers`). On PostgreSQL the write is one
/// data-modifying statement whose parts include the outbox insert; SQLite has no
/// data-modifying CTEs and sends its three parts and the outbox insert, in process.
fn transfer(backend: DbBackend) -> Vec<(Kind, u64)> {
    let write: &[(Kind, u64)] = match backend {
        DbBackend::Postgres => &[(Kind::Other, 1)],
        _ => &[(Kind::Update, 2), (Kind::Insert, 2)],
    };
    let mut kinds = vec![(Kind::Begin, 1), (Kind::Select, 1), (Kind::Commit, 1)];
    kinds.extend_from_slice(write);
    kinds
}

/// The counts under `use_case` now, by kind.
fn counts(use_case: &str) -> BTreeMap<Kind, u64> {
    statements::snapshot().into_iter().filter(|c| c.use_case == use_case).map(|c| (c.kind, c.total)).collect()
}

/// The statements one `GET uri` (with the partner key) adds under `use_case`: the least
/// of [`ATTEMPTS`], and every attempt for the failure message.
async fn one_request(app: &TestApp, uri: &str, use_case: &str) -> (BTreeMap<Kind, u64>, Vec<BTreeMap<Kind, u64>>) {
    let mut seen = Vec::new();
    for _ in 0..ATTEMPTS {
        let before = counts(use_case);
        let reply = app.get(uri).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let after = counts(use_case);
        let delta: BTreeMap<Kind, u64> = after
            .iter()
            .map(|(kind, n)| (*kind, n - before.get(kind).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        seen.push(delta);
    }
    let least = seen.iter().min_by_key(|d| d.values().sum::<u64>()).cloned().unwrap_or_default();
    (least, seen)
}

async fn route_body(db: TestDb) {
    let _serial = SERIAL.lock().await;
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("stmt-m1", "이계수", "010-5555-6666", "m1@mohom.kr")).await;
    for (uri, use_case, expected) in [
        ("/api/v1/regions", "GET /api/v1/regions", REGIONS),
        ("/api/v1/leads?mohomId=stmt-m1", "GET /api/v1/leads", OWNED_PAGE),
    ] {
        // A first request warms what is done once (a connection, the caches).
        assert_eq!(app.get(uri).await.status, 200);
        let (least, seen) = one_request(&app, uri, use_case).await;
        let expected: BTreeMap<Kind, u64> = expected.iter().copied().collect();
        assert_eq!(least, expected, "statements of one {use_case} by kind (every attempt: {seen:?})");
    }

    let use_case = "GET /api/v1/leads";
    let text = app.get_anonymous("/metrics").await.text;
    let line = format!(r#"ldbds_db_statements_total{{kind="select",use_case="{use_case}"}} "#);
    let shown: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .unwrap_or_else(|| panic!("no `{line}` in /metrics:\n{text}"))
        .parse()
        .expect("a count");
    let ours = u64::try_from(ATTEMPTS).unwrap();
    assert!(shown >= ours, "/metrics shows {shown} selects under {use_case}, this test alone sent {ours}");
    assert!(text.contains("# TYPE ldbds_db_statements_total counter"), "{text}");
}

/// The statements one `POST uri` of `body` (with the partner key) adds under `use_case`.
async fn one_post(app: &TestApp, uri: &str, body: serde_json::Value, use_case: &str) -> BTreeMap<Kind, u64> {
    let before = counts(use_case);
    let reply = app.send(app.with_key(TestRequest::post().uri(uri).set_json(&body), &app.partner_key)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    counts(use_case)
        .iter()
        .map(|(kind, n)| (*kind, n - before.get(kind).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

async fn transfer_body(db: TestDb) {
    let _serial = SERIAL.lock().await;
    let backend = db.db.backend();
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, leader("stmt-l", "팀장", "010-1000-0000", "l@mohom.kr")).await;
    app.create_user(&app.partner_key, member("stmt-m2", "이계수", "010-5555-7777", "m2@mohom.kr")).await;
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let mut leads = Vec::new();
    for i in 0..=ATTEMPTS {
        let body = serde_json::json!({"mohomId": "stmt-l", "productId": product, "name": "홍길동", "phone": format!("010-3000-{i:04}"), "region": "서울"});
        let reply =
            app.send(app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(&body), &app.partner_key)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        leads.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let expected: BTreeMap<Kind, u64> = transfer(backend).into_iter().collect();
    let (distribute, recall) = ("POST /api/v1/leads/distribute", "POST /api/v1/leads/recall");
    let mut seen = Vec::new();
    // The first distribution warms the recipient's cache entry; then one lead per attempt.
    for lead in &leads {
        let body = serde_json::json!({"mohomId": "stmt-l", "toMohomId": "stmt-m2", "leadIds": [lead]});
        seen.push(one_post(&app, "/api/v1/leads/distribute", body, distribute).await);
    }
    let least = seen[1..].iter().min_by_key(|d| d.values().sum::<u64>()).cloned().unwrap_or_default();
    assert_eq!(least, expected, "statements of one {distribute} by kind (every attempt: {seen:?})");
    let mut seen = Vec::new();
    for lead in &leads {
        let body = serde_json::json!({"mohomId": "stmt-l", "leadIds": [lead]});
        seen.push(one_post(&app, "/api/v1/leads/recall", body, recall).await);
    }
    let least = seen.iter().min_by_key(|d| d.values().sum::<u64>()).cloned().unwrap_or_default();
    assert_eq!(least, expected, "statements of one {recall} by kind (every attempt: {seen:?})");
}
