//! The webhook endpoint use cases over the in-memory ports: every rule of
//! `domain::service::webhooks` without a database or DNS.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Mutex;

use domain::error::FieldError;
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pagination::PageRequest;
use domain::pii::PersonName;
use domain::principal::{Credential, Principal};
use domain::reference::OrgKind;
use domain::service::webhooks::{EndpointInput, EndpointPatch, WebhookError, WebhookService};
use domain::webhooks::{DISABLED_BY_ORG, Delivery, DeliveryStatus, EndpointStatus, ROTATION_OVERLAP, Subscription};
use infra::webhook_destination::DestinationPolicy;
use testkit::memory::{FixedClock, MemoryDestinationGuard, MemoryWebhookRepository};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-12-03 09:00:00.250 UTC);
const HOOK: &str = "https://hooks.example.com/ldbds";

struct World {
    repo: MemoryWebhookRepository,
    guard: MemoryDestinationGuard,
    clock: FixedClock,
    org: Uuid,
}

fn key(org: Uuid) -> Principal {
    Principal {
        org_id: org,
        org_kind: OrgKind::Partner,
        credential: Credential::ApiKey { key_id: Uuid::nil() },
        acting: None,
    }
}

fn user(org: Uuid, kind: OrgKind, role: Role) -> Principal {
    let user = User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse("someone").unwrap(),
        role,
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: NOW,
        updated_at: NOW,
    };
    Principal { org_id: org, org_kind: kind, credential: Credential::Token { user_id: user.id }, acting: Some(user) }
}

fn events(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

impl World {
    fn new(policy: DestinationPolicy) -> Self {
        let hosts = [
            ("hooks.example.com", "93.184.215.14"),
            ("loopy.example.com", "127.0.0.1"),
            ("inside.example.com", "10.1.2.3"),
            ("metadata.example.com", "169.254.169.254"),
        ];
        Self {
            repo: MemoryWebhookRepository::default(),
            guard: MemoryDestinationGuard::new(policy, &hosts),
            clock: FixedClock(Mutex::new(NOW)),
            org: domain::ids::new_id(),
        }
    }

    fn production() -> Self {
        Self::new(DestinationPolicy::PRODUCTION)
    }

    fn service(&self) -> WebhookService<'_, MemoryWebhookRepository, MemoryDestinationGuard, FixedClock> {
        WebhookService::new(&self.repo, &self.guard, &self.clock)
    }

    async fn create(&self, url: &str, names: &[&str], description: Option<&str>) -> Result<Uuid, WebhookError> {
        let names = events(names);
        let input = EndpointInput { url, events: &names, description };
        self.service().create(&key(self.org), input).await.map(|(e, _)| e.id)
    }

    fn count(&self) -> usize {
        self.repo.endpoints.lock().unwrap().len()
    }
}

fn invalid(err: WebhookError) -> Vec<FieldError> {
    match err {
        WebhookError::Invalid(e) => e.0,
        other => panic!("not a validation refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_creation_returns_its_secret_once_and_the_endpoint_is_listed_without_it() {
    let w = World::production();
    let names = events(&["lead.assigned", "order.completed"]);
    let input = EndpointInput { url: HOOK, events: &names, description: Some("  CRM sync  ") };
    let (endpoint, secret) = w.service().create(&key(w.org), input).await.unwrap();
    assert!(secret.expose().starts_with("whsec_"), "{:?}", secret);
    assert_eq!(w.repo.stored(endpoint.id).secret, *secret.expose());
    assert_eq!(endpoint.status, EndpointStatus::Enabled);
    assert_eq!(endpoint.description.as_deref(), Some("CRM sync"));
    assert_eq!(endpoint.subscription.names(), vec!["lead.assigned", "order.completed"]);
    assert_eq!(endpoint.url, HOOK);
    assert_eq!(endpoint.created_at, NOW);
    let listed = w.service().list(&key(w.org)).await.unwrap();
    assert_eq!(listed, vec![endpoint.clone()]);
    assert_eq!(w.service().get(&key(w.org), endpoint.id).await.unwrap(), endpoint);
    assert!(!format!("{endpoint:?}").contains("CRM sync"), "the description never prints");
    let star = w.create(HOOK, &["*"], None).await.unwrap();
    assert_eq!(w.repo.stored(star).endpoint.subscription, Subscription::All);
}

#[tokio::test]
async fn an_unknown_event_type_is_refused_by_name_and_nothing_is_written() {
    let w = World::production();
    let problems = invalid(w.create(HOOK, &["lead.assigned", "lead.eaten"], None).await.unwrap_err());
    assert_eq!(problems, vec![FieldError::new("events", "unknown event type \"lead.eaten\"")]);
    for bad in [&[][..], &["*", "lead.assigned"][..], &["ping"][..]] {
        let problems = invalid(w.create(HOOK, bad, None).await.unwrap_err());
        assert_eq!(problems[0].field, "events", "{bad:?}");
    }
    assert_eq!(w.count(), 0);
}

#[tokio::test]
async fn the_production_policy_refuses_plain_http_and_every_non_public_destination() {
    let w = World::production();
    let table = [
        ("http://hooks.example.com/ldbds", "must use https"),
        ("https://127.0.0.1/hook", "must not point at a loopback address"),
        ("https://localhost/hook", "must not point at a loopback address"),
        ("https://loopy.example.com/hook", "must not point at a loopback address"),
        ("https://inside.example.com/hook", "must not point at a private address"),
        ("https://metadata.example.com/latest", "must not point at a link-local or metadata address"),
        ("https://[::1]/hook", "must not point at a loopback address"),
        ("https://nowhere.example.com/hook", "must name a host that resolves"),
        ("ftp://hooks.example.com/", "must use http or https"),
        ("https://user:pw@hooks.example.com/", "must not carry a user name or password"),
        ("not a url", "must be an absolute URL"),
    ];
    for (url, reason) in table {
        let problems = invalid(w.create(url, &["*"], None).await.unwrap_err());
        assert_eq!(problems, vec![FieldError::new("url", reason)], "{url}");
    }
    assert_eq!(w.count(), 0);
}

#[tokio::test]
async fn the_development_policy_lets_loopback_and_http_through_and_nothing_else() {
    let w = World::new(DestinationPolicy::LOOPBACK_ALLOWED);
    w.create("http://127.0.0.1:8089/hook", &["*"], None).await.unwrap();
    w.create("http://loopy.example.com/hook", &["*"], None).await.unwrap();
    let problems = invalid(w.create("http://inside.example.com/hook", &["*"], None).await.unwrap_err());
    assert_eq!(problems, vec![FieldError::new("url", "must not point at a private address")]);
}

#[tokio::test]
async fn a_description_holds_at_most_500_characters_and_every_bad_field_is_named_at_once() {
    let w = World::production();
    let longest = "가".repeat(500);
    let id = w.create(HOOK, &["*"], Some(&longest)).await.unwrap();
    assert_eq!(w.repo.stored(id).endpoint.description, Some(longest));
    let problems = invalid(w.create("http://x.example.com", &["nope"], Some(&"a".repeat(501))).await.unwrap_err());
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["events", "description", "url"]);
    assert_eq!(problems[1].reason, "must be at most 500 characters");
    assert_eq!(w.count(), 1);
}

#[tokio::test]
async fn the_key_an_admin_and_a_leader_manage_webhooks_and_no_one_else() {
    let w = World::production();
    let input_names = events(&["*"]);
    let input = EndpointInput { url: HOOK, events: &input_names, description: None };
    for allowed in [
        key(w.org),
        user(w.org, OrgKind::Partner, Role::Leader),
        user(w.org, OrgKind::Operator, Role::Admin),
        Principal { credential: Credential::Cli, ..key(w.org) },
    ] {
        w.service().create(&allowed, input).await.unwrap();
    }
    for refused in [user(w.org, OrgKind::Partner, Role::Member), user(w.org, OrgKind::Operator, Role::CsManager)] {
        assert!(matches!(w.service().create(&refused, input).await, Err(WebhookError::Forbidden)));
        assert!(matches!(w.service().list(&refused).await, Err(WebhookError::Forbidden)));
    }
    assert_eq!(w.count(), 4);
}

#[tokio::test]
async fn another_orgs_endpoint_is_not_found_by_every_call() {
    let w = World::production();
    let id = w.create(HOOK, &["*"], None).await.unwrap();
    let stranger = key(domain::ids::new_id());
    let s = w.service();
    let not_found = |r: Result<(), WebhookError>| assert!(matches!(r, Err(WebhookError::NotFound)), "{r:?}");
    not_found(s.get(&stranger, id).await.map(|_| ()));
    let patch = EndpointPatch { status: Some("DISABLED"), ..EndpointPatch::default() };
    not_found(s.update(&stranger, id, patch).await.map(|_| ()));
    not_found(s.update(&stranger, id, EndpointPatch::default()).await.map(|_| ()));
    not_found(s.rotate_secret(&stranger, id).await.map(|_| ()));
    not_found(s.ping(&stranger, id).await.map(|_| ()));
    not_found(s.deliveries(&stranger, id, PageRequest::default()).await.map(|_| ()));
    not_found(s.retry(&stranger, id, "evt_x").await);
    not_found(s.delete(&stranger, id).await);
    assert!(s.list(&stranger).await.unwrap().is_empty());
    let kept = w.repo.stored(id);
    assert_eq!(kept.endpoint.status, EndpointStatus::Enabled);
    assert!(kept.previous_secret.is_none());
    assert!(w.repo.pings.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rotation_returns_a_new_secret_and_keeps_the_old_one_for_24_hours() {
    let w = World::production();
    let id = w.create(HOOK, &["*"], None).await.unwrap();
    let old = w.repo.stored(id).secret;
    let new = w.service().rotate_secret(&key(w.org), id).await.unwrap();
    let stored = w.repo.stored(id);
    assert_ne!(*new.expose(), old);
    assert_eq!(stored.secret, *new.expose());
    assert_eq!(stored.previous_secret, Some(old));
    assert_eq!(stored.previous_secret_until, Some(NOW + ROTATION_OVERLAP));
    assert_eq!(ROTATION_OVERLAP, Duration::hours(24));
}

#[tokio::test]
async fn a_test_call_enqueues_a_ping_for_that_endpoint_only() {
    let w = World::production();
    let id = w.create(HOOK, &["lead.assigned"], None).await.unwrap();
    let event_id = w.service().ping(&key(w.org), id).await.unwrap();
    let pings = w.repo.pings.lock().unwrap();
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].0, id);
    assert_eq!(pings[0].1.id, event_id);
    assert_eq!(pings[0].1.event_type.as_str(), "ping");
    assert!(event_id.starts_with("evt_"));
}

#[tokio::test]
async fn a_change_applies_the_fields_given_and_status_moves_the_disabled_reason() {
    let w = World::production();
    let id = w.create(HOOK, &["*"], Some("first")).await.unwrap();
    let s = w.service();
    let names = events(&["as.decided"]);
    let patch = EndpointPatch {
        url: Some("https://hooks.example.com/v2"),
        events: Some(&names),
        description: Some("  "),
        status: Some("DISABLED"),
    };
    let changed = s.update(&key(w.org), id, patch).await.unwrap();
    assert_eq!(changed.url, "https://hooks.example.com/v2");
    assert_eq!(changed.subscription.names(), ["as.decided"]);
    assert_eq!(changed.description, None, "a blank description clears it");
    assert_eq!(changed.status, EndpointStatus::Disabled);
    assert_eq!(changed.disabled_reason.as_deref(), Some(DISABLED_BY_ORG));
    assert_eq!(changed.disabled_at, Some(NOW));

    w.repo.endpoints.lock().unwrap()[0].endpoint.failing_since = Some(NOW - Duration::days(6));
    let enable = EndpointPatch { status: Some("ENABLED"), ..EndpointPatch::default() };
    let enabled = s.update(&key(w.org), id, enable).await.unwrap();
    assert_eq!(enabled.status, EndpointStatus::Enabled);
    assert_eq!((enabled.disabled_reason, enabled.disabled_at, enabled.failing_since), (None, None, None));

    let bad = EndpointPatch { status: Some("PAUSED"), url: Some("https://10.0.0.1/"), ..EndpointPatch::default() };
    let problems = invalid(s.update(&key(w.org), id, bad).await.unwrap_err());
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["status", "url"]);
    assert_eq!(w.repo.stored(id).endpoint.url, "https://hooks.example.com/v2", "nothing was written");
}

fn delivery(event: &str, status: DeliveryStatus, minutes_ago: i64) -> Delivery {
    Delivery {
        event_id: event.to_owned(),
        event_type: "lead.assigned".to_owned(),
        attempt: 1,
        status,
        response_status: Some(500),
        latency_ms: Some(12),
        next_attempt_at: None,
        created_at: NOW - Duration::minutes(minutes_ago),
    }
}

#[tokio::test]
async fn a_succeeded_delivery_is_not_retried_and_any_other_is_due_now() {
    let w = World::production();
    let id = w.create(HOOK, &["*"], None).await.unwrap();
    w.repo.add_delivery(id, delivery("evt_ok", DeliveryStatus::Succeeded, 3));
    w.repo.add_delivery(id, delivery("evt_failed", DeliveryStatus::Failed, 2));
    w.repo.add_delivery(id, delivery("evt_gave_up", DeliveryStatus::GaveUp, 4));
    w.repo.add_delivery(id, delivery("evt_waiting", DeliveryStatus::Pending, 1));
    let s = w.service();
    let refused = s.retry(&key(w.org), id, "evt_ok").await;
    assert!(matches!(refused, Err(WebhookError::AlreadySucceeded { ref event_id }) if event_id == "evt_ok"));
    assert!(matches!(s.retry(&key(w.org), id, "evt_unknown").await, Err(WebhookError::DeliveryNotFound)));
    for event in ["evt_failed", "evt_gave_up", "evt_waiting"] {
        s.retry(&key(w.org), id, event).await.unwrap();
    }
    let page = s.deliveries(&key(w.org), id, PageRequest::default()).await.unwrap();
    let order: Vec<(&str, DeliveryStatus)> = page.items.iter().map(|d| (d.event_id.as_str(), d.status)).collect();
    assert_eq!(
        order,
        [
            ("evt_waiting", DeliveryStatus::Pending),
            ("evt_failed", DeliveryStatus::Pending),
            ("evt_ok", DeliveryStatus::Succeeded),
            ("evt_gave_up", DeliveryStatus::Pending),
        ]
    );
    assert!(page.items.iter().filter(|d| d.status == DeliveryStatus::Pending).all(|d| d.next_attempt_at == Some(NOW)));
    let second = s.deliveries(&key(w.org), id, PageRequest::parse(Some("2"), Some("3")).unwrap()).await.unwrap();
    assert_eq!((second.total, second.items.len()), (4, 1));
}

#[tokio::test]
async fn a_deletion_removes_the_endpoint() {
    let w = World::production();
    let id = w.create(HOOK, &["*"], None).await.unwrap();
    w.service().delete(&key(w.org), id).await.unwrap();
    assert_eq!(w.count(), 0);
    assert!(matches!(w.service().delete(&key(w.org), id).await, Err(WebhookError::NotFound)));
}
