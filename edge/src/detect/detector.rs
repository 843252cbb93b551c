//! The detector a camera runs, chosen by `detect.detector`: background subtraction (the
//! default) or an ONNX object detector. Both give [`Detection`]s in frame pixels, so the
//! tracker does not care which one runs, and both honour the region of interest.

use serde::Deserialize;

use super::motion::{Detection, MotionDetector, MotionSettings};
use super::onnx::{DetectError, OnnxDetector, OnnxDetectorSettings};
use super::roi::Roi;
use crate::frame::Frame;

/// `detect.detector`: which detector a camera runs.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// Background subtraction.
    #[default]
    Motion,
    /// The ONNX object detector of `[detect.onnx]`.
    Onnx,
}

/// One camera's detector.
#[derive(Debug)]
pub enum Detector {
    /// Background subtraction; the ROI masks its foreground pixels.
    Motion(MotionDetector),
    /// An ONNX object detector; detections whose centre lies outside the ROI are dropped.
    Onnx {
        /// The loaded model.
        detector: Box<OnnxDetector>,
        /// Region of interest.
        roi: Roi,
    },
}

impl Detector {
    /// The ONNX detector (its model loaded now) when `onnx` is given, else the motion
    /// detector.
    pub fn open(
        onnx: Option<&OnnxDetectorSettings>,
        motion: &MotionSettings,
        roi: &Roi,
    ) -> Result<Self, DetectError> {
        Ok(match onnx {
            Some(settings) => Detector::Onnx {
                detector: Box::new(OnnxDetector::load(settings.clone())?),
                roi: roi.clone(),
            },
            None => Detector::Motion(MotionDetector::new(motion.clone(), roi.clone())),
        })
    }

    /// Which detector this is, as `detect.detector` names it.
    pub fn kind(&self) -> DetectorKind {
        match self {
            Detector::Motion(_) => DetectorKind::Motion,
            Detector::Onnx { .. } => DetectorKind::Onnx,
        }
    }

    /// The vehicles in `frame` (the motion detector also learns its background from it).
    pub fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        match self {
            Detector::Motion(m) => Ok(m.detect(frame)),
            Detector::Onnx { detector, roi } => Ok(inside(roi, detector.detect(frame)?)),
        }
    }
}

/// The detections whose box centre lies inside `roi`.
pub fn inside(roi: &Roi, mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.retain(|d| {
        let (x, y) = d.bbox.centre();
        roi.contains(x, y)
    });
    detections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::BBox;

    #[test]
    fn only_detections_centred_inside_the_roi_remain() {
        let det = |x0: u32| Detection {
            bbox: BBox {
                x0,
                y0: 10,
                x1: x0 + 20,
                y1: 30,
            },
            pixels: 400,
        };
        let roi = Roi {
            polygon: vec![[40.0, 0.0], [80.0, 0.0], [80.0, 60.0], [40.0, 60.0]],
        };
        // Centres at x = 10, 45 (box straddles the edge) and 90.
        let kept = inside(&roi, vec![det(0), det(35), det(80)]);
        assert_eq!(kept, vec![det(35)]);
        assert_eq!(inside(&Roi::default(), vec![det(0), det(80)]).len(), 2);
        let motion = Detector::open(None, &MotionSettings::default(), &roi).unwrap();
        assert_eq!(motion.kind(), DetectorKind::Motion);
    }
}
