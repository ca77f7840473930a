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
//!   and an order creating the pool's first line still meet on the same lock.

use domain::error::RepoError;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::entities::allocation_pool;
use crate::error::unavailable;

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

/// Locks several pools, in (product, region) order.
///
/// # Errors
/// Storage failures.
pub async fn lock_all(conn: &impl ConnectionTrait, pools: &[(String, String)]) -> Result<(), RepoError> {
    let mut sorted = pools.to_vec();
    sorted.sort();
    sorted.dedup();
    for (product_id, region) in &sorted {
        lock(conn, product_id, region).await?;
    }
    Ok(())
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
