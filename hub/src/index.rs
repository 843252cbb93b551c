//! The in-memory searchable gallery behind the matcher.
//!
//! [`GalleryIndex`] is what the matcher needs. [`Int8Index`] implements it over the core
//! library's int8 gallery matrix and multithreaded top-k (the hub's index);
//! [`ExactIndex`] with the core's f32 CPDM over dequantised features, entry by entry (the
//! reference the int8 index is checked against).

use std::collections::{BTreeMap, HashMap};

use spanreid::cpdm::{AreaRatios, Metric, PartFeatures, cpdm};
use spanreid::part::PARTS;
use spanreid::search::{Gallery, SearchOptions, top_k};
use spanreid::signature::{ModelId, Signature};

/// Where and when an entry was captured: what the search filter looks at. Kept beside
/// each row so filtering costs no lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowMeta {
    /// Camera, as a small index assigned by the matcher.
    pub camera: u32,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
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
    /// increasing id). All queries share one pass over the gallery.
    fn search_many(
        &self,
        queries: &[&Signature],
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>>;
    /// An empty index of the same kind (same model and dimension).
    fn empty_like(&self) -> Self
    where
        Self: Sized;
}

/// Dequantised features of one entry.
#[derive(Clone, Debug)]
struct Entry {
    parts: [Vec<f32>; PARTS],
    area_ratios: AreaRatios,
    meta: RowMeta,
}

impl Entry {
    fn new(sig: &Signature, meta: RowMeta) -> Self {
        let parts = core::array::from_fn(|p| {
            let f = &sig.features[p];
            let mut v = vec![0.0; f.dim()];
            f.dequantize_into(&mut v);
            v
        });
        Entry {
            parts,
            area_ratios: sig.area_ratios,
            meta,
        }
    }

    fn features(&self) -> PartFeatures<'_> {
        PartFeatures {
            parts: core::array::from_fn(|p| self.parts[p].as_slice()),
            area_ratios: self.area_ratios,
        }
    }
}

/// Exhaustive f32 CPDM search, one entry at a time.
#[derive(Clone, Debug, Default)]
pub struct ExactIndex {
    entries: BTreeMap<i64, Entry>,
}

impl GalleryIndex for ExactIndex {
    fn insert(&mut self, id: i64, sig: &Signature, meta: RowMeta) {
        self.entries.insert(id, Entry::new(sig, meta));
    }

    fn remove(&mut self, id: i64) -> bool {
        self.entries.remove(&id).is_some()
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn ids(&self) -> Vec<i64> {
        self.entries.keys().copied().collect()
    }

    fn search_many(
        &self,
        queries: &[&Signature],
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>> {
        let no_meta = RowMeta {
            camera: u32::MAX,
            capture_time_us: 0,
        };
        queries
            .iter()
            .enumerate()
            .map(|(qi, query)| {
                let q = Entry::new(query, no_meta);
                let qf = q.features();
                let mut hits: Vec<(i64, f32)> = self
                    .entries
                    .iter()
                    .filter(|(id, e)| keep(qi, **id, e.meta))
                    .filter_map(|(id, e)| cpdm(&qf, &e.features()).ok().map(|d| (*id, d)))
                    .filter(|(_, d)| *d <= max_distance)
                    .collect();
                hits.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                hits.truncate(k);
                hits
            })
            .collect()
    }

    fn empty_like(&self) -> Self {
        ExactIndex::default()
    }
}

/// The core library's int8 gallery matrix with the hub's ids and metadata beside each row.
#[derive(Clone, Debug)]
pub struct Int8Index {
    gallery: Gallery,
    ids: Vec<i64>,
    meta: Vec<RowMeta>,
    row_of: HashMap<i64, usize>,
}

impl Int8Index {
    /// An empty index for signatures of `model_id` with features of `dim` values (at most
    /// [`crate::MAX_DIM`]; larger is clamped to an index that accepts nothing).
    pub fn new(model_id: ModelId, dim: usize) -> Self {
        let gallery = Gallery::new(model_id, dim)
            .or_else(|_| Gallery::new(model_id, 0))
            .expect("a zero-dimension gallery is always valid");
        Int8Index {
            gallery,
            ids: Vec::new(),
            meta: Vec::new(),
            row_of: HashMap::new(),
        }
    }

    /// Bytes of int8 feature values held (what one full scan reads).
    pub fn value_bytes(&self) -> usize {
        self.gallery.value_bytes()
    }

    /// Reserve room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.gallery.reserve(additional);
        self.ids.reserve(additional);
        self.meta.reserve(additional);
        self.row_of.reserve(additional);
    }

    /// Memory held per entry, in bytes: int8 values, scales, norms, area ratios, id,
    /// metadata and the id → row map (estimated at its load factor).
    pub fn bytes_per_entry(&self) -> usize {
        let per_row_fixed = PARTS * (4 + 4) + 3 * 4;
        let map = (core::mem::size_of::<(i64, usize)>() + 1) * 8 / 7;
        PARTS * self.gallery.dim()
            + per_row_fixed
            + core::mem::size_of::<i64>()
            + core::mem::size_of::<RowMeta>()
            + map
    }
}

impl GalleryIndex for Int8Index {
    fn insert(&mut self, id: i64, sig: &Signature, meta: RowMeta) {
        if self.row_of.contains_key(&id) {
            return;
        }
        match self.gallery.push(sig) {
            Ok(row) => {
                self.ids.push(id);
                self.meta.push(meta);
                self.row_of.insert(id, row);
            }
            Err(e) => tracing::warn!(id, error = %e, "signature not added to the search index"),
        }
    }

    fn remove(&mut self, id: i64) -> bool {
        let Some(row) = self.row_of.remove(&id) else {
            return false;
        };
        if self.gallery.swap_remove(row).is_err() {
            return false;
        }
        self.ids.swap_remove(row);
        self.meta.swap_remove(row);
        if let Some(&moved) = self.ids.get(row) {
            self.row_of.insert(moved, row);
        }
        true
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn ids(&self) -> Vec<i64> {
        let mut ids = self.ids.clone();
        ids.sort_unstable();
        ids
    }

    fn search_many(
        &self,
        queries: &[&Signature],
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>> {
        let mut results = vec![Vec::new(); queries.len()];
        let Ok(mut q) = Gallery::new(self.gallery.model_id(), self.gallery.dim()) else {
            return results;
        };
        // Row of `q` → position in `queries` (a query the gallery cannot hold gets nothing).
        let mut position = Vec::with_capacity(queries.len());
        for (qi, query) in queries.iter().enumerate() {
            if q.push(query).is_ok() {
                position.push(qi);
            }
        }
        let options = SearchOptions {
            max_distance: Some(max_distance),
            ..SearchOptions::new(k, Metric::Cpdm)
        };
        let filter = |qr: usize, g: usize| keep(position[qr], self.ids[g], self.meta[g]);
        match top_k(&q, &self.gallery, &options, filter) {
            Ok(per_query) => {
                for (qr, hits) in per_query.into_iter().enumerate() {
                    results[position[qr]] = hits
                        .into_iter()
                        .map(|n| (self.ids[n.index], n.distance))
                        .collect();
                }
            }
            Err(e) => tracing::warn!(error = %e, "search failed"),
        }
        results
    }

    fn empty_like(&self) -> Self {
        Int8Index::new(self.gallery.model_id(), self.gallery.dim())
    }
}
