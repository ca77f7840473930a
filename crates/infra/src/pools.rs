//! Allocation pools: one row per (product, region), the lock that serializes every
//! writer of the pool's order lines and the pool's pick counter (the ledger's clock,
//! see `domain::allocation::pick_stored`).
//!
//! Invariants:
//! - intake, order creation and cancel lock a pool row before they read or write the
//!   pool's order lines, so the lines themselves need no row locks, and an intake's
//!   critical section is one locked row and one written line however many lines are
//!   open;
//! - a transaction that needs several pools locks them in (product, region) order, so two
//!   writers never wait on each other in opposite orders;
//! - the row is created on first use (`INSERT .. ON CONFLICT DO NOTHING`), so an intake
//!   and an order creating the pool's first line still meet on the same lock;
//! - the pools of one product are locked by one statement ([`lock_many`]: `ORDER BY region
//!   FOR UPDATE`, PostgreSQL locks the rows in that order), and their clocks are written by
//!   one statement ([`set_picks_many`]), however many regions a batch touches.

use std::collections::{BTreeSet, HashMap};

use domain::error::RepoError;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::allocation_pool;
use crate::error::unavailable;
use crate::update_rows::UpdateRows;

async fn try_lock(conn: &impl ConnectionTrait, product_id: &str, region: &str) -> Result<Option<i64>, RepoError> {
    // FOR UPDATE on PostgreSQL; on SQLite the write gate already serializes writers.
    Ok(allocation_pool::Entity::find()
        .filter(allocation_pool::Column::ProductId.eq(product_id))
        .filter(allocation_pool::Column::Region.eq(region))
        .lock_exclusive()
        .one(conn)
        .await
        .map_err(unavailable)?
        .map(|p| p.picks))
}

/// Locks the pool (creating it if needed) and returns its pick count.
///
/// # Errors
/// Storage failures.
pub async fn lock(conn: &impl ConnectionTrait, product_id: &str, region: &str) -> Result<u64, RepoError> {
    if let Some(picks) = try_lock(conn, product_id, region).await? {
        return Ok(u64::try_from(picks).unwrap_or(0));
    }
    allocation_pool::Entity::insert(allocation_pool::ActiveModel {
        product_id: Set(product_id.to_owned()),
        region: Set(region.to_owned()),
        picks: Set(0),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(conn)
    .await
    .map_err(unavailable)?;
    let picks = try_lock(conn, product_id, region)
        .await?
        .ok_or_else(|| RepoError::Corrupted(format!("allocation_pools/{product_id}/{region}")))?;
    Ok(u64::try_from(picks).unwrap_or(0))
}

/// Locks several pools, in (product, region) order: one statement per product.
///
/// # Errors
/// Storage failures.
pub async fn lock_all(conn: &impl ConnectionTrait, pools: &[(String, String)]) -> Result<(), RepoError> {
    let mut by_product: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (product_id, region) in pools {
        by_product.entry(product_id.as_str()).or_default().push(region.as_str());
    }
    for (product_id, regions) in by_product {
        lock_many(conn, product_id, &regions).await?;
    }
    Ok(())
}

async fn try_lock_many(
    conn: &impl ConnectionTrait,
    product_id: &str,
    regions: &BTreeSet<&str>,
) -> Result<HashMap<String, u64>, RepoError> {
    // `ORDER BY` under `FOR UPDATE`: PostgreSQL locks the sorted rows one by one, in
    // region order, as `lock_all`'s callers expect; SQLite's write gate serializes anyway.
    Ok(allocation_pool::Entity::find()
        .filter(allocation_pool::Column::ProductId.eq(product_id))
        .filter(allocation_pool::Column::Region.is_in(regions.iter().copied()))
        .order_by_asc(allocation_pool::Column::Region)
        .lock_exclusive()
        .all(conn)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|p| (p.region, u64::try_from(p.picks).unwrap_or(0)))
        .collect())
}

/// Locks the pools of `product_id` in `regions` (creating the missing ones), in region
/// order, with one statement when they all exist; returns each pool's pick count.
///
/// # Errors
/// Storage failures.
pub async fn lock_many(
    conn: &impl ConnectionTrait,
    product_id: &str,
    regions: &[&str],
) -> Result<HashMap<String, u64>, RepoError> {
    let wanted: BTreeSet<&str> = regions.iter().copied().collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let found = try_lock_many(conn, product_id, &wanted).await?;
    if found.len() == wanted.len() {
        return Ok(found);
    }
    let missing = wanted.iter().filter(|r| !found.contains_key(**r)).map(|region| allocation_pool::ActiveModel {
        product_id: Set(product_id.to_owned()),
        region: Set((*region).to_owned()),
        picks: Set(0),
    });
    allocation_pool::Entity::insert_many(missing)
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await
        .map_err(unavailable)?;
    let found = try_lock_many(conn, product_id, &wanted).await?;
    if found.len() != wanted.len() {
        return Err(RepoError::Corrupted(format!("allocation_pools/{product_id}")));
    }
    Ok(found)
}

/// Stores the pick counts of several pools of `product_id` in one statement (the caller
/// holds their locks).
///
/// # Errors
/// Storage failures.
pub async fn set_picks_many(
    conn: &impl ConnectionTrait,
    product_id: &str,
    picks: &[(&str, u64)],
) -> Result<(), RepoError> {
    if picks.is_empty() {
        return Ok(());
    }
    picks_update(product_id, picks).exec(conn).await?;
    Ok(())
}

/// The update [`set_picks_many`] sends, for a caller that sends it with others
/// (`update_rows::exec_together`).
pub(crate) fn picks_update(product_id: &str, picks: &[(&str, u64)]) -> UpdateRows {
    let mut update = UpdateRows::new("allocation_pools", &["product_id", "region", "picks"])
        .matching(&[("product_id", "product_id"), ("region", "region")])
        .setting(&["picks"]);
    for (region, at) in picks {
        update.row(vec![product_id.into(), (*region).into(), i64::try_from(*at).unwrap_or(i64::MAX).into()]);
    }
    update
}

/// Stores the pool's pick count (the caller holds the lock).
///
/// # Errors
/// Storage failures.
pub async fn set_picks(
    conn: &impl ConnectionTrait,
    product_id: &str,
    region: &str,
    picks: u64,
) -> Result<(), RepoError> {
    allocation_pool::Entity::update_many()
        .col_expr(
            allocation_pool::Column::Picks,
            sea_orm::sea_query::Expr::value(i64::try_from(picks).unwrap_or(i64::MAX)),
        )
        .filter(allocation_pool::Column::ProductId.eq(product_id))
        .filter(allocation_pool::Column::Region.eq(region))
        .exec(conn)
        .await
        .map_err(unavailable)?;
    Ok(())
}
