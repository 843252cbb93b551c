//! Matching a new signature against the gallery of the other cameras.
//!
//! The matcher keeps, beside the search index, where and when each gallery entry was seen,
//! and filters the search with it: never the query's own camera, and, when a camera graph
//! is configured, only cameras linked to the query's camera with a capture-time difference
//! inside the link's travel-time range. With `one_per_camera` a new signature gets at most
//! one candidate per other camera, the nearest there: a vehicle passes a camera once per
//! trip, so a second candidate from the same camera can only be a wrong one, and the best
//! per camera lets one event name the vehicle at every camera it came from. With
//! `one_to_one` ([`assign`]) a passage also keeps at most one partner per other camera.

pub mod assign;
mod graph;
mod prepared;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use self::assign::CameraIdx;
use self::assign::Pairs;
pub use self::graph::TravelGraph;
use self::prepared::Prepared;
use super::config::{CameraId, LinkConfig, parse_camera_ref};
use super::error::ConfigError;
use super::index::{GalleryIndex, RowMeta, Window, nearest_first};
use spanreid::signature::Signature;

/// One candidate for a query, best first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Gallery signature id.
    pub id: i64,
    /// CPDM distance to the query.
    pub distance: f32,
    /// With one-to-one association: the passage of the query's camera that held this
    /// candidate and lost it to the query.
    pub replaces: Option<i64>,
}

impl From<assign::Taken> for Candidate {
    fn from(t: assign::Taken) -> Self {
        Candidate {
            id: t.id,
            distance: t.distance,
            replaces: t.replaces,
        }
    }
}

/// Search hits of one query: `(id, distance)`.
type Hits = Vec<(i64, f32)>;

/// The searchable gallery with its metadata.
#[derive(Debug)]
pub struct Matcher<I> {
    index: I,
    cameras: HashMap<CameraId, CameraIdx>,
    graph: TravelGraph,
    top_k: usize,
    max_distance: f32,
    one_per_camera: bool,
    /// One-to-one association: the pairs, if on.
    pairs: Option<Pairs>,
}

impl<I: GalleryIndex> Matcher<I> {
    /// An empty matcher over `index`, with the camera links of the config.
    pub fn new(
        index: I,
        links: &[LinkConfig],
        top_k: usize,
        max_distance: f32,
    ) -> Result<Self, ConfigError> {
        let mut m = Matcher {
            index,
            cameras: HashMap::new(),
            graph: TravelGraph::default(),
            top_k,
            max_distance,
            one_per_camera: false,
            pairs: None,
        };
        for link in links {
            let a = m.camera_index(&parse_camera_ref(&link.from)?);
            let b = m.camera_index(&parse_camera_ref(&link.to)?);
            let range = ((link.min_s * 1e6) as u64, (link.max_s * 1e6) as u64);
            m.graph.link(a, b, range);
        }
        Ok(m)
    }

    /// At most one candidate per other camera (the nearest there), `top_k` cameras at most.
    pub fn one_per_camera(mut self, on: bool) -> Self {
        self.one_per_camera = on;
        self
    }

    /// One-to-one association (see [`assign`]); implies one candidate per camera.
    pub fn one_to_one(mut self, on: bool) -> Self {
        self.pairs = on.then(Pairs::default);
        self.one_per_camera |= on;
        self
    }

    /// Whether one-to-one association is on.
    pub fn is_one_to_one(&self) -> bool {
        self.pairs.is_some()
    }

    /// Applies the pairs the last [`Self::candidates_batch`] proposed, once its
    /// signatures and match records are committed.
    pub fn settle(&mut self) {
        if let Some(pairs) = &mut self.pairs {
            pairs.settle();
        }
    }

    /// Passages that lost a pair since the last call (one-to-one), with the camera where.
    pub fn take_displaced(&mut self) -> Vec<(i64, CameraIdx)> {
        self.pairs
            .as_mut()
            .map(Pairs::take_displaced)
            .unwrap_or_default()
    }

    /// Searches stored passages that lost their pair at a camera, `(id, signature, camera)`,
    /// again at that camera: each takes the nearest of its candidates there that is free or
    /// held by a farther pair (which is then withdrawn in turn). Proposed until
    /// [`Self::settle`], as for new signatures.
    pub fn rematch(&mut self, items: &[(i64, &Signature, CameraIdx)]) -> Vec<Vec<Candidate>> {
        let metas: Vec<RowMeta> = items.iter().map(|(_, s, _)| self.meta_of(s)).collect();
        let prepared = Prepared {
            sigs: items.iter().map(|(_, s, _)| *s).collect(),
            metas,
            within: None,
        };
        let cameras: BTreeSet<CameraIdx> = items.iter().map(|i| i.2).collect();
        let mut found: Vec<Hits> = vec![Vec::new(); items.len()];
        for camera in cameras {
            let chosen: Vec<usize> = (0..items.len()).filter(|&i| items[i].2 == camera).collect();
            let hits = self.search(&prepared, assign::DEPTH, Some(camera), &chosen);
            for (i, hits) in chosen.into_iter().zip(hits) {
                found[i] = hits;
            }
        }
        let Some(pairs) = &mut self.pairs else {
            return vec![Vec::new(); items.len()];
        };
        pairs.begin();
        items
            .iter()
            .zip(found)
            .zip(&prepared.metas)
            .map(|(((id, _, camera), hits), meta)| {
                pairs
                    .choose(*id, meta.camera, &[(*camera, hits)], 1)
                    .into_iter()
                    .map(Candidate::from)
                    .collect()
            })
            .collect()
    }

    /// Replays a stored match record (`query` took `candidate`) into the one-to-one pairs
    /// when the gallery is rebuilt, in query-id order.
    pub fn restore_pair(
        &mut self,
        query: (i64, &Signature),
        candidate: (i64, &Signature),
        distance: f32,
    ) {
        let (q, c) = (
            self.meta_of(query.1).camera,
            self.meta_of(candidate.1).camera,
        );
        if let Some(pairs) = &mut self.pairs {
            pairs.restore(query.0, q, candidate.0, c, distance);
        }
    }

    /// Stable small index of a camera, assigned on first sight.
    pub fn camera_index(&mut self, id: &CameraId) -> CameraIdx {
        let next = self.cameras.len() as CameraIdx;
        *self.cameras.entry(id.clone()).or_insert(next)
    }

    fn meta_of(&mut self, sig: &Signature) -> RowMeta {
        let id = (sig.site.as_str().to_owned(), sig.camera.as_str().to_owned());
        RowMeta {
            camera: self.camera_index(&id),
            capture_time_us: sig.capture_time_us,
        }
    }

    /// Candidates for `sig` among the gallery entries of other cameras, best first, at
    /// most `top_k`, each within `max_distance`. `sig` itself is not added.
    pub fn candidates(&mut self, sig: &Signature) -> Vec<Candidate> {
        self.candidates_batch(&[(0, sig)]).pop().unwrap_or_default()
    }

    /// Candidates for each new signature `(id, signature)` of a batch, as if they had been
    /// matched and added one after the other: against the gallery, and against the
    /// signatures before it in the batch. The gallery is scanned once for the whole batch.
    /// The signatures are not added.
    pub fn candidates_batch(&mut self, batch: &[(i64, &Signature)]) -> Vec<Vec<Candidate>> {
        let metas: Vec<RowMeta> = batch.iter().map(|(_, s)| self.meta_of(s)).collect();
        let prepared = Prepared::new(&self.index, batch, metas);
        if self.pairs.is_some() {
            return self.assigned(&prepared, batch);
        }
        let hits = if self.one_per_camera {
            let mut best: Vec<Vec<(i64, f32)>> = vec![Vec::new(); batch.len()];
            for (_, found) in self.per_camera(&prepared, 1) {
                for (all, one) in best.iter_mut().zip(found) {
                    all.extend(one);
                }
            }
            for hits in &mut best {
                nearest_first(hits, self.top_k);
            }
            best
        } else {
            let all: Vec<usize> = (0..batch.len()).collect();
            self.search(&prepared, self.top_k, None, &all)
        };
        hits.into_iter()
            .map(|hits| {
                hits.into_iter()
                    .map(|(id, distance)| Candidate {
                        id,
                        distance,
                        replaces: None,
                    })
                    .collect()
            })
            .collect()
    }

    /// The `k` nearest at each camera, for each signature of the batch: one search per
    /// camera, exact. With a camera graph a camera is searched for the signatures of the
    /// cameras linked to it only (the others can match nothing there), in its windows.
    fn per_camera(&self, prepared: &Prepared<'_, I>, k: usize) -> Vec<(CameraIdx, Vec<Hits>)> {
        let n = prepared.sigs.len();
        let mut chosen: BTreeMap<CameraIdx, Vec<usize>> = BTreeMap::new();
        for (i, q) in prepared.metas.iter().enumerate() {
            if self.graph.is_empty() {
                for camera in 0..self.cameras.len() as CameraIdx {
                    chosen.entry(camera).or_default().push(i);
                }
            } else {
                for camera in self.graph.linked(q.camera) {
                    chosen.entry(camera).or_default().push(i);
                }
            }
        }
        chosen
            .into_iter()
            .map(|(camera, queries)| {
                let mut hits = vec![Vec::new(); n];
                let found = self.search(prepared, k, Some(camera), &queries);
                for (i, h) in queries.into_iter().zip(found) {
                    hits[i] = h;
                }
                (camera, hits)
            })
            .collect()
    }

    /// Candidates under one-to-one association, the batch's queries in order.
    fn assigned(
        &mut self,
        prepared: &Prepared<'_, I>,
        batch: &[(i64, &Signature)],
    ) -> Vec<Vec<Candidate>> {
        let found = self.per_camera(prepared, assign::DEPTH);
        let (top_k, metas) = (self.top_k, &prepared.metas);
        let Some(pairs) = &mut self.pairs else {
            return Vec::new();
        };
        pairs.begin();
        batch
            .iter()
            .enumerate()
            .map(|(qi, (id, _))| {
                let per_camera: Vec<(CameraIdx, Vec<(i64, f32)>)> = found
                    .iter()
                    .map(|(camera, hits)| (*camera, hits[qi].clone()))
                    .collect();
                pairs
                    .choose(*id, metas[qi].camera, &per_camera, top_k)
                    .into_iter()
                    .map(Candidate::from)
                    .collect()
            })
            .collect()
    }

    /// The `k` nearest allowed entries (at camera `only` if given) for the signatures
    /// `chosen` of the batch (indices into it; the result follows them): in the gallery, and
    /// among the batch's earlier signatures. With a camera graph the index reads only the
    /// windows each signature can reach.
    fn search(
        &self,
        batch: &Prepared<'_, I>,
        k: usize,
        only: Option<CameraIdx>,
        chosen: &[usize],
    ) -> Vec<Vec<(i64, f32)>> {
        let sigs: Vec<&Signature> = chosen.iter().map(|&i| batch.sigs[i]).collect();
        let metas: Vec<RowMeta> = chosen.iter().map(|&i| batch.metas[i]).collect();
        let graph = &self.graph;
        let reach: Option<Vec<Vec<Window>>> =
            (!graph.is_empty()).then(|| metas.iter().map(|q| graph.reach(*q, only)).collect());
        let reach = reach.as_deref();
        let allowed = |q: RowMeta, g: RowMeta| {
            g.camera != q.camera && only.is_none_or(|c| c == g.camera) && graph.allows(q, g)
        };
        let keep_gallery = |qi: usize, _id: i64, g: RowMeta| allowed(metas[qi], g);
        let mut per_query =
            self.index
                .search_many(&sigs, reach, k, self.max_distance, &keep_gallery);
        if let Some((within, position)) = &batch.within {
            let keep_earlier = |qi: usize, id: i64, g: RowMeta| {
                position.get(&id).is_some_and(|&gi| gi < chosen[qi]) && allowed(metas[qi], g)
            };
            let earlier = within.search_many(&sigs, reach, k, self.max_distance, &keep_earlier);
            for (hits, more) in per_query.iter_mut().zip(earlier) {
                hits.extend(more);
                nearest_first(hits, k);
            }
        }
        per_query
    }

    /// Drop from the index the entries no signature captured at `oldest_query_us` or later
    /// can reach through the camera graph (older than that by more than the longest link);
    /// they stay in the store. Without a graph every entry stays searchable. Returns how
    /// many left.
    pub fn forget_unreachable(&mut self, oldest_query_us: u64) -> usize {
        if self.graph.is_empty() {
            return 0;
        }
        let horizon = oldest_query_us.saturating_sub(self.graph.max_travel_us());
        self.index.forget_captured_before(horizon)
    }

    /// Add a stored signature to the searchable gallery.
    pub fn insert(&mut self, id: i64, sig: &Signature) {
        let m = self.meta_of(sig);
        self.index.insert(id, sig, m);
    }

    /// Remove evicted signatures (and their one-to-one pairs).
    pub fn remove(&mut self, ids: &[i64]) {
        for id in ids {
            self.index.remove(*id);
        }
        if let Some(pairs) = &mut self.pairs {
            pairs.remove(ids);
        }
    }

    /// Number of searchable signatures.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the gallery is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The search index (to compare it with the database in tests).
    pub fn index(&self) -> &I {
        &self.index
    }
}

#[cfg(test)]
mod tests;
