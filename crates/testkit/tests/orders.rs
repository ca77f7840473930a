//! The order use cases over the in-memory ports: every rule of `domain::service::orders`
//! without a database.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Mutex;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::order::{LineStatus, OrderStatus};
use domain::pagination::PageRequest;
use domain::pii::PersonName;
use domain::principal::{Credential, Principal};
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Country, OrgKind, Product,
    Region,
};
use domain::service::orders::{OrderListQuery, OrderRefusal, OrderRequest, OrderService, line_amount, line_status};
use testkit::memory::{FixedClock, MemoryOrderRepository, MemoryReferenceRepository};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

fn product(on_sale: bool, exclude_vat: bool) -> Product {
    Product {
        id: domain::ids::new_id(),
        code: "INS".to_owned(),
        name: "보험".to_owned(),
        category: "INSURANCE".to_owned(),
        unit_price: "30000".parse().unwrap(),
        prices_exclude_vat: exclude_vat,
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

fn member(org: Uuid, mohom: &str) -> User {
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("구매자").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: NOW,
        updated_at: NOW,
    }
}

struct World {
    orders: MemoryOrderRepository,
    reference: MemoryReferenceRepository,
    clock: FixedClock,
    on_sale: Product,
    off_sale: Product,
    buyer: Principal,
    other: Principal,
}

impl World {
    fn new() -> Self {
        let on_sale = product(true, true);
        let off_sale = product(false, false);
        let org = domain::ids::new_id();
        let acting = |user: User| Principal {
            org_id: org,
            org_kind: OrgKind::Partner,
            credential: Credential::ApiKey { key_id: Uuid::nil() },
            acting: Some(user),
        };
        Self {
            orders: MemoryOrderRepository::default(),
            reference: MemoryReferenceRepository {
                regions: vec![
                    Region { code: "서울".into(), name: "서울특별시".into(), country: Country::Kr },
                    Region { code: "부산".into(), name: "부산광역시".into(), country: Country::Kr },
                ],
                products: vec![on_sale.clone(), off_sale.clone()],
                reasons: vec![],
            },
            clock: FixedClock(Mutex::new(NOW)),
            on_sale,
            off_sale,
            buyer: acting(member(org, "buyer")),
            other: acting(member(org, "other")),
        }
    }

    fn service(&self) -> OrderService<'_, MemoryOrderRepository, MemoryReferenceRepository, FixedClock> {
        OrderService::new(&self.orders, &self.reference, &self.clock)
    }

    fn request(&self, lines: &[(&str, i64)]) -> OrderRequest {
        OrderRequest {
            product_id: self.on_sale.id.to_string(),
            regions: lines.iter().map(|(r, q)| ((*r).to_owned(), *q)).collect(),
            daily_limit: None,
            memo: None,
        }
    }
}

fn fields(refusal: OrderRefusal) -> Vec<String> {
    match refusal {
        OrderRefusal::Invalid(e) => e.0.into_iter().map(|f| f.field).collect(),
        other => panic!("not a validation refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_order_names_its_first_bad_part_and_writes_nothing() {
    let w = World::new();
    let bad_id = OrderRequest { product_id: "not-a-uuid".to_owned(), ..w.request(&[("도쿄", 0)]) };
    assert_eq!(fields(w.service().place(&w.buyer, bad_id).await.unwrap_err()), ["productId"], "productId first");

    let bad_lines = OrderRequest { daily_limit: Some(0), ..w.request(&[("서울", 0), ("도쿄", 1), ("서울", 2)]) };
    assert_eq!(
        fields(w.service().place(&w.buyer, bad_lines).await.unwrap_err()),
        ["regions[0].quantity", "regions[1].region", "regions[2].region", "dailyLimit"],
        "every bad line at once"
    );
    let empty = w.request(&[]);
    assert_eq!(fields(w.service().place(&w.buyer, empty).await.unwrap_err()), ["regions"]);

    let long = OrderRequest { memo: Some("가".repeat(1001)), ..w.request(&[("서울", 1)]) };
    assert_eq!(fields(w.service().place(&w.buyer, long).await.unwrap_err()), ["memo"]);
    let longest = OrderRequest { memo: Some("가".repeat(1000)), ..w.request(&[("서울", 1)]) };
    assert!(w.service().place(&w.buyer, longest).await.is_ok(), "1000 characters are allowed");
    assert_eq!(w.orders.all().len(), 1, "only the good order was written");
}

#[tokio::test]
async fn only_an_existing_product_on_sale_is_ordered() {
    let w = World::new();
    let unknown = Uuid::now_v7();
    let missing = OrderRequest { product_id: unknown.to_string(), ..w.request(&[("서울", 1)]) };
    assert!(matches!(
        w.service().place(&w.buyer, missing).await,
        Err(OrderRefusal::ProductNotFound(id)) if id == unknown
    ));
    let off = OrderRequest { product_id: w.off_sale.id.to_string(), ..w.request(&[("서울", 1)]) };
    assert!(matches!(
        w.service().place(&w.buyer, off).await,
        Err(OrderRefusal::ProductNotOnSale(id)) if id == w.off_sale.id
    ));
    assert!(w.orders.all().is_empty(), "nothing written");
}

#[tokio::test]
async fn an_order_takes_the_pool_at_once_and_its_lines_say_where_they_are() {
    let w = World::new();
    w.orders.add_to_pool(w.on_sale.id, "서울", 2);
    w.orders.add_to_pool(w.on_sale.id, "부산", 5);
    let request = OrderRequest { memo: Some("   ".to_owned()), ..w.request(&[("서울", 3), ("부산", 2)]) };
    let order = w.service().place(&w.buyer, request).await.unwrap();
    assert_eq!(order.memo, None, "a blank memo is none");
    assert_eq!((order.status, order.quantity, order.delivered), (OrderStatus::InProgress, 5, 4));
    assert_eq!(order.buyer_user_id, w.buyer.acting.as_ref().unwrap().id, "placed for the acting member");
    let statuses: Vec<LineStatus> = order.lines.iter().map(|l| line_status(&order, l)).collect();
    assert_eq!(statuses, [LineStatus::Open, LineStatus::Full]);
    let amounts: Vec<String> = order.lines.iter().map(|l| line_amount(&order, l).unwrap().to_string()).collect();
    assert_eq!(amounts, ["90000", "60000"], "unit price × quantity, before VAT");
    assert_eq!(order.amounts.vat.to_string(), "15000", "the order shows the VAT the price excludes");

    w.orders.add_to_pool(w.on_sale.id, "서울", 10);
    let full = w.service().place(&w.buyer, w.request(&[("서울", 2)])).await.unwrap();
    assert_eq!(full.status, OrderStatus::Completed);

    let limited = OrderRequest { daily_limit: Some(3), ..w.request(&[("서울", 2), ("부산", 2)]) };
    let limited = w.service().place(&w.buyer, limited).await.unwrap();
    assert_eq!(limited.lines.iter().map(|l| l.delivered).collect::<Vec<_>>(), [2, 1], "the daily limit holds");
}

#[tokio::test]
async fn a_cancel_refunds_the_remainder_once_and_closes_open_lines() {
    let w = World::new();
    w.orders.add_to_pool(w.on_sale.id, "서울", 1);
    let order = w.service().place(&w.buyer, w.request(&[("서울", 1), ("부산", 3)])).await.unwrap();

    assert!(matches!(w.service().cancel(&w.other, order.id).await, Err(OrderRefusal::NotFound)), "not theirs");
    let cancelled = w.service().cancel(&w.buyer, order.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.refunded.to_string(), "99000", "3 undelivered × 30000 + 10% VAT");
    assert_eq!(cancelled.cancelled_at, Some(NOW));
    let statuses: Vec<LineStatus> = cancelled.lines.iter().map(|l| line_status(&cancelled, l)).collect();
    assert_eq!(statuses, [LineStatus::Full, LineStatus::Closed], "a full line stays FULL");

    let again = w.service().cancel(&w.buyer, order.id).await.unwrap_err();
    assert!(matches!(again, OrderRefusal::NotCancellable(_)), "{again:?}");
    assert_eq!(again.to_string(), "an order in status CANCELLED cannot be cancelled");

    w.orders.add_to_pool(w.on_sale.id, "서울", 1);
    let completed = w.service().place(&w.buyer, w.request(&[("서울", 1)])).await.unwrap();
    assert!(matches!(w.service().cancel(&w.buyer, completed.id).await, Err(OrderRefusal::NotCancellable(_))));

    let open = w.service().place(&w.buyer, w.request(&[("부산", 1)])).await.unwrap();
    *w.orders.conflict_on_cancel.lock().unwrap() = true;
    let raced = w.service().cancel(&w.buyer, open.id).await.unwrap_err();
    assert!(matches!(raced, OrderRefusal::ChangedMeanwhile(_)));
    assert!(raced.to_string().ends_with("; retry"));
    assert_eq!(w.service().detail(&w.buyer, open.id).await.unwrap().status, OrderStatus::Pending, "unchanged");
}

#[tokio::test]
async fn a_member_reads_only_its_own_orders_filtered_and_summed() {
    let w = World::new();
    let first = w.service().place(&w.buyer, w.request(&[("서울", 2)])).await.unwrap();
    *w.clock.0.lock().unwrap() = NOW + time::Duration::hours(1);
    let second = w.service().place(&w.buyer, w.request(&[("부산", 1)])).await.unwrap();
    w.service().cancel(&w.buyer, second.id).await.unwrap();
    w.service().place(&w.other, w.request(&[("서울", 1)])).await.unwrap();

    assert_eq!(w.service().detail(&w.buyer, first.id).await.unwrap().id, first.id);
    assert!(matches!(w.service().detail(&w.other, first.id).await, Err(OrderRefusal::NotFound)));

    let all = OrderListQuery::default();
    let (page, summary) = w.service().list(&w.buyer, all, PageRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), [second.id, first.id], "newest first");
    assert_eq!((summary.total_orders, summary.total_quantity, summary.remaining_quantity), (2, 3, 2));
    assert_eq!((summary.pending, summary.cancelled), (1, 1));

    let cancelled = OrderListQuery { status: Some("CANCELLED"), ..all };
    let (page, _) = w.service().list(&w.buyer, cancelled, PageRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), [second.id]);
    let before = OrderListQuery { to: Some(" 2026-11-24T09:30:00Z "), ..all };
    let (page, _) = w.service().list(&w.buyer, before, PageRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), [first.id], "`to` excludes, trimmed");
    let from = OrderListQuery { from: Some("2026-11-24T10:00:00Z"), ..all };
    let (page, _) = w.service().list(&w.buyer, from, PageRequest::default()).await.unwrap();
    assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), [second.id], "`from` includes");

    for (query, field) in [
        (OrderListQuery { status: Some("pending"), from: Some("x"), ..all }, "status"),
        (OrderListQuery { product_id: Some("x"), from: Some("x"), ..all }, "productId"),
        (OrderListQuery { from: Some("yesterday"), to: Some("x"), ..all }, "from"),
        (OrderListQuery { to: Some("2026-11-24"), ..all }, "to"),
    ] {
        let refused = w.service().list(&w.buyer, query, PageRequest::default()).await.unwrap_err();
        assert_eq!(fields(refused), [field], "the first bad filter answers");
    }
}

#[tokio::test]
async fn a_call_that_acts_for_no_member_is_refused() {
    let w = World::new();
    let key_only = Principal { acting: None, ..w.buyer.clone() };
    assert!(matches!(w.service().place(&key_only, w.request(&[("서울", 1)])).await, Err(OrderRefusal::NoActingMember)));
    let all = OrderListQuery::default();
    assert!(matches!(
        w.service().list(&key_only, all, PageRequest::default()).await,
        Err(OrderRefusal::NoActingMember)
    ));
    assert!(w.orders.all().is_empty());
}
