//! Crop preprocessing exactly as the manifest says: bilinear resize to the input size, scale
//! to 0..1, subtract the mean and divide by the std per channel, NCHW layout.

use image::imageops::FilterType;

use crate::Crop;

/// Appends the NCHW tensor data of one crop (3 × `height` × `width` values) to `out`.
/// An empty crop gives a zero image.
pub fn push_nchw(
    crop: &Crop,
    height: u32,
    width: u32,
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut Vec<f32>,
) {
    let plane = height as usize * width as usize;
    let resized = image::RgbImage::from_raw(crop.width, crop.height, crop.rgb.clone())
        .filter(|img| img.width() > 0 && img.height() > 0)
        .map(|img| {
            if (img.width(), img.height()) == (width, height) {
                img
            } else {
                image::imageops::resize(&img, width, height, FilterType::Triangle)
            }
        });
    let start = out.len();
    out.resize(start + 3 * plane, 0.0);
    let Some(img) = resized else {
        return;
    };
    let dst = &mut out[start..];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            dst[c * plane + i] = (f32::from(p.0[c]) / 255.0 - mean[c]) / std[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_per_channel_in_planar_order() {
        let crop = Crop {
            width: 2,
            height: 1,
            rgb: vec![255, 0, 51, 0, 255, 102],
        };
        let mut out = vec![9.0];
        push_nchw(&crop, 1, 2, [0.5, 0.0, 0.0], [0.5, 1.0, 0.2], &mut out);
        assert_eq!(out.len(), 7);
        let expect = [9.0, 1.0, -1.0, 0.0, 1.0, 1.0, 2.0];
        for (a, b) in out.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn resizes_a_flat_crop_to_the_same_flat_value() {
        let crop = Crop {
            width: 5,
            height: 7,
            rgb: vec![255; 5 * 7 * 3],
        };
        let mut out = Vec::new();
        push_nchw(&crop, 4, 4, [0.0; 3], [1.0; 3], &mut out);
        assert_eq!(out.len(), 48);
        assert!(out.iter().all(|v| (v - 1.0).abs() < 1e-6));
        let empty = Crop {
            width: 0,
            height: 0,
            rgb: vec![],
        };
        let mut out = Vec::new();
        push_nchw(&empty, 2, 2, [0.5; 3], [1.0; 3], &mut out);
        assert_eq!(out, vec![0.0; 12]);
    }
}
