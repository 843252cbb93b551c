//! Rank-list pictures: per query one row of tiles, the query (grey border) followed by its
//! nearest gallery images, each framed green when it shows the query's vehicle and red when
//! not; gallery images the protocol ignores (same vehicle, same camera) are left out.

use std::path::Path;

use image::{Rgb, RgbImage, imageops};
use spanreid::cpdm::Metric;
use spanreid::eval::Label;

use crate::eval::reid::{ImageFeatures, view};
use crate::train::TrainError;
use crate::train::reid_data::ReidImage;

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

/// Gallery entries shown per query in the rank-list picture.
pub const RANK_LIST_K: usize = 10;
/// Tile side of the rank-list picture, pixels.
pub const RANK_LIST_TILE: u32 = 96;

/// Draws the rank-list picture of `count` queries spread over `q` (the top
/// [`RANK_LIST_K`] of each under `metric`) into `path`; `query` and `gallery` are the images
/// behind `q` and `g`, in the same order.
pub fn draw(
    path: &Path,
    metric: Metric,
    query: &[ReidImage],
    gallery: &[ReidImage],
    q: &[(Label, ImageFeatures)],
    g: &[(Label, ImageFeatures)],
    count: usize,
) -> Result<(), TrainError> {
    let open = |img: &ReidImage| {
        image::open(&img.path)
            .map(|i| i.to_rgb8())
            .map_err(|e| TrainError::Corrupt {
                path: img.path.clone(),
                reason: e.to_string(),
            })
    };
    let corrupt = |reason: String| TrainError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let gallery_labels: Vec<Label> = g.iter().map(|(l, _)| *l).collect();
    let gallery_views = g
        .iter()
        .map(|(_, f)| view(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    let count = count.min(q.len());
    let mut rows = Vec::with_capacity(count);
    for i in 0..count {
        let qi = i * q.len() / count;
        let (ql, qf) = &q[qi];
        let qv = view(qf).map_err(|e| corrupt(e.to_string()))?;
        let distances = gallery_views
            .iter()
            .map(|gv| spanreid::cpdm::distance(metric, &qv, gv))
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| corrupt(e.to_string()))?;
        let ranked = top_k(*ql, &gallery_labels, &distances, RANK_LIST_K)
            .into_iter()
            .map(|j| Ok((open(&gallery[j])?, gallery_labels[j].id == ql.id)))
            .collect::<Result<Vec<_>, TrainError>>()?;
        rows.push(row(&open(&query[qi])?, &ranked, RANK_LIST_TILE));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    crate::train::overlay::sheet(&rows)
        .save(path)
        .map_err(|e| TrainError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    tracing::info!(picture = %path.display(), "rank list");
    Ok(())
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

    #[test]
    fn draws_one_row_per_query_with_the_nearest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let image = |name: &str, shade: u8| {
            let path = dir.path().join(name);
            RgbImage::from_pixel(8, 8, Rgb([shade, shade, shade]))
                .save(&path)
                .expect("saves");
            ReidImage {
                path,
                id: name[..1].parse().expect("id"),
                camera: name[2..3].parse().expect("camera"),
            }
        };
        let feats = |x: f32| ImageFeatures {
            parts: [vec![x], vec![0.0], vec![0.0], vec![0.0]],
            ratios: spanreid::AreaRatios([1.0, 0.0, 0.0]),
        };
        let query = vec![image("1_1.png", 10), image("2_1.png", 20)];
        let gallery = vec![image("1_2.png", 30), image("2_2.png", 40)];
        let labelled = |imgs: &[ReidImage], xs: [f32; 2]| -> Vec<(Label, ImageFeatures)> {
            imgs.iter()
                .zip(xs)
                .map(|(i, x)| (Label::new(i.id, i.camera), feats(x)))
                .collect()
        };
        let (q, g) = (labelled(&query, [0.0, 1.0]), labelled(&gallery, [0.1, 0.9]));
        let out = dir.path().join("pics").join("ranklist.png");
        draw(&out, Metric::Cpdm, &query, &gallery, &q, &g, 5).expect("draws");
        let sheet = image::open(&out).expect("a PNG").to_rgb8();
        let side = RANK_LIST_TILE;
        assert_eq!(
            (sheet.width(), sheet.height()),
            (side + GAP + 2 * side, 2 * side)
        );
        // Row 0: query id 1, nearest gallery id 1 (green), then id 2 (red).
        let first = side + GAP;
        assert_eq!(sheet.get_pixel(first, 0).0, MATCH_BORDER);
        assert_eq!(sheet.get_pixel(first + side, 0).0, MISS_BORDER);
        // Row 1: query id 2 ranks id 2 first.
        assert_eq!(sheet.get_pixel(first, side).0, MATCH_BORDER);
        assert_eq!(
            sheet.get_pixel(first + side / 2, side + side / 2).0,
            [40, 40, 40]
        );
    }
}
