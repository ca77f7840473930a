//! Principals and reference data in memory (ADR 0009): the statements a cached request
//! sends (counted with `infra::statements`, under a use case of the test's own), and the
//! invalidations: at once on the node that writes, and on PostgreSQL on a second node
//! through LISTEN/NOTIFY, including after the listener lost its connection.

use std::time::Duration;

use actix_web::test::TestRequest;
use infra::api_keys;
use testkit::{Backend, TestDb};
use time::OffsetDateTime;

use crate::helpers::{TestApp, member, settings};

testkit::on_both_backends! { actix_web::test;
    a_cached_key_sends_no_statement_for_reference_reads => cached_key_body;
    a_cached_member_sends_no_statement_to_authenticate => cached_member_body;
    a_revoked_key_is_refused_at_once_on_the_same_node => revoked_key_body;
    a_role_change_or_a_delete_takes_effect_at_once => role_change_body;
    a_product_or_region_change_is_seen_after_reload => reference_change_body;
    the_last_used_flush_writes_one_statement_for_many_keys => last_used_body;
    a_revoked_key_is_refused_by_a_second_node_after_the_notify => second_node_body;
}

/// The statements counted so far under `use_case`.
fn statements(use_case: &str) -> u64 {
    infra::statements::snapshot().iter().filter(|c| c.use_case == use_case).map(|c| c.total).sum()
}

/// Sends `req` with its statements counted under `use_case`; returns (status, statements).
async fn counted(app: &TestApp, use_case: &str, req: TestRequest) -> (u16, u64) {
    let before = statements(use_case);
    let reply = infra::statements::scoped(use_case.to_owned(), app.send(req)).await;
    (reply.status.as_u16(), statements(use_case) - before)
}

fn regions(key: &str) -> TestRequest {
    TestRequest::get().uri("/api/v1/regions").insert_header(("X-API-Key", key.to_owned()))
}

async fn issue_key(app: &TestApp) -> api_keys::IssuedKey {
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.expect("q").expect("org");
    api_keys::issue(app.db.db.conn(), org, "cache test", &["*"], OffsetDateTime::now_utc()).await.expect("issue")
}

async fn cached_key_body(db: TestDb) {
    let use_case = format!("test: cached key {}", db.url);
    let app = TestApp::new(db).await;
    // Cold: the key with its org is read once (the regions come from the reference cache,
    // whose load counts under its own use case).
    let (status, cold) = counted(&app, &use_case, regions(&app.partner_key)).await;
    assert_eq!((status, cold), (200, 1), "cold: the key lookup only");
    let (status, warm) = counted(&app, &use_case, regions(&app.partner_key)).await;
    assert_eq!((status, warm), (200, 0), "a cached key and cached regions: no statement");
    for uri in ["/api/v1/products", "/api/v1/as/reasons"] {
        let req = TestRequest::get().uri(uri).insert_header(("X-API-Key", app.partner_key.clone()));
        assert_eq!(counted(&app, &use_case, req).await, (200, 0), "{uri}");
    }
    assert!(app.state.principals.pending_uses() >= 1, "the use is noted for the flush, not written");
}

async fn cached_member_body(db: TestDb) {
    let use_case = format!("test: cached member {}", db.url);
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("cache-m1", "김캐시", "010-1111-2222", "c1@mohom.kr")).await;
    let leads = || {
        TestRequest::get().uri("/api/v1/leads?mohomId=cache-m1").insert_header(("X-API-Key", app.partner_key.clone()))
    };
    // The first call after a write of the user reads the member; the next ones do not.
    let (status, cold) = counted(&app, &use_case, leads()).await;
    assert_eq!(status, 200);
    let (status, warm) = counted(&app, &use_case, leads()).await;
    assert_eq!(status, 200);
    let (_, again) = counted(&app, &use_case, leads()).await;
    assert_eq!(warm, again, "a steady count once cached");
    assert_eq!(cold - warm, 1, "cold {cold}, warm {warm}: the member was the only authentication read");
    println!("GET /api/v1/leads (key + mohomId, no leads): {cold} statements cold, {warm} cached");

    // The authentication alone, as the gate runs it: nothing sent.
    let before = statements(&use_case);
    let state = &app.state;
    let key = infra::statements::scoped(
        use_case.clone(),
        state.principals.key(state.db.conn(), &app.partner_key, OffsetDateTime::now_utc()),
    )
    .await
    .expect("key")
    .expect("live");
    let mohom = domain::identity::MohomId::parse("cache-m1").expect("mohomId");
    let user = infra::statements::scoped(use_case.clone(), state.principals.member(&state.users, key.org_id, &mohom))
        .await
        .expect("member")
        .expect("found");
    assert_eq!(user.mohom_id, mohom);
    assert_eq!(statements(&use_case) - before, 0, "a cached key and member: no statement to authenticate");
}

async fn revoked_key_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let key = issue_key(&app).await;
    assert_eq!(app.send(regions(&key.plaintext)).await.status, 200);
    assert_eq!(app.send(regions(&key.plaintext)).await.status, 200, "cached now");
    // What `ldbds keys revoke` does, in this process.
    assert!(api_keys::revoke(app.db.db.conn(), key.id, OffsetDateTime::now_utc()).await.expect("revoke"));
    assert_eq!(app.send(regions(&key.plaintext)).await.status, 401, "refused on the very next request");
    assert_eq!(app.send(regions(&app.partner_key)).await.status, 200, "another key is untouched");
}

async fn role_change_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("cache-r1", "박역할", "010-3333-4444", "r1@mohom.kr")).await;
    let token = app.token(&app.partner_key, "cache-r1").await;
    let mine = || app.with_bearer(TestRequest::get().uri("/api/v1/leads"), &token);
    assert_eq!(app.send(mine()).await.status, 200);
    assert_eq!(app.send(mine()).await.status, 200, "the user is cached now");

    let promote = TestRequest::put().uri("/api/v1/users/cache-r1").set_json(serde_json::json!({"role": "LEADER"}));
    let reply = app.send(app.with_key(promote, &app.partner_key)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(app.send(mine()).await.status, 401, "a token of the old role is refused at once");
    let fresh = app.token(&app.partner_key, "cache-r1").await;
    assert_eq!(app.send(app.with_bearer(TestRequest::get().uri("/api/v1/leads"), &fresh)).await.status, 200);

    let by_key = || app.with_key(TestRequest::get().uri("/api/v1/leads?mohomId=cache-r1"), &app.partner_key);
    assert_eq!(app.send(by_key()).await.status, 200, "the member is cached");
    let delete = TestRequest::delete().uri("/api/v1/users/cache-r1");
    let reply = app.send(app.with_key(delete, &app.partner_key)).await;
    assert!(reply.status.is_success(), "{}", reply.text);
    let gone = app.send(by_key()).await;
    assert_eq!((gone.status.as_u16(), gone.code().as_str()), (404, "USER_NOT_FOUND"), "a deleted member at once");
}

async fn reference_change_body(db: TestDb) {
    use domain::ports::ReferenceRepository;
    use sea_orm::ConnectionTrait;
    let app = TestApp::new(db).await;
    let names = |body: serde_json::Value| -> Vec<String> {
        body["data"].as_array().expect("data").iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect()
    };
    let before = names(app.get("/api/v1/products?sortBy=name&sortOrder=asc").await.json());
    let repo = infra::reference::SeaReferenceRepository::new(app.db.db.conn().clone());
    let query = domain::reference::ProductQuery {
        category: None,
        page: domain::pagination::PageRequest::parse(None, Some("100")).expect("page"),
        sort: domain::pagination::Sort {
            key: domain::reference::ProductSortKey::Name,
            order: domain::pagination::SortOrder::Asc,
        },
    };
    let mut product = repo.list_products(&query).await.expect("products").items.remove(0);
    assert!(before.contains(&product.name), "the cache answers as the database: {before:?}");
    product.name = "캐시 갱신 상품".to_owned();
    infra::reference::upsert_product(app.db.db.conn(), &product, OffsetDateTime::now_utc()).await.expect("upsert");
    let after = names(app.get("/api/v1/products?sortBy=name&sortOrder=asc").await.json());
    assert!(after.contains(&product.name), "the renamed product is listed at once: {after:?}");

    // A region written behind the repository's back, then announced as every write must.
    let vn = app.get("/api/v1/regions?country=VN").await.json()["data"].as_array().expect("data").len();
    app.db
        .db
        .conn()
        .execute_unprepared("INSERT INTO regions (code, name, country, sort_order) VALUES ('99', '캐시시', 'VN', 999)")
        .await
        .expect("insert region");
    infra::invalidation::reference_changed();
    let regions = app.get("/api/v1/regions?country=VN").await.json();
    assert_eq!(regions["data"].as_array().expect("data").len(), vn + 1, "the new region after the reload");
}

/// The flush tests of both backends share the `key-last-used` counter: one at a time.
static FLUSH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn last_used_body(db: TestDb) {
    use sea_orm::ConnectionTrait;
    let app = TestApp::new(db).await;
    let mut keys = Vec::new();
    for _ in 0..5 {
        let key = issue_key(&app).await;
        assert_eq!(app.send(regions(&key.plaintext)).await.status, 200);
        keys.push(key);
    }
    let _one_at_a_time = FLUSH.lock().await;
    let use_case = infra::principal_cache::LAST_USED_USE_CASE;
    let before = statements(use_case);
    let written = app.state.principals.flush_last_used(&app.state.db).await.expect("flush");
    assert!(written >= 5, "the five keys and any other noted: {written}");
    assert_eq!(statements(use_case) - before, 1, "one statement for all the keys");
    assert_eq!(app.state.principals.pending_uses(), 0);
    let ids = keys.iter().map(|k| format!("'{}'", k.id)).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT COUNT(*) AS n FROM api_keys WHERE last_used_at IS NOT NULL AND id IN ({ids})");
    let stmt = sea_orm::Statement::from_string(app.db.db.backend(), sql);
    let row = app.db.db.conn().query_one_raw(stmt).await.expect("count").expect("row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 5);
    let again = app.state.principals.flush_last_used(&app.state.db).await.expect("flush");
    assert_eq!((again, statements(use_case) - before), (0, 1), "nothing noted: nothing sent");
}

async fn second_node_body(db: TestDb) {
    use sea_orm::ConnectionTrait;
    if db.backend != Backend::Postgres {
        // SQLite has one process: the same-node test covers it.
        return;
    }
    let node_a = TestApp::new(db).await;
    // The second node: its own pool, state and caches over the same database, with the
    // longest TTL, so only the notification can end its cached key within this test.
    let dir = tempfile::tempdir().expect("data dir");
    let data_dir = dir.path().display().to_string();
    let node_b_db = infra::db::Db::connect(&node_a.db.url, infra::db::PoolSettings::default()).await.expect("node b");
    let vars = [("LDBDS__AUTH__CACHE_TTL_SECS", "60"), ("LDBDS__DATA_DIR", data_dir.as_str())];
    let state_b = api::state::AppState::new(
        node_b_db,
        settings(&node_a.db, &vars),
        std::sync::Arc::clone(&node_a.state.keyring),
        testkit::JWT_SECRET,
    )
    .expect("state b");
    let send_b = |req: TestRequest| {
        let state = state_b.clone();
        async move {
            let app = actix_web::test::init_service(api::startup::build_app(state)).await;
            actix_web::test::call_service(&app, req.to_request()).await.status().as_u16()
        }
    };
    let mut listener = infra::invalidation::spawn_listener(node_a.db.url.clone());
    listener.connected(1).await;

    let key = issue_key(&node_a).await;
    assert_eq!(send_b(regions(&key.plaintext)).await, 200);
    assert_eq!(send_b(regions(&key.plaintext)).await, 200, "cached on node B");
    // Revoked by node A as another process would: its NOTIFY is the only way to node B.
    let revoked = infra::invalidation::as_another_process(api_keys::revoke(
        node_a.db.db.conn(),
        key.id,
        OffsetDateTime::now_utc(),
    ))
    .await
    .expect("revoke");
    assert!(revoked);
    let mut status = 200;
    for _ in 0..100 {
        status = send_b(regions(&key.plaintext)).await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "node B refuses the key once the notification arrived, well within its 60 s TTL");

    // A change whose message is lost while the listener is away: the reconnection clears
    // everything, so node B refuses this key too.
    let other = issue_key(&node_a).await;
    assert_eq!(send_b(regions(&other.plaintext)).await, 200);
    let silent = format!("UPDATE api_keys SET revoked_at = 1 WHERE id = '{}'", other.id);
    node_a.db.db.conn().execute_unprepared(&silent).await.expect("silent revoke");
    assert_eq!(send_b(regions(&other.plaintext)).await, 200, "no message: still cached");
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()";
    node_a.db.db.conn().execute_unprepared(kill).await.expect("terminate the listener's connection");
    listener.connected(2).await;
    assert_eq!(send_b(regions(&other.plaintext)).await, 401, "cleared after the reconnection");
    listener.stop();
}
