//! ResNet-50 split for the part feature network (Sec. 3.2, 4.1): stage 1 = conv1, bn1,
//! ReLU, max-pool, layer1–layer3 (*conv1* to *conv4*, 1,024 channels, stride 16); stage 2 =
//! layer4 (*conv5*, 2,048 channels), stride 2 as in torchvision and the paper, or stride 1
//! (the re-identification "last stride 1", a map twice as large per side).
//!
//! Parameter names are torchvision's (`conv1`, `bn1`, `layer1.0.conv1`,
//! `layer1.0.downsample.0`, …), so a torchvision `resnet50` state_dict loads by name.

use tch::nn::{self, ModuleT};

/// Output channels of a bottleneck with `width` inner channels.
pub const EXPANSION: i64 = 4;

/// Channels of stage 1's output (layer3).
pub const STAGE1_CHANNELS: i64 = 1024;

/// Channels of stage 2's output (layer4).
pub const STAGE2_CHANNELS: i64 = 2048;

/// One residual layer of torchvision's ResNet-50.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    /// Parameter-name prefix (`layer1` … `layer4`).
    pub name: &'static str,
    /// Inner width of its bottlenecks (output channels are four times this).
    pub width: i64,
    /// Bottleneck blocks.
    pub blocks: usize,
    /// Stride of the first block (on its 3×3 convolution, as torchvision V1.5).
    pub stride: i64,
}

/// layer1–layer3 (stage 1, after the stem and max-pool).
pub const STAGE1_LAYERS: [LayerSpec; 3] = [
    LayerSpec {
        name: "layer1",
        width: 64,
        blocks: 3,
        stride: 1,
    },
    LayerSpec {
        name: "layer2",
        width: 128,
        blocks: 4,
        stride: 2,
    },
    LayerSpec {
        name: "layer3",
        width: 256,
        blocks: 6,
        stride: 2,
    },
];

/// layer4 (stage 2); `last_stride_one` keeps the spatial size of stage 1.
pub fn stage2_layer(last_stride_one: bool) -> LayerSpec {
    LayerSpec {
        name: "layer4",
        width: 512,
        blocks: 3,
        stride: if last_stride_one { 1 } else { 2 },
    }
}

fn conv(p: nn::Path<'_>, c_in: i64, c_out: i64, kernel: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: (kernel - 1) / 2,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, kernel, cfg)
}

/// torchvision's `Bottleneck`: 1×1 → 3×3 (stride) → 1×1 to `4·width`, with a projection
/// shortcut (`downsample`) when the shape changes.
fn bottleneck(p: nn::Path<'_>, c_in: i64, width: i64, stride: i64) -> impl ModuleT + use<> {
    let c_out = width * EXPANSION;
    let bn = |name: &str, c| nn::batch_norm2d(&p / name, c, Default::default());
    let (bn1, bn2, bn3) = (bn("bn1", width), bn("bn2", width), bn("bn3", c_out));
    let conv1 = conv(&p / "conv1", c_in, width, 1, 1);
    let conv2 = conv(&p / "conv2", width, width, 3, stride);
    let conv3 = conv(&p / "conv3", width, c_out, 1, 1);
    let shortcut = (stride != 1 || c_in != c_out).then(|| {
        let d = &p / "downsample";
        nn::seq_t()
            .add(conv(&d / 0, c_in, c_out, 1, stride))
            .add(nn::batch_norm2d(&d / 1, c_out, Default::default()))
    });
    nn::func_t(move |x, train| {
        let y = x
            .apply(&conv1)
            .apply_t(&bn1, train)
            .relu()
            .apply(&conv2)
            .apply_t(&bn2, train)
            .relu()
            .apply(&conv3)
            .apply_t(&bn3, train);
        let skip = match &shortcut {
            Some(s) => x.apply_t(s, train),
            None => x.shallow_clone(),
        };
        (y + skip).relu()
    })
}

/// `layer` under `p / layer.name`, taking `c_in` channels; returns it and its output
/// channels.
fn layer(p: &nn::Path<'_>, c_in: i64, spec: LayerSpec) -> (nn::SequentialT, i64) {
    let lp = p / spec.name;
    let mut net = nn::seq_t().add(bottleneck(&lp / 0, c_in, spec.width, spec.stride));
    let c_out = spec.width * EXPANSION;
    for b in 1..spec.blocks {
        net = net.add(bottleneck(&lp / b, c_out, spec.width, 1));
    }
    (net, c_out)
}

/// Stage 1 under `p`: stem, max-pool, layer1–layer3.
pub fn stage1(p: &nn::Path<'_>) -> nn::SequentialT {
    let stem = nn::ConvConfig {
        stride: 2,
        padding: 3,
        bias: false,
        ..Default::default()
    };
    let mut net = nn::seq_t()
        .add(nn::conv2d(p / "conv1", 3, 64, 7, stem))
        .add(nn::batch_norm2d(p / "bn1", 64, Default::default()))
        .add_fn(|x| x.relu().max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false));
    let mut c_in = 64;
    for spec in STAGE1_LAYERS {
        let (l, c) = layer(p, c_in, spec);
        net = net.add(l);
        c_in = c;
    }
    net
}

/// Stage 2 under `p`: layer4, taking stage 1's 1,024 channels.
pub fn stage2(p: &nn::Path<'_>, last_stride_one: bool) -> nn::SequentialT {
    layer(p, STAGE1_CHANNELS, stage2_layer(last_stride_one)).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn numel(vs: &nn::VarStore, keep: impl Fn(&str) -> bool) -> i64 {
        vs.variables()
            .iter()
            .filter(|(name, t)| t.requires_grad() && keep(name))
            .map(|(_, t)| t.numel() as i64)
            .sum()
    }

    #[test]
    fn stages_have_torchvision_resnet50_names_and_counts() {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let _s1 = stage1(&root);
        let _s2 = stage2(&root, false);
        let _fc = nn::linear(&root / "fc", STAGE2_CHANNELS, 1000, Default::default());
        // torchvision.models.resnet50(): 25,557,032 parameters with its fc.
        assert_eq!(numel(&vs, |_| true), 25_557_032);
        assert_eq!(numel(&vs, |n| n.starts_with("layer4.")), 14_964_736);
        let stage1_count = numel(&vs, |n| !n.starts_with("layer4.") && !n.starts_with("fc."));
        assert_eq!(stage1_count, 8_543_296);
        let vars = vs.variables();
        for (name, shape) in [
            ("conv1.weight", vec![64, 3, 7, 7]),
            ("layer1.0.conv1.weight", vec![64, 64, 1, 1]),
            ("layer1.0.downsample.0.weight", vec![256, 64, 1, 1]),
            ("layer1.0.downsample.1.running_var", vec![256]),
            ("layer2.0.conv2.weight", vec![128, 128, 3, 3]),
            ("layer3.5.bn3.weight", vec![1024]),
            ("layer4.0.downsample.0.weight", vec![2048, 1024, 1, 1]),
            ("layer4.2.conv3.weight", vec![2048, 512, 1, 1]),
        ] {
            assert_eq!(vars[name].size(), shape, "{name}");
        }
        assert!(!vars.contains_key("layer1.1.downsample.0.weight"));
        // 53 convolutions and 53 batch norms (4 running statistics each) + fc.
        assert_eq!(vars.len(), 53 + 53 * 4 + 2);
    }

    #[test]
    fn stage1_is_stride_16_and_stage2_halves_it_unless_last_stride_one() {
        let x = Tensor::rand([2, 3, 64, 96], (Kind::Float, Device::Cpu));
        for (last_stride_one, side) in [(false, [2, 3]), (true, [4, 6])] {
            let vs = nn::VarStore::new(Device::Cpu);
            let s1 = stage1(&vs.root());
            let s2 = stage2(&vs.root(), last_stride_one);
            let f1 = x.apply_t(&s1, true);
            assert_eq!(f1.size(), [2, 1024, 4, 6]);
            let f2 = f1.apply_t(&s2, true);
            assert_eq!(f2.size(), [2, 2048, side[0], side[1]]);
            assert!(f2.min().double_value(&[]) >= 0.0, "ends with a ReLU");
        }
    }
}
