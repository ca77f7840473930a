//! Uploaded files: presigned upload URLs, the local upload receiver, and the checks an
//! AS request runs before it takes a file as evidence.
//!
//! Invariants:
//! - a row of `uploaded_files` is written (`PENDING`) before its URL is handed out; it
//!   becomes `UPLOADED` only once the complete, declared content is stored: locally when
//!   the streamed body had exactly the declared size, type and magic bytes and was
//!   linked into place ([`IncomingFile::finish`]); on S3 when a HEAD (and a ranged GET
//!   for the magic bytes) confirmed it ([`Files::confirm_for_use`]);
//! - a failed local upload leaves no file and the row `PENDING`; the first complete
//!   upload wins, any later PUT with the same URL is refused;
//! - a file is usable only by its owner (org and user), for its purpose, once uploaded,
//!   and by one AS request: [`attach`] is a single conditional update, so two AS
//!   requests can never share a file; another owner's key answers as an unknown one;
//! - the stored object's name is the file key (a UUID), never the client's file name;
//! - the client's (sanitized) file name is stored only as a vault envelope
//!   (`file_name_enc`, AAD `uploaded_files` / `file_name` / file key), and a local file's
//!   bytes only sealed in chunks (`crypto::stream`, bound to the file key, org and
//!   purpose): nothing a client sent is on disk or in a column in plain text. Rows and
//!   files from before are sealed at start-up ([`seal_legacy`]).

mod at_rest;
mod local;
mod s3;

use std::collections::HashMap;
use std::sync::Arc;

use domain::error::RepoError;
use domain::files::{FilePurpose, FileStorage, FileType, NewUpload, PresignedPut, StoredObject, UploadTarget};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use at_rest::{AtRestReport, KeyUse, key_use, rotate_keys, seal_legacy};
pub use local::{IncomingFile, LocalStore, UploadReceipt};
pub use s3::S3Store;

use crate::config::{FilesBackend, Settings};
use crate::crypto::{FieldContext, Keyring};
use crate::db::Db;
use crate::entities::uploaded_file;
use crate::error::unavailable;
use crate::{from_millis, to_millis};

const PENDING: &str = "PENDING";
const UPLOADED: &str = "UPLOADED";

/// One evidence file as an AS shows it. Its `Debug` hides the file name (a person chose it).
#[derive(Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    pub file_key: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub uploaded_at: Option<OffsetDateTime>,
}

domain::redacting_debug!(EvidenceFile {
    show: [file_key, content_type, size, sha256, uploaded_at],
    redact: [file_name]
});

/// Why a file key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileUseError {
    /// Unknown, or another org's or user's (the same answer: no existence leak).
    #[error("file {0} not found")]
    NotFound(Uuid),
    /// Not uploaded completely (or, on S3, the stored object is not what was declared).
    #[error("file {0} is not uploaded")]
    NotUploaded(Uuid),
    #[error("file {0} was uploaded for another purpose")]
    WrongPurpose(Uuid),
    #[error("file {0} is already attached to an AS request")]
    AlreadyAttached(Uuid),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A presigned upload just issued. Its `Debug` hides the URL (its signature is the
/// upload's credential).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedUpload {
    pub file_key: Uuid,
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

domain::redacting_debug!(IssuedUpload { show: [file_key, method, headers, expires_at], redact: [url] });

/// Why a local upload is refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The server stores files on S3: there is no local upload.
    #[error("uploads go to the object store, not to this server")]
    NotLocal,
    /// Unknown key, or a signature that does not match the URL's parameters.
    #[error("the upload URL is not valid")]
    InvalidSignature,
    #[error("the upload URL has expired")]
    Expired,
    #[error("this upload URL was already used")]
    AlreadyUploaded,
    #[error("the Content-Type must be {expected}, as declared")]
    ContentTypeMismatch { expected: String },
    #[error("the body is larger than the declared {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the body has {received} bytes, {expected} were declared")]
    Incomplete { expected: u64, received: u64 },
    #[error("the content is not {expected}")]
    ContentMismatch { expected: String },
    #[error("file storage failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Where files are stored.
enum Store {
    Local(LocalStore),
    S3(S3Store),
}

impl Store {
    fn presign_put(&self, target: &UploadTarget) -> Result<PresignedPut, RepoError> {
        match self {
            Self::Local(store) => store.presign_put(target),
            Self::S3(store) => store.presign_put(target),
        }
    }
}

/// Uploads over the database and the configured store. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    db: Db,
    store: Arc<Store>,
    keyring: Arc<Keyring>,
    ttl: Duration,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match *self.store {
            Store::Local(_) => "local",
            Store::S3(_) => "s3",
        };
        f.debug_struct("Files").field("backend", &backend).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// A file row's owner and state, as the checks need them.
fn row_key(model: &uploaded_file::Model) -> Result<Uuid, RepoError> {
    model.file_key.parse().map_err(|_| RepoError::Corrupted(format!("uploaded_files/{}: key", model.file_key)))
}

/// Where a row's file name envelope lives.
fn name_context(file_key: &str) -> FieldContext<'_> {
    FieldContext { table: "uploaded_files", column: "file_name", row_id: file_key }
}

/// The sanitized client file name of a row: opened from the vault (a row written before
/// the vault held names, and not sealed yet by [`seal_legacy`], still has it in plain).
fn file_name(model: &uploaded_file::Model, keyring: &Keyring) -> Result<String, RepoError> {
    match &model.file_name_enc {
        Some(sealed) => keyring
            .decrypt_string(sealed, &name_context(&model.file_key))
            .map_err(|e| RepoError::Corrupted(format!("uploaded_files/{}: file_name: {e}", model.file_key))),
        None => Ok(model.file_name.clone()),
    }
}

fn evidence(model: &uploaded_file::Model, keyring: &Keyring) -> Result<EvidenceFile, RepoError> {
    Ok(EvidenceFile {
        file_key: row_key(model)?,
        file_name: file_name(model, keyring)?,
        content_type: model.content_type.clone(),
        size: u64::try_from(model.size).unwrap_or_default(),
        sha256: model.sha256.clone(),
        uploaded_at: model.uploaded_at.map(from_millis),
    })
}

async fn rows(conn: &impl ConnectionTrait, keys: &[Uuid]) -> Result<HashMap<Uuid, uploaded_file::Model>, RepoError> {
    let wanted: Vec<String> = keys.iter().map(Uuid::to_string).collect();
    let found = uploaded_file::Entity::find()
        .filter(uploaded_file::Column::FileKey.is_in(wanted))
        .all(conn)
        .await
        .map_err(unavailable)?;
    found.into_iter().map(|m| Ok((row_key(&m)?, m))).collect()
}

/// The first problem of one file for one use, `None` when it may be used (uploaded or
/// not: the caller decides).
fn refusal(
    key: Uuid,
    row: Option<&uploaded_file::Model>,
    org_id: Uuid,
    user_id: Uuid,
    purpose: FilePurpose,
) -> Option<FileUseError> {
    let Some(row) = row.filter(|r| r.org_id == org_id.to_string() && r.user_id == user_id.to_string()) else {
        return Some(FileUseError::NotFound(key));
    };
    if row.purpose != purpose.as_str() {
        return Some(FileUseError::WrongPurpose(key));
    }
    if row.as_id.is_some() {
        return Some(FileUseError::AlreadyAttached(key));
    }
    None
}

impl Files {
    /// The files of these settings: the local store under `{data_dir}/files` with its
    /// URL key derived from the keyring, or the S3 store. The keyring seals file names
    /// and local files.
    ///
    /// # Errors
    /// An S3 configuration that rusty-s3 refuses (settings validation catches most).
    pub fn from_settings(db: Db, settings: &Settings, keyring: &Arc<Keyring>) -> anyhow::Result<Self> {
        let store = match settings.files.backend {
            FilesBackend::Local => Store::Local(LocalStore::new(
                settings.data_dir.join("files"),
                settings.files_public_base_url(),
                keyring,
            )?),
            FilesBackend::S3 => Store::S3(S3Store::new(&settings.files.s3)?),
        };
        let ttl = Duration::seconds(i64::try_from(settings.files.ttl_secs).unwrap_or(900));
        Ok(Self { db, store: Arc::new(store), keyring: Arc::clone(keyring), ttl })
    }

    /// Issues an upload URL for a validated request: the `PENDING` row first, then the
    /// URL (valid for `files.ttl_secs`, to the whole second).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the row cannot be written or the URL not made.
    pub async fn presign(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        upload: &NewUpload,
        now: OffsetDateTime,
    ) -> Result<IssuedUpload, RepoError> {
        let file_key = domain::ids::new_id();
        let expires_at = (now + self.ttl).replace_nanosecond(0).unwrap_or(now + self.ttl);
        let target =
            UploadTarget { file_key, file_type: upload.file_type, size: upload.size, issued_at: now, expires_at };
        let put = self.store.presign_put(&target)?;
        let key_text = file_key.to_string();
        let name_enc = self
            .keyring
            .encrypt_str(&upload.file_name, &name_context(&key_text))
            .map_err(|e| RepoError::Unavailable(format!("sealing a file name: {e}")))?;
        let row = uploaded_file::ActiveModel {
            file_key: Set(file_key.to_string()),
            org_id: Set(org_id.to_string()),
            user_id: Set(user_id.to_string()),
            purpose: Set(upload.purpose.as_str().to_owned()),
            file_name: Set(String::new()),
            file_name_enc: Set(Some(name_enc)),
            content_type: Set(upload.file_type.content_type().to_owned()),
            size: Set(i64::try_from(upload.size).unwrap_or(i64::MAX)),
            sha256: Set(None),
            status: Set(PENDING.to_owned()),
            as_id: Set(None),
            created_at: Set(to_millis(now)),
            expires_at: Set(to_millis(expires_at)),
            uploaded_at: Set(None),
        };
        uploaded_file::Entity::insert(row).exec(self.db.conn()).await.map_err(unavailable)?;
        Ok(IssuedUpload { file_key, url: put.url, method: "PUT", headers: put.headers, expires_at: put.expires_at })
    }

    /// Starts receiving the body of a local upload, after checking the URL: a known key
    /// and a matching signature, not used yet, not expired, and the declared
    /// `Content-Type` (and `Content-Length`, when sent).
    ///
    /// # Errors
    /// [`UploadError::NotLocal`] on S3; the URL and header refusals of [`UploadError`].
    pub async fn begin_upload(
        &self,
        file_key: Uuid,
        expires: i64,
        signature: &str,
        content_type: Option<&str>,
        content_length: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<IncomingFile, UploadError> {
        let Store::Local(store) = &*self.store else { return Err(UploadError::NotLocal) };
        let row = uploaded_file::Entity::find_by_id(file_key.to_string())
            .one(self.db.conn())
            .await
            .map_err(unavailable)?
            .ok_or(UploadError::InvalidSignature)?;
        let size = u64::try_from(row.size).map_err(|_| UploadError::InvalidSignature)?;
        if !store.verify(file_key, expires, &row.content_type, size, signature) || expires * 1000 != row.expires_at {
            return Err(UploadError::InvalidSignature);
        }
        if row.status == UPLOADED {
            return Err(UploadError::AlreadyUploaded);
        }
        if now.unix_timestamp() >= expires {
            return Err(UploadError::Expired);
        }
        let file_type = FileType::from_canonical(&row.content_type)
            .ok_or_else(|| RepoError::Corrupted(format!("uploaded_files/{file_key}: content_type")))?;
        let sent = content_type.map(|ct| ct.trim().to_ascii_lowercase());
        if sent.as_deref() != Some(row.content_type.as_str()) {
            return Err(UploadError::ContentTypeMismatch { expected: row.content_type });
        }
        match content_length {
            Some(length) if length > size => return Err(UploadError::TooLarge { limit: size }),
            Some(length) if length < size => return Err(UploadError::Incomplete { expected: size, received: length }),
            _ => {}
        }
        let owner = local::Owner { org_id: row.org_id, purpose: row.purpose };
        store.receive(self.db.clone(), &self.keyring, file_key, owner, file_type, size).await
    }

    /// Before an AS request is written: every key exists for (org, user), has the
    /// purpose, is not attached, and is uploaded (on S3 the object is looked at now, its
    /// size, type and magic bytes checked, and the row marked `UPLOADED`). Returns the
    /// files in the order given.
    ///
    /// # Errors
    /// The first key's [`FileUseError`], in the order given.
    pub async fn confirm_for_use(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        purpose: FilePurpose,
        keys: &[Uuid],
        now: OffsetDateTime,
    ) -> Result<Vec<EvidenceFile>, FileUseError> {
        let mut found = rows(self.db.conn(), keys).await?;
        for key in keys {
            if let Some(refused) = refusal(*key, found.get(key), org_id, user_id, purpose) {
                return Err(refused);
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(row) = found.get_mut(key) else { return Err(FileUseError::NotFound(*key)) };
            if row.status != UPLOADED {
                self.confirm_stored(row, now).await?;
            }
            out.push(evidence(row, &self.keyring)?);
        }
        Ok(out)
    }

    /// Writes the plaintext of an uploaded local file of `org_id` to `sink`, opened chunk
    /// by chunk (one chunk in memory at a time); returns how many bytes were written.
    /// A file that does not open (tampered, truncated, moved) is an error, and what was
    /// written before the bad chunk must be discarded by the caller.
    ///
    /// # Errors
    /// [`FileUseError::NotFound`] for an unknown key or another org's;
    /// [`FileUseError::NotUploaded`]; [`FileUseError::Repo`] with `Corrupted` when the
    /// stored bytes do not open, `Unavailable` for I/O or on S3 (the bytes are in the
    /// bucket, not here).
    pub async fn read_evidence(
        &self,
        org_id: Uuid,
        file_key: Uuid,
        sink: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<u64, FileUseError> {
        let Store::Local(store) = &*self.store else {
            return Err(RepoError::Unavailable("evidence on S3 is read from the bucket".to_owned()).into());
        };
        let row = uploaded_file::Entity::find_by_id(file_key.to_string())
            .one(self.db.conn())
            .await
            .map_err(unavailable)?
            .filter(|r| r.org_id == org_id.to_string())
            .ok_or(FileUseError::NotFound(file_key))?;
        if row.status != UPLOADED {
            return Err(FileUseError::NotUploaded(file_key));
        }
        let owner = local::Owner { org_id: row.org_id, purpose: row.purpose };
        Ok(store.read(&self.keyring, file_key, &owner, sink).await?)
    }

    /// Marks a `PENDING` row `UPLOADED` when the store holds its complete content
    /// (S3 only: a local upload is marked by its own request). The mark is written on
    /// its own, outside any AS transaction, on purpose: it records what the store showed,
    /// which stays true if the claim is then refused, and keeps the HEAD out of the
    /// claim's locks (`docs/as.md`).
    async fn confirm_stored(&self, row: &mut uploaded_file::Model, now: OffsetDateTime) -> Result<(), FileUseError> {
        let key = row_key(row)?;
        let Store::S3(store) = &*self.store else { return Err(FileUseError::NotUploaded(key)) };
        let file_type = FileType::from_canonical(&row.content_type).ok_or(FileUseError::NotUploaded(key))?;
        let size = u64::try_from(row.size).unwrap_or_default();
        let stored: Option<StoredObject> = store.stat(key).await?;
        if !stored.is_some_and(|object| object.is_complete_upload_of(file_type, size)) {
            return Err(FileUseError::NotUploaded(key));
        }
        let at = to_millis(now);
        uploaded_file::Entity::update_many()
            .col_expr(uploaded_file::Column::Status, Expr::value(UPLOADED))
            .col_expr(uploaded_file::Column::UploadedAt, Expr::value(at))
            .filter(uploaded_file::Column::FileKey.eq(key.to_string()))
            .filter(uploaded_file::Column::Status.eq(PENDING))
            .exec(self.db.conn())
            .await
            .map_err(unavailable)?;
        row.status = UPLOADED.to_owned();
        row.uploaded_at = Some(at);
        Ok(())
    }
}

/// Inside the AS transaction: attaches the keys to `as_id` with one conditional update
/// (owner, purpose, `UPLOADED`, not attached). The keys are checked first, so a refusal
/// usually writes nothing; if a concurrent request took a file in between, fewer rows
/// change than asked and the error says which key, and the caller must roll back.
/// Repeated keys count once.
///
/// # Errors
/// The first refused key's [`FileUseError`] (`NotFound`, `WrongPurpose`,
/// `AlreadyAttached`, `NotUploaded`), or [`FileUseError::Repo`].
pub async fn attach(
    conn: &impl ConnectionTrait,
    as_id: Uuid,
    org_id: Uuid,
    user_id: Uuid,
    purpose: FilePurpose,
    keys: &[Uuid],
) -> Result<(), FileUseError> {
    let mut distinct: Vec<Uuid> = Vec::with_capacity(keys.len());
    for key in keys {
        if !distinct.contains(key) {
            distinct.push(*key);
        }
    }
    if distinct.is_empty() {
        return Ok(());
    }
    let classify = |found: &HashMap<Uuid, uploaded_file::Model>| {
        distinct.iter().find_map(|key| {
            let row = found.get(key);
            refusal(*key, row, org_id, user_id, purpose)
                .or_else(|| row.filter(|r| r.status != UPLOADED).map(|_| FileUseError::NotUploaded(*key)))
        })
    };
    if let Some(refused) = classify(&rows(conn, &distinct).await?) {
        return Err(refused);
    }
    let changed = uploaded_file::Entity::update_many()
        .col_expr(uploaded_file::Column::AsId, Expr::value(as_id.to_string()))
        .filter(uploaded_file::Column::FileKey.is_in(distinct.iter().map(Uuid::to_string)))
        .filter(uploaded_file::Column::OrgId.eq(org_id.to_string()))
        .filter(uploaded_file::Column::UserId.eq(user_id.to_string()))
        .filter(uploaded_file::Column::Purpose.eq(purpose.as_str()))
        .filter(uploaded_file::Column::Status.eq(UPLOADED))
        .filter(uploaded_file::Column::AsId.is_null())
        .exec(conn)
        .await
        .map_err(unavailable)?
        .rows_affected;
    if changed == distinct.len() as u64 {
        return Ok(());
    }
    // Lost a race: find a key that is not ours now (ours are attached to `as_id`).
    let found = rows(conn, &distinct).await?;
    let mine = as_id.to_string();
    let taken = distinct.iter().find(|k| found.get(k).is_none_or(|r| r.as_id.as_deref() != Some(mine.as_str())));
    Err(match taken {
        Some(key) => match found.get(key) {
            Some(row) if row.as_id.is_some() => FileUseError::AlreadyAttached(*key),
            Some(_) => FileUseError::NotUploaded(*key),
            None => FileUseError::NotFound(*key),
        },
        None => FileUseError::AlreadyAttached(distinct[0]),
    })
}

/// The evidence of several AS requests, by AS id (oldest upload first); an AS without
/// files is absent from the map.
///
/// # Errors
/// [`RepoError::Unavailable`].
pub async fn evidence_of(
    conn: &impl ConnectionTrait,
    keyring: &Keyring,
    as_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<EvidenceFile>>, RepoError> {
    let mut out: HashMap<Uuid, Vec<EvidenceFile>> = HashMap::new();
    if as_ids.is_empty() {
        return Ok(out);
    }
    let found = uploaded_file::Entity::find()
        .filter(uploaded_file::Column::AsId.is_in(as_ids.iter().map(Uuid::to_string)))
        .order_by_asc(uploaded_file::Column::CreatedAt)
        .order_by_asc(uploaded_file::Column::FileKey)
        .all(conn)
        .await
        .map_err(unavailable)?;
    for row in &found {
        let as_id = row
            .as_id
            .as_deref()
            .and_then(|id| id.parse::<Uuid>().ok())
            .ok_or_else(|| RepoError::Corrupted(format!("uploaded_files/{}: as_id", row.file_key)))?;
        out.entry(as_id).or_default().push(evidence(row, keyring)?);
    }
    Ok(out)
}

/// The state of one file, for tests and operators: (`status`, `sha256`, `as_id`).
///
/// # Errors
/// [`RepoError::Unavailable`].
pub async fn file_state(
    conn: &impl ConnectionTrait,
    file_key: Uuid,
) -> Result<Option<(String, Option<String>, Option<Uuid>)>, RepoError> {
    let row = uploaded_file::Entity::find_by_id(file_key.to_string()).one(conn).await.map_err(unavailable)?;
    Ok(row.map(|r| (r.status, r.sha256, r.as_id.and_then(|id| id.parse().ok()))))
}

/// How many files rows exist, for tests (nothing written on refusals).
///
/// # Errors
/// [`RepoError::Unavailable`].
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, RepoError> {
    use sea_orm::PaginatorTrait;
    uploaded_file::Entity::find().count(conn).await.map_err(unavailable)
}
