//! Step 2, the part feature network: configuration, ID + CPDM triplet losses, P×K batches,
//! the image and mask caches, training and evaluation.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

mod cli;
pub mod config;
pub mod pk_sampler;

#[cfg(feature = "torch")]
pub mod cache;
#[cfg(feature = "torch")]
pub mod eval;
#[cfg(feature = "torch")]
pub mod loss;
#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
pub mod train_loop;

pub use cli::{EvalFeaturesArgs, TrainFeaturesArgs, run_eval_features, run_train_features};
