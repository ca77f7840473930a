//! Webhook endpoints of an organization (`events.md` "Endpoints"), under
//! `/api/v1/webhooks`.
//!
//! - Who may call: the org's API key, or its `ADMIN` or `LEADER` by Bearer token
//!   ([`WebhookManager`], 403 before the body is read); everything is scoped to the
//!   caller's org, another org's endpoint is 404 `WEBHOOK_NOT_FOUND`.
//! - A secret (`whsec_…`) is in two answers only: the creation's and the rotation's, both
//!   `Cache-Control: no-store`. The creation honours `Idempotency-Key` (its stored reply is
//!   sealed by the vault, like every stored reply); the rotation does not, so each call is
//!   a new secret and none is stored outside the endpoint's sealed columns.
//! - The rules are `domain::service::webhooks`; the handlers declare, extract, call, answer.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use domain::events::EventType;
use domain::service::webhooks::{EndpointInput, EndpointPatch, WebhookService};
use domain::webhooks::{Delivery, Endpoint, MAX_DESCRIPTION_CHARS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ErrorResponse};
use crate::gate::WebhookManager;
use crate::idempotency::Principal;
use crate::params::PageParams;
use crate::state::AppState;
use crate::wire::{Pagination, timestamp};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_webhook)
        .service(list_webhooks)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_secret)
        .service(test_webhook)
        .service(list_deliveries)
        .service(retry_delivery);
}

/// The use cases over the state's adapters.
macro_rules! service {
    ($state:expr) => {
        WebhookService::new(&$state.webhooks, &$state.webhook_destinations, &*$state.clock)
    };
}

/// `events`: `["*"]`, or event types.
#[allow(deprecated)] // `example`, as the derived schemas write it
fn events_schema() -> utoipa::openapi::schema::Array {
    let names =
        std::iter::once("*").chain(EventType::ALL.iter().filter(|t| **t != EventType::Ping).map(|t| t.as_str()));
    let item = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names))
        .build();
    utoipa::openapi::ArrayBuilder::new()
        .items(item)
        .min_items(Some(1))
        .description(Some("`[\"*\"]` (every event type of the organization) or the event types of events.md; `ping` is sent by the test call only."))
        .example(Some(serde_json::json!(["lead.assigned", "order.completed"])))
        .build()
}

/// A new webhook endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An absolute `https` URL (plain `http` and loopback only in development) to a public
    /// address, at most 2048 characters.
    #[schema(example = "https://hooks.example.com/ldbds", max_length = 2048)]
    pub url: String,
    #[schema(schema_with = events_schema)]
    pub events: Vec<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// A change of an endpoint: only the fields given change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    #[schema(example = "https://hooks.example.com/ldbds", max_length = 2048)]
    pub url: Option<String>,
    #[schema(schema_with = events_schema)]
    pub events: Option<Vec<String>>,
    /// At most 500 characters; an empty one clears it.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `ENABLED` (clears the disabled reason and the failure clock) or `DISABLED`.
    #[schema(example = "DISABLED")]
    pub status: Option<String>,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    pub id: Uuid,
    pub url: String,
    /// `["*"]` or the subscribed event types.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// Why it is disabled; only while it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    /// The first failure since the last success; null while healthy.
    pub failing_since: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Endpoint> for WebhookResponse {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            events: e.subscription.names().into_iter().map(str::to_owned).collect(),
            description: e.description.clone(),
            status: e.status.as_str().to_owned(),
            disabled_reason: e.disabled_reason.clone(),
            disabled_at: e.disabled_at.map(timestamp),
            last_success_at: e.last_success_at.map(timestamp),
            last_failure_at: e.last_failure_at.map(timestamp),
            failing_since: e.failing_since.map(timestamp),
            created_at: timestamp(e.created_at),
            updated_at: timestamp(e.updated_at),
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCreated {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// `ENABLED`.
    pub status: String,
    /// `whsec_` + base64 of 32 bytes: shown once, keep it to verify `webhook-signature`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    pub created_at: String,
}

/// The org's endpoints, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhooksListResponse {
    pub data: Vec<WebhookResponse>,
}

/// A new signing secret, shown this once; the old one also signs for 24 h.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretResponse {
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// The `ping` event enqueued for the endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PingResponse {
    #[schema(example = "evt_01938a6e3f2b7c1d9e0f123456789abc")]
    pub event_id: String,
}

/// One event's delivery to the endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// Attempts made so far.
    pub attempt: u32,
    /// `PENDING`, `SUCCEEDED`, `FAILED` or `GAVE_UP`.
    pub status: String,
    /// The receiver's HTTP status at the last attempt.
    pub response_status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// When a `PENDING` delivery is due.
    pub next_attempt_at: Option<String>,
    /// The event's `createdAt`.
    pub created_at: String,
}

impl From<&Delivery> for DeliveryResponse {
    fn from(d: &Delivery) -> Self {
        Self {
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            attempt: d.attempt,
            status: d.status.as_str().to_owned(),
            response_status: d.response_status,
            latency_ms: d.latency_ms,
            next_attempt_at: d.next_attempt_at.map(timestamp),
            created_at: timestamp(d.created_at),
        }
    }
}

/// One page of deliveries, newest event first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesListResponse {
    pub data: Vec<DeliveryResponse>,
    pub pagination: Pagination,
}

/// A retried delivery: due now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryResponse {
    pub event_id: String,
    /// `PENDING`.
    pub status: String,
}

/// An `{id}` path segment.
///
/// # Errors
/// 400 `VALIDATION_FAILED` naming `id` when it is not a UUID.
fn webhook_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("id", "must be a UUID"))
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const _: () = assert!(MAX_DESCRIPTION_CHARS == 500, "the schemas say 500");

/// Creates a webhook endpoint; its secret is in this answer only.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, body = WebhookCreated, description = "the endpoint and its secret, shown once (Cache-Control: no-store)"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED naming url (the reason it is refused), events (an unknown type, by name) or description"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not the org's API key, an ADMIN or a LEADER"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    req: HttpRequest,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let response = crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let input = EndpointInput { url: &body.url, events: &body.events, description: body.description.as_deref() };
        let (endpoint, secret) = service!(state).create(&caller.principal(), input).await?;
        let created = WebhookCreated {
            id: endpoint.id,
            url: endpoint.url.clone(),
            events: endpoint.subscription.names().into_iter().map(str::to_owned).collect(),
            description: endpoint.description.clone(),
            status: endpoint.status.as_str().to_owned(),
            secret: secret.into_inner(),
            created_at: timestamp(endpoint.created_at),
        };
        Ok((StatusCode::CREATED, created))
    })
    .await?;
    Ok(no_store(response))
}

/// The org's webhook endpoints (no secrets).
#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, body = WebhooksListResponse, description = "the org's endpoints, oldest first"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
) -> Result<HttpResponse, ApiError> {
    let endpoints = service!(state).list(&caller.principal()).await?;
    Ok(HttpResponse::Ok().json(WebhooksListResponse { data: endpoints.iter().map(WebhookResponse::from).collect() }))
}

/// One webhook endpoint, with its delivery health.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, body = WebhookResponse, description = "the endpoint, with lastSuccessAt, lastFailureAt, failingSince (and disabledReason while disabled)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let endpoint = service!(state).get(&caller.principal(), id).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(&endpoint)))
}

/// Changes an endpoint's URL, subscription, description or status.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, body = WebhookResponse, description = "the endpoint as it is now"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED naming url, events, description or status"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[patch("/api/v1/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
    body: web::Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let patch = EndpointPatch {
        url: body.url.as_deref(),
        events: body.events.as_deref(),
        description: body.description.as_deref(),
        status: body.status.as_deref(),
    };
    let endpoint = service!(state).update(&caller.principal(), id, patch).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(&endpoint)))
}

/// Deletes an endpoint and its delivery log.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[delete("/api/v1/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    service!(state).delete(&caller.principal(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, shown once; the old one also signs for 24 h.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, body = SecretResponse, description = "the new secret, shown once (Cache-Control: no-store)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let secret = service!(state).rotate_secret(&caller.principal(), id).await?;
    Ok(no_store(HttpResponse::Ok().json(SecretResponse { secret: secret.into_inner() })))
}

/// Enqueues a `ping` event for this endpoint only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 202, body = PingResponse, description = "the ping is in the outbox"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let event_id = service!(state).ping(&caller.principal(), id).await?;
    Ok(HttpResponse::Accepted().json(PingResponse { event_id }))
}

/// The endpoint's deliveries, newest event first.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The endpoint's id"), PageParams),
    responses(
        (status = 200, body = DeliveriesListResponse, description = "one page of deliveries"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(&path)?;
    let page = page.parse()?;
    let found = service!(state).deliveries(&caller.principal(), id, page).await?;
    Ok(HttpResponse::Ok().json(DeliveriesListResponse {
        pagination: Pagination::from(&found),
        data: found.items.iter().map(DeliveryResponse::from).collect(),
    }))
}

/// Sends a delivery again (due now); a delivery that succeeded is not sent again.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "The endpoint's id"),
        ("eventId" = String, Path, description = "The event's id (`evt_…`)"),
    ),
    responses(
        (status = 202, body = RetryResponse, description = "the delivery is PENDING, due now (a PENDING one is brought forward)"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "WEBHOOK_NOT_FOUND or DELIVERY_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "DELIVERY_ALREADY_SUCCEEDED"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/deliveries/{eventId}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    WebhookManager(caller): WebhookManager,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, event_id) = path.into_inner();
    let id = webhook_id(&id)?;
    service!(state).retry(&caller.principal(), id, &event_id).await?;
    Ok(HttpResponse::Accepted().json(RetryResponse { event_id, status: "PENDING".to_owned() }))
}
