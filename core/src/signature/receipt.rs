//! The hub's receipt: which of a camera's signatures it has committed (or refused for
//! good), so the camera may delete them from its queue. A broker's PUBACK only says the
//! broker has a message; a receipt says the hub's store has it.
//!
//! A receipt covers one run of consecutive sequence numbers of one camera with one outcome,
//! and is tagged with that camera's key (the hub holds it to verify the signatures), so
//! only the hub — or the camera itself — can make one, and a receipt for one camera does
//! not verify for another. Replaying an old receipt is harmless: the sequences it names were
//! committed, and a camera never reuses a sequence number.
//!
//! Layout, 51 bytes: `version: u8` ([`RECEIPT_VERSION`]), `outcome: u8` ([`Outcome`]),
//! `reserved: u8` (0), `first: u64 LE`, `last: u64 LE`, then the HMAC-SHA256 tag over
//! [`DOMAIN`] followed by the 19 bytes before it. The domain prefix keeps a receipt's tag
//! from ever standing for a signature's.

use super::auth::{CameraKey, TAG_LEN, Tag};

/// Version byte of the receipt layout.
pub const RECEIPT_VERSION: u8 = 1;
/// Bytes of an encoded receipt.
pub const RECEIPT_LEN: usize = BODY_LEN + TAG_LEN;
/// Prefix mixed into the tag.
pub const DOMAIN: &[u8] = b"spanreid/receipt/v1";

const BODY_LEN: usize = 3 + 8 + 8;

/// What the hub did with the signatures a receipt names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// Committed to the store (now or by an earlier delivery).
    Stored = 0,
    /// The camera already sent these sequence numbers with other content.
    Replay = 1,
    /// Computed by another model than the hub's.
    ModelMismatch = 2,
    /// Feature dimension other than the hub's model.
    DimensionMismatch = 3,
    /// Captured before the hub's replay window.
    TooOld = 4,
    /// Captured too far ahead of the hub's clock.
    FromFuture = 5,
}

impl Outcome {
    const ALL: [Outcome; 6] = [
        Outcome::Stored,
        Outcome::Replay,
        Outcome::ModelMismatch,
        Outcome::DimensionMismatch,
        Outcome::TooOld,
        Outcome::FromFuture,
    ];

    /// Stable name (the hub's reject counter name for refusals).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Replay => "replay",
            Outcome::ModelMismatch => "model_mismatch",
            Outcome::DimensionMismatch => "dimension_mismatch",
            Outcome::TooOld => "too_old",
            Outcome::FromFuture => "from_future",
        }
    }
}

/// One receipt: sequences `first..=last` of the camera whose key tags it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// What became of them.
    pub outcome: Outcome,
    /// First sequence number covered.
    pub first: u64,
    /// Last sequence number covered (≥ `first`).
    pub last: u64,
}

/// Why bytes are not a receipt of this camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not exactly [`RECEIPT_LEN`] bytes.
    #[error("receipt of {0} bytes, expected {RECEIPT_LEN}")]
    Length(usize),
    /// Unknown version byte.
    #[error("receipt version {0} is not supported")]
    Version(u8),
    /// Unknown outcome, non-zero reserved byte or `last < first`.
    #[error("receipt fields are invalid")]
    Invalid,
    /// The tag does not verify under the camera's key.
    #[error("receipt tag does not verify under the camera's key")]
    BadTag,
}

impl Receipt {
    /// The receipt's bytes, tagged with `key`.
    pub fn encode(&self, key: &CameraKey) -> [u8; RECEIPT_LEN] {
        let mut out = [0u8; RECEIPT_LEN];
        out[0] = RECEIPT_VERSION;
        out[1] = self.outcome as u8;
        out[3..11].copy_from_slice(&self.first.to_le_bytes());
        out[11..19].copy_from_slice(&self.last.to_le_bytes());
        let tag = key.tag(&prefixed(&out[..BODY_LEN]));
        out[BODY_LEN..].copy_from_slice(&tag);
        out
    }

    /// Checks `bytes` against `key` and reads the receipt.
    pub fn decode(bytes: &[u8], key: &CameraKey) -> Result<Receipt, ReceiptError> {
        if bytes.len() != RECEIPT_LEN {
            return Err(ReceiptError::Length(bytes.len()));
        }
        if bytes[0] != RECEIPT_VERSION {
            return Err(ReceiptError::Version(bytes[0]));
        }
        let (body, tag_bytes) = bytes.split_at(BODY_LEN);
        let mut given: Tag = [0; TAG_LEN];
        given.copy_from_slice(tag_bytes);
        key.verify(&prefixed(body), &given)
            .map_err(|_| ReceiptError::BadTag)?;
        let outcome = Outcome::ALL
            .into_iter()
            .find(|o| *o as u8 == body[1])
            .ok_or(ReceiptError::Invalid)?;
        let first = u64::from_le_bytes(body[3..11].try_into().map_err(|_| ReceiptError::Invalid)?);
        let last = u64::from_le_bytes(body[11..19].try_into().map_err(|_| ReceiptError::Invalid)?);
        if body[2] != 0 || last < first {
            return Err(ReceiptError::Invalid);
        }
        Ok(Receipt {
            outcome,
            first,
            last,
        })
    }
}

/// What the tag covers: [`DOMAIN`], then the body.
fn prefixed(body: &[u8]) -> [u8; DOMAIN.len() + BODY_LEN] {
    let mut out = [0u8; DOMAIN.len() + BODY_LEN];
    out[..DOMAIN.len()].copy_from_slice(DOMAIN);
    out[DOMAIN.len()..].copy_from_slice(body);
    out
}

/// Receipts for `(sequence, outcome)` pairs: one per run of consecutive sequences with the
/// same outcome, after sorting by sequence (duplicates collapse). Writes into `out` and
/// returns how many it wrote; pairs beyond `out`'s room are left for a later call (the
/// returned count is then `out.len()`).
pub fn runs(items: &mut [(u64, Outcome)], out: &mut [Receipt]) -> usize {
    items.sort_unstable_by_key(|(seq, _)| *seq);
    let mut n = 0;
    for &(seq, outcome) in items.iter() {
        if n > 0 {
            let last = &mut out[n - 1];
            if last.outcome == outcome && (seq == last.last || seq == last.last.wrapping_add(1)) {
                last.last = seq;
                continue;
            }
        }
        if n == out.len() {
            break;
        }
        out[n] = Receipt {
            outcome,
            first: seq,
            last: seq,
        };
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> CameraKey {
        CameraKey::from_bytes([b; 32])
    }

    #[test]
    fn a_receipt_verifies_only_under_its_camera_key_and_intact() {
        let r = Receipt {
            outcome: Outcome::TooOld,
            first: 7,
            last: 9,
        };
        let bytes = r.encode(&key(1));
        assert_eq!(Receipt::decode(&bytes, &key(1)), Ok(r));
        assert_eq!(Receipt::decode(&bytes, &key(2)), Err(ReceiptError::BadTag));
        for i in 0..RECEIPT_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x40;
            assert!(Receipt::decode(&bad, &key(1)).is_err(), "byte {i} flipped");
        }
        assert_eq!(
            Receipt::decode(&bytes[..50], &key(1)),
            Err(ReceiptError::Length(50))
        );
    }

    #[test]
    fn a_receipt_tag_is_not_the_bare_body_tag() {
        let bytes = Receipt {
            outcome: Outcome::Stored,
            first: 1,
            last: 1,
        }
        .encode(&key(3));
        assert_ne!(&bytes[BODY_LEN..], &key(3).tag(&bytes[..BODY_LEN])[..]);
    }

    #[test]
    fn runs_merge_consecutive_sequences_of_one_outcome() {
        let mut items = [
            (5, Outcome::Stored),
            (3, Outcome::Stored),
            (4, Outcome::Stored),
            (4, Outcome::Stored),
            (9, Outcome::Stored),
            (10, Outcome::TooOld),
            (11, Outcome::TooOld),
        ];
        let mut out = [Receipt {
            outcome: Outcome::Stored,
            first: 0,
            last: 0,
        }; 4];
        assert_eq!(runs(&mut items, &mut out), 3);
        let run = |r: &Receipt| (r.outcome, r.first, r.last);
        assert_eq!(run(&out[0]), (Outcome::Stored, 3, 5));
        assert_eq!(run(&out[1]), (Outcome::Stored, 9, 9));
        assert_eq!(run(&out[2]), (Outcome::TooOld, 10, 11));
        let mut small = [out[0]; 1];
        assert_eq!(runs(&mut items, &mut small), 1);
    }
}
