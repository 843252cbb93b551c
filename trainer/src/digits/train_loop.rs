//! The multi-digit SPAN training loop: random canvases of the training split, Adam on the
//! generalised losses ([`crate::span::loss::class_losses`]), a progress bar, `loss.csv`, the
//! loss curve and checkpoints with resume (weights, step and Adam's moments; the batches
//! depend only on the seed and the step, so a resumed run takes the same steps).

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::digits::DigitsError;
use crate::digits::config::DigitsConfig;
use crate::digits::dataset::Split;
use crate::digits::files;
use crate::model::span::SpanNet;
use crate::span::log::SpanLog;
use crate::span::loss::{Lambdas, SpanLosses, class_losses};
use crate::span::train_loop::init_backbone_weights;
use crate::train::TrainError;
use crate::train::adam::Adam;
use crate::train::run_dir::RunDir;

pub use crate::span::log::Summary;

/// A multi-digit SPAN with its variables.
pub struct DigitsModel {
    /// Variables.
    pub vs: nn::VarStore,
    /// The network, one generator per class of `config.classes`.
    pub net: SpanNet,
}

impl DigitsModel {
    /// A freshly initialised network (seeded by the config) for `config.classes`.
    pub fn new(config: &DigitsConfig, device: Device) -> Self {
        tch::manual_seed(config.train.seed as i64);
        let vs = nn::VarStore::new(device);
        let names: Vec<String> = config.classes.iter().map(u8::to_string).collect();
        let net = SpanNet::with_generators(&vs.root(), &config.model, &names);
        Self { vs, net }
    }

    /// Loads a checkpoint.
    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        self.vs.load(path).map_err(|source| TrainError::Torch {
            what: format!("loading checkpoint {}", path.display()),
            source,
        })
    }
}

/// Canvases in memory: grey levels and labels.
pub struct Canvases {
    /// Side in pixels.
    pub size: u32,
    /// Per canvas: size² grey levels.
    pub pixels: Vec<Vec<u8>>,
    /// Per canvas, per class: present?
    pub present: Vec<Vec<bool>>,
}

/// Images (grey replicated to RGB, in [0, 1]), foreground and labels of `picks`.
pub fn batch(
    c: &Canvases,
    picks: &[usize],
    fg_threshold: f64,
    device: Device,
) -> (Tensor, Tensor, Tensor) {
    let (n, s) = (picks.len() as i64, i64::from(c.size));
    let grey: Vec<f32> = picks
        .iter()
        .flat_map(|&i| c.pixels[i].iter().map(|&p| f32::from(p) / 255.0))
        .collect();
    let grey = Tensor::from_slice(&grey)
        .view([n, 1, s, s])
        .to_device(device);
    let fg = grey.ge(fg_threshold).to_kind(Kind::Float);
    let labels: Vec<f32> = picks
        .iter()
        .flat_map(|&i| c.present[i].iter().map(|&p| f32::from(u8::from(p))))
        .collect();
    let classes = c.present.first().map_or(0, Vec::len) as i64;
    let labels = Tensor::from_slice(&labels)
        .view([n, classes])
        .to_device(device);
    (grey.expand([n, 3, s, s], false), fg, labels)
}

/// The canvases of step `step` (depends only on the seed and the step).
pub fn picks(seed: u64, step: u64, batch_size: usize, count: usize) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (0..batch_size)
        .map(|_| rng.random_range(0..count))
        .collect()
}

/// One optimiser step; returns the detached loss terms.
pub fn train_step(
    model: &DigitsModel,
    opt: &mut Adam,
    images: &Tensor,
    fg: &Tensor,
    labels: &Tensor,
    config: &DigitsConfig,
) -> SpanLosses {
    let masks = model.net.masks(images, true);
    let l = &config.loss;
    let losses = class_losses(
        &masks,
        labels,
        fg,
        l.margin,
        Lambdas {
            recon: l.lambda_recon,
            area: l.lambda_area,
            div: l.lambda_div,
        },
    );
    opt.backward_step(&losses.total);
    SpanLosses {
        recon: losses.recon.detach(),
        area: losses.area.detach(),
        div: losses.div.detach(),
        total: losses.total.detach(),
    }
}

/// Reads the training canvases of `data` and fills in / checks the config's classes and
/// input size against the dataset.
pub fn prepare(data: &Path, config: &mut DigitsConfig) -> Result<Canvases, DigitsError> {
    let (meta, records) = files::open_dataset(data)?;
    if config.classes.is_empty() {
        config.classes = meta.classes.clone();
    } else if config.classes != meta.classes {
        return Err(DigitsError::Invalid {
            field: "classes",
            reason: format!(
                "the run's classes {:?} differ from the dataset's {:?} in {}",
                config.classes,
                meta.classes,
                data.display()
            ),
        });
    }
    if config.model.input_size != meta.size {
        return Err(DigitsError::Invalid {
            field: "model.input_size",
            reason: format!(
                "{} differs from the dataset's canvas size {} (synth-digits --size)",
                config.model.input_size, meta.size
            ),
        });
    }
    let train = files::read_split(&records, Split::Train, meta.size)?;
    if train.is_empty() {
        return Err(DigitsError::Corrupt {
            path: data.to_owned(),
            reason: "no training canvases in the index".into(),
        });
    }
    Ok(Canvases {
        size: meta.size,
        present: train.iter().map(|(r, _, _)| r.present.clone()).collect(),
        pixels: train.into_iter().map(|(_, p, _)| p).collect(),
    })
}

/// Trains the multi-digit SPAN on the dataset at `data`, writing the run to `out`.
pub fn train_digits(
    data: &Path,
    out: &Path,
    config: &DigitsConfig,
    resume: bool,
) -> Result<Summary, DigitsError> {
    let mut config = config.clone();
    config.validate()?;
    let run = RunDir::new(out);
    let state = run.state()?;
    match (state, resume) {
        (Some(_), false) => return Err(TrainError::RunExists(out.to_owned()).into()),
        (None, true) => return Err(TrainError::NothingToResume(out.to_owned()).into()),
        _ => {}
    }
    let canvases = prepare(data, &mut config)?;
    if config.train.threads > 0 {
        tch::set_num_threads(config.train.threads as i32);
    }
    let device = Device::cuda_if_available();
    let mut model = DigitsModel::new(&config, device);
    let start = match state {
        Some(s) => {
            model.load(&run.latest())?;
            run.save_config_toml(&config.to_toml())?;
            s.step
        }
        None => {
            init_backbone_weights(&mut model.vs, &config.model)?;
            run.start_toml(&config.to_toml())?;
            0
        }
    };
    tracing::info!(
        canvases = canvases.pixels.len(),
        classes = ?config.classes,
        ?device,
        start,
        steps = config.train.steps,
        "training multi-digit SPAN"
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
        let p = picks(config.train.seed, step, batch_size, canvases.pixels.len());
        let (images, fg, labels) = batch(&canvases, &p, config.loss.foreground_threshold, device);
        let l = train_step(&model, &mut opt, &images, &fg, &labels, &config);
        log.record(step, &l, &model.vs, &opt)?;
    }
    Ok(log.finish())
}
