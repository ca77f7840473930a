//! The local store: files under `{data_dir}/files/{file_key}`, uploaded to this server
//! with a URL signed by HMAC-SHA256.
//!
//! Invariants:
//! - the URL signature is `HMAC-SHA256(url_key, framed(v1, file_key, expires, content
//!   type, size))`; `url_key` is derived with HKDF from the keyring's blind-index key
//!   material under its own label, so there is no new secret to configure and it never
//!   equals a key used for anything else; changing any parameter, or the signature,
//!   makes the URL invalid;
//! - a body is written to a temporary file in the target directory while it is hashed
//!   (SHA-256 of the plaintext, as the client sent it) and counted; the first byte past
//!   the declared size, a sniffed type that is not the declared one, or a body that ends
//!   short, removes the temporary file;
//! - what is written is sealed: a `crypto::stream` header with a fresh data key wrapped
//!   by the vault, then 64 KiB chunks of AES-256-GCM (STREAM), bound to the file key,
//!   org and purpose; at most one chunk is in memory, never the file. Plaintext never
//!   reaches the disk, not even in the temporary file;
//! - a complete body is hard-linked to its final name, which fails if that name exists
//!   (the first complete upload wins), and only then is the row marked `UPLOADED`; if
//!   that update fails, the final file is removed again.

use std::path::PathBuf;

use domain::error::RepoError;
use domain::files::{FileType, PresignedPut, StoredObject, UploadReceipt, UploadTarget};
use domain::ports::FileStorage;
use domain::service::files::UploadGuard;
use ring::digest;
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::hmac;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{PENDING, UPLOADED, UploadError};
use crate::crypto::stream::{self, FileContext, OpeningStream, SealingStream};
use crate::crypto::{BlindIndex, Keyring};
use crate::db::Db;
use crate::entities::uploaded_file;
use crate::error::unavailable;
use crate::to_millis;

const URL_KEY_SALT: &[u8] = b"ldbds-upload-url-v1";
const URL_KEY_INFO: &[u8] = b"upload-url-hmac";
/// The per-purpose key the keyring derives from its index root key for this store.
const URL_KEY_SOURCE: BlindIndex =
    BlindIndex { table: "uploaded_files", column: "upload_url", name: "hmac", bits: 256 };

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Length-prefixed parts: unambiguous for any contents.
fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Files in a directory of this server, uploaded through signed URLs.
pub struct LocalStore {
    dir: PathBuf,
    base_url: String,
    url_key: hmac::Key,
}

impl LocalStore {
    /// A store under `dir` (created on the first upload) whose URLs start with
    /// `base_url` (`http://host:port`).
    ///
    /// # Errors
    /// When HKDF cannot derive the URL key (never with a valid keyring).
    pub fn new(dir: PathBuf, base_url: String, keyring: &Keyring) -> anyhow::Result<Self> {
        // The keyring's per-purpose HMAC of a fixed label is secret key material of its own;
        // HKDF turns it into the URL key under this store's label.
        let material = keyring.blind_index(&URL_KEY_SOURCE, "ldbds/upload-url/v1");
        let prk = Salt::new(HKDF_SHA256, URL_KEY_SALT).extract(material.as_bytes());
        let info = [URL_KEY_INFO];
        let okm = prk.expand(&info, hmac::HMAC_SHA256).map_err(|_| anyhow::anyhow!("HKDF expand failed"))?;
        Ok(Self { dir, base_url: base_url.trim_end_matches('/').to_owned(), url_key: hmac::Key::from(okm) })
    }

    fn message(file_key: Uuid, expires: i64, content_type: &str, size: u64) -> Vec<u8> {
        framed(&[
            b"ldbds-upload/v1",
            file_key.to_string().as_bytes(),
            expires.to_string().as_bytes(),
            content_type.as_bytes(),
            size.to_string().as_bytes(),
        ])
    }

    /// The hex signature of an upload URL's parameters.
    #[must_use]
    pub fn sign(&self, file_key: Uuid, expires: i64, content_type: &str, size: u64) -> String {
        hex(hmac::sign(&self.url_key, &Self::message(file_key, expires, content_type, size)).as_ref())
    }

    /// Whether `signature` signs these parameters (constant-time).
    #[must_use]
    pub fn verify(&self, file_key: Uuid, expires: i64, content_type: &str, size: u64, signature: &str) -> bool {
        unhex(signature).is_some_and(|tag| {
            hmac::verify(&self.url_key, &Self::message(file_key, expires, content_type, size), &tag).is_ok()
        })
    }

    fn final_path(&self, file_key: Uuid) -> PathBuf {
        self.dir.join(file_key.to_string())
    }

    /// Opens the sealed file of `file_key` into `sink`, one chunk at a time.
    pub(super) async fn read(
        &self,
        keyring: &Keyring,
        file_key: Uuid,
        owner: &Owner,
        sink: &mut (impl tokio::io::AsyncWrite + Unpin),
    ) -> Result<u64, RepoError> {
        let io = |e: std::io::Error| RepoError::Unavailable(format!("file store: {e}"));
        let key_text = file_key.to_string();
        let bad = |e: crate::crypto::CryptoError| RepoError::Corrupted(format!("files/{file_key}: {e}"));
        let mut file = tokio::fs::File::open(self.final_path(file_key)).await.map_err(io)?;
        let mut opener = OpeningStream::new(keyring, &owner.context(&key_text));
        let mut block = vec![0u8; stream::CHUNK_LEN];
        let mut written = 0u64;
        loop {
            let n = file.read(&mut block).await.map_err(io)?;
            if n == 0 {
                break;
            }
            let mut input = &block[..n];
            while let Some(clear) = opener.push(&mut input).map_err(bad)? {
                sink.write_all(clear).await.map_err(io)?;
                written += clear.len() as u64;
            }
        }
        let clear = opener.finish().map_err(bad)?;
        sink.write_all(clear).await.map_err(io)?;
        sink.flush().await.map_err(io)?;
        Ok(written + clear.len() as u64)
    }

    /// Opens a temporary file for the body of `file_key`, its sealed header written.
    pub(super) async fn receive(
        &self,
        db: Db,
        keyring: &Keyring,
        file_key: Uuid,
        owner: Owner,
        file_type: FileType,
        size: u64,
    ) -> Result<IncomingFile, UploadError> {
        let key_text = file_key.to_string();
        let (sealer, header) = SealingStream::new(keyring, &owner.context(&key_text))
            .map_err(|e| UploadError::Io(std::io::Error::other(format!("sealing: {e}"))))?;
        tokio::fs::create_dir_all(&self.dir).await?;
        let temp_path = self.dir.join(format!(".{file_key}.{}.part", Uuid::now_v7().simple()));
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp_path).await?;
        if let Err(e) = file.write_all(&header).await {
            drop(file);
            let _ = tokio::fs::remove_file(&temp_path).await;
            return Err(e.into());
        }
        Ok(IncomingFile {
            sealer,
            db,
            file_key,
            guard: UploadGuard::new(file_type, size),
            final_path: self.final_path(file_key),
            temp_path,
            file: Some(file),
            hasher: digest::Context::new(&digest::SHA256),
        })
    }
}

impl FileStorage for LocalStore {
    fn presign_put(&self, target: &UploadTarget) -> Result<PresignedPut, RepoError> {
        let expires = target.expires_at.unix_timestamp();
        let content_type = target.file_type.content_type();
        let signature = self.sign(target.file_key, expires, content_type, target.size);
        Ok(PresignedPut {
            url: format!(
                "{}/api/v1/files/upload/{}?expires={expires}&signature={signature}",
                self.base_url, target.file_key
            ),
            headers: vec![
                ("Content-Type".to_owned(), content_type.to_owned()),
                ("Content-Length".to_owned(), target.size.to_string()),
            ],
            expires_at: target.expires_at,
        })
    }

    async fn stat(&self, file_key: Uuid) -> Result<Option<StoredObject>, RepoError> {
        let path = self.final_path(file_key);
        let io = |e: std::io::Error| RepoError::Unavailable(format!("file store: {e}"));
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        // The bytes are sealed and their context (org, purpose) is the row's: the store
        // tells the plaintext size; `Files::read_evidence` opens the content.
        let sealed_len = file.metadata().await.map_err(io)?.len();
        let mut head = Vec::with_capacity(stream::MAX_HEADER_LEN);
        (&mut file).take(stream::MAX_HEADER_LEN as u64).read_to_end(&mut head).await.map_err(io)?;
        let size = stream::plaintext_len(&head, sealed_len)
            .map_err(|e| RepoError::Corrupted(format!("files/{file_key}: {e}")))?;
        Ok(Some(StoredObject { size, content_type: None, head: None }))
    }
}

/// Whose a local file is: what its sealing binds besides its key.
pub(super) struct Owner {
    pub(super) org_id: String,
    pub(super) purpose: String,
}

impl Owner {
    pub(super) fn context<'a>(&'a self, file_id: &'a str) -> FileContext<'a> {
        FileContext { file_id, org_id: &self.org_id, purpose: &self.purpose }
    }
}

/// The body of one local upload being received. Dropping it before
/// [`IncomingFile::finish`] succeeds removes everything it wrote.
pub struct IncomingFile {
    sealer: SealingStream,
    db: Db,
    file_key: Uuid,
    /// The declared size and type, measured chunk by chunk.
    guard: UploadGuard,
    final_path: PathBuf,
    temp_path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: digest::Context,
}

impl IncomingFile {
    /// Takes the next chunk of the body.
    ///
    /// # Errors
    /// [`UploadError::TooLarge`] at the first byte past the declared size;
    /// [`UploadError::ContentMismatch`] as soon as the leading bytes show another type;
    /// [`UploadError::Io`] when the temporary file cannot be written.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), UploadError> {
        self.guard.accept(chunk)?;
        self.hasher.update(chunk);
        let Some(file) = self.file.as_mut() else {
            return Err(UploadError::Io(std::io::Error::other("upload already finished")));
        };
        let mut input = chunk;
        while let Some(sealed) = self.sealer.push(&mut input).map_err(sealing)? {
            file.write_all(sealed).await?;
        }
        Ok(())
    }

    /// The most bytes the encryption held at once (one chunk, whatever the file's size).
    #[must_use]
    pub fn peak_buffer(&self) -> usize {
        self.sealer.peak()
    }

    /// Completes the upload: the whole declared size arrived, the file is linked into
    /// place and the row marked `UPLOADED` with its SHA-256.
    ///
    /// # Errors
    /// [`UploadError::Incomplete`] for a short body; [`UploadError::AlreadyUploaded`]
    /// when another upload of the key completed first; I/O and database errors (the
    /// final file is then removed and the row stays `PENDING`).
    pub async fn finish(mut self, now: OffsetDateTime) -> Result<UploadReceipt, UploadError> {
        self.guard.complete()?;
        let Some(mut file) = self.file.take() else {
            return Err(UploadError::Io(std::io::Error::other("upload already finished")));
        };
        file.write_all(self.sealer.finish().map_err(sealing)?).await?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        match tokio::fs::hard_link(&self.temp_path, &self.final_path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(UploadError::AlreadyUploaded),
            Err(e) => return Err(e.into()),
        }
        let sha256 = hex(self.hasher.clone().finish().as_ref());
        let marked = uploaded_file::Entity::update_many()
            .col_expr(uploaded_file::Column::Status, Expr::value(UPLOADED))
            .col_expr(uploaded_file::Column::Sha256, Expr::value(sha256.clone()))
            .col_expr(uploaded_file::Column::UploadedAt, Expr::value(to_millis(now)))
            .filter(uploaded_file::Column::FileKey.eq(self.file_key.to_string()))
            .filter(uploaded_file::Column::Status.eq(PENDING))
            .exec(self.db.conn())
            .await;
        let outcome = match marked {
            Ok(result) if result.rows_affected == 1 => Ok(()),
            Ok(_) => Err(UploadError::AlreadyUploaded),
            Err(e) => Err(UploadError::Repo(unavailable(e))),
        };
        if let Err(e) = outcome {
            let _ = tokio::fs::remove_file(&self.final_path).await;
            return Err(e);
        }
        Ok(UploadReceipt { file_key: self.file_key, size: self.guard.size(), sha256, uploaded_at: now })
    }
}

fn sealing(e: crate::crypto::CryptoError) -> UploadError {
    UploadError::Io(std::io::Error::other(format!("sealing: {e}")))
}

impl Drop for IncomingFile {
    fn drop(&mut self) {
        // The temporary name never survives: after a success the final name holds the data.
        self.file.take();
        let _ = std::fs::remove_file(&self.temp_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalStore {
        let keyring = Keyring::new(crate::crypto::KeyringConfig {
            keys: vec![(1, [1u8; 32])],
            active: 1,
            retired: vec![],
            index_key: [2u8; 32],
        })
        .unwrap();
        LocalStore::new(PathBuf::from("/nonexistent"), "http://127.0.0.1:8080/".to_owned(), &keyring).unwrap()
    }

    #[test]
    fn a_signature_verifies_only_its_own_parameters() {
        let store = store();
        let key = Uuid::now_v7();
        let sig = store.sign(key, 1_800_000_000, "image/png", 1234);
        assert!(store.verify(key, 1_800_000_000, "image/png", 1234, &sig));
        assert!(!store.verify(Uuid::now_v7(), 1_800_000_000, "image/png", 1234, &sig), "key");
        assert!(!store.verify(key, 1_800_000_001, "image/png", 1234, &sig), "expires");
        assert!(!store.verify(key, 1_800_000_000, "image/jpeg", 1234, &sig), "type");
        assert!(!store.verify(key, 1_800_000_000, "image/png", 1235, &sig), "size");
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        assert!(!store.verify(key, 1_800_000_000, "image/png", 1234, &String::from_utf8(flipped).unwrap()));
        assert!(!store.verify(key, 1_800_000_000, "image/png", 1234, "zz"), "not hex");
        assert!(!store.verify(key, 1_800_000_000, "image/png", 1234, ""), "empty");
    }

    #[test]
    fn another_keyring_signs_differently_and_the_url_carries_the_parameters() {
        let other = LocalStore::new(
            PathBuf::from("/x"),
            "http://h".to_owned(),
            &Keyring::new(crate::crypto::KeyringConfig {
                keys: vec![(1, [1u8; 32])],
                active: 1,
                retired: vec![],
                index_key: [3u8; 32],
            })
            .unwrap(),
        )
        .unwrap();
        let key = Uuid::now_v7();
        assert_ne!(store().sign(key, 1, "image/png", 1), other.sign(key, 1, "image/png", 1));
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let target = UploadTarget { file_key: key, file_type: FileType::Pdf, size: 10, issued_at: at, expires_at: at };
        let put = store().presign_put(&target).unwrap();
        assert!(
            put.url
                .starts_with(&format!("http://127.0.0.1:8080/api/v1/files/upload/{key}?expires=1800000000&signature="))
        );
        assert_eq!(put.headers[0], ("Content-Type".to_owned(), "application/pdf".to_owned()));
    }
}
