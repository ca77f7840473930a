//! Reference data in memory: regions, products (with their AS and allocation policies),
//! AS reasons, and the intake's sources with their project maps (ADR 0009).
//!
//! Invariants:
//! - a read is served from one [`Snapshot`], loaded whole (five statements, counted under
//!   [`RELOAD_USE_CASE`], not under the request that happened to trigger them); a request
//!   that finds a fresh snapshot sends no statement;
//! - a snapshot is dropped by [`crate::invalidation::reference_changed`] (every write of
//!   reference data calls it; on PostgreSQL the other nodes hear of it by NOTIFY) and is
//!   reloaded on the next read; it is also reloaded once older than the TTL
//!   (`auth.cache_ttl_secs`), which bounds a change no invalidation reached (a CLI write
//!   on SQLite);
//! - one load at a time: concurrent readers of a stale snapshot wait for the same load;
//! - a load that raced an invalidation is served to its own readers but not kept;
//! - the answers equal the database's: the same filters, the same order (products by name
//!   in the order the database itself sorted them, ties by id), the same totals.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use domain::error::RepoError;
use domain::intake::Source;
use domain::pagination::{Page, SortOrder};
use domain::reference::{AsReason, Country, Product, ProductQuery, ProductSortKey, Region};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::entities::{as_reason, product, region, source, source_project};
use crate::error::{corrupt, unavailable};
use crate::invalidation::{self, Epoch};

/// The use case a reload's statements are counted under.
pub const RELOAD_USE_CASE: &str = "reference-reload";

/// The default TTL, until the settings set theirs.
const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// A product with what the list sorts it by.
#[derive(Debug, Clone)]
struct Stored {
    product: Product,
    /// The id as the `products` row holds it (what `leads.product_id` refers to).
    id_text: String,
    created_at: i64,
    unit_price_minor: i64,
    /// Its place when the database sorts all products by name, then id.
    name_rank: usize,
}

/// Everything the cache holds, as loaded at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By `sort_order`.
    regions: Vec<Region>,
    products: Vec<Stored>,
    product_at: HashMap<Uuid, usize>,
    /// By `sort_order`.
    as_reasons: Vec<AsReason>,
    sources: HashMap<String, Source>,
}

impl Snapshot {
    /// The regions (of one country when given), in their display order.
    #[must_use]
    pub fn regions(&self, country: Option<Country>) -> Vec<Region> {
        self.regions.iter().filter(|r| country.is_none_or(|c| r.country == c)).cloned().collect()
    }

    /// A product by id, on sale or not.
    #[must_use]
    pub fn product(&self, id: Uuid) -> Option<Product> {
        self.product_at.get(&id).map(|&i| self.products[i].product.clone())
    }

    /// The page of products on sale that `query` asks for, with its total.
    #[must_use]
    pub fn products(&self, query: &ProductQuery) -> Page<Product> {
        let mut hits: Vec<&Stored> = self
            .products
            .iter()
            .filter(|s| s.product.on_sale)
            .filter(|s| query.category.as_ref().is_none_or(|c| s.product.category == *c))
            .collect();
        match query.sort.key {
            ProductSortKey::Name => hits.sort_by_key(|s| s.name_rank),
            ProductSortKey::UnitPrice => hits.sort_by_key(|s| (s.unit_price_minor, s.product.id)),
            ProductSortKey::CreatedAt => hits.sort_by_key(|s| (s.created_at, s.product.id)),
        }
        if query.sort.order == SortOrder::Desc {
            // `ORDER BY k DESC, id DESC` is exactly the reverse of `ORDER BY k, id`.
            hits.reverse();
        }
        let total = hits.len() as u64;
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.page.limit()).unwrap_or(usize::MAX);
        let items = hits.into_iter().skip(offset).take(limit).map(|s| s.product.clone()).collect();
        Page { items, request: query.page, total }
    }

    /// Every product, on sale or not, as (stored id, name): what a lead search by last 4
    /// digits or by product name needs (`infra::leads`).
    pub fn all_products(&self) -> impl Iterator<Item = (&str, &str)> {
        self.products.iter().map(|s| (s.id_text.as_str(), s.product.name.as_str()))
    }

    /// The AS reasons in their display order.
    #[must_use]
    pub fn as_reasons(&self) -> Vec<AsReason> {
        self.as_reasons.clone()
    }

    /// A source by its code, with its project map.
    #[must_use]
    pub fn source(&self, code: &str) -> Option<Source> {
        self.sources.get(code).cloned()
    }
}

/// The reference cache of one database (see the module invariants).
#[derive(Debug)]
pub struct ReferenceCache {
    current: RwLock<Option<(Instant, Arc<Snapshot>)>>,
    loading: tokio::sync::Mutex<()>,
    epoch: Epoch,
    ttl_ms: AtomicU64,
}

impl ReferenceCache {
    /// An empty cache of the database at `url`, reachable by [`crate::invalidation`].
    #[must_use]
    pub fn new(url: &str) -> Arc<Self> {
        let this = Arc::new(Self {
            current: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
            epoch: Epoch::default(),
            ttl_ms: AtomicU64::new(DEFAULT_TTL.as_millis() as u64),
        });
        invalidation::register_reference(url, &this);
        this
    }

    /// Sets how long a snapshot is served before it is reloaded.
    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Drops the snapshot: the next read reloads.
    pub(crate) fn invalidate(&self) {
        self.epoch.bump();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let ttl = Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed));
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|(at, _)| at.elapsed() < ttl).map(|(_, snapshot)| Arc::clone(snapshot))
    }

    /// The current snapshot, loaded first when there is none or it is older than the TTL.
    ///
    /// # Errors
    /// `Unavailable` when the load fails, `Corrupted` for a row that does not parse.
    pub async fn snapshot(&self, conn: &impl ConnectionTrait) -> Result<Arc<Snapshot>, RepoError> {
        if let Some(snapshot) = self.fresh() {
            return Ok(snapshot);
        }
        let _one_load = self.loading.lock().await;
        // Another reader may have loaded it while this one waited.
        if let Some(snapshot) = self.fresh() {
            return Ok(snapshot);
        }
        let epoch = self.epoch.now();
        let snapshot = Arc::new(crate::statements::scoped(RELOAD_USE_CASE, load(conn)).await?);
        if self.epoch.unchanged_since(epoch) {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                Some((Instant::now(), Arc::clone(&snapshot)));
        }
        Ok(snapshot)
    }
}

async fn load(conn: &impl ConnectionTrait) -> Result<Snapshot, RepoError> {
    let region_rows = region::Entity::find().order_by_asc(region::Column::SortOrder).all(conn).await;
    let regions = region_rows
        .map_err(unavailable)?
        .into_iter()
        .map(|row| {
            let country = row.country.parse().map_err(|e| corrupt("regions", &row.code, e))?;
            Ok(Region { code: row.code, name: row.name, country })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let product_rows = product::Entity::find()
        .order_by_asc(product::Column::Name)
        .order_by_asc(product::Column::Id)
        .all(conn)
        .await
        .map_err(unavailable)?;
    let mut products = Vec::with_capacity(product_rows.len());
    for (name_rank, row) in product_rows.into_iter().enumerate() {
        let (created_at, unit_price_minor, id_text) = (row.created_at, row.unit_price_minor, row.id.clone());
        let product = crate::reference::product_from_row(row)?;
        products.push(Stored { product, id_text, created_at, unit_price_minor, name_rank });
    }
    let product_at = products.iter().enumerate().map(|(i, s)| (s.product.id, i)).collect();
    let reason_rows = as_reason::Entity::find().order_by_asc(as_reason::Column::SortOrder).all(conn).await;
    let as_reasons = reason_rows
        .map_err(unavailable)?
        .into_iter()
        .map(|row| {
            let code = row.code.parse().map_err(|e| corrupt("as_reasons", &row.code, e))?;
            Ok(AsReason { code, label: row.label, requires_evidence: row.requires_evidence })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    let sources = load_sources(conn).await?;
    Ok(Snapshot { regions, products, product_at, as_reasons, sources })
}

async fn load_sources(conn: &impl ConnectionTrait) -> Result<HashMap<String, Source>, RepoError> {
    let mut projects: HashMap<String, BTreeMap<String, Uuid>> = HashMap::new();
    for m in source_project::Entity::find().all(conn).await.map_err(unavailable)? {
        let product = m.product_id.parse().map_err(|e| corrupt("source_projects", &m.source_id, e))?;
        projects.entry(m.source_id).or_default().insert(m.project_code, product);
    }
    let mut sources = HashMap::new();
    for row in source::Entity::find().all(conn).await.map_err(unavailable)? {
        let bad = |e: uuid::Error| corrupt("sources", &row.id, e);
        let source = Source {
            id: row.id.parse().map_err(bad)?,
            code: row.code.clone(),
            org_id: row.org_id.parse().map_err(bad)?,
            default_product_id: row.default_product_id.as_deref().map(str::parse).transpose().map_err(bad)?,
            projects: projects.remove(&row.id).unwrap_or_default(),
        };
        sources.insert(row.code, source);
    }
    Ok(sources)
}
