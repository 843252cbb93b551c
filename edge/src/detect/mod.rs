//! Vehicle detection for a fixed roadside camera: background subtraction inside a
//! region-of-interest polygon, morphology and connected components.

pub mod morphology;
pub mod motion;
pub mod roi;

pub use motion::{MotionDetector, MotionSettings};
pub use roi::Roi;
