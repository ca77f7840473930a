//! The intake use cases over the in-memory ports: every rule of `domain::service::intake`,
//! no database involved.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use domain::error::ValidationError;
use domain::intake::{IntakeIds, Source};
use domain::lead::{Gender, LeadStatus};
use domain::principal::{Credential, Principal};
use domain::reference::{
    AllocationPolicy, AsPolicy, AsPolicyParts, AsReasonCode, AsWindowStart, Compensation, Country, OrgKind, Product,
    Region,
};
use domain::service::intake::{IntakeLead, IntakeRefusal, IntakeService, StatusReportInput};
use testkit::memory::{FixedClock, MemoryIntakeRepository, MemoryReferenceRepository, StoredIntake};
use time::OffsetDateTime;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x10);
const OTHER_ORG: Uuid = Uuid::from_u128(0x20);
const APARTMENT: Uuid = Uuid::from_u128(0x100);
const HEALTH: Uuid = Uuid::from_u128(0x200);

fn product(id: Uuid) -> Product {
    Product {
        id,
        code: id.to_string(),
        name: "product".to_owned(),
        category: "REAL_ESTATE".to_owned(),
        unit_price: "1".parse().unwrap(),
        prices_exclude_vat: false,
        allocation_policy: AllocationPolicy::Fifo,
        time_zone: "Asia/Ho_Chi_Minh".to_owned(),
        duplicate_window_hours: 24,
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

fn source(id: u128, code: &str, org: Uuid) -> Source {
    Source {
        id: Uuid::from_u128(id),
        code: code.to_owned(),
        org_id: org,
        default_product_id: Some(APARTMENT),
        projects: BTreeMap::from([("TCB-INS".to_owned(), HEALTH)]),
    }
}

struct World {
    repo: MemoryIntakeRepository,
    reference: MemoryReferenceRepository,
    clock: FixedClock,
}

impl World {
    fn new() -> Self {
        let mut bare = source(3, "BARE", ORG);
        bare.default_product_id = None;
        let mut gone = source(4, "GONE", ORG);
        gone.default_product_id = Some(Uuid::from_u128(0x999));
        Self {
            repo: MemoryIntakeRepository {
                sources: vec![source(1, "TCB", ORG), source(2, "SRC2", OTHER_ORG), bare, gone],
                ..MemoryIntakeRepository::default()
            },
            reference: MemoryReferenceRepository {
                regions: vec![
                    Region { code: "79".into(), name: "TP Hồ Chí Minh".into(), country: Country::Vn },
                    Region { code: "서울".into(), name: "서울특별시".into(), country: Country::Kr },
                ],
                products: vec![product(APARTMENT), product(HEALTH)],
                reasons: vec![],
            },
            clock: FixedClock(Mutex::new(OffsetDateTime::now_utc())),
        }
    }

    fn service(&self) -> IntakeService<'_, MemoryIntakeRepository, MemoryReferenceRepository, FixedClock> {
        IntakeService::new(&self.repo, &self.reference, &self.clock)
    }

    async fn source(&self, code: &str, org: Uuid) -> Source {
        self.service().source(&key(org), code).await.unwrap()
    }
}

fn key(org: Uuid) -> Principal {
    Principal {
        org_id: org,
        org_kind: OrgKind::Partner,
        credential: Credential::ApiKey { key_id: Uuid::from_u128(0x99) },
        acting: None,
    }
}

fn lead(phone: &str) -> IntakeLead {
    IntakeLead {
        name: "Nguyen Van A".to_owned(),
        phone: phone.to_owned(),
        email: Some("nva@example.vn".to_owned()),
        gender: Some(Gender::Male),
        birth_date: Some("1990-05-01".to_owned()),
        region: Some("79".to_owned()),
        project: Some("VHGP".to_owned()),
        ..IntakeLead::default()
    }
}

fn with_source_id(mut lead: IntakeLead, id: &str) -> IntakeLead {
    lead.ids = IntakeIds { source_lead_id: Some(id.to_owned()), ..IntakeIds::default() };
    lead
}

fn fields(err: &IntakeRefusal) -> Vec<(String, String)> {
    match err {
        IntakeRefusal::Invalid(ValidationError(errors)) => {
            errors.iter().map(|e| (e.field.clone(), e.reason.clone())).collect()
        }
        other => panic!("not a validation refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_source_is_reached_only_with_its_own_orgs_api_key() {
    let w = World::new();
    let service = w.service();
    assert_eq!(service.source(&key(ORG), " TCB ").await.unwrap().id, Uuid::from_u128(1));
    for (principal, code) in [(key(ORG), "NOPE"), (key(ORG), ""), (key(ORG), "SRC2"), (key(OTHER_ORG), "TCB")] {
        let refused = service.source(&principal, code).await.unwrap_err();
        assert!(matches!(refused, IntakeRefusal::NotOurSource), "{code}: {refused:?}");
    }
    let bearer = Principal { credential: Credential::Token { user_id: Uuid::from_u128(7) }, ..key(ORG) };
    assert!(matches!(service.source(&bearer, "TCB").await, Err(IntakeRefusal::NotOurSource)));
}

#[tokio::test]
async fn the_phone_must_be_vietnamese_and_nothing_is_written_otherwise() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    for bad in ["010-1234-5678", "(03|07)39933399", ""] {
        let err = w.service().create(&tcb, lead(bad)).await.unwrap_err();
        assert_eq!(fields(&err), [("mobileNumber".to_owned(), "must be a Vietnamese mobile number".to_owned())]);
    }
    assert!(w.repo.stored().is_empty());
    let legacy = w.service().create(&tcb, lead("01699333999")).await.unwrap();
    assert_eq!(w.repo.stored()[0].phone, "+84399333999", "a legacy 11-digit number is normalized");
    assert_eq!(legacy.status, LeadStatus::Pool);
}

#[tokio::test]
async fn a_mapped_project_picks_its_product_and_anything_else_the_default() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let cases =
        [(Some(" TCB-INS "), HEALTH), (Some("VHGP"), APARTMENT), (Some("NOT-MAPPED"), APARTMENT), (None, APARTMENT)];
    for (i, (project, expected)) in cases.into_iter().enumerate() {
        let mut l = lead(&format!("039910000{i}"));
        l.project = project.map(str::to_owned);
        w.service().create(&tcb, l).await.unwrap();
        assert_eq!(w.repo.stored()[i].product_id, expected, "{project:?}");
    }
}

#[tokio::test]
async fn a_source_without_a_usable_product_is_refused() {
    let w = World::new();
    for code in ["BARE", "GONE"] {
        let source = w.source(code, ORG).await;
        let err = w.service().create(&source, lead("0399000001")).await.unwrap_err();
        assert!(matches!(err, IntakeRefusal::NoProduct), "{code}: {err:?}");
    }
    assert!(w.repo.stored().is_empty());
}

#[tokio::test]
async fn a_lead_without_a_province_is_pooled_unrouted_and_a_given_one_must_exist() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let mut web = lead("0399000001");
    web.region = None;
    w.service().create(&tcb, web).await.unwrap();
    assert_eq!(w.repo.stored()[0].region, "", "validated with the placeholder, stored without a region");
    let mut blank = lead("0399000002");
    blank.region = Some("  ".to_owned());
    w.service().create(&tcb, blank).await.unwrap();
    assert_eq!(w.repo.stored()[1].region, "");
    let mut unknown = lead("0399000003");
    unknown.region = Some("99".to_owned());
    let err = w.service().create(&tcb, unknown).await.unwrap_err();
    assert_eq!(fields(&err), [("regionCode".to_owned(), "must be a province code of GET /api/v1/regions".to_owned())]);
    assert_eq!(w.repo.stored().len(), 2);
}

#[tokio::test]
async fn the_leads_own_fields_obey_new_lead_parse() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let mut bad = lead("0399000001");
    bad.name = " ".to_owned();
    bad.birth_date = Some("2990-01-01".to_owned());
    let err = w.service().create(&tcb, bad).await.unwrap_err();
    let named: Vec<String> = fields(&err).into_iter().map(|(f, _)| f).collect();
    assert!(named.contains(&"name".to_owned()) && named.contains(&"birth_date".to_owned()), "{named:?}");
    assert!(w.repo.stored().is_empty());
}

#[tokio::test]
async fn a_source_lead_id_is_trimmed_bounded_and_used_once_per_source() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let first = w.service().create(&tcb, with_source_id(lead("0399200001"), " TCB-0001 ")).await.unwrap();
    assert_eq!(w.repo.stored()[0].ids.source_lead_id.as_deref(), Some("TCB-0001"), "stored trimmed");
    let again = w.service().create(&tcb, with_source_id(lead("0399200002"), "TCB-0001")).await.unwrap_err();
    assert!(matches!(again, IntakeRefusal::DuplicateSourceLeadId { earlier: Some(e) } if e == first.lead), "{again:?}");
    assert!(again.to_string().contains(&first.lead.to_string()), "names the earlier lead");
    for bad in ["", "   ", &"x".repeat(129)] {
        let err = w.service().create(&tcb, with_source_id(lead("0399200002"), bad)).await.unwrap_err();
        assert_eq!(fields(&err), [("leadSourceId".to_owned(), "must be 1 to 128 characters".to_owned())], "{bad:?}");
    }
    assert_eq!(w.repo.stored().len(), 1, "the refusals wrote nothing");
    // Another source of the org may use the same id.
    let src = Source { id: Uuid::from_u128(5), code: "TCB2".to_owned(), ..tcb.clone() };
    w.service().create(&src, with_source_id(lead("0399200003"), "TCB-0001")).await.unwrap();
    assert_eq!(w.repo.stored().len(), 2);
}

#[tokio::test]
async fn a_create_that_loses_the_race_for_its_source_lead_id_names_the_winner() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let winner = Uuid::from_u128(0xABC);
    *w.repo.lose_race_to.lock().unwrap() = Some(StoredIntake {
        id: winner,
        source_id: tcb.id,
        provider_org_id: ORG,
        product_id: APARTMENT,
        phone: "+84399300002".to_owned(),
        region: "79".to_owned(),
        status: LeadStatus::Pool,
        shown: None,
        ids: IntakeIds { source_lead_id: Some("RACE-1".to_owned()), ..IntakeIds::default() },
        created_at: w.clock.0.lock().unwrap().to_owned(),
        report: None,
        reported_at: None,
    });
    let err = w.service().create(&tcb, with_source_id(lead("0399300001"), "RACE-1")).await.unwrap_err();
    assert!(matches!(err, IntakeRefusal::DuplicateSourceLeadId { earlier: Some(e) } if e == winner), "{err:?}");
    assert_eq!(w.repo.stored().len(), 1, "only the winner");
}

#[tokio::test]
async fn the_orgs_own_phone_is_a_duplicate_and_another_orgs_is_answered_as_fresh() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let src2 = w.source("SRC2", OTHER_ORG).await;
    let first = w.service().create(&tcb, lead("0399333999")).await.unwrap();
    let again = w.service().create(&tcb, lead("+84 399 333 999")).await.unwrap_err();
    assert!(matches!(again, IntakeRefusal::DuplicatePhone { earlier } if earlier == first.lead), "{again:?}");
    assert!(again.to_string().contains(&first.lead.to_string()));
    // Another provider's phone: a fresh lead's answer, the lead held.
    let pooled = w.service().create(&src2, lead("0399333999")).await.unwrap();
    assert_eq!(pooled.status, LeadStatus::Pool);
    assert_ne!(pooled.lead, first.lead, "its own new id");
    *w.repo.deliver_next.lock().unwrap() = Some(Uuid::from_u128(0xD));
    let mut second_product = lead("0399333999");
    second_product.project = Some("TCB-INS".to_owned());
    let delivered = w.service().create(&src2, second_product.clone()).await.unwrap();
    assert_eq!(delivered.status, LeadStatus::Assigned, "a fresh lead delivered says ASSIGNED");
    *w.repo.deliver_next.lock().unwrap() = Some(Uuid::from_u128(0xD));
    let mut from_tcb = second_product;
    from_tcb.phone = "0399333999".to_owned();
    let held = w.service().create(&tcb, from_tcb).await.unwrap();
    assert_eq!(held.status, LeadStatus::Assigned, "held, answered as the offer would have");
    let stored = w.repo.stored();
    assert_eq!(stored.iter().filter(|l| l.status == LeadStatus::DuplicateOtherProvider).count(), 2);
}

fn report(key: &str, status: &str) -> StatusReportInput {
    StatusReportInput {
        lead_key: key.to_owned(),
        status: status.to_owned(),
        note: Some(" Khách hẹn ".to_owned()),
        request_time: Some("2026-11-20T09:00:00+07:00".to_owned()),
        meeting_time: None,
        detail: serde_json::Map::from_iter([("channel".to_owned(), "HOTLINE".into())]),
    }
}

#[tokio::test]
async fn a_status_report_names_the_lead_by_the_sources_id_or_the_lead_id() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let src2 = w.source("SRC2", OTHER_ORG).await;
    let own = w.service().create(&tcb, with_source_id(lead("0399400001"), "TCB-8001")).await.unwrap();
    let changed = w.service().change_status(&tcb, report(" TCB-8001 ", " CONTACTED ")).await.unwrap();
    assert_eq!((changed.lead.id, changed.reported.as_str()), (own.lead, "CONTACTED"));
    let stored = w.repo.stored()[0].report.clone().unwrap();
    assert_eq!(stored.note.as_deref(), Some("Khách hẹn"));
    assert_eq!(
        stored.detail,
        serde_json::json!({"status": "CONTACTED", "request_time": "2026-11-20T09:00:00+07:00", "channel": "HOTLINE"})
    );
    let by_id = w.service().change_status(&tcb, report(&own.lead.to_string(), "LOST")).await.unwrap();
    assert_eq!(by_id.lead.id, own.lead);
    let mut blank_note = report("TCB-8001", "LOST");
    blank_note.note = Some("  ".to_owned());
    w.service().change_status(&tcb, blank_note).await.unwrap();
    assert_eq!(w.repo.stored()[0].report.as_ref().unwrap().note, None, "a blank note is no note");
    // Another source's lead, by either key, is not found.
    let foreign = w.service().create(&src2, with_source_id(lead("0399400002"), "SHARED-1")).await.unwrap();
    for key in ["SHARED-1", &foreign.lead.to_string(), "TCB-9999", &Uuid::nil().to_string()] {
        let err = w.service().change_status(&tcb, report(key, "CONTACTED")).await.unwrap_err();
        assert!(matches!(err, IntakeRefusal::LeadNotFound), "{key}: {err:?}");
    }
    assert!(w.repo.stored()[1].report.is_none());
}

#[tokio::test]
async fn a_held_lead_reads_back_as_what_its_source_was_told() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    let src2 = w.source("SRC2", OTHER_ORG).await;
    w.service().create(&src2, lead("0399500001")).await.unwrap();
    let held = w.service().create(&tcb, with_source_id(lead("0399500001"), "H-1")).await.unwrap();
    let changed = w.service().change_status(&tcb, report("H-1", "CONTACTED")).await.unwrap();
    assert_eq!((changed.lead.id, changed.lead.status.as_str()), (held.lead, "POOL"));
}

#[tokio::test]
async fn status_report_refusals_write_nothing() {
    let w = World::new();
    let tcb = w.source("TCB", ORG).await;
    w.service().create(&tcb, with_source_id(lead("0399600001"), "TCB-1")).await.unwrap();
    let mut late = report("TCB-1", "X");
    late.meeting_time = Some("next Saturday".to_owned());
    let mut dated = report("TCB-1", "X");
    dated.request_time = Some("2026-11-20".to_owned());
    let cases = [
        (report(" ", "CONTACTED"), ("lead_source_id", "must not be empty")),
        (report("TCB-1", ""), ("status", "must be 1 to 32 characters")),
        (report("TCB-1", "   "), ("status", "must be 1 to 32 characters")),
        (report("TCB-1", &"S".repeat(33)), ("status", "must be 1 to 32 characters")),
        (late, ("meeting_time", "must be an RFC 3339 date-time")),
        (dated, ("request_time", "must be an RFC 3339 date-time")),
    ];
    for (input, (field, reason)) in cases {
        let err = w.service().change_status(&tcb, input).await.unwrap_err();
        assert_eq!(fields(&err), [(field.to_owned(), reason.to_owned())]);
    }
    assert!(w.repo.stored()[0].report.is_none());
    let max = w.service().change_status(&tcb, report("TCB-1", &"S".repeat(32))).await.unwrap();
    assert_eq!(max.reported.len(), 32);
}
