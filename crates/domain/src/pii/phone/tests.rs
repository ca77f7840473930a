use proptest::prelude::*;

use super::*;

fn e164(input: &str) -> String {
    PhoneNumber::parse(input).map(|p| p.e164().to_owned()).unwrap_or_else(|e| panic!("{input:?} refused: {e}"))
}

#[test]
fn every_format_of_a_current_vietnamese_mobile_gives_one_e164() {
    for input in ["0399333999", "+84 399 333 999", "84399333999", "039-933-3999", "0084 399 333 999", "+84 0399333999"]
    {
        assert_eq!(e164(input), "+84399333999", "{input}");
    }
}

#[test]
fn a_legacy_vietnamese_number_maps_to_its_current_one() {
    assert_eq!(e164("01699333999"), "+84399333999");
    assert_eq!(e164("+84 1699333999"), "+84399333999");
    assert_eq!(e164("84 169 933 3999"), "+84399333999");
}

#[test]
fn a_legacy_vietnamese_prefix_maps_to_its_new_one() {
    let table = [
        ("0162", "032"),
        ("0163", "033"),
        ("0164", "034"),
        ("0165", "035"),
        ("0166", "036"),
        ("0167", "037"),
        ("0168", "038"),
        ("0169", "039"),
        ("0120", "070"),
        ("0121", "079"),
        ("0122", "077"),
        ("0126", "076"),
        ("0128", "078"),
        ("0123", "083"),
        ("0124", "084"),
        ("0125", "085"),
        ("0127", "081"),
        ("0129", "082"),
        ("0186", "056"),
        ("0188", "058"),
        ("0199", "059"),
    ];
    for (old, new) in table {
        let phone = PhoneNumber::parse(&format!("{old}1234567")).unwrap();
        assert_eq!(phone.country(), Country::Vn, "{old}");
        assert_eq!(phone.national(), format!("{new}1234567"), "{old}");
    }
}

#[test]
fn every_format_of_a_korean_mobile_gives_one_e164() {
    for input in
        ["010-1234-5678", "01012345678", "+821012345678", "+82 10 1234 5678", "(010) 1234.5678", "+82 010-1234-5678"]
    {
        assert_eq!(e164(input), "+821012345678", "{input}");
    }
    assert_eq!(e164("0082-10-1234-5678"), "+821012345678");
    assert_eq!(e164("821012345678"), "+821012345678");
    assert_eq!(e164("(+82) 10 - 1234 - 5678"), "+821012345678");
}

#[test]
fn an_old_korean_ten_digit_mobile_is_accepted() {
    assert_eq!(e164("011-123-4567"), "+82111234567");
    assert_eq!(e164("010-123-4567"), "+82101234567");
}

#[test]
fn a_national_010_number_is_always_korean() {
    let phone = PhoneNumber::parse("01012345678").unwrap();
    assert_eq!(phone.country(), Country::Kr);
}

#[test]
fn an_eleven_digit_01x_number_with_a_vietnamese_legacy_prefix_is_vietnamese() {
    for (input, expected) in
        [("01699333999", "+84399333999"), ("01861234567", "+84561234567"), ("01991234567", "+84591234567")]
    {
        let phone = PhoneNumber::parse(input).unwrap();
        assert_eq!((phone.country(), phone.e164()), (Country::Vn, expected), "{input}");
    }
}

#[test]
fn an_eleven_digit_01x_number_without_a_vietnamese_legacy_prefix_is_korean() {
    for (input, expected) in [
        ("0161-123-4567", "+821611234567"),
        ("0171-234-5678", "+821712345678"),
        ("0111-234-5678", "+821112345678"),
        ("0187-123-4567", "+821871234567"),
    ] {
        let phone = PhoneNumber::parse(input).unwrap();
        assert_eq!((phone.country(), phone.e164()), (Country::Kr, expected), "{input}");
    }
}

#[test]
fn a_ten_digit_01x_number_is_korean() {
    for (input, expected) in [("016-933-3999", "+82169333999"), ("019-123-4567", "+82191234567")] {
        let phone = PhoneNumber::parse(input).unwrap();
        assert_eq!((phone.country(), phone.e164()), (Country::Kr, expected), "{input}");
    }
}

#[test]
fn a_012x_number_is_only_ever_vietnamese() {
    let phone = PhoneNumber::parse("01201234567").unwrap();
    assert_eq!((phone.country(), phone.e164()), (Country::Vn, "+84701234567"));
    assert!(PhoneNumber::parse_for("01201234567", Country::Kr).is_err());
}

#[test]
fn an_explicit_country_code_removes_the_ambiguity() {
    assert_eq!(e164("+82 1699333999"), "+821699333999");
    assert_eq!(e164("+84 1699333999"), "+84399333999");
}

#[test]
fn a_declared_country_decides_how_a_national_number_reads() {
    let kr = PhoneNumber::parse_for("01699333999", Country::Kr).unwrap();
    assert_eq!((kr.country(), kr.e164()), (Country::Kr, "+821699333999"));
    let vn = PhoneNumber::parse_for("01699333999", Country::Vn).unwrap();
    assert_eq!((vn.country(), vn.e164()), (Country::Vn, "+84399333999"));
    assert_eq!(PhoneNumber::parse_for("+82 10-1234-5678", Country::Kr).unwrap().e164(), "+821012345678");
}

#[test]
fn a_declared_country_refuses_the_other_countrys_numbers() {
    let kr_only = PhoneNumber::parse_for("+84 399 333 999", Country::Kr).unwrap_err();
    assert_eq!(kr_only, ValidationError::single("phone", "is not a Korean mobile number"));
    let vn_only = PhoneNumber::parse_for("010-1234-5678", Country::Vn).unwrap_err();
    assert_eq!(vn_only, ValidationError::single("phone", "is not a Vietnamese mobile number"));
    assert!(PhoneNumber::parse_for("0399333999", Country::Kr).is_err());
    assert!(PhoneNumber::parse_for("+82 10 1234 5678", Country::Vn).is_err());
    let foreign = PhoneNumber::parse_for("+1 415 555 0100", Country::Vn).unwrap_err();
    assert_eq!(foreign, ValidationError::single("phone", "is not a Vietnamese mobile number"));
}

#[test]
fn malformed_or_foreign_numbers_are_refused() {
    for input in [
        "",
        "   ",
        "abc",
        "0399333999x",
        "03993339999",
        "039933399",
        "(03|07)39933399",
        "0|99333999",
        "02-123-4567",
        "0201234567",
        "+1 415 555 0100",
        "0130 1234567",
        "+8410123456",
        "(010 1234 5678",
        "010) 1234 5678",
        "((010)) 1234 5678",
        "010+12345678",
        "++821012345678",
        "1012345678",
        "+0399333999",
        "00399333999",
        "010-1234-56789",
        "0101234567８",
    ] {
        assert!(PhoneNumber::parse(input).is_err(), "{input:?} accepted");
    }
}

#[test]
fn an_error_names_the_phone_field_and_never_echoes_the_input() {
    let err = PhoneNumber::parse("0399333999x").unwrap_err();
    assert!(err.0.iter().all(|f| f.field == "phone" && !f.reason.contains("0399")));
    assert_eq!(PhoneNumber::parse("").unwrap_err(), ValidationError::single("phone", "is required"));
}

#[test]
fn the_accessors_give_the_national_form_and_the_last_four_digits() {
    let kr = PhoneNumber::parse("+82 10 1234 5678").unwrap();
    assert_eq!((kr.national().as_str(), kr.last4(), kr.country()), ("01012345678", "5678", Country::Kr));
    let vn = PhoneNumber::parse("+84 1699333999").unwrap();
    assert_eq!((vn.national().as_str(), vn.last4(), vn.country()), ("0399333999", "3999", Country::Vn));
}

#[test]
fn debug_never_shows_the_number() {
    let phone = PhoneNumber::parse("010-1234-5678").unwrap();
    assert_eq!(format!("{phone:?}"), "PhoneNumber(***)");
    assert_eq!(format!("{:?}", Some(&phone)), "Some(PhoneNumber(***))");
}

fn valid_number() -> impl Strategy<Value = String> {
    prop_oneof![
        "0[35789][0-9]{8}",
        "\\+84[35789][0-9]{8}",
        "01[016789][0-9]{7,8}",
        "\\+821[016789][0-9]{7,8}",
        "01(6[2-9]|2[0-9]|86|88|99)[0-9]{7}",
        "\\+841(6[2-9]|2[0-9]|86|88|99)[0-9]{7}",
    ]
}

/// Puts one of the accepted separators after each character.
fn formatted(number: &str, separators: &[&str]) -> String {
    number.chars().zip(separators.iter().cycle()).map(|(c, sep)| format!("{c}{sep}")).collect()
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,48}") {
        let _ = PhoneNumber::parse(&text);
        let _ = PhoneNumber::parse_for(&text, Country::Kr);
        let _ = PhoneNumber::parse_for(&text, Country::Vn);
    }

    #[test]
    fn an_accepted_number_reparses_to_its_own_e164(text in "[0-9+() .|-]{0,20}") {
        if let Ok(phone) = PhoneNumber::parse(&text) {
            let again = PhoneNumber::parse(phone.e164()).expect("E.164 reparses");
            prop_assert_eq!(again.e164(), phone.e164());
            prop_assert_eq!(again.country(), phone.country());
            let national = PhoneNumber::parse_for(&phone.national(), phone.country()).expect("national reparses");
            prop_assert_eq!(national, phone);
        }
    }

    #[test]
    fn every_current_vietnamese_national_number_parses(number in "0[35789][0-9]{8}") {
        let phone = PhoneNumber::parse(&number).expect("valid VN number");
        prop_assert_eq!(phone.e164(), format!("+84{}", &number[1..]));
        prop_assert_eq!(phone.national(), number);
    }

    #[test]
    fn every_generated_valid_number_reparses_from_its_e164(number in valid_number()) {
        let phone = PhoneNumber::parse(&number).expect("valid number");
        prop_assert_eq!(PhoneNumber::parse(phone.e164()).expect("E.164 reparses"), phone);
    }

    #[test]
    fn separators_do_not_change_the_number(
        number in valid_number(),
        separators in proptest::collection::vec(proptest::sample::select(vec!["", "", " ", "-", "."]), 1..8),
    ) {
        let plain = PhoneNumber::parse(&number).expect("valid number");
        let spaced = PhoneNumber::parse(&formatted(&number, &separators)).expect("formatted number");
        prop_assert_eq!(spaced.e164(), plain.e164());
        let bracketed = format!("({}) {}", &number[..3], &number[3..]);
        let bracketed = PhoneNumber::parse(&bracketed).expect("bracketed number");
        prop_assert_eq!(bracketed.e164(), plain.e164());
    }
}

/// Text made to look like a phone number and then broken: digits (ASCII and not), the
/// accepted separators, a `+`, parentheses, look-alike spaces and dashes, letters, controls.
fn phone_like_garbage() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[0-9]{1,4}",
        2 => proptest::sample::select(vec!["+", "00", "82", "84", "010", "0169", "(", ")", " ", "-", "."]).prop_map(str::to_owned),
        1 => proptest::sample::select(vec![
            "\u{a0}", "\u{2009}", "\u{3000}", "\u{200b}", "\u{2010}", "\u{2212}", "\u{ff0b}", "\u{ff10}", "\u{0663}",
            "\u{0301}", "\t", "\n", "\r", "\0", "\u{feff}", "\u{1f4de}", "x", "#", "*", "/", ",", "ext",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// What an accepted number must look like, whatever was typed.
fn assert_well_formed(phone: &PhoneNumber) -> Result<(), TestCaseError> {
    let e164 = phone.e164();
    prop_assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()), "{}", e164);
    let nsn = match phone.country() {
        Country::Kr => e164.strip_prefix("+82").expect("+82 for KR"),
        Country::Vn => e164.strip_prefix("+84").expect("+84 for VN"),
    };
    match phone.country() {
        Country::Kr => {
            prop_assert!((9..=10).contains(&nsn.len()), "{}", e164);
            prop_assert!(nsn.starts_with('1') && b"016789".contains(&nsn.as_bytes()[1]), "{}", e164);
        }
        Country::Vn => prop_assert!(nsn.len() == 9 && nsn.starts_with(['3', '5', '7', '8', '9']), "{}", e164),
    }
    prop_assert_eq!(phone.last4(), &e164[e164.len() - 4..]);
    prop_assert_eq!(phone.national(), format!("0{nsn}"));
    Ok(())
}

/// Every reason a phone error may give: fixed texts, so an error never repeats what was typed.
const REASONS: [&str; 7] = [
    "is required",
    "is too long",
    "may only hold digits, spaces, hyphens, dots, parentheses and a leading +",
    "has unbalanced parentheses",
    "is not a Korean or Vietnamese mobile number",
    "is not a Korean mobile number",
    "is not a Vietnamese mobile number",
];

/// An error names `phone`, once, with one of [`REASONS`].
fn assert_clean_error(err: &ValidationError) -> Result<(), TestCaseError> {
    prop_assert_eq!(err.0.len(), 1);
    for field in &err.0 {
        prop_assert_eq!(field.field.as_str(), "phone");
        prop_assert!(REASONS.contains(&field.reason.as_str()), "unexpected reason {:?}", field.reason);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Any string at all (controls, surrogate-free unicode, very long): a number that
    /// satisfies the E.164 invariants, or a `phone` error that does not echo the input.
    #[test]
    fn any_string_parses_to_a_well_formed_number_or_a_clean_error(
        text in prop_oneof![any::<String>(), phone_like_garbage(), "\\PC{60,200}"],
    ) {
        for result in [
            PhoneNumber::parse(&text),
            PhoneNumber::parse_for(&text, Country::Kr),
            PhoneNumber::parse_for(&text, Country::Vn),
        ] {
            match result {
                Ok(phone) => assert_well_formed(&phone)?,
                Err(err) => assert_clean_error(&err)?,
            }
        }
    }

    /// Bytes off the wire, read as UTF-8 with replacement characters.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(phone) = PhoneNumber::parse(&text) {
            assert_well_formed(&phone)?;
        }
    }

    /// A declared country never yields a number of the other country, and a number read
    /// without a declared country reads the same when its country is declared.
    #[test]
    fn a_declared_country_never_gives_another_country(text in phone_like_garbage()) {
        for country in [Country::Kr, Country::Vn] {
            if let Ok(phone) = PhoneNumber::parse_for(&text, country) {
                prop_assert_eq!(phone.country(), country);
            }
        }
        if let Ok(phone) = PhoneNumber::parse(&text) {
            prop_assert_eq!(PhoneNumber::parse_for(&text, phone.country()).expect("same country"), phone);
        }
    }

    /// Only the accepted separators may surround a number: one non-separator character
    /// (a letter, a look-alike dash or space, a non-ASCII digit) anywhere is refused.
    #[test]
    fn one_foreign_character_anywhere_is_refused(
        number in valid_number(),
        at in any::<proptest::sample::Index>(),
        intruder in any::<char>().prop_filter("not an accepted character", |c| {
            !c.is_ascii_digit() && !matches!(c, ' ' | '-' | '.' | '(' | ')' | '+') && !c.is_whitespace()
        }),
    ) {
        let mut chars: Vec<char> = number.chars().collect();
        chars.insert(at.index(chars.len() + 1), intruder);
        let text: String = chars.into_iter().collect();
        prop_assert!(PhoneNumber::parse(&text).is_err(), "{:?} accepted", text);
    }
}
