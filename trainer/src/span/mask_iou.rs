//! Per-view intersection over union of thresholded SPAN masks against ground-truth part
//! masks (0 background, 1 front, 2 rear, 3 side), accumulated over a dataset.

/// Pixel counts per view (front, rear, side), summed over images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IouCounts {
    /// |prediction ∩ truth| per view.
    pub intersection: [u64; 3],
    /// |prediction ∪ truth| per view.
    pub union: [u64; 3],
}

impl IouCounts {
    /// Adds one image: `masks` is 3×HW (front, rear, side) in [0, 1], `parts` is HW
    /// labels; a pixel is predicted for view i when mask i is at least `threshold`.
    pub fn add(&mut self, masks: &[f32], parts: &[u8], threshold: f32) {
        let hw = parts.len();
        debug_assert_eq!(masks.len(), 3 * hw, "masks must be 3×HW");
        for view in 0..3 {
            let label = view as u8 + 1;
            let plane = &masks[view * hw..(view + 1) * hw];
            for (&m, &p) in plane.iter().zip(parts) {
                let (pred, truth) = (m >= threshold, p == label);
                self.intersection[view] += u64::from(pred && truth);
                self.union[view] += u64::from(pred || truth);
            }
        }
    }

    /// Adds one image whose prediction is a label per pixel (0 none, 1 front, 2 rear,
    /// 3 side), e.g. the arg-max of the masks inside the foreground.
    pub fn add_labels(&mut self, predicted: &[u8], parts: &[u8]) {
        debug_assert_eq!(predicted.len(), parts.len());
        for view in 0..3 {
            let label = view as u8 + 1;
            for (&q, &p) in predicted.iter().zip(parts) {
                let (pred, truth) = (q == label, p == label);
                self.intersection[view] += u64::from(pred && truth);
                self.union[view] += u64::from(pred || truth);
            }
        }
    }

    /// IoU per view; `None` where neither prediction nor truth has a pixel.
    pub fn iou(&self) -> [Option<f64>; 3] {
        std::array::from_fn(|v| {
            (self.union[v] > 0).then(|| self.intersection[v] as f64 / self.union[v] as f64)
        })
    }

    /// Mean IoU over the views that have one.
    pub fn mean_iou(&self) -> Option<f64> {
        let vals: Vec<f64> = self.iou().into_iter().flatten().collect();
        (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_iou() {
        // 4 pixels: truth front, front, side, background.
        let parts = [1u8, 1, 3, 0];
        #[rustfmt::skip]
        let masks = [
            0.9f32, 0.2, 0.0, 0.6, // front: predicted at 0 and 3 → ∩ 1, ∪ 3
            0.0, 0.0, 0.0, 0.0,    // rear: nothing anywhere → no IoU
            0.0, 0.0, 0.5, 0.0,    // side: exact
        ];
        let mut c = IouCounts::default();
        c.add(&masks, &parts, 0.5);
        let iou = c.iou();
        assert_eq!(iou[0], Some(1.0 / 3.0));
        assert_eq!(iou[1], None);
        assert_eq!(iou[2], Some(1.0));
        assert_eq!(c.mean_iou(), Some((1.0 / 3.0 + 1.0) / 2.0));
        // Counts accumulate over images.
        c.add(&masks, &parts, 0.5);
        assert_eq!(c.intersection, [2, 0, 2]);
        assert_eq!(c.union, [6, 0, 2]);
    }

    #[test]
    fn label_predictions_count_like_masks() {
        let parts = [1u8, 1, 3, 0];
        let mut c = IouCounts::default();
        c.add_labels(&[1, 3, 3, 0], &parts);
        assert_eq!(c.iou(), [Some(0.5), None, Some(0.5)]);
    }
}
