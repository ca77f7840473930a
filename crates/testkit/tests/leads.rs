//! The leads use cases over the in-memory ports: every rule of `domain::service::leads`,
//! no database involved.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Mutex;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::{
    AsStatus, AssignmentSource, LeadFields, ListFilter, ListSortColumn, MAX_METADATA_BYTES, RevealRefusal,
    TransferRefusal, Visibility,
};
use domain::pagination::{PageRequest, SortOrder};
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::UserRepository;
use domain::principal::{Credential, Principal};
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Country, OrgKind, Product,
    Region,
};
use domain::service::leads::{LeadError, LeadService, RevealTrace};
use testkit::memory::{FixedClock, MemoryLeadRepository, MemoryReferenceRepository, MemoryUserRepository};
use time::Duration;
use time::macros::datetime;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0xA);
const OTHER_ORG: Uuid = Uuid::from_u128(0xB);

fn user(org: Uuid, mohom: &str, role: Role) -> User {
    let at = datetime!(2026-11-01 09:00 UTC);
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
        created_at: at,
        updated_at: at,
    }
}

fn product() -> Product {
    Product {
        id: Uuid::from_u128(0x9),
        code: "INS-HEALTH".to_owned(),
        name: "실손보험".to_owned(),
        category: "INSURANCE".to_owned(),
        unit_price: "1000".parse().unwrap(),
        prices_exclude_vat: false,
        allocation_policy: AllocationPolicy::Fifo,
        time_zone: "Asia/Seoul".to_owned(),
        duplicate_window_hours: 1,
        on_sale: true,
        as_policy: AsPolicy::new(AsPolicyParts {
            window_hours: 1,
            window_starts_from: AsWindowStart::Used,
            allowed_reasons: vec![AsReasonCode::Etc],
            evidence_required: vec![],
            max_rate_percent: 5,
            compensation: Compensation::Refund,
            auto_approve: false,
        })
        .unwrap(),
    }
}

struct World {
    leads: MemoryLeadRepository,
    reference: MemoryReferenceRepository,
    users: MemoryUserRepository,
    clock: FixedClock,
    leader: User,
    member: User,
    other_member: User,
}

impl World {
    fn new() -> Self {
        let leader = user(ORG, "leader", Role::Leader);
        let member = user(ORG, "m-1", Role::Member);
        let other_member = user(ORG, "m-2", Role::Member);
        let mut deleted = user(ORG, "gone", Role::Member);
        deleted.status = UserStatus::Deleted;
        let stranger = user(OTHER_ORG, "stranger", Role::Member);
        Self {
            leads: MemoryLeadRepository::default(),
            reference: MemoryReferenceRepository {
                regions: vec![Region { code: "서울".into(), name: "서울특별시".into(), country: Country::Kr }],
                products: vec![product()],
                reasons: vec![],
            },
            users: MemoryUserRepository::with(vec![
                leader.clone(),
                member.clone(),
                other_member.clone(),
                deleted,
                stranger,
            ]),
            clock: FixedClock(Mutex::new(datetime!(2026-11-24 10:00 UTC))),
            leader,
            member,
            other_member,
        }
    }

    fn service(
        &self,
    ) -> LeadService<'_, MemoryLeadRepository, MemoryReferenceRepository, MemoryUserRepository, FixedClock> {
        LeadService::new(&self.leads, &self.reference, &self.users, &self.clock)
    }

    fn tick(&self) {
        *self.clock.0.lock().unwrap() += Duration::seconds(1);
    }

    async fn register(&self, owner: &User, phone: &str) -> Uuid {
        self.tick();
        let product = product().id.to_string();
        let fields = LeadFields { phone: Some(phone), ..fields(&product) };
        self.service().register(&acting(owner), &fields).await.unwrap().id
    }
}

fn fields(product: &str) -> LeadFields<'_> {
    LeadFields {
        product_id: Some(product),
        name: Some("홍길동"),
        phone: Some("010-1234-5678"),
        region: Some("서울"),
        ..LeadFields::default()
    }
}

fn acting(user: &User) -> Principal {
    Principal {
        org_id: user.org_id,
        org_kind: OrgKind::Partner,
        credential: Credential::ApiKey { key_id: Uuid::from_u128(0xC) },
        acting: Some(user.clone()),
    }
}

fn trace(endpoint: &'static str) -> RevealTrace {
    RevealTrace { endpoint, request_id: Some("req-1".to_owned()) }
}

fn filter() -> ListFilter {
    ListFilter {
        used: None,
        has_as: None,
        product_id: None,
        provider_id: None,
        search: None,
        page: PageRequest::default(),
        sort_column: ListSortColumn::AssignedAt,
        sort_order: SortOrder::Desc,
    }
}

fn field_of(err: LeadError) -> String {
    match err {
        LeadError::Invalid(v) => v.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>().join(","),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn registering_checks_fields_region_product_and_metadata_and_writes_nothing_when_refused() {
    let w = World::new();
    let product = product().id.to_string();
    let service = w.service();
    let owner = acting(&w.member);
    let bad_region = LeadFields { region: Some("도쿄"), ..fields(&product) };
    assert_eq!(field_of(service.register(&owner, &bad_region).await.unwrap_err()), "region");
    let unknown = Uuid::from_u128(0x77).to_string();
    assert!(matches!(
        service.register(&owner, &fields(&unknown)).await,
        Err(LeadError::ProductNotFound(id)) if id.to_string() == unknown
    ));
    let big = format!("{{\"k\":\"{}\"}}", "x".repeat(MAX_METADATA_BYTES));
    let too_big = LeadFields { metadata: Some(big), ..fields(&product) };
    assert_eq!(field_of(service.register(&owner, &too_big).await.unwrap_err()), "metadata");
    let no_member = Principal { acting: None, ..owner.clone() };
    assert!(matches!(service.register(&no_member, &fields(&product)).await, Err(LeadError::NoActingMember)));
    assert_eq!(service.list_owned(&owner, filter(), &trace("list")).await.unwrap().total, 0, "nothing was written");

    let registered = service.register(&owner, &fields(&product)).await.unwrap();
    let lead = w.leads.lead(registered.id).unwrap();
    let open = lead.assignment.unwrap();
    assert_eq!(
        (open.id, open.owner_user_id, open.source),
        (registered.assignment_id, w.member.id, AssignmentSource::Registered)
    );
    assert_eq!(registered.created_at, w.clock.0.lock().unwrap().to_owned());
}

#[tokio::test]
async fn the_owned_list_reveals_only_used_leads_and_logs_each_reveal_first() {
    let w = World::new();
    let used = w.register(&w.member, "010-1000-0001").await;
    let unused = w.register(&w.member, "010-1000-0002").await;
    w.register(&w.other_member, "010-1000-0003").await;
    let service = w.service();
    let me = acting(&w.member);
    service.use_lead(&me, used, &trace("use")).await.unwrap();
    let before = w.leads.access_log().len();
    let page = service.list_owned(&me, filter(), &trace("GET /api/v1/leads")).await.unwrap();
    let seen: Vec<(Uuid, Visibility)> = page.items.iter().map(|s| (s.lead.id, s.visibility)).collect();
    assert_eq!(
        seen,
        [(unused, Visibility::Masked), (used, Visibility::Revealed)],
        "another member's lead is not listed"
    );
    let log = w.leads.access_log();
    assert_eq!(log.len(), before + 1, "one row per revealed lead");
    let row = log.last().unwrap();
    assert_eq!((row.subject_id, row.endpoint.as_str(), row.user_id), (used, "GET /api/v1/leads", Some(w.member.id)));
    assert_eq!(
        (row.actor.as_str(), row.request_id.as_deref()),
        ("key:00000000-0000-0000-0000-00000000000c", Some("req-1"))
    );
    assert_eq!(row.fields, ["name", "phone", "email", "address", "birth_date", "memo"]);

    w.leads.fail_reveal_log(true);
    assert!(
        matches!(service.list_owned(&me, filter(), &trace("list")).await, Err(LeadError::Repo(_))),
        "a reveal that cannot be logged shows nothing"
    );
    let mut only_unused = filter();
    only_unused.used = Some(false);
    assert_eq!(service.list_owned(&me, only_unused, &trace("list")).await.unwrap().total, 1, "nothing to log");
}

#[tokio::test]
async fn the_detail_is_the_owners_only_and_logs_a_plain_read() {
    let w = World::new();
    let id = w.register(&w.leader, "010-2000-0001").await;
    let service = w.service();
    let leader = acting(&w.leader);
    let masked = service.detail(&leader, id, &trace("detail")).await.unwrap();
    assert_eq!(masked.shown.visibility, Visibility::Masked);
    assert!(w.leads.access_log().is_empty(), "a masked read is not a reveal");
    assert_eq!(masked.history.len(), 1);
    assert!(matches!(service.detail(&acting(&w.member), id, &trace("detail")).await, Err(LeadError::NotFound)));
    assert!(matches!(service.detail(&leader, Uuid::from_u128(1), &trace("detail")).await, Err(LeadError::NotFound)));
    service.distribute(&leader, w.member.mohom_id.as_str(), &[id]).await.unwrap();
    assert!(
        matches!(service.detail(&leader, id, &trace("detail")).await, Err(LeadError::NotFound)),
        "the distributor does not read the detail"
    );
    let member = acting(&w.member);
    service.use_lead(&member, id, &trace("use")).await.unwrap();
    let plain = service.detail(&member, id, &trace("GET /api/v1/leads/{leadId}")).await.unwrap();
    assert_eq!((plain.shown.visibility, plain.history.len()), (Visibility::Revealed, 2));
    assert_eq!(w.leads.access_log().last().unwrap().endpoint, "GET /api/v1/leads/{leadId}");
}

#[tokio::test]
async fn use_is_the_owners_idempotent_and_logged() {
    let w = World::new();
    let id = w.register(&w.member, "010-3000-0001").await;
    let service = w.service();
    let me = acting(&w.member);
    let first = service.use_lead(&me, id, &trace("use")).await.unwrap();
    w.tick();
    let second = service.use_lead(&me, id, &trace("use")).await.unwrap();
    let used_at = |l: &domain::lead::Lead| l.assignment.as_ref().unwrap().used_at;
    assert!(used_at(&first).is_some());
    assert_eq!(used_at(&first), used_at(&second), "the same usedAt every time");
    assert_eq!(w.leads.access_log().len(), 2, "each use logged");
    assert!(matches!(service.use_lead(&acting(&w.other_member), id, &trace("use")).await, Err(LeadError::NotFound)));
    assert_eq!(w.leads.access_log().len(), 2, "another member's attempt logs nothing");
}

#[tokio::test]
async fn contacts_reveal_used_owned_leads_and_say_why_not_for_the_others() {
    let w = World::new();
    let used = w.register(&w.member, "010-4000-0001").await;
    let unused = w.register(&w.member, "010-4000-0002").await;
    let others = w.register(&w.other_member, "010-4000-0003").await;
    let ghost = Uuid::from_u128(0x1234);
    let service = w.service();
    let me = acting(&w.member);
    service.use_lead(&me, used, &trace("use")).await.unwrap();
    let outcomes = service.contacts(&me, &[used, unused, others, ghost], &trace("contacts")).await.unwrap();
    let summary: Vec<(Uuid, Result<Uuid, RevealRefusal>)> =
        outcomes.iter().map(|(id, o)| (*id, o.as_ref().map(|l| l.id).map_err(|r| *r))).collect();
    assert_eq!(
        summary,
        [
            (used, Ok(used)),
            (unused, Err(RevealRefusal::NotUsed)),
            (others, Err(RevealRefusal::NotFound)),
            (ghost, Err(RevealRefusal::NotFound))
        ]
    );
    let row = w.leads.access_log().last().cloned().unwrap();
    assert_eq!((row.subject_id, row.fields), (used, vec!["name", "phone"]));
    assert_eq!(w.leads.access_log().len(), 2, "the use and one contact reveal");
}

#[tokio::test]
async fn only_a_leader_distributes_to_another_active_member_of_the_org() {
    let w = World::new();
    let a = w.register(&w.leader, "010-5000-0001").await;
    let service = w.service();
    let leader = acting(&w.leader);
    assert!(matches!(service.distribute(&acting(&w.member), "m-2", &[a]).await, Err(LeadError::NotLeader)));
    assert_eq!(field_of(service.distribute(&leader, "leader", &[a]).await.unwrap_err()), "toMohomId");
    assert_eq!(field_of(service.distribute(&leader, "not a mohomId", &[a]).await.unwrap_err()), "toMohomId");
    for nobody in ["stranger", "gone", "nobody"] {
        assert!(
            matches!(service.distribute(&leader, nobody, &[a]).await, Err(LeadError::RecipientNotFound)),
            "{nobody}"
        );
    }
    assert_eq!(w.leads.lead(a).unwrap().assignment.unwrap().owner_user_id, w.leader.id, "nothing moved");
    assert!(matches!(
        service.distribute(&Principal { acting: None, ..leader.clone() }, "m-1", &[a]).await,
        Err(LeadError::NoActingMember)
    ));
}

#[tokio::test]
async fn a_distribution_is_all_or_nothing_and_refused_by_its_first_bad_lead() {
    let w = World::new();
    let a = w.register(&w.leader, "010-6000-0001").await;
    let b = w.register(&w.leader, "010-6000-0002").await;
    let members = w.register(&w.member, "010-6000-0003").await;
    let service = w.service();
    let leader = acting(&w.leader);
    let refused = service.distribute(&leader, w.member.mohom_id.as_str(), &[a, members, b]).await;
    assert!(matches!(refused, Err(LeadError::Refused { lead, refusal: TransferRefusal::NotFound }) if lead == members));
    w.leads.set_as_statuses(b, vec![AsStatus::InReview]);
    let open_as = service.distribute(&leader, w.member.mohom_id.as_str(), &[a, b]).await;
    assert!(matches!(open_as, Err(LeadError::Refused { lead, refusal: TransferRefusal::OpenAs }) if lead == b));
    assert_eq!(w.leads.lead(a).unwrap().assignment.unwrap().owner_user_id, w.leader.id, "nothing moved");
    w.leads.set_as_statuses(b, vec![AsStatus::Rejected, AsStatus::InReview]);
    service.use_lead(&leader, a, &trace("use")).await.unwrap();
    let moved = service.distribute(&leader, w.member.mohom_id.as_str(), &[b, a]).await.unwrap();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(moved.iter().map(|(l, _)| *l).collect::<Vec<_>>(), expected, "in id order");
    let lead = w.leads.lead(a).unwrap();
    let open = lead.assignment.as_ref().unwrap();
    assert_eq!(
        (open.owner_user_id, open.source, open.distributor_user_id, open.used_at),
        (w.member.id, AssignmentSource::Distributed, Some(w.leader.id), None),
        "the recipient starts unused"
    );
    assert_eq!(lead.last_distributed_at, Some(open.assigned_at));
    assert_eq!(w.leads.leads_without_exactly_one_open_assignment(), 0);
    let away = service.distributed_away(&leader, filter()).await.unwrap();
    assert_eq!(away.total, 2, "the leader sees what they distributed");
    assert_eq!(service.distributed_away(&acting(&w.member), filter()).await.unwrap().total, 0);
}

#[tokio::test]
async fn a_recall_gives_back_exactly_the_rights_the_leader_had() {
    let w = World::new();
    let used = w.register(&w.leader, "010-7000-0001").await;
    let fresh = w.register(&w.leader, "010-7000-0002").await;
    let service = w.service();
    let leader = acting(&w.leader);
    let used_at = service.use_lead(&leader, used, &trace("use")).await.unwrap().assignment.unwrap().used_at;
    service.distribute(&leader, w.member.mohom_id.as_str(), &[used, fresh]).await.unwrap();
    service.recall(&leader, &[used, fresh]).await.unwrap();
    let back = w.leads.lead(used).unwrap().assignment.unwrap();
    assert_eq!((back.owner_user_id, back.source, back.used_at), (w.leader.id, AssignmentSource::Recalled, used_at));
    assert_eq!(back.distributor_user_id, None, "the leader's own lead has no distributor");
    assert_eq!(w.leads.lead(fresh).unwrap().assignment.unwrap().used_at, None, "an unused lead stays unused");
    assert_eq!(w.leads.leads_without_exactly_one_open_assignment(), 0);
}

#[tokio::test]
async fn a_recall_along_a_chain_restores_the_middle_leaders_distributor() {
    let w = World::new();
    let second_leader = user(ORG, "leader-2", Role::Leader);
    w.users.insert(&second_leader).await.unwrap();
    let id = w.register(&w.leader, "010-8000-0001").await;
    let service = w.service();
    service.distribute(&acting(&w.leader), second_leader.mohom_id.as_str(), &[id]).await.unwrap();
    service.distribute(&acting(&second_leader), w.member.mohom_id.as_str(), &[id]).await.unwrap();
    assert!(
        matches!(
            service.recall(&acting(&w.leader), &[id]).await,
            Err(LeadError::Refused { refusal: TransferRefusal::NotFound, .. })
        ),
        "only the last distributor recalls"
    );
    service.recall(&acting(&second_leader), &[id]).await.unwrap();
    let back = w.leads.lead(id).unwrap().assignment.unwrap();
    assert_eq!((back.owner_user_id, back.distributor_user_id), (second_leader.id, Some(w.leader.id)));
    service.recall(&acting(&w.leader), &[id]).await.unwrap();
    assert_eq!(w.leads.lead(id).unwrap().assignment.unwrap().owner_user_id, w.leader.id, "and back to the first");
}

#[tokio::test]
async fn a_recall_is_refused_for_used_leads_open_as_and_non_leaders() {
    let w = World::new();
    let a = w.register(&w.leader, "010-9000-0001").await;
    let b = w.register(&w.leader, "010-9000-0002").await;
    let own = w.register(&w.leader, "010-9000-0003").await;
    let service = w.service();
    let leader = acting(&w.leader);
    service.distribute(&leader, w.member.mohom_id.as_str(), &[a, b]).await.unwrap();
    service.use_lead(&acting(&w.member), a, &trace("use")).await.unwrap();
    let used = service.recall(&leader, &[b, a]).await;
    assert!(matches!(used, Err(LeadError::Refused { lead, refusal: TransferRefusal::AlreadyUsed }) if lead == a));
    assert_eq!(w.leads.lead(b).unwrap().assignment.unwrap().owner_user_id, w.member.id, "all or nothing");
    let not_distributed = service.recall(&leader, &[own]).await;
    assert!(matches!(not_distributed, Err(LeadError::Refused { refusal: TransferRefusal::NotFound, .. })));
    w.leads.set_as_statuses(b, vec![AsStatus::Requested]);
    assert!(matches!(
        service.recall(&leader, &[b]).await,
        Err(LeadError::Refused { refusal: TransferRefusal::OpenAs, .. })
    ));
    assert!(matches!(service.recall(&acting(&w.member), &[b]).await, Err(LeadError::NotLeader)));
    w.leads.set_as_statuses(b, vec![AsStatus::Cancelled, AsStatus::Requested]);
    assert_eq!(service.recall(&leader, &[b]).await.unwrap().len(), 1);
}
