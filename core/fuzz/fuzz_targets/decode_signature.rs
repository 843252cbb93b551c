//! Any byte string given to the signature decoder yields a value or a typed error, and a
//! decoded value re-encodes to the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spanreid::signature::{CameraKey, Envelope, wire};

fuzz_target!(|bytes: &[u8]| {
    let Ok(envelope) = Envelope::decode(bytes) else {
        return;
    };
    // A value that decodes must encode back to the very same body: the format has one
    // encoding per value, which is what lets the tag cover the bytes.
    let key = CameraKey::from_bytes([0; 32]);
    let again = wire::encode_to_vec(envelope.signature(), &key).expect("decoded values encode");
    assert_eq!(&again[..again.len() - 32], envelope.body());
    let _ = envelope.verify(&key);
});
