//! SPAN's step-1 losses, eq. 1–3 of the paper, as functions of tensors.
//!
//! Shapes: masks `M` N×3×H×W (front, rear, side) in [0, 1]; foreground `V` N×1×H×W in
//! {0, 1}; labels `l` N×3; max area ratios `a_l` N×3 (the row of supplementary Table 1 for
//! each image's viewpoint); margins `m` for the pairs (front, rear), (front, side),
//! (rear, side).
//!
//! [`class_losses`] generalises the three terms to one mask per class with image-level
//! labels (the multi-digit experiment of Fig. 4b).
//!
//! Every term is computed per image as the equation states and averaged over the batch:
//! - eq. 1 `L_recon = ‖V − Σ l_i M_i‖₂`, read as the paper says, the mean squared error
//!   over pixels;
//! - eq. 2 `L_area = Σ_i [‖M_i‖₁ / ‖V‖₁ − a_{l,i}]₊`;
//! - eq. 3 `L_div = Σ_{(i,j)} [M_i · M_j − m_{i,j}]₊`, with `M_i · M_j` the pixel mean of
//!   the product (so that the margins, e.g. 0.04, are fractions of the image).

use tch::{Kind, Tensor};

/// Each term and the weighted sum, all scalar tensors.
pub struct SpanLosses {
    /// eq. 1.
    pub recon: Tensor,
    /// eq. 2.
    pub area: Tensor,
    /// eq. 3.
    pub div: Tensor,
    /// λ_recon·recon + λ_area·area + λ_div·div.
    pub total: Tensor,
}

/// The three λ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lambdas {
    /// Weight of eq. 1.
    pub recon: f64,
    /// Weight of eq. 2.
    pub area: f64,
    /// Weight of eq. 3.
    pub div: f64,
}

/// Margins of eq. 3 for the view pairs (front, rear), (front, side), (rear, side).
pub type Margins = [f64; 3];

/// View-index pairs `P` of eq. 3, in [`Margins`] order.
pub const PAIRS: [(i64, i64); 3] = [(0, 1), (0, 2), (1, 2)];

/// Guards ‖V‖₁ of an empty foreground mask.
const MIN_FOREGROUND_AREA: f64 = 1.0;

/// eq. 1: mean squared error between `fg` and the label-gated sum of masks.
pub fn recon_loss(masks: &Tensor, labels: &Tensor, fg: &Tensor) -> Tensor {
    let (n, v) = (masks.size()[0], masks.size()[1]);
    let gated = (masks * labels.view([n, v, 1, 1])).sum_dim_intlist(1, true, Kind::Float);
    (fg - gated).square().mean(Kind::Float)
}

/// eq. 2: hinge on each mask's area relative to the foreground area, summed over views,
/// averaged over the batch.
pub fn area_loss(masks: &Tensor, fg: &Tensor, max_area: &Tensor) -> Tensor {
    let area = masks.sum_dim_intlist([2i64, 3].as_slice(), false, Kind::Float);
    let fg_area = fg
        .sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Float)
        .clamp_min(MIN_FOREGROUND_AREA)
        .unsqueeze(1);
    (area / fg_area - max_area)
        .relu()
        .sum_dim_intlist(1, false, Kind::Float)
        .mean(Kind::Float)
}

/// eq. 3: hinge on the mean overlap of each pair of masks, summed over pairs, averaged
/// over the batch.
pub fn diversity_loss(masks: &Tensor, margins: Margins) -> Tensor {
    let pairs: Vec<(i64, i64, f64)> = PAIRS
        .iter()
        .zip(margins)
        .map(|(&(i, j), m)| (i, j, m))
        .collect();
    diversity_loss_pairs(masks, &pairs)
}

/// eq. 3 over any list of mask pairs `(i, j, m_ij)`: the hinge on each pair's mean overlap,
/// summed over pairs, averaged over the batch. Zero for an empty list.
pub fn diversity_loss_pairs(masks: &Tensor, pairs: &[(i64, i64, f64)]) -> Tensor {
    if pairs.is_empty() {
        return Tensor::zeros([], (Kind::Float, masks.device()));
    }
    let terms: Vec<Tensor> = pairs
        .iter()
        .map(|&(i, j, m)| {
            let overlap = (masks.select(1, i) * masks.select(1, j)).mean_dim(
                [1i64, 2].as_slice(),
                false,
                Kind::Float,
            );
            (overlap - m).relu()
        })
        .collect();
    Tensor::stack(&terms, 1)
        .sum_dim_intlist(1, false, Kind::Float)
        .mean(Kind::Float)
}

/// Every unordered pair of `n` masks, each with margin `margin`.
pub fn all_pairs(n: i64, margin: f64) -> Vec<(i64, i64, f64)> {
    (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j, margin)))
        .collect()
}

/// `masks` averaged over `pool`×`pool` cells (unchanged for `pool` ≤ 1).
///
/// eq. 3 on pixels is satisfied by any fine interleaving of two masks (a checkerboard of
/// front and side has no overlap); the feature network pools the masks to its own, coarser
/// grid, where such an interleaving is a flat half-and-half. eq. 3 on pooled masks asks the
/// masks to be apart at that scale too. A deviation from the paper (`loss.div_pool`, default
/// 1 = the paper's eq. 3).
pub fn pooled(masks: &Tensor, pool: i64) -> Tensor {
    if pool <= 1 {
        masks.shallow_clone()
    } else {
        masks.avg_pool2d([pool, pool], [pool, pool], [0, 0], true, true, None)
    }
}

/// All three terms and `L_step1`; eq. 3 on masks pooled over `div_pool` pixels.
pub fn span_losses(
    masks: &Tensor,
    labels: &Tensor,
    fg: &Tensor,
    max_area: &Tensor,
    (margins, div_pool): (Margins, i64),
    lambdas: Lambdas,
) -> SpanLosses {
    let recon = recon_loss(masks, labels, fg);
    let area = area_loss(masks, fg, max_area);
    let div = diversity_loss(&pooled(masks, div_pool), margins);
    let total = &recon * lambdas.recon + &area * lambdas.area + &div * lambdas.div;
    SpanLosses {
        recon,
        area,
        div,
        total,
    }
}

/// SPAN with one mask per class and image-level labels (the multi-digit experiment of
/// Fig. 4b): `masks` N×C×H×W, `present` N×C in {0, 1}, `fg` N×1×H×W.
///
/// eq. 1 gates the masks by `present`; eq. 2 caps each mask's area ratio at 1 for a
/// present class and 0 for an absent one (i.e. `a_l = present`); eq. 3 runs over all
/// C·(C−1)/2 pairs with one margin.
pub fn class_losses(
    masks: &Tensor,
    present: &Tensor,
    fg: &Tensor,
    margin: f64,
    lambdas: Lambdas,
) -> SpanLosses {
    let recon = recon_loss(masks, present, fg);
    let area = area_loss(masks, fg, present);
    let div = diversity_loss_pairs(masks, &all_pairs(masks.size()[1], margin));
    let total = &recon * lambdas.recon + &area * lambdas.area + &div * lambdas.div;
    SpanLosses {
        recon,
        area,
        div,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 2×2 images. Image 0: front-side, V = top row; F = [1 .5; 0 0], R = [0 0; 0 .5],
    /// S = [.5 .5; 0 0]. Image 1: front, V = all ones, F = all ones, R = S = 0.
    fn fixture() -> (Tensor, Tensor, Tensor, Tensor) {
        #[rustfmt::skip]
        let masks = Tensor::from_slice(&[
            1.0f32, 0.5, 0.0, 0.0,   0.0, 0.0, 0.0, 0.5,   0.5, 0.5, 0.0, 0.0,
            1.0, 1.0, 1.0, 1.0,      0.0, 0.0, 0.0, 0.0,   0.0, 0.0, 0.0, 0.0,
        ])
        .view([2, 3, 2, 2]);
        let fg =
            Tensor::from_slice(&[1.0f32, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]).view([2, 1, 2, 2]);
        let labels = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0]).view([2, 3]);
        let caps = Tensor::from_slice(&[0.7f32, 0.0, 0.7, 1.0, 0.0, 0.0]).view([2, 3]);
        (masks, fg, labels, caps)
    }

    fn close(t: &Tensor, want: f64) {
        let got = t.double_value(&[]);
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    #[test]
    fn recon_is_mse_of_label_gated_sum() {
        let (masks, fg, labels, _) = fixture();
        // Image 0: residual −0.5 at one pixel of 4 → 0.0625; image 1: exact → 0.
        close(&recon_loss(&masks, &labels, &fg), 0.03125);
    }

    #[test]
    fn area_hinges_each_view_ratio() {
        let (masks, fg, _, caps) = fixture();
        // Image 0: F 1.5/2 − .7 = .05, R .5/2 − 0 = .25, S 1/2 − .7 < 0 → .30; image 1: 0.
        close(&area_loss(&masks, &fg, &caps), 0.15);
    }

    #[test]
    fn diversity_hinges_pairwise_overlap() {
        let (masks, _, _, _) = fixture();
        // Image 0: F·S mean = (.5 + .25)/4 = .1875 − .04 = .1475; F·R = R·S = 0 → 0.
        close(&diversity_loss(&masks, [0.0, 0.04, 0.04]), 0.07375);
        // With no margins F·S counts fully.
        close(&diversity_loss(&masks, [0.0, 0.0, 0.0]), 0.09375);
    }

    #[test]
    fn total_uses_the_lambdas() {
        let (masks, fg, labels, caps) = fixture();
        let l = span_losses(
            &masks,
            &labels,
            &fg,
            &caps,
            ([0.0, 0.04, 0.04], 1),
            Lambdas {
                recon: 1.0,
                area: 0.5,
                div: 1.0,
            },
        );
        close(&l.total, 0.03125 + 0.5 * 0.15 + 0.07375);
        close(&l.recon, 0.03125);
    }

    #[test]
    fn pooled_diversity_sees_an_interleaving() {
        // Front and side in a 2×2 checkerboard: no overlap per pixel, half and half per cell.
        let f = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).view([1, 1, 2, 2]);
        let s = Tensor::from_slice(&[0.0f32, 1.0, 1.0, 0.0]).view([1, 1, 2, 2]);
        let r = Tensor::zeros([1, 1, 2, 2], (Kind::Float, tch::Device::Cpu));
        let masks = Tensor::cat(&[f, r, s], 1);
        close(&diversity_loss(&pooled(&masks, 1), [0.0; 3]), 0.0);
        close(&diversity_loss(&pooled(&masks, 2), [0.0; 3]), 0.25);
    }

    #[test]
    fn empty_foreground_does_not_divide_by_zero() {
        let masks = Tensor::full([1, 3, 2, 2], 0.25, (Kind::Float, tch::Device::Cpu));
        let fg = Tensor::zeros([1, 1, 2, 2], (Kind::Float, tch::Device::Cpu));
        let caps = Tensor::zeros([1, 3], (Kind::Float, tch::Device::Cpu));
        // Each mask has area 1; ‖V‖₁ is clamped to 1 → three ratios of 1.
        close(&area_loss(&masks, &fg, &caps), 3.0);
    }

    #[test]
    fn all_pairs_lists_each_unordered_pair_once() {
        assert_eq!(all_pairs(3, 0.1), [(0, 1, 0.1), (0, 2, 0.1), (1, 2, 0.1)]);
        assert!(all_pairs(1, 0.0).is_empty());
        assert_eq!(all_pairs(4, 0.0).len(), 6);
    }

    /// One 2×2 canvas, 4 classes: class 0 present (top-left digit pixel), class 2 present
    /// (bottom-right), classes 1 and 3 absent. V = [1 0; 0 1].
    /// M0 = [1 .5; 0 0], M1 = [0 0; .5 0], M2 = [0 .5; 0 .5], M3 = 0.
    fn four_class_fixture() -> (Tensor, Tensor, Tensor) {
        #[rustfmt::skip]
        let masks = Tensor::from_slice(&[
            1.0f32, 0.5, 0.0, 0.0,
            0.0, 0.0, 0.5, 0.0,
            0.0, 0.5, 0.0, 0.5,
            0.0, 0.0, 0.0, 0.0,
        ])
        .view([1, 4, 2, 2]);
        let present = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0]).view([1, 4]);
        let fg = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).view([1, 1, 2, 2]);
        (masks, present, fg)
    }

    #[test]
    fn class_losses_by_hand() {
        let (masks, present, fg) = four_class_fixture();
        let l = class_losses(
            &masks,
            &present,
            &fg,
            0.0,
            Lambdas {
                recon: 1.0,
                area: 0.5,
                div: 2.0,
            },
        );
        // Gated sum M0 + M2 = [1 1; 0 .5]; V − it = [0 −1; 0 .5] → (1 + .25)/4.
        close(&l.recon, 0.3125);
        // ‖V‖₁ = 2. M0 1.5/2 − 1 < 0; M1 (absent) .5/2 − 0 = .25; M2 1/2 − 1 < 0; M3 0.
        close(&l.area, 0.25);
        // Overlaps (pixel means): M0·M2 = .25/4; every other pair is 0.
        close(&l.div, 0.0625);
        close(&l.total, 0.3125 + 0.5 * 0.25 + 2.0 * 0.0625);
        // A margin above the overlap removes it.
        let m = class_losses(
            &masks,
            &present,
            &fg,
            0.1,
            Lambdas {
                recon: 1.0,
                area: 1.0,
                div: 1.0,
            },
        );
        close(&m.div, 0.0);
    }

    #[test]
    fn vehicle_diversity_equals_the_pair_list_form() {
        let (masks, _, _, _) = fixture();
        let pairs = [(0, 1, 0.0), (0, 2, 0.04), (1, 2, 0.04)];
        let a = diversity_loss(&masks, [0.0, 0.04, 0.04]);
        let b = diversity_loss_pairs(&masks, &pairs);
        assert!(a.equal(&b));
        close(&diversity_loss_pairs(&masks, &[]), 0.0);
    }

    #[test]
    fn gradients_flow_to_the_masks() {
        let (masks, fg, labels, caps) = fixture();
        let masks = masks.set_requires_grad(true);
        let l = span_losses(
            &masks,
            &labels,
            &fg,
            &caps,
            ([0.0, 0.04, 0.04], 1),
            Lambdas {
                recon: 1.0,
                area: 0.5,
                div: 1.0,
            },
        );
        l.total.backward();
        assert!(masks.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
