//! The reference use cases over the in-memory repository: no database involved.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use domain::pagination::{PageRequest, Sort};
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Country, Product,
    ProductQuery, Region,
};
use domain::service::reference::{ReferenceError, ReferenceService};
use testkit::memory::MemoryReferenceRepository;

fn product(name: &str, price: &str, on_sale: bool) -> Product {
    Product {
        id: domain::ids::new_id(),
        code: name.to_uppercase(),
        name: name.to_owned(),
        category: "INSURANCE".to_owned(),
        unit_price: price.parse().unwrap(),
        prices_exclude_vat: false,
        allocation_policy: AllocationPolicy::Fifo,
        time_zone: "Asia/Seoul".to_owned(),
        duplicate_window_hours: 1,
        on_sale,
        as_policy: AsPolicy::new(AsPolicyParts {
            window_hours: 1,
            window_starts_from: AsWindowStart::Used,
            allowed_reasons: vec![AsReasonCode::Etc],
            evidence_required: vec![AsReasonCode::Etc],
            max_rate_percent: 5,
            compensation: Compensation::Refund,
            auto_approve: false,
        })
        .unwrap(),
    }
}

fn repo() -> MemoryReferenceRepository {
    MemoryReferenceRepository {
        regions: vec![
            Region { code: "서울".into(), name: "서울특별시".into(), country: Country::Kr },
            Region { code: "79".into(), name: "TP Hồ Chí Minh".into(), country: Country::Vn },
        ],
        products: vec![product("a", "3", true), product("b", "1", true), product("c", "2", false)],
        reasons: vec![],
    }
}

#[tokio::test]
async fn the_catalogue_hides_products_off_sale_and_sorts_by_price() {
    let repo = repo();
    let query = ProductQuery {
        category: None,
        page: PageRequest::default(),
        sort: Sort::parse(Some("unitPrice"), Some("asc")).unwrap(),
    };
    let page = ReferenceService::new(&repo).catalogue(&query).await.unwrap();
    let names: Vec<_> = page.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(page.total, 2);
}

#[tokio::test]
async fn the_policy_of_a_product_off_sale_is_still_readable() {
    let repo = repo();
    let off_sale = repo.products[2].id;
    let product = ReferenceService::new(&repo).product(off_sale).await.unwrap();
    assert_eq!(product.as_policy.compensation(), Compensation::Refund);
}

#[tokio::test]
async fn an_unknown_product_is_reported_by_id() {
    let repo = repo();
    let id = domain::ids::new_id();
    let err = ReferenceService::new(&repo).product(id).await.err();
    assert!(matches!(err, Some(ReferenceError::ProductNotFound(missing)) if missing == id));
}

#[tokio::test]
async fn regions_filter_by_country() {
    let repo = repo();
    let vn = ReferenceService::new(&repo).regions(Some(Country::Vn)).await.unwrap();
    assert_eq!(vn.len(), 1);
    assert_eq!(vn[0].code, "79");
}
