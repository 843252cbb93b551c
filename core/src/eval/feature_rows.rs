//! [`FeatureRows`]: feature matrices as the re-ranking's [`DistanceSource`].

use super::rerank::{DistanceSource, RerankError};

/// Row-major query and gallery feature matrices as a [`DistanceSource`].
///
/// The distance is the squared Euclidean distance divided by its maximum over the row, which
/// for this symmetric matrix is the reference code's division by the column maximum (rows
/// whose maximum is 0 or not finite are left as they are). L2-normalise the features
/// beforehand to follow the paper.
#[derive(Clone, Copy, Debug)]
pub struct FeatureRows<'a> {
    query: &'a [f32],
    gallery: &'a [f32],
    dim: usize,
}

impl<'a> FeatureRows<'a> {
    /// Wraps `query` (N × `dim`) and `gallery` (M × `dim`) features.
    pub fn new(query: &'a [f32], gallery: &'a [f32], dim: usize) -> Result<Self, RerankError> {
        if dim == 0 {
            return Err(RerankError::ZeroDim);
        }
        for (which, len) in [("query", query.len()), ("gallery", gallery.len())] {
            if len % dim != 0 {
                return Err(RerankError::FeatureLength { which, len, dim });
            }
        }
        Ok(Self {
            query,
            gallery,
            dim,
        })
    }

    fn feature(&self, index: usize) -> Option<&'a [f32]> {
        let n = self.len_query();
        let (matrix, i) = if index < n {
            (self.query, index)
        } else {
            (self.gallery, index - n)
        };
        let start = i.checked_mul(self.dim)?;
        matrix.get(start..start.checked_add(self.dim)?)
    }
}

impl DistanceSource for FeatureRows<'_> {
    fn len_query(&self) -> usize {
        self.query.len() / self.dim
    }

    fn len_gallery(&self) -> usize {
        self.gallery.len() / self.dim
    }

    fn row(&self, index: usize, out: &mut [f32]) {
        let Some(a) = self.feature(index) else {
            out.fill(f32::NAN);
            return;
        };
        let mut max = 0.0f32;
        for (j, d) in out.iter_mut().enumerate() {
            *d = self.feature(j).map_or(f32::NAN, |b| {
                a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
            });
            max = max.max(*d);
        }
        if max > 0.0 && max.is_finite() {
            out.iter_mut().for_each(|d| *d /= max);
        }
    }
}
