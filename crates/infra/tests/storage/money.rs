use domain::money::Money;
use domain::ports::ReferenceRepository;
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Product,
};
use infra::reference::{SeaReferenceRepository, upsert_product};
use testkit::TestDb;
use time::OffsetDateTime;

fn product(code: &str, price: &str) -> Product {
    Product {
        id: domain::ids::new_id(),
        code: code.to_owned(),
        name: format!("product {code}"),
        category: "TEST".to_owned(),
        unit_price: price.parse().expect("price"),
        prices_exclude_vat: false,
        allocation_policy: AllocationPolicy::RoundRobin,
        time_zone: "Asia/Seoul".to_owned(),
        duplicate_window_hours: 24,
        on_sale: true,
        as_policy: AsPolicy::new(AsPolicyParts {
            window_hours: 24,
            window_starts_from: AsWindowStart::Assigned,
            allowed_reasons: vec![AsReasonCode::Etc],
            evidence_required: vec![],
            max_rate_percent: 10,
            compensation: Compensation::Refund,
            auto_approve: false,
        })
        .expect("policy"),
    }
}

testkit::on_both_backends! { tokio::test;
    money_round_trips_exactly => money_round_trips_exactly_body;
}

async fn money_round_trips_exactly_body(db: TestDb) {
    let repo = SeaReferenceRepository::new(db.db.conn().clone());
    for (code, price) in [("BIG", "12345678901234.56"), ("DIME", "0.10"), ("WHOLE", "12000"), ("ZERO", "0")] {
        let p = product(code, price);
        let id = upsert_product(db.db.conn(), &p, OffsetDateTime::now_utc()).await.expect("save");
        let back = repo.find_product(id).await.expect("read").expect("exists");
        let expected: Money = price.parse().expect("price");
        assert_eq!(back.unit_price, expected, "{code} on {:?}", db.backend);
        assert_eq!(back.unit_price.to_string(), price, "{code} text on {:?}", db.backend);
    }
}
