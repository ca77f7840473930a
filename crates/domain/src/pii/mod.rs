//! Personal data (PII): validated types, blind-index normalization and masking.
//!
//! Invariants:
//! - a PII value is never printed: [`Pii`], [`PhoneNumber`], [`Email`] and [`PersonName`]
//!   have a redacting `Debug`, none of them has a `Display` that shows the value, and
//!   [`Pii`] serializes as `"***"`; the plain value is only reached through an explicit
//!   accessor (`expose`, `e164`, `as_str`, ...), so every reveal is visible in the code;
//! - validation errors name the field (`phone`, `email`, `name`) and never echo the input;
//! - one subscriber, address or person has one normalized form ([`normalize`]), which is
//!   what the blind indexes hash (the HMAC itself lives in `infra`);
//! - masking follows one rule per field everywhere ([`mask`]), as `security.md` lays out.

pub mod email;
pub mod mask;
pub mod name;
pub mod normalize;
pub mod phone;

use std::fmt;

use serde::{Serialize, Serializer};

pub use email::Email;
pub use name::PersonName;
pub use phone::PhoneNumber;

/// What every redacting `Debug`, `Display` and `Serialize` prints instead of the value.
pub const REDACTED: &str = "***";

/// Personal data that must not leak through `Debug`, `Display` or `Serialize`.
///
/// The inner value is reached only with [`Pii::expose`] or [`Pii::into_inner`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The plain value. Call it only where the caller may see PII.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// The plain value, consuming the wrapper.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pii({REDACTED})")
    }
}

impl<T> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> Serialize for Pii<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Writes `Name(***)` for a PII type, whatever it holds.
macro_rules! redacted_debug {
    ($ty:ident) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($ty), $crate::pii::REDACTED)
            }
        }
    };
}

pub(crate) use redacted_debug;

#[cfg(test)]
mod tests;
