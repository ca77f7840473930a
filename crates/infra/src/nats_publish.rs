//! The NATS JetStream publisher (issue #16, `events.md` "NATS JetStream", ADR 0010): it
//! copies every outbox event written while this node publishes (`nats_wanted`) to the
//! stream `LDBDS_EVENTS`, on `ldbds.<orgCode>.<type>`.
//!
//! Invariants:
//! - one message per event in the stream: each is published with `Nats-Msg-Id` = the
//!   event id, and the stream removes a second publish of an id within its duplicate
//!   window (10 min); `nats_published_at` is set only after the stream's ack, so a lost
//!   ack or a node that dies mid-publish means one more publish, never a lost event;
//! - the message is the envelope's bytes as stored ([`crate::outbox`]), the webhook body
//!   byte for byte;
//! - events go out oldest first (`created_at, id`); on PostgreSQL each batch is taken
//!   with `FOR UPDATE SKIP LOCKED` in a transaction held until its acks are recorded, so
//!   several nodes share the work and never publish the same event at once (they may
//!   interleave batches); on SQLite the one process reads, publishes, then marks;
//! - a failed publish (NATS down, stream missing) leaves the event unpublished; the loop
//!   retries with a doubling backoff ([`BACKOFF_FIRST`] to [`BACKOFF_MAX`]) and makes
//!   sure of the stream again first;
//! - the loop wakes when this process commits events (`outbox::OutboxSignal`, shared
//!   with the webhook dispatcher) and at least every [`POLL`] (other nodes' events);
//! - [`PublisherHandle::stop`] starts no new batch and waits for the one in flight to be
//!   acked (or to fail) and recorded.
//!
//! The stream is made if missing (`get_or_create`) with [`stream_config`]; an existing
//! stream keeps its own settings.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use domain::error::RepoError;
use sea_orm::{ConnectionTrait, DbBackend, Value};
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::crypto::{Keyring, OUTBOX_BODY};
use crate::db::Db;
use crate::db::stmt;
use crate::error::{corrupt, unavailable};
use crate::to_millis;

/// The stream every event goes to.
pub const STREAM: &str = "LDBDS_EVENTS";
/// The first token of every subject: `ldbds.<orgCode>.<type>`.
pub const SUBJECT_PREFIX: &str = "ldbds";
/// How long the stream keeps a message.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long the stream remembers a `Nats-Msg-Id` to drop a second publish of it.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The longest sleep between two looks at the outbox.
pub const POLL: Duration = Duration::from_secs(1);
/// The first pause after a failure; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_FIRST: Duration = Duration::from_millis(200);
/// The longest pause after failures.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// The longest wait for an ack or a JetStream API answer (so also the longest a stop
/// waits for a batch when NATS is down).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Events read and published per batch (and per PostgreSQL transaction).
const BATCH: u64 = 100;

/// Why a publish pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Storage(#[from] RepoError),
    /// NATS could not be reached, refused, or did not ack in time.
    #[error("NATS: {0}")]
    Nats(String),
}

fn nats(e: impl std::fmt::Display) -> PublishError {
    PublishError::Nats(e.to_string())
}

/// What a pass published.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Events acked by the stream (and marked published).
    pub events: usize,
    /// Of them, those the stream already held (a re-publish after a lost ack).
    pub duplicates: usize,
}

/// The stream's settings: subjects `<prefix>.>`, file storage, [`MAX_AGE`],
/// [`DUPLICATE_WINDOW`].
#[must_use]
pub fn stream_config(name: &str, prefix: &str) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{prefix}.>")],
        storage: stream::StorageType::File,
        max_age: MAX_AGE,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// The subject of an event: `<prefix>.<orgCode>.<type>`. An org code may hold `.`, which
/// would split it into tokens; it is written `~` (never in a code), so the org is always
/// the second token and `ldbds.*.order.completed` matches every org.
#[must_use]
pub fn subject(prefix: &str, org_code: &str, event_type: &str) -> String {
    format!("{prefix}.{}.{event_type}", org_code.replace('.', "~"))
}

/// How long the first connection attempt may take before the client goes on trying in
/// the background.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// Connects to `url`. A server that cannot be reached now is logged as a warning and
/// tried again in the background: the client is returned anyway, and the publisher's
/// batches fail (the events wait in the outbox) until it is up. Once connected, the
/// client reconnects by itself, without limit.
///
/// # Errors
/// `url` is not a NATS address.
pub async fn connect(url: &str) -> Result<async_nats::Client, PublishError> {
    let options = || async_nats::ConnectOptions::new().name("ldbds").request_timeout(Some(TIMEOUT));
    match options().connection_timeout(FIRST_CONNECT).connect(url).await {
        Ok(client) => Ok(client),
        Err(e) if e.kind() == async_nats::ConnectErrorKind::ServerParse => Err(nats(e)),
        Err(e) => {
            tracing::warn!(error = %e, url, "NATS cannot be reached; events wait in the outbox until it can");
            options().retry_on_initial_connect().connect(url).await.map_err(nats)
        }
    }
}

/// The publisher of one process.
#[derive(Clone)]
pub struct Publisher {
    db: Db,
    keyring: Arc<Keyring>,
    js: jetstream::Context,
    stream: String,
    prefix: String,
}

impl Publisher {
    /// A publisher of `db`'s outbox over `client`, to [`STREAM`] on [`SUBJECT_PREFIX`].
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>, client: async_nats::Client) -> Self {
        Self { db, keyring, js: jetstream::new(client), stream: STREAM.to_owned(), prefix: SUBJECT_PREFIX.to_owned() }
    }

    /// The same publisher to another stream and subject prefix (tests: one per run).
    #[must_use]
    pub fn with_stream(mut self, stream: &str, prefix: &str) -> Self {
        stream.clone_into(&mut self.stream);
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// The same publisher waiting at most `timeout` for an ack or an API answer.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.js.set_timeout(timeout);
        self
    }

    /// Makes the stream if it does not exist.
    ///
    /// # Errors
    /// NATS is unreachable, has no JetStream, or refused the stream.
    pub async fn ensure_stream(&self) -> Result<(), PublishError> {
        self.js.get_or_create_stream(stream_config(&self.stream, &self.prefix)).await.map(|_| ()).map_err(nats)
    }

    /// One pass, in the caller's task: makes sure of the stream, then publishes batches
    /// until none is left. For tests and tools.
    ///
    /// # Errors
    /// The first failure; what was acked before it stays marked published.
    pub async fn run_until_idle(&self) -> Result<Published, PublishError> {
        self.ensure_stream().await?;
        let mut total = Published::default();
        loop {
            let (done, full) = self.publish_batch().await?;
            total.events += done.events;
            total.duplicates += done.duplicates;
            if !full {
                return Ok(total);
            }
        }
    }

    /// Starts the publisher's loop.
    #[must_use]
    pub fn spawn(self) -> PublisherHandle {
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(self.run(stop));
        PublisherHandle { stop: stop_tx, task }
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut wakeups = self.db.outbox_signal().subscribe();
        let mut stream_ready = false;
        let mut backoff = BACKOFF_FIRST;
        loop {
            if *stop.borrow() {
                break;
            }
            let failed = match self.pass(&mut stream_ready, &stop).await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis(), "publishing events to NATS failed; they wait in the outbox");
                    true
                }
            };
            let pause = if failed {
                let pause = backoff;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                pause
            } else {
                backoff = BACKOFF_FIRST;
                POLL
            };
            tokio::select! {
                // After a failure only the backoff ends the pause: commits do not hurry it.
                () = wakeups.woken(), if !failed => {}
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Batches until none is full or `stop` is set; a failure makes the next pass check
    /// the stream again (it may have been deleted).
    async fn pass(&self, stream_ready: &mut bool, stop: &watch::Receiver<bool>) -> Result<(), PublishError> {
        if !*stream_ready {
            self.ensure_stream().await?;
            *stream_ready = true;
        }
        loop {
            match self.publish_batch().await {
                Ok((_, true)) if !*stop.borrow() => {}
                Ok(_) => return Ok(()),
                Err(e) => {
                    *stream_ready = false;
                    return Err(e);
                }
            }
        }
    }

    /// Publishes the oldest unpublished events, up to [`BATCH`]; `true` with a full batch
    /// (more may wait).
    async fn publish_batch(&self) -> Result<(Published, bool), PublishError> {
        let limit = usize::try_from(BATCH).unwrap_or(usize::MAX);
        if self.db.backend() == DbBackend::Postgres {
            // The rows stay locked until their acks are recorded: other nodes skip them.
            let txn = self.db.begin_write().await.map_err(unavailable)?;
            let pending = pending(&*txn, &self.keyring, BATCH).await?;
            let (acked, outcome) = self.publish(&pending).await;
            mark(&*txn, &acked).await?;
            txn.commit().await.map_err(unavailable)?;
            outcome.map(|done| (done, pending.len() >= limit))
        } else {
            // One process: nothing else takes these rows, and the write gate is not held
            // while NATS answers.
            let pending = pending(self.db.conn(), &self.keyring, BATCH).await?;
            let (acked, outcome) = self.publish(&pending).await;
            if !acked.is_empty() {
                let txn = self.db.begin_write().await.map_err(unavailable)?;
                mark(&*txn, &acked).await?;
                txn.commit().await.map_err(unavailable)?;
            }
            outcome.map(|done| (done, pending.len() >= limit))
        }
    }

    /// Publishes `events` in order, sending each before awaiting the acks, and returns the
    /// ids acked; it stops at the first failure (the events after it were not acked, so
    /// they are published again later, and the stream drops any that did arrive).
    async fn publish(&self, events: &[Pending]) -> (Vec<String>, Result<Published, PublishError>) {
        let mut sent = Vec::with_capacity(events.len());
        let mut failure = None;
        for event in events {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, event.id.as_str());
            let subject = subject(&self.prefix, &event.org_code, &event.event_type);
            match self.js.publish_with_headers(subject, headers, event.body.clone().into()).await {
                Ok(ack) => sent.push((event.id.as_str(), ack)),
                Err(e) => {
                    failure = Some(nats(e));
                    break;
                }
            }
        }
        let mut acked = Vec::with_capacity(sent.len());
        let mut done = Published::default();
        for (id, ack) in sent {
            match ack.await {
                Ok(ack) => {
                    acked.push(id.to_owned());
                    done.events += 1;
                    done.duplicates += usize::from(ack.duplicate);
                }
                Err(e) => {
                    failure = failure.or(Some(nats(e)));
                    break;
                }
            }
        }
        (acked, failure.map_or(Ok(done), Err))
    }
}

/// The running publisher.
pub struct PublisherHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl PublisherHandle {
    /// Starts no new batch, and returns once the one in flight is recorded.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the NATS publisher ended abnormally");
        }
    }
}

/// An event to publish, its body opened.
struct Pending {
    id: String,
    event_type: String,
    org_code: String,
    body: Vec<u8>,
}

/// The envelope's field the subject needs.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "orgCode")]
    org_code: String,
}

/// The oldest `limit` events to publish (on PostgreSQL, locked, skipping those another
/// node holds).
async fn pending(conn: &impl ConnectionTrait, keyring: &Keyring, limit: u64) -> Result<Vec<Pending>, RepoError> {
    let rows = conn
        .query_all_raw(stmt(
            conn.get_database_backend(),
            "SELECT id, event_type, body_enc, body FROM outbox_events \
             WHERE nats_wanted AND nats_published_at IS NULL ORDER BY created_at, id LIMIT $1{lock}",
            vec![i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await
        .map_err(unavailable)?;
    let mut pending = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.try_get::<String>("", "id").map_err(unavailable)?;
        let envelope = row.try_get::<Option<Vec<u8>>>("", "body_enc").map_err(unavailable)?;
        let plain = row.try_get::<String>("", "body").map_err(unavailable)?;
        let body = OUTBOX_BODY
            .open(keyring, &id, envelope.as_deref(), Some(&plain))
            .map_err(|e| corrupt("outbox_events", &id, e))?
            .unwrap_or_default();
        let head: Head = serde_json::from_str(&body).map_err(|e| corrupt("outbox_events", &id, e))?;
        pending.push(Pending {
            event_type: row.try_get::<String>("", "event_type").map_err(unavailable)?,
            org_code: head.org_code,
            body: body.into_bytes(),
            id,
        });
    }
    Ok(pending)
}

/// Marks `ids` published now.
async fn mark(conn: &impl ConnectionTrait, ids: &[String]) -> Result<(), RepoError> {
    if ids.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let now = to_millis(OffsetDateTime::now_utc());
    let list: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
    let mut values: Vec<Value> = Vec::with_capacity(ids.len() + 1);
    values.push(now.into());
    values.extend(ids.iter().map(|id| Value::from(id.as_str())));
    conn.execute_raw(stmt(
        backend,
        &format!("UPDATE outbox_events SET nats_published_at = $1 WHERE id IN ({})", list.join(", ")),
        values,
    ))
    .await
    .map(|_| ())
    .map_err(unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_org_is_one_token_of_the_subject() {
        assert_eq!(subject("ldbds", "mohom", "lead.assigned"), "ldbds.mohom.lead.assigned");
        assert_eq!(subject("ldbds", "a.b", "ping"), "ldbds.a~b.ping");
    }

    #[test]
    fn the_stream_is_the_specs() {
        let config = stream_config(STREAM, SUBJECT_PREFIX);
        assert_eq!(config.subjects, vec!["ldbds.>".to_owned()]);
        assert_eq!(config.storage, stream::StorageType::File);
        assert_eq!(config.max_age, Duration::from_secs(604_800));
        assert_eq!(config.duplicate_window, Duration::from_secs(600));
    }
}
