//! Liveness, readiness and metrics: unauthenticated, for load balancers and Prometheus.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// Health state.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, body = HealthResponse, description = "ok")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

/// How long readiness waits for the database. The pool's acquire timeout is longer (and
/// while PostgreSQL refuses connections the pool keeps retrying until it), so without this
/// bound `/readyz` would hang through an outage instead of answering 503.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Readiness: the database answers.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = HealthResponse, description = "ok"), (status = 503, body = HealthResponse, description = "the database does not answer"))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let error = match actix_web::rt::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => return HttpResponse::Ok().json(HealthResponse { status: "ok" }),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {READY_TIMEOUT:?}"),
    };
    tracing::warn!(%error, "readiness check failed");
    HttpResponse::ServiceUnavailable().json(HealthResponse { status: "unavailable" })
}

/// Prometheus text format: `http_requests_total` and `http_request_duration_seconds`
/// by method, route and status.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String, description = "Prometheus text format")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&state.webhook_stats))
}
