//! Ports of the files use cases (`crate::service::files`): one method per thing a use case
//! needs from storage.

use std::future::Future;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::RepoError;
use crate::files::{
    EvidenceFile, FileOwner, IssuedUpload, NewUpload, PresignedPut, StoredFile, StoredObject, UploadError, UploadSlot,
    UploadTarget,
};

/// Object storage for uploads (the local data directory, or an S3-compatible store).
pub trait FileStorage: Send + Sync {
    /// A URL the client may PUT the file to until `target.expires_at`.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when a URL cannot be made (bad configuration).
    fn presign_put(&self, target: &UploadTarget) -> Result<PresignedPut, RepoError>;

    /// The stored object under `file_key`, `None` when there is none.
    fn stat(&self, file_key: Uuid) -> impl Future<Output = Result<Option<StoredObject>, RepoError>> + Send;
}

/// The records of uploads and the store behind them.
pub trait FileRepository: Send + Sync {
    /// The body of one local upload being received (the adapter's streaming writer).
    type Incoming: Send;

    /// Records a `PENDING` upload of `owner` (its sanitized name sealed) and makes its URL,
    /// valid until `now` plus the configured lifetime, to the whole second.
    fn issue_upload(
        &self,
        owner: FileOwner,
        upload: &NewUpload,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<IssuedUpload, RepoError>> + Send;

    /// What the upload URL of `file_key` was issued for; `None` for an unknown key.
    /// [`UploadError::NotLocal`] when uploads go to an object store, not to this server.
    fn upload_slot(&self, file_key: Uuid) -> impl Future<Output = Result<Option<UploadSlot>, UploadError>> + Send;

    /// Whether `signature` signs the slot's URL parameters with `expires` (constant-time).
    fn signs(&self, slot: &UploadSlot, expires: i64, signature: &str) -> bool;

    /// Starts receiving the body of an upload the use case accepted.
    fn receive(&self, slot: &UploadSlot) -> impl Future<Output = Result<Self::Incoming, UploadError>> + Send;

    /// The stored files among `keys` (unknown keys are absent).
    fn stored_files(&self, keys: &[Uuid]) -> impl Future<Output = Result<Vec<StoredFile>, RepoError>> + Send;

    /// The object an object store holds under `file_key`; `None` when there is none, and
    /// always on the local store, whose uploads are recorded by their own request.
    fn remote_object(&self, file_key: Uuid) -> impl Future<Output = Result<Option<StoredObject>, RepoError>> + Send;

    /// Records a `PENDING` file as uploaded at `now` (a file uploaded already is left as
    /// it is).
    fn mark_uploaded(&self, file_key: Uuid, now: OffsetDateTime) -> impl Future<Output = Result<(), RepoError>> + Send;

    /// The evidence view of the stored files among `keys` (unknown keys are absent).
    fn evidence(&self, keys: &[Uuid]) -> impl Future<Output = Result<Vec<EvidenceFile>, RepoError>> + Send;
}
