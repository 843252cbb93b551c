//! Ranking and scoring part features without libtorch: CPDM and the baselines over query
//! and gallery features, mAP, CMC and mINP with the core evaluator, optionally after
//! k-reciprocal re-ranking. `trainer eval` (libtorch features) and `trainer eval-onnx`
//! (features of an exported graph run by tract) both score through here.

use serde::{Deserialize, Serialize};
use spanreid::cpdm::{self, AreaRatios, Metric, PartFeatures};
use spanreid::eval::rerank::{DistanceSource, RerankConfig, Reranker};
use spanreid::eval::{EvalConfig, EvalReport, Evaluator, Label};

use crate::train::TrainError;
use crate::train::reid_data::ReidImage;

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

/// CPDM's view of one image's features.
pub fn view(f: &ImageFeatures) -> Result<PartFeatures<'_>, cpdm::CpdmError> {
    PartFeatures::new(
        [&f.parts[0], &f.parts[1], &f.parts[2], &f.parts[3]],
        f.ratios,
    )
}

/// The evaluation label (identity, camera) of a dataset image.
pub fn label(img: &ReidImage) -> Label {
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
