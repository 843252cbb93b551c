//! View-mixed batches: each view present in the data gets its share of every batch
//! ([`ViewShare`]; equal shares are the paper's "balanced images in each viewpoint"), with
//! random flips. Batches depend only on (seed, step), so a resumed run draws the same batches
//! it would have drawn.

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;

use crate::train::views::ViewShare;
use spanreid::View;

/// One batch entry: the sample index and whether to mirror it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    /// Index into the sample list.
    pub index: usize,
    /// Apply the horizontal flip.
    pub flip: bool,
}

/// Sample indices grouped by view, each group with its share.
#[derive(Clone, Debug)]
pub struct ViewSampler {
    groups: Vec<(Vec<usize>, f64)>,
    seed: u64,
    flip: bool,
}

impl ViewSampler {
    /// Groups `views` (one per sample) by view, weighted by `share` (views with share 0 are
    /// never drawn); `flip` enables mirroring half the picks.
    pub fn new(views: &[View], share: &ViewShare, seed: u64, flip: bool) -> Self {
        let groups = View::ALL
            .iter()
            .map(|v| {
                let members = views
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| *w == v)
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>();
                (members, share.of(*v))
            })
            .filter(|(g, w)| !g.is_empty() && *w > 0.0)
            .collect();
        Self { groups, seed, flip }
    }

    /// Equal shares for every view present.
    #[cfg(test)]
    pub fn balanced(views: &[View], seed: u64, flip: bool) -> Self {
        Self::new(views, &ViewShare::BALANCED, seed, flip)
    }

    /// Number of distinct views drawn from.
    pub fn views(&self) -> usize {
        self.groups.len()
    }

    /// How many of `size` picks each group gets: the floor of its exact share, the
    /// remaining picks drawn in proportion to the fractional parts (largest remainder with
    /// random ties), so counts never differ from the exact shares by a whole pick or more.
    fn counts(&self, size: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let total: f64 = self.groups.iter().map(|(_, w)| w).sum();
        let exact: Vec<f64> = self
            .groups
            .iter()
            .map(|(_, w)| size as f64 * w / total)
            .collect();
        let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
        let mut frac: Vec<f64> = exact
            .iter()
            .zip(&counts)
            .map(|(e, c)| e - *c as f64)
            .collect();
        let mut left = size.saturating_sub(counts.iter().sum());
        while left > 0 {
            let sum: f64 = frac.iter().sum();
            let k = if sum > 1e-12 {
                let mut r = rng.random_range(0.0..sum);
                frac.iter()
                    .position(|f| {
                        r -= f;
                        r < 0.0
                    })
                    .unwrap_or(frac.len() - 1)
            } else {
                rng.random_range(0..counts.len())
            };
            counts[k] += 1;
            frac[k] = 0.0;
            left -= 1;
        }
        counts
    }

    /// The batch of `step`: each group's count of uniform picks within it, shuffled.
    pub fn batch(&self, step: u64, size: usize) -> Vec<Pick> {
        if self.groups.is_empty() {
            return Vec::new();
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let counts = self.counts(size, &mut rng);
        let mut picks = Vec::with_capacity(size);
        for ((group, _), n) in self.groups.iter().zip(counts) {
            for _ in 0..n {
                picks.push(Pick {
                    index: group[rng.random_range(0..group.len())],
                    flip: self.flip && rng.random_bool(0.5),
                });
            }
        }
        picks.shuffle(&mut rng);
        picks
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
        let s = ViewSampler::balanced(&views, 7, false);
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
        let a = ViewSampler::balanced(&views, 1, true);
        let b = ViewSampler::balanced(&views, 1, true);
        assert_eq!(a.batch(5, 16), b.batch(5, 16));
        assert_ne!(a.batch(5, 16), a.batch(6, 16));
    }

    #[test]
    fn shares_set_the_mix_of_a_batch() {
        let mut views = vec![View::Front; 50];
        views.extend([View::FrontSide; 50]);
        views.extend([View::Rear; 5]);
        let share = ViewShare {
            front: 0.2,
            rear: 0.0,
            side: 1.0,
            front_side: 0.8,
            rear_side: 1.0,
        };
        let s = ViewSampler::new(&views, &share, 2, false);
        assert_eq!(s.views(), 2, "no side images, rear has share 0");
        for step in 0..20 {
            let picks = s.batch(step, 10);
            let two_view = picks
                .iter()
                .filter(|p| views[p.index] == View::FrontSide)
                .count();
            assert_eq!(two_view, 8, "step {step}");
        }
        // 16 picks at 0.2 / 0.8: 3.2 and 12.8, so 3 or 4 front images.
        let fronts: Vec<usize> = (0..40)
            .map(|step| {
                s.batch(step, 16)
                    .iter()
                    .filter(|p| views[p.index] == View::Front)
                    .count()
            })
            .collect();
        assert!(fronts.iter().all(|&f| f == 3 || f == 4), "{fronts:?}");
        assert!(fronts.contains(&3) && fronts.contains(&4), "{fronts:?}");
    }

    proptest! {
        #[test]
        fn picks_are_in_range_and_balanced(
            labels in proptest::collection::vec(0usize..5, 1..60),
            step in 0u64..1000,
            size in 1usize..40,
        ) {
            let views: Vec<View> = labels.iter().map(|&i| View::ALL[i]).collect();
            let s = ViewSampler::balanced(&views, 3, true);
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
