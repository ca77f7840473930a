//! Evidence uploads: issuing an upload URL, receiving the upload, and the checks a file
//! key passes before an AS request takes it.
//!
//! Invariants:
//! - a URL is issued only for a validated request ([`NewUpload::parse`]) of the acting
//!   member, whose org and user then own the file key;
//! - an upload is received only through a URL whose signature covers its key, expiry,
//!   declared type and size, before that expiry, once, sent with the declared
//!   `Content-Type` and no other `Content-Length` than the declared size
//!   ([`FileService::begin_upload`], checked in that order);
//! - the body is accepted only while it stays within the declared size, starts with its
//!   type's magic bytes, and is complete only at exactly that size ([`UploadGuard`]);
//! - a file is usable only by its owner (org and user), for its purpose, once uploaded,
//!   and by one AS request; another owner's key answers as an unknown one
//!   ([`use_refusal`], [`attach_refusal`]); keys are checked in the order given and the
//!   first refused one answers.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::error::{RepoError, ValidationError};
use crate::files::{
    EvidenceFile, FileOwner, FilePurpose, FileType, FileUseError, IssuedUpload, NewUpload, SNIFF_LEN, StoredFile,
    UploadError, UploadRequest,
};
use crate::ports::{Clock, FileRepository};
use crate::principal::Principal;

/// Why an upload URL was not issued.
#[derive(Debug, thiserror::Error)]
pub enum PresignRefusal {
    /// The principal acts for no member (an API key that named no `mohomId`).
    #[error("the call acts for no member")]
    NoActingMember,
    #[error(transparent)]
    Invalid(ValidationError),
    #[error(transparent)]
    Repo(RepoError),
}

/// The first reason `key` cannot be used by `owner` for `purpose`, uploaded or not (the
/// caller decides about that): unknown or another owner's, another purpose, attached.
#[must_use]
pub fn use_refusal(
    key: Uuid,
    found: Option<&StoredFile>,
    owner: FileOwner,
    purpose: FilePurpose,
) -> Option<FileUseError> {
    let Some(file) = found.filter(|f| f.owner == owner) else {
        return Some(FileUseError::NotFound(key));
    };
    if file.purpose != Some(purpose) {
        return Some(FileUseError::WrongPurpose(key));
    }
    if file.attached {
        return Some(FileUseError::AlreadyAttached(key));
    }
    None
}

/// The first reason `key` cannot be attached to an AS request now: those of
/// [`use_refusal`], then not uploaded.
#[must_use]
pub fn attach_refusal(
    key: Uuid,
    found: Option<&StoredFile>,
    owner: FileOwner,
    purpose: FilePurpose,
) -> Option<FileUseError> {
    use_refusal(key, found, owner, purpose)
        .or_else(|| found.filter(|f| !f.uploaded).map(|_| FileUseError::NotUploaded(key)))
}

/// The measure of one upload's body as it streams in: its size and its leading bytes.
#[derive(Debug, Clone)]
pub struct UploadGuard {
    file_type: FileType,
    size: u64,
    received: u64,
    head: Vec<u8>,
}

impl UploadGuard {
    /// A guard for a body declared as `size` bytes of `file_type`.
    #[must_use]
    pub fn new(file_type: FileType, size: u64) -> Self {
        Self { file_type, size, received: 0, head: Vec::with_capacity(SNIFF_LEN) }
    }

    /// How many leading bytes decide the type: all of a file shorter than [`SNIFF_LEN`].
    fn sniff_len(&self) -> usize {
        usize::try_from(self.size).map_or(SNIFF_LEN, |size| size.min(SNIFF_LEN))
    }

    /// Takes the measure of the next chunk.
    ///
    /// # Errors
    /// [`UploadError::TooLarge`] at the first byte past the declared size (nothing of the
    /// chunk is counted); [`UploadError::ContentMismatch`] as soon as the leading bytes
    /// show another type.
    pub fn accept(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        let len = chunk.len() as u64;
        if self.received + len > self.size {
            return Err(UploadError::TooLarge { limit: self.size });
        }
        self.received += len;
        let wanted = self.sniff_len();
        if self.head.len() < wanted {
            let take = (wanted - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == wanted && !self.file_type.matches(&self.head) {
                return Err(UploadError::ContentMismatch { expected: self.file_type.content_type().to_owned() });
            }
        }
        Ok(())
    }

    /// # Errors
    /// [`UploadError::Incomplete`] unless exactly the declared size arrived.
    pub fn complete(&self) -> Result<(), UploadError> {
        if self.received == self.size {
            Ok(())
        } else {
            Err(UploadError::Incomplete { expected: self.size, received: self.received })
        }
    }

    /// The declared size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// The files use cases over the upload records and a clock.
pub struct FileService<'a, F: ?Sized, C: ?Sized> {
    files: &'a F,
    clock: &'a C,
}

impl<'a, F: FileRepository + ?Sized, C: Clock + ?Sized> FileService<'a, F, C> {
    pub fn new(files: &'a F, clock: &'a C) -> Self {
        Self { files, clock }
    }

    /// Issues an upload URL for one file of the acting member.
    ///
    /// # Errors
    /// [`PresignRefusal::Invalid`] naming each bad field (`fileName`, `contentType`,
    /// `size`, `purpose`), nothing written; a storage failure.
    pub async fn presign(
        &self,
        principal: &Principal,
        request: &UploadRequest<'_>,
    ) -> Result<IssuedUpload, PresignRefusal> {
        let user = principal.acting.as_ref().ok_or(PresignRefusal::NoActingMember)?;
        let upload = NewUpload::parse(request).map_err(PresignRefusal::Invalid)?;
        let owner = FileOwner { org_id: user.org_id, user_id: user.id };
        self.files.issue_upload(owner, &upload, self.clock.now()).await.map_err(PresignRefusal::Repo)
    }

    /// Starts receiving the body sent to an upload URL (`expires`, `signature`) with these
    /// `Content-Type` and `Content-Length` headers; the returned writer's body is
    /// measured by an [`UploadGuard`].
    ///
    /// # Errors
    /// [`UploadError::NotLocal`]; [`UploadError::InvalidSignature`] for an unknown key or
    /// parameters the signature does not cover; [`UploadError::AlreadyUploaded`];
    /// [`UploadError::Expired`]; [`UploadError::ContentTypeMismatch`];
    /// [`UploadError::TooLarge`] or [`UploadError::Incomplete`] for another declared
    /// length. Nothing is written for any of them.
    pub async fn begin_upload(
        &self,
        file_key: Uuid,
        expires: i64,
        signature: &str,
        content_type: Option<&str>,
        content_length: Option<u64>,
    ) -> Result<F::Incoming, UploadError> {
        let slot = self.files.upload_slot(file_key).await?.ok_or(UploadError::InvalidSignature)?;
        let same_expiry = time::OffsetDateTime::from_unix_timestamp(expires).is_ok_and(|at| at == slot.expires_at);
        if !same_expiry || !self.files.signs(&slot, expires, signature) {
            return Err(UploadError::InvalidSignature);
        }
        if slot.uploaded {
            return Err(UploadError::AlreadyUploaded);
        }
        if self.clock.now().unix_timestamp() >= expires {
            return Err(UploadError::Expired);
        }
        let declared = slot.file_type.content_type();
        if content_type.map(|ct| ct.trim().to_ascii_lowercase()).as_deref() != Some(declared) {
            return Err(UploadError::ContentTypeMismatch { expected: declared.to_owned() });
        }
        match content_length {
            Some(length) if length > slot.size => return Err(UploadError::TooLarge { limit: slot.size }),
            Some(length) if length < slot.size => {
                return Err(UploadError::Incomplete { expected: slot.size, received: length });
            }
            _ => {}
        }
        self.files.receive(&slot).await
    }

    /// Before an AS request is written: every key is the owner's, has the purpose, is not
    /// attached, and is uploaded (a file on an object store is looked at now: its size,
    /// type and magic bytes, and recorded as uploaded when they are what was declared).
    /// Returns the files in the order given.
    ///
    /// # Errors
    /// The first key's [`FileUseError`], in the order given: first the ownership, purpose
    /// and attachment of every key, then the uploads.
    pub async fn confirm_for_use(
        &self,
        owner: FileOwner,
        purpose: FilePurpose,
        keys: &[Uuid],
    ) -> Result<Vec<EvidenceFile>, FileUseError> {
        let found: HashMap<Uuid, StoredFile> =
            self.files.stored_files(keys).await?.into_iter().map(|f| (f.file_key, f)).collect();
        if let Some(refused) = keys.iter().find_map(|key| use_refusal(*key, found.get(key), owner, purpose)) {
            return Err(refused);
        }
        let mut confirmed = HashSet::new();
        for key in keys {
            let Some(file) = found.get(key) else { return Err(FileUseError::NotFound(*key)) };
            if !file.uploaded && confirmed.insert(*key) {
                self.confirm_stored(file).await?;
            }
        }
        let evidence: HashMap<Uuid, EvidenceFile> =
            self.files.evidence(keys).await?.into_iter().map(|f| (f.file_key, f)).collect();
        keys.iter().map(|key| evidence.get(key).cloned().ok_or(FileUseError::NotFound(*key))).collect()
    }

    /// Records a `PENDING` file as uploaded when the object store holds its complete,
    /// declared content.
    async fn confirm_stored(&self, file: &StoredFile) -> Result<(), FileUseError> {
        let key = file.file_key;
        let file_type = file.file_type.ok_or(FileUseError::NotUploaded(key))?;
        let stored = self.files.remote_object(key).await?;
        if !stored.is_some_and(|object| object.is_complete_upload_of(file_type, file.size)) {
            return Err(FileUseError::NotUploaded(key));
        }
        self.files.mark_uploaded(key, self.clock.now()).await?;
        Ok(())
    }
}
