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
//!   one statement ([`set_picks_many`]), however many regions a batch touches;
//! - an import batch on PostgreSQL locks its pools and reads its duplicate candidates in
//!   one statement ([`lock_many_reading_leads`]): its lookup was made before the lock
//!   anyway, so the statement's snapshot (taken before it waits for the lock) sees no less
//!   than the separate lookup did. A lookup that must follow the lock (the intake batch's)
//!   cannot share its statement.

use std::collections::{BTreeSet, HashMap};

use domain::error::RepoError;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};

use crate::entities::{allocation_pool, lead};
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
    let missing: Vec<&str> = wanted.iter().copied().filter(|r| !found.contains_key(*r)).collect();
    let rows = missing.iter().map(|region| allocation_pool::ActiveModel {
        product_id: Set(product_id.to_owned()),
        region: Set((*region).to_owned()),
        picks: Set(0),
    });
    allocation_pool::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await
        .map_err(unavailable)?;
    if conn.get_database_backend() == DbBackend::Sqlite {
        // One writer at a time (`Db::begin_write` holds SQLite's write lock): the pools
        // found missing are the ones just inserted, at 0 picks; no need to read them back.
        let mut found = found;
        found.extend(missing.into_iter().map(|region| (region.to_owned(), 0)));
        return Ok(found);
    }
    let found = try_lock_many(conn, product_id, &wanted).await?;
    if found.len() != wanted.len() {
        return Err(RepoError::Corrupted(format!("allocation_pools/{product_id}")));
    }
    Ok(found)
}

/// Phone indexes [`lock_many_reading_leads`] takes in one statement.
pub(crate) const LEADS_READ_WITH_LOCK: usize = 500;

/// On PostgreSQL, in one statement: locks the existing pools of `product_id` in `regions`
/// in region order (`ORDER BY region FOR UPDATE` in a sub-select whose every row is
/// aggregated, so every one is locked), and reads the stored leads whose phone index is
/// one of `phone_indexes` (at most [`LEADS_READ_WITH_LOCK`]), oldest first. Returns the
/// pick count of each pool found (a missing pool is not created: the caller locks it with
/// [`lock_many`]) and the leads.
///
/// # Errors
/// Storage failures; a row that cannot be read.
pub(crate) async fn lock_many_reading_leads(
    conn: &impl ConnectionTrait,
    product_id: &str,
    regions: &BTreeSet<&str>,
    phone_indexes: &[&str],
) -> Result<(HashMap<String, u64>, Vec<lead::Model>), RepoError> {
    debug_assert!(phone_indexes.len() <= LEADS_READ_WITH_LOCK && !regions.is_empty() && !phone_indexes.is_empty());
    let mut values: Vec<Value> = vec![product_id.into()];
    let places = |values: &mut Vec<Value>, items: &mut dyn Iterator<Item = &str>| {
        let mut list = Vec::new();
        for item in items {
            values.push(item.into());
            list.push(format!("${}", values.len()));
        }
        list.join(", ")
    };
    let region_list = places(&mut values, &mut regions.iter().copied());
    let index_list = places(&mut values, &mut phone_indexes.iter().copied());
    let sql = format!(
        "SELECT pools.pool_regions, pools.pool_picks, leads.* FROM \
         (SELECT COALESCE(json_agg(p.region ORDER BY p.region), '[]')::text AS pool_regions, \
         COALESCE(json_agg(p.picks ORDER BY p.region), '[]')::text AS pool_picks \
         FROM (SELECT region, picks FROM allocation_pools WHERE product_id = $1 AND region IN ({region_list}) \
         ORDER BY region FOR UPDATE) AS p) AS pools \
         LEFT JOIN leads ON leads.phone_bidx IN ({index_list}) \
         ORDER BY leads.created_at, leads.id"
    );
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await
        .map_err(unavailable)?;
    let mut locked = HashMap::new();
    let mut leads = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if i == 0 {
            let regions: String = row.try_get("", "pool_regions").map_err(unavailable)?;
            let picks: String = row.try_get("", "pool_picks").map_err(unavailable)?;
            let unreadable = |e: serde_json::Error| RepoError::Corrupted(format!("allocation_pools/{product_id}: {e}"));
            let regions: Vec<String> = serde_json::from_str(&regions).map_err(unreadable)?;
            let picks: Vec<i64> = serde_json::from_str(&picks).map_err(unreadable)?;
            locked = regions.into_iter().zip(picks).map(|(r, p)| (r, u64::try_from(p).unwrap_or(0))).collect();
        }
        let id: Option<String> = row.try_get("", "id").map_err(unavailable)?;
        if id.is_some() {
            leads.push(lead::Model::from_query_result(row, "").map_err(unavailable)?);
        }
    }
    Ok((locked, leads))
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
