//! Many concurrent intakes against few order lines: every line's delivered count equals
//! its assignments, nothing is over-delivered, and the sum of deliveries equals the
//! leads delivered.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::intake::{IntakeIds, IntakeOutcome};
use domain::lead::{LeadFields, NewLead};
use domain::order::NewOrderLines;
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{ReferenceRepository, UserRepository};
use infra::leads::SeaLeadRepository;
use infra::orders::SeaOrderRepository;
use infra::reference::SeaReferenceRepository;
use infra::users::SeaUserRepository;
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_intakes_never_over_deliver_and_counters_agree => concurrency_body;
    concurrent_intakes_share_fairly_and_the_ledger_stays_consistent => fairness_body;
    a_cancel_racing_deliveries_settles_exactly => cancel_race_body;
    the_daily_limit_counts_days_in_the_product_time_zone => daily_limit_body;
    a_batch_decides_exactly_what_single_intakes_decide => batch_equivalence_body;
}

pub(super) async fn count(db: &TestDb, sql: &str) -> i64 {
    let backend = db.db.backend();
    let row = db.db.conn().query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn concurrency_body(db: TestDb) {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let product_id = infra::fixtures::product_id_by_code(db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let product = SeaReferenceRepository::new(db.db.conn().clone()).find_product(product_id).await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    let users = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring));
    let orders = SeaOrderRepository::new(db.db.clone(), Arc::clone(&keyring));
    let leads = Arc::new(SeaLeadRepository::new(db.db.clone(), keyring));
    let now = OffsetDateTime::now_utc();
    for i in 0..3 {
        let buyer = User {
            id: domain::ids::new_id(),
            org_id: org,
            mohom_id: MohomId::parse(&format!("b-{i}")).unwrap(),
            role: Role::Member,
            team_id: None,
            name: PersonName::parse("구매자").unwrap(),
            phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
            email: Some(Email::parse("b@example.com").unwrap()),
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
        };
        users.insert(&buyer).await.unwrap();
        let lines = NewOrderLines::parse(&[("서울".to_owned(), 3)], None, |_| true).unwrap();
        orders.create(&buyer, &product, &lines, None, now).await.unwrap();
    }
    let product = Arc::new(product);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (leads, product) = (Arc::clone(&leads), Arc::clone(&product));
        tasks.push(tokio::spawn(async move {
            let mut delivered = 0;
            for k in 0..4 {
                let product_text = product.id.to_string();
                let phone = format!("010-7{t:03}-{k:04}");
                let fields = LeadFields {
                    product_id: Some(&product_text),
                    name: Some("홍길동"),
                    phone: Some(&phone),
                    region: Some("서울"),
                    ..LeadFields::default()
                };
                let new = NewLead::parse(&fields, OffsetDateTime::now_utc().date()).unwrap();
                match leads
                    .intake(
                        &product,
                        &new,
                        &IntakeIds::default(),
                        org,
                        domain::ids::new_id(),
                        OffsetDateTime::now_utc(),
                    )
                    .await
                {
                    Ok(IntakeOutcome::Delivered { .. }) => delivered += 1,
                    Ok(IntakeOutcome::Pooled { .. }) => {}
                    other => panic!("unexpected intake outcome under concurrency: {other:?}"),
                }
            }
            delivered
        }));
    }
    let mut delivered = 0;
    for task in tasks {
        delivered += task.await.unwrap();
    }
    assert_eq!(delivered, 9, "the 9 units of the 3 orders are all delivered, the rest pooled");
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM order_lines WHERE delivered > quantity").await,
        0,
        "never over-delivered"
    );
    let line_total = count(&db, "SELECT CAST(COALESCE(SUM(delivered), 0) AS BIGINT) AS n FROM order_lines").await;
    let order_total = count(&db, "SELECT CAST(COALESCE(SUM(delivered), 0) AS BIGINT) AS n FROM orders").await;
    let assignments =
        count(&db, "SELECT COUNT(*) AS n FROM assignments WHERE source = 'ORDER' AND ended_at IS NULL").await;
    let assigned = count(&db, "SELECT COUNT(*) AS n FROM leads WHERE status = 'ASSIGNED'").await;
    let pooled = count(&db, "SELECT COUNT(*) AS n FROM leads WHERE status = 'POOL'").await;
    assert_eq!((line_total, order_total, assignments, assigned, pooled), (9, 9, 9, 9, 23));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM orders WHERE status = 'COMPLETED'").await, 3);
}

/// The demo fixtures, a product, and repositories over one database.
pub(super) struct World {
    pub(super) org: Uuid,
    pub(super) product: Arc<domain::reference::Product>,
    users: SeaUserRepository,
    pub(super) orders: Arc<SeaOrderRepository>,
    pub(super) leads: Arc<SeaLeadRepository>,
}

pub(super) async fn world(db: &TestDb, code: &str) -> World {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let product_id = infra::fixtures::product_id_by_code(db.db.conn(), code).await.unwrap().unwrap();
    let product = SeaReferenceRepository::new(db.db.conn().clone()).find_product(product_id).await.unwrap().unwrap();
    let keyring = Arc::new(testkit::keyring());
    World {
        org,
        product: Arc::new(product),
        users: SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring)),
        orders: Arc::new(SeaOrderRepository::new(db.db.clone(), Arc::clone(&keyring))),
        leads: Arc::new(SeaLeadRepository::new(db.db.clone(), keyring)),
    }
}

pub(super) async fn buyer(w: &World, name: &str) -> User {
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: domain::ids::new_id(),
        org_id: w.org,
        mohom_id: MohomId::parse(name).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("구매자").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: Some(Email::parse("b@example.com").unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    };
    w.users.insert(&user).await.unwrap();
    user
}

pub(super) async fn order(
    w: &World,
    name: &str,
    region: &str,
    quantity: i64,
    daily_limit: Option<i64>,
    at: OffsetDateTime,
) -> Uuid {
    let user = buyer(w, name).await;
    let lines = NewOrderLines::parse(&[(region.to_owned(), quantity)], daily_limit, |_| true).unwrap();
    w.orders.create(&user, &w.product, &lines, None, at).await.unwrap()
}

pub(super) async fn intake_one(
    leads: &SeaLeadRepository,
    product: &domain::reference::Product,
    org: Uuid,
    phone: &str,
    region: &str,
    at: OffsetDateTime,
) -> IntakeOutcome {
    let product_text = product.id.to_string();
    let fields = LeadFields {
        product_id: Some(&product_text),
        name: Some("홍길동"),
        phone: Some(phone),
        region: Some(region),
        ..LeadFields::default()
    };
    let new = NewLead::parse(&fields, at.date()).unwrap();
    leads.intake(product, &new, &IntakeIds::default(), org, domain::ids::new_id(), at).await.unwrap()
}

/// 8 streams of 12 intakes each against 4 lines of 100 (ROUND_ROBIN): 96 picks.
async fn fairness_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let now = OffsetDateTime::now_utc();
    for i in 0..4 {
        order(&w, &format!("fair-{i}"), "서울", 100, None, now).await;
    }
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (leads, product, org) = (Arc::clone(&w.leads), Arc::clone(&w.product), w.org);
        tasks.push(tokio::spawn(async move {
            for k in 0..12 {
                let outcome = intake_one(
                    &leads,
                    &product,
                    org,
                    &format!("010-6{t:03}-{k:04}"),
                    "서울",
                    OffsetDateTime::now_utc(),
                )
                .await;
                assert!(matches!(outcome, IntakeOutcome::Delivered { .. }), "{outcome:?}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rows = db
        .db
        .conn()
        .query_all_raw(Statement::from_string(
            db.db.backend(),
            "SELECT l.delivered AS delivered, l.credit AS credit, l.credit_pick AS credit_pick, \
             (SELECT COUNT(*) FROM assignments a WHERE a.order_line_id = l.id AND a.source = 'ORDER') AS assigned \
             FROM order_lines l ORDER BY l.id",
        ))
        .await
        .unwrap();
    let picks = count(&db, "SELECT picks AS n FROM allocation_pools").await;
    assert_eq!(picks, 96, "one pick per delivered lead");
    let mut live_sum = 0;
    for row in &rows {
        let delivered: i64 = row.try_get("", "delivered").unwrap();
        let assigned: i64 = row.try_get("", "assigned").unwrap();
        let credit: i64 = row.try_get("", "credit").unwrap();
        let at: Option<i64> = row.try_get("", "credit_pick").unwrap();
        assert_eq!(delivered, assigned, "a line's count is its assignments");
        assert!((23..=25).contains(&delivered), "within one of the fair share of 24: {delivered}");
        // Live credit under equal weights: stored credit + picks since it was stored.
        live_sum += credit + (picks - at.expect("every line joined the ledger"));
    }
    assert_eq!(live_sum, 0, "the eligible lines' credits are conserved (they joined at 0)");
}

/// 8 streams deliver into one order of 60 while its buyer cancels it.
async fn cancel_race_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let now = OffsetDateTime::now_utc();
    let user = buyer(&w, "cancel-race").await;
    let lines = NewOrderLines::parse(&[("서울".to_owned(), 60)], None, |_| true).unwrap();
    let order_id = w.orders.create(&user, &w.product, &lines, None, now).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (leads, product, org) = (Arc::clone(&w.leads), Arc::clone(&w.product), w.org);
        tasks.push(tokio::spawn(async move {
            for k in 0..10 {
                intake_one(&leads, &product, org, &format!("010-5{t:03}-{k:04}"), "서울", OffsetDateTime::now_utc())
                    .await;
                // Paced, so the cancel lands mid-stream however fast a batch is.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }));
    }
    // The cancel comes once deliveries have started (batched intakes may fill the order
    // within a fixed delay).
    for _ in 0..5_000 {
        if w.orders.get(user.id, order_id).await.unwrap().unwrap().delivered >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let cancelled = w.orders.cancel(user.id, order_id, OffsetDateTime::now_utc()).await.unwrap().unwrap().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let after = w.orders.get(user.id, order_id).await.unwrap().unwrap();
    assert_eq!(after.status, domain::order::OrderStatus::Cancelled);
    assert_eq!(after.delivered, cancelled.delivered, "nothing was delivered after the cancel");
    let unit = w.product.unit_price;
    let undelivered = 60 - after.delivered;
    let refund = domain::order::amounts(unit, undelivered, w.product.prices_exclude_vat).unwrap().total;
    assert_eq!(after.refunded, refund, "delivered + refunded = ordered");
    let assigned = count(&db, "SELECT COUNT(*) AS n FROM assignments WHERE source = 'ORDER'").await;
    assert_eq!(u64::try_from(assigned).unwrap(), after.delivered);
    let pooled = count(&db, "SELECT COUNT(*) AS n FROM leads WHERE status = 'POOL'").await;
    assert_eq!(u64::try_from(pooled).unwrap(), 80 - after.delivered, "the rest waits in the pool");
}

/// A daily limit of 2 in Asia/Seoul: 14:59 UTC is 23:59 there, 15:00 UTC a new day.
async fn daily_limit_body(db: TestDb) {
    let w = world(&db, "INS-HEALTH").await;
    let evening = time::macros::datetime!(2026-11-24 14:00 UTC);
    order(&w, "paced", "부산", 10, Some(2), evening).await;
    let at = |minutes: i64| evening + Duration::minutes(minutes);
    let mut outcomes = Vec::new();
    for (k, minute) in [0, 10, 59].into_iter().enumerate() {
        outcomes.push(intake_one(&w.leads, &w.product, w.org, &format!("010-4000-{k:04}"), "부산", at(minute)).await);
    }
    assert!(matches!(outcomes[0], IntakeOutcome::Delivered { .. }));
    assert!(matches!(outcomes[1], IntakeOutcome::Delivered { .. }));
    assert!(matches!(outcomes[2], IntakeOutcome::Pooled { .. }), "the third of the Seoul day waits: {:?}", outcomes[2]);
    // Midnight in Seoul: a new day, the limit starts again.
    let next = intake_one(&w.leads, &w.product, w.org, "010-4000-0100", "부산", at(60)).await;
    assert!(matches!(next, IntakeOutcome::Delivered { .. }), "{next:?}");
    assert_eq!(count(&db, "SELECT delivered_today AS n FROM orders").await, 1);
    assert_eq!(count(&db, "SELECT delivered AS n FROM orders").await, 3);
}

/// The same orders (WEIGHTED, two regions, one daily limit) in two pairs of regions; the
/// same 60 leads taken one intake at a time in the first pair and in batches of 7 (the
/// import's path: deliveries decided in memory, rows written once) in the second. Every
/// outcome, line counter, ledger row, order and pool clock must be the same.
async fn batch_equivalence_body(db: TestDb) {
    let w = world(&db, "INS-CAR").await;
    let now = OffsetDateTime::now_utc();
    let mut order_ids: Vec<Vec<Uuid>> = vec![Vec::new(), Vec::new()];
    let pairs = [("서울", "부산"), ("대구", "인천")];
    // Per order: (region side, quantity) lines and its daily limit.
    type Shape<'a> = (&'a [(usize, i64)], Option<i64>);
    let shapes: [Shape; 3] = [(&[(0, 5), (1, 3)], None), (&[(0, 10)], Some(4)), (&[(0, 7), (1, 6)], None)];
    for (world, (r1, r2)) in pairs.iter().enumerate() {
        for (k, (lines, limit)) in shapes.iter().enumerate() {
            let user = buyer(&w, &format!("eq-{world}-{k}")).await;
            let regions: Vec<(String, i64)> =
                lines.iter().map(|(r, q)| ((if *r == 0 { *r1 } else { *r2 }).to_owned(), *q)).collect();
            let lines = NewOrderLines::parse(&regions, *limit, |_| true).unwrap();
            order_ids[world].push(w.orders.create(&user, &w.product, &lines, None, now).await.unwrap());
        }
    }
    let region_of = |i: usize, world: usize| if i % 3 == 2 { pairs[world].1 } else { pairs[world].0 };
    let label = |outcome: &IntakeOutcome, world: usize| match outcome {
        IntakeOutcome::Delivered { order, .. } => {
            format!("order {}", order_ids[world].iter().position(|o| o == order).unwrap())
        }
        IntakeOutcome::Pooled { .. } => "pooled".to_owned(),
        IntakeOutcome::Duplicate { .. } => "duplicate".to_owned(),
        IntakeOutcome::Held { .. } => "held".to_owned(),
    };
    let mut single = Vec::new();
    for i in 0..60 {
        let outcome = intake_one(&w.leads, &w.product, w.org, &format!("010-4100-{i:04}"), region_of(i, 0), now).await;
        single.push(label(&outcome, 0));
    }
    let product_text = w.product.id.to_string();
    let mut batched = Vec::new();
    let all: Vec<usize> = (0..60).collect();
    for chunk in all.chunks(7) {
        let phones: Vec<String> = chunk.iter().map(|i| format!("010-4200-{i:04}")).collect();
        let batch: Vec<(NewLead, IntakeIds)> = chunk
            .iter()
            .zip(&phones)
            .map(|(i, phone)| {
                let fields = LeadFields {
                    product_id: Some(&product_text),
                    name: Some("홍길동"),
                    phone: Some(phone),
                    region: Some(region_of(*i, 1)),
                    ..LeadFields::default()
                };
                (NewLead::parse(&fields, now.date()).unwrap(), IntakeIds::default())
            })
            .collect();
        let outcomes = w.leads.intake_batch(&w.product, &batch, w.org, domain::ids::new_id(), now).await.unwrap();
        batched.extend(outcomes.iter().map(|o| label(o, 1)));
    }
    assert_eq!(single, batched, "the same lead goes to the same order, in the same order");
    assert!(single.iter().any(|l| l == "pooled") && single.iter().any(|l| l == "order 1"), "{single:?}");
    let backend = db.db.backend();
    let snapshot = |world: usize| {
        let (r1, r2) = pairs[world];
        let ids = order_ids[world].clone();
        let conn = db.db.conn().clone();
        async move {
            let mut out = Vec::new();
            for (k, id) in ids.iter().enumerate() {
                let sql = format!(
                    "SELECT o.status AS status, o.delivered AS od, o.delivered_today AS dt, l.region AS region, \
                     l.delivered AS ld, l.credit AS credit, l.credit_pick AS pick, l.open AS open \
                     FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.id = '{id}' ORDER BY l.region"
                );
                for row in conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap() {
                    let region: String = row.try_get("", "region").unwrap();
                    let side = if region == r1 {
                        "r1"
                    } else if region == r2 {
                        "r2"
                    } else {
                        "?"
                    };
                    out.push(format!(
                        "order {k} {} {} today {} | {side} delivered {} credit {} pick {:?} open {}",
                        row.try_get::<String>("", "status").unwrap(),
                        row.try_get::<i64>("", "od").unwrap(),
                        row.try_get::<i64>("", "dt").unwrap(),
                        row.try_get::<i64>("", "ld").unwrap(),
                        row.try_get::<i64>("", "credit").unwrap(),
                        row.try_get::<Option<i64>>("", "pick").unwrap(),
                        row.try_get::<bool>("", "open").unwrap(),
                    ));
                }
            }
            for region in [r1, r2] {
                let sql = format!("SELECT picks AS n FROM allocation_pools WHERE region = '{region}'");
                let row = conn.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
                out.push(format!("pool picks {}", row.try_get::<i64>("", "n").unwrap()));
            }
            out.sort();
            out
        }
    };
    assert_eq!(snapshot(0).await, snapshot(1).await, "same counters, ledger and pool clocks");
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
