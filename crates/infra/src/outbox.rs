//! The transactional outbox (issue #16, ADR 0010): events are written in the transaction
//! of the change they report, and the dispatcher and the NATS publisher take them from
//! there.
//!
//! Invariants:
//! - [`append`] writes on the caller's [`WriteTxn`]: an event exists exactly when its
//!   change committed, and no event is sent for a change that rolled back;
//! - a transaction's events are one multi-row insert (chunked only past the bind
//!   limit), so a producer pays one statement for all of them; a producer that already
//!   writes through a data-modifying CTE on PostgreSQL folds [`insert_part`] into it;
//! - the body is the envelope's bytes ([`Event::body`]) sealed by the vault under the
//!   row's id (`crypto::OUTBOX_BODY`); the plaintext column stays `''`;
//! - a committed transaction that wrote events wakes every waiter of this process (the
//!   dispatcher and the NATS publisher, [`OutboxSignal`]); a wake-up given while a waiter
//!   is busy is kept for its next wait, so none is lost; other nodes learn of them by
//!   `NOTIFY` from the dispatcher that fans them out, and by their poll in any case;
//! - `nats_wanted` is fixed at write time by whether this node publishes to NATS, so
//!   configuring the stream later does not replay history.

use std::sync::atomic::{AtomicBool, Ordering};

use domain::error::RepoError;
use domain::events::Event;
use sea_orm::sea_query::{Alias, InsertStatement, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Value};
use tokio::sync::watch;
use uuid::Uuid;

use crate::crypto::{Keyring, OUTBOX_BODY};
use crate::db::WriteTxn;
use crate::error::unavailable;
use crate::to_millis;

/// The columns an event row is inserted with.
const COLUMNS: [&str; 9] =
    ["id", "org_id", "event_type", "endpoint_id", "created_at", "body", "body_enc", "body_key_id", "nats_wanted"];
/// Rows per insert, under the bind limit.
const ROWS_PER_INSERT: usize = crate::update_rows::MAX_VALUES_PER_STATEMENT / COLUMNS.len();

/// This process's wake-up for the outbox's readers (the dispatcher, the NATS publisher),
/// and whether its events go to NATS too.
///
/// A wake-up is a generation counter in a `watch` channel: every [`OutboxWakeups`] sees
/// each change, however many there are (a `Notify` would wake one waiter only), and a
/// change it has not seen yet ends its next wait at once.
#[derive(Debug)]
pub struct OutboxSignal {
    generation: watch::Sender<u64>,
    nats_wanted: AtomicBool,
}

impl Default for OutboxSignal {
    fn default() -> Self {
        Self { generation: watch::Sender::new(0), nats_wanted: AtomicBool::new(false) }
    }
}

impl OutboxSignal {
    /// Wakes every waiter (one that is busy finds the wake-up at its next wait).
    pub fn wake(&self) {
        self.generation.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A waiter's own view of the wake-ups, from now on.
    #[must_use]
    pub fn subscribe(&self) -> OutboxWakeups {
        OutboxWakeups(self.generation.subscribe())
    }

    /// Set at start-up when `events.nats_url` is configured.
    pub fn set_nats_wanted(&self, wanted: bool) {
        self.nats_wanted.store(wanted, Ordering::Relaxed);
    }

    #[must_use]
    pub fn nats_wanted(&self) -> bool {
        self.nats_wanted.load(Ordering::Relaxed)
    }
}

/// One waiter's wake-ups (see [`OutboxSignal::subscribe`]).
#[derive(Debug)]
pub struct OutboxWakeups(watch::Receiver<u64>);

impl OutboxWakeups {
    /// Resolves at the next [`OutboxSignal::wake`], or at once if one came since the last
    /// wait; never, once the signal is gone (the waiter then lives on its poll).
    pub async fn woken(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One event to write: to its org's subscribed endpoints, or to one endpoint.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event: Event,
    /// `Some`: this endpoint only (`ping`).
    pub endpoint_id: Option<Uuid>,
}

impl From<Event> for Outgoing {
    fn from(event: Event) -> Self {
        Self { event, endpoint_id: None }
    }
}

/// The row values of `events`, in [`COLUMNS`] order, their bodies sealed.
///
/// # Errors
/// `RepoError::Unavailable` if the system random generator fails while sealing.
pub(crate) fn rows(keyring: &Keyring, events: &[Outgoing], nats_wanted: bool) -> Result<Vec<Vec<Value>>, RepoError> {
    events
        .iter()
        .map(|o| {
            let e = &o.event;
            let body = String::from_utf8(e.body()).unwrap_or_default();
            let sealed = OUTBOX_BODY
                .seal(keyring, &e.id, &body)
                .map_err(|err| RepoError::Unavailable(format!("sealing an event: {err}")))?;
            Ok(vec![
                e.id.clone().into(),
                e.org_id.to_string().into(),
                e.event_type.as_str().into(),
                o.endpoint_id.map(|id| id.to_string()).into(),
                to_millis(e.created_at).into(),
                String::new().into(),
                sealed.envelope.into(),
                sealed.key_id.into(),
                nats_wanted.into(),
            ])
        })
        .collect()
}

/// The insert of `rows` (from [`rows`]), as a statement of its own or a CTE part.
#[must_use]
pub(crate) fn insert_part(rows: Vec<Vec<Value>>) -> InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(Alias::new("outbox_events")).columns(COLUMNS.iter().map(|c| Alias::new(*c)));
    for row in rows {
        let values: Vec<SimpleExpr> = row.into_iter().map(SimpleExpr::Value).collect();
        // The column count is fixed above, so the row always matches it.
        let _ = insert.values(values);
    }
    insert.to_owned()
}

/// Writes `events` in `txn`, one insert per [`ROWS_PER_INSERT`]; the dispatcher and the
/// publisher of this process are woken when `txn` commits.
///
/// # Errors
/// Storage failures (the caller's transaction then rolls back).
pub async fn append(txn: &WriteTxn, keyring: &Keyring, events: &[Outgoing]) -> Result<(), RepoError> {
    if events.is_empty() {
        return Ok(());
    }
    append_on(&**txn, keyring, txn.outbox_signal().nats_wanted(), events).await?;
    txn.events_written();
    Ok(())
}

/// [`append`] for a writer that holds only the transaction's connection: the caller
/// marks its [`WriteTxn`] with [`WriteTxn::events_written`] (or the dispatcher finds
/// the events at its next poll).
///
/// # Errors
/// Storage failures (the caller's transaction then rolls back).
pub(crate) async fn append_on(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    nats_wanted: bool,
    events: &[Outgoing],
) -> Result<(), RepoError> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let insert = insert_part(rows(keyring, chunk, nats_wanted)?);
        write(conn, &insert).await?;
    }
    Ok(())
}

async fn write(conn: &impl ConnectionTrait, insert: &InsertStatement) -> Result<(), RepoError> {
    conn.execute(insert).await.map(|_| ()).map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use domain::events::{Event, Ping};
    use sea_orm::DbBackend;
    use time::OffsetDateTime;

    use super::*;
    use crate::crypto::KeyringConfig;

    #[tokio::test]
    async fn a_wake_up_reaches_every_waiter_even_a_busy_one() {
        let signal = OutboxSignal::default();
        let mut dispatcher = signal.subscribe();
        let mut publisher = signal.subscribe();
        // Both busy when it comes: each finds it at its next wait.
        signal.wake();
        let quick = std::time::Duration::from_millis(100);
        tokio::time::timeout(quick, dispatcher.woken()).await.unwrap();
        tokio::time::timeout(quick, publisher.woken()).await.unwrap();
        // Seen once: the next wait waits.
        assert!(tokio::time::timeout(quick, dispatcher.woken()).await.is_err());
        let waiting = tokio::spawn(async move { publisher.woken().await });
        tokio::task::yield_now().await;
        signal.wake();
        tokio::time::timeout(quick, waiting).await.unwrap().unwrap();
    }

    #[test]
    fn a_row_holds_the_sealed_envelope_and_no_plain_body() {
        let keyring = Keyring::new(KeyringConfig {
            keys: vec![(1, [7u8; 32])],
            active: 1,
            retired: vec![],
            index_key: [8u8; 32],
        })
        .unwrap();
        let event = Event::new(Uuid::nil(), "mohom", &Ping {}, OffsetDateTime::now_utc());
        let rows = rows(&keyring, &[Outgoing { event: event.clone(), endpoint_id: None }], true).unwrap();
        assert_eq!(rows[0].len(), COLUMNS.len());
        assert_eq!(rows[0][5], Value::from(String::new()));
        let Value::Bytes(Some(sealed)) = &rows[0][6] else { panic!("no envelope: {:?}", rows[0][6]) };
        let opened = OUTBOX_BODY.open(&keyring, &event.id, Some(sealed), None).unwrap().unwrap();
        assert_eq!(opened.as_bytes(), event.body());
        let sql = DbBackend::Postgres.build(&insert_part(rows)).to_string();
        assert!(sql.starts_with("INSERT INTO \"outbox_events\""), "{sql}");
    }
}
