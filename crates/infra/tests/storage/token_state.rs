//! What a Bearer token is checked against: the minting key's liveness and the user's
//! generation, which moves exactly when the role or status does.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::{PersonName, PhoneNumber};
use domain::ports::UserRepository;
use infra::api_keys::{issue, live_by_id, revoke};
use infra::users::SeaUserRepository;
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test;
    a_keys_principal_is_found_by_id_until_it_is_revoked => live_key_body;
    the_generation_moves_with_role_and_status_only => generation_body;
}

async fn org(db: &TestDb) -> uuid::Uuid {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.expect("seed");
    infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.expect("q").expect("org")
}

async fn live_key_body(db: TestDb) {
    let org = org(&db).await;
    let now = OffsetDateTime::now_utc();
    let key = issue(db.db.conn(), org, "t", &["leads", "tokens"], now).await.expect("issue");
    let live = live_by_id(db.db.conn(), key.id).await.expect("read").expect("live");
    assert_eq!((live.org_id, live.scopes.clone()), (org, vec!["leads".to_owned(), "tokens".to_owned()]));
    assert!(live.allows("leads") && !live.allows("orders"));
    assert!(live_by_id(db.db.conn(), uuid::Uuid::now_v7()).await.expect("read").is_none(), "unknown");
    assert!(revoke(db.db.conn(), key.id, now).await.expect("revoke"));
    assert!(live_by_id(db.db.conn(), key.id).await.expect("read").is_none(), "revoked");
}

async fn generation_body(db: TestDb) {
    let org = org(&db).await;
    let repo = SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring()));
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse("g-1").unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("홍길동").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: None,
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    };
    repo.insert(&user).await.unwrap();
    let generation = || async { repo.find_for_token(user.id).await.unwrap().expect("row").1 };
    assert_eq!(generation().await, 0);
    let renamed = User { name: PersonName::parse("홍길순").unwrap(), team_id: Some("t".into()), ..user.clone() };
    repo.update(&renamed).await.unwrap();
    assert_eq!(generation().await, 0, "a name or team change keeps the generation");
    let leader = User { role: Role::Leader, ..renamed.clone() };
    repo.update(&leader).await.unwrap();
    assert_eq!(generation().await, 1, "a role change");
    let deleted = User { status: UserStatus::Deleted, ..leader.clone() };
    repo.update(&deleted).await.unwrap();
    assert_eq!(generation().await, 2, "a delete");
    repo.update(&leader).await.unwrap();
    assert_eq!(generation().await, 3, "a revival of the same row");
    let (read, _) = repo.find_for_token(user.id).await.unwrap().unwrap();
    assert_eq!((read.role, read.status), (Role::Leader, UserStatus::Active));
}
