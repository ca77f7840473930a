//! Distribution and recall under concurrency: many tasks moving the same leads at once
//! never leave a lead with two open assignments or none; a transfer of many leads keeps
//! its round-trip budget and restores exactly what it should.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::{LeadFields, NewLead};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::UserRepository;
use infra::leads::SeaLeadRepository;
use infra::users::SeaUserRepository;
use sea_orm::DbBackend;
use testkit::TestDb;

use crate::counting::counted;
use crate::outbox_rows;
use time::OffsetDateTime;
use uuid::Uuid;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_distributions_and_recalls_keep_one_open_assignment_per_lead => concurrency_body;
    a_distribution_and_a_recall_keep_the_round_trip_budget => budget_body;
    a_transfer_writes_its_event_and_a_refused_one_none => events_body;
}

fn user(org: Uuid, mohom: &str, role: Role) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role,
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: Some(Email::parse("u@example.com").unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

/// Two leaders and two members of the demo org, and `n` leads registered to the leaders
/// in turn.
struct World {
    keyring: Arc<infra::crypto::Keyring>,
    leads: Arc<SeaLeadRepository>,
    leaders: [User; 2],
    members: [User; 2],
    ids: Vec<Uuid>,
}

async fn world(db: &TestDb, n: usize) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let product = infra::fixtures::product_id_by_code(db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    let users = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring));
    let leads = Arc::new(SeaLeadRepository::new(db.db.clone(), Arc::clone(&keyring)));
    let leaders = [user(org, "l-1", Role::Leader), user(org, "l-2", Role::Leader)];
    let members = [user(org, "m-1", Role::Member), user(org, "m-2", Role::Member)];
    for u in leaders.iter().chain(&members) {
        users.insert(u).await.unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..n {
        let owner = &leaders[i % 2];
        let phone = format!("010-2000-{:04}", i);
        let product_text = product.to_string();
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some("홍길동"),
            phone: Some(&phone),
            region: Some("서울"),
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, OffsetDateTime::now_utc().date()).unwrap();
        ids.push(leads.register(owner, &new, OffsetDateTime::now_utc()).await.unwrap().0);
    }
    World { keyring, leads, leaders, members, ids }
}

async fn budget_body(db: TestDb) {
    let World { leads, leaders, members, ids, .. } = world(&db, 60).await;
    let leader = &leaders[0];
    let mine: Vec<Uuid> = ids.iter().step_by(2).copied().collect();
    // Half of them used before they move: a recall gives each lead back its own rights,
    // so the recall's moves are not alike.
    for id in mine.iter().step_by(2) {
        let access = domain::ports::PiiAccess {
            org_id: leader.org_id,
            user_id: Some(leader.id),
            actor: format!("user:{}", leader.id),
            subject_kind: "lead",
            subject_id: *id,
            fields: vec!["phone"],
            endpoint: "test".to_owned(),
            request_id: None,
            at: OffsetDateTime::now_utc(),
        };
        leads.use_lead(*id, leader, access).await.unwrap().unwrap();
    }
    let run = Uuid::new_v4();
    let (distribute, recall) = (format!("distribute-{run}"), format!("recall-{run}"));
    // BEGIN, the read, the write, COMMIT. On PostgreSQL the event's outbox insert is one
    // more part of the write's CTE; SQLite writes the three parts and then the event, as
    // four statements in process (it has no data-modifying CTEs).
    let budget = if db.db.backend() == DbBackend::Postgres { 4 } else { 7 };

    let (moved, sent) =
        counted(&distribute, leads.distribute(leader, &members[0], &mine, OffsetDateTime::now_utc())).await;
    assert_eq!(moved.unwrap().unwrap().len(), mine.len());
    assert_eq!(sent, budget, "one distribution of {} leads", mine.len());
    for id in &mine {
        let lead = leads.get(*id).await.unwrap().unwrap();
        let now = lead.assignment.unwrap();
        assert_eq!(now.owner_user_id, members[0].id);
        assert_eq!(now.distributor_user_id, Some(leader.id));
        assert!(now.used_at.is_none(), "the recipient has not used it yet");
        assert!(lead.last_distributed_at.is_some());
    }

    let (back, sent) = counted(&recall, leads.recall(leader, &mine, OffsetDateTime::now_utc())).await;
    assert_eq!(back.unwrap().unwrap().len(), mine.len());
    assert_eq!(sent, budget, "one recall of {} leads", mine.len());
    for (k, id) in mine.iter().enumerate() {
        let lead = leads.get(*id).await.unwrap().unwrap();
        let now = lead.assignment.unwrap();
        assert_eq!(now.owner_user_id, leader.id);
        assert_eq!(now.used_at.is_some(), k % 2 == 0, "lead {k} gets back its own used state");
        let history = leads.history(*id).await.unwrap();
        let ends: Vec<Option<&str>> = history.iter().map(|a| a.end_reason.as_deref()).collect();
        assert_eq!(ends, [Some("DISTRIBUTED"), Some("RECALLED"), None], "lead {k}: {history:?}");
    }
    assert_eq!(leads.leads_without_exactly_one_open_assignment().await.unwrap(), 0);
}

async fn concurrency_body(db: TestDb) {
    let World { leads, leaders, members, ids, .. } = world(&db, 12).await;
    let ids = Arc::new(ids);
    let leaders = Arc::new(leaders);
    let members = Arc::new(members);
    let mut tasks = Vec::new();
    for t in 0..8usize {
        let (leads, ids, leaders, members) =
            (Arc::clone(&leads), Arc::clone(&ids), Arc::clone(&leaders), Arc::clone(&members));
        tasks.push(tokio::spawn(async move {
            let mut moved = 0u32;
            for round in 0..12usize {
                let leader = &leaders[(t + round) % 2];
                let member = &members[(t * 7 + round) % 2];
                let start = (t * 3 + round * 5) % ids.len();
                let batch: Vec<Uuid> = (0..4)
                    .map(|k| ids[(start + k * 2) % ids.len()])
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let outcome = if (t + round) % 3 == 0 {
                    leads.recall(leader, &batch, OffsetDateTime::now_utc()).await
                } else {
                    leads.distribute(leader, member, &batch, OffsetDateTime::now_utc()).await
                };
                match outcome {
                    Ok(Ok(done)) => moved += u32::try_from(done.len()).unwrap(),
                    Ok(Err(_refusal)) => {}
                    Err(domain::error::RepoError::Conflict(_)) => {}
                    Err(other) => panic!("unexpected failure under concurrency: {other:?}"),
                }
            }
            moved
        }));
    }
    let mut total_moved = 0;
    for task in tasks {
        total_moved += task.await.unwrap();
    }
    assert!(total_moved > 0, "some transfers happened");
    assert_eq!(leads.leads_without_exactly_one_open_assignment().await.unwrap(), 0);
    for id in ids.iter() {
        let lead = leads.get(*id).await.unwrap().unwrap();
        let history = leads.history(*id).await.unwrap();
        let open: Vec<_> = history.iter().filter(|a| a.ended_at.is_none()).collect();
        assert_eq!(open.len(), 1, "lead {id}: {history:?}");
        let current = lead.assignment.expect("an owner");
        assert_eq!((open[0].id, open[0].owner_user_id), (current.id, current.owner_user_id), "the lead row agrees");
    }
}

async fn events_body(db: TestDb) {
    let World { keyring, leads, leaders, members, ids } = world(&db, 8).await;
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let leader = &leaders[0];
    let mut mine: Vec<Uuid> = ids.iter().step_by(2).copied().collect();
    mine.sort_unstable();
    let theirs = ids[1];
    let before = outbox_rows::count_all(&db).await;

    // Refused (a lead of the other leader): nothing moves, no event.
    let refused = leads.distribute(leader, &members[0], &[mine[0], theirs], OffsetDateTime::now_utc()).await;
    assert!(refused.unwrap().is_err());
    assert_eq!(outbox_rows::count_all(&db).await, before, "a refused transfer writes no event");

    // Two to one member, two to the other: a recall of all four takes back from both.
    leads.distribute(leader, &members[0], &mine[..2], OffsetDateTime::now_utc()).await.unwrap().unwrap();
    leads.distribute(leader, &members[1], &mine[2..], OffsetDateTime::now_utc()).await.unwrap().unwrap();
    let distributed = outbox_rows::events(&db, &keyring, "lead.distributed").await;
    assert_eq!(distributed.len(), 2, "{distributed:?}");
    for (event, (member, part)) in distributed.iter().zip([(&members[0], &mine[..2]), (&members[1], &mine[2..])]) {
        assert_eq!(event.org_id, org.to_string());
        assert_eq!(event.envelope["orgCode"], "mohom");
        let data = event.data();
        let want: Vec<String> = part.iter().map(Uuid::to_string).collect();
        assert_eq!(data["leadIds"], serde_json::json!(want));
        assert_eq!(data["fromMohomId"], leader.mohom_id.as_str());
        assert_eq!(data["toMohomId"], member.mohom_id.as_str());
        assert!(data["distributedAt"].as_str().unwrap().ends_with('Z'), "{data}");
        assert_eq!(data.as_object().unwrap().len(), 4, "ids, codes and times only: {data}");
    }

    // A recall refused by a lead it may not take back writes nothing either.
    let before = outbox_rows::count_all(&db).await;
    assert!(leads.recall(leader, &[mine[0], theirs], OffsetDateTime::now_utc()).await.unwrap().is_err());
    assert_eq!(outbox_rows::count_all(&db).await, before);

    leads.recall(leader, &mine, OffsetDateTime::now_utc()).await.unwrap().unwrap();
    let recalled = outbox_rows::events(&db, &keyring, "lead.recalled").await;
    assert_eq!(recalled.len(), 2, "one per member taken back from: {recalled:?}");
    let mut froms: Vec<(String, serde_json::Value)> = recalled
        .iter()
        .map(|e| {
            assert_eq!(e.org_id, org.to_string());
            assert_eq!(e.data()["toMohomId"], leader.mohom_id.as_str());
            assert!(e.data()["recalledAt"].is_string());
            (e.data()["fromMohomId"].as_str().unwrap().to_owned(), e.data()["leadIds"].clone())
        })
        .collect();
    froms.sort_by(|a, b| a.0.cmp(&b.0));
    let ids_of = |part: &[Uuid]| serde_json::json!(part.iter().map(Uuid::to_string).collect::<Vec<_>>());
    assert_eq!(
        froms,
        [
            (members[0].mohom_id.as_str().to_owned(), ids_of(&mine[..2])),
            (members[1].mohom_id.as_str().to_owned(), ids_of(&mine[2..]))
        ]
    );
}
