//! The camera graph: which cameras a vehicle can drive between, and how long it takes.

use std::collections::HashMap;

use super::CameraIdx;
use crate::index::{RowMeta, Window};

/// Travel-time ranges between linked cameras (both directions).
#[derive(Clone, Debug, Default)]
pub struct TravelGraph {
    /// `(min, max)` µs by unordered camera pair (smaller index first).
    links: HashMap<(CameraIdx, CameraIdx), (u64, u64)>,
    /// Each camera's links: `(other camera, min, max)` µs.
    neighbours: HashMap<CameraIdx, Vec<(CameraIdx, u64, u64)>>,
}

impl TravelGraph {
    /// Whether the graph gates anything (no links means every pair may match).
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Links `a` and `b` with a travel time within `range` µs (a second link between the
    /// same cameras replaces the first).
    pub(super) fn link(&mut self, a: CameraIdx, b: CameraIdx, range: (u64, u64)) {
        self.links.insert((a.min(b), a.max(b)), range);
        for (from, to) in [(a, b), (b, a)] {
            let list = self.neighbours.entry(from).or_default();
            list.retain(|n| n.0 != to);
            list.push((to, range.0, range.1));
        }
    }

    /// The cameras linked to `camera`.
    pub(super) fn linked(&self, camera: CameraIdx) -> impl Iterator<Item = CameraIdx> + '_ {
        self.neighbours
            .get(&camera)
            .into_iter()
            .flatten()
            .map(|n| n.0)
    }

    /// The longest travel time of any link, µs.
    pub fn max_travel_us(&self) -> u64 {
        self.links.values().map(|r| r.1).max().unwrap_or(0)
    }

    /// Whether a vehicle seen at `a` could be the one seen at `b`.
    pub(super) fn allows(&self, a: RowMeta, b: RowMeta) -> bool {
        if self.links.is_empty() {
            return true;
        }
        let pair = (a.camera.min(b.camera), a.camera.max(b.camera));
        let Some(&(min, max)) = self.links.get(&pair) else {
            return false;
        };
        let dt = a.capture_time_us.abs_diff(b.capture_time_us);
        (min..=max).contains(&dt)
    }

    /// The windows a passage `q` can reach (before and after it at each linked camera),
    /// only at camera `only` if given: every row [`Self::allows`] lies in one of them.
    pub(super) fn reach(&self, q: RowMeta, only: Option<CameraIdx>) -> Vec<Window> {
        let t = q.capture_time_us;
        self.neighbours
            .get(&q.camera)
            .into_iter()
            .flatten()
            .filter(|n| only.is_none_or(|c| c == n.0))
            .flat_map(|&(camera, min, max)| {
                let before = (t >= min).then(|| Window {
                    camera,
                    from_us: t.saturating_sub(max),
                    to_us: t - min,
                });
                let after = Window {
                    camera,
                    from_us: t.saturating_add(min),
                    to_us: t.saturating_add(max),
                };
                before.into_iter().chain([after])
            })
            .collect()
    }
}
