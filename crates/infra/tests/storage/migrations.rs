use infra::db::{MigrateAction, run_migrations};
use testkit::TestDb;

testkit::on_both_backends! { tokio::test;
    migrations_go_down_and_up_again => migrations_go_down_and_up_again_body;
}

async fn migrations_go_down_and_up_again_body(db: TestDb) {
    let status = run_migrations(&db.db, MigrateAction::Status).await.expect("status");
    assert!(!status.is_empty() && status.iter().all(|m| m.applied), "all applied after setup: {status:?}");

    let after_down = run_migrations(&db.db, MigrateAction::Down).await.expect("down");
    assert!(!after_down.last().expect("one migration").applied);

    let after_up = run_migrations(&db.db, MigrateAction::Up).await.expect("up");
    assert!(after_up.iter().all(|m| m.applied));

    let after_fresh = run_migrations(&db.db, MigrateAction::Fresh).await.expect("fresh");
    assert!(after_fresh.iter().all(|m| m.applied));
}
