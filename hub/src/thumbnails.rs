//! Thumbnails beside signatures: each arrives on `spanreid/v1/<site>/<camera>/thumbnail`,
//! tagged with the camera's key ([`spanreid::signature::thumbnail`]), and is stored with
//! the passage of the same camera and sequence number, for the operator's page. A
//! thumbnail whose passage is not stored (yet, or any more) is counted and dropped; the
//! total kept is capped (`[gallery] max_thumbnail_bytes`, the oldest passages' go first),
//! and a passage's thumbnail leaves with it.
//!
//! [`verify`] is pure; [`Hub::thumbnails`](crate::Hub::thumbnails) stores a batch.

use spanreid::signature::thumbnail::Thumbnail;

use crate::ingest::Verifier;

/// Topic filter of the thumbnails.
pub const THUMBNAIL_FILTER: &str = "spanreid/v1/+/+/thumbnail";

/// A verified thumbnail, ready to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewThumbnail<'a> {
    /// Site of the camera.
    pub site: &'a str,
    /// Camera.
    pub camera: &'a str,
    /// Sequence number of its signature.
    pub sequence: u64,
    /// The JPEG.
    pub jpeg: &'a [u8],
}

/// What storing a batch of thumbnails did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThumbnailCounts {
    /// Stored beside their passage.
    pub stored: u64,
    /// Verified, but no stored passage has that camera and sequence.
    pub without_passage: u64,
    /// Refused (topic, camera, layout or tag).
    pub rejected: u64,
    /// Older thumbnails removed to stay under the byte cap.
    pub evicted: u64,
}

/// `(site, camera)` of a thumbnail topic.
pub fn parse_topic(topic: &str) -> Option<(&str, &str)> {
    crate::ingest::parse_camera_topic(topic, "thumbnail")
}

/// Checks a thumbnail message: its topic names a configured camera whose key tags it.
/// The error is the reject counter's name.
pub fn verify<'a>(
    verifier: &Verifier,
    topic: &'a str,
    payload: &'a [u8],
) -> Result<NewThumbnail<'a>, &'static str> {
    let (site, camera) = parse_topic(topic).ok_or("thumbnail_topic")?;
    let key = verifier
        .key(site, camera)
        .ok_or("thumbnail_unknown_camera")?;
    let t = Thumbnail::decode(payload, key).map_err(|e| e.name())?;
    Ok(NewThumbnail {
        site,
        camera,
        sequence: t.sequence,
        jpeg: t.jpeg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CameraConfig, HubConfig};
    use spanreid::signature::CameraKey;

    #[test]
    fn verify_names_each_refusal() {
        let mut cfg = HubConfig::default();
        cfg.cameras.push(CameraConfig {
            site: "a9".into(),
            camera: "north".into(),
            key: "11".repeat(32).into(),
        });
        let verifier = Verifier::new(&cfg.validate().unwrap());
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 0xff, 0xd9];
        let mut buf = [0u8; 64];
        let t = Thumbnail {
            sequence: 5,
            jpeg: &jpeg,
        };
        let n = t
            .encode(&CameraKey::from_bytes([0x11; 32]), &mut buf)
            .unwrap();
        let ok = verify(&verifier, "spanreid/v1/a9/north/thumbnail", &buf[..n]).unwrap();
        assert_eq!(
            (ok.site, ok.camera, ok.sequence, ok.jpeg),
            ("a9", "north", 5, &jpeg[..])
        );
        let refuse = |topic: &str, payload: &[u8]| verify(&verifier, topic, payload).unwrap_err();
        assert_eq!(
            refuse("spanreid/v1/a9/north/signature", &buf[..n]),
            "thumbnail_topic"
        );
        assert_eq!(
            refuse("spanreid/v1/a9/south/thumbnail", &buf[..n]),
            "thumbnail_unknown_camera"
        );
        assert_eq!(
            refuse("spanreid/v1/a9/north/thumbnail", &buf[..10]),
            "thumbnail_length"
        );
        let other = t
            .encode(&CameraKey::from_bytes([0x22; 32]), &mut buf)
            .unwrap();
        assert_eq!(
            refuse("spanreid/v1/a9/north/thumbnail", &buf[..other]),
            "thumbnail_bad_tag"
        );
    }
}
