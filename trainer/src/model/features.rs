//! The part feature network (Sec. 3.2): a shared backbone stage 1, the SPAN masks resized
//! to its map and multiplied in (the global branch stays unmasked), then four stage-2
//! branches (global, front, rear, side), each → global average pooling → FC to `d` →
//! batch-norm neck, and one identity classifier per branch on the neck features.
//!
//! Input: RGB in [0, 1], N×3×H×W, and the SPAN masks N×3×H'×W' (front, rear, side) of the
//! same images at any resolution; the ImageNet normalisation happens inside.
//!
//! Table 2's ablations change the shape (see [`Aggregation`]): the baseline builds the global
//! branch alone; `fc` adds a fusion head (FC from the four concatenated FC features to `d`,
//! BN neck, classifier) under `fusion.*`.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::config::FeatureModelConfig;
use crate::config::aggregation::Aggregation;
use crate::model::backbone;
use crate::model::span::{IMAGENET_MEAN, IMAGENET_STD};

/// Branch names in [`spanreid::Part`] order: global, front, rear, side.
pub const BRANCHES: [&str; 4] = ["global", "front", "rear", "side"];

/// Variable-name prefix of the fusion head of [`Aggregation::Fc`].
pub const FUSION_PREFIX: &str = "fusion";

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

/// FC → BN neck → identity classifier, on top of a branch or of the fusion.
struct Head {
    fc: nn::Linear,
    neck: nn::BatchNorm,
    classifier: nn::Linear,
}

impl Head {
    fn new(p: &nn::Path<'_>, inputs: i64, dim: i64, classes: i64) -> Self {
        Self {
            fc: nn::linear(p / "fc", inputs, dim, Default::default()),
            neck: nn::batch_norm1d(p / "neck", dim, Default::default()),
            classifier: nn::linear(
                p / "classifier",
                dim,
                classes.max(1),
                nn::LinearConfig {
                    bias: false,
                    ..Default::default()
                },
            ),
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> HeadOutput {
        let embedding = x.apply(&self.fc);
        let neck = embedding.apply_t(&self.neck, train);
        HeadOutput {
            logits: self.classifier.forward(&neck),
            embedding,
            neck,
        }
    }
}

/// What one head gives.
pub struct HeadOutput {
    /// FC feature before the neck (N×d): the triplet loss reads it.
    pub embedding: Tensor,
    /// Batch-norm neck feature (N×d): the retrieval feature.
    pub neck: Tensor,
    /// Identity logits (N×classes).
    pub logits: Tensor,
}

struct Branch {
    stage2: nn::SequentialT,
    head: Head,
}

/// The network.
pub struct FeatureNet {
    stage1: nn::SequentialT,
    branches: Vec<Branch>,
    fusion: Option<Head>,
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
    /// The fusion head's output ([`Aggregation::Fc`] only).
    pub fused: Option<HeadOutput>,
}

impl FeatureNet {
    /// Builds the variables under `p` for `classes` training identities.
    pub fn new(p: &nn::Path<'_>, config: &FeatureModelConfig, classes: i64) -> Self {
        let stage1 = backbone::stage1(&(p / STAGE1_PREFIX), config.backbone);
        let dim = i64::from(config.dim);
        let branches = BRANCHES[..config.aggregation.branches()]
            .iter()
            .map(|name| {
                let bp = p / branch_prefix(name);
                let stage2 =
                    backbone::stage2(&(&bp / BACKBONE), config.backbone, config.stage2_options());
                Branch {
                    head: Head::new(&bp, stage2.out_channels, dim, classes),
                    stage2: stage2.net,
                }
            })
            .collect();
        let fusion = (config.aggregation == Aggregation::Fc).then(|| {
            Head::new(
                &(p / FUSION_PREFIX),
                dim * BRANCHES.len() as i64,
                dim,
                classes,
            )
        });
        let device = p.device();
        Self {
            stage1: stage1.net,
            branches,
            fusion,
            mean: Tensor::from_slice(&IMAGENET_MEAN)
                .view([1, 3, 1, 1])
                .to_device(device),
            std: Tensor::from_slice(&IMAGENET_STD)
                .view([1, 3, 1, 1])
                .to_device(device),
        }
    }

    /// Runs the network on `images` with the SPAN `masks` of the same images (ignored by the
    /// baseline, which has no masked branch).
    pub fn forward(&self, images: &Tensor, masks: &Tensor, train: bool) -> FeatureOutput {
        let x = (images.to_kind(Kind::Float) - &self.mean) / &self.std;
        let shared = x.apply_t(&self.stage1, train);
        let (h, w) = (shared.size()[2], shared.size()[3]);
        let masks = masks.to_kind(Kind::Float).adaptive_avg_pool2d([h, w]);
        let mut out = FeatureOutput {
            embeddings: Vec::with_capacity(4),
            necks: Vec::with_capacity(4),
            logits: Vec::with_capacity(4),
            fused: None,
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
            let h = b.head.forward(&pooled, train);
            out.logits.push(h.logits);
            out.embeddings.push(h.embedding);
            out.necks.push(h.neck);
        }
        out.fused = self
            .fusion
            .as_ref()
            .map(|f| f.forward(&Tensor::cat(&out.embeddings, 1), train));
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
    fn resnet50_shares_conv1_to_conv4_and_gives_each_branch_its_conv5() {
        for last_stride_one in [false, true] {
            let vs = nn::VarStore::new(Device::Cpu);
            let config = FeatureModelConfig {
                backbone: Backbone::Resnet50,
                last_stride_one,
                ..tiny()
            };
            let net = FeatureNet::new(&vs.root(), &config, 4);
            let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
            let m = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
            let out = net.forward(&x, &m, true);
            for i in 0..4 {
                assert_eq!(out.embeddings[i].size(), [2, 16]);
                assert_eq!(out.logits[i].size(), [2, 4]);
            }
            let vars = vs.variables();
            assert!(vars.contains_key("stage1.layer3.5.bn3.running_mean"));
            assert!(!vars.keys().any(|k| k.starts_with("stage1.layer4")));
            assert!(vars.contains_key("branch_side.backbone.layer4.2.conv3.weight"));
            assert!(
                !vars
                    .keys()
                    .any(|k| k.starts_with("branch_side.backbone.layer3"))
            );
            assert_eq!(vars["branch_rear.fc.weight"].size(), [16, 2048]);
        }
    }

    #[test]
    fn the_baseline_has_one_branch_and_fc_a_fusion_head() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = FeatureModelConfig {
            aggregation: Aggregation::GlobalOnly,
            ..tiny()
        };
        let net = FeatureNet::new(&vs.root(), &config, 5);
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let no_masks = Tensor::zeros([2, 3, 1, 1], (Kind::Float, Device::Cpu));
        let out = net.forward(&x, &no_masks, true);
        assert_eq!(out.necks.len(), 1);
        assert!(out.fused.is_none());
        let vars = vs.variables();
        assert!(vars.contains_key("branch_global.fc.weight"));
        assert!(!vars.keys().any(|k| k.starts_with("branch_front")));

        let vs = nn::VarStore::new(Device::Cpu);
        let config = FeatureModelConfig {
            aggregation: Aggregation::Fc,
            ..tiny()
        };
        let net = FeatureNet::new(&vs.root(), &config, 5);
        let m = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let out = net.forward(&x, &m, true);
        let fused = out.fused.expect("fusion head");
        assert_eq!(fused.neck.size(), [2, 16]);
        assert_eq!(fused.logits.size(), [2, 5]);
        assert_eq!(vs.variables()["fusion.fc.weight"].size(), [16, 64]);
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
