//! The optional ONNX object detector (YOLO-style) run by tract: the model is loaded once
//! and optimised for a `[1, 3, N, N]` input; each frame is letterboxed to RGB/255 NCHW
//! ([`super::letterbox`]), run, and its output decoded ([`super::yolo`]) into the same
//! [`Detection`]s the motion detector gives.

use std::path::PathBuf;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::letterbox::{Letterbox, PAD};
use super::motion::Detection;
use super::yolo::{self, DecodeError, YoloSettings};
use crate::frame::Frame;
use spanreid_infer::manifest::sha256_hex;

/// Settings of the ONNX detector (validated `[detect.onnx]`).
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxDetectorSettings {
    /// The model file.
    pub model: PathBuf,
    /// Lower-case hex sha256 the model file must have; unchecked when `None`.
    pub sha256: Option<String>,
    /// Side `N` of the model's `[1, 3, N, N]` input.
    pub input_size: u32,
    /// Output layout, wanted classes, thresholds.
    pub yolo: YoloSettings,
}

/// Why the detector could not load or run.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The model file could not be read.
    #[error("detector model {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause (in the message, so not also a `source`).
        error: std::io::Error,
    },
    /// The model file does not hash to the configured sha256.
    #[error("detector model {path}: sha256 {actual} differs from detect.onnx.sha256 {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Configured.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// tract rejected the model or failed to run it.
    #[error("detector model {path}: {message}")]
    Engine {
        /// The file.
        path: PathBuf,
        /// What failed, with the engine's error chain.
        message: String,
    },
    /// The model's input is not the `[1, 3, N, N]` image the detector feeds.
    #[error("detector model {path}: input {name} has shape {shape}, expected {expected}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Input name.
        name: String,
        /// Its declared shape (`?` for a symbolic dimension).
        shape: String,
        /// What was expected.
        expected: String,
    },
    /// The model's output does not fit the configured layout or classes.
    #[error("detector model {path}: {error}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What does not fit.
        error: DecodeError,
    },
}

/// A loaded, optimised detector model.
#[derive(Debug)]
pub struct OnnxDetector {
    settings: OnnxDetectorSettings,
    plan: Arc<TypedRunnableModel>,
    classes: usize,
}

impl OnnxDetector {
    /// Reads the model file (checking its sha256 when configured), checks its input,
    /// optimises it for one `[1, 3, N, N]` image, and runs one blank image to check the
    /// output against the layout and the wanted classes.
    pub fn load(settings: OnnxDetectorSettings) -> Result<Self, DetectError> {
        let path = settings.model.clone();
        let bytes = std::fs::read(&path).map_err(|error| DetectError::Read {
            path: path.clone(),
            error,
        })?;
        if let Some(expected) = &settings.sha256 {
            let actual = sha256_hex(&bytes);
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(DetectError::Checksum {
                    path,
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let engine = |what: &'static str| {
            let path = path.clone();
            move |e: TractError| DetectError::Engine {
                path,
                message: format!("{what}: {e:#}"),
            }
        };
        let model = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .map_err(engine("not a loadable ONNX model"))?;
        let n = settings.input_size as usize;
        check_input(&model, n).map_err(|(name, shape)| DetectError::Input {
            path: path.clone(),
            name,
            shape,
            expected: format!("[1, 3, {n}, {n}] (detect.onnx.input_size = {n})"),
        })?;
        let fact = InferenceFact::dt_shape(f32::datum_type(), tvec!(1, 3, n, n));
        let plan = model
            .with_input_fact(0, fact)
            .map_err(engine("setting the input"))?
            .into_optimized()
            .map_err(engine("optimising"))?
            .into_runnable()
            .map_err(engine("planning"))?;
        let mut detector = OnnxDetector {
            settings,
            plan,
            classes: 0,
        };
        let (shape, _) = detector.run(vec![PAD; 3 * n * n])?;
        detector.classes = yolo::check_output(&detector.settings.yolo, &shape)
            .map_err(|error| DetectError::Output { path, error })?;
        tracing::info!(
            model = %detector.settings.model.display(),
            layout = %detector.settings.yolo.layout,
            classes = detector.classes,
            output = ?shape,
            "object detector loaded"
        );
        Ok(detector)
    }

    /// The settings it was loaded with.
    pub fn settings(&self) -> &OnnxDetectorSettings {
        &self.settings
    }

    /// Number of classes the model outputs.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The objects of the wanted classes in `frame`, in frame pixels, best first.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        let lb = Letterbox::new(frame.width, frame.height, self.settings.input_size);
        let (shape, data) = self.run(lb.tensor(frame))?;
        let found = yolo::decode(&self.settings.yolo, &shape, &data).map_err(|error| {
            DetectError::Output {
                path: self.settings.model.clone(),
                error,
            }
        })?;
        Ok(found
            .iter()
            .filter_map(|f| lb.to_frame(f.bbox))
            .map(|bbox| Detection {
                bbox,
                pixels: u32::try_from(bbox.area()).unwrap_or(u32::MAX),
            })
            .collect())
    }

    /// Runs one input; returns the first output's shape and values.
    fn run(&self, input: Vec<f32>) -> Result<(Vec<usize>, Vec<f32>), DetectError> {
        let n = self.settings.input_size as usize;
        let engine = |e: TractError| DetectError::Engine {
            path: self.settings.model.clone(),
            message: format!("running: {e:#}"),
        };
        let input = tract_ndarray::Array4::from_shape_vec((1, 3, n, n), input)
            .map_err(|e| engine(e.into()))?
            .into_tensor();
        let out = self.plan.run(tvec!(input.into())).map_err(engine)?;
        let first = out
            .first()
            .ok_or_else(|| engine(TractError::msg("the model has no output")))?;
        let view = first.to_plain_array_view::<f32>().map_err(engine)?;
        Ok((view.shape().to_vec(), view.iter().copied().collect()))
    }
}

/// Checks that the model has one input whose declared shape can be `[1, 3, n, n]`;
/// otherwise returns its name and declared shape.
fn check_input(model: &InferenceModel, n: usize) -> Result<(), (String, String)> {
    let outlets = model
        .input_outlets()
        .map_err(|e| (String::new(), format!("{e}")))?;
    let name = |i: usize| {
        outlets
            .get(i)
            .map_or_else(String::new, |o| model.node(o.node).name.clone())
    };
    if outlets.len() != 1 {
        let names: Vec<String> = (0..outlets.len()).map(name).collect();
        return Err((names.join(", "), format!("{} inputs", outlets.len())));
    }
    let fact = model.input_fact(0).map_err(|e| (name(0), format!("{e}")))?;
    let dims: Vec<Option<i64>> = fact
        .shape
        .dims()
        .map(|d| d.concretize().and_then(|d| d.to_i64().ok()))
        .collect();
    let want = [1, 3, n as i64, n as i64];
    let unknown_rank = fact.shape.is_open() && dims.is_empty();
    let fits = dims.len() == 4 && dims.iter().zip(want).all(|(d, w)| d.is_none_or(|d| d == w));
    if unknown_rank || fits {
        return Ok(());
    }
    let shown: Vec<String> = dims
        .iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string()))
        .collect();
    Err((name(0), format!("[{}]", shown.join(", "))))
}
