//! Intake batched per pool, on both databases: concurrent intakes end exactly as
//! sequential ones would; a poisoned lead fails alone; a phone sent twice in one batch is
//! one lead and one duplicate; a batch's statements stay within the round-trip budget.
//!
//! A batch is forced by holding the pool's lock (and on SQLite the write gate) while the
//! intakes queue, then letting go: the pool's drainer then takes them all at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::error::RepoError;
use domain::intake::{IntakeIds, IntakeOutcome};
use domain::lead::{LeadFields, NewLead};
use infra::db::WriteTxn;
use infra::intake::SOURCE_LEAD_ID_TAKEN;
use infra::statements::{self, Kind};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use testkit::TestDb;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::intake::{World, count, intake_one, order, world};
use crate::counting::by_kind;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_intakes_into_one_pool_end_as_sequential_ones => equivalence_body;
    a_poisoned_lead_fails_alone_and_the_rest_of_its_batch_is_taken => poison_body;
    a_phone_sent_twice_in_one_batch_is_one_lead_and_one_duplicate => duplicate_body;
    a_batch_of_eight_stays_within_the_statement_budget => budget_body;
}

fn new_lead(w: &World, phone: &str, region: &str, gender: Option<&str>) -> NewLead {
    let product = w.product.id.to_string();
    let fields = LeadFields {
        product_id: Some(&product),
        name: Some("홍길동"),
        phone: Some(phone),
        region: Some(region),
        gender,
        ..LeadFields::default()
    };
    NewLead::parse(&fields, OffsetDateTime::now_utc().date()).unwrap()
}

/// Holds the pool's lock (on SQLite, the write gate) until committed or dropped.
async fn hold_pool(db: &TestDb, w: &World, region: &str) -> WriteTxn {
    let txn = db.db.begin_write().await.unwrap();
    infra::pools::lock(&*txn, &w.product.id.to_string(), region).await.unwrap();
    txn
}

/// Waits until `n` intakes wait for the pool's next batch.
async fn until_waiting(w: &World, region: &str, n: usize) {
    for _ in 0..5_000 {
        if w.leads.waiting_intakes(w.product.id, region) >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("{n} intakes never queued for {region}");
}

type Intake = JoinHandle<Result<IntakeOutcome, RepoError>>;

fn spawn_intake(w: &World, use_case: &str, new: NewLead, ids: IntakeIds, source: Uuid) -> Intake {
    let (leads, product, org) = (Arc::clone(&w.leads), Arc::clone(&w.product), w.org);
    let use_case: Arc<str> = Arc::from(use_case);
    tokio::spawn(statements::scoped(use_case, async move {
        leads.intake(&product, &new, &ids, org, source, OffsetDateTime::now_utc()).await
    }))
}

fn total(counts: &BTreeMap<Kind, u64>) -> u64 {
    counts.values().sum()
}

fn backend_name(db: &TestDb) -> &'static str {
    if db.db.backend() == DbBackend::Postgres { "postgres" } else { "sqlite" }
}

async fn run(sql: &str, db: &TestDb) {
    db.db.conn().execute_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap();
}

/// The same three orders in two regions; 24 intakes into the first concurrently (12 of
/// them forced into one batch), 24 into the second one at a time.
async fn equivalence_body(db: TestDb) {
    let w = world(&db, "INS-CAR").await;
    let now = OffsetDateTime::now_utc();
    let regions = ["서울", "부산"];
    let mut orders: Vec<Vec<Uuid>> = vec![Vec::new(), Vec::new()];
    for (side, region) in regions.iter().enumerate() {
        for (k, (quantity, limit)) in [(5, None), (10, Some(4)), (7, None)].into_iter().enumerate() {
            orders[side].push(order(&w, &format!("eqb-{side}-{k}"), region, quantity, limit, now).await);
        }
    }
    let use_case = format!("intake-equivalence-{}", backend_name(&db));
    let held = hold_pool(&db, &w, regions[0]).await;
    let mut tasks: Vec<Intake> = (0..12)
        .map(|i| {
            spawn_intake(
                &w,
                &use_case,
                new_lead(&w, &format!("010-4300-{i:04}"), regions[0], None),
                IntakeIds::default(),
                Uuid::nil(),
            )
        })
        .collect();
    until_waiting(&w, regions[0], 12).await;
    held.commit().await.unwrap();
    tasks.extend((12..24).map(|i| {
        spawn_intake(
            &w,
            &use_case,
            new_lead(&w, &format!("010-4300-{i:04}"), regions[0], None),
            IntakeIds::default(),
            Uuid::nil(),
        )
    }));
    let mut concurrent = Vec::new();
    for task in tasks {
        concurrent.push(task.await.unwrap().unwrap());
    }
    let mut sequential = Vec::new();
    for i in 0..24 {
        sequential.push(intake_one(&w.leads, &w.product, w.org, &format!("010-4400-{i:04}"), regions[1], now).await);
    }
    let tally = |outcomes: &[IntakeOutcome], side: usize| {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for outcome in outcomes {
            let key = match outcome {
                IntakeOutcome::Delivered { order, .. } => {
                    format!("order {}", orders[side].iter().position(|o| o == order).unwrap())
                }
                other => format!("{other:?}").split_whitespace().next().unwrap_or_default().to_owned(),
            };
            *by.entry(key).or_default() += 1;
        }
        by
    };
    assert_eq!(tally(&concurrent, 0), tally(&sequential, 1), "as many delivered to each order, as many pooled");
    assert_eq!(tally(&sequential, 1).get("order 1"), Some(&4), "the daily limit held");
    let state = |side: usize| {
        let ids = orders[side].clone();
        let region = regions[side];
        let conn = db.db.conn().clone();
        let backend = db.db.backend();
        async move {
            let mut out = Vec::new();
            for (k, id) in ids.iter().enumerate() {
                let sql = format!(
                    "SELECT o.status AS status, o.delivered AS od, o.delivered_today AS dt, l.delivered AS ld, \
                     l.credit AS credit, l.credit_pick AS pick, l.open AS open, \
                     (SELECT COUNT(*) FROM assignments a WHERE a.order_line_id = l.id AND a.ended_at IS NULL) AS assigned \
                     FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id = '{id}'"
                );
                for row in conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap() {
                    out.push(format!(
                        "order {k} {} {} today {} | line {} assigned {} credit {} pick {:?} open {}",
                        row.try_get::<String>("", "status").unwrap(),
                        row.try_get::<i64>("", "od").unwrap(),
                        row.try_get::<i64>("", "dt").unwrap(),
                        row.try_get::<i64>("", "ld").unwrap(),
                        row.try_get::<i64>("", "assigned").unwrap(),
                        row.try_get::<i64>("", "credit").unwrap(),
                        row.try_get::<Option<i64>>("", "pick").unwrap(),
                        row.try_get::<bool>("", "open").unwrap(),
                    ));
                }
            }
            let sql = format!("SELECT picks AS n FROM allocation_pools WHERE region = '{region}'");
            let row = conn.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
            out.push(format!("pool picks {}", row.try_get::<i64>("", "n").unwrap()));
            out
        }
    };
    assert_eq!(state(0).await, state(1).await, "same counters, ledger, statuses and pool clock");
    for region in regions {
        let n = |what: &str| format!("SELECT COUNT(*) AS n FROM leads WHERE region = '{region}' AND {what}");
        assert_eq!(count(&db, &n("1 = 1")).await, 24, "{region}: every intake stored once");
        assert_eq!(count(&db, &n("status = 'ASSIGNED'")).await, 16, "{region}");
        assert_eq!(count(&db, &n("status = 'POOL'")).await, 8, "{region}");
    }
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM order_lines WHERE delivered > quantity").await, 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM (SELECT lead_id FROM assignments GROUP BY lead_id HAVING COUNT(*) > 1) x"
        )
        .await,
        0,
        "no lead owned twice"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM leads l WHERE l.owner_user_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM assignments a WHERE a.lead_id = l.id AND a.ended_at IS NULL \
              AND a.owner_user_id = l.owner_user_id AND a.id = l.assignment_id)"
        )
        .await,
        0,
        "every delivered lead's row names its open assignment"
    );
}

/// A trigger refuses any lead stored with gender `FEMALE`: a constraint only storage knows.
async fn poison_leads(db: &TestDb) {
    if db.db.backend() == DbBackend::Postgres {
        run(
            "CREATE FUNCTION poison_lead() RETURNS trigger AS $$ BEGIN \
             IF NEW.gender = 'FEMALE' THEN RAISE EXCEPTION 'poisoned lead'; END IF; RETURN NEW; END $$ \
             LANGUAGE plpgsql",
            db,
        )
        .await;
        run("CREATE TRIGGER poison BEFORE INSERT ON leads FOR EACH ROW EXECUTE FUNCTION poison_lead()", db).await;
    } else {
        run(
            "CREATE TRIGGER poison BEFORE INSERT ON leads WHEN NEW.gender = 'FEMALE' \
             BEGIN SELECT RAISE(ABORT, 'poisoned lead'); END",
            db,
        )
        .await;
    }
}

async fn poison_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let now = OffsetDateTime::now_utc();
    let order_id = order(&w, "poison", "서울", 10, None, now).await;
    poison_leads(&db).await;
    let source = domain::ids::new_id();
    let taken = IntakeIds { source_lead_id: Some("taken".to_owned()), ..IntakeIds::default() };
    let first =
        w.leads.intake(&w.product, &new_lead(&w, "010-4500-9999", "서울", None), &taken, w.org, source, now).await;
    assert!(matches!(first, Ok(IntakeOutcome::Delivered { .. })), "{first:?}");

    let use_case = format!("intake-poison-{}", backend_name(&db));
    let held = hold_pool(&db, &w, "서울").await;
    let mut tasks = Vec::new();
    for k in 0..8 {
        let gender = (k == 0).then_some("FEMALE");
        let ids = if k == 1 { taken.clone() } else { IntakeIds::default() };
        let new = new_lead(&w, &format!("010-4500-{k:04}"), "서울", gender);
        tasks.push(spawn_intake(&w, &use_case, new, ids, source));
    }
    until_waiting(&w, "서울", 8).await;
    held.commit().await.unwrap();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert!(matches!(outcomes[0], Err(RepoError::Unavailable(_))), "the poisoned lead fails: {:?}", outcomes[0]);
    assert!(
        matches!(&outcomes[1], Err(RepoError::Conflict(what)) if what == SOURCE_LEAD_ID_TAKEN),
        "its own error: {:?}",
        outcomes[1]
    );
    for outcome in &outcomes[2..] {
        assert!(matches!(outcome, Ok(IntakeOutcome::Delivered { order, .. }) if *order == order_id), "{outcome:?}");
    }
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads").await, 7, "the first lead and the batch's 6 good ones");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads WHERE gender = 'FEMALE'").await, 0);
    assert_eq!(count(&db, "SELECT delivered AS n FROM orders").await, 7);
    assert_eq!(count(&db, "SELECT delivered AS n FROM order_lines").await, 7);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM assignments").await, 7);
}

async fn duplicate_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let use_case = format!("intake-duplicate-{}", backend_name(&db));
    let held = hold_pool(&db, &w, "대구").await;
    let tasks: Vec<Intake> = ["010-4600-0001", "010-4600-0001", "010-4600-0002"]
        .iter()
        .map(|phone| spawn_intake(&w, &use_case, new_lead(&w, phone, "대구", None), IntakeIds::default(), Uuid::nil()))
        .collect();
    until_waiting(&w, "대구", 3).await;
    held.commit().await.unwrap();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let pooled = |o: &IntakeOutcome| match o {
        IntakeOutcome::Pooled { lead } => Some(*lead),
        _ => None,
    };
    let (a, b) = (&outcomes[0], &outcomes[1]);
    match (a, b) {
        (IntakeOutcome::Duplicate { earlier }, other) | (other, IntakeOutcome::Duplicate { earlier }) => {
            assert_eq!(pooled(other), Some(*earlier), "the duplicate names the lead created in the same batch");
        }
        _ => panic!("one created, one duplicate: {a:?} {b:?}"),
    }
    assert!(pooled(&outcomes[2]).is_some(), "{:?}", outcomes[2]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads").await, 2);
}

async fn budget_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let now = OffsetDateTime::now_utc();
    order(&w, "budget-a", "서울", 20, None, now).await;
    order(&w, "budget-b", "서울", 20, Some(10), now).await;
    let backend = backend_name(&db);

    let one = format!("intake-budget-1-{backend}");
    let outcome =
        spawn_intake(&w, &one, new_lead(&w, "010-4700-9999", "서울", None), IntakeIds::default(), Uuid::nil())
            .await
            .unwrap()
            .unwrap();
    assert!(matches!(outcome, IntakeOutcome::Delivered { .. }), "{outcome:?}");
    let single = by_kind(&one);
    eprintln!("statements, a delivered intake alone ({backend}): {} {single:?}", total(&single));

    let eight = format!("intake-budget-8-{backend}");
    let held = hold_pool(&db, &w, "서울").await;
    let tasks: Vec<Intake> = (0..8)
        .map(|k| {
            let new = new_lead(&w, &format!("010-4700-{k:04}"), "서울", None);
            spawn_intake(&w, &eight, new, IntakeIds::default(), Uuid::nil())
        })
        .collect();
    until_waiting(&w, "서울", 8).await;
    held.commit().await.unwrap();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        assert!(matches!(outcome, IntakeOutcome::Delivered { .. }), "{outcome:?}");
    }
    let batch = by_kind(&eight);
    eprintln!("statements, a batch of 8 delivered intakes ({backend}): {} {batch:?}", total(&batch));
    let of = |counts: &BTreeMap<Kind, u64>, kind: Kind| counts.get(&kind).copied().unwrap_or(0);
    for (label, counts) in [("alone", &single), ("batch of 8", &batch)] {
        assert_eq!(of(counts, Kind::Begin), 1, "{label}: one transaction {counts:?}");
        assert_eq!(of(counts, Kind::Commit), 1, "{label}: {counts:?}");
        assert_eq!(of(counts, Kind::Rollback), 0, "{label}: {counts:?}");
        assert_eq!(of(counts, Kind::Insert), 3, "{label}: the leads, the assignments, their events {counts:?}");
        if backend == "postgres" {
            // The lines, the orders and the pool: one data-modifying CTE.
            assert_eq!((of(counts, Kind::Update), of(counts, Kind::Other)), (0, 1), "{label}: {counts:?}");
        } else {
            assert_eq!(of(counts, Kind::Update), 3, "{label}: the lines, the orders, the pool {counts:?}");
        }
        assert_eq!(of(counts, Kind::Select), 3, "{label}: lock, duplicates, lines with orders {counts:?}");
    }
    assert!(total(&batch) <= 4 * 8, "the intake budget, 4 per intake: {batch:?}");
    assert_eq!(count(&db, "SELECT CAST(SUM(delivered) AS BIGINT) AS n FROM orders").await, 9);
}
