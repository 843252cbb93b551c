//! int8 quantisation parameters for QDQ graphs: weights per output channel, symmetric int8;
//! activations per tensor, asymmetric uint8 from the range seen on calibration images
//! (the layout onnxruntime's static quantiser writes and every QDQ runtime reads).

use std::collections::BTreeMap;

/// Smallest scale written: ONNX forbids a zero scale, and an all-zero channel or a constant
/// activation would otherwise give one.
const MIN_SCALE: f32 = 1e-8;

/// A weight tensor quantised per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeight {
    /// int8 values, same layout as the f32 weights.
    pub values: Vec<i8>,
    /// One scale per channel of the quantisation axis.
    pub scales: Vec<f32>,
}

/// Quantises `weight` (shape `dims`) symmetrically to int8 per channel of `axis`:
/// `scale_c = max|w_c| / 127`, `q = round(w / scale_c)`.
pub fn quantize_weight(weight: &[f32], dims: &[i64], axis: usize) -> QuantizedWeight {
    let channels = dims[axis] as usize;
    let inner = dims[axis + 1..].iter().product::<i64>() as usize;
    let channel = |i: usize| (i / inner) % channels;
    let mut max = vec![0f32; channels];
    for (i, w) in weight.iter().enumerate() {
        let c = channel(i);
        max[c] = max[c].max(w.abs());
    }
    let scales: Vec<f32> = max.iter().map(|m| (m / 127.0).max(MIN_SCALE)).collect();
    let values = weight
        .iter()
        .enumerate()
        .map(|(i, w)| (w / scales[channel(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    QuantizedWeight { values, scales }
}

/// The range of one activation tensor over the calibration images.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Range {
    /// Smallest value seen.
    pub min: f32,
    /// Largest value seen.
    pub max: f32,
}

impl Range {
    /// Widens the range to cover `values`.
    pub fn cover(self, values: impl IntoIterator<Item = f32>) -> Self {
        values.into_iter().fold(self, |r, v| Range {
            min: r.min.min(v),
            max: r.max.max(v),
        })
    }

    /// An empty range (covers nothing yet).
    pub fn empty() -> Self {
        Range {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }

    /// Scale and zero point of asymmetric uint8 quantisation over this range widened to
    /// include 0, so that zero (padding, ReLU's floor) is exact.
    pub fn uint8(self) -> (f32, u8) {
        let (lo, hi) = if self.min <= self.max {
            (self.min.min(0.0), self.max.max(0.0))
        } else {
            (0.0, 0.0)
        };
        let scale = ((hi - lo) / 255.0).max(MIN_SCALE);
        let zero = (-lo / scale).round().clamp(0.0, 255.0) as u8;
        (scale, zero)
    }
}

/// Calibrated ranges by tensor name.
pub type Ranges = BTreeMap<String, Range>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_quantise_per_channel_with_the_largest_value_at_127() {
        // Two output channels of two values each.
        let q = quantize_weight(&[0.25, -1.0, 0.02, 0.005], &[2, 2], 0);
        assert_eq!(q.scales, vec![1.0 / 127.0, 0.02 / 127.0]);
        // 0.25 · 127 = 31.75 and 0.005 / 0.02 · 127 = 31.75 both round to 32.
        assert_eq!(q.values, vec![32, -127, 127, 32]);
        // Dequantised values lie within half a step of the originals.
        for (i, w) in [0.25f32, -1.0, 0.02, 0.005].iter().enumerate() {
            let back = f32::from(q.values[i]) * q.scales[i / 2];
            assert!((back - w).abs() <= q.scales[i / 2] / 2.0 + 1e-9);
        }
    }

    #[test]
    fn an_all_zero_channel_gets_a_positive_scale() {
        let q = quantize_weight(&[0.0, 0.0, 1.0, 1.0], &[2, 1, 2], 0);
        assert!(q.scales[0] > 0.0);
        assert_eq!(q.values[..2], [0, 0]);
    }

    #[test]
    fn activation_ranges_include_zero_exactly() {
        let r = Range::empty().cover([0.5, 6.0, 1.0]);
        assert_eq!(r, Range { min: 0.5, max: 6.0 });
        let (scale, zero) = r.uint8();
        assert_eq!((scale, zero), (6.0 / 255.0, 0));
        let (scale, zero) = Range {
            min: -1.0,
            max: 3.0,
        }
        .uint8();
        assert_eq!(scale, 4.0 / 255.0);
        assert_eq!(zero, 64);
        // −1 and 3 are representable to within a step.
        assert!(((0.0 - f32::from(zero)) * scale + 1.0).abs() <= scale);
        assert_eq!(Range::empty().uint8().1, 0);
    }
}
