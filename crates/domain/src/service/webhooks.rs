//! Webhook endpoints (`events.md` "Endpoints"): an org's destinations, their secrets, a
//! test call and the delivery log.
//!
//! Invariants:
//! - the caller is the org's API key, the command line, or a Bearer `ADMIN` or `LEADER`
//!   of the org ([`may_manage`]); anyone else is refused before any input is judged;
//! - every read and write is scoped to the principal's org: another org's endpoint is
//!   "not found", never "forbidden";
//! - an endpoint is written only with a known subscription ([`Subscription::parse`],
//!   an unknown type refused by name), a URL the [`DestinationGuard`] allows (scheme,
//!   host, and the addresses a host name resolves to) and a description of at most
//!   [`crate::webhooks::MAX_DESCRIPTION_CHARS`] characters; every bad field is named at
//!   once and nothing is written;
//! - a secret is returned only by a creation and a rotation, once; a rotation keeps the
//!   old secret signing for [`ROTATION_OVERLAP`];
//! - a delivery that succeeded is not sent again ([`may_retry`]); any other is set
//!   `PENDING`, due now (a `PENDING` one is brought forward, not refused).

use uuid::Uuid;

use crate::error::{FieldError, RepoError, ValidationError};
use crate::identity::Role;
use crate::pagination::{Page, PageRequest};
use crate::ports::{Clock, DestinationGuard, WebhookRepository};
use crate::principal::{Credential, Principal};
use crate::webhooks::{
    DISABLED_BY_ORG, Delivery, Endpoint, EndpointChange, EndpointStatus, IssuedSecret, NewEndpoint, ROTATION_OVERLAP,
    RetryOutcome, StatusChange, Subscription, SubscriptionError, may_retry, parse_description,
};

/// Why a webhook call was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("only the organization's API key, an ADMIN or a LEADER manages its webhooks")]
    Forbidden,
    #[error(transparent)]
    Invalid(ValidationError),
    #[error("no such webhook endpoint in this organization")]
    NotFound,
    #[error("this endpoint has no delivery of that event")]
    DeliveryNotFound,
    #[error("this delivery already succeeded; it is not sent again")]
    AlreadySucceeded { event_id: String },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// The fields of a creation, as they arrived.
#[derive(Debug, Clone, Copy)]
pub struct EndpointInput<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
}

/// The fields of a change, as they arrived; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct EndpointPatch<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [String]>,
    /// A blank description clears it.
    pub description: Option<&'a str>,
    /// `ENABLED` or `DISABLED`.
    pub status: Option<&'a str>,
}

/// Whether the principal may manage its org's webhooks (see the module invariants).
#[must_use]
pub fn may_manage(principal: &Principal) -> bool {
    match principal.credential {
        Credential::ApiKey { .. } | Credential::Cli => true,
        Credential::Token { .. } => matches!(principal.role(), Some(Role::Admin | Role::Leader)),
    }
}

/// The reason a subscription was refused, for the `events` field.
fn events_reason(err: &SubscriptionError) -> String {
    err.to_string()
}

/// The webhook use cases over the endpoint storage, the destination check and a clock.
pub struct WebhookService<'a, R: ?Sized, G: ?Sized, C: ?Sized> {
    repo: &'a R,
    guard: &'a G,
    clock: &'a C,
}

impl<'a, R: WebhookRepository + ?Sized, G: DestinationGuard + ?Sized, C: Clock + ?Sized> WebhookService<'a, R, G, C> {
    pub fn new(repo: &'a R, guard: &'a G, clock: &'a C) -> Self {
        Self { repo, guard, clock }
    }

    fn allowed(principal: &Principal) -> Result<Uuid, WebhookError> {
        if may_manage(principal) { Ok(principal.org_id) } else { Err(WebhookError::Forbidden) }
    }

    /// The URL checked by the guard, its refusal as a field error.
    async fn url(&self, raw: &str, problems: &mut Vec<FieldError>) -> Option<String> {
        match self.guard.check(raw.trim()).await {
            Ok(url) => Some(url),
            Err(refusal) => {
                problems.push(FieldError::new("url", refusal.0));
                None
            }
        }
    }

    /// Creates an `ENABLED` endpoint; its secret is in the answer and never again.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::Invalid`] naming `url`, `events`
    /// and `description` as they fail (nothing written); a storage failure.
    pub async fn create(
        &self,
        principal: &Principal,
        input: EndpointInput<'_>,
    ) -> Result<(Endpoint, IssuedSecret), WebhookError> {
        let org_id = Self::allowed(principal)?;
        let mut problems = Vec::new();
        let subscription = Subscription::parse(input.events)
            .map_err(|e| problems.push(FieldError::new("events", events_reason(&e))))
            .ok();
        let description = input
            .description
            .map(parse_description)
            .transpose()
            .map_err(|reason| problems.push(FieldError::new("description", reason)))
            .ok()
            .flatten()
            .flatten();
        let url = self.url(input.url, &mut problems).await;
        let (Some(url), Some(subscription), true) = (url, subscription, problems.is_empty()) else {
            return Err(WebhookError::Invalid(ValidationError(problems)));
        };
        let new = NewEndpoint { org_id, url, subscription, description };
        Ok(self.repo.create(&new, self.clock.now()).await?)
    }

    /// The org's endpoints, oldest first.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; a storage failure.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Endpoint>, WebhookError> {
        let org_id = Self::allowed(principal)?;
        Ok(self.repo.list(org_id).await?)
    }

    /// One endpoint of the org.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`]; a storage failure.
    pub async fn get(&self, principal: &Principal, id: Uuid) -> Result<Endpoint, WebhookError> {
        let org_id = Self::allowed(principal)?;
        self.repo.get(org_id, id).await?.ok_or(WebhookError::NotFound)
    }

    /// Changes the fields given; enabling clears the disabled reason and the failure
    /// clock, disabling records [`DISABLED_BY_ORG`].
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::Invalid`] naming each bad field
    /// (nothing written); [`WebhookError::NotFound`]; a storage failure.
    pub async fn update(
        &self,
        principal: &Principal,
        id: Uuid,
        patch: EndpointPatch<'_>,
    ) -> Result<Endpoint, WebhookError> {
        let org_id = Self::allowed(principal)?;
        let mut problems = Vec::new();
        let mut change = EndpointChange::default();
        if let Some(events) = patch.events {
            change.subscription = Subscription::parse(events)
                .map_err(|e| problems.push(FieldError::new("events", events_reason(&e))))
                .ok();
        }
        if let Some(raw) = patch.description {
            change.description =
                parse_description(raw).map_err(|reason| problems.push(FieldError::new("description", reason))).ok();
        }
        if let Some(raw) = patch.status {
            change.status = match raw.parse::<EndpointStatus>() {
                Ok(EndpointStatus::Enabled) => Some(StatusChange::Enable),
                Ok(EndpointStatus::Disabled) => Some(StatusChange::Disable { reason: DISABLED_BY_ORG }),
                Err(_) => {
                    problems.push(FieldError::new("status", "must be ENABLED or DISABLED"));
                    None
                }
            };
        }
        if let Some(raw) = patch.url {
            change.url = self.url(raw, &mut problems).await;
        }
        if !problems.is_empty() {
            return Err(WebhookError::Invalid(ValidationError(problems)));
        }
        let found = if change.is_empty() {
            self.repo.get(org_id, id).await?
        } else {
            self.repo.update(org_id, id, &change, self.clock.now()).await?
        };
        found.ok_or(WebhookError::NotFound)
    }

    /// Deletes the endpoint and its delivery log.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`]; a storage failure.
    pub async fn delete(&self, principal: &Principal, id: Uuid) -> Result<(), WebhookError> {
        let org_id = Self::allowed(principal)?;
        if self.repo.delete(org_id, id).await? { Ok(()) } else { Err(WebhookError::NotFound) }
    }

    /// A new secret, returned once; the old one keeps signing for [`ROTATION_OVERLAP`].
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`]; a storage failure.
    pub async fn rotate_secret(&self, principal: &Principal, id: Uuid) -> Result<IssuedSecret, WebhookError> {
        let org_id = Self::allowed(principal)?;
        let now = self.clock.now();
        self.repo.rotate_secret(org_id, id, now + ROTATION_OVERLAP, now).await?.ok_or(WebhookError::NotFound)
    }

    /// Enqueues a `ping` event for this endpoint only; its event id.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`]; a storage failure.
    pub async fn ping(&self, principal: &Principal, id: Uuid) -> Result<String, WebhookError> {
        let org_id = Self::allowed(principal)?;
        self.repo.enqueue_ping(org_id, id, self.clock.now()).await?.ok_or(WebhookError::NotFound)
    }

    /// One page of the endpoint's deliveries, newest event first.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`]; a storage failure.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Delivery>, WebhookError> {
        let org_id = Self::allowed(principal)?;
        self.repo.deliveries(org_id, id, page).await?.ok_or(WebhookError::NotFound)
    }

    /// Sends the delivery of `event_id` again: `PENDING`, due now.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`]; [`WebhookError::NotFound`] (the endpoint);
    /// [`WebhookError::DeliveryNotFound`]; [`WebhookError::AlreadySucceeded`]; a
    /// storage failure.
    pub async fn retry(&self, principal: &Principal, id: Uuid, event_id: &str) -> Result<(), WebhookError> {
        let org_id = Self::allowed(principal)?;
        match self.repo.retry_delivery(org_id, id, event_id, may_retry, self.clock.now()).await? {
            RetryOutcome::Requeued => Ok(()),
            RetryOutcome::EndpointNotFound => Err(WebhookError::NotFound),
            RetryOutcome::DeliveryNotFound => Err(WebhookError::DeliveryNotFound),
            // `may_retry` refuses a success only.
            RetryOutcome::Refused(_) => Err(WebhookError::AlreadySucceeded { event_id: event_id.to_owned() }),
        }
    }
}
