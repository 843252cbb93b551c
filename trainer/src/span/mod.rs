//! SPAN step 1 (the part-attention masks): configuration, losses, view labels and batch mix,
//! training, scoring against ground-truth part masks and the loss ablation (Table 1).
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

pub mod cli;
pub mod config;
pub mod mask_iou;
pub mod sampler;
pub mod score;

#[cfg(feature = "torch")]
pub mod batch;
#[cfg(feature = "torch")]
pub mod cache;
#[cfg(feature = "torch")]
pub mod eval;
#[cfg(feature = "torch")]
pub mod log;
#[cfg(feature = "torch")]
pub mod loss;
#[cfg(feature = "torch")]
pub mod order;
#[cfg(all(test, feature = "torch"))]
mod test_fixture;
#[cfg(feature = "torch")]
pub mod train_loop;

pub use cli::{EvalSpanArgs, TrainSpanArgs, run_eval_span, run_train_span};
