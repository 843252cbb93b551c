//! Reading a feature run (its feature network and the frozen SPAN beside it) into plain
//! parameters and the shape of the graph to build.

use std::path::Path;

use tch::Device;
use tch::nn::VarStore;

use super::ExportError;
use super::emit::{Param, Params};
use super::network::{FEATURE_PREFIX, NetworkSpec, SPAN_PREFIX};
use crate::features::config::FeaturesConfig;
use crate::features::model::{FeatureModel, SPAN_SUBDIR, load_run};
use crate::model::span::generative_blocks;
use crate::span::config::SpanConfig;
use crate::train::TrainError;

/// Copies every variable of `vs` into `out` under `prefix.`.
pub fn collect(vs: &VarStore, prefix: &str, out: &mut Params) -> Result<(), ExportError> {
    for (name, t) in vs.variables() {
        let dims = t.size();
        let data = Vec::<f32>::try_from(t.detach().to_device(Device::Cpu).contiguous().view([-1]))
            .map_err(|source| TrainError::Torch {
                what: format!("reading variable {name}"),
                source,
            })?;
        out.insert(format!("{prefix}.{name}"), Param { dims, data });
    }
    Ok(())
}

/// The graph shape for a feature network and its SPAN.
pub fn spec(features: &FeaturesConfig, span: &SpanConfig) -> NetworkSpec {
    NetworkSpec {
        span_backbone: span.model.backbone,
        feature_backbone: features.model.backbone,
        input_size: features.model.input_size,
        dim: features.model.dim,
        span_stage1_layers: span.model.stage1_layers,
        generator_blocks: generative_blocks(&span.model),
        stage2: features.model.stage2_options(),
    }
}

/// A feature run loaded for export: the model (for the libtorch side of the parity
/// check), its parameters and the graph shape.
pub struct LoadedRun {
    /// The model on the CPU.
    pub model: FeatureModel,
    /// Its parameters (`feat.*` and `span.*`).
    pub params: Params,
    /// The graph shape.
    pub spec: NetworkSpec,
}

/// Loads the feature run in `run` on the CPU.
pub fn load(run: &Path) -> Result<LoadedRun, ExportError> {
    let (config, model) = load_run(run, Device::Cpu)?;
    if config.model.aggregation != crate::config::aggregation::Aggregation::Cpdm {
        return Err(ExportError::Spec(format!(
            "{} was trained with aggregation {:?}, an ablation; the edge ships CPDM runs only",
            run.display(),
            config.model.aggregation
        )));
    }
    let span_config = SpanConfig::from_file(&run.join(SPAN_SUBDIR).join("config.toml"))
        .map_err(TrainError::from)?;
    let params = params_of(&model)?;
    Ok(LoadedRun {
        spec: spec(&config, &span_config),
        model,
        params,
    })
}

/// The parameters of a loaded model.
pub fn params_of(model: &FeatureModel) -> Result<Params, ExportError> {
    let mut params = Params::new();
    collect(&model.vs, FEATURE_PREFIX, &mut params)?;
    collect(&model.span.vs, SPAN_PREFIX, &mut params)?;
    Ok(params)
}
