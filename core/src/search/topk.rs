//! Batched query-vs-gallery top-k: bounded heaps per query, gallery split across threads.

use core::cmp::Ordering;
use core::num::NonZeroUsize;
use std::collections::BinaryHeap;
use std::vec::Vec;

use crate::cpdm::Metric;
use crate::signature::Signature;

use super::error::SearchError;
use super::gallery::Gallery;
use super::rows::SearchRows;
use crate::kernel::Kernel;

/// Gallery rows compared against every query before moving on, so that a block stays in
/// cache while the queries pass over it (64 int8 CPDM rows of dim 512 are 128 KiB).
const BLOCK_ROWS: usize = 64;
/// Fewer gallery rows than this per thread are not worth a thread.
const MIN_ROWS_PER_THREAD: usize = 1024;
/// How many rows ahead of the scan the first query prefetches gallery rows.
const PREFETCH_ROWS: usize = 4;

/// One search result: a gallery index and its distance to the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Index of the gallery entry.
    pub index: usize,
    /// Distance from the query under the chosen metric.
    pub distance: f32,
}

impl Neighbour {
    /// Total order used for ranking: by distance, ties by gallery index (so results do not
    /// depend on how the gallery was split across threads).
    fn rank_cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.index.cmp(&other.index))
    }
}

/// [`Neighbour`] ordered by [`Neighbour::rank_cmp`] for the max-heap of the k best.
#[derive(Clone, Copy, Debug)]
struct Ranked(Neighbour);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// The k smallest neighbours offered so far; the worst of them is on top.
#[derive(Debug)]
struct BoundedHeap {
    k: usize,
    heap: BinaryHeap<Ranked>,
}

impl BoundedHeap {
    /// Room for `k` results, allocating at most for `capacity_hint` up front (a huge `k`
    /// from a configuration must not allocate before any result exists).
    fn new(k: usize, capacity_hint: usize) -> Self {
        BoundedHeap {
            k,
            heap: BinaryHeap::with_capacity(k.min(capacity_hint)),
        }
    }

    #[inline]
    fn offer(&mut self, n: Neighbour) {
        if self.heap.len() < self.k {
            self.heap.push(Ranked(n));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && n.rank_cmp(&worst.0) == Ordering::Less
        {
            *worst = Ranked(n);
        }
    }

    fn into_sorted(self) -> Vec<Neighbour> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

/// Parameters of a top-k search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchOptions {
    /// How many nearest entries to return per query (fewer if fewer pass the filter and
    /// threshold).
    pub k: usize,
    /// How distances are computed.
    pub metric: Metric,
    /// Only entries at this distance or closer are returned.
    pub max_distance: Option<f32>,
    /// Worker threads; `None` uses the available parallelism. Small galleries use fewer.
    pub threads: Option<NonZeroUsize>,
    /// Inner-loop kernel; [`Kernel::detect`] by default.
    pub kernel: Kernel,
}

impl SearchOptions {
    /// The `k` nearest under `metric`, no threshold, default threads and kernel.
    pub fn new(k: usize, metric: Metric) -> Self {
        SearchOptions {
            k,
            metric,
            max_distance: None,
            threads: None,
            kernel: Kernel::detect(),
        }
    }

    fn thread_count(&self, gallery_len: usize) -> usize {
        let wanted = self
            .threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        wanted.min(gallery_len.div_ceil(MIN_ROWS_PER_THREAD)).max(1)
    }
}

/// For every row of `queries`, the `options.k` nearest rows of `gallery` (ascending by
/// distance, ties by index) among those with `filter(query_index, gallery_index)` true and
/// within `options.max_distance`.
///
/// Memory is O(threads · Q · k) besides the result; no Q × G matrix is formed. The gallery
/// is split into one contiguous range per thread; results are identical for any thread
/// count.
pub fn top_k<R, F>(
    queries: &R,
    gallery: &R,
    options: &SearchOptions,
    filter: F,
) -> Result<Vec<Vec<Neighbour>>, SearchError>
where
    R: SearchRows,
    F: Fn(usize, usize) -> bool + Sync,
{
    queries.check_compatible(gallery)?;
    if let Some(m) = options.max_distance
        && (m.is_nan() || m < 0.0)
    {
        return Err(SearchError::InvalidMaxDistance(m));
    }
    let (q, g) = (queries.len(), gallery.len());
    if options.k == 0 || q == 0 || g == 0 {
        return Ok(std::vec![Vec::new(); q]);
    }
    let threads = options.thread_count(g);
    let chunk = g.div_ceil(threads);
    let scan_range = |t: usize| {
        scan(
            queries,
            gallery,
            t * chunk..((t + 1) * chunk).min(g),
            options,
            &filter,
        )
    };
    let mut partials: Vec<Vec<BoundedHeap>> = if threads == 1 {
        std::vec![scan_range(0)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| s.spawn(move || scan_range(t)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    let mut merged = partials.swap_remove(0);
    for partial in partials {
        for (into, from) in merged.iter_mut().zip(partial) {
            for r in from.heap {
                into.offer(r.0);
            }
        }
    }
    Ok(merged.into_iter().map(BoundedHeap::into_sorted).collect())
}

/// Per-query heaps over `range` of the gallery, walked in blocks of [`BLOCK_ROWS`].
fn scan<R, F>(
    queries: &R,
    gallery: &R,
    range: core::ops::Range<usize>,
    options: &SearchOptions,
    filter: &F,
) -> Vec<BoundedHeap>
where
    R: SearchRows,
    F: Fn(usize, usize) -> bool + Sync,
{
    let max = options.max_distance.unwrap_or(f32::INFINITY);
    let mut heaps: Vec<BoundedHeap> = (0..queries.len())
        .map(|_| BoundedHeap::new(options.k, range.len()))
        .collect();
    let mut start = range.start;
    while start < range.end {
        let block = start..(start + BLOCK_ROWS).min(range.end);
        for (qi, heap) in heaps.iter_mut().enumerate() {
            for j in block.clone() {
                if qi == 0 && j + PREFETCH_ROWS < range.end {
                    gallery.prefetch(j + PREFETCH_ROWS, options.metric.parts_used());
                }
                if !filter(qi, j) {
                    continue;
                }
                let distance = queries.distance(qi, gallery, j, options.metric, options.kernel);
                if distance <= max {
                    heap.offer(Neighbour { index: j, distance });
                }
            }
        }
        start = block.end;
    }
    heaps
}

impl Gallery {
    /// [`top_k`] for query signatures against this gallery. Every query must come from the
    /// gallery's model and dimension (checked before anything is searched).
    pub fn search<F>(
        &self,
        queries: &[Signature],
        options: &SearchOptions,
        filter: F,
    ) -> Result<Vec<Vec<Neighbour>>, SearchError>
    where
        F: Fn(usize, usize) -> bool + Sync,
    {
        let mut q = Gallery::new(self.model_id(), self.dim())?;
        q.reserve(queries.len());
        for s in queries {
            q.push(s)?;
        }
        top_k(&q, self, options, filter)
    }
}
