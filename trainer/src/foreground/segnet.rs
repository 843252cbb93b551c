//! The segmentation CNN of the foreground pipeline (supplementary Sec. 1): SPAN's
//! `CNN_mask` with a single generator, trained with a per-pixel MSE on GrabCut's masks.
//! From `train.refine_from_epoch` on, the worst-fitting `train.refine_fraction` of each
//! batch get the network's own thresholded prediction as their target, for that step and
//! all later epochs, so GrabCut's failures stop pulling the network towards them.
//!
//! The run directory is a [`RunDir`] (`config.toml`, `loss.csv` with the columns
//! `step,mse,refined,agreement,total,seconds`, `loss.png`, checkpoints) plus
//! `targets.safetensors`, the refined targets as of the last checkpoint, so a resumed run
//! continues with them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tch::{Device, Kind, Tensor, nn};

use crate::foreground::config::ForegroundConfig;
use crate::foreground::refine;
use crate::model::span::SpanNet;
use crate::progress::bar as progress_bar;
use crate::span::train_loop::init_backbone_weights;
use crate::train::TrainError;
use crate::train::adam::Adam;
use crate::train::example::{flip_rows, load_image};
use crate::train::run_dir::{RunDir, RunState, write_atomic};

pub use crate::foreground::targets::Targets;

/// Header of the segmentation run's `loss.csv`.
pub const CSV_HEADER: &str = "step,mse,refined,agreement,total,seconds";
/// The refined targets of a run.
pub const TARGETS_FILE: &str = "targets.safetensors";

pub(crate) fn torch_err(what: impl Into<String>) -> impl FnOnce(tch::TchError) -> TrainError {
    let what = what.into();
    move |source| TrainError::Torch { what, source }
}

/// The network with its variables.
pub struct SegNet {
    /// Variables.
    pub vs: nn::VarStore,
    net: SpanNet,
}

impl SegNet {
    /// A fresh network for `config` on `device`, seeded by the config.
    pub fn new(config: &ForegroundConfig, device: Device) -> Self {
        tch::manual_seed(config.train.seed as i64);
        let vs = nn::VarStore::new(device);
        let net = SpanNet::with_generators(&vs.root(), &config.model, &["foreground"]);
        Self { vs, net }
    }

    /// The trained network of `run`.
    pub fn load(run: &Path, device: Device) -> Result<(ForegroundConfig, Self), TrainError> {
        let config = ForegroundConfig::from_file(&RunDir::new(run).config_path())?;
        let mut model = Self::new(&config, device);
        let latest = RunDir::new(run).latest();
        model.vs.load(&latest).map_err(torch_err(format!(
            "loading checkpoint {}",
            latest.display()
        )))?;
        Ok((config, model))
    }

    /// Foreground probabilities N×1×S×S of N×3×S×S images in [0, 1].
    pub fn forward(&self, images: &Tensor, train: bool) -> Tensor {
        self.net.masks(images, train)
    }
}

/// Steps of one pass over `images` images.
pub fn steps_per_epoch(images: usize, batch: u32) -> u64 {
    images.div_ceil(batch.max(1) as usize) as u64
}

/// The images (index, flipped) of 0-based `step`: epoch-wise seeded shuffles, and a flip
/// per image drawn from the step's own seed, so a resumed run draws what an uninterrupted
/// one would.
pub fn picks(step: u64, images: usize, config: &ForegroundConfig) -> Vec<(usize, bool)> {
    let t = &config.train;
    let per_epoch = steps_per_epoch(images, t.batch_size);
    let (epoch, k) = (step / per_epoch, (step % per_epoch) as usize);
    let mut order: Vec<usize> = (0..images).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(
        t.seed ^ (epoch + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    let b = t.batch_size as usize;
    let mut flips = ChaCha8Rng::seed_from_u64(
        t.seed
            .wrapping_add(step.wrapping_mul(0xD1B5_4A32_D192_ED03)),
    );
    order[k * b..((k + 1) * b).min(images)]
        .iter()
        .map(|&i| (i, t.flip && rand::Rng::random_bool(&mut flips, 0.5)))
        .collect()
}

fn load_batch(
    images: &[PathBuf],
    picks: &[(usize, bool)],
    size: u32,
    device: Device,
) -> Result<Tensor, TrainError> {
    let planes: Vec<Vec<f32>> = picks
        .par_iter()
        .map(|&(i, flip)| {
            let mut img = load_image(&images[i], size)?;
            if flip {
                flip_rows(&mut img, size as usize);
            }
            Ok(img)
        })
        .collect::<Result<_, TrainError>>()?;
    let s = i64::from(size);
    Ok(Tensor::from_slice(&planes.concat())
        .view([picks.len() as i64, 3, s, s])
        .to_device(device))
}

/// What a training invocation did.
#[derive(Clone, Debug)]
pub struct SegSummary {
    /// Steps done in this invocation.
    pub steps: u64,
    /// Steps per second in this invocation (data loading included).
    pub steps_per_second: f64,
    /// MSE of the first step of this invocation.
    pub first_mse: f64,
    /// MSE of the last step.
    pub last_mse: f64,
    /// Targets replaced over the whole run.
    pub refined: u64,
}

/// Trains (or resumes) the CNN on `images` with their GrabCut `masks`, into `out`.
pub fn train_segnet(
    images: &[PathBuf],
    masks: &[PathBuf],
    out: &Path,
    config: &ForegroundConfig,
) -> Result<SegSummary, TrainError> {
    config.validate()?;
    let t = &config.train;
    if t.threads > 0 {
        tch::set_num_threads(t.threads as i32);
    }
    let run = RunDir::new(out);
    let device = Device::cuda_if_available();
    let mut model = SegNet::new(config, device);
    let mut targets = Targets::from_masks(masks, config.model.input_size)?;
    let total = u64::from(t.epochs) * steps_per_epoch(images.len(), t.batch_size);
    let mut opt = Adam::new(&model.vs, t.learning_rate);
    let start = match run.state()? {
        Some(s) => {
            model.vs.load(run.latest()).map_err(torch_err(format!(
                "loading checkpoint {}",
                run.latest().display()
            )))?;
            run.resume_optimizer(&mut opt, s.step)?;
            let path = out.join(TARGETS_FILE);
            if path.is_file() {
                targets.load(&path, s.step)?;
            }
            run.save_config_toml(&config.to_toml())?;
            s.step
        }
        None => {
            init_backbone_weights(&mut model.vs, &config.model)?;
            run.start_toml(&config.to_toml())?;
            write_atomic(&run.csv_path(), format!("{CSV_HEADER}\n").as_bytes())?;
            0
        }
    };
    tracing::info!(
        images = images.len(),
        ?device,
        start,
        steps = total,
        "training the segmentation CNN"
    );
    let bar = progress_bar(start, total);
    let began = Instant::now();
    let per_epoch = steps_per_epoch(images.len(), t.batch_size);
    let (mut lines, mut first, mut last) = (Vec::new(), f64::NAN, f64::NAN);
    for step in start..total {
        let picks = picks(step, images.len(), config);
        let x = load_batch(images, &picks, config.model.input_size, device)?;
        let probs = model.forward(&x, true);
        let y = targets.batch(&picks, device);
        if refine::refines((step / per_epoch) as u32, t.refine_from_epoch) {
            let per_sample = (&probs - &y)
                .square()
                .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float)
                .detach();
            let losses = Vec::<f64>::try_from(per_sample.to_kind(Kind::Double))
                .map_err(torch_err("reading per-sample losses"))?;
            let worst = refine::worst(&losses, t.refine_fraction);
            if !worst.is_empty() {
                let own = probs
                    .detach()
                    .ge(f64::from(config.threshold))
                    .to_kind(Kind::Float);
                for &k in &worst {
                    let plane = own.get(k as i64);
                    let mut row = y.get(k as i64);
                    row.copy_(&plane);
                    let bytes = Vec::<u8>::try_from(plane.to_kind(Kind::Uint8).view([-1]))
                        .map_err(torch_err("reading a refined target"))?;
                    targets.replace(picks[k].0, bytes, picks[k].1);
                }
            }
        }
        let loss = (&probs - &y).square().mean(Kind::Float);
        opt.backward_step(&loss);
        let mse = loss.double_value(&[]);
        if !mse.is_finite() {
            crate::train::run_dir::append_csv(&run.csv_path(), &lines)?;
            return Err(TrainError::Diverged {
                step: step + 1,
                checkpoint: run.latest(),
            });
        }
        let agreement = {
            let p = probs
                .detach()
                .ge(f64::from(config.threshold))
                .to_kind(Kind::Float);
            let both = (&p * &y).sum(Kind::Float).double_value(&[]);
            let either = p.maximum(&y).sum(Kind::Float).double_value(&[]);
            if either > 0.0 { both / either } else { 1.0 }
        };
        if first.is_nan() {
            first = mse;
        }
        last = mse;
        bar.set_message(format!(
            "mse {mse:.4} agreement {agreement:.3} refined {}",
            targets.refined
        ));
        bar.inc(1);
        lines.push(format!(
            "{},{mse:.6},{},{agreement:.4},{mse:.6},{:.3}\n",
            step + 1,
            targets.refined,
            began.elapsed().as_secs_f64()
        ));
        let done = step + 1;
        if done.is_multiple_of(t.checkpoint_every) || done == total {
            crate::train::run_dir::append_csv(&run.csv_path(), &lines)?;
            lines.clear();
            run.plot_losses()?;
            targets.save(&out.join(TARGETS_FILE), done)?;
            run.checkpoint(&model.vs, &opt, RunState { step: done })?;
        }
    }
    bar.finish();
    let steps = total.saturating_sub(start);
    let secs = began.elapsed().as_secs_f64();
    Ok(SegSummary {
        steps,
        steps_per_second: if secs > 0.0 { steps as f64 / secs } else { 0.0 },
        first_mse: first,
        last_mse: last,
        refined: targets.refined,
    })
}

/// Targets replaced over the run in `run`, as of its last checkpoint.
pub fn saved_refined(run: &Path) -> Result<u64, TrainError> {
    let path = run.join(TARGETS_FILE);
    let tensors = Tensor::read_safetensors(&path)
        .map_err(torch_err(format!("reading {}", path.display())))?;
    let meta = tensors
        .into_iter()
        .find(|(n, _)| n == "step_refined")
        .and_then(|(_, t)| Vec::<i64>::try_from(t).ok());
    match meta.as_deref() {
        Some([_, refined]) => Ok((*refined).max(0) as u64),
        _ => Err(TrainError::Corrupt {
            path,
            reason: "no `step_refined` tensor of two values".to_owned(),
        }),
    }
}

/// Total steps of a run on `images` images.
pub fn total_steps(images: usize, config: &ForegroundConfig) -> u64 {
    u64::from(config.train.epochs) * steps_per_epoch(images, config.train.batch_size)
}

#[cfg(test)]
#[path = "segnet_tests.rs"]
mod tests;
