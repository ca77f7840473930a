use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;

const TODAY: Date = date!(2026 - 12 - 03);

fn fields() -> IdentityFields<'static> {
    IdentityFields {
        name: Some("홍길동"),
        birth_date: Some("1985-04-12"),
        gender: Some("M"),
        phone: Some("010-1234-5678"),
        carrier: Some("SKT"),
        mohom_id: None,
    }
}

fn reasons(err: &ValidationError) -> Vec<(String, String)> {
    err.0.iter().map(|f| (f.field.clone(), f.reason.clone())).collect()
}

#[test]
fn a_complete_request_parses_with_the_phone_in_e164() {
    let claim = IdentityClaim::parse(&fields(), TODAY).unwrap();
    assert_eq!(claim.phone.expose().e164(), "+821012345678");
    assert_eq!(*claim.birth_date.expose(), date!(1985 - 04 - 12));
    assert_eq!((claim.gender, claim.carrier, claim.mohom_id), (Gender::Male, Carrier::Skt, None));
}

#[test]
fn every_bad_field_is_named_at_once() {
    let bad = IdentityFields {
        name: Some(""),
        birth_date: Some("2027-01-01"),
        gender: Some("X"),
        phone: Some("0912345678"),
        carrier: Some("VODAFONE"),
        mohom_id: Some("no spaces allowed"),
    };
    let err = IdentityClaim::parse(&bad, TODAY).unwrap_err();
    let fields: Vec<String> = reasons(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["name", "birthDate", "gender", "phone", "carrier", "mohomId"]);
}

#[test]
fn an_empty_mohom_id_is_refused_not_taken_for_absent() {
    let err = IdentityClaim::parse(&IdentityFields { mohom_id: Some(""), ..fields() }, TODAY).unwrap_err();
    assert_eq!(reasons(&err)[0].0, "mohomId");
}

#[test]
fn a_birth_date_in_the_future_is_refused_by_name() {
    let err = IdentityClaim::parse(&IdentityFields { birth_date: Some("2026-12-04"), ..fields() }, TODAY).unwrap_err();
    assert_eq!(reasons(&err), [("birthDate".to_owned(), "must be between 1900-01-01 and today".to_owned())]);
}

#[test]
fn a_vietnamese_number_is_not_a_korean_identity() {
    let err = IdentityClaim::parse(&IdentityFields { phone: Some("+84 912 345 678"), ..fields() }, TODAY).unwrap_err();
    assert_eq!(reasons(&err), [("phone".to_owned(), "is not a Korean mobile number".to_owned())]);
}

#[test]
fn carriers_round_trip_and_nothing_else_parses() {
    for carrier in Carrier::ALL {
        assert_eq!(Carrier::parse(carrier.as_str()).unwrap(), carrier);
    }
    assert!(Carrier::parse("skt").is_err());
    assert!(Carrier::parse("").is_err());
}

const T0: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

fn state(attempts: u8) -> CodeState {
    CodeState { expires_at: T0 + CODE_TTL, attempts, verified_at: None }
}

#[test]
fn the_right_code_in_time_verifies() {
    assert_eq!(check_code(&state(0), true, T0 + Duration::from_secs(10)), CodeCheck::Verified);
    assert_eq!(check_code(&state(4), true, T0), CodeCheck::Verified);
}

#[test]
fn a_wrong_code_counts_down_the_attempts() {
    assert_eq!(check_code(&state(0), false, T0), CodeCheck::Mismatch { remaining_attempts: 4 });
    assert_eq!(check_code(&state(4), false, T0), CodeCheck::Mismatch { remaining_attempts: 0 });
}

#[test]
fn after_five_checks_even_the_right_code_is_expired() {
    assert_eq!(check_code(&state(5), true, T0), CodeCheck::Expired);
}

#[test]
fn the_right_code_after_three_minutes_is_expired() {
    assert_eq!(check_code(&state(0), true, T0 + CODE_TTL), CodeCheck::Expired);
}

#[test]
fn a_code_that_verified_never_verifies_again() {
    let used = CodeState { verified_at: Some(T0), ..state(1) };
    assert_eq!(check_code(&used, true, T0 + Duration::from_secs(5)), CodeCheck::Expired);
}

#[test]
fn only_six_digits_are_shaped_like_a_code() {
    assert!(is_code_shaped("012345"));
    for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
        assert!(!is_code_shaped(bad), "{bad}");
    }
}

#[test]
fn the_sixth_request_of_a_phone_waits_for_the_oldest_to_leave_the_window() {
    let window =
        RequestWindow { phone_requests: 5, phone_oldest: Some(T0), address_requests: 5, address_oldest: Some(T0) };
    let now = T0 + Duration::from_secs(20 * 60);
    assert_eq!(window.judge(now), Err(RequestLimited { by_phone: true, retry_after_secs: 40 * 60 }));
}

#[test]
fn the_twenty_first_request_of_an_address_is_refused() {
    let window =
        RequestWindow { phone_requests: 0, phone_oldest: None, address_requests: 20, address_oldest: Some(T0) };
    assert_eq!(window.judge(T0 + RATE_WINDOW), Err(RequestLimited { by_phone: false, retry_after_secs: 1 }));
}

proptest! {
    /// Under both limits a request is let through; at either, refused with a wait of
    /// 1 s to one hour.
    #[test]
    fn the_limits_hold_at_their_counts(
        phone in 0u32..10, address in 0u32..30, age_secs in 0u64..3600,
    ) {
        let now = T0 + Duration::from_secs(age_secs);
        let window = RequestWindow {
            phone_requests: phone,
            phone_oldest: Some(T0),
            address_requests: address,
            address_oldest: Some(T0),
        };
        match window.judge(now) {
            Ok(()) => prop_assert!(phone < PHONE_REQUESTS_PER_HOUR && address < ADDRESS_REQUESTS_PER_HOUR),
            Err(limited) => {
                prop_assert!(phone >= PHONE_REQUESTS_PER_HOUR || address >= ADDRESS_REQUESTS_PER_HOUR);
                prop_assert_eq!(limited.by_phone, phone >= PHONE_REQUESTS_PER_HOUR);
                prop_assert!((1..=3600).contains(&limited.retry_after_secs));
            }
        }
    }

    /// However the checks go, a code verifies at most while it has attempts left, in
    /// time, and once.
    #[test]
    fn a_code_is_spent_by_five_checks_or_three_minutes(
        checks in proptest::collection::vec((any::<bool>(), 0u64..400), 1..12),
    ) {
        let mut code = state(0);
        let mut verified = 0;
        for (matches, at) in checks {
            let now = T0 + Duration::from_secs(at);
            match check_code(&code, matches, now) {
                CodeCheck::Verified => {
                    prop_assert!(code.attempts < MAX_CODE_ATTEMPTS && now < code.expires_at);
                    verified += 1;
                    code.attempts += 1;
                    code.verified_at = Some(now);
                }
                CodeCheck::Mismatch { remaining_attempts } => {
                    prop_assert_eq!(remaining_attempts, MAX_CODE_ATTEMPTS - code.attempts - 1);
                    code.attempts += 1;
                }
                CodeCheck::Expired => {}
            }
        }
        prop_assert!(verified <= 1);
        prop_assert!(code.attempts <= MAX_CODE_ATTEMPTS);
    }
}
