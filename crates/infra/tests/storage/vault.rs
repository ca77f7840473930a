//! The PII vault on real databases: tampering, moved ciphertexts, plaintext in dumps,
//! key rotation and retirement, blind-index collisions, the access log.

use std::sync::Arc;

use domain::error::RepoError;
use domain::identity::{MohomId, Role, User, UserQuery, UserSearchTerm, UserStatus};
use domain::pagination::{PageRequest, Sort};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{PiiAccess, UserRepository};
use infra::crypto::{CryptoError, FieldContext, generate_key};
use infra::users::{SeaUserRepository, count_by_key};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use testkit::{Backend, TestDb};
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test;
    a_tampered_ciphertext_fails_closed => tamper_body;
    a_ciphertext_moved_to_another_row_or_column_fails => moved_body;
    no_plaintext_reaches_the_database_files => dump_body;
    rotation_moves_every_row_to_the_new_key_and_a_retired_key_is_refused => rotation_body;
    rotation_reseals_leads_and_identity_verifications_too => row_envelopes_body;
    forced_index_collisions_never_return_a_wrong_user => collisions_body;
    the_pii_access_log_appends => access_log_body;
}

async fn org(db: &TestDb) -> Uuid {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.expect("seed");
    infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.expect("q").expect("org")
}

fn user(org_id: Uuid, mohom: &str, name: &str, phone: &str, email: &str) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse(name).unwrap(),
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        email: Some(Email::parse(email).unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

fn stmt(db: &TestDb, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.db.backend();
    let sql = if backend == DbBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn column(db: &TestDb, column: &str, id: Uuid) -> Vec<u8> {
    let row = db
        .db
        .conn()
        .query_one_raw(stmt(db, &format!("SELECT {column} FROM users WHERE id = ?"), vec![id.to_string().into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<Vec<u8>>("", column).unwrap()
}

async fn set_column(db: &TestDb, column: &str, id: Uuid, bytes: Vec<u8>) {
    db.db
        .conn()
        .execute_raw(stmt(
            db,
            &format!("UPDATE users SET {column} = ? WHERE id = ?"),
            vec![bytes.into(), id.to_string().into()],
        ))
        .await
        .unwrap();
}

async fn tamper_body(db: TestDb) {
    let org = org(&db).await;
    let repo = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring()));
    let u = user(org, "t-1", "홍길동", "010-1234-5678", "hong@example.com");
    repo.insert(&u).await.unwrap();
    assert_eq!(repo.find_by_id(u.id).await.unwrap().unwrap().name.as_str(), "홍길동");
    let original = column(&db, "name_enc", u.id).await;
    for position in [0, 5, 20, original.len() - 1] {
        let mut tampered = original.clone();
        tampered[position] ^= 0x01;
        set_column(&db, "name_enc", u.id, tampered).await;
        let result = repo.find_by_id(u.id).await;
        assert!(matches!(result, Err(RepoError::Corrupted(_))), "byte {position}: {result:?}");
        let message = format!("{:?}", result.err());
        assert!(!message.contains("홍길동"), "no plaintext in the error");
    }
    set_column(&db, "name_enc", u.id, original).await;
    assert!(repo.find_by_id(u.id).await.is_ok(), "the original still reads");
}

async fn moved_body(db: TestDb) {
    let org = org(&db).await;
    let repo = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring()));
    let a = user(org, "a", "홍길동", "010-1234-5678", "a@example.com");
    let b = user(org, "b", "김철수", "010-9999-8888", "b@example.com");
    repo.insert(&a).await.unwrap();
    repo.insert(&b).await.unwrap();
    set_column(&db, "phone_enc", b.id, column(&db, "phone_enc", a.id).await).await;
    assert!(matches!(repo.find_by_id(b.id).await, Err(RepoError::Corrupted(_))), "another row");
    set_column(&db, "email_enc", a.id, column(&db, "name_enc", a.id).await).await;
    assert!(matches!(repo.find_by_id(a.id).await, Err(RepoError::Corrupted(_))), "another column");
}

async fn dump(db: &TestDb) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            db.db.conn().execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
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

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn dump_body(db: TestDb) {
    let org = org(&db).await;
    let repo = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring()));
    let known = [
        ("dump-kr", "홍길동", "010-1234-5678", "hong.gildong@example.com"),
        ("dump-vn", "Nguyen Van Anh", "0399333999", "nguyen.anh@example.vn"),
    ];
    for (mohom, name, phone, email) in known {
        repo.insert(&user(org, mohom, name, phone, email)).await.unwrap();
    }
    let bytes = dump(&db).await;
    assert!(contains(&bytes, "dump-kr"), "the dump holds the users table (non-PII ids are plain)");
    for needle in [
        "홍길동",
        "Nguyen Van Anh",
        "NguyenVanAnh",
        "+821012345678",
        "01012345678",
        "1012345678",
        "+84399333999",
        "0399333999",
        "hong.gildong@example.com",
        "nguyen.anh@example.vn",
    ] {
        assert!(!contains(&bytes, needle), "{needle} found in plain text on {:?}", db.backend);
    }
}

async fn rotation_body(db: TestDb) {
    let org = org(&db).await;
    let (k1, k2) = (generate_key().unwrap(), generate_key().unwrap());
    let index = testkit::fixed_index_key();
    let ring1 = Arc::new(testkit::keyring_with(&[(1, k1)], 1, &[], index));
    let ring12 = Arc::new(testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[], index));
    let old = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&ring1));
    let new = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&ring12));
    let u1 = user(org, "r-1", "홍길동", "010-1234-5678", "one@example.com");
    let u2 = user(org, "r-2", "김철수", "010-2222-3333", "two@example.com");
    old.insert(&u1).await.unwrap();
    new.insert(&u2).await.unwrap();
    infra::orgs::set_sso(db.db.conn(), &ring1, org, b"sso-secret-under-key-one-0123456789", &[], None).await.unwrap();
    assert_eq!(count_by_key(db.db.conn()).await.unwrap(), vec![(1, 1), (2, 1)]);
    assert!(new.find_by_id(u1.id).await.unwrap().is_some() && new.find_by_id(u2.id).await.unwrap().is_some());
    let envelope_under_1 = column(&db, "name_enc", u1.id).await;

    let mut seen = Vec::new();
    let done = infra::rotation::rotate(&db.db, &ring12, 1, |p| seen.push(p)).await.unwrap();
    assert_eq!((done.rotated, done.total), (2, 2), "one user and one SSO secret");
    assert_eq!(count_by_key(db.db.conn()).await.unwrap(), vec![(2, 2)], "no row under key 1");
    assert_eq!(infra::rotation::pending(&db.db, &ring12).await.unwrap(), 0);
    assert!(seen.len() >= 2, "progress reported per batch");
    let again = infra::rotation::rotate(&db.db, &ring12, 10, |_| {}).await.unwrap();
    assert_eq!(again.rotated, 0, "a second run has nothing to do (resumable)");

    let retired = Arc::new(testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[1], index));
    let after = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&retired));
    assert_eq!(after.find_by_id(u1.id).await.unwrap().unwrap().name.as_str(), "홍길동");
    let ctx = FieldContext { table: "users", column: "name", row_id: &u1.id.to_string() };
    assert!(matches!(retired.decrypt(&envelope_under_1, &ctx), Err(CryptoError::RetiredKey(1))));
    assert!(infra::orgs::sso(db.db.conn(), &retired, org).await.unwrap().is_some(), "SSO secret rotated too");
    let query = UserQuery {
        role: None,
        search: Some(UserSearchTerm::parse("010-1234-5678").unwrap()),
        page: PageRequest::default(),
        sort: Sort::parse(None, None).unwrap(),
    };
    assert_eq!(after.list(org, &query).await.unwrap().total, 1, "indexes survive rotation");
}

async fn collisions_body(db: TestDb) {
    let org = org(&db).await;
    let repo = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring())).with_index_bits(1);
    let mut users = Vec::new();
    for i in 0..12 {
        let u = user(
            org,
            &format!("c-{i}"),
            &format!("사용자{i}"),
            &format!("010-1234-{:04}", 1000 + i),
            &format!("u{i}@example.com"),
        );
        repo.insert(&u).await.unwrap();
        users.push(u);
    }
    for (text, expected) in [("010-1234-1003", "c-3"), ("u7@example.com", "c-7"), ("사용자5", "c-5"), ("1009", "c-9")]
    {
        let query = UserQuery {
            role: None,
            search: Some(UserSearchTerm::parse(text).unwrap()),
            page: PageRequest::default(),
            sort: Sort::parse(None, None).unwrap(),
        };
        let page = repo.list(org, &query).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(|u| u.mohom_id.as_str()).collect();
        assert_eq!((page.total, ids), (1, vec![expected]), "{text} with a 1-bit index");
    }
}

async fn access_log_body(db: TestDb) {
    let subject = domain::ids::new_id();
    for endpoint in ["POST /api/v1/leads/{leadId}/use", "POST /api/v1/leads/contacts"] {
        let access = PiiAccess {
            org_id: domain::ids::new_id(),
            user_id: Some(domain::ids::new_id()),
            actor: "key:test".into(),
            subject_kind: "lead",
            subject_id: subject,
            fields: vec!["name", "phone"],
            endpoint: endpoint.into(),
            request_id: Some("req-1".into()),
            at: OffsetDateTime::now_utc(),
        };
        infra::pii_access::record(db.db.conn(), &access).await.unwrap();
    }
    assert_eq!(infra::pii_access::count_for_subject(db.db.conn(), "lead", subject).await.unwrap(), 2);
}

/// Leads and identity verifications keep their personal envelopes under the row's
/// `enc_key_id`: rotation moves them too, so retiring the old key loses nothing (a
/// retirement used to be allowed while every lead was still under it).
async fn row_envelopes_body(db: TestDb) {
    use domain::funnel::identity::{IdentityClaim, IdentityFields};
    use domain::lead::{LeadFields, NewLead};
    use domain::ports::{IdentityRepository, NewVerification};
    use infra::identity::SeaIdentityRepository;
    use infra::leads::SeaLeadRepository;

    let org = org(&db).await;
    let (k1, k2) = (generate_key().unwrap(), generate_key().unwrap());
    let index = testkit::fixed_index_key();
    let ring1 = Arc::new(testkit::keyring_with(&[(1, k1)], 1, &[], index));
    let ring12 = Arc::new(testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[], index));
    let owner = user(org, "rot-owner", "박소유", "010-3333-4444", "owner@example.com");
    SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&ring1)).insert(&owner).await.unwrap();
    let product = infra::fixtures::product_id_by_code(db.db.conn(), "INS-HEALTH").await.unwrap().unwrap().to_string();
    let fields = LeadFields {
        product_id: Some(&product),
        name: Some("홍길동"),
        phone: Some("010-5555-6666"),
        email: Some("lead@example.com"),
        region: Some("서울"),
        ..LeadFields::default()
    };
    let now = OffsetDateTime::now_utc();
    let new = NewLead::parse(&fields, now.date()).unwrap();
    let (lead, _) =
        SeaLeadRepository::new(db.db.clone(), Arc::clone(&ring1)).register(&owner, &new, now).await.unwrap();
    let identity = IdentityFields {
        name: Some("김인증"),
        birth_date: Some("1990-01-02"),
        gender: Some("F"),
        phone: Some("010-7777-8888"),
        carrier: Some("KT"),
        mohom_id: None,
    };
    let verification = NewVerification {
        id: Uuid::now_v7(),
        org_id: org,
        claim: IdentityClaim::parse(&identity, now.date()).unwrap(),
        client: "192.0.2.9".to_owned(),
        code_digest: "0".repeat(64),
        created_at: now,
        expires_at: now + time::Duration::minutes(3),
    };
    let verifications = SeaIdentityRepository::new(db.db.clone(), Arc::clone(&ring1));
    verifications.open(&verification, now - time::Duration::hours(1), |_| Ok(())).await.unwrap().unwrap();
    let before = infra::rotation::row_envelope_status(db.db.conn()).await.unwrap();
    assert!(before.contains(&("leads", 1, 1)) && before.contains(&("identity_verifications", 1, 1)), "{before:?}");
    assert_eq!(infra::rotation::pending(&db.db, &ring12).await.unwrap(), 3, "the owner, the lead, the verification");

    infra::rotation::rotate(&db.db, &ring12, 1, |_| {}).await.unwrap();
    assert_eq!(infra::rotation::pending(&db.db, &ring12).await.unwrap(), 0);
    let after = infra::rotation::row_envelope_status(db.db.conn()).await.unwrap();
    assert!(after.iter().all(|(_, key, _)| *key == 2), "{after:?}");
    let retired = Arc::new(testkit::keyring_with(&[(1, k1), (2, k2)], 2, &[1], index));
    for (table, column, id, plain) in [
        ("leads", "name", lead.to_string(), "홍길동"),
        ("leads", "email", lead.to_string(), "lead@example.com"),
        ("identity_verifications", "name", verification.id.to_string(), "김인증"),
        ("identity_verifications", "birth_date", verification.id.to_string(), "1990-01-02"),
    ] {
        let sql = format!("SELECT {column}_enc AS v FROM {table} WHERE id = ?");
        let row = db.db.conn().query_one_raw(stmt(&db, &sql, vec![id.clone().into()])).await.unwrap().unwrap();
        let sealed: Vec<u8> = row.try_get("", "v").unwrap();
        let opened = retired.decrypt_string(&sealed, &FieldContext { table, column, row_id: &id }).unwrap();
        assert_eq!(opened, plain, "{table}.{column} readable with key 1 retired");
    }
}
