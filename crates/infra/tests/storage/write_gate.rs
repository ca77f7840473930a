use infra::audit::{AuditEntry, count_action, record};
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_write_transactions_all_commit => concurrent_writes_body;
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
