//! The embedded database's files are its owner's alone: the data directory 0700, the
//! database file and its WAL and shared-memory files 0600. These are files of SQLite
//! only (PostgreSQL keeps its own), so the tests run on SQLite alone.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use infra::db::{Db, PoolSettings, create_data_dir};

/// The permission bits in octal, as `ls -l` readers think of them (`"600"`).
fn mode(path: &Path) -> String {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:o}", meta.permissions().mode() & 0o777)
}

fn url(data: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data.join("ldbds.db").display())
}

#[tokio::test]
async fn a_fresh_data_directory_and_database_are_readable_by_their_owner_only() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    create_data_dir(&data).unwrap();
    assert_eq!(mode(&data), "700");

    let db = Db::connect(&url(&data), PoolSettings::default()).await.unwrap();
    db.migrate_up().await.unwrap();
    assert_eq!(mode(&data.join("ldbds.db")), "600");
    // The pool is open and the migrations wrote: WAL mode keeps both files while it is.
    for sibling in ["ldbds.db-wal", "ldbds.db-shm"] {
        assert_eq!(mode(&data.join(sibling)), "600", "{sibling}");
    }
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_database_left_world_readable_by_an_earlier_version_is_narrowed_on_open() {
    let data = tempfile::tempdir().unwrap();
    let first = Db::connect(&url(data.path()), PoolSettings::default()).await.unwrap();
    first.migrate_up().await.unwrap();
    first.close().await.unwrap();
    for file in ["ldbds.db", "ldbds.db-wal", "ldbds.db-shm"] {
        let path = data.path().join(file);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }

    let db = Db::connect(&url(data.path()), PoolSettings::default()).await.unwrap();
    db.ping().await.unwrap();
    for file in ["ldbds.db", "ldbds.db-wal", "ldbds.db-shm"] {
        let path = data.path().join(file);
        if path.exists() {
            assert_eq!(mode(&path), "600", "{file}");
        }
    }
    assert_eq!(mode(&data.path().join("ldbds.db")), "600");
    db.close().await.unwrap();
}
