use proptest::prelude::*;
use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

fn terms(id: &str, version: &str, purposes: &[TermsPurpose], required: &[TermsPurpose], at: OffsetDateTime) -> Terms {
    Terms {
        id: id.to_owned(),
        version: version.to_owned(),
        title: id.to_owned(),
        purposes: purposes.to_vec(),
        required_for: required.to_vec(),
        effective_at: at,
        content: String::new(),
    }
}

fn book() -> TermsBook {
    use TermsPurpose::{Claim, Coverage, Medical};
    let old = datetime!(2026-01-01 0:00 UTC);
    TermsBook::new(vec![
        terms("PRIVACY", "1", &[Coverage, Medical, Claim], &[Coverage, Medical, Claim], old),
        terms("PRIVACY", "2", &[Coverage, Medical, Claim], &[Coverage, Medical, Claim], datetime!(2026-12-01 0:00 UTC)),
        terms("PRIVACY", "3", &[Coverage, Medical, Claim], &[Coverage, Medical, Claim], datetime!(2027-01-01 0:00 UTC)),
        terms("SENSITIVE", "1", &[Medical, Claim], &[Medical, Claim], old),
        terms(THIRD_PARTY_PROVISION, "1", &[Coverage, Medical], &[], old),
    ])
}

fn ids(current: &[CurrentTerms<'_>]) -> Vec<(String, String, bool)> {
    current.iter().map(|t| (t.terms.id.clone(), t.terms.version.clone(), t.required)).collect()
}

#[test]
fn the_version_in_force_is_the_latest_already_effective() {
    let book = book();
    assert_eq!(
        ids(&book.current(TermsPurpose::Coverage, NOW)),
        [("PRIVACY".into(), "2".into(), true), (THIRD_PARTY_PROVISION.into(), "1".into(), false)]
    );
    assert_eq!(ids(&book.current(TermsPurpose::Coverage, datetime!(2027-02-01 0:00 UTC)))[0].1, "3");
}

#[test]
fn sensitive_data_terms_are_shown_and_required_for_medical_only_where_listed() {
    let medical = ids(&book().current(TermsPurpose::Medical, NOW));
    assert!(medical.contains(&("SENSITIVE".into(), "1".into(), true)));
    assert!(!ids(&book().current(TermsPurpose::Coverage, NOW)).iter().any(|t| t.0 == "SENSITIVE"));
}

#[test]
fn required_consents_at_their_versions_are_accepted_with_the_optional_one() {
    let given = [
        ConsentInput { terms_id: "PRIVACY", version: "2" },
        ConsentInput { terms_id: THIRD_PARTY_PROVISION, version: "1" },
    ];
    let accepted = book().accept(TermsPurpose::Coverage, &given, NOW).unwrap();
    assert_eq!(accepted.len(), 2);
    assert!(shares_with_agents(&accepted));
}

#[test]
fn without_the_optional_consent_nothing_is_shared() {
    let accepted =
        book().accept(TermsPurpose::Coverage, &[ConsentInput { terms_id: "PRIVACY", version: "2" }], NOW).unwrap();
    assert!(!shares_with_agents(&accepted));
}

#[test]
fn a_missing_required_consent_names_the_terms() {
    let refused = book().accept(TermsPurpose::Medical, &[ConsentInput { terms_id: "PRIVACY", version: "2" }], NOW);
    assert_eq!(refused, Err(ConsentRefusal::Required { missing: vec!["SENSITIVE".into()] }));
}

#[test]
fn a_stale_version_is_refused_with_the_current_one() {
    let refused = book().accept(TermsPurpose::Coverage, &[ConsentInput { terms_id: "PRIVACY", version: "1" }], NOW);
    assert_eq!(
        refused,
        Err(ConsentRefusal::VersionChanged { terms_id: "PRIVACY".into(), current_version: "2".into() })
    );
}

#[test]
fn terms_of_another_purpose_are_refused_by_position() {
    let given =
        [ConsentInput { terms_id: "PRIVACY", version: "2" }, ConsentInput { terms_id: "SENSITIVE", version: "1" }];
    let Err(ConsentRefusal::Invalid(err)) = book().accept(TermsPurpose::Coverage, &given, NOW) else { panic!() };
    assert_eq!(err.0[0].field, "consents[1].termsId");
}

#[test]
fn purposes_round_trip() {
    for purpose in TermsPurpose::ALL {
        assert_eq!(TermsPurpose::parse(purpose.as_str()).unwrap(), purpose);
    }
    assert!(TermsPurpose::parse("coverage").is_err());
}

proptest! {
    /// Whatever subset of the current terms is consented at their versions, it is
    /// accepted exactly when it covers every required one.
    #[test]
    fn a_subset_is_accepted_iff_it_covers_the_required(mask in 0u8..8, purpose in 0usize..3) {
        let purpose = TermsPurpose::ALL[purpose];
        let book = book();
        let current = book.current(purpose, NOW);
        let given: Vec<ConsentInput<'_>> = current
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, t)| ConsentInput { terms_id: &t.terms.id, version: &t.terms.version })
            .collect();
        let covers = current.iter().enumerate().all(|(i, t)| !t.required || mask & (1 << i) != 0);
        match book.accept(purpose, &given, NOW) {
            Ok(accepted) => {
                prop_assert!(covers);
                prop_assert_eq!(accepted.len(), given.len());
            }
            Err(ConsentRefusal::Required { missing }) => {
                prop_assert!(!covers);
                prop_assert!(!missing.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}
