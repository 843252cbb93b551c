//! Step 2's training images held in memory: each decoded once (when the set fits
//! [`DECODE_BUDGET_BYTES`]), and the frozen SPAN's masks of each image and of its mirror
//! image computed once, so a step runs only the network it trains.
//!
//! The masks are kept averaged over [`MASK_POOL`]×[`MASK_POOL`] pixels. That changes
//! nothing the step reads: the feature network averages the masks over its stage-1 cells
//! (8 or 16 input pixels, multiples of [`MASK_POOL`]), and the CPDM area ratios are ratios of
//! mask sums, which a uniform average scales alike.

use tch::{Device, Tensor};

use crate::config::aggregation::Aggregation;
use crate::features::model::{FeatureModel, load_images};
use crate::span::cache::{DECODE_BUDGET_BYTES, MirrorPairs};
use crate::span::sampler::Pick;
use crate::train::TrainError;
use crate::train::reid_data::ReidImage;

/// Side of the square over which cached masks are averaged.
pub const MASK_POOL: i64 = 4;

/// Images per SPAN forward pass when filling the mask cache.
const MASK_BATCH: usize = 32;

/// The training images of one feature run.
pub struct FeatureSet<'a> {
    images: &'a [ReidImage],
    size: u32,
    /// N×3×S×S on the CPU, when the set fits the budget.
    decoded: Option<Tensor>,
    /// Each image's pooled masks and its mirror image's.
    masks: Option<MirrorPairs>,
}

impl<'a> FeatureSet<'a> {
    /// Decodes `images` at `size` when they fit the budget, and with an aggregation that
    /// uses masks runs SPAN once over every image and its mirror image.
    pub fn new(
        images: &'a [ReidImage],
        size: u32,
        model: &FeatureModel,
        aggregation: Aggregation,
        device: Device,
    ) -> Result<Self, TrainError> {
        let plain: Vec<Pick> = (0..images.len())
            .map(|index| Pick { index, flip: false })
            .collect();
        let per_image = 3 * 4 * (size as usize).pow(2);
        let decoded = if images.len().saturating_mul(per_image) <= DECODE_BUDGET_BYTES {
            Some(load_images(images, &plain, size, Device::Cpu)?)
        } else {
            None
        };
        let mut set = Self {
            images,
            size,
            decoded,
            masks: None,
        };
        if aggregation.uses_masks() {
            let mut pairs = MirrorPairs::default();
            for chunk in plain.chunks(MASK_BATCH) {
                let mirrored: Vec<Pick> = chunk.iter().map(|p| Pick { flip: true, ..*p }).collect();
                pairs.push(
                    set.pooled_masks(model, &set.batch(chunk, device)?),
                    set.pooled_masks(model, &set.batch(&mirrored, device)?),
                );
            }
            set.masks = Some(pairs.finish());
        }
        tracing::info!(
            images = images.len(),
            decoded_in_memory = set.decoded.is_some(),
            masks_cached = set.masks.is_some(),
            "feature training set ready"
        );
        Ok(set)
    }

    fn pooled_masks(&self, model: &FeatureModel, images: &Tensor) -> Tensor {
        model.masks(images).avg_pool2d(
            [MASK_POOL, MASK_POOL],
            [MASK_POOL, MASK_POOL],
            [0, 0],
            false,
            true,
            None,
        )
    }

    /// The images of `picks` on `device`, mirrored where a pick says so.
    pub fn batch(&self, picks: &[Pick], device: Device) -> Result<Tensor, TrainError> {
        let Some(all) = &self.decoded else {
            return load_images(self.images, picks, self.size, device);
        };
        let rows: Vec<i64> = picks.iter().map(|p| p.index as i64).collect();
        let mut x = all.index_select(0, &Tensor::from_slice(&rows));
        let flip: Vec<i64> = picks
            .iter()
            .enumerate()
            .filter(|(_, p)| p.flip)
            .map(|(i, _)| i as i64)
            .collect();
        if !flip.is_empty() {
            let idx = Tensor::from_slice(&flip);
            let mirrored = x.index_select(0, &idx).flip([3]);
            x = x.index_copy(0, &idx, &mirrored);
        }
        Ok(x.to_device(device))
    }

    /// The cached, pooled masks of `picks`, when masks are cached.
    pub fn masks(&self, picks: &[Pick]) -> Option<Tensor> {
        self.masks.as_ref()?.get(picks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::features::config::FeaturesConfig;
    use crate::features::loss::area_ratios;
    use crate::span::train_loop::{tests::tiny as tiny_span, train_span};
    use crate::train::reid_data::{self, TRAIN_DIR};
    use crate::train::reid_fixture::write_reid_dataset;

    #[test]
    fn cached_images_and_masks_give_what_the_step_would_compute() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, span) = (dir.path().join("data"), dir.path().join("span"));
        write_reid_dataset(&data, 4, 2, 3);
        train_span(&data, &span, &tiny_span(2), false).expect("SPAN trains");
        let config = FeaturesConfig::preset(Preset::Tiny);
        let images = reid_data::scan_split(&data, TRAIN_DIR).expect("scans");
        let model = FeatureModel::new(&config, 4, &span, Device::Cpu).expect("model");
        let size = config.model.input_size;
        let set =
            FeatureSet::new(&images, size, &model, Aggregation::Cpdm, Device::Cpu).expect("set");
        let picks = [
            Pick {
                index: 3,
                flip: true,
            },
            Pick {
                index: 0,
                flip: false,
            },
            Pick {
                index: 3,
                flip: false,
            },
            Pick {
                index: 7,
                flip: true,
            },
        ];
        let fresh = load_images(&images, &picks, size, Device::Cpu).expect("loads");
        let cached = set.batch(&picks, Device::Cpu).expect("batch");
        assert!(
            fresh.equal(&cached),
            "cached images differ from decoded ones"
        );

        // What the network reads of the masks: cell means on its stage-1 grid, and the
        // CPDM area ratios.
        let full = model.masks(&fresh);
        let pooled = set.masks(&picks).expect("masks are cached for CPDM");
        let cells = i64::from(size) / 16;
        let (a, b) = (
            full.adaptive_avg_pool2d([cells, cells]),
            pooled.adaptive_avg_pool2d([cells, cells]),
        );
        assert!(a.allclose(&b, 1e-4, 1e-6, false), "{}", (a - b).abs().max());
        assert!(area_ratios(&full).allclose(&area_ratios(&pooled), 1e-4, 1e-6, false));
        // The mirror image's masks are not the image's.
        assert!(!pooled.get(0).equal(&pooled.get(2)));

        let baseline = FeatureSet::new(&images, size, &model, Aggregation::GlobalOnly, Device::Cpu)
            .expect("set");
        assert!(
            baseline.masks(&picks).is_none(),
            "the baseline needs no SPAN"
        );
    }
}
