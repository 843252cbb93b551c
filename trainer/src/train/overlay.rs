//! Mask pictures in the manner of the paper's Fig. 7: per image a row of the input, each
//! predicted mask over the input (front red, rear green, side blue), and the ground-truth
//! part labels in the same colours.

use image::{Rgb, RgbImage};

/// Colours of front, rear and side.
pub const VIEW_COLOURS: [[u8; 3]; 3] = [[230, 40, 40], [40, 200, 60], [50, 90, 235]];

/// Tiles per row: input, three masks, ground truth.
pub const TILES: u32 = 5;

fn blend(base: [u8; 3], colour: [u8; 3], alpha: f32) -> Rgb<u8> {
    let a = alpha.clamp(0.0, 1.0);
    Rgb(std::array::from_fn(|c| {
        (f32::from(base[c]) * (1.0 - a) + f32::from(colour[c]) * a).round() as u8
    }))
}

/// One row for an image of side `size`: `image` is 3×HW in [0, 1], `masks` 3×HW in
/// [0, 1], `parts` HW labels (0 background, 1–3 views) when known.
pub fn row(image: &[f32], masks: &[f32], parts: Option<&[u8]>, size: u32) -> RgbImage {
    let hw = (size * size) as usize;
    let pixel = |i: usize| -> [u8; 3] {
        std::array::from_fn(|c| (image[c * hw + i].clamp(0.0, 1.0) * 255.0).round() as u8)
    };
    let mut out = RgbImage::new(size * TILES, size);
    for i in 0..hw {
        let (x, y) = (i as u32 % size, i as u32 / size);
        let base = pixel(i);
        out.put_pixel(x, y, Rgb(base));
        let dim = base.map(|v| v / 2);
        for v in 0..3 {
            let tile = (v as u32 + 1) * size;
            out.put_pixel(tile + x, y, blend(dim, VIEW_COLOURS[v], masks[v * hw + i]));
        }
        let truth = match parts.map(|p| p[i]) {
            Some(label @ 1..=3) => Rgb(VIEW_COLOURS[usize::from(label) - 1]),
            _ => Rgb([0, 0, 0]),
        };
        out.put_pixel(4 * size + x, y, truth);
    }
    out
}

/// Stacks rows vertically.
pub fn sheet(rows: &[RgbImage]) -> RgbImage {
    let width = rows.iter().map(RgbImage::width).max().unwrap_or(0);
    let height = rows.iter().map(RgbImage::height).sum();
    let mut out = RgbImage::new(width, height);
    let mut y = 0;
    for r in rows {
        image::imageops::replace(&mut out, r, 0, i64::from(y));
        y += r.height();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_places_each_tile() {
        // 1×1 image: grey pixel, front mask on, truth rear.
        let row = row(&[0.5, 0.5, 0.5], &[1.0, 0.0, 0.0], Some(&[2]), 1);
        assert_eq!(row.dimensions(), (5, 1));
        assert_eq!(row.get_pixel(0, 0), &Rgb([128, 128, 128]));
        assert_eq!(row.get_pixel(1, 0), &Rgb(VIEW_COLOURS[0]));
        assert_eq!(row.get_pixel(2, 0), &Rgb([64, 64, 64]));
        assert_eq!(row.get_pixel(4, 0), &Rgb(VIEW_COLOURS[1]));
        let s = sheet(&[row.clone(), row]);
        assert_eq!(s.dimensions(), (5, 2));
    }
}
