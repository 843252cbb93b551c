//! GrabCut with the supplementary's automatic initialisation, on OpenCV's implementation
//! (`cv::grabCut`, feature `grabcut`).
//!
//! A vehicle crop has no user stroke to start from, so the image is padded by `border`
//! pixels of replicated edge (`cv::copyMakeBorder`, `BORDER_REPLICATE`) and the rectangle
//! seed is the original image: everything in the padding is definite background, whose
//! colours are the crop's own edge colours, and the inside is "probably foreground". After
//! `iterations` rounds the pixels labelled foreground or probably foreground form the mask.
//! With `flip_and` the same is done on the mirrored crop and the two masks are intersected,
//! which removes much of the background GrabCut keeps on one side only.
//!
//! OpenCV's GMM initialisation draws from its thread's random generator; it is re-seeded
//! before every call, so a mask depends only on its image and the parameters, whatever the
//! order or thread images are processed in.

use image::{GrayImage, RgbImage};
use opencv::core::{self, Mat, Rect, Scalar, Vec3b};
use opencv::imgproc;
use opencv::prelude::*;

use crate::foreground::config::GrabCutConfig;

/// A GrabCut call that failed inside OpenCV.
#[derive(Debug, thiserror::Error)]
#[error("OpenCV: {0}")]
pub struct GrabCutError(#[from] opencv::Error);

/// Seed of OpenCV's generator before each GrabCut call.
const RNG_SEED: i32 = 0x5EED;

/// The foreground mask (0 or 255) of `image` by GrabCut under `config`.
pub fn grabcut(image: &RgbImage, config: &GrabCutConfig) -> Result<GrayImage, GrabCutError> {
    let mask = grabcut_once(image, config)?;
    if !config.flip_and {
        return Ok(mask);
    }
    let flipped = image::imageops::flip_horizontal(image);
    let mirrored = image::imageops::flip_horizontal(&grabcut_once(&flipped, config)?);
    Ok(GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
        image::Luma([mask.get_pixel(x, y)[0].min(mirrored.get_pixel(x, y)[0])])
    }))
}

/// One GrabCut run on the padded image, cropped back to the image.
fn grabcut_once(image: &RgbImage, config: &GrabCutConfig) -> Result<GrayImage, GrabCutError> {
    let (w, h) = (image.width() as i32, image.height() as i32);
    let b = config.border as i32;
    let src = Mat::new_rows_cols_with_bytes::<Vec3b>(h, w, image.as_raw())?;
    let mut padded = Mat::default();
    core::copy_make_border(
        &src,
        &mut padded,
        b,
        b,
        b,
        b,
        core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    let mut labels = Mat::default();
    let (mut bgd, mut fgd) = (Mat::default(), Mat::default());
    core::set_rng_seed(RNG_SEED)?;
    imgproc::grab_cut(
        &padded,
        &mut labels,
        Rect::new(b, b, w, h),
        &mut bgd,
        &mut fgd,
        config.iterations as i32,
        imgproc::GC_INIT_WITH_RECT,
    )?;
    let stride = (w + 2 * b) as usize;
    let bytes = labels.data_bytes()?;
    Ok(GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let label = bytes[(y as usize + b as usize) * stride + x as usize + b as usize];
        let fg = i32::from(label) == imgproc::GC_FGD || i32::from(label) == imgproc::GC_PR_FGD;
        image::Luma([if fg { 255 } else { 0 }])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foreground::score::iou;

    /// A textured background with a differently coloured block in the middle.
    fn scene(w: u32, h: u32) -> (RgbImage, GrayImage) {
        let inside =
            |x: u32, y: u32| (w / 4..3 * w / 4).contains(&x) && (h / 4..3 * h / 4).contains(&y);
        let img = RgbImage::from_fn(w, h, |x, y| {
            if inside(x, y) {
                image::Rgb([200, 30 + (x % 5) as u8, 40])
            } else {
                let v = 90 + ((x * 7 + y * 13) % 40) as u8;
                image::Rgb([v / 2, v, v])
            }
        });
        let truth = GrayImage::from_fn(w, h, |x, y| {
            image::Luma([if inside(x, y) { 255 } else { 0 }])
        });
        (img, truth)
    }

    #[test]
    fn finds_a_distinct_object_without_any_seed_but_the_border() {
        let (img, truth) = scene(64, 48);
        for flip_and in [false, true] {
            let config = GrabCutConfig {
                flip_and,
                ..GrabCutConfig::default()
            };
            let mask = grabcut(&img, &config).expect("grabcut");
            assert_eq!(mask.dimensions(), img.dimensions());
            assert!(mask.pixels().all(|p| p[0] == 0 || p[0] == 255));
            let score = iou(&mask, &truth).expect("same size");
            assert!(score > 0.9, "flip_and {flip_and}: IoU {score}");
        }
    }

    #[test]
    fn the_same_image_gives_the_same_mask() {
        let (img, _) = scene(40, 40);
        let config = GrabCutConfig::default();
        let a = grabcut(&img, &config).expect("grabcut");
        let (other, _) = scene(52, 36);
        let _ = grabcut(&other, &config).expect("grabcut");
        assert_eq!(a, grabcut(&img, &config).expect("grabcut"));
    }
}
