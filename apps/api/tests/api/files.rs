//! Evidence uploads over HTTP: presigned URLs, the local upload endpoint and its
//! refusals, and the codes of a file key an AS request cannot use.

use std::sync::{Arc, Mutex};

use actix_web::ResponseError;
use actix_web::test::TestRequest;
use api::error::ApiError;
use domain::files::FilePurpose;
use testkit::TestDb;
use testkit::memory::FixedClock;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_presigned_url_is_issued_to_a_member => presign_body;
    bad_presign_requests_are_refused_and_write_nothing => presign_refusals_body;
    an_upload_is_stored_with_its_sha256_and_works_once => upload_body;
    expired_and_tampered_urls_are_refused => refused_urls_body;
    an_oversize_body_is_refused_and_nothing_kept => oversize_body;
    a_wrong_content_type_or_content_is_refused => wrong_content_body;
    another_owner_cannot_use_a_file => wrong_owner_body;
    a_3_mib_upload_streams_past_the_json_limit_and_keeps_its_sha256 => large_upload_body;
    an_uploaded_file_and_its_name_are_found_nowhere_at_rest => at_rest_body;
    the_server_start_seals_names_and_files_stored_before => start_up_body;
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn png_of(size: usize) -> Vec<u8> {
    let mut body = PNG.to_vec();
    body.resize(size, 0x42);
    body
}

/// A test app whose uploads go to a temporary data directory.
async fn app(db: TestDb) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::with(db, &[("LDBDS__DATA_DIR", &dir.path().display().to_string())]).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    (app, dir)
}

fn presign_request(app: &TestApp, body: serde_json::Value) -> TestRequest {
    app.with_key(TestRequest::post().uri("/api/v1/files/presigned").set_json(body), &app.partner_key)
}

fn png_request(mohom: &str, size: usize) -> serde_json::Value {
    serde_json::json!({
        "mohomId": mohom, "fileName": "../증빙 사진.png", "contentType": "image/png", "size": size,
        "purpose": "AS_EVIDENCE"
    })
}

async fn presign(app: &TestApp, mohom: &str, size: usize) -> serde_json::Value {
    let reply = app.send(presign_request(app, png_request(mohom, size))).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

/// The path and query of an upload URL (the test server has no host).
fn local_path(presigned: &serde_json::Value) -> String {
    let url = presigned["uploadUrl"].as_str().unwrap();
    url.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned()
}

async fn put(app: &TestApp, uri: &str, content_type: &str, body: Vec<u8>) -> Reply {
    app.send(TestRequest::put().uri(uri).insert_header(("content-type", content_type)).set_payload(body)).await
}

fn stored_files(dir: &tempfile::TempDir) -> Vec<String> {
    match std::fs::read_dir(dir.path().join("files")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

async fn state_of(app: &TestApp, key: &str) -> (String, Option<String>, Option<Uuid>) {
    infra::files::file_state(app.db.db.conn(), key.parse().unwrap()).await.unwrap().unwrap()
}

fn key_of(presigned: &serde_json::Value) -> String {
    presigned["fileKey"].as_str().unwrap().to_owned()
}

async fn presign_body(db: TestDb) {
    let (app, _dir) = app(db).await;
    let created = presign(&app, "m-1", 1234).await;
    let key = key_of(&created);
    assert!(
        created["uploadUrl"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://127.0.0.1:8080/api/v1/files/upload/{key}?expires=")),
        "{created}"
    );
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("file_presigned", created, {
            ".fileKey" => "[id]", ".uploadUrl" => "[url]", ".expiresAt" => "[time]"
        });
    });
    assert_eq!(state_of(&app, &key).await.0, "PENDING");

    // A Bearer caller acts for itself; an alias is answered with the canonical type.
    let token = app.token(&app.partner_key, "m-2").await;
    let body =
        serde_json::json!({"fileName": "call.m4a", "contentType": "audio/x-m4a", "size": 10, "purpose": "AS_EVIDENCE"});
    let reply =
        app.send(app.with_bearer(TestRequest::post().uri("/api/v1/files/presigned").set_json(body), &token)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["headers"]["Content-Type"], "audio/mp4");
}

async fn presign_refusals_body(db: TestDb) {
    let (app, _dir) = app(db).await;
    let with = |field: &str, value: serde_json::Value| {
        let mut body = png_request("m-1", 100);
        body[field] = value;
        body
    };
    let cases = [
        (with("contentType", "text/html".into()), "contentType"),
        (with("contentType", "image/gif".into()), "contentType"),
        (with("size", 0.into()), "size"),
        (with("size", (20 * 1024 * 1024 + 1).into()), "size"),
        (with("purpose", "AVATAR".into()), "purpose"),
        (with("fileName", "../../".into()), "fileName"),
        (with("fileName", "   ".into()), "fileName"),
    ];
    for (body, field) in cases {
        let reply = app.send(presign_request(&app, body)).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", reply.text);
        assert_eq!(reply.json()["error"]["details"][0]["field"], field, "{}", reply.text);
    }
    let reply = app.send(presign_request(&app, with("size", 0.into()))).await;
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_presign_invalid", reply.json()));

    let unknown_field = app.send(presign_request(&app, with("owner", "m-2".into()))).await;
    assert_eq!((unknown_field.status.as_u16(), unknown_field.code()), (400, "INVALID_JSON".to_owned()));
    let stranger = app.send(presign_request(&app, png_request("nobody", 100))).await;
    assert_eq!((stranger.status.as_u16(), stranger.code()), (404, "USER_NOT_FOUND".to_owned()));
    let anonymous =
        app.send(TestRequest::post().uri("/api/v1/files/presigned").set_json(png_request("m-1", 100))).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(infra::files::count(app.db.db.conn()).await.unwrap(), 0, "nothing written");
}

async fn upload_body(db: TestDb) {
    let (app, dir) = app(db).await;
    let created = presign(&app, "m-1", 100).await;
    let key = key_of(&created);
    let reply = put(&app, &local_path(&created), "image/png", png_of(100)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["fileKey"], key.as_str());
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("file_uploaded", body, { ".fileKey" => "[id]", ".uploadedAt" => "[time]" });
    });
    let (status, sha256, _) = state_of(&app, &key).await;
    assert_eq!((status.as_str(), sha256.as_deref()), ("UPLOADED", body["sha256"].as_str()));
    assert_eq!(stored_files(&dir), std::slice::from_ref(&key));

    let reused = put(&app, &local_path(&created), "image/png", png_of(100)).await;
    assert_eq!((reused.status.as_u16(), reused.code()), (409, "UPLOAD_URL_USED".to_owned()));
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_reused", reused.json()));
}

async fn refused_urls_body(db: TestDb) {
    let (mut app, dir) = app(db).await;
    let created = presign(&app, "m-1", 100).await;
    let key = key_of(&created);
    let path = local_path(&created);
    let (base, query) = path.split_once('?').unwrap();
    let signature = query.split("signature=").nth(1).unwrap();
    let expires: i64 = query.split('&').next().unwrap().trim_start_matches("expires=").parse().unwrap();

    let flipped: String = signature.chars().rev().collect();
    let other_key = format!("/api/v1/files/upload/{}?{query}", Uuid::now_v7());
    let tampered = [
        format!("{base}?expires={expires}&signature={flipped}"),
        format!("{base}?expires={}&signature={signature}", expires + 3600),
        other_key,
    ];
    for uri in &tampered {
        let reply = put(&app, uri, "image/png", png_of(100)).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (403, "UPLOAD_URL_INVALID".to_owned()), "{uri}");
    }
    let reply = put(&app, &tampered[0], "image/png", png_of(100)).await;
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_invalid", reply.json()));
    let unsigned = put(&app, base, "image/png", png_of(100)).await;
    assert_eq!(unsigned.status, 400, "the signed parameters are required: {}", unsigned.text);

    app.state.clock = Arc::new(FixedClock(Mutex::new(OffsetDateTime::now_utc() + Duration::seconds(901))));
    let expired = put(&app, &path, "image/png", png_of(100)).await;
    assert_eq!((expired.status.as_u16(), expired.code()), (403, "UPLOAD_URL_EXPIRED".to_owned()));
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_expired", expired.json()));
    assert!(stored_files(&dir).is_empty());
    assert_eq!(state_of(&app, &key).await.0, "PENDING");
}

async fn oversize_body(db: TestDb) {
    let (app, dir) = app(db).await;
    let created = presign(&app, "m-1", 50).await;
    let key = key_of(&created);
    let path = local_path(&created);

    // The body claims the declared length but streams one byte more.
    let lying = TestRequest::put()
        .uri(&path)
        .insert_header(("content-type", "image/png"))
        .set_payload(png_of(51))
        .insert_header(("content-length", "50"));
    let reply = app.send(lying).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (413, "PAYLOAD_TOO_LARGE".to_owned()), "{}", reply.text);
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_too_large", reply.json()));
    let declared = put(&app, &path, "image/png", png_of(51)).await;
    assert_eq!(declared.status, 413, "refused from Content-Length");
    assert!(stored_files(&dir).is_empty(), "nothing kept");
    assert_eq!(state_of(&app, &key).await, ("PENDING".to_owned(), None, None));

    let exact = put(&app, &path, "image/png", png_of(50)).await;
    assert_eq!(exact.status, 200, "the URL still takes the declared body: {}", exact.text);
}

async fn wrong_content_body(db: TestDb) {
    let (app, dir) = app(db).await;
    let created = presign(&app, "m-1", 40).await;
    let key = key_of(&created);
    let path = local_path(&created);

    let mistyped = put(&app, &path, "image/jpeg", png_of(40)).await;
    assert_eq!((mistyped.status.as_u16(), mistyped.code()), (403, "UPLOAD_CONTENT_TYPE_MISMATCH".to_owned()));
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_wrong_type", mistyped.json()));

    let mut jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
    jpeg.resize(40, 0);
    let sniffed = put(&app, &path, "image/png", jpeg).await;
    assert_eq!((sniffed.status.as_u16(), sniffed.code()), (400, "VALIDATION_FAILED".to_owned()));
    assert_eq!(sniffed.json()["error"]["details"][0]["field"], "body");
    testkit::redact::settings().bind(|| insta::assert_json_snapshot!("file_upload_wrong_content", sniffed.json()));

    let short = put(&app, &path, "image/png", png_of(39)).await;
    assert_eq!((short.status.as_u16(), short.code()), (400, "VALIDATION_FAILED".to_owned()), "{}", short.text);
    assert!(stored_files(&dir).is_empty(), "nothing kept");
    assert_eq!(state_of(&app, &key).await.0, "PENDING");
}

async fn wrong_owner_body(db: TestDb) {
    let (app, _dir) = app(db).await;
    let created = presign(&app, "m-1", 30).await;
    let key: Uuid = key_of(&created).parse().unwrap();
    assert_eq!(put(&app, &local_path(&created), "image/png", png_of(30)).await.status, 200);
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let users = app.state.users.clone();
    let find = |mohom: &'static str| {
        let users = users.clone();
        async move {
            use domain::ports::UserRepository;
            let id = domain::identity::MohomId::parse(mohom).unwrap();
            users.find(org, &id).await.unwrap().unwrap().id
        }
    };
    let (owner, other) = (find("m-1").await, find("m-2").await);
    let now = OffsetDateTime::now_utc();
    let purpose = FilePurpose::AsEvidence;

    let theirs = app.state.files.confirm_for_use(org, other, purpose, &[key], now).await.unwrap_err();
    let answer = ApiError::from(theirs);
    assert_eq!((answer.status_code().as_u16(), answer.code()), (404, "FILE_NOT_FOUND"));
    let mine = app.state.files.confirm_for_use(org, owner, purpose, &[key], now).await.unwrap();
    assert_eq!(mine[0].file_key, key);

    infra::files::attach(app.db.db.conn(), Uuid::now_v7(), org, owner, purpose, &[key]).await.unwrap();
    let taken = infra::files::attach(app.db.db.conn(), Uuid::now_v7(), org, owner, purpose, &[key]).await.unwrap_err();
    let answer = ApiError::from(taken);
    assert_eq!((answer.status_code().as_u16(), answer.code()), (409, "FILE_ALREADY_ATTACHED"));
    let pending: Uuid = key_of(&presign(&app, "m-1", 30).await).parse().unwrap();
    let early = app.state.files.confirm_for_use(org, owner, purpose, &[pending], now).await.unwrap_err();
    assert_eq!(ApiError::from(early).code(), "FILE_NOT_UPLOADED");
}

async fn large_upload_body(db: TestDb) {
    const SIZE: usize = 3 * 1024 * 1024;
    let (app, dir) = app(db).await;
    let json_limit = app.state.settings.limits.json_body_bytes;
    assert_eq!(json_limit, 1024 * 1024, "the JSON limit of docs/errors.md");
    assert!(SIZE > json_limit, "the upload is larger than any JSON body may be");
    let created = presign(&app, "m-1", SIZE).await;
    let key = key_of(&created);
    // Bytes that differ along the body, so a truncated or reordered copy hashes otherwise.
    let mut body = png_of(SIZE);
    for (i, byte) in body.iter_mut().enumerate().skip(PNG.len()) {
        *byte = u8::try_from(i % 251).unwrap();
    }
    let expected: String =
        ring::digest::digest(&ring::digest::SHA256, &body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let reply = put(&app, &local_path(&created), "image/png", body.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let receipt = reply.json();
    assert_eq!((receipt["size"].as_u64(), receipt["sha256"].as_str()), (Some(SIZE as u64), Some(expected.as_str())));
    let (status, sha256, _) = state_of(&app, &key).await;
    assert_eq!((status.as_str(), sha256.as_deref()), ("UPLOADED", Some(expected.as_str())), "the stored SHA-256");
    let stored = std::fs::read(dir.path().join("files").join(&key)).unwrap();
    assert!(stored.starts_with(b"LDBDSEF1") && stored.len() > SIZE, "stored sealed ({} bytes)", stored.len());
    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let mut back = Vec::new();
    app.state.files.read_evidence(org, key.parse().unwrap(), &mut back).await.unwrap();
    assert!(back == body, "the body comes back, byte for byte ({} bytes)", back.len());
    assert_eq!(stored_files(&dir), std::slice::from_ref(&key), "no temporary file left");
}

/// Planted in an uploaded body (after its magic bytes) and in its file name.
const CANARY: &str = "leak.canary@example.org 김비밀유출 01098765432";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn bytes_under(dir: &std::path::Path) -> Vec<u8> {
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

/// SQLite's file, WAL and shared memory, or PostgreSQL's text columns as `pg_dump`
/// writes them.
async fn database_bytes(db: &TestDb) -> Vec<u8> {
    match db.backend {
        testkit::Backend::Sqlite => {
            let path = db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
            ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::read(format!("{path}{suffix}")).ok())
                .flatten()
                .collect()
        }
        testkit::Backend::Postgres => {
            let out = std::process::Command::new("pg_dump").arg("--data-only").arg(&db.url).output().unwrap();
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

async fn at_rest_body(db: TestDb) {
    const SIZE: usize = 10 * 1024 * 1024;
    let (app, dir) = app(db).await;
    let name = "김비밀유출-leak.canary@example.org.pdf";
    let request = serde_json::json!({
        "mohomId": "m-1", "fileName": format!("C:\\docs\\{name}"), "contentType": "application/pdf",
        "size": SIZE, "purpose": "AS_EVIDENCE"
    });
    let reply = app.send(presign_request(&app, request)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let created = reply.json();
    let key: Uuid = key_of(&created).parse().unwrap();
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend_from_slice(CANARY.as_bytes());
    body.resize(SIZE, b' ');
    let expected: String =
        ring::digest::digest(&ring::digest::SHA256, &body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let reply = put(&app, &local_path(&created), "application/pdf", body.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["sha256"].as_str(), Some(expected.as_str()), "the SHA-256 of what the client sent");

    let org = infra::fixtures::org_id_by_code(app.db.db.conn(), "mohom").await.unwrap().unwrap();
    let mut back = Vec::new();
    app.state.files.read_evidence(org, key, &mut back).await.unwrap();
    assert!(back == body, "the upload comes back");
    let users = app.state.users.clone();
    let owner = {
        use domain::ports::UserRepository;
        users.find(org, &domain::identity::MohomId::parse("m-1").unwrap()).await.unwrap().unwrap().id
    };
    let now = OffsetDateTime::now_utc();
    let files = app.state.files.confirm_for_use(org, owner, FilePurpose::AsEvidence, &[key], now).await.unwrap();
    assert_eq!(files[0].file_name, name, "the sanitized name comes back");

    let on_disk = bytes_under(dir.path());
    let in_db = database_bytes(&app.db).await;
    assert!(contains(&in_db, &key.to_string()), "the dump holds the files table");
    for planted in [CANARY, "leak.canary@example.org", "김비밀유출", "01098765432"] {
        assert!(!contains(&on_disk, planted), "{planted:?} under the data directory");
        assert!(!contains(&in_db, planted), "{planted:?} in the database files");
    }
}

/// A row and a file written the old way (name in `file_name`, bytes in plain) are sealed
/// by `startup::prepare`, and a second start changes nothing.
async fn start_up_body(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let settings = crate::helpers::settings(&db, &[("LDBDS__DATA_DIR", &data_dir)]);
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let state = api::startup::prepare(settings.clone()).await.unwrap().state;
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let user = {
        use domain::ports::UserRepository;
        let user = domain::identity::User {
            id: domain::ids::new_id(),
            org_id: org,
            mohom_id: domain::identity::MohomId::parse("m-1").unwrap(),
            role: domain::identity::Role::Member,
            team_id: None,
            name: domain::pii::PersonName::parse("김설계").unwrap(),
            phone: None,
            email: None,
            status: domain::identity::UserStatus::Active,
            created_at: OffsetDateTime::now_utc(),
            updated_at: OffsetDateTime::now_utc(),
        };
        state.users.insert(&user).await.unwrap();
        user.id
    };
    let name = "김비밀유출-leak.canary@example.org.png";
    let mut body = PNG.to_vec();
    body.extend_from_slice(CANARY.as_bytes());
    body.resize(70_000, 7);
    let upload = domain::files::NewUpload {
        file_name: "x.png".to_owned(),
        file_type: domain::files::FileType::Png,
        size: body.len() as u64,
        purpose: FilePurpose::AsEvidence,
    };
    let now = OffsetDateTime::now_utc();
    let key = state.files.presign(org, user, &upload, now).await.unwrap().file_key;
    let sql = format!(
        "UPDATE uploaded_files SET file_name = '{name}', file_name_enc = NULL, status = 'UPLOADED', uploaded_at = 1 \
         WHERE file_key = '{key}'"
    );
    sea_orm::ConnectionTrait::execute_unprepared(db.db.conn(), &sql).await.unwrap();
    let path = dir.path().join("files").join(key.to_string());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &body).unwrap();

    let state = api::startup::prepare(settings.clone()).await.unwrap().state;
    let sealed = std::fs::read(&path).unwrap();
    assert!(sealed.starts_with(b"LDBDSEF1"), "the file is sealed at start");
    let mut back = Vec::new();
    state.files.read_evidence(org, key, &mut back).await.unwrap();
    assert!(back == body, "and opens to what was stored");
    let files = state.files.confirm_for_use(org, user, FilePurpose::AsEvidence, &[key], now).await.unwrap();
    assert_eq!(files[0].file_name, name, "the name comes back from the vault");
    let (on_disk, in_db) = (bytes_under(dir.path()), database_bytes(&db).await);
    for planted in [CANARY, "leak.canary@example.org", "김비밀유출"] {
        assert!(!contains(&on_disk, planted), "{planted:?} under the data directory");
        assert!(!contains(&in_db, planted), "{planted:?} in the database files");
    }

    drop(state);
    api::startup::prepare(settings).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), sealed, "a second start leaves the sealed file as it is");
}

fn document() -> serde_json::Value {
    serde_json::from_str(&api::openapi::document_json()).expect("the document is JSON")
}

#[test]
fn the_upload_is_declared_as_the_file_bytes_under_each_type_an_upload_may_be_sent_with() {
    let doc = document();
    let content = doc["paths"]["/api/v1/files/upload/{fileKey}"]["put"]["requestBody"]["content"]
        .as_object()
        .expect("the upload has a request body");
    let mut expected = domain::files::upload_content_types();
    expected.sort_unstable();
    assert_eq!(content.keys().map(String::as_str).collect::<Vec<_>>(), expected, "the purposes' types, no other");
    assert!(content.contains_key("image/png") && !content.contains_key("application/octet-stream"));
    for (content_type, body) in content {
        assert_eq!(body["schema"], serde_json::json!({"type": "string", "format": "binary"}), "{content_type}");
    }
}

#[test]
fn the_presigned_request_states_the_rules_of_an_upload_request() {
    let doc = document();
    let fields = &doc["components"]["schemas"]["PresignedRequest"]["properties"];
    assert_eq!(fields["mohomId"]["pattern"], api::openapi::MOHOM_ID_PATTERN);
    assert_eq!(fields["fileName"]["minLength"], 1);
    assert_eq!(fields["fileName"]["maxLength"], domain::files::MAX_RAW_FILE_NAME_BYTES, "the raw name's bound");
    assert_eq!(fields["fileName"]["pattern"], r"\S", "not blank");
    assert_eq!(fields["size"]["minimum"], 1);
    assert_eq!(fields["size"]["maximum"], domain::files::MAX_FILE_BYTES);
    assert_eq!(fields["contentType"]["enum"], serde_json::json!(domain::files::FileType::ACCEPTED));
    let purposes: Vec<&str> = FilePurpose::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(fields["purpose"]["enum"], serde_json::json!(purposes));
    assert_eq!(fields["purpose"]["description"], "`AS_EVIDENCE`.");
}
