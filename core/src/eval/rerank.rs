//! k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
//! k-reciprocal Encoding", CVPR 2017), memory-bounded.
//!
//! All `T = N + M` items (N queries first, then M gallery items) form one neighbour graph.
//! For each item `i` the method takes its k-reciprocal neighbours `R(i, k1)` (the members of
//! its `k1 + 1` nearest that have `i` among their own `k1 + 1` nearest), adds `R(c, ½k1)` of
//! every candidate `c ∈ R(i, k1)` that overlaps `R(i, k1)` in at least 2/3 of its members,
//! weights the resulting set with the Gaussian kernel `exp(−d(i, x))` normalised to sum 1,
//! averages the weight vectors of the `k2` nearest items (local query expansion) and finally
//! scores a query `q` against a gallery item `g` with
//! `d*(q, g) = (1 − λ)·d_J(q, g) + λ·d(q, g)`, where the Jaccard distance is
//! `d_J = 1 − Σ min(V_q, V_g) / Σ max(V_q, V_g)`.
//!
//! Defaults ([`RerankConfig::default`]): `k1 = 20`, `k2 = 6`, `λ = 0.3`, `chunk_rows = 256`.
//!
//! Details follow the authors' published code: `½k1` is `k1 / 2` rounded half to even (numpy's
//! `around`), query expansion is skipped when `k2 == 1`, and `d` is the distance the
//! [`DistanceSource`] returns (for [`FeatureRows`]: squared Euclidean divided by the row's
//! maximum, as that code does). The overlap test is the paper's `≥ 2/3` (the code has `>`).
//! Neighbours are ranked by ascending distance, ties by ascending item index.
//!
//! Unlike the usual implementation no `T × T` matrix is built. Distance rows are requested
//! `C = min(chunk_rows, T)` at a time (three passes: neighbour lists, weights, and one query
//! row per output), and only sparse weights are kept. With `K = min(k1 + 1, T)`,
//! `h = ½k1` and `E = K·(1 + (h + 1)/3)` (the most members one expanded set can have), the
//! working memory is `O(C·T + T·K + T·k2·E)` values (row buffer, neighbour lists, sparse
//! weights), never `O(T²)`; each query's output row of `M` distances is lent to the caller
//! before the next one is computed.

pub use super::feature_rows::FeatureRows;
use super::neighbour_sets::{Sparse, expanded, gaussian, mean, nearest};

/// Distances between all `N + M` items: queries first (`0..N`), then gallery (`N..N + M`).
///
/// Rows must be deterministic: each row is requested up to three times.
pub trait DistanceSource {
    /// Number of queries `N`.
    fn len_query(&self) -> usize;
    /// Number of gallery items `M`.
    fn len_gallery(&self) -> usize;
    /// Fills `out` (length `N + M`) with the distances from item `index` to every item.
    fn row(&self, index: usize, out: &mut [f32]);
    /// Fills `out` with the consecutive rows `first..first + out.len() / (N + M)`.
    /// Override to batch the computation; the default calls [`DistanceSource::row`].
    fn rows(&self, first: usize, out: &mut [f32]) {
        let total = self.len_query().saturating_add(self.len_gallery()).max(1);
        for (offset, row) in out.chunks_exact_mut(total).enumerate() {
            self.row(first + offset, row);
        }
    }
}

/// Parameters of the re-ranking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RerankConfig {
    /// Neighbourhood size of the k-reciprocal sets (paper: 20).
    pub k1: usize,
    /// Neighbours averaged in the local query expansion (paper: 6); `1 ≤ k2 ≤ k1`.
    pub k2: usize,
    /// Weight `λ ∈ [0, 1]` of the original distance in the final one (paper: 0.3).
    pub lambda: f32,
    /// Distance rows requested and held at a time (default 256).
    pub chunk_rows: usize,
}

impl Default for RerankConfig {
    fn default() -> Self {
        Self {
            k1: 20,
            k2: 6,
            lambda: 0.3,
            chunk_rows: 256,
        }
    }
}

impl RerankConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), RerankError> {
        if self.k1 == 0 {
            return Err(RerankError::ZeroK1);
        }
        if self.k2 == 0 {
            return Err(RerankError::ZeroK2);
        }
        if self.k2 > self.k1 {
            return Err(RerankError::K2ExceedsK1 {
                k1: self.k1,
                k2: self.k2,
            });
        }
        if !(0.0..=1.0).contains(&self.lambda) {
            return Err(RerankError::LambdaOutOfRange(self.lambda));
        }
        if self.chunk_rows == 0 {
            return Err(RerankError::ZeroChunkRows);
        }
        Ok(())
    }
}

/// Why re-ranking could not run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RerankError {
    /// `k1` is 0.
    #[error("k1 must be at least 1, got 0")]
    ZeroK1,
    /// `k2` is 0.
    #[error("k2 must be at least 1, got 0")]
    ZeroK2,
    /// `k2` is larger than `k1`.
    #[error("k2 ({k2}) must not exceed k1 ({k1})")]
    K2ExceedsK1 {
        /// The configured `k1`.
        k1: usize,
        /// The configured `k2`.
        k2: usize,
    },
    /// `lambda` is outside `[0, 1]` (or NaN).
    #[error("lambda must lie in [0, 1], got {0}")]
    LambdaOutOfRange(f32),
    /// `chunk_rows` is 0.
    #[error("chunk_rows must be at least 1, got 0")]
    ZeroChunkRows,
    /// The gallery has no items.
    #[error("the gallery is empty: re-ranking needs at least one gallery item")]
    EmptyGallery,
    /// The feature dimension `dim` is 0.
    #[error("feature dimension dim must be at least 1, got 0")]
    ZeroDim,
    /// A feature matrix's length is not a multiple of the feature dimension.
    #[error("{which} features: {len} values is not a multiple of dim = {dim}")]
    FeatureLength {
        /// `"query"` or `"gallery"`.
        which: &'static str,
        /// Number of values given.
        len: usize,
        /// The feature dimension.
        dim: usize,
    },
    /// Too many items to index with `u32` or to allocate the working buffers for.
    #[error("cannot re-rank {items} items: index range or working memory exceeded")]
    TooLarge {
        /// `N + M`.
        items: usize,
    },
    /// A query index past the number of queries.
    #[error("query index {index} out of range for {queries} queries")]
    QueryOutOfRange {
        /// The index asked for.
        index: usize,
        /// Number of queries `N`.
        queries: usize,
    },
}

/// Prepared re-ranking state; yields one query's re-ranked gallery distances at a time.
#[derive(Debug)]
pub struct Reranker<'a, S: DistanceSource + ?Sized> {
    source: &'a S,
    lambda: f32,
    queries: usize,
    total: usize,
    /// Expanded weights `V_q` of the queries.
    query_weights: Vec<Sparse>,
    /// Inverted index over the gallery weights: column `x` holds `(gallery index, V_g[x])`
    /// in `entries[offsets[x]..offsets[x + 1]]`.
    offsets: Vec<usize>,
    entries: Vec<(u32, f32)>,
    row: Vec<f32>,
    out: Vec<f32>,
}

impl<'a, S: DistanceSource + ?Sized> Reranker<'a, S> {
    /// Validates `config` and builds the neighbour lists and sparse weights of every item
    /// (two chunked passes over the distance rows).
    pub fn new(source: &'a S, config: &RerankConfig) -> Result<Self, RerankError> {
        config.validate()?;
        let (queries, gallery) = (source.len_query(), source.len_gallery());
        if gallery == 0 {
            return Err(RerankError::EmptyGallery);
        }
        let too_large = RerankError::TooLarge {
            items: queries.saturating_add(gallery),
        };
        let total = queries
            .checked_add(gallery)
            .filter(|&t| u32::try_from(t).is_ok())
            .ok_or_else(|| too_large.clone())?;
        let width = config.k1.saturating_add(1).min(total);
        let chunk = config.chunk_rows.min(total);
        let mut buffer = zeroed::<f32>(chunk.checked_mul(total), &too_large)?;
        let mut ranks = zeroed::<u32>(total.checked_mul(width), &too_large)?;
        let mut weights = zeroed::<Sparse>(Some(total), &too_large)?;

        // Pass 1: the `width` nearest items of every item.
        let mut order = Vec::new();
        each_row(source, &mut buffer, total, |i, row| {
            nearest(row, &mut order, &mut ranks[i * width..(i + 1) * width]);
        });
        // Pass 2: expanded k-reciprocal sets and their Gaussian weights.
        // `½k1` as numpy's `around(k1 / 2.)` (half to even) in the published code.
        let half = config.k1 / 2 + usize::from(config.k1 % 4 == 3);
        let mut scratch = Default::default();
        each_row(source, &mut buffer, total, |i, row| {
            let set = expanded(&ranks, width, i, config.k1, half, &mut scratch);
            weights[i] = gaussian(row, set);
        });
        drop(buffer);
        // Local query expansion: the mean weights of the k2 nearest.
        if config.k2 > 1 {
            let take = config.k2.min(width);
            let (mut expanded, mut acc) = (zeroed::<Sparse>(Some(total), &too_large)?, Vec::new());
            for (i, out) in expanded.iter_mut().enumerate() {
                let nbrs = &ranks[i * width..i * width + take];
                *out = mean(nbrs.iter().map(|&j| &weights[j as usize]), &mut acc);
            }
            weights = expanded;
        }
        drop(ranks);

        // Inverted index over the gallery weights (compressed by column).
        let gallery_weights = weights.split_off(queries);
        let mut offsets = zeroed::<usize>(total.checked_add(1), &too_large)?;
        for &(x, _) in gallery_weights.iter().flatten() {
            offsets[x as usize + 1] += 1;
        }
        for x in 0..total {
            offsets[x + 1] += offsets[x];
        }
        let mut entries = zeroed::<(u32, f32)>(Some(offsets[total]), &too_large)?;
        let mut fill = offsets.clone();
        for (g, sparse) in gallery_weights.into_iter().enumerate() {
            for (x, w) in sparse {
                entries[fill[x as usize]] = (g as u32, w);
                fill[x as usize] += 1;
            }
        }
        Ok(Self {
            source,
            lambda: config.lambda,
            queries,
            total,
            query_weights: weights,
            offsets,
            entries,
            row: zeroed(Some(total), &too_large)?,
            out: zeroed(Some(gallery), &too_large)?,
        })
    }

    /// Number of queries `N`.
    pub fn len_query(&self) -> usize {
        self.queries
    }

    /// Number of gallery items `M`.
    pub fn len_gallery(&self) -> usize {
        self.total - self.queries
    }

    /// The re-ranked distances from query `query` (`0..N`) to every gallery item, in gallery
    /// order (`M` values, smaller is closer); the slice is reused by the next call.
    pub fn query(&mut self, query: usize) -> Result<&[f32], RerankError> {
        let Some(weights) = self.query_weights.get(query) else {
            return Err(RerankError::QueryOutOfRange {
                index: query,
                queries: self.queries,
            });
        };
        // Σ min(V_q, V_g) over shared items; Σ max = 2 − Σ min as both vectors sum to 1.
        self.out.fill(0.0);
        for &(x, wq) in weights {
            let column = &self.entries[self.offsets[x as usize]..self.offsets[x as usize + 1]];
            for &(g, wg) in column {
                self.out[g as usize] += wq.min(wg);
            }
        }
        self.source.row(query, &mut self.row);
        let lambda = self.lambda;
        for (out, &original) in self.out.iter_mut().zip(&self.row[self.queries..]) {
            let jaccard = 1.0 - *out / (2.0 - *out);
            *out = jaccard * (1.0 - lambda) + original * lambda;
        }
        Ok(&self.out)
    }
}

/// Re-ranks and calls `each(query, distances)` for every query in order, where `distances`
/// holds the re-ranked distances to the `M` gallery items (see [`Reranker::query`]).
pub fn rerank<S, F>(source: &S, config: &RerankConfig, mut each: F) -> Result<(), RerankError>
where
    S: DistanceSource + ?Sized,
    F: FnMut(usize, &[f32]),
{
    let mut reranker = Reranker::new(source, config)?;
    for q in 0..reranker.len_query() {
        each(q, reranker.query(q)?);
    }
    Ok(())
}

/// A vector of `len` default values, or `error` when `len` overflowed or cannot be allocated.
fn zeroed<T: Clone + Default>(
    len: Option<usize>,
    error: &RerankError,
) -> Result<Vec<T>, RerankError> {
    let len = len.ok_or_else(|| error.clone())?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| error.clone())?;
    v.resize(len, T::default());
    Ok(v)
}

/// Requests the rows `0..total` in chunks filling `buffer` and hands each row to `f`.
fn each_row<S: DistanceSource + ?Sized>(
    source: &S,
    buffer: &mut [f32],
    total: usize,
    mut f: impl FnMut(usize, &[f32]),
) {
    let chunk = buffer.len() / total;
    for first in (0..total).step_by(chunk) {
        let buf = &mut buffer[..chunk.min(total - first) * total];
        source.rows(first, buf);
        for (r, row) in buf.chunks_exact(total).enumerate() {
            f(first + r, row);
        }
    }
}

#[cfg(test)]
#[path = "rerank_tests.rs"]
mod tests;
