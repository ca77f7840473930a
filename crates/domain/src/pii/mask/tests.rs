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
