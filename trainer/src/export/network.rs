//! The exported inference graph: one fused model, image → (masks, four features).
//!
//! ```text
//! image N×3×H×W (normalised) ─┬─ SPAN stage 1 ─ G_front, G_rear, G_side ─ Concat ─► masks N×3×H×W
//!                             └─ feature stage 1 ─┬────────────────────── stage 2 ─ GAP ─ FC+BN ─► global
//!                                                  └─ × AvgPool(masks)_k ─ stage 2 ─ GAP ─ FC+BN ─► front, rear, side
//! ```
//!
//! One graph rather than two: the edge runs one batch per call and reads everything it
//! needs, and the masks never leave the runtime between the two networks. The ImageNet
//! normalisation that the trainer's networks apply inside is done by the caller, as the
//! manifest's `mean` and `std` say, so the graph starts at the normalised image.

use spanreid_infer::graph::Attr;

use super::ExportError;
use super::backbone::{StagePart, pool_flat, stage};
use super::emit::{Emitter, Mode, Params};
use crate::config::{Backbone, Stage2Options};
use crate::model::features::{BRANCHES, branch_backbone_prefix, branch_prefix};
use crate::model::span::GENERATORS;

/// Name of the graph input.
pub const INPUT: &str = "image";
/// Name of the masks output.
pub const MASKS: &str = "masks";
/// Prefix of the SPAN variables in [`Params`].
pub const SPAN_PREFIX: &str = "span";
/// Prefix of the feature-network variables in [`Params`].
pub const FEATURE_PREFIX: &str = "feat";

/// What the graph is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    /// SPAN's stage-1 backbone.
    pub span_backbone: Backbone,
    /// The feature network's backbone.
    pub feature_backbone: Backbone,
    /// Square input side.
    pub input_size: u32,
    /// Feature dimension.
    pub dim: u32,
    /// SPAN's `CNN_mask` as MobileNetV2 `features[:n]` (`None`: all of stage 1).
    pub span_stage1_layers: Option<u32>,
    /// Generative blocks per SPAN generator.
    pub generator_blocks: u32,
    /// Shape of the stage-2 branches (MobileNetV2's head, ResNet-50's last stride).
    pub stage2: Stage2Options,
}

impl NetworkSpec {
    /// Output stride of the feature network's stage 2.
    pub fn total_stride(&self) -> u32 {
        self.feature_backbone.total_stride(self.stage2)
    }
}

/// Builds the graph over `params` in `mode`.
pub fn build<'a>(
    params: &'a Params,
    spec: NetworkSpec,
    mode: Mode<'a>,
) -> Result<Emitter<'a>, ExportError> {
    let stride = spec.feature_backbone.stride();
    let total = spec.total_stride();
    if spec.input_size == 0 || !spec.input_size.is_multiple_of(total) {
        return Err(ExportError::Spec(format!(
            "input size {} is not a multiple of the backbone stride {total}",
            spec.input_size
        )));
    }
    if spec.span_backbone == Backbone::Resnet50 {
        return Err(ExportError::Spec(
            "SPAN's stage 1 cannot be ResNet-50 (a feature-network backbone)".into(),
        ));
    }
    let side = i64::from(spec.input_size);
    let dim = i64::from(spec.dim);
    let mut e = Emitter::new(params, mode);
    e.graph
        .input(INPUT, &[None, Some(3), Some(side), Some(side)]);

    // SPAN.
    let sp = SPAN_PREFIX;
    let trunk = stage(
        &mut e,
        INPUT,
        &format!("{sp}.backbone"),
        spec.span_backbone,
        spec.span_stage1_layers
            .map_or(StagePart::One, |n| StagePart::OneUpTo(n as usize)),
    )?;
    let mut masks = Vec::new();
    for name in GENERATORS {
        let mut y = trunk.clone();
        for b in 0..spec.generator_blocks {
            let p = format!("{sp}.gen_{name}.{b}");
            if b + 1 == spec.generator_blocks {
                let logits = e.deconv(&y, &format!("{p}.deconv"), None, &format!("{p}.logits"))?;
                y = e.op("Sigmoid", &[&logits], &format!("{sp}.mask_{name}"), &[]);
            } else {
                let c = e.deconv(
                    &y,
                    &format!("{p}.deconv"),
                    Some(&format!("{p}.bn")),
                    &format!("{p}.conv"),
                )?;
                y = e.op("Relu", &[&c], &format!("{p}.out"), &[]);
            }
        }
        masks.push(y);
    }
    let refs: Vec<&str> = masks.iter().map(String::as_str).collect();
    e.op("Concat", &refs, MASKS, &[Attr::Int("axis", 1)]);
    e.graph
        .output(MASKS, &[None, Some(3), Some(side), Some(side)]);

    // The part feature network.
    let fp = FEATURE_PREFIX;
    let shared = stage(
        &mut e,
        INPUT,
        &format!("{fp}.stage1"),
        spec.feature_backbone,
        StagePart::One,
    )?;
    let s = i64::from(stride);
    let pooled = e.op(
        "AveragePool",
        &[MASKS],
        &format!("{fp}.masks_pooled"),
        &[
            Attr::Ints("kernel_shape", vec![s, s]),
            Attr::Ints("strides", vec![s, s]),
        ],
    );
    let parts: Vec<String> = GENERATORS
        .iter()
        .map(|g| format!("{fp}.mask_{g}"))
        .collect();
    let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    e.graph
        .node_multi("Split", &[&pooled], &part_refs, &[Attr::Int("axis", 1)]);
    for (i, branch) in BRANCHES.iter().enumerate() {
        let bp = format!("{fp}.{}", branch_prefix(branch));
        let input = if i == 0 {
            shared.clone()
        } else {
            e.op(
                "Mul",
                &[&shared, &parts[i - 1]],
                &format!("{bp}.masked"),
                &[],
            )
        };
        let y = stage(
            &mut e,
            &input,
            &format!("{fp}.{}", branch_backbone_prefix(branch)),
            spec.feature_backbone,
            StagePart::Two(spec.stage2),
        )?;
        let flat = pool_flat(&mut e, &y, &bp);
        e.linear_bn(&flat, &format!("{bp}.fc"), &format!("{bp}.neck"), branch)?;
        e.graph.output(branch, &[None, Some(dim)]);
    }
    Ok(e)
}
