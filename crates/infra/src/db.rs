//! Database connections on SQLite (embedded default) and PostgreSQL (production).
//!
//! Invariants:
//! - SQLite runs in WAL mode with a busy timeout and foreign keys on;
//! - on SQLite, write transactions opened through [`Db::begin_write`] queue on one
//!   in-process gate, so two writers never race for the database lock and neither fails
//!   with `SQLITE_BUSY`; readers are never blocked by the gate (WAL);
//! - on PostgreSQL the gate is absent and the database's own locking applies;
//! - on Unix the SQLite database file is readable by its owner only (0600), created so
//!   before SQLite opens it, and tightened on open when an earlier version left it wider;
//!   SQLite gives its `-wal` and `-shm` files the mode of the database file, and those
//!   found wider are tightened too. The data directory [`create_data_dir`] makes is 0700;
//! - every statement, and every `BEGIN`/`COMMIT`/`ROLLBACK` of a write transaction, is
//!   counted in [`crate::statements`];
//! - a pooled connection is not pinged before each use (sqlx's default costs one round
//!   trip per acquire), only after it sat idle for [`IDLE_BEFORE_PING`].

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, Statement,
    TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::statements::Kind;

pub use sea_orm::DbErr;

/// How long a pooled connection may sit idle before it is pinged on its next use.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Pool size and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub size: u32,
    /// How long SQLite waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// How long to wait for a connection (also the acquire timeout).
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { size: 5, busy_timeout: Duration::from_secs(5), connect_timeout: Duration::from_secs(10) }
    }
}

/// A pooled connection to one database, with SQLite's write gate.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    write_gate: Option<Arc<Mutex<()>>>,
    /// Reference data in memory, shared by every clone (ADR 0009).
    reference: Arc<crate::reference_cache::ReferenceCache>,
    /// The wake-up of this process's outbox readers, shared by every clone.
    outbox: Arc<crate::outbox::OutboxSignal>,
    /// Owners' `mohomId`s and org codes for events, shared by every clone.
    directory: Arc<crate::event_directory::EventDirectory>,
}

impl Db {
    /// Connects to `url` (`sqlite://...` or `postgres://...`).
    ///
    /// # Errors
    /// The driver's error when the database cannot be reached or opened.
    pub async fn connect(url: &str, pool: PoolSettings) -> Result<Self, DbErr> {
        if let Some(path) = sqlite_file(url) {
            secure_sqlite_file(&path)
                .map_err(|e| DbErr::Custom(format!("cannot prepare the database file {}: {e}", path.display())))?;
        }
        let busy_timeout = pool.busy_timeout;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(pool.size)
            .min_connections(0)
            .connect_timeout(pool.connect_timeout)
            .acquire_timeout(pool.connect_timeout)
            .sqlx_logging(false)
            .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
            .map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy_timeout)
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        let mut conn = Database::connect(options).await?;
        conn.set_metric_callback(|info| crate::statements::count_sql(&info.statement.sql));
        let write_gate = (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let reference = crate::reference_cache::ReferenceCache::new(url);
        Ok(Self { conn, write_gate, reference, outbox: Arc::default(), directory: Arc::default() })
    }

    /// Owners and org codes as events name them, shared by every clone.
    #[must_use]
    pub fn event_directory(&self) -> &crate::event_directory::EventDirectory {
        &self.directory
    }

    /// The outbox's wake-up and NATS flag of this process, shared by every clone.
    #[must_use]
    pub fn outbox_signal(&self) -> &Arc<crate::outbox::OutboxSignal> {
        &self.outbox
    }

    /// The reference data of this database in memory (regions, products, AS reasons,
    /// sources), shared by every clone of this `Db`.
    #[must_use]
    pub fn reference_cache(&self) -> &Arc<crate::reference_cache::ReferenceCache> {
        &self.reference
    }

    #[must_use]
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    #[must_use]
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Whether this is PostgreSQL (several nodes may share it; `LISTEN/NOTIFY` exists).
    #[must_use]
    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Opens a transaction that will write. On SQLite it waits its turn on the in-process
    /// gate, then starts with `BEGIN IMMEDIATE`: the write lock is taken up front, so a
    /// transaction that reads before it writes cannot fail with `SQLITE_BUSY_SNAPSHOT`
    /// (517) when another connection (an autocommit write of this process, such as the
    /// `last_used_at` flush, or another process, such as `ldbds import` beside the
    /// server) committed between its read and its write; that writer waits out the busy
    /// timeout instead.
    ///
    /// # Errors
    /// The driver's error when the transaction cannot start.
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let gate = match &self.write_gate {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        };
        let txn = match self.backend() {
            DbBackend::Sqlite => {
                self.conn
                    .begin_with_options(sea_orm::TransactionOptions {
                        isolation_level: None,
                        access_mode: None,
                        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    })
                    .await?
            }
            _ => self.conn.begin().await?,
        };
        crate::statements::count(Kind::Begin);
        Ok(WriteTxn {
            txn: Some(txn),
            _gate: gate,
            outbox: Arc::clone(&self.outbox),
            events_written: AtomicBool::new(false),
        })
    }

    /// One write statement, its rows affected: on PostgreSQL sent alone (autocommit); on
    /// SQLite inside a write transaction, so it waits its turn on the write gate.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn write_one(&self, statement: Statement) -> Result<u64, DbErr> {
        if self.is_postgres() {
            return Ok(self.conn.execute_raw(statement).await?.rows_affected());
        }
        let txn = self.begin_write().await?;
        let done = txn.execute_raw(statement).await?.rows_affected();
        txn.commit().await?;
        Ok(done)
    }

    /// A trivial query, for readiness.
    ///
    /// # Errors
    /// The driver's error when the database does not answer.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.execute_unprepared("SELECT 1").await.map(|_| ())
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// The first migration that fails; earlier ones stay applied.
    pub async fn migrate_up(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// Closes the pool, waiting for connections to be returned.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// Creates the data directory (and missing parents), readable by its owner only (0700 on
/// Unix) when this call creates it; an existing directory keeps the mode its owner gave it.
///
/// # Errors
/// The file system's error.
pub fn create_data_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// The file of a `sqlite:` URL, or `None` for another scheme or an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// Creates the database file 0600 when missing, and narrows it and its `-wal`/`-shm`
/// siblings to 0600 when they allow group or other access.
fn secure_sqlite_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // `create` without `truncate`: an existing database is opened and left as it is.
        let created = std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path);
        match created {
            Ok(_) => {}
            // The directory is missing: SQLite reports that itself, with its own words.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut siblings = [path.as_os_str().to_owned(), path.as_os_str().to_owned(), path.as_os_str().to_owned()];
        siblings[1].push("-wal");
        siblings[2].push("-shm");
        for file in siblings.iter().map(Path::new) {
            let Ok(meta) = std::fs::metadata(file) else { continue };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A write transaction; rolled back when dropped without [`WriteTxn::commit`].
pub struct WriteTxn {
    // Field order matters: the transaction ends before the gate opens. `None` only after
    // `commit` took it.
    txn: Option<DatabaseTransaction>,
    _gate: Option<OwnedMutexGuard<()>>,
    outbox: Arc<crate::outbox::OutboxSignal>,
    /// Set by `outbox::append`: the commit wakes the dispatcher.
    events_written: AtomicBool,
}

impl WriteTxn {
    /// # Errors
    /// The driver's error; the transaction is then rolled back.
    pub async fn commit(mut self) -> Result<(), DbErr> {
        let Some(txn) = self.txn.take() else { return Ok(()) };
        crate::statements::count(Kind::Commit);
        txn.commit().await?;
        if self.events_written.load(Ordering::Relaxed) {
            self.outbox.wake();
        }
        Ok(())
    }

    /// Marks this transaction as one that wrote outbox events.
    pub fn events_written(&self) {
        self.events_written.store(true, Ordering::Relaxed);
    }

    /// The outbox signal of the database this transaction runs on.
    #[must_use]
    pub fn outbox_signal(&self) -> &crate::outbox::OutboxSignal {
        &self.outbox
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        // Dropped uncommitted: sea-orm sends the ROLLBACK.
        if self.txn.is_some() {
            crate::statements::count(Kind::Rollback);
        }
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    #[allow(clippy::expect_used)]
    fn deref(&self) -> &Self::Target {
        // `txn` is `None` only inside `commit`, which consumes the value.
        self.txn.as_ref().expect("a write transaction is open until commit consumes it")
    }
}

/// One migration and whether it is applied, for `ldbds migrate status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// The `ldbds migrate` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateAction {
    Up,
    Down,
    Status,
    Fresh,
}

/// Runs a migrate action and returns the status afterwards.
///
/// # Errors
/// The driver's error.
pub async fn run_migrations(db: &Db, action: MigrateAction) -> Result<Vec<MigrationState>, DbErr> {
    match action {
        MigrateAction::Up => Migrator::up(db.conn(), None).await?,
        MigrateAction::Down => Migrator::down(db.conn(), Some(1)).await?,
        MigrateAction::Fresh => Migrator::fresh(db.conn()).await?,
        MigrateAction::Status => {}
    }
    let states = Migrator::get_migration_with_status(db.conn()).await?;
    Ok(states
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: matches!(m.status(), migration::MigrationStatus::Applied),
        })
        .collect())
}

/// `sql` for `backend`: `$n` becomes `?n` on SQLite; ` FOR UPDATE SKIP LOCKED` (written
/// as `{lock}`) is kept on PostgreSQL only.
#[must_use]
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = sql.replace("{lock}", lock);
    let sql = if backend == DbBackend::Postgres { sql } else { sql.replace('$', "?") };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url_is_found_and_memory_is_not_a_file() {
        assert_eq!(sqlite_file("sqlite://data/ldbds.db?mode=rwc"), Some(PathBuf::from("data/ldbds.db")));
        assert_eq!(sqlite_file("sqlite:/tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory&cache=shared"), None);
        assert_eq!(sqlite_file("postgres://postgres@127.0.0.1/ldbds"), None);
    }
}
