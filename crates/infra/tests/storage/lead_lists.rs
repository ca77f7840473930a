//! Model-based test of the lead lists: 10,000 leads over 50 owners; every filter × sort
//! combination of the owned and distributed-away lists returns exactly the rows a
//! straightforward in-memory filter of the same data returns, in the same order.

use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::{AsStatus, LeadFields, LeadSearch, ListScope, ListSortColumn, NewLead, OwnedQuery};
use domain::pagination::{PageRequest, SortOrder};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{PiiAccess, UserRepository};
use infra::leads::SeaLeadRepository;
use infra::users::SeaUserRepository;
use testkit::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

testkit::on_both_backends! { tokio::test;
    every_filter_and_sort_matches_an_in_memory_model => model_body;
}

const LEADS: usize = 10_000;
const OWNERS: usize = 50;

#[derive(Debug, Clone)]
struct Row {
    id: Uuid,
    owner: Uuid,
    product: Uuid,
    provider: Uuid,
    assigned_at: i64,
    used_at: Option<i64>,
    distributed_by: Option<Uuid>,
    distributed_at: Option<i64>,
    latest_as: Option<AsStatus>,
    last4: String,
    name: String,
}

fn user(org: Uuid, i: usize) -> User {
    let now = OffsetDateTime::now_utc();
    User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(&format!("u-{i}")).unwrap(),
        role: if i < 2 { Role::Leader } else { Role::Member },
        team_id: None,
        name: PersonName::parse("사용자").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: Some(Email::parse("u@example.com").unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    }
}

fn ms(at: OffsetDateTime) -> i64 {
    infra::to_millis(at)
}

fn expected(rows: &[Row], q: &OwnedQuery, search: Option<&str>) -> Vec<Uuid> {
    let mut hits: Vec<&Row> = rows
        .iter()
        .filter(|r| match q.scope {
            ListScope::Owned(u) => r.owner == u,
            ListScope::DistributedBy(u) => r.distributed_by == Some(u) && r.owner != u,
        })
        .filter(|r| q.used.is_none_or(|u| r.used_at.is_some() == u))
        .filter(|r| q.has_as.is_none_or(|h| r.latest_as.is_some_and(AsStatus::counts_as_has_as) == h))
        .filter(|r| q.product_id.is_none_or(|p| r.product == p))
        .filter(|r| q.provider_id.is_none_or(|p| r.provider == p))
        .filter(|r| match search {
            None => true,
            Some(s) if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => r.last4 == s,
            Some(s) => r.name == s,
        })
        .collect();
    let key = |r: &Row| match q.sort_column {
        ListSortColumn::AssignedAt => Some(r.assigned_at),
        ListSortColumn::UsedAt => r.used_at,
        ListSortColumn::DistributedAt => r.distributed_at,
    };
    hits.sort_by(|a, b| {
        let ordering = match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y).then(a.id.to_string().cmp(&b.id.to_string())),
            (Some(_), None) => return std::cmp::Ordering::Less,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (None, None) => a.id.to_string().cmp(&b.id.to_string()),
        };
        if q.sort_order == SortOrder::Desc { ordering.reverse() } else { ordering }
    });
    hits.into_iter().map(|r| r.id).collect()
}

async fn model_body(db: TestDb) {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let products = [
        infra::fixtures::product_id_by_code(db.db.conn(), "INS-HEALTH").await.unwrap().unwrap(),
        infra::fixtures::product_id_by_code(db.db.conn(), "INS-CAR").await.unwrap().unwrap(),
    ];
    let keyring = Arc::new(testkit::keyring());
    let users_repo = SeaUserRepository::new(db.db.conn().clone(), Arc::clone(&keyring));
    let leads = SeaLeadRepository::new(db.db.clone(), keyring);
    let users: Vec<User> = (0..OWNERS).map(|i| user(org, i)).collect();
    for u in &users {
        users_repo.insert(u).await.unwrap();
    }
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::days(30);
    let names = ["홍길동", "김철수", "이영희", "Nguyen Van A"];
    let mut rows: Vec<Row> = Vec::with_capacity(LEADS);
    for i in 0..LEADS {
        let owner = &users[i % OWNERS];
        let product = products[i % 3 % 2];
        let phone = format!("010-{:04}-{:04}", i / 100, (i * 37) % 50);
        let name = names[i % names.len()];
        let product_text = product.to_string();
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some(name),
            phone: Some(&phone),
            region: Some("서울"),
            ..LeadFields::default()
        };
        let new = NewLead::parse(&fields, base.date()).unwrap();
        let at = base + Duration::seconds(i as i64);
        let (id, _) = leads.register(owner, &new, at).await.unwrap();
        rows.push(Row {
            id,
            owner: owner.id,
            product,
            provider: org,
            assigned_at: ms(at),
            used_at: None,
            distributed_by: None,
            distributed_at: None,
            latest_as: None,
            last4: new.pii.phone.last4().to_owned(),
            name: new.pii.name.as_str().to_owned(),
        });
    }
    // Leaders 0 and 1 distribute some of their leads to members; some are used, some have AS.
    let later = base + Duration::days(1);
    for (k, leader) in users.iter().take(2).enumerate() {
        let mine: Vec<Uuid> = rows.iter().filter(|r| r.owner == leader.id).map(|r| r.id).take(120).collect();
        for (j, chunk) in mine.chunks(30).enumerate() {
            let to = &users[2 + (k * 4 + j) % (OWNERS - 2)];
            let at = later + Duration::seconds((k * 10 + j) as i64);
            let done = leads.distribute(leader, to, chunk, at).await.unwrap().unwrap();
            for (lead_id, _) in done {
                let row = rows.iter_mut().find(|r| r.id == lead_id).unwrap();
                row.owner = to.id;
                row.distributed_by = Some(leader.id);
                row.distributed_at = Some(ms(at));
                row.assigned_at = ms(at);
            }
        }
    }
    let used_base = base + Duration::days(2);
    for i in (0..LEADS).step_by(7) {
        let owner_id = rows[i].owner;
        let owner = users.iter().find(|u| u.id == owner_id).unwrap();
        let at = used_base + Duration::seconds(i as i64);
        let access = PiiAccess {
            org_id: org,
            user_id: Some(owner.id),
            actor: "test".into(),
            subject_kind: "lead",
            subject_id: rows[i].id,
            fields: vec!["name"],
            endpoint: "test".into(),
            request_id: None,
            at,
        };
        leads.use_lead(rows[i].id, owner, access).await.unwrap().unwrap();
        rows[i].used_at = Some(ms(at));
    }
    let statuses =
        [AsStatus::Requested, AsStatus::InReview, AsStatus::Approved, AsStatus::Rejected, AsStatus::Cancelled];
    for i in (3..LEADS).step_by(11) {
        let status = statuses[i % statuses.len()];
        testkit::record_as_status(&db, rows[i].id, rows[i].owner, status, used_base).await.unwrap();
        rows[i].latest_as = Some(status);
    }

    let owners = [users[0].id, users[2].id, users[7].id];
    let mut checked = 0;
    let scopes: Vec<ListScope> = owners
        .iter()
        .map(|o| ListScope::Owned(*o))
        .chain([ListScope::DistributedBy(users[0].id), ListScope::DistributedBy(users[1].id)])
        .collect();
    for scope in scopes {
        let columns: &[ListSortColumn] = match scope {
            ListScope::Owned(_) => &[ListSortColumn::AssignedAt, ListSortColumn::UsedAt],
            ListScope::DistributedBy(_) => &[ListSortColumn::DistributedAt, ListSortColumn::UsedAt],
        };
        for used in [None, Some(true), Some(false)] {
            for has_as in [None, Some(true), Some(false)] {
                for product_id in [None, Some(products[1])] {
                    for provider_id in [None, Some(org), Some(Uuid::now_v7())] {
                        for search in [None, Some("0012"), Some("이영희")] {
                            for &sort_column in columns {
                                for sort_order in [SortOrder::Asc, SortOrder::Desc] {
                                    let q = OwnedQuery {
                                        scope,
                                        used,
                                        has_as,
                                        product_id,
                                        provider_id,
                                        search: search.map(|s| LeadSearch::parse(s).unwrap()),
                                        page: PageRequest::parse(Some("1"), Some("100")).unwrap(),
                                        sort_column,
                                        sort_order,
                                    };
                                    let want = expected(&rows, &q, search);
                                    let got = leads.list_owned(&q).await.unwrap();
                                    let got_ids: Vec<Uuid> = got.items.iter().map(|l| l.id).collect();
                                    let want_page: Vec<Uuid> = want.iter().take(100).copied().collect();
                                    assert_eq!(got.total, want.len() as u64, "total for {q:?}");
                                    assert_eq!(got_ids, want_page, "rows for {q:?}");
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 3 * 3 * 2 * 3 * 3 * 2 * 2);
    // A later page too.
    let q = OwnedQuery {
        scope: ListScope::Owned(users[2].id),
        used: None,
        has_as: None,
        product_id: None,
        provider_id: None,
        search: None,
        page: PageRequest::parse(Some("2"), Some("50")).unwrap(),
        sort_column: ListSortColumn::UsedAt,
        sort_order: SortOrder::Desc,
    };
    let want: Vec<Uuid> = expected(&rows, &q, None).into_iter().skip(50).take(50).collect();
    assert_eq!(leads.list_owned(&q).await.unwrap().items.iter().map(|l| l.id).collect::<Vec<_>>(), want);
}
