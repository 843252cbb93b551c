//! Foreground masks for datasets that have none (VeRi-776, CityFlow), as in the paper's
//! supplementary Sec. 1: GrabCut with an automatic initialisation, then a segmentation CNN
//! trained on GrabCut's masks that replaces the worst-fitting targets by its own predictions
//! as training goes on, and whose masks SPAN trains with.
//!
//! ```text
//! trainer foreground --data DATA --out FG --preset cpu      # FG/mask_fg, FG/report.md
//! trainer train-span --data DATA --fg-masks FG/mask_fg --out RUN --preset cpu
//! ```
//!
//! GrabCut is OpenCV's (`cv::grabCut` through the `opencv` crate, cargo feature `grabcut`);
//! the CNN is libtorch's (feature `torch`). On a dataset with true foreground masks (the
//! synthetic set) both are scored against them. Mask files, scores and pictures are plain
//! Rust and need neither feature.
#![cfg_attr(
    not(all(feature = "torch", feature = "grabcut")),
    allow(
        dead_code,
        reason = "parts are used only with the torch and grabcut features"
    )
)]

mod cli;
pub mod config;
pub mod files;
#[cfg(feature = "grabcut")]
pub mod grabcut;
pub mod picture;
pub mod pipeline;
#[cfg(feature = "torch")]
pub mod predict;
pub mod refine;
pub mod report;
pub mod score;
#[cfg(feature = "torch")]
pub mod segnet;
#[cfg(feature = "torch")]
pub mod targets;

pub use cli::{ForegroundArgs, run_foreground};
