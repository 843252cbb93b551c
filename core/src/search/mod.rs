//! Distances on int8 signatures and batched query-vs-gallery top-k search.
//!
//! - [`signature_distance`]: CPDM and the comparison metrics between two [`Signature`]s
//!   on their int8 values (`no_std`).
//! - [`Gallery`] (feature `std`): N signatures as contiguous int8 rows with precomputed
//!   norms; [`GalleryF32`] the same in f32.
//! - [`top_k`] (feature `std`): the k nearest gallery entries for each of Q queries, with
//!   a filter and a distance threshold, multithreaded.
//!
//! The inner loops are [`crate::kernel`]'s.
//!
//! [`Signature`]: crate::Signature

#[cfg(feature = "std")]
mod bandwidth;
mod error;
#[cfg(feature = "std")]
mod gallery;
#[cfg(feature = "std")]
mod gallery_f32;
mod quantized;
#[cfg(feature = "std")]
mod rows;
#[cfg(test)]
mod tests;
#[cfg(feature = "std")]
mod topk;

#[cfg(feature = "std")]
pub use bandwidth::read_bandwidth;
pub use error::SearchError;
#[cfg(feature = "std")]
pub use gallery::Gallery;
#[cfg(feature = "std")]
pub use gallery_f32::GalleryF32;
pub use quantized::{
    signature_distance, signature_distance_with, squared_distance_from_dot, validate_signature,
};
#[cfg(feature = "std")]
pub use rows::SearchRows;
#[cfg(feature = "std")]
pub use topk::{Neighbour, SearchOptions, top_k};
