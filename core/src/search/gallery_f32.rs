//! An f32 gallery matrix: the reference the int8 [`super::Gallery`] is measured against, and
//! a search over features that were never quantised.

use std::vec::Vec;

use crate::cpdm::{AreaRatios, Metric, PartFeatures};
use crate::part::{PARTS, Part};
use crate::signature::Signature;

use super::error::SearchError;
use super::rows::SearchRows;
use crate::kernel::Kernel;

/// N images stored as contiguous f32 rows of `PARTS × dim` values (global, front, rear,
/// side) with their area ratios.
#[derive(Clone, Debug, PartialEq)]
pub struct GalleryF32 {
    dim: usize,
    values: Vec<f32>,
    area_ratios: Vec<AreaRatios>,
}

impl GalleryF32 {
    /// An empty gallery for features of `dim` values.
    pub fn new(dim: usize) -> Self {
        GalleryF32 {
            dim,
            values: Vec::new(),
            area_ratios: Vec::new(),
        }
    }

    /// Reserve room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional * PARTS * self.dim);
        self.area_ratios.reserve(additional);
    }

    /// Append one image's features and return its index. Every part must have
    /// [`Self::dim`] finite values and the ratios must be valid; otherwise nothing is stored.
    pub fn push(&mut self, features: &PartFeatures<'_>) -> Result<usize, SearchError> {
        for part in Part::ALL {
            let f = features.parts[part.index()];
            if f.len() != self.dim {
                return Err(SearchError::DimMismatch {
                    part,
                    expected: self.dim,
                    found: f.len(),
                });
            }
            if let Some(index) = f.iter().position(|v| !v.is_finite()) {
                return Err(SearchError::NotFinite { part, index });
            }
        }
        if !features.area_ratios.is_valid() {
            return Err(SearchError::InvalidAreaRatios {
                ratios: features.area_ratios.0,
            });
        }
        for f in features.parts {
            self.values.extend_from_slice(f);
        }
        self.area_ratios.push(features.area_ratios);
        Ok(self.len() - 1)
    }

    /// Append a signature's features dequantised to f32 (`scale · q`).
    pub fn push_dequantized(&mut self, sig: &Signature) -> Result<usize, SearchError> {
        super::quantized::validate_signature(sig, self.dim)?;
        let mut parts = [[0.0f32; crate::MAX_DIM]; PARTS];
        for (out, f) in parts.iter_mut().zip(&sig.features) {
            f.dequantize_into(&mut out[..self.dim]);
        }
        let dim = self.dim;
        let slices = parts.each_ref().map(|p| &p[..dim]);
        self.push(&PartFeatures {
            parts: slices,
            area_ratios: sig.area_ratios,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.area_ratios.len()
    }

    /// Whether the gallery holds no entry.
    pub fn is_empty(&self) -> bool {
        self.area_ratios.is_empty()
    }

    /// Values per feature vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Bytes of f32 values one full scan reads.
    pub fn value_bytes(&self) -> usize {
        self.values.len() * core::mem::size_of::<f32>()
    }

    /// Entry `index` as borrowed features.
    pub fn get(&self, index: usize) -> Option<PartFeatures<'_>> {
        let ratios = *self.area_ratios.get(index)?;
        let row = &self.values[index * PARTS * self.dim..(index + 1) * PARTS * self.dim];
        let parts = core::array::from_fn(|p| &row[p * self.dim..(p + 1) * self.dim]);
        Some(PartFeatures {
            parts,
            area_ratios: ratios,
        })
    }
}

impl SearchRows for GalleryF32 {
    fn len(&self) -> usize {
        GalleryF32::len(self)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn check_compatible(&self, gallery: &Self) -> Result<(), SearchError> {
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
        let row = PARTS * self.dim;
        let ra = &self.values[i * row..(i + 1) * row];
        let rb = &gallery.values[j * row..(j + 1) * row];
        let mut sq = [0.0f64; PARTS];
        for (p, s) in sq.iter_mut().enumerate().take(metric.parts_used()) {
            let span = p * self.dim..(p + 1) * self.dim;
            *s = f64::from(kernel.squared_distance_f32(&ra[span.clone()], &rb[span]));
        }
        metric.combine(sq, &self.area_ratios[i], &gallery.area_ratios[j])
    }
}
