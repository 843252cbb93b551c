//! Backbones split into stage 1 (`CNN_mask`, to stride 16 or 8) and stage 2 (the rest),
//! with torchvision's parameter names so ImageNet state_dicts load by name.
//!
//! - MobileNetV2: stage 1 = `features[:14]` (96 channels, stride 16), stage 2 =
//!   `features[14:]` (1280 channels, stride 32). The dilated variant keeps `features[7:14]`
//!   at stride 8 (the stride-2 block at stride 1, the blocks after it with dilation 2, as
//!   DeepLab does), so the same ImageNet weights give a map twice as fine.
//! - ResNet-34: stage 1 = conv1, bn1, layer1–layer3 without the max-pool, as in the
//!   authors' SPAN code (256 channels, stride 8); stage 2 = layer4 (512 channels, stride 16).
//! - ResNet-50 (the paper's feature network, see [`resnet50`]): stage 1 = conv1–conv4 with
//!   the max-pool (1,024 channels, stride 16); stage 2 = layer4 (2,048 channels, stride 32,
//!   or 16 with the last stride 1).

use tch::nn::{self, ModuleT};

use crate::config::{Backbone, Stage2Options};
use crate::model::resnet50;

/// A built backbone stage.
pub struct Stage {
    /// The layers.
    pub net: nn::SequentialT,
    /// Channels of its output.
    pub out_channels: i64,
}

/// One entry of MobileNetV2's `features`: (expansion, output channels, stride), or the
/// stem and head convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MobileLayer {
    /// 3×3 stride-2 convolution to 32 channels.
    Stem,
    /// Inverted residual block.
    Inverted {
        /// Expansion factor of the hidden layer.
        expand: i64,
        /// Output channels.
        out: i64,
        /// Stride of the depth-wise convolution.
        stride: i64,
    },
    /// 1×1 convolution to 1280 channels.
    Head,
}

/// MobileNetV2's 19 `features` entries in order.
pub fn mobilenet_v2_layers() -> Vec<MobileLayer> {
    // (expansion t, channels c, repeats n, first stride s) from the MobileNetV2 paper.
    const GROUPS: [(i64, i64, usize, i64); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut layers = vec![MobileLayer::Stem];
    for (expand, out, repeats, first_stride) in GROUPS {
        for r in 0..repeats {
            let stride = if r == 0 { first_stride } else { 1 };
            layers.push(MobileLayer::Inverted {
                expand,
                out,
                stride,
            });
        }
    }
    layers.push(MobileLayer::Head);
    layers
}

/// Index of the first MobileNetV2 `features` entry of stage 2.
pub const MOBILENET_V2_SPLIT: usize = 14;

/// First MobileNetV2 `features` entry that the dilated variant runs at stride 8.
pub const MOBILENET_V2_DILATE_FROM: usize = 7;

/// (stride, dilation) of the depth-wise convolution of `features[index]`, whose stride in
/// MobileNetV2 is `stride`; `dilated` keeps stage 1 at stride 8.
pub fn mobilenet_v2_geometry(index: usize, stride: i64, dilated: bool) -> (i64, i64) {
    if !dilated || !(MOBILENET_V2_DILATE_FROM..MOBILENET_V2_SPLIT).contains(&index) {
        (stride, 1)
    } else if index == MOBILENET_V2_DILATE_FROM {
        (1, 1)
    } else {
        (1, 2)
    }
}

/// Output stride of MobileNetV2 `features[:layers]` (dilated: at most 8).
pub fn mobilenet_v2_stride(layers: usize, dilated: bool) -> u32 {
    mobilenet_v2_layers()
        .into_iter()
        .enumerate()
        .take(layers)
        .map(|(i, layer)| match layer {
            MobileLayer::Stem => 2,
            MobileLayer::Inverted { stride, .. } => mobilenet_v2_geometry(i, stride, dilated).0,
            MobileLayer::Head => 1,
        })
        .product::<i64>() as u32
}

/// One past the last MobileNetV2 `features` entry of stage 2, with or without the head.
pub fn stage2_end(head: bool) -> usize {
    let all = mobilenet_v2_layers().len();
    if head { all } else { all - 1 }
}

fn conv_bn_relu6(
    p: nn::Path<'_>,
    c_in: i64,
    c_out: i64,
    kernel: i64,
    (stride, dilation): (i64, i64),
    groups: i64,
) -> nn::SequentialT {
    let cfg = nn::ConvConfig {
        stride,
        padding: dilation * (kernel - 1) / 2,
        dilation,
        groups,
        bias: false,
        ..Default::default()
    };
    nn::seq_t()
        .add(nn::conv2d(&p / 0, c_in, c_out, kernel, cfg))
        .add(nn::batch_norm2d(&p / 1, c_out, Default::default()))
        .add_fn(|x| x.clamp(0.0, 6.0))
}

fn inverted_residual(
    p: nn::Path<'_>,
    c_in: i64,
    c_out: i64,
    expand: i64,
    (stride, dilation): (i64, i64),
) -> impl ModuleT + use<> {
    let hidden = c_in * expand;
    let p = &p / "conv";
    let mut body = nn::seq_t();
    let mut idx = 0;
    if expand != 1 {
        body = body.add(conv_bn_relu6(&p / idx, c_in, hidden, 1, (1, 1), 1));
        idx += 1;
    }
    body = body
        .add(conv_bn_relu6(
            &p / idx,
            hidden,
            hidden,
            3,
            (stride, dilation),
            hidden,
        ))
        .add(nn::conv2d(&p / (idx + 1), hidden, c_out, 1, nn::no_bias()))
        .add(nn::batch_norm2d(&p / (idx + 2), c_out, Default::default()));
    let residual = stride == 1 && c_in == c_out;
    nn::func_t(move |x, train| {
        let y = x.apply_t(&body, train);
        if residual { y + x } else { y }
    })
}

/// MobileNetV2 `features[range]` under `p / "features"`, dilated to stride 8 if asked.
fn mobilenet_v2_features(p: &nn::Path<'_>, range: std::ops::Range<usize>, dilated: bool) -> Stage {
    let f = p / "features";
    let mut c_in = 3;
    let mut net = nn::seq_t();
    for (i, layer) in mobilenet_v2_layers()
        .into_iter()
        .enumerate()
        .take(range.end)
    {
        let build = i >= range.start;
        c_in = match layer {
            MobileLayer::Stem => {
                if build {
                    net = net.add(conv_bn_relu6(&f / i, c_in, 32, 3, (2, 1), 1));
                }
                32
            }
            MobileLayer::Inverted {
                expand,
                out,
                stride,
            } => {
                if build {
                    let geometry = mobilenet_v2_geometry(i, stride, dilated);
                    net = net.add(inverted_residual(&f / i, c_in, out, expand, geometry));
                }
                out
            }
            MobileLayer::Head => {
                if build {
                    net = net.add(conv_bn_relu6(&f / i, c_in, 1280, 1, (1, 1), 1));
                }
                1280
            }
        };
    }
    Stage {
        net,
        out_channels: c_in,
    }
}

fn conv3x3(p: nn::Path<'_>, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: 1,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, 3, cfg)
}

fn basic_block(p: nn::Path<'_>, c_in: i64, c_out: i64, stride: i64) -> impl ModuleT + use<> {
    let conv1 = conv3x3(&p / "conv1", c_in, c_out, stride);
    let bn1 = nn::batch_norm2d(&p / "bn1", c_out, Default::default());
    let conv2 = conv3x3(&p / "conv2", c_out, c_out, 1);
    let bn2 = nn::batch_norm2d(&p / "bn2", c_out, Default::default());
    let shortcut = (stride != 1 || c_in != c_out).then(|| {
        let d = &p / "downsample";
        let cfg = nn::ConvConfig {
            stride,
            bias: false,
            ..Default::default()
        };
        nn::seq_t()
            .add(nn::conv2d(&d / 0, c_in, c_out, 1, cfg))
            .add(nn::batch_norm2d(&d / 1, c_out, Default::default()))
    });
    nn::func_t(move |x, train| {
        let y = x
            .apply(&conv1)
            .apply_t(&bn1, train)
            .relu()
            .apply(&conv2)
            .apply_t(&bn2, train);
        let skip = match &shortcut {
            Some(s) => x.apply_t(s, train),
            None => x.shallow_clone(),
        };
        (y + skip).relu()
    })
}

fn resnet_layer(
    p: nn::Path<'_>,
    c_in: i64,
    c_out: i64,
    stride: i64,
    blocks: usize,
) -> nn::SequentialT {
    let mut layer = nn::seq_t().add(basic_block(&p / 0, c_in, c_out, stride));
    for b in 1..blocks {
        layer = layer.add(basic_block(&p / b, c_out, c_out, 1));
    }
    layer
}

/// Stage 1 of `backbone` under `p` (parameter names as torchvision's under `p`).
pub fn stage1(p: &nn::Path<'_>, backbone: Backbone) -> Stage {
    match backbone {
        Backbone::MobilenetV2 => mobilenet_v2_features(p, 0..MOBILENET_V2_SPLIT, false),
        Backbone::MobilenetV2Dilated => mobilenet_v2_features(p, 0..MOBILENET_V2_SPLIT, true),
        Backbone::Resnet34 => {
            let cfg = nn::ConvConfig {
                stride: 2,
                padding: 3,
                bias: false,
                ..Default::default()
            };
            let net = nn::seq_t()
                .add(nn::conv2d(p / "conv1", 3, 64, 7, cfg))
                .add(nn::batch_norm2d(p / "bn1", 64, Default::default()))
                .add_fn(|x| x.relu())
                .add(resnet_layer(p / "layer1", 64, 64, 1, 3))
                .add(resnet_layer(p / "layer2", 64, 128, 2, 4))
                .add(resnet_layer(p / "layer3", 128, 256, 2, 6));
            Stage {
                net,
                out_channels: 256,
            }
        }
        Backbone::Resnet50 => Stage {
            net: resnet50::stage1(p),
            out_channels: resnet50::STAGE1_CHANNELS,
        },
    }
}

/// MobileNetV2 `features[:end]` of a MobileNetV2 `backbone` (stage 1 when `end` is
/// [`MOBILENET_V2_SPLIT`]) cut before `features[at]`: the first part (which a run may freeze
/// and cache) and the rest; `None` for the ResNets.
pub fn stage1_split(
    p: &nn::Path<'_>,
    backbone: Backbone,
    at: usize,
    end: usize,
) -> Option<(Stage, Stage)> {
    let dilated = match backbone {
        Backbone::MobilenetV2 => false,
        Backbone::MobilenetV2Dilated => true,
        Backbone::Resnet34 | Backbone::Resnet50 => return None,
    };
    let end = end.min(MOBILENET_V2_SPLIT);
    let at = at.min(end);
    Some((
        mobilenet_v2_features(p, 0..at, dilated),
        mobilenet_v2_features(p, at..end, dilated),
    ))
}

/// Stage 2 of `backbone` under `p`, taking stage 1's output, shaped by `options` (each
/// option is ignored by the backbones it does not name).
pub fn stage2(p: &nn::Path<'_>, backbone: Backbone, options: Stage2Options) -> Stage {
    match backbone {
        Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated => {
            mobilenet_v2_features(p, MOBILENET_V2_SPLIT..stage2_end(options.head), false)
        }
        Backbone::Resnet34 => Stage {
            net: nn::seq_t().add(resnet_layer(p / "layer4", 256, 512, 2, 3)),
            out_channels: 512,
        },
        Backbone::Resnet50 => Stage {
            net: resnet50::stage2(p, options.last_stride_one),
            out_channels: resnet50::STAGE2_CHANNELS,
        },
    }
}

#[cfg(test)]
mod tests;
