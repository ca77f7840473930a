//! The token, SSO and audited user use cases over the in-memory ports: every rule of
//! `domain::service::tokens` and the audit of `domain::service::users`, no database.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Mutex;

use domain::identity::{MohomId, NewUser, Role, User, UserChange, UserFields, UserStatus};
use domain::pii::PersonName;
use domain::reference::OrgKind;
use domain::service::tokens::{OrgSso, TokenRefusal, TokenService};
use domain::service::users::{ActedBy, OrgScope, UserError, UserService};
use testkit::memory::{FixedClock, MemorySso, MemoryUserRepository, PlainTokens};
use time::OffsetDateTime;
use uuid::Uuid;

const PARTNER: Uuid = Uuid::from_u128(1);
const PROVIDER: Uuid = Uuid::from_u128(2);
const NO_SECRET: Uuid = Uuid::from_u128(3);
const SECRET: &str = "partner-secret";

fn sso() -> MemorySso {
    let settings = |default: Option<&str>| OrgSso {
        secret: SECRET.as_bytes().to_vec(),
        redirect_allowlist: vec!["https://app.partner.vn/welcome".to_owned()],
        default_redirect: default.map(str::to_owned),
    };
    MemorySso {
        orgs: HashMap::from([
            (PARTNER, (OrgKind::Partner, Some(settings(Some("https://app.partner.vn/"))))),
            (PROVIDER, (OrgKind::Provider, Some(settings(Some("https://provider.vn/"))))),
            (NO_SECRET, (OrgKind::Partner, None)),
        ]),
        ..MemorySso::default()
    }
}

fn clock() -> FixedClock {
    FixedClock(Mutex::new(OffsetDateTime::now_utc()))
}

fn refused_as(result: Result<impl std::fmt::Debug, TokenRefusal>, reason: &str) {
    match result {
        Err(TokenRefusal::Unauthorized(why)) => assert_eq!(why, reason),
        other => panic!("expected Unauthorized({reason}), got {other:?}"),
    }
}

#[tokio::test]
async fn an_sso_login_creates_a_member_and_redirects_only_to_an_allowed_address() {
    let (users, sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let token = PlainTokens::sso(PARTNER, SECRET, "sso-1", "Nguyen Van A", "jti-1");
    let login = service.sso_login(&token, Some("https://app.partner.vn/welcome")).await.unwrap();
    assert_eq!(login.redirect, "https://app.partner.vn/welcome");
    assert_eq!((login.user.role, login.user.org_id, login.user.phone.as_ref()), (Role::Member, PARTNER, None));
    assert!(login.token.token.starts_with(&format!("token-for-{}", login.user.id)));
    let token = PlainTokens::sso(PARTNER, SECRET, "sso-1", "Nguyen Van B", "jti-2");
    let again = service.sso_login(&token, Some("https://evil.example/")).await.unwrap();
    assert_eq!(again.redirect, "https://app.partner.vn/", "an address off the allow-list gets the default");
    assert_eq!(again.user.id, login.user.id, "the same user, its name refreshed");
    assert_eq!(again.user.name.as_str(), "Nguyen Van B");
    assert_eq!(users.stored().len(), 1);
}

#[tokio::test]
async fn an_sso_token_is_accepted_once() {
    let (users, sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let token = PlainTokens::sso(PARTNER, SECRET, "sso-1", "Nguyen Van A", "jti-1");
    service.sso_login(&token, None).await.unwrap();
    refused_as(service.sso_login(&token, None).await, "replayed jti");
}

#[tokio::test]
async fn only_a_partner_with_a_secret_and_a_verified_token_logs_anyone_in() {
    let (users, sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let cases = [
        ("not-a-token".to_owned(), "no org id in iss"),
        (PlainTokens::sso(Uuid::from_u128(99), SECRET, "s", "N", "j1"), "unknown or non-partner org"),
        (PlainTokens::sso(PROVIDER, SECRET, "s", "N", "j2"), "unknown or non-partner org"),
        (PlainTokens::sso(NO_SECRET, SECRET, "s", "N", "j3"), "org has no SSO secret"),
        (PlainTokens::sso(PARTNER, "forged", "s", "N", "j4"), "verification failed"),
        (PlainTokens::sso(PARTNER, SECRET, "bad sub!", "N", "j5"), "bad sub"),
        (PlainTokens::sso(PARTNER, SECRET, "s", " ", "j6"), "bad name"),
    ];
    for (token, reason) in cases {
        refused_as(service.sso_login(&token, None).await, reason);
    }
    assert!(users.stored().is_empty(), "nothing was written");
    assert!(sso.used.lock().unwrap().is_empty(), "no token id was spent");
}

#[tokio::test]
async fn without_an_allowed_redirect_or_a_default_there_is_no_login() {
    let (users, mut sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    if let Some((_, Some(settings))) = sso.orgs.get_mut(&PARTNER) {
        settings.default_redirect = None;
    }
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let token = PlainTokens::sso(PARTNER, SECRET, "sso-1", "Nguyen Van A", "jti-1");
    assert!(matches!(service.sso_login(&token, Some("https://evil.example/")).await, Err(TokenRefusal::NoRedirect)));
    assert!(users.stored().is_empty());
}

fn user(org: Uuid, login: &str, status: UserStatus) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(login).unwrap(),
        role: Role::Leader,
        team_id: None,
        name: PersonName::parse("Kim").unwrap(),
        phone: None,
        email: None,
        status,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn a_deleted_user_cannot_log_in_or_get_a_token() {
    let (users, sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    let gone = user(PARTNER, "gone-1", UserStatus::Deleted);
    users.users.lock().unwrap().push((gone.clone(), 3));
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let token = PlainTokens::sso(PARTNER, SECRET, "gone-1", "Kim", "jti-1");
    refused_as(service.sso_login(&token, None).await, "deleted user");
    assert!(matches!(service.token_for(gone.id, None).await, Err(TokenRefusal::UserNotFound)));
    assert!(matches!(service.token_for(Uuid::from_u128(77), None).await, Err(TokenRefusal::UserNotFound)));
}

#[tokio::test]
async fn a_token_names_the_users_generation_now() {
    let (users, sso, clock) = (MemoryUserRepository::default(), sso(), clock());
    let member = user(PARTNER, "m-1", UserStatus::Active);
    users.users.lock().unwrap().push((member.clone(), 5));
    let service = TokenService::new(&users, &sso, &PlainTokens, &clock);
    let (token, read) = service.token_for(member.id, Some(Uuid::from_u128(8))).await.unwrap();
    assert_eq!((token.token.ends_with("@5"), read.id), (true, member.id));
}

fn new_user(login: &str, role: &str) -> NewUser {
    NewUser::parse(&UserFields {
        mohom_id: Some(login),
        name: Some("홍길동"),
        phone: Some("010-1234-5678"),
        email: Some("hong@example.com"),
        role: Some(role),
        team_id: None,
    })
    .unwrap()
}

#[tokio::test]
async fn every_user_change_is_audited_with_its_actor_and_request() {
    let (users, clock) = (MemoryUserRepository::default(), clock());
    let service = UserService::new(&users, &clock);
    let scope = OrgScope { org_id: PARTNER, kind: OrgKind::Partner };
    let by = ActedBy { actor: "key:1", request_id: Some("req-1") };
    let created = service.create(by, scope, new_user("m-1", "MEMBER")).await.unwrap();
    let change = UserChange::parse(&UserFields { role: Some("LEADER"), ..UserFields::default() }).unwrap();
    service.update(by, scope, &created.mohom_id, change).await.unwrap();
    service.delete(ActedBy { actor: "cli", request_id: None }, PARTNER, &created.mohom_id).await.unwrap();
    let audited: Vec<_> = users
        .audited()
        .into_iter()
        .map(|e| (e.action, e.actor, e.request_id, e.entity_id, e.detail["role"].as_str().map(str::to_owned)))
        .collect();
    let id = Some(created.id.to_string());
    assert_eq!(
        audited,
        [
            ("user.created", "key:1".to_owned(), Some("req-1".to_owned()), id.clone(), Some("MEMBER".to_owned())),
            ("user.updated", "key:1".to_owned(), Some("req-1".to_owned()), id.clone(), Some("LEADER".to_owned())),
            ("user.deleted", "cli".to_owned(), None, id, Some("LEADER".to_owned())),
        ]
    );
}

#[tokio::test]
async fn refused_user_changes_write_and_audit_nothing() {
    let (users, clock) = (MemoryUserRepository::default(), clock());
    let service = UserService::new(&users, &clock);
    let scope = OrgScope { org_id: PARTNER, kind: OrgKind::Partner };
    let by = ActedBy { actor: "key:1", request_id: None };
    let refused = service.create(by, scope, new_user("cs-1", "CS_MANAGER")).await.unwrap_err();
    assert!(matches!(refused, UserError::RoleNotAllowed { .. }), "{refused:?}");
    let owner = service.create(by, scope, new_user("m-1", "MEMBER")).await.unwrap();
    users.owned.lock().unwrap().insert(owner.id, 2);
    let refused = service.delete(by, PARTNER, &owner.mohom_id).await.unwrap_err();
    assert!(matches!(refused, UserError::OwnsLeads { count: 2 }), "{refused:?}");
    assert_eq!(refused.to_string(), "the user owns 2 leads: distribute or recall them first");
    assert!(users.stored()[0].is_active(), "the owner stays");
    assert_eq!(users.audited().len(), 1, "only the one creation");
}
