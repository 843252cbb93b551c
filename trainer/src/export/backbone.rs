//! The backbone stages of `model::backbone` written as ONNX nodes, layer for layer, with
//! their batch norms folded in.

use spanreid_infer::graph::Attr;

use super::ExportError;
use super::emit::{ConvShape, Emitter};
use crate::config::{Backbone, Stage2Options};
use crate::model::backbone::{
    MOBILENET_V2_SPLIT, MobileLayer, mobilenet_v2_geometry, mobilenet_v2_layers, stage2_end,
};
use crate::model::resnet50::{self, EXPANSION, LayerSpec};

/// Which part of the backbone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StagePart {
    /// Stage 1 (`CNN_mask`, the shared trunk).
    One,
    /// MobileNetV2 `features[:n]`: a `CNN_mask` cut short of stage 1's end.
    OneUpTo(usize),
    /// Stage 2 (one per feature branch), shaped by its options.
    Two(Stage2Options),
}

fn shape(stride: i64, pad: i64, groups: i64) -> ConvShape {
    ConvShape {
        stride,
        pad,
        groups,
        dilation: 1,
    }
}

/// Conv + BN + ReLU6 of MobileNetV2 under `p` (`p.0` the convolution, `p.1` the norm).
fn conv_bn_relu6(
    e: &mut Emitter<'_>,
    x: &str,
    p: &str,
    kernel: i64,
    (stride, dilation): (i64, i64),
    groups: i64,
) -> Result<String, ExportError> {
    let c = e.conv(
        x,
        &format!("{p}.0"),
        Some(&format!("{p}.1")),
        ConvShape {
            dilation,
            ..shape(stride, dilation * (kernel - 1) / 2, groups)
        },
        &format!("{p}.conv"),
    )?;
    Ok(e.relu6(&c, &format!("{p}.out")))
}

fn inverted_residual(
    e: &mut Emitter<'_>,
    x: &str,
    p: &str,
    c_in: i64,
    layer: (i64, i64, (i64, i64)),
) -> Result<String, ExportError> {
    let (expand, c_out, (stride, dilation)) = layer;
    let hidden = c_in * expand;
    let mut y = x.to_owned();
    let mut idx = 0;
    if expand != 1 {
        y = conv_bn_relu6(e, &y, &format!("{p}.conv.0"), 1, (1, 1), 1)?;
        idx = 1;
    }
    y = conv_bn_relu6(
        e,
        &y,
        &format!("{p}.conv.{idx}"),
        3,
        (stride, dilation),
        hidden,
    )?;
    y = e.conv(
        &y,
        &format!("{p}.conv.{}", idx + 1),
        Some(&format!("{p}.conv.{}", idx + 2)),
        shape(1, 0, 1),
        &format!("{p}.project"),
    )?;
    if stride == 1 && c_in == c_out {
        y = e.op("Add", &[&y, x], &format!("{p}.out"), &[]);
    }
    Ok(y)
}

fn mobilenet_v2(
    e: &mut Emitter<'_>,
    x: &str,
    prefix: &str,
    range: std::ops::Range<usize>,
    dilated: bool,
) -> Result<String, ExportError> {
    let mut c_in = 3;
    let mut y = x.to_owned();
    for (i, layer) in mobilenet_v2_layers()
        .into_iter()
        .enumerate()
        .take(range.end)
    {
        let p = format!("{prefix}.features.{i}");
        let build = i >= range.start;
        c_in = match layer {
            MobileLayer::Stem => {
                if build {
                    y = conv_bn_relu6(e, &y, &p, 3, (2, 1), 1)?;
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
                    y = inverted_residual(e, &y, &p, c_in, (expand, out, geometry))?;
                }
                out
            }
            MobileLayer::Head => {
                if build {
                    y = conv_bn_relu6(e, &y, &p, 1, (1, 1), 1)?;
                }
                1280
            }
        };
    }
    Ok(y)
}

fn basic_block(
    e: &mut Emitter<'_>,
    x: &str,
    p: &str,
    stride: i64,
    downsample: bool,
) -> Result<String, ExportError> {
    let y = e.conv(
        x,
        &format!("{p}.conv1"),
        Some(&format!("{p}.bn1")),
        shape(stride, 1, 1),
        &format!("{p}.c1"),
    )?;
    let y = e.op("Relu", &[&y], &format!("{p}.r1"), &[]);
    let y = e.conv(
        &y,
        &format!("{p}.conv2"),
        Some(&format!("{p}.bn2")),
        shape(1, 1, 1),
        &format!("{p}.c2"),
    )?;
    let skip = if downsample {
        e.conv(
            x,
            &format!("{p}.downsample.0"),
            Some(&format!("{p}.downsample.1")),
            shape(stride, 0, 1),
            &format!("{p}.skip"),
        )?
    } else {
        x.to_owned()
    };
    let sum = e.op("Add", &[&y, &skip], &format!("{p}.sum"), &[]);
    Ok(e.op("Relu", &[&sum], &format!("{p}.out"), &[]))
}

fn resnet_layer(
    e: &mut Emitter<'_>,
    x: &str,
    p: &str,
    stride: i64,
    blocks: usize,
    downsample: bool,
) -> Result<String, ExportError> {
    let mut y = basic_block(e, x, &format!("{p}.0"), stride, downsample)?;
    for b in 1..blocks {
        y = basic_block(e, &y, &format!("{p}.{b}"), 1, false)?;
    }
    Ok(y)
}

/// torchvision's `Bottleneck` under `p`: three conv+BN (ReLU after the first two), the
/// projection shortcut when `downsample`, the sum and its ReLU.
fn bottleneck(
    e: &mut Emitter<'_>,
    x: &str,
    p: &str,
    stride: i64,
    downsample: bool,
) -> Result<String, ExportError> {
    let mut y = x.to_owned();
    for (i, (kernel, s)) in [(1, 1), (3, stride), (1, 1)].into_iter().enumerate() {
        let n = i + 1;
        y = e.conv(
            &y,
            &format!("{p}.conv{n}"),
            Some(&format!("{p}.bn{n}")),
            shape(s, (kernel - 1) / 2, 1),
            &format!("{p}.c{n}"),
        )?;
        if n < 3 {
            y = e.op("Relu", &[&y], &format!("{p}.r{n}"), &[]);
        }
    }
    let skip = if downsample {
        e.conv(
            x,
            &format!("{p}.downsample.0"),
            Some(&format!("{p}.downsample.1")),
            shape(stride, 0, 1),
            &format!("{p}.skip"),
        )?
    } else {
        x.to_owned()
    };
    let sum = e.op("Add", &[&y, &skip], &format!("{p}.sum"), &[]);
    Ok(e.op("Relu", &[&sum], &format!("{p}.out"), &[]))
}

/// ResNet-50 `layer` under `prefix`, taking `c_in` channels.
fn bottleneck_layer(
    e: &mut Emitter<'_>,
    x: &str,
    prefix: &str,
    c_in: i64,
    layer: LayerSpec,
) -> Result<String, ExportError> {
    let p = format!("{prefix}.{}", layer.name);
    let c_out = layer.width * EXPANSION;
    let downsample = layer.stride != 1 || c_in != c_out;
    let mut y = bottleneck(e, x, &format!("{p}.0"), layer.stride, downsample)?;
    for b in 1..layer.blocks {
        y = bottleneck(e, &y, &format!("{p}.{b}"), 1, false)?;
    }
    Ok(y)
}

/// ResNet-50 stage 1: stem, max-pool (3×3, stride 2, padding 1), layer1–layer3.
fn resnet50_stage1(e: &mut Emitter<'_>, x: &str, prefix: &str) -> Result<String, ExportError> {
    let y = e.conv(
        x,
        &format!("{prefix}.conv1"),
        Some(&format!("{prefix}.bn1")),
        shape(2, 3, 1),
        &format!("{prefix}.stem"),
    )?;
    let y = e.op("Relu", &[&y], &format!("{prefix}.stem_relu"), &[]);
    let mut y = e.op(
        "MaxPool",
        &[&y],
        &format!("{prefix}.maxpool"),
        &[
            Attr::Ints("kernel_shape", vec![3, 3]),
            Attr::Ints("strides", vec![2, 2]),
            Attr::Ints("pads", vec![1, 1, 1, 1]),
        ],
    );
    let mut c_in = 64;
    for layer in resnet50::STAGE1_LAYERS {
        y = bottleneck_layer(e, &y, prefix, c_in, layer)?;
        c_in = layer.width * EXPANSION;
    }
    Ok(y)
}

/// Writes stage `part` of `backbone`, whose variables are under `prefix`, on input `x`;
/// returns the output's name.
pub fn stage(
    e: &mut Emitter<'_>,
    x: &str,
    prefix: &str,
    backbone: Backbone,
    part: StagePart,
) -> Result<String, ExportError> {
    match (backbone, part) {
        (Backbone::MobilenetV2, StagePart::One) => {
            mobilenet_v2(e, x, prefix, 0..MOBILENET_V2_SPLIT, false)
        }
        (Backbone::MobilenetV2Dilated, StagePart::One) => {
            mobilenet_v2(e, x, prefix, 0..MOBILENET_V2_SPLIT, true)
        }
        (Backbone::MobilenetV2, StagePart::OneUpTo(n)) => {
            mobilenet_v2(e, x, prefix, 0..n.min(MOBILENET_V2_SPLIT), false)
        }
        (Backbone::MobilenetV2Dilated, StagePart::OneUpTo(n)) => {
            mobilenet_v2(e, x, prefix, 0..n.min(MOBILENET_V2_SPLIT), true)
        }
        (Backbone::Resnet34 | Backbone::Resnet50, StagePart::OneUpTo(_)) => Err(ExportError::Spec(
            "only a MobileNetV2 stage 1 can be cut short".into(),
        )),
        (Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated, StagePart::Two(options)) => {
            mobilenet_v2(
                e,
                x,
                prefix,
                MOBILENET_V2_SPLIT..stage2_end(options.head),
                false,
            )
        }
        (Backbone::Resnet34, StagePart::One) => {
            let y = e.conv(
                x,
                &format!("{prefix}.conv1"),
                Some(&format!("{prefix}.bn1")),
                shape(2, 3, 1),
                &format!("{prefix}.stem"),
            )?;
            let y = e.op("Relu", &[&y], &format!("{prefix}.stem_relu"), &[]);
            let y = resnet_layer(e, &y, &format!("{prefix}.layer1"), 1, 3, false)?;
            let y = resnet_layer(e, &y, &format!("{prefix}.layer2"), 2, 4, true)?;
            resnet_layer(e, &y, &format!("{prefix}.layer3"), 2, 6, true)
        }
        (Backbone::Resnet34, StagePart::Two(_)) => {
            resnet_layer(e, x, &format!("{prefix}.layer4"), 2, 3, true)
        }
        (Backbone::Resnet50, StagePart::One) => resnet50_stage1(e, x, prefix),
        (Backbone::Resnet50, StagePart::Two(options)) => bottleneck_layer(
            e,
            x,
            prefix,
            resnet50::STAGE1_CHANNELS,
            resnet50::stage2_layer(options.last_stride_one),
        ),
    }
}

/// Global average pooling to an N×C matrix.
pub fn pool_flat(e: &mut Emitter<'_>, x: &str, prefix: &str) -> String {
    let pooled = e.op("GlobalAveragePool", &[x], &format!("{prefix}.gap"), &[]);
    e.op(
        "Flatten",
        &[&pooled],
        &format!("{prefix}.flat"),
        &[Attr::Int("axis", 1)],
    )
}
