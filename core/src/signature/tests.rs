//! Wire-format tests: golden bytes, round trips, and hostile input.

use heapless::{String, Vec};
use proptest::prelude::*;

use super::wire::{Invalid, encode, encode_to_vec, validate};
use super::*;
use crate::cpdm::AreaRatios;

fn key() -> CameraKey {
    CameraKey::from_bytes([7; 32])
}

fn feature(values: &[i8], scale: f32) -> QuantizedFeature {
    QuantizedFeature {
        scale,
        values: Vec::from_slice(values).unwrap(),
    }
}

/// A small signature whose encoding is frozen below.
fn golden_signature() -> Signature {
    Signature {
        model_id: [0xAB; MODEL_ID_LEN],
        site: String::try_from("a9").unwrap(),
        camera: String::try_from("c003").unwrap(),
        capture_time_us: 1_700_000_000_000_000,
        track_id: 42,
        sequence: 300,
        area_ratios: AreaRatios([0.5, 0.0, 0.5]),
        features: [
            feature(&[1, -1, 127, -127], 0.5),
            feature(&[0, 0, 0, 0], 0.0),
            feature(&[2, 3, 4, 5], 0.25),
            feature(&[-2, -3, -4, -5], 1.0),
        ],
    }
}

/// Version 1 bytes of [`golden_signature`] under [`key`]. If this test fails the layout
/// changed: bump `FORMAT_VERSION` and freeze the new bytes.
const GOLDEN_HEX: &str = concat!(
    "01",                               // version
    "abababababababababababababababab", // model id
    "026139",                           // site "a9"
    "0463303033",                       // camera "c003"
    "8080f9c0c1c48203",                 // capture time varint
    "2a",                               // track id 42
    "ac02",                             // sequence 300
    "0000003f000000000000003f",         // area ratios
    "0000003f0401ff7f81",               // global: scale, len, values
    "000000000400000000",               // front
    "0000803e0402030405",               // rear
    "0000803f04fefdfcfb",               // side
);

fn hex(bytes: &[u8]) -> std::string::String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn golden_bytes_are_frozen() {
    let bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    let (body, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    assert_eq!(hex(body), GOLDEN_HEX);
    assert_eq!(tag, key().tag(body));
    assert_eq!(bytes.len(), 116);
}

#[test]
fn decode_then_verify_round_trips() {
    let sig = golden_signature();
    let bytes = encode_to_vec(&sig, &key()).unwrap();
    let envelope = Envelope::decode(&bytes).unwrap();
    assert_eq!(envelope.signature(), &sig);
    assert_eq!(envelope.body().len(), bytes.len() - TAG_LEN);
    assert_eq!(envelope.verify(&key()).unwrap(), sig);
}

#[test]
fn wrong_key_and_tampered_body_fail_verification() {
    let bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    let other = CameraKey::from_bytes([8; 32]);
    assert_eq!(
        Envelope::decode(&bytes).unwrap().verify(&other),
        Err(AuthError::BadTag)
    );
    // Flip the track id (42 → 43): still well-formed, no longer authentic.
    let mut tampered = bytes.clone();
    let at = hex(&bytes).find("2aac02").unwrap() / 2;
    tampered[at] = 43;
    let envelope = Envelope::decode(&tampered).unwrap();
    assert_eq!(envelope.signature().track_id, 43);
    assert_eq!(envelope.verify(&key()), Err(AuthError::BadTag));
}

fn max_signature() -> Signature {
    let ident = String::try_from("x".repeat(MAX_ID_LEN).as_str()).unwrap();
    let full = feature(&[-127; MAX_DIM], f32::MAX);
    Signature {
        model_id: [0xFF; MODEL_ID_LEN],
        site: ident.clone(),
        camera: ident,
        capture_time_us: u64::MAX,
        track_id: u32::MAX,
        sequence: u64::MAX,
        area_ratios: AreaRatios([1.0, 0.0, 0.0]),
        features: [full.clone(), full.clone(), full.clone(), full],
    }
}

#[test]
fn largest_signature_fills_max_encoded_len_exactly() {
    let bytes = encode_to_vec(&max_signature(), &key()).unwrap();
    assert_eq!(bytes.len(), MAX_ENCODED_LEN);
    assert!(Envelope::decode(&bytes).is_ok());
}

#[test]
fn encode_reports_a_small_buffer() {
    let mut buf = [0u8; 40];
    assert_eq!(
        encode(&golden_signature(), &key(), &mut buf),
        Err(WireError::BufferTooSmall { have: 40 })
    );
    let mut exact = [0u8; 116];
    assert_eq!(encode(&golden_signature(), &key(), &mut exact), Ok(116));
    let mut short = [0u8; 115];
    assert!(matches!(
        encode(&golden_signature(), &key(), &mut short),
        Err(WireError::BufferTooSmall { have: 115 })
    ));
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    assert_eq!(Envelope::decode(&[]), Err(WireError::Empty));
    for len in 1..bytes.len() {
        let err = Envelope::decode(&bytes[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::Malformed(_) | WireError::BadTagLength { .. }
            ),
            "length {len}: {err:?}"
        );
    }
}

#[test]
fn unknown_version_oversize_and_trailing_bytes_are_rejected() {
    let mut bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    bytes[0] = 2;
    assert_eq!(
        Envelope::decode(&bytes),
        Err(WireError::UnsupportedVersion { found: 2 })
    );
    bytes[0] = FORMAT_VERSION;
    bytes.push(0);
    assert_eq!(
        Envelope::decode(&bytes),
        Err(WireError::BadTagLength { found: TAG_LEN + 1 })
    );
    // Too long for any signature: `Oversized` whatever the first byte.
    for first in [FORMAT_VERSION, 0x7e] {
        let huge = std::vec![first; MAX_ENCODED_LEN + 1];
        assert_eq!(
            Envelope::decode(&huge),
            Err(WireError::Oversized {
                len: MAX_ENCODED_LEN + 1
            })
        );
    }
}

#[test]
fn a_dimension_above_capacity_is_malformed() {
    // Hand-build a body whose global feature claims MAX_DIM + 1 values.
    let bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    let at = hex(&bytes).find("0000003f0401ff7f81").unwrap() / 2 + 4;
    let mut long = bytes[..at].to_vec();
    long.extend_from_slice(&[0x81, 0x04]); // varint 513
    long.extend(std::iter::repeat_n(1u8, MAX_DIM + 1));
    long.extend_from_slice(&[0; 64]);
    assert!(matches!(
        Envelope::decode(&long),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn an_overlong_varint_is_not_canonical() {
    // Track id 42 written as the two-byte varint 0xaa 0x00 decodes to the same value, but
    // the format admits one encoding per value.
    let bytes = encode_to_vec(&golden_signature(), &key()).unwrap();
    let at = hex(&bytes).find("2aac02").unwrap() / 2;
    let mut overlong = bytes[..at].to_vec();
    overlong.extend_from_slice(&[0xaa, 0x00]);
    overlong.extend_from_slice(&bytes[at + 1..]);
    assert_eq!(Envelope::decode(&overlong), Err(WireError::NonCanonical));
}

#[test]
fn validation_rules() {
    let mut sig = golden_signature();
    sig.features[2] = feature(&[1, 2, 3], 1.0);
    assert_eq!(
        validate(&sig),
        Err(Invalid::DimensionMismatch {
            part: 2,
            expected: 4,
            found: 3
        })
    );
    let mut sig = golden_signature();
    sig.features[1].scale = f32::NAN;
    assert_eq!(validate(&sig), Err(Invalid::BadScale { part: 1 }));
    let mut sig = golden_signature();
    sig.area_ratios = AreaRatios([0.5, 0.5, 0.5]);
    assert_eq!(validate(&sig), Err(Invalid::BadAreaRatios));
    sig.area_ratios = AreaRatios([0.0; 3]);
    assert_eq!(validate(&sig), Ok(()));
    sig.camera.clear();
    assert_eq!(validate(&sig), Err(Invalid::EmptyIdentifier));
    let mut sig = golden_signature();
    for f in &mut sig.features {
        f.values.clear();
    }
    assert_eq!(validate(&sig), Err(Invalid::ZeroDimension));
    assert!(matches!(
        encode_to_vec(&sig, &key()),
        Err(WireError::Invalid(_))
    ));
}

fn arb_ident() -> impl Strategy<Value = Ident> {
    "[a-z0-9-]{1,32}".prop_map(|s| String::try_from(s.as_str()).unwrap())
}

fn arb_signature() -> impl Strategy<Value = Signature> {
    (1usize..=MAX_DIM).prop_flat_map(|dim| {
        let feat =
            (0.0f32..10.0, proptest::collection::vec(-127i8..=127, dim)).prop_map(|(scale, v)| {
                QuantizedFeature {
                    scale,
                    values: Vec::from_slice(&v).unwrap(),
                }
            });
        (
            any::<[u8; MODEL_ID_LEN]>(),
            arb_ident(),
            arb_ident(),
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
            (0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0),
            [feat.clone(), feat.clone(), feat.clone(), feat],
        )
            .prop_map(
                |(model_id, site, camera, t, track, seq, (a, b, c), features)| Signature {
                    model_id,
                    site,
                    camera,
                    capture_time_us: t,
                    track_id: track,
                    sequence: seq,
                    area_ratios: AreaRatios::from_areas([a, b, c]),
                    features,
                },
            )
    })
}

proptest! {
    #[test]
    fn any_valid_signature_round_trips(sig in arb_signature()) {
        let bytes = encode_to_vec(&sig, &key()).unwrap();
        prop_assert!(bytes.len() <= MAX_ENCODED_LEN);
        let back = Envelope::decode(&bytes).unwrap().verify(&key()).unwrap();
        prop_assert_eq!(back, sig);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = Envelope::decode(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic_nor_verify(
        sig in arb_signature(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let mut bytes = encode_to_vec(&sig, &key()).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        if let Ok(envelope) = Envelope::decode(&bytes) {
            prop_assert!(envelope.verify(&key()).is_err());
        }
    }
}

#[test]
fn fuzz_seeds_are_valid_encodings() {
    // The fuzzer starts from these files; they must stay decodable as the format evolves.
    let golden = include_bytes!("../../fuzz/seeds/golden.bin");
    assert_eq!(
        &golden[..],
        &encode_to_vec(&golden_signature(), &key()).unwrap()[..]
    );
    let wide = include_bytes!("../../fuzz/seeds/dim512.bin");
    let envelope = Envelope::decode(wide).unwrap();
    assert_eq!(envelope.signature().dim(), MAX_DIM);
    assert!(envelope.verify(&CameraKey::from_bytes([1; 32])).is_ok());
}
