//! The SPAN training set held in memory: every image decoded once (when the set fits
//! [`DECODE_BUDGET_BYTES`]), and with frozen layers each image's trunk output for both
//! orientations, so a step runs only the layers it trains.

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::model::span::SpanNet;
use crate::train::TrainError;
use crate::train::data::Sample;
use crate::train::example::{self, Example};
use crate::train::sampler::Pick;

/// Decoded images are kept in memory up to this many bytes; a larger set is read from disk
/// at every step.
pub const DECODE_BUDGET_BYTES: usize = 4 << 30;

/// Images per forward pass when filling the trunk cache.
const TRUNK_BATCH: usize = 32;

/// The training images of one run.
pub struct SpanSet<'a> {
    samples: &'a [Sample],
    size: u32,
    decoded: Option<Vec<Example>>,
    /// Row `2i` is sample i's trunk output, row `2i + 1` its mirror image's.
    trunk: Option<Tensor>,
}

fn load(samples: &[Sample], indices: &[usize], size: u32) -> Result<Vec<Example>, TrainError> {
    indices
        .par_iter()
        .map(|&i| example::load(&samples[i], size).map_err(TrainError::from))
        .collect()
}

fn images(examples: &[Example], size: u32, device: Device) -> Tensor {
    let s = i64::from(size);
    let flat: Vec<f32> = examples
        .iter()
        .flat_map(|e| e.image.iter().copied())
        .collect();
    Tensor::from_slice(&flat)
        .view([examples.len() as i64, 3, s, s])
        .to_device(device)
}

impl<'a> SpanSet<'a> {
    /// Decodes `samples` at `size` if they fit the budget; with `cache_trunk`, runs every
    /// image and its mirror image through `net`'s frozen layers once.
    pub fn new(
        samples: &'a [Sample],
        size: u32,
        net: &SpanNet,
        cache_trunk: bool,
        device: Device,
    ) -> Result<Self, TrainError> {
        let per_image = 4 * 4 * (size as usize).pow(2) + (size as usize).pow(2);
        let fits = samples.len().saturating_mul(per_image) <= DECODE_BUDGET_BYTES;
        let all: Vec<usize> = (0..samples.len()).collect();
        let decoded = if fits {
            Some(load(samples, &all, size)?)
        } else {
            None
        };
        let mut set = Self {
            samples,
            size,
            decoded,
            trunk: None,
        };
        if cache_trunk {
            let mut parts = Vec::new();
            for chunk in all.chunks(TRUNK_BATCH) {
                let plain = set.pick(
                    &chunk
                        .iter()
                        .map(|&i| Pick {
                            index: i,
                            flip: false,
                        })
                        .collect::<Vec<_>>(),
                )?;
                let mirrored: Vec<Example> = plain.iter().cloned().map(Example::flipped).collect();
                let (a, b) = (
                    net.trunk(&images(&plain, size, device)),
                    net.trunk(&images(&mirrored, size, device)),
                );
                // Interleave: sample i at row 2i, its mirror image at 2i + 1.
                let both = Tensor::stack(&[a, b], 1);
                let dims = both.size();
                parts.push(both.view([dims[0] * 2, dims[2], dims[3], dims[4]]));
            }
            set.trunk = Some(Tensor::cat(&parts, 0));
        }
        tracing::info!(
            images = samples.len(),
            decoded_in_memory = set.decoded.is_some(),
            trunk_cached = set.trunk.is_some(),
            "SPAN training set ready"
        );
        Ok(set)
    }

    /// The examples of `picks`, mirrored where a pick says so.
    pub fn pick(&self, picks: &[Pick]) -> Result<Vec<Example>, TrainError> {
        let examples = match &self.decoded {
            Some(d) => picks.iter().map(|p| d[p.index].clone()).collect(),
            None => load(
                self.samples,
                &picks.iter().map(|p| p.index).collect::<Vec<_>>(),
                self.size,
            )?,
        };
        Ok(examples
            .into_iter()
            .zip(picks)
            .map(|(e, p)| if p.flip { e.flipped() } else { e })
            .collect())
    }

    /// The cached trunk outputs of `picks`, when the trunk is cached.
    pub fn trunk(&self, picks: &[Pick]) -> Option<Tensor> {
        let cache = self.trunk.as_ref()?;
        let rows: Vec<i64> = picks
            .iter()
            .map(|p| 2 * p.index as i64 + i64::from(p.flip))
            .collect();
        let index = Tensor::from_slice(&rows).to_device(cache.device());
        Some(cache.index_select(0, &index).to_kind(Kind::Float))
    }
}
