//! Ports: what the domain needs from the outside world. Adapters live in `infra`,
//! in-memory doubles in `testkit`.
//!
//! Futures returned by ports are `Send` so that use cases can run on any executor.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::pagination::Page;
use crate::reference::{AsReason, Country, Product, ProductQuery, Region};

/// The current time. Use cases never read the system clock themselves.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Read access to reference data.
pub trait ReferenceRepository: Send + Sync {
    /// Regions, ordered as the fixtures list them, optionally one country's.
    fn list_regions(&self, country: Option<Country>) -> impl Future<Output = Result<Vec<Region>, RepoError>> + Send;
    /// Products on sale matching the query, one page of them and the total.
    fn list_products(&self, query: &ProductQuery) -> impl Future<Output = Result<Page<Product>, RepoError>> + Send;
    /// A product whether on sale or not; `None` when it does not exist.
    fn find_product(&self, id: Uuid) -> impl Future<Output = Result<Option<Product>, RepoError>> + Send;
    /// All AS reasons in display order.
    fn list_as_reasons(&self) -> impl Future<Output = Result<Vec<AsReason>, RepoError>> + Send;
}
