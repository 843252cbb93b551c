//! The loss-curve picture of a run: one panel per term (recon, area, div, total), top to
//! bottom, each scaled to its own range, with the raw values faint and a moving average on
//! top. Panels are separated by a grey rule; the x axis is the step.

use image::{Rgb, RgbImage};

/// Width of the picture.
pub const WIDTH: u32 = 640;
/// Height of one panel.
pub const PANEL: u32 = 120;
/// Colours of recon, area, div and total.
pub const COLOURS: [[u8; 3]; 4] = [[200, 50, 50], [40, 150, 60], [50, 90, 220], [30, 30, 30]];

const MARGIN: u32 = 6;

/// Moving average over a centred window of `window` values (shorter at the ends).
pub fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    let half = window / 2;
    (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(values.len());
            values[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect()
}

fn draw_line(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: Rgb<u8>) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for s in 0..=steps {
        let x = x0 + (x1 - x0) * s / steps;
        let y = y0 + (y1 - y0) * s / steps;
        if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y))
            && x < img.width()
            && y < img.height()
        {
            img.put_pixel(x, y, colour);
        }
    }
}

fn faint(c: [u8; 3]) -> Rgb<u8> {
    Rgb(c.map(|v| 255 - (255 - v) / 4))
}

/// Draws `series` (one vector per term, all the same length) as stacked panels.
pub fn render(series: &[Vec<f64>; 4]) -> RgbImage {
    let mut img = RgbImage::from_pixel(WIDTH, PANEL * 4, Rgb([255, 255, 255]));
    let n = series[0].len();
    for (p, values) in series.iter().enumerate() {
        let top = p as u32 * PANEL;
        if p > 0 {
            for x in 0..WIDTH {
                img.put_pixel(x, top, Rgb([190, 190, 190]));
            }
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if n < 2 || finite.is_empty() {
            continue;
        }
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let inner = f64::from(PANEL - 2 * MARGIN);
        let point = |i: usize, v: f64| -> (i64, i64) {
            let x = f64::from(MARGIN) + i as f64 * f64::from(WIDTH - 2 * MARGIN) / (n - 1) as f64;
            let y = f64::from(top + MARGIN) + (1.0 - (v - lo) / span) * inner;
            (x.round() as i64, y.round() as i64)
        };
        let smoothed = smooth(values, (n / 20).max(1));
        for (vals, colour) in [(values, faint(COLOURS[p])), (&smoothed, Rgb(COLOURS[p]))] {
            for i in 1..n {
                if vals[i - 1].is_finite() && vals[i].is_finite() {
                    draw_line(
                        &mut img,
                        point(i - 1, vals[i - 1]),
                        point(i, vals[i]),
                        colour,
                    );
                }
            }
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_constants_and_averages_neighbours() {
        assert_eq!(smooth(&[2.0; 5], 3), vec![2.0; 5]);
        assert_eq!(smooth(&[0.0, 3.0, 0.0], 3), vec![1.5, 1.0, 1.5]);
    }

    #[test]
    fn falling_curve_starts_high_and_ends_low_in_its_panel() {
        let falling: Vec<f64> = (0..50).map(|i| 50.0 - f64::from(i)).collect();
        let img = render(&[falling.clone(), falling.clone(), falling.clone(), falling]);
        assert_eq!(img.dimensions(), (WIDTH, 4 * PANEL));
        let ink = |x: u32, rows: std::ops::Range<u32>| {
            rows.filter(|&y| img.get_pixel(x, y) == &Rgb(COLOURS[0]))
                .collect::<Vec<_>>()
        };
        let first = ink(MARGIN, 0..PANEL);
        let last = ink(WIDTH - MARGIN - 1, 0..PANEL);
        assert!(!first.is_empty() && !last.is_empty());
        assert!(first[0] < PANEL / 3 && last[last.len() - 1] > 2 * PANEL / 3);
    }

    #[test]
    fn too_few_points_give_an_empty_chart() {
        let img = render(&[vec![1.0], vec![1.0], vec![1.0], vec![1.0]]);
        assert!(
            img.pixels()
                .all(|p| p == &Rgb([255, 255, 255]) || p == &Rgb([190, 190, 190]))
        );
    }
}
