//! Trajectory-level score of the matches (pure): IDF1 over cross-camera identities, as in
//! multi-camera tracking benchmarks (Ristani et al., 2016).
//!
//! The system's identities are the connected components of the graph whose nodes are the
//! signed passages and whose edges are the reported pairs left standing at the end (every
//! candidate of every event, less those withdrawn later under one-to-one association): the
//! trajectories the system's matches imply, a function of its final association alone, not
//! of the order events arrived in. Each ground-truth identity is paired with at most one
//! such component, and
//! each component with at most one identity, so that the passages they share (IDTP) are
//! as many as possible (an optimal assignment, not a greedy one). Then
//! `IDF1 = 2·IDTP / (signed passages + ground-truth passages)`: passages outside the
//! pairing count as false positives (signed) or false negatives (ground truth).

use std::collections::BTreeMap;

use serde::Serialize;
use spanreid_hub::events::MatchEvent;

use crate::score::{PassageKey, standing_pairs};

/// IDF1 and its parts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Idf1 {
    /// Passages in the same identity as their ground truth, after the pairing.
    pub idtp: usize,
    /// Signed passages outside it.
    pub idfp: usize,
    /// Ground-truth passages outside it.
    pub idfn: usize,
    /// `2·IDTP / (2·IDTP + IDFP + IDFN)`.
    pub idf1: f64,
    /// Identities the matches formed (components, singletons included).
    pub predicted_identities: usize,
}

/// IDF1 of `events` over the signed passages `labels` (identity, or `None` on no vehicle)
/// and `ground_truth_passages` passages in the ground truth.
pub fn idf1(
    labels: &BTreeMap<PassageKey, Option<u32>>,
    ground_truth_passages: usize,
    events: &[MatchEvent],
) -> Idf1 {
    let index: BTreeMap<&PassageKey, usize> = labels.keys().zip(0..).collect();
    let mut parent: Vec<usize> = (0..labels.len()).collect();
    for (q, c) in &standing_pairs(events) {
        if let (Some(&a), Some(&b)) = (index.get(q), index.get(c)) {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra] = rb;
        }
    }
    let mut component = BTreeMap::new();
    let mut identity = BTreeMap::new();
    let mut overlap: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    for (i, label) in labels.values().enumerate() {
        let r = root(&mut parent, i);
        let n = component.len();
        let c = *component.entry(r).or_insert(n);
        if let Some(id) = label {
            let n = identity.len();
            let g = *identity.entry(*id).or_insert(n);
            *overlap.entry((g, c)).or_default() += 1;
        }
    }
    let (rows, cols) = (identity.len(), component.len());
    let mut gain = vec![vec![0i64; cols]; rows];
    for (&(g, c), &n) in &overlap {
        gain[g][c] = n;
    }
    let idtp = max_weight_assignment(&gain) as usize;
    let signed = labels.len();
    let denominator = signed + ground_truth_passages;
    Idf1 {
        idtp,
        idfp: signed - idtp,
        idfn: ground_truth_passages.saturating_sub(idtp),
        idf1: if denominator == 0 {
            0.0
        } else {
            2.0 * idtp as f64 / denominator as f64
        },
        predicted_identities: cols,
    }
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The largest total gain of a one-to-one pairing of rows with columns (Hungarian method,
/// O(n²·m)); gains are non-negative, so leaving a row unpaired is never better.
fn max_weight_assignment(gain: &[Vec<i64>]) -> i64 {
    let rows = gain.len();
    let cols = gain.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return 0;
    }
    // Rows must not outnumber columns: transpose if they do.
    if rows > cols {
        let t: Vec<Vec<i64>> = (0..cols)
            .map(|c| (0..rows).map(|r| gain[r][c]).collect())
            .collect();
        return max_weight_assignment(&t);
    }
    let cost = |i: usize, j: usize| -gain[i - 1][j - 1];
    let (n, m) = (rows, cols);
    let (mut u, mut v) = (vec![0i64; n + 1], vec![0i64; m + 1]);
    let (mut p, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![i64::MAX; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (i64::MAX, 0);
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| gain[p[j] - 1][j - 1])
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::tests::{event, two_vehicles};

    fn link(query: (&str, u64), top: (&str, u64)) -> MatchEvent {
        event(query, &[top])
    }

    #[test]
    fn every_standing_candidate_links_and_a_withdrawn_one_does_not() {
        let labels = two_vehicles(9);
        // one event names vehicle 1 at both other cameras: one trajectory of three
        let both = [event(("c3", 1), &[("c2", 1), ("c1", 1)])];
        assert_eq!(idf1(&labels, 6, &both).predicted_identities, 4);
        // c2/1 takes c1/2 (wrong); c2/2 takes it over: the wrong link joins nothing
        let wrong = event(("c2", 1), &[("c1", 2)]);
        let mut taking_over = event(("c2", 2), &[("c1", 2)]);
        taking_over.candidates[0].replaces = Some(wrong.query.clone());
        let withdrawn = [wrong, taking_over];
        let s = idf1(&labels, 6, &withdrawn);
        assert_eq!(
            s.predicted_identities, 5,
            "c1/2–c2/2 linked, the others alone"
        );
    }

    #[test]
    fn the_optimal_pairing_beats_the_greedy_one() {
        // Greedy takes row 0 – column 0 (3) and leaves row 1 with 0: 3. Optimal: 2 + 2.
        assert_eq!(max_weight_assignment(&[vec![3, 2], vec![2, 0]]), 4);
        // More rows than columns.
        assert_eq!(max_weight_assignment(&[vec![1], vec![5], vec![2]]), 5);
        assert_eq!(max_weight_assignment(&[]), 0);
    }

    #[test]
    fn a_wrong_link_merges_two_trajectories_and_costs_their_smaller_part() {
        // Vehicle 1 at c1/1, c2/1, c3/1; vehicle 2 at c1/2, c2/2; c3/9 on no vehicle.
        let labels = two_vehicles(9);
        let right = [
            link(("c2", 1), ("c1", 1)),
            link(("c3", 1), ("c2", 1)),
            link(("c2", 2), ("c1", 2)),
        ];
        // 5 ground-truth passages plus one never signed: 6.
        let s = idf1(&labels, 6, &right);
        assert_eq!((s.idtp, s.idfp, s.idfn), (5, 1, 1));
        assert!((s.idf1 - 10.0 / 12.0).abs() < 1e-12);
        assert_eq!(
            s.predicted_identities, 3,
            "two vehicles and the stray passage"
        );
        // c3/1 linked to vehicle 2's passage instead: it joins that trajectory, and vehicle
        // 1 keeps 2 of its 3 passages.
        let wrong = [
            link(("c2", 1), ("c1", 1)),
            link(("c2", 2), ("c1", 2)),
            link(("c3", 1), ("c2", 2)),
        ];
        let s = idf1(&labels, 6, &wrong);
        assert_eq!(s.predicted_identities, 3);
        assert_eq!(s.idtp, 4, "vehicle 1's three passages split 1 + 2");
        // No events: every passage alone; each vehicle keeps one passage.
        assert_eq!(idf1(&labels, 6, &[]).idtp, 2);
    }
}
