//! Test support, dev-only: a fresh database per test on SQLite and PostgreSQL, the
//! [`on_both_backends!`] macro, and insta redactions.
//!
//! - SQLite: a file in a new temporary directory, migrated.
//! - PostgreSQL: when `LDBDS_TEST_POSTGRES_URL` is set (an admin URL, e.g.
//!   `postgres://postgres@127.0.0.1:5432/test`), a new database named by a UUID, migrated,
//!   dropped when the [`TestDb`] is dropped. When `LDBDS_TEST_REQUIRE_POSTGRES=1` and the
//!   URL is missing, the PostgreSQL variant fails instead of skipping (CI sets it).
//!
//! Panicking is how this crate reports a broken test environment, hence the allow below.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod as_status;
pub mod memory;
pub mod receiver;
pub mod redact;
pub mod tables;

pub use as_status::record_as_status;

use infra::db::{Db, PoolSettings};
use sea_orm::{ConnectionTrait, Database};
use tempfile::TempDir;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    pub db: Db,
    pub backend: Backend,
    pub url: String,
    _dir: Option<TempDir>,
    _pg: Option<PgDrop>,
}

impl TestDb {
    /// A migrated SQLite database in a new temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("ldbds.db").display());
        let db = Db::connect(&url, PoolSettings::default()).await.expect("open SQLite");
        db.migrate_up().await.expect("migrate SQLite");
        Self { db, backend: Backend::Sqlite, url, _dir: Some(dir), _pg: None }
    }

    /// A migrated PostgreSQL database of its own, or `None` when PostgreSQL tests are off.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("LDBDS_TEST_POSTGRES_URL") else {
            if std::env::var("LDBDS_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("LDBDS_TEST_REQUIRE_POSTGRES=1 but LDBDS_TEST_POSTGRES_URL is not set");
            }
            eprintln!("PostgreSQL test skipped: LDBDS_TEST_POSTGRES_URL is not set");
            return None;
        };
        let name = format!("ldbds_test_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(admin_url.as_str()).await.expect("connect to PostgreSQL admin URL");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let guard = PgDrop { admin_url, name };
        let db = Db::connect(&url, PoolSettings::default()).await.expect("open PostgreSQL test database");
        db.migrate_up().await.expect("migrate PostgreSQL");
        Some(Self { db, backend: Backend::Postgres, url, _dir: None, _pg: Some(guard) })
    }

    /// A test database of the given backend (`None`: PostgreSQL is off).
    pub async fn of(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }
}

/// `postgres://u@h:p/admin?x` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Drops the per-test PostgreSQL database, even when the test panicked.
struct PgDrop {
    admin_url: String,
    name: String,
}

impl Drop for PgDrop {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A fresh runtime on its own thread: Drop may run inside the test's runtime.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Runs one async test body on SQLite and on PostgreSQL, as two tests named
/// `<name>::sqlite` and `<name>::postgres`.
///
/// ```ignore
/// testkit::on_both_backends! { actix_web::test;
///     regions_are_listed => regions_are_listed_body;
/// }
/// async fn regions_are_listed_body(db: testkit::TestDb) { ... }
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($attr:meta; $($name:ident => $body:ident;)+) => { $(
        mod $name {
            #[$attr]
            async fn sqlite() {
                let db = $crate::TestDb::sqlite().await;
                super::$body(db).await;
            }

            #[$attr]
            async fn postgres() {
                if let Some(db) = $crate::TestDb::postgres().await {
                    super::$body(db).await;
                }
            }
        }
    )+ };
}

/// A keyring with fresh random keys: key 1 active, nothing retired.
pub fn keyring() -> infra::crypto::Keyring {
    keyring_with(&[(1, infra::crypto::generate_key().expect("random key"))], 1, &[], fixed_index_key())
}

/// A keyring of the given key versions.
pub fn keyring_with(
    keys: &[(u32, [u8; 32])],
    active: u32,
    retired: &[u32],
    index_key: [u8; 32],
) -> infra::crypto::Keyring {
    infra::crypto::Keyring::new(infra::crypto::KeyringConfig {
        keys: keys.to_vec(),
        active,
        retired: retired.to_vec(),
        index_key,
    })
    .expect("keyring")
}

/// One blind-index key for a whole test run, so indexes written by one keyring are found
/// by another (as in production, where rotation never changes the index key).
pub fn fixed_index_key() -> [u8; 32] {
    *b"testkit-fixed-blind-index-key-32"
}

/// The JWT secret of test apps.
pub const JWT_SECRET: &[u8] = b"testkit-jwt-secret-at-least-32-bytes-long";

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_swapped_and_the_query_kept() {
        assert_eq!(with_database("postgres://p@h:5432/test", "x"), "postgres://p@h:5432/x");
        assert_eq!(with_database("postgres://p@h/test?sslmode=disable", "x"), "postgres://p@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://p@h", "x"), "postgres://p@h/x");
    }
}
