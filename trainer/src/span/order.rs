//! The order term, a deviation from the paper (`[loss] lambda_order`, recipe
//! `trainer/configs/cpu-order.toml`): eq. 1–3 say how much of a two-view image each mask
//! may take, not where, so the split can fall at either end. Which end of a two-view
//! image is the front (or rear) is an image-level label ([`crate::train::facing::Facing`]);
//! this term asks the end mask's horizontal centroid to lie on that side of the side
//! mask's.

use tch::{Kind, Tensor};

/// Horizontal centroid of each mask, with x running from 0 (left) to 1 (right): N×C for
/// N×C×H×W masks.
pub fn centroid_x(masks: &Tensor) -> Tensor {
    let w = masks.size()[3];
    let x = Tensor::linspace(0.0, 1.0, w, (Kind::Float, masks.device())).view([1, 1, 1, w]);
    let dims = [2i64, 3];
    let mass = masks.sum_dim_intlist(dims.as_slice(), false, Kind::Float);
    (masks * x).sum_dim_intlist(dims.as_slice(), false, Kind::Float) / mass.clamp_min(1e-3)
}

/// The order term, a deviation from the paper (`loss.lambda_order`): on a two-view image
/// whose facing is known (`facing` N: +1 the front points right, −1 left, 0 unknown), the
/// end mask's horizontal centroid lies at least `margin` (a fraction of the image width)
/// beyond the side mask's, towards the front for a front-side image and away from it for a
/// rear-side one. Eq. 1–3 leave where a two-view image's parts lie free (any split within
/// the area caps costs nothing); this image-level label says which end is which.
pub fn order_loss(masks: &Tensor, labels: &Tensor, facing: &Tensor, margin: f64) -> Tensor {
    let c = centroid_x(masks);
    let (front, rear, side) = (c.select(1, 0), c.select(1, 1), c.select(1, 2));
    let front_side = labels.select(1, 0) * labels.select(1, 2);
    let rear_side = labels.select(1, 1) * labels.select(1, 2);
    let front_gap = facing * (front - &side);
    let rear_gap = facing * (side - rear);
    let hinge = |gap: Tensor| (-gap + margin).relu();
    ((front_side * hinge(front_gap) + rear_side * hinge(rear_gap)) * facing.abs()).mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(t: &Tensor, want: f64) {
        let got = t.double_value(&[]);
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    #[test]
    fn order_asks_the_end_mask_towards_its_end() {
        // One row of 5 pixels. Front on the left two, side on the right three.
        let row = |v: [f32; 5]| Tensor::from_slice(&v).view([1, 1, 1, 5]);
        let masks = Tensor::cat(
            &[
                row([1.0, 1.0, 0.0, 0.0, 0.0]),
                row([0.0; 5]),
                row([0.0, 0.0, 1.0, 1.0, 1.0]),
            ],
            1,
        );
        let c = centroid_x(&masks);
        close(&c.select(1, 0).squeeze(), 0.125);
        close(&c.select(1, 2).squeeze(), 0.75);
        let fs = Tensor::from_slice(&[1.0f32, 0.0, 1.0]).view([1, 3]);
        let left = Tensor::from_slice(&[-1.0f32]);
        let right = Tensor::from_slice(&[1.0f32]);
        let unknown = Tensor::from_slice(&[0.0f32]);
        // Front points left: the front mask is 0.625 left of the side's, beyond 0.1.
        close(&order_loss(&masks, &fs, &left, 0.1), 0.0);
        // Front points right: wrong end, 0.1 + 0.625.
        close(&order_loss(&masks, &fs, &right, 0.1), 0.725);
        close(&order_loss(&masks, &fs, &unknown, 0.1), 0.0);
        // Rear-side, facing right: the rear end is on the left, as the (rear) mask is here.
        let rs = Tensor::from_slice(&[0.0f32, 1.0, 1.0]).view([1, 3]);
        let masks_rear = Tensor::cat(
            &[
                masks.select(1, 1).unsqueeze(1),
                masks.select(1, 0).unsqueeze(1),
                masks.select(1, 2).unsqueeze(1),
            ],
            1,
        );
        close(&order_loss(&masks_rear, &rs, &right, 0.1), 0.0);
        close(&order_loss(&masks_rear, &rs, &left, 0.1), 0.725);
        // Single-view images are left alone.
        let front = Tensor::from_slice(&[1.0f32, 0.0, 0.0]).view([1, 3]);
        close(&order_loss(&masks, &front, &right, 0.1), 0.0);
    }
}
