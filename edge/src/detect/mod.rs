//! Vehicle detection for a fixed roadside camera: background subtraction inside a
//! region-of-interest polygon, morphology and connected components (the default), or an
//! optional ONNX object detector (YOLO-style outputs) for sites that have one.

pub mod detector;
pub mod fixture;
pub mod letterbox;
pub mod morphology;
pub mod motion;
pub mod onnx;
pub mod roi;
pub mod yolo;

pub use detector::{Detector, DetectorKind};
pub use motion::{Detection, MotionDetector, MotionSettings};
pub use onnx::{DetectError, OnnxDetector, OnnxDetectorSettings};
pub use roi::Roi;
pub use yolo::{Layout, YoloSettings};
