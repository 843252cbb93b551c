//! `trainer export`: the trained SPAN and feature network written as ONNX (opset 17) from
//! Rust, f32 and int8, with a manifest the edge-agent reads.
//!
//! ```text
//! trainer export --run FEATURE_RUN --data DATA --out models --name spanreid-mnv2
//!   models/spanreid-mnv2-f32.onnx    fused graph: image → masks, global, front, rear, side
//!   models/spanreid-mnv2-int8.onnx   the same with QDQ int8 (weights per channel, activations
//!                                    per tensor, calibrated on DATA/image_train)
//!   models/manifest.toml             entries `spanreid-mnv2-f32` and `spanreid-mnv2-int8`
//!   models/spanreid-mnv2.export.json parity with libtorch and accuracy on DATA's test split
//! ```
//!
//! The graphs are built node by node with `tract_onnx::pb` (libtorch has no ONNX exporter
//! and no Python is involved); batch norms are folded into the layers before them.

#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "the export path needs libtorch to read the trained weights"
    )
)]

#[cfg(feature = "torch")]
mod backbone;
#[cfg(feature = "torch")]
mod check;
#[cfg(feature = "torch")]
pub mod emit;
mod fold;
#[cfg(feature = "torch")]
pub mod network;
#[cfg(feature = "torch")]
mod params;
pub mod quant;
#[cfg(feature = "torch")]
pub mod tract_run;
mod write;

#[cfg(all(test, feature = "torch"))]
mod tests;

use std::path::PathBuf;

#[cfg(all(test, feature = "torch"))]
use write::export;
pub use write::{ExportArgs, run_export};

use crate::train::TrainError;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The run lacks a parameter the graph needs (a different architecture or a corrupt
    /// checkpoint).
    #[error("the checkpoint has no parameter {0}")]
    MissingParam(String),
    /// An activation has no calibrated range (calibration and graph disagree).
    #[error("no calibration range for tensor {0}")]
    Uncalibrated(String),
    /// The network's configuration cannot be exported.
    #[error("cannot export this network: {0}")]
    Spec(String),
    /// Loading the run failed (or, without the `torch` feature, cannot happen at all).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// tract rejected or failed to run a graph.
    #[error("tract, {what}: {message}")]
    Engine {
        /// What was being done.
        what: String,
        /// tract's error chain.
        message: String,
    },
    /// The edge's model loader rejected the written model.
    #[error(transparent)]
    Infer(#[from] spanreid_infer::InferError),
    /// File-system failure.
    #[error("{path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An existing manifest that does not parse.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No images to calibrate or check on.
    #[error("no images in {0}")]
    NoImages(PathBuf),
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

fn engine(what: &str) -> impl FnOnce(tract_onnx::prelude::TractError) -> ExportError + '_ {
    move |e| ExportError::Engine {
        what: what.to_owned(),
        message: format!("{e:#}"),
    }
}
