//! The webhook dispatcher (issue #16, `events.md` "Delivery", ADR 0010): it fans the
//! outbox's events out to the subscribed endpoints and sends each delivery, signed, until
//! it succeeds, fails for good, or gives up.
//!
//! Invariants:
//! - at-least-once: a delivery leaves `PENDING` only once its outcome is recorded, after
//!   the attempt. A round (up to [`ROUND`] deliveries of one endpoint, sent one after
//!   the other) is recorded in one write transaction when it ends; a node that dies
//!   mid-round leaves its deliveries `PENDING`, and the next holder of the endpoint's
//!   lease sends them again with the same `webhook-id` (the event id): duplicates are
//!   only of deliveries not recorded, at most one round per endpoint;
//! - one sender per endpoint: an endpoint's deliveries are sent by the node holding its
//!   lease (`claimed_until`, renewed between batches, [`LEASE`]), taken on PostgreSQL
//!   with `FOR UPDATE SKIP LOCKED`, so healthy nodes never send the same delivery twice,
//!   and an endpoint's due deliveries go out one at a time in event order;
//! - a retried delivery does not hold back the ones behind it: after a failure that is
//!   retried, the endpoint's round ends and its later due deliveries are tried in the
//!   next round, each on its own schedule (`domain::webhooks::next_attempt`);
//! - outcomes are `domain::webhooks::judge`'s; a 410, or 5 days of failures with no
//!   success, disables the endpoint and writes `endpoint.disabled` for its org;
//! - the dispatcher wakes when this process commits events (`outbox::OutboxSignal`),
//!   on PostgreSQL when another node fanned events out (`NOTIFY ldbds_outbox`), and at
//!   least every [`POLL`] in any case (retries that came due);
//! - [`DispatcherHandle::stop`] claims nothing more and waits for the deliveries in
//!   flight to be sent and recorded.

mod send;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::error::RepoError;
use domain::webhooks::{DeliveryStatus, Response, Verdict, failing_too_long, judge, next_attempt};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use send::{Attempt, Sender};
pub use store::{CHANNEL, FanOut};

use crate::crypto::Keyring;
use crate::db::Db;
use crate::webhook_destination::DestinationPolicy;
use crate::{from_millis, to_millis};

/// The use case the dispatcher's statements are counted under (`/metrics`): background
/// work, apart from the requests whose events it sends.
pub const USE_CASE: &str = "webhook-dispatch";

/// How long a claimed endpoint stays this node's without a renewal: also how long a
/// dead node's endpoints wait before another node takes them over.
pub const LEASE: Duration = Duration::from_secs(20);
/// A lease is renewed before a send once this much of it has passed (a send takes at
/// most [`domain::webhooks::SEND_TIMEOUT`], so the lease never runs out mid-send).
const RENEW_AFTER: Duration = Duration::from_secs(5);
/// The longest sleep between two looks at the outbox.
pub const POLL: Duration = Duration::from_secs(1);
/// Events fanned out per transaction.
const FAN_OUT_BATCH: u64 = 500;
/// Deliveries read, sent and recorded per round of an endpoint.
pub const ROUND: u64 = 20;
/// The `error` column's width.
const ERROR_CHARS: usize = 64;

/// Counters of this process's deliveries (for the metrics endpoint).
#[derive(Debug, Default)]
pub struct DispatchStats {
    pub succeeded: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub gave_up: AtomicU64,
    /// Attempt latencies, in the buckets of [`LATENCY_BUCKETS_MS`], and their sum.
    pub latency_buckets: [AtomicU64; LATENCY_BUCKETS_MS.len()],
    pub latency_count: AtomicU64,
    pub latency_sum_ms: AtomicU64,
    /// The age of the oldest event not delivered yet, as last measured (every
    /// [`GAUGE_EVERY`] by the running dispatcher); 0 when none waits.
    pub oldest_pending_ms: AtomicU64,
}

/// How often the running dispatcher measures the oldest pending event.
pub const GAUGE_EVERY: Duration = Duration::from_secs(5);

/// The upper bounds (ms) of the latency histogram's buckets.
pub const LATENCY_BUCKETS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000];

impl DispatchStats {
    fn observe(&self, status: DeliveryStatus, retried: bool, latency_ms: i64) {
        let counter = match status {
            DeliveryStatus::Succeeded => &self.succeeded,
            DeliveryStatus::Failed => &self.failed,
            DeliveryStatus::GaveUp => &self.gave_up,
            DeliveryStatus::Pending if retried => &self.retried,
            DeliveryStatus::Pending => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let ms = u64::try_from(latency_ms).unwrap_or(0);
        for (bound, bucket) in LATENCY_BUCKETS_MS.iter().zip(&self.latency_buckets) {
            if ms <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The dispatcher of one process.
#[derive(Clone)]
pub struct Dispatcher {
    db: Db,
    keyring: Arc<Keyring>,
    sender: Sender,
    /// This process's name in the leases it holds.
    node: String,
    max_in_flight: usize,
    stats: Arc<DispatchStats>,
    /// A fixed jitter for tests (`Some(0.0)`); `None`: random in ±20 %.
    jitter: Option<f64>,
}

impl Dispatcher {
    /// A dispatcher over `db`, sending to destinations `policy` allows.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(db: Db, keyring: Arc<Keyring>, policy: DestinationPolicy, max_in_flight: usize) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            keyring,
            sender: Sender::new(policy)?,
            node: format!("node-{}", domain::ids::new_id().simple()),
            max_in_flight: max_in_flight.max(1),
            stats: Arc::default(),
            jitter: None,
        })
    }

    /// The same dispatcher counting into `stats` (the server's, shown by `/metrics`).
    #[must_use]
    pub fn with_stats(mut self, stats: Arc<DispatchStats>) -> Self {
        self.stats = stats;
        self
    }

    /// The same dispatcher with a fixed jitter (tests: `0.0` makes the schedule exact).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// This process's delivery counters.
    #[must_use]
    pub fn stats(&self) -> Arc<DispatchStats> {
        Arc::clone(&self.stats)
    }

    /// The age of the oldest event not delivered yet (fan-out or delivery pending).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn oldest_pending_age(&self) -> Result<Option<Duration>, RepoError> {
        let now = to_millis(OffsetDateTime::now_utc());
        Ok(store::oldest_pending(&self.db)
            .await?
            .map(|at| Duration::from_millis(u64::try_from(now.saturating_sub(at)).unwrap_or(0))))
    }

    /// Fans out every event written so far.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn fan_out(&self) -> Result<FanOut, RepoError> {
        let mut total = FanOut::default();
        loop {
            let now = to_millis(OffsetDateTime::now_utc());
            let done = store::fan_out(&self.db, now, FAN_OUT_BATCH).await?;
            total.events += done.events;
            total.deliveries += done.deliveries;
            if done.events < usize::try_from(FAN_OUT_BATCH).unwrap_or(usize::MAX) {
                return Ok(total);
            }
        }
    }

    /// One pass, in the caller's task: fans out, then sends every due delivery of every
    /// endpoint it can claim, until none is due. For tests and `ldbds webhooks dispatch`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn run_until_idle(&self) -> Result<(), RepoError> {
        let (_keep, stop) = watch::channel(false);
        loop {
            self.fan_out().await?;
            let claimed = self.claim(self.max_in_flight).await?;
            if claimed.is_empty() {
                return Ok(());
            }
            for endpoint in claimed {
                self.serve(endpoint, stop.clone()).await;
            }
        }
    }

    /// Starts the dispatcher's loop; `listen_url` (PostgreSQL) also wakes it on other
    /// nodes' `NOTIFY`.
    #[must_use]
    pub fn spawn(self, listen_url: Option<String>) -> DispatcherHandle {
        let (stop_tx, stop) = watch::channel(false);
        let listener = listen_url.map(|url| spawn_wake_listener(url, Arc::clone(self.db.outbox_signal())));
        let task = tokio::spawn(crate::statements::scoped(USE_CASE, self.run(stop)));
        DispatcherHandle { stop: stop_tx, task, listener }
    }

    async fn claim(&self, room: usize) -> Result<Vec<store::Claimed>, RepoError> {
        let now = OffsetDateTime::now_utc();
        let until = to_millis(now + LEASE);
        store::claim(&self.db, &self.keyring, &self.node, to_millis(now), until, room).await
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut wakeups = self.db.outbox_signal().subscribe();
        // An endpoint is served by one task at a time: the lease (in the database) is
        // held from the claim until that task's last statement, so a claim never returns
        // an endpoint a task of this node is still serving.
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut measured = std::time::Instant::now().checked_sub(GAUGE_EVERY).unwrap_or_else(std::time::Instant::now);
        loop {
            if *stop.borrow() {
                break;
            }
            if measured.elapsed() >= GAUGE_EVERY {
                measured = std::time::Instant::now();
                match self.oldest_pending_age().await {
                    Ok(age) => {
                        let ms = age.map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
                        self.stats.oldest_pending_ms.store(ms, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "measuring the oldest pending event failed"),
                }
            }
            if let Err(e) = self.fan_out().await {
                tracing::warn!(error = %e, "webhook fan-out failed; retrying");
            }
            let room = self.max_in_flight.saturating_sub(in_flight.len());
            if room > 0 {
                match self.claim(room).await {
                    Ok(claimed) => {
                        for endpoint in claimed {
                            let this = self.clone();
                            let stop = stop.clone();
                            in_flight.spawn(crate::statements::scoped(USE_CASE, async move {
                                this.serve(endpoint, stop).await;
                            }));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook endpoints failed; retrying"),
                }
            }
            tokio::select! {
                () = wakeups.woken() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Sends `endpoint`'s due deliveries, round after round, while this node holds its
    /// lease; gives the lease back at the end.
    async fn serve(&self, endpoint: store::Claimed, stop: watch::Receiver<bool>) {
        if let Err(e) = self.rounds(&endpoint, &stop).await {
            tracing::warn!(error = %e, endpoint = %endpoint.id, "webhook delivery round failed");
        }
        if let Err(e) = store::release(&self.db, &endpoint.id, &self.node).await {
            tracing::warn!(error = %e, endpoint = %endpoint.id, "releasing a webhook endpoint failed");
        }
    }

    async fn rounds(&self, endpoint: &store::Claimed, stop: &watch::Receiver<bool>) -> Result<(), RepoError> {
        let secrets: Vec<&crate::webhook_signature::WebhookSecret> = endpoint.secrets.iter().collect();
        let mut renewed = std::time::Instant::now();
        loop {
            let now = to_millis(OffsetDateTime::now_utc());
            let due = store::due(&self.db, &self.keyring, &endpoint.id, now, ROUND).await?;
            if due.is_empty() {
                return Ok(());
            }
            let mut round = Vec::with_capacity(due.len());
            let mut ended = false;
            for delivery in due {
                if *stop.borrow() {
                    break;
                }
                if renewed.elapsed() >= RENEW_AFTER {
                    let until = to_millis(OffsetDateTime::now_utc() + LEASE);
                    if !store::renew(&self.db, &endpoint.id, &self.node, until).await? {
                        ended = true;
                        break;
                    }
                    renewed = std::time::Instant::now();
                }
                let (sent, next) = self.attempt(endpoint, &secrets, delivery).await;
                round.push(sent);
                if matches!(next, Next::EndRound) {
                    ended = true;
                    break;
                }
            }
            let gone = round.iter().any(|r| r.verdict == Some(Verdict::Gone));
            let now = OffsetDateTime::now_utc();
            let failing_since = store::record_round(&self.db, &endpoint.id, &round, to_millis(now)).await?;
            if gone {
                store::disable(&self.db, &self.keyring, &endpoint.id, "GONE", to_millis(now)).await?;
                return Ok(());
            }
            if failing_too_long(failing_since.map(from_millis), now) {
                store::disable(&self.db, &self.keyring, &endpoint.id, "FAILING", to_millis(now)).await?;
                return Ok(());
            }
            if ended || *stop.borrow() {
                return Ok(());
            }
        }
    }

    /// Sends one delivery (or gives it up unsent when it is past its three days) and
    /// judges the answer; nothing is written here (the round is recorded at once).
    async fn attempt(
        &self,
        endpoint: &store::Claimed,
        secrets: &[&crate::webhook_signature::WebhookSecret],
        delivery: store::Due,
    ) -> (store::Sent, Next) {
        let event_at = from_millis(delivery.event_created_at);
        let started = OffsetDateTime::now_utc();
        if started - event_at > domain::webhooks::GIVE_UP_AFTER {
            // Waited past the give-up time (the endpoint was disabled meanwhile): not sent.
            self.stats.gave_up.fetch_add(1, Ordering::Relaxed);
            let sent = store::Sent {
                delivery: delivery.id,
                attempt: delivery.attempt,
                status: DeliveryStatus::GaveUp,
                verdict: None,
                response_status: None,
                latency_ms: None,
                error: Some("expired before it could be sent".to_owned()),
                next_attempt_at: None,
            };
            return (sent, Next::Continue);
        }
        let attempt = self.sender.send(&endpoint.url, &delivery.event_id, delivery.body, secrets).await;
        let now = OffsetDateTime::now_utc();
        let failures = delivery.attempt + 1;
        let verdict = judge(attempt.response);
        let (status, next, after) = match verdict {
            Verdict::Succeeded => (DeliveryStatus::Succeeded, None, Next::Continue),
            Verdict::Failed => (DeliveryStatus::Failed, None, Next::Continue),
            Verdict::Gone => (DeliveryStatus::GaveUp, None, Next::EndRound),
            Verdict::Retry => match next_attempt(event_at, now, failures, self.jitter()) {
                Some(at) => (DeliveryStatus::Pending, Some(to_millis(at)), Next::EndRound),
                None => (DeliveryStatus::GaveUp, None, Next::EndRound),
            },
        };
        self.stats.observe(status, verdict == Verdict::Retry, attempt.latency_ms);
        let sent = store::Sent {
            delivery: delivery.id,
            attempt: failures,
            status,
            verdict: Some(verdict),
            response_status: match attempt.response {
                Response::Status(s) => Some(s),
                Response::Timeout | Response::Unreachable => None,
            },
            latency_ms: Some(attempt.latency_ms),
            error: attempt.error.map(|e| e.chars().take(ERROR_CHARS).collect()),
            next_attempt_at: next,
        };
        (sent, after)
    }

    fn jitter(&self) -> f64 {
        self.jitter.unwrap_or_else(|| {
            let mut byte = [0u8; 2];
            // The jitter only spreads retries; a failed random read spreads none.
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
            let unit = f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX);
            (unit * 2.0 - 1.0) * domain::webhooks::MAX_JITTER
        })
    }
}

enum Next {
    Continue,
    EndRound,
}

/// The running dispatcher.
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl DispatcherHandle {
    /// Claims nothing more, and returns once the deliveries in flight are recorded.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(listener) = &self.listener {
            listener.abort();
        }
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the webhook dispatcher ended abnormally");
        }
    }
}

/// Wakes this process's dispatcher on every `NOTIFY ldbds_outbox`, reconnecting with a
/// backoff when the connection drops.
fn spawn_wake_listener(url: String, signal: Arc<crate::outbox::OutboxSignal>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match sea_orm::sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "the outbox listener cannot listen; retrying");
                    } else {
                        backoff = Duration::from_millis(100);
                        // Whatever was announced while no one listened: look now.
                        signal.wake();
                        while let Ok(Some(_)) = listener.try_recv().await {
                            signal.wake();
                        }
                        tracing::warn!("the outbox listener lost its connection; reconnecting");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the outbox listener cannot connect; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    })
}
