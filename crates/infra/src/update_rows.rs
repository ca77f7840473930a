//! One `UPDATE … FROM (VALUES …)` for many rows of one table: the batch writers' way of
//! writing every touched row once per batch in one statement (rule 14 of the conventions).
//!
//! Invariants:
//! - the statement is the same text on PostgreSQL and SQLite (≥ 3.33, `UPDATE … FROM`):
//!   the values are named through a sub-select over the `VALUES` list's `column1`,
//!   `column2`, … (both databases name a `VALUES` list's columns so), and only the
//!   placeholders differ (`$n` or `?`);
//! - a row is matched by every column pair of [`UpdateRows::matching`] (its key, plus any
//!   guard such as the count read under a lock); the caller compares
//!   [`UpdateRows::exec`]'s affected count with [`UpdateRows::len`] to learn that no row
//!   changed behind its back;
//! - one statement carries as many rows as stay under the database's bind limit
//!   ([`MAX_VALUES_PER_STATEMENT`]: SQLite's 32,766, PostgreSQL's 65,535, with a margin),
//!   so a batch's update of a table is one statement up to thousands of rows (an import
//!   into 1,000 owners' lines touches up to 1,000 lines per batch);
//! - [`exec_together`] writes several tables' updates at once: on PostgreSQL one
//!   statement, a data-modifying CTE per table (`WITH u0 AS (UPDATE … RETURNING 1), …
//!   SELECT (SELECT count(*) FROM u0) AS n0, …`), whose counts are each update's affected
//!   rows, so the callers' guards hold as with separate statements (the tables are
//!   distinct, so no row is updated twice in the statement; all its parts see one
//!   snapshot and row locks are taken as by separate updates). SQLite has no
//!   data-modifying CTEs: it sends one statement per table there (in process, no network
//!   round trip), and so does PostgreSQL when the rows would pass [`MAX_VALUES_TOGETHER`].

use domain::error::RepoError;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::error::unavailable;

/// Bound values per statement: under SQLite's 32,766 (the bundled library's limit) and
/// PostgreSQL's 65,535 bound parameters.
pub const MAX_VALUES_PER_STATEMENT: usize = 32_000;

/// The rows of one multi-row update, and how they meet the table.
pub(crate) struct UpdateRows {
    table: &'static str,
    columns: Vec<&'static str>,
    matches: Vec<(&'static str, &'static str)>,
    sets: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl UpdateRows {
    /// An update of `table` whose value rows have `columns`, in that order.
    pub(crate) fn new(table: &'static str, columns: &[&'static str]) -> Self {
        Self { table, columns: columns.to_vec(), matches: Vec::new(), sets: Vec::new(), rows: Vec::new() }
    }

    /// A table row is the value row whose `(table column, value column)` pairs are equal.
    pub(crate) fn matching(mut self, pairs: &[(&'static str, &'static str)]) -> Self {
        self.matches.extend_from_slice(pairs);
        self
    }

    /// The table columns set from the value column of the same name.
    pub(crate) fn setting(mut self, columns: &[&'static str]) -> Self {
        self.sets.extend_from_slice(columns);
        self
    }

    /// Adds one value row (as many values as columns, in their order).
    pub(crate) fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len(), "one value per column of {}", self.table);
        self.rows.push(values);
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    fn statement(&self, backend: DbBackend, rows: &[Vec<Value>]) -> Statement {
        let mut values = Vec::with_capacity(rows.len() * self.columns.len());
        let sql = self.sql(backend, rows, &mut values);
        Statement::from_sql_and_values(backend, sql, values)
    }

    /// The update's text for `rows`, its values appended to `values` (PostgreSQL's
    /// placeholders numbered after the values already there).
    fn sql(&self, backend: DbBackend, rows: &[Vec<Value>], values: &mut Vec<Value>) -> String {
        let mut sql = format!("UPDATE {} SET ", self.table);
        let sets: Vec<String> = self.sets.iter().map(|c| format!("\"{c}\" = v.\"{c}\"")).collect();
        sql.push_str(&sets.join(", "));
        sql.push_str(" FROM (");
        sql.push_str(&values_select(backend, &self.columns, rows, values));
        sql.push_str(") AS v WHERE ");
        let matches: Vec<String> =
            self.matches.iter().map(|(t, v)| format!("{}.\"{t}\" = v.\"{v}\"", self.table)).collect();
        sql.push_str(&matches.join(" AND "));
        sql
    }

    /// Sends the update (nothing when there is no row); returns the rows it changed.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn exec(&self, conn: &impl ConnectionTrait) -> Result<u64, RepoError> {
        let mut affected = 0;
        let rows_per_statement = (MAX_VALUES_PER_STATEMENT / self.columns.len().max(1)).max(1);
        for chunk in self.rows.chunks(rows_per_statement) {
            let statement = self.statement(conn.get_database_backend(), chunk);
            affected += conn.execute_raw(statement).await.map_err(unavailable)?.rows_affected();
        }
        Ok(affected)
    }
}

/// `rows` as a sub-select naming the `VALUES` list's columns `columns` (both databases
/// call them `column1`, `column2`, …): `SELECT column1 AS "a", … FROM (VALUES …) AS t`.
/// The rows' values are appended to `values`, PostgreSQL's placeholders (`$n`) numbered
/// after the values already there; SQLite's are `?`.
pub(crate) fn values_select(
    backend: DbBackend,
    columns: &[&str],
    rows: &[Vec<Value>],
    values: &mut Vec<Value>,
) -> String {
    let names: Vec<String> = columns.iter().enumerate().map(|(i, c)| format!("column{} AS \"{c}\"", i + 1)).collect();
    let mut sql = format!("SELECT {} FROM (VALUES ", names.join(", "));
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for (c, value) in row.iter().enumerate() {
            if c > 0 {
                sql.push_str(", ");
            }
            values.push(value.clone());
            match backend {
                DbBackend::Postgres => sql.push_str(&format!("${}", values.len())),
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push_str(") AS t");
    sql
}

/// Bound values above which [`exec_together`] sends one statement per table on
/// PostgreSQL too (its bind limit is 65,535).
pub const MAX_VALUES_TOGETHER: usize = 60_000;

/// The PostgreSQL statement writing every non-empty update of `updates` at once, and the
/// positions (in `updates`) of the counts it returns, in its columns' order.
fn together(updates: &[&UpdateRows]) -> (Statement, Vec<usize>) {
    let mut values = Vec::new();
    let mut parts = Vec::new();
    let mut counts = Vec::new();
    for (i, update) in updates.iter().enumerate().filter(|(_, u)| u.len() > 0) {
        let sql = update.sql(DbBackend::Postgres, &update.rows, &mut values);
        parts.push(format!("u{i} AS ({sql} RETURNING 1)"));
        counts.push(i);
    }
    let selected: Vec<String> = counts.iter().map(|i| format!("(SELECT count(*) FROM u{i}) AS n{i}")).collect();
    let sql = format!("WITH {} SELECT {}", parts.join(", "), selected.join(", "));
    (Statement::from_sql_and_values(DbBackend::Postgres, sql, values), counts)
}

/// Sends every update of `updates` (see the module invariants: one statement on
/// PostgreSQL); returns each one's affected rows, in order.
///
/// # Errors
/// Storage failures.
pub(crate) async fn exec_together(conn: &impl ConnectionTrait, updates: &[&UpdateRows]) -> Result<Vec<u64>, RepoError> {
    let mut affected = vec![0; updates.len()];
    let values: usize = updates.iter().map(|u| u.len() * u.columns.len()).sum();
    let busy = updates.iter().filter(|u| u.len() > 0).count();
    if conn.get_database_backend() != DbBackend::Postgres || values > MAX_VALUES_TOGETHER || busy < 2 {
        for (update, n) in updates.iter().zip(affected.iter_mut()) {
            *n = update.exec(conn).await?;
        }
        return Ok(affected);
    }
    let (statement, counts) = together(updates);
    let row = conn
        .query_one_raw(statement)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| RepoError::Unavailable("the batch update returned no row".to_owned()))?;
    for i in counts {
        let n: i64 = row.try_get("", &format!("n{i}")).map_err(unavailable)?;
        affected[i] = u64::try_from(n).unwrap_or(0);
    }
    Ok(affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_names_the_values_and_matches_on_every_pair() {
        let mut update = UpdateRows::new("orders", &["id", "status"]).matching(&[("id", "id")]).setting(&["status"]);
        update.row(vec!["a".into(), "COMPLETED".into()]);
        update.row(vec!["b".into(), "IN_PROGRESS".into()]);
        let pg = update.statement(DbBackend::Postgres, &update.rows);
        assert_eq!(
            pg.sql,
            "UPDATE orders SET \"status\" = v.\"status\" FROM (SELECT column1 AS \"id\", column2 AS \"status\" \
             FROM (VALUES ($1, $2), ($3, $4)) AS t) AS v WHERE orders.\"id\" = v.\"id\""
        );
        let lite = update.statement(DbBackend::Sqlite, &update.rows);
        assert!(lite.sql.contains("(VALUES (?, ?), (?, ?))"), "{}", lite.sql);
        assert_eq!(lite.values.map(|v| v.0.len()), Some(4));
        assert_eq!(update.len(), 2);
    }

    #[test]
    fn updates_together_are_one_statement_numbering_their_values_in_turn() {
        let mut orders = UpdateRows::new("orders", &["id", "status"]).matching(&[("id", "id")]).setting(&["status"]);
        orders.row(vec!["a".into(), "COMPLETED".into()]);
        let empty = UpdateRows::new("order_lines", &["id"]).matching(&[("id", "id")]).setting(&[]);
        let mut pools = UpdateRows::new("allocation_pools", &["region", "picks"])
            .matching(&[("region", "region")])
            .setting(&["picks"]);
        pools.row(vec!["서울".into(), 3i64.into()]);
        let (statement, counts) = together(&[&orders, &empty, &pools]);
        assert_eq!(counts, vec![0, 2], "an empty update is left out");
        assert!(statement.sql.starts_with("WITH u0 AS (UPDATE orders SET"), "{}", statement.sql);
        assert!(statement.sql.contains("(VALUES ($1, $2)) AS t) AS v WHERE orders.\"id\" = v.\"id\" RETURNING 1)"));
        assert!(statement.sql.contains("u2 AS (UPDATE allocation_pools SET"), "{}", statement.sql);
        assert!(statement.sql.contains("(VALUES ($3, $4))"), "{}", statement.sql);
        assert!(
            statement.sql.ends_with("SELECT (SELECT count(*) FROM u0) AS n0, (SELECT count(*) FROM u2) AS n2"),
            "{}",
            statement.sql
        );
        assert_eq!(statement.values.map(|v| v.0.len()), Some(4));
        assert_eq!(crate::statements::Kind::of(&statement.sql), crate::statements::Kind::Other);
    }
}
