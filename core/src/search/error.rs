//! Errors of the search layer.

use crate::part::Part;
use crate::signature::ModelId;

/// Why signatures could not be compared, stored or searched.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// The signature was produced by another model than the gallery's (or the other
    /// signature's); distances across models are meaningless.
    #[error("signature of model {found:02x?} where model {expected:02x?} was expected")]
    ModelMismatch {
        /// Model id of the gallery or first signature.
        expected: ModelId,
        /// Model id of the offending signature.
        found: ModelId,
    },
    /// A feature has another length than the gallery's (or the other signature's).
    #[error("{part:?} feature has {found} values where {expected} were expected")]
    DimMismatch {
        /// The part whose length differs.
        part: Part,
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A gallery was asked for more values per feature than a signature can carry.
    #[error("feature dimension {dim} exceeds the capacity of {max}")]
    DimTooLarge {
        /// Requested dimension.
        dim: usize,
        /// [`crate::MAX_DIM`].
        max: usize,
    },
    /// A quantisation scale is negative or not finite.
    #[error("{part:?} feature has invalid scale {scale}")]
    InvalidScale {
        /// The part with the bad scale.
        part: Part,
        /// The scale found.
        scale: f32,
    },
    /// An f32 feature value is not finite.
    #[error("{part:?} feature value {index} is not finite")]
    NotFinite {
        /// The part with the bad value.
        part: Part,
        /// Position of the first bad value.
        index: usize,
    },
    /// Area ratios are negative or not finite.
    #[error("invalid area ratios {ratios:?}")]
    InvalidAreaRatios {
        /// The ratios found (front, rear, side).
        ratios: [f32; 3],
    },
    /// A gallery index past the end.
    #[error("gallery index {index} out of range for {len} entries")]
    IndexOutOfRange {
        /// Index asked for.
        index: usize,
        /// Number of entries.
        len: usize,
    },
    /// The query and gallery matrices have different feature dimensions.
    #[error("queries have dimension {queries} but the gallery has {gallery}")]
    QueryDimMismatch {
        /// Dimension of the queries.
        queries: usize,
        /// Dimension of the gallery.
        gallery: usize,
    },
    /// A search threshold that is NaN or negative.
    #[error("max distance {0} is not a non-negative number")]
    InvalidMaxDistance(f32),
}
