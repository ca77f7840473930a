//! Assembling the app (shared by the server and the tests) and bootstrapping a server:
//! data directory, database, migrations, reference data, first-start demo data, and the
//! caches' background tasks (the `last_used_at` writer, the PostgreSQL invalidation
//! listener; the uses noted last are written at shutdown).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use anyhow::Context;
use infra::config::Settings;
use infra::db::Db;
use infra::fixtures::{self, SeedReport};
use tracing_actix_web::TracingLogger;

use crate::error::{ApiError, ErrorCode, InputProblem};
use crate::state::AppState;
use crate::telemetry::RequestSpan;
use crate::{gate, metrics, request_id, routes};

/// The full application: middleware, extractor configuration, routes, fallbacks.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_limit = state.settings.limits.json_body_bytes;
    App::new()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(json_limit)
                .error_handler(move |err, _req| json_error(err, json_limit).into()),
        )
        .app_data(web::PayloadConfig::new(json_limit))
        .app_data(web::QueryConfig::default().error_handler(|err, _req| query_error(err).into()))
        .app_data(web::PathConfig::default().error_handler(|err, _req| path_error(err).into()))
        .configure(routes::health::configure)
        .configure(routes::docs::configure)
        .configure(routes::reference::configure)
        .configure(routes::auth::configure)
        .configure(routes::users::configure)
        .configure(routes::leads::configure)
        .configure(routes::orders::configure)
        .configure(routes::intake::configure)
        .configure(routes::files::configure)
        .configure(routes::as_claims::configure)
        .configure(routes::counsel::configure)
        .configure(routes::orgs::configure)
        .configure(routes::webhooks::configure)
        .configure(routes::coverage::configure)
        .configure(routes::medical::configure)
        .default_service(web::to(route_not_found))
        .wrap(from_fn(gate::middleware))
        .wrap(from_fn(request_id::middleware))
        .wrap(from_fn(metrics::middleware))
        .wrap(TracingLogger::<RequestSpan>::new())
}

/// 405 with `Allow` for a documented path asked with another method, else 404.
async fn route_not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if let Some(allow) = crate::openapi::allowed_methods(req.path()) {
        return Err(ApiError::MethodNotAllowed { allow });
    }
    // The path is not repeated: it may carry what the caller typed (a phone, a name).
    Err(ApiError::not_found(
        ErrorCode::RouteNotFound,
        format!("no endpoint for {} at this path", metrics::method_label(req.method())),
    ))
}

// The extractor errors below reach the caller and the log only as an `InputProblem`:
// field names and the kind of problem, never a value the caller sent.

fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => e.into(),
        _ => ApiError::InvalidJson(InputProblem::unreadable()),
    }
}

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(e) => ApiError::InvalidQuery(InputProblem::from_serde(&e.to_string())),
        _ => ApiError::InvalidQuery(InputProblem::from_serde("")),
    }
}

fn path_error(err: PathError) -> ApiError {
    match err {
        PathError::Deserialize(e) => ApiError::InvalidQuery(InputProblem::from_serde(&e.to_string())),
        _ => ApiError::InvalidQuery(InputProblem::from_serde("")),
    }
}

/// What [`prepare`] did, for the start-up banner.
pub struct Prepared {
    pub state: AppState,
    /// Demo data loaded on this start (first start of the embedded database).
    pub demo: Option<SeedReport>,
    /// Keys generated on this start (dev/test only), to tell the operator where.
    pub generated_keys: Vec<String>,
}

/// Opens the database (creating the data directory for the embedded default), applies
/// migrations and reference data when configured, and seeds the demo data on the first
/// start of the embedded database.
///
/// # Errors
/// When the data directory cannot be created, the database cannot be opened, or a
/// migration or fixture fails.
pub async fn prepare(settings: Settings) -> anyhow::Result<Prepared> {
    let embedded = settings.uses_embedded_database();
    let mut first_start = false;
    if embedded {
        infra::db::create_data_dir(&settings.data_dir)
            .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
        first_start = !settings.data_dir.join("ldbds.db").exists();
    }
    let db = Db::connect(&settings.database_url(), settings.pool()).await.context("cannot open the database")?;
    if settings.database.migrate_on_start {
        db.migrate_up().await.context("migrations failed")?;
        fixtures::seed_reference(&db).await.context("loading reference data failed")?;
    }
    let demo = if embedded && first_start && settings.database.seed_demo_on_first_start {
        Some(fixtures::seed_demo(&db, time::OffsetDateTime::now_utc()).await.context("loading demo data failed")?)
    } else {
        None
    };
    let (keyring, key_source) =
        infra::vault::keyring_from_settings(&settings).context("loading the encryption keys failed")?;
    // Free text stored before the vault covered it is sealed before the first request.
    let sealed =
        infra::seal_backfill::seal_plaintext_rows(&db, &keyring).await.context("sealing stored free text failed")?;
    if sealed.total() > 0 {
        tracing::info!(rows = sealed.total(), "sealed free text stored in plain text before");
    }
    let (jwt_secret, jwt_source) = infra::vault::jwt_secret(&settings).context("loading the JWT secret failed")?;
    infra::files::seal_legacy(&db, &keyring, &settings.data_dir.join("files")).await.context("sealing evidence")?;
    let generated_keys = [key_source, jwt_source]
        .into_iter()
        .filter_map(|source| match source {
            infra::vault::KeySource::Generated(path) => Some(path),
            _ => None,
        })
        .collect();
    let state = AppState::new(db, settings, std::sync::Arc::new(keyring), &jwt_secret)?;
    Ok(Prepared { state, demo, generated_keys })
}

/// Serves until SIGINT/SIGTERM, then drains in-flight requests, then the reveal log.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let settings = std::sync::Arc::clone(&state.settings);
    // Before any request: every event written from now on is marked for the stream.
    let nats_url = settings.events.nats_url.trim();
    state.db.outbox_signal().set_nats_wanted(!nats_url.is_empty());
    let app_state = state.clone();
    let mut server = HttpServer::new(move || build_app(app_state.clone()))
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .bind(&settings.server.bind)
        .with_context(|| format!("cannot bind {}", settings.server.bind))?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let caches = CacheTasks::start(&state);
    let dispatcher = start_dispatcher(&state)?;
    let publisher = start_publisher(&state, nats_url).await?;
    let purge = start_purge(&state);
    // Reveals are group-committed while the server serves (infra::reveal_log); the drain
    // writes what is queued after the last request, before the pool closes.
    state.leads.reveals().start();
    let served = server.run().await;
    // A purge in flight is one transaction: stopping it rolls it back, the next start
    // runs it again.
    if let Some(purge) = purge {
        purge.abort();
    }
    // The deliveries in flight are sent and recorded before the pool closes.
    if let Some(dispatcher) = dispatcher {
        dispatcher.stop().await;
    }
    // The batch in flight is acked and recorded (or left to the next start) likewise.
    if let Some(publisher) = publisher {
        publisher.stop().await;
    }
    state.leads.reveals().drain().await;
    caches.stop(&state).await;
    served.context("server failed")?;
    state.db.close().await.ok();
    Ok(())
}

/// The periodic purge of health data past its retention (and of old identity
/// verifications), every `funnel.purge_interval_secs` (0: none); the first run at start.
fn start_purge(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let funnel = &state.settings.funnel;
    if funnel.purge_interval_secs == 0 {
        return None;
    }
    let every = std::time::Duration::from_secs(funnel.purge_interval_secs);
    let retention = time::Duration::days(i64::from(funnel.medical_retention_days));
    let medical = state.medical.clone();
    let clock = std::sync::Arc::clone(&state.clock);
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match domain::service::medical::purge(&medical, clock.now(), retention).await {
                Ok(p) if p == domain::funnel::health::Purged::default() => {}
                Ok(p) => tracing::info!(
                    medical_analyses = p.medical_analyses,
                    health_sessions = p.health_sessions,
                    identity_verifications = p.identity_verifications,
                    "purged health data past its retention"
                ),
                Err(e) => tracing::warn!(error = %e, "the health-data purge failed; it runs again next interval"),
            }
        }
    }))
}

/// The webhook dispatcher of this node (`events.dispatch`), woken on PostgreSQL by the
/// other nodes' `NOTIFY` too.
fn start_dispatcher(state: &AppState) -> anyhow::Result<Option<infra::webhook_dispatch::DispatcherHandle>> {
    let events = &state.settings.events;
    if !events.dispatch {
        return Ok(None);
    }
    let policy = if events.allow_loopback {
        infra::webhook_destination::DestinationPolicy::LOOPBACK_ALLOWED
    } else {
        infra::webhook_destination::DestinationPolicy::PRODUCTION
    };
    let dispatcher = infra::webhook_dispatch::Dispatcher::new(
        state.db.clone(),
        std::sync::Arc::clone(&state.keyring),
        policy,
        events.max_in_flight,
    )?
    .with_stats(std::sync::Arc::clone(&state.webhook_stats));
    let listen = state.db.is_postgres().then(|| state.settings.database_url());
    Ok(Some(dispatcher.spawn(listen)))
}

/// The NATS JetStream publisher of this node (`events.nats_url`; empty: none). With NATS
/// down at start the server still serves: a warning is logged, the events wait in the
/// outbox, and the client and the publisher keep trying.
async fn start_publisher(
    state: &AppState,
    nats_url: &str,
) -> anyhow::Result<Option<infra::nats_publish::PublisherHandle>> {
    if nats_url.is_empty() {
        return Ok(None);
    }
    let client = infra::nats_publish::connect(nats_url).await.context("events.nats_url")?;
    let publisher =
        infra::nats_publish::Publisher::new(state.db.clone(), std::sync::Arc::clone(&state.keyring), client);
    Ok(Some(publisher.spawn()))
}

/// The background tasks of the caches (ADR 0009): the `last_used_at` writer and, on
/// PostgreSQL, the invalidation listener.
struct CacheTasks {
    flusher: tokio::task::JoinHandle<()>,
    listener: Option<infra::invalidation::Listener>,
}

impl CacheTasks {
    fn start(state: &AppState) -> Self {
        let every = std::time::Duration::from_secs(state.settings.auth.last_used_flush_secs);
        let flusher = state.principals.spawn_flusher(state.db.clone(), every);
        let listener = infra::invalidation::spawn_listener_for(&state.db, state.settings.database_url());
        Self { flusher, listener }
    }

    /// Stops both and writes the key uses noted since the last flush.
    async fn stop(self, state: &AppState) {
        self.flusher.abort();
        if let Some(listener) = &self.listener {
            listener.stop();
        }
        if let Err(e) = state.principals.flush_last_used(&state.db).await {
            tracing::warn!(error = %e, "writing the keys' last use at shutdown failed");
        }
    }
}
