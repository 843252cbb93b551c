//! The streaming evaluator: one query at a time in, one report out.

use serde::{Deserialize, Serialize};

use super::cmc::CmcCounter;
use super::map::{QueryScore, score_ranked};
use super::protocol::Label;

/// Ranks reported by default: CMC at 1..=20 covers the usual rank-1/5/10/20 figures.
pub const DEFAULT_MAX_RANK: usize = 20;

/// How to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// CMC is reported for ranks `1..=max_rank`.
    pub max_rank: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            max_rank: DEFAULT_MAX_RANK,
        }
    }
}

/// Errors of the evaluator (bad arguments; no external input is parsed here).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvalError {
    /// The distance row and the gallery labels differ in length.
    #[error("query {query:?}: {distances} distances for a gallery of {gallery} entries")]
    LengthMismatch {
        /// The query being scored.
        query: Label,
        /// Number of gallery labels.
        gallery: usize,
        /// Number of distances.
        distances: usize,
    },
}

/// The figures of one evaluation run (written as JSON by the trainer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Mean average precision, common definition (fast-reid, torchreid).
    pub map: f64,
    /// Mean average precision as the official VeRi-776 MATLAB code computes it (trapezoid).
    pub map_veri_official: f64,
    /// Mean inverse negative penalty.
    pub minp: f64,
    /// `(rank, share of scored queries with a true match within rank)` for 1..=max rank.
    pub cmc: Vec<(usize, f64)>,
    /// Queries with at least one true match, over which the means are taken.
    pub queries_scored: u64,
    /// Queries skipped because no true match remained after junk removal.
    pub queries_skipped_no_match: u64,
}

impl EvalReport {
    /// CMC at `rank` (1-based), if within the reported ranks.
    pub fn cmc_at(&self, rank: usize) -> Option<f64> {
        self.cmc.iter().find(|(k, _)| *k == rank).map(|(_, v)| *v)
    }
}

/// Accumulates per-query scores; holds O(max rank) state plus one reusable index buffer of
/// gallery size, never a query × gallery matrix.
#[derive(Clone, Debug)]
pub struct Evaluator {
    cmc: CmcCounter,
    ap_sum: f64,
    ap_veri_sum: f64,
    inp_sum: f64,
    scored: u64,
    skipped: u64,
    order: Vec<usize>,
}

impl Evaluator {
    /// An empty evaluator.
    pub fn new(config: EvalConfig) -> Self {
        Self {
            cmc: CmcCounter::new(config.max_rank),
            ap_sum: 0.0,
            ap_veri_sum: 0.0,
            inp_sum: 0.0,
            scored: 0,
            skipped: 0,
            order: Vec::new(),
        }
    }

    /// Scores one query from its distances to every gallery entry (smaller is closer).
    ///
    /// The gallery is ranked by ascending distance; equal distances keep gallery order, so
    /// results are deterministic. `-0.0` equals `0.0`; NaN ranks after every number.
    /// Returns the query's scores, or `None` when it was skipped for having no true match.
    pub fn add_query(
        &mut self,
        query: Label,
        gallery: &[Label],
        distances: &[f32],
    ) -> Result<Option<QueryScore>, EvalError> {
        if gallery.len() != distances.len() {
            return Err(EvalError::LengthMismatch {
                query,
                gallery: gallery.len(),
                distances: distances.len(),
            });
        }
        let mut order = core::mem::take(&mut self.order);
        order.clear();
        order.extend(0..gallery.len());
        // Adding 0.0 turns -0.0 into 0.0 so the two tie; the stable sort keeps index order.
        order.sort_by(|&a, &b| (distances[a] + 0.0).total_cmp(&(distances[b] + 0.0)));
        let score = self.add_ranked(query, order.iter().map(|&i| gallery[i]));
        self.order = order;
        Ok(score)
    }

    /// Scores one query from its full gallery ranking, best first.
    pub fn add_ranked<I>(&mut self, query: Label, ranked: I) -> Option<QueryScore>
    where
        I: IntoIterator<Item = Label>,
    {
        let score = score_ranked(query, ranked);
        match score {
            Some(s) => {
                self.ap_sum += s.ap;
                self.ap_veri_sum += s.ap_veri_official;
                self.inp_sum += s.inp;
                self.cmc.record(s.first_hit_rank);
                self.scored += 1;
            }
            None => {
                tracing::debug!(?query, "query skipped: no true match in the gallery");
                self.skipped += 1;
            }
        }
        score
    }

    /// The report over all queries added so far (means are 0 when none was scored).
    pub fn finish(&self) -> EvalReport {
        let mean = |sum: f64| {
            if self.scored == 0 {
                0.0
            } else {
                sum / self.scored as f64
            }
        };
        EvalReport {
            map: mean(self.ap_sum),
            map_veri_official: mean(self.ap_veri_sum),
            minp: mean(self.inp_sum),
            cmc: self.cmc.curve(self.scored),
            queries_scored: self.scored,
            queries_skipped_no_match: self.skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// Gallery (index: id, camera): 0:(1,2) 1:(2,2) 2:(1,1) 3:(3,1) 4:(1,3) 5:(2,1).
    fn gallery() -> Vec<Label> {
        [(1, 2), (2, 2), (1, 1), (3, 1), (1, 3), (2, 1)]
            .into_iter()
            .map(|(i, c)| Label::new(i, c))
            .collect()
    }

    // Query A (1,1), distances [.3 .1 .2 .3 .5 .9]. Sorted: 1 (.1, miss), 2 (.2, junk),
    //   0 (.3, hit), 3 (.3, miss; tie with 0, later index), 4 (.5, hit), 5 (.9, miss).
    //   Kept: miss hit miss hit miss → AP 1/2, VeRi AP 1/3, mINP 2/4 = 1/2, first hit rank 2.
    //   (Breaking the tie the other way would give miss miss hit hit: AP 7/12.)
    // Query B (3,1): the only id-3 entry is index 3, camera 1 → junk; skipped.
    // Query C (2,1), distances [.4 .2 .8 .1 .6 .05]. Sorted: 5 (junk), 3 (miss), 1 (hit),
    //   0, 4, 2 (misses). Kept: miss hit … (1 positive) → AP 1/2;
    //   VeRi: n=1 old_precision 0; n=2 1 · (0 + 1/2)/2 = 1/4; mINP 1/2; first hit rank 2.
    // Query D (1,3), distances [.1 .5 .3 .2 -0.0 .7]. Sorted: 4 (junk), 0 (hit), 3 (miss),
    //   2 (hit), 1, 5 (misses). Kept: hit miss hit → AP (1 + 2/3)/2 = 5/6;
    //   VeRi: 1/2·(1+1)/2 + 1/2·(1/2 + 2/3)/2 = 1/2 + 7/24 = 19/24; mINP 2/3; first rank 1.
    // Report over A, C, D (B skipped):
    //   mAP = (1/2 + 1/2 + 5/6)/3 = 11/18; VeRi mAP = (8/24 + 6/24 + 19/24)/3 = 11/24;
    //   mINP = (1/2 + 1/2 + 2/3)/3 = 5/9; CMC first hits at 2, 2, 1 → rank 1: 1/3, rank 2+: 1.
    #[test]
    fn hand_computed_report() {
        let g = gallery();
        let mut ev = Evaluator::new(EvalConfig { max_rank: 3 });
        let a = ev
            .add_query(Label::new(1, 1), &g, &[0.3, 0.1, 0.2, 0.3, 0.5, 0.9])
            .unwrap()
            .unwrap();
        close(a.ap, 0.5);
        close(a.ap_veri_official, 1.0 / 3.0);
        let b = ev.add_query(Label::new(3, 1), &g, &[0.0; 6]).unwrap();
        assert_eq!(b, None);
        let c = ev
            .add_query(Label::new(2, 1), &g, &[0.4, 0.2, 0.8, 0.1, 0.6, 0.05])
            .unwrap()
            .unwrap();
        close(c.ap_veri_official, 0.25);
        let d = ev
            .add_query(Label::new(1, 3), &g, &[0.1, 0.5, 0.3, 0.2, -0.0, 0.7])
            .unwrap()
            .unwrap();
        close(d.ap_veri_official, 19.0 / 24.0);

        let r = ev.finish();
        close(r.map, 11.0 / 18.0);
        close(r.map_veri_official, 11.0 / 24.0);
        close(r.minp, 5.0 / 9.0);
        assert_eq!(r.queries_scored, 3);
        assert_eq!(r.queries_skipped_no_match, 1);
        assert_eq!(r.cmc.len(), 3);
        close(r.cmc_at(1).unwrap(), 1.0 / 3.0);
        close(r.cmc_at(2).unwrap(), 1.0);
        close(r.cmc_at(3).unwrap(), 1.0);
        assert_eq!(r.cmc_at(4), None);
    }

    #[test]
    fn negative_zero_ties_with_zero_and_nan_ranks_last() {
        let g = [Label::new(2, 2), Label::new(1, 2), Label::new(1, 3)];
        let mut ev = Evaluator::new(EvalConfig::default());
        // Index 0 (miss) at 0.0 and index 1 (hit) at -0.0 tie → index 0 first: miss, hit.
        // Index 2 (hit) has NaN → last. Kept: miss hit hit → AP (1/2 + 2/3)/2 = 7/12.
        let s = ev
            .add_query(Label::new(1, 1), &g, &[0.0, -0.0, f32::NAN])
            .unwrap()
            .unwrap();
        close(s.ap, 7.0 / 12.0);
        assert_eq!(s.first_hit_rank, 2);
    }

    #[test]
    fn length_mismatch_is_an_error_and_counts_nothing() {
        let mut ev = Evaluator::new(EvalConfig::default());
        let e = ev
            .add_query(Label::new(1, 1), &gallery(), &[0.0; 5])
            .unwrap_err();
        assert_eq!(
            e,
            EvalError::LengthMismatch {
                query: Label::new(1, 1),
                gallery: 6,
                distances: 5
            }
        );
        let r = ev.finish();
        assert_eq!((r.queries_scored, r.queries_skipped_no_match), (0, 0));
        assert_eq!(r.map, 0.0);
    }

    #[test]
    fn ranked_and_distance_paths_agree() {
        let g = gallery();
        let d = [0.3, 0.1, 0.2, 0.35, 0.5, 0.9];
        let mut by_dist = Evaluator::new(EvalConfig::default());
        by_dist.add_query(Label::new(1, 1), &g, &d).unwrap();
        let mut by_rank = Evaluator::new(EvalConfig::default());
        by_rank.add_ranked(Label::new(1, 1), [1, 2, 0, 3, 4, 5].map(|i| g[i]));
        assert_eq!(by_dist.finish(), by_rank.finish());
    }
}
