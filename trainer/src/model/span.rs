//! SPAN (Sec. 3.1 and supplementary Sec. 2): `CNN_mask` (backbone stage 1) and three mask
//! generators G_front, G_rear, G_side.
//!
//! Each generator is a chain of generative blocks, ConvTranspose2d(4, 2, 1) + BatchNorm +
//! ReLU, the last one going to 1 channel and a sigmoid instead, so the masks come out at the
//! input resolution. The paper's ResNet-34 stage 1 and the dilated MobileNetV2 have stride
//! 8, hence 3 blocks; the plain MobileNetV2 stage 1 has stride 16 and gets 4 blocks (one more
//! learned ×2 up-sampling rather than a fixed interpolation). Channels: stage-1 output →
//! `width` → `width/2` → … → 1.
//!
//! With `model.frozen_layers = k` (MobileNetV2 only) the first k `features` entries keep
//! their ImageNet values: [`SpanNet::trunk`] runs them (in inference mode, without
//! gradients) so a training run can compute them once per image and cache the result, and
//! [`SpanNet::masks_from_trunk`] runs the rest.
//!
//! Input: RGB in [0, 1], N×3×H×W; the ImageNet normalisation happens inside [`SpanNet`].

use tch::nn;
use tch::{Kind, Tensor};

use crate::config::{Backbone, ModelConfig};
use crate::model::backbone;

/// ImageNet channel means (RGB).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Names of the three generators, in mask order `M_1..M_3`.
pub const GENERATORS: [&str; 3] = ["front", "rear", "side"];

/// Variable-name prefix of the backbone inside a SPAN var store.
pub const BACKBONE_PREFIX: &str = "backbone";

/// The SPAN mask network.
pub struct SpanNet {
    frozen: Option<nn::SequentialT>,
    backbone: nn::SequentialT,
    generators: Vec<nn::SequentialT>,
    mean: Tensor,
    std: Tensor,
}

/// Output stride of SPAN's `CNN_mask` under `config`.
pub fn mask_stride(config: &ModelConfig) -> u32 {
    match (config.backbone, config.stage1_layers) {
        (Backbone::MobilenetV2, Some(layers)) => {
            backbone::mobilenet_v2_stride(layers as usize, false)
        }
        (Backbone::MobilenetV2Dilated, Some(layers)) => {
            backbone::mobilenet_v2_stride(layers as usize, true)
        }
        (backbone, _) => backbone.stride(),
    }
}

/// Number of ×2 generative blocks needed to undo `CNN_mask`'s stride.
pub fn generative_blocks(config: &ModelConfig) -> u32 {
    mask_stride(config).trailing_zeros()
}

fn generator(p: nn::Path<'_>, c_in: i64, width: i64, blocks: u32) -> nn::SequentialT {
    let cfg = nn::ConvTransposeConfig {
        stride: 2,
        padding: 1,
        ..Default::default()
    };
    let mut net = nn::seq_t();
    let mut c = c_in;
    for b in 0..blocks {
        let bp = &p / b;
        if b + 1 == blocks {
            net = net
                .add(nn::conv_transpose2d(&bp / "deconv", c, 1, 4, cfg))
                .add_fn(|x| x.sigmoid());
        } else {
            let out = (width >> b).max(1);
            net = net
                .add(nn::conv_transpose2d(&bp / "deconv", c, out, 4, cfg))
                .add(nn::batch_norm2d(&bp / "bn", out, Default::default()))
                .add_fn(|x| x.relu());
            c = out;
        }
    }
    net
}

impl SpanNet {
    /// Builds the network's variables under `p` (backbone under `p / "backbone"`,
    /// generators under `p / "gen_front"` etc.).
    pub fn new(p: &nn::Path<'_>, config: &ModelConfig) -> Self {
        Self::with_generators(p, config, &GENERATORS[..])
    }

    /// SPAN with one generator per name, in mask order (e.g. one per digit class); the
    /// generator of `name` lives under `p / "gen_<name>"`.
    pub fn with_generators<S: AsRef<str>>(
        p: &nn::Path<'_>,
        config: &ModelConfig,
        names: &[S],
    ) -> Self {
        let bp = p / BACKBONE_PREFIX;
        let end = config
            .stage1_layers
            .map_or(backbone::MOBILENET_V2_SPLIT, |l| l as usize);
        let split = (config.frozen_layers > 0 || config.stage1_layers.is_some())
            .then(|| {
                backbone::stage1_split(&bp, config.backbone, config.frozen_layers as usize, end)
            })
            .flatten();
        let (frozen, stage1) = match split {
            Some((head, rest)) => (Some(head.net), rest),
            None => (None, backbone::stage1(&bp, config.backbone)),
        };
        let blocks = generative_blocks(config);
        let width = i64::from(config.generator_width);
        let generators = names
            .iter()
            .map(AsRef::as_ref)
            .map(|name| {
                generator(
                    p / format!("gen_{name}"),
                    stage1.out_channels,
                    width,
                    blocks,
                )
            })
            .collect();
        let device = p.device();
        Self {
            frozen,
            backbone: stage1.net,
            generators,
            mean: Tensor::from_slice(&IMAGENET_MEAN)
                .view([1, 3, 1, 1])
                .to_device(device),
            std: Tensor::from_slice(&IMAGENET_STD)
                .view([1, 3, 1, 1])
                .to_device(device),
        }
    }

    /// Masks `M_1..M_G` in (0, 1), one per generator (front, rear, side for the vehicle
    /// network): N×G×H×W for an N×3×H×W input.
    pub fn masks(&self, images: &Tensor, train: bool) -> Tensor {
        self.masks_from_trunk(&self.trunk(images), train)
    }

    /// The normalised images through the frozen layers (none: the normalised images).
    pub fn trunk(&self, images: &Tensor) -> Tensor {
        let x = (images.to_kind(Kind::Float) - &self.mean) / &self.std;
        match &self.frozen {
            Some(f) => tch::no_grad(|| x.apply_t(f, false)),
            None => x,
        }
    }

    /// Masks from the output of [`SpanNet::trunk`].
    pub fn masks_from_trunk(&self, trunk: &Tensor, train: bool) -> Tensor {
        let features = trunk.apply_t(&self.backbone, train);
        let masks: Vec<Tensor> = self
            .generators
            .iter()
            .map(|g| features.apply_t(g, train))
            .collect();
        Tensor::cat(&masks, 1)
    }
}

/// Marks the backbone's first `frozen_layers` MobileNetV2 `features` entries as not
/// trainable (the optimiser skips variables without gradients).
pub fn freeze(vs: &mut nn::VarStore, frozen_layers: u32) {
    for (name, t) in vs.variables() {
        let index = name
            .strip_prefix(&format!("{BACKBONE_PREFIX}.features."))
            .and_then(|rest| rest.split('.').next())
            .and_then(|i| i.parse::<u32>().ok());
        if index.is_some_and(|i| i < frozen_layers) {
            let _ = t.set_requires_grad(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use tch::Device;

    #[test]
    fn masks_have_input_resolution_and_lie_in_unit_interval() {
        for backbone in [
            Backbone::MobilenetV2,
            Backbone::MobilenetV2Dilated,
            Backbone::Resnet34,
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let config = ModelConfig {
                backbone,
                input_size: 64,
                generator_width: 16,
                ..Preset::Tiny.config().model
            };
            let net = SpanNet::new(&vs.root(), &config);
            let x = Tensor::rand([2, 3, 64, 48], (Kind::Float, Device::Cpu));
            let m = net.masks(&x, false);
            assert_eq!(m.size(), [2, 3, 64, 48], "{backbone:?}");
            let (lo, hi) = (m.min().double_value(&[]), m.max().double_value(&[]));
            assert!(lo > 0.0 && hi < 1.0, "{backbone:?}: {lo} {hi}");
        }
    }

    #[test]
    fn frozen_layers_change_no_mask_and_get_no_gradient() {
        let config = ModelConfig {
            backbone: Backbone::MobilenetV2Dilated,
            input_size: 64,
            generator_width: 16,
            ..Preset::Tiny.config().model
        };
        tch::manual_seed(5);
        let whole_vs = nn::VarStore::new(Device::Cpu);
        let whole = SpanNet::new(&whole_vs.root(), &config);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let frozen = ModelConfig {
            frozen_layers: 7,
            ..config
        };
        let net = SpanNet::new(&vs.root(), &frozen);
        vs.copy(&whole_vs).expect("same variables");
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        assert!(
            whole
                .masks(&x, false)
                .allclose(&net.masks(&x, false), 1e-5, 1e-6, false)
        );
        let t = net.trunk(&x);
        assert_eq!(t.size(), [2, 32, 8, 8]);
        assert!(!t.requires_grad());
        freeze(&mut vs, 7);
        let trainable: Vec<String> = vs
            .variables()
            .into_iter()
            .filter(|(_, v)| v.requires_grad())
            .map(|(n, _)| n)
            .collect();
        assert!(
            trainable
                .iter()
                .all(|n| !n.starts_with("backbone.features.6."))
        );
        assert!(
            trainable
                .iter()
                .any(|n| n.starts_with("backbone.features.7."))
        );
    }

    #[test]
    fn a_shorter_cnn_mask_keeps_the_input_resolution() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ModelConfig {
            backbone: Backbone::MobilenetV2Dilated,
            input_size: 64,
            generator_width: 16,
            frozen_layers: 5,
            stage1_layers: Some(7),
            ..Preset::Tiny.config().model
        };
        let net = SpanNet::new(&vs.root(), &config);
        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        assert_eq!(net.masks(&x, false).size(), [2, 3, 64, 64]);
        let vars = vs.variables();
        assert!(vars.contains_key("backbone.features.6.conv.0.0.weight"));
        assert!(!vars.keys().any(|n| n.starts_with("backbone.features.7.")));
        // the generators take features[6]'s 32 channels
        assert_eq!(vars["gen_side.0.deconv.weight"].size(), [32, 16, 4, 4]);
    }

    #[test]
    fn one_mask_per_named_generator() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ModelConfig {
            input_size: 32,
            generator_width: 8,
            ..Preset::Tiny.config().model
        };
        let net = SpanNet::with_generators(&vs.root(), &config, &["0", "1", "2", "7"]);
        let x = Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu));
        assert_eq!(net.masks(&x, false).size(), [1, 4, 32, 32]);
        assert!(vs.variables().contains_key("gen_7.0.deconv.weight"));
    }

    #[test]
    fn generator_depth_follows_backbone_stride() {
        let blocks = |backbone, stage1_layers| {
            generative_blocks(&ModelConfig {
                backbone,
                stage1_layers,
                ..ModelConfig::default()
            })
        };
        assert_eq!(blocks(Backbone::Resnet34, None), 3);
        assert_eq!(blocks(Backbone::MobilenetV2, None), 4);
        assert_eq!(blocks(Backbone::MobilenetV2Dilated, None), 3);
        // features[:7] ends at stride 8 either way; features[:4] at stride 4
        assert_eq!(blocks(Backbone::MobilenetV2, Some(7)), 3);
        assert_eq!(blocks(Backbone::MobilenetV2, Some(8)), 4);
        assert_eq!(blocks(Backbone::MobilenetV2Dilated, Some(11)), 3);
        assert_eq!(blocks(Backbone::MobilenetV2Dilated, Some(4)), 2);
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = SpanNet::new(&vs.root(), &Preset::Paper.config().model);
        let vars = vs.variables();
        // Paper: 256 → 128 → 64 → 1.
        assert_eq!(vars["gen_rear.0.deconv.weight"].size(), [256, 128, 4, 4]);
        assert_eq!(vars["gen_rear.1.deconv.weight"].size(), [128, 64, 4, 4]);
        assert_eq!(vars["gen_rear.2.deconv.weight"].size(), [64, 1, 4, 4]);
        assert!(!vars.contains_key("gen_rear.2.bn.weight"));
    }
}
