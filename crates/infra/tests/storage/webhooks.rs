//! Webhook endpoints on real databases (issue #16, `events.md` "Endpoints"): secrets and
//! descriptions sealed, every statement scoped to the org, the delivery log newest
//! first, a retry conditional on the status it read, deletion cascading to deliveries;
//! and the destination check with the system's resolver.

use std::sync::Arc;

use domain::pagination::PageRequest;
use domain::webhooks::{
    DISABLED_BY_ORG, DeliveryStatus, EndpointChange, EndpointStatus, NewEndpoint, ROTATION_OVERLAP, RetryOutcome,
    StatusChange, Subscription, may_retry,
};
use infra::crypto::{WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET};
use infra::webhook_destination::DestinationPolicy;
use infra::webhooks::{SeaWebhookRepository, SystemResolver, WebhookDestinations};
use sea_orm::{ConnectionTrait, Statement};
use testkit::{Backend, TestDb};
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test;
    an_endpoint_round_trips_and_no_secret_or_description_is_stored_in_plain_text => sealed_body;
    another_orgs_endpoint_is_never_read_changed_or_deleted => scoped_body;
    deliveries_list_newest_first_retry_by_status_and_go_with_their_endpoint => deliveries_body;
}

const DESCRIPTION: &str = "CRM 연동 canary-7f3e";

async fn world(db: &TestDb) -> (SeaWebhookRepository, Arc<infra::crypto::Keyring>, Uuid) {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    (SeaWebhookRepository::new(db.db.clone(), Arc::clone(&keyring)), keyring, org)
}

fn new_endpoint(org: Uuid, description: Option<&str>) -> NewEndpoint {
    NewEndpoint {
        org_id: org,
        url: "https://hooks.example.com/ldbds".to_owned(),
        subscription: Subscription::parse(&["lead.assigned", "order.completed"]).unwrap(),
        description: description.map(str::to_owned),
    }
}

/// The millisecond-truncated instant (what the columns keep).
fn now() -> OffsetDateTime {
    infra::from_millis(infra::to_millis(OffsetDateTime::now_utc()))
}

async fn one_row(db: &TestDb, sql: &str) -> sea_orm::QueryResult {
    db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap().unwrap()
}

async fn exec(db: &TestDb, sql: &str) {
    db.db.conn().execute_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The database as the disk (SQLite: file, WAL) or the server (PostgreSQL: a dump) holds it.
async fn dump(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            db.db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            ["", "-wal", "-shm"].iter().filter_map(|s| std::fs::read(format!("{path}{s}")).ok()).flatten().collect()
        }
        Backend::Postgres => {
            let out =
                std::process::Command::new("pg_dump").arg("--data-only").arg(&db.url).output().expect("pg_dump runs");
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

async fn sealed_body(db: TestDb) {
    let (repo, keyring, org) = world(&db).await;
    let at = now();
    let (created, secret) = repo.create(&new_endpoint(org, Some(DESCRIPTION)), at).await.unwrap();
    let first = secret.expose().clone();
    assert!(first.starts_with("whsec_"));
    assert_eq!(created.description.as_deref(), Some(DESCRIPTION));
    assert_eq!((created.status, created.created_at), (EndpointStatus::Enabled, at));
    assert_eq!(repo.get(org, created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(repo.list(org).await.unwrap(), vec![created.clone()]);

    let rotated = repo.rotate_secret(org, created.id, at + ROTATION_OVERLAP, at).await.unwrap().unwrap();
    let second = rotated.expose().clone();
    assert_ne!(first, second);

    let id = created.id.to_string();
    let row = one_row(
        &db,
        &format!(
            "SELECT secret, secret_enc, previous_secret, previous_secret_enc, previous_secret_until, description \
             FROM webhook_endpoints WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(row.try_get::<String>("", "secret").unwrap(), "");
    assert_eq!(row.try_get::<Option<String>>("", "previous_secret").unwrap(), None);
    assert_eq!(row.try_get::<Option<String>>("", "description").unwrap(), None);
    assert_eq!(
        row.try_get::<Option<i64>>("", "previous_secret_until").unwrap(),
        Some(infra::to_millis(at) + 86_400_000)
    );
    let sealed: Option<Vec<u8>> = row.try_get("", "secret_enc").unwrap();
    let opened = WEBHOOK_SECRET.open(&keyring, &id, sealed.as_deref(), Some("")).unwrap();
    assert_eq!(opened.as_deref(), Some(second.as_str()), "the current secret is the rotated one");
    let sealed: Option<Vec<u8>> = row.try_get("", "previous_secret_enc").unwrap();
    let opened = WEBHOOK_PREVIOUS_SECRET.open(&keyring, &id, sealed.as_deref(), None).unwrap();
    assert_eq!(opened.as_deref(), Some(first.as_str()), "the old secret is kept as the previous one");

    let bytes = dump(&db).await;
    for needle in [first.as_str(), second.as_str(), &first[6..], &second[6..], DESCRIPTION, "canary-7f3e"] {
        assert!(!contains(&bytes, needle), "{needle} found in plain text on {:?}", db.backend);
    }

    let change = EndpointChange {
        url: Some("https://hooks.example.com/v2".to_owned()),
        subscription: Some(Subscription::All),
        description: Some(None),
        status: Some(StatusChange::Disable { reason: DISABLED_BY_ORG }),
    };
    let changed = repo.update(org, created.id, &change, at).await.unwrap().unwrap();
    assert_eq!(changed.url, "https://hooks.example.com/v2");
    assert_eq!(changed.subscription, Subscription::All);
    assert_eq!(changed.description, None);
    assert_eq!(changed.status, EndpointStatus::Disabled);
    assert_eq!((changed.disabled_reason.as_deref(), changed.disabled_at), (Some(DISABLED_BY_ORG), Some(at)));
    let later = at + time::Duration::minutes(5);
    let again = EndpointChange { status: Some(StatusChange::Disable { reason: "other" }), ..EndpointChange::default() };
    let kept = repo.update(org, created.id, &again, later).await.unwrap().unwrap();
    assert_eq!((kept.disabled_reason.as_deref(), kept.disabled_at), (Some(DISABLED_BY_ORG), Some(at)));
    exec(&db, &format!("UPDATE webhook_endpoints SET failing_since = 1 WHERE id = '{id}'")).await;
    let enable = EndpointChange { status: Some(StatusChange::Enable), ..EndpointChange::default() };
    let enabled = repo.update(org, created.id, &enable, later).await.unwrap().unwrap();
    assert_eq!(enabled.status, EndpointStatus::Enabled);
    assert_eq!((enabled.disabled_reason, enabled.disabled_at, enabled.failing_since), (None, None, None));
    assert_eq!(enabled.updated_at, later);
}

async fn scoped_body(db: TestDb) {
    let (repo, _, org) = world(&db).await;
    let at = now();
    let (created, _) = repo.create(&new_endpoint(org, None), at).await.unwrap();
    let other = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let id = created.id;
    assert_eq!(repo.get(other, id).await.unwrap(), None);
    assert!(repo.list(other).await.unwrap().is_empty());
    let disable = EndpointChange { status: Some(StatusChange::Disable { reason: "x" }), ..EndpointChange::default() };
    assert_eq!(repo.update(other, id, &disable, at).await.unwrap(), None);
    assert!(repo.rotate_secret(other, id, at, at).await.unwrap().is_none());
    assert_eq!(repo.enqueue_ping(other, id, at).await.unwrap(), None);
    assert_eq!(repo.deliveries(other, id, PageRequest::default()).await.unwrap(), None);
    assert_eq!(repo.retry_delivery(other, id, "evt_x", may_retry, at).await.unwrap(), RetryOutcome::EndpointNotFound);
    assert!(!repo.delete(other, id).await.unwrap());
    assert_eq!(repo.get(org, id).await.unwrap(), Some(created), "unchanged");
    let row = one_row(&db, "SELECT COUNT(*) AS n FROM outbox_events").await;
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0);
}

/// Inserts the endpoint's delivery of `event` as the dispatcher would have.
async fn insert_delivery(db: &TestDb, endpoint: Uuid, event: &str, status: DeliveryStatus, event_at: i64) {
    let id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, event_created_at, status, attempt, \
         response_status, latency_ms, error, next_attempt_at, delivered_at, created_at, updated_at) VALUES \
         ('{id}', '{endpoint}', '{event}', 'ping', {event_at}, '{}', 2, 503, 41, 'http 503', NULL, NULL, {event_at}, \
         {event_at})",
        status.as_str()
    );
    exec(db, &sql).await;
}

async fn deliveries_body(db: TestDb) {
    let (repo, _, org) = world(&db).await;
    let at = now();
    let (created, _) = repo.create(&new_endpoint(org, None), at).await.unwrap();
    let id = created.id;
    let statuses = [DeliveryStatus::Succeeded, DeliveryStatus::Failed, DeliveryStatus::GaveUp, DeliveryStatus::Pending];
    let mut events = Vec::new();
    for (n, status) in statuses.into_iter().enumerate() {
        let event = repo.enqueue_ping(org, id, at).await.unwrap().unwrap();
        let row =
            one_row(&db, &format!("SELECT endpoint_id, event_type FROM outbox_events WHERE id = '{event}'")).await;
        assert_eq!(row.try_get::<Option<String>>("", "endpoint_id").unwrap(), Some(id.to_string()));
        assert_eq!(row.try_get::<String>("", "event_type").unwrap(), "ping");
        insert_delivery(&db, id, &event, status, 1_000 * (i64::try_from(n).unwrap() + 1)).await;
        events.push(event);
    }
    let page = repo.deliveries(org, id, PageRequest::parse(Some("1"), Some("3")).unwrap()).await.unwrap().unwrap();
    assert_eq!(page.total, 4);
    let shown: Vec<&str> = page.items.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(shown, [events[3].as_str(), events[2].as_str(), events[1].as_str()], "newest first");
    let d = &page.items[1];
    assert_eq!(
        (d.attempt, d.status, d.response_status, d.latency_ms),
        (2, DeliveryStatus::GaveUp, Some(503), Some(41))
    );
    assert_eq!(d.created_at, infra::from_millis(3_000));
    let rest = repo.deliveries(org, id, PageRequest::parse(Some("2"), Some("3")).unwrap()).await.unwrap().unwrap();
    assert_eq!(rest.items.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), [events[0].as_str()]);

    let retried = repo.retry_delivery(org, id, &events[0], may_retry, at).await.unwrap();
    assert_eq!(retried, RetryOutcome::Refused(DeliveryStatus::Succeeded));
    assert_eq!(
        repo.retry_delivery(org, id, "evt_unknown", may_retry, at).await.unwrap(),
        RetryOutcome::DeliveryNotFound
    );
    for event in &events[1..] {
        assert_eq!(repo.retry_delivery(org, id, event, may_retry, at).await.unwrap(), RetryOutcome::Requeued);
    }
    let page = repo.deliveries(org, id, PageRequest::default()).await.unwrap().unwrap();
    for d in &page.items {
        if d.event_id == events[0] {
            assert_eq!(d.status, DeliveryStatus::Succeeded);
        } else {
            assert_eq!((d.status, d.next_attempt_at), (DeliveryStatus::Pending, Some(at)), "{}", d.event_id);
        }
    }

    assert!(repo.delete(org, id).await.unwrap());
    let row = one_row(&db, "SELECT COUNT(*) AS n FROM webhook_deliveries").await;
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "the deliveries went with their endpoint");
    assert_eq!(repo.get(org, id).await.unwrap(), None);
}

#[tokio::test]
async fn a_name_is_checked_on_the_addresses_it_resolves_to() {
    let production = WebhookDestinations::new(DestinationPolicy::PRODUCTION, SystemResolver);
    for (url, reason) in [
        ("https://localhost/hook", "must not point at a loopback address"),
        ("https://127.0.0.1/hook", "must not point at a loopback address"),
        ("http://93.184.215.14/hook", "must use https"),
        ("https://no-such-host.invalid/hook", "must name a host that resolves"),
    ] {
        assert_eq!(production.check(url).await.unwrap_err().0, reason, "{url}");
    }
    assert_eq!(production.check("https://93.184.215.14/hook").await.unwrap(), "https://93.184.215.14/hook");
    let development = WebhookDestinations::new(DestinationPolicy::LOOPBACK_ALLOWED, SystemResolver);
    assert_eq!(development.check("http://localhost:8089/hook").await.unwrap(), "http://localhost:8089/hook");
    assert_eq!(development.check("https://10.0.0.1/").await.unwrap_err().0, "must not point at a private address");
}
