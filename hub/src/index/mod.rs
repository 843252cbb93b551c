//! The in-memory searchable gallery behind the matcher.
//!
//! [`GalleryIndex`] is what the matcher needs. Three implementations:
//! - [`Int8Index`]: one int8 matrix for all cameras, scanned whole by the core's
//!   multithreaded top-k (the hub's index without a camera graph);
//! - [`WindowIndex`]: one int8 matrix per camera, ordered by capture time, so that a query
//!   reads only the rows of the cameras and times its [`Window`]s name (the hub's index
//!   with a camera graph: the work per query follows the travel-time windows, not the
//!   history);
//! - [`ExactIndex`]: the core's f32 CPDM over dequantised features, entry by entry (the
//!   reference the int8 indexes are checked against).
//!
//! [`HubIndex`] is the one the hub runs: windowed when the configuration has camera links.

mod exact;
mod hub_index;
mod int8;
mod window;

pub use exact::ExactIndex;
pub use hub_index::HubIndex;
pub use int8::Int8Index;
pub use window::WindowIndex;

use spanreid::signature::Signature;

/// Where and when an entry was captured: what the search filter looks at. Kept beside
/// each row so filtering costs no lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowMeta {
    /// Camera, as a small index assigned by the matcher.
    pub camera: u32,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
}

/// The rows of one camera captured within `from_us..=to_us`: part of what a query can
/// reach through the camera graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Camera index (as in [`RowMeta`]).
    pub camera: u32,
    /// Earliest capture time, µs since the epoch.
    pub from_us: u64,
    /// Latest capture time, µs since the epoch.
    pub to_us: u64,
}

impl Window {
    /// Whether a row with `meta` lies in the window.
    pub fn contains(&self, meta: RowMeta) -> bool {
        meta.camera == self.camera && (self.from_us..=self.to_us).contains(&meta.capture_time_us)
    }
}

/// A searchable set of signatures keyed by their database id.
pub trait GalleryIndex {
    /// Add signature `id` with its metadata. A signature the index cannot hold (another
    /// model or dimension) is skipped with a warning; the verifier never lets one through.
    fn insert(&mut self, id: i64, sig: &Signature, meta: RowMeta);
    /// Remove signature `id`; returns whether it was present.
    fn remove(&mut self, id: i64) -> bool;
    /// Number of signatures.
    fn len(&self) -> usize;
    /// Whether there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Ids present, increasing.
    fn ids(&self) -> Vec<i64>;
    /// For each query, the `k` nearest entries by CPDM among those `keep(query index, id,
    /// meta)` accepts, each at distance at most `max_distance`, nearest first (ties by
    /// increasing id).
    ///
    /// `reach`, when given, holds for each query the windows its accepted rows lie in:
    /// `keep` refuses every row outside them, so an index may skip those rows unread (the
    /// windowed index does; the others scan everything, all queries in one pass).
    fn search_many(
        &self,
        queries: &[&Signature],
        reach: Option<&[Vec<Window>]>,
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>>;
    /// Drop the entries captured before `time_us` from the index (no query can reach them
    /// any more; the store keeps them). Returns how many left. Indexes that do not order
    /// entries by time keep them all.
    fn forget_captured_before(&mut self, _time_us: u64) -> usize {
        0
    }
    /// An empty index of the same kind (same model and dimension).
    fn empty_like(&self) -> Self
    where
        Self: Sized;
}

/// Sorts hits by distance (then id, for a stable order) and keeps the first `k`.
pub(crate) fn nearest_first(hits: &mut Vec<(i64, f32)>, k: usize) {
    hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    hits.truncate(k);
}
