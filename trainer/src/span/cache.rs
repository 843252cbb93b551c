//! The SPAN training set held in memory: every image decoded once (when the set fits
//! [`DECODE_BUDGET_BYTES`]), and with frozen layers each image's trunk output for both
//! orientations, so a step runs only the layers it trains.

use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::model::span::SpanNet;
use crate::span::sampler::Pick;
use crate::train::TrainError;
use crate::train::data::Sample;
use crate::train::example::{self, Example};

/// Decoded images are kept in memory up to this many bytes; a larger set is read from disk
/// at every step.
pub const DECODE_BUDGET_BYTES: usize = 4 << 30;

/// Images per forward pass when filling the trunk cache.
const TRUNK_BATCH: usize = 32;

/// Per-image tensors cached for an image and its mirror image: row `2i` is image i's,
/// row `2i + 1` its mirror image's. Filled chunk by chunk, read by picks.
#[derive(Default)]
pub struct MirrorPairs {
    chunks: Vec<Tensor>,
    all: Option<Tensor>,
}

impl MirrorPairs {
    /// Appends the next images' rows: `plain` and `mirrored` are N×… for the same N images.
    pub fn push(&mut self, plain: Tensor, mirrored: Tensor) {
        let both = Tensor::stack(&[plain, mirrored], 1);
        let mut dims = both.size();
        let n = dims.remove(0) * dims.remove(0);
        dims.insert(0, n);
        self.chunks.push(both.view(dims.as_slice()));
    }

    /// Ends filling.
    pub fn finish(mut self) -> Self {
        self.all = Some(Tensor::cat(&self.chunks, 0));
        self.chunks.clear();
        self
    }

    /// The rows of `picks` (mirror image where a pick says so), as f32.
    pub fn get(&self, picks: &[Pick]) -> Option<Tensor> {
        let all = self.all.as_ref()?;
        let rows: Vec<i64> = picks
            .iter()
            .map(|p| 2 * p.index as i64 + i64::from(p.flip))
            .collect();
        let index = Tensor::from_slice(&rows).to_device(all.device());
        Some(all.index_select(0, &index).to_kind(Kind::Float))
    }
}

/// The training images of one run.
pub struct SpanSet<'a> {
    samples: &'a [Sample],
    size: u32,
    decoded: Option<Vec<Example>>,
    /// Each sample's trunk output and its mirror image's.
    trunk: Option<MirrorPairs>,
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
            let mut pairs = MirrorPairs::default();
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
                pairs.push(
                    net.trunk(&images(&plain, size, device)),
                    net.trunk(&images(&mirrored, size, device)),
                );
            }
            set.trunk = Some(pairs.finish());
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
        self.trunk.as_ref()?.get(picks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_pairs_give_each_pick_its_own_row() {
        // Image i's value is i, its mirror image's 100 + i; two chunks of 2 and 1 images.
        let t = |v: &[f32]| Tensor::from_slice(v).view([v.len() as i64, 1, 1]);
        let mut pairs = MirrorPairs::default();
        pairs.push(t(&[0.0, 1.0]), t(&[100.0, 101.0]));
        pairs.push(t(&[2.0]), t(&[102.0]));
        let pairs = pairs.finish();
        let picks = [
            Pick {
                index: 2,
                flip: true,
            },
            Pick {
                index: 0,
                flip: false,
            },
            Pick {
                index: 1,
                flip: true,
            },
            Pick {
                index: 2,
                flip: false,
            },
        ];
        let got = Vec::<f32>::try_from(pairs.get(&picks).expect("filled").flatten(0, -1))
            .expect("floats");
        assert_eq!(got, [102.0, 0.0, 101.0, 2.0]);
        assert!(
            MirrorPairs::default().get(&picks).is_none(),
            "nothing before finish"
        );
    }
}
