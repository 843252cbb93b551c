//! The neighbour sets of k-reciprocal re-ranking as small pure functions over one distance
//! row: nearest lists, k-reciprocal sets, their expansion, Gaussian weights, averaging.

use core::cmp::Ordering;

/// Sparse weight vector: `(item, weight)` sorted by item.
pub(super) type Sparse = Vec<(u32, f32)>;

/// Ascending distance, ties by ascending index; `-0.0` equals `0.0`, NaN sorts last.
pub(super) fn by_distance(row: &[f32], a: u32, b: u32) -> Ordering {
    (row[a as usize] + 0.0)
        .total_cmp(&(row[b as usize] + 0.0))
        .then(a.cmp(&b))
}

/// Writes the `dst.len()` nearest items of `row`, nearest first, into `dst`.
pub(super) fn nearest(row: &[f32], order: &mut Vec<u32>, dst: &mut [u32]) {
    let width = dst.len();
    order.clear();
    order.extend(0..row.len() as u32);
    if width == 0 {
        return;
    }
    if width < order.len() {
        order.select_nth_unstable_by(width - 1, |&a, &b| by_distance(row, a, b));
    }
    order[..width].sort_unstable_by(|&a, &b| by_distance(row, a, b));
    dst.copy_from_slice(&order[..width]);
}

/// `R(i, k)`: those of the `k + 1` nearest of `i` that have `i` among their `k + 1` nearest.
pub(super) fn reciprocal(ranks: &[u32], width: usize, i: usize, k: usize, out: &mut Vec<u32>) {
    out.clear();
    let take = k.saturating_add(1).min(width);
    for &c in &ranks[i * width..i * width + take] {
        let back = &ranks[c as usize * width..c as usize * width + take];
        if back.contains(&(i as u32)) {
            out.push(c);
        }
    }
}

/// `R(i, k1)` plus every `R(c, half)`, `c ∈ R(i, k1)`, sharing at least 2/3 of its members
/// with `R(i, k1)`; sorted and deduplicated, in `scratch.0`.
pub(super) fn expanded<'s>(
    ranks: &[u32],
    width: usize,
    i: usize,
    k1: usize,
    half: usize,
    scratch: &'s mut (Vec<u32>, Vec<u32>, Vec<u32>),
) -> &'s [u32] {
    let (set, recip, cand) = scratch;
    reciprocal(ranks, width, i, k1, recip);
    set.clear();
    set.extend_from_slice(recip);
    for &c in recip.iter() {
        reciprocal(ranks, width, c as usize, half, cand);
        let overlap = cand.iter().filter(|x| recip.contains(x)).count();
        if 3 * overlap as u64 >= 2 * cand.len() as u64 {
            set.extend_from_slice(cand);
        }
    }
    set.sort_unstable();
    set.dedup();
    set
}

/// Weights `exp(−d(i, x))` over `set`, normalised to sum 1. Shifting by the smallest distance
/// cancels in the normalisation and keeps large distances from underflowing to all zeros.
pub(super) fn gaussian(row: &[f32], set: &[u32]) -> Sparse {
    let shift = set
        .iter()
        .map(|&x| f64::from(row[x as usize]))
        .fold(f64::INFINITY, f64::min);
    let weight = |x: u32| (shift - f64::from(row[x as usize])).exp();
    let sum: f64 = set.iter().map(|&x| weight(x)).sum();
    set.iter()
        .map(|&x| (x, (weight(x) / sum) as f32))
        .filter(|&(_, w)| w != 0.0)
        .collect()
}

/// The element-wise mean of sparse vectors.
pub(super) fn mean<'v>(
    vectors: impl Iterator<Item = &'v Sparse>,
    acc: &mut Vec<(u32, f32)>,
) -> Sparse {
    acc.clear();
    let mut count = 0usize;
    for v in vectors {
        acc.extend_from_slice(v);
        count += 1;
    }
    acc.sort_by_key(|&(x, _)| x);
    let mut out: Sparse = Vec::new();
    for &(x, w) in acc.iter() {
        match out.last_mut() {
            Some((y, sum)) if *y == x => *sum += w,
            _ => out.push((x, w)),
        }
    }
    out.iter_mut().for_each(|(_, w)| *w /= count as f32);
    out
}
