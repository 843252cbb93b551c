//! The step-2 network as training and evaluation hold it: the feature network with its
//! variables and the frozen SPAN feeding it masks, backbone initialisation, batch images,
//! and loading a finished run (`model.toml`, the SPAN copy, the weights).

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::config::aggregation::Aggregation;
use crate::features::config::FeaturesConfig;
use crate::model::features::{BRANCHES, FeatureNet, STAGE1_PREFIX, branch_backbone_prefix};
use crate::model::load_backbone_weights;
use crate::span::config::SpanConfig;
use crate::span::sampler::Pick;
use crate::span::train_loop::SpanModel;
use crate::torch_env;
use crate::train::TrainError;
use crate::train::example;
use crate::train::reid_data::{self, ReidImage};
use crate::train::run_dir::RunDir;

/// Sub-directory of a feature run holding its SPAN run's config and weights.
pub const SPAN_SUBDIR: &str = "span";

/// Facts about a run needed to rebuild its network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Training identities (classifier outputs).
    pub classes: u32,
}

/// The feature network with its variables, and the frozen SPAN that feeds it masks.
pub struct FeatureModel {
    /// Variables of the feature network.
    pub vs: nn::VarStore,
    /// The feature network.
    pub net: FeatureNet,
    /// The frozen SPAN.
    pub span: SpanModel,
    /// How the branches combine (the run's `model.aggregation`).
    pub aggregation: Aggregation,
}

pub(crate) fn torch_err(what: String) -> impl FnOnce(tch::TchError) -> TrainError {
    move |source| TrainError::Torch { what, source }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_owned(),
        source,
    }
}

impl FeatureModel {
    /// A fresh feature network (seeded by the config) next to the SPAN run in `span_dir`.
    pub fn new(
        config: &FeaturesConfig,
        classes: u32,
        span_dir: &Path,
        device: Device,
    ) -> Result<Self, TrainError> {
        let span_config = SpanConfig::from_file(&span_dir.join("config.toml"))?;
        let mut span = SpanModel::new(&span_config, device);
        span.load(&RunDir::new(span_dir).latest())?;
        span.vs.freeze();
        tch::manual_seed(config.train.seed as i64);
        let vs = nn::VarStore::new(device);
        let net = FeatureNet::new(&vs.root(), &config.model, i64::from(classes));
        Ok(Self {
            vs,
            net,
            span,
            aggregation: config.model.aggregation,
        })
    }

    /// Loads feature-network weights written by [`RunDir::checkpoint`].
    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        self.vs
            .load(path)
            .map_err(torch_err(format!("loading checkpoint {}", path.display())))
    }

    /// The frozen SPAN's masks for `images` (no gradient).
    pub fn masks(&self, images: &Tensor) -> Tensor {
        tch::no_grad(|| self.span.net.masks(images, false))
    }
}

/// Loads ImageNet weights into stage 1 and every branch when the config asks for them.
pub(crate) fn init_backbones(
    model: &mut FeatureModel,
    config: &FeaturesConfig,
) -> Result<(), TrainError> {
    if !config.model.pretrained {
        return Ok(());
    }
    let path = match &config.model.weights {
        Some(p) => p.clone(),
        None if !config.model.backbone.weights_installed() => {
            return Err(TrainError::NoWeights(format!(
                "no {} weights are installed; pass --weights",
                config.model.backbone.torchvision_name()
            )));
        }
        None => {
            let cache = torch_env::cache_dir().ok_or_else(|| {
                TrainError::NoWeights("no cache directory (HOME is not set)".into())
            })?;
            torch_env::installed_mobilenet_weights(&cache).map_err(TrainError::NoWeights)?
        }
    };
    let branches = &BRANCHES[..config.model.aggregation.branches()];
    let prefixes = std::iter::once(STAGE1_PREFIX.to_owned())
        .chain(branches.iter().map(|b| branch_backbone_prefix(b)));
    for prefix in prefixes {
        let report = load_backbone_weights(&mut model.vs, &prefix, &path)?;
        tracing::debug!(prefix, tensors = report.tensors, "ImageNet weights loaded");
    }
    tracing::info!("ImageNet weights loaded from {}", path.display());
    Ok(())
}

/// Images of `picks` as an N×3×S×S tensor in [0, 1].
pub fn load_images(
    images: &[ReidImage],
    picks: &[Pick],
    size: u32,
    device: Device,
) -> Result<Tensor, TrainError> {
    let decoded: Vec<Vec<f32>> = picks
        .par_iter()
        .map(|p| {
            let mut img = example::load_image(&images[p.index].path, size)?;
            if p.flip {
                reid_data::flip_image(&mut img, size as usize);
            }
            Ok(img)
        })
        .collect::<Result<_, example::DecodeError>>()?;
    let n = picks.len() as i64;
    let s = i64::from(size);
    let flat: Vec<f32> = decoded.into_iter().flatten().collect();
    Ok(Tensor::from_slice(&flat)
        .view([n, 3, s, s])
        .to_device(device))
}

/// The SPAN masks the network needs: none for the baseline (a 1×1 placeholder, SPAN is not
/// run), the frozen SPAN's otherwise.
pub fn masks_for(model: &FeatureModel, images: &Tensor, aggregation: Aggregation) -> Tensor {
    if aggregation.uses_masks() {
        model.masks(images)
    } else {
        Tensor::zeros([images.size()[0], 3, 1, 1], (Kind::Float, images.device()))
    }
}

/// Reads `model.toml` of a feature run.
pub fn read_model_info(run: &Path) -> Result<ModelInfo, TrainError> {
    let path = run.join("model.toml");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    toml::from_str(&text).map_err(|e| TrainError::Corrupt {
        path,
        reason: e.to_string(),
    })
}

/// Loads a trained feature run (its network, weights and SPAN copy) for inference.
pub fn load_run(run: &Path, device: Device) -> Result<(FeaturesConfig, FeatureModel), TrainError> {
    let config = FeaturesConfig::from_file(&run.join("config.toml"))?;
    let info = read_model_info(run)?;
    let mut model = FeatureModel::new(&config, info.classes, &run.join(SPAN_SUBDIR), device)?;
    model.load(&RunDir::new(run).latest())?;
    Ok((config, model))
}
