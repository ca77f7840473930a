//! The webhook dispatcher on real databases (issue #16): events written in a transaction
//! reach the subscribed endpoints signed (verified by the independent `standardwebhooks`
//! crate), retries keep the event id, 410 and 4xx end a delivery as `events.md` says, a
//! rolled-back change sends nothing, destinations are checked at send time, and two
//! dispatchers on one database never send an event twice.

use std::sync::Arc;
use std::time::Duration;

use domain::events::{Event, OrderCompleted, Ping};
use infra::crypto::{Keyring, WEBHOOK_SECRET};
use infra::outbox::{self, Outgoing};
use infra::webhook_destination::DestinationPolicy;
use infra::webhook_dispatch::Dispatcher;
use infra::webhook_signature::WebhookSecret;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use testkit::TestDb;
use testkit::receiver::Receiver;
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    an_event_reaches_its_subscribers_signed_and_only_them => delivered_body;
    a_retry_keeps_the_event_id_and_follows_the_schedule => retry_body;
    gone_disables_the_endpoint_and_tells_the_org => gone_body;
    a_rolled_back_change_sends_nothing => rollback_body;
    a_refused_destination_is_never_connected_to => ssrf_body;
    two_dispatchers_never_send_an_event_twice => two_nodes_body;
    a_receiver_down_then_up_gets_every_event_once_in_order => down_up_body;
    five_days_of_failures_disable_the_endpoint => failing_body;
}

fn sql(backend: DbBackend, text: &str, values: Vec<Value>) -> Statement {
    let text = if backend == DbBackend::Postgres { text.to_owned() } else { text.replace('$', "?") };
    Statement::from_sql_and_values(backend, text, values)
}

struct World {
    db: TestDb,
    keyring: Arc<Keyring>,
    org: Uuid,
}

async fn world(db: TestDb) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    World { db, keyring: Arc::new(testkit::keyring()), org }
}

impl World {
    /// An enabled endpoint of `org` at `url` subscribed to `events` (stored form).
    async fn endpoint(&self, org: Uuid, url: &str, events: &str) -> (String, WebhookSecret) {
        let id = Uuid::now_v7().to_string();
        let secret = WebhookSecret::generate().unwrap();
        let sealed = WEBHOOK_SECRET.seal(&self.keyring, &id, &secret.expose()).unwrap();
        let now = infra::to_millis(OffsetDateTime::now_utc());
        let conn = self.db.db.conn();
        conn.execute_raw(sql(
            conn.get_database_backend(),
            "INSERT INTO webhook_endpoints (id, org_id, url, events, status, secret, secret_enc, secret_key_id, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 'ENABLED', '', $5, $6, $7, $7)",
            vec![
                id.as_str().into(),
                org.to_string().into(),
                url.into(),
                events.into(),
                sealed.envelope.into(),
                sealed.key_id.into(),
                now.into(),
            ],
        ))
        .await
        .unwrap();
        (id, secret)
    }

    async fn emit(&self, events: Vec<Outgoing>) {
        let txn = self.db.db.begin_write().await.unwrap();
        outbox::append(&txn, &self.keyring, &events).await.unwrap();
        txn.commit().await.unwrap();
    }

    fn order_completed(&self, n: u64) -> Event {
        let payload = OrderCompleted {
            order_id: Uuid::now_v7(),
            mohom_id: "member-1".into(),
            product_id: Uuid::now_v7(),
            delivered: n,
            completed_at: domain::events::event_time(OffsetDateTime::now_utc()),
        };
        Event::new(self.org, "mohom", &payload, OffsetDateTime::now_utc())
    }

    fn dispatcher(&self, policy: DestinationPolicy) -> Dispatcher {
        Dispatcher::new(self.db.db.clone(), Arc::clone(&self.keyring), policy, 8).unwrap().with_jitter(0.0)
    }

    async fn delivery(&self, endpoint: &str, event: &str) -> (String, i32, Option<i32>, Option<i64>, Option<String>) {
        let conn = self.db.db.conn();
        let row = conn
            .query_one_raw(sql(
                conn.get_database_backend(),
                "SELECT status, attempt, response_status, next_attempt_at, error FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND event_id = $2",
                vec![endpoint.into(), event.into()],
            ))
            .await
            .unwrap()
            .expect("a delivery row");
        (
            row.try_get("", "status").unwrap(),
            row.try_get("", "attempt").unwrap(),
            row.try_get("", "response_status").unwrap(),
            row.try_get("", "next_attempt_at").unwrap(),
            row.try_get("", "error").unwrap(),
        )
    }

    async fn endpoint_status(&self, endpoint: &str) -> (String, Option<String>) {
        let conn = self.db.db.conn();
        let row = conn
            .query_one_raw(sql(
                conn.get_database_backend(),
                "SELECT status, disabled_reason FROM webhook_endpoints WHERE id = $1",
                vec![endpoint.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        (row.try_get("", "status").unwrap(), row.try_get("", "disabled_reason").unwrap())
    }

    async fn make_due(&self) {
        let conn = self.db.db.conn();
        conn.execute_raw(sql(
            conn.get_database_backend(),
            "UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE status = 'PENDING'",
            vec![],
        ))
        .await
        .unwrap();
    }

    async fn count(&self, table: &str) -> i64 {
        let conn = self.db.db.conn();
        let row = conn
            .query_one_raw(sql(conn.get_database_backend(), &format!("SELECT COUNT(*) AS n FROM {table}"), vec![]))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }
}

fn verify(secret: &WebhookSecret, got: &testkit::receiver::Received) {
    let verifier = standardwebhooks::Webhook::new(&secret.expose()).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", got.webhook_id.parse().unwrap());
    headers.insert("webhook-timestamp", got.webhook_timestamp.parse().unwrap());
    headers.insert("webhook-signature", got.webhook_signature.parse().unwrap());
    verifier.verify(&got.body, &headers).expect("the independent verifier accepts the delivery");
}

async fn delivered_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    let (all, all_secret) = w.endpoint(w.org, &receiver.url("/all"), "*").await;
    let (only_leads, _) = w.endpoint(w.org, &receiver.url("/leads"), "lead.assigned").await;
    let other_org = infra::fixtures::org_id_by_code(w.db.db.conn(), "ldbds-operator").await.unwrap();
    if let Some(other) = other_org {
        w.endpoint(other, &receiver.url("/other"), "*").await;
    }
    let event = w.order_completed(3);
    w.emit(vec![event.clone().into()]).await;
    // A ping targets one endpoint, whatever it subscribes to.
    let ping = Event::new(w.org, "mohom", &Ping {}, OffsetDateTime::now_utc());
    w.emit(vec![Outgoing { event: ping.clone(), endpoint_id: Some(only_leads.parse().unwrap()) }]).await;

    w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED).run_until_idle().await.unwrap();

    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    let to_all = got.iter().find(|r| r.path == "/all").expect("the * endpoint got the event");
    assert_eq!(to_all.webhook_id, event.id);
    assert_eq!(to_all.body, event.body(), "the body is the stored envelope, byte for byte");
    assert_eq!(to_all.content_type, "application/json");
    verify(&all_secret, to_all);
    let to_leads = got.iter().find(|r| r.path == "/leads").expect("the ping reached its endpoint");
    assert_eq!(to_leads.webhook_id, ping.id);
    assert_eq!(w.delivery(&all, &event.id).await.0, "SUCCEEDED");
    assert_eq!(w.delivery(&only_leads, &ping.id).await.0, "SUCCEEDED");
    // Nothing left to do: a second pass sends nothing.
    w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED).run_until_idle().await.unwrap();
    assert_eq!(receiver.received().len(), 2);
}

async fn retry_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[503, 429]);
    let (endpoint, secret) = w.endpoint(w.org, &receiver.url("/hook"), "*").await;
    let event = w.order_completed(1);
    w.emit(vec![event.clone().into()]).await;
    let dispatcher = w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED);

    let before = infra::to_millis(OffsetDateTime::now_utc());
    dispatcher.run_until_idle().await.unwrap();
    let (status, attempt, response, next, error) = w.delivery(&endpoint, &event.id).await;
    assert_eq!((status.as_str(), attempt, response, error.as_deref()), ("PENDING", 1, Some(503), Some("http 503")));
    let wait = next.unwrap() - before;
    assert!((5_000..6_000).contains(&wait), "the first retry is due 5 s later: {wait} ms");

    w.make_due().await;
    dispatcher.run_until_idle().await.unwrap();
    let (status, attempt, response, next, _) = w.delivery(&endpoint, &event.id).await;
    assert_eq!((status.as_str(), attempt, response), ("PENDING", 2, Some(429)));
    assert!(next.unwrap() - before >= 30_000, "the second retry is due 30 s later");

    w.make_due().await;
    dispatcher.run_until_idle().await.unwrap();
    let (status, attempt, response, next, error) = w.delivery(&endpoint, &event.id).await;
    assert_eq!((status.as_str(), attempt, response, next, error), ("SUCCEEDED", 3, Some(200), None, None));
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.webhook_id == event.id), "one event id across retries");
    for r in &got {
        verify(&secret, r);
    }
}

async fn gone_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[410]);
    let (gone, _) = w.endpoint(w.org, &receiver.url("/gone"), "order.completed").await;
    let event = w.order_completed(1);
    w.emit(vec![event.clone().into()]).await;
    w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED).run_until_idle().await.unwrap();
    assert_eq!(w.delivery(&gone, &event.id).await.0, "GAVE_UP");
    // The org's other endpoint, made now, hears of it; a 400 there is final.
    let (watcher, _) = w.endpoint(w.org, &receiver.url("/watch"), "endpoint.disabled").await;
    let conn = w.db.db.conn();
    let row = conn
        .query_one_raw(sql(
            conn.get_database_backend(),
            "SELECT status, disabled_reason FROM webhook_endpoints WHERE id = $1",
            vec![gone.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "status").unwrap(), "DISABLED");
    assert_eq!(row.try_get::<String>("", "disabled_reason").unwrap(), "GONE");
    // The endpoint.disabled event was written before the watcher existed: it goes to the
    // endpoints enabled when it is fanned out, and fan-out ran already. A new event does.
    receiver.answer_with(&[400]);
    let later = w.order_completed(2);
    w.emit(vec![later.clone().into()]).await;
    w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED).run_until_idle().await.unwrap();
    assert_eq!(receiver.received().len(), 1, "a disabled endpoint is sent nothing; the watcher is not subscribed");
    assert_eq!(w.count("webhook_deliveries").await, 1);
    let _ = watcher;
}

async fn rollback_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    w.endpoint(w.org, &receiver.url("/hook"), "*").await;
    {
        let txn = w.db.db.begin_write().await.unwrap();
        outbox::append(&txn, &w.keyring, &[w.order_completed(1).into()]).await.unwrap();
        // Dropped without commit: the change and its event roll back together.
    }
    w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED).run_until_idle().await.unwrap();
    assert_eq!(w.count("outbox_events").await, 0);
    assert!(receiver.received().is_empty());
}

async fn ssrf_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    let (literal, _) = w.endpoint(w.org, &format!("https://127.0.0.1:{}/hook", receiver.addr.port()), "*").await;
    let (named, _) = w.endpoint(w.org, &format!("https://localhost:{}/hook", receiver.addr.port()), "*").await;
    let event = w.order_completed(1);
    w.emit(vec![event.clone().into()]).await;
    w.dispatcher(DestinationPolicy::PRODUCTION).run_until_idle().await.unwrap();
    for endpoint in [&literal, &named] {
        let (status, attempt, response, _, error) = w.delivery(endpoint, &event.id).await;
        assert_eq!((status.as_str(), attempt, response), ("PENDING", 1, None));
        assert!(error.unwrap().starts_with("destination refused"), "refused before any connection");
    }
    assert!(receiver.received().is_empty(), "nothing connected to loopback");
}

async fn two_nodes_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    let mut endpoints = vec![];
    for i in 0..4 {
        endpoints.push(w.endpoint(w.org, &receiver.url(&format!("/e{i}")), "*").await.0);
    }
    let events: Vec<Event> = (0..60).map(|i| w.order_completed(i)).collect();
    for chunk in events.chunks(10) {
        w.emit(chunk.iter().cloned().map(Outgoing::from).collect()).await;
    }
    let a = w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED);
    let b = w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED);
    let (ra, rb) = tokio::join!(a.run_until_idle(), b.run_until_idle());
    ra.unwrap();
    rb.unwrap();
    let got = receiver.wait_for(events.len() * endpoints.len(), Duration::from_secs(10)).await;
    assert_eq!(got.len(), events.len() * endpoints.len(), "every event to every endpoint, exactly once");
    let mut pairs: Vec<(String, String)> = got.iter().map(|r| (r.path.clone(), r.webhook_id.clone())).collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), got.len(), "no (endpoint, event) twice");
    for (i, _) in endpoints.iter().enumerate() {
        let ids: Vec<&str> = got.iter().filter(|r| r.path == format!("/e{i}")).map(|r| r.webhook_id.as_str()).collect();
        let expected: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, expected, "endpoint {i} received its events in order");
    }
}

async fn down_up_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = w.endpoint(w.org, &receiver.url("/hook"), "*").await;
    let events: Vec<Event> = (0..10).map(|i| w.order_completed(i)).collect();
    w.emit(events.iter().cloned().map(Outgoing::from).collect()).await;
    let dispatcher = w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED);

    // Down: every event is tried, fails, and waits for its retry; none holds the others.
    receiver.set_down(true);
    dispatcher.run_until_idle().await.unwrap();
    for event in &events {
        let (status, attempt, response, next, error) = w.delivery(&endpoint, &event.id).await;
        assert_eq!((status.as_str(), attempt, response), ("PENDING", 1, None), "{error:?}");
        assert!(next.is_some());
    }
    assert!(receiver.received().is_empty());
    let conn = w.db.db.conn();
    let failing = conn
        .query_one_raw(sql(
            conn.get_database_backend(),
            "SELECT failing_since, last_failure_at FROM webhook_endpoints WHERE id = $1",
            vec![endpoint.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(failing.try_get::<Option<i64>>("", "failing_since").unwrap().is_some());

    // Up again: once due, everything arrives, once each, in event order.
    receiver.set_down(false);
    w.make_due().await;
    dispatcher.run_until_idle().await.unwrap();
    let got = receiver.received();
    let ids: Vec<&str> = got.iter().map(|r| r.webhook_id.as_str()).collect();
    let expected: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, expected, "every event once, in order");
    for r in &got {
        verify(&secret, r);
    }
    for event in &events {
        assert_eq!(w.delivery(&endpoint, &event.id).await.0, "SUCCEEDED");
    }
    let healthy = conn
        .query_one_raw(sql(
            conn.get_database_backend(),
            "SELECT failing_since FROM webhook_endpoints WHERE id = $1",
            vec![endpoint.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(healthy.try_get::<Option<i64>>("", "failing_since").unwrap(), None, "a success ends the failing streak");
}

async fn failing_body(db: TestDb) {
    let w = world(db).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[503, 503]);
    let (endpoint, _) = w.endpoint(w.org, &receiver.url("/hook"), "*").await;
    let (watcher, _) = w.endpoint(w.org, &receiver.url("/watch"), "endpoint.disabled").await;
    let conn = w.db.db.conn();
    let backend = conn.get_database_backend();
    // Failing since four days and a half: one more failure keeps it enabled.
    let since = infra::to_millis(OffsetDateTime::now_utc() - time::Duration::hours(108));
    let set_since = |at: i64| {
        sql(
            backend,
            "UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2",
            vec![at.into(), endpoint.as_str().into()],
        )
    };
    conn.execute_raw(set_since(since)).await.unwrap();
    let first = w.order_completed(1);
    w.emit(vec![first.clone().into()]).await;
    let dispatcher = w.dispatcher(DestinationPolicy::LOOPBACK_ALLOWED);
    dispatcher.run_until_idle().await.unwrap();
    assert_eq!(w.endpoint_status(&endpoint).await, ("ENABLED".to_owned(), None));
    // Five days: the next failure disables it, and the org hears of it on its other
    // endpoint.
    conn.execute_raw(set_since(infra::to_millis(OffsetDateTime::now_utc() - time::Duration::days(5)))).await.unwrap();
    w.make_due().await;
    dispatcher.run_until_idle().await.unwrap();
    assert_eq!(w.endpoint_status(&endpoint).await, ("DISABLED".to_owned(), Some("FAILING".to_owned())));
    let to_watcher: Vec<_> = receiver.received().into_iter().filter(|r| r.path == "/watch").collect();
    assert_eq!(to_watcher.len(), 1, "endpoint.disabled reached the org's other endpoint");
    let body: serde_json::Value = serde_json::from_slice(&to_watcher[0].body).unwrap();
    assert_eq!(body["type"], "endpoint.disabled");
    assert_eq!(body["data"]["endpointId"], endpoint.as_str());
    assert_eq!(body["data"]["reason"], "FAILING");
    let _ = watcher;
}
