//! The pure stages between frames and signatures: detection, tracking and crop choice
//! ([`Vehicles`]), and the embedding of a passage's crops ([`embed_passage`]).

use crate::config::Validated;
use crate::detect::{DetectError, Detector, DetectorKind, MotionDetector};
use crate::frame::Frame;
use crate::metrics::Metrics;
use crate::passage::{Candidate, CropPolicy, Passages};
use crate::track::Tracker;
use spanreid_infer::{Embedder, InferError, PartEmbedding};

/// One vehicle passage on its way to inference.
#[derive(Debug)]
pub struct PassageJob {
    /// Track id.
    pub track_id: u32,
    /// Chosen crops, best first.
    pub candidates: Vec<Candidate>,
}

/// Detection, tracking and crop choice over a frame stream (pure logic, no threads).
#[derive(Debug)]
pub struct Vehicles {
    detector: Detector,
    tracker: Tracker,
    passages: Passages,
    margin: u32,
    /// Width and height of the last frame.
    frame_size: (u32, u32),
    detect_failures: u64,
}

impl Vehicles {
    /// The stage from validated settings with the detector they choose
    /// (`detect.detector`); an ONNX detector's model is loaded now.
    pub fn open(v: &Validated) -> Result<Self, DetectError> {
        let detector = Detector::open(v.onnx.as_ref(), &v.motion, &v.roi)?;
        Ok(Self::with_detector(v, detector))
    }

    /// The stage from validated settings with the motion detector, whatever
    /// `detect.detector` says (benchmarks and tests of the motion path); see [`Self::open`].
    pub fn motion(v: &Validated) -> Self {
        let motion = MotionDetector::new(v.motion.clone(), v.roi.clone());
        Self::with_detector(v, Detector::Motion(motion))
    }

    /// The stage from validated settings with a detector built by the caller.
    pub fn with_detector(v: &Validated, detector: Detector) -> Self {
        Vehicles {
            detector,
            tracker: Tracker::new(v.tracker.clone(), 0),
            passages: Passages::new(v.policy),
            margin: v.config.detect.edge_margin,
            frame_size: (0, 0),
            detect_failures: 0,
        }
    }

    /// Which detector runs.
    pub fn detector_kind(&self) -> DetectorKind {
        self.detector.kind()
    }

    /// Feeds one frame; returns the passages that ended with it. A frame the detector
    /// fails on is counted (`detect_errors`) and skipped, as an undecodable frame is.
    pub fn push(&mut self, frame: &Frame, metrics: &Metrics) -> Vec<PassageJob> {
        self.frame_size = (frame.width, frame.height);
        let detections = match self.detector.detect(frame) {
            Ok(d) => d,
            Err(e) => {
                Metrics::add(&metrics.detect_errors, 1);
                self.detect_failures += 1;
                if self.detect_failures.is_power_of_two() {
                    tracing::warn!(
                        frame = frame.index,
                        failures = self.detect_failures,
                        error = %e,
                        "detector failed, frame skipped"
                    );
                }
                return Vec::new();
            }
        };
        Metrics::add(&metrics.detections, detections.len() as u64);
        let update = self.tracker.update(frame.index, &detections);
        for (track, d) in &update.assigned {
            let inside = d.bbox.inside(frame.width, frame.height, self.margin);
            self.passages.offer(*track, inside, || {
                Candidate::new(frame, d.bbox, self.margin)
            });
        }
        self.jobs(update.finished, metrics)
    }

    /// Ends every live track (end of stream).
    pub fn finish(&mut self, metrics: &Metrics) -> Vec<PassageJob> {
        let finished = self.tracker.finish_all();
        self.jobs(finished, metrics)
    }

    fn jobs(
        &mut self,
        finished: Vec<crate::track::FinishedTrack>,
        metrics: &Metrics,
    ) -> Vec<PassageJob> {
        let mut out = Vec::new();
        for f in finished {
            if f.confirmed {
                let candidates = self.passages.take(f.id);
                if edge_fragment(&candidates, self.frame_size) {
                    Metrics::add(&metrics.tracks_edge_only, 1);
                    continue;
                }
                Metrics::add(&metrics.tracks, 1);
                out.push(PassageJob {
                    track_id: f.id,
                    candidates,
                });
            } else {
                Metrics::add(&metrics.tracks_discarded, 1);
                self.passages.discard(f.id);
            }
        }
        out
    }
}

/// Whether a track's crops show only a piece of a vehicle: none keeps clear of the frame
/// edges, and the largest is smaller than half the frame both ways (a vehicle too big to
/// ever fit in the frame still makes a passage). Such tracks are the ends of a vehicle
/// entering or leaving after its own track broke: their crops show a bumper, not a vehicle.
pub fn edge_fragment(candidates: &[Candidate], (width, height): (u32, u32)) -> bool {
    !candidates.is_empty()
        && candidates.iter().all(|c| !c.inside)
        && candidates
            .iter()
            .all(|c| 2 * c.bbox.width() < width && 2 * c.bbox.height() < height)
}

/// Embeds a passage's crops and combines them by the policy.
pub fn embed_passage(
    embedder: &mut dyn Embedder,
    policy: CropPolicy,
    job: &PassageJob,
) -> Result<Option<PartEmbedding>, InferError> {
    let crops: Vec<_> = job.candidates.iter().map(|c| c.crop.clone()).collect();
    if crops.is_empty() {
        return Ok(None);
    }
    let embeddings = embedder.embed(&crops)?;
    Ok(match policy {
        CropPolicy::MeanTopK(_) => PartEmbedding::mean(&embeddings),
        CropPolicy::First | CropPolicy::Best => embeddings.into_iter().next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::BBox;
    use spanreid_infer::Crop;

    fn cand(inside: bool, (w, h): (u32, u32)) -> Candidate {
        Candidate {
            frame: 0,
            time_us: 0,
            bbox: BBox {
                x0: 0,
                y0: 10,
                x1: w,
                y1: 10 + h,
            },
            inside,
            score: 1.0,
            crop: Crop {
                width: 0,
                height: 0,
                rgb: Vec::new(),
            },
        }
    }

    #[test]
    fn only_small_tracks_never_clear_of_the_edge_are_fragments() {
        let frame = (640, 360);
        // a bumper at the left edge
        assert!(edge_fragment(&[cand(false, (20, 12))], frame));
        // one crop clear of the edges makes it a vehicle
        assert!(!edge_fragment(
            &[cand(false, (20, 12)), cand(true, (90, 50))],
            frame
        ));
        // a bus wider than half the frame never fits, and still is a vehicle
        assert!(!edge_fragment(&[cand(false, (400, 120))], frame));
        assert!(!edge_fragment(&[], frame));
    }
}
