//! What the top-k search needs from a matrix of stored images.

use crate::cpdm::Metric;

use super::error::SearchError;
use crate::kernel::Kernel;

/// A matrix of images that can be compared row by row with another matrix of the same
/// kind: [`super::Gallery`] (int8) and [`super::GalleryF32`].
pub trait SearchRows: Sync {
    /// Number of rows.
    fn len(&self) -> usize;

    /// Whether there is no row.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per feature vector.
    fn dim(&self) -> usize;

    /// Whether rows of `self` (the queries) can be compared with rows of `gallery`.
    fn check_compatible(&self, gallery: &Self) -> Result<(), SearchError>;

    /// Hint that the first `parts` parts of row `j` will be read soon (prefetch them); no
    /// effect on results. An index out of range is ignored.
    fn prefetch(&self, _j: usize, _parts: usize) {}

    /// Distance from row `i` of `self` to row `j` of `gallery`. Both indices must be in
    /// range and the matrices compatible (checked once by the caller).
    fn distance(&self, i: usize, gallery: &Self, j: usize, metric: Metric, kernel: Kernel) -> f32;
}

/// Prefetch the first `parts` parts of row `j` of a part-major matrix (`PARTS × dim` values
/// per row); a row out of range is ignored.
#[inline]
pub(super) fn prefetch_row<T>(values: &[T], dim: usize, j: usize, parts: usize) {
    let row = crate::part::PARTS * dim;
    let used = parts.min(crate::part::PARTS) * dim;
    if let Some(head) = values.get(j * row..j * row + used) {
        crate::kernel::prefetch(head);
    }
}
