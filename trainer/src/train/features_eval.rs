//! Scoring a feature run: extract the four part features (BN-neck) and the area ratios of
//! every query and gallery image, then rank the gallery for each query under each of the
//! core library's metrics and score mAP, CMC and mINP with its evaluator.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use spanreid::cpdm::{self, AreaRatios, Metric, PartFeatures};
use spanreid::eval::rerank::{DistanceSource, RerankConfig, Reranker};
use spanreid::eval::{EvalConfig, EvalReport, Evaluator, Label};
use tch::{Device, Tensor};

use crate::loss_reid::area_ratios;
use crate::train::TrainError;
use crate::train::features_loop::{FeatureModel, load_images, load_run};
use crate::train::reid_data::{self, ReidImage};
use crate::train::sampler::Pick;

/// Images per forward pass during extraction.
const EXTRACT_BATCH: usize = 32;

/// The features of one image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFeatures {
    /// Global, front, rear, side features (BN-neck), `d` each.
    pub parts: [Vec<f32>; 4],
    /// Area ratios of its SPAN masks.
    pub ratios: AreaRatios,
}

/// Scores of one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricReport {
    /// The metric.
    pub metric: Metric,
    /// Its figures.
    pub report: EvalReport,
}

/// The JSON report of `trainer eval`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureEvalReport {
    /// Query images.
    pub queries: usize,
    /// Gallery images.
    pub gallery: usize,
    /// Seconds spent extracting features.
    pub extract_seconds: f64,
    /// One entry per metric, in [`Metric::ALL`] order.
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
            let necks = model.net.forward(&batch, &masks, false).necks;
            (necks, area_ratios(&masks))
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

fn view(f: &ImageFeatures) -> Result<PartFeatures<'_>, cpdm::CpdmError> {
    PartFeatures::new(
        [&f.parts[0], &f.parts[1], &f.parts[2], &f.parts[3]],
        f.ratios,
    )
}

fn label(img: &ReidImage) -> Label {
    Label::new(img.id, img.camera)
}

/// Scores query features against gallery features under `metric`.
pub fn score(
    metric: Metric,
    query: &[(Label, ImageFeatures)],
    gallery: &[(Label, ImageFeatures)],
) -> Result<EvalReport, TrainError> {
    let corrupt = |reason: String| TrainError::Corrupt {
        path: Default::default(),
        reason,
    };
    let labels: Vec<Label> = gallery.iter().map(|(l, _)| *l).collect();
    let mut eval = Evaluator::new(EvalConfig::default());
    for (ql, qf) in query {
        let q = view(qf).map_err(|e| corrupt(e.to_string()))?;
        let distances = gallery
            .iter()
            .map(|(_, gf)| {
                let g = view(gf)?;
                cpdm::distance(metric, &q, &g)
            })
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| corrupt(e.to_string()))?;
        eval.add_query(*ql, &labels, &distances)
            .map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(eval.finish())
}

/// Every query and gallery image as one distance source for re-ranking (queries first); each
/// row is divided by its largest finite value, as the re-ranking reference does.
struct MetricRows<'a> {
    metric: Metric,
    items: Vec<PartFeatures<'a>>,
    queries: usize,
}

impl DistanceSource for MetricRows<'_> {
    fn len_query(&self) -> usize {
        self.queries
    }

    fn len_gallery(&self) -> usize {
        self.items.len() - self.queries
    }

    fn row(&self, index: usize, out: &mut [f32]) {
        let a = &self.items[index];
        for (o, b) in out.iter_mut().zip(&self.items) {
            *o = cpdm::distance(self.metric, a, b).unwrap_or(f32::INFINITY);
        }
        let max = out
            .iter()
            .copied()
            .filter(|d| d.is_finite())
            .fold(0.0, f32::max);
        if max > 0.0 {
            out.iter_mut().for_each(|o| *o /= max);
        }
    }
}

/// Scores query features against gallery features under `metric` followed by k-reciprocal
/// re-ranking (memory-bounded: see `spanreid::eval::rerank`).
pub fn score_reranked(
    metric: Metric,
    query: &[(Label, ImageFeatures)],
    gallery: &[(Label, ImageFeatures)],
    config: &RerankConfig,
) -> Result<EvalReport, TrainError> {
    let corrupt = |reason: String| TrainError::Corrupt {
        path: Default::default(),
        reason,
    };
    let items = query
        .iter()
        .chain(gallery)
        .map(|(_, f)| view(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    let source = MetricRows {
        metric,
        items,
        queries: query.len(),
    };
    let labels: Vec<Label> = gallery.iter().map(|(l, _)| *l).collect();
    let mut eval = Evaluator::new(EvalConfig::default());
    let mut reranker = Reranker::new(&source, config).map_err(|e| corrupt(e.to_string()))?;
    for (qi, (ql, _)) in query.iter().enumerate() {
        let distances = reranker.query(qi).map_err(|e| corrupt(e.to_string()))?;
        eval.add_query(*ql, &labels, distances)
            .map_err(|e| corrupt(e.to_string()))?;
    }
    Ok(eval.finish())
}

/// Evaluates `model` on `data`'s query and gallery splits under every metric, and under
/// CPDM with k-reciprocal re-ranking when `rerank` is given.
pub fn evaluate_model(
    model: &FeatureModel,
    data: &Path,
    size: u32,
    device: Device,
    rerank: Option<&RerankConfig>,
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
    let metrics = Metric::ALL
        .iter()
        .map(|&metric| {
            Ok(MetricReport {
                metric,
                report: score(metric, &q, &g)?,
            })
        })
        .collect::<Result<_, TrainError>>()?;
    let cpdm_reranked = rerank
        .map(|config| score_reranked(Metric::Cpdm, &q, &g, config))
        .transpose()?;
    Ok(FeatureEvalReport {
        queries: q.len(),
        gallery: g.len(),
        extract_seconds,
        metrics,
        cpdm_reranked,
    })
}

/// Evaluates the feature run in `run` on `data` (with re-ranking when `rerank` is given).
pub fn evaluate_run(
    run: &Path,
    data: &Path,
    rerank: Option<&RerankConfig>,
) -> Result<FeatureEvalReport, TrainError> {
    let device = Device::cuda_if_available();
    let (config, model) = load_run(run, device)?;
    evaluate_model(&model, data, config.model.input_size, device, rerank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(global: [f32; 2], part: [f32; 2], ratios: [f32; 3]) -> ImageFeatures {
        ImageFeatures {
            parts: [global.to_vec(), part.to_vec(), part.to_vec(), part.to_vec()],
            ratios: AreaRatios(ratios),
        }
    }

    #[test]
    fn hand_made_features_give_the_known_metrics() {
        // Query id 1 (camera 1). Gallery: id 2 close in the global feature, id 1 far in the
        // global feature but identical in the parts, both seen from the front.
        let q = vec![(
            Label::new(1, 1),
            feats([0.0, 0.0], [0.0, 0.0], [1.0, 0.0, 0.0]),
        )];
        let g = vec![
            (
                Label::new(2, 2),
                feats([1.0, 0.0], [9.0, 9.0], [1.0, 0.0, 0.0]),
            ),
            (
                Label::new(1, 2),
                feats([3.0, 0.0], [0.0, 0.0], [1.0, 0.0, 0.0]),
            ),
        ];
        // Global Euclidean ranks the wrong id first: AP = 1/2, rank-1 = 0.
        let global = score(Metric::GlobalEuclidean, &q, &g).expect("scores");
        assert!((global.map - 0.5).abs() < 1e-9);
        assert_eq!(global.cmc_at(1), Some(0.0));
        // CPDM weights global and front by 1/2 each: 0.5·1 + 0.5·12.7 vs 0.5·3 → true first.
        let cpdm = score(Metric::Cpdm, &q, &g).expect("scores");
        assert!((cpdm.map - 1.0).abs() < 1e-9);
        assert_eq!(cpdm.cmc_at(1), Some(1.0));
        assert_eq!(cpdm.queries_scored, 1);
        // λ = 1 keeps the (row-normalised) CPDM distances: the same ranking, the same mAP.
        let keep = RerankConfig {
            k1: 2,
            k2: 1,
            lambda: 1.0,
            ..RerankConfig::default()
        };
        let reranked = score_reranked(Metric::Cpdm, &q, &g, &keep).expect("re-ranks");
        assert!((reranked.map - cpdm.map).abs() < 1e-9);
        assert_eq!(reranked.queries_scored, 1);
    }
}
