//! The demo's picture (pure: labels and events in, an image out): one row per ground-truth
//! vehicle, one column per camera, a dot for each signed passage, and a line for each
//! reported pair — green when both passages show the same vehicle, red when not. Passages
//! on no vehicle sit in the bottom row. A good run draws short horizontal green lines;
//! every red line crosses rows.

use std::collections::BTreeMap;

use image::{Rgb, RgbImage};
use spanreid_hub::events::MatchEvent;

use crate::score::PassageKey;

const ROW: u32 = 12;
const COLUMN: u32 = 160;
const MARGIN: u32 = 24;
const GREEN: Rgb<u8> = Rgb([40, 170, 60]);
const RED: Rgb<u8> = Rgb([210, 40, 40]);
const DOT: Rgb<u8> = Rgb([30, 30, 30]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);

/// The picture of `events` over the signed passages `labels`, cameras in name order.
pub fn matches(labels: &BTreeMap<PassageKey, Option<u32>>, events: &[MatchEvent]) -> RgbImage {
    let mut cameras: Vec<&str> = labels.keys().map(|(c, _)| c.as_str()).collect();
    cameras.dedup();
    let mut vehicles: Vec<u32> = labels.values().flatten().copied().collect();
    vehicles.sort_unstable();
    vehicles.dedup();
    let rows = vehicles.len() as u32 + 1;
    let width = 2 * MARGIN + COLUMN * cameras.len().max(1) as u32;
    let height = 2 * MARGIN + ROW * rows;
    let mut img = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    // Where a passage is drawn: its camera's column, its vehicle's row (the last row for
    // none), moved right a little for each earlier passage in the same cell.
    let mut taken: BTreeMap<(usize, u32), u32> = BTreeMap::new();
    let mut at: BTreeMap<&PassageKey, (i64, i64)> = BTreeMap::new();
    for (key, label) in labels {
        let col = cameras.iter().position(|c| *c == key.0).unwrap_or(0);
        let row = label
            .and_then(|v| vehicles.binary_search(&v).ok())
            .map_or(rows - 1, |r| r as u32);
        let n = taken.entry((col, row)).or_default();
        let x = MARGIN + COLUMN * col as u32 + COLUMN / 2 + 5 * *n;
        *n += 1;
        at.insert(key, (i64::from(x), i64::from(MARGIN + ROW * row + ROW / 2)));
    }
    for r in 0..rows {
        line(
            &mut img,
            (0, i64::from(MARGIN + ROW * r + ROW / 2)),
            (i64::from(width), i64::from(MARGIN + ROW * r + ROW / 2)),
            GRID,
        );
    }
    for e in events {
        let q = (e.query.camera.clone(), e.query.sequence);
        for c in &e.candidates {
            let g = (c.signature.camera.clone(), c.signature.sequence);
            if let (Some(&a), Some(&b)) = (at.get(&q), at.get(&g)) {
                let same =
                    labels.get(&q).copied().flatten().is_some() && labels.get(&q) == labels.get(&g);
                line(&mut img, a, b, if same { GREEN } else { RED });
            }
        }
    }
    for &(x, y) in at.values() {
        for dx in -2..=2 {
            for dy in -2..=2 {
                put(&mut img, x + dx, y + dy, DOT);
            }
        }
    }
    img
}

fn put(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y))
        && x < img.width()
        && y < img.height()
    {
        img.put_pixel(x, y, colour);
    }
}

/// A straight line from `a` to `b`, one pixel wide.
fn line(img: &mut RgbImage, a: (i64, i64), b: (i64, i64), colour: Rgb<u8>) {
    let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
    for i in 0..=steps {
        put(
            img,
            a.0 + (b.0 - a.0) * i / steps,
            a.1 + (b.1 - a.1) * i / steps,
            colour,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::tests::{event, two_vehicles};

    #[test]
    fn right_links_are_green_within_a_row_and_wrong_ones_red_across_rows() {
        let labels = two_vehicles(9);
        let events = [
            event(("c2", 1), &[("c1", 1)]), // vehicle 1, right
            event(("c2", 2), &[("c1", 1)]), // vehicle 2 linked to vehicle 1: wrong
        ];
        let img = matches(&labels, &events);
        // Three cameras, two vehicles and the row of passages on no vehicle.
        assert_eq!(
            img.dimensions(),
            (2 * MARGIN + 3 * COLUMN, 2 * MARGIN + 3 * ROW)
        );
        let row = |r: u32| MARGIN + ROW * r + ROW / 2;
        let between_c1_and_c2 = MARGIN + COLUMN; // the columns' border
        assert_eq!(*img.get_pixel(between_c1_and_c2, row(0)), GREEN);
        let reds = (0..img.height())
            .filter(|&y| *img.get_pixel(between_c1_and_c2, y) == RED)
            .count();
        assert!(reds >= 1, "the wrong link crosses the border");
        // Nothing links camera 2 to camera 3: no line crosses their border.
        let border = MARGIN + 2 * COLUMN;
        assert!((0..img.height()).all(|y| {
            let p = *img.get_pixel(border, y);
            p != GREEN && p != RED
        }));
    }
}
