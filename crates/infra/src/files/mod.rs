//! Uploaded files: the storage side of `domain::service::files` (the [`FileRepository`]
//! port over the `uploaded_files` rows and the local or S3 store), the local upload
//! receiver, and attaching files to an AS request inside its transaction. The rules
//! (URL, body and use checks) are the domain's; this module stores what they decide.
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
//!   and by one AS request (`domain::service::files::attach_refusal`): [`attach`] is a
//!   single conditional update, so two AS requests can never share a file; another
//!   owner's key answers as an unknown one;
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
use domain::files::{
    FileOwner, FilePurpose, FileType, NewUpload, PresignedPut, StoredFile, StoredObject, UploadSlot, UploadTarget,
};
use domain::ports::{Clock, FileRepository, FileStorage};
use domain::service::files::{FileService, attach_refusal};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use at_rest::{AtRestReport, KeyUse, key_use, rotate_keys, seal_legacy};
// The domain's vocabulary of uploads, under the paths its storage callers and tests
// have always used (`infra::files::FileUseError`, ...): the same types, not copies.
pub use domain::files::{EvidenceFile, FileUseError, IssuedUpload, UploadError, UploadReceipt};
pub use local::{IncomingFile, LocalStore};
pub use s3::S3Store;

use crate::config::{FilesBackend, Settings};
use crate::crypto::{FieldContext, Keyring};
use crate::db::Db;
use crate::entities::uploaded_file;
use crate::error::{corrupt, unavailable};
use crate::{from_millis, to_millis};

const PENDING: &str = "PENDING";
const UPLOADED: &str = "UPLOADED";

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

/// The table named when a row of it cannot be read back.
const TABLE: &str = "uploaded_files";

/// A clock stopped at one instant: the storage calls that take `now` run the use cases
/// at that instant.
struct At(OffsetDateTime);

impl Clock for At {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

fn row_key(model: &uploaded_file::Model) -> Result<Uuid, RepoError> {
    model.file_key.parse().map_err(|e| corrupt(TABLE, &model.file_key, e))
}

/// A file row's owner and state, as the use checks need them.
fn stored(model: &uploaded_file::Model) -> Result<StoredFile, RepoError> {
    let id = |text: &str| text.parse::<Uuid>().map_err(|e| corrupt(TABLE, &model.file_key, e));
    Ok(StoredFile {
        file_key: row_key(model)?,
        owner: FileOwner { org_id: id(&model.org_id)?, user_id: id(&model.user_id)? },
        purpose: model.purpose.parse().ok(),
        file_type: FileType::from_canonical(&model.content_type),
        size: u64::try_from(model.size).unwrap_or_default(),
        uploaded: model.status == UPLOADED,
        attached: model.as_id.is_some(),
    })
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
            .map_err(|e| corrupt(TABLE, &model.file_key, format!("file_name: {e}"))),
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

    /// Starts receiving the body of a local upload, after the checks of
    /// [`FileService::begin_upload`] at `now`.
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
        FileService::new(self, &At(now)).begin_upload(file_key, expires, signature, content_type, content_length).await
    }

    /// Before an AS request is written, the checks of [`FileService::confirm_for_use`] at
    /// `now` (on S3 the object is looked at, and the row marked `UPLOADED`). Returns the
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
        FileService::new(self, &At(now)).confirm_for_use(FileOwner { org_id, user_id }, purpose, keys).await
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
    let owner = FileOwner { org_id, user_id };
    let found = rows(conn, &distinct).await?;
    let mut files = HashMap::with_capacity(found.len());
    for (key, row) in &found {
        files.insert(*key, stored(row)?);
    }
    if let Some(refused) = distinct.iter().find_map(|key| attach_refusal(*key, files.get(key), owner, purpose)) {
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
            .ok_or_else(|| corrupt(TABLE, &row.file_key, "as_id"))?;
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

/// The files use cases' port over the database and the configured store.
impl FileRepository for Files {
    type Incoming = IncomingFile;

    async fn issue_upload(
        &self,
        owner: FileOwner,
        upload: &NewUpload,
        now: OffsetDateTime,
    ) -> Result<IssuedUpload, RepoError> {
        self.presign(owner.org_id, owner.user_id, upload, now).await
    }

    async fn upload_slot(&self, file_key: Uuid) -> Result<Option<UploadSlot>, UploadError> {
        let Store::Local(_) = &*self.store else { return Err(UploadError::NotLocal) };
        let found =
            uploaded_file::Entity::find_by_id(file_key.to_string()).one(self.db.conn()).await.map_err(unavailable)?;
        // A size that cannot have been declared answers as an unknown key.
        let Some((row, size)) = found.and_then(|row| u64::try_from(row.size).ok().map(|size| (row, size))) else {
            return Ok(None);
        };
        let bad = |what: &str| corrupt(TABLE, &row.file_key, what);
        Ok(Some(UploadSlot {
            file_key,
            org_id: row.org_id.parse().map_err(|_| bad("org_id"))?,
            purpose: row.purpose.parse().map_err(|_| bad("purpose"))?,
            file_type: FileType::from_canonical(&row.content_type).ok_or_else(|| bad("content_type"))?,
            size,
            expires_at: from_millis(row.expires_at),
            uploaded: row.status == UPLOADED,
        }))
    }

    fn signs(&self, slot: &UploadSlot, expires: i64, signature: &str) -> bool {
        match &*self.store {
            Store::Local(store) => {
                store.verify(slot.file_key, expires, slot.file_type.content_type(), slot.size, signature)
            }
            Store::S3(_) => false,
        }
    }

    async fn receive(&self, slot: &UploadSlot) -> Result<IncomingFile, UploadError> {
        let Store::Local(store) = &*self.store else { return Err(UploadError::NotLocal) };
        let owner = local::Owner { org_id: slot.org_id.to_string(), purpose: slot.purpose.as_str().to_owned() };
        store.receive(self.db.clone(), &self.keyring, slot.file_key, owner, slot.file_type, slot.size).await
    }

    async fn stored_files(&self, keys: &[Uuid]) -> Result<Vec<StoredFile>, RepoError> {
        rows(self.db.conn(), keys).await?.values().map(stored).collect()
    }

    async fn remote_object(&self, file_key: Uuid) -> Result<Option<StoredObject>, RepoError> {
        match &*self.store {
            Store::S3(store) => store.stat(file_key).await,
            Store::Local(_) => Ok(None),
        }
    }

    async fn mark_uploaded(&self, file_key: Uuid, now: OffsetDateTime) -> Result<(), RepoError> {
        // Written on its own, outside any AS transaction, on purpose: it records what the
        // store showed, which stays true if the claim is then refused, and keeps the
        // store's HEAD out of the claim's locks (`docs/as.md`).
        uploaded_file::Entity::update_many()
            .col_expr(uploaded_file::Column::Status, Expr::value(UPLOADED))
            .col_expr(uploaded_file::Column::UploadedAt, Expr::value(to_millis(now)))
            .filter(uploaded_file::Column::FileKey.eq(file_key.to_string()))
            .filter(uploaded_file::Column::Status.eq(PENDING))
            .exec(self.db.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn evidence(&self, keys: &[Uuid]) -> Result<Vec<EvidenceFile>, RepoError> {
        rows(self.db.conn(), keys).await?.values().map(|row| evidence(row, &self.keyring)).collect()
    }
}
