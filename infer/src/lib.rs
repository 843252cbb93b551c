//! spanreid-infer: the shipped model, run. Crops in, SPAN part features and view masks out,
//! behind the [`Embedder`] trait so callers do not depend on the engine;
//! [`tract::TractEmbedder`] runs an ONNX model described by a [`manifest::ModelEntry`], and
//! [`sign`] turns its output into a signed signature.
//!
//! - [`manifest`]: `models/manifest.toml`, checked hashes.
//! - [`graph`]: ONNX graph building (the trainer's exporter and the test fixtures).
//! - [`preprocess`]: crop → normalised NCHW input.
//! - [`tract`]: the tract engine.
//! - [`sign`]: embedding → quantised, authenticated signature (pure).
//! - [`calibration`]: what a match distance means for a model (threshold, confidence).
//!
//! Used by the edge agent, the trainer (export checks, evaluation of ONNX files) and the
//! demo. Depends on the core (`spanreid`) only among spanreid's crates.
#![deny(missing_docs)]

pub mod calibration;
pub mod crop;
pub mod fixture;
pub mod graph;
pub mod manifest;
pub mod preprocess;
pub mod sign;
pub mod tract;

pub use crop::Crop;

use std::path::PathBuf;

use spanreid::AreaRatios;
use spanreid::part::PARTS;

/// Why inference failed.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// A model or manifest file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is malformed or inconsistent.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model file does not hash to the manifest's sha256 (tampered or replaced).
    #[error("model {path}: sha256 {actual} differs from the manifest's {expected}")]
    Checksum {
        /// The model file.
        path: PathBuf,
        /// From the manifest.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// The engine rejected the model or failed to run it.
    #[error("model {context}: {message}")]
    Engine {
        /// The model file or tensor concerned.
        context: String,
        /// The engine's error chain.
        message: String,
    },
    /// An output tensor has an unexpected shape.
    #[error("output {name}: shape {shape:?}, expected {expected}")]
    Shape {
        /// Tensor name.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// What was expected.
        expected: String,
    },
}

/// What the model says about one crop.
#[derive(Clone, Debug, PartialEq)]
pub struct PartEmbedding {
    /// Features in [`spanreid::Part`] order: global, front, rear, side.
    pub features: [Vec<f32>; PARTS],
    /// Visible-area ratios from the front, rear and side masks.
    pub area_ratios: AreaRatios,
}

impl PartEmbedding {
    /// Element-wise mean of several embeddings of one vehicle (features and ratios);
    /// `None` for an empty slice or mismatched dimensions.
    pub fn mean(items: &[PartEmbedding]) -> Option<PartEmbedding> {
        let first = items.first()?;
        let n = items.len() as f32;
        let mut out = first.clone();
        for item in &items[1..] {
            for (acc, f) in out.features.iter_mut().zip(&item.features) {
                if acc.len() != f.len() {
                    return None;
                }
                acc.iter_mut().zip(f).for_each(|(a, b)| *a += b);
            }
            for (a, b) in out.area_ratios.0.iter_mut().zip(item.area_ratios.0) {
                *a += b;
            }
        }
        out.features.iter_mut().flatten().for_each(|a| *a /= n);
        out.area_ratios.0.iter_mut().for_each(|a| *a /= n);
        Some(out)
    }
}

/// An inference engine loaded once and reused.
pub trait Embedder: Send {
    /// Features and view ratios of each crop, in order (the crops run as one batch).
    fn embed(&mut self, crops: &[Crop]) -> Result<Vec<PartEmbedding>, InferError>;

    /// Identifier of the model files (first 16 bytes of their sha256).
    fn model_id(&self) -> spanreid::signature::ModelId;

    /// Feature dimension.
    fn dim(&self) -> usize;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_averages_features_and_ratios() {
        let a = PartEmbedding {
            features: [
                vec![1.0, 2.0],
                vec![0.0, 0.0],
                vec![2.0, 2.0],
                vec![4.0, 0.0],
            ],
            area_ratios: AreaRatios([0.5, 0.5, 0.0]),
        };
        let mut b = a.clone();
        b.features[0] = vec![3.0, 4.0];
        b.area_ratios = AreaRatios([0.0, 0.5, 0.5]);
        let m = PartEmbedding::mean(&[a.clone(), b]).unwrap();
        assert_eq!(m.features[0], vec![2.0, 3.0]);
        assert_eq!(m.features[3], vec![4.0, 0.0]);
        assert_eq!(m.area_ratios.0, [0.25, 0.5, 0.25]);
        assert!(PartEmbedding::mean(&[]).is_none());
        let mut short = a.clone();
        short.features[2] = vec![1.0];
        assert!(PartEmbedding::mean(&[a, short]).is_none());
    }
}
