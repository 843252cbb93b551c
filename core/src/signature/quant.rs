//! Symmetric per-vector int8 quantisation of feature vectors.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::MAX_DIM;

/// Largest magnitude of a quantised value; -128 is never produced so negation is safe.
pub const QMAX: i8 = 127;

/// A feature vector stored as int8 values and one f32 scale: `x[k] ≈ scale * values[k]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantizedFeature {
    /// Multiplier from the int8 grid back to feature units (`max |x| / 127`); 0 for an
    /// all-zero vector.
    pub scale: f32,
    /// Quantised values, at most [`MAX_DIM`] of them.
    pub values: Vec<i8, MAX_DIM>,
}

/// Why a vector could not be quantised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    /// More values than [`MAX_DIM`].
    #[error("feature has {len} values, more than the capacity of {MAX_DIM}")]
    TooLong {
        /// Number of values offered.
        len: usize,
    },
    /// A NaN or infinite value.
    #[error("feature value {index} is not finite")]
    NotFinite {
        /// Position of the first offending value.
        index: usize,
    },
}

impl QuantizedFeature {
    /// Quantise `x` with scale `max |x| / 127`, rounding to nearest.
    pub fn quantize(x: &[f32]) -> Result<Self, QuantError> {
        if x.len() > MAX_DIM {
            return Err(QuantError::TooLong { len: x.len() });
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::NotFinite { index });
        }
        let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 {
            max / f32::from(QMAX)
        } else {
            0.0
        };
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut values = Vec::new();
        for v in x {
            // |v * inv| <= 127 up to rounding; the clamp keeps it there.
            let q = round_half_away(v * inv).clamp(-f32::from(QMAX), f32::from(QMAX)) as i8;
            // Capacity was checked above.
            let _ = values.push(q);
        }
        Ok(QuantizedFeature { scale, values })
    }

    /// Number of values.
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// Value `k` back in feature units.
    pub fn value(&self, k: usize) -> f32 {
        self.scale * f32::from(self.values[k])
    }

    /// Write the dequantised vector into `out` (which must hold [`Self::dim`] values).
    pub fn dequantize_into(&self, out: &mut [f32]) {
        for (o, q) in out.iter_mut().zip(self.values.iter()) {
            *o = self.scale * f32::from(*q);
        }
    }

    /// Sum of squares of the int8 values (`‖q‖²`), the precomputed norm of the int8 kernels.
    pub fn sum_sq(&self) -> u32 {
        self.values
            .iter()
            .map(|&q| (i32::from(q) * i32::from(q)) as u32)
            .sum()
    }
}

/// `f32::round` without std: to nearest, halves away from zero (saturating `as` casts).
fn round_half_away(y: f32) -> f32 {
    if y >= 0.0 {
        (y + 0.5) as i32 as f32
    } else {
        (y - 0.5) as i32 as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let x = [0.5f32, -1.0, 0.25, 0.0, 0.999];
        let q = QuantizedFeature::quantize(&x).unwrap();
        assert_eq!(q.values[1], -127);
        let step = q.scale;
        for (k, v) in x.iter().enumerate() {
            assert!((q.value(k) - v).abs() <= step / 2.0 + 1e-7, "value {k}");
        }
    }

    #[test]
    fn rounding_matches_std() {
        for y in [-127.0f32, -2.5, -0.5, -0.49, 0.0, 0.49, 0.5, 1.5, 126.6] {
            assert_eq!(round_half_away(y), y.round(), "{y}");
        }
    }

    #[test]
    fn zero_vector_has_zero_scale() {
        let q = QuantizedFeature::quantize(&[0.0; 8]).unwrap();
        assert_eq!(q.scale, 0.0);
        assert!(q.values.iter().all(|&v| v == 0));
        assert_eq!(q.sum_sq(), 0);
    }

    #[test]
    fn rejects_nan_and_overlong() {
        assert_eq!(
            QuantizedFeature::quantize(&[1.0, f32::NAN]),
            Err(QuantError::NotFinite { index: 1 })
        );
        let long = [1.0f32; MAX_DIM + 1];
        assert_eq!(
            QuantizedFeature::quantize(&long),
            Err(QuantError::TooLong { len: MAX_DIM + 1 })
        );
    }
}
