//! The envelope decoder on arbitrary input: bytes that were never an envelope, real
//! envelopes truncated, bit-flipped, extended or spliced, and key text that is not a key.
//! Every one must come back as a typed [`CryptoError`], never a panic, never plaintext.

use proptest::prelude::*;

use super::envelope::{HEADER_LEN, NONCE_LEN, TAG_LEN};
use super::{CryptoError, ENVELOPE_VERSION, FieldContext, Keyring, KeyringConfig, envelope_key_id};

/// Key 1 retired, key 2 readable, key 3 active.
const RETIRED: u32 = 1;
const READABLE: u32 = 2;
const ACTIVE: u32 = 3;

fn keyring() -> Keyring {
    Keyring::new(KeyringConfig {
        keys: vec![(RETIRED, [1u8; 32]), (READABLE, [2u8; 32]), (ACTIVE, [3u8; 32])],
        active: ACTIVE,
        retired: vec![RETIRED],
        index_key: [9u8; 32],
    })
    .expect("keyring")
}

/// A keyring whose active key is the one the other ring only reads, to write envelopes
/// under key 2.
fn writer_of_key_2() -> Keyring {
    Keyring::new(KeyringConfig {
        keys: vec![(READABLE, [2u8; 32])],
        active: READABLE,
        retired: vec![],
        index_key: [9u8; 32],
    })
    .expect("keyring")
}

/// The error an envelope must get when its tag cannot verify: decided from its header only.
fn expected_refusal(sealed: &[u8]) -> CryptoError {
    if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != ENVELOPE_VERSION {
        return CryptoError::Malformed;
    }
    match u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]) {
        RETIRED => CryptoError::RetiredKey(RETIRED),
        READABLE | ACTIVE => CryptoError::Decrypt,
        other => CryptoError::UnknownKey(other),
    }
}

fn same_error(a: &CryptoError, b: &CryptoError) -> bool {
    match (a, b) {
        (CryptoError::UnknownKey(x), CryptoError::UnknownKey(y))
        | (CryptoError::RetiredKey(x), CryptoError::RetiredKey(y)) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Every way in: `decrypt`, `decrypt_string`, `reencrypt` and the header readers refuse
/// `sealed` with the error its header calls for, and print no plaintext.
fn assert_refused(
    ring: &Keyring,
    sealed: &[u8],
    ctx: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<(), TestCaseError> {
    let expected = expected_refusal(sealed);
    let results = [
        ring.decrypt(sealed, ctx).map(|_| ()),
        ring.decrypt_string(sealed, ctx).map(|_| ()),
        ring.reencrypt(sealed, ctx).map(|_| ()),
    ];
    for result in results {
        let err = result.err().ok_or_else(|| TestCaseError::fail(format!("{} bytes accepted", sealed.len())))?;
        prop_assert!(same_error(&err, &expected), "{:?} instead of {:?}", err, expected);
        for text in [err.to_string(), format!("{err:?}")] {
            prop_assert!(
                plaintext.len() < 6 || !text.as_bytes().windows(plaintext.len()).any(|w| w == plaintext),
                "plaintext in {:?}",
                text
            );
        }
    }
    let header_ok = !matches!(expected, CryptoError::Malformed);
    prop_assert_eq!(envelope_key_id(sealed).is_ok(), header_ok);
    prop_assert_eq!(ring.needs_rotation(sealed).is_ok(), header_ok);
    Ok(())
}

fn context_part() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec!["leads", "users", "phone", "name", "", "0192f5c2-0000-7000-8000-000000000001"])
            .prop_map(str::to_owned),
        any::<String>(),
    ]
}

fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,60}".prop_map(String::into_bytes),
        Just(b"+821012345678".to_vec()),
    ]
}

/// A real envelope and what it was made of.
fn sealed() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, [String; 3], bool)> {
    (plaintext(), [context_part(), context_part(), context_part()], any::<bool>()).prop_map(
        |(plain, [table, column, row], under_key_2)| {
            let ctx = FieldContext { table: &table, column: &column, row_id: &row };
            let writer = if under_key_2 { writer_of_key_2() } else { keyring() };
            let sealed = writer.encrypt(&plain, &ctx).expect("encrypt");
            (sealed, plain, [table, column, row], under_key_2)
        },
    )
}

fn ctx(parts: &[String; 3]) -> FieldContext<'_> {
    FieldContext { table: &parts[0], column: &parts[1], row_id: &parts[2] }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// Bytes that were never an envelope: a typed refusal, whatever their length and header.
    #[test]
    fn arbitrary_bytes_are_refused_with_a_typed_error(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..128),
            proptest::collection::vec(any::<u8>(), HEADER_LEN + TAG_LEN - 2..HEADER_LEN + TAG_LEN + 2),
        ],
        parts in [context_part(), context_part(), context_part()],
    ) {
        assert_refused(&keyring(), &bytes, &ctx(&parts), &[])?;
    }

    /// A well-formed header in front of random bytes: the key is found, the tag fails.
    #[test]
    fn random_bytes_behind_a_valid_header_never_decrypt(
        key_id in prop_oneof![Just(RETIRED), Just(READABLE), Just(ACTIVE), any::<u32>()],
        nonce in any::<[u8; NONCE_LEN]>(),
        body in proptest::collection::vec(any::<u8>(), TAG_LEN..200),
    ) {
        let mut bytes = vec![ENVELOPE_VERSION];
        bytes.extend_from_slice(&key_id.to_be_bytes());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&body);
        let parts = ["leads".to_owned(), "phone".to_owned(), "r1".to_owned()];
        assert_refused(&keyring(), &bytes, &ctx(&parts), &[])?;
    }

    /// A real envelope round-trips, and every cut of it is refused.
    #[test]
    fn a_truncated_envelope_is_refused((sealed, plain, parts, _) in sealed(), cut in any::<proptest::sample::Index>()) {
        let ring = keyring();
        prop_assert_eq!(&ring.decrypt(&sealed, &ctx(&parts)).expect("round trip"), &plain);
        let cut = cut.index(sealed.len());
        assert_refused(&ring, &sealed[..cut], &ctx(&parts), &plain)?;
    }

    /// Any one bit flipped anywhere (version, key id, nonce, ciphertext, tag): refused.
    #[test]
    fn a_bit_flipped_envelope_is_refused(
        (sealed, plain, parts, _) in sealed(),
        at in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut tampered = sealed;
        let at = at.index(tampered.len());
        tampered[at] ^= 1 << bit;
        assert_refused(&keyring(), &tampered, &ctx(&parts), &plain)?;
    }

    /// Bytes appended, or one envelope's header on another's body: refused.
    #[test]
    fn an_extended_or_spliced_envelope_is_refused(
        (sealed, plain, parts, _) in sealed(),
        (other, _, other_parts, _) in sealed(),
        tail in proptest::collection::vec(any::<u8>(), 1..32),
    ) {
        let ring = keyring();
        let mut extended = sealed.clone();
        extended.extend_from_slice(&tail);
        assert_refused(&ring, &extended, &ctx(&parts), &plain)?;
        let mut spliced = sealed[..HEADER_LEN].to_vec();
        spliced.extend_from_slice(&other[HEADER_LEN..]);
        if spliced != sealed {
            assert_refused(&ring, &spliced, &ctx(&parts), &plain)?;
            assert_refused(&ring, &spliced, &ctx(&other_parts), &plain)?;
        }
    }

    /// A real envelope read in any other place (table, column or row differ) is refused.
    #[test]
    fn an_envelope_read_elsewhere_is_refused(
        (sealed, plain, parts, _) in sealed(),
        elsewhere in [context_part(), context_part(), context_part()],
    ) {
        if elsewhere != parts {
            assert_refused(&keyring(), &sealed, &ctx(&elsewhere), &plain)?;
        }
    }

    /// Key text that is not a key: a typed error that never repeats the text, which may be
    /// key material in the wrong place (`<base64>:1` instead of `1:<base64>`).
    #[test]
    fn key_text_that_is_not_a_key_is_refused_without_echoing_it(
        text in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9+/=:, ]{0,120}",
            any::<[u8; 32]>().prop_map(|k| format!("{}:1", super::encode_key(&k))),
            any::<[u8; 32]>().prop_map(|k| format!("1:{0},{0}:2", super::encode_key(&k))),
        ],
    ) {
        match super::decode_key(&text) {
            Ok(key) => prop_assert_eq!(super::decode_key(&super::encode_key(&key)).expect("round trip"), key),
            Err(err) => prop_assert!(matches!(err, CryptoError::InvalidKey(_))),
        }
        match super::parse_key_list(&text) {
            Ok(keys) => prop_assert!(!keys.is_empty()),
            Err(err) => {
                prop_assert!(matches!(err, CryptoError::InvalidKey(_)));
                let words = text.split([',', ':', ' ']).filter(|w| w.len() >= 8 && !w.bytes().all(|b| b.is_ascii_digit()));
                for word in words {
                    prop_assert!(!err.to_string().contains(word), "{:?} echoed in {}", word, err);
                }
            }
        }
    }
}
