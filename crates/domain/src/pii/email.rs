//! Email addresses, trimmed and lowercased.
//!
//! Invariants:
//! - an [`Email`] is trimmed and lowercased as a whole (the form the email blind index hashes,
//!   so `Kim@Example.com` and `kim@example.com` are one address), holds exactly one `@`, a local
//!   part of 1 to 64 characters, a domain of at least two non-empty dot-separated labels, no
//!   whitespace or control character, and at most 254 characters in all;
//! - it is PII: `Debug` redacts, there is no `Display`, and errors never echo the input.

use crate::error::ValidationError;
use crate::pii::redacted_debug;

const FIELD: &str = "email";

/// A validated, normalized email address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

redacted_debug!(Email);

impl Email {
    /// Longest address accepted, in characters.
    pub const MAX_CHARS: usize = 254;
    /// Longest local part accepted, in characters.
    pub const MAX_LOCAL_CHARS: usize = 64;

    /// Trims, lowercases and validates an address.
    ///
    /// # Errors
    /// A [`ValidationError`] on `email` when the address is blank, too long, holds whitespace,
    /// has no or several `@`, an empty or too long local part, or a domain without a dot.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let address = input.trim().to_lowercase();
        if address.is_empty() {
            return Err(invalid("is required"));
        }
        if address.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 254 characters"));
        }
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not hold spaces or control characters"));
        }
        let (local, domain) = match address.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => return Err(invalid("must hold exactly one @")),
        };
        if local.is_empty() || local.chars().count() > Self::MAX_LOCAL_CHARS {
            return Err(invalid("must have 1 to 64 characters before the @"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
            return Err(invalid("must have a domain with a dot, like example.com"));
        }
        Ok(Self(address))
    }

    /// The normalized address (also its blind-index form).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid(reason: &str) -> ValidationError {
    ValidationError::single(FIELD, reason)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_address_is_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Kim.Cheol@Example.COM \n").unwrap().as_str(), "kim.cheol@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let local_65 = format!("{}@example.com", "a".repeat(65));
        let total_255 = format!("a@{}.com", "b".repeat(249));
        for input in [
            "",
            "   ",
            "kim",
            "kim@",
            "@example.com",
            "kim@@example.com",
            "kim@ex@ample.com",
            "kim@localhost",
            "kim@example.",
            "kim@.com",
            "kim@example..com",
            "kim lee@example.com",
            "kim@exa\tmple.com",
            local_65.as_str(),
            total_255.as_str(),
        ] {
            let err = Email::parse(input).unwrap_err();
            assert!(err.0.iter().all(|f| f.field == "email"), "{input:?}");
        }
    }

    #[test]
    fn the_length_limits_are_inclusive() {
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
        assert!(Email::parse(&format!("a@{}.com", "b".repeat(248))).is_ok());
    }

    #[test]
    fn an_error_never_echoes_the_address() {
        let err = Email::parse("secret@localhost").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn debug_never_shows_the_address() {
        assert_eq!(format!("{:?}", Email::parse("kim@example.com").unwrap()), "Email(***)");
    }

    proptest! {
        #[test]
        fn an_accepted_address_is_a_fixed_point_of_parsing(text in "\\PC{0,40}") {
            if let Ok(email) = Email::parse(&text) {
                prop_assert_eq!(Email::parse(email.as_str()).expect("reparses"), email);
            }
        }

        #[test]
        fn case_and_surrounding_space_do_not_change_the_address(
            address in "[a-zA-Z0-9._+-]{1,20}@[a-zA-Z0-9-]{1,10}\\.[a-zA-Z]{2,6}",
        ) {
            let plain = Email::parse(&address).expect("valid address");
            let shouted = Email::parse(&format!("  {}\t", address.to_uppercase())).expect("valid address");
            prop_assert_eq!(plain, shouted);
        }
    }
}
