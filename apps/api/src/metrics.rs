//! Prometheus metrics: request counts and latency histograms by method, route pattern
//! and status, served as text at `/metrics`.
//!
//! Invariant: every label takes its value from a closed set, so no caller (and no
//! unauthenticated caller in particular) can grow the registry:
//! - `route` is the matched pattern (`/api/v1/products/{productId}/as-policy`), never the
//!   raw path; a path no route matches is `unmatched` ([`route_label`]);
//! - `method` is one of the nine standard methods, any other is `OTHER` ([`method_label`]);
//! - `status` is the three-digit status the server itself chose.
//!
//! Statements: every request runs inside [`infra::statements::scoped`] under its use case
//! `<METHOD> <route>` ([`use_case_label`], e.g. `GET /api/v1/leads`, `GET unmatched`),
//! from the same closed sets, so each statement the request sends (authentication,
//! the gate, the handler) is counted under it; background tasks keep their own labels, and
//! a caller that already set a use case (a test measuring one request) keeps it.
//! `/metrics` shows the process's counts ([`infra::statements::snapshot`]) as
//! `ldbds_db_statements_total{kind,use_case}`, label values escaped as the text format
//! requires ([`escape_label`]).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::state::AppState;

/// The label of a route that matched no pattern.
pub const UNMATCHED: &str = "unmatched";

/// The `method` label (and log field): a standard method's name, else `OTHER`, so a
/// made-up method never becomes a value of its own.
#[must_use]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The `route` label (and log field): the matched route template, else `unmatched`.
#[must_use]
pub fn route_label(pattern: Option<String>) -> String {
    pattern.unwrap_or_else(|| UNMATCHED.to_owned())
}

/// The use case a request's statements are counted under: `<METHOD> <route>`.
#[must_use]
pub fn use_case_label(method: &str, route: &str) -> String {
    format!("{method} {route}")
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    /// # Errors
    /// When a metric cannot be registered (a programming error).
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests served"), labels)?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            labels,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { registry, requests, latency })
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The registry, the statement counts and the webhook deliveries in Prometheus text
    /// format.
    #[must_use]
    pub fn render(&self, webhooks: &infra::webhook_dispatch::DispatchStats) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        let mut text = String::from_utf8(buffer).unwrap_or_default();
        render_statements(&mut text, &infra::statements::snapshot());
        render_webhooks(&mut text, webhooks);
        text
    }
}

/// Appends the webhook deliveries by outcome, their attempt latency histogram and the age
/// of the oldest event not delivered yet (`events.md`, operations).
fn render_webhooks(text: &mut String, stats: &infra::webhook_dispatch::DispatchStats) {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let _ = writeln!(text, "# HELP ldbds_webhook_deliveries_total Webhook delivery attempts, by outcome");
    let _ = writeln!(text, "# TYPE ldbds_webhook_deliveries_total counter");
    for (outcome, counter) in [
        ("succeeded", &stats.succeeded),
        ("retried", &stats.retried),
        ("failed", &stats.failed),
        ("gave_up", &stats.gave_up),
    ] {
        let _ = writeln!(text, "ldbds_webhook_deliveries_total{{outcome=\"{outcome}\"}} {}", counter.load(Relaxed));
    }
    let name = "ldbds_webhook_delivery_seconds";
    let _ = writeln!(text, "# HELP {name} Webhook attempt latency, request sent to answer read");
    let _ = writeln!(text, "# TYPE {name} histogram");
    for (bound, bucket) in infra::webhook_dispatch::LATENCY_BUCKETS_MS.iter().zip(&stats.latency_buckets) {
        #[allow(clippy::cast_precision_loss)]
        let le = *bound as f64 / 1000.0;
        let _ = writeln!(text, "{name}_bucket{{le=\"{le}\"}} {}", bucket.load(Relaxed));
    }
    let count = stats.latency_count.load(Relaxed);
    let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {count}");
    #[allow(clippy::cast_precision_loss)]
    let sum = stats.latency_sum_ms.load(Relaxed) as f64 / 1000.0;
    let _ = writeln!(text, "{name}_sum {sum}");
    let _ = writeln!(text, "{name}_count {count}");
    let gauge = "ldbds_webhook_oldest_pending_seconds";
    let _ = writeln!(text, "# HELP {gauge} Age of the oldest event not delivered yet (0: none), as last measured");
    let _ = writeln!(text, "# TYPE {gauge} gauge");
    #[allow(clippy::cast_precision_loss)]
    let oldest = stats.oldest_pending_ms.load(Relaxed) as f64 / 1000.0;
    let _ = writeln!(text, "{gauge} {oldest}");
}

/// The counter family of the statements sent, by use case and kind.
pub const STATEMENTS_TOTAL: &str = "ldbds_db_statements_total";

/// Appends the statement counts as one counter family (nothing when there are none).
fn render_statements(text: &mut String, counts: &[infra::statements::Count]) {
    use std::fmt::Write as _;
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(text, "# HELP {STATEMENTS_TOTAL} Statements sent to the database, by use case and kind");
    let _ = writeln!(text, "# TYPE {STATEMENTS_TOTAL} counter");
    for c in counts {
        let _ = writeln!(
            text,
            "{STATEMENTS_TOTAL}{{kind=\"{}\",use_case=\"{}\"}} {}",
            c.kind.as_str(),
            escape_label(&c.use_case),
            c.total
        );
    }
}

/// A label value as the Prometheus text format writes it: `\`, `"` and line feeds escaped.
#[must_use]
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
    out
}

/// Middleware: counts and times every request, and counts its statements under its use
/// case. The route is known before the handler runs: the app's resource map matches the
/// path, the same match the response's label is read from.
///
/// # Errors
/// Passes the inner service's error through.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| std::sync::Arc::clone(&s.metrics));
    let method = method_label(req.method());
    let use_case = use_case_label(method, &route_label(req.match_pattern()));
    let started = Instant::now();
    let response = infra::statements::scoped_unless_set(use_case, next.call(req)).await?;
    if let Some(metrics) = metrics {
        let route = route_label(response.request().match_pattern());
        metrics.observe(method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_up_method_is_labelled_other_and_standard_ones_keep_their_name() {
        for name in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"] {
            let method = Method::from_bytes(name.as_bytes()).expect("a valid method token");
            assert_eq!(method_label(&method), name);
        }
        for made_up in ["BREW", "get", "X-PHONE-01012345678", "PROPFIND"] {
            let method = Method::from_bytes(made_up.as_bytes()).expect("a valid method token");
            assert_eq!(method_label(&method), "OTHER", "{made_up}");
        }
    }

    #[test]
    fn an_unmatched_route_has_one_label() {
        assert_eq!(route_label(None), UNMATCHED);
        assert_eq!(route_label(Some("/api/v1/leads/{id}".to_owned())), "/api/v1/leads/{id}");
    }

    #[test]
    fn statement_counts_render_as_one_counter_family_with_escaped_labels() {
        use infra::statements::{Count, Kind};
        let mut text = String::new();
        render_statements(&mut text, &[]);
        assert_eq!(text, "", "no family without a count");
        let counts = [
            Count { use_case: "GET /api/v1/leads".into(), kind: Kind::Select, total: 3 },
            Count { use_case: "odd \"name\"\\\nnext".into(), kind: Kind::Commit, total: 1 },
        ];
        render_statements(&mut text, &counts);
        assert_eq!(
            text,
            "# HELP ldbds_db_statements_total Statements sent to the database, by use case and kind\n\
             # TYPE ldbds_db_statements_total counter\n\
             ldbds_db_statements_total{kind=\"select\",use_case=\"GET /api/v1/leads\"} 3\n\
             ldbds_db_statements_total{kind=\"commit\",use_case=\"odd \\\"name\\\"\\\\\\nnext\"} 1\n"
        );
    }

    #[test]
    fn a_use_case_is_the_method_and_the_route() {
        assert_eq!(use_case_label("GET", "/api/v1/leads"), "GET /api/v1/leads");
        assert_eq!(use_case_label("POST", &route_label(None)), "POST unmatched");
    }
}
