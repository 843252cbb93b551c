//! SPAN step 1 (the part-attention masks): training, scoring and the loss ablation.
//!
//! ```text
//! trainer/install-libtorch.sh                      # once; prints LIBTORCH=…
//! LIBTORCH=… cargo build --release -p spanreid-trainer --features torch
//! trainer synth --preset small --out DATA
//! trainer train-span --data DATA --out RUN --preset cpu     # --resume to continue
//! trainer eval-span  --run RUN --data DATA                  # RUN/eval/mask_iou.toml, masks.png
//! trainer ablate-span --data DATA --out ABL --preset cpu    # ABL/ablation.md
//! trainer ablate-features --data DATA --out T2 --preset cpu # T2/table2.md (Table 2)
//! ```
//!
//! A run directory holds `config.toml`, `loss.csv`, `loss.png`, `state.toml`,
//! `latest.safetensors` and `checkpoints/step-N.safetensors`.
//!
//! Data handling (views, labels, decoding, sampling, IoU, pictures) is plain Rust; the
//! network, losses and loops need libtorch and exist only with the `torch` feature.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

mod cli;
pub mod data;
pub mod example;
pub(crate) mod features_cli;
pub mod loss_plot;
pub mod mask_iou;
pub mod onnx_eval;
pub mod overlay;
pub mod pk_sampler;
pub mod rank_list;
pub mod reid_data;
pub mod reid_score;
pub mod sampler;
pub mod span_score;
pub mod span_views;

#[cfg(feature = "torch")]
pub mod ablation;
#[cfg(feature = "torch")]
pub mod adam;
#[cfg(feature = "torch")]
pub mod batch;
#[cfg(feature = "torch")]
pub mod eval_span;
#[cfg(feature = "torch")]
pub mod features_cache;
#[cfg(feature = "torch")]
pub mod features_eval;
#[cfg(feature = "torch")]
pub mod features_loop;
#[cfg(all(test, feature = "torch"))]
pub mod reid_fixture;
#[cfg(feature = "torch")]
pub mod run_dir;
#[cfg(feature = "torch")]
pub mod span_cache;
#[cfg(feature = "torch")]
pub mod span_log;
#[cfg(feature = "torch")]
pub mod span_loop;
#[cfg(feature = "torch")]
pub mod table2;
#[cfg(all(test, feature = "torch"))]
mod test_fixture;

use std::path::PathBuf;

use crate::config::ConfigError;

pub use cli::{
    AblateSpanArgs, EvalSpanArgs, TrainSpanArgs, run_ablate_span, run_eval_span, run_train_span,
};
pub use features_cli::{
    AblateFeaturesArgs, EvalFeaturesArgs, TrainFeaturesArgs, run_ablate_features,
    run_eval_features, run_train_features,
};
pub use onnx_eval::{EvalOnnxArgs, run_eval_onnx};

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
        crate::foreground::BUILD_WITH_GRABCUT_HINT
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
