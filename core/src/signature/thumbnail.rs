//! A passage's thumbnail: a small JPEG of the crop its signature was computed from, sent
//! by the camera beside the signature as evidence for the operator, and tagged with the
//! camera's key like the signature, so the hub stores only pictures its cameras took.
//!
//! Layout: `version: u8` ([`THUMBNAIL_VERSION`]), `reserved: u8` (0), `sequence: u64 LE`
//! (the signature's), the JPEG (at most [`MAX_JPEG_LEN`] bytes, starting `FF D8 FF`), then
//! the HMAC-SHA256 tag over [`DOMAIN`] followed by everything before it. The domain prefix
//! keeps a thumbnail's tag from ever standing for a signature's or a receipt's.

use super::auth::{CameraKey, TAG_LEN, Tag};

/// Version byte of the thumbnail layout.
pub const THUMBNAIL_VERSION: u8 = 1;
/// Largest JPEG a thumbnail carries, bytes.
pub const MAX_JPEG_LEN: usize = 12 * 1024;
/// Bytes before the JPEG.
pub const HEADER_LEN: usize = 2 + 8;
/// Largest encoded thumbnail, bytes.
pub const MAX_THUMBNAIL_LEN: usize = HEADER_LEN + MAX_JPEG_LEN + TAG_LEN;
/// Prefix mixed into the tag.
pub const DOMAIN: &[u8] = b"spanreid/thumbnail/v1";

/// The start of every JPEG file (SOI marker and the next marker's first byte).
const JPEG_MAGIC: [u8; 3] = [0xff, 0xd8, 0xff];

/// A decoded thumbnail, borrowing its JPEG from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thumbnail<'a> {
    /// Sequence number of the signature it belongs to.
    pub sequence: u64,
    /// The JPEG file.
    pub jpeg: &'a [u8],
}

/// Why bytes are not a thumbnail of this camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThumbnailError {
    /// Shorter than a header, a JPEG start and a tag, or longer than [`MAX_THUMBNAIL_LEN`].
    #[error("thumbnail of {0} bytes; {min}..={MAX_THUMBNAIL_LEN} expected", min = HEADER_LEN + 3 + TAG_LEN)]
    Length(usize),
    /// Unknown version byte.
    #[error("thumbnail version {0} is not supported")]
    Version(u8),
    /// Non-zero reserved byte, or the picture is not a JPEG file.
    #[error("thumbnail fields are invalid (reserved byte, or not a JPEG)")]
    Invalid,
    /// The tag does not verify under the camera's key.
    #[error("thumbnail tag does not verify under the camera's key")]
    BadTag,
}

impl ThumbnailError {
    /// Stable name (the hub's reject counter).
    pub fn name(self) -> &'static str {
        match self {
            ThumbnailError::Length(_) => "thumbnail_length",
            ThumbnailError::Version(_) => "thumbnail_version",
            ThumbnailError::Invalid => "thumbnail_invalid",
            ThumbnailError::BadTag => "thumbnail_bad_tag",
        }
    }
}

fn header(sequence: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = THUMBNAIL_VERSION;
    h[2..].copy_from_slice(&sequence.to_le_bytes());
    h
}

impl Thumbnail<'_> {
    /// Writes the tagged thumbnail into `out` and returns its length; `None` when `out` is
    /// too small or the JPEG is empty, longer than [`MAX_JPEG_LEN`] or not a JPEG.
    pub fn encode(&self, key: &CameraKey, out: &mut [u8]) -> Option<usize> {
        let n = HEADER_LEN + self.jpeg.len() + TAG_LEN;
        if self.jpeg.len() > MAX_JPEG_LEN || !self.jpeg.starts_with(&JPEG_MAGIC) || out.len() < n {
            return None;
        }
        let h = header(self.sequence);
        let tag = key.tag_parts(&[DOMAIN, &h, self.jpeg]);
        out[..HEADER_LEN].copy_from_slice(&h);
        out[HEADER_LEN..HEADER_LEN + self.jpeg.len()].copy_from_slice(self.jpeg);
        out[n - TAG_LEN..n].copy_from_slice(&tag);
        Some(n)
    }

    /// Checks `bytes` against `key` and reads the thumbnail.
    pub fn decode<'a>(bytes: &'a [u8], key: &CameraKey) -> Result<Thumbnail<'a>, ThumbnailError> {
        if !(HEADER_LEN + JPEG_MAGIC.len() + TAG_LEN..=MAX_THUMBNAIL_LEN).contains(&bytes.len()) {
            return Err(ThumbnailError::Length(bytes.len()));
        }
        if bytes[0] != THUMBNAIL_VERSION {
            return Err(ThumbnailError::Version(bytes[0]));
        }
        let (body, tag_bytes) = bytes.split_at(bytes.len() - TAG_LEN);
        let mut given: Tag = [0; TAG_LEN];
        given.copy_from_slice(tag_bytes);
        key.verify_parts(&[DOMAIN, body], &given)
            .map_err(|_| ThumbnailError::BadTag)?;
        let (h, jpeg) = body.split_at(HEADER_LEN);
        if h[1] != 0 || !jpeg.starts_with(&JPEG_MAGIC) {
            return Err(ThumbnailError::Invalid);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&h[2..]);
        Ok(Thumbnail {
            sequence: u64::from_le_bytes(seq),
            jpeg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> CameraKey {
        CameraKey::from_bytes([b; 32])
    }

    const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9];

    #[test]
    fn a_thumbnail_verifies_only_under_its_camera_key_and_intact() {
        let t = Thumbnail {
            sequence: 77,
            jpeg: JPEG,
        };
        let mut buf = [0u8; MAX_THUMBNAIL_LEN];
        let n = t.encode(&key(1), &mut buf).unwrap();
        assert_eq!(n, HEADER_LEN + JPEG.len() + TAG_LEN);
        let bytes = &buf[..n];
        assert_eq!(Thumbnail::decode(bytes, &key(1)), Ok(t));
        assert_eq!(
            Thumbnail::decode(bytes, &key(2)),
            Err(ThumbnailError::BadTag)
        );
        for i in 0..n {
            let mut bad = buf;
            bad[i] ^= 0x40;
            assert!(
                Thumbnail::decode(&bad[..n], &key(1)).is_err(),
                "byte {i} flipped"
            );
        }
        assert_eq!(
            Thumbnail::decode(&bytes[..20], &key(1)),
            Err(ThumbnailError::Length(20))
        );
        // A signature's or receipt's tag over the same bytes does not verify here.
        let mut plain = buf;
        let tag = key(1).tag(&bytes[..n - TAG_LEN]);
        plain[n - TAG_LEN..n].copy_from_slice(&tag);
        assert_eq!(
            Thumbnail::decode(&plain[..n], &key(1)),
            Err(ThumbnailError::BadTag)
        );
    }

    #[test]
    fn encode_refuses_what_decode_would_refuse() {
        let mut buf = [0u8; MAX_THUMBNAIL_LEN + 8];
        let not_jpeg = Thumbnail {
            sequence: 1,
            jpeg: b"\x89PNG\r\n",
        };
        assert_eq!(not_jpeg.encode(&key(1), &mut buf), None);
        let big = [0xffu8; MAX_JPEG_LEN + 1];
        let mut big = big;
        big[1] = 0xd8;
        assert_eq!(
            Thumbnail {
                sequence: 1,
                jpeg: &big
            }
            .encode(&key(1), &mut buf),
            None
        );
        assert_eq!(
            Thumbnail {
                sequence: 1,
                jpeg: JPEG
            }
            .encode(&key(1), &mut buf[..20]),
            None
        );
        let at_most = Thumbnail {
            sequence: 1,
            jpeg: &big[..MAX_JPEG_LEN],
        };
        let n = at_most.encode(&key(1), &mut buf).unwrap();
        assert_eq!(n, MAX_THUMBNAIL_LEN);
        assert_eq!(
            Thumbnail::decode(&buf[..n], &key(1)).unwrap().jpeg.len(),
            MAX_JPEG_LEN
        );
    }
}
