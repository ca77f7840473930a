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
//! - rows are sent [`ROWS_PER_STATEMENT`] at a time, far below both databases' bind limits
//!   (a batch of 500 rows is one statement).

use domain::error::RepoError;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::error::unavailable;

/// Rows per statement: 500 rows of up to 8 values stay under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
pub const ROWS_PER_STATEMENT: usize = 500;

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
        let mut sql = format!("UPDATE {} SET ", self.table);
        let sets: Vec<String> = self.sets.iter().map(|c| format!("\"{c}\" = v.\"{c}\"")).collect();
        sql.push_str(&sets.join(", "));
        sql.push_str(" FROM (SELECT ");
        let names: Vec<String> =
            self.columns.iter().enumerate().map(|(i, c)| format!("column{} AS \"{c}\"", i + 1)).collect();
        sql.push_str(&names.join(", "));
        sql.push_str(" FROM (VALUES ");
        let mut n = 0;
        let mut values = Vec::with_capacity(rows.len() * self.columns.len());
        for (r, row) in rows.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (c, value) in row.iter().enumerate() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match backend {
                    DbBackend::Postgres => sql.push_str(&format!("${n}")),
                    _ => sql.push('?'),
                }
                values.push(value.clone());
            }
            sql.push(')');
        }
        sql.push_str(") AS t) AS v WHERE ");
        let matches: Vec<String> =
            self.matches.iter().map(|(t, v)| format!("{}.\"{t}\" = v.\"{v}\"", self.table)).collect();
        sql.push_str(&matches.join(" AND "));
        Statement::from_sql_and_values(backend, sql, values)
    }

    /// Sends the update (nothing when there is no row); returns the rows it changed.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn exec(&self, conn: &impl ConnectionTrait) -> Result<u64, RepoError> {
        let mut affected = 0;
        for chunk in self.rows.chunks(ROWS_PER_STATEMENT) {
            let statement = self.statement(conn.get_database_backend(), chunk);
            affected += conn.execute_raw(statement).await.map_err(unavailable)?.rows_affected();
        }
        Ok(affected)
    }
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
}
