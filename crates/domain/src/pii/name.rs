//! A person's name as typed by a person: Korean, Vietnamese or any other script.
//!
//! Invariants:
//! - a [`PersonName`] is NFC-normalized, trimmed, its inner whitespace runs collapsed to one
//!   space, 1 to [`PersonName::MAX_CHARS`] characters long, and holds no control character and
//!   no invisible format character (zero-width spaces and joiners, bidi controls, BOM), so the
//!   same name typed twice gives the same value;
//! - its blind-index form ([`PersonName::blind_index_form`]) drops all whitespace and is
//!   lowercased, so `Nguyễn Văn A` = `nguyễnvăna` = `NGUYỄN VĂN A` (NFC or NFD input alike)
//!   and `홍 길동` = `홍길동`;
//! - it is PII: `Debug` redacts, there is no `Display`, and errors never echo the input.

use unicode_normalization::UnicodeNormalization;

use crate::error::ValidationError;
use crate::pii::redacted_debug;

const FIELD: &str = "name";

/// A validated, normalized person name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

redacted_debug!(PersonName);

impl PersonName {
    /// Longest name accepted, in characters (after normalization).
    pub const MAX_CHARS: usize = 100;

    /// Normalizes (NFC, trim, one space between words) and validates a name.
    ///
    /// # Errors
    /// A [`ValidationError`] on `name` when the name is blank, longer than
    /// [`PersonName::MAX_CHARS`] characters, or holds a control or invisible format character.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let nfc: String = input.nfc().collect();
        let name = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(ValidationError::single(FIELD, "is required"));
        }
        if name.chars().any(|c| c.is_control() || is_invisible_format(c)) {
            return Err(ValidationError::single(FIELD, "must not hold control or invisible characters"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::single(FIELD, format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self(name))
    }

    /// The normalized name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form the name blind index hashes: NFC, every whitespace removed, lowercased.
    ///
    /// Lowercasing makes the index case-insensitive for Latin script (Vietnamese included) and
    /// any other cased script; Hangul has no case and is left as it is.
    #[must_use]
    pub fn blind_index_form(&self) -> String {
        self.0.nfd().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).nfc().collect()
    }
}

/// Characters that print as nothing but would make two equal-looking names differ.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parsed(input: &str) -> PersonName {
        PersonName::parse(input).unwrap_or_else(|e| panic!("{input:?} refused: {e}"))
    }

    #[test]
    fn a_name_is_trimmed_and_its_inner_whitespace_collapsed() {
        assert_eq!(parsed("  Nguyen \t Van\n A ").as_str(), "Nguyen Van A");
        assert_eq!(parsed("홍길동").as_str(), "홍길동");
    }

    #[test]
    fn a_decomposed_name_is_stored_composed() {
        let decomposed = "Nguye\u{302}\u{303}n";
        assert_eq!(parsed(decomposed).as_str(), "Nguy\u{1EC5}n");
        assert_eq!(parsed("\u{1112}\u{1169}\u{11BC}").as_str(), "홍");
    }

    #[test]
    fn blank_long_or_control_names_are_refused() {
        assert_eq!(PersonName::parse(" \t ").unwrap_err(), ValidationError::single("name", "is required"));
        assert!(PersonName::parse(&"가".repeat(101)).is_err());
        assert!(PersonName::parse(&"가".repeat(100)).is_ok());
        for input in ["Kim\u{0}", "Kim\u{7}Lee", "Kim\u{200B}", "\u{202E}Kim", "Kim\u{FEFF}"] {
            let err = PersonName::parse(input).unwrap_err();
            assert_eq!(err.0[0].field, "name", "{input:?}");
        }
    }

    #[test]
    fn the_blind_index_form_ignores_whitespace_case_and_normalization() {
        let forms = ["Nguyễn Văn A", "nguyễnvăna", "NGUYỄN  VĂN A", "Nguye\u{302}\u{303}n Va\u{306}n A"];
        for form in forms {
            assert_eq!(parsed(form).blind_index_form(), "nguyễnvăna", "{form}");
        }
        assert_eq!(parsed("홍 길동").blind_index_form(), parsed("홍길동").blind_index_form());
        assert_eq!(parsed("남궁 민수").blind_index_form(), "남궁민수");
    }

    #[test]
    fn debug_never_shows_the_name() {
        assert_eq!(format!("{:?}", parsed("홍길동")), "PersonName(***)");
    }

    proptest! {
        #[test]
        fn an_accepted_name_is_a_fixed_point_of_parsing(text in "\\PC{0,120}") {
            if let Ok(name) = PersonName::parse(&text) {
                prop_assert_eq!(PersonName::parse(name.as_str()).expect("reparses"), name.clone());
                prop_assert!(!name.blind_index_form().chars().any(char::is_whitespace));
                let count = name.as_str().chars().count();
                prop_assert!((1..=PersonName::MAX_CHARS).contains(&count));
            }
        }

        #[test]
        fn spacing_does_not_change_the_blind_index(words in proptest::collection::vec("[가-힣a-zA-Zà-ỹ]{1,6}", 1..4)) {
            let spaced = PersonName::parse(&words.join("  ")).expect("valid name");
            let joined = PersonName::parse(&words.concat()).expect("valid name");
            prop_assert_eq!(spaced.blind_index_form(), joined.blind_index_form());
        }
    }
}
