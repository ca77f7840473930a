//! The envelope layout.

use super::CryptoError;

pub const ENVELOPE_VERSION: u8 = 1;
pub(super) const NONCE_LEN: usize = 12;
pub(super) const TAG_LEN: usize = 16;
pub(super) const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// The key id of an envelope, read without decrypting.
///
/// # Errors
/// [`CryptoError::Malformed`] for another version or a truncated envelope.
pub fn envelope_key_id(envelope: &[u8]) -> Result<u32, CryptoError> {
    if envelope.len() < HEADER_LEN + TAG_LEN || envelope[0] != ENVELOPE_VERSION {
        return Err(CryptoError::Malformed);
    }
    let mut id = [0u8; 4];
    id.copy_from_slice(&envelope[1..5]);
    Ok(u32::from_be_bytes(id))
}

/// Splits an envelope into (key id, nonce, ciphertext with tag).
pub(super) fn split(envelope: &[u8]) -> Result<(u32, [u8; NONCE_LEN], &[u8]), CryptoError> {
    let key_id = envelope_key_id(envelope)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&envelope[5..HEADER_LEN]);
    Ok((key_id, nonce, &envelope[HEADER_LEN..]))
}

/// The envelope header for a key id and nonce.
pub(super) fn header(key_id: u32, nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 64);
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(nonce);
    out
}
