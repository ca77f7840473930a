//! Identity verification (본인인증) of a consumer, `funnel.md` "Coverage analysis": a
//! 6-digit code sent by SMS, checked once, exchanged for a short-lived
//! `verificationToken` bound to the person and to the partner org that asked.
//!
//! Invariants:
//! - a code is stored only as a keyed digest; it is valid for [`CODE_TTL`] and for at
//!   most [`MAX_CODE_ATTEMPTS`] checks; a right code after either is refused like an
//!   expired one, and a code that verified once never verifies again ([`check_code`]);
//! - requests are limited per phone ([`PHONE_REQUESTS_PER_HOUR`]) and per client address
//!   ([`ADDRESS_REQUESTS_PER_HOUR`]) over the last [`RATE_WINDOW`]; a refusal says when
//!   the oldest request in the window leaves it ([`RequestWindow::judge`]);
//! - a token lives [`TOKEN_TTL`] from the verification and answers only for the org
//!   that requested it;
//! - the person's fields are parsed before anything is stored or sent, every bad field
//!   named at once ([`IdentityClaim::parse`]).

use std::time::Duration;

use time::{Date, OffsetDateTime};

use crate::error::{FieldError, ValidationError};
use crate::identity::MohomId;
use crate::lead::parse_birth_date;
use crate::pii::{PersonName, PhoneNumber, Pii};
use crate::reference::Country;

/// How long a sent code may be checked.
pub const CODE_TTL: Duration = Duration::from_secs(3 * 60);
/// Checks of one code, right or wrong, before it is spent.
pub const MAX_CODE_ATTEMPTS: u8 = 5;
/// How long a `verificationToken` answers after the verification.
pub const TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
/// The window the request limits count over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Code requests per phone number in [`RATE_WINDOW`].
pub const PHONE_REQUESTS_PER_HOUR: u32 = 5;
/// Code requests per client address in [`RATE_WINDOW`].
pub const ADDRESS_REQUESTS_PER_HOUR: u32 = 20;
/// Digits of a code.
pub const CODE_DIGITS: usize = 6;

/// A person's gender as identity providers record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    /// 남성 or 여성, as reports print it.
    #[must_use]
    pub fn name_ko(self) -> &'static str {
        match self {
            Self::Male => "남성",
            Self::Female => "여성",
        }
    }

    /// `M` or `F`.
    ///
    /// # Errors
    /// Names `gender`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "M" => Ok(Self::Male),
            "F" => Ok(Self::Female),
            _ => Err(ValidationError::single("gender", "must be M or F")),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
}

/// The mobile carrier the phone is registered with (Korean identity verification asks
/// for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Skt,
    Kt,
    Lgu,
    SktMvno,
    KtMvno,
    LguMvno,
}

impl Carrier {
    pub const ALL: [Self; 6] = [Self::Skt, Self::Kt, Self::Lgu, Self::SktMvno, Self::KtMvno, Self::LguMvno];

    /// One of `SKT`, `KT`, `LGU`, `SKT_MVNO`, `KT_MVNO`, `LGU_MVNO`.
    ///
    /// # Errors
    /// Names `carrier`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw.trim()).ok_or_else(|| {
            ValidationError::single("carrier", "must be one of SKT, KT, LGU, SKT_MVNO, KT_MVNO, LGU_MVNO")
        })
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skt => "SKT",
            Self::Kt => "KT",
            Self::Lgu => "LGU",
            Self::SktMvno => "SKT_MVNO",
            Self::KtMvno => "KT_MVNO",
            Self::LguMvno => "LGU_MVNO",
        }
    }
}

/// The fields of a code request, as they arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityFields<'a> {
    pub name: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub carrier: Option<&'a str>,
    pub mohom_id: Option<&'a str>,
}

/// Who a person says they are: what the code request verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaim {
    pub name: Pii<PersonName>,
    pub birth_date: Pii<Date>,
    pub gender: Gender,
    /// A Korean mobile number.
    pub phone: Pii<PhoneNumber>,
    pub carrier: Carrier,
    /// The partner's member who invited the person, if any.
    pub mohom_id: Option<MohomId>,
}

impl IdentityClaim {
    /// Parses every field, reporting all the bad ones at once (camelCase field names).
    ///
    /// # Errors
    /// One [`FieldError`] per missing or malformed field: a birth date in the future, a
    /// phone that is not a Korean mobile number, an unknown carrier.
    pub fn parse(fields: &IdentityFields<'_>, today: Date) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let take = |field: &str, value: Option<&str>, errors: &mut Vec<FieldError>| -> Option<String> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => Some(v.to_owned()),
                None => {
                    errors.push(FieldError::new(field, "is required"));
                    None
                }
            }
        };
        let name = take("name", fields.name, &mut errors);
        let birth_date = take("birthDate", fields.birth_date, &mut errors);
        let gender = take("gender", fields.gender, &mut errors);
        let phone = take("phone", fields.phone, &mut errors);
        let carrier = take("carrier", fields.carrier, &mut errors);
        let name = name.and_then(|v| renamed(PersonName::parse(&v), "name", &mut errors));
        let birth_date = birth_date.and_then(|v| renamed(parse_birth_date(&v, today), "birthDate", &mut errors));
        let gender = gender.and_then(|v| renamed(Gender::parse(&v), "gender", &mut errors));
        let phone = phone.and_then(|v| renamed(PhoneNumber::parse_for(&v, Country::Kr), "phone", &mut errors));
        let carrier = carrier.and_then(|v| renamed(Carrier::parse(&v), "carrier", &mut errors));
        // Absent is no inviting member; present, even empty, must be a member id.
        let mohom_id = match fields.mohom_id {
            Some(raw) => renamed(MohomId::parse(raw), "mohomId", &mut errors).map(Some),
            None => Some(None),
        };
        match (name, birth_date, gender, phone, carrier, mohom_id) {
            (Some(name), Some(birth_date), Some(gender), Some(phone), Some(carrier), Some(mohom_id))
                if errors.is_empty() =>
            {
                Ok(Self {
                    name: Pii::new(name),
                    birth_date: Pii::new(birth_date),
                    gender,
                    phone: Pii::new(phone),
                    carrier,
                    mohom_id,
                })
            }
            _ => Err(ValidationError(errors)),
        }
    }
}

/// The value, or `None` with its complaints filed under `field`.
fn renamed<T>(result: Result<T, ValidationError>, field: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            errors.extend(e.0.into_iter().map(|f| FieldError::new(field, f.reason)));
            None
        }
    }
}

/// A code request's place in the limits: how many requests of the same phone and of the
/// same client address the window already holds, and when the oldest of each was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestWindow {
    pub phone_requests: u32,
    pub phone_oldest: Option<OffsetDateTime>,
    pub address_requests: u32,
    pub address_oldest: Option<OffsetDateTime>,
}

/// A code request refused by a limit: which one, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimited {
    pub by_phone: bool,
    /// Whole seconds until the oldest request in the window leaves it (at least 1).
    pub retry_after_secs: u64,
}

impl RequestWindow {
    /// Whether one more request fits: refused when the phone's or the address's count
    /// has reached its limit (the phone's limit is judged first).
    ///
    /// # Errors
    /// The limit reached, with the wait.
    pub fn judge(&self, now: OffsetDateTime) -> Result<(), RequestLimited> {
        let wait = |oldest: Option<OffsetDateTime>| {
            let leaves = oldest.unwrap_or(now) + RATE_WINDOW;
            let secs = (leaves - now).whole_seconds();
            u64::try_from(secs).unwrap_or(0).max(1)
        };
        if self.phone_requests >= PHONE_REQUESTS_PER_HOUR {
            return Err(RequestLimited { by_phone: true, retry_after_secs: wait(self.phone_oldest) });
        }
        if self.address_requests >= ADDRESS_REQUESTS_PER_HOUR {
            return Err(RequestLimited { by_phone: false, retry_after_secs: wait(self.address_oldest) });
        }
        Ok(())
    }
}

/// A code's state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: OffsetDateTime,
    /// Checks made so far.
    pub attempts: u8,
    /// When the code verified, if it did.
    pub verified_at: Option<OffsetDateTime>,
}

/// The outcome of one check of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code, in time: the token is issued.
    Verified,
    /// A wrong code; this check is counted.
    Mismatch { remaining_attempts: u8 },
    /// Expired, out of attempts, or already used: nothing is counted.
    Expired,
}

/// Judges one check of a code (see the module invariants). `matches` is whether the
/// presented code's digest equals the stored one.
#[must_use]
pub fn check_code(state: &CodeState, matches: bool, now: OffsetDateTime) -> CodeCheck {
    if state.verified_at.is_some() || now >= state.expires_at || state.attempts >= MAX_CODE_ATTEMPTS {
        return CodeCheck::Expired;
    }
    if matches {
        CodeCheck::Verified
    } else {
        CodeCheck::Mismatch { remaining_attempts: MAX_CODE_ATTEMPTS - state.attempts - 1 }
    }
}

/// Whether a presented code has the shape of one (six ASCII digits); anything else is a
/// mismatch without a digest being computed.
#[must_use]
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// A verified person, as a `verificationToken` finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPerson {
    pub verification_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub claim: IdentityClaim,
    pub verified_at: OffsetDateTime,
    pub token_expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests;
