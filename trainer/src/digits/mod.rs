//! The multi-digit experiment of the paper's Fig. 4b: SPAN with one mask generator per
//! digit class, trained from image-level labels (which classes a canvas shows) only, learns
//! to localise each digit.
//!
//! ```text
//! trainer/install-mnist.sh                                  # once: real MNIST digits
//! trainer synth-digits --out DIGITS                         # canvases + index.csv
//! trainer train-digits --data DIGITS --out RUN --preset cpu # --resume to continue
//! trainer eval-digits  --run RUN --data DIGITS              # RUN/eval/digits.{json,md,png}
//! ```
//!
//! Canvas rendering, the dataset files, the configuration and the report are plain Rust;
//! the network, training and scoring need libtorch (the `torch` feature).
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

pub mod canvas;
mod cli;
pub mod config;
pub mod dataset;
pub mod files;
pub mod mnist;
pub mod report;
#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "torch"))]
mod train_tests;

#[cfg(feature = "torch")]
pub mod eval;
#[cfg(feature = "torch")]
pub mod train_loop;

use std::path::PathBuf;

pub use cli::{
    EvalDigitsArgs, SynthDigitsArgs, TrainDigitsArgs, run_eval_digits, run_synth_digits,
    run_train_digits,
};

/// Errors of the multi-digit experiment.
#[derive(Debug, thiserror::Error)]
pub enum DigitsError {
    /// The MNIST cache is absent.
    #[error(
        "no MNIST digits in {0}: run trainer/install-mnist.sh (or pass --mnist DIR with \
         0.json … 9.json)"
    )]
    MissingMnist(PathBuf),
    /// No cache directory can be derived from the environment.
    #[error("no cache directory (SPANREID_CACHE, XDG_CACHE_HOME and HOME are unset); pass --mnist")]
    NoCacheDir,
    /// A file that cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file whose content is not what it should be.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file that cannot be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// An option or config value out of range.
    #[error("{field}: {reason}")]
    Invalid {
        /// The option or dotted config field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration file that does not parse.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Training machinery (run directory, checkpoints, libtorch).
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
}
