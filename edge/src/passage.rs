//! Which crops of a vehicle passage are embedded: the policy keeps a bounded set of
//! candidate crops per live track and hands them over when the track ends.

use std::collections::HashMap;

use serde::Deserialize;

use crate::frame::{BBox, Frame};
use spanreid_infer::Crop;

/// `detect.crop_policy`: which policy, by name; `mean` takes its `k` from `detect.top_k`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CropPolicyKind {
    /// [`CropPolicy::First`].
    First,
    /// [`CropPolicy::Best`].
    Best,
    /// [`CropPolicy::MeanTopK`].
    #[default]
    Mean,
}

/// How the crops of one track become one signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CropPolicy {
    /// The first crop fully inside the frame (or the first at all if none is).
    First,
    /// The best crop: fully inside the frame first, then by area × sharpness.
    Best,
    /// The `k` best crops; their embeddings are averaged.
    MeanTopK(usize),
}

impl CropPolicy {
    /// Most crops kept per track.
    pub fn capacity(self) -> usize {
        match self {
            CropPolicy::First | CropPolicy::Best => 1,
            CropPolicy::MeanTopK(k) => k.max(1),
        }
    }
}

/// Margin around a vehicle's box in its crop, as a fraction of the box's longer side (the
/// trainer frames its images with 2–8 %).
pub const CROP_MARGIN: f32 = 0.05;

/// One crop with what it is ranked by.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Frame it was cut from.
    pub frame: u64,
    /// Capture time of that frame, µs since the epoch.
    pub time_us: u64,
    /// Box in the frame.
    pub bbox: BBox,
    /// Whether the box keeps clear of the frame edges.
    pub inside: bool,
    /// Area × sqrt(1 + sharpness).
    pub score: f32,
    /// The pixels.
    pub crop: Crop,
}

impl Candidate {
    /// Cuts the square crop around `bbox` in `frame` (see [`Frame::square_around`]) and scores it.
    pub fn new(frame: &Frame, bbox: BBox, margin: u32) -> Self {
        let crop = frame.crop(&frame.square_around(&bbox, CROP_MARGIN));
        let score = bbox.area() as f32 * (1.0 + crop.sharpness()).sqrt();
        Candidate {
            frame: frame.index,
            time_us: frame.time_us,
            bbox,
            inside: bbox.inside(frame.width, frame.height, margin),
            score,
            crop,
        }
    }

    fn rank(&self) -> (bool, f32) {
        (self.inside, self.score)
    }

    fn better_than(&self, other: &Candidate) -> bool {
        let (a, b) = (self.rank(), other.rank());
        (a.0 && !b.0) || (a.0 == b.0 && a.1 > b.1)
    }
}

/// Candidate crops of every live track.
#[derive(Debug)]
pub struct Passages {
    policy: CropPolicy,
    kept: HashMap<u32, Vec<Candidate>>,
}

impl Passages {
    /// Empty, with the given policy.
    pub fn new(policy: CropPolicy) -> Self {
        Passages {
            policy,
            kept: HashMap::new(),
        }
    }

    /// Offers a crop of track `track`; `make` is only called if the crop could be kept.
    pub fn offer(&mut self, track: u32, inside: bool, make: impl FnOnce() -> Candidate) {
        let cap = self.policy.capacity();
        let kept = self.kept.entry(track).or_default();
        match self.policy {
            CropPolicy::First => {
                let replace = kept.first().is_none_or(|c| !c.inside && inside);
                if replace {
                    *kept = vec![make()];
                }
            }
            CropPolicy::Best | CropPolicy::MeanTopK(_) => {
                // An edge crop cannot beat a full set of inside crops.
                if kept.len() == cap && !inside && kept.iter().all(|c| c.inside) {
                    return;
                }
                let c = make();
                if kept.len() < cap {
                    kept.push(c);
                } else if let Some(worst) = kept
                    .iter_mut()
                    .reduce(|w, x| if w.better_than(x) { x } else { w })
                    && c.better_than(worst)
                {
                    *worst = c;
                }
            }
        }
    }

    /// The chosen crops of an ended track, best first (empty if it never had one).
    pub fn take(&mut self, track: u32) -> Vec<Candidate> {
        let mut kept = self.kept.remove(&track).unwrap_or_default();
        kept.sort_by(|a, b| b.inside.cmp(&a.inside).then(b.score.total_cmp(&a.score)));
        kept
    }

    /// Forgets an ended track without using it.
    pub fn discard(&mut self, track: u32) {
        self.kept.remove(&track);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(frame: u64, inside: bool, score: f32) -> Candidate {
        Candidate {
            frame,
            time_us: frame,
            bbox: BBox::default(),
            inside,
            score,
            crop: Crop {
                width: 0,
                height: 0,
                rgb: Vec::new(),
            },
        }
    }

    fn frames(c: &[Candidate]) -> Vec<u64> {
        c.iter().map(|c| c.frame).collect()
    }

    fn feed(policy: CropPolicy) -> Vec<u64> {
        let mut p = Passages::new(policy);
        for (f, inside, score) in [
            (0, false, 99.0),
            (1, true, 5.0),
            (2, true, 9.0),
            (3, true, 7.0),
            (4, false, 50.0),
        ] {
            p.offer(1, inside, || cand(f, inside, score));
        }
        frames(&p.take(1))
    }

    #[test]
    fn policies_pick_the_expected_frames() {
        assert_eq!(feed(CropPolicy::First), vec![1]);
        assert_eq!(feed(CropPolicy::Best), vec![2]);
        assert_eq!(feed(CropPolicy::MeanTopK(2)), vec![2, 3]);
        assert_eq!(feed(CropPolicy::MeanTopK(4)), vec![2, 3, 1, 0]);
    }

    #[test]
    fn edge_crops_are_used_when_nothing_else_exists_and_tracks_are_separate() {
        let mut p = Passages::new(CropPolicy::Best);
        p.offer(1, false, || cand(0, false, 1.0));
        p.offer(2, true, || cand(5, true, 1.0));
        assert_eq!(frames(&p.take(1)), vec![0]);
        assert!(p.take(1).is_empty());
        p.discard(2);
        assert!(p.take(2).is_empty());
    }
}
