//! Files at rest: the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015)
//! over AES-256-GCM, from RustCrypto's `aead::stream` (`StreamBE32`), with a per-file
//! data key wrapped by the vault (see docs/adr/0008-evidence-files-at-rest.md).
//!
//! A sealed file is `header | chunk*`:
//! - header: [`MAGIC`] (8) | wrapped key length (u16 BE) | wrapped key | nonce prefix (7);
//! - the wrapped key is a vault envelope (its key id readable without decrypting) of a
//!   fresh random 256-bit data key, sealed for (`uploaded_files`, `content_key`, file id):
//!   a header copied to another file id does not open;
//! - chunk `i` is [`CHUNK_LEN`] plaintext bytes (the last one 0 to [`CHUNK_LEN`]) sealed
//!   with the nonce `prefix | i (u32 BE) | last flag`, and associated data binding the
//!   file id, org and purpose. Reordered, dropped, duplicated, appended or truncated
//!   chunks, a file moved to another id, org or purpose, and any flipped bit all fail
//!   to open, with one error and no detail.
//!
//! Invariants:
//! - memory is bounded: a [`SealingStream`] or [`OpeningStream`] holds at most one chunk
//!   (`CHUNK_LEN + TAG_LEN` bytes) whatever the file's size ([`SealingStream::peak`]);
//! - a data key seals exactly one file, so the random 56-bit nonce prefix never has to
//!   be unique across files; the data key is never stored unwrapped;
//! - [`rewrap_header`] moves a file to the active key by rewriting the header only: the
//!   chunks do not depend on the key-encryption key.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use ring::rand::{SecureRandom, SystemRandom};

use super::{CryptoError, FieldContext, Keyring, envelope_key_id};

/// The first bytes of every sealed file (`LDBDS` evidence file, format 1). No accepted
/// upload type starts with them, so a plaintext file is told from a sealed one.
pub const MAGIC: [u8; 8] = *b"LDBDSEF1";
/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
/// The GCM tag each chunk carries.
pub const TAG_LEN: usize = 16;
/// Random nonce prefix: 12-byte GCM nonce less the 4-byte counter and the flag byte.
pub const PREFIX_LEN: usize = 7;
/// The longest wrapped key a header may carry (a vault envelope of 32 bytes is 65).
const MAX_WRAPPED: usize = 256;
const FIXED_LEN: usize = MAGIC.len() + 2;
const AAD_TAG: &[u8] = b"ldbds/file/v1";
const KEY_TABLE: &str = "uploaded_files";
const KEY_COLUMN: &str = "content_key";

/// Where a file belongs; bound into its encryption.
#[derive(Debug, Clone, Copy)]
pub struct FileContext<'a> {
    /// The file's id (its key).
    pub file_id: &'a str,
    pub org_id: &'a str,
    pub purpose: &'a str,
}

impl FileContext<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in [AAD_TAG, self.file_id.as_bytes(), self.org_id.as_bytes(), self.purpose.as_bytes()] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    fn key_context(&self) -> FieldContext<'_> {
        FieldContext { table: KEY_TABLE, column: KEY_COLUMN, row_id: self.file_id }
    }
}

/// Whether these leading bytes are a sealed file's (false for any plaintext upload).
#[must_use]
pub fn is_sealed(head: &[u8]) -> bool {
    head.starts_with(&MAGIC)
}

/// A header's parts.
struct Header<'a> {
    wrapped: &'a [u8],
    prefix: [u8; PREFIX_LEN],
    len: usize,
}

/// The header at the start of `bytes`: `Ok(None)` while more bytes are needed.
fn parse_header(bytes: &[u8]) -> Result<Option<Header<'_>>, CryptoError> {
    let magic_seen = bytes.len().min(MAGIC.len());
    if bytes[..magic_seen] != MAGIC[..magic_seen] {
        return Err(CryptoError::Malformed);
    }
    if bytes.len() < FIXED_LEN {
        return Ok(None);
    }
    let wrapped_len = usize::from(u16::from_be_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]));
    if wrapped_len > MAX_WRAPPED {
        return Err(CryptoError::Malformed);
    }
    let len = FIXED_LEN + wrapped_len + PREFIX_LEN;
    if bytes.len() < len {
        return Ok(None);
    }
    let mut prefix = [0u8; PREFIX_LEN];
    prefix.copy_from_slice(&bytes[len - PREFIX_LEN..len]);
    Ok(Some(Header { wrapped: &bytes[FIXED_LEN..FIXED_LEN + wrapped_len], prefix, len }))
}

fn header_bytes(wrapped: &[u8], prefix: &[u8; PREFIX_LEN]) -> Result<Vec<u8>, CryptoError> {
    let wrapped_len = u16::try_from(wrapped.len()).map_err(|_| CryptoError::Malformed)?;
    let mut out = Vec::with_capacity(FIXED_LEN + wrapped.len() + PREFIX_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped);
    out.extend_from_slice(prefix);
    Ok(out)
}

/// The longest header there is: enough bytes to read one whole.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + MAX_WRAPPED + PREFIX_LEN;

/// The key id that wraps a sealed file's data key, from its first bytes (at least the
/// header; [`MAX_HEADER_LEN`] always suffice).
///
/// # Errors
/// [`CryptoError::Malformed`] when the bytes are not a complete sealed file header.
pub fn header_key_id(head: &[u8]) -> Result<u32, CryptoError> {
    let header = parse_header(head)?.ok_or(CryptoError::Malformed)?;
    envelope_key_id(header.wrapped)
}

/// The header of `head` (a sealed file's first bytes) with its data key rewrapped under
/// the active key, and the length of the header it replaces. The chunks after it stay
/// as they are.
///
/// # Errors
/// `Malformed`, or the keyring's refusals (`UnknownKey`, `RetiredKey`, `Decrypt`).
pub fn rewrap_header(keyring: &Keyring, file_id: &str, head: &[u8]) -> Result<(Vec<u8>, usize), CryptoError> {
    let header = parse_header(head)?.ok_or(CryptoError::Malformed)?;
    let ctx = FieldContext { table: KEY_TABLE, column: KEY_COLUMN, row_id: file_id };
    let rewrapped = keyring.reencrypt(header.wrapped, &ctx)?;
    Ok((header_bytes(&rewrapped, &header.prefix)?, header.len))
}

/// The plaintext length of a sealed file of `sealed_len` bytes that starts with `head`
/// (at least its header), without opening it.
///
/// # Errors
/// [`CryptoError::Malformed`] when `head` is no header or the length cannot be a sealed
/// file's.
pub fn plaintext_len(head: &[u8], sealed_len: u64) -> Result<u64, CryptoError> {
    let header = parse_header(head)?.ok_or(CryptoError::Malformed)?;
    let body = sealed_len.checked_sub(header.len as u64).ok_or(CryptoError::Malformed)?;
    let chunks = body.div_ceil((CHUNK_LEN + TAG_LEN) as u64).max(1);
    body.checked_sub(chunks * TAG_LEN as u64).ok_or(CryptoError::Malformed)
}

fn cipher(dek: &mut [u8]) -> Result<Aes256Gcm, CryptoError> {
    let cipher = Aes256Gcm::new_from_slice(dek).map_err(|_| CryptoError::Decrypt);
    dek.fill(0);
    cipher
}

/// Encrypts one file, pushed through in pieces of any size.
pub struct SealingStream {
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    /// Plaintext of the chunk being filled, or (when `sealed`) the chunk just handed out.
    buffer: Vec<u8>,
    sealed: bool,
    peak: usize,
}

impl std::fmt::Debug for SealingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingStream").field("buffered", &self.buffer.len()).finish_non_exhaustive()
    }
}

impl SealingStream {
    /// A new data key and nonce prefix for the file `ctx`, and the header to write first.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the system random generator fails.
    pub fn new(keyring: &Keyring, ctx: &FileContext<'_>) -> Result<(Self, Vec<u8>), CryptoError> {
        let rng = SystemRandom::new();
        let mut dek = [0u8; 32];
        let mut prefix = [0u8; PREFIX_LEN];
        rng.fill(&mut dek).map_err(|_| CryptoError::Random)?;
        rng.fill(&mut prefix).map_err(|_| CryptoError::Random)?;
        let wrapped = keyring.encrypt(&dek, &ctx.key_context());
        let aead = cipher(&mut dek)?;
        let header = header_bytes(&wrapped?, &prefix)?;
        let encryptor = EncryptorBE32::from_aead(aead, (&prefix).into());
        let buffer = Vec::with_capacity(CHUNK_LEN + TAG_LEN);
        let peak = buffer.capacity();
        Ok((Self { encryptor: Some(encryptor), aad: ctx.aad(), buffer, sealed: false, peak }, header))
    }

    /// Takes plaintext from the front of `input`; returns a sealed chunk to write as soon
    /// as one is complete and more plaintext follows (call again with the rest of
    /// `input` until it is empty and this returns `None`).
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] after 2³² − 1 chunks (256 TiB), or once finished.
    pub fn push(&mut self, input: &mut &[u8]) -> Result<Option<&[u8]>, CryptoError> {
        if self.sealed {
            self.buffer.clear();
            self.sealed = false;
        }
        let room = CHUNK_LEN - self.buffer.len();
        let take = room.min(input.len());
        self.buffer.extend_from_slice(&input[..take]);
        *input = &input[take..];
        if self.buffer.len() < CHUNK_LEN || input.is_empty() {
            // A full chunk is sealed only once more plaintext shows it is not the last.
            return Ok(None);
        }
        let encryptor = self.encryptor.as_mut().ok_or(CryptoError::Malformed)?;
        encryptor.encrypt_next_in_place(&self.aad, &mut self.buffer).map_err(|_| CryptoError::Malformed)?;
        self.peak = self.peak.max(self.buffer.capacity());
        self.sealed = true;
        Ok(Some(&self.buffer))
    }

    /// Seals what is left as the last chunk and returns it (at least the tag).
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] when already finished.
    pub fn finish(&mut self) -> Result<&[u8], CryptoError> {
        if self.sealed {
            self.buffer.clear();
        }
        let encryptor = self.encryptor.take().ok_or(CryptoError::Malformed)?;
        encryptor.encrypt_last_in_place(&self.aad, &mut self.buffer).map_err(|_| CryptoError::Malformed)?;
        self.peak = self.peak.max(self.buffer.capacity());
        self.sealed = true;
        Ok(&self.buffer)
    }

    /// The most bytes this stream ever held in its buffer.
    #[must_use]
    pub fn peak(&self) -> usize {
        self.peak
    }
}

/// Decrypts one sealed file (header included), pushed through in pieces of any size.
pub struct OpeningStream<'k> {
    keyring: &'k Keyring,
    file_id: String,
    aad: Vec<u8>,
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    /// Header bytes, then ciphertext of the chunk being filled, or (when `opened`) the
    /// plaintext just handed out.
    buffer: Vec<u8>,
    opened: bool,
    finished: bool,
    peak: usize,
}

impl std::fmt::Debug for OpeningStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpeningStream").field("buffered", &self.buffer.len()).finish_non_exhaustive()
    }
}

impl<'k> OpeningStream<'k> {
    #[must_use]
    pub fn new(keyring: &'k Keyring, ctx: &FileContext<'_>) -> Self {
        let buffer = Vec::with_capacity(CHUNK_LEN + TAG_LEN);
        let peak = buffer.capacity();
        Self {
            keyring,
            file_id: ctx.file_id.to_owned(),
            aad: ctx.aad(),
            decryptor: None,
            buffer,
            opened: false,
            finished: false,
            peak,
        }
    }

    /// Takes sealed bytes from the front of `input`; returns verified plaintext as soon
    /// as a chunk is complete and more bytes follow (call again with the rest of `input`
    /// until it is empty and this returns `None`).
    ///
    /// # Errors
    /// `Malformed` (not a sealed file), the keyring's refusals of the wrapped key, or
    /// `Decrypt` for any chunk that is not this file's next one.
    pub fn push(&mut self, input: &mut &[u8]) -> Result<Option<&[u8]>, CryptoError> {
        if self.finished {
            return Err(CryptoError::Malformed);
        }
        if self.opened {
            self.buffer.clear();
            self.opened = false;
        }
        while self.decryptor.is_none() {
            if input.is_empty() {
                return Ok(None);
            }
            // The header is small: take what may belong to it, give the rest back after.
            let before = self.buffer.len();
            let take = (MAX_HEADER_LEN - before).min(input.len());
            self.buffer.extend_from_slice(&input[..take]);
            let Some(header) = parse_header(&self.buffer)? else {
                *input = &input[take..];
                continue;
            };
            let ctx = FieldContext { table: KEY_TABLE, column: KEY_COLUMN, row_id: &self.file_id };
            let mut dek = self.keyring.decrypt(header.wrapped, &ctx)?;
            let aead = cipher(&mut dek)?;
            self.decryptor = Some(DecryptorBE32::from_aead(aead, (&header.prefix).into()));
            // Earlier pushes held less than a header, so it ends inside this one's bytes.
            let used = header.len - before;
            self.buffer.clear();
            *input = &input[used..];
        }
        let room = CHUNK_LEN + TAG_LEN - self.buffer.len();
        let take = room.min(input.len());
        self.buffer.extend_from_slice(&input[..take]);
        *input = &input[take..];
        if self.buffer.len() < CHUNK_LEN + TAG_LEN || input.is_empty() {
            return Ok(None);
        }
        let decryptor = self.decryptor.as_mut().ok_or(CryptoError::Malformed)?;
        decryptor.decrypt_next_in_place(&self.aad, &mut self.buffer).map_err(|_| CryptoError::Decrypt)?;
        self.peak = self.peak.max(self.buffer.capacity());
        self.opened = true;
        Ok(Some(&self.buffer))
    }

    /// Opens what is left as the last chunk and returns its plaintext.
    ///
    /// # Errors
    /// `Malformed` for a file that ends inside its header; `Decrypt` when the last chunk
    /// is missing, was cut or is not the last.
    pub fn finish(&mut self) -> Result<&[u8], CryptoError> {
        if self.opened {
            self.buffer.clear();
            self.opened = false;
        }
        if self.finished {
            return Err(CryptoError::Malformed);
        }
        self.finished = true;
        let decryptor = self.decryptor.take().ok_or(CryptoError::Malformed)?;
        decryptor.decrypt_last_in_place(&self.aad, &mut self.buffer).map_err(|_| CryptoError::Decrypt)?;
        self.opened = true;
        Ok(&self.buffer)
    }

    /// The most bytes this stream ever held in its buffer.
    #[must_use]
    pub fn peak(&self) -> usize {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use ring::digest::{Context, SHA256};

    use super::super::KeyringConfig;
    use super::*;

    fn keyring(keys: &[(u32, u8)], active: u32, retired: &[u32]) -> Keyring {
        Keyring::new(KeyringConfig {
            keys: keys.iter().map(|(id, b)| (*id, [*b; 32])).collect(),
            active,
            retired: retired.to_vec(),
            index_key: [9u8; 32],
        })
        .unwrap()
    }

    const CTX: FileContext<'static> =
        FileContext { file_id: "0192f5c2-0000-7000-8000-000000000001", org_id: "org-a", purpose: "AS_EVIDENCE" };

    fn plain(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// The whole sealed file of `data`, pushed `piece` bytes at a time.
    fn seal(ring: &Keyring, ctx: &FileContext<'_>, data: &[u8], piece: usize) -> Vec<u8> {
        let (mut sealer, header) = SealingStream::new(ring, ctx).unwrap();
        let mut out = header;
        for mut part in data.chunks(piece.max(1)) {
            while let Some(sealed) = sealer.push(&mut part).unwrap() {
                out.extend_from_slice(sealed);
            }
        }
        out.extend_from_slice(sealer.finish().unwrap());
        out
    }

    fn open(ring: &Keyring, ctx: &FileContext<'_>, sealed: &[u8], piece: usize) -> Result<Vec<u8>, CryptoError> {
        let mut opener = OpeningStream::new(ring, ctx);
        let mut out = Vec::new();
        for mut part in sealed.chunks(piece.max(1)) {
            while let Some(clear) = opener.push(&mut part)? {
                out.extend_from_slice(clear);
            }
        }
        out.extend_from_slice(opener.finish()?);
        Ok(out)
    }

    fn header_len(sealed: &[u8]) -> usize {
        parse_header(sealed).unwrap().unwrap().len
    }

    /// (start, end) of each sealed chunk.
    fn chunks(sealed: &[u8]) -> Vec<(usize, usize)> {
        let mut at = header_len(sealed);
        let mut out = Vec::new();
        while at < sealed.len() {
            let end = (at + CHUNK_LEN + TAG_LEN).min(sealed.len());
            out.push((at, end));
            at = end;
        }
        out
    }

    #[test]
    fn files_of_every_boundary_size_round_trip_whatever_the_piece_size() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        for len in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN, 3 * CHUNK_LEN + 5] {
            let data = plain(len);
            for piece in [1, 7, 8192, CHUNK_LEN + 3, len] {
                if piece == 1 && len > CHUNK_LEN + 1 {
                    continue;
                }
                let sealed = seal(&ring, &CTX, &data, piece);
                assert!(is_sealed(&sealed));
                let chunk_count = len.div_ceil(CHUNK_LEN).max(1);
                assert_eq!(sealed.len(), header_len(&sealed) + len + chunk_count * TAG_LEN, "len {len}");
                assert_eq!(plaintext_len(&sealed, sealed.len() as u64).unwrap(), len as u64);
                for open_piece in [1, 13, 70_000] {
                    if open_piece == 1 && len > CHUNK_LEN + 1 {
                        continue;
                    }
                    assert_eq!(open(&ring, &CTX, &sealed, open_piece).unwrap(), data, "len {len} piece {piece}");
                }
            }
        }
    }

    #[test]
    fn a_ten_mib_file_is_sealed_and_opened_holding_one_chunk_at_most() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        let total = 10 * 1024 * 1024;
        let piece = 8 * 1024;
        // A reader that yields the file 8 KiB at a time: the file never exists whole.
        let piece_at = |i: usize| -> Vec<u8> { (0..piece).map(|j| ((i * piece + j) * 31 % 253) as u8).collect() };
        let (mut sealer, header) = SealingStream::new(&ring, &CTX).unwrap();
        let mut opener = OpeningStream::new(&ring, &CTX);
        let (mut sent, mut got) = (Context::new(&SHA256), Context::new(&SHA256));
        let mut received = 0usize;
        let mut largest_sealed = 0usize;
        let feed = |opener: &mut OpeningStream<'_>, mut sealed: &[u8], got: &mut Context, received: &mut usize| {
            while let Some(clear) = opener.push(&mut sealed).unwrap() {
                got.update(clear);
                *received += clear.len();
            }
        };
        feed(&mut opener, &header, &mut got, &mut received);
        for i in 0..total / piece {
            let block = piece_at(i);
            sent.update(&block);
            let mut part = block.as_slice();
            while let Some(sealed) = sealer.push(&mut part).unwrap() {
                largest_sealed = largest_sealed.max(sealed.len());
                let sealed = sealed.to_vec();
                feed(&mut opener, &sealed, &mut got, &mut received);
            }
        }
        let last = sealer.finish().unwrap().to_vec();
        feed(&mut opener, &last, &mut got, &mut received);
        let tail = opener.finish().unwrap();
        got.update(tail);
        received += tail.len();
        assert_eq!(received, total);
        assert_eq!(sent.finish().as_ref(), got.finish().as_ref(), "the same bytes came back");
        assert_eq!(largest_sealed, CHUNK_LEN + TAG_LEN);
        assert!(sealer.peak() <= CHUNK_LEN + TAG_LEN, "sealing held {} bytes", sealer.peak());
        assert!(opener.peak() <= CHUNK_LEN + TAG_LEN, "opening held {} bytes", opener.peak());
    }

    #[test]
    fn a_flipped_bit_anywhere_is_refused() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        let sealed = seal(&ring, &CTX, &plain(2 * CHUNK_LEN + 10), 4096);
        let spots = [0, 9, 12, header_len(&sealed) - 1, header_len(&sealed) + 5, CHUNK_LEN + 200, sealed.len() - 1];
        for at in spots {
            let mut tampered = sealed.clone();
            tampered[at] ^= 0x20;
            assert!(open(&ring, &CTX, &tampered, 4096).is_err(), "byte {at}");
        }
    }

    #[test]
    fn swapped_dropped_duplicated_and_truncated_chunks_are_refused() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        let data = plain(3 * CHUNK_LEN + 100);
        let sealed = seal(&ring, &CTX, &data, 10_000);
        let parts = chunks(&sealed);
        assert_eq!(parts.len(), 4);
        let head = &sealed[..header_len(&sealed)];
        let assemble = |order: &[usize]| {
            let mut out = head.to_vec();
            for i in order {
                out.extend_from_slice(&sealed[parts[*i].0..parts[*i].1]);
            }
            out
        };
        assert_eq!(open(&ring, &CTX, &assemble(&[0, 1, 2, 3]), 999).unwrap(), data, "as written");
        for (order, what) in [
            (&[1, 0, 2, 3][..], "swapped"),
            (&[0, 2, 3][..], "a middle chunk dropped"),
            (&[0, 1, 2][..], "the last chunk dropped"),
            (&[0, 1, 1, 2, 3][..], "a chunk repeated"),
            (&[0, 1, 2, 3, 3][..], "the last chunk repeated"),
            (&[][..], "no chunk"),
        ] {
            assert!(matches!(open(&ring, &CTX, &assemble(order), 999), Err(CryptoError::Decrypt)), "{what}");
        }
        let cut = &sealed[..sealed.len() - 1];
        assert!(open(&ring, &CTX, cut, 999).is_err(), "one byte cut");
        let mid_header = &sealed[..header_len(&sealed) - 2];
        assert!(matches!(open(&ring, &CTX, mid_header, 999), Err(CryptoError::Malformed)), "ends inside the header");
    }

    #[test]
    fn a_file_moved_to_another_id_org_or_purpose_or_given_another_header_is_refused() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        let data = plain(CHUNK_LEN + 10);
        let sealed = seal(&ring, &CTX, &data, 5000);
        for elsewhere in [
            FileContext { file_id: "0192f5c2-0000-7000-8000-000000000002", ..CTX },
            FileContext { org_id: "org-b", ..CTX },
            FileContext { purpose: "AVATAR", ..CTX },
        ] {
            assert!(matches!(open(&ring, &elsewhere, &sealed, 5000), Err(CryptoError::Decrypt)), "{elsewhere:?}");
        }
        // Another file of the same id and context: its header cannot open these chunks.
        let other = seal(&ring, &CTX, &data, 5000);
        let mut mixed = other[..header_len(&other)].to_vec();
        mixed.extend_from_slice(&sealed[header_len(&sealed)..]);
        assert!(matches!(open(&ring, &CTX, &mixed, 5000), Err(CryptoError::Decrypt)));
        assert!(matches!(open(&keyring(&[(1, 2)], 1, &[]), &CTX, &sealed, 5000), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn a_plaintext_file_is_not_taken_for_a_sealed_one() {
        let ring = keyring(&[(1, 1)], 1, &[]);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR leak.canary@example.org";
        assert!(!is_sealed(png));
        assert!(matches!(open(&ring, &CTX, png, 7), Err(CryptoError::Malformed)));
        assert!(header_key_id(png).is_err());
    }

    #[test]
    fn a_rewrapped_header_moves_the_file_to_the_active_key_and_the_old_one_can_retire() {
        let old = keyring(&[(1, 1)], 1, &[]);
        let data = plain(CHUNK_LEN * 2);
        let sealed = seal(&old, &CTX, &data, 9000);
        assert_eq!(header_key_id(&sealed).unwrap(), 1);
        let both = keyring(&[(1, 1), (2, 2)], 2, &[]);
        assert_eq!(open(&both, &CTX, &sealed, 9000).unwrap(), data, "old files open during a rotation");
        let (header, replaced) = rewrap_header(&both, CTX.file_id, &sealed[..MAX_HEADER_LEN]).unwrap();
        assert_eq!(replaced, header_len(&sealed));
        let mut moved = header;
        moved.extend_from_slice(&sealed[replaced..]);
        assert_eq!(header_key_id(&moved).unwrap(), 2);
        let retired = keyring(&[(1, 1), (2, 2)], 2, &[1]);
        assert_eq!(open(&retired, &CTX, &moved, 9000).unwrap(), data);
        assert!(matches!(open(&retired, &CTX, &sealed, 9000), Err(CryptoError::RetiredKey(1))));
        assert!(rewrap_header(&both, "another-id", &sealed[..MAX_HEADER_LEN]).is_err(), "bound to its id");
    }
}
