//! Evidence at rest outside the upload path: sealing file names and local files stored
//! before the vault held them (a start-up step), counting them per key
//! (`ldbds keys status`) and moving them to the active key (`ldbds keys rotate`).
//!
//! Invariants:
//! - [`seal_legacy`] is idempotent and resumable: a row is sealed by one conditional
//!   update (`file_name_enc IS NULL`), a file by writing its sealed copy beside it and
//!   renaming it over the plaintext (atomic; a sealed file starts with
//!   `crypto::stream::MAGIC`, which no accepted upload type does, so it is never sealed
//!   twice); on SQLite the sealing writes run with `secure_delete` and end with a WAL
//!   checkpoint, so the old plaintext does not linger in freed pages or the WAL;
//! - a file without a row is left as it is and counted (`orphans`): without its org and
//!   purpose it cannot be bound; the operator decides;
//! - rotation rewraps a file's data key only (its header, the chunks are kept), writing
//!   a copy and renaming it over the file, so a reader sees the old or the new file,
//!   both valid while the old key is not retired; a row's name is resealed by an update
//!   conditional on the old envelope;
//! - nothing here logs a file name or content, only keys and counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use domain::error::RepoError;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::local::Owner;
use super::name_context;
use crate::crypto::stream::{self, SealingStream};
use crate::crypto::{Keyring, envelope_key_id};
use crate::db::Db;
use crate::entities::uploaded_file;
use crate::error::unavailable;

const BATCH: u64 = 500;
/// A temporary upload file older than this belongs to no upload in progress.
const STALE_PART_SECS: u64 = 3600;

/// What [`seal_legacy`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AtRestReport {
    /// File names moved from `file_name` into `file_name_enc`.
    pub rows_sealed: u64,
    /// Plaintext files replaced by their sealed form.
    pub files_sealed: u64,
    /// Plaintext files without a row, left as they are.
    pub orphans: u64,
    /// Leftover temporary upload files removed.
    pub stale_parts_removed: u64,
}

/// Which key seals the file names and the local files (`ldbds keys status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUse {
    /// Key id → rows whose `file_name_enc` it seals.
    pub names: BTreeMap<u32, u64>,
    /// Key id → local files whose data key it wraps.
    pub files: BTreeMap<u32, u64>,
    /// Rows and files not sealed at all (the start-up step has not run since).
    pub unsealed: u64,
}

impl KeyUse {
    /// Names and files sealed under another key than `active` (what `rotate_keys` moves
    /// and what keeps an old key from retiring; unsealed items name no key).
    #[must_use]
    pub fn pending(&self, active: u32) -> u64 {
        let old = |m: &BTreeMap<u32, u64>| m.iter().filter(|(k, _)| **k != active).map(|(_, n)| n).sum::<u64>();
        old(&self.names) + old(&self.files)
    }
}

fn io(e: std::io::Error) -> RepoError {
    RepoError::Unavailable(format!("file store: {e}"))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupted(format!("{what}: {e}"))
}

/// The stored evidence files of `dir` (named by their key), and the leftover temporary
/// ones.
async fn listing(dir: &Path) -> Result<(Vec<Uuid>, Vec<PathBuf>), RepoError> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(io(e)),
    };
    let (mut files, mut parts) = (Vec::new(), Vec::new());
    while let Some(entry) = entries.next_entry().await.map_err(io)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(key) = name.parse::<Uuid>() {
            files.push(key);
        } else if name.starts_with('.') && name.ends_with(".part") {
            parts.push(entry.path());
        }
    }
    files.sort();
    Ok((files, parts))
}

/// The first bytes of a file (up to `n`).
async fn head(path: &Path, n: usize) -> Result<Vec<u8>, RepoError> {
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut out = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut out).await.map_err(io)?;
    Ok(out)
}

fn temp_beside(dir: &Path, key: Uuid) -> PathBuf {
    dir.join(format!(".{key}.{}.seal", Uuid::now_v7().simple()))
}

/// Writes `header`, then what `fill` writes, to a new file beside `target`, and renames
/// it over `target`. The temporary file is removed on any failure.
async fn replace_with(
    dir: &Path,
    key: Uuid,
    write: impl AsyncFnOnce(&mut tokio::fs::File) -> Result<(), RepoError>,
) -> Result<(), RepoError> {
    let temp = temp_beside(dir, key);
    let outcome = async {
        let mut out = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp).await.map_err(io)?;
        write(&mut out).await?;
        out.flush().await.map_err(io)?;
        out.sync_all().await.map_err(io)?;
        drop(out);
        tokio::fs::rename(&temp, dir.join(key.to_string())).await.map_err(io)
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    outcome
}

/// Seals one plaintext file in place (through a sealed copy renamed over it).
async fn seal_file(dir: &Path, keyring: &Keyring, key: Uuid, owner: &Owner) -> Result<(), RepoError> {
    let key_text = key.to_string();
    let (mut sealer, header) =
        SealingStream::new(keyring, &owner.context(&key_text)).map_err(|e| corrupt("sealing", e))?;
    let mut plain = tokio::fs::File::open(dir.join(&key_text)).await.map_err(io)?;
    replace_with(dir, key, async |out| {
        out.write_all(&header).await.map_err(io)?;
        let mut block = vec![0u8; stream::CHUNK_LEN];
        loop {
            let n = plain.read(&mut block).await.map_err(io)?;
            if n == 0 {
                break;
            }
            let mut input = &block[..n];
            while let Some(sealed) = sealer.push(&mut input).map_err(|e| corrupt("sealing", e))? {
                out.write_all(sealed).await.map_err(io)?;
            }
        }
        out.write_all(sealer.finish().map_err(|e| corrupt("sealing", e))?).await.map_err(io)
    })
    .await
}

/// Seals the file names of rows written before the vault held them (`file_name` →
/// `file_name_enc`, `file_name` emptied) and the plaintext files under `dir`, and
/// removes temporary upload files left by a crash. Run at start-up, before serving;
/// safe to run again.
///
/// # Errors
/// [`RepoError::Unavailable`] for database or file-system failures (what was sealed
/// before stays sealed; the next start continues).
pub async fn seal_legacy(db: &Db, keyring: &Keyring, dir: &Path) -> Result<AtRestReport, RepoError> {
    let mut report = AtRestReport::default();
    let sqlite = db.conn().get_database_backend() == DbBackend::Sqlite;
    loop {
        let txn = db.begin_write().await.map_err(unavailable)?;
        if sqlite {
            // The rows' old bytes are zeroed when their cells are rewritten.
            txn.execute_unprepared("PRAGMA secure_delete = ON").await.map_err(unavailable)?;
        }
        let rows = uploaded_file::Entity::find()
            .filter(uploaded_file::Column::FileNameEnc.is_null())
            .order_by_asc(uploaded_file::Column::FileKey)
            .limit(BATCH)
            .all(&*txn)
            .await
            .map_err(unavailable)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let sealed = keyring
                .encrypt_str(&row.file_name, &name_context(&row.file_key))
                .map_err(|e| corrupt("sealing a file name", e))?;
            let done = uploaded_file::Entity::update_many()
                .col_expr(uploaded_file::Column::FileNameEnc, Expr::value(sealed))
                .col_expr(uploaded_file::Column::FileName, Expr::value(String::new()))
                .filter(uploaded_file::Column::FileKey.eq(row.file_key.as_str()))
                .filter(uploaded_file::Column::FileNameEnc.is_null())
                .exec(&*txn)
                .await
                .map_err(unavailable)?;
            report.rows_sealed += done.rows_affected;
        }
        txn.commit().await.map_err(unavailable)?;
    }
    if sqlite && report.rows_sealed > 0 {
        db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.map_err(unavailable)?;
    }

    let (keys, parts) = listing(dir).await?;
    for part in parts {
        let age = tokio::fs::metadata(&part).await.ok().and_then(|m| m.modified().ok()?.elapsed().ok());
        if age.is_some_and(|age| age.as_secs() >= STALE_PART_SECS) && tokio::fs::remove_file(&part).await.is_ok() {
            report.stale_parts_removed += 1;
        }
    }
    for key in keys {
        if stream::is_sealed(&head(&dir.join(key.to_string()), stream::MAGIC.len()).await?) {
            continue;
        }
        let row = uploaded_file::Entity::find_by_id(key.to_string()).one(db.conn()).await.map_err(unavailable)?;
        let Some(row) = row else {
            tracing::warn!(file_key = %key, "a plaintext evidence file has no row: left as it is");
            report.orphans += 1;
            continue;
        };
        seal_file(dir, keyring, key, &Owner { org_id: row.org_id, purpose: row.purpose }).await?;
        report.files_sealed += 1;
    }
    if report != AtRestReport::default() {
        tracing::info!(
            rows = report.rows_sealed,
            files = report.files_sealed,
            orphans = report.orphans,
            stale_parts = report.stale_parts_removed,
            "evidence stored before the vault is now sealed"
        );
    }
    Ok(report)
}

/// Rows' `(file_key, file_name_enc)`, a page after `after`.
async fn name_page(conn: &impl ConnectionTrait, after: &str) -> Result<Vec<(String, Option<Vec<u8>>)>, RepoError> {
    uploaded_file::Entity::find()
        .select_only()
        .column(uploaded_file::Column::FileKey)
        .column(uploaded_file::Column::FileNameEnc)
        .filter(uploaded_file::Column::FileKey.gt(after))
        .order_by_asc(uploaded_file::Column::FileKey)
        .limit(BATCH)
        .into_tuple()
        .all(conn)
        .await
        .map_err(unavailable)
}

/// Which key seals each file name and each local file under `dir`.
///
/// # Errors
/// [`RepoError::Unavailable`]; `Corrupted` for an envelope or header that is unreadable.
pub async fn key_use(db: &Db, dir: &Path) -> Result<KeyUse, RepoError> {
    let mut out = KeyUse::default();
    let mut after = String::new();
    loop {
        let page = name_page(db.conn(), &after).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (key, sealed) in page {
            match sealed {
                Some(sealed) => {
                    let id = envelope_key_id(&sealed).map_err(|e| corrupt(&format!("uploaded_files/{key}"), e))?;
                    *out.names.entry(id).or_default() += 1;
                }
                None => out.unsealed += 1,
            }
        }
    }
    for key in listing(dir).await?.0 {
        let first = head(&dir.join(key.to_string()), stream::MAX_HEADER_LEN).await?;
        if !stream::is_sealed(&first) {
            out.unsealed += 1;
            continue;
        }
        let id = stream::header_key_id(&first).map_err(|e| corrupt(&format!("files/{key}"), e))?;
        *out.files.entry(id).or_default() += 1;
    }
    Ok(out)
}

/// Moves every file name and local file under `dir` to the active key; returns how many
/// were moved. Interrupted runs resume (only items under another key are touched).
///
/// # Errors
/// [`RepoError::Unavailable`]; `Corrupted` (named) for an item that does not open, which
/// is left as it was.
pub async fn rotate_keys(db: &Db, keyring: &Keyring, dir: &Path) -> Result<u64, RepoError> {
    let active = keyring.active_key_id();
    let mut moved = 0;
    let mut after = String::new();
    loop {
        let page = name_page(db.conn(), &after).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (key, sealed) in page {
            let Some(sealed) = sealed.filter(|s| envelope_key_id(s).is_ok_and(|id| id != active)) else { continue };
            let fresh = keyring
                .reencrypt(&sealed, &name_context(&key))
                .map_err(|e| corrupt(&format!("uploaded_files/{key}"), e))?;
            let done = uploaded_file::Entity::update_many()
                .col_expr(uploaded_file::Column::FileNameEnc, Expr::value(fresh))
                .filter(uploaded_file::Column::FileKey.eq(key.as_str()))
                .filter(uploaded_file::Column::FileNameEnc.eq(sealed))
                .exec(db.conn())
                .await
                .map_err(unavailable)?;
            moved += done.rows_affected;
        }
    }
    for key in listing(dir).await?.0 {
        let path = dir.join(key.to_string());
        let first = head(&path, stream::MAX_HEADER_LEN).await?;
        if !stream::is_sealed(&first) || stream::header_key_id(&first).is_ok_and(|id| id == active) {
            continue;
        }
        let (header, replaced) = stream::rewrap_header(keyring, &key.to_string(), &first)
            .map_err(|e| corrupt(&format!("files/{key}"), e))?;
        let mut old = tokio::fs::File::open(&path).await.map_err(io)?;
        replace_with(dir, key, async |out| {
            out.write_all(&header).await.map_err(io)?;
            let mut skip = (&mut old).take(replaced as u64);
            tokio::io::copy(&mut skip, &mut tokio::io::sink()).await.map_err(io)?;
            tokio::io::copy(&mut old, out).await.map_err(io)?;
            Ok(())
        })
        .await?;
        moved += 1;
    }
    Ok(moved)
}
