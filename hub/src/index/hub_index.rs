//! [`HubIndex`]: the index the hub runs, chosen once from the configuration.

use spanreid::signature::{ModelId, Signature};

use super::{GalleryIndex, Int8Index, RowMeta, Window, WindowIndex};

/// The hub's search index: [`WindowIndex`] when a camera graph limits what a query can
/// reach, [`Int8Index`] (one matrix, every query scans it all) otherwise.
#[derive(Clone, Debug)]
pub enum HubIndex {
    /// No camera graph: every query reads every row.
    Full(Int8Index),
    /// A camera graph: queries read their travel-time windows.
    Windowed(WindowIndex),
}

impl HubIndex {
    /// An empty index for signatures of `model_id` with `dim` values per part, windowed
    /// when `windowed`.
    pub fn new(model_id: ModelId, dim: usize, windowed: bool) -> Self {
        if windowed {
            HubIndex::Windowed(WindowIndex::new(model_id, dim))
        } else {
            HubIndex::Full(Int8Index::new(model_id, dim))
        }
    }
}

impl GalleryIndex for HubIndex {
    fn insert(&mut self, id: i64, sig: &Signature, meta: RowMeta) {
        match self {
            HubIndex::Full(i) => i.insert(id, sig, meta),
            HubIndex::Windowed(i) => i.insert(id, sig, meta),
        }
    }

    fn remove(&mut self, id: i64) -> bool {
        match self {
            HubIndex::Full(i) => i.remove(id),
            HubIndex::Windowed(i) => i.remove(id),
        }
    }

    fn len(&self) -> usize {
        match self {
            HubIndex::Full(i) => i.len(),
            HubIndex::Windowed(i) => i.len(),
        }
    }

    fn ids(&self) -> Vec<i64> {
        match self {
            HubIndex::Full(i) => i.ids(),
            HubIndex::Windowed(i) => i.ids(),
        }
    }

    fn search_many(
        &self,
        queries: &[&Signature],
        reach: Option<&[Vec<Window>]>,
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>> {
        match self {
            HubIndex::Full(i) => i.search_many(queries, reach, k, max_distance, keep),
            HubIndex::Windowed(i) => i.search_many(queries, reach, k, max_distance, keep),
        }
    }

    fn forget_captured_before(&mut self, time_us: u64) -> usize {
        match self {
            HubIndex::Full(i) => i.forget_captured_before(time_us),
            HubIndex::Windowed(i) => i.forget_captured_before(time_us),
        }
    }

    fn empty_like(&self) -> Self {
        match self {
            HubIndex::Full(i) => HubIndex::Full(i.empty_like()),
            HubIndex::Windowed(i) => HubIndex::Windowed(i.empty_like()),
        }
    }
}
