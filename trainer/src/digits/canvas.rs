//! One multi-digit canvas: 1–K MNIST digits of chosen classes at random non-overlapping
//! places and scales on a black square, with the image-level labels (which classes are
//! present) and the ground-truth digit pixels of each class (for evaluation only).

use image::{GrayImage, imageops};
use rand::Rng;

use crate::digits::mnist::{Digit, SIDE};

/// A digit pixel (of the source and of the ground truth) is one at least this bright.
pub const INK: u8 = 128;

/// Placement attempts per digit before it is left out.
const ATTEMPTS: usize = 64;

/// How canvases are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanvasSpec {
    /// Side of the square canvas in pixels.
    pub size: u32,
    /// Fewest digits per canvas (at least 1).
    pub min_digits: u32,
    /// Most digits per canvas.
    pub max_digits: u32,
    /// Smallest digit side as a fraction of the canvas side.
    pub min_scale: f32,
    /// Largest digit side as a fraction of the canvas side.
    pub max_scale: f32,
}

/// A rendered canvas.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    /// size×size grey levels (digits bright on black).
    pub pixels: Vec<u8>,
    /// size×size labels: 0 background, `k + 1` a digit pixel of class slot `k`.
    pub truth: Vec<u8>,
    /// Per class slot: does the canvas show that class?
    pub present: Vec<bool>,
    /// The digits drawn: (class slot, index of the sample in its class file).
    pub sources: Vec<(usize, usize)>,
}

/// The digits a canvas may use, per class slot: (sample index, pixels).
pub type Pools<'a> = [Vec<(usize, &'a Digit)>];

fn overlaps(a: (u32, u32, u32), b: (u32, u32, u32)) -> bool {
    let (ax, ay, aside) = a;
    let (bx, by, bside) = b;
    ax < bx + bside && bx < ax + aside && ay < by + bside && by < ay + aside
}

/// The digit scaled to `side`×`side` (bilinear).
pub fn scale_digit(digit: &Digit, side: u32) -> GrayImage {
    let src =
        GrayImage::from_raw(SIDE, SIDE, digit.clone()).expect("an MNIST digit holds 28×28 pixels");
    imageops::resize(&src, side, side, imageops::FilterType::Triangle)
}

/// Draws one canvas. Every pool must be non-empty and the spec valid (see
/// [`crate::digits::dataset::SynthSpec::validate`]).
pub fn render(spec: &CanvasSpec, pools: &Pools<'_>, rng: &mut impl Rng) -> Canvas {
    let size = spec.size;
    let hw = (size * size) as usize;
    let mut canvas = Canvas {
        pixels: vec![0; hw],
        truth: vec![0; hw],
        present: vec![false; pools.len()],
        sources: Vec::new(),
    };
    let count = rng.random_range(spec.min_digits..=spec.max_digits);
    let mut boxes: Vec<(u32, u32, u32)> = Vec::new();
    for _ in 0..count {
        let slot = rng.random_range(0..pools.len());
        let (index, digit) = pools[slot][rng.random_range(0..pools[slot].len())];
        let scale = rng.random_range(spec.min_scale..=spec.max_scale);
        let side = ((scale * size as f32).round() as u32).clamp(1, size);
        let place = (0..ATTEMPTS).find_map(|_| {
            let b = (
                rng.random_range(0..=size - side),
                rng.random_range(0..=size - side),
                side,
            );
            (!boxes.iter().any(|&o| overlaps(o, b))).then_some(b)
        });
        let Some((x0, y0, _)) = place else {
            continue;
        };
        boxes.push((x0, y0, side));
        let scaled = scale_digit(digit, side);
        for (x, y, p) in scaled.enumerate_pixels() {
            let i = ((y0 + y) * size + x0 + x) as usize;
            let v = p.0[0];
            canvas.pixels[i] = canvas.pixels[i].max(v);
            if v >= INK {
                canvas.truth[i] = slot as u8 + 1;
            }
        }
        canvas.present[slot] = true;
        canvas.sources.push((slot, index));
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn bar(column: usize) -> Digit {
        let mut d = vec![0u8; (SIDE * SIDE) as usize];
        for y in 4..24 {
            d[y * SIDE as usize + column] = 255;
            d[y * SIDE as usize + column + 1] = 255;
        }
        d
    }

    #[test]
    fn canvases_label_the_classes_they_show() {
        let (a, b) = (bar(8), bar(18));
        let pools = vec![vec![(0, &a)], vec![(5, &b)], vec![(9, &a)]];
        let spec = CanvasSpec {
            size: 64,
            min_digits: 1,
            max_digits: 3,
            min_scale: 0.3,
            max_scale: 0.45,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let c = render(&spec, &pools, &mut rng);
            assert!(!c.sources.is_empty() && c.sources.len() <= 3);
            for (slot, present) in c.present.iter().enumerate() {
                let has_pixels = c.truth.iter().any(|&t| usize::from(t) == slot + 1);
                assert_eq!(*present, has_pixels, "slot {slot}");
                assert_eq!(*present, c.sources.iter().any(|s| s.0 == slot));
            }
            // Ground truth is exactly the bright canvas pixels (digits do not overlap).
            for (p, t) in c.pixels.iter().zip(&c.truth) {
                assert_eq!(*p >= INK, *t > 0);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_canvas() {
        let a = bar(10);
        let pools = vec![vec![(0, &a), (1, &a)], vec![(2, &a)]];
        let spec = CanvasSpec {
            size: 48,
            min_digits: 1,
            max_digits: 3,
            min_scale: 0.3,
            max_scale: 0.5,
        };
        let draw = |seed| render(&spec, &pools, &mut ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
