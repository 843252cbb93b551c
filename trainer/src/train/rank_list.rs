//! Rank-list pictures: per query one row of tiles, the query (grey border) followed by its
//! nearest gallery images, each framed green when it shows the query's vehicle and red when
//! not; gallery images the protocol ignores (same vehicle, same camera) are left out.

use image::{Rgb, RgbImage, imageops};
use spanreid::eval::Label;

/// Border of a query tile.
pub const QUERY_BORDER: [u8; 3] = [150, 150, 150];
/// Border of a true match.
pub const MATCH_BORDER: [u8; 3] = [30, 200, 60];
/// Border of a wrong match.
pub const MISS_BORDER: [u8; 3] = [220, 40, 40];
/// Border width in pixels.
pub const BORDER: u32 = 3;
/// Gap between the query and its list.
const GAP: u32 = 8;

/// Gallery indices of the `k` nearest entries by `distances` (ascending, ties by index),
/// skipping the junk entries of the protocol (same id and camera as the query).
pub fn top_k(query: Label, gallery: &[Label], distances: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..gallery.len().min(distances.len()))
        .filter(|&j| !(gallery[j].id == query.id && gallery[j].camera == query.camera))
        .collect();
    order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// `image` scaled to fit `side` × `side` inside a frame of `colour`.
pub fn tile(image: &RgbImage, side: u32, colour: [u8; 3]) -> RgbImage {
    let mut out = RgbImage::from_pixel(side, side, Rgb(colour));
    let inner = side.saturating_sub(2 * BORDER).max(1);
    let resized = imageops::resize(image, inner, inner, imageops::FilterType::Triangle);
    imageops::replace(&mut out, &resized, i64::from(BORDER), i64::from(BORDER));
    out
}

/// One row: `query` then `ranked` (each with whether it is a true match).
pub fn row(query: &RgbImage, ranked: &[(RgbImage, bool)], side: u32) -> RgbImage {
    let width = side + GAP + side * ranked.len() as u32;
    let mut out = RgbImage::from_pixel(width, side, Rgb([255, 255, 255]));
    imageops::replace(&mut out, &tile(query, side, QUERY_BORDER), 0, 0);
    for (i, (img, hit)) in ranked.iter().enumerate() {
        let colour = if *hit { MATCH_BORDER } else { MISS_BORDER };
        let x = side + GAP + side * i as u32;
        imageops::replace(&mut out, &tile(img, side, colour), i64::from(x), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_skips_junk_and_sorts() {
        let q = Label::new(1, 1);
        let g = [
            Label::new(1, 1), // junk: same id, same camera
            Label::new(2, 2),
            Label::new(1, 3),
            Label::new(3, 1),
        ];
        let d = [0.0, 0.5, 0.2, 0.2];
        assert_eq!(top_k(q, &g, &d, 10), vec![2, 3, 1]);
        assert_eq!(top_k(q, &g, &d, 1), vec![2]);
        assert_eq!(top_k(q, &g, &d[..2], 10), vec![1]);
    }

    #[test]
    fn rows_frame_matches_green_and_misses_red() {
        let img = RgbImage::from_pixel(10, 20, Rgb([0, 0, 255]));
        let r = row(&img, &[(img.clone(), true), (img.clone(), false)], 32);
        assert_eq!((r.width(), r.height()), (32 + GAP + 64, 32));
        assert_eq!(r.get_pixel(0, 0).0, QUERY_BORDER);
        assert_eq!(r.get_pixel(32 + GAP, 0).0, MATCH_BORDER);
        assert_eq!(r.get_pixel(32 + GAP + 32, 31).0, MISS_BORDER);
        assert_eq!(r.get_pixel(16, 16).0, [0, 0, 255]);
        assert_eq!(r.get_pixel(32 + 2, 16).0, [255, 255, 255]);
    }
}
