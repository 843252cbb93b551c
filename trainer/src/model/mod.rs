//! Networks: backbones split into two stages, and the SPAN mask network.

pub mod backbone;
pub mod features;
pub mod span;

use std::path::Path;

use tch::nn::VarStore;

use crate::weights::{self, LoadReport, WeightsError};

/// Loads an ImageNet state_dict (torchvision names) into the backbone variables under
/// `prefix` in `vs`; every such variable must be provided. Other variables (the
/// generators) are left as initialised.
pub fn load_backbone_weights(
    vs: &mut VarStore,
    prefix: &str,
    path: &Path,
) -> Result<LoadReport, WeightsError> {
    let tensors: Vec<_> = weights::read_pth(path)?
        .into_iter()
        .map(|(name, t)| (format!("{prefix}.{name}"), t))
        .collect();
    let owned = format!("{prefix}.");
    weights::load_into(vs, &tensors, path, |var| !var.starts_with(&owned))
}
