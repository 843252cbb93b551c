//! Multi-object tracker for one fixed camera: detections are matched to live tracks by IoU
//! (greedy, best pair first) with a centroid-distance fallback for fast small vehicles; a
//! track that goes unmatched for a few frames ends, and one vehicle passage is one track.
//! Each track keeps a smoothed velocity and is matched where it is predicted to be, so a
//! vehicle hidden for a few frames (merged with another blob where lanes cross) keeps its
//! track instead of starting a new passage.

use crate::detect::motion::Detection;
use crate::frame::BBox;

/// Tuning of the tracker.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackerSettings {
    /// Least IoU for a detection to continue a track.
    pub min_iou: f32,
    /// Centroid fallback: largest centre distance, as a fraction of the track box diagonal.
    pub max_centre_distance: f32,
    /// Frames a track may go unseen before it ends.
    pub max_missed: u32,
    /// Tracks seen in fewer frames are noise and are dropped when they end.
    pub min_hits: u32,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            min_iou: 0.2,
            max_centre_distance: 0.75,
            max_missed: 3,
            min_hits: 3,
        }
    }
}

/// A track that has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinishedTrack {
    /// Track id.
    pub id: u32,
    /// First frame it was seen in.
    pub first_frame: u64,
    /// Last frame it was seen in.
    pub last_frame: u64,
    /// Frames it was seen in.
    pub hits: u32,
    /// Whether it was seen often enough to count as a vehicle.
    pub confirmed: bool,
}

/// What one frame did to the tracks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackUpdate {
    /// Detections of this frame with the track each belongs to.
    pub assigned: Vec<(u32, Detection)>,
    /// Tracks that ended with this frame.
    pub finished: Vec<FinishedTrack>,
}

#[derive(Clone, Debug)]
struct Live {
    id: u32,
    bbox: BBox,
    first_frame: u64,
    last_frame: u64,
    hits: u32,
    missed: u32,
    /// Smoothed centre motion, pixels per frame.
    velocity: (f32, f32),
}

impl Live {
    /// The box shifted by the velocity to `frame`.
    fn predicted(&self, frame: u64) -> BBox {
        let dt = frame.saturating_sub(self.last_frame) as f32;
        let shift = |v: u32, d: f32| (v as f32 + d).round().max(0.0) as u32;
        let (dx, dy) = (self.velocity.0 * dt, self.velocity.1 * dt);
        BBox {
            x0: shift(self.bbox.x0, dx),
            y0: shift(self.bbox.y0, dy),
            x1: shift(self.bbox.x1, dx),
            y1: shift(self.bbox.y1, dy),
        }
    }
}

/// Share of the smaller box inside the larger one that continues a track whatever the IoU.
const CONTAINED: f32 = 0.7;

/// Weight of the newest displacement in the smoothed velocity.
const VELOCITY_SMOOTHING: f32 = 0.5;

/// The tracker state.
#[derive(Debug)]
pub struct Tracker {
    settings: TrackerSettings,
    live: Vec<Live>,
    next_id: u32,
}

impl Tracker {
    /// An empty tracker; track ids start at `first_id` (persisted across restarts by the
    /// caller if ids must not repeat).
    pub fn new(settings: TrackerSettings, first_id: u32) -> Self {
        Tracker {
            settings,
            live: Vec::new(),
            next_id: first_id,
        }
    }

    /// Number of live tracks.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    fn affinity(&self, t: &Live, b: &BBox, frame: u64) -> Option<f32> {
        let at = t.predicted(frame);
        let iou = at.iou(b);
        if iou >= self.settings.min_iou {
            return Some(1.0 + iou);
        }
        // A vehicle entering the frame, or leaving a merged blob: its box grows or shrinks
        // fast, but one box still lies mostly inside the other.
        if at.overlap_of_smaller(b) >= CONTAINED {
            return Some(1.0 + iou);
        }
        let ((tx, ty), (bx, by)) = (at.centre(), b.centre());
        let dist = ((tx - bx).powi(2) + (ty - by).powi(2)).sqrt();
        let diag = (t.bbox.width() as f32)
            .hypot(t.bbox.height() as f32)
            .max(1.0);
        let rel = dist / diag;
        (rel <= self.settings.max_centre_distance).then_some(1.0 - rel)
    }

    /// Feeds the detections of frame `frame`.
    pub fn update(&mut self, frame: u64, detections: &[Detection]) -> TrackUpdate {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, t) in self.live.iter().enumerate() {
            for (di, d) in detections.iter().enumerate() {
                if let Some(a) = self.affinity(t, &d.bbox, frame) {
                    pairs.push((a, ti, di));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_used = vec![false; self.live.len()];
        let mut det_track: Vec<Option<usize>> = vec![None; detections.len()];
        for (_, ti, di) in pairs {
            if !track_used[ti] && det_track[di].is_none() {
                track_used[ti] = true;
                det_track[di] = Some(ti);
            }
        }
        let mut update = TrackUpdate::default();
        for (t, used) in self.live.iter_mut().zip(&track_used) {
            if !used {
                t.missed += 1;
            }
        }
        for (di, d) in detections.iter().enumerate() {
            let ti = match det_track[di] {
                Some(ti) => ti,
                None => {
                    self.live.push(Live {
                        id: self.next_id,
                        bbox: d.bbox,
                        first_frame: frame,
                        last_frame: frame,
                        hits: 0,
                        missed: 0,
                        velocity: (0.0, 0.0),
                    });
                    self.next_id = self.next_id.wrapping_add(1);
                    self.live.len() - 1
                }
            };
            let t = &mut self.live[ti];
            if t.hits > 0 {
                let dt = frame.saturating_sub(t.last_frame).max(1) as f32;
                let ((ox, oy), (nx, ny)) = (t.bbox.centre(), d.bbox.centre());
                let step = ((nx - ox) / dt, (ny - oy) / dt);
                let a = if t.hits == 1 { 1.0 } else { VELOCITY_SMOOTHING };
                t.velocity = (
                    a * step.0 + (1.0 - a) * t.velocity.0,
                    a * step.1 + (1.0 - a) * t.velocity.1,
                );
            }
            t.bbox = d.bbox;
            t.last_frame = frame;
            t.hits += 1;
            t.missed = 0;
            update.assigned.push((t.id, *d));
        }
        let max_missed = self.settings.max_missed;
        let min_hits = self.settings.min_hits;
        self.live.retain(|t| {
            if t.missed > max_missed {
                update.finished.push(finished(t, min_hits));
                false
            } else {
                true
            }
        });
        update
    }

    /// Ends every live track (end of stream).
    pub fn finish_all(&mut self) -> Vec<FinishedTrack> {
        let min_hits = self.settings.min_hits;
        self.live
            .drain(..)
            .map(|t| finished(&t, min_hits))
            .collect()
    }
}

fn finished(t: &Live, min_hits: u32) -> FinishedTrack {
    FinishedTrack {
        id: t.id,
        first_frame: t.first_frame,
        last_frame: t.last_frame,
        hits: t.hits,
        confirmed: t.hits >= min_hits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: u32, y: u32) -> Detection {
        Detection {
            bbox: BBox {
                x0: x,
                y0: y,
                x1: x + 20,
                y1: y + 10,
            },
            pixels: 200,
        }
    }

    #[test]
    fn two_vehicles_crossing_give_two_tracks() {
        let mut t = Tracker::new(TrackerSettings::default(), 7);
        let mut finished = Vec::new();
        for f in 0..20u32 {
            // one goes right on row 10, the other left on row 40, 6 px per frame
            let dets = [det(6 * f, 10), det(200 - 6 * f, 40)];
            let u = t.update(u64::from(f), &dets);
            assert_eq!(u.assigned.len(), 2);
            assert_eq!(u.assigned[0].0, 7);
            assert_eq!(u.assigned[1].0, 8);
            finished.extend(u.finished);
        }
        for f in 20..25 {
            finished.extend(t.update(f, &[]).finished);
        }
        assert_eq!(finished.len(), 2);
        assert!(
            finished
                .iter()
                .all(|f| f.confirmed && f.hits == 20 && f.last_frame == 19)
        );
        assert_eq!(t.live(), 0);
    }

    #[test]
    fn a_short_gap_keeps_the_track_and_a_blip_is_not_confirmed() {
        let mut t = Tracker::new(TrackerSettings::default(), 0);
        t.update(0, &[det(0, 0)]);
        t.update(1, &[]);
        t.update(2, &[]);
        let u = t.update(3, &[det(4, 0)]);
        assert_eq!(u.assigned[0].0, 0);
        // a one-frame blip far away
        t.update(4, &[det(4, 0), det(300, 300)]);
        let mut ended = Vec::new();
        for f in 5..10 {
            ended.extend(t.update(f, &[]).finished);
        }
        ended.sort_by_key(|f| f.id);
        assert_eq!(ended.len(), 2);
        assert!(ended[0].confirmed && ended[0].hits == 3);
        assert!(!ended[1].confirmed && ended[1].hits == 1);
    }

    #[test]
    fn fast_vehicle_is_followed_by_its_centre() {
        let mut t = Tracker::new(TrackerSettings::default(), 0);
        t.update(0, &[det(0, 0)]);
        // moved 15 px: IoU 5/35 < 0.2, centre distance 15 / 22.4 = 0.67 < 0.75
        let u = t.update(1, &[det(15, 0)]);
        assert_eq!(u.assigned[0].0, 0);
        assert_eq!(t.live(), 1);
    }

    #[test]
    fn a_vehicle_hidden_for_several_frames_is_found_where_it_is_predicted() {
        let settings = TrackerSettings {
            max_missed: 6,
            ..TrackerSettings::default()
        };
        let mut t = Tracker::new(settings, 0);
        // 12 px per frame to the right; hidden in frames 5..=9 (five frames, 60 px on).
        for f in 0..5u32 {
            t.update(u64::from(f), &[det(12 * f, 50)]);
        }
        for f in 5..10 {
            t.update(f, &[]);
        }
        // At the last seen box, IoU and centre distance both fail (60 px on, 20 px wide).
        let u = t.update(10, &[det(120, 50)]);
        assert_eq!(u.assigned[0].0, 0, "same track after the gap");
        assert_eq!(t.live(), 1);
    }

    #[test]
    fn a_vehicle_entering_the_frame_stays_one_track_while_its_box_grows() {
        let mut t = Tracker::new(TrackerSettings::default(), 0);
        // The box grows from the right edge of a 256-wide frame: 20, 45, 70, 95 px wide.
        for (f, w) in [20u32, 45, 70, 95].into_iter().enumerate() {
            let d = Detection {
                bbox: BBox {
                    x0: 256 - w,
                    y0: 60,
                    x1: 256,
                    y1: 90,
                },
                pixels: w * 30,
            };
            let u = t.update(f as u64, &[d]);
            assert_eq!(u.assigned[0].0, 0, "frame {f}");
        }
        assert_eq!(t.live(), 1);
    }
}
