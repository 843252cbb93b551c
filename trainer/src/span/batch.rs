//! Stacks decoded examples into the tensors the model and the losses take.

use tch::{Device, Tensor};

use crate::span::config::MaxAreaTable;
use crate::train::example::Example;

/// One batch on `device`.
pub struct Batch {
    /// N×3×S×S RGB in [0, 1].
    pub images: Tensor,
    /// N×1×S×S binary foreground `V`.
    pub fg: Tensor,
    /// N×3 semantic labels `l`.
    pub labels: Tensor,
    /// N×3 max area ratios `a_l`.
    pub max_area: Tensor,
    /// N facings: +1 the front points right, −1 left, 0 unknown.
    pub facing: Tensor,
}

/// Builds the batch; all examples must share one size (the loader guarantees it).
pub fn stack(examples: &[Example], caps: &MaxAreaTable, device: Device) -> Batch {
    let n = examples.len() as i64;
    let s = examples.first().map_or(0, |e| i64::from(e.size));
    let images: Vec<f32> = examples
        .iter()
        .flat_map(|e| e.image.iter().copied())
        .collect();
    let fg: Vec<f32> = examples.iter().flat_map(|e| e.fg.iter().copied()).collect();
    let labels: Vec<f32> = examples.iter().flat_map(|e| e.view.label()).collect();
    let max_area: Vec<f32> = examples
        .iter()
        .flat_map(|e| caps.caps(e.view).map(|a| a as f32))
        .collect();
    let facing: Vec<f32> = examples
        .iter()
        .map(|e| e.facing.map_or(0.0, |f| f.sign()))
        .collect();
    Batch {
        facing: Tensor::from_slice(&facing).to_device(device),
        images: Tensor::from_slice(&images)
            .view([n, 3, s, s])
            .to_device(device),
        fg: Tensor::from_slice(&fg).view([n, 1, s, s]).to_device(device),
        labels: Tensor::from_slice(&labels).view([n, 3]).to_device(device),
        max_area: Tensor::from_slice(&max_area).view([n, 3]).to_device(device),
    }
}
