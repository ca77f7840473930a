use domain::ports::ReferenceRepository;
use domain::reference::Country;
use infra::fixtures::{seed_demo, seed_reference};
use infra::reference::SeaReferenceRepository;
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test;
    reference_data_holds_17_korean_and_34_vietnamese_regions => reference_regions_body;
    the_demo_seed_is_idempotent_and_issues_keys_once => demo_seed_idempotent_body;
}

async fn reference_regions_body(db: TestDb) {
    let report = seed_reference(&db.db).await.expect("seed");
    assert_eq!((report.regions, report.as_reasons), (51, 8));
    let repo = SeaReferenceRepository::new(db.db.conn().clone());
    assert_eq!(repo.list_regions(Some(Country::Kr)).await.expect("kr").len(), 17);
    assert_eq!(repo.list_regions(Some(Country::Vn)).await.expect("vn").len(), 34);
    let first = repo.list_regions(None).await.expect("all");
    assert_eq!(first[0].code, "서울");
    assert_eq!(repo.list_as_reasons().await.expect("reasons")[0].label, "결번");
}

async fn demo_seed_idempotent_body(db: TestDb) {
    let now = OffsetDateTime::now_utc();
    let first = seed_demo(&db.db, now).await.expect("first seed");
    assert_eq!(first.new_keys.len(), 2, "one key per demo org");
    let repo = SeaReferenceRepository::new(db.db.conn().clone());
    let product_before = {
        let query = domain::reference::ProductQuery {
            category: None,
            page: Default::default(),
            sort: domain::pagination::Sort::parse(Some("name"), Some("asc")).expect("sort"),
        };
        repo.list_products(&query).await.expect("products")
    };
    assert_eq!(product_before.total, 3, "three of the four demo products are on sale");

    let second = seed_demo(&db.db, now).await.expect("second seed");
    assert!(second.new_keys.is_empty(), "keys are issued once");
    let ids_after: Vec<_> = {
        let query = domain::reference::ProductQuery {
            category: None,
            page: Default::default(),
            sort: domain::pagination::Sort::parse(Some("name"), Some("asc")).expect("sort"),
        };
        repo.list_products(&query).await.expect("products").items.into_iter().map(|p| p.id).collect()
    };
    let ids_before: Vec<_> = product_before.items.into_iter().map(|p| p.id).collect();
    assert_eq!(ids_before, ids_after, "a re-seed keeps product ids");
    assert_eq!(infra::audit::count_action(db.db.conn(), "api_key.created").await.expect("count"), 2);
}
