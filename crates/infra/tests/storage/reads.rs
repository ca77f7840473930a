//! The read path of issue #15: one statement per read, and the group-committed reveal log.
//!
//! - an owned-list page, a search by full phone or email, a detail and `contacts` each cost
//!   one statement (counted by `infra::statements`), and what that statement reads (the
//!   total, the product names, the AS statuses newest first, the history oldest first) is
//!   what the several statements before it read;
//! - 50 concurrent reveals through the started writer are 50 rows in fewer than 50
//!   `INSERT`s; a writer whose `INSERT` fails answers every waiting reveal with an error,
//!   and no row is written.
//!
//! The reveal-log tests count statements under the shared use case `reveal-log`, so they
//! take [`REVEAL_LOG`] to run one at a time within this test binary.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::{
    AsStatus, AssignmentSource, LeadFields, LeadSearch, ListScope, ListSortColumn, NewLead, OwnedQuery,
};
use domain::pagination::{PageRequest, SortOrder};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{LeadRepository, PiiAccess, ReferenceRepository, UserRepository};
use infra::leads::SeaLeadRepository;
use infra::reference::SeaReferenceRepository;
use infra::users::SeaUserRepository;
use sea_orm::ConnectionTrait;
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::counting::{counted, inserts};

testkit::on_both_backends! { tokio::test;
    a_page_a_search_a_detail_and_contacts_are_one_statement_each => one_statement_body;
}

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 2);
    fifty_concurrent_reveals_share_fewer_inserts => group_commit_body;
    a_failed_insert_fails_every_waiting_reveal => failing_writer_body;
}

/// Serializes the tests that count under the shared `reveal-log` use case.
static REVEAL_LOG: Mutex<()> = Mutex::const_new(());

fn user(org: Uuid, mohom: &str) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: Some(Email::parse("u@example.com").unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

fn access(org: Uuid, user: Uuid, subject: Uuid, at: OffsetDateTime) -> PiiAccess {
    PiiAccess {
        org_id: org,
        user_id: Some(user),
        actor: format!("user:{user}"),
        subject_kind: "lead",
        subject_id: subject,
        fields: vec!["name", "phone"],
        endpoint: "GET /api/v1/leads".into(),
        request_id: None,
        at,
    }
}

fn query(owner: Uuid, page: &str, limit: &str, search: Option<&str>) -> OwnedQuery {
    OwnedQuery {
        scope: ListScope::Owned(owner),
        used: None,
        has_as: None,
        product_id: None,
        provider_id: None,
        search: search.map(|s| LeadSearch::parse(s).unwrap()),
        page: PageRequest::parse(Some(page), Some(limit)).unwrap(),
        sort_column: ListSortColumn::AssignedAt,
        sort_order: SortOrder::Desc,
    }
}

struct World {
    db: TestDb,
    leads: SeaLeadRepository,
    org: Uuid,
    owner: User,
    products: [(Uuid, String); 2],
    /// Registered leads, oldest first.
    ids: Vec<Uuid>,
    base: OffsetDateTime,
}

/// An owner with 5 leads over two products, registered a second apart.
async fn world(db: TestDb) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let reference = SeaReferenceRepository::new(db.db.conn().clone());
    let mut products = Vec::new();
    for code in ["INS-HEALTH", "INS-CAR"] {
        let id = infra::fixtures::product_id_by_code(db.db.conn(), code).await.unwrap().unwrap();
        products.push((id, reference.find_product(id).await.unwrap().unwrap().name));
    }
    let keyring = Arc::new(testkit::keyring());
    let users = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring));
    let leads = SeaLeadRepository::new(db.db.clone(), keyring);
    let owner = user(org, "reads-owner");
    users.insert(&owner).await.unwrap();
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::days(1);
    let mut ids = Vec::new();
    for i in 0..5usize {
        let product = products[i % 2].0.to_string();
        let phone = format!("010-2000-{:04}", 1000 + i);
        let email = format!("lead{i}@example.com");
        let fields = LeadFields {
            product_id: Some(&product),
            name: Some("홍길동"),
            phone: Some(&phone),
            email: Some(&email),
            region: Some("서울"),
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, base.date()).unwrap();
        let (id, _) = leads.register(&owner, &new, base + Duration::seconds(i as i64)).await.unwrap();
        ids.push(id);
    }
    World { db, leads, org, owner, products: [products[0].clone(), products[1].clone()], ids, base }
}

async fn one_statement_body(db: TestDb) {
    let backend = format!("{:?}", db.backend);
    let w = world(db).await;
    // Lead 0: used, two AS requests (the newer one first in its statuses); lead 1: one AS.
    let used_at = w.base + Duration::hours(1);
    w.leads.use_lead(w.ids[0], &w.owner, access(w.org, w.owner.id, w.ids[0], used_at)).await.unwrap().unwrap();
    let older = w.base + Duration::hours(2);
    testkit::record_as_status(&w.db, w.ids[0], w.owner.id, AsStatus::Rejected, older).await.unwrap();
    testkit::record_as_status(&w.db, w.ids[0], w.owner.id, AsStatus::Requested, older + Duration::minutes(1))
        .await
        .unwrap();
    testkit::record_as_status(&w.db, w.ids[1], w.owner.id, AsStatus::InReview, older).await.unwrap();

    // The first page: the newest assigned first, its total, names and AS statuses.
    let uc = format!("test: reads page {backend}");
    let (page, statements) = counted(&uc, w.leads.list_owned(&query(w.owner.id, "1", "3", None))).await;
    let page = page.unwrap();
    assert_eq!(statements, 1, "a page is one statement");
    assert_eq!(page.total, 5);
    assert_eq!(page.items.iter().map(|l| l.id).collect::<Vec<_>>(), [w.ids[4], w.ids[3], w.ids[2]]);
    for lead in &page.items {
        let (_, name) = w.products.iter().find(|(id, _)| *id == lead.product_id).unwrap();
        assert_eq!(&lead.product_name, name);
        assert!(lead.as_statuses.is_empty());
        assert_eq!(lead.pii.name.as_str(), "홍길동");
    }
    // The last page: the AS statuses newest first, the use and the product names read back.
    let (page, statements) = counted(&uc, w.leads.list_owned(&query(w.owner.id, "2", "3", None))).await;
    let page = page.unwrap();
    assert_eq!(statements, 1);
    assert_eq!(page.total, 5);
    assert_eq!(page.items.iter().map(|l| l.id).collect::<Vec<_>>(), [w.ids[1], w.ids[0]]);
    assert_eq!(page.items[0].as_statuses, [AsStatus::InReview]);
    assert_eq!(page.items[1].as_statuses, [AsStatus::Requested, AsStatus::Rejected]);
    assert_eq!(page.items[1].assignment.as_ref().unwrap().used_at, Some(used_at));
    assert_eq!(page.items[1].product_name, w.products[0].1);
    assert_eq!(page.items[0].product_name, w.products[1].1);
    // Past the last row no row carries the total: the count is the second statement.
    let (page, statements) = counted(&uc, w.leads.list_owned(&query(w.owner.id, "3", "3", None))).await;
    let page = page.unwrap();
    assert_eq!((statements, page.total, page.items.len()), (2, 5, 0), "a page past the end");
    // An owner without leads: one statement, total 0.
    let (page, statements) = counted(&uc, w.leads.list_owned(&query(Uuid::now_v7(), "1", "3", None))).await;
    assert_eq!((statements, page.unwrap().total), (1, 0), "an empty first page");

    // A search by full phone and by email: one statement each.
    let uc = format!("test: reads search {backend}");
    let (found, statements) =
        counted(&uc, w.leads.list_owned(&query(w.owner.id, "1", "20", Some("010-2000-1000")))).await;
    let found = found.unwrap();
    assert_eq!(statements, 1, "a search by full phone is one statement");
    assert_eq!((found.total, found.items[0].id), (1, w.ids[0]));
    assert_eq!(found.items[0].as_statuses, [AsStatus::Requested, AsStatus::Rejected]);
    let (found, statements) =
        counted(&uc, w.leads.list_owned(&query(w.owner.id, "1", "20", Some("lead3@example.com")))).await;
    let found = found.unwrap();
    assert_eq!(statements, 1, "a search by email is one statement");
    assert_eq!((found.total, found.items[0].id), (1, w.ids[3]));
    let (found, statements) =
        counted(&uc, w.leads.list_owned(&query(w.owner.id, "1", "20", Some("010-9999-0000")))).await;
    assert_eq!((statements, found.unwrap().total), (1, 0), "no match");
    // By last 4 digits: the products come from the reference data in memory (its load
    // counts under its own use case), so this too is one statement.
    let (found, statements) = counted(&uc, w.leads.list_owned(&query(w.owner.id, "1", "20", Some("1000")))).await;
    let found = found.unwrap();
    assert_eq!(statements, 1, "a search by last 4 digits is one statement");
    assert_eq!((found.total, found.items[0].id), (1, w.ids[0]));

    // The detail: the lead and its history in one statement.
    let uc = format!("test: reads detail {backend}");
    let (detail, statements) = counted(&uc, LeadRepository::lead_with_history(&w.leads, w.ids[0])).await;
    let (lead, history) = detail.unwrap().unwrap();
    assert_eq!(statements, 1, "a detail is one statement");
    assert_eq!(lead.id, w.ids[0]);
    assert_eq!(lead.as_statuses, [AsStatus::Requested, AsStatus::Rejected]);
    assert_eq!(lead.product_name, w.products[0].1);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, AssignmentSource::Registered);
    assert_eq!((history[0].owner_user_id, history[0].used_at), (w.owner.id, Some(used_at)));
    assert_eq!(history, w.leads.history(w.ids[0]).await.unwrap(), "the same history as its own query reads");
    let (none, statements) = counted(&uc, LeadRepository::lead_with_history(&w.leads, Uuid::now_v7())).await;
    assert!(none.unwrap().is_none());
    assert_eq!(statements, 1);

    // `contacts` reads the asked leads the owner owns in one statement.
    let uc = format!("test: reads contacts {backend}");
    let (owned, statements) =
        counted(&uc, w.leads.owned_among(w.owner.id, &[w.ids[0], w.ids[2], Uuid::now_v7()])).await;
    let mut owned: Vec<Uuid> = owned.unwrap().iter().map(|l| l.id).collect();
    owned.sort_unstable();
    assert_eq!(statements, 1);
    assert_eq!(owned, [w.ids[0], w.ids[2]]);
}

/// The `pii_access_log` rows of these subjects.
async fn logged(db: &TestDb, subjects: &[Uuid]) -> u64 {
    let mut total = 0;
    for s in subjects {
        total += infra::pii_access::count_for_subject(db.db.conn(), "lead", *s).await.unwrap();
    }
    total
}

async fn group_commit_body(db: TestDb) {
    let _serial = REVEAL_LOG.lock().await;
    let w = world(db).await;
    let log = Arc::clone(w.leads.reveals());
    assert!(!log.is_running());
    log.start();
    let subjects: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
    let inserts_before = inserts(infra::reveal_log::USE_CASE);
    let stats_before = log.stats();
    let barrier = Arc::new(tokio::sync::Barrier::new(subjects.len()));
    let tasks: Vec<_> = subjects
        .iter()
        .map(|subject| {
            let leads = w.leads.clone();
            let barrier = Arc::clone(&barrier);
            let template = access(w.org, w.owner.id, Uuid::nil(), OffsetDateTime::now_utc());
            let subject = *subject;
            tokio::spawn(async move {
                barrier.wait().await;
                LeadRepository::reveal_log(&leads, &[subject], &template).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let written = inserts(infra::reveal_log::USE_CASE) - inserts_before;
    let stats = log.stats();
    assert_eq!(stats.entries - stats_before.entries, 50);
    assert_eq!(written, stats.writes - stats_before.writes, "each write is one INSERT under `reveal-log`");
    assert!(written < 50, "50 reveals shared their INSERTs: {written}");
    eprintln!("50 concurrent reveals ({:?}): {written} INSERTs", w.db.backend);
    assert_eq!(logged(&w.db, &subjects).await, 50, "every reveal has its row, committed before it returned");
    log.drain().await;
    assert!(!log.is_running());
    // Drained: a reveal is written directly, and still logged.
    let late = Uuid::now_v7();
    let template = access(w.org, w.owner.id, Uuid::nil(), OffsetDateTime::now_utc());
    LeadRepository::reveal_log(&w.leads, &[late], &template).await.unwrap();
    assert_eq!(logged(&w.db, &[late]).await, 1);
}

async fn failing_writer_body(db: TestDb) {
    let _serial = REVEAL_LOG.lock().await;
    let w = world(db).await;
    let conn = w.db.db.conn();
    // The table is away: every INSERT of the log fails.
    conn.execute_unprepared("ALTER TABLE pii_access_log RENAME TO pii_access_log_away").await.unwrap();
    let log = Arc::clone(w.leads.reveals());
    log.start();
    let subjects: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(subjects.len()));
    let tasks: Vec<_> = subjects
        .iter()
        .map(|subject| {
            let leads = w.leads.clone();
            let barrier = Arc::clone(&barrier);
            let template = access(w.org, w.owner.id, Uuid::nil(), OffsetDateTime::now_utc());
            let subject = *subject;
            tokio::spawn(async move {
                barrier.wait().await;
                LeadRepository::reveal_log(&leads, &[subject], &template).await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.unwrap();
        assert!(
            matches!(outcome, Err(domain::error::RepoError::Unavailable(_))),
            "no reveal without its row: {outcome:?}"
        );
    }
    log.drain().await;
    // Unstarted, a failed direct write fails the reveal the same way.
    let template = access(w.org, w.owner.id, Uuid::nil(), OffsetDateTime::now_utc());
    let direct = LeadRepository::reveal_log(&w.leads, &[Uuid::now_v7()], &template).await;
    assert!(matches!(direct, Err(domain::error::RepoError::Unavailable(_))), "{direct:?}");
    conn.execute_unprepared("ALTER TABLE pii_access_log_away RENAME TO pii_access_log").await.unwrap();
    assert_eq!(logged(&w.db, &subjects).await, 0, "nothing was written");
    // The table back, the log works again.
    let back = Uuid::now_v7();
    LeadRepository::reveal_log(&w.leads, &[back], &template).await.unwrap();
    assert_eq!(logged(&w.db, &[back]).await, 1);
}
