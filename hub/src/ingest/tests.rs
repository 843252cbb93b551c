use super::*;
use crate::config::{CameraConfig, HubConfig};
use crate::synthetic::{IdentityBank, Sighting};
use spanreid::signature::MAX_ENCODED_LEN;
use spanreid::signature::wire::encode_to_vec;

const NOW: u64 = 1_800_000_000_000_000;
const KEY1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const KEY2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn settings() -> Settings {
    let mut cfg = HubConfig::default();
    cfg.model.dim = 16;
    cfg.model.id = Some("ab".repeat(16));
    for (camera, key) in [("c1", KEY1), ("c2", KEY2)] {
        cfg.cameras.push(CameraConfig {
            site: "s".into(),
            camera: camera.into(),
            key: key.into(),
        });
    }
    cfg.validate().unwrap()
}

fn payload(camera: &str, key: &str, t: u64, dim: usize, model: [u8; 16]) -> Vec<u8> {
    let bank = IdentityBank::new(2, dim, 1);
    let s = Sighting {
        identity: 0,
        site: "s",
        camera,
        capture_time_us: t,
        sequence: 1,
        noise: 0.3,
    };
    encode_to_vec(
        &bank.signature(model, &s, 9),
        &CameraKey::from_hex(key).unwrap(),
    )
    .unwrap()
}

fn check(topic: &str, bytes: &[u8]) -> Result<Signature, Reject> {
    Verifier::new(&settings()).verify(topic, bytes, NOW)
}

#[test]
fn accepts_a_well_signed_signature_on_its_topic() {
    let sig = check(
        "spanreid/v1/s/c1/signature",
        &payload("c1", KEY1, NOW, 16, [0xab; 16]),
    )
    .unwrap();
    assert_eq!(sig.camera.as_str(), "c1");
    assert_eq!(sig.dim(), 16);
}

#[test]
fn each_failure_has_its_own_reason() {
    let good = payload("c1", KEY1, NOW, 16, [0xab; 16]);
    let topic = "spanreid/v1/s/c1/signature";
    let reason = |t: &str, b: &[u8]| check(t, b).unwrap_err().reason();
    assert_eq!(reason("spanreid/v1/s/c1", &good), "bad_topic");
    assert_eq!(reason(topic, &[]), "empty");
    assert_eq!(reason(topic, &[9, 1, 2]), "unsupported_version");
    assert_eq!(reason(topic, &good[..good.len() / 2]), "malformed");
    let mut long = good.clone();
    long.resize(MAX_ENCODED_LEN + 1, 0);
    assert_eq!(reason(topic, &long), "oversized");
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(reason(topic, &flipped), "bad_tag");
    assert_eq!(
        reason(topic, &payload("c1", KEY2, NOW, 16, [0xab; 16])),
        "bad_tag"
    );
    assert_eq!(
        reason("spanreid/v1/s/c2/signature", &good),
        "topic_mismatch"
    );
    assert_eq!(
        reason(
            "spanreid/v1/s/c9/signature",
            &payload("c9", KEY1, NOW, 16, [0xab; 16])
        ),
        "unknown_camera"
    );
    assert_eq!(
        reason(topic, &payload("c1", KEY1, NOW, 16, [0xac; 16])),
        "model_mismatch"
    );
    assert_eq!(
        reason(topic, &payload("c1", KEY1, NOW, 8, [0xab; 16])),
        "dimension_mismatch"
    );
    let day = 24 * 3600 * 1_000_000;
    assert_eq!(
        reason(topic, &payload("c1", KEY1, NOW - day - 1, 16, [0xab; 16])),
        "too_old"
    );
    assert_eq!(
        reason(
            topic,
            &payload("c1", KEY1, NOW + 61_000_000, 16, [0xab; 16])
        ),
        "from_future"
    );
    assert!(check(topic, &payload("c1", KEY1, NOW - day, 16, [0xab; 16])).is_ok());
}

#[test]
fn topics_parse_exactly() {
    assert_eq!(parse_topic("spanreid/v1/a/b/signature"), Some(("a", "b")));
    assert_eq!(parse_topic(&signature_topic("x", "y")), Some(("x", "y")));
    for bad in [
        "spanreid/v1//b/signature",
        "spanreid/v2/a/b/signature",
        "spanreid/v1/a/b/signature/x",
        "",
    ] {
        assert_eq!(parse_topic(bad), None, "{bad}");
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..3000)) {
        let _ = check("spanreid/v1/s/c1/signature", &bytes);
    }

    #[test]
    fn any_corrupted_byte_is_rejected(pos in 0usize..4000, bit in 0u8..8) {
        let mut bytes = payload("c1", KEY1, NOW, 16, [0xab; 16]);
        let pos = pos % bytes.len();
        bytes[pos] ^= 1 << bit;
        proptest::prop_assert!(check("spanreid/v1/s/c1/signature", &bytes).is_err());
    }
}
