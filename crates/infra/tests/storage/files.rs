//! Evidence files: local uploads (streamed, bounded, sniffed, hashed, single-use), the
//! S3 confirmation against a fake S3, and the use of file keys by AS requests.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use domain::files::{FilePurpose, FileType, NewUpload};
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::PersonName;
use domain::ports::UserRepository;
use infra::config::Settings;
use infra::crypto::Keyring;
use infra::crypto::stream::{CHUNK_LEN, MAGIC, TAG_LEN};
use infra::files::{self, FileUseError, Files, IssuedUpload, UploadError};
use infra::users::SeaUserRepository;
use ring::digest::{SHA256, digest};
use sea_orm::ConnectionTrait;
use testkit::{Backend, TestDb};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

testkit::on_both_backends! { tokio::test;
    a_local_upload_is_stored_with_its_sha256_once => local_upload_body;
    a_local_upload_stops_at_the_first_byte_past_its_size_and_keeps_nothing => oversize_body;
    a_wrong_body_keeps_nothing_and_the_row_pending => wrong_body_body;
    expired_tampered_and_mistyped_uploads_are_refused => refused_urls_body;
    files_are_used_only_by_their_owner_for_their_purpose_once => use_body;
    s3_uploads_are_confirmed_by_a_head_before_use => s3_body;
    a_local_file_is_sealed_on_disk_and_opens_only_as_itself => sealed_body;
    a_ten_mib_upload_is_sealed_one_chunk_at_a_time => ten_mib_body;
    names_and_files_stored_before_the_vault_are_sealed_at_start => legacy_body;
    file_names_and_files_move_to_a_new_key_and_the_old_one_can_retire => rotation_body;
}

/// Planted in uploaded bodies and file names: must be found nowhere at rest.
const CANARY: &str = "leak.canary@example.org 김비밀유출 01098765432";
const NAME_CANARY: &str = "김비밀유출-leak.canary@example.org.png";

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn png_of(size: usize) -> Vec<u8> {
    let mut body = PNG.to_vec();
    body.resize(size, 0x42);
    body
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Fixture {
    files: Files,
    keyring: Arc<Keyring>,
    org: Uuid,
    user: Uuid,
    other_user: Uuid,
    dir: tempfile::TempDir,
}

fn settings(db: &TestDb, dir: &Path, vars: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    map.insert("LDBDS__DATABASE__URL".to_owned(), db.url.clone());
    map.insert("LDBDS__DATA_DIR".to_owned(), dir.display().to_string());
    Settings::load_from("test", None, map).expect("settings")
}

fn user(org: Uuid, mohom: &str) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

async fn fixture(db: &TestDb, vars: &[(&str, &str)]) -> Fixture {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let keyring = Arc::new(key_one());
    let users = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring()));
    let (a, b) = (user(org, "f-1"), user(org, "f-2"));
    users.insert(&a).await.unwrap();
    users.insert(&b).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = Files::from_settings(db.db.clone(), &settings(db, dir.path(), vars), &keyring).unwrap();
    Fixture { files, keyring, org, user: a.id, other_user: b.id, dir }
}

const K1: [u8; 32] = [0x11; 32];
const K2: [u8; 32] = [0x22; 32];

fn key_one() -> Keyring {
    testkit::keyring_with(&[(1, K1)], 1, &[], testkit::fixed_index_key())
}

fn png_upload(size: u64) -> NewUpload {
    NewUpload { file_name: "증빙.png".to_owned(), file_type: FileType::Png, size, purpose: FilePurpose::AsEvidence }
}

/// (expires, signature) of a local upload URL.
fn url_params(issued: &IssuedUpload) -> (i64, String) {
    let (_, query) = issued.url.split_once('?').unwrap();
    let mut expires = 0;
    let mut signature = String::new();
    for pair in query.split('&') {
        match pair.split_once('=').unwrap() {
            ("expires", v) => expires = v.parse().unwrap(),
            ("signature", v) => signature = v.to_owned(),
            _ => {}
        }
    }
    (expires, signature)
}

/// Every file left in the store's directory (the temporary ones too).
fn stored_files(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir.join("files")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

async fn status_of(db: &TestDb, key: Uuid) -> (String, Option<String>, Option<Uuid>) {
    files::file_state(db.db.conn(), key).await.unwrap().unwrap()
}

async fn upload_png(fx: &Fixture, user: Uuid, size: usize, now: OffsetDateTime) -> (Uuid, Vec<u8>) {
    let issued = fx.files.presign(fx.org, user, &png_upload(size as u64), now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let body = png_of(size);
    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await.unwrap();
    for chunk in body.chunks(7) {
        incoming.write(chunk).await.unwrap();
    }
    incoming.finish(now).await.unwrap();
    (issued.file_key, body)
}

async fn local_upload_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let issued = fx.files.presign(fx.org, fx.user, &png_upload(100), now).await.unwrap();
    assert_eq!(issued.method, "PUT");
    assert!(issued.url.starts_with(&format!("http://127.0.0.1:8080/api/v1/files/upload/{}?", issued.file_key)));
    assert_eq!(issued.expires_at.unix_timestamp(), (now + Duration::seconds(900)).unix_timestamp());
    assert_eq!(status_of(&db, issued.file_key).await.0, "PENDING");

    let (expires, signature) = url_params(&issued);
    let body = png_of(100);
    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("Image/PNG "), Some(100), now).await.unwrap();
    for chunk in body.chunks(3) {
        incoming.write(chunk).await.unwrap();
    }
    let receipt = incoming.finish(now).await.unwrap();
    let sha = hex(digest(&SHA256, &body).as_ref());
    assert_eq!((receipt.size, receipt.sha256.as_str()), (100, sha.as_str()));
    assert_eq!(status_of(&db, issued.file_key).await, ("UPLOADED".to_owned(), Some(sha), None));
    assert_eq!(stored_files(fx.dir.path()), [issued.file_key.to_string()], "only the final file");
    let stored = std::fs::read(fx.dir.path().join("files").join(issued.file_key.to_string())).unwrap();
    assert!(stored.starts_with(&MAGIC) && !contains(&stored, PNG), "sealed, not the body");
    let mut back = Vec::new();
    assert_eq!(fx.files.read_evidence(fx.org, issued.file_key, &mut back).await.unwrap(), 100);
    assert_eq!(back, body, "the plaintext comes back");

    let again = fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await;
    assert!(matches!(again, Err(UploadError::AlreadyUploaded)), "a URL works once");
}

async fn oversize_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let issued = fx.files.presign(fx.org, fx.user, &png_upload(50), now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let body = png_of(51);

    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await.unwrap();
    incoming.write(&body[..49]).await.unwrap();
    incoming.write(&body[49..50]).await.unwrap();
    let refused = incoming.write(&body[50..51]).await;
    assert!(matches!(refused, Err(UploadError::TooLarge { limit: 50 })), "the 51st byte is refused: {refused:?}");
    assert!(!stored_files(fx.dir.path()).is_empty(), "the temporary file exists until the upload is dropped");
    drop(incoming);
    assert!(stored_files(fx.dir.path()).is_empty(), "nothing kept");
    assert_eq!(status_of(&db, issued.file_key).await.0, "PENDING");

    let declared = fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), Some(51), now).await;
    assert!(matches!(declared, Err(UploadError::TooLarge { limit: 50 })), "Content-Length says it before reading");

    // The URL still works for the right body.
    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await.unwrap();
    incoming.write(&body[..50]).await.unwrap();
    incoming.finish(now).await.unwrap();
    assert_eq!(status_of(&db, issued.file_key).await.0, "UPLOADED");
}

async fn wrong_body_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let issued = fx.files.presign(fx.org, fx.user, &png_upload(40), now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let begin = || fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now);

    // A JPEG declared as PNG: refused once the leading bytes are known.
    let mut jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    jpeg.resize(40, 0);
    let mut incoming = begin().await.unwrap();
    incoming.write(&jpeg[..20]).await.unwrap();
    let refused = incoming.write(&jpeg[20..]).await;
    assert!(matches!(refused, Err(UploadError::ContentMismatch { .. })), "{refused:?}");
    drop(incoming);

    // A body that ends short.
    let mut incoming = begin().await.unwrap();
    incoming.write(&png_of(40)[..39]).await.unwrap();
    let short = incoming.finish(now).await;
    assert!(matches!(short, Err(UploadError::Incomplete { expected: 40, received: 39 })), "{short:?}");

    assert!(stored_files(fx.dir.path()).is_empty(), "nothing kept");
    assert_eq!(status_of(&db, issued.file_key).await, ("PENDING".to_owned(), None, None));
}

async fn refused_urls_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let issued = fx.files.presign(fx.org, fx.user, &png_upload(40), now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let key = issued.file_key;
    let begin = |key: Uuid, expires: i64, signature: String, content_type: &'static str, at: OffsetDateTime| {
        let files = fx.files.clone();
        async move { files.begin_upload(key, expires, &signature, Some(content_type), None, at).await.map(|_| ()) }
    };
    let later = now + Duration::seconds(901);
    assert!(matches!(begin(key, expires, signature.clone(), "image/png", later).await, Err(UploadError::Expired)));
    let mut tampered = signature.clone().into_bytes();
    tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (k, e, s) in [
        (key, expires, tampered),
        (key, expires + 3600, signature.clone()),
        (Uuid::now_v7(), expires, signature.clone()),
        (key, expires, String::new()),
    ] {
        assert!(matches!(begin(k, e, s, "image/png", now).await, Err(UploadError::InvalidSignature)), "{k} {e}");
    }
    let mistyped = begin(key, expires, signature.clone(), "image/jpeg", now).await;
    assert!(matches!(mistyped, Err(UploadError::ContentTypeMismatch { ref expected }) if expected == "image/png"));
    assert!(stored_files(fx.dir.path()).is_empty(), "nothing written");
    assert_eq!(status_of(&db, key).await.0, "PENDING");
    assert!(begin(key, expires, signature, "image/png", now).await.is_ok(), "the genuine URL still works");
}

async fn use_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let (first, _) = upload_png(&fx, fx.user, 30, now).await;
    let (second, _) = upload_png(&fx, fx.user, 31, now + Duration::milliseconds(5)).await;
    let pending = fx.files.presign(fx.org, fx.user, &png_upload(10), now).await.unwrap().file_key;
    let (theirs, _) = upload_png(&fx, fx.other_user, 30, now).await;
    let purpose = FilePurpose::AsEvidence;

    let confirmed = fx.files.confirm_for_use(fx.org, fx.user, purpose, &[second, first], now).await.unwrap();
    assert_eq!(confirmed.iter().map(|f| f.file_key).collect::<Vec<_>>(), [second, first], "in the order given");
    assert_eq!((confirmed[1].file_name.as_str(), confirmed[1].content_type.as_str()), ("증빙.png", "image/png"));
    assert_eq!((confirmed[1].size, confirmed[1].sha256.as_ref().map(String::len)), (30, Some(64)));
    assert!(confirmed[1].uploaded_at.is_some());

    let refusal = |keys: Vec<Uuid>, user: Uuid| {
        let files = fx.files.clone();
        let org = fx.org;
        async move { files.confirm_for_use(org, user, purpose, &keys, now).await.err() }
    };
    assert!(matches!(refusal(vec![first, theirs], fx.user).await, Some(FileUseError::NotFound(k)) if k == theirs));
    let unknown = Uuid::now_v7();
    assert!(matches!(refusal(vec![unknown], fx.user).await, Some(FileUseError::NotFound(k)) if k == unknown));
    assert!(matches!(refusal(vec![first, pending], fx.user).await, Some(FileUseError::NotUploaded(k)) if k == pending));
    let other_org = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let wrong_org = fx.files.confirm_for_use(other_org, fx.user, purpose, &[first], now).await;
    assert!(matches!(wrong_org, Err(FileUseError::NotFound(_))), "another org: not found");

    // Attach inside a transaction, as the AS request will.
    let (as_1, as_2) = (Uuid::now_v7(), Uuid::now_v7());
    let txn = db.db.begin_write().await.unwrap();
    files::attach(&*txn, as_1, fx.org, fx.user, purpose, &[first, second, first]).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(status_of(&db, first).await.2, Some(as_1));

    let again = files::attach(db.db.conn(), as_2, fx.org, fx.user, purpose, &[second]).await;
    assert!(matches!(again, Err(FileUseError::AlreadyAttached(k)) if k == second), "{again:?}");
    assert_eq!(status_of(&db, second).await.2, Some(as_1), "the second attach wrote nothing");
    let partly = files::attach(db.db.conn(), as_2, fx.org, fx.user, purpose, &[theirs, first]).await;
    assert!(matches!(partly, Err(FileUseError::NotFound(k)) if k == theirs));
    assert_eq!(status_of(&db, theirs).await.2, None, "nothing written for a refused set");
    let unuploaded = files::attach(db.db.conn(), as_2, fx.org, fx.user, purpose, &[pending]).await;
    assert!(matches!(unuploaded, Err(FileUseError::NotUploaded(k)) if k == pending));
    assert!(files::attach(db.db.conn(), as_2, fx.org, fx.user, purpose, &[]).await.is_ok(), "no keys: no-op");
    assert!(matches!(refusal(vec![first], fx.user).await, Some(FileUseError::AlreadyAttached(k)) if k == first));

    // A file of another purpose (only one purpose exists today: the row is edited).
    let (odd, _) = upload_png(&fx, fx.user, 30, now).await;
    db.db
        .conn()
        .execute_unprepared(&format!("UPDATE uploaded_files SET purpose = 'AVATAR' WHERE file_key = '{odd}'"))
        .await
        .unwrap();
    assert!(matches!(refusal(vec![odd], fx.user).await, Some(FileUseError::WrongPurpose(k)) if k == odd));
    let wrong = files::attach(db.db.conn(), as_2, fx.org, fx.user, purpose, &[odd]).await;
    assert!(matches!(wrong, Err(FileUseError::WrongPurpose(k)) if k == odd));

    let evidence = files::evidence_of(db.db.conn(), &fx.keyring, &[as_1, as_2]).await.unwrap();
    assert_eq!(evidence.len(), 1, "as_2 has no files");
    assert_eq!(evidence[&as_1].iter().map(|f| f.file_key).collect::<Vec<_>>(), [first, second], "oldest first");
    assert!(files::evidence_of(db.db.conn(), &fx.keyring, &[]).await.unwrap().is_empty());
}

/// Path → (content type, bytes, stored encrypted by the store).
type Objects = Arc<Mutex<HashMap<String, (String, Vec<u8>, bool)>>>;

/// A tiny S3 stand-in: answers HEAD and ranged GET of the objects it holds, 404 otherwise,
/// and records the requests it saw.
struct FakeS3 {
    endpoint: String,
    objects: Objects,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeS3 {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let objects: Objects = Arc::default();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (held, log) = (Arc::clone(&objects), Arc::clone(&seen));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let mut parts = request_line.split_whitespace();
                let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                let path = target.split('?').next().unwrap_or_default().to_owned();
                let signed = target.contains("X-Amz-Signature=");
                log.lock().unwrap().push(format!("{method} {path} signed={signed}"));
                let object = held.lock().unwrap().get(&path).cloned();
                let response = match (method, object) {
                    ("HEAD", Some((content_type, body, sse))) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
                        body.len(),
                        if sse { "x-amz-server-side-encryption: AES256\r\n" } else { "" }
                    )
                    .into_bytes(),
                    ("GET", Some((content_type, body, _))) => {
                        let head = &body[..body.len().min(1024)];
                        let mut out = format!(
                            "HTTP/1.1 206 Partial Content\r\nContent-Type: {content_type}\r\nContent-Range: bytes 0-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            head.len() - 1,
                            body.len(),
                            head.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(head);
                        out
                    }
                    _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response);
                let _ = stream.flush();
            }
        });
        Self { endpoint, objects, seen }
    }

    fn put(&self, key: Uuid, content_type: &str, body: Vec<u8>) {
        self.put_with(key, content_type, body, true);
    }

    /// An object as the store keeps it, `sse` when the PUT asked for encryption at rest.
    fn put_with(&self, key: Uuid, content_type: &str, body: Vec<u8>, sse: bool) {
        self.objects.lock().unwrap().insert(format!("/evidence/files/{key}"), (content_type.to_owned(), body, sse));
    }
}

async fn s3_body(db: TestDb) {
    let s3 = FakeS3::start();
    let fx = fixture(
        &db,
        &[
            ("LDBDS__FILES__BACKEND", "s3"),
            ("LDBDS__FILES__S3__ENDPOINT", &s3.endpoint),
            ("LDBDS__FILES__S3__BUCKET", "evidence"),
            ("LDBDS__FILES__S3__REGION", "us-east-1"),
            ("LDBDS__FILES__S3__ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"),
            ("LDBDS__FILES__S3__SECRET_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ],
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let purpose = FilePurpose::AsEvidence;
    let presign = |size: u64| {
        let files = fx.files.clone();
        let (org, user) = (fx.org, fx.user);
        async move { files.presign(org, user, &png_upload(size), now).await.unwrap() }
    };
    let issued = presign(64).await;
    assert!(issued.url.starts_with(&format!("{}/evidence/files/{}?", s3.endpoint, issued.file_key)), "{}", issued.url);
    assert!(
        issued.url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-server-side-encryption"),
        "{}",
        issued.url
    );
    assert!(issued.headers.contains(&("x-amz-server-side-encryption".to_owned(), "AES256".to_owned())), "SSE-S3");
    let key = issued.file_key;

    let local = fx.files.begin_upload(key, 0, "", Some("image/png"), None, now).await;
    assert!(matches!(local, Err(UploadError::NotLocal)), "no local upload on S3");

    let confirm = |key: Uuid| {
        let files = fx.files.clone();
        let (org, user) = (fx.org, fx.user);
        async move { files.confirm_for_use(org, user, purpose, &[key], now).await }
    };
    assert!(matches!(confirm(key).await, Err(FileUseError::NotUploaded(k)) if k == key), "not there yet");

    let short = presign(64).await.file_key;
    s3.put(short, "image/png", png_of(63));
    assert!(matches!(confirm(short).await, Err(FileUseError::NotUploaded(_))), "wrong size");
    let spoofed = presign(64).await.file_key;
    let mut gif = b"GIF89a".to_vec();
    gif.resize(64, 0);
    s3.put(spoofed, "image/png", gif);
    assert!(matches!(confirm(spoofed).await, Err(FileUseError::NotUploaded(_))), "magic bytes");
    let retyped = presign(64).await.file_key;
    s3.put(retyped, "image/jpeg", png_of(64));
    assert!(matches!(confirm(retyped).await, Err(FileUseError::NotUploaded(_))), "stored type");
    let plain = presign(64).await.file_key;
    s3.put_with(plain, "image/png", png_of(64), false);
    assert!(matches!(confirm(plain).await, Err(FileUseError::NotUploaded(_))), "not encrypted at rest by the store");
    assert_eq!(status_of(&db, short).await.0, "PENDING");
    assert_eq!(status_of(&db, plain).await.0, "PENDING");

    s3.put(key, "image/png", png_of(64));
    let confirmed = confirm(key).await.unwrap();
    assert_eq!((confirmed[0].file_key, confirmed[0].size, confirmed[0].sha256.clone()), (key, 64, None));
    assert_eq!(status_of(&db, key).await.0, "UPLOADED", "marked after the HEAD");
    let seen = s3.seen.lock().unwrap().clone();
    assert!(seen.contains(&format!("HEAD /evidence/files/{key} signed=true")), "{seen:?}");
    assert!(seen.contains(&format!("GET /evidence/files/{key} signed=true")), "{seen:?}");

    files::attach(db.db.conn(), Uuid::now_v7(), fx.org, fx.user, purpose, &[key]).await.unwrap();
    assert!(matches!(
        files::attach(db.db.conn(), Uuid::now_v7(), fx.org, fx.user, purpose, &[short]).await,
        Err(FileUseError::NotUploaded(_))
    ));
}

fn contains(haystack: &[u8], needle: impl AsRef<[u8]>) -> bool {
    let needle = needle.as_ref();
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of every file under `dir`, recursively.
fn bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(bytes_under(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The database as it is at rest: SQLite's file, WAL and shared memory; PostgreSQL's
/// data as `pg_dump` writes it (text columns in plain, `bytea` in hex).
async fn database_bytes(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(b);
                }
            }
            bytes
        }
        Backend::Postgres => {
            let out =
                std::process::Command::new("pg_dump").arg("--data-only").arg(&db.url).output().expect("pg_dump runs");
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

/// A PNG of `size` bytes with the canary right after its magic bytes.
fn canary_png(size: usize) -> Vec<u8> {
    let mut body = PNG.to_vec();
    body.extend_from_slice(CANARY.as_bytes());
    body.resize(size, 0x42);
    body
}

async fn upload_named(fx: &Fixture, name: &str, body: &[u8], now: OffsetDateTime) -> Uuid {
    let upload = NewUpload { file_name: name.to_owned(), ..png_upload(body.len() as u64) };
    let issued = fx.files.presign(fx.org, fx.user, &upload, now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await.unwrap();
    for chunk in body.chunks(8192) {
        incoming.write(chunk).await.unwrap();
    }
    incoming.finish(now).await.unwrap();
    issued.file_key
}

async fn read_back(files: &Files, org: Uuid, key: Uuid) -> Result<Vec<u8>, FileUseError> {
    let mut out = Vec::new();
    files.read_evidence(org, key, &mut out).await.map(|_| out)
}

fn refused_as_corrupt(result: Result<Vec<u8>, FileUseError>) -> bool {
    matches!(result, Err(FileUseError::Repo(domain::error::RepoError::Corrupted(_))))
}

async fn sealed_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let body = canary_png(3 * CHUNK_LEN + 100);
    let key = upload_named(&fx, NAME_CANARY, &body, now).await;
    let path = fx.dir.path().join("files").join(key.to_string());

    assert_eq!(read_back(&fx.files, fx.org, key).await.unwrap(), body, "round trip");
    assert_eq!(status_of(&db, key).await.1, Some(hex(digest(&SHA256, &body).as_ref())), "SHA-256 of the plaintext");
    let named = fx.files.confirm_for_use(fx.org, fx.user, FilePurpose::AsEvidence, &[key], now).await.unwrap();
    assert_eq!(named[0].file_name, NAME_CANARY, "the name comes back from the vault");

    let at_rest = bytes_under(fx.dir.path());
    for planted in [CANARY, "김비밀유출", "01098765432", "leak.canary@example.org"] {
        assert!(!contains(&at_rest, planted), "{planted:?} under the data directory");
    }
    let stored = database_bytes(&db).await;
    assert!(contains(&stored, key.to_string()), "the dump holds the files table");
    for planted in [NAME_CANARY, "김비밀유출", "leak.canary"] {
        assert!(!contains(&stored, planted), "{planted:?} in the database files");
    }

    let sealed = std::fs::read(&path).unwrap();
    let other_org = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    assert!(matches!(read_back(&fx.files, other_org, key).await, Err(FileUseError::NotFound(_))), "another org");
    let header = sealed.len() - body.len() - 4 * TAG_LEN;
    let chunk = |i: usize| {
        &sealed[header + i * (CHUNK_LEN + TAG_LEN)..(header + (i + 1) * (CHUNK_LEN + TAG_LEN)).min(sealed.len())]
    };
    let mut tampered = sealed.clone();
    tampered[header + CHUNK_LEN + 300] ^= 1;
    let mut swapped = sealed[..header].to_vec();
    for i in [1, 0, 2, 3] {
        swapped.extend_from_slice(chunk(i));
    }
    let truncated = sealed[..sealed.len() - chunk(3).len()].to_vec();
    for (bytes, what) in
        [(tampered, "a flipped bit"), (swapped, "swapped chunks"), (truncated, "the last chunk dropped")]
    {
        std::fs::write(&path, &bytes).unwrap();
        assert!(refused_as_corrupt(read_back(&fx.files, fx.org, key).await), "{what}");
    }
    std::fs::write(&path, &sealed).unwrap();
    assert_eq!(read_back(&fx.files, fx.org, key).await.unwrap(), body, "restored, it opens again");

    // Moved to another file's id, or relabelled with another purpose: refused.
    let other = upload_named(&fx, "other.png", &png_of(500), now).await;
    let other_path = fx.dir.path().join("files").join(other.to_string());
    std::fs::write(&other_path, &sealed).unwrap();
    assert!(refused_as_corrupt(read_back(&fx.files, fx.org, other).await), "moved to another id");
    let sql = format!("UPDATE uploaded_files SET purpose = 'AVATAR' WHERE file_key = '{key}'");
    db.db.conn().execute_unprepared(&sql).await.unwrap();
    assert!(refused_as_corrupt(read_back(&fx.files, fx.org, key).await), "another purpose");
}

async fn ten_mib_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let size = 10 * 1024 * 1024;
    let issued = fx.files.presign(fx.org, fx.user, &png_upload(size as u64), now).await.unwrap();
    let (expires, signature) = url_params(&issued);
    let mut incoming =
        fx.files.begin_upload(issued.file_key, expires, &signature, Some("image/png"), None, now).await.unwrap();
    // The body is made 64 KiB at a time, as a network body arrives: never whole here.
    let piece = 64 * 1024;
    let mut hasher = ring::digest::Context::new(&SHA256);
    for i in 0..size / piece {
        let block: Vec<u8> =
            if i == 0 { canary_png(piece) } else { (0..piece).map(|j| ((i * piece + j) % 251) as u8).collect() };
        hasher.update(&block);
        incoming.write(&block).await.unwrap();
        assert!(incoming.peak_buffer() <= CHUNK_LEN + TAG_LEN, "held {} bytes", incoming.peak_buffer());
    }
    let receipt = incoming.finish(now).await.unwrap();
    let sha = hex(hasher.finish().as_ref());
    assert_eq!((receipt.size, receipt.sha256.as_str()), (size as u64, sha.as_str()));
    let stored = std::fs::read(fx.dir.path().join("files").join(issued.file_key.to_string())).unwrap();
    assert!(stored.starts_with(&MAGIC) && !contains(&stored, CANARY));
    assert!(stored.len() > size + size / CHUNK_LEN * TAG_LEN, "one tag per chunk");
    let back = read_back(&fx.files, fx.org, issued.file_key).await.unwrap();
    assert_eq!(hex(digest(&SHA256, &back).as_ref()), sha, "the same 10 MiB come back");
}

async fn legacy_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let dir = fx.dir.path().join("files");
    // A row and a file as the server wrote them before the vault held them.
    let body = canary_png(CHUNK_LEN + 77);
    let key = fx.files.presign(fx.org, fx.user, &png_upload(body.len() as u64), now).await.unwrap().file_key;
    let sha = hex(digest(&SHA256, &body).as_ref());
    let sql = format!(
        "UPDATE uploaded_files SET file_name = '{NAME_CANARY}', file_name_enc = NULL, status = 'UPLOADED', \
         sha256 = '{sha}', uploaded_at = 1 WHERE file_key = '{key}'"
    );
    db.db.conn().execute_unprepared(&sql).await.unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(key.to_string()), &body).unwrap();
    let orphan = Uuid::now_v7();
    std::fs::write(dir.join(orphan.to_string()), png_of(40)).unwrap();
    let named = fx.files.confirm_for_use(fx.org, fx.user, FilePurpose::AsEvidence, &[key], now).await.unwrap();
    assert_eq!(named[0].file_name, NAME_CANARY, "an unsealed row still reads");

    let report = files::seal_legacy(&db.db, &fx.keyring, &dir).await.unwrap();
    assert_eq!((report.rows_sealed, report.files_sealed, report.orphans), (1, 1, 1));
    let sealed = std::fs::read(dir.join(key.to_string())).unwrap();
    assert!(sealed.starts_with(&MAGIC) && !contains(&sealed, CANARY));
    assert_eq!(std::fs::read(dir.join(orphan.to_string())).unwrap(), png_of(40), "a file without a row is left");
    assert_eq!(read_back(&fx.files, fx.org, key).await.unwrap(), body);
    let named = fx.files.confirm_for_use(fx.org, fx.user, FilePurpose::AsEvidence, &[key], now).await.unwrap();
    assert_eq!(named[0].file_name, NAME_CANARY);
    let stored = database_bytes(&db).await;
    for planted in [NAME_CANARY, "김비밀유출", "leak.canary"] {
        assert!(!contains(&stored, planted), "{planted:?} left in the database files");
    }
    assert!(!contains(&bytes_under(fx.dir.path()), CANARY), "no plaintext file left");

    let again = files::seal_legacy(&db.db, &fx.keyring, &dir).await.unwrap();
    assert_eq!((again.rows_sealed, again.files_sealed, again.orphans), (0, 0, 1), "idempotent");
    assert_eq!(std::fs::read(dir.join(key.to_string())).unwrap(), sealed, "a sealed file is not sealed twice");
    assert_eq!(files::seal_legacy(&db.db, &fx.keyring, &fx.dir.path().join("none")).await.unwrap().files_sealed, 0);
}

async fn rotation_body(db: TestDb) {
    let fx = fixture(&db, &[]).await;
    let now = OffsetDateTime::now_utc();
    let dir = fx.dir.path().join("files");
    let bodies = [canary_png(CHUNK_LEN * 2 + 3), png_of(90)];
    let mut keys = Vec::new();
    for body in &bodies {
        keys.push(upload_named(&fx, NAME_CANARY, body, now).await);
    }
    let before = files::key_use(&db.db, &dir).await.unwrap();
    assert_eq!((before.names.get(&1), before.files.get(&1), before.pending(1)), (Some(&2), Some(&2), 0));

    let both = testkit::keyring_with(&[(1, K1), (2, K2)], 2, &[], testkit::fixed_index_key());
    assert_eq!(before.pending(2), 4, "two names and two files under key 1");
    assert_eq!(files::rotate_keys(&db.db, &both, &dir).await.unwrap(), 4);
    let after = files::key_use(&db.db, &dir).await.unwrap();
    assert_eq!((after.names.get(&2), after.files.get(&2), after.pending(2)), (Some(&2), Some(&2), 0));
    assert_eq!(files::rotate_keys(&db.db, &both, &dir).await.unwrap(), 0, "nothing left to move");

    let retired = Arc::new(testkit::keyring_with(&[(1, K1), (2, K2)], 2, &[1], testkit::fixed_index_key()));
    let files = Files::from_settings(db.db.clone(), &settings(&db, fx.dir.path(), &[]), &retired).unwrap();
    for (key, body) in keys.iter().zip(&bodies) {
        assert_eq!(&read_back(&files, fx.org, *key).await.unwrap(), body, "opens with key 1 retired");
    }
    let named = files.confirm_for_use(fx.org, fx.user, FilePurpose::AsEvidence, &keys, now).await.unwrap();
    assert!(named.iter().all(|f| f.file_name == NAME_CANARY));
    assert!(
        matches!(read_back(&fx.files, fx.org, keys[0]).await, Err(FileUseError::Repo(_))),
        "key 1 alone no longer opens it"
    );
}
