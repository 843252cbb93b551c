//! Co-occurrence Part-attentive Distance Metric (CPDM), the paper's eq. 4–5, and the
//! paper's two comparison metrics, on f32 features.
//!
//! Everything here works on borrowed slices and allocates nothing, so it is `no_std`.
//! The int8 counterpart that works on quantised signatures directly is
//! [`crate::search::signature_distance`].

use serde::{Deserialize, Serialize};

use crate::kernel::Kernel;
use crate::part::{PARTS, Part, VIEWS};

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

    /// Whether every ratio is finite and non-negative, as [`Self::from_areas`] produces.
    pub fn is_valid(&self) -> bool {
        self.0.iter().all(|r| r.is_finite() && *r >= 0.0)
    }

    /// The co-occurrence attentive weights of eq. 4 between this image (`a`) and `other`
    /// (`b`): `w_i = AR_a,i·AR_b,i / Σ_{j=0..3} AR_a,j·AR_b,j`, in [`crate::Part`] order.
    ///
    /// Because `AR_0 = 1` the denominator is at least 1, so the weights are always defined
    /// and sum to 1. A ratio that is negative or not finite (never produced by
    /// [`Self::from_areas`], but possible in a hostile signature) counts as 0, i.e. as an
    /// invisible view.
    pub fn co_occurrence_weights(&self, other: &AreaRatios) -> [f32; PARTS] {
        let a = self.with_global().map(sanitize_ratio);
        let b = other.with_global().map(sanitize_ratio);
        let products: [f32; PARTS] = core::array::from_fn(|i| a[i] * b[i]);
        let total: f32 = products.iter().sum();
        products.map(|p| p / total)
    }
}

fn sanitize_ratio(r: f32) -> f32 {
    if r.is_finite() && r > 0.0 { r } else { 0.0 }
}

/// How two vehicle images are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Euclidean distance between the global features `f_0` only (the paper's baseline).
    GlobalEuclidean,
    /// Euclidean distance between the concatenations `[f_0, f_1, f_2, f_3]`.
    ConcatEuclidean,
    /// CPDM, eq. 5: `Σ_i w_i ‖f_a,i − f_b,i‖₂` with the weights of eq. 4.
    #[default]
    Cpdm,
}

impl Metric {
    /// All metrics, in the order the paper's comparison table lists them.
    pub const ALL: [Metric; 3] = [
        Metric::GlobalEuclidean,
        Metric::ConcatEuclidean,
        Metric::Cpdm,
    ];

    /// How many leading parts (in [`crate::Part`] order) the metric reads: 1 for the global
    /// metric, 4 otherwise.
    pub const fn parts_used(self) -> usize {
        match self {
            Metric::GlobalEuclidean => 1,
            Metric::ConcatEuclidean | Metric::Cpdm => PARTS,
        }
    }

    /// The distance from the squared per-part Euclidean distances `‖f_a,i − f_b,i‖²`
    /// (entries beyond [`Self::parts_used`] are ignored) and the two images' area ratios.
    pub fn combine(self, squared: [f64; PARTS], a: &AreaRatios, b: &AreaRatios) -> f32 {
        let d = match self {
            Metric::GlobalEuclidean => sqrt_f64(squared[0]),
            Metric::ConcatEuclidean => sqrt_f64(squared.iter().sum()),
            Metric::Cpdm => {
                let w = a.co_occurrence_weights(b);
                w.iter()
                    .zip(squared)
                    .map(|(w, s)| f64::from(*w) * sqrt_f64(s))
                    .sum()
            }
        };
        d as f32
    }
}

/// Square root of a squared distance; negative inputs (rounding residue of a zero
/// distance) give 0.
fn sqrt_f64(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        // core has no float square root: Newton iterations from a guess with the exponent
        // halved (within a factor of 2 of the root) reach full precision well within 8.
        if x.is_infinite() {
            return x;
        }
        let mut y = f64::from_bits((x.to_bits() >> 1) + (1023u64 << 51));
        for _ in 0..8 {
            y = 0.5 * (y + x / y);
        }
        y
    }
}

/// Why two f32 feature sets cannot be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CpdmError {
    /// The two images (or two parts of one image) have features of different lengths.
    #[error("{part:?} feature has {found} values where {expected} were expected")]
    DimMismatch {
        /// The part whose length differs.
        part: Part,
        /// Length of the first image's global feature.
        expected: usize,
        /// Length found.
        found: usize,
    },
}

/// The four f32 feature vectors of one image (global, front, rear, side) and its area
/// ratios, borrowed from wherever they live.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartFeatures<'a> {
    /// Feature vectors in [`crate::Part`] order; all of one length.
    pub parts: [&'a [f32]; PARTS],
    /// Visible-area ratios of the front, rear and side views.
    pub area_ratios: AreaRatios,
}

impl<'a> PartFeatures<'a> {
    /// Bundle four features of equal length with their ratios.
    pub fn new(parts: [&'a [f32]; PARTS], area_ratios: AreaRatios) -> Result<Self, CpdmError> {
        let f = PartFeatures { parts, area_ratios };
        f.check_dims(f.dim())?;
        Ok(f)
    }

    /// Length of the global feature.
    pub fn dim(&self) -> usize {
        self.parts[0].len()
    }

    fn check_dims(&self, expected: usize) -> Result<(), CpdmError> {
        for part in Part::ALL {
            let found = self.parts[part.index()].len();
            if found != expected {
                return Err(CpdmError::DimMismatch {
                    part,
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    /// Squared per-part Euclidean distances to `other`, for the first `parts` parts (the
    /// rest are 0).
    fn squared_distances(
        &self,
        other: &PartFeatures<'_>,
        parts: usize,
        kernel: Kernel,
    ) -> [f64; PARTS] {
        let mut sq = [0.0f64; PARTS];
        for (i, s) in sq.iter_mut().enumerate().take(parts) {
            *s = f64::from(kernel.squared_distance_f32(self.parts[i], other.parts[i]));
        }
        sq
    }
}

/// Distance between two images under `metric`, using the fastest kernel this CPU has.
pub fn distance(
    metric: Metric,
    a: &PartFeatures<'_>,
    b: &PartFeatures<'_>,
) -> Result<f32, CpdmError> {
    distance_with(Kernel::detect(), metric, a, b)
}

/// [`distance`] with an explicit kernel choice.
pub fn distance_with(
    kernel: Kernel,
    metric: Metric,
    a: &PartFeatures<'_>,
    b: &PartFeatures<'_>,
) -> Result<f32, CpdmError> {
    let dim = a.dim();
    a.check_dims(dim)?;
    b.check_dims(dim)?;
    let sq = a.squared_distances(b, metric.parts_used(), kernel);
    Ok(metric.combine(sq, &a.area_ratios, &b.area_ratios))
}

/// CPDM (eq. 5) between two images.
pub fn cpdm(a: &PartFeatures<'_>, b: &PartFeatures<'_>) -> Result<f32, CpdmError> {
    distance(Metric::Cpdm, a, b)
}

/// Euclidean distance between the global features.
pub fn global_euclidean(a: &PartFeatures<'_>, b: &PartFeatures<'_>) -> Result<f32, CpdmError> {
    distance(Metric::GlobalEuclidean, a, b)
}

/// Euclidean distance between the concatenated features.
pub fn concat_euclidean(a: &PartFeatures<'_>, b: &PartFeatures<'_>) -> Result<f32, CpdmError> {
    distance(Metric::ConcatEuclidean, a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: [[f32; 2]; 4] = [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [3.0, 4.0]];
    const B: [[f32; 2]; 4] = [[3.0, 4.0], [1.0, 1.0], [5.0, 5.0], [0.0, 0.0]];

    fn features<'a>(parts: &'a [[f32; 2]; 4], ratios: [f32; 3]) -> PartFeatures<'a> {
        PartFeatures::new(parts.each_ref().map(|p| p.as_slice()), AreaRatios(ratios)).unwrap()
    }

    /// Per-part distances: ‖(0,0)−(3,4)‖ = 5, ‖(1,0)−(1,1)‖ = 1, ‖(0,0)−(5,5)‖ = √50,
    /// ‖(3,4)−(0,0)‖ = 5. With AR_a = [1, .5, 0, .5] and AR_b = [1, .25, .25, .5] the
    /// products are [1, .125, 0, .25], sum 1.375, so w = [8/11, 1/11, 0, 2/11] and
    /// CPDM = (8·5 + 1·1 + 0·√50 + 2·5) / 11 = 51/11. Global: 5. Concat: √(25+1+50+25) = √101.
    #[test]
    fn hand_computed_values() {
        let a = features(&A, [0.5, 0.0, 0.5]);
        let b = features(&B, [0.25, 0.25, 0.5]);
        let w = a.area_ratios.co_occurrence_weights(&b.area_ratios);
        let want_w = [8.0 / 11.0, 1.0 / 11.0, 0.0, 2.0 / 11.0];
        for (got, want) in w.iter().zip(want_w) {
            assert!((got - want).abs() < 1e-7, "{w:?}");
        }
        assert!((cpdm(&a, &b).unwrap() - 51.0 / 11.0).abs() < 1e-6);
        assert!((global_euclidean(&a, &b).unwrap() - 5.0).abs() < 1e-6);
        assert!((concat_euclidean(&a, &b).unwrap() - 101f32.sqrt()).abs() < 1e-5);
    }

    #[test]
    fn mismatched_dims_are_an_error() {
        let short = [0.0f32; 1];
        let long = [0.0f32; 2];
        assert_eq!(
            PartFeatures::new([&long, &long, &short, &long], AreaRatios::default()),
            Err(CpdmError::DimMismatch {
                part: Part::Rear,
                expected: 2,
                found: 1
            })
        );
        let a = PartFeatures {
            parts: [&long; 4],
            area_ratios: AreaRatios::default(),
        };
        let b = PartFeatures {
            parts: [&short; 4],
            area_ratios: AreaRatios::default(),
        };
        assert_eq!(
            cpdm(&a, &b),
            Err(CpdmError::DimMismatch {
                part: Part::Global,
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn hostile_ratios_count_as_invisible() {
        let a = AreaRatios([f32::NAN, -1.0, f32::INFINITY]);
        assert!(!a.is_valid());
        assert_eq!(
            a.co_occurrence_weights(&AreaRatios([1.0; 3])),
            [1.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn ratios_from_masks_are_l1_shares() {
        let r = AreaRatios::from_masks(&[1.0, 1.0], &[0.0, 0.0], &[0.5, 0.5]);
        assert_eq!(r, AreaRatios([2.0 / 3.0, 0.0, 1.0 / 3.0]));
        assert_eq!(AreaRatios::from_areas([0.0; 3]), AreaRatios([0.0; 3]));
    }

    fn ratios() -> impl Strategy<Value = AreaRatios> {
        prop::array::uniform3(0.0f32..1.0).prop_map(AreaRatios::from_areas)
    }

    fn parts(dim: usize) -> impl Strategy<Value = [Vec<f32>; 4]> {
        prop::array::uniform4(prop::collection::vec(-2.0f32..2.0, dim))
    }

    fn view(p: &[Vec<f32>; 4], r: AreaRatios) -> PartFeatures<'_> {
        PartFeatures {
            parts: p.each_ref().map(Vec::as_slice),
            area_ratios: r,
        }
    }

    proptest! {
        #[test]
        fn weights_sum_to_one(a in ratios(), b in ratios()) {
            let w = a.co_occurrence_weights(&b);
            prop_assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            prop_assert!(w.iter().all(|w| *w >= 0.0));
            prop_assert_eq!(w, b.co_occurrence_weights(&a));
        }

        #[test]
        fn metrics_are_symmetric_and_non_negative(
            (pa, pb) in (1usize..40).prop_flat_map(|d| (parts(d), parts(d))),
            ra in ratios(),
            rb in ratios(),
        ) {
            let (a, b) = (view(&pa, ra), view(&pb, rb));
            for m in Metric::ALL {
                let ab = distance_with(Kernel::portable(), m, &a, &b).unwrap();
                let ba = distance_with(Kernel::portable(), m, &b, &a).unwrap();
                prop_assert!(ab >= 0.0);
                prop_assert!((ab - ba).abs() <= 1e-6 * ab.max(1.0), "{m:?}: {ab} vs {ba}");
                prop_assert_eq!(distance(m, &a, &a).unwrap(), 0.0);
            }
        }

        /// The paper's discussion: with no view in common only the global feature counts.
        #[test]
        fn disjoint_views_reduce_to_global_distance(
            (pa, pb) in (1usize..40).prop_flat_map(|d| (parts(d), parts(d))),
            view_a in 0usize..3,
            shift in 1usize..3,
        ) {
            let mut ra = [0.0; 3];
            let mut rb = [0.0; 3];
            ra[view_a] = 1.0;
            rb[(view_a + shift) % 3] = 1.0;
            let (a, b) = (view(&pa, AreaRatios(ra)), view(&pb, AreaRatios(rb)));
            prop_assert_eq!(
                a.area_ratios.co_occurrence_weights(&b.area_ratios), [1.0, 0.0, 0.0, 0.0]
            );
            prop_assert_eq!(cpdm(&a, &b).unwrap(), global_euclidean(&a, &b).unwrap());
        }
    }
}
