use proptest::prelude::*;

use super::*;

#[test]
fn the_security_spec_examples_hold() {
    assert_eq!(mask_name("김철"), "김*");
    assert_eq!(mask_name("홍길동"), "홍*동");
    assert_eq!(mask_name("남궁민수"), "남**수");
    assert_eq!(mask_name("Nguyen Van A"), "N***** V** A");
    assert_eq!(mask_phone("010-1234-5678"), "010-****-5678");
    assert_eq!(mask_phone("0399333999"), "039***3999");
    assert_eq!(mask_email("abcde@example.com"), "ab***@example.com");
    assert_eq!(mask_email("abcdef@example.com"), "ab****@example.com");
    assert_eq!(mask_address("서울 강남구 테헤란로 123"), "서울 강남구 ***");
    assert_eq!(mask_birth_date("1985-03-12"), "1985-**-**");
    assert_eq!(mask_id_number("900101-1234567"), "******");
}

#[test]
fn a_one_character_name_is_fully_masked() {
    assert_eq!(mask_name("김"), "*");
    assert_eq!(mask_name("A"), "*");
}

#[test]
fn a_name_of_one_letter_words_keeps_only_its_first_letter() {
    assert_eq!(mask_name("A B"), "A *");
    assert_eq!(mask_name("A B C"), "A * *");
}

#[test]
fn a_spaced_korean_name_is_masked_by_its_letters() {
    assert_eq!(mask_name("남궁 민수"), "남* *수");
}

#[test]
fn a_vietnamese_name_keeps_the_initial_of_each_word() {
    assert_eq!(mask_name("Nguyễn Thị Minh Khai"), "N***** T** M*** K***");
    assert_eq!(mask_name("Kim 철수"), "K** 철*");
}

#[test]
fn an_empty_value_masks_to_empty() {
    assert_eq!(mask_name(""), "");
    assert_eq!(mask_phone(""), "");
    assert_eq!(mask_email(""), "");
    assert_eq!(mask_address("  "), "");
    assert_eq!(mask_birth_date(""), "");
}

#[test]
fn an_e164_phone_is_masked_on_its_digit_string() {
    assert_eq!(mask_phone("+821012345678"), "+821*****5678");
    assert_eq!(mask_phone("+84399333999"), "+843****3999");
    assert_eq!(mask_phone("(010) 1234.5678"), "(010) ****.5678");
}

#[test]
fn a_short_phone_keeps_at_most_its_last_four_digits() {
    assert_eq!(mask_phone("123-4567"), "***-4567");
    assert_eq!(mask_phone("12345"), "*2345");
    assert_eq!(mask_phone("1234"), "****");
}

#[test]
fn letters_in_a_phone_are_masked() {
    assert_eq!(mask_phone("010-1234-5678 kim"), "010-****-5678 ***");
}

#[test]
fn a_short_local_part_keeps_less() {
    assert_eq!(mask_email("ab@x.com"), "a*@x.com");
    assert_eq!(mask_email("a@x.com"), "*@x.com");
    assert_eq!(mask_email("abc@x.com"), "ab*@x.com");
}

#[test]
fn a_malformed_email_is_fully_masked() {
    assert_eq!(mask_email("kim.example.com"), "***************");
    assert_eq!(mask_email("@example.com"), "************");
    assert_eq!(mask_email("a@b@c.com"), "*********");
}

#[test]
fn a_short_address_keeps_at_most_its_first_word() {
    assert_eq!(mask_address("서울 강남구"), "서울 ***");
    assert_eq!(mask_address("서울특별시"), "***");
    assert_eq!(mask_address("  Hà   Nội  Ba Đình "), "Hà Nội ***");
}

#[test]
fn a_compact_birth_date_keeps_its_year() {
    assert_eq!(mask_birth_date("19850312"), "1985****");
}

#[test]
fn an_unknown_birth_date_format_is_fully_masked() {
    assert_eq!(mask_birth_date("12/03/1985"), "**********");
    assert_eq!(mask_birth_date("1985-3-12"), "*********");
    assert_eq!(mask_birth_date("1985"), "****");
    assert_eq!(mask_birth_date("１９８５-03-12"), "**********");
}

#[test]
fn an_id_number_never_leaks_its_length() {
    assert_eq!(mask_id_number(""), "******");
    assert_eq!(mask_id_number("B1234567"), "******");
    assert_eq!(mask_id_number("001234567890"), "******");
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A mask of the same length as its value that is not the value hides at least one character,
/// so the value cannot appear in it.
fn hides_something(value: &str, masked: &str) -> bool {
    chars(value) == chars(masked) && value != masked && !masked.contains(value)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[가-힣]{1,6}",
        "[가-힣]{1,3} [가-힣]{1,3}",
        "[A-Z][a-z]{0,9}( [A-Z][a-z]{0,9}){0,3}",
        concat!(
            "[A-ZĐ][a-zàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]{0,7}",
            "( [A-ZĐ][a-zàáạăâđêôơư]{0,7}){0,3}",
        ),
    ]
}

fn phone() -> impl Strategy<Value = String> {
    prop_oneof![
        "01[016789]-[0-9]{3,4}-[0-9]{4}",
        "0[35789][0-9]{8}",
        "\\+84 ?[35789][0-9]{2} ?[0-9]{3} ?[0-9]{3}",
        "\\+82 ?1[016789] ?[0-9]{3,4} ?[0-9]{4}",
        "\\(0[35789][0-9]\\) [0-9]{3}\\.[0-9]{4}",
    ]
}

proptest! {
    #[test]
    fn any_text_masks_without_panicking_and_keeps_its_length(text in "\\PC{0,40}") {
        prop_assert_eq!(chars(&mask_name(&text)), chars(&text));
        prop_assert_eq!(chars(&mask_phone(&text)), chars(&text));
        prop_assert_eq!(chars(&mask_email(&text)), chars(&text));
        prop_assert_eq!(chars(&mask_birth_date(&text)), chars(&text));
        let _ = mask_address(&text);
        prop_assert_eq!(mask_id_number(&text), "******");
    }

    #[test]
    fn a_masked_name_keeps_its_length_and_spacing_and_hides_something(name in name()) {
        let masked = mask_name(&name);
        prop_assert!(hides_something(&name, &masked), "{} -> {}", name, masked);
        let spaces = |s: &str| s.char_indices().filter(|(_, c)| c.is_whitespace()).map(|(i, _)| i).collect::<Vec<_>>();
        prop_assert_eq!(masked.split(' ').count(), name.split(' ').count());
        prop_assert_eq!(spaces(&masked).len(), spaces(&name).len());
    }

    #[test]
    fn a_masked_phone_keeps_its_first_three_and_last_four_digits_only(phone in phone()) {
        let masked = mask_phone(&phone);
        prop_assert!(hides_something(&phone, &masked), "{} -> {}", phone, masked);
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let (plain, shown) = (digits(&phone), digits(&masked));
        prop_assert_eq!(shown.len(), 7);
        prop_assert_eq!(&shown[..3], &plain[..3]);
        prop_assert_eq!(&shown[3..], &plain[plain.len() - 4..]);
        let separators = |s: &str| s.chars().filter(|c| !c.is_ascii_digit() && *c != '*').collect::<String>();
        prop_assert_eq!(separators(&masked), separators(&phone));
    }

    #[test]
    fn a_masked_email_keeps_its_domain_and_hides_its_local_part(
        local in "[a-z0-9._+-]{1,20}",
        domain in "[a-z0-9-]{1,10}\\.[a-z]{2,6}",
    ) {
        let email = format!("{local}@{domain}");
        let masked = mask_email(&email);
        prop_assert!(hides_something(&email, &masked), "{} -> {}", email, masked);
        let suffix = format!("@{domain}");
        prop_assert!(masked.ends_with(&suffix));
        let shown = local.chars().count().saturating_sub(1).min(2);
        prop_assert_eq!(&masked[..shown], &local[..shown]);
        prop_assert!(masked[shown..].starts_with('*'));
    }

    #[test]
    fn a_masked_birth_date_shows_only_the_year(
        year in "(19|20)[0-9]{2}",
        month in "(0[1-9]|1[0-2])",
        day in "(0[1-9]|[12][0-9]|3[01])",
    ) {
        let dashed = format!("{year}-{month}-{day}");
        let compact = format!("{year}{month}{day}");
        prop_assert_eq!(mask_birth_date(&dashed), format!("{year}-**-**"));
        prop_assert_eq!(mask_birth_date(&compact), format!("{year}****"));
        prop_assert!(hides_something(&dashed, &mask_birth_date(&dashed)));
        prop_assert!(hides_something(&compact, &mask_birth_date(&compact)));
    }

    #[test]
    fn a_masked_address_keeps_at_most_two_words_and_never_the_whole(
        words in proptest::collection::vec("[가-힣A-Za-z0-9-]{1,8}", 1..6),
    ) {
        let address = words.join(" ");
        let masked = mask_address(&address);
        prop_assert!(!masked.contains(&address));
        prop_assert!(masked.ends_with("***"));
        let kept: Vec<&str> = masked.split(' ').filter(|w| *w != "***").collect();
        let expected = match words.len() {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        prop_assert_eq!(kept, words[..expected].iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// Any text at all: controls, every kind of white space, combining marks, Hangul jamo,
/// look-alike digits, `@`s and separators, in any mix.
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => "[가-힣]{1,3}",
        2 => "[0-9]{1,4}",
        1 => "[A-Za-zÀ-ỹ]{1,5}",
        1 => proptest::sample::select(vec![
            " ", "  ", "\t", "\n", "\u{a0}", "\u{3000}", "\u{2028}", "\u{200b}", "\u{feff}", "\u{301}", "\u{1161}",
            "\u{ff10}", "\u{663}", "@", "@@", ".", "-", "+", "(", ")", "*", "\0", "\u{1f600}", "\u{10ffff}",
        ])
        .prop_map(str::to_owned),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

/// The positions (in characters) a mask hid: where it has `*` and the value had not.
fn hidden_positions(value: &str, masked: &str) -> Vec<usize> {
    value
        .chars()
        .zip(masked.chars())
        .enumerate()
        .filter(|(_, (v, m))| *m == MASK && *v != MASK)
        .map(|(i, _)| i)
        .collect()
}

/// A same-length mask only ever shows a character of the value in its own place, or `*`.
fn is_positional(value: &str, masked: &str) -> bool {
    chars(value) == chars(masked) && value.chars().zip(masked.chars()).all(|(v, m)| m == v || m == MASK)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Names: never a panic; each character is kept in place or becomes `*`; white space
    /// stays; a name with a character that is not white space is never shown whole (`*`
    /// in the value itself proves nothing, so that part looks at values without one).
    #[test]
    fn any_name_is_masked_in_place_and_never_shown_whole(text in prop_oneof![any::<String>(), any_text()]) {
        let masked = mask_name(&text);
        prop_assert!(is_positional(&text, &masked), "{:?} -> {:?}", text, masked);
        for (v, m) in text.chars().zip(masked.chars()) {
            prop_assert_eq!(v.is_whitespace(), m.is_whitespace());
        }
        if !text.contains(MASK) && text.chars().any(|c| !c.is_whitespace()) {
            prop_assert!(!hidden_positions(&text, &masked).is_empty(), "{:?} shown whole", text);
            prop_assert!(!masked.contains(text.as_str()));
        }
    }

    /// A Korean name of three letters or more never shows its middle; of two, its last.
    #[test]
    fn a_korean_name_never_shows_its_middle(name in "[가-힣]{2,8}", spaces in proptest::collection::vec(0usize..8, 0..3)) {
        let mut letters: Vec<char> = name.chars().collect();
        let count = letters.len();
        for at in spaces {
            letters.insert(at.min(letters.len()), ' ');
        }
        let spaced: String = letters.into_iter().collect();
        let masked = mask_name(&spaced);
        let shown: Vec<char> = masked.chars().filter(|c| !c.is_whitespace()).collect();
        let original: Vec<char> = name.chars().collect();
        prop_assert_eq!(shown[0], original[0]);
        if count == 2 {
            prop_assert_eq!(shown[1], MASK);
        } else {
            prop_assert!(shown[1..count - 1].iter().all(|c| *c == MASK), "{} -> {}", spaced, masked);
            prop_assert_eq!(shown[count - 1], original[count - 1]);
        }
    }

    /// Phones: never a panic; each character kept in place or `*`; at most the first 3 and
    /// the last 4 ASCII digits shown (none of the middle); anything but digits and
    /// ` -.()+` hidden; a value with a digit or another character never shown whole.
    #[test]
    fn any_phone_shows_at_most_its_first_three_and_last_four_digits(
        text in prop_oneof![any::<String>(), any_text(), "[0-9 +()-]{0,24}"],
    ) {
        let masked = mask_phone(&text);
        prop_assert!(is_positional(&text, &masked), "{:?} -> {:?}", text, masked);
        let digits = text.chars().filter(char::is_ascii_digit).count();
        let mut index = 0;
        for (v, m) in text.chars().zip(masked.chars()) {
            if v.is_ascii_digit() {
                let edge = (digits >= 8 && index < 3) || (digits >= 5 && index + 4 >= digits);
                prop_assert!(m == v || !edge, "{:?} -> {:?}: an edge digit hidden", text, masked);
                prop_assert!(m == MASK || edge, "{:?} -> {:?}: digit {} of {} shown", text, masked, index, digits);
                index += 1;
            } else if !matches!(v, ' ' | '-' | '.' | '(' | ')' | '+') {
                prop_assert_eq!(m, MASK);
            }
        }
        let separators_only = text.chars().all(|c| matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | MASK));
        if !separators_only {
            prop_assert!(!hidden_positions(&text, &masked).is_empty(), "{:?} shown whole", text);
        }
    }

    /// Emails: never a panic; kept in place or `*`; a `local@domain` shows at most 2
    /// characters of its local part (fewer for a short one) and the domain as it is;
    /// anything else is fully masked.
    #[test]
    fn any_email_shows_at_most_two_local_characters_and_its_domain(
        text in prop_oneof![any::<String>(), any_text(), (any_text(), any_text()).prop_map(|(l, d)| format!("{l}@{d}"))],
    ) {
        let masked = mask_email(&text);
        prop_assert!(is_positional(&text, &masked), "{:?} -> {:?}", text, masked);
        match text.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.contains('@') => {
                let n = chars(local);
                let shown = if n >= 3 { 2 } else { n - 1 };
                let masked_local: String = masked.chars().take(n).collect();
                let kept: String = local.chars().take(shown).collect();
                let hidden: String = std::iter::repeat_n(MASK, n - shown).collect();
                prop_assert_eq!(masked_local, format!("{kept}{hidden}"));
                prop_assert_eq!(masked.chars().skip(n).collect::<String>(), format!("@{domain}"));
            }
            _ => prop_assert!(masked.chars().all(|c| c == MASK), "{:?} -> {:?}", text, masked),
        }
        if !text.is_empty() && !text.contains(MASK) {
            prop_assert!(!hidden_positions(&text, &masked).is_empty(), "{:?} shown whole", text);
        }
    }

    /// Birth dates: never a panic; only a `YYYY-MM-DD` or `YYYYMMDD` shows its year, and
    /// nothing shows its month or day.
    #[test]
    fn any_birth_date_shows_at_most_its_year(text in prop_oneof![any::<String>(), any_text(), "[0-9-]{8,10}"]) {
        let masked = mask_birth_date(&text);
        prop_assert!(is_positional(&text, &masked), "{:?} -> {:?}", text, masked);
        let shown = masked.chars().filter(|c| *c != MASK && *c != '-').count();
        prop_assert!(shown == 0 || shown == 4, "{:?} -> {:?}", text, masked);
        prop_assert!(masked.chars().skip(4).all(|c| c == MASK || c == '-'), "{:?} -> {:?}", text, masked);
    }

    /// Addresses: never a panic; at most the first two words, then ` ***`; a third word is
    /// never shown, and an address of one word shows nothing.
    #[test]
    fn any_address_shows_at_most_its_first_two_words(text in prop_oneof![any::<String>(), any_text()]) {
        let masked = mask_address(&text);
        let words: Vec<&str> = text.split_whitespace().collect();
        let expected = match words.as_slice() {
            [] => String::new(),
            [_] => "***".to_owned(),
            [first, _] => format!("{first} ***"),
            [first, second, ..] => format!("{first} {second} ***"),
        };
        prop_assert_eq!(&masked, &expected);
        if words.len() >= 2 && words.iter().all(|w| !w.contains(MASK)) {
            prop_assert!(!masked.contains(text.trim()), "{:?} shown whole", text);
        }
    }

    /// Id numbers: always the same six stars, whatever they hold.
    #[test]
    fn any_id_number_masks_to_six_stars(text in any::<String>()) {
        prop_assert_eq!(mask_id_number(&text), MASKED_ID_NUMBER);
    }
}
