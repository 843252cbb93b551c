//! Per-query scores from a ranked gallery: average precision (common and VeRi-776 official),
//! inverse negative penalty, and the rank of the first true match.
//!
//! Everything is computed in one pass over the ranking without knowing the number of true
//! matches in advance: both AP variants are sums over the hits divided by that number at the
//! end, because recall only moves at a hit, by `1 / ngood` each time.

use super::protocol::{Label, Relevance, relevance};

/// The scores of one query that has at least one true match in the gallery.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueryScore {
    /// Average precision as in fast-reid / torchreid: the mean of the precision at each hit.
    pub ap: f64,
    /// Average precision as in the official VeRi-776 MATLAB code: recall steps weighted by
    /// the mean of the precision before and at each hit (trapezoid rule, starting from 1).
    pub ap_veri_official: f64,
    /// Inverse negative penalty: true matches ÷ rank of the last (hardest) true match.
    pub inp: f64,
    /// Rank (1-based, junk removed) of the first true match.
    pub first_hit_rank: usize,
    /// Number of true matches in the gallery.
    pub positives: usize,
}

/// Running sums while walking one ranking.
#[derive(Clone, Copy, Debug, Default)]
struct Walk {
    /// Kept (non-junk) positions seen so far.
    kept: usize,
    /// Hits seen so far.
    hits: usize,
    /// Σ precision at each hit.
    precision_sum: f64,
    /// Σ (precision before + precision at) / 2 at each hit.
    trapezoid_sum: f64,
    /// Precision at the previous kept position (1 before the first one).
    previous_precision: f64,
    first_hit_rank: usize,
    last_hit_rank: usize,
}

impl Walk {
    fn new() -> Self {
        Self {
            previous_precision: 1.0,
            ..Self::default()
        }
    }

    fn step(&mut self, r: Relevance) {
        let hit = match r {
            Relevance::Junk => return,
            Relevance::Hit => true,
            Relevance::Miss => false,
        };
        self.kept += 1;
        if hit {
            self.hits += 1;
            if self.first_hit_rank == 0 {
                self.first_hit_rank = self.kept;
            }
            self.last_hit_rank = self.kept;
        }
        let precision = self.hits as f64 / self.kept as f64;
        if hit {
            self.precision_sum += precision;
            self.trapezoid_sum += (self.previous_precision + precision) / 2.0;
        }
        self.previous_precision = precision;
    }

    fn finish(self) -> Option<QueryScore> {
        if self.hits == 0 {
            return None;
        }
        let n = self.hits as f64;
        Some(QueryScore {
            ap: self.precision_sum / n,
            ap_veri_official: self.trapezoid_sum / n,
            inp: n / self.last_hit_rank as f64,
            first_hit_rank: self.first_hit_rank,
            positives: self.hits,
        })
    }
}

/// Scores one query from its gallery ranking, best match first.
///
/// Returns `None` when no true match remains after junk removal (the protocol skips such a
/// query). The ranking must hold the whole gallery: true matches never retrieved count as
/// missing from the AP denominator otherwise.
pub fn score_ranked<I>(query: Label, ranked: I) -> Option<QueryScore>
where
    I: IntoIterator<Item = Label>,
{
    let mut walk = Walk::new();
    for g in ranked {
        walk.step(relevance(query, g));
    }
    walk.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Label = Label::new(1, 1);
    const HIT: Label = Label::new(1, 2);
    const JUNK: Label = Label::new(1, 1);
    const MISS: Label = Label::new(2, 2);

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    // Ranking: MISS, JUNK, HIT, MISS, HIT → after junk removal: miss, hit, miss, hit (ngood 2).
    // Common AP: hits at ranks 2 and 4, precision 1/2 and 2/4 → (1/2 + 1/2) / 2 = 1/2.
    // VeRi trapezoid (old_precision starts at 1):
    //   n=1 miss: precision 0, no recall step, old_precision = 0
    //   n=2 hit:  recall 1/2, precision 1/2, ap += 1/2 · (0 + 1/2)/2 = 1/8, old_precision = 1/2
    //   n=3 miss: precision 1/3, old_precision = 1/3
    //   n=4 hit:  recall 1,   precision 1/2, ap += 1/2 · (1/3 + 1/2)/2 = 5/24
    //   AP = 1/8 + 5/24 = 1/3 (differs from the common 1/2).
    // mINP: 2 positives, hardest at rank 4 → 1/2. First hit at rank 2.
    #[test]
    fn junk_is_skipped_and_trapezoid_differs_from_common_ap() {
        let s = score_ranked(Q, [MISS, JUNK, HIT, MISS, HIT]).expect("has hits");
        close(s.ap, 0.5);
        close(s.ap_veri_official, 1.0 / 3.0);
        close(s.inp, 0.5);
        assert_eq!(s.first_hit_rank, 2);
        assert_eq!(s.positives, 2);
    }

    // Ranking: HIT, MISS, HIT. Common AP = (1/1 + 2/3)/2 = 5/6.
    // Trapezoid: n=1 hit: 1/2 · (1 + 1)/2 = 1/2; n=2 miss: old_precision 1/2;
    //   n=3 hit: 1/2 · (1/2 + 2/3)/2 = 7/24 → 19/24. mINP = 2/3.
    #[test]
    fn first_rank_hit() {
        let s = score_ranked(Q, [HIT, MISS, HIT]).expect("has hits");
        close(s.ap, 5.0 / 6.0);
        close(s.ap_veri_official, 19.0 / 24.0);
        close(s.inp, 2.0 / 3.0);
        assert_eq!(s.first_hit_rank, 1);
    }

    #[test]
    fn perfect_ranking_scores_one_everywhere() {
        let s = score_ranked(Q, [HIT, HIT, JUNK, MISS]).expect("has hits");
        close(s.ap, 1.0);
        close(s.ap_veri_official, 1.0);
        close(s.inp, 1.0);
    }

    #[test]
    fn only_junk_and_misses_is_skipped() {
        assert_eq!(score_ranked(Q, [JUNK, MISS, JUNK]), None);
        assert_eq!(score_ranked(Q, []), None);
    }
}
