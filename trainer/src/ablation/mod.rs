//! The paper's component tables, each a set of trainings scored by one command: the SPAN
//! loss ablation of Table 1 ([`table1`], mask IoU and optionally step-2 mAP) and the
//! feature-network component analysis of Table 2 ([`table2`]). Above both training steps.

mod cli;
#[cfg(feature = "torch")]
pub mod table1;
#[cfg(feature = "torch")]
pub mod table2;

pub use cli::{AblateFeaturesArgs, AblateSpanArgs, run_ablate_features, run_ablate_span};
