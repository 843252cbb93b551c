//! Per-camera authentication tags: HMAC-SHA256 over the encoded body.
//!
//! Why HMAC-SHA256 and not Ed25519: the hub must hold a key per camera either way (it has to
//! know which cameras are allowed), signing happens for every vehicle on a small ARM box, and
//! the hub verifies every payload at ingest rate. HMAC costs two SHA-256 compressions per
//! ~2 KB signature on both sides and needs no big-integer code in the `no_std` core, while
//! Ed25519 verification is roughly a hundred times dearer and its 64-byte signature twice the
//! size of the tag. What Ed25519 would add — the hub being unable to forge a camera's
//! signatures — does not matter when the hub is the only consumer and is trusted. Keys are
//! 32 random bytes per camera, provisioned to the camera and the hub.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of an authentication tag in bytes.
pub const TAG_LEN: usize = 32;
/// Length of a camera key in bytes.
pub const KEY_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub type Tag = [u8; TAG_LEN];

/// Why a payload failed authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The tag does not match the body under the camera's key.
    #[error("authentication tag does not match the camera's key")]
    BadTag,
}

/// The secret key one camera signs with. `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct CameraKey([u8; KEY_LEN]);

impl core::fmt::Debug for CameraKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CameraKey(..)")
    }
}

impl CameraKey {
    /// A key from its 32 bytes.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        CameraKey(bytes)
    }

    /// A key from 64 hexadecimal digits (upper or lower case), as written in config files.
    pub fn from_hex(hex: &str) -> Option<Self> {
        crate::hex::decode(hex).map(CameraKey)
    }

    /// The tag of `body` under this key.
    pub fn tag(&self, body: &[u8]) -> Tag {
        let mut mac = self.mac();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The tag of the concatenation of `parts` (no copy into one buffer).
    pub fn tag_parts(&self, parts: &[&[u8]]) -> Tag {
        let mut mac = self.mac();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Check `tag` against the concatenation of `parts` in constant time.
    pub fn verify_parts(&self, parts: &[&[u8]], tag: &Tag) -> Result<(), AuthError> {
        let mut mac = self.mac();
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(tag).map_err(|_| AuthError::BadTag)
    }

    /// Check `tag` against `body` in constant time.
    pub fn verify(&self, body: &[u8], tag: &Tag) -> Result<(), AuthError> {
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(tag).map_err(|_| AuthError::BadTag)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe" (HMAC pads short keys with zeros to the block
        // size, so "Jefe" + 28 zero bytes gives the same MAC), data "what do ya want for
        // nothing?".
        let mut key = [0u8; KEY_LEN];
        key[..4].copy_from_slice(b"Jefe");
        let tag = CameraKey::from_bytes(key).tag(b"what do ya want for nothing?");
        let expected =
            CameraKey::from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                .unwrap();
        assert_eq!(tag, expected.0);
    }

    #[test]
    fn verify_rejects_a_flipped_bit() {
        let key = CameraKey::from_bytes([9; KEY_LEN]);
        let mut tag = key.tag(b"body");
        assert_eq!(key.verify(b"body", &tag), Ok(()));
        tag[31] ^= 1;
        assert_eq!(key.verify(b"body", &tag), Err(AuthError::BadTag));
        assert_eq!(
            CameraKey::from_bytes([8; KEY_LEN]).verify(b"body", &key.tag(b"body")),
            Err(AuthError::BadTag)
        );
    }

    #[test]
    fn hex_parsing_rejects_bad_input() {
        assert!(CameraKey::from_hex("00").is_none());
        assert!(CameraKey::from_hex(&"g".repeat(64)).is_none());
        assert!(CameraKey::from_hex(&"aB".repeat(32)).is_some());
        assert_eq!(
            format!("{:?}", CameraKey::from_bytes([1; KEY_LEN])),
            "CameraKey(..)"
        );
    }
}
