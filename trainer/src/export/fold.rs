//! Folding an inference-mode batch norm into the layer before it.
//!
//! A batch norm in inference mode is the affine map `y = (x − μ) · γ / √(σ² + ε) + β` per
//! channel. Following a convolution, transposed convolution or fully-connected layer whose
//! output channel `c` is `W_c · x + b_c`, it becomes one layer with `W'_c = s_c · W_c` and
//! `b'_c = s_c · (b_c − μ_c) + β_c`, where `s_c = γ_c / √(σ²_c + ε)`.

/// Inference-mode batch-norm parameters, one entry per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    /// γ.
    pub weight: Vec<f32>,
    /// β.
    pub bias: Vec<f32>,
    /// μ.
    pub running_mean: Vec<f32>,
    /// σ².
    pub running_var: Vec<f32>,
    /// ε.
    pub eps: f32,
}

/// The epsilon of libtorch's batch norm, which the trainer uses unchanged.
pub const TORCH_BN_EPS: f32 = 1e-5;

/// Folds `bn` into a layer with weights `weight` of shape `dims` whose output channels lie
/// on axis `out_axis` (0 for convolutions and linear layers in PyTorch layout, 1 for
/// transposed convolutions), and optional bias. Returns the new weights and bias.
pub fn fold(
    weight: &[f32],
    dims: &[i64],
    out_axis: usize,
    bias: Option<&[f32]>,
    bn: &BatchNorm,
) -> (Vec<f32>, Vec<f32>) {
    let channels = dims[out_axis] as usize;
    let inner: usize = dims[out_axis + 1..].iter().product::<i64>() as usize;
    let scale: Vec<f32> = (0..channels)
        .map(|c| bn.weight[c] / (bn.running_var[c] + bn.eps).sqrt())
        .collect();
    let folded = weight
        .iter()
        .enumerate()
        .map(|(i, w)| w * scale[(i / inner) % channels])
        .collect();
    let new_bias = (0..channels)
        .map(|c| {
            let b = bias.map_or(0.0, |b| b[c]);
            scale[c] * (b - bn.running_mean[c]) + bn.bias[c]
        })
        .collect();
    (folded, new_bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bn() -> BatchNorm {
        BatchNorm {
            weight: vec![2.0, 0.5],
            bias: vec![1.0, -1.0],
            running_mean: vec![0.5, 2.0],
            running_var: vec![3.0, 0.25],
            eps: 1.0,
        }
    }

    #[test]
    fn folding_into_output_axis_zero_scales_rows() {
        // Scales: 2 / √4 = 1, 0.5 / √1.25.
        let s1 = 0.5 / 1.25f32.sqrt();
        let (w, b) = fold(&[1.0, 2.0, 3.0, 4.0], &[2, 2], 0, Some(&[1.0, 0.0]), &bn());
        assert_eq!(w[..2], [1.0, 2.0]);
        assert!((w[2] - 3.0 * s1).abs() < 1e-6 && (w[3] - 4.0 * s1).abs() < 1e-6);
        // b' = s (b − μ) + β: 1 · (1 − 0.5) + 1 = 1.5; s1 · (0 − 2) − 1.
        assert_eq!(b[0], 1.5);
        assert!((b[1] - (-2.0 * s1 - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn folding_into_output_axis_one_scales_columns_of_each_input_channel() {
        // Transposed-convolution layout [in = 2, out = 2, 1, 1].
        let s1 = 0.5 / 1.25f32.sqrt();
        let (w, b) = fold(&[1.0, 1.0, 1.0, 1.0], &[2, 2, 1, 1], 1, None, &bn());
        assert_eq!(w[0], 1.0);
        assert!((w[1] - s1).abs() < 1e-6);
        assert_eq!(w[2], 1.0);
        assert!((w[3] - s1).abs() < 1e-6);
        assert_eq!(b[0], 1.0 * (0.0 - 0.5) + 1.0);
    }

    #[test]
    fn a_folded_layer_computes_what_the_pair_computed() {
        // Linear 3 → 2 then batch norm, on one input vector.
        let w = [0.3, -1.2, 0.7, 2.0, 0.1, -0.4];
        let b = [0.2, -0.3];
        let x = [1.5, -0.5, 2.0];
        let bn = bn();
        let pair: Vec<f32> = (0..2)
            .map(|c| {
                let y: f32 = (0..3).map(|i| w[c * 3 + i] * x[i]).sum::<f32>() + b[c];
                (y - bn.running_mean[c]) * bn.weight[c] / (bn.running_var[c] + bn.eps).sqrt()
                    + bn.bias[c]
            })
            .collect();
        let (fw, fb) = fold(&w, &[2, 3], 0, Some(&b), &bn);
        for c in 0..2 {
            let y: f32 = (0..3).map(|i| fw[c * 3 + i] * x[i]).sum::<f32>() + fb[c];
            assert!((y - pair[c]).abs() < 1e-5, "{y} {}", pair[c]);
        }
    }
}
