//! [`WindowIndex`]: one int8 matrix per camera with its rows ordered by capture time, so
//! that a query with a camera graph reads only the rows in its travel-time windows.
//!
//! A city's history grows without bound, but a new passage can only be the vehicle seen
//! at a linked camera within the link's travel time: with 10 links and one-minute
//! windows a query reads a few hundred rows whatever the number stored. Rows stay in
//! their camera's matrix in arrival order (appending is the common case; a late,
//! store-and-forwarded signature is appended too) and a `(capture time, id) → row` map
//! finds a window's rows. Removal swaps the last row into the hole, as the core's
//! gallery does. Without windows (no graph, or a search by image) every camera's matrix
//! is scanned by the core's top-k.

use std::collections::{BTreeMap, HashMap};

use spanreid::cpdm::Metric;
use spanreid::kernel::Kernel;
use spanreid::search::{Gallery, SearchOptions, SearchRows, top_k};
use spanreid::signature::{ModelId, Signature};

use super::int8::query_rows;
use super::{GalleryIndex, RowMeta, Window, nearest_first};

/// Queries in a batch from which the windowed search uses every core.
const PARALLEL_QUERIES: usize = 8;

/// One camera's rows.
#[derive(Clone, Debug)]
struct CameraRows {
    gallery: Gallery,
    ids: Vec<i64>,
    times: Vec<u64>,
    by_time: BTreeMap<(u64, i64), usize>,
}

impl CameraRows {
    fn new(model_id: ModelId, dim: usize) -> Self {
        CameraRows {
            gallery: empty_gallery(model_id, dim),
            ids: Vec::new(),
            times: Vec::new(),
            by_time: BTreeMap::new(),
        }
    }

    /// Rows captured within `window`, `(row, id, capture time)`.
    fn within(&self, window: &Window) -> impl Iterator<Item = (usize, i64, u64)> + '_ {
        self.by_time
            .range((window.from_us, i64::MIN)..=(window.to_us, i64::MAX))
            .map(|(&(time, id), &row)| (row, id, time))
    }
}

fn empty_gallery(model_id: ModelId, dim: usize) -> Gallery {
    Gallery::new(model_id, dim)
        .or_else(|_| Gallery::new(model_id, 0))
        .expect("a zero-dimension gallery is always valid")
}

/// The per-camera, time-ordered int8 index.
#[derive(Clone, Debug)]
pub struct WindowIndex {
    model_id: ModelId,
    dim: usize,
    kernel: Kernel,
    /// By camera index.
    cameras: Vec<CameraRows>,
    /// Id → (camera, row).
    at: HashMap<i64, (u32, usize)>,
}

impl WindowIndex {
    /// An empty index for signatures of `model_id` with features of `dim` values.
    pub fn new(model_id: ModelId, dim: usize) -> Self {
        WindowIndex {
            model_id,
            dim,
            kernel: Kernel::detect(),
            cameras: Vec::new(),
            at: HashMap::new(),
        }
    }

    /// The windowed search of one query (`q`'s row `qr`, the caller's query `qi`).
    fn search_windows(
        &self,
        q: &Gallery,
        (qr, qi): (usize, usize),
        windows: &[Window],
        (k, max_distance): (usize, f32),
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<(i64, f32)> {
        let mut hits = Vec::new();
        for w in windows {
            let Some(rows) = self.cameras.get(w.camera as usize) else {
                continue;
            };
            for (row, id, time) in rows.within(w) {
                let meta = RowMeta {
                    camera: w.camera,
                    capture_time_us: time,
                };
                if !keep(qi, id, meta) {
                    continue;
                }
                let d = q.distance(qr, &rows.gallery, row, Metric::Cpdm, self.kernel);
                if d <= max_distance {
                    hits.push((id, d));
                }
            }
        }
        // Windows of one camera may touch (a link with no minimum time): one hit per row.
        hits.sort_unstable_by_key(|h| h.0);
        hits.dedup_by_key(|h| h.0);
        nearest_first(&mut hits, k);
        hits
    }

    /// Every camera's matrix scanned by the core's top-k, merged.
    fn search_all(
        &self,
        q: &Gallery,
        position: &[usize],
        (k, max_distance): (usize, f32),
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
        results: &mut [Vec<(i64, f32)>],
    ) {
        let options = SearchOptions {
            max_distance: Some(max_distance),
            kernel: self.kernel,
            ..SearchOptions::new(k, Metric::Cpdm)
        };
        for (camera, rows) in self.cameras.iter().enumerate() {
            let meta = |g: usize| RowMeta {
                camera: camera as u32,
                capture_time_us: rows.times[g],
            };
            let filter = |qr: usize, g: usize| keep(position[qr], rows.ids[g], meta(g));
            match top_k(q, &rows.gallery, &options, filter) {
                Ok(per_query) => {
                    for (qr, hits) in per_query.into_iter().enumerate() {
                        let into = &mut results[position[qr]];
                        into.extend(hits.into_iter().map(|n| (rows.ids[n.index], n.distance)));
                    }
                }
                Err(e) => tracing::warn!(error = %e, camera, "search failed"),
            }
        }
        for hits in results {
            nearest_first(hits, k);
        }
    }
}

impl GalleryIndex for WindowIndex {
    fn insert(&mut self, id: i64, sig: &Signature, meta: RowMeta) {
        if self.at.contains_key(&id) {
            return;
        }
        let camera = meta.camera as usize;
        if self.cameras.len() <= camera {
            let (model_id, dim) = (self.model_id, self.dim);
            self.cameras
                .resize_with(camera + 1, || CameraRows::new(model_id, dim));
        }
        let rows = &mut self.cameras[camera];
        match rows.gallery.push(sig) {
            Ok(row) => {
                rows.ids.push(id);
                rows.times.push(meta.capture_time_us);
                rows.by_time.insert((meta.capture_time_us, id), row);
                self.at.insert(id, (meta.camera, row));
            }
            Err(e) => tracing::warn!(id, error = %e, "signature not added to the search index"),
        }
    }

    fn remove(&mut self, id: i64) -> bool {
        let Some((camera, row)) = self.at.remove(&id) else {
            return false;
        };
        let rows = &mut self.cameras[camera as usize];
        if rows.gallery.swap_remove(row).is_err() {
            return false;
        }
        rows.ids.swap_remove(row);
        let time = rows.times.swap_remove(row);
        rows.by_time.remove(&(time, id));
        if let Some(&moved) = rows.ids.get(row) {
            rows.by_time.insert((rows.times[row], moved), row);
            self.at.insert(moved, (camera, row));
        }
        true
    }

    fn len(&self) -> usize {
        self.at.len()
    }

    fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.at.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    fn search_many(
        &self,
        queries: &[&Signature],
        reach: Option<&[Vec<Window>]>,
        k: usize,
        max_distance: f32,
        keep: &(dyn Fn(usize, i64, RowMeta) -> bool + Sync),
    ) -> Vec<Vec<(i64, f32)>> {
        let mut results = vec![Vec::new(); queries.len()];
        let Some((q, position)) = query_rows(self.model_id, self.dim, queries) else {
            return results;
        };
        let Some(reach) = reach else {
            self.search_all(&q, &position, (k, max_distance), keep, &mut results);
            return results;
        };
        let one = |qr: usize| {
            let qi = position[qr];
            let windows = reach.get(qi).map_or(&[][..], Vec::as_slice);
            self.search_windows(&q, (qr, qi), windows, (k, max_distance), keep)
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let found: Vec<Vec<(i64, f32)>> = if threads > 1 && position.len() >= PARALLEL_QUERIES {
            let chunk = position.len().div_ceil(threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let rows = t * chunk..((t + 1) * chunk).min(position.len());
                        s.spawn(move || rows.map(one).collect::<Vec<_>>())
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        } else {
            (0..position.len()).map(one).collect()
        };
        for (qr, hits) in found.into_iter().enumerate() {
            results[position[qr]] = hits;
        }
        results
    }

    fn forget_captured_before(&mut self, time_us: u64) -> usize {
        let old: Vec<i64> = self
            .cameras
            .iter()
            .flat_map(|c| {
                c.by_time
                    .range(..(time_us, i64::MIN))
                    .map(|(&(_, id), _)| id)
            })
            .collect();
        for id in &old {
            self.remove(*id);
        }
        old.len()
    }

    fn empty_like(&self) -> Self {
        WindowIndex::new(self.model_id, self.dim)
    }
}
