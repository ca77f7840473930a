//! Many concurrent intakes against few order lines: every line's delivered count equals
//! its assignments, nothing is over-delivered, and the sum of deliveries equals the
//! leads delivered.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::{LeadFields, NewLead};
use domain::order::NewOrderLines;
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{ReferenceRepository, UserRepository};
use infra::intake::{IntakeIds, IntakeOutcome};
use infra::leads::SeaLeadRepository;
use infra::orders::SeaOrderRepository;
use infra::reference::SeaReferenceRepository;
use infra::users::SeaUserRepository;
use sea_orm::{ConnectionTrait, Statement};
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 4);
    concurrent_intakes_never_over_deliver_and_counters_agree => concurrency_body;
}

async fn count(db: &TestDb, sql: &str) -> i64 {
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
    let orders = SeaOrderRepository::new(db.db.clone());
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
