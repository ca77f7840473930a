//! The counsel use cases over the in-memory ports: every rule of
//! `domain::service::counsel`, no database involved.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Mutex;

use domain::counsel::{AutoDivGroup, CaseFilter, CaseStatus, CounselError, ManagerRefusal, QueueKey};
use domain::counsel_sheet::{CaseTypes, ColumnMap, SheetError};
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::PersonName;
use domain::principal::{Credential, Principal};
use domain::reference::{AllocationPolicy, OrgKind};
use domain::service::counsel::{AddMember, CounselService, NewQueue};
use testkit::memory::{FixedClock, MemoryCounselStore, MemoryWorkbook};
use testkit::tables::QUEUE_NAMES;
use time::macros::datetime;
use uuid::Uuid;

const OPERATOR: Uuid = Uuid::from_u128(1);
const PARTNER: Uuid = Uuid::from_u128(2);

fn user(login: &str, org: Uuid, role: Role, dept: Option<&str>, status: UserStatus) -> User {
    let at = datetime!(2026-11-01 00:00 UTC);
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(login).unwrap(),
        role,
        team_id: dept.map(str::to_owned),
        name: PersonName::parse("김상담").unwrap(),
        phone: None,
        email: None,
        status,
        created_at: at,
        updated_at: at,
    }
}

struct World {
    store: MemoryCounselStore,
    workbook: MemoryWorkbook,
    clock: FixedClock,
    ids: Vec<(String, Uuid)>,
}

impl World {
    fn new() -> Self {
        let users = vec![
            (user("cs-1", OPERATOR, Role::CsManager, Some("D1"), UserStatus::Active), true),
            (user("cs-2", OPERATOR, Role::CsManager, Some("D2"), UserStatus::Active), true),
            (user("ops-admin", OPERATOR, Role::Admin, None, UserStatus::Active), true),
            (user("gone", OPERATOR, Role::CsManager, None, UserStatus::Deleted), true),
            (user("member", OPERATOR, Role::Member, None, UserStatus::Active), true),
            (user("partner-1", PARTNER, Role::Admin, None, UserStatus::Active), false),
        ];
        let ids = users.iter().map(|(u, _)| (u.mohom_id.as_str().to_owned(), u.id)).collect();
        Self {
            store: MemoryCounselStore::with_users(users),
            workbook: MemoryWorkbook::default(),
            clock: FixedClock(Mutex::new(datetime!(2026-11-25 16:00 UTC))),
            ids,
        }
    }

    fn service(&self) -> CounselService<'_, MemoryCounselStore, MemoryWorkbook, FixedClock> {
        CounselService::new(&self.store, &self.workbook, &self.clock)
    }

    fn id(&self, login: &str) -> Uuid {
        self.ids.iter().find(|(l, _)| l == login).unwrap().1
    }

    fn writes(&self) -> usize {
        self.store.state.lock().unwrap().writes.len()
    }

    async fn queue(&self, group: &str, detail: &str) -> QueueKey {
        let new = NewQueue { group, detail, name: "queue", policy: None };
        self.service().create_queue(&key(), new).await.unwrap().key
    }

    async fn join(&self, k: &QueueKey, login: &str, capacity: u32) -> i64 {
        let add = AddMember { key: k, login, weight: 1, capacity, possible: true };
        self.service().add_member(&key(), add).await.unwrap().auto_div_no
    }
}

/// The operator's API key.
fn key() -> Principal {
    Principal {
        org_id: OPERATOR,
        org_kind: OrgKind::Operator,
        credential: Credential::ApiKey { key_id: Uuid::from_u128(9) },
        acting: None,
    }
}

fn cli() -> Principal {
    Principal { org_id: Uuid::nil(), org_kind: OrgKind::Operator, credential: Credential::Cli, acting: None }
}

fn manager(w: &World, login: &str) -> Principal {
    let (u, _) =
        w.store.state.lock().unwrap().users.iter().find(|(u, _)| u.mohom_id.as_str() == login).unwrap().clone();
    Principal {
        org_id: OPERATOR,
        org_kind: OrgKind::Operator,
        credential: Credential::Token { user_id: u.id },
        acting: Some(u),
    }
}

fn field(err: &CounselError) -> String {
    match err {
        CounselError::Invalid(v) => v.0[0].field.clone(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[tokio::test]
async fn queue_names_follow_the_shared_table_and_a_refusal_writes_nothing() {
    let w = World::new();
    for (i, (name, accepted)) in QUEUE_NAMES.iter().enumerate() {
        let detail = format!("{}", 100 + i);
        let new = NewQueue { group: "50", detail: &detail, name, policy: None };
        let made = w.service().create_queue(&key(), new).await;
        assert_eq!(made.is_ok(), *accepted, "{name:?}: {made:?}");
        if let Ok(queue) = made {
            assert_eq!(queue.name, name.trim());
            assert_eq!(queue.policy, AllocationPolicy::RoundRobin, "the default policy");
        } else {
            assert_eq!(field(&made.unwrap_err()), "name");
        }
    }
    let accepted = QUEUE_NAMES.iter().filter(|(_, ok)| *ok).count();
    assert_eq!(w.writes(), accepted, "refused names wrote nothing");
}

#[tokio::test]
async fn queues_refuse_fifo_bad_keys_and_duplicates() {
    let w = World::new();
    let fifo = NewQueue { group: "20", detail: "1", name: "AS", policy: Some("FIFO") };
    assert_eq!(field(&w.service().create_queue(&key(), fifo).await.unwrap_err()), "policy");
    let bad = NewQueue { group: "30", detail: "1", name: "x", policy: None };
    assert_eq!(field(&w.service().create_queue(&key(), bad).await.unwrap_err()), "autoDivGbCd");
    w.queue("50", "10020").await;
    let again = NewQueue { group: "50", detail: "10020", name: "again", policy: Some("WEIGHTED") };
    assert!(matches!(w.service().create_queue(&key(), again).await, Err(CounselError::QueueExists(_))));
    assert_eq!(w.service().queues().await.unwrap().len(), 1);
}

#[tokio::test]
async fn members_are_active_cs_managers_of_the_callers_org_with_bounded_terms() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    let add = |login: &'static str, weight: u32, capacity: u32| AddMember {
        key: &k,
        login,
        weight,
        capacity,
        possible: true,
    };
    let s = w.service();
    assert_eq!(field(&s.add_member(&key(), add("cs-1", 0, 10)).await.unwrap_err()), "weight");
    assert_eq!(field(&s.add_member(&key(), add("cs-1", 1, 10_001)).await.unwrap_err()), "capacity");
    assert_eq!(field(&s.add_member(&key(), add("not a login", 1, 1)).await.unwrap_err()), "aempId");
    assert!(matches!(s.add_member(&key(), add("nobody", 1, 1)).await, Err(CounselError::UserNotFound)));
    assert!(matches!(s.add_member(&key(), add("gone", 1, 1)).await, Err(CounselError::UserNotFound)));
    assert!(
        matches!(
            s.add_member(&key(), add("member", 1, 1)).await,
            Err(CounselError::NotAManager(ManagerRefusal::NotCsManager))
        ),
        "a MEMBER of the operator org is no manager"
    );
    assert_eq!(w.writes(), 1, "only the queue was written");
    let member = s.add_member(&key(), add("cs-1", 2, 5)).await.unwrap();
    assert_eq!((member.mohom_id.as_str(), member.terms.weight, member.terms.capacity), ("cs-1", 2, 5));
    assert!(matches!(s.add_member(&key(), add("cs-1", 1, 1)).await, Err(CounselError::AlreadyMember)));
    // The command line finds a manager in any operator org; an API key only in its own.
    let other_org = Principal { org_id: PARTNER, ..key() };
    assert!(matches!(s.add_member(&other_org, add("cs-2", 1, 1)).await, Err(CounselError::UserNotFound)));
    assert!(s.add_member(&cli(), add("cs-2", 1, 1)).await.is_ok());
    assert_eq!(field(&s.update_member(&key(), member.auto_div_no, 101, 1).await.unwrap_err()), "weight");
    assert_eq!(s.update_member(&key(), member.auto_div_no, 3, 7).await.unwrap().terms.capacity, 7);
}

/// A login, the queue and department asked about, and the answer.
type Check<'a> = (&'a str, Option<&'a QueueKey>, Option<&'a str>, Result<(), ManagerRefusal>);

#[tokio::test]
async fn check_manager_answers_in_a_fixed_order() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    w.join(&k, "cs-1", 3).await;
    let missing = QueueKey::parse("50", "998").unwrap();
    let s = w.service();
    let cases: [Check<'_>; 9] = [
        ("nobody", Some(&k), None, Err(ManagerRefusal::UserNotFound)),
        ("partner-1", None, None, Err(ManagerRefusal::UserNotFound)),
        ("gone", Some(&k), Some("zzz"), Err(ManagerRefusal::UserInactive)),
        ("member", Some(&k), None, Err(ManagerRefusal::NotCsManager)),
        ("cs-2", Some(&k), Some("D1"), Err(ManagerRefusal::DepartmentMismatch)),
        ("cs-2", Some(&missing), Some("D2"), Err(ManagerRefusal::QueueNotFound)),
        ("cs-1", Some(&k), None, Err(ManagerRefusal::AlreadyMember)),
        ("cs-1", None, Some("D1"), Ok(())),
        ("ops-admin", Some(&k), None, Ok(())),
    ];
    for (login, queue, dept, expected) in cases {
        assert_eq!(s.check_manager(login, queue, dept).await.unwrap(), expected, "{login} {queue:?} {dept:?}");
    }
}

#[tokio::test]
async fn the_flag_needs_a_number_and_changes_all_or_nothing() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    let a = w.join(&k, "cs-1", 3).await;
    let s = w.service();
    assert_eq!(field(&s.set_possible(&key(), &[], false).await.unwrap_err()), "autoDivNoList");
    let before = w.writes();
    assert!(matches!(s.set_possible(&key(), &[a, 999], false).await, Err(CounselError::MemberNotFound(999))));
    assert_eq!(w.writes(), before);
    assert!(s.memberships(None, None, None).await.unwrap()[0].possible, "nothing changed");
    assert!(!s.set_possible(&key(), &[a], false).await.unwrap()[0].possible);
}

#[tokio::test]
async fn a_cs_manager_completes_only_their_own_cases() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    w.join(&k, "cs-1", 1).await;
    w.join(&k, "cs-2", 1).await;
    let types = CaseTypes::parse("10", "10020").unwrap();
    let s = w.service();
    let saved = s.save_one(&key(), &types, Some("M-1"), None, None).await.unwrap();
    let (cnsl_no, owner) = (saved.outcomes[0].cnsl_no, saved.outcomes[0].assignee.unwrap().1);
    let (mine, theirs) = if owner == w.id("cs-1") { ("cs-1", "cs-2") } else { ("cs-2", "cs-1") };
    assert!(matches!(s.complete(&manager(&w, theirs), cnsl_no).await, Err(CounselError::NotTheirCase)));
    let done = s.complete(&manager(&w, mine), cnsl_no).await.unwrap();
    assert_eq!(done.case.status, CaseStatus::Completed);
    assert_eq!(done.manager_login.as_deref(), Some(mine));
    assert!(matches!(s.complete(&key(), cnsl_no).await, Err(CounselError::CaseNotAssigned(_))));
    assert!(matches!(s.case(Uuid::nil()).await, Err(CounselError::CaseNotFound(_))));
}

#[tokio::test]
async fn manual_assignment_resolves_the_login_and_names_the_manager() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    let s = w.service();
    let types = CaseTypes::parse("10", "10020").unwrap();
    let saved = s.save_one(&key(), &types, None, Some("O-1"), Some("전화 요망")).await.unwrap();
    assert_eq!(saved.assigned(), 0, "nobody to take it: it waits");
    let cnsl_no = saved.outcomes[0].cnsl_no;
    assert!(matches!(s.manual_assign(&key(), cnsl_no, "cs-1").await, Err(CounselError::NotAMember)));
    assert!(matches!(s.manual_assign(&key(), cnsl_no, "nobody").await, Err(CounselError::UserNotFound)));
    w.join(&k, "cs-1", 1).await; // sweeps the waiting case to cs-1
    let other = s.save_one(&key(), &types, Some("M-2"), None, None).await.unwrap();
    assert_eq!(other.assigned(), 0, "cs-1 is at capacity");
    let waiting = s.waiting(Some(AutoDivGroup::Outbound), Some("10020")).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(s.waiting(Some(AutoDivGroup::AsReview), None).await.unwrap().is_empty());
    assert!(s.waiting(None, Some("1")).await.unwrap().is_empty());
    w.join(&k, "cs-2", 1).await;
    let read = s.case(cnsl_no).await.unwrap();
    assert_eq!(read.manager_login.as_deref(), Some("cs-1"));
}

#[tokio::test]
async fn imports_are_all_or_nothing_and_previews_save_nothing() {
    let w = World::new();
    w.queue("50", "10020").await;
    let s = w.service();
    let map = || ColumnMap::parse("mbrNo,custTelNo").unwrap();
    let types = CaseTypes::parse("10", "10020").unwrap();
    let good = b"mbrNo,custTelNo\nM-1,010-5555-0001\nM-2,010-5555-0002\n".to_vec();
    let bad = b"mbrNo,custTelNo\nM-1,010-5555-0001\n,not-a-phone\n".to_vec();
    let before = w.writes();
    match s.import(&key(), map(), &types, bad.clone()).await {
        Err(CounselError::Sheet(SheetError::Rows(rows))) => {
            assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [3, 3], "{rows:?}");
        }
        other => panic!("{other:?}"),
    }
    let preview = s.preview(map(), &types, bad).await.unwrap();
    assert_eq!(preview.len(), 2);
    assert!(preview[0].case.is_ok() && preview[1].case.is_err());
    assert_eq!(w.writes(), before, "a refused import and a preview write nothing");
    let imported = s.import(&key(), map(), &types, good).await.unwrap();
    assert_eq!(imported.outcomes.len(), 2);
    let missing = CaseTypes::parse("10", "777").unwrap();
    assert!(matches!(s.save_one(&key(), &missing, Some("M-3"), None, None).await, Err(CounselError::QueueNotFound(_))));
    let none = s.save_one(&key(), &types, None, None, Some("text")).await.unwrap_err();
    assert_eq!(field(&none), "mbrNo");
    let long = "M".repeat(41);
    assert_eq!(field(&s.save_one(&key(), &types, Some(&long), None, None).await.unwrap_err()), "mbrNo");
    let one = s.save_one(&key(), &types, Some("M-3"), Some("O-3"), None).await.unwrap();
    let case = s.case(one.outcomes[0].cnsl_no).await.unwrap().case;
    assert_eq!((case.queue.detail.as_str(), case.ob_typ_no.as_deref()), ("10020", Some("10020")));
    assert_eq!(
        (case.mbr_no.as_deref(), case.ord_no.as_deref(), case.cust_tel.as_ref()),
        (Some("M-3"), Some("O-3"), None)
    );
}

#[tokio::test]
async fn the_export_writes_times_in_the_counsel_zone() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    w.join(&k, "cs-1", 5).await;
    let s = w.service();
    let types = CaseTypes::parse("10", "10020").unwrap();
    s.save_one(&key(), &types, Some("M-1"), None, None).await.unwrap();
    let bytes = s.export(&CaseFilter { mbr_no: Some("M-1".into()), ..CaseFilter::default() }).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(",ASSIGNED,cs-1,2026-11-26 1:00:00.0 +09:00:00"), "{text}");
    assert_eq!(w.workbook.written.lock().unwrap()[0].whole_hours(), 9);
    let none = s.export(&CaseFilter { mbr_no: Some("M-9".into()), ..CaseFilter::default() }).await.unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn statistics_compare_each_member_within_its_queue() {
    let w = World::new();
    let k = w.queue("50", "10020").await;
    w.join(&k, "cs-1", 10).await;
    w.join(&k, "cs-2", 10).await;
    let s = w.service();
    let types = CaseTypes::parse("10", "10020").unwrap();
    for n in 0..4 {
        s.save_one(&key(), &types, Some(&format!("M-{n}")), None, None).await.unwrap();
    }
    let range = s.stats_range(Some("today"), None, None).unwrap();
    let rows = s.stats(None, None, None, range).await.unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!((row.stats.auto_assigned, row.actual_share, row.weight_share), (2, 50.0, 50.0));
    }
    assert!(s.stats_range(Some("year"), None, None).is_err());
}
