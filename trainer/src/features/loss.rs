//! Step-2 losses as functions of tensors: identity cross-entropy (optional label smoothing)
//! and the batch-hard triplet loss on the CPDM distance (eq. 4–5 of the paper).
//!
//! Shapes: part features `f_0..f_3` (global, front, rear, side), each N×d; SPAN masks
//! N×3×H×W (front, rear, side); identity labels N (int64).
//!
//! - Area ratios `AR_i = ‖M_i‖₁ / Σ_j ‖M_j‖₁`, with `AR_0 = 1` for the global feature.
//! - eq. 4 `w_i = AR_a,i·AR_b,i / Σ_j AR_a,j·AR_b,j`.
//! - eq. 5 `Dist(a, b) = Σ_i w_i ‖f_a,i − f_b,i‖₂`, the norm taken as `sqrt(s + ε)` so that
//!   the gradient is finite at zero distance (ε = [`DIST_EPS`]).

use tch::{Kind, Tensor};

/// ε inside the square root of each part distance.
pub const DIST_EPS: f64 = 1e-12;

/// Guards the area sum of all-zero masks (their ratios become 0, the global part remains).
const MIN_AREA: f64 = 1e-12;

/// Area ratios N×3 from masks N×3×H×W.
pub fn area_ratios(masks: &Tensor) -> Tensor {
    let areas = masks
        .abs()
        .sum_dim_intlist([2i64, 3].as_slice(), false, Kind::Float);
    let total = areas
        .sum_dim_intlist(1, true, Kind::Float)
        .clamp_min(MIN_AREA);
    areas / total
}

/// Pairwise Euclidean distances N×N between the rows of `f` (N×d), `sqrt(s + ε)`.
pub fn pairwise_euclidean(f: &Tensor) -> Tensor {
    let diff = f.unsqueeze(1) - f.unsqueeze(0);
    (diff
        .square()
        .sum_dim_intlist(-1, false, Kind::Float)
        .clamp_min(0.0)
        + DIST_EPS)
        .sqrt()
}

/// The co-occurrence weights of eq. 4 for every pair: 4×N×N (part, a, b).
pub fn co_occurrence_weights(ratios: &Tensor) -> Tensor {
    let n = ratios.size()[0];
    let ones = Tensor::ones([n, 1], (Kind::Float, ratios.device()));
    let r = Tensor::cat(&[ones, ratios.to_kind(Kind::Float)], 1); // N×4
    let rt = r.transpose(0, 1); // 4×N
    let products = rt.unsqueeze(2) * rt.unsqueeze(1); // 4×N×N
    let total = products.sum_dim_intlist(0, true, Kind::Float);
    products / total
}

/// CPDM between every pair of images: N×N, from the four part features and the area
/// ratios N×3.
pub fn cpdm_matrix(parts: &[Tensor], ratios: &Tensor) -> Tensor {
    let w = co_occurrence_weights(ratios);
    parts
        .iter()
        .enumerate()
        .map(|(i, f)| w.get(i as i64) * pairwise_euclidean(f))
        .reduce(|a, b| a + b)
        .expect("there are four part features")
}

/// Batch-hard triplet loss over a distance matrix N×N and labels N: for each anchor the
/// farthest positive and the nearest negative; hinge with `margin`, or the soft margin
/// `log(1 + exp(d_ap − d_an))` when `margin` is `None`. Anchors without a positive or a
/// negative in the batch are left out of the mean (0 when none is left).
pub fn batch_hard_triplet(dist: &Tensor, labels: &Tensor, margin: Option<f64>) -> Tensor {
    let n = labels.size()[0];
    let same = labels.unsqueeze(1).eq_tensor(&labels.unsqueeze(0));
    let eye = Tensor::eye(n, (Kind::Bool, dist.device()));
    let positive = same.logical_and(&eye.logical_not());
    let negative = same.logical_not();
    let big = dist.max().detach() + 1.0;
    let d_ap = (dist * positive.to_kind(Kind::Float)).amax([1i64].as_slice(), false);
    let d_an = (dist + &big * same.to_kind(Kind::Float)).amin([1i64].as_slice(), false);
    let valid = positive
        .any_dim(1, false)
        .logical_and(&negative.any_dim(1, false))
        .to_kind(Kind::Float);
    let gap = d_ap - d_an;
    let per_anchor = match margin {
        Some(m) => (gap + m).relu(),
        None => gap.softplus(),
    };
    (per_anchor * &valid).sum(Kind::Float) / valid.sum(Kind::Float).clamp_min(1.0)
}

/// Cross-entropy of `logits` N×C against `labels` N, with label smoothing `eps`
/// (target `1 − ε + ε/C` on the true class and `ε/C` elsewhere), averaged over the batch.
pub fn id_loss(logits: &Tensor, labels: &Tensor, eps: f64) -> Tensor {
    let logp = logits.log_softmax(1, Kind::Float);
    let nll = -logp.gather(1, &labels.unsqueeze(1), false).squeeze_dim(1);
    let uniform = -logp.mean_dim(1, false, Kind::Float);
    let per = nll * (1.0 - eps) + uniform * eps;
    per.mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanreid::cpdm::{self, AreaRatios, Metric, PartFeatures};
    use tch::Device;

    fn close(t: &Tensor, want: f64, tol: f64) {
        let got = t.double_value(&[]);
        assert!((got - want).abs() < tol, "got {got}, want {want}");
    }

    fn t2(v: &[f32], rows: i64) -> Tensor {
        Tensor::from_slice(v).view([rows, -1])
    }

    #[test]
    fn area_ratios_are_normalised_l1_norms() {
        // Front area 3, rear 1, side 0 → 0.75, 0.25, 0; an all-zero image → 0, 0, 0.
        let masks = Tensor::from_slice(&[
            1.0f32, 1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ])
        .view([2, 3, 2, 2]);
        let r = area_ratios(&masks);
        close(&r.get(0).get(0), 0.75, 1e-6);
        close(&r.get(0).get(1), 0.25, 1e-6);
        close(&r.get(0).get(2), 0.0, 1e-6);
        close(&r.get(1).sum(Kind::Float), 0.0, 1e-6);
    }

    #[test]
    fn cpdm_of_two_images_matches_hand_computation() {
        // d = 2. a: f0 (0,0), f1 (1,0), f2 (0,0), f3 (0,0), AR (0.5, 0, 0.5).
        //        b: f0 (3,4), f1 (1,1), f2 (5,5), f3 (0,2), AR (0.5, 0.5, 0).
        // Products: global 1, front .25, rear 0, side 0 → w = (0.8, 0.2, 0, 0).
        // Dist = 0.8·5 + 0.2·1 = 4.2.
        let parts = [
            t2(&[0.0, 0.0, 3.0, 4.0], 2),
            t2(&[1.0, 0.0, 1.0, 1.0], 2),
            t2(&[0.0, 0.0, 5.0, 5.0], 2),
            t2(&[0.0, 0.0, 0.0, 2.0], 2),
        ];
        let ratios = t2(&[0.5, 0.0, 0.5, 0.5, 0.5, 0.0], 2);
        let d = cpdm_matrix(&parts, &ratios);
        close(&d.get(0).get(1), 4.2, 1e-5);
        close(&d.get(1).get(0), 4.2, 1e-5);
        close(&d.get(0).get(0), 0.0, 1e-5);
    }

    #[test]
    fn cpdm_matrix_equals_the_core_library_distance() {
        tch::manual_seed(3);
        let n = 5;
        let parts: Vec<Tensor> = (0..4)
            .map(|_| Tensor::randn([n, 8], (Kind::Float, Device::Cpu)))
            .collect();
        let masks = Tensor::rand([n, 3, 4, 4], (Kind::Float, Device::Cpu));
        let ratios = area_ratios(&masks);
        let d = cpdm_matrix(&parts, &ratios);
        let rows: Vec<Vec<Vec<f32>>> = (0..n)
            .map(|i| {
                parts
                    .iter()
                    .map(|p| Vec::<f32>::try_from(p.get(i)).expect("floats"))
                    .collect()
            })
            .collect();
        let ar: Vec<AreaRatios> = (0..n)
            .map(|i| {
                let v = Vec::<f32>::try_from(ratios.get(i)).expect("floats");
                AreaRatios([v[0], v[1], v[2]])
            })
            .collect();
        let feats = |i: usize| {
            let r = &rows[i];
            PartFeatures::new([&r[0], &r[1], &r[2], &r[3]], ar[i]).expect("dims")
        };
        for a in 0..n as usize {
            for b in 0..n as usize {
                if a == b {
                    continue;
                }
                let want = cpdm::distance(Metric::Cpdm, &feats(a), &feats(b)).expect("dist");
                close(&d.get(a as i64).get(b as i64), f64::from(want), 1e-4);
            }
        }
    }

    #[test]
    fn batch_hard_triplet_picks_farthest_positive_and_nearest_negative() {
        // Labels 0, 0, 1. Anchor 0: d_ap = 2, d_an = 3 → [2 − 3 + 0.5]₊ = 0
        //                 anchor 1: d_ap = 2, d_an = 1 → 1.5
        //                 anchor 2: no positive → left out. Mean over 2 anchors = 0.75.
        let dist = t2(&[0.0, 2.0, 3.0, 2.0, 0.0, 1.0, 3.0, 1.0, 0.0], 3);
        let labels = Tensor::from_slice(&[0i64, 0, 1]);
        close(&batch_hard_triplet(&dist, &labels, Some(0.5)), 0.75, 1e-6);
        // Soft margin: (ln(1 + e^-1) + ln(1 + e^1)) / 2.
        let soft = ((1.0 + (-1.0f64).exp()).ln() + (1.0 + 1.0f64.exp()).ln()) / 2.0;
        close(&batch_hard_triplet(&dist, &labels, None), soft, 1e-6);
        let single = Tensor::from_slice(&[0i64, 1, 2]);
        close(&batch_hard_triplet(&dist, &single, Some(0.5)), 0.0, 1e-9);
    }

    #[test]
    fn id_loss_with_and_without_smoothing() {
        // Logits (0, ln 3): p = (1/4, 3/4). Label 1: −ln(3/4).
        let logits = t2(&[0.0, 3.0f32.ln()], 1);
        let labels = Tensor::from_slice(&[1i64]);
        let nll = -(0.75f64).ln();
        close(&id_loss(&logits, &labels, 0.0), nll, 1e-6);
        // ε = 0.2: 0.8·nll + 0.2·mean(−ln p) = 0.8·nll + 0.1·(ln 4 + ln 4/3).
        let want = 0.8 * nll + 0.1 * (4.0f64.ln() + (4.0f64 / 3.0).ln());
        close(&id_loss(&logits, &labels, 0.2), want, 1e-6);
    }

    #[test]
    fn gradients_are_finite_at_zero_distance() {
        let f = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let parts = [f.shallow_clone(), f.copy(), f.copy(), f.copy()];
        let ratios = Tensor::full([2, 3], 1.0 / 3.0, (Kind::Float, Device::Cpu));
        let d = cpdm_matrix(&parts, &ratios);
        let loss = batch_hard_triplet(&d, &Tensor::from_slice(&[0i64, 1]), Some(0.3));
        loss.backward();
        let g = f.grad();
        assert!(
            g.isfinite().all().int64_value(&[]) == 1,
            "non-finite gradient"
        );
    }
}
