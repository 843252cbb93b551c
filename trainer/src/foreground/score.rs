//! Scoring foreground masks against ground truth: intersection over union per image, its
//! mean over images, and the pooled IoU, precision and recall over all pixels. A pixel is
//! on where a mask is at least half on (128 of 255), so coverage masks score as binary.

use image::GrayImage;
use serde::{Deserialize, Serialize};

fn on(v: u8) -> bool {
    v >= 128
}

/// Pixel counts of one comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// On in both.
    pub both: u64,
    /// On in the prediction.
    pub predicted: u64,
    /// On in the truth.
    pub truth: u64,
}

impl Counts {
    /// Counts of `predicted` against `truth`; `None` when their sizes differ.
    pub fn of(predicted: &GrayImage, truth: &GrayImage) -> Option<Self> {
        if predicted.dimensions() != truth.dimensions() {
            return None;
        }
        let mut c = Self::default();
        for (p, t) in predicted.as_raw().iter().zip(truth.as_raw()) {
            let (p, t) = (on(*p), on(*t));
            c.both += u64::from(p && t);
            c.predicted += u64::from(p);
            c.truth += u64::from(t);
        }
        Some(c)
    }

    /// Pixels on in either.
    pub fn union(&self) -> u64 {
        self.predicted + self.truth - self.both
    }

    /// IoU; two empty masks agree perfectly (1).
    pub fn iou(&self) -> f64 {
        match self.union() {
            0 => 1.0,
            u => self.both as f64 / u as f64,
        }
    }
}

/// IoU of `predicted` against `truth`; `None` when their sizes differ.
#[cfg(test)]
pub fn iou(predicted: &GrayImage, truth: &GrayImage) -> Option<f64> {
    Counts::of(predicted, truth).map(|c| c.iou())
}

/// The score of a set of masks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskScore {
    /// Images scored.
    pub images: usize,
    /// Mean of the per-image IoU.
    pub mean_iou: f64,
    /// IoU over all pixels of all images.
    pub pooled_iou: f64,
    /// Share of predicted foreground pixels that are foreground.
    pub precision: f64,
    /// Share of foreground pixels that are predicted.
    pub recall: f64,
    /// Images whose IoU is below 0.5.
    pub below_half: usize,
}

/// Accumulates comparisons into a [`MaskScore`].
#[derive(Clone, Debug, Default)]
pub struct ScoreSum {
    images: usize,
    iou_sum: f64,
    below_half: usize,
    total: Counts,
}

impl ScoreSum {
    /// Adds one image's counts.
    pub fn add(&mut self, c: Counts) {
        let iou = c.iou();
        self.images += 1;
        self.iou_sum += iou;
        self.below_half += usize::from(iou < 0.5);
        self.total.both += c.both;
        self.total.predicted += c.predicted;
        self.total.truth += c.truth;
    }

    /// The score, or `None` when nothing was added.
    pub fn finish(&self) -> Option<MaskScore> {
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        (self.images > 0).then(|| MaskScore {
            images: self.images,
            mean_iou: self.iou_sum / self.images as f64,
            pooled_iou: self.total.iou(),
            precision: ratio(self.total.both, self.total.predicted),
            recall: ratio(self.total.both, self.total.truth),
            below_half: self.below_half,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(w: u32, h: u32, f: impl Fn(u32, u32) -> bool) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| image::Luma([if f(x, y) { 255 } else { 0 }]))
    }

    #[test]
    fn iou_by_hand() {
        // Prediction: columns 0..4 of a 8×2 image; truth: columns 2..8.
        let p = mask(8, 2, |x, _| x < 4);
        let t = mask(8, 2, |x, _| x >= 2);
        let c = Counts::of(&p, &t).expect("same size");
        assert_eq!(
            c,
            Counts {
                both: 4,
                predicted: 8,
                truth: 12
            }
        );
        assert_eq!(c.union(), 16);
        assert!((c.iou() - 0.25).abs() < 1e-12);
        assert_eq!(iou(&p, &p), Some(1.0));
        assert_eq!(
            iou(&mask(3, 3, |_, _| false), &mask(3, 3, |_, _| false)),
            Some(1.0)
        );
        assert_eq!(iou(&p, &mask(4, 4, |_, _| true)), None);
    }

    #[test]
    fn coverage_counts_as_on_from_half() {
        let p = GrayImage::from_raw(3, 1, vec![127, 128, 255]).expect("raw");
        let t = GrayImage::from_raw(3, 1, vec![255, 255, 255]).expect("raw");
        assert_eq!(Counts::of(&p, &t).map(|c| c.both), Some(2));
    }

    #[test]
    fn mean_and_pooled_differ_as_they_should() {
        let mut sum = ScoreSum::default();
        assert!(sum.finish().is_none());
        // A small image scored perfectly and a big one scored at 0.25.
        sum.add(Counts {
            both: 1,
            predicted: 1,
            truth: 1,
        });
        sum.add(Counts {
            both: 4,
            predicted: 8,
            truth: 12,
        });
        let s = sum.finish().expect("two images");
        assert_eq!(s.images, 2);
        assert!((s.mean_iou - 0.625).abs() < 1e-12);
        // Union: 9 + 13 - 5.
        assert!((s.pooled_iou - 5.0 / 17.0).abs() < 1e-12);
        assert!((s.precision - 5.0 / 9.0).abs() < 1e-12);
        assert!((s.recall - 5.0 / 13.0).abs() < 1e-12);
        assert_eq!(s.below_half, 1);
    }
}
