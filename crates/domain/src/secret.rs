//! Credentials in memory: API keys, tokens, secrets, signed URLs.
//!
//! Invariant: a [`Secret`] never prints its value. `Debug` writes `Secret(***)`,
//! `Display` writes `***`, and there is no `Serialize`, so a secret reaches a log line,
//! an error message or a JSON body only through an explicit [`Secret::expose`], which
//! shows in the code where it happens. It deserializes transparently, so a setting or a
//! request parameter can be declared a `Secret` at the point where it enters.
//!
//! A struct that holds personal data or a credential in a plain field writes its `Debug`
//! with [`redacting_debug!`](crate::redacting_debug): every field is listed as shown or
//! redacted, and a field added later without being listed fails to compile, so a new
//! field cannot leak by being forgotten.

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

/// `text` with the query string of every URL in it replaced by `?***`: a signed URL's
/// signature (and any key or token a URL carries) is its query. For messages of other
/// crates that may quote a URL, before they are logged.
#[must_use]
pub fn redact_url_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end_matches(char::is_whitespace);
        match word.find('?') {
            Some(query) if word.contains("://") => {
                out.push_str(&word[..query]);
                out.push('?');
                out.push_str(REDACTED);
            }
            _ => out.push_str(word),
        }
        out.push_str(&piece[word.len()..]);
    }
    out
}

/// What a redacted field prints in a [`redacting_debug!`](crate::redacting_debug) `Debug`.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A `Debug` for a struct that prints the `show` fields and `***` for the `redact`
/// fields. Every field must be named in one list or the other (the struct is
/// destructured), so a field added later does not compile until it is classified.
///
/// ```
/// pub struct Note { pub id: u32, pub text: String }
/// domain::redacting_debug!(Note { show: [id], redact: [text] });
/// assert_eq!(format!("{:?}", Note { id: 7, text: "010-1234-5678".into() }), "Note { id: 7, text: *** }");
/// ```
#[macro_export]
macro_rules! redacting_debug {
    ($ty:ident $(<$lt:lifetime>)? { show: [$($shown:ident),* $(,)?], redact: [$($hidden:ident),* $(,)?] $(,)? }) => {
        impl $(<$lt>)? ::std::fmt::Debug for $ty $(<$lt>)? {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let Self { $($shown,)* $($hidden,)* } = self;
                $(let _ = $hidden;)*
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), $shown))*
                    $(.field(stringify!($hidden), &$crate::secret::Redacted))*
                    .finish()
            }
        }
    };
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
    fn the_query_of_a_quoted_url_is_redacted_and_the_rest_kept() {
        let message = "bad uri: https://s3.example/b/files/k?X-Amz-Signature=5f3a9c&X-Amz-Credential=AKIA7 (retry)";
        assert_eq!(redact_url_queries(message), "bad uri: https://s3.example/b/files/k?*** (retry)");
        assert_eq!(redact_url_queries("HEAD answered 503"), "HEAD answered 503");
        assert_eq!(redact_url_queries("what? no url\there"), "what? no url\there");
    }

    #[test]
    fn a_secret_deserializes_as_its_value() {
        use serde::de::IntoDeserializer;
        let input: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = "k-123".into_deserializer();
        let parsed = Secret::<String>::deserialize(input).expect("a string");
        assert_eq!(parsed.into_inner(), "k-123");
    }
}
