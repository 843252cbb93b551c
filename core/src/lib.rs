//! spanreid core: the pieces of vehicle re-identification that every other part of the
//! system shares.
//!
//! - [`signature`]: the signed wire format an edge unit sends for each vehicle passage
//!   (postcard + heapless, fixed capacities, `no_std`).
//! - [`cpdm`]: the Co-occurrence Part-attentive Distance Metric of SPAN (eq. 4–5), and the
//!   paper's comparison metrics, in f32 and directly on int8 signatures.
//! - [`kernel`]: the inner loops (int8 dot product, f32 squared distance), portable or
//!   AVX2 / AVX-512 VNNI by runtime detection.
//! - [`search`]: batched query-vs-gallery top-k over an int8 gallery matrix.
//! - [`eval`] (feature `std`): mAP, CMC and mINP under the common re-ID protocol, streamed
//!   per query.
//! - [`dataset`] (feature `std`): readers for the VeRi-776 and CityFlow-ReID layouts and
//!   their view labels.
//!
//! Without the default `std` feature the crate is `no_std` and allocation-free.
//!
//! Layering, each module importing only those before it: [`part`] → [`kernel`] → [`cpdm`]
//! → [`signature`] → [`search`]; [`eval`], [`dataset`] and [`clock`] stand alone. The crate
//! depends on no other spanreid crate; every other crate depends on it.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
pub mod clock;
pub mod cpdm;
#[cfg(feature = "std")]
pub mod dataset;
#[cfg(feature = "std")]
pub mod eval;
pub mod hex;
pub mod kernel;
pub mod part;
pub mod search;
pub mod signature;

pub use cpdm::{AreaRatios, Metric, PartFeatures};
#[cfg(feature = "std")]
pub use dataset::{CityFlowDataset, Orientation, VeriDataset, View};
#[cfg(feature = "std")]
pub use eval::{EvalConfig, EvalReport, Evaluator, Label};
pub use kernel::Kernel;
pub use part::{PARTS, Part, VIEWS};
pub use search::SearchError;
#[cfg(feature = "std")]
pub use search::{Gallery, Neighbour, SearchOptions};
pub use signature::{MAX_DIM, QuantizedFeature, Signature};
