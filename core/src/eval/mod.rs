//! Re-identification metrics: mAP, CMC and mINP under the common protocol, streamed per query.
//!
//! The protocol ([`protocol`]): gallery entries with the query's identity AND camera are
//! junk, removed from the ranking; a query with no true match left is skipped and counted.
//! Each query is scored from its own distance row or ranking ([`Evaluator::add_query`],
//! [`Evaluator::add_ranked`]), so a gallery of millions never needs a query × gallery matrix.
//!
//! Two average precisions are reported: the common one (mean precision at each hit, as in
//! fast-reid and torchreid) and the official VeRi-776 one (trapezoid-interpolated).

pub mod cmc;
mod feature_rows;
pub mod map;
#[cfg(feature = "std")]
mod neighbour_sets;
#[cfg(test)]
mod proptests;
pub mod protocol;
pub mod report;
pub mod rerank;

pub use map::{QueryScore, score_ranked};
pub use protocol::{Label, Relevance, relevance};
pub use report::{DEFAULT_MAX_RANK, EvalConfig, EvalError, EvalReport, Evaluator};
