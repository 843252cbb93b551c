//! CPDM and the comparison metrics directly on int8 signatures.
//!
//! For one part with int8 values `q` and scale `s` the feature is `f ≈ s·q`, so
//! `‖f_a − f_b‖² = s_a²‖q_a‖² + s_b²‖q_b‖² − 2·s_a·s_b·(q_a·q_b)`: one integer dot product
//! per part once the norms `‖q‖²` are known. The three terms are combined in f64, and a
//! small negative result (rounding of a near-zero distance) is clamped to 0.

use crate::cpdm::{AreaRatios, Metric};
use crate::part::{PARTS, Part};
use crate::signature::{QuantizedFeature, Signature};

use super::error::SearchError;
use crate::kernel::Kernel;

/// Squared Euclidean distance between two dequantised vectors from their scales, their
/// int8 sums of squares and their int8 dot product.
#[inline]
pub fn squared_distance_from_dot(
    scale_a: f32,
    sum_sq_a: u32,
    scale_b: f32,
    sum_sq_b: u32,
    dot: i32,
) -> f64 {
    let (sa, sb) = (f64::from(scale_a), f64::from(scale_b));
    let d = sa * sa * f64::from(sum_sq_a) + sb * sb * f64::from(sum_sq_b)
        - 2.0 * sa * sb * f64::from(dot);
    d.max(0.0)
}

/// Check that a signature is usable in int8 arithmetic: all four features of `dim` values
/// and finite non-negative scales, and valid area ratios.
pub fn validate_signature(sig: &Signature, dim: usize) -> Result<(), SearchError> {
    for part in Part::ALL {
        let f = &sig.features[part.index()];
        if f.dim() != dim {
            return Err(SearchError::DimMismatch {
                part,
                expected: dim,
                found: f.dim(),
            });
        }
        if !(f.scale.is_finite() && f.scale >= 0.0) {
            return Err(SearchError::InvalidScale {
                part,
                scale: f.scale,
            });
        }
    }
    if !sig.area_ratios.is_valid() {
        return Err(SearchError::InvalidAreaRatios {
            ratios: sig.area_ratios.0,
        });
    }
    Ok(())
}

/// Distance between two signatures under `metric`, computed on their int8 values, using the
/// fastest kernel this CPU has. Both must come from the same model and have valid features
/// of one dimension.
pub fn signature_distance(
    metric: Metric,
    a: &Signature,
    b: &Signature,
) -> Result<f32, SearchError> {
    signature_distance_with(Kernel::detect(), metric, a, b)
}

/// [`signature_distance`] with an explicit kernel.
pub fn signature_distance_with(
    kernel: Kernel,
    metric: Metric,
    a: &Signature,
    b: &Signature,
) -> Result<f32, SearchError> {
    if a.model_id != b.model_id {
        return Err(SearchError::ModelMismatch {
            expected: a.model_id,
            found: b.model_id,
        });
    }
    validate_signature(a, a.dim())?;
    validate_signature(b, a.dim())?;
    Ok(features_distance(
        kernel,
        metric,
        (&a.features, &a.area_ratios),
        (&b.features, &b.area_ratios),
    ))
}

/// Distance between two validated feature sets (same dimension, valid scales).
pub(crate) fn features_distance(
    kernel: Kernel,
    metric: Metric,
    a: (&[QuantizedFeature; PARTS], &AreaRatios),
    b: (&[QuantizedFeature; PARTS], &AreaRatios),
) -> f32 {
    let mut sq = [0.0f64; PARTS];
    for (i, s) in sq.iter_mut().enumerate().take(metric.parts_used()) {
        let (fa, fb) = (&a.0[i], &b.0[i]);
        let dot = kernel.dot_i8(&fa.values, &fb.values);
        *s = squared_distance_from_dot(fa.scale, fa.sum_sq(), fb.scale, fb.sum_sq(), dot);
    }
    metric.combine(sq, a.1, b.1)
}
