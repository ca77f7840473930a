//! Shared application state, cloned into every worker.

use std::sync::Arc;

use domain::ports::{Clock, SystemClock};
use infra::as_claims::SeaAsClaimRepository;
use infra::config::Settings;
use infra::counsel::SeaCounselRepository;
use infra::crypto::Keyring;
use infra::db::Db;
use infra::files::Files;
use infra::leads::SeaLeadRepository;
use infra::orders::SeaOrderRepository;
use infra::orgs::SeaOrgRepository;
use infra::reference::SeaReferenceRepository;
use infra::tokens::TokenIssuer;
use infra::users::SeaUserRepository;
use infra::webhooks::{SeaWebhookRepository, WebhookDestinations};

use crate::auth::Limits;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keyring: Arc<Keyring>,
    pub tokens: Arc<TokenIssuer>,
    /// Every rate limit (per key, per action, per client address).
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub reference: SeaReferenceRepository,
    pub users: SeaUserRepository,
    pub leads: SeaLeadRepository,
    pub orders: SeaOrderRepository,
    /// Evidence uploads (local or S3) and their use by AS requests.
    pub files: Files,
    /// Counsel queues, managers and cases.
    pub counsel: SeaCounselRepository,
    /// AS requests: claims, transitions and their effects on leads and orders.
    pub as_claims: SeaAsClaimRepository,
    /// Organizations, their sources and API keys (onboarding), and their SSO settings.
    pub orgs: SeaOrgRepository,
    /// The counsel `.xlsx` reader and writer (`domain::ports::CounselWorkbook`).
    pub counsel_workbook: infra::counsel_excel::XlsxWorkbook,
    /// API keys, users, orgs and members in memory (ADR 0009).
    pub principals: Arc<infra::principal_cache::PrincipalCache>,
    /// The users of the leads use cases (a transfer's recipient), looked up through
    /// `principals`.
    pub member_users: infra::principal_cache::CachedUsers,
    /// The webhook dispatcher's counters (`/metrics`), shared with the dispatcher `serve`
    /// starts.
    pub webhook_stats: Arc<infra::webhook_dispatch::DispatchStats>,
    /// Webhook endpoints, their sealed secrets and deliveries.
    pub webhooks: SeaWebhookRepository,
    /// Where webhooks may be sent: the policy of `events.allow_loopback`, names resolved.
    pub webhook_destinations: WebhookDestinations,
    /// Identity verifications of the consumer funnel.
    pub identity: infra::identity::SeaIdentityRepository,
    /// Their codes and tokens.
    pub verification_secrets: infra::identity::KeyedSecrets,
    /// The SMS provider (`funnel.sms`).
    pub sms: infra::sms::SmsAdapter,
    /// The terms of the consumer funnel (`fixtures/terms.toml`).
    pub terms: Arc<domain::funnel::terms::TermsBook>,
    /// Recommended coverage amounts of the analysis (`funnel.recommendations_file`, or
    /// the built-in table), checked at start.
    pub recommendations: Arc<domain::funnel::coverage::RecommendationTable>,
    /// Coverage analyses, their reports sealed.
    pub analyses: infra::analyses::SeaAnalysisRepository,
    /// The insurance-contract registry (`funnel.insurance`).
    pub insurance: infra::insurance_http::InsuranceAdapter,
    /// Medical analyses and their NHIS sessions, sealed.
    pub medical: infra::medical::SeaMedicalRepository,
    /// The health-data provider (`funnel.health`).
    pub health: infra::nhis_http::HealthAdapter,
    /// The PDF renderer of reports (the font parsed once).
    pub pdf: Arc<infra::pdf::KrillaPdf>,
}

/// The health-data adapter `settings` name.
fn health_adapter(settings: &infra::config::FunnelSettings) -> anyhow::Result<infra::nhis_http::HealthAdapter> {
    use infra::config::InsuranceAdapterKind as Kind;
    use infra::nhis_http::{HealthAdapter, HttpHealth};
    Ok(match settings.health {
        Kind::None => HealthAdapter::Disabled,
        Kind::Sandbox => HealthAdapter::Sandbox(infra::nhis_sandbox::SandboxHealth {
            approve_after: std::time::Duration::from_millis(settings.health_approve_after_ms),
        }),
        Kind::Http => HealthAdapter::Http(HttpHealth::new(&settings.health_url, &settings.health_token)?),
    })
}

impl AppState {
    /// State over an open database and loaded keys, with the wall clock.
    ///
    /// # Errors
    /// When the metrics registry, the token issuer or the SMS client cannot be built, or
    /// the terms fixture or the recommendation table does not parse.
    pub fn new(db: Db, settings: Settings, keyring: Arc<Keyring>, jwt_secret: &[u8]) -> anyhow::Result<Self> {
        let limits = Arc::new(Limits::new(&settings.rate_limit));
        let tokens = Arc::new(TokenIssuer::new(&settings.jwt, jwt_secret)?);
        let files = Files::from_settings(db.clone(), &settings, &keyring)?;
        let principals = infra::principal_cache::PrincipalCache::new(&settings.database_url(), &settings.auth);
        db.reference_cache().set_ttl(std::time::Duration::from_secs(settings.auth.cache_ttl_secs));
        let users = SeaUserRepository::new(db.conn().clone(), Arc::clone(&keyring));
        Ok(Self {
            member_users: infra::principal_cache::CachedUsers::new(Arc::clone(&principals), users.clone()),
            principals,
            reference: SeaReferenceRepository::cached(&db),
            users,
            leads: SeaLeadRepository::new(db.clone(), Arc::clone(&keyring)),
            orders: SeaOrderRepository::new(db.clone(), Arc::clone(&keyring)),
            counsel: SeaCounselRepository::new(db.clone(), Arc::clone(&keyring)),
            as_claims: SeaAsClaimRepository::new(db.clone(), Arc::clone(&keyring)),
            orgs: SeaOrgRepository::new(db.clone(), Arc::clone(&keyring)),
            webhooks: SeaWebhookRepository::new(db.clone(), Arc::clone(&keyring)),
            webhook_destinations: WebhookDestinations::from_settings(&settings.events),
            identity: infra::identity::SeaIdentityRepository::new(db.clone(), Arc::clone(&keyring)),
            verification_secrets: infra::identity::KeyedSecrets::new(Arc::clone(&keyring)),
            sms: infra::sms::SmsAdapter::from_settings(&settings.funnel)?,
            terms: Arc::new(infra::terms::book()?),
            analyses: infra::analyses::SeaAnalysisRepository::new(db.clone(), Arc::clone(&keyring)),
            insurance: infra::insurance_http::InsuranceAdapter::from_settings(&settings.funnel)?,
            medical: infra::medical::SeaMedicalRepository::new(db.clone(), Arc::clone(&keyring)),
            health: health_adapter(&settings.funnel)?,
            pdf: Arc::new(infra::pdf::KrillaPdf::new().map_err(|e| anyhow::anyhow!("the report font: {e}"))?),
            recommendations: Arc::new(infra::coverage_table::load(
                Some(settings.funnel.recommendations_file.trim()).filter(|f| !f.is_empty()).map(std::path::Path::new),
            )?),
            counsel_workbook: infra::counsel_excel::XlsxWorkbook,
            files,
            db,
            settings: Arc::new(settings),
            keyring,
            tokens,
            limits,
            metrics: Arc::new(Metrics::new()?),
            webhook_stats: Arc::default(),
            clock: Arc::new(SystemClock),
        })
    }
}
