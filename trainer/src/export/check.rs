//! Checking an export: libtorch and tract on the same preprocessed images (parity), and
//! retrieval accuracy of libtorch, the f32 graph and the int8 graph on a test split.

use serde::Serialize;
use spanreid::cpdm::{AreaRatios, Metric};
use spanreid::eval::Label;
use tch::{Kind, Tensor};

use super::ExportError;
use super::network::MASKS;
use super::tract_run::{ImageSet, Runner};
use crate::features::eval::{ImageFeatures, score};
use crate::features::model::FeatureModel;
use crate::model::features::BRANCHES;
use crate::model::span::{IMAGENET_MEAN, IMAGENET_STD};
use crate::train::TrainError;

/// Images per libtorch forward pass.
const BATCH: usize = 16;

/// Disagreement of one output between a reference and another engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputDiff {
    /// Output name.
    pub output: String,
    /// Largest absolute difference.
    pub max_abs: f32,
    /// `max_abs` over the largest absolute reference value.
    pub max_rel: f32,
}

/// Compares `other` with `reference` element by element.
pub fn diff(output: &str, reference: &[f32], other: &[f32]) -> OutputDiff {
    let max_abs = reference
        .iter()
        .zip(other)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let scale = reference.iter().map(|v| v.abs()).fold(0f32, f32::max);
    OutputDiff {
        output: output.to_owned(),
        max_abs,
        max_rel: if scale > 0.0 {
            max_abs / scale
        } else {
            max_abs
        },
    }
}

/// Output names in the order [`torch_outputs`] and the graph runner return them.
pub fn output_names() -> Vec<&'static str> {
    std::iter::once(MASKS).chain(BRANCHES).collect()
}

/// libtorch's masks and four BN-neck features for the (normalised) `images`.
pub fn torch_outputs(
    model: &FeatureModel,
    images: &ImageSet,
) -> Result<Vec<Vec<f32>>, ExportError> {
    let s = i64::from(images.size);
    let mean = Tensor::from_slice(&IMAGENET_MEAN).view([1, 3, 1, 1]);
    let std = Tensor::from_slice(&IMAGENET_STD).view([1, 3, 1, 1]);
    let mut all = vec![Vec::new(); 5];
    let total = images.paths.len();
    for start in (0..total).step_by(BATCH) {
        let end = (start + BATCH).min(total);
        let x = Tensor::from_slice(images.slice(start..end)).view([(end - start) as i64, 3, s, s]);
        let raw = &x * &std + &mean;
        let outs: Vec<Tensor> = tch::no_grad(|| {
            let masks = model.masks(&raw);
            let necks = model.net.forward(&raw, &masks, false).necks;
            std::iter::once(masks).chain(necks).collect()
        });
        for (acc, t) in all.iter_mut().zip(outs) {
            let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().view([-1])).map_err(
                |source| TrainError::Torch {
                    what: "reading libtorch outputs".into(),
                    source,
                },
            )?;
            acc.extend(v);
        }
    }
    Ok(all)
}

/// Runs `runner` on `images` with outputs in [`output_names`] order.
pub fn graph_outputs(runner: &Runner, images: &ImageSet) -> Result<Vec<Vec<f32>>, ExportError> {
    runner.run_all(images)
}

/// Per-image features from outputs in [`output_names`] order for `n` images.
pub fn image_features(outputs: &[Vec<f32>], n: usize) -> Vec<ImageFeatures> {
    let plane = outputs[0].len() / n / 3;
    let dim = outputs[1].len() / n;
    (0..n)
        .map(|i| {
            let m = &outputs[0][i * 3 * plane..(i + 1) * 3 * plane];
            let row = |k: usize| outputs[k][i * dim..(i + 1) * dim].to_vec();
            ImageFeatures {
                parts: [row(1), row(2), row(3), row(4)],
                ratios: AreaRatios::from_masks(&m[..plane], &m[plane..2 * plane], &m[2 * plane..]),
            }
        })
        .collect()
}

/// Retrieval figures of one engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Accuracy {
    /// `libtorch`, `onnx-f32` or `onnx-int8`.
    pub engine: String,
    /// mAP under CPDM.
    pub map_cpdm: f64,
    /// Rank-1 under CPDM.
    pub rank1_cpdm: f64,
    /// mAP under Euclidean distance of the global features (the baseline metric).
    pub map_global: f64,
    /// Rank-1 under the global Euclidean distance.
    pub rank1_global: f64,
}

/// Scores `features` (queries first, then gallery) with `labels` in the same order.
pub fn accuracy(
    engine: &str,
    labels: &[Label],
    features: Vec<ImageFeatures>,
    queries: usize,
) -> Result<Accuracy, ExportError> {
    let all: Vec<(Label, ImageFeatures)> = labels.iter().copied().zip(features).collect();
    let (q, g) = all.split_at(queries);
    let cpdm = score(Metric::Cpdm, q, g)?;
    let global = score(Metric::GlobalEuclidean, q, g)?;
    Ok(Accuracy {
        engine: engine.to_owned(),
        map_cpdm: cpdm.map,
        rank1_cpdm: cpdm.cmc_at(1).unwrap_or(0.0),
        map_global: global.map,
        rank1_global: global.cmc_at(1).unwrap_or(0.0),
    })
}

/// Index of the CPDM-nearest gallery entry of each query (queries first in `features`
/// and `labels`), skipping its own identity in its own camera as the protocol does.
pub fn top1(features: &[ImageFeatures], labels: &[Label], queries: usize) -> Vec<Option<usize>> {
    fn view(
        f: &ImageFeatures,
    ) -> Result<spanreid::cpdm::PartFeatures<'_>, spanreid::cpdm::CpdmError> {
        spanreid::cpdm::PartFeatures::new(
            [&f.parts[0], &f.parts[1], &f.parts[2], &f.parts[3]],
            f.ratios,
        )
    }
    let (q, g) = features.split_at(queries);
    let (ql, gl) = labels.split_at(queries);
    q.iter()
        .zip(ql)
        .map(|(qf, qlabel)| {
            let qv = view(qf).ok()?;
            g.iter()
                .zip(gl)
                .enumerate()
                .filter(|(_, (_, gl))| !(gl.camera == qlabel.camera && gl.id == qlabel.id))
                .filter_map(|(j, (gf, _))| {
                    let d = spanreid::cpdm::cpdm(&qv, &view(gf).ok()?).ok()?;
                    Some((j, d))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(j, _)| j)
        })
        .collect()
}

/// Share of queries whose top-1 agrees between two engines.
pub fn agreement(a: &[Option<usize>], b: &[Option<usize>]) -> f64 {
    if a.is_empty() {
        return 1.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}
