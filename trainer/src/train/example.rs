//! Decoding one training sample into network-ready arrays, and the flip augmentation.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use crate::train::data::Sample;
use crate::train::facing::Facing;
use spanreid::View;

/// A decoded sample at `size`×`size`.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// RGB in [0, 1], channel-major (3×size×size).
    pub image: Vec<f32>,
    /// Binarised foreground (size×size), 1 where the mask is at least half on.
    pub fg: Vec<f32>,
    /// Ground-truth part labels (size×size) when present: 0 bg, 1 front, 2 rear, 3 side.
    pub parts: Option<Vec<u8>>,
    /// Viewpoint.
    pub view: View,
    /// Which way the vehicle's front points, when known.
    pub facing: Option<Facing>,
    /// Side length.
    pub size: u32,
}

/// An image or mask that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {path}")]
pub struct DecodeError {
    /// The file.
    pub path: PathBuf,
    /// The decoder's error.
    #[source]
    pub source: image::ImageError,
}

fn open(path: &Path) -> Result<image::DynamicImage, DecodeError> {
    image::open(path).map_err(|source| DecodeError {
        path: path.to_owned(),
        source,
    })
}

/// An RGB image resized (bilinear) to `size`×`size`, channel-major in [0, 1].
pub fn load_image(path: &Path, size: u32) -> Result<Vec<f32>, DecodeError> {
    let rgb = open(path)?
        .resize_exact(size, size, FilterType::Triangle)
        .into_rgb8();
    let plane = (size * size) as usize;
    let mut image = vec![0.0f32; 3 * plane];
    for (i, px) in rgb.pixels().enumerate() {
        for c in 0..3 {
            image[c * plane + i] = f32::from(px[c]) / 255.0;
        }
    }
    Ok(image)
}

/// A label image (masks, part labels) resized with nearest neighbour, so labels stay labels.
pub fn load_labels(path: &Path, size: u32) -> Result<Vec<u8>, DecodeError> {
    Ok(open(path)?
        .resize_exact(size, size, FilterType::Nearest)
        .into_luma8()
        .into_raw())
}

/// Reads `sample` at `size`×`size`.
pub fn load(sample: &Sample, size: u32) -> Result<Example, DecodeError> {
    let fg = load_labels(&sample.fg_mask, size)?
        .into_iter()
        .map(|p| if p >= 128 { 1.0 } else { 0.0 })
        .collect();
    let parts = match &sample.part_mask {
        Some(path) => Some(load_labels(path, size)?),
        None => None,
    };
    Ok(Example {
        image: load_image(&sample.image, size)?,
        fg,
        parts,
        view: sample.view,
        facing: sample.facing,
        size,
    })
}

pub(crate) fn flip_rows<T>(plane: &mut [T], width: usize) {
    for row in plane.chunks_exact_mut(width) {
        row.reverse();
    }
}

impl Example {
    /// The mirror image. The view label is unchanged: SPAN's views (front, rear, side)
    /// do not distinguish left from right; the facing turns round.
    pub fn flipped(mut self) -> Self {
        let w = self.size as usize;
        self.facing = self.facing.map(Facing::flipped);
        flip_rows(&mut self.image, w);
        flip_rows(&mut self.fg, w);
        if let Some(p) = self.parts.as_mut() {
            flip_rows(p, w);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_mirrors_every_plane_and_twice_is_identity() {
        let ex = Example {
            image: (0..12).map(|v| v as f32).collect(),
            fg: vec![1.0, 0.0, 0.0, 0.0],
            parts: Some(vec![1, 3, 0, 2]),
            view: View::FrontSide,
            facing: Some(Facing::Left),
            size: 2,
        };
        let f = ex.clone().flipped();
        assert_eq!(f.image[..4], [1.0, 0.0, 3.0, 2.0]);
        assert_eq!(f.fg, [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(f.parts.as_deref(), Some(&[3, 1, 2, 0][..]));
        assert_eq!(f.view, View::FrontSide);
        assert_eq!(f.facing, Some(Facing::Right));
        assert_eq!(f.flipped(), ex);
    }

    #[test]
    fn load_resizes_and_binarises() {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("a.png");
        let mask = dir.path().join("m.png");
        image::RgbImage::from_pixel(8, 4, image::Rgb([255, 0, 51]))
            .save(&img)
            .expect("save");
        image::GrayImage::from_fn(8, 4, |x, _| image::Luma([if x < 4 { 200 } else { 10 }]))
            .save(&mask)
            .expect("save");
        let ex = load(
            &Sample {
                image: img,
                fg_mask: mask,
                part_mask: None,
                view: View::Rear,
                facing: None,
            },
            4,
        )
        .expect("loads");
        assert_eq!(ex.image.len(), 48);
        assert!((ex.image[0] - 1.0).abs() < 1e-6 && ex.image[16] == 0.0);
        assert!((ex.image[32] - 0.2).abs() < 1e-6);
        assert_eq!(ex.fg[..4], [1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn corrupt_image_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"not a jpeg").expect("write");
        let err = load(
            &Sample {
                image: bad.clone(),
                fg_mask: bad,
                part_mask: None,
                view: View::Front,
                facing: None,
            },
            4,
        )
        .expect_err("corrupt");
        assert!(err.to_string().contains("bad.jpg"), "{err}");
    }
}
