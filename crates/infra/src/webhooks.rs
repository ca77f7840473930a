//! Webhook endpoints in storage ([`SeaWebhookRepository`], the port
//! `domain::ports::WebhookRepository`) and the check of their URLs
//! ([`WebhookDestinations`], the port `domain::ports::DestinationGuard`).
//!
//! Invariants:
//! - a secret is generated here ([`WebhookSecret::generate`]) and stored only sealed
//!   (`crypto::WEBHOOK_SECRET`, and `WEBHOOK_PREVIOUS_SECRET` during a rotation, each
//!   bound to the endpoint id); the plaintext columns stay `''` and `NULL`; a secret
//!   leaves this module only in the [`IssuedSecret`] of a creation or a rotation;
//! - the description is sealed too (`crypto::WEBHOOK_DESCRIPTION`), `description` stays
//!   `NULL`;
//! - every statement that names an endpoint filters on its org too, so another org's
//!   endpoint is never read, changed or deleted;
//! - a rotation reads the current secret and writes the new one and the previous one in
//!   one write transaction; a retry reads the delivery's status and sets it `PENDING` in
//!   one write transaction, conditional on that status, and wakes the dispatcher after
//!   the commit; a ping's event is written by `outbox::append` in its own transaction;
//! - deleting an endpoint deletes its deliveries (the foreign key cascades; SQLite runs
//!   with foreign keys on);
//! - a URL passes [`webhook_destination::check_url`] under the deployment's policy, and
//!   a host name passes [`webhook_destination::check_address`] for every address it
//!   resolves to when it is saved (the dispatcher checks again at send time).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use domain::error::RepoError;
use domain::events::{Event, Ping};
use domain::ids::new_id;
use domain::pagination::{Page, PageRequest};
use domain::ports::{DestinationGuard, DestinationRefusal, WebhookRepository};
use domain::secret::Secret;
use domain::webhooks::{
    Delivery, DeliveryStatus, Endpoint, EndpointChange, EndpointStatus, IssuedSecret, NewEndpoint, RetryOutcome,
    StatusChange, Subscription,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use url::Host;
use uuid::Uuid;

use crate::config::EventsSettings;
use crate::crypto::{Keyring, WEBHOOK_DESCRIPTION, WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET};
use crate::db::Db;
use crate::entities::{organization, webhook_delivery, webhook_endpoint};
use crate::error::{corrupt, unavailable};
use crate::outbox::{self, Outgoing};
use crate::webhook_destination::{self, DestinationPolicy};
use crate::webhook_signature::WebhookSecret;
use crate::{from_millis, to_millis};

/// The table named when a row of it cannot be read back.
const TABLE: &str = "webhook_endpoints";
/// The longest event id (`evt_` + 32 hex digits fits well within it).
const MAX_EVENT_ID: usize = 40;

/// Webhook endpoints and their deliveries, secrets and descriptions sealed.
#[derive(Clone, Debug)]
pub struct SeaWebhookRepository {
    db: Db,
    keyring: Arc<Keyring>,
}

fn at(millis: Option<i64>) -> Option<OffsetDateTime> {
    millis.map(from_millis)
}

fn random_failed(err: impl std::fmt::Display) -> RepoError {
    RepoError::Unavailable(format!("generating a webhook secret: {err}"))
}

impl SeaWebhookRepository {
    #[must_use]
    pub fn new(db: Db, keyring: Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    fn endpoint(&self, row: &webhook_endpoint::Model) -> Result<Endpoint, RepoError> {
        let key = row.id.as_str();
        Ok(Endpoint {
            id: row.id.parse().map_err(|e| corrupt(TABLE, key, e))?,
            org_id: row.org_id.parse().map_err(|e| corrupt(TABLE, key, e))?,
            url: row.url.clone(),
            subscription: Subscription::from_stored(&row.events).map_err(|e| corrupt(TABLE, key, e))?,
            description: WEBHOOK_DESCRIPTION
                .open(&self.keyring, key, row.description_enc.as_deref(), row.description.as_deref())
                .map_err(|e| corrupt(TABLE, key, e))?,
            status: row.status.parse().map_err(|e| corrupt(TABLE, key, e))?,
            disabled_reason: row.disabled_reason.clone(),
            disabled_at: at(row.disabled_at),
            last_success_at: at(row.last_success_at),
            last_failure_at: at(row.last_failure_at),
            failing_since: at(row.failing_since),
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
        })
    }

    /// The org's endpoint row, on `conn`.
    async fn row(
        conn: &impl sea_orm::ConnectionTrait,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<webhook_endpoint::Model>, RepoError> {
        webhook_endpoint::Entity::find_by_id(id.to_string())
            .filter(webhook_endpoint::Column::OrgId.eq(org_id.to_string()))
            .one(conn)
            .await
            .map_err(unavailable)
    }

    /// Creates an `ENABLED` endpoint with a new secret (see the module invariants).
    ///
    /// # Errors
    /// Storage failures; the random source failing.
    pub async fn create(&self, new: &NewEndpoint, now: OffsetDateTime) -> Result<(Endpoint, IssuedSecret), RepoError> {
        let key = new_id().to_string();
        let secret = WebhookSecret::generate().map_err(random_failed)?.expose();
        let sealed = WEBHOOK_SECRET.seal(&self.keyring, &key, &secret).map_err(random_failed)?;
        let (description_enc, description_key_id) =
            WEBHOOK_DESCRIPTION.seal_opt(&self.keyring, &key, new.description.as_deref()).map_err(random_failed)?;
        let now_ms = to_millis(now);
        let row = webhook_endpoint::ActiveModel {
            id: Set(key.clone()),
            org_id: Set(new.org_id.to_string()),
            url: Set(new.url.clone()),
            events: Set(new.subscription.stored()),
            description: Set(None),
            description_enc: Set(description_enc),
            description_key_id: Set(description_key_id),
            status: Set(EndpointStatus::Enabled.as_str().to_owned()),
            disabled_reason: Set(None),
            disabled_at: Set(None),
            secret: Set(String::new()),
            secret_enc: Set(Some(sealed.envelope)),
            secret_key_id: Set(Some(sealed.key_id)),
            previous_secret: Set(None),
            previous_secret_enc: Set(None),
            previous_secret_key_id: Set(None),
            previous_secret_until: Set(None),
            last_success_at: Set(None),
            last_failure_at: Set(None),
            failing_since: Set(None),
            claimed_until: Set(None),
            claimed_by: Set(None),
            created_at: Set(now_ms),
            updated_at: Set(now_ms),
        };
        let inserted =
            webhook_endpoint::Entity::insert(row).exec_with_returning(self.db.conn()).await.map_err(unavailable)?;
        Ok((self.endpoint(&inserted)?, Secret::new(secret)))
    }

    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn list(&self, org_id: Uuid) -> Result<Vec<Endpoint>, RepoError> {
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrgId.eq(org_id.to_string()))
            .order_by_asc(webhook_endpoint::Column::CreatedAt)
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(self.db.conn())
            .await
            .map_err(unavailable)?
            .iter()
            .map(|row| self.endpoint(row))
            .collect()
    }

    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<Endpoint>, RepoError> {
        Self::row(self.db.conn(), org_id, id).await?.map(|row| self.endpoint(&row)).transpose()
    }

    /// Applies `change` in one write transaction; `None` for another org's endpoint.
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn update(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &EndpointChange,
        now: OffsetDateTime,
    ) -> Result<Option<Endpoint>, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let Some(row) = Self::row(&*txn, org_id, id).await? else { return Ok(None) };
        let key = row.id.clone();
        let was_disabled = row.status == EndpointStatus::Disabled.as_str();
        let mut active = row.into_active_model();
        if let Some(url) = &change.url {
            active.url = Set(url.clone());
        }
        if let Some(subscription) = &change.subscription {
            active.events = Set(subscription.stored());
        }
        if let Some(description) = &change.description {
            let (enc, key_id) =
                WEBHOOK_DESCRIPTION.seal_opt(&self.keyring, &key, description.as_deref()).map_err(random_failed)?;
            active.description = Set(None);
            active.description_enc = Set(enc);
            active.description_key_id = Set(key_id);
        }
        let now_ms = to_millis(now);
        match change.status {
            Some(StatusChange::Enable) => {
                active.status = Set(EndpointStatus::Enabled.as_str().to_owned());
                active.disabled_reason = Set(None);
                active.disabled_at = Set(None);
                active.failing_since = Set(None);
            }
            Some(StatusChange::Disable { reason }) if !was_disabled => {
                active.status = Set(EndpointStatus::Disabled.as_str().to_owned());
                active.disabled_reason = Set(Some(reason.to_owned()));
                active.disabled_at = Set(Some(now_ms));
            }
            Some(StatusChange::Disable { .. }) | None => {}
        }
        active.updated_at = Set(now_ms);
        let updated = active.update(&*txn).await.map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        self.endpoint(&updated).map(Some)
    }

    /// Deletes the endpoint (its deliveries cascade); false for another org's.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn delete(&self, org_id: Uuid, id: Uuid) -> Result<bool, RepoError> {
        let done = webhook_endpoint::Entity::delete_many()
            .filter(webhook_endpoint::Column::Id.eq(id.to_string()))
            .filter(webhook_endpoint::Column::OrgId.eq(org_id.to_string()))
            .exec(self.db.conn())
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected == 1)
    }

    /// A new secret; the current one becomes the previous one until `previous_until`.
    ///
    /// # Errors
    /// Storage failures, a corrupted row, the random source failing.
    pub async fn rotate_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<IssuedSecret>, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        let Some(row) = Self::row(&*txn, org_id, id).await? else { return Ok(None) };
        let key = row.id.clone();
        let current = WEBHOOK_SECRET
            .open(&self.keyring, &key, row.secret_enc.as_deref(), Some(&row.secret))
            .map_err(|e| corrupt(TABLE, &key, e))?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| corrupt(TABLE, &key, "no secret"))?;
        let secret = WebhookSecret::generate().map_err(random_failed)?.expose();
        let sealed = WEBHOOK_SECRET.seal(&self.keyring, &key, &secret).map_err(random_failed)?;
        let previous = WEBHOOK_PREVIOUS_SECRET.seal(&self.keyring, &key, &current).map_err(random_failed)?;
        let mut active = row.into_active_model();
        active.secret = Set(String::new());
        active.secret_enc = Set(Some(sealed.envelope));
        active.secret_key_id = Set(Some(sealed.key_id));
        active.previous_secret = Set(None);
        active.previous_secret_enc = Set(Some(previous.envelope));
        active.previous_secret_key_id = Set(Some(previous.key_id));
        active.previous_secret_until = Set(Some(to_millis(previous_until)));
        active.updated_at = Set(to_millis(now));
        active.update(&*txn).await.map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        Ok(Some(Secret::new(secret)))
    }

    /// Writes a `ping` for this endpoint only; its event id.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn enqueue_ping(&self, org_id: Uuid, id: Uuid, now: OffsetDateTime) -> Result<Option<String>, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        if Self::row(&*txn, org_id, id).await?.is_none() {
            return Ok(None);
        }
        let code: Option<String> = organization::Entity::find_by_id(org_id.to_string())
            .select_only()
            .column(organization::Column::Code)
            .into_tuple()
            .one(&*txn)
            .await
            .map_err(unavailable)?;
        let code = code.ok_or_else(|| corrupt(TABLE, &id.to_string(), "its organization is missing"))?;
        let event = Event::new(org_id, &code, &Ping {}, now);
        let event_id = event.id.clone();
        outbox::append(&txn, &self.keyring, &[Outgoing { event, endpoint_id: Some(id) }]).await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(Some(event_id))
    }

    fn delivery(row: &webhook_delivery::Model) -> Result<Delivery, RepoError> {
        let key = row.id.as_str();
        Ok(Delivery {
            event_id: row.event_id.clone(),
            event_type: row.event_type.clone(),
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            status: row.status.parse().map_err(|e| corrupt("webhook_deliveries", key, e))?,
            response_status: row.response_status.and_then(|s| u16::try_from(s).ok()),
            latency_ms: row.latency_ms.and_then(|l| u64::try_from(l).ok()),
            next_attempt_at: at(row.next_attempt_at),
            created_at: from_millis(row.event_created_at),
        })
    }

    /// One page of the endpoint's deliveries, newest event first; `None` for another
    /// org's endpoint.
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn deliveries(
        &self,
        org_id: Uuid,
        id: Uuid,
        page: PageRequest,
    ) -> Result<Option<Page<Delivery>>, RepoError> {
        let conn = self.db.conn();
        if Self::row(conn, org_id, id).await?.is_none() {
            return Ok(None);
        }
        let select = webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(id.to_string()));
        let total = select.clone().count(conn).await.map_err(unavailable)?;
        let rows = select
            .order_by_desc(webhook_delivery::Column::EventCreatedAt)
            .order_by_desc(webhook_delivery::Column::EventId)
            .offset(page.offset())
            .limit(page.limit())
            .all(conn)
            .await
            .map_err(unavailable)?;
        let items = rows.iter().map(Self::delivery).collect::<Result<_, _>>()?;
        Ok(Some(Page { items, request: page, total }))
    }

    /// Sets the delivery `PENDING`, due `now`, when `retryable` allows its status; wakes
    /// the dispatcher after the commit.
    ///
    /// # Errors
    /// Storage failures or a corrupted row.
    pub async fn retry_delivery(
        &self,
        org_id: Uuid,
        id: Uuid,
        event_id: &str,
        retryable: fn(DeliveryStatus) -> bool,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, RepoError> {
        let txn = self.db.begin_write().await.map_err(unavailable)?;
        if Self::row(&*txn, org_id, id).await?.is_none() {
            return Ok(RetryOutcome::EndpointNotFound);
        }
        if event_id.len() > MAX_EVENT_ID {
            return Ok(RetryOutcome::DeliveryNotFound);
        }
        let Some(row) = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(id.to_string()))
            .filter(webhook_delivery::Column::EventId.eq(event_id))
            .one(&*txn)
            .await
            .map_err(unavailable)?
        else {
            return Ok(RetryOutcome::DeliveryNotFound);
        };
        let status: DeliveryStatus = row.status.parse().map_err(|e| corrupt("webhook_deliveries", &row.id, e))?;
        if !retryable(status) {
            return Ok(RetryOutcome::Refused(status));
        }
        let now_ms = to_millis(now);
        let done = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now_ms))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now_ms))
            .filter(webhook_delivery::Column::Id.eq(row.id.as_str()))
            .filter(webhook_delivery::Column::Status.eq(row.status.as_str()))
            .exec(&*txn)
            .await
            .map_err(unavailable)?;
        if done.rows_affected != 1 {
            return Err(RepoError::Conflict(format!("delivery {} changed meanwhile", row.id)));
        }
        txn.commit().await.map_err(unavailable)?;
        self.db.outbox_signal().wake();
        Ok(RetryOutcome::Requeued)
    }
}

/// The use cases' port: each method is the inherent one of the same purpose.
impl WebhookRepository for SeaWebhookRepository {
    async fn create(&self, new: &NewEndpoint, now: OffsetDateTime) -> Result<(Endpoint, IssuedSecret), RepoError> {
        Self::create(self, new, now).await
    }

    async fn list(&self, org_id: Uuid) -> Result<Vec<Endpoint>, RepoError> {
        Self::list(self, org_id).await
    }

    async fn get(&self, org_id: Uuid, id: Uuid) -> Result<Option<Endpoint>, RepoError> {
        Self::get(self, org_id, id).await
    }

    async fn update(
        &self,
        org_id: Uuid,
        id: Uuid,
        change: &EndpointChange,
        now: OffsetDateTime,
    ) -> Result<Option<Endpoint>, RepoError> {
        Self::update(self, org_id, id, change, now).await
    }

    async fn delete(&self, org_id: Uuid, id: Uuid) -> Result<bool, RepoError> {
        Self::delete(self, org_id, id).await
    }

    async fn rotate_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        previous_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<IssuedSecret>, RepoError> {
        Self::rotate_secret(self, org_id, id, previous_until, now).await
    }

    async fn enqueue_ping(&self, org_id: Uuid, id: Uuid, now: OffsetDateTime) -> Result<Option<String>, RepoError> {
        Self::enqueue_ping(self, org_id, id, now).await
    }

    async fn deliveries(&self, org_id: Uuid, id: Uuid, page: PageRequest) -> Result<Option<Page<Delivery>>, RepoError> {
        Self::deliveries(self, org_id, id, page).await
    }

    async fn retry_delivery(
        &self,
        org_id: Uuid,
        id: Uuid,
        event_id: &str,
        retryable: fn(DeliveryStatus) -> bool,
        now: OffsetDateTime,
    ) -> Result<RetryOutcome, RepoError> {
        Self::retry_delivery(self, org_id, id, event_id, retryable, now).await
    }
}

/// How long a host name's lookup may take when an endpoint is saved.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves a host name to its addresses.
pub trait Resolve: Send + Sync {
    fn resolve(&self, host: &str, port: u16) -> impl Future<Output = std::io::Result<Vec<IpAddr>>> + Send;
}

/// The system's resolver (`tokio::net::lookup_host`), bounded by [`LOOKUP_TIMEOUT`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        let lookup = tokio::net::lookup_host((host, port));
        match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
            Ok(found) => Ok(found?.map(|addr| addr.ip()).collect()),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "lookup timed out")),
        }
    }
}

/// The destination check of the deployment (see the module invariants).
#[derive(Debug, Clone)]
pub struct WebhookDestinations<R = SystemResolver> {
    policy: DestinationPolicy,
    resolver: R,
}

impl WebhookDestinations<SystemResolver> {
    /// The policy of `events.allow_loopback`: development ([`DestinationPolicy::LOOPBACK_ALLOWED`])
    /// or production ([`DestinationPolicy::PRODUCTION`]), with the system's resolver.
    #[must_use]
    pub fn from_settings(events: &EventsSettings) -> Self {
        let policy =
            if events.allow_loopback { DestinationPolicy::LOOPBACK_ALLOWED } else { DestinationPolicy::PRODUCTION };
        Self::new(policy, SystemResolver)
    }
}

impl<R: Resolve> WebhookDestinations<R> {
    #[must_use]
    pub const fn new(policy: DestinationPolicy, resolver: R) -> Self {
        Self { policy, resolver }
    }

    /// The checked URL (normalized by the URL parser).
    ///
    /// # Errors
    /// The reason it is refused.
    pub async fn check(&self, text: &str) -> Result<String, DestinationRefusal> {
        let refused = |e: webhook_destination::DestinationError| DestinationRefusal(e.to_string());
        let url = webhook_destination::check_url(text, self.policy).map_err(refused)?;
        if let Some(Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            let addresses = self
                .resolver
                .resolve(name, port)
                .await
                .ok()
                .filter(|found| !found.is_empty())
                .ok_or_else(|| DestinationRefusal("must name a host that resolves".to_owned()))?;
            for ip in addresses {
                webhook_destination::check_address(ip, self.policy).map_err(refused)?;
            }
        }
        Ok(url.to_string())
    }
}

impl<R: Resolve> DestinationGuard for WebhookDestinations<R> {
    async fn check(&self, url: &str) -> Result<String, DestinationRefusal> {
        Self::check(self, url).await
    }
}
