//! In-memory adapters of the files ports, for use-case tests without a database.
//!
//! Upload records live in a map; an upload URL's "signature" is its parameters written
//! out ([`MemoryFileRepository::signature`]), so a test can forge or tamper one; the
//! object store, when there is one (`remote`), is a map of [`StoredObject`]s a test fills.

use std::collections::HashMap;
use std::sync::Mutex;

use domain::error::RepoError;
use domain::files::{
    EvidenceFile, FileOwner, IssuedUpload, NewUpload, StoredFile, StoredObject, UploadError, UploadSlot,
};
use domain::ports::FileRepository;
use domain::service::files::UploadGuard;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// One upload record.
#[derive(Debug, Clone)]
pub struct MemoryFile {
    pub slot: UploadSlot,
    pub stored: StoredFile,
    pub evidence: EvidenceFile,
}

/// Upload records, and the object store when uploads go to one.
#[derive(Debug)]
pub struct MemoryFileRepository {
    pub files: Mutex<HashMap<Uuid, MemoryFile>>,
    /// Uploads go to an object store (S3), not to this server.
    pub remote: bool,
    /// The object store's objects, by file key.
    pub objects: Mutex<HashMap<Uuid, StoredObject>>,
    /// How long an upload URL lives.
    pub ttl: Duration,
}

impl Default for MemoryFileRepository {
    fn default() -> Self {
        Self { files: Mutex::default(), remote: false, objects: Mutex::default(), ttl: Duration::minutes(15) }
    }
}

/// The body of an upload being received: measured, not stored.
#[derive(Debug)]
pub struct MemoryIncoming {
    pub slot: UploadSlot,
    pub guard: UploadGuard,
}

impl MemoryFileRepository {
    /// The signature this store gives an upload URL's parameters.
    #[must_use]
    pub fn signature(slot: &UploadSlot, expires: i64) -> String {
        format!("{}|{expires}|{}|{}", slot.file_key, slot.file_type.content_type(), slot.size)
    }

    /// One record (tests).
    #[must_use]
    pub fn file(&self, key: Uuid) -> Option<MemoryFile> {
        self.files.lock().expect("files lock").get(&key).cloned()
    }

    /// Changes one record (tests): marks it uploaded, attaches it, ...
    pub fn edit(&self, key: Uuid, change: impl FnOnce(&mut MemoryFile)) {
        if let Some(file) = self.files.lock().expect("files lock").get_mut(&key) {
            change(file);
        }
    }
}

impl FileRepository for MemoryFileRepository {
    type Incoming = MemoryIncoming;

    async fn issue_upload(
        &self,
        owner: FileOwner,
        upload: &NewUpload,
        now: OffsetDateTime,
    ) -> Result<IssuedUpload, RepoError> {
        let file_key = domain::ids::new_id();
        let expires_at = (now + self.ttl).replace_nanosecond(0).unwrap_or(now + self.ttl);
        let slot = UploadSlot {
            file_key,
            org_id: owner.org_id,
            purpose: upload.purpose,
            file_type: upload.file_type,
            size: upload.size,
            expires_at,
            uploaded: false,
        };
        let stored = StoredFile {
            file_key,
            owner,
            purpose: Some(upload.purpose),
            file_type: Some(upload.file_type),
            size: upload.size,
            uploaded: false,
            attached: false,
        };
        let evidence = EvidenceFile {
            file_key,
            file_name: upload.file_name.clone(),
            content_type: upload.file_type.content_type().to_owned(),
            size: upload.size,
            sha256: None,
            uploaded_at: None,
        };
        let expires = expires_at.unix_timestamp();
        let url = format!("memory:/{file_key}?expires={expires}&signature={}", Self::signature(&slot, expires));
        self.files.lock().expect("files lock").insert(file_key, MemoryFile { slot, stored, evidence });
        Ok(IssuedUpload { file_key, url, method: "PUT", headers: Vec::new(), expires_at })
    }

    async fn upload_slot(&self, file_key: Uuid) -> Result<Option<UploadSlot>, UploadError> {
        if self.remote {
            return Err(UploadError::NotLocal);
        }
        Ok(self.file(file_key).map(|f| UploadSlot { uploaded: f.stored.uploaded, ..f.slot }))
    }

    fn signs(&self, slot: &UploadSlot, expires: i64, signature: &str) -> bool {
        !self.remote && signature == Self::signature(slot, expires)
    }

    async fn receive(&self, slot: &UploadSlot) -> Result<MemoryIncoming, UploadError> {
        Ok(MemoryIncoming { slot: *slot, guard: UploadGuard::new(slot.file_type, slot.size) })
    }

    async fn stored_files(&self, keys: &[Uuid]) -> Result<Vec<StoredFile>, RepoError> {
        let files = self.files.lock().expect("files lock");
        Ok(keys.iter().filter_map(|k| files.get(k).map(|f| f.stored)).collect())
    }

    async fn remote_object(&self, file_key: Uuid) -> Result<Option<StoredObject>, RepoError> {
        Ok(if self.remote { self.objects.lock().expect("objects lock").get(&file_key).cloned() } else { None })
    }

    async fn mark_uploaded(&self, file_key: Uuid, now: OffsetDateTime) -> Result<(), RepoError> {
        self.edit(file_key, |f| {
            if !f.stored.uploaded {
                f.stored.uploaded = true;
                f.evidence.uploaded_at = Some(now);
            }
        });
        Ok(())
    }

    async fn evidence(&self, keys: &[Uuid]) -> Result<Vec<EvidenceFile>, RepoError> {
        let files = self.files.lock().expect("files lock");
        Ok(keys.iter().filter_map(|k| files.get(k).map(|f| f.evidence.clone())).collect())
    }
}
