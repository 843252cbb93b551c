//! Co-occurrence Part-attentive Distance Metric (CPDM), the paper's eq. 4–5.

use serde::{Deserialize, Serialize};

use crate::part::VIEWS;

/// Visible-area ratios of the front, rear and side views of one image: `AR_i = area_i /
/// (area_1 + area_2 + area_3)` where `area_i` is the L1 norm of mask `M_i`. The global
/// branch's ratio `AR_0` is always 1 and is not stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AreaRatios(pub [f32; VIEWS]);

impl AreaRatios {
    /// Ratios from the three view areas (L1 norms of the masks). All-zero areas (no mask
    /// mass at all) give all-zero ratios, which makes CPDM fall back to the global distance.
    pub fn from_areas(areas: [f32; VIEWS]) -> Self {
        let total: f32 = areas.iter().sum();
        if total > 0.0 && total.is_finite() {
            AreaRatios(areas.map(|a| a / total))
        } else {
            AreaRatios([0.0; VIEWS])
        }
    }

    /// Ratios from three masks of equal size (front, rear, side), each in `[0, 1]`.
    pub fn from_masks(front: &[f32], rear: &[f32], side: &[f32]) -> Self {
        let l1 = |m: &[f32]| m.iter().map(|v| v.abs()).sum::<f32>();
        Self::from_areas([l1(front), l1(rear), l1(side)])
    }

    /// `[AR_0 = 1, AR_1, AR_2, AR_3]`, indexed like [`crate::Part`].
    pub fn with_global(&self) -> [f32; 4] {
        [1.0, self.0[0], self.0[1], self.0[2]]
    }
}
