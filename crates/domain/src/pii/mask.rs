//! Masking: what a caller who may not see PII gets (`security.md`, "Masking").
//!
//! One rule per field, used everywhere. Invariants:
//! - names, phones, emails and birth dates keep their length in characters (each hidden
//!   character becomes one `*`) and whitespace or separators stay where they were;
//! - addresses and id numbers do not keep their length: an address keeps its first two words
//!   and ends in ` ***`, an id number is always `******`, so neither leaks its length;
//! - a non-empty value is never returned whole: at least one of its characters is hidden, so
//!   the full value is never a substring of the mask.
//!
//! Where `security.md` is silent:
//! - a one-character name is fully masked; a Latin name made only of one-letter words (where
//!   "first letter of each word" would show everything) keeps only its first letter;
//! - a name is Korean when every non-whitespace character is Hangul; any other name follows
//!   the Latin rule;
//! - a phone's rule applies to its digit string whatever its format, so in E.164 the country
//!   code counts among the first 3 digits (`+821012345678` → `+821*****5678`); a phone of 5–7
//!   digits keeps only its last 4, one of 4 digits or fewer is fully masked; characters other
//!   than digits and separators (` -.()+`) are masked too;
//! - an email's local part of 2 characters keeps 1, of 1 character keeps none; an input that
//!   is not `local@domain` with exactly one `@` and a non-empty local part is fully masked;
//! - an address of two words keeps the first (`서울 강남구` → `서울 ***`), one of one word is
//!   `***`; a blank address stays empty;
//! - a birth date other than `YYYY-MM-DD` or `YYYYMMDD` is fully masked.

use std::ops::RangeInclusive;

/// The character that replaces a hidden one.
pub const MASK: char = '*';
/// What an id number (id card, passport, family book) always masks to.
pub const MASKED_ID_NUMBER: &str = "******";
/// What ends a masked address.
const MASKED_REST: &str = "***";

/// Masks a Korean name (`홍길동` → `홍*동`) or a Latin one (`Nguyen Van A` → `N***** V** A`).
#[must_use]
pub fn mask_name(name: &str) -> String {
    let mut letters = name.chars().filter(|c| !c.is_whitespace()).peekable();
    let korean = letters.peek().is_some() && letters.all(is_hangul);
    if korean {
        return mask_letters(name, |index, count, _| match count {
            1 => false,
            2 => index == 0,
            _ => index == 0 || index == count - 1,
        })
        .0;
    }
    let (initials, hidden) = mask_letters(name, |_, _, word_start| word_start);
    if hidden > 0 {
        return initials;
    }
    // Every word is one letter: its initials would be the whole name.
    mask_letters(name, |index, count, _| count > 1 && index == 0).0
}

/// Replaces each non-whitespace character that `keep(index, count, starts_a_word)` refuses;
/// returns the mask and how many characters it hid.
fn mask_letters(name: &str, keep: impl Fn(usize, usize, bool) -> bool) -> (String, usize) {
    let count = name.chars().filter(|c| !c.is_whitespace()).count();
    let (mut index, mut hidden, mut word_start) = (0, 0, true);
    let mut masked = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_whitespace() {
            masked.push(c);
            word_start = true;
            continue;
        }
        if keep(index, count, word_start) {
            masked.push(c);
        } else {
            masked.push(MASK);
            hidden += 1;
        }
        index += 1;
        word_start = false;
    }
    (masked, hidden)
}

/// Hangul syllables, jamo, compatibility jamo and extended jamo.
const HANGUL: [RangeInclusive<char>; 5] = [
    '\u{AC00}'..='\u{D7A3}',
    '\u{1100}'..='\u{11FF}',
    '\u{3130}'..='\u{318F}',
    '\u{A960}'..='\u{A97F}',
    '\u{D7B0}'..='\u{D7FF}',
];

fn is_hangul(c: char) -> bool {
    HANGUL.iter().any(|range| range.contains(&c))
}

/// Keeps the first 3 and the last 4 digits (`010-1234-5678` → `010-****-5678`).
#[must_use]
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let (head, tail) = match digits {
        8.. => (3, 4),
        5..=7 => (0, 4),
        _ => (0, 0),
    };
    let mut index = 0;
    phone
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                let kept = index < head || index >= digits - tail;
                index += 1;
                if kept { c } else { MASK }
            } else if matches!(c, ' ' | '-' | '.' | '(' | ')' | '+') {
                c
            } else {
                MASK
            }
        })
        .collect()
}

/// Keeps 2 characters of the local part and the domain (`abcdef@example.com` → `ab****@example.com`).
#[must_use]
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.contains('@') => {
            let kept = match local.chars().count() {
                1 => 0,
                2 => 1,
                _ => 2,
            };
            let local = local.chars().enumerate().map(|(i, c)| if i < kept { c } else { MASK });
            local.chain(std::iter::once('@')).chain(domain.chars()).collect()
        }
        _ => all_masked(email),
    }
}

/// Keeps the first two words (시·도, 시·군·구): `서울 강남구 테헤란로 123` → `서울 강남구 ***`.
#[must_use]
pub fn mask_address(address: &str) -> String {
    let words: Vec<&str> = address.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [_] => MASKED_REST.to_owned(),
        [first, _] => format!("{first} {MASKED_REST}"),
        [first, second, ..] => format!("{first} {second} {MASKED_REST}"),
    }
}

/// Keeps the year: `1985-03-12` → `1985-**-**`, `19850312` → `1985****`.
#[must_use]
pub fn mask_birth_date(date: &str) -> String {
    let b = date.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() == 10 && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10) {
        format!("{}-**-**", &date[..4])
    } else if b.len() == 8 && digits(0..8) {
        format!("{}****", &date[..4])
    } else {
        all_masked(date)
    }
}

/// An id card, passport or family book number: always [`MASKED_ID_NUMBER`], whatever its length.
#[must_use]
pub fn mask_id_number(_id_number: &str) -> String {
    MASKED_ID_NUMBER.to_owned()
}

fn all_masked(value: &str) -> String {
    value.chars().map(|_| MASK).collect()
}

#[cfg(test)]
mod tests;
