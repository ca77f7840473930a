use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::reference::{AsPolicyParts, Compensation};

fn policy(start: AsWindowStart, hours: u32, percent: u8, auto: bool) -> AsPolicy {
    AsPolicy::new(AsPolicyParts {
        window_hours: hours,
        window_starts_from: start,
        allowed_reasons: vec![AsReasonCode::WrongNumber, AsReasonCode::Unreachable, AsReasonCode::Etc],
        evidence_required: vec![AsReasonCode::WrongNumber],
        max_rate_percent: percent,
        compensation: Compensation::Replacement,
        auto_approve: auto,
    })
    .unwrap()
}

const BOUGHT: OffsetDateTime = datetime!(2026-11-20 09:00 UTC);
const USED: OffsetDateTime = datetime!(2026-11-21 10:00 UTC);

fn facts(now: OffsetDateTime) -> ClaimFacts {
    ClaimFacts {
        purchased_at: Some(BOUGHT),
        first_used_at: Some(USED),
        open_as: false,
        order_delivered: 100,
        order_open_as: 0,
        order_approved_as: 0,
        reason: AsReasonCode::WrongNumber,
        evidence_files: 1,
        now,
    }
}

#[test]
fn a_plain_claim_inside_every_rule_is_accepted() {
    let verdict = check_claim(&policy(AsWindowStart::Assigned, 72, 10, false), &facts(USED)).unwrap();
    assert!(!verdict.auto_approved);
    assert_eq!(verdict.window_end, BOUGHT + Duration::hours(72));
}

#[test]
fn a_registered_lead_cannot_be_claimed() {
    let mut f = facts(USED);
    f.purchased_at = None;
    assert!(matches!(
        check_claim(&policy(AsWindowStart::Assigned, 72, 10, false), &f),
        Err(AsRefusal::NotPurchased(_))
    ));
}

#[test]
fn a_reason_outside_the_policy_is_refused() {
    let mut f = facts(USED);
    f.reason = AsReasonCode::Underage;
    assert_eq!(
        check_claim(&policy(AsWindowStart::Assigned, 72, 10, false), &f),
        Err(AsRefusal::ReasonNotAllowed(AsReasonCode::Underage))
    );
}

#[test]
fn evidence_is_required_only_where_the_policy_says() {
    let p = policy(AsWindowStart::Assigned, 72, 10, false);
    let mut f = facts(USED);
    f.evidence_files = 0;
    assert_eq!(check_claim(&p, &f), Err(AsRefusal::EvidenceRequired(AsReasonCode::WrongNumber)));
    f.reason = AsReasonCode::Unreachable;
    assert!(check_claim(&p, &f).is_ok());
}

#[test]
fn the_window_from_assignment_includes_its_last_second_and_not_the_next() {
    let p = policy(AsWindowStart::Assigned, 72, 10, false);
    let end = BOUGHT + Duration::hours(72);
    assert!(check_claim(&p, &facts(end - Duration::seconds(1))).is_ok());
    assert!(check_claim(&p, &facts(end)).is_ok());
    assert_eq!(
        check_claim(&p, &facts(end + Duration::seconds(1))),
        Err(AsRefusal::WindowClosed(WindowState::Closed { end }))
    );
}

#[test]
fn the_window_from_use_starts_at_the_first_use() {
    let p = policy(AsWindowStart::Used, 24, 10, false);
    let end = USED + Duration::hours(24);
    assert!(check_claim(&p, &facts(end - Duration::seconds(1))).is_ok());
    assert_eq!(
        check_claim(&p, &facts(end + Duration::seconds(1))),
        Err(AsRefusal::WindowClosed(WindowState::Closed { end }))
    );
    let mut unused = facts(USED);
    unused.first_used_at = None;
    assert_eq!(check_claim(&p, &unused), Err(AsRefusal::WindowClosed(WindowState::NotStarted)));
}

#[test]
fn one_open_as_per_lead() {
    let mut f = facts(USED);
    f.open_as = true;
    assert_eq!(check_claim(&policy(AsWindowStart::Assigned, 72, 10, false), &f), Err(AsRefusal::AlreadyOpen));
}

#[test]
fn the_cap_counts_open_and_approved_and_is_at_least_one() {
    assert_eq!(as_cap(10, 100), 10);
    assert_eq!(as_cap(10, 19), 1);
    assert_eq!(as_cap(10, 5), 1);
    assert_eq!(as_cap(0, 100), 1);
    assert_eq!(as_cap(100, 7), 7);
    let p = policy(AsWindowStart::Assigned, 72, 10, false);
    let mut f = facts(USED);
    f.order_open_as = 4;
    f.order_approved_as = 5;
    assert!(check_claim(&p, &f).is_ok());
    f.order_open_as = 5;
    assert_eq!(check_claim(&p, &f), Err(AsRefusal::RateExceeded { cap: 10, counted: 10 }));
}

#[test]
fn auto_approval_needs_consent_and_a_plain_case() {
    let auto = policy(AsWindowStart::Assigned, 72, 10, true);
    assert!(check_claim(&auto, &facts(USED + Duration::hours(24))).unwrap().auto_approved);
    assert!(!check_claim(&auto, &facts(USED + Duration::hours(24) + Duration::seconds(1))).unwrap().auto_approved);
    let mut other = facts(USED);
    other.reason = AsReasonCode::Unreachable;
    assert!(!check_claim(&auto, &other).unwrap().auto_approved);
    let mut unused = facts(BOUGHT + Duration::hours(1));
    unused.first_used_at = None;
    assert!(!check_claim(&auto, &unused).unwrap().auto_approved);
    assert!(!check_claim(&policy(AsWindowStart::Assigned, 72, 10, false), &facts(USED)).unwrap().auto_approved);
}

#[test]
fn the_state_machine_table() {
    use AsAction::*;
    use AsStatus::*;
    let table = [
        (Requested, Review, Some(InReview)),
        (Requested, Cancel, Some(Cancelled)),
        (Requested, Approve, Some(Approved)),
        (Requested, Reject, Some(Rejected)),
        (InReview, Review, None),
        (InReview, Cancel, None),
        (InReview, Approve, Some(Approved)),
        (InReview, Reject, Some(Rejected)),
    ];
    for (from, action, to) in table {
        assert_eq!(from.apply(action).ok(), to, "{from} {action}");
        assert_eq!(AsStatus::allowed_before(action).contains(&from), to.is_some(), "{from} {action}");
    }
}

fn any_action() -> impl Strategy<Value = AsAction> {
    prop::sample::select(AsAction::ALL.to_vec())
}

proptest! {
    /// Whatever people do, a decided AS never changes again, and every accepted step is
    /// one the table allows.
    #[test]
    fn a_decided_as_never_changes(actions in prop::collection::vec(any_action(), 0..20)) {
        let mut status = AsStatus::Requested;
        let mut decided: Option<AsStatus> = None;
        for action in actions {
            match status.apply(action) {
                Ok(next) => {
                    prop_assert!(decided.is_none(), "{status} moved after being decided");
                    prop_assert!(AsStatus::allowed_before(action).contains(&status));
                    status = next;
                    if status.is_final() { decided = Some(status); }
                }
                Err(AsRefusal::InvalidState { status: s, action: a }) => {
                    prop_assert_eq!(s, status);
                    prop_assert_eq!(a, action);
                }
                Err(other) => prop_assert!(false, "unexpected refusal {other:?}"),
            }
        }
    }

    /// An order's approved + open AS never exceed its cap, whatever mix of claims,
    /// approvals, rejections and cancellations arrives.
    #[test]
    fn the_order_cap_holds_under_any_sequence(
        delivered in 1u64..300,
        percent in 0u8..=100,
        ops in prop::collection::vec((0u8..4, any::<prop::sample::Index>()), 0..200),
    ) {
        let p = policy(AsWindowStart::Assigned, 72, percent, false);
        let cap = as_cap(percent, delivered);
        // Per lead: its latest AS status, if any.
        let mut leads: Vec<Option<AsStatus>> = vec![None; usize::try_from(delivered).unwrap()];
        for (op, index) in ops {
            let lead = index.index(leads.len());
            let open = leads.iter().filter(|s| s.is_some_and(AsStatus::is_open)).count() as u64;
            let approved = leads.iter().filter(|s| **s == Some(AsStatus::Approved)).count() as u64;
            match op {
                0 => {
                    let mut f = facts(USED);
                    f.order_delivered = delivered;
                    f.order_open_as = open;
                    f.order_approved_as = approved;
                    f.open_as = leads[lead].is_some_and(AsStatus::is_open);
                    if leads[lead] == Some(AsStatus::Approved) { continue; } // a returned lead is gone
                    if check_claim(&p, &f).is_ok() { leads[lead] = Some(AsStatus::Requested); }
                }
                _ => {
                    let action = [AsAction::Approve, AsAction::Reject, AsAction::Cancel][usize::from(op - 1)];
                    if let Some(next) = leads[lead].and_then(|s| s.apply(action).ok()) { leads[lead] = Some(next); }
                }
            }
            let open = leads.iter().filter(|s| s.is_some_and(AsStatus::is_open)).count() as u64;
            let approved = leads.iter().filter(|s| **s == Some(AsStatus::Approved)).count() as u64;
            prop_assert!(open + approved <= cap, "{open} open + {approved} approved > cap {cap}");
        }
    }

    /// The window is exactly `[start, start + hours]`.
    #[test]
    fn the_window_is_exact(hours in 1u32..2000, offset_secs in -10_000i64..10_000_000) {
        let p = policy(AsWindowStart::Assigned, hours, 10, false);
        let now = BOUGHT + Duration::seconds(offset_secs);
        let inside = now <= BOUGHT + Duration::hours(i64::from(hours));
        prop_assert_eq!(matches!(window(&p, BOUGHT, None, now), WindowState::Open { .. }), inside);
    }
}
