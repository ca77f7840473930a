//! The PII vault's cryptography, on `ring` (see docs/adr/0003-pii-vault.md).
//!
//! Invariants:
//! - an envelope is `version (1) | key_id (u32 BE) | nonce (12) | ciphertext + tag (16)`,
//!   AES-256-GCM with a fresh random nonce from `SystemRandom` per encryption;
//! - the associated data is a length-prefixed encoding of (`ldbds/v1`, table, column,
//!   row id, key id): moving a ciphertext to another row, column or table, or changing
//!   its key id, makes it fail to decrypt;
//! - per-column data keys are derived with HKDF-SHA256 from the key-encryption key (KEK)
//!   named in the envelope; the newest (active) KEK encrypts, every listed KEK that is not
//!   retired decrypts, a retired one is refused;
//! - blind indexes are HMAC-SHA256 under per-index keys derived from a separate index
//!   root key (so data-key rotation never changes an index), truncated to the index's
//!   `bits`. With R rows and b bits a lookup returns its true matches plus about R / 2^b
//!   unrelated candidates; callers size b so that this is a few (equal indexes do not
//!   prove equal values) while decrypting the candidates stays cheap;
//! - nothing here prints key material (`Debug` is hand-written).

mod blind_index;
mod envelope;
mod keyring;
mod keys_file;
#[cfg(test)]
mod proptests;
pub mod stream;
mod text;

pub use blind_index::BlindIndex;
pub use envelope::{ENVELOPE_VERSION, envelope_key_id};
pub use keyring::{FieldContext, Keyring, KeyringConfig};
pub use keys_file::{
    DevKeys, add_dev_key, decode_key, encode_key, generate_key, load_or_create_dev_keys, parse_key_list, retire_dev_key,
};
pub use text::{
    ANALYSIS_REPORT, AS_DESCRIPTION, AS_HISTORY_COMMENT, AUDIT_DETAIL, COUNSEL_ACCP_CONT, HEALTH_AUTH_REFERENCE,
    LEAD_METADATA, LEAD_SOURCE_DETAIL, MEDICAL_REPORT, ORDER_MEMO, OUTBOX_BODY, SEALED_TEXT_COLUMNS, SealedText,
    SealedValue, WEBHOOK_DESCRIPTION, WEBHOOK_PREVIOUS_SECRET, WEBHOOK_SECRET,
};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("malformed envelope")]
    Malformed,
    #[error("unknown key id {0}")]
    UnknownKey(u32),
    #[error("key {0} is retired")]
    RetiredKey(u32),
    /// Wrong associated data, tampering or a wrong key: one answer, no detail.
    #[error("decryption failed")]
    Decrypt,
    #[error("random generator failed")]
    Random,
    #[error("invalid key material: {0}")]
    InvalidKey(String),
}
