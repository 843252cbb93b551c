//! Cumulative matching characteristic: the share of queries with a true match within the
//! first `k` ranks, for `k = 1..=max_rank`.

/// Counts first-hit ranks up to a maximum rank; memory is `max_rank` counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmcCounter {
    /// `first_hit[k - 1]` = number of queries whose first true match is at rank `k`.
    first_hit: Vec<u64>,
}

impl CmcCounter {
    /// A counter for ranks `1..=max_rank`.
    pub fn new(max_rank: usize) -> Self {
        Self {
            first_hit: vec![0; max_rank],
        }
    }

    /// Records a query whose first true match is at `rank` (1-based). Ranks beyond the
    /// maximum count as misses at every reported rank.
    pub fn record(&mut self, rank: usize) {
        if let Some(slot) = rank.checked_sub(1).and_then(|i| self.first_hit.get_mut(i)) {
            *slot += 1;
        }
    }

    /// `(k, share)` for `k = 1..=max_rank`, over `queries` scored queries (0 when none).
    pub fn curve(&self, queries: u64) -> Vec<(usize, f64)> {
        let mut cumulative = 0u64;
        self.first_hit
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                cumulative += n;
                let share = if queries == 0 {
                    0.0
                } else {
                    cumulative as f64 / queries as f64
                };
                (i + 1, share)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_is_cumulative_and_ignores_ranks_past_the_maximum() {
        let mut c = CmcCounter::new(3);
        for r in [2, 1, 2, 7] {
            c.record(r);
        }
        // 4 queries: first hits at 1, 2, 2 and 7 (beyond max rank 3).
        assert_eq!(c.curve(4), vec![(1, 0.25), (2, 0.75), (3, 0.75)]);
    }

    #[test]
    fn no_queries_gives_zero_and_rank_zero_is_ignored() {
        let mut c = CmcCounter::new(2);
        c.record(0);
        assert_eq!(c.curve(0), vec![(1, 0.0), (2, 0.0)]);
    }
}
