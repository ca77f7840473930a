//! Shared application state, cloned into every worker.

use std::sync::Arc;

use domain::ports::{Clock, SystemClock};
use infra::config::Settings;
use infra::db::Db;
use infra::reference::SeaReferenceRepository;

use crate::auth::KeyRateLimiter;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub limiter: Arc<KeyRateLimiter>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub reference: SeaReferenceRepository,
}

impl AppState {
    /// State over an open database, with the wall clock.
    ///
    /// # Errors
    /// When the metrics registry cannot be built.
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        let limiter = Arc::new(crate::auth::rate_limiter(&settings.rate_limit));
        Ok(Self {
            reference: SeaReferenceRepository::new(db.conn().clone()),
            db,
            settings: Arc::new(settings),
            limiter,
            metrics: Arc::new(Metrics::new()?),
            clock: Arc::new(SystemClock),
        })
    }
}
