//! Scoring a feature run: extract the four part features (BN-neck) and the area ratios of
//! every query and gallery image, then rank the gallery for each query under each of the
//! core library's metrics and score mAP, CMC and mINP with its evaluator.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use spanreid::cpdm::{AreaRatios, Metric};
use spanreid::eval::rerank::RerankConfig;
use spanreid::eval::{EvalReport, Label};
use tch::{Device, Tensor};

use crate::features::loss::area_ratios;
use crate::features::model::{FeatureModel, load_images, load_run};
use crate::model::features::FeatureOutput;
use crate::span::sampler::Pick;
use crate::train::TrainError;
use crate::train::reid_data::{self, ReidImage};

pub use crate::eval::reid::{ImageFeatures, MetricReport, score};
use crate::eval::reid::{label, score_reranked};

/// Images per forward pass during extraction.
const EXTRACT_BATCH: usize = 32;

/// The JSON report of `trainer eval`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureEvalReport {
    /// Query images.
    pub queries: usize,
    /// Gallery images.
    pub gallery: usize,
    /// Seconds spent extracting features.
    pub extract_seconds: f64,
    /// One entry per metric the run's aggregation supports, in [`Metric::ALL`] order.
    pub metrics: Vec<MetricReport>,
    /// CPDM followed by k-reciprocal re-ranking, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpdm_reranked: Option<EvalReport>,
}

fn to_vec(t: &Tensor, what: &str) -> Result<Vec<f32>, TrainError> {
    Vec::<f32>::try_from(t.contiguous().view([-1])).map_err(|source| TrainError::Torch {
        what: format!("reading {what}"),
        source,
    })
}

/// Extracts features of `images` with `model` at `size`.
pub fn extract(
    model: &FeatureModel,
    images: &[ReidImage],
    size: u32,
    device: Device,
) -> Result<Vec<ImageFeatures>, TrainError> {
    let mut out = Vec::with_capacity(images.len());
    for start in (0..images.len()).step_by(EXTRACT_BATCH) {
        let end = (start + EXTRACT_BATCH).min(images.len());
        let picks: Vec<Pick> = (start..end)
            .map(|index| Pick { index, flip: false })
            .collect();
        let batch = load_images(images, &picks, size, device)?;
        let (necks, ratios) = tch::no_grad(|| {
            let masks = model.masks(&batch);
            let out = model.net.forward(&batch, &masks, false);
            (retrieval_features(out), area_ratios(&masks))
        });
        let parts: Vec<Vec<f32>> = necks
            .iter()
            .map(|t| to_vec(t, "features"))
            .collect::<Result<_, _>>()?;
        let ratios = to_vec(&ratios, "area ratios")?;
        let n = end - start;
        let dim = parts[0].len() / n;
        for i in 0..n {
            let row = |p: &Vec<f32>| p[i * dim..(i + 1) * dim].to_vec();
            out.push(ImageFeatures {
                parts: [
                    row(&parts[0]),
                    row(&parts[1]),
                    row(&parts[2]),
                    row(&parts[3]),
                ],
                ratios: AreaRatios([ratios[3 * i], ratios[3 * i + 1], ratios[3 * i + 2]]),
            });
        }
    }
    Ok(out)
}

/// The four retrieval features of a forward pass in part order: the branch necks, or the
/// fusion head's neck in the global slot for `fc`; slots a network does not have are zeros.
fn retrieval_features(out: FeatureOutput) -> Vec<Tensor> {
    let mut features = match out.fused {
        Some(fused) => vec![fused.neck],
        None => out.necks,
    };
    let zeros = features[0].zeros_like();
    features.resize_with(4, || zeros.shallow_clone());
    features
}

/// Evaluates `model` on `data`'s query and gallery splits under every metric its
/// aggregation supports ([`crate::config::aggregation::Aggregation::metrics`]), and under
/// CPDM with k-reciprocal re-ranking when `rerank` is given.
pub fn evaluate_model(
    model: &FeatureModel,
    data: &Path,
    size: u32,
    device: Device,
    rerank: Option<&RerankConfig>,
    rank_list: Option<(&Path, usize)>,
) -> Result<FeatureEvalReport, TrainError> {
    let query = reid_data::scan_split(data, reid_data::QUERY_DIR)?;
    let gallery = reid_data::scan_split(data, reid_data::GALLERY_DIR)?;
    let began = Instant::now();
    let with_labels = |imgs: &[ReidImage]| -> Result<Vec<(Label, ImageFeatures)>, TrainError> {
        Ok(imgs
            .iter()
            .map(label)
            .zip(extract(model, imgs, size, device)?)
            .collect())
    };
    let q = with_labels(&query)?;
    let g = with_labels(&gallery)?;
    let extract_seconds = began.elapsed().as_secs_f64();
    let metrics = model
        .aggregation
        .metrics()
        .iter()
        .map(|&metric| {
            Ok(MetricReport {
                metric,
                report: score(metric, &q, &g)?,
            })
        })
        .collect::<Result<_, TrainError>>()?;
    let cpdm_reranked = rerank
        .filter(|_| model.aggregation.metrics().contains(&Metric::Cpdm))
        .map(|config| score_reranked(Metric::Cpdm, &q, &g, config))
        .transpose()?;
    if let Some((path, count)) = rank_list {
        let metric = model.aggregation.metric();
        crate::eval::rank_list::draw(path, metric, &query, &gallery, &q, &g, count)?;
    }
    Ok(FeatureEvalReport {
        queries: q.len(),
        gallery: g.len(),
        extract_seconds,
        metrics,
        cpdm_reranked,
    })
}

/// Evaluates the feature run in `run` on `data` (with re-ranking when `rerank` is given,
/// drawing the rank-list picture of `count` queries into `path` when `rank_list` is).
pub fn evaluate_run(
    run: &Path,
    data: &Path,
    rerank: Option<&RerankConfig>,
    rank_list: Option<(&Path, usize)>,
) -> Result<FeatureEvalReport, TrainError> {
    let device = Device::cuda_if_available();
    let (config, model) = load_run(run, device)?;
    evaluate_model(
        &model,
        data,
        config.model.input_size,
        device,
        rerank,
        rank_list,
    )
}
