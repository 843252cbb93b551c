//! [`Int8Index`]: the core library's int8 gallery matrix and multithreaded top-k, one
//! matrix for every camera (the index without a camera graph, and the full-gallery scan).

use std::collections::HashMap;

use spanreid::cpdm::Metric;
use spanreid::part::PARTS;
use spanreid::search::{Gallery, SearchOptions, top_k};
use spanreid::signature::{ModelId, Signature};

use super::{GalleryIndex, RowMeta, Window};

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
        _reach: Option<&[Vec<Window>]>,
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>> {
        let mut results = vec![Vec::new(); queries.len()];
        let Some((q, position)) = query_rows(self.gallery.model_id(), self.gallery.dim(), queries)
        else {
            return results;
        };
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

/// The queries as an int8 matrix of `model_id` and `dim`, with each row's position in
/// `queries` (a query the matrix cannot hold is left out and gets no hits); `None` when
/// no matrix of that dimension can exist.
pub(super) fn query_rows(
    model_id: ModelId,
    dim: usize,
    queries: &[&Signature],
) -> Option<(Gallery, Vec<usize>)> {
    let mut q = Gallery::new(model_id, dim).ok()?;
    let mut position = Vec::with_capacity(queries.len());
    for (qi, query) in queries.iter().enumerate() {
        if q.push(query).is_ok() {
            position.push(qi);
        }
    }
    Some((q, position))
}
