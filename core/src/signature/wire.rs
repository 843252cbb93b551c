//! Wire format of a signed signature.
//!
//! ```text
//! byte 0        FORMAT_VERSION
//! bytes 1..n    postcard encoding of `Signature`, fields in declaration order:
//!                 model_id        16 raw bytes
//!                 site, camera    varint length + UTF-8 (≤ MAX_ID_LEN bytes each)
//!                 capture_time_us varint u64
//!                 track_id        varint u32
//!                 sequence        varint u64
//!                 area_ratios     3 × f32 little-endian
//!                 features        4 × (scale f32 LE, varint length, length × i8)
//! bytes n..n+32 HMAC-SHA256 tag over bytes 0..n, keyed by the camera's key
//! ```
//!
//! The encoding is frozen by a golden-bytes test; any change to it bumps
//! [`FORMAT_VERSION`]. Decoding accepts any byte string and returns either a value or a
//! [`WireError`]; it never panics.

use super::auth::{AuthError, CameraKey, TAG_LEN, Tag};
use super::{MAX_DIM, MAX_ID_LEN, MODEL_ID_LEN, Signature};
use crate::part::{PARTS, VIEWS};

/// Version byte that starts every encoded signature.
pub const FORMAT_VERSION: u8 = 1;

const VARINT_U64_MAX: usize = 10;
const VARINT_U32_MAX: usize = 5;
/// Bytes of the varint that prefixes a sequence of up to `n` items.
const fn varint_len(n: usize) -> usize {
    let mut bytes = 1;
    let mut rest = n >> 7;
    while rest > 0 {
        bytes += 1;
        rest >>= 7;
    }
    bytes
}
const FEATURE_MAX_LEN: usize = 4 + varint_len(MAX_DIM) + MAX_DIM;

/// Largest possible encoded signature, tag included: size buffers with it.
pub const MAX_ENCODED_LEN: usize = 1
    + MODEL_ID_LEN
    + 2 * (varint_len(MAX_ID_LEN) + MAX_ID_LEN)
    + VARINT_U64_MAX
    + VARINT_U32_MAX
    + VARINT_U64_MAX
    + 4 * VIEWS
    + PARTS * FEATURE_MAX_LEN
    + TAG_LEN;

/// Slack allowed on the sum of the area ratios (they are divided out in f32).
const AREA_SUM_TOLERANCE: f32 = 1e-3;

/// Why bytes could not be decoded, or a signature could not be encoded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WireError {
    /// No bytes at all.
    #[error("empty payload")]
    Empty,
    /// The version byte names a format this build does not know.
    #[error("unsupported signature format version {found} (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
    },
    /// More bytes than any valid signature has.
    #[error("payload of {len} bytes exceeds the maximum of {MAX_ENCODED_LEN}")]
    Oversized {
        /// Payload length.
        len: usize,
    },
    /// The body does not parse (truncated, bad varint, bad UTF-8, over capacity).
    #[error("malformed signature body: {0}")]
    Malformed(postcard::Error),
    /// The bytes after the body are not exactly one tag.
    #[error("expected a {TAG_LEN}-byte tag after the body, found {found} bytes")]
    BadTagLength {
        /// Bytes found after the body.
        found: usize,
    },
    /// The body parses but is not the one encoding of its value (for example an overlong
    /// varint). Each value has exactly one encoding, so equal signatures have equal bytes.
    #[error("signature body is not in canonical form")]
    NonCanonical,
    /// The body parses but breaks a rule of the format.
    #[error("invalid signature: {0}")]
    Invalid(Invalid),
    /// The caller's buffer is too small.
    #[error("output buffer of {have} bytes is too small (need up to {MAX_ENCODED_LEN})")]
    BufferTooSmall {
        /// Buffer size offered.
        have: usize,
    },
}

/// A rule of the format that a well-formed body broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The four feature vectors do not share one dimension.
    #[error("feature {part} has dimension {found}, the global feature has {expected}")]
    DimensionMismatch {
        /// Index of the offending part.
        part: usize,
        /// Dimension of the global feature.
        expected: usize,
        /// Dimension found.
        found: usize,
    },
    /// Feature vectors are empty.
    #[error("feature dimension is zero")]
    ZeroDimension,
    /// A quantisation scale is negative, NaN or infinite.
    #[error("scale of feature {part} is not a finite non-negative number")]
    BadScale {
        /// Index of the offending part.
        part: usize,
    },
    /// Area ratios outside [0, 1], not finite, or not summing to 1 (or all 0).
    #[error("area ratios must be finite, in [0, 1] and sum to 1 (or all be 0)")]
    BadAreaRatios,
    /// The site or camera identifier is empty.
    #[error("site and camera identifiers must not be empty")]
    EmptyIdentifier,
}

impl From<Invalid> for WireError {
    fn from(invalid: Invalid) -> Self {
        WireError::Invalid(invalid)
    }
}

/// Check the rules a signature must keep beyond what its types enforce.
pub fn validate(sig: &Signature) -> Result<(), Invalid> {
    if sig.site.is_empty() || sig.camera.is_empty() {
        return Err(Invalid::EmptyIdentifier);
    }
    let expected = sig.features[0].dim();
    if expected == 0 {
        return Err(Invalid::ZeroDimension);
    }
    for (part, feature) in sig.features.iter().enumerate() {
        if feature.dim() != expected {
            return Err(Invalid::DimensionMismatch {
                part,
                expected,
                found: feature.dim(),
            });
        }
        if !(feature.scale.is_finite() && feature.scale >= 0.0) {
            return Err(Invalid::BadScale { part });
        }
    }
    let ratios = sig.area_ratios.0;
    if ratios
        .iter()
        .any(|r| !r.is_finite() || !(0.0..=1.0).contains(r))
    {
        return Err(Invalid::BadAreaRatios);
    }
    let sum: f32 = ratios.iter().sum();
    if sum != 0.0 && (sum - 1.0).abs() > AREA_SUM_TOLERANCE {
        return Err(Invalid::BadAreaRatios);
    }
    Ok(())
}

/// Encode `sig` into `buf` and append its tag under `key`. Returns the number of bytes
/// written (at most [`MAX_ENCODED_LEN`]).
pub fn encode(sig: &Signature, key: &CameraKey, buf: &mut [u8]) -> Result<usize, WireError> {
    validate(sig)?;
    let have = buf.len();
    let too_small = |_| WireError::BufferTooSmall { have };
    let (version, rest) = buf
        .split_first_mut()
        .ok_or(WireError::BufferTooSmall { have: 0 })?;
    *version = FORMAT_VERSION;
    let body_len = 1 + postcard::to_slice(sig, rest).map_err(too_small)?.len();
    let end = body_len + TAG_LEN;
    if have < end {
        return Err(WireError::BufferTooSmall { have });
    }
    let tag = key.tag(&buf[..body_len]);
    buf[body_len..end].copy_from_slice(&tag);
    Ok(end)
}

/// Encode `sig` with its tag into a new vector.
#[cfg(feature = "std")]
pub fn encode_to_vec(sig: &Signature, key: &CameraKey) -> Result<Vec<u8>, WireError> {
    let mut buf = vec![0u8; MAX_ENCODED_LEN];
    let len = encode(sig, key, &mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

/// A decoded but not yet authenticated signature, with the bytes its tag covers.
///
/// The key to check it with depends on the camera named inside it, so decoding and
/// verification are two steps: [`Envelope::decode`], look up the key for
/// `envelope.signature().camera`, then [`Envelope::verify`].
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<'a> {
    signature: Signature,
    body: &'a [u8],
    tag: Tag,
}

impl<'a> Envelope<'a> {
    /// Parse `bytes` and check the format's rules; the tag is not checked yet.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (&version, body_rest) = bytes.split_first().ok_or(WireError::Empty)?;
        // Size first: a payload longer than any signature of any version is `Oversized`,
        // whatever its first byte.
        if bytes.len() > MAX_ENCODED_LEN {
            return Err(WireError::Oversized { len: bytes.len() });
        }
        if version != FORMAT_VERSION {
            return Err(WireError::UnsupportedVersion { found: version });
        }
        let (signature, rest) =
            postcard::take_from_bytes::<Signature>(body_rest).map_err(WireError::Malformed)?;
        let tag: Tag = rest
            .try_into()
            .map_err(|_| WireError::BadTagLength { found: rest.len() })?;
        validate(&signature)?;
        let body = &bytes[..bytes.len() - TAG_LEN];
        let mut canonical = [0u8; MAX_ENCODED_LEN];
        let written = postcard::to_slice(&signature, &mut canonical[1..])
            .map_err(|_| WireError::NonCanonical)?;
        if written != &body[1..] {
            return Err(WireError::NonCanonical);
        }
        Ok(Envelope {
            signature,
            body,
            tag,
        })
    }

    /// The signature, not yet authenticated: use it only to find the key.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The encoded body (version byte included) that the tag covers.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The tag as received.
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// Check the tag with the camera's key and hand out the authenticated signature.
    pub fn verify(self, key: &CameraKey) -> Result<Signature, AuthError> {
        key.verify(self.body, &self.tag)?;
        Ok(self.signature)
    }
}
