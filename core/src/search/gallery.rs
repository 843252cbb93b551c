//! The in-memory int8 gallery matrix the hub searches.

use std::vec::Vec;

use crate::cpdm::{AreaRatios, Metric};
use crate::part::{PARTS, Part};
use crate::signature::{MAX_DIM, ModelId, Signature};

use super::error::SearchError;
use super::quantized::{squared_distance_from_dot, validate_signature};
use super::rows::SearchRows;
use crate::kernel::Kernel;

/// N signatures of one model stored for scanning: int8 values as contiguous rows of
/// `PARTS × dim` bytes (global, front, rear, side), and per entry the four scales, the four
/// int8 sums of squares `‖q‖²` and the area ratios.
///
/// Entries are addressed by their index `0..len()`; [`Self::swap_remove`] and
/// [`Self::retain`] say how indices move.
#[derive(Clone, Debug, PartialEq)]
pub struct Gallery {
    model_id: ModelId,
    dim: usize,
    values: Vec<i8>,
    scales: Vec<[f32; PARTS]>,
    sum_sq: Vec<[u32; PARTS]>,
    area_ratios: Vec<AreaRatios>,
}

impl Gallery {
    /// An empty gallery for signatures of `model_id` with features of `dim` values.
    pub fn new(model_id: ModelId, dim: usize) -> Result<Self, SearchError> {
        if dim > MAX_DIM {
            return Err(SearchError::DimTooLarge { dim, max: MAX_DIM });
        }
        Ok(Gallery {
            model_id,
            dim,
            values: Vec::new(),
            scales: Vec::new(),
            sum_sq: Vec::new(),
            area_ratios: Vec::new(),
        })
    }

    /// A gallery holding `signatures`, with model and dimension taken from the first; an
    /// empty slice gives `Ok(None)`.
    pub fn from_signatures(signatures: &[Signature]) -> Result<Option<Self>, SearchError> {
        let Some(first) = signatures.first() else {
            return Ok(None);
        };
        let mut g = Gallery::new(first.model_id, first.dim())?;
        g.reserve(signatures.len());
        for s in signatures {
            g.push(s)?;
        }
        Ok(Some(g))
    }

    /// Reserve room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional * PARTS * self.dim);
        self.scales.reserve(additional);
        self.sum_sq.reserve(additional);
        self.area_ratios.reserve(additional);
    }

    /// Append a signature and return its index. It must come from this gallery's model,
    /// have four features of [`Self::dim`] values with finite non-negative scales, and valid
    /// area ratios; otherwise nothing is stored.
    pub fn push(&mut self, sig: &Signature) -> Result<usize, SearchError> {
        if sig.model_id != self.model_id {
            return Err(SearchError::ModelMismatch {
                expected: self.model_id,
                found: sig.model_id,
            });
        }
        validate_signature(sig, self.dim)?;
        for f in &sig.features {
            self.values.extend_from_slice(&f.values);
        }
        self.scales.push(sig.features.each_ref().map(|f| f.scale));
        self.sum_sq
            .push(sig.features.each_ref().map(|f| f.sum_sq()));
        self.area_ratios.push(sig.area_ratios);
        Ok(self.len() - 1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// Whether the gallery holds no entry.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Values per feature vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The model every entry comes from.
    pub fn model_id(&self) -> ModelId {
        self.model_id
    }

    /// Bytes of int8 values one full scan reads (the scales and norms are not counted).
    pub fn value_bytes(&self) -> usize {
        self.values.len()
    }

    /// The int8 values of `part` of entry `index`.
    pub fn part(&self, index: usize, part: Part) -> Option<&[i8]> {
        let row = PARTS * self.dim;
        let start = index.checked_mul(row)? + part.index() * self.dim;
        self.values.get(start..start + self.dim)
    }

    /// The four scales of entry `index`.
    pub fn scales(&self, index: usize) -> Option<[f32; PARTS]> {
        self.scales.get(index).copied()
    }

    /// The area ratios of entry `index`.
    pub fn area_ratios(&self, index: usize) -> Option<AreaRatios> {
        self.area_ratios.get(index).copied()
    }

    /// Remove entry `index` in O(dim): the last entry moves into its place (so the entry
    /// that had index `len() − 1` now has index `index`).
    pub fn swap_remove(&mut self, index: usize) -> Result<(), SearchError> {
        let len = self.len();
        if index >= len {
            return Err(SearchError::IndexOutOfRange { index, len });
        }
        let row = PARTS * self.dim;
        let last = len - 1;
        if index != last {
            self.values.copy_within(last * row..len * row, index * row);
        }
        self.values.truncate(last * row);
        self.scales.swap_remove(index);
        self.sum_sq.swap_remove(index);
        self.area_ratios.swap_remove(index);
        Ok(())
    }

    /// Keep only the entries for which `keep(index)` is true, preserving their order (an
    /// entry's new index is the number of kept entries before it). O(len · dim).
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let row = PARTS * self.dim;
        let mut kept = 0;
        for i in 0..self.len() {
            if keep(i) {
                if kept != i {
                    self.values.copy_within(i * row..(i + 1) * row, kept * row);
                    self.scales[kept] = self.scales[i];
                    self.sum_sq[kept] = self.sum_sq[i];
                    self.area_ratios[kept] = self.area_ratios[i];
                }
                kept += 1;
            }
        }
        self.values.truncate(kept * row);
        self.scales.truncate(kept);
        self.sum_sq.truncate(kept);
        self.area_ratios.truncate(kept);
    }

    /// Remove every entry.
    pub fn clear(&mut self) {
        self.retain(|_| false);
    }

    fn row(&self, index: usize) -> &[i8] {
        let row = PARTS * self.dim;
        &self.values[index * row..(index + 1) * row]
    }
}

impl SearchRows for Gallery {
    fn len(&self) -> usize {
        Gallery::len(self)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn check_compatible(&self, gallery: &Self) -> Result<(), SearchError> {
        if self.model_id != gallery.model_id {
            return Err(SearchError::ModelMismatch {
                expected: gallery.model_id,
                found: self.model_id,
            });
        }
        if self.dim != gallery.dim {
            return Err(SearchError::QueryDimMismatch {
                queries: self.dim,
                gallery: gallery.dim,
            });
        }
        Ok(())
    }

    #[inline]
    fn prefetch(&self, j: usize, parts: usize) {
        super::rows::prefetch_row(&self.values, self.dim, j, parts);
    }

    #[inline]
    fn distance(&self, i: usize, gallery: &Self, j: usize, metric: Metric, kernel: Kernel) -> f32 {
        let (ra, rb) = (self.row(i), gallery.row(j));
        let (sa, sb) = (&self.scales[i], &gallery.scales[j]);
        let (na, nb) = (&self.sum_sq[i], &gallery.sum_sq[j]);
        let mut sq = [0.0f64; PARTS];
        for (p, s) in sq.iter_mut().enumerate().take(metric.parts_used()) {
            let span = p * self.dim..(p + 1) * self.dim;
            let dot = kernel.dot_i8(&ra[span.clone()], &rb[span]);
            *s = squared_distance_from_dot(sa[p], na[p], sb[p], nb[p], dot);
        }
        metric.combine(sq, &self.area_ratios[i], &gallery.area_ratios[j])
    }
}
