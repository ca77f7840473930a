//! The sandboxes' random source: SplitMix64 seeded by SHA-256 of a person's data, so a
//! sandbox answers the same person the same way every time (test data, never random).

use ring::digest::{SHA256, digest};

/// SplitMix64: a small, well-distributed generator; reproducible from its seed.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    /// Seeded by the first 8 bytes of SHA-256 of `text`.
    pub(crate) fn seeded(text: &str) -> Self {
        let hash = digest(&SHA256, text.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&hash.as_ref()[..8]);
        Self(u64::from_le_bytes(seed))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
