//! Ports of the webhook endpoint use cases (`crate::service::webhooks`): the endpoints and
//! their deliveries in storage, and the check of a destination URL.
//!
//! Every method that names an endpoint takes the org too: an endpoint of another org is
//! absent (`None`, `false`, [`RetryOutcome::EndpointNotFound`]), never an error of its own.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::pagination::{Page, PageRequest};
use crate::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointChange, IssuedSecret, NewEndpoint, RetryOutcome};

/// Why a destination URL was refused: the reason, for the `url` field of a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DestinationRefusal(pub String);

/// Where webhooks may be sent (the deployment's policy against SSRF).
pub trait DestinationGuard: Send + Sync {
    /// The URL as it will be stored and sent to, when the policy allows it: its scheme,
    /// form and host, and, for a host name, every address it resolves to now.
    fn check(&self, url: &str) -> impl Future<Output = Result<String, DestinationRefusal>> + Send;
}

/// An org's webhook endpoints, their secrets (sealed by the adapter) and deliveries.
pub trait WebhookRepository: Send + Sync {
    /// Stores a new `ENABLED` endpoint with a freshly generated secret, returned once.
    fn create(
        &self,
        new: &NewEndpoint,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(Endpoint, IssuedSecret), RepoError>> + Send;

    /// The org's endpoints, oldest first.
    fn list(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Endpoint>, RepoError>> + Send;

    /// One endpoint of the org.
    fn get(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Option<Endpoint>, RepoError>> + Send;

    /// Applies `change`; the endpoint as it is then.
    fn update(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &EndpointChange,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Endpoint>, RepoError>> + Send;

    /// Deletes the endpoint and its deliveries; false when the org has no such endpoint.
    fn delete(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<bool, RepoError>> + Send;

    /// A new secret replaces the current one, which is kept as the previous secret
    /// (signing too) until `previous_until`; the new secret, returned once.
    fn rotate_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<IssuedSecret>, RepoError>> + Send;

    /// Writes a `ping` event to the outbox, for this endpoint only; its event id.
    fn enqueue_ping(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<String>, RepoError>> + Send;

    /// One page of the endpoint's deliveries, newest event first.
    fn deliveries(
        &self,
        org_id: Uuid,
        id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Option<Page<Delivery>>, RepoError>> + Send;

    /// Sets the endpoint's delivery of `event_id` `PENDING`, due `now`, when `retryable`
    /// says its status may be retried (read and written in one transaction), and wakes
    /// the dispatcher once that is committed.
    fn retry_delivery(
        &self,
        org_id: Uuid,
        id: Uuid,
        event_id: &str,
        retryable: fn(DeliveryStatus) -> bool,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<RetryOutcome, RepoError>> + Send;
}
