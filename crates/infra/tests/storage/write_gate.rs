use infra::audit::{AuditEntry, count_action, record};
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_write_transactions_all_commit => concurrent_writes_body;
    a_read_then_write_survives_another_connections_commit => other_connection_body;
}

/// A write transaction reads, another connection to the same database (a second process
/// on SQLite: `ldbds import` beside the server; or an autocommit write of this one) tries
/// to commit, then the transaction writes: both commit. On SQLite a deferred `BEGIN` failed
/// here with `SQLITE_BUSY_SNAPSHOT` (517); `begin_write` takes the write lock up front and
/// the other writer waits for it.
async fn other_connection_body(db: TestDb) {
    let other = infra::db::Db::connect(&db.url, infra::db::PoolSettings::default()).await.expect("second handle");
    let txn = db.db.begin_write().await.expect("begin");
    let backend = txn.get_database_backend();
    let count = "SELECT COUNT(*) AS n FROM audit_log";
    txn.query_one_raw(Statement::from_string(backend, count)).await.expect("read");
    let insert = |id: &str| {
        format!(
            "INSERT INTO audit_log (id, at, actor, action, entity, detail) \
             VALUES ('{id}', 0, 'test', 'gate.other', 'test', '{{}}')"
        )
    };
    let sql = insert("00000000-0000-7000-8000-0000000000b1");
    let elsewhere = tokio::spawn(async move {
        other.conn().execute_unprepared(&sql).await.expect("the other connection's write");
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    txn.execute_unprepared(&insert("00000000-0000-7000-8000-0000000000a1"))
        .await
        .expect("write after the other commit");
    txn.commit().await.expect("commit");
    elsewhere.await.expect("joined");
    let n = db.db.conn().query_one_raw(Statement::from_string(backend, count)).await.expect("q").expect("row");
    let before: i64 = n.try_get("", "n").expect("n");
    assert!(before >= 2, "both rows committed: {before}");
}

/// Forty read-then-write transactions at once: on SQLite they queue on the write gate
/// instead of failing with SQLITE_BUSY; on PostgreSQL they run side by side.
async fn concurrent_writes_body(db: TestDb) {
    let keyring = std::sync::Arc::new(testkit::keyring());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = db.db.clone();
        let keyring = std::sync::Arc::clone(&keyring);
        tasks.push(tokio::spawn(async move {
            let txn = db.begin_write().await.expect("begin");
            let backend = txn.get_database_backend();
            txn.query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) FROM audit_log")).await.expect("read");
            record(
                &*txn,
                &keyring,
                AuditEntry {
                    org_id: None,
                    actor: "test",
                    action: "gate.write",
                    entity: "test",
                    entity_id: Some(&i.to_string()),
                    request_id: None,
                    detail: serde_json::json!({}),
                },
                OffsetDateTime::now_utc(),
            )
            .await
            .expect("write");
            txn.commit().await.expect("commit");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(count_action(db.db.conn(), "gate.write").await.expect("count"), 40);
}
