//! The comparison picture of `trainer foreground`: per image a row of the input, then the
//! true, GrabCut and CNN masks, each shown as the input with its background darkened.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{GrayImage, Rgb, RgbImage};

use crate::foreground::files;
use crate::train::overlay::sheet;

/// Side of one tile.
pub const TILE: u32 = 128;

/// `image` with the pixels off in `mask` darkened to a quarter (a missing mask: all dark).
pub fn cut_out(image: &RgbImage, mask: Option<&GrayImage>) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y).0;
        let on = mask.is_some_and(|m| m.get_pixel(x, y)[0] >= 128);
        Rgb(if on { p } else { p.map(|v| v / 4) })
    })
}

fn row(image: &Path, masks: &[&Path]) -> Option<RgbImage> {
    let img = files::open_rgb(image).ok()?;
    let mut out = RgbImage::new(TILE * (1 + masks.len() as u32), TILE);
    let tile = |i: &RgbImage| image::imageops::resize(i, TILE, TILE, FilterType::Triangle);
    image::imageops::replace(&mut out, &tile(&img), 0, 0);
    for (k, dir) in masks.iter().enumerate() {
        let mask = files::open_mask(&files::mask_path(dir, image))
            .ok()
            .filter(|m| m.dimensions() == img.dimensions());
        let x = i64::from(TILE * (k as u32 + 1));
        image::imageops::replace(&mut out, &tile(&cut_out(&img, mask.as_ref())), x, 0);
    }
    Some(out)
}

/// Rows for up to `rows` of `images`, spread evenly, with a tile per mask directory.
pub fn picture(images: &[PathBuf], mask_dirs: &[&Path], rows: usize) -> Option<RgbImage> {
    let n = images.len();
    if n == 0 || rows == 0 {
        return None;
    }
    let picked: Vec<RgbImage> = (0..rows.min(n))
        .filter_map(|i| row(&images[i * n / rows.min(n)], mask_dirs))
        .collect();
    (!picked.is_empty()).then(|| sheet(&picked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_show_the_mask_and_darken_the_rest() {
        let img = RgbImage::from_pixel(2, 1, Rgb([200, 100, 40]));
        let mask = GrayImage::from_raw(2, 1, vec![255, 0]).expect("raw");
        let cut = cut_out(&img, Some(&mask));
        assert_eq!(cut.get_pixel(0, 0), &Rgb([200, 100, 40]));
        assert_eq!(cut.get_pixel(1, 0), &Rgb([50, 25, 10]));
        assert_eq!(cut_out(&img, None).get_pixel(0, 0), &Rgb([50, 25, 10]));
    }

    #[test]
    fn one_row_per_picked_image_and_a_tile_per_mask() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (imgs, masks) = (dir.path().join("img"), dir.path().join("masks"));
        std::fs::create_dir_all(&imgs).expect("mkdir");
        std::fs::create_dir_all(&masks).expect("mkdir");
        let mut images = Vec::new();
        for i in 0..5 {
            let p = imgs.join(format!("{i}.png"));
            RgbImage::from_pixel(20, 10, Rgb([90, 90, 90]))
                .save(&p)
                .expect("save");
            GrayImage::from_pixel(20, 10, image::Luma([255]))
                .save(masks.join(format!("{i}.png")))
                .expect("save");
            images.push(p);
        }
        let pic = picture(&images, &[&masks, &masks], 3).expect("a picture");
        assert_eq!(pic.dimensions(), (3 * TILE, 3 * TILE));
        assert_eq!(
            pic.get_pixel(TILE + 5, 5),
            &Rgb([90, 90, 90]),
            "mask on: unchanged"
        );
        assert!(picture(&[], &[&masks], 3).is_none());
    }
}
