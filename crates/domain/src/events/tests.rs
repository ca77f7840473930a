use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::lead::{LeadPii, LeadStatus};
use crate::pii::{Email, PersonName, PhoneNumber};

fn lead(name: &str, phone: &str, email: Option<&str>) -> Lead {
    let at = datetime!(2026-12-02 11:25:30.525 UTC);
    Lead {
        id: Uuid::from_u128(1),
        product_id: Uuid::from_u128(2),
        product_name: "건강보험".into(),
        provider_org_id: Uuid::from_u128(3),
        region: "서울".into(),
        gender: None,
        metadata: None,
        status: LeadStatus::Assigned,
        pii: LeadPii {
            name: PersonName::parse(name).unwrap(),
            phone: PhoneNumber::parse(phone).unwrap(),
            email: email.map(|e| Email::parse(e).unwrap()),
            address: Some("서울 강남구 테헤란로 1".into()),
            birth_date: None,
            memo: Some("메모".into()),
        },
        assignment: None,
        last_distributed_at: None,
        as_statuses: vec![],
        created_at: at,
    }
}

fn body_json(event: &Event) -> serde_json::Value {
    serde_json::from_slice(&event.body()).unwrap()
}

#[test]
fn every_type_reads_back_from_its_name_and_nothing_else_does() {
    for t in EventType::ALL {
        assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
    }
    assert_eq!("lead.created".parse::<EventType>(), Err(UnknownEventType("lead.created".into())));
    assert!("*".parse::<EventType>().is_err(), "the wildcard is a subscription, not a type");
}

#[test]
fn times_are_utc_with_milliseconds() {
    assert_eq!(event_time(datetime!(2026-12-02 11:25:30.525_999 UTC)), "2026-12-02T11:25:30.525Z");
    assert_eq!(event_time(datetime!(2026-12-02 20:25:30 +09:00)), "2026-12-02T11:25:30.000Z");
}

#[test]
fn an_event_id_is_evt_and_a_time_ordered_uuid() {
    let at = datetime!(2026-12-02 11:25:30 UTC);
    let a = Event::new(Uuid::nil(), "mohom", &Ping {}, at);
    let b = Event::new(Uuid::nil(), "mohom", &Ping {}, at);
    assert!(a.id.starts_with("evt_") && a.id.len() == 36, "{}", a.id);
    assert!(a.id < b.id, "made later, sorts later: {} {}", a.id, b.id);
}

#[test]
fn a_lead_assigned_envelope_has_the_shape_of_events_md_with_contacts_masked() {
    let at = datetime!(2026-12-02 11:25:30.525 UTC);
    let lead = lead("홍길동", "010-1234-5678", Some("hong@example.com"));
    let payload = LeadAssigned::new(&lead, Uuid::from_u128(4), "m-1", at);
    let event = Event::new(Uuid::from_u128(5), "mohom", &payload, at);
    assert_eq!(event.event_type, EventType::LeadAssigned);
    insta::assert_json_snapshot!("lead_assigned", body_json(&event), { ".id" => "[evt id]" });
}

#[test]
fn the_other_envelopes_have_the_shape_of_events_md() {
    let at = datetime!(2026-12-02 11:25:30.525 UTC);
    let ids = vec![Uuid::from_u128(1), Uuid::from_u128(2)];
    let org = Uuid::from_u128(9);
    let events = [
        Event::new(
            org,
            "mohom",
            &LeadsDistributed {
                lead_ids: ids.clone(),
                from_mohom_id: "leader".into(),
                to_mohom_id: "m-1".into(),
                distributed_at: event_time(at),
            },
            at,
        ),
        Event::new(
            org,
            "mohom",
            &LeadsRecalled {
                lead_ids: ids,
                from_mohom_id: "m-1".into(),
                to_mohom_id: "leader".into(),
                recalled_at: event_time(at),
            },
            at,
        ),
        Event::new(
            org,
            "mohom",
            &OrderCancelled {
                order_id: Uuid::from_u128(3),
                mohom_id: "m-1".into(),
                refunded_amount: Money::from_minor(1_200_050).unwrap(),
                cancelled_at: event_time(at),
            },
            at,
        ),
        Event::new(
            org,
            "ldbds-operator",
            &AsDecided {
                as_id: Uuid::from_u128(4),
                lead_id: Uuid::from_u128(1),
                status: "APPROVED".into(),
                compensation: None,
                decided_at: event_time(at),
            },
            at,
        ),
        Event::new(org, "mohom", &Ping {}, at),
    ];
    let bodies: Vec<serde_json::Value> = events.iter().map(body_json).collect();
    insta::assert_json_snapshot!("other_envelopes", bodies, { "[].id" => "[evt id]" });
}

proptest! {
    /// No envelope carries a lead's plain name, phone (any form), email, address or memo.
    #[test]
    fn no_plain_contact_reaches_an_envelope(
        name in "[가-힣]{2,4}",
        middle in 1000u32..10000,
        last in 1000u32..10000,
        local in "[a-z]{3,12}",
    ) {
        let phone = format!("010-{middle}-{last}");
        let email = format!("{local}@example.com");
        let lead = lead(&name, &phone, Some(&email));
        let at = datetime!(2026-12-02 11:25:30 UTC);
        let event = Event::new(Uuid::nil(), "mohom", &LeadAssigned::new(&lead, Uuid::nil(), "m-1", at), at);
        let body = String::from_utf8(event.body()).unwrap();
        let national = format!("010{middle}{last}");
        let e164 = format!("+8210{middle}{last}");
        for plain in [name.as_str(), phone.as_str(), national.as_str(), e164.as_str(), email.as_str(), "테헤란로", "메모"] {
            prop_assert!(!body.contains(plain), "{plain} in {body}");
        }
    }
}
