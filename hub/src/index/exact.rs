//! [`ExactIndex`]: the core's f32 CPDM over dequantised features, entry by entry — the
//! reference the int8 indexes are checked against.

use std::collections::BTreeMap;

use spanreid::cpdm::{AreaRatios, PartFeatures, cpdm};
use spanreid::part::PARTS;
use spanreid::signature::Signature;

use super::{GalleryIndex, RowMeta, Window};

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
        _reach: Option<&[Vec<Window>]>,
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
                super::nearest_first(&mut hits, k);
                hits
            })
            .collect()
    }

    fn empty_like(&self) -> Self {
        ExactIndex::default()
    }
}
