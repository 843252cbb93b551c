//! Scoring shared by the steps and the exported models: re-ID scores of feature sets under
//! the core's protocol ([`reid`]), ranked-list pictures ([`rank_list`]) and `trainer
//! eval-onnx`, which scores ONNX files as the edge runs them ([`onnx`]), and `trainer
//! calibrate`, which measures what a match distance means for a shipped model
//! ([`calibrate`]); both can record what they measured in the model's manifest entry
//! ([`record`]).

pub mod calibrate;
pub mod onnx;
pub mod rank_list;
pub mod record;
pub mod reid;

pub use calibrate::CalibrateArgs;
pub use onnx::{EvalOnnxArgs, run_eval_onnx};
