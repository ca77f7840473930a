//! Webhook signatures per the Standard Webhooks specification (issue #16, `events.md`).
//!
//! A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature`: `v1,<base64 of HMAC-SHA256(secret bytes, id.timestamp.body)>`,
//! several separated by spaces (during a secret rotation the old and the new secret each
//! sign, for 24 h).
//!
//! Invariants:
//! - a secret is `whsec_` + standard base64 of [`SECRET_BYTES`] random bytes from the
//!   system's CSPRNG; its bytes never print (`Debug` is redacted, the text leaves only
//!   through [`WebhookSecret::expose`], e.g. once to the endpoint's creator);
//! - the signed content is exactly `id.timestamp.body`, the body's bytes as sent (the
//!   caller signs the serialized body it then sends, never a re-serialization);
//! - [`verify`] compares in constant time (`ring::hmac::verify`) and refuses a timestamp
//!   outside its tolerance, so a captured delivery cannot be replayed later;
//! - interoperability is proven against an independent implementation (the
//!   `standardwebhooks` crate, in the tests), not only against [`verify`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use thiserror::Error;

/// The prefix of a secret's text.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret we generate.
pub const SECRET_BYTES: usize = 32;
/// The fewest and most bytes a secret we accept may hold (the specification's range).
const ACCEPTED_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Why a secret's text was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a webhook secret starts with {SECRET_PREFIX}")]
    Prefix,
    #[error("a webhook secret is {SECRET_PREFIX} followed by standard base64")]
    Base64,
    #[error("a webhook secret holds 24 to 64 bytes")]
    Length,
    #[error("the system's random source failed")]
    Random,
}

/// An endpoint's signing secret (see the module invariants).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl WebhookSecret {
    /// A new secret of [`SECRET_BYTES`] random bytes.
    ///
    /// # Errors
    /// [`SecretError::Random`] when the system's random source fails.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SecretError::Random)?;
        Ok(Self { bytes })
    }

    /// A secret from its text, `whsec_<base64>`.
    ///
    /// # Errors
    /// [`SecretError`] for a text without the prefix, with bad base64 or of the wrong
    /// length.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !ACCEPTED_BYTES.contains(&bytes.len()) {
            return Err(SecretError::Length);
        }
        Ok(Self { bytes })
    }

    /// The secret's text, `whsec_<base64>`: for the one place it is handed over (the
    /// endpoint's creation or rotation reply) or stored through the vault.
    #[must_use]
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.bytes))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.bytes)
    }
}

/// The content a signature covers: `id.timestamp.body`.
fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(id.len() + 24 + body.len());
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.to_string().as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// One signature, `v1,<base64>`.
#[must_use]
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&secret.key(), &signed_content(id, timestamp, body));
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// The `webhook-signature` header: one signature per secret, separated by spaces (the
/// current secret first, then a rotated-out one still within its overlap).
#[must_use]
pub fn signature_header(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| sign(secret, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Whether `header` holds a `v1` signature by `secret` of `id.timestamp.body`, with
/// `timestamp` within `tolerance_secs` of `now` (Unix seconds).
#[must_use]
pub fn verify(
    secret: &WebhookSecret,
    header: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    let content = signed_content(id, timestamp, body);
    let key = secret.key();
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|tag| hmac::verify(&key, &content, &tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn the_reference_vector_signs_as_the_specification_says() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_is_whsec_and_32_random_bytes_and_never_prints() {
        let (a, b) = (WebhookSecret::generate().unwrap(), WebhookSecret::generate().unwrap());
        assert_ne!(a, b);
        let text = a.expose();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(STANDARD.decode(&text[6..]).unwrap().len(), 32);
        assert_eq!(WebhookSecret::parse(&text).unwrap(), a, "the text reads back");
        assert_eq!(format!("{a:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn a_malformed_secret_is_refused_with_its_reason() {
        assert_eq!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Err(SecretError::Prefix));
        assert_eq!(WebhookSecret::parse("whsec_not base64!"), Err(SecretError::Base64));
        assert_eq!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 8]))), Err(SecretError::Length));
        assert_eq!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 65]))), Err(SecretError::Length));
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused() {
        let secret = WebhookSecret::generate().unwrap();
        let header = sign(&secret, "evt_1", 1_000, b"{}");
        assert!(verify(&secret, &header, "evt_1", 1_000, b"{}", 1_300, 300));
        assert!(!verify(&secret, &header, "evt_1", 1_000, b"{}", 1_301, 300), "too old");
        assert!(!verify(&secret, &header, "evt_1", 1_000, b"{}", 699, 300), "from the future");
    }

    proptest! {
        #[test]
        fn a_signature_verifies_and_any_change_breaks_it(
            id in "[a-zA-Z0-9_]{1,40}",
            body in proptest::collection::vec(any::<u8>(), 0..512),
            timestamp in 1_600_000_000i64..2_000_000_000,
            flip in any::<prop::sample::Index>(),
        ) {
            let (current, old) = (WebhookSecret::generate().unwrap(), WebhookSecret::generate().unwrap());
            let header = signature_header(&[&current, &old], &id, timestamp, &body);
            prop_assert_eq!(header.split(' ').count(), 2);
            prop_assert!(verify(&current, &header, &id, timestamp, &body, timestamp, 300));
            prop_assert!(verify(&old, &header, &id, timestamp, &body, timestamp, 300), "either secret verifies during a rotation");
            let other = WebhookSecret::generate().unwrap();
            prop_assert!(!verify(&other, &header, &id, timestamp, &body, timestamp, 300), "another secret does not");
            prop_assert!(!verify(&current, &header, &format!("{id}x"), timestamp, &body, timestamp, 300), "the id is signed");
            prop_assert!(!verify(&current, &header, &id, timestamp + 1, &body, timestamp, 300), "the timestamp is signed");
            if !body.is_empty() {
                let mut changed = body.clone();
                let at = flip.index(changed.len());
                changed[at] ^= 0x01;
                prop_assert!(!verify(&current, &header, &id, timestamp, &changed, timestamp, 300), "the body is signed");
            }
        }
    }
}
