//! Viewpoint-balanced batches: every view present in the data gets an equal share of each
//! batch (the paper trains SPAN "on a subset of VeRi-776 with balanced images in each
//! viewpoint"), with random flips. Batches depend only on (seed, step), so a resumed run
//! draws the same batches it would have drawn.

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;

use crate::train::view::View;

/// One batch entry: the sample index and whether to mirror it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    /// Index into the sample list.
    pub index: usize,
    /// Apply the horizontal flip.
    pub flip: bool,
}

/// Sample indices grouped by view.
#[derive(Clone, Debug)]
pub struct BalancedSampler {
    groups: Vec<Vec<usize>>,
    seed: u64,
    flip: bool,
}

impl BalancedSampler {
    /// Groups `views` (one per sample) by view; `flip` enables mirroring half the picks.
    pub fn new(views: &[View], seed: u64, flip: bool) -> Self {
        let groups = View::ALL
            .iter()
            .map(|v| {
                views
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| *w == v)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            })
            .filter(|g| !g.is_empty())
            .collect();
        Self { groups, seed, flip }
    }

    /// Number of distinct views in the data.
    pub fn views(&self) -> usize {
        self.groups.len()
    }

    /// The batch of `step`: views in a shuffled round-robin, a uniform image within each.
    pub fn batch(&self, step: u64, size: usize) -> Vec<Pick> {
        if self.groups.is_empty() {
            return Vec::new();
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.shuffle(&mut rng);
        (0..size)
            .map(|k| {
                let group = &self.groups[order[k % order.len()]];
                Pick {
                    index: group[rng.random_range(0..group.len())],
                    flip: self.flip && rng.random_bool(0.5),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rare_views_get_an_equal_share() {
        // 97 side images, 3 front: a uniform sampler would give ~3% fronts.
        let mut views = vec![View::Side; 97];
        views.extend([View::Front; 3]);
        let s = BalancedSampler::new(&views, 7, false);
        let picks = s.batch(0, 10);
        let fronts = picks
            .iter()
            .filter(|p| views[p.index] == View::Front)
            .count();
        assert_eq!(fronts, 5);
        assert!(picks.iter().all(|p| !p.flip));
    }

    #[test]
    fn batches_depend_only_on_seed_and_step() {
        let views = [View::Front, View::Rear, View::Side, View::FrontSide];
        let a = BalancedSampler::new(&views, 1, true);
        let b = BalancedSampler::new(&views, 1, true);
        assert_eq!(a.batch(5, 16), b.batch(5, 16));
        assert_ne!(a.batch(5, 16), a.batch(6, 16));
    }

    proptest! {
        #[test]
        fn picks_are_in_range_and_balanced(
            labels in proptest::collection::vec(0usize..5, 1..60),
            step in 0u64..1000,
            size in 1usize..40,
        ) {
            let views: Vec<View> = labels.iter().map(|&i| View::ALL[i]).collect();
            let s = BalancedSampler::new(&views, 3, true);
            let picks = s.batch(step, size);
            prop_assert_eq!(picks.len(), size);
            let mut counts = [0usize; 5];
            for p in &picks {
                prop_assert!(p.index < views.len());
                counts[labels[p.index]] += 1;
            }
            let present: Vec<usize> = counts.iter().copied().filter(|&c| c > 0).collect();
            let (lo, hi) = (present.iter().min(), present.iter().max());
            prop_assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1));
        }
    }
}
