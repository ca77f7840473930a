//! In-memory adapters of the webhook ports, for use-case tests without a database.
//!
//! Endpoints, their secrets and deliveries live in vectors; a ping is recorded as an
//! event id with its endpoint. The destination guard is infra's
//! (`infra::webhooks::WebhookDestinations`) over a table of host names, so the
//! use-case tests exercise the real URL and address rules without DNS.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use domain::error::RepoError;
use domain::events::{Event, Ping};
use domain::ids::new_id;
use domain::pagination::{Page, PageRequest};
use domain::ports::{DestinationGuard, DestinationRefusal, WebhookRepository};
use domain::secret::Secret;
use domain::webhooks::{
    Delivery, DeliveryStatus, Endpoint, EndpointChange, EndpointStatus, IssuedSecret, NewEndpoint, RetryOutcome,
    StatusChange,
};
use infra::webhook_destination::DestinationPolicy;
use infra::webhook_signature::WebhookSecret;
use infra::webhooks::{Resolve, WebhookDestinations};
use time::OffsetDateTime;
use uuid::Uuid;

/// One endpoint with its secrets and deliveries.
#[derive(Debug, Clone)]
pub struct MemoryEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<OffsetDateTime>,
    pub deliveries: Vec<Delivery>,
}

/// Endpoints and the pings enqueued for them.
#[derive(Debug, Default)]
pub struct MemoryWebhookRepository {
    pub endpoints: Mutex<Vec<MemoryEndpoint>>,
    /// `(endpoint id, event)` of every ping enqueued.
    pub pings: Mutex<Vec<(Uuid, Event)>>,
}

fn generated() -> Result<String, RepoError> {
    WebhookSecret::generate().map(|s| s.expose()).map_err(|e| RepoError::Unavailable(e.to_string()))
}

impl MemoryWebhookRepository {
    /// The stored state of an endpoint (tests look at secrets and deliveries here).
    ///
    /// # Panics
    /// When there is no such endpoint.
    pub fn stored(&self, id: Uuid) -> MemoryEndpoint {
        #[allow(clippy::expect_used)]
        self.endpoints.lock().expect("lock").iter().find(|e| e.endpoint.id == id).cloned().expect("endpoint")
    }

    /// Adds a delivery to an endpoint, as the dispatcher would have made it.
    pub fn add_delivery(&self, id: Uuid, delivery: Delivery) {
        if let Ok(mut all) = self.endpoints.lock()
            && let Some(e) = all.iter_mut().find(|e| e.endpoint.id == id)
        {
            e.deliveries.push(delivery);
        }
    }

    fn with<T>(
        &self,
        org_id: Uuid,
        id: Uuid,
        f: impl FnOnce(&mut MemoryEndpoint) -> T,
    ) -> Result<Option<T>, RepoError> {
        let mut all = self.endpoints.lock().map_err(|_| RepoError::Unavailable("poisoned".into()))?;
        Ok(all.iter_mut().find(|e| e.endpoint.id == id && e.endpoint.org_id == org_id).map(f))
    }
}

impl WebhookRepository for MemoryWebhookRepository {
    async fn create(&self, new: &NewEndpoint, now: OffsetDateTime) -> Result<(Endpoint, IssuedSecret), RepoError> {
        let endpoint = Endpoint {
            id: new_id(),
            org_id: new.org_id,
            url: new.url.clone(),
            subscription: new.subscription.clone(),
            description: new.description.clone(),
            status: EndpointStatus::Enabled,
            disabled_reason: None,
            disabled_at: None,
            last_success_at: None,
            last_failure_at: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        let secret = generated()?;
        let stored = MemoryEndpoint {
            endpoint: endpoint.clone(),
            secret: secret.clone(),
            previous_secret: None,
            previous_secret_until: None,
            deliveries: Vec::new(),
        };
        self.endpoints.lock().map_err(|_| RepoError::Unavailable("poisoned".into()))?.push(stored);
        Ok((endpoint, Secret::new(secret)))
    }

    async fn list(&self, org_id: Uuid) -> Result<Vec<Endpoint>, RepoError> {
        let all = self.endpoints.lock().map_err(|_| RepoError::Unavailable("poisoned".into()))?;
        Ok(all.iter().filter(|e| e.endpoint.org_id == org_id).map(|e| e.endpoint.clone()).collect())
    }

    async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<Endpoint>, RepoError> {
        self.with(org_id, id, |e| e.endpoint.clone())
    }

    async fn update(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &EndpointChange,
        now: OffsetDateTime,
    ) -> Result<Option<Endpoint>, RepoError> {
        self.with(org_id, id, |e| {
            let ep = &mut e.endpoint;
            if let Some(url) = &change.url {
                ep.url.clone_from(url);
            }
            if let Some(subscription) = &change.subscription {
                ep.subscription = subscription.clone();
            }
            if let Some(description) = &change.description {
                ep.description.clone_from(description);
            }
            match change.status {
                Some(StatusChange::Enable) => {
                    ep.status = EndpointStatus::Enabled;
                    ep.disabled_reason = None;
                    ep.disabled_at = None;
                    ep.failing_since = None;
                }
                Some(StatusChange::Disable { reason }) if ep.status == EndpointStatus::Enabled => {
                    ep.status = EndpointStatus::Disabled;
                    ep.disabled_reason = Some(reason.to_owned());
                    ep.disabled_at = Some(now);
                }
                _ => {}
            }
            ep.updated_at = now;
            ep.clone()
        })
    }

    async fn delete(&self, org_id: Uuid, id: Uuid) -> Result<bool, RepoError> {
        let mut all = self.endpoints.lock().map_err(|_| RepoError::Unavailable("poisoned".into()))?;
        let before = all.len();
        all.retain(|e| !(e.endpoint.id == id && e.endpoint.org_id == org_id));
        Ok(all.len() != before)
    }

    async fn rotate_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<IssuedSecret>, RepoError> {
        let secret = generated()?;
        self.with(org_id, id, |e| {
            e.previous_secret = Some(std::mem::replace(&mut e.secret, secret.clone()));
            e.previous_secret_until = Some(previous_until);
            e.endpoint.updated_at = now;
            Secret::new(secret.clone())
        })
    }

    async fn enqueue_ping(&self, org_id: Uuid, id: Uuid, now: OffsetDateTime) -> Result<Option<String>, RepoError> {
        if self.with(org_id, id, |_| ())?.is_none() {
            return Ok(None);
        }
        let event = Event::new(org_id, "memory-org", &Ping {}, now);
        let event_id = event.id.clone();
        self.pings.lock().map_err(|_| RepoError::Unavailable("poisoned".into()))?.push((id, event));
        Ok(Some(event_id))
    }

    async fn deliveries(&self, org_id: Uuid, id: Uuid, page: PageRequest) -> Result<Option<Page<Delivery>>, RepoError> {
        self.with(org_id, id, |e| {
            let mut all = e.deliveries.clone();
            all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.event_id.cmp(&a.event_id)));
            let total = all.len() as u64;
            let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
            let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
            Page { items: all.into_iter().skip(offset).take(limit).collect(), request: page, total }
        })
    }

    async fn retry_delivery(
        &self,
        org_id: Uuid,
        id: Uuid,
        event_id: &str,
        retryable: fn(DeliveryStatus) -> bool,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, RepoError> {
        let outcome = self.with(org_id, id, |e| {
            let Some(d) = e.deliveries.iter_mut().find(|d| d.event_id == event_id) else {
                return RetryOutcome::DeliveryNotFound;
            };
            if !retryable(d.status) {
                return RetryOutcome::Refused(d.status);
            }
            d.status = DeliveryStatus::Pending;
            d.next_attempt_at = Some(now);
            RetryOutcome::Requeued
        })?;
        Ok(outcome.unwrap_or(RetryOutcome::EndpointNotFound))
    }
}

/// Host names and their addresses, for [`MemoryDestinationGuard`]; an unknown name does
/// not resolve.
#[derive(Debug, Clone, Default)]
pub struct HostTable(pub HashMap<String, Vec<IpAddr>>);

impl Resolve for HostTable {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.0
            .get(host)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("no such host {host}")))
    }
}

/// infra's destination check under `policy`, resolving names from a [`HostTable`].
#[derive(Debug, Clone)]
pub struct MemoryDestinationGuard(pub WebhookDestinations<HostTable>);

impl MemoryDestinationGuard {
    #[must_use]
    pub fn new(policy: DestinationPolicy, hosts: &[(&str, &str)]) -> Self {
        let table = hosts
            .iter()
            .filter_map(|(name, ip)| ip.parse().ok().map(|ip: IpAddr| ((*name).to_owned(), vec![ip])))
            .fold(HashMap::<String, Vec<IpAddr>>::new(), |mut map, (name, ips)| {
                map.entry(name).or_default().extend(ips);
                map
            });
        Self(WebhookDestinations::new(policy, HostTable(table)))
    }
}

impl DestinationGuard for MemoryDestinationGuard {
    async fn check(&self, url: &str) -> Result<String, DestinationRefusal> {
        self.0.check(url).await
    }
}
