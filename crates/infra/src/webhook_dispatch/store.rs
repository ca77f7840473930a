//! The dispatcher's statements: fan-out, claims, due deliveries, outcomes.
//!
//! SQL is written once with `$n` parameters, numbered in order of first use, and given
//! to SQLite as `?n` (its explicit-index form), so both databases run the same text
//! apart from the PostgreSQL-only `FOR UPDATE SKIP LOCKED`.

use std::collections::{BTreeSet, HashMap};

use domain::error::RepoError;
use domain::events::{EndpointDisabled, Event, EventType, event_time};
use domain::ids::new_id;
use domain::webhooks::{DeliveryStatus, Subscription};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, QueryResult, Statement, Value};
use uuid::Uuid;

use crate::crypto::{Keyring, OUTBOX_BODY, WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET};
use crate::db::{Db, stmt};
use crate::entities::webhook_delivery;
use crate::error::{corrupt, unavailable};
use crate::from_millis;
use crate::outbox::{self, Outgoing};
use crate::update_rows::UpdateRows;
use crate::webhook_signature::WebhookSecret;

/// Delivery rows per insert (14 columns), under the bind limit.
const DELIVERIES_PER_INSERT: usize = crate::update_rows::MAX_VALUES_PER_STATEMENT / 14;

/// The PostgreSQL channel that wakes other nodes' dispatchers.
pub const CHANNEL: &str = "ldbds_outbox";

fn text(row: &QueryResult, column: &str) -> Result<String, RepoError> {
    row.try_get::<String>("", column).map_err(unavailable)
}

/// One write statement with `RETURNING`: on PostgreSQL sent alone (autocommit); on
/// SQLite inside a write transaction, so it queues on the process's write gate in turn
/// with the intakes instead of polling SQLite's lock through the busy timeout.
async fn write_returning(db: &Db, statement: Statement) -> Result<Vec<QueryResult>, RepoError> {
    if db.is_postgres() {
        return db.conn().query_all_raw(statement).await.map_err(unavailable);
    }
    let txn = db.begin_write().await.map_err(unavailable)?;
    let rows = txn.query_all_raw(statement).await.map_err(unavailable)?;
    txn.commit().await.map_err(unavailable)?;
    Ok(rows)
}

/// What one fan-out pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    pub events: usize,
    pub deliveries: usize,
}

struct Pending {
    id: String,
    org_id: String,
    event_type: String,
    endpoint_id: Option<String>,
    created_at: i64,
}

/// Takes up to `limit` events not fanned out yet (skipping those another node holds),
/// makes one `PENDING` delivery per subscribed, enabled endpoint of the event's org (or
/// the one endpoint a targeted event names) and marks the events fanned out: one
/// transaction.
pub(super) async fn fan_out(db: &Db, now: i64, limit: u64) -> Result<FanOut, RepoError> {
    let backend = db.backend();
    let txn = db.begin_write().await.map_err(unavailable)?;
    let rows = txn
        .query_all_raw(stmt(
            backend,
            "SELECT id, org_id, event_type, endpoint_id, created_at FROM outbox_events \
             WHERE fanned_out_at IS NULL ORDER BY created_at, id LIMIT $1{lock}",
            vec![Value::from(i64::try_from(limit).unwrap_or(i64::MAX))],
        ))
        .await
        .map_err(unavailable)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        events.push(Pending {
            id: text(row, "id")?,
            org_id: text(row, "org_id")?,
            event_type: text(row, "event_type")?,
            endpoint_id: row.try_get::<Option<String>>("", "endpoint_id").map_err(unavailable)?,
            created_at: row.try_get::<i64>("", "created_at").map_err(unavailable)?,
        });
    }
    if events.is_empty() {
        return Ok(FanOut::default());
    }
    let orgs: BTreeSet<&str> = events.iter().filter(|e| e.endpoint_id.is_none()).map(|e| e.org_id.as_str()).collect();
    let targets: BTreeSet<&str> = events.iter().filter_map(|e| e.endpoint_id.as_deref()).collect();
    let select = Query::select()
        .columns([Alias::new("id"), Alias::new("org_id"), Alias::new("events")])
        .from(Alias::new("webhook_endpoints"))
        .cond_where(
            Expr::col(Alias::new("status"))
                .eq("ENABLED")
                .and(Expr::col(Alias::new("org_id")).is_in(orgs.iter().copied()))
                .or(Expr::col(Alias::new("id")).is_in(targets.iter().copied())),
        )
        .to_owned();
    let mut by_org: HashMap<String, Vec<(String, Subscription)>> = HashMap::new();
    for row in txn.query_all(&select).await.map_err(unavailable)? {
        let id = text(&row, "id")?;
        let subscription =
            Subscription::from_stored(&text(&row, "events")?).map_err(|e| corrupt("webhook_endpoints", &id, e))?;
        by_org.entry(text(&row, "org_id")?).or_default().push((id, subscription));
    }
    let mut deliveries = Vec::new();
    for event in &events {
        let event_type: EventType = event.event_type.parse().map_err(|e| corrupt("outbox_events", &event.id, e))?;
        let endpoints: Vec<&str> = match &event.endpoint_id {
            Some(target) => vec![target.as_str()],
            None => by_org
                .get(&event.org_id)
                .map(|eps| eps.iter().filter(|(_, s)| s.includes(event_type)).map(|(id, _)| id.as_str()).collect())
                .unwrap_or_default(),
        };
        for endpoint in endpoints {
            deliveries.push(webhook_delivery::ActiveModel {
                id: Set(new_id().to_string()),
                endpoint_id: Set(endpoint.to_owned()),
                event_id: Set(event.id.clone()),
                event_type: Set(event.event_type.clone()),
                event_created_at: Set(event.created_at),
                status: Set(DeliveryStatus::Pending.as_str().to_owned()),
                attempt: Set(0),
                response_status: Set(None),
                latency_ms: Set(None),
                error: Set(None),
                next_attempt_at: Set(Some(now)),
                delivered_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    for chunk in deliveries.chunks(DELIVERIES_PER_INSERT) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([webhook_delivery::Column::EndpointId, webhook_delivery::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await
            .map_err(unavailable)?;
    }
    let deliveries = deliveries.len();
    let mark = Query::update()
        .table(Alias::new("outbox_events"))
        .value(Alias::new("fanned_out_at"), now)
        .and_where(Expr::col(Alias::new("id")).is_in(events.iter().map(|e| e.id.as_str())))
        .to_owned();
    txn.execute(&mark).await.map_err(unavailable)?;
    if deliveries > 0 && backend == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(backend, format!("NOTIFY {CHANNEL}"))).await.map_err(unavailable)?;
    }
    txn.commit().await.map_err(unavailable)?;
    Ok(FanOut { events: events.len(), deliveries })
}

/// An endpoint this node holds the lease of, with what it needs to sign.
pub(super) struct Claimed {
    pub id: String,
    pub url: String,
    /// The current secret first; the previous one while its overlap lasts.
    pub secrets: Vec<WebhookSecret>,
}

/// Leases up to `limit` enabled endpoints with due deliveries that no node holds, until
/// `until`.
pub(super) async fn claim(
    db: &Db,
    keyring: &Keyring,
    node: &str,
    now: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<Claimed>, RepoError> {
    let backend = db.backend();
    let rows = write_returning(
        db,
        stmt(
            backend,
            "UPDATE webhook_endpoints SET claimed_until = $1, claimed_by = $2 \
             WHERE id IN (SELECT e.id FROM webhook_endpoints e \
               WHERE e.status = 'ENABLED' AND (e.claimed_until IS NULL OR e.claimed_until < $3) \
               AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id \
                 AND d.status = 'PENDING' AND d.next_attempt_at <= $3) \
               ORDER BY e.id LIMIT $4{lock}) \
             RETURNING id, url, secret_enc, previous_secret_enc, previous_secret_until",
            vec![until.into(), node.into(), now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ),
    )
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let id = text(&row, "id")?;
        let open = |column: &str, sealed: crate::crypto::SealedText| -> Result<Option<WebhookSecret>, RepoError> {
            let envelope = row.try_get::<Option<Vec<u8>>>("", column).map_err(unavailable)?;
            let Some(plain) = sealed
                .open(keyring, &id, envelope.as_deref(), None)
                .map_err(|e| corrupt("webhook_endpoints", &id, e))?
            else {
                return Ok(None);
            };
            WebhookSecret::parse(&plain).map(Some).map_err(|e| corrupt("webhook_endpoints", &id, e))
        };
        let mut secrets = Vec::with_capacity(2);
        match open("secret_enc", WEBHOOK_SECRET)? {
            Some(current) => secrets.push(current),
            None => return Err(corrupt("webhook_endpoints", &id, "no secret")),
        }
        let overlap = row.try_get::<Option<i64>>("", "previous_secret_until").map_err(unavailable)?;
        if overlap.is_some_and(|until| until > now)
            && let Some(previous) = open("previous_secret_enc", WEBHOOK_PREVIOUS_SECRET)?
        {
            secrets.push(previous);
        }
        claimed.push(Claimed { url: text(&row, "url")?, id, secrets });
    }
    Ok(claimed)
}

/// Extends this node's lease of `endpoint`; `false` when it no longer holds it (disabled,
/// deleted, or taken over after the lease ran out).
pub(super) async fn renew(db: &Db, endpoint: &str, node: &str, until: i64) -> Result<bool, RepoError> {
    let done = write_returning(
        db,
        stmt(
            db.backend(),
            "UPDATE webhook_endpoints SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3 \
             AND status = 'ENABLED' RETURNING id",
            vec![until.into(), endpoint.into(), node.into()],
        ),
    )
    .await?;
    Ok(done.len() == 1)
}

/// Gives the lease of `endpoint` back.
pub(super) async fn release(db: &Db, endpoint: &str, node: &str) -> Result<(), RepoError> {
    write_returning(
        db,
        stmt(
            db.backend(),
            "UPDATE webhook_endpoints SET claimed_until = NULL, claimed_by = NULL WHERE id = $1 AND claimed_by = $2 \
             RETURNING id",
            vec![endpoint.into(), node.into()],
        ),
    )
    .await
    .map(|_| ())
}

/// A delivery due now, with the event's body opened.
pub(super) struct Due {
    pub id: String,
    pub event_id: String,
    pub attempt: u32,
    pub event_created_at: i64,
    pub body: Vec<u8>,
}

/// The due deliveries of `endpoint`, oldest event first.
pub(super) async fn due(
    db: &Db,
    keyring: &Keyring,
    endpoint: &str,
    now: i64,
    limit: u64,
) -> Result<Vec<Due>, RepoError> {
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.backend(),
            "SELECT d.id, d.event_id, d.attempt, d.event_created_at, o.body_enc, o.body \
             FROM webhook_deliveries d JOIN outbox_events o ON o.id = d.event_id \
             WHERE d.endpoint_id = $1 AND d.status = 'PENDING' AND d.next_attempt_at <= $2 \
             ORDER BY d.event_created_at, d.event_id LIMIT $3",
            vec![endpoint.into(), now.into(), i64::try_from(limit).unwrap_or(i64::MAX).into()],
        ))
        .await
        .map_err(unavailable)?;
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        let event_id = text(&row, "event_id")?;
        let envelope = row.try_get::<Option<Vec<u8>>>("", "body_enc").map_err(unavailable)?;
        let plain = row.try_get::<String>("", "body").map_err(unavailable)?;
        let body = OUTBOX_BODY
            .open(keyring, &event_id, envelope.as_deref(), Some(&plain))
            .map_err(|e| corrupt("outbox_events", &event_id, e))?
            .unwrap_or_default();
        due.push(Due {
            id: text(&row, "id")?,
            attempt: u32::try_from(row.try_get::<i32>("", "attempt").map_err(unavailable)?).unwrap_or(0),
            event_created_at: row.try_get::<i64>("", "event_created_at").map_err(unavailable)?,
            body: body.into_bytes(),
            event_id,
        });
    }
    Ok(due)
}

/// One delivery of a round, as it is recorded.
pub(super) struct Sent {
    pub delivery: String,
    /// Attempts made, this one included.
    pub attempt: u32,
    pub status: DeliveryStatus,
    /// `None`: given up unsent (past its three days).
    pub verdict: Option<domain::webhooks::Verdict>,
    pub response_status: Option<u16>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    /// The next attempt of a delivery still `PENDING`.
    pub next_attempt_at: Option<i64>,
}

/// Records a round's deliveries (each only if still `PENDING`) and the endpoint's health
/// in one write transaction: a success clears `failing_since`; a failure after the last
/// success sets it if unset. Returns `failing_since` afterwards.
pub(super) async fn record_round(db: &Db, endpoint: &str, round: &[Sent], now: i64) -> Result<Option<i64>, RepoError> {
    if round.is_empty() {
        return Ok(None);
    }
    let mut update = UpdateRows::new(
        "webhook_deliveries",
        &[
            "id",
            "was",
            "status",
            "attempt",
            "response_status",
            "latency_ms",
            "error",
            "next_attempt_at",
            "delivered_at",
            "updated_at",
        ],
    )
    .matching(&[("id", "id"), ("status", "was")])
    .setting(&[
        "status",
        "attempt",
        "response_status",
        "latency_ms",
        "error",
        "next_attempt_at",
        "delivered_at",
        "updated_at",
    ]);
    for sent in round {
        let delivered = (sent.status == DeliveryStatus::Succeeded).then_some(now);
        update.row(vec![
            sent.delivery.as_str().into(),
            DeliveryStatus::Pending.as_str().into(),
            sent.status.as_str().into(),
            i32::try_from(sent.attempt).unwrap_or(i32::MAX).into(),
            sent.response_status.map(i32::from).into(),
            sent.latency_ms.into(),
            sent.error.clone().into(),
            sent.next_attempt_at.into(),
            delivered.into(),
            now.into(),
        ]);
    }
    let attempted: Vec<&Sent> = round.iter().filter(|s| s.verdict.is_some()).collect();
    let succeeded = attempted.iter().any(|s| s.status == DeliveryStatus::Succeeded);
    // The round ends at a retried failure, so the last attempt tells the streak.
    let failed_last = attempted.last().is_some_and(|s| s.status != DeliveryStatus::Succeeded);
    let backend = db.backend();
    let txn = db.begin_write().await.map_err(unavailable)?;
    update.exec(&*txn).await?;
    let health = match (succeeded, failed_last) {
        (_, false) if succeeded => Some(stmt(
            backend,
            "UPDATE webhook_endpoints SET last_success_at = $1, failing_since = NULL WHERE id = $2 \
             RETURNING failing_since",
            vec![now.into(), endpoint.into()],
        )),
        (true, true) => Some(stmt(
            backend,
            "UPDATE webhook_endpoints SET last_success_at = $1, last_failure_at = $1, failing_since = $1 \
             WHERE id = $2 RETURNING failing_since",
            vec![now.into(), endpoint.into()],
        )),
        (false, true) => Some(stmt(
            backend,
            "UPDATE webhook_endpoints SET last_failure_at = $1, failing_since = COALESCE(failing_since, $1) \
             WHERE id = $2 RETURNING failing_since",
            vec![now.into(), endpoint.into()],
        )),
        _ => None,
    };
    let failing_since = match health {
        Some(statement) => txn
            .query_one_raw(statement)
            .await
            .map_err(unavailable)?
            .and_then(|r| r.try_get::<Option<i64>>("", "failing_since").ok().flatten()),
        None => None,
    };
    txn.commit().await.map_err(unavailable)?;
    Ok(failing_since)
}

/// Disables `endpoint` for `reason` and tells its org on its other endpoints
/// (`endpoint.disabled`), in one transaction; `false` if it was not enabled.
pub(super) async fn disable(
    db: &Db,
    keyring: &Keyring,
    endpoint: &str,
    reason: &str,
    now: i64,
) -> Result<bool, RepoError> {
    let backend = db.backend();
    let txn = db.begin_write().await.map_err(unavailable)?;
    let row = txn
        .query_one_raw(stmt(
            backend,
            "UPDATE webhook_endpoints SET status = 'DISABLED', disabled_reason = $1, disabled_at = $2, \
             updated_at = $2, claimed_until = NULL, claimed_by = NULL WHERE id = $3 AND status = 'ENABLED' \
             RETURNING org_id, url",
            vec![reason.into(), now.into(), endpoint.into()],
        ))
        .await
        .map_err(unavailable)?;
    let Some(row) = row else { return Ok(false) };
    let org_id = text(&row, "org_id")?;
    let url = text(&row, "url")?;
    let org = txn
        .query_one_raw(stmt(backend, "SELECT code FROM organizations WHERE id = $1", vec![org_id.as_str().into()]))
        .await
        .map_err(unavailable)?
        .ok_or_else(|| corrupt("webhook_endpoints", endpoint, "its org is gone"))?;
    let org_uuid = Uuid::parse_str(&org_id).map_err(|e| corrupt("webhook_endpoints", endpoint, e))?;
    let endpoint_id = Uuid::parse_str(endpoint).map_err(|e| corrupt("webhook_endpoints", endpoint, e))?;
    let at = from_millis(now);
    let payload = EndpointDisabled { endpoint_id, url, reason: reason.to_owned(), disabled_at: event_time(at) };
    let event = Event::new(org_uuid, &text(&org, "code")?, &payload, at);
    outbox::append(&txn, keyring, &[Outgoing::from(event)]).await?;
    txn.commit().await.map_err(unavailable)?;
    Ok(true)
}

/// The creation time of the oldest event not fanned out yet, or of the oldest pending
/// delivery, whichever is older (the `ldbds_webhook_oldest_pending_seconds` gauge).
pub(super) async fn oldest_pending(db: &Db) -> Result<Option<i64>, RepoError> {
    let row = db
        .conn()
        .query_one_raw(stmt(
            db.backend(),
            "SELECT MIN(t) AS oldest FROM (\
               SELECT MIN(created_at) AS t FROM outbox_events WHERE fanned_out_at IS NULL \
               UNION ALL SELECT MIN(event_created_at) AS t FROM webhook_deliveries WHERE status = 'PENDING') x",
            vec![],
        ))
        .await
        .map_err(unavailable)?;
    Ok(row.and_then(|r| r.try_get::<Option<i64>>("", "oldest").ok().flatten()))
}
