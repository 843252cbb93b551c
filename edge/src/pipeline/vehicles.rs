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
                Metrics::add(&metrics.tracks, 1);
                out.push(PassageJob {
                    track_id: f.id,
                    candidates: self.passages.take(f.id),
                });
            } else {
                Metrics::add(&metrics.tracks_discarded, 1);
                self.passages.discard(f.id);
            }
        }
        out
    }
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
