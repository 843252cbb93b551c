//! One-to-one association (`[matching] one_to_one`): a passage is paired with at most one
//! passage of each other camera. A vehicle passes a camera once per trip, so two queries
//! from one camera that both pick the same passage elsewhere cannot both be right: the
//! nearer pair keeps it. A new query takes, at each other camera, its nearest candidate
//! that is free or held by a farther pair, and a pair it takes over is withdrawn (the
//! event names it in `replaces`). Later passages can thus correct earlier, provisional
//! matches; the query that lost its pair is searched again at that camera
//! ([`Pairs::take_displaced`], a bounded number of rounds).
//!
//! Pure state, no I/O: the pairs a batch proposes are kept aside until the batch's store
//! transaction has committed ([`Pairs::settle`]); a failed batch leaves the pairs as they
//! were. The stored match records are the log of every pair taken; replaying them in the
//! order they were stored ([`Pairs::restore`]) rebuilds the same pairs after a restart.

use std::collections::HashMap;

/// Small integer standing for one camera.
pub type CameraIdx = u32;

/// Candidates looked at per other camera: if the nearest is held by a nearer pair, the
/// next ones may be free.
pub const DEPTH: usize = 3;

/// A pair a query takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Taken {
    /// The candidate's id.
    pub id: i64,
    /// CPDM distance.
    pub distance: f32,
    /// The passage (of the query's camera) whose pair with the candidate is withdrawn.
    pub replaces: Option<i64>,
}

/// The current pairs: for each passage and other camera, its partner there.
#[derive(Debug, Default)]
pub struct Pairs {
    partner: HashMap<(i64, CameraIdx), (i64, f32)>,
    /// Changes proposed by the batch being stored (`None`: withdrawn).
    pending: HashMap<(i64, CameraIdx), Option<(i64, f32)>>,
    /// Passages whose pair at a camera the settled batches withdrew, to search again.
    displaced: Vec<(i64, CameraIdx)>,
}

impl Pairs {
    fn current(&self, key: (i64, CameraIdx)) -> Option<(i64, f32)> {
        match self.pending.get(&key) {
            Some(change) => *change,
            None => self.partner.get(&key).copied(),
        }
    }

    /// Starts a batch: forgets what a previous, failed batch proposed.
    pub fn begin(&mut self) {
        self.pending.clear();
    }

    /// Chooses the pairs of query `query` at camera `camera`: `per_camera` holds, for each
    /// other camera, its candidates nearest first. At most `top_k` pairs, nearest first.
    /// The choice is proposed (seen by the batch's later queries) until [`Self::settle`].
    pub fn choose(
        &mut self,
        query: i64,
        camera: CameraIdx,
        per_camera: &[(CameraIdx, Vec<(i64, f32)>)],
        top_k: usize,
    ) -> Vec<Taken> {
        let mut taken: Vec<(CameraIdx, Taken)> = Vec::new();
        for (other, hits) in per_camera {
            let free = hits
                .iter()
                .find_map(|&(id, distance)| match self.current((id, camera)) {
                    None => Some(Taken {
                        id,
                        distance,
                        replaces: None,
                    }),
                    Some((holder, held)) if distance < held => Some(Taken {
                        id,
                        distance,
                        replaces: Some(holder),
                    }),
                    Some(_) => None,
                });
            taken.extend(free.map(|t| (*other, t)));
        }
        taken.sort_by(|a, b| {
            a.1.distance
                .total_cmp(&b.1.distance)
                .then(a.1.id.cmp(&b.1.id))
        });
        taken.truncate(top_k);
        for (other, t) in &taken {
            if let Some(old) = t.replaces {
                self.pending.insert((old, *other), None);
            }
            self.pending
                .insert((t.id, camera), Some((query, t.distance)));
            self.pending
                .insert((query, *other), Some((t.id, t.distance)));
        }
        taken.into_iter().map(|(_, t)| t).collect()
    }

    /// Applies what the batch proposed (its store transaction committed).
    pub fn settle(&mut self) {
        let mut changes: Vec<_> = self.pending.drain().collect();
        changes.sort_by_key(|(key, _)| *key);
        for (key, change) in changes {
            match change {
                Some(p) => self.partner.insert(key, p),
                None => {
                    self.displaced.push(key);
                    self.partner.remove(&key)
                }
            };
        }
    }

    /// Passages that lost their pair at a camera since the last call: `(id, camera)`.
    pub fn take_displaced(&mut self) -> Vec<(i64, CameraIdx)> {
        std::mem::take(&mut self.displaced)
    }

    /// Replays one stored pair: `query` at `camera` took `candidate` at `other`.
    pub fn restore(
        &mut self,
        query: i64,
        camera: CameraIdx,
        candidate: i64,
        other: CameraIdx,
        distance: f32,
    ) {
        if let Some((holder, _)) = self.partner.get(&(candidate, camera)).copied() {
            self.partner.remove(&(holder, other));
        }
        self.partner.insert((candidate, camera), (query, distance));
        self.partner.insert((query, other), (candidate, distance));
    }

    /// Forgets evicted passages and their pairs.
    pub fn remove(&mut self, ids: &[i64]) {
        let gone: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.partner
            .retain(|(id, _), (p, _)| !gone.contains(id) && !gone.contains(p));
    }

    /// The partner of passage `id` at camera `other`, if any.
    pub fn partner(&self, id: i64, other: CameraIdx) -> Option<i64> {
        self.partner.get(&(id, other)).map(|p| p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nearer_later_pair_replaces_a_farther_one_and_a_farther_one_looks_further() {
        let mut p = Pairs::default();
        // query 10 at camera 1 takes passage 1 of camera 0
        p.begin();
        let t = p.choose(10, 1, &[(0, vec![(1, 5.0), (2, 6.0)])], 3);
        assert_eq!(
            t[0],
            Taken {
                id: 1,
                distance: 5.0,
                replaces: None
            }
        );
        p.settle();
        assert_eq!((p.partner(1, 1), p.partner(10, 0)), (Some(10), Some(1)));
        // query 11 at camera 1 is nearer to 1: takes it over
        p.begin();
        let t = p.choose(11, 1, &[(0, vec![(1, 4.0)])], 3);
        assert_eq!(t[0].replaces, Some(10));
        // query 12, in the same batch, is farther from 1 than 11: gets 2 instead
        let t = p.choose(12, 1, &[(0, vec![(1, 4.5), (2, 7.0)])], 3);
        assert_eq!(
            t,
            vec![Taken {
                id: 2,
                distance: 7.0,
                replaces: None
            }]
        );
        p.settle();
        assert_eq!(p.partner(1, 1), Some(11));
        assert_eq!(p.partner(10, 0), None, "10's pair was withdrawn");
        assert_eq!(p.take_displaced(), vec![(10, 0)]);
        assert!(p.take_displaced().is_empty());
        assert_eq!(p.partner(2, 1), Some(12));
        // a query from another camera is not in competition with camera 1's
        p.begin();
        let t = p.choose(13, 2, &[(0, vec![(1, 9.0)])], 3);
        assert_eq!(t[0].replaces, None);
    }

    #[test]
    fn a_failed_batch_changes_nothing_and_replay_rebuilds_the_pairs() {
        let mut p = Pairs::default();
        p.begin();
        p.choose(10, 1, &[(0, vec![(1, 5.0)])], 3);
        p.begin(); // the batch's transaction failed; the next batch starts afresh
        assert_eq!(p.partner(1, 1), None);
        let t = p.choose(11, 1, &[(0, vec![(1, 6.0)])], 3);
        assert_eq!(t[0].replaces, None);

        let mut q = Pairs::default();
        q.restore(10, 1, 1, 0, 5.0);
        q.restore(11, 1, 1, 0, 4.0);
        q.restore(12, 1, 2, 0, 7.0);
        assert_eq!(q.partner(1, 1), Some(11));
        assert_eq!(q.partner(10, 0), None);
        assert_eq!(q.partner(12, 0), Some(2));
        q.remove(&[11]);
        assert_eq!(q.partner(1, 1), None);
    }

    #[test]
    fn at_most_top_k_pairs_nearest_first_and_only_those_are_held() {
        let mut p = Pairs::default();
        p.begin();
        let t = p.choose(
            10,
            3,
            &[
                (0, vec![(1, 8.0)]),
                (1, vec![(2, 5.0)]),
                (2, vec![(4, 6.0)]),
            ],
            2,
        );
        assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![2, 4]);
        p.settle();
        assert_eq!(p.partner(1, 3), None);
    }
}
