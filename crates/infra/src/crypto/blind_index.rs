//! Blind-index specifications.

/// One blind index: where it lives and how many bits of the HMAC it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlindIndex {
    pub table: &'static str,
    pub column: &'static str,
    pub name: &'static str,
    /// 1 to 256; the stored value is `ceil(bits / 8)` bytes in hex, unused low bits zero.
    pub bits: u32,
}

/// Keeps the first `bits` bits of `digest`, as lowercase hex.
pub(super) fn truncate_hex(digest: &[u8], bits: u32) -> String {
    let bits = bits.clamp(1, 256) as usize;
    let bytes = bits.div_ceil(8);
    let mut kept = digest[..bytes.min(digest.len())].to_vec();
    let spare = bytes * 8 - bits;
    if let Some(last) = kept.last_mut() {
        *last &= 0xffu8 << spare;
    }
    kept.iter().map(|b| format!("{b:02x}")).collect()
}
