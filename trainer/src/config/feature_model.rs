//! Network shape of the part feature network (step 2's `[model]`), shared by training and
//! export.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::aggregation::Aggregation;
use super::{Backbone, Stage2Options};

/// Network shape of the feature network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureModelConfig {
    /// Two-stage backbone.
    pub backbone: Backbone,
    /// Load ImageNet weights into stage 1 and every stage-2 branch.
    pub pretrained: bool,
    /// A torchvision `.pth` state_dict of the backbone's network: required with
    /// `pretrained` for the ResNets, replaces the installed weights for MobileNetV2.
    pub weights: Option<PathBuf>,
    /// Square input side in pixels; a multiple of the backbone's total stride.
    pub input_size: u32,
    /// Dimension `d` of each part feature (512 in the paper, 1024 as an option).
    pub dim: u32,
    /// MobileNetV2 only: keep the 1×1 head convolution to 1,280 channels at the end of each
    /// stage-2 branch (torchvision's `features[18]`). `false` ends the branches at the
    /// 320-channel block: a quarter fewer stage-2 parameters and an FC five times smaller,
    /// which is what keeps the shipped models under their size budget.
    pub stage2_head: bool,
    /// ResNet-50 only: layer4 with stride 1 (the re-identification "last stride 1", a
    /// feature map twice as large per side). `false` is torchvision's and the paper's
    /// stride 2.
    pub last_stride_one: bool,
    /// How the branches combine into one distance (Table 2's rows; `cpdm` is the method).
    pub aggregation: Aggregation,
}

impl FeatureModelConfig {
    /// The shape options of every stage-2 branch.
    pub fn stage2_options(&self) -> Stage2Options {
        Stage2Options {
            head: self.stage2_head,
            last_stride_one: self.last_stride_one,
        }
    }

    /// Output stride of stage 2: stage 1's, times 2 unless ResNet-50 keeps its last stride 1.
    pub fn total_stride(&self) -> u32 {
        self.backbone.total_stride(self.stage2_options())
    }
}

impl Default for FeatureModelConfig {
    fn default() -> Self {
        Self {
            backbone: Backbone::Resnet34,
            pretrained: false,
            weights: None,
            input_size: 192,
            dim: 512,
            stage2_head: true,
            last_stride_one: false,
            aggregation: Aggregation::Cpdm,
        }
    }
}
