//! The reference-data repository on sea-orm.
//!
//! Invariants:
//! - a stored row that no longer parses into its domain type is reported as
//!   [`RepoError::Corrupted`] naming the row, never silently skipped;
//! - a repository made with [`SeaReferenceRepository::cached`] answers from the database's
//!   [`crate::reference_cache::ReferenceCache`] (no statement while it is fresh), with the
//!   same answers as the database would give;
//! - every write here ([`upsert_product`]) reloads the reference caches
//!   ([`crate::invalidation::reference_changed`], and on PostgreSQL a NOTIFY in the
//!   caller's transaction).

use std::str::FromStr;
use std::sync::Arc;

use domain::error::RepoError;

use crate::error::{corrupt, unavailable};
use domain::money::Money;
use domain::pagination::{Page, SortOrder};
use domain::ports::ReferenceRepository;
use domain::reference::{
    AsPolicy, AsPolicyParts, AsReason, AsReasonCode, Country, Product, ProductQuery, ProductSortKey, Region,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entities::{as_reason, product, region};
use crate::reference_cache::{ReferenceCache, Snapshot};
use crate::to_millis;

/// [`ReferenceRepository`] over a sea-orm connection.
#[derive(Clone, Debug)]
pub struct SeaReferenceRepository {
    conn: DatabaseConnection,
    /// Present: reads come from memory.
    cache: Option<Arc<ReferenceCache>>,
}

impl SeaReferenceRepository {
    /// Reads straight from the database (the CLI, one-off jobs).
    #[must_use]
    pub fn new(conn: DatabaseConnection) -> Self {
        Self { conn, cache: None }
    }

    /// Reads from the database's reference cache (the server).
    #[must_use]
    pub fn cached(db: &crate::db::Db) -> Self {
        Self { conn: db.conn().clone(), cache: Some(Arc::clone(db.reference_cache())) }
    }

    async fn snapshot(&self) -> Result<Option<Arc<Snapshot>>, RepoError> {
        match &self.cache {
            Some(cache) => cache.snapshot(&self.conn).await.map(Some),
            None => Ok(None),
        }
    }
}

fn parse_codes(table: &str, key: &str, text: &str) -> Result<Vec<AsReasonCode>, RepoError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|code| AsReasonCode::from_str(code).map_err(|e| corrupt(table, key, e)))
        .collect()
}

pub(crate) fn product_from_row(row: product::Model) -> Result<Product, RepoError> {
    let key = row.id.clone();
    let bad = |what: &dyn std::fmt::Display| corrupt("products", &key, what);
    let as_policy = AsPolicy::new(AsPolicyParts {
        window_hours: u32::try_from(row.as_window_hours).map_err(|e| bad(&e))?,
        window_starts_from: row.as_window_from.parse().map_err(|e| bad(&e))?,
        allowed_reasons: parse_codes("products", &key, &row.as_allowed_reasons)?,
        evidence_required: parse_codes("products", &key, &row.as_evidence_reasons)?,
        max_rate_percent: u8::try_from(row.as_max_rate_percent).map_err(|e| bad(&e))?,
        compensation: row.as_compensation.parse().map_err(|e| bad(&e))?,
        auto_approve: row.as_auto_approve,
    })
    .map_err(|e| bad(&e))?;
    Ok(Product {
        id: row.id.parse::<Uuid>().map_err(|e| bad(&e))?,
        code: row.code,
        name: row.name,
        category: row.category,
        unit_price: Money::from_minor(row.unit_price_minor).map_err(|e| bad(&e))?,
        prices_exclude_vat: row.prices_exclude_vat,
        allocation_policy: row.allocation_policy.parse().map_err(|e| bad(&e))?,
        time_zone: row.time_zone,
        duplicate_window_hours: u32::try_from(row.duplicate_window_hours).map_err(|e| bad(&e))?,
        on_sale: row.on_sale,
        as_policy,
    })
}

impl ReferenceRepository for SeaReferenceRepository {
    async fn list_regions(&self, country: Option<Country>) -> Result<Vec<Region>, RepoError> {
        if let Some(snapshot) = self.snapshot().await? {
            return Ok(snapshot.regions(country));
        }
        let mut query = region::Entity::find().order_by_asc(region::Column::SortOrder);
        if let Some(country) = country {
            query = query.filter(region::Column::Country.eq(country.as_str()));
        }
        let rows = query.all(&self.conn).await.map_err(unavailable)?;
        rows.into_iter()
            .map(|row| {
                let country = row.country.parse().map_err(|e| corrupt("regions", &row.code, e))?;
                Ok(Region { code: row.code, name: row.name, country })
            })
            .collect()
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<Page<Product>, RepoError> {
        if let Some(snapshot) = self.snapshot().await? {
            return Ok(snapshot.products(query));
        }
        let mut select = product::Entity::find().filter(product::Column::OnSale.eq(true));
        if let Some(category) = &query.category {
            select = select.filter(product::Column::Category.eq(category.as_str()));
        }
        let total = select.clone().count(&self.conn).await.map_err(unavailable)?;
        let column = match query.sort.key {
            ProductSortKey::Name => product::Column::Name,
            ProductSortKey::UnitPrice => product::Column::UnitPriceMinor,
            ProductSortKey::CreatedAt => product::Column::CreatedAt,
        };
        let order = match query.sort.order {
            SortOrder::Asc => Order::Asc,
            SortOrder::Desc => Order::Desc,
        };
        let rows = select
            .order_by(column, order.clone())
            .order_by(product::Column::Id, order)
            .offset(query.page.offset())
            .limit(query.page.limit())
            .all(&self.conn)
            .await
            .map_err(unavailable)?;
        let items = rows.into_iter().map(product_from_row).collect::<Result<_, _>>()?;
        Ok(Page { items, request: query.page, total })
    }

    async fn find_product(&self, id: Uuid) -> Result<Option<Product>, RepoError> {
        if let Some(snapshot) = self.snapshot().await? {
            return Ok(snapshot.product(id));
        }
        let row = product::Entity::find_by_id(id.to_string()).one(&self.conn).await.map_err(unavailable)?;
        row.map(product_from_row).transpose()
    }

    async fn list_as_reasons(&self) -> Result<Vec<AsReason>, RepoError> {
        if let Some(snapshot) = self.snapshot().await? {
            return Ok(snapshot.as_reasons());
        }
        let rows = as_reason::Entity::find()
            .order_by_asc(as_reason::Column::SortOrder)
            .all(&self.conn)
            .await
            .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| {
                let code = row.code.parse().map_err(|e| corrupt("as_reasons", &row.code, e))?;
                Ok(AsReason { code, label: row.label, requires_evidence: row.requires_evidence })
            })
            .collect()
    }
}

#[derive(Debug, Error)]
pub enum SaveError {
    #[error("{0} does not fit its column")]
    OutOfRange(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn join(codes: &[AsReasonCode]) -> String {
    codes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
}

/// Inserts a product, or updates the product with the same `code` in place (keeping its
/// id and creation time). Returns the stored id.
///
/// # Errors
/// [`SaveError::OutOfRange`] for a value its column cannot hold, else the driver's error.
pub async fn upsert_product(conn: &impl ConnectionTrait, p: &Product, now: OffsetDateTime) -> Result<Uuid, SaveError> {
    use product::Column as C;
    let policy = &p.as_policy;
    let model = product::ActiveModel {
        id: Set(p.id.to_string()),
        code: Set(p.code.clone()),
        name: Set(p.name.clone()),
        category: Set(p.category.clone()),
        unit_price_minor: Set(p.unit_price.to_minor().map_err(|_| SaveError::OutOfRange("unitPrice"))?),
        prices_exclude_vat: Set(p.prices_exclude_vat),
        allocation_policy: Set(p.allocation_policy.as_str().to_owned()),
        time_zone: Set(p.time_zone.clone()),
        duplicate_window_hours: Set(
            i32::try_from(p.duplicate_window_hours).map_err(|_| SaveError::OutOfRange("duplicateWindowHours"))?
        ),
        on_sale: Set(p.on_sale),
        as_window_hours: Set(i32::try_from(policy.window_hours()).map_err(|_| SaveError::OutOfRange("windowHours"))?),
        as_window_from: Set(policy.window_starts_from().as_str().to_owned()),
        as_allowed_reasons: Set(join(policy.allowed_reasons())),
        as_evidence_reasons: Set(join(policy.evidence_required())),
        as_max_rate_percent: Set(i16::from(policy.max_rate_percent())),
        as_compensation: Set(policy.compensation().as_str().to_owned()),
        as_auto_approve: Set(policy.auto_approve()),
        created_at: Set(to_millis(now)),
    };
    product::Entity::insert(model)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([
                    C::Name,
                    C::Category,
                    C::UnitPriceMinor,
                    C::PricesExcludeVat,
                    C::AllocationPolicy,
                    C::TimeZone,
                    C::DuplicateWindowHours,
                    C::OnSale,
                    C::AsWindowHours,
                    C::AsWindowFrom,
                    C::AsAllowedReasons,
                    C::AsEvidenceReasons,
                    C::AsMaxRatePercent,
                    C::AsCompensation,
                    C::AsAutoApprove,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    crate::invalidation::notify(conn, crate::invalidation::Change::Reference).await?;
    crate::invalidation::reference_changed();
    let stored = product::Entity::find().filter(C::Code.eq(p.code.as_str())).one(conn).await?;
    let stored = stored.ok_or_else(|| DbErr::RecordNotFound(format!("product {} after upsert", p.code)))?;
    stored.id.parse().map_err(|_| SaveError::Db(DbErr::Custom(format!("product {} has a corrupted id", p.code))))
}
