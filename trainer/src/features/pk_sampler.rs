//! PK batches for the triplet loss: P identities × K images each.
//!
//! Rules, per batch:
//! - P distinct identities are drawn uniformly without replacement; when the training set
//!   has fewer than P identities, every identity is used (the batch is smaller).
//! - Each identity contributes K images: K distinct images drawn without replacement when it
//!   has at least K, otherwise all its images once each and the remaining slots drawn
//!   uniformly *with* replacement from them (an identity with one image repeats it, which
//!   still gives the ID loss an example but its triplets no true positive pair).
//! - Images of one identity are consecutive in the batch.
//!
//! A batch depends only on (seed, step), so a resumed run draws the batches it would have.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng, seq::IndexedRandom, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;

use crate::span::sampler::Pick;

/// Sample indices grouped by identity class.
#[derive(Clone, Debug)]
pub struct PkSampler {
    groups: Vec<Vec<usize>>,
    p: usize,
    k: usize,
    seed: u64,
    flip: bool,
}

impl PkSampler {
    /// Groups samples by `classes` (one class per sample); `flip` mirrors half the picks.
    pub fn new(classes: &[usize], p: usize, k: usize, seed: u64, flip: bool) -> Self {
        let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &c) in classes.iter().enumerate() {
            by_class.entry(c).or_default().push(i);
        }
        Self {
            groups: by_class.into_values().collect(),
            p,
            k,
            seed,
            flip,
        }
    }

    /// Number of identities.
    pub fn identities(&self) -> usize {
        self.groups.len()
    }

    /// Images per batch: P·K, or fewer when there are fewer than P identities.
    pub fn batch_len(&self) -> usize {
        self.p.min(self.groups.len()) * self.k
    }

    /// The batch of `step`.
    pub fn batch(&self, step: u64) -> Vec<Pick> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let mut ids: Vec<usize> = (0..self.groups.len()).collect();
        ids.shuffle(&mut rng);
        ids.truncate(self.p);
        let mut picks = Vec::with_capacity(ids.len() * self.k);
        for id in ids {
            let group = &self.groups[id];
            let mut chosen: Vec<usize> = if group.len() >= self.k {
                group.choose_multiple(&mut rng, self.k).copied().collect()
            } else {
                let mut all = group.clone();
                all.shuffle(&mut rng);
                while all.len() < self.k {
                    all.push(group[rng.random_range(0..group.len())]);
                }
                all
            };
            for index in chosen.drain(..) {
                picks.push(Pick {
                    index,
                    flip: self.flip && rng.random_bool(0.5),
                });
            }
        }
        picks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn batches_hold_p_ids_of_k_distinct_images() {
        // 6 identities of 5 images each.
        let classes: Vec<usize> = (0..30).map(|i| i / 5).collect();
        let s = PkSampler::new(&classes, 4, 3, 1, false);
        let batch = s.batch(0);
        assert_eq!(batch.len(), 12);
        assert_eq!(s.batch_len(), 12);
        let mut ids = BTreeSet::new();
        for chunk in batch.chunks(3) {
            let c = classes[chunk[0].index];
            assert!(chunk.iter().all(|p| classes[p.index] == c));
            let distinct: BTreeSet<usize> = chunk.iter().map(|p| p.index).collect();
            assert_eq!(distinct.len(), 3, "no repeats when an id has ≥ K images");
            assert!(ids.insert(c), "identity {c} drawn twice");
        }
        assert!(batch.iter().all(|p| !p.flip));
    }

    #[test]
    fn short_identities_use_every_image_then_repeat() {
        // Identity 0 has 2 images, identity 1 has 1; K = 4.
        let classes = [0, 0, 1];
        let s = PkSampler::new(&classes, 2, 4, 9, true);
        let batch = s.batch(3);
        assert_eq!(batch.len(), 8);
        for chunk in batch.chunks(4) {
            let idx: BTreeSet<usize> = chunk.iter().map(|p| p.index).collect();
            let c = classes[chunk[0].index];
            let all: BTreeSet<usize> = (0..3).filter(|&i| classes[i] == c).collect();
            assert_eq!(idx, all, "every image of a short identity appears");
        }
    }

    #[test]
    fn fewer_identities_than_p_gives_a_smaller_batch() {
        let s = PkSampler::new(&[0, 0, 1, 1], 8, 2, 0, false);
        assert_eq!(s.identities(), 2);
        assert_eq!(s.batch(0).len(), 4);
        assert_eq!(s.batch_len(), 4);
    }

    #[test]
    fn batches_depend_only_on_seed_and_step() {
        let classes: Vec<usize> = (0..40).map(|i| i % 10).collect();
        let a = PkSampler::new(&classes, 4, 2, 5, true);
        let b = PkSampler::new(&classes, 4, 2, 5, true);
        assert_eq!(a.batch(7), b.batch(7));
        assert_ne!(a.batch(7), a.batch(8));
        assert_ne!(a.batch(7), PkSampler::new(&classes, 4, 2, 6, true).batch(7));
    }

    proptest! {
        #[test]
        fn every_batch_is_p_by_k(
            classes in proptest::collection::vec(0usize..12, 1..80),
            p in 1usize..8, k in 1usize..6, step in 0u64..500,
        ) {
            let s = PkSampler::new(&classes, p, k, 2, true);
            let batch = s.batch(step);
            let ids = p.min(s.identities());
            prop_assert_eq!(batch.len(), ids * k);
            let mut seen = BTreeSet::new();
            for chunk in batch.chunks(k) {
                let c = classes[chunk[0].index];
                prop_assert!(chunk.iter().all(|q| classes[q.index] == c));
                prop_assert!(seen.insert(c));
                let have = classes.iter().filter(|&&x| x == c).count();
                let distinct: BTreeSet<usize> = chunk.iter().map(|q| q.index).collect();
                prop_assert_eq!(distinct.len(), have.min(k));
            }
        }
    }
}
