//! The AS use cases over the in-memory ports: every rule of `domain::service::as_claims`
//! without a database. Storage's locking and compensation are covered by the storage
//! tests (`crates/infra/tests/storage/as_claims.rs`), the wire by the API tests.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Mutex;

use domain::as_claim::{AsError, AsFilter, AsRefusal, AsScope, EvidenceRefusal, NewAsClaim, WindowState};
use domain::identity::{MohomId, Role, User, UserStatus};
use domain::lead::AsStatus;
use domain::pagination::PageRequest;
use domain::pii::PersonName;
use domain::principal::{Credential, Principal};
use domain::reference::{AsPolicy, AsPolicyParts, AsReason, AsReasonCode, AsWindowStart, Compensation, OrgKind};
use domain::service::as_claims::{AsCaller, AsClaimService, reach};
use testkit::memory::{
    FixedClock, MemoryAsClaimRepository, MemoryAsLead, MemoryAsOrder, MemoryEvidenceFile, MemoryEvidenceFiles,
    MemoryReferenceRepository,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const BOUGHT: OffsetDateTime = datetime!(2026-11-20 09:00 UTC);
const NOW: OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

fn user(org_id: Uuid, mohom: &str, role: Role) -> User {
    User {
        id: domain::ids::new_id(),
        org_id,
        mohom_id: MohomId::parse(mohom).unwrap(),
        role,
        team_id: None,
        name: PersonName::parse("홍길동").unwrap(),
        phone: None,
        email: None,
        status: UserStatus::Active,
        created_at: BOUGHT,
        updated_at: BOUGHT,
    }
}

fn policy(auto_approve: bool) -> AsPolicy {
    AsPolicy::new(AsPolicyParts {
        window_hours: 72,
        window_starts_from: AsWindowStart::Assigned,
        allowed_reasons: vec![AsReasonCode::WrongNumber, AsReasonCode::Duplicate],
        evidence_required: vec![AsReasonCode::WrongNumber],
        max_rate_percent: 20,
        compensation: Compensation::Replacement,
        auto_approve,
    })
    .unwrap()
}

/// A partner org with two members, the operator org with its staff, one order of 10
/// delivered to `m1` with three of its leads, and one lead `m1` registered themselves.
struct World {
    repo: MemoryAsClaimRepository,
    files: MemoryEvidenceFiles,
    reference: MemoryReferenceRepository,
    clock: FixedClock,
    partner: Uuid,
    operator: Uuid,
    m1: User,
    m2: User,
    order: Uuid,
    leads: Vec<Uuid>,
    registered: Uuid,
}

impl World {
    fn new(auto_approve: bool) -> Self {
        let (partner, operator) = (domain::ids::new_id(), domain::ids::new_id());
        let (m1, m2) = (user(partner, "m-1", Role::Member), user(partner, "m-2", Role::Member));
        let repo = MemoryAsClaimRepository::default();
        let order = domain::ids::new_id();
        repo.add_order(order, MemoryAsOrder { delivered: 10, open_as: 0, approved_as: 0 });
        let product_id = domain::ids::new_id();
        let lead = |purchased: bool| MemoryAsLead {
            owner: Some(m1.id),
            product_id,
            policy: policy(auto_approve),
            purchased_at: purchased.then_some(BOUGHT),
            first_used_at: purchased.then_some(NOW - Duration::hours(1)),
            order_id: purchased.then_some(order),
        };
        let leads: Vec<Uuid> = (0..3).map(|_| domain::ids::new_id()).collect();
        for id in &leads {
            repo.add_lead(*id, lead(true));
        }
        let registered = domain::ids::new_id();
        repo.add_lead(registered, lead(false));
        let reference = MemoryReferenceRepository {
            reasons: vec![AsReason {
                code: AsReasonCode::Duplicate,
                label: "중복".to_owned(),
                requires_evidence: false,
            }],
            ..MemoryReferenceRepository::default()
        };
        Self {
            repo,
            files: MemoryEvidenceFiles::default(),
            reference,
            clock: FixedClock(Mutex::new(NOW)),
            partner,
            operator,
            m1,
            m2,
            order,
            leads,
            registered,
        }
    }

    fn service(
        &self,
    ) -> AsClaimService<'_, MemoryAsClaimRepository, MemoryEvidenceFiles, MemoryReferenceRepository, FixedClock> {
        AsClaimService::new(&self.repo, &self.files, &self.reference, &self.clock)
    }

    /// A partner member acting through the partner's API key.
    fn member(&self, who: &User) -> Principal {
        Principal {
            org_id: self.partner,
            org_kind: OrgKind::Partner,
            credential: Credential::ApiKey { key_id: Uuid::nil() },
            acting: Some(who.clone()),
        }
    }

    fn partner_key(&self) -> Principal {
        Principal { acting: None, ..self.member(&self.m1) }
    }

    fn operator_key(&self) -> Principal {
        Principal {
            org_id: self.operator,
            org_kind: OrgKind::Operator,
            credential: Credential::ApiKey { key_id: Uuid::nil() },
            acting: None,
        }
    }

    /// An operator user by Bearer token.
    fn operator_user(&self, role: Role) -> Principal {
        let staff = user(self.operator, "staff", role);
        Principal {
            org_id: self.operator,
            org_kind: OrgKind::Operator,
            credential: Credential::Token { user_id: staff.id },
            acting: Some(staff),
        }
    }

    fn evidence(&self, owner: &User) -> Uuid {
        let key = domain::ids::new_id();
        let file = MemoryEvidenceFile {
            org_id: owner.org_id,
            user_id: owner.id,
            evidence: true,
            uploaded: true,
            attached: false,
        };
        self.files.add(key, file);
        key
    }
}

fn caller(principal: &Principal) -> AsCaller<'_> {
    AsCaller { principal, request_id: Some("req-1") }
}

fn new(lead: Uuid, reason: AsReasonCode, files: Vec<Uuid>) -> NewAsClaim {
    NewAsClaim { lead_id: lead, reason, description: "결번".to_owned(), file_keys: files }
}

fn all(page: u32) -> AsFilter {
    AsFilter {
        status: None,
        lead_id: None,
        from: None,
        to: None,
        page: PageRequest::parse(Some(&page.to_string()), None).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------
// Claim

#[tokio::test]
async fn a_claim_inside_every_rule_is_requested_labelled_and_audited_as_its_caller() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let view = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap();
    assert_eq!((view.claim.status, view.reason_label.as_str()), (AsStatus::Requested, "중복"));
    assert_eq!(view.claim.requester_user_id, w.m1.id);
    assert_eq!(view.claim.history[0].actor, m1.actor());
    assert_eq!(w.repo.order(w.order).unwrap().open_as, 1);
    assert_eq!(w.repo.audit(), vec![("as.create".to_owned(), m1.actor(), view.claim.id)]);
}

#[tokio::test]
async fn a_reason_without_a_label_shows_its_code() {
    let w = World::new(false);
    let key = w.evidence(&w.m1);
    let view =
        w.service().claim(&caller(&w.member(&w.m1)), &new(w.leads[0], AsReasonCode::WrongNumber, vec![key])).await;
    assert_eq!(view.unwrap().reason_label, "WRONG_NUMBER");
}

#[tokio::test]
async fn a_lead_the_member_does_not_own_is_lead_not_found_and_nothing_is_written() {
    let w = World::new(false);
    let m2 = w.member(&w.m2);
    let err = w.service().claim(&caller(&m2), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap_err();
    assert!(matches!(err, AsError::LeadNotFound), "{err:?}");
    let unknown = w.service().claim(&caller(&m2), &new(Uuid::nil(), AsReasonCode::Duplicate, vec![])).await;
    assert!(matches!(unknown, Err(AsError::LeadNotFound)));
    assert!(w.repo.claims().is_empty() && w.repo.audit().is_empty());
}

#[tokio::test]
async fn evidence_is_checked_before_the_lead_and_each_refusal_is_named() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let theirs = w.evidence(&w.m2);
    let pending = domain::ids::new_id();
    w.files.add(
        pending,
        MemoryEvidenceFile { org_id: w.partner, user_id: w.m1.id, evidence: true, uploaded: false, attached: false },
    );
    let other_purpose = domain::ids::new_id();
    w.files.add(
        other_purpose,
        MemoryEvidenceFile { org_id: w.partner, user_id: w.m1.id, evidence: false, uploaded: true, attached: false },
    );
    let cases = [
        (theirs, Uuid::nil(), EvidenceRefusal::NotFound(theirs)),
        (pending, w.leads[0], EvidenceRefusal::NotUploaded(pending)),
        (other_purpose, w.leads[0], EvidenceRefusal::WrongPurpose(other_purpose)),
    ];
    for (key, lead, refusal) in cases {
        let err = w.service().claim(&caller(&m1), &new(lead, AsReasonCode::WrongNumber, vec![key])).await.unwrap_err();
        assert!(matches!(&err, AsError::File(r) if *r == refusal), "{err:?}");
    }
    assert!(w.repo.claims().is_empty());
}

#[tokio::test]
async fn the_rules_are_checked_in_their_order_over_the_stored_facts() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let service = w.service();
    let refused = |e: Result<_, AsError>| match e {
        Err(AsError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let registered = service.claim(&caller(&m1), &new(w.registered, AsReasonCode::Duplicate, vec![])).await;
    assert!(matches!(refused(registered), AsRefusal::NotPurchased(_)));
    let reason = service.claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Underage, vec![])).await;
    assert_eq!(refused(reason), AsRefusal::ReasonNotAllowed(AsReasonCode::Underage));
    let bare = service.claim(&caller(&m1), &new(w.leads[0], AsReasonCode::WrongNumber, vec![])).await;
    assert_eq!(refused(bare), AsRefusal::EvidenceRequired(AsReasonCode::WrongNumber));
    service.claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap();
    let again = service.claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await;
    assert_eq!(refused(again), AsRefusal::AlreadyOpen);
    // 20 % of 10 delivered: 2 approved or open AS at most.
    service.claim(&caller(&m1), &new(w.leads[1], AsReasonCode::Duplicate, vec![])).await.unwrap();
    let capped = service.claim(&caller(&m1), &new(w.leads[2], AsReasonCode::Duplicate, vec![])).await;
    assert_eq!(refused(capped), AsRefusal::RateExceeded { cap: 2, counted: 2 });
    *w.clock.0.lock().unwrap() = BOUGHT + Duration::hours(72) + Duration::seconds(1);
    let late = service.claim(&caller(&m1), &new(w.leads[2], AsReasonCode::Duplicate, vec![])).await;
    assert!(matches!(refused(late), AsRefusal::WindowClosed(WindowState::Closed { .. })));
    assert_eq!(w.repo.claims().len(), 2, "refusals wrote nothing");
    assert_eq!(w.repo.order(w.order).unwrap().open_as, 2);
}

#[tokio::test]
async fn a_plain_case_the_product_consents_to_is_approved_at_once_by_the_system() {
    let w = World::new(true);
    let m1 = w.member(&w.m1);
    let key = w.evidence(&w.m1);
    let view = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::WrongNumber, vec![key])).await.unwrap();
    assert!(view.claim.auto_approved);
    assert_eq!((view.claim.status, view.claim.compensation), (AsStatus::Approved, Some(Compensation::Replacement)));
    assert_eq!(view.claim.history[1].actor, "system");
    assert_eq!(w.repo.lead(w.leads[0]).unwrap().owner, None, "the lead is returned");
    assert_eq!(w.repo.order(w.order).unwrap(), MemoryAsOrder { delivered: 10, open_as: 0, approved_as: 1 });
    // Not a plain case (no evidence for DUPLICATE): a person decides.
    let manual = w.service().claim(&caller(&m1), &new(w.leads[1], AsReasonCode::Duplicate, vec![])).await.unwrap();
    assert_eq!((manual.claim.status, manual.claim.auto_approved), (AsStatus::Requested, false));
}

#[tokio::test]
async fn a_member_scoped_call_by_a_key_that_names_no_member_is_refused() {
    let w = World::new(false);
    let key = w.partner_key();
    let claim = w.service().claim(&caller(&key), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await;
    assert!(matches!(claim, Err(AsError::MemberRequired)));
    assert!(matches!(w.service().cancel(&caller(&key), Uuid::nil()).await, Err(AsError::MemberRequired)));
    assert!(matches!(reach(&key, false), Err(AsError::MemberRequired)));
}

// ---------------------------------------------------------------------------------------
// Reading

#[tokio::test]
async fn who_reaches_what() {
    let w = World::new(false);
    assert_eq!(reach(&w.member(&w.m1), true).unwrap(), AsScope::Requester(w.m1.id));
    assert_eq!(reach(&w.member(&w.m1), false).unwrap(), AsScope::Requester(w.m1.id), "a token acts as itself");
    assert_eq!(reach(&w.operator_key(), false).unwrap(), AsScope::Operator);
    for role in [Role::Admin, Role::CsManager] {
        let staff = w.operator_user(role);
        assert_eq!(reach(&staff, false).unwrap(), AsScope::Operator, "{role:?}");
        assert_eq!(reach(&staff, true).unwrap(), AsScope::Requester(staff.acting.as_ref().unwrap().id));
    }
    let named = Principal { acting: Some(w.m2.clone()), ..w.operator_key() };
    assert_eq!(reach(&named, true).unwrap(), AsScope::Requester(w.m2.id), "naming a member narrows to them");
    let member_of_operator = w.operator_user(Role::Member);
    assert!(matches!(reach(&member_of_operator, false).unwrap(), AsScope::Requester(_)));
}

#[tokio::test]
async fn a_member_lists_and_reads_only_their_own_and_to_is_exclusive() {
    let w = World::new(false);
    let (m1, m2) = (w.member(&w.m1), w.member(&w.m2));
    let first = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap();
    *w.clock.0.lock().unwrap() = NOW + Duration::minutes(1);
    let second = w.service().claim(&caller(&m1), &new(w.leads[1], AsReasonCode::Duplicate, vec![])).await.unwrap();
    let mine = w.service().list(AsScope::Requester(w.m1.id), all(1)).await.unwrap();
    assert_eq!(mine.items.iter().map(|v| v.claim.id).collect::<Vec<_>>(), [second.claim.id, first.claim.id]);
    assert!(mine.items.iter().all(|v| v.claim.history.is_empty() && v.reason_label == "중복"));
    assert_eq!(w.service().list(AsScope::Requester(w.m2.id), all(1)).await.unwrap().total, 0);
    assert_eq!(w.service().list(AsScope::Operator, all(1)).await.unwrap().total, 2);
    let before_second = AsFilter { to: Some(second.claim.created_at), ..all(1) };
    let early = w.service().list(AsScope::Operator, before_second).await.unwrap();
    assert_eq!(early.items.iter().map(|v| v.claim.id).collect::<Vec<_>>(), [first.claim.id], "`to` is exclusive");
    let theirs = w.service().detail(AsScope::Requester(w.m2.id), first.claim.id).await;
    assert!(matches!(theirs, Err(AsError::NotFound)));
    let read = w.service().detail(reach(&m1, true).unwrap(), first.claim.id).await.unwrap();
    assert_eq!(read.claim, first.claim);
    assert!(matches!(reach(&m2, true), Ok(AsScope::Requester(id)) if id == w.m2.id));
}

// ---------------------------------------------------------------------------------------
// Cancel

#[tokio::test]
async fn the_requester_cancels_while_requested_and_only_then() {
    let w = World::new(false);
    let (m1, m2) = (w.member(&w.m1), w.member(&w.m2));
    let id = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap().claim.id;
    assert!(matches!(w.service().cancel(&caller(&m2), id).await, Err(AsError::NotFound)));
    let cancelled = w.service().cancel(&caller(&m1), id).await.unwrap();
    assert_eq!(cancelled.claim.status, AsStatus::Cancelled);
    assert_eq!(w.repo.order(w.order).unwrap().open_as, 0);
    let again = w.service().cancel(&caller(&m1), id).await;
    assert!(matches!(again, Err(AsError::Refused(AsRefusal::InvalidState { status: AsStatus::Cancelled, .. }))));
    assert_eq!(w.repo.claims()[0].history.len(), 2, "the refusal wrote nothing");
}

// ---------------------------------------------------------------------------------------
// Decide

#[tokio::test]
async fn the_operators_key_or_an_admin_decides_and_others_are_refused_first() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let id = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap().claim.id;
    let long = "가".repeat(2001);
    for outsider in [m1.clone(), w.partner_key(), w.operator_user(Role::Member), w.operator_user(Role::CsManager)] {
        // Refused before the comment is judged.
        let err = w.service().approve(&caller(&outsider), id, Some(&long)).await.unwrap_err();
        assert!(matches!(err, AsError::NotDecider), "{outsider:?}: {err:?}");
    }
    let admin = w.operator_user(Role::Admin);
    let err = w.service().approve(&caller(&admin), id, Some(&long)).await.unwrap_err();
    assert!(matches!(&err, AsError::Invalid(v) if v.0[0].field == "comment"), "{err:?}");
    let approved = w.service().approve(&caller(&admin), id, Some("  확인  ")).await.unwrap();
    assert_eq!(
        (approved.claim.status, approved.claim.compensation),
        (AsStatus::Approved, Some(Compensation::Replacement))
    );
    assert_eq!(approved.claim.history[1].comment.as_deref(), Some("확인"));
    assert_eq!(approved.claim.history[1].actor, admin.actor());
    assert_eq!(w.repo.lead(w.leads[0]).unwrap().owner, None);
    assert_eq!(w.repo.order(w.order).unwrap(), MemoryAsOrder { delivered: 10, open_as: 0, approved_as: 1 });
    let twice = w.service().reject(&caller(&w.operator_key()), id, "늦음").await;
    assert!(matches!(twice, Err(AsError::Refused(AsRefusal::InvalidState { status: AsStatus::Approved, .. }))));
    assert!(matches!(w.service().approve(&caller(&admin), Uuid::nil(), None).await, Err(AsError::NotFound)));
}

#[tokio::test]
async fn a_cs_manager_decides_only_the_as_whose_review_is_assigned_to_them() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let id = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap().claim.id;
    let (cs, other_cs) = (w.operator_user(Role::CsManager), w.operator_user(Role::CsManager));
    w.repo.assign_review(id, cs.acting.as_ref().unwrap().id);
    assert!(matches!(w.service().review(&caller(&other_cs), id).await, Err(AsError::NotDecider)));
    let reviewed = w.service().review(&caller(&cs), id).await.unwrap();
    assert_eq!(reviewed.claim.status, AsStatus::InReview);
    let rejected = w.service().reject(&caller(&cs), id, "정상 연결").await.unwrap();
    assert_eq!((rejected.claim.status, rejected.claim.compensation), (AsStatus::Rejected, None));
    assert_eq!(w.repo.lead(w.leads[0]).unwrap().owner, Some(w.m1.id), "a rejection leaves ownership as it was");
}

#[tokio::test]
async fn a_rejection_needs_a_comment_that_is_not_blank() {
    let w = World::new(false);
    let m1 = w.member(&w.m1);
    let id = w.service().claim(&caller(&m1), &new(w.leads[0], AsReasonCode::Duplicate, vec![])).await.unwrap().claim.id;
    let key = w.operator_key();
    for blank in ["", "   "] {
        let err = w.service().reject(&caller(&key), id, blank).await.unwrap_err();
        assert!(
            matches!(&err, AsError::Invalid(v) if v.0[0].field == "comment" && v.0[0].reason == "is required to reject"),
            "{err:?}"
        );
    }
    assert_eq!(w.repo.claims()[0].status, AsStatus::Requested);
    let approved = w.service().approve(&caller(&key), id, None).await.unwrap();
    assert_eq!(approved.claim.history[1].comment, None, "an approval may say nothing");
}

// ---------------------------------------------------------------------------------------
// Parsing a claim

#[test]
fn a_new_claim_names_every_bad_field() {
    let long = "가".repeat(2001);
    let keys = vec!["x".to_owned(), Uuid::nil().to_string(), format!(" {} ", Uuid::nil())];
    let err = NewAsClaim::parse("nope", "BAD", Some(&long), &keys).unwrap_err();
    let fields: Vec<(&str, &str)> = err.0.iter().map(|e| (e.field.as_str(), e.reason.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("leadId", "must be a UUID"),
            (
                "reasonCode",
                "must be one of WRONG_NUMBER, NOT_APPLICANT, DUPLICATE, UNREACHABLE, FALSE_INFO, OUT_OF_REGION, UNDERAGE, ETC"
            ),
            ("description", "must be at most 2000 characters"),
            ("fileKeys[0]", "must be a UUID"),
            ("fileKeys[2]", "is listed twice"),
        ]
    );
    let eleven: Vec<String> = (0..11).map(|_| domain::ids::new_id().to_string()).collect();
    let err = NewAsClaim::parse(&Uuid::nil().to_string(), "ETC", None, &eleven).unwrap_err();
    assert_eq!(err.0[0].field, "fileKeys");
    let ok = NewAsClaim::parse(&format!(" {} ", Uuid::nil()), "ETC", Some("   "), &[]).unwrap();
    assert_eq!((ok.lead_id, ok.description.as_str()), (Uuid::nil(), ""), "ids are trimmed, blank text is none");
}
