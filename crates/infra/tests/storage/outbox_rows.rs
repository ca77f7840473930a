//! The outbox rows a change wrote, read back and opened: what the producers' tests
//! compare (type, org and the envelope's `data`).

use infra::crypto::{Keyring, OUTBOX_BODY};
use sea_orm::{ConnectionTrait, Statement, Value};
use testkit::TestDb;

/// One stored event: its org id (as stored) and its envelope, opened.
#[derive(Debug, Clone)]
pub struct Stored {
    pub org_id: String,
    pub envelope: serde_json::Value,
}

impl Stored {
    pub fn data(&self) -> &serde_json::Value {
        &self.envelope["data"]
    }
}

/// The events of type `event_type` in the outbox, oldest first, their bodies opened.
pub async fn events(db: &TestDb, keyring: &Keyring, event_type: &str) -> Vec<Stored> {
    let conn = db.db.conn();
    let backend = conn.get_database_backend();
    let text = "SELECT id, org_id, body_enc FROM outbox_events WHERE event_type = $1 ORDER BY created_at, id";
    let text = if backend == sea_orm::DbBackend::Postgres { text.to_owned() } else { text.replace("$1", "?") };
    let rows =
        conn.query_all_raw(Statement::from_sql_and_values(backend, text, vec![Value::from(event_type)])).await.unwrap();
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("", "id").unwrap();
            let sealed: Vec<u8> = row.try_get("", "body_enc").unwrap();
            let body = OUTBOX_BODY.open(keyring, &id, Some(&sealed), None).unwrap().unwrap();
            let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(envelope["type"], event_type, "{envelope}");
            assert_eq!(envelope["id"], id.as_str(), "{envelope}");
            Stored { org_id: row.try_get("", "org_id").unwrap(), envelope }
        })
        .collect()
}

/// Every event in the outbox, of any type.
pub async fn count_all(db: &TestDb) -> i64 {
    let conn = db.db.conn();
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(backend, "SELECT count(*) AS n FROM outbox_events"))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}
