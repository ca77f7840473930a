//! The normal forms the blind indexes hash (`security.md`, "Blind indexes").
//!
//! Invariants:
//! - every form is computed from a validated value, so a value typed in any accepted format
//!   (`010-1234-5678`, `+82 10 1234 5678`; `0399333999`, legacy `01699333999`) gives one form
//!   and one index entry;
//! - the keyed hash itself (HMAC-SHA256, truncated) lives in `infra`; this module is pure.

use crate::pii::{Email, PersonName, PhoneNumber};

/// The phone index form: E.164 (`+821012345678`, `+84399333999`).
#[must_use]
pub fn phone(phone: &PhoneNumber) -> &str {
    phone.e164()
}

/// The short phone index form: the last four digits.
#[must_use]
pub fn phone_last4(phone: &PhoneNumber) -> &str {
    phone.last4()
}

/// The email index form: trimmed and lowercased.
#[must_use]
pub fn email(email: &Email) -> &str {
    email.as_str()
}

/// The name index form: NFC, whitespace removed, lowercased ([`PersonName::blind_index_form`]).
#[must_use]
pub fn name(name: &PersonName) -> String {
    name.blind_index_form()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_of_one_phone_has_one_index_form() {
        let forms =
            ["0399333999", "+84 399 333 999", "01699333999"].map(|p| phone(&PhoneNumber::parse(p).unwrap()).to_owned());
        assert_eq!(forms, ["+84399333999"; 3].map(str::to_owned));
        let kr = PhoneNumber::parse("010-1234-5678").unwrap();
        assert_eq!((phone(&kr), phone_last4(&kr)), ("+821012345678", "5678"));
    }

    #[test]
    fn an_email_index_form_is_trimmed_and_lowercased() {
        assert_eq!(email(&Email::parse(" Kim@Example.com ").unwrap()), "kim@example.com");
    }

    #[test]
    fn a_name_index_form_has_no_whitespace() {
        assert_eq!(name(&PersonName::parse("Nguyen  Van A").unwrap()), "nguyenvana");
        assert_eq!(name(&PersonName::parse("홍 길동").unwrap()), "홍길동");
    }
}
