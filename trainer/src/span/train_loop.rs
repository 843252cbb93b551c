//! The SPAN step-1 training loop: view-balanced batches, flips, Adam on
//! λ_recon·L_recon + λ_area·L_area + λ_div·L_div, a progress bar with each term, `loss.csv`
//! and safetensors checkpoints with resume.
//!
//! Resume restores the weights (including batch-norm statistics), the step count and Adam's
//! moments (`optimizer.safetensors`, see [`crate::train::adam`]), so a resumed run takes the
//! same steps as an uninterrupted one.

use std::path::Path;

use tch::nn;
use tch::{Device, Tensor};

use crate::model::load_backbone_weights;
use crate::model::span::{BACKBONE_PREFIX, SpanNet};
use crate::span::batch::{self, Batch};
use crate::span::cache::SpanSet;
use crate::span::config::SpanConfig;
use crate::span::log::SpanLog;
use crate::span::loss::{Lambdas, SpanLosses, span_losses};
use crate::span::order::order_loss;
use crate::span::sampler::ViewSampler;
use crate::torch_env;
use crate::train::TrainError;
use crate::train::adam::Adam;
use crate::train::data;
use crate::train::run_dir::RunDir;

pub use crate::span::log::Summary;

/// A SPAN network with its variables.
pub struct SpanModel {
    /// Variables (weights and batch-norm statistics).
    pub vs: nn::VarStore,
    /// The network.
    pub net: SpanNet,
}

impl SpanModel {
    /// A freshly initialised network for `config` on `device`, seeded by the config.
    pub fn new(config: &SpanConfig, device: Device) -> Self {
        tch::manual_seed(config.train.seed as i64);
        let vs = nn::VarStore::new(device);
        let net = SpanNet::new(&vs.root(), &config.model);
        Self { vs, net }
    }

    /// Loads a checkpoint written by [`RunDir::checkpoint`].
    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        self.vs.load(path).map_err(|source| TrainError::Torch {
            what: format!("loading checkpoint {}", path.display()),
            source,
        })
    }
}

/// Loads ImageNet weights into the backbone when the config asks for them.
fn init_backbone(model: &mut SpanModel, config: &SpanConfig) -> Result<(), TrainError> {
    init_backbone_weights(&mut model.vs, &config.model)
}

/// Loads ImageNet weights into the backbone variables of a SPAN var store when `model`
/// asks for them.
pub(crate) fn init_backbone_weights(
    vs: &mut nn::VarStore,
    model: &crate::config::ModelConfig,
) -> Result<(), TrainError> {
    if !model.pretrained {
        return Ok(());
    }
    let path = match &model.weights {
        Some(p) => p.clone(),
        None if !model.backbone.weights_installed() => {
            return Err(TrainError::NoWeights(format!(
                "no {} weights are installed; pass --weights",
                model.backbone.torchvision_name()
            )));
        }
        None => {
            let cache = torch_env::cache_dir().ok_or_else(|| {
                TrainError::NoWeights("no cache directory (HOME is not set)".into())
            })?;
            torch_env::installed_mobilenet_weights(&cache).map_err(TrainError::NoWeights)?
        }
    };
    let report = load_backbone_weights(vs, BACKBONE_PREFIX, &path)?;
    tracing::info!(
        tensors = report.tensors,
        elements = report.elements,
        unused = report.unused.len(),
        "ImageNet weights loaded from {}",
        path.display()
    );
    Ok(())
}

/// One optimiser step; returns the loss terms (detached). `trunk` is the batch's cached
/// output of the frozen layers, if they are cached.
pub fn train_step(
    model: &SpanModel,
    opt: &mut Adam,
    batch: &Batch,
    trunk: Option<&Tensor>,
    config: &SpanConfig,
) -> SpanLosses {
    let masks = match trunk {
        Some(t) => model.net.masks_from_trunk(t, true),
        None => model.net.masks(&batch.images, true),
    };
    let losses = compute_losses(&masks, batch, config);
    opt.backward_step(&losses.total);
    SpanLosses {
        recon: losses.recon.detach(),
        area: losses.area.detach(),
        div: losses.div.detach(),
        total: losses.total.detach(),
    }
}

/// The losses of `masks` on `batch` under `config`.
pub fn compute_losses(masks: &Tensor, batch: &Batch, config: &SpanConfig) -> SpanLosses {
    let l = &config.loss;
    let mut losses = span_losses(
        masks,
        &batch.labels,
        &batch.fg,
        &batch.max_area,
        (
            [l.margin.front_rear, l.margin.front_side, l.margin.rear_side],
            i64::from(l.div_pool),
        ),
        Lambdas {
            recon: l.lambda_recon,
            area: l.lambda_area,
            div: l.lambda_div,
        },
    );
    if l.lambda_order > 0.0 {
        let order = order_loss(masks, &batch.labels, &batch.facing, l.order_margin);
        losses.total += order * l.lambda_order;
    }
    losses
}

/// Trains SPAN on the dataset at `data`, writing the run to `out`.
pub fn train_span(
    data: &Path,
    out: &Path,
    config: &SpanConfig,
    resume: bool,
) -> Result<Summary, TrainError> {
    config.validate()?;
    let samples = data::scan(data, config.train.fg_masks.as_deref(), &config.train.views)?;
    let run = RunDir::new(out);
    let state = run.state()?;
    match (state, resume) {
        (Some(_), false) => return Err(TrainError::RunExists(out.to_owned())),
        (None, true) => return Err(TrainError::NothingToResume(out.to_owned())),
        _ => {}
    }
    if config.train.threads > 0 {
        tch::set_num_threads(config.train.threads as i32);
    }
    let device = Device::cuda_if_available();
    let mut model = SpanModel::new(config, device);
    let start = match state {
        Some(s) => {
            model.load(&run.latest())?;
            run.save_config_toml(&config.to_toml())?;
            s.step
        }
        None => {
            init_backbone(&mut model, config)?;
            run.start_toml(&config.to_toml())?;
            0
        }
    };
    let frozen = config.model.frozen_layers;
    if frozen > 0 {
        crate::model::span::freeze(&mut model.vs, frozen);
    }
    let set = SpanSet::new(
        &samples,
        config.model.input_size,
        &model.net,
        frozen > 0,
        device,
    )?;
    let views: Vec<_> = samples.iter().map(|s| s.view).collect();
    let per_view: Vec<String> = spanreid::View::ALL
        .iter()
        .map(|v| format!("{v} {}", views.iter().filter(|w| *w == v).count()))
        .collect();
    tracing::info!(
        "SPAN training images per view label: {}",
        per_view.join(", ")
    );
    let sampler = ViewSampler::new(
        &views,
        &config.train.views.share,
        config.train.seed,
        config.train.flip,
    );
    tracing::info!(
        images = samples.len(),
        views = sampler.views(),
        labels = ?config.train.views.source,
        ?device,
        start,
        steps = config.train.steps,
        "training SPAN"
    );
    let mut opt = Adam::new(&model.vs, config.train.learning_rate);
    if start > 0 {
        run.resume_optimizer(&mut opt, start)?;
    }

    let mut log = SpanLog::new(
        &run,
        start,
        config.train.steps,
        config.train.checkpoint_every,
    );
    let batch_size = config.train.batch_size as usize;
    for step in start..config.train.steps {
        let picks = sampler.batch(step, batch_size);
        let examples = set.pick(&picks)?;
        let batch = batch::stack(&examples, &config.loss.max_area, device);
        let trunk = set.trunk(&picks);
        let l = train_step(&model, &mut opt, &batch, trunk.as_ref(), config);
        log.record(step, &l, &model.vs, &opt)?;
    }
    Ok(log.finish())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::span::test_fixture::write_dataset;
    use tch::{Kind, Tensor};

    pub(crate) fn tiny(steps: u64) -> SpanConfig {
        let mut c = Preset::Tiny.config();
        c.train.steps = steps;
        c.train.checkpoint_every = 2;
        c.train.threads = 1;
        c
    }

    fn csv_totals(run: &Path) -> Vec<f64> {
        let text = std::fs::read_to_string(run.join("loss.csv")).expect("csv");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(crate::train::run_dir::CSV_HEADER));
        lines
            .map(|l| {
                l.split(',')
                    .nth(4)
                    .expect("total column")
                    .parse()
                    .expect("number")
            })
            .collect()
    }

    #[test]
    fn a_few_steps_on_tiny_data_reduce_the_loss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        write_dataset(&data, 9);
        let summary = train_span(&data, &run, &tiny(24), false).expect("trains");
        assert_eq!(summary.steps, 24);
        let totals = csv_totals(&run);
        assert_eq!(totals.len(), 24);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (early, late) = (mean(&totals[..4]), mean(&totals[20..]));
        assert!(late < 0.8 * early, "loss {early:.4} → {late:.4}");
        assert!(run.join("checkpoints/step-000024.safetensors").is_file());
        let plot = image::open(run.join("loss.png")).expect("loss curve");
        assert_eq!(plot.width(), crate::train::loss_plot::WIDTH);
    }

    #[test]
    fn checkpoint_reload_gives_identical_masks_and_resume_continues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        write_dataset(&data, 6);
        let config = tiny(2);
        let summary = train_span(&data, &run, &config, false).expect("trains");

        let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
        let mut a = SpanModel::new(&config, Device::Cpu);
        a.load(&summary.checkpoint).expect("loads");
        let mut b = SpanModel::new(
            &SpanConfig {
                train: crate::span::config::TrainConfig {
                    seed: 99,
                    ..config.train.clone()
                },
                ..config.clone()
            },
            Device::Cpu,
        );
        let fresh = b.net.masks(&x, false);
        b.load(&run.join("latest.safetensors")).expect("loads");
        let (ma, mb) = (a.net.masks(&x, false), b.net.masks(&x, false));
        assert!(ma.equal(&mb), "reloaded checkpoints differ");
        assert!(!fresh.equal(&mb), "loading changed nothing");

        let err = train_span(&data, &run, &config, false).expect_err("run exists");
        assert!(matches!(err, TrainError::RunExists(_)), "{err}");
        let more = train_span(&data, &run, &tiny(4), true).expect("resumes");
        assert_eq!(more.steps, 2);
        assert_eq!(csv_totals(&run).len(), 4);
        let saved = SpanConfig::from_file(&run.join("config.toml")).expect("config");
        assert_eq!(saved.train.steps, 4, "config.toml follows the resumed run");
        let err = train_span(&data, &dir.path().join("empty"), &config, true).expect_err("nothing");
        assert!(matches!(err, TrainError::NothingToResume(_)), "{err}");

        // With Adam's moments in the checkpoint, 2 + 2 steps equal 4 uninterrupted steps.
        assert!(run.join("optimizer.safetensors").is_file());
        let straight = dir.path().join("straight");
        train_span(&data, &straight, &tiny(4), false).expect("trains");
        let (mut c, mut d) = (
            SpanModel::new(&config, Device::Cpu),
            SpanModel::new(&config, Device::Cpu),
        );
        c.load(&run.join("latest.safetensors")).expect("loads");
        d.load(&straight.join("latest.safetensors")).expect("loads");
        let (mc, md) = (c.net.masks(&x, false), d.net.masks(&x, false));
        assert!(
            mc.allclose(&md, 1e-5, 1e-6, false),
            "a resumed run differs from an uninterrupted one by {}",
            (mc - md).abs().max().double_value(&[])
        );
    }
}
