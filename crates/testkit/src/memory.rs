//! In-memory adapters of the domain's ports, for use-case tests without a database.

// Each area's in-memory ports, in their own files.
mod leads;
pub use self::leads::*;
mod intake;
pub use self::intake::*;
mod orders;
pub use self::orders::*;
mod as_claims;
pub use self::as_claims::*;
mod counsel;
pub use self::counsel::*;
mod files;
pub use self::files::*;
mod webhooks;
pub use self::webhooks::*;
mod funnel;
pub use self::funnel::*;
// Users, their audit, SSO and tokens.
mod users;
pub use self::users::*;

use std::sync::Mutex;

use domain::error::RepoError;
use domain::pagination::{Page, SortOrder};
use domain::ports::{Clock, ReferenceRepository};
use domain::reference::{AsReason, Country, Product, ProductQuery, ProductSortKey, Region};
use time::OffsetDateTime;
use uuid::Uuid;

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(pub Mutex<OffsetDateTime>);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock")
    }
}

/// Reference data held in vectors, in insertion order.
#[derive(Debug, Default)]
pub struct MemoryReferenceRepository {
    pub regions: Vec<Region>,
    pub products: Vec<Product>,
    pub reasons: Vec<AsReason>,
}

impl ReferenceRepository for MemoryReferenceRepository {
    async fn list_regions(&self, country: Option<Country>) -> Result<Vec<Region>, RepoError> {
        Ok(self.regions.iter().filter(|r| country.is_none_or(|c| r.country == c)).cloned().collect())
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<Page<Product>, RepoError> {
        let mut items: Vec<(usize, Product)> = self
            .products
            .iter()
            .enumerate()
            .filter(|(_, p)| p.on_sale && query.category.as_ref().is_none_or(|c| &p.category == c))
            .map(|(i, p)| (i, p.clone()))
            .collect();
        items.sort_by(|(ia, a), (ib, b)| {
            let ordering = match query.sort.key {
                ProductSortKey::Name => a.name.cmp(&b.name),
                ProductSortKey::UnitPrice => a.unit_price.cmp(&b.unit_price),
                ProductSortKey::CreatedAt => ia.cmp(ib),
            };
            match query.sort.order {
                SortOrder::Asc => ordering,
                SortOrder::Desc => ordering.reverse(),
            }
        });
        let total = items.len() as u64;
        let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
        let limit = usize::try_from(query.page.limit()).unwrap_or(usize::MAX);
        let items = items.into_iter().skip(offset).take(limit).map(|(_, p)| p).collect();
        Ok(Page { items, request: query.page, total })
    }

    async fn find_product(&self, id: Uuid) -> Result<Option<Product>, RepoError> {
        Ok(self.products.iter().find(|p| p.id == id).cloned())
    }

    async fn list_as_reasons(&self) -> Result<Vec<AsReason>, RepoError> {
        Ok(self.reasons.clone())
    }
}
