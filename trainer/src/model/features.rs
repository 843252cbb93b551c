//! The part feature network (Sec. 3.2): a shared backbone stage 1, the SPAN masks resized
//! to its map and multiplied in (the global branch stays unmasked), then four stage-2
//! branches (global, front, rear, side), each → global average pooling → FC to `d` →
//! batch-norm neck, and one identity classifier per branch on the neck features.
//!
//! Input: RGB in [0, 1], N×3×H×W, and the SPAN masks N×3×H'×W' (front, rear, side) of the
//! same images at any resolution; the ImageNet normalisation happens inside.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::features_config::FeatureModelConfig;
use crate::model::backbone;
use crate::model::span::{IMAGENET_MEAN, IMAGENET_STD};

/// Branch names in [`spanreid::Part`] order: global, front, rear, side.
pub const BRANCHES: [&str; 4] = ["global", "front", "rear", "side"];

/// Variable-name prefix of the shared stage 1.
pub const STAGE1_PREFIX: &str = "stage1";

/// Variable-name prefix of branch `name` (its stage 2, FC, neck and classifier).
pub fn branch_prefix(name: &str) -> String {
    format!("branch_{name}")
}

/// Variable-name prefix of branch `name`'s stage 2 alone (where ImageNet weights load).
pub fn branch_backbone_prefix(name: &str) -> String {
    format!("{}.{BACKBONE}", branch_prefix(name))
}

const BACKBONE: &str = "backbone";

struct Branch {
    stage2: nn::SequentialT,
    fc: nn::Linear,
    neck: nn::BatchNorm,
    classifier: nn::Linear,
}

/// The network.
pub struct FeatureNet {
    stage1: nn::SequentialT,
    branches: Vec<Branch>,
    mean: Tensor,
    std: Tensor,
}

/// One forward pass.
pub struct FeatureOutput {
    /// Per branch, the FC features before the neck (N×d): the triplet loss reads these.
    pub embeddings: Vec<Tensor>,
    /// Per branch, the batch-norm neck features (N×d): the retrieval features.
    pub necks: Vec<Tensor>,
    /// Per branch, identity logits (N×classes).
    pub logits: Vec<Tensor>,
}

impl FeatureNet {
    /// Builds the variables under `p` for `classes` training identities.
    pub fn new(p: &nn::Path<'_>, config: &FeatureModelConfig, classes: i64) -> Self {
        let stage1 = backbone::stage1(&(p / STAGE1_PREFIX), config.backbone);
        let dim = i64::from(config.dim);
        let branches = BRANCHES
            .iter()
            .map(|name| {
                let bp = p / branch_prefix(name);
                let stage2 =
                    backbone::stage2(&(&bp / BACKBONE), config.backbone, config.stage2_head);
                let fc = nn::linear(&bp / "fc", stage2.out_channels, dim, Default::default());
                let neck = nn::batch_norm1d(&bp / "neck", dim, Default::default());
                let classifier = nn::linear(
                    &bp / "classifier",
                    dim,
                    classes.max(1),
                    nn::LinearConfig {
                        bias: false,
                        ..Default::default()
                    },
                );
                Branch {
                    stage2: stage2.net,
                    fc,
                    neck,
                    classifier,
                }
            })
            .collect();
        let device = p.device();
        Self {
            stage1: stage1.net,
            branches,
            mean: Tensor::from_slice(&IMAGENET_MEAN)
                .view([1, 3, 1, 1])
                .to_device(device),
            std: Tensor::from_slice(&IMAGENET_STD)
                .view([1, 3, 1, 1])
                .to_device(device),
        }
    }

    /// Runs the network on `images` with the SPAN `masks` of the same images.
    pub fn forward(&self, images: &Tensor, masks: &Tensor, train: bool) -> FeatureOutput {
        let x = (images.to_kind(Kind::Float) - &self.mean) / &self.std;
        let shared = x.apply_t(&self.stage1, train);
        let (h, w) = (shared.size()[2], shared.size()[3]);
        let masks = masks.to_kind(Kind::Float).adaptive_avg_pool2d([h, w]);
        let mut out = FeatureOutput {
            embeddings: Vec::with_capacity(4),
            necks: Vec::with_capacity(4),
            logits: Vec::with_capacity(4),
        };
        for (i, b) in self.branches.iter().enumerate() {
            let input = if i == 0 {
                shared.shallow_clone()
            } else {
                &shared * masks.narrow(1, i as i64 - 1, 1)
            };
            let pooled = input
                .apply_t(&b.stage2, train)
                .adaptive_avg_pool2d([1, 1])
                .flatten(1, -1);
            let embedding = pooled.apply(&b.fc);
            let neck = embedding.apply_t(&b.neck, train);
            out.logits.push(b.classifier.forward(&neck));
            out.embeddings.push(embedding);
            out.necks.push(neck);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backbone;
    use tch::Device;

    fn tiny() -> FeatureModelConfig {
        FeatureModelConfig {
            backbone: Backbone::MobilenetV2,
            input_size: 64,
            dim: 16,
            ..Default::default()
        }
    }

    #[test]
    fn four_branches_give_d_dimensional_features_and_logits() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = FeatureNet::new(&vs.root(), &tiny(), 5);
        let x = Tensor::rand([3, 3, 64, 64], (Kind::Float, Device::Cpu));
        let m = Tensor::rand([3, 3, 64, 64], (Kind::Float, Device::Cpu));
        let out = net.forward(&x, &m, true);
        assert_eq!(out.necks.len(), 4);
        for i in 0..4 {
            assert_eq!(out.embeddings[i].size(), [3, 16]);
            assert_eq!(out.necks[i].size(), [3, 16]);
            assert_eq!(out.logits[i].size(), [3, 5]);
        }
        let vars = vs.variables();
        assert!(vars.contains_key("stage1.features.13.conv.1.0.weight"));
        assert!(vars.contains_key("branch_side.backbone.features.18.1.running_var"));
        assert!(!vars.contains_key("branch_side.backbone.features.13.conv.1.0.weight"));
        assert_eq!(vars["branch_rear.fc.weight"].size(), [16, 1280]);
    }

    #[test]
    fn a_zero_mask_silences_its_branch_but_not_the_global_one() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = FeatureNet::new(&vs.root(), &tiny(), 3);
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let zeros = Tensor::zeros([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        // Eval mode: the neck is a fixed affine map, so equal inputs give equal features.
        let a = net.forward(&x, &zeros, false);
        let y = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let b = net.forward(&y, &zeros, false);
        for i in 1..4 {
            assert!(a.embeddings[i].allclose(&b.embeddings[i], 1e-5, 1e-6, false));
        }
        assert!(!a.embeddings[0].allclose(&b.embeddings[0], 1e-5, 1e-6, false));
    }
}
