//! Credentials in memory: API keys, tokens, secrets, signed URLs.
//!
//! Invariant: a [`Secret`] never prints its value. `Debug` writes `Secret(***)`,
//! `Display` writes `***`, and there is no `Serialize`, so a secret reaches a log line,
//! an error message or a JSON body only through an explicit [`Secret::expose`], which
//! shows in the code where it happens. It deserializes transparently, so a setting or a
//! request parameter can be declared a `Secret` at the point where it enters.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::pii::REDACTED;

/// A credential that must not leak through `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The plain value. Call it only where the credential is used or handed over.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// The plain value, consuming the wrapper.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let token = Secret::new("eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig-5f3a".to_owned());
        for printed in [format!("{token:?}"), format!("{token}"), format!("{:#?}", Some(&token))] {
            assert!(!printed.contains("sig-5f3a"), "{printed}");
            assert!(printed.contains(REDACTED), "{printed}");
        }
        assert_eq!(token.expose(), "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig-5f3a");
    }

    #[test]
    fn a_secret_deserializes_as_its_value() {
        use serde::de::IntoDeserializer;
        let input: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = "k-123".into_deserializer();
        let parsed = Secret::<String>::deserialize(input).expect("a string");
        assert_eq!(parsed.into_inner(), "k-123");
    }
}
