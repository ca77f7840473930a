//! Counsel allocation on both databases (issue #8): fairness by weight (1,000 cases over
//! weights 1/2/3), round robin, least loaded, no burst after a toggle, capacity, sweeps
//! (toggle on, completion, removal), manual assignment in the ledger, concurrent imports,
//! all-or-nothing refusals and the stored explanation. Every outcome is checked against
//! the rows too (`counsel_cases`, `counsel_members`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use domain::counsel::{
    AssignKind, CaseFilter, CaseOutcome, CaseStatus, CounselError, ManagerRefusal, MemberTerms, Membership,
    NewCounselCase, QueueKey, shares,
};
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::pii::{PersonName, PhoneNumber};
use domain::ports::UserRepository;
use domain::reference::AllocationPolicy;
use infra::counsel::SeaCounselRepository;
use infra::users::SeaUserRepository;
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    weighted_1_2_3_over_1000_cases_lands_within_one_of_each_share => fairness_body;
    round_robin_splits_equally => round_robin_body;
    least_loaded_picks_the_least_loaded => least_loaded_body;
    a_manager_toggled_off_and_on_gets_no_burst => no_burst_body;
    nobody_passes_capacity_and_the_rest_waits => capacity_body;
    switching_to_y_sweeps_the_backlog_oldest_first => toggle_sweep_body;
    completing_a_case_sweeps_the_next_waiting_one => complete_sweep_body;
    a_manual_assignment_counts_in_the_ledger => manual_body;
    two_imports_at_once_never_assign_a_case_twice => concurrent_imports_body;
    removing_a_member_returns_its_open_cases => remove_member_body;
    refusals_write_nothing => refusals_body;
    auto_assignments_keep_their_explanation => explanation_body;
    every_assignment_writes_its_event_to_the_operator => events_body;
}

// ---------------------------------------------------------------------------------------
// Setup (shared with `counsel_fixture`)

pub(crate) struct World {
    pub(crate) repo: Arc<SeaCounselRepository>,
    keyring: Arc<infra::crypto::Keyring>,
    users: SeaUserRepository,
    operator: Uuid,
    partner: Uuid,
}

pub(crate) async fn world(db: &TestDb) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let operator = infra::fixtures::org_id_by_code(db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let partner = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    World {
        repo: Arc::new(SeaCounselRepository::new(db.db.clone(), Arc::clone(&keyring))),
        users: SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring)),
        keyring,
        operator,
        partner,
    }
}

pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// An active user named 상담원 of `org` (no phone or email), stored.
pub(crate) async fn insert_user(
    users: &SeaUserRepository,
    login: &str,
    org: Uuid,
    role: Role,
    dept: Option<&str>,
) -> User {
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(login).unwrap(),
        role,
        team_id: dept.map(str::to_owned),
        name: PersonName::parse("상담원").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    };
    users.insert(&user).await.unwrap();
    user
}

async fn user(w: &World, login: &str, org: Uuid, role: Role, dept: Option<&str>) -> User {
    insert_user(&w.users, login, org, role, dept).await
}

pub(crate) async fn manager(w: &World, login: &str) -> User {
    user(w, login, w.operator, Role::CsManager, Some("CS1")).await
}

fn key(detail: &str) -> QueueKey {
    QueueKey::parse("50", detail).unwrap()
}

pub(crate) async fn queue(w: &World, detail: &str, policy: AllocationPolicy) -> QueueKey {
    let k = key(detail);
    w.repo.create_queue(&k, "아웃바운드", policy, t0()).await.unwrap();
    k
}

pub(crate) async fn join(w: &World, k: &QueueKey, u: &User, weight: u32, capacity: u32, possible: bool) -> Membership {
    w.repo.add_member(k, u.id, MemberTerms::new(weight, capacity).unwrap(), possible, "admin", t0()).await.unwrap()
}

fn case(n: usize) -> NewCounselCase {
    NewCounselCase {
        cnsl_typ_no: "OB01".to_owned(),
        ob_typ_no: Some("7".to_owned()),
        mbr_no: Some(format!("M{n}")),
        ord_no: Some(format!("O{n}")),
        accp_cont: Some(format!("문의 내용 {n}")),
        cust_nm: Some(PersonName::parse("홍길동").unwrap()),
        cust_tel: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        as_id: None,
    }
}

fn cases(from: usize, n: usize) -> Vec<NewCounselCase> {
    (from..from + n).map(case).collect()
}

async fn create(w: &World, k: &QueueKey, from: usize, n: usize, at: OffsetDateTime) -> Vec<CaseOutcome> {
    w.repo.create_cases(k, &cases(from, n), "importer", at).await.unwrap()
}

/// Assignments per membership among the outcomes.
fn tally(outcomes: &[CaseOutcome]) -> HashMap<i64, u64> {
    let mut counts = HashMap::new();
    for o in outcomes {
        if let Some((n, _)) = o.assignee {
            *counts.entry(n).or_default() += 1;
        }
    }
    counts
}

pub(crate) async fn scalar(db: &TestDb, sql: &str) -> i64 {
    let row =
        db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql.to_owned())).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Each member's `open_cases` equals its assigned rows and stays within its capacity;
/// no case is assigned without a member.
pub(crate) async fn check_rows(db: &TestDb) {
    let drift = scalar(
        db,
        "SELECT COUNT(*) FROM counsel_members m WHERE m.open_cases <> (SELECT COUNT(*) FROM counsel_cases c \
         WHERE c.auto_div_no = m.auto_div_no AND c.status = 'ASSIGNED')",
    )
    .await;
    assert_eq!(drift, 0, "open_cases matches the assigned rows");
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM counsel_members WHERE open_cases > capacity").await, 0);
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM counsel_cases WHERE status = 'ASSIGNED' AND (auto_div_no IS NULL OR \
             assignee_user_id IS NULL OR assigned_at IS NULL OR assign_kind IS NULL)"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM counsel_cases WHERE status = 'WAITING' AND auto_div_no IS NOT NULL").await,
        0
    );
}

// ---------------------------------------------------------------------------------------
// Fairness

async fn fairness_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "100", AllocationPolicy::Weighted).await;
    let mut members = Vec::new();
    for (i, weight) in [1u32, 2, 3].into_iter().enumerate() {
        let u = manager(&w, &format!("cs{i}")).await;
        members.push(join(&w, &k, &u, weight, 10_000, true).await);
    }
    let outcomes = create(&w, &k, 0, 1_000, t0()).await;
    let counts = tally(&outcomes);
    let mut summary = Vec::new();
    for (m, weight) in members.iter().zip([1.0_f64, 2.0, 3.0]) {
        let got = counts.get(&m.auto_div_no).copied().unwrap_or(0);
        let share = 1_000.0 * weight / 6.0;
        assert!((got as f64 - share).abs() <= 1.0, "weight {weight}: {got} vs share {share:.2}");
        summary.push(format!("w{weight}={got} (share {share:.2})"));
    }
    println!("[{:?}] fairness 1,000 cases, weights 1/2/3: {}", db.backend, summary.join(", "));
    assert_eq!(counts.values().sum::<u64>(), 1_000);
    // The statistics tell the same story.
    let stats = w.repo.stats(None, Some("100"), None, None, None).await.unwrap();
    let per: Vec<_> = stats.iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(per.iter().map(|s| s.auto_assigned).sum::<u64>(), 1_000);
    for ((m, s), (actual, expected)) in stats.iter().zip(shares(&per)) {
        assert_eq!(s.auto_assigned, counts[&m.auto_div_no]);
        assert_eq!(s.open, s.auto_assigned);
        assert!((actual - expected).abs() < 0.2, "{actual} vs {expected}");
    }
    check_rows(&db).await;
}

async fn round_robin_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "101", AllocationPolicy::RoundRobin).await;
    let mut members = Vec::new();
    for (i, weight) in [1u32, 5, 9].into_iter().enumerate() {
        let u = manager(&w, &format!("rr{i}")).await;
        members.push(join(&w, &k, &u, weight, 1_000, true).await);
    }
    // Weights are ignored by ROUND_ROBIN; one call of 150 and one of 151.
    let mut outcomes = create(&w, &k, 0, 150, t0()).await;
    let counts = tally(&outcomes);
    assert!(members.iter().all(|m| counts[&m.auto_div_no] == 50), "{counts:?}");
    outcomes.extend(create(&w, &k, 150, 151, t0()).await);
    let counts = tally(&outcomes);
    let mut values: Vec<u64> = members.iter().map(|m| counts[&m.auto_div_no]).collect();
    values.sort_unstable();
    assert_eq!(values, vec![100, 100, 101]);
    check_rows(&db).await;
}

async fn least_loaded_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "102", AllocationPolicy::LeastLoaded).await;
    let mut members = Vec::new();
    for i in 0..3 {
        let u = manager(&w, &format!("ll{i}")).await;
        members.push(join(&w, &k, &u, 1, 100, true).await);
    }
    let first = create(&w, &k, 0, 6, t0()).await;
    assert!(members.iter().all(|m| tally(&first)[&m.auto_div_no] == 2));
    // Member 0 finishes both of its cases, member 1 one of its: loads 0, 1, 2.
    let done: Vec<&CaseOutcome> = first.iter().filter(|o| o.assignee.unwrap().0 == members[0].auto_div_no).collect();
    for o in done {
        w.repo.complete_case(o.cnsl_no, "cs", t0()).await.unwrap();
    }
    let one = first.iter().find(|o| o.assignee.unwrap().0 == members[1].auto_div_no).unwrap();
    w.repo.complete_case(one.cnsl_no, "cs", t0()).await.unwrap();
    // Loads 0/1/2: member 0 takes two (0→1, then 1 ties with member 1 … ), never member 2
    // before the others catch up.
    let next = create(&w, &k, 6, 3, t0()).await;
    let order: Vec<i64> = next.iter().map(|o| o.assignee.unwrap().0).collect();
    assert_eq!(order[0], members[0].auto_div_no, "the least loaded first: {order:?}");
    assert!(!order[..2].contains(&members[2].auto_div_no), "{order:?}");
    let loads: Vec<u64> =
        w.repo.memberships(None, Some("102"), None).await.unwrap().iter().map(|m| m.open_cases).collect();
    assert_eq!(loads, vec![2, 2, 2]);
    // Every stored explanation ranks by load first.
    for o in &next {
        let c = w.repo.case(o.cnsl_no).await.unwrap().unwrap();
        let ex = c.explanation.unwrap();
        let loads: Vec<i64> =
            ex["considered"].as_array().unwrap().iter().map(|c| c["load"].as_i64().unwrap()).collect();
        assert!(loads.windows(2).all(|p| p[0] <= p[1]), "{ex}");
    }
    check_rows(&db).await;
}

async fn no_burst_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "103", AllocationPolicy::Weighted).await;
    let mut members = Vec::new();
    for i in 0..3 {
        let u = manager(&w, &format!("nb{i}")).await;
        members.push(join(&w, &k, &u, 1, 10_000, true).await);
    }
    let c = members[2].auto_div_no;
    create(&w, &k, 0, 31, t0()).await;
    w.repo.set_possible(&[c], false, "admin", t0()).await.unwrap();
    let away = create(&w, &k, 31, 40, t0()).await;
    assert!(!tally(&away).contains_key(&c), "switched off: nothing");
    w.repo.set_possible(&[c], true, "admin", t0()).await.unwrap();
    // Back: its next picks follow the weights, no catch-up run.
    let back = create(&w, &k, 71, 6, t0()).await;
    let counts = tally(&back);
    assert_eq!(counts.get(&c).copied().unwrap_or(0), 2, "{counts:?}");
    for m in &members {
        assert_eq!(counts[&m.auto_div_no], 2, "{counts:?}");
    }
    let more = create(&w, &k, 77, 30, t0()).await;
    assert_eq!(tally(&more)[&c], 10);
    check_rows(&db).await;
}

// ---------------------------------------------------------------------------------------
// Capacity and sweeps

async fn capacity_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "104", AllocationPolicy::Weighted).await;
    let a = join(&w, &k, &manager(&w, "cap-a").await, 3, 2, true).await;
    let b = join(&w, &k, &manager(&w, "cap-b").await, 1, 3, true).await;
    let outcomes = create(&w, &k, 0, 10, t0()).await;
    let counts = tally(&outcomes);
    assert_eq!((counts[&a.auto_div_no], counts[&b.auto_div_no]), (2, 3));
    assert_eq!(outcomes.iter().filter(|o| o.assignee.is_none()).count(), 5);
    let waiting = w.repo.waiting_cases(Some(&k)).await.unwrap();
    assert_eq!(waiting.len(), 5);
    // The manual-assignment list is oldest first: the last five created, in order.
    let expected: Vec<Uuid> = outcomes[5..].iter().map(|o| o.cnsl_no).collect();
    assert_eq!(waiting.iter().map(|c| c.cnsl_no).collect::<Vec<_>>(), expected);
    assert!(waiting.iter().all(|c| c.status == CaseStatus::Waiting && c.assignee_user_id.is_none()));
    // More capacity sweeps the backlog.
    let a2 = w.repo.update_member(a.auto_div_no, MemberTerms::new(3, 4).unwrap(), "admin", t0()).await.unwrap();
    assert_eq!(a2.open_cases, 4);
    assert_eq!(w.repo.waiting_cases(Some(&k)).await.unwrap().len(), 3);
    check_rows(&db).await;
}

async fn toggle_sweep_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "105", AllocationPolicy::RoundRobin).await;
    let a = join(&w, &k, &manager(&w, "tg-a").await, 1, 3, false).await;
    let b = join(&w, &k, &manager(&w, "tg-b").await, 1, 3, false).await;
    let mut outcomes = Vec::new();
    for i in 0..5 {
        outcomes.extend(create(&w, &k, i, 1, t0() + Duration::seconds(i64::try_from(i).unwrap())).await);
    }
    assert!(outcomes.iter().all(|o| o.assignee.is_none()));
    let on = w.repo.set_possible(&[a.auto_div_no], true, "admin", t0() + Duration::minutes(1)).await.unwrap();
    assert_eq!((on.len(), on[0].possible, on[0].open_cases), (1, true, 3));
    for (i, o) in outcomes.iter().enumerate() {
        let c = w.repo.case(o.cnsl_no).await.unwrap().unwrap();
        if i < 3 {
            assert_eq!(c.auto_div_no, Some(a.auto_div_no), "the oldest three went to A");
            assert_eq!(c.assign_kind, Some(AssignKind::Auto));
        } else {
            assert_eq!(c.status, CaseStatus::Waiting);
        }
    }
    // Switching on several at once (one already on) sweeps the rest.
    w.repo.set_possible(&[a.auto_div_no, b.auto_div_no], true, "admin", t0()).await.unwrap();
    assert!(w.repo.waiting_cases(Some(&k)).await.unwrap().is_empty());
    let managers = w.repo.managers(Some("CS1"), None).await.unwrap();
    assert_eq!(managers.len(), 2);
    assert!(managers.iter().all(|m| m.memberships.len() == 1 && m.memberships[0].possible));
    assert!(w.repo.managers(Some("CS9"), None).await.unwrap().is_empty());
    assert_eq!(w.repo.managers(None, Some("tg-b")).await.unwrap().len(), 1);
    check_rows(&db).await;
}

async fn complete_sweep_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "106", AllocationPolicy::RoundRobin).await;
    let a = join(&w, &k, &manager(&w, "cp-a").await, 1, 1, true).await;
    let mut outcomes = Vec::new();
    for i in 0..3 {
        outcomes.extend(create(&w, &k, i, 1, t0() + Duration::seconds(i64::try_from(i).unwrap())).await);
    }
    assert_eq!(outcomes[0].assignee.map(|x| x.0), Some(a.auto_div_no));
    assert!(outcomes[1].assignee.is_none() && outcomes[2].assignee.is_none());
    let later = t0() + Duration::minutes(5);
    w.repo.complete_case(outcomes[0].cnsl_no, "cs", later).await.unwrap();
    let first = w.repo.case(outcomes[0].cnsl_no).await.unwrap().unwrap();
    assert_eq!(first.status, CaseStatus::Completed);
    assert!(first.completed_at.is_some());
    let second = w.repo.case(outcomes[1].cnsl_no).await.unwrap().unwrap();
    assert_eq!((second.status, second.auto_div_no), (CaseStatus::Assigned, Some(a.auto_div_no)));
    assert_eq!(w.repo.case(outcomes[2].cnsl_no).await.unwrap().unwrap().status, CaseStatus::Waiting);
    // Completing twice, or a waiting case, is refused.
    let again = w.repo.complete_case(outcomes[0].cnsl_no, "cs", later).await;
    assert!(matches!(again, Err(CounselError::CaseNotAssigned(_))), "{again:?}");
    let stats = w.repo.stats(None, Some("106"), None, None, None).await.unwrap();
    assert_eq!((stats[0].1.auto_assigned, stats[0].1.completed, stats[0].1.open), (2, 1, 1));
    check_rows(&db).await;
}

async fn manual_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "107", AllocationPolicy::RoundRobin).await;
    let ua = manager(&w, "mn-a").await;
    let a = join(&w, &k, &ua, 1, 10, false).await;
    let b = join(&w, &k, &manager(&w, "mn-b").await, 1, 3, true).await;
    // B alone takes three and is full; two more wait.
    let first = create(&w, &k, 0, 3, t0()).await;
    assert!(first.iter().all(|o| o.assignee.map(|x| x.0) == Some(b.auto_div_no)));
    let waiting = create(&w, &k, 3, 2, t0() + Duration::seconds(1)).await;
    assert!(waiting.iter().all(|o| o.assignee.is_none()));
    // A person gives both to A (switched off: allowed; the choice is theirs).
    for o in &waiting {
        let done = w.repo.manual_assign(o.cnsl_no, ua.id, "lead", t0() + Duration::seconds(2)).await.unwrap();
        assert_eq!(done.assignee, Some((a.auto_div_no, ua.id)));
        let c = w.repo.case(o.cnsl_no).await.unwrap().unwrap();
        assert_eq!((c.status, c.assign_kind), (CaseStatus::Assigned, Some(AssignKind::Manual)));
        assert_eq!(c.explanation.unwrap()["by"], "lead");
    }
    // Manual assignment of an assigned case is refused.
    let again = w.repo.manual_assign(waiting[0].cnsl_no, ua.id, "lead", t0()).await;
    assert!(matches!(again, Err(CounselError::CaseNotWaiting(_))), "{again:?}");
    // A back to Y, B's cases done: B is owed the next two (A was charged for its two).
    w.repo.set_possible(&[a.auto_div_no], true, "admin", t0() + Duration::seconds(3)).await.unwrap();
    for o in &first {
        w.repo.complete_case(o.cnsl_no, "cs", t0() + Duration::seconds(4)).await.unwrap();
    }
    let next = create(&w, &k, 5, 4, t0() + Duration::seconds(5)).await;
    let order: Vec<i64> = next.iter().map(|o| o.assignee.unwrap().0).collect();
    assert_eq!(&order[..2], &[b.auto_div_no, b.auto_div_no], "{order:?}");
    assert_eq!(order.iter().filter(|n| **n == b.auto_div_no).count(), 3, "{order:?}");
    let stats = w.repo.stats(None, Some("107"), None, None, None).await.unwrap();
    let sa = &stats.iter().find(|(m, _)| m.auto_div_no == a.auto_div_no).unwrap().1;
    assert_eq!((sa.manual_assigned, sa.auto_assigned), (2, 1));
    check_rows(&db).await;
}

async fn concurrent_imports_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "108", AllocationPolicy::Weighted).await;
    let mut members = Vec::new();
    for (i, weight) in [1u32, 2, 3].into_iter().enumerate() {
        members.push(join(&w, &k, &manager(&w, &format!("cc{i}")).await, weight, 50, true).await);
    }
    // Four imports of 100 released together (a barrier), so they contend for the queue.
    let start = Arc::new(tokio::sync::Barrier::new(4));
    let mut tasks = Vec::new();
    for t in 0..4 {
        let repo = Arc::clone(&w.repo);
        let k = k.clone();
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            repo.create_cases(&k, &cases(t * 100, 100), "importer", OffsetDateTime::now_utc()).await.unwrap()
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let ids: HashSet<Uuid> = all.iter().map(|o| o.cnsl_no).collect();
    assert_eq!(ids.len(), 400);
    let counts = tally(&all);
    for m in &members {
        assert_eq!(counts[&m.auto_div_no], 50, "every member filled exactly to capacity: {counts:?}");
    }
    assert_eq!(all.iter().filter(|o| o.assignee.is_none()).count(), 250);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM counsel_cases WHERE status = 'ASSIGNED'").await, 150);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM counsel_cases").await, 400);
    assert_eq!(scalar(&db, "SELECT MAX(picks) FROM counsel_queues").await, 150);
    check_rows(&db).await;
}

async fn remove_member_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "109", AllocationPolicy::RoundRobin).await;
    let a = join(&w, &k, &manager(&w, "rm-a").await, 1, 10, true).await;
    let b = join(&w, &k, &manager(&w, "rm-b").await, 1, 6, true).await;
    let outcomes = create(&w, &k, 0, 8, t0()).await;
    assert_eq!((tally(&outcomes)[&a.auto_div_no], tally(&outcomes)[&b.auto_div_no]), (4, 4));
    let returned = w.repo.remove_member(a.auto_div_no, "admin", t0()).await.unwrap();
    assert_eq!(returned, 4);
    // B had room for two: the two oldest of A's went to B, two wait.
    let left = w.repo.memberships(None, Some("109"), None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].auto_div_no, left[0].open_cases), (b.auto_div_no, 6));
    assert_eq!(w.repo.waiting_cases(Some(&k)).await.unwrap().len(), 2);
    let removed = w.repo.remove_member(a.auto_div_no, "admin", t0()).await;
    assert!(matches!(removed, Err(CounselError::MemberNotFound(_))), "{removed:?}");
    // The removed manager may join again.
    let back = w.repo.add_member(&k, a.user_id, MemberTerms::new(1, 1).unwrap(), true, "admin", t0()).await.unwrap();
    assert_ne!(back.auto_div_no, a.auto_div_no);
    assert_eq!(back.open_cases, 1);
    check_rows(&db).await;
}

// ---------------------------------------------------------------------------------------
// Refusals and explanations

async fn refusals_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "110", AllocationPolicy::Weighted).await;
    let dup = w.repo.create_queue(&k, "again", AllocationPolicy::RoundRobin, t0()).await;
    assert!(matches!(dup, Err(CounselError::QueueExists(_))), "{dup:?}");
    let ua = manager(&w, "rf-a").await;
    let a = join(&w, &k, &ua, 1, 5, false).await;
    // set_possible with one unknown number: nothing changes.
    let mixed = w.repo.set_possible(&[a.auto_div_no, 999_999], true, "admin", t0()).await;
    assert!(matches!(mixed, Err(CounselError::MemberNotFound(999_999))), "{mixed:?}");
    assert!(!w.repo.memberships(None, Some("110"), None).await.unwrap()[0].possible);
    // Unknown queue: nothing written.
    let missing = w.repo.create_cases(&key("999"), &cases(0, 3), "importer", t0()).await;
    assert!(matches!(missing, Err(CounselError::QueueNotFound(_))), "{missing:?}");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM counsel_cases").await, 0);
    // Who may join.
    let member = user(&w, "partner-1", w.partner, Role::Member, None).await;
    let refused = w.repo.add_member(&k, member.id, MemberTerms::new(1, 1).unwrap(), true, "admin", t0()).await;
    assert!(matches!(refused, Err(CounselError::NotAManager(ManagerRefusal::NotCsManager))), "{refused:?}");
    let twice = w.repo.add_member(&k, ua.id, MemberTerms::new(1, 1).unwrap(), true, "admin", t0()).await;
    assert!(matches!(twice, Err(CounselError::AlreadyMember)), "{twice:?}");
    let ghost = w.repo.add_member(&k, Uuid::now_v7(), MemberTerms::new(1, 1).unwrap(), true, "admin", t0()).await;
    assert!(matches!(ghost, Err(CounselError::NotAManager(ManagerRefusal::UserNotFound))), "{ghost:?}");
    let admin = user(&w, "ops-admin", w.operator, Role::Admin, Some("CS2")).await;
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM counsel_members").await, 1);
    // checkValidateManager.
    assert_eq!(w.repo.check_manager("rf-a", Some(&k), None).await.unwrap(), Err(ManagerRefusal::AlreadyMember));
    assert_eq!(w.repo.check_manager("nobody", Some(&k), None).await.unwrap(), Err(ManagerRefusal::UserNotFound));
    assert_eq!(w.repo.check_manager("partner-1", Some(&k), None).await.unwrap(), Err(ManagerRefusal::UserNotFound));
    assert_eq!(
        w.repo.check_manager("ops-admin", Some(&k), Some("CS1")).await.unwrap(),
        Err(ManagerRefusal::DepartmentMismatch)
    );
    assert_eq!(w.repo.check_manager("ops-admin", Some(&k), Some("CS2")).await.unwrap(), Ok(()));
    assert_eq!(
        w.repo.check_manager("ops-admin", Some(&key("998")), None).await.unwrap(),
        Err(ManagerRefusal::QueueNotFound)
    );
    assert_eq!(w.repo.check_manager("ops-admin", None, None).await.unwrap(), Ok(()), "no queue: may be a manager");
    assert_eq!(
        w.repo.check_manager("rf-a", None, None).await.unwrap(),
        Ok(()),
        "a member of one queue may join others"
    );
    assert_eq!(w.repo.check_manager("partner-1", None, None).await.unwrap(), Err(ManagerRefusal::UserNotFound));
    let mut gone = admin.clone();
    gone.status = UserStatus::Deleted;
    w.users.update(&gone).await.unwrap();
    assert_eq!(w.repo.check_manager("ops-admin", Some(&k), None).await.unwrap(), Err(ManagerRefusal::UserInactive));
    // Manual assignment: not a member, over capacity.
    let waiting = create(&w, &k, 0, 6, t0()).await;
    let other = manager(&w, "rf-b").await;
    let not_member = w.repo.manual_assign(waiting[0].cnsl_no, other.id, "lead", t0()).await;
    assert!(matches!(not_member, Err(CounselError::NotAMember)), "{not_member:?}");
    for o in &waiting[..5] {
        w.repo.manual_assign(o.cnsl_no, ua.id, "lead", t0()).await.unwrap();
    }
    let full = w.repo.manual_assign(waiting[5].cnsl_no, ua.id, "lead", t0()).await;
    assert!(matches!(full, Err(CounselError::OverCapacity(n)) if n == a.auto_div_no), "{full:?}");
    assert_eq!(w.repo.case(waiting[5].cnsl_no).await.unwrap().unwrap().status, CaseStatus::Waiting);
    let unknown = w.repo.manual_assign(Uuid::now_v7(), ua.id, "lead", t0()).await;
    assert!(matches!(unknown, Err(CounselError::CaseNotFound(_))), "{unknown:?}");
    check_rows(&db).await;
}

async fn explanation_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "111", AllocationPolicy::Weighted).await;
    let a = join(&w, &k, &manager(&w, "ex-a").await, 2, 10, true).await;
    let b = join(&w, &k, &manager(&w, "ex-b").await, 1, 10, false).await;
    let outcomes = create(&w, &k, 0, 2, t0()).await;
    let c = w.repo.case(outcomes[0].cnsl_no).await.unwrap().unwrap();
    let ex = c.explanation.expect("an auto assignment keeps its explanation");
    assert_eq!(ex["policy"], "WEIGHTED");
    assert_eq!(ex["kind"], "AUTO");
    assert_eq!(ex["chosen"], a.auto_div_no);
    assert_eq!(ex["considered"][0]["autoDivNo"], a.auto_div_no);
    assert!(ex["considered"][0]["credit"].is_i64());
    assert_eq!(ex["skipped"][0]["autoDivNo"], b.auto_div_no);
    assert_eq!(ex["skipped"][0]["reason"], "UNAVAILABLE");
    // PII round trip and the export filters.
    assert_eq!(c.cust_tel.unwrap().e164(), PhoneNumber::parse("010-1234-5678").unwrap().e164());
    assert_eq!(c.cust_nm.unwrap().as_str(), "홍길동");
    let sealed =
        scalar(&db, "SELECT COUNT(*) FROM counsel_cases WHERE cust_tel_enc IS NOT NULL AND cust_tel_bidx IS NOT NULL")
            .await;
    assert_eq!(sealed, 2);
    let by_member =
        w.repo.list_cases(&CaseFilter { mbr_no: Some("M1".to_owned()), ..CaseFilter::default() }).await.unwrap();
    assert_eq!(by_member.len(), 1);
    let by_text =
        w.repo.list_cases(&CaseFilter { accp_cont: Some("내용 0".to_owned()), ..CaseFilter::default() }).await.unwrap();
    assert_eq!(by_text.iter().map(|c| c.cnsl_no).collect::<Vec<_>>(), vec![outcomes[0].cnsl_no]);
    let wildcard =
        w.repo.list_cases(&CaseFilter { accp_cont: Some("%".to_owned()), ..CaseFilter::default() }).await.unwrap();
    assert!(wildcard.is_empty(), "LIKE wildcards are not patterns here");
    assert_eq!(w.repo.list_cases(&CaseFilter::default()).await.unwrap().len(), 2);
}

async fn assigned_events(db: &TestDb, w: &World) -> Vec<crate::outbox_rows::Stored> {
    crate::outbox_rows::events(db, &w.keyring, "counsel.case.assigned").await
}

/// Every assignment (a new case's, a manual one, a sweep's after a completion or a
/// switch to `Y`) writes one `counsel.case.assigned` to the operator org in its
/// transaction; a bulk creation writes all of its events with one insert; a refusal
/// writes none.
async fn events_body(db: TestDb) {
    let w = world(&db).await;
    let k = queue(&w, "110", AllocationPolicy::RoundRobin).await;
    join(&w, &k, &manager(&w, "ev-a").await, 1, 2, true).await;
    let ub = manager(&w, "ev-b").await;
    let b = join(&w, &k, &ub, 1, 5, false).await;
    assert!(assigned_events(&db, &w).await.is_empty());

    let use_case = format!("counsel-events-{}", Uuid::new_v4());
    let (first, _) = crate::counting::counted(&use_case, create(&w, &k, 0, 3, t0())).await;
    // The cases' insert and the two events' insert.
    assert_eq!(crate::counting::inserts(&use_case), 2, "{:?}", crate::counting::by_kind(&use_case));
    let seen = assigned_events(&db, &w).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (event, outcome) in seen.iter().zip(&first) {
        assert_eq!(event.org_id, w.operator.to_string());
        assert_eq!(event.envelope["orgCode"], "ldbds-operator");
        let data = event.data();
        assert_eq!(data["cnslNo"], outcome.cnsl_no.to_string());
        assert_eq!(data["aempId"], "ev-a");
        assert_eq!((data["autoDivGbCd"].as_str(), data["autoDivDtlNo"].as_str()), (Some("50"), Some("110")));
        assert!(data["assignedAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(data.as_object().unwrap().len(), 5, "ids, codes and times only: {data}");
    }
    assert!(first[2].assignee.is_none(), "A is full, B off: the third waits");

    // Manual: to B (switched off, a person's choice).
    w.repo.manual_assign(first[2].cnsl_no, ub.id, "lead", t0()).await.unwrap();
    let seen = assigned_events(&db, &w).await;
    assert_eq!(seen.len(), 3);
    assert_eq!(
        (seen[2].data()["cnslNo"].as_str(), seen[2].data()["aempId"].as_str()),
        (Some(first[2].cnsl_no.to_string().as_str()), Some("ev-b"))
    );

    // Refused: the case is no longer waiting. No event.
    let before = crate::outbox_rows::count_all(&db).await;
    assert!(w.repo.manual_assign(first[2].cnsl_no, ub.id, "lead", t0()).await.is_err());
    assert_eq!(crate::outbox_rows::count_all(&db).await, before);

    // Two more wait (A full, B off); completing one of A's sweeps one to A, switching B on
    // sweeps the other to B.
    let waiting = create(&w, &k, 3, 2, t0() + Duration::seconds(1)).await;
    assert!(waiting.iter().all(|o| o.assignee.is_none()));
    assert_eq!(assigned_events(&db, &w).await.len(), 3, "nothing assigned, nothing written");
    w.repo.complete_case(first[0].cnsl_no, "cs", t0() + Duration::seconds(2)).await.unwrap();
    let seen = assigned_events(&db, &w).await;
    assert_eq!(seen.len(), 4);
    assert_eq!(
        (seen[3].data()["cnslNo"].as_str(), seen[3].data()["aempId"].as_str()),
        (Some(waiting[0].cnsl_no.to_string().as_str()), Some("ev-a"))
    );
    w.repo.set_possible(&[b.auto_div_no], true, "admin", t0() + Duration::seconds(3)).await.unwrap();
    let seen = assigned_events(&db, &w).await;
    assert_eq!(seen.len(), 5);
    assert_eq!(
        (seen[4].data()["cnslNo"].as_str(), seen[4].data()["aempId"].as_str()),
        (Some(waiting[1].cnsl_no.to_string().as_str()), Some("ev-b"))
    );
    check_rows(&db).await;
}
