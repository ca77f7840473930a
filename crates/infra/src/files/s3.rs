//! The S3 store: any S3-compatible object store, uploaded to directly with a SigV4
//! presigned PUT (rusty-s3), confirmed by a HEAD before a file is used.
//!
//! Invariants:
//! - objects are named `files/{file_key}`;
//! - the PUT URL signs `content-type`, `content-length` and
//!   `x-amz-server-side-encryption: AES256`, so the store itself refuses a body of
//!   another type or size, or one sent without asking for encryption at rest (403
//!   `SignatureDoesNotMatch`): evidence on S3 is encrypted at rest by the store (SSE-S3,
//!   ADR 0008), since its bytes never pass through this server;
//! - an object counts as uploaded only when a HEAD shows the declared size and type and
//!   that the store encrypted it (`x-amz-server-side-encryption` present: SSE-S3 or
//!   SSE-KMS), and a ranged GET of its first bytes shows the declared type's magic bytes;
//! - the HTTP client (ureq, rustls on ring) is blocking: it runs on tokio's blocking
//!   pool, with a global timeout, never on a worker thread.

use std::io::Read;
use std::time::Duration;

use domain::error::RepoError;
use domain::files::{PresignedPut, SNIFF_LEN, StoredObject, UploadTarget};
use domain::ports::FileStorage;
use rusty_s3::actions::{GetObject, HeadObject, PutObject, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::S3Settings;

/// How long a confirmation request may take, end to end.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The server-side encryption every PUT asks for (SSE-S3: AES-256 under the store's keys).
pub const SSE_HEADER: &str = "x-amz-server-side-encryption";
const SSE_ALGORITHM: &str = "AES256";
/// How long the confirmation's own signed URLs live.
const PROBE_TTL: Duration = Duration::from_secs(60);

/// An S3-compatible bucket.
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
}

/// The name of a file's object.
#[must_use]
pub fn object_name(file_key: Uuid) -> String {
    format!("files/{file_key}")
}

/// A `jiff` 0.2 instant (what rusty-s3 signs at) of an `OffsetDateTime`.
fn signing_time(at: OffsetDateTime) -> Result<jiff02::Timestamp, RepoError> {
    jiff02::Timestamp::from_second(at.unix_timestamp())
        .map_err(|e| RepoError::Unavailable(format!("signing time out of range: {e}")))
}

fn unavailable(what: impl std::fmt::Display) -> RepoError {
    // An HTTP client's error may quote the presigned URL it was given: never its query.
    let what = domain::secret::redact_url_queries(&what.to_string());
    tracing::warn!(error = %what, "object store request failed");
    RepoError::Unavailable(format!("object store: {what}"))
}

impl S3Store {
    /// A store over these settings.
    ///
    /// # Errors
    /// An endpoint that is not a URL with a host, or a bucket name rusty-s3 refuses.
    pub fn new(settings: &S3Settings) -> anyhow::Result<Self> {
        let endpoint = settings.endpoint.trim().parse()?;
        let style = if settings.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket =
            Bucket::new(endpoint, style, settings.bucket.trim().to_owned(), settings.region.trim().to_owned())?;
        let credentials = Credentials::new(settings.access_key.trim(), settings.secret_key.trim());
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into();
        Ok(Self { bucket, credentials, agent })
    }

    /// A presigned GET of an object at `at`, valid `expires_in` (the AWS documented
    /// example is this with bucket `examplebucket` and object `test.txt`).
    ///
    /// # Errors
    /// An instant rusty-s3 cannot sign at.
    pub fn presign_get(&self, object: &str, at: OffsetDateTime, expires_in: Duration) -> Result<String, RepoError> {
        let action = GetObject::new(&self.bucket, Some(&self.credentials), object);
        Ok(action.sign_with_time(expires_in, &signing_time(at)?).to_string())
    }

    fn head_blocking(&self, file_key: Uuid) -> Result<Option<StoredObject>, RepoError> {
        let object = object_name(file_key);
        let head_url = HeadObject::new(&self.bucket, Some(&self.credentials), &object).sign(PROBE_TTL);
        let response = self.agent.head(head_url.as_str()).call().map_err(unavailable)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            other => return Err(unavailable(format!("HEAD answered {other}"))),
        }
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let size = header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| unavailable("HEAD without Content-Length"))?;
        let content_type = header("content-type");
        if header(SSE_HEADER).is_none_or(|v| v.trim().is_empty()) {
            // Stored without encryption at rest (not through our URL): not accepted.
            tracing::warn!(file_key = %file_key, "object stored without server-side encryption: not confirmed");
            return Ok(None);
        }
        let get_url = GetObject::new(&self.bucket, Some(&self.credentials), &object).sign(PROBE_TTL);
        let range = format!("bytes=0-{}", SNIFF_LEN - 1);
        let mut ranged = self.agent.get(get_url.as_str()).header("range", &range).call().map_err(unavailable)?;
        let head = match ranged.status().as_u16() {
            200 | 206 => {
                let mut head = Vec::with_capacity(SNIFF_LEN);
                ranged.body_mut().as_reader().take(SNIFF_LEN as u64).read_to_end(&mut head).map_err(unavailable)?;
                Some(head)
            }
            404 => return Ok(None),
            other => return Err(unavailable(format!("GET answered {other}"))),
        };
        Ok(Some(StoredObject { size, content_type, head }))
    }
}

impl FileStorage for S3Store {
    fn presign_put(&self, target: &UploadTarget) -> Result<PresignedPut, RepoError> {
        let object = object_name(target.file_key);
        let content_type = target.file_type.content_type();
        let size = target.size.to_string();
        let mut action = PutObject::new(&self.bucket, Some(&self.credentials), &object);
        action.headers_mut().insert("content-type", content_type);
        action.headers_mut().insert("content-length", size.clone());
        action.headers_mut().insert(SSE_HEADER, SSE_ALGORITHM);
        // Signed at the whole second of issue, valid until the row's (whole-second) expiry.
        let issued = target.issued_at.replace_nanosecond(0).unwrap_or(target.issued_at);
        let lifetime = u64::try_from((target.expires_at - issued).whole_seconds()).unwrap_or(0).max(1);
        let url = action.sign_with_time(Duration::from_secs(lifetime), &signing_time(issued)?);
        Ok(PresignedPut {
            url: url.to_string(),
            headers: vec![
                ("Content-Type".to_owned(), content_type.to_owned()),
                ("Content-Length".to_owned(), size),
                (SSE_HEADER.to_owned(), SSE_ALGORITHM.to_owned()),
            ],
            expires_at: target.expires_at,
        })
    }

    async fn stat(&self, file_key: Uuid) -> Result<Option<StoredObject>, RepoError> {
        let store =
            Self { bucket: self.bucket.clone(), credentials: self.credentials.clone(), agent: self.agent.clone() };
        tokio::task::spawn_blocking(move || store.head_blocking(file_key))
            .await
            .map_err(|e| unavailable(format!("confirmation task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use domain::files::FileType;
    use time::macros::datetime;

    use super::*;

    fn store(endpoint: &str, bucket: &str, path_style: bool) -> S3Store {
        S3Store::new(&S3Settings {
            endpoint: endpoint.to_owned(),
            bucket: bucket.to_owned(),
            region: "us-east-1".to_owned(),
            access_key: "AKIAIOSFODNN7EXAMPLE".to_owned(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
            path_style,
        })
        .unwrap()
    }

    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn query(url: &str) -> Vec<(String, String)> {
        let (_, query) = url.split_once('?').unwrap();
        query.split('&').map(|pair| pair.split_once('=').unwrap()).map(|(k, v)| (decode(k), decode(v))).collect()
    }

    /// AWS, "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)",
    /// the example presigned URL: the same bucket, key, credentials, date and expiry give
    /// the documented signature.
    #[test]
    fn the_aws_documented_presigned_url_example_is_reproduced() {
        let store = store("https://s3.amazonaws.com", "examplebucket", false);
        let url =
            store.presign_get("test.txt", datetime!(2013-05-24 00:00:00 UTC), Duration::from_secs(86_400)).unwrap();
        assert!(url.starts_with("https://examplebucket.s3.amazonaws.com/test.txt?"), "{url}");
        let params = query(&url);
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(get("X-Amz-Credential"), Some("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"));
        assert_eq!(get("X-Amz-Date"), Some("20130524T000000Z"));
        assert_eq!(get("X-Amz-Expires"), Some("86400"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host"));
        assert_eq!(get("X-Amz-Signature"), Some("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    }

    #[test]
    fn a_presigned_put_signs_the_declared_type_and_size() {
        let store = store("http://127.0.0.1:9000", "evidence", true);
        let key = Uuid::now_v7();
        let issued_at = datetime!(2026-11-25 10:00:00.250 UTC);
        let target = UploadTarget {
            file_key: key,
            file_type: FileType::Png,
            size: 1234,
            issued_at,
            expires_at: datetime!(2026-11-25 10:15:00 UTC),
        };
        let put = store.presign_put(&target).unwrap();
        assert!(put.url.starts_with(&format!("http://127.0.0.1:9000/evidence/files/{key}?")), "{}", put.url);
        let params = query(&put.url);
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(get("X-Amz-Date").as_deref(), Some("20261125T100000Z"));
        assert_eq!(get("X-Amz-Expires").as_deref(), Some("900"));
        assert_eq!(
            get("X-Amz-SignedHeaders").as_deref(),
            Some("content-length;content-type;host;x-amz-server-side-encryption")
        );
        assert_eq!(get("X-Amz-Signature").map(|s| s.len()), Some(64));
        assert_eq!(
            put.headers,
            [
                ("Content-Type".to_owned(), "image/png".to_owned()),
                ("Content-Length".to_owned(), "1234".to_owned()),
                ("x-amz-server-side-encryption".to_owned(), "AES256".to_owned())
            ]
        );
        assert_eq!(put.expires_at, target.expires_at);
        let other = store.presign_put(&UploadTarget { size: 1235, ..target }).unwrap();
        assert_ne!(query(&other.url), params, "the size is signed");
    }
}
