//! Training infrastructure every step shares: the dataset layout and view labels
//! ([`data`]), image and mask decoding ([`example`]), run directories with checkpoints and
//! resume ([`run_dir`]), Adam ([`adam`]), loss plots ([`loss_plot`]) and [`TrainError`].
//! The steps themselves (`span`, step 1; `features`, step 2) sit above this module.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

pub mod data;
pub mod example;
pub mod facing;
pub mod loss_plot;
pub mod overlay;
pub mod reid_data;
pub mod run_args;
pub mod views;

#[cfg(feature = "torch")]
pub mod adam;
pub mod atomic;
#[cfg(all(test, feature = "torch"))]
pub mod reid_fixture;
#[cfg(feature = "torch")]
pub mod run_dir;

use std::path::PathBuf;

use crate::config::ConfigError;

/// Errors of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Dataset problem.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// An image or mask that does not decode.
    #[error(transparent)]
    Decode(#[from] example::DecodeError),
    /// Pretrained weights that do not load.
    #[cfg(feature = "torch")]
    #[error(transparent)]
    Weights(#[from] crate::weights::WeightsError),
    /// A libtorch call failed.
    #[cfg(feature = "torch")]
    #[error("{what}")]
    Torch {
        /// What was being done.
        what: String,
        /// libtorch's error.
        #[source]
        source: tch::TchError,
    },
    /// File-system failure.
    #[error("{path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output file that cannot be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A run file that does not parse.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The loss stopped being a finite number.
    #[error(
        "the loss is not finite at step {step}; the last good checkpoint is {checkpoint} (lower the learning rate)"
    )]
    Diverged {
        /// The step (1-based).
        step: u64,
        /// The last checkpoint written.
        checkpoint: PathBuf,
    },
    /// `--out` already holds a run and `--resume` was not given.
    #[error(
        "{0} already holds a training run; pass --resume to continue it or choose another --out"
    )]
    RunExists(PathBuf),
    /// `--resume` on a directory without a run.
    #[error("{0} holds no training run to resume")]
    NothingToResume(PathBuf),
    /// Pretrained weights requested but not found.
    #[error("{0}")]
    NoWeights(String),
    /// GrabCut masks are missing and the binary cannot make them.
    #[cfg(not(feature = "grabcut"))]
    #[error(
        "{missing} images have no GrabCut mask in {dir} and this trainer has no GrabCut: {}",
        crate::torch_env::BUILD_WITH_GRABCUT_HINT
    )]
    NoGrabCut {
        /// Images without a mask.
        missing: usize,
        /// Where their masks were looked for.
        dir: PathBuf,
    },
    /// The binary was built without libtorch.
    #[cfg(not(feature = "torch"))]
    #[error("{}", crate::torch_env::BUILD_WITH_TORCH_HINT)]
    NoTorch,
}
