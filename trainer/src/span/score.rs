//! What `eval-span` measures on one image set, as plain arithmetic over masks and labels:
//! SPAN's thresholded masks, the arg-max of its masks inside the true foreground, and the
//! "paint the labelled view" baseline (every foreground pixel given to each view the image
//! label names), each split by single-view and two-view images; plus the masks' mean area
//! ratios per view label.
//!
//! The baseline is what a network that only recognises the view scores: masks that split
//! a vehicle into parts must beat it on two-view images.

use serde::Serialize;

use crate::span::mask_iou::IouCounts;
use spanreid::View;

/// IoU counts for all images, single-view images and two-view images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByKind {
    /// Every image (with or without a view label).
    pub all: IouCounts,
    /// Images labelled front, rear or side.
    pub single: IouCounts,
    /// Images labelled front-side or rear-side.
    pub two_view: IouCounts,
}

impl ByKind {
    fn with(&mut self, view: Option<View>, f: impl Fn(&mut IouCounts)) {
        f(&mut self.all);
        match view.map(is_two_view) {
            Some(false) => f(&mut self.single),
            Some(true) => f(&mut self.two_view),
            None => {}
        }
    }
}

/// Whether `view` shows two parts.
pub fn is_two_view(view: View) -> bool {
    matches!(view, View::FrontSide | View::RearSide)
}

/// Accumulated scores of one image set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanScore {
    /// Thresholded masks.
    pub masks: ByKind,
    /// Arg-max of the masks inside the true foreground.
    pub argmax: ByKind,
    /// The "paint the labelled view" baseline.
    pub paint: ByKind,
    /// Sum of each mask's area / foreground area, per view label ([`View::ALL`] order).
    area_sum: [[f64; 3]; 5],
    /// Images per view label.
    area_n: [u64; 5],
}

impl SpanScore {
    /// Adds one image: `masks` 3×HW in [0, 1] (front, rear, side), `parts` HW ground-truth
    /// labels (0 background), `view` the image's label when it has one.
    pub fn add(&mut self, masks: &[f32], parts: &[u8], view: Option<View>, threshold: f32) {
        let hw = parts.len();
        self.masks.with(view, |c| c.add(masks, parts, threshold));

        let argmax: Vec<u8> = (0..hw)
            .map(|i| {
                if parts[i] == 0 {
                    return 0;
                }
                let m = [masks[i], masks[hw + i], masks[2 * hw + i]];
                let best = (0..3).fold(0, |b, k| if m[k] > m[b] { k } else { b });
                best as u8 + 1
            })
            .collect();
        self.argmax.with(view, |c| c.add_labels(&argmax, parts));

        if let Some(v) = view {
            let label = v.label();
            let mut paint = vec![0.0f32; 3 * hw];
            for (i, &p) in parts.iter().enumerate() {
                if p != 0 {
                    for k in 0..3 {
                        paint[k * hw + i] = label[k];
                    }
                }
            }
            self.paint.with(view, |c| c.add(&paint, parts, 0.5));

            let fg = parts.iter().filter(|&&p| p != 0).count().max(1) as f64;
            let row = View::ALL.iter().position(|&w| w == v).unwrap_or(0);
            for k in 0..3 {
                let area: f64 = masks[k * hw..(k + 1) * hw]
                    .iter()
                    .map(|&m| f64::from(m))
                    .sum();
                self.area_sum[row][k] += area / fg;
            }
            self.area_n[row] += 1;
        }
    }

    /// Mean area ratio (front, rear, side) of the masks for each view label that occurred.
    pub fn area_ratios(&self) -> Vec<AreaRow> {
        View::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| self.area_n[*i] > 0)
            .map(|(i, v)| AreaRow {
                view: v.name().to_owned(),
                images: self.area_n[i],
                front: self.area_sum[i][0] / self.area_n[i] as f64,
                rear: self.area_sum[i][1] / self.area_n[i] as f64,
                side: self.area_sum[i][2] / self.area_n[i] as f64,
            })
            .collect()
    }
}

/// Mean mask area over foreground area for one view label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaRow {
    /// The label.
    pub view: String,
    /// Images with it.
    pub images: u64,
    /// Front mask.
    pub front: f64,
    /// Rear mask.
    pub rear: f64,
    /// Side mask.
    pub side: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4 pixels: front, front, side, background.
    const PARTS: [u8; 4] = [1, 1, 3, 0];

    #[test]
    fn a_perfect_split_beats_the_paint_baseline_on_two_view_images() {
        #[rustfmt::skip]
        let perfect = [
            0.9f32, 0.9, 0.1, 0.0,
            0.0, 0.0, 0.0, 0.0,
            0.1, 0.1, 0.9, 0.0,
        ];
        let mut s = SpanScore::default();
        s.add(&perfect, &PARTS, Some(View::FrontSide), 0.5);
        assert_eq!(s.masks.two_view.iou(), [Some(1.0), None, Some(1.0)]);
        assert_eq!(s.argmax.two_view.iou(), [Some(1.0), None, Some(1.0)]);
        // Paint: front = side = the whole foreground (3 pixels).
        assert_eq!(
            s.paint.two_view.iou(),
            [Some(2.0 / 3.0), None, Some(1.0 / 3.0)]
        );
        assert_eq!(s.masks.single, IouCounts::default());
        let rows = s.area_ratios();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].view, "front-side");
        assert!((rows[0].front - 1.9 / 3.0).abs() < 1e-6, "{rows:?}");
    }

    #[test]
    fn painting_the_whole_car_scores_like_the_baseline() {
        // A "classifier" network: every foreground pixel front and side.
        #[rustfmt::skip]
        let blob = [
            0.9f32, 0.9, 0.9, 0.0,
            0.0, 0.0, 0.0, 0.0,
            0.9, 0.9, 0.9, 0.0,
        ];
        let mut s = SpanScore::default();
        s.add(&blob, &PARTS, Some(View::FrontSide), 0.5);
        s.add(&blob, &PARTS, None, 0.5);
        assert_eq!(s.masks.two_view, s.paint.two_view);
        assert_eq!(s.masks.all.union, [6, 0, 6]);
        assert_eq!(
            s.area_ratios()[0].images,
            1,
            "unlabelled images have no area row"
        );
    }
}
