//! spanreid-trainer: synthetic data, SPAN and feature-network training, evaluation and
//! ONNX export. `main.rs` is only the command line.
//!
//! Modules by concept, each importing only those listed before it:
//! - [`config`], [`torch_env`], [`progress`], [`weights`]: shared configuration pieces,
//!   the libtorch environment, progress bars, pretrained weights.
//! - [`synth`]: the renderer (vehicles, scenes, camera streams) in VeRi-776 layout.
//! - [`model`]: the networks (backbones, SPAN's generators, the part feature network).
//! - [`train`]: what every training step shares (data layout, decoding, run directories,
//!   Adam, errors).
//! - [`span`]: step 1, the part-attention masks, and their scoring.
//! - [`eval`]: re-ID scoring, ranked lists, and scoring exported ONNX files.
//! - [`features`]: step 2, the part feature network.
//! - [`ablation`]: the paper's Tables 1 and 2, each a set of runs scored by one command.
//! - [`foreground`], [`digits`]: foreground masks for datasets without them; the digit
//!   experiment of the paper's Fig. 4b.
//! - [`export`]: ONNX f32/int8 with a manifest, read back through `spanreid-infer`.
//!
//! Everything that needs libtorch is behind the `torch` feature; GrabCut behind `grabcut`.

pub mod ablation;
pub mod config;
pub mod digits;
pub mod eval;
pub mod export;
pub mod features;
pub mod foreground;
#[cfg(feature = "torch")]
pub mod model;
#[cfg(any(feature = "torch", feature = "grabcut"))]
pub mod progress;
pub mod span;
pub mod synth;
pub mod torch_env;
pub mod train;
#[cfg(feature = "torch")]
pub mod weights;
