//! A passage's thumbnail (pure): the best crop scaled to fit `max_side`, JPEG-encoded at
//! the highest quality that fits `max_bytes`, then tagged with the camera's key
//! ([`spanreid::signature::thumbnail`]).

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use spanreid::signature::CameraKey;
use spanreid::signature::thumbnail::{MAX_THUMBNAIL_LEN, Thumbnail};
use spanreid_infer::Crop;

/// JPEG qualities tried, best first.
const QUALITIES: [u8; 5] = [85, 70, 55, 40, 25];

/// The JPEG of `crop` no larger than `max_bytes`; `None` when even the lowest quality does
/// not fit, or the crop is empty.
pub fn jpeg(crop: &Crop, max_side: u32, max_bytes: usize) -> Option<Vec<u8>> {
    let img = RgbImage::from_raw(crop.width, crop.height, crop.rgb.clone())?;
    let longest = crop.width.max(crop.height);
    if longest == 0 {
        return None;
    }
    let img = if longest > max_side {
        let scale = max_side as f32 / longest as f32;
        let w = ((crop.width as f32 * scale).round() as u32).max(1);
        let h = ((crop.height as f32 * scale).round() as u32).max(1);
        image::imageops::resize(&img, w, h, FilterType::Triangle)
    } else {
        img
    };
    QUALITIES.into_iter().find_map(|q| {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(&img)
            .ok()?;
        (out.len() <= max_bytes).then_some(out)
    })
}

/// The tagged thumbnail message of signature `sequence`.
pub fn message(sequence: u64, jpeg: &[u8], key: &CameraKey) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; MAX_THUMBNAIL_LEN];
    let n = Thumbnail { sequence, jpeg }.encode(key, &mut buf)?;
    buf.truncate(n);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crop(w: u32, h: u32) -> Crop {
        let rgb = (0..w * h)
            .flat_map(|i| [(i * 7 % 251) as u8, (i * 13 % 241) as u8, (i % 200) as u8])
            .collect();
        Crop {
            width: w,
            height: h,
            rgb,
        }
    }

    #[test]
    fn fits_the_side_and_the_bytes_and_verifies_under_the_key() {
        let j = jpeg(&crop(300, 150), 128, 8 * 1024).unwrap();
        let img = image::load_from_memory(&j).unwrap();
        assert_eq!((img.width(), img.height()), (128, 64));
        assert!(j.len() <= 8 * 1024);
        // A noisy crop needs a lower quality to fit a small budget, and still fits.
        let small = jpeg(&crop(300, 150), 128, 3 * 1024).unwrap();
        assert!(small.len() <= 3 * 1024, "{}", small.len());
        // Smaller than the side: kept as is.
        let j = jpeg(&crop(40, 30), 128, 8 * 1024).unwrap();
        assert_eq!(image::load_from_memory(&j).unwrap().width(), 40);
        assert_eq!(
            jpeg(&crop(300, 150), 128, 200),
            None,
            "nothing fits 200 bytes"
        );
        let key = CameraKey::from_bytes([3; 32]);
        let m = message(42, &j, &key).unwrap();
        let t = Thumbnail::decode(&m, &key).unwrap();
        assert_eq!((t.sequence, t.jpeg), (42, &j[..]));
    }
}
