//! Korean and Vietnamese mobile numbers, validated and normalized to E.164.
//!
//! Invariants:
//! - a [`PhoneNumber`] only holds a Korean mobile (`+82 1[016789]` + 7–8 digits) or a current
//!   Vietnamese mobile (`+84 [35789]` + 8 digits) in E.164 form;
//! - a legacy 11-digit Vietnamese number (`01xx` + 7 digits) is stored as the 10-digit number
//!   it became in 2018, so a subscriber has one E.164 form whatever was typed (the phone blind
//!   index depends on it);
//! - parsing is anchored: once the separators (spaces, `-`, `.`, balanced `(` `)`) are removed,
//!   the whole input must be one number, with an optional `+` before the first digit (`(+84) …`
//!   is fine); letters, other symbols, missing or extra digits are refused;
//! - it is PII: `Debug` redacts, there is no `Display`, and errors never echo the input.
//!
//! Accepted prefixes: `+82`/`82`/`0082` and `+84`/`84`/`0084` (a trunk `0` kept after the
//! country code, as in `+82 010-…`, is dropped), or a national number with its leading `0`.
//!
//! A national number starting `01` can read as Korean and as legacy Vietnamese. It is resolved
//! this way ([`PhoneNumber::parse`]):
//! - `010` + 7–8 digits is Korean (010 is the only live Korean mobile prefix and `010x` is no
//!   Vietnamese legacy prefix);
//! - `011`/`016`/`017`/`018`/`019` + 7–8 digits is Korean, unless the number has 11 digits and
//!   its first four digits are in the Vietnamese legacy table (`0162`–`0169`, `0186`, `0188`,
//!   `0199`): then it is the Vietnamese legacy number (Korea's 01X 2G service has ended, while
//!   old Vietnamese numbers still come in from old lists);
//! - `012x` with 11 digits is only ever Vietnamese legacy.
//!
//! When the source declares its country, [`PhoneNumber::parse_for`] reads a national number as
//! that country's only, so no rule is needed.

use crate::error::ValidationError;
use crate::pii::redacted_debug;
use crate::reference::Country;

const FIELD: &str = "phone";
/// Longest input looked at; far above any formatted mobile number.
const MAX_INPUT_CHARS: usize = 64;

/// Legacy Vietnamese mobile prefixes (national significant number, without the trunk `0`)
/// and the prefix each became: `0162` → `032` is `162` → `32`.
const VN_LEGACY_PREFIXES: [(&str, &str); 21] = [
    ("162", "32"),
    ("163", "33"),
    ("164", "34"),
    ("165", "35"),
    ("166", "36"),
    ("167", "37"),
    ("168", "38"),
    ("169", "39"),
    ("120", "70"),
    ("121", "79"),
    ("122", "77"),
    ("126", "76"),
    ("128", "78"),
    ("123", "83"),
    ("124", "84"),
    ("125", "85"),
    ("127", "81"),
    ("129", "82"),
    ("186", "56"),
    ("188", "58"),
    ("199", "59"),
];

/// A validated Korean or Vietnamese mobile number in E.164 form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    country: Country,
}

redacted_debug!(PhoneNumber);

/// How the digits were dialled.
enum Dialled<'a> {
    /// After a country code, with any trunk `0` already dropped.
    International(Country, &'a str),
    /// A national number, its leading `0` dropped.
    National(&'a str),
}

impl PhoneNumber {
    /// Parses a Korean or Vietnamese mobile number in any common format.
    ///
    /// # Errors
    /// A [`ValidationError`] on `phone` when the input is empty, holds anything but digits and
    /// separators, or is not a Korean or Vietnamese mobile number.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let digits = dialled_digits(input)?;
        let number = match split_dialled(&digits) {
            None => None,
            Some(Dialled::International(country, nsn)) => mobile_for(country, nsn),
            Some(Dialled::National(nsn)) => match (korean_mobile(nsn), vietnamese_mobile(nsn)) {
                // Both readings: an 11-digit 016x/0186/0188/0199 number, see the module docs.
                (_, Some(vn)) => Some(Self::new(Country::Vn, &vn)),
                (Some(kr), None) => Some(Self::new(Country::Kr, kr)),
                (None, None) => None,
            },
        };
        number.ok_or_else(|| ValidationError::single(FIELD, "is not a Korean or Vietnamese mobile number"))
    }

    /// Parses a mobile number of `country` only (a source that declares its country).
    ///
    /// A national number is read as that country's; a number with the other country's code
    /// is refused.
    ///
    /// # Errors
    /// A [`ValidationError`] on `phone` when the input is empty, holds anything but digits and
    /// separators, or is not a mobile number of `country`.
    pub fn parse_for(input: &str, country: Country) -> Result<Self, ValidationError> {
        let digits = dialled_digits(input)?;
        let number = match split_dialled(&digits) {
            Some(Dialled::International(dialled, nsn)) if dialled == country => mobile_for(country, nsn),
            Some(Dialled::National(nsn)) => mobile_for(country, nsn),
            Some(Dialled::International(..)) | None => None,
        };
        number.ok_or_else(|| {
            let reason = match country {
                Country::Kr => "is not a Korean mobile number",
                Country::Vn => "is not a Vietnamese mobile number",
            };
            ValidationError::single(FIELD, reason)
        })
    }

    fn new(country: Country, nsn: &str) -> Self {
        Self { e164: format!("+{}{nsn}", calling_code(country)), country }
    }

    /// The E.164 form, e.g. `+821012345678`: the storage and blind-index form.
    #[must_use]
    pub fn e164(&self) -> &str {
        &self.e164
    }

    #[must_use]
    pub fn country(&self) -> Country {
        self.country
    }

    /// The national form with its trunk `0`, e.g. `01012345678`, `0399333999`.
    #[must_use]
    pub fn national(&self) -> String {
        format!("0{}", self.national_significant())
    }

    /// The last four digits (the short blind index).
    #[must_use]
    pub fn last4(&self) -> &str {
        &self.e164[self.e164.len() - 4..]
    }

    /// The number after the country code.
    fn national_significant(&self) -> &str {
        &self.e164[1 + calling_code(self.country).len()..]
    }
}

fn calling_code(country: Country) -> &'static str {
    match country {
        Country::Kr => "82",
        Country::Vn => "84",
    }
}

/// The digits of `input`, with a leading `+` kept, once the separators are removed.
fn dialled_digits(input: &str) -> Result<String, ValidationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(ValidationError::single(FIELD, "is required"));
    }
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(ValidationError::single(FIELD, "is too long"));
    }
    let mut digits = String::with_capacity(text.len());
    let mut in_parentheses = false;
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() => digits.push(c),
            ' ' | '-' | '.' => {}
            '(' if !in_parentheses => in_parentheses = true,
            ')' if in_parentheses => in_parentheses = false,
            '(' | ')' => return Err(unbalanced()),
            _ => {
                return Err(ValidationError::single(
                    FIELD,
                    "may only hold digits, spaces, hyphens, dots, parentheses and a leading +",
                ));
            }
        }
    }
    if in_parentheses {
        return Err(unbalanced());
    }
    Ok(digits)
}

fn unbalanced() -> ValidationError {
    ValidationError::single(FIELD, "has unbalanced parentheses")
}

/// Splits the country code (`+82`, `82`, `0082`, ...) or the trunk `0` off the digits;
/// `None` for any other country code.
fn split_dialled(digits: &str) -> Option<Dialled<'_>> {
    let with_code = if let Some(rest) = digits.strip_prefix('+') {
        rest
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest
    } else if let Some(nsn) = digits.strip_prefix('0') {
        return Some(Dialled::National(nsn));
    } else {
        digits
    };
    for country in [Country::Kr, Country::Vn] {
        if let Some(rest) = with_code.strip_prefix(calling_code(country)) {
            let nsn = rest.strip_prefix('0').unwrap_or(rest);
            return Some(Dialled::International(country, nsn));
        }
    }
    None
}

fn mobile_for(country: Country, nsn: &str) -> Option<PhoneNumber> {
    match country {
        Country::Kr => korean_mobile(nsn).map(|n| PhoneNumber::new(Country::Kr, n)),
        Country::Vn => vietnamese_mobile(nsn).map(|n| PhoneNumber::new(Country::Vn, &n)),
    }
}

/// `1[016789]` + 7–8 digits (the national number without its trunk `0`).
fn korean_mobile(nsn: &str) -> Option<&str> {
    let b = nsn.as_bytes();
    let ok =
        (9..=10).contains(&b.len()) && b[0] == b'1' && b"016789".contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
    ok.then_some(nsn)
}

/// `[35789]` + 8 digits, or a legacy `1xx` + 7 digits mapped to its current number.
fn vietnamese_mobile(nsn: &str) -> Option<String> {
    if !nsn.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match nsn.len() {
        9 if nsn.starts_with(['3', '5', '7', '8', '9']) => Some(nsn.to_owned()),
        10 => {
            let (prefix, subscriber) = nsn.split_at(3);
            VN_LEGACY_PREFIXES.iter().find(|(old, _)| *old == prefix).map(|(_, new)| format!("{new}{subscriber}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
