//! Reading the catalogue, the regions and the AS reasons.
//!
//! Invariant: the AS policy of any product that exists can be read, on sale or not
//! (a buyer of an old order still needs the rules of its leads); the catalogue itself
//! lists only products on sale.

use thiserror::Error;
use uuid::Uuid;

use crate::error::RepoError;
use crate::pagination::Page;
use crate::ports::ReferenceRepository;
use crate::reference::{AsReason, Country, Product, ProductQuery, Region};

#[derive(Debug, Error)]
pub enum ReferenceError {
    #[error("product {0} not found")]
    ProductNotFound(Uuid),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Reference-data use cases.
pub struct ReferenceService<'a, R> {
    repo: &'a R,
}

impl<'a, R: ReferenceRepository> ReferenceService<'a, R> {
    pub fn new(repo: &'a R) -> Self {
        Self { repo }
    }

    /// # Errors
    /// Only storage failures.
    pub async fn regions(&self, country: Option<Country>) -> Result<Vec<Region>, ReferenceError> {
        Ok(self.repo.list_regions(country).await?)
    }

    /// # Errors
    /// Only storage failures.
    pub async fn catalogue(&self, query: &ProductQuery) -> Result<Page<Product>, ReferenceError> {
        Ok(self.repo.list_products(query).await?)
    }

    /// A product with its AS policy, on sale or not.
    ///
    /// # Errors
    /// [`ReferenceError::ProductNotFound`] when no product has this id.
    pub async fn product(&self, product_id: Uuid) -> Result<Product, ReferenceError> {
        self.repo.find_product(product_id).await?.ok_or(ReferenceError::ProductNotFound(product_id))
    }

    /// # Errors
    /// Only storage failures.
    pub async fn as_reasons(&self) -> Result<Vec<AsReason>, ReferenceError> {
        Ok(self.repo.list_as_reasons().await?)
    }
}
