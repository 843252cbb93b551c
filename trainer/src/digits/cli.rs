//! Command-line arguments of `synth-digits`, `train-digits` and `eval-digits` and their
//! entry points. Without the `torch` feature, training and scoring check their inputs, then
//! explain how to build with libtorch.

use std::path::{Path, PathBuf};

use crate::digits::DigitsError;
use crate::digits::config::{DigitsConfig, DigitsPreset};
use crate::digits::dataset::{self, DatasetMeta};
use crate::digits::{files, mnist};
use crate::train::run_args::RunArgs;

/// Command-line arguments of `trainer synth-digits`.
#[derive(Debug, clap::Args)]
pub struct SynthDigitsArgs {
    /// Output directory (digits.toml, index.csv, train/, test/).
    #[arg(long)]
    pub out: PathBuf,
    /// Digit classes, one mask generator each (default: those of the paper's Fig. 4b).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    pub classes: Vec<u8>,
    /// Training canvases.
    #[arg(long, default_value_t = 3000)]
    pub train: usize,
    /// Test canvases.
    #[arg(long, default_value_t = 500)]
    pub test: usize,
    /// Canvas side in pixels (the SPAN input size; a multiple of the backbone stride).
    #[arg(long, default_value_t = 96)]
    pub size: u32,
    /// Fewest digits per canvas.
    #[arg(long, default_value_t = 1)]
    pub min_digits: u32,
    /// Most digits per canvas.
    #[arg(long, default_value_t = 3)]
    pub max_digits: u32,
    /// Smallest digit side as a fraction of the canvas side.
    #[arg(long, default_value_t = 0.3)]
    pub min_scale: f32,
    /// Largest digit side as a fraction of the canvas side.
    #[arg(long, default_value_t = 0.45)]
    pub max_scale: f32,
    /// Fraction of each class's MNIST samples kept for test canvases only.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f32,
    /// Random seed (the dataset is a function of the seed and the options).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory with the MNIST class files (default: installed by trainer/install-mnist.sh).
    #[arg(long)]
    pub mnist: Option<PathBuf>,
}

impl SynthDigitsArgs {
    /// The dataset these options describe.
    pub fn meta(&self) -> DatasetMeta {
        DatasetMeta {
            classes: self.classes.clone(),
            size: self.size,
            min_digits: self.min_digits,
            max_digits: self.max_digits,
            min_scale: self.min_scale,
            max_scale: self.max_scale,
            test_fraction: self.test_fraction,
            train: self.train,
            test: self.test,
            seed: self.seed,
        }
    }
}

/// Runs `trainer synth-digits`.
pub fn run_synth_digits(args: &SynthDigitsArgs) -> Result<(), DigitsError> {
    let meta = args.meta();
    meta.validate()?;
    let dir = match &args.mnist {
        Some(d) => d.clone(),
        None => mnist::default_dir()?,
    };
    let digits = mnist::load(&dir, &meta.classes)?;
    let canvases = dataset::generate(&meta, &digits)?;
    files::write_dataset(&args.out, &meta, &canvases)?;
    tracing::info!(
        train = meta.train,
        test = meta.test,
        classes = ?meta.classes,
        "multi-digit dataset written to {}",
        args.out.display()
    );
    Ok(())
}

/// Command-line arguments of `trainer train-digits`.
#[derive(Debug, clap::Args)]
pub struct TrainDigitsArgs {
    /// Run directory, configuration source and schedule.
    #[command(flatten)]
    pub run: RunArgs,
    /// Dataset written by `trainer synth-digits`.
    #[arg(long)]
    pub data: PathBuf,
    /// Starting configuration.
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: DigitsPreset,
    /// Canvases per step.
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// λ_area.
    #[arg(long)]
    pub lambda_area: Option<f64>,
    /// Initialise the backbone randomly.
    #[arg(long)]
    pub no_pretrained: bool,
}

impl TrainDigitsArgs {
    /// The configuration: the resumed run's, else `--config`, else the preset; then flags.
    pub fn config(&self) -> Result<DigitsConfig, DigitsError> {
        let mut c = self
            .run
            .base(DigitsConfig::from_file, || self.preset.config())?;
        self.run.apply(&mut c.train);
        let t = &mut c.train;
        t.batch_size = self.batch_size.unwrap_or(t.batch_size);
        c.loss.lambda_area = self.lambda_area.unwrap_or(c.loss.lambda_area);
        if self.no_pretrained {
            c.model.pretrained = false;
        }
        c.validate()?;
        Ok(c)
    }
}

/// Runs `trainer train-digits`.
pub fn run_train_digits(args: &TrainDigitsArgs) -> Result<(), DigitsError> {
    let config = args.config()?;
    train(&args.data, &args.run.out, &config, args.run.resume)
}

#[cfg(feature = "torch")]
fn train(data: &Path, out: &Path, config: &DigitsConfig, resume: bool) -> Result<(), DigitsError> {
    let s = crate::digits::train_loop::train_digits(data, out, config, resume)?;
    tracing::info!(
        steps = s.steps,
        steps_per_second = s.steps_per_second,
        first_loss = s.first_total,
        final_loss = s.last_total,
        "multi-digit SPAN training finished; checkpoint {}",
        s.checkpoint.display()
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn train(
    data: &Path,
    _out: &Path,
    _config: &DigitsConfig,
    _resume: bool,
) -> Result<(), DigitsError> {
    files::open_dataset(data)?;
    Err(crate::train::TrainError::NoTorch.into())
}

/// Command-line arguments of `trainer eval-digits`.
#[derive(Debug, clap::Args)]
pub struct EvalDigitsArgs {
    /// Run directory written by `train-digits`.
    #[arg(long)]
    pub run: PathBuf,
    /// The dataset (its test split is scored).
    #[arg(long)]
    pub data: PathBuf,
    /// Mask thresholds to report the IoU at.
    #[arg(long, value_delimiter = ',', default_value = "0.2,0.3,0.5")]
    pub thresholds: Vec<f32>,
    /// Canvases in the picture `eval/digits.png`.
    #[arg(long, default_value_t = 8)]
    pub overlays: usize,
}

/// Runs `trainer eval-digits`; returns the markdown table.
pub fn run_eval_digits(args: &EvalDigitsArgs) -> Result<String, DigitsError> {
    if args.thresholds.is_empty() || args.thresholds.iter().any(|t| !(*t > 0.0 && *t <= 1.0)) {
        return Err(DigitsError::Invalid {
            field: "--thresholds",
            reason: "give one or more thresholds in (0, 1]".into(),
        });
    }
    evaluate(args)
}

#[cfg(feature = "torch")]
fn evaluate(args: &EvalDigitsArgs) -> Result<String, DigitsError> {
    let r =
        crate::digits::eval::eval_digits(&args.run, &args.data, &args.thresholds, args.overlays)?;
    tracing::info!("report written to {}", args.run.join("eval").display());
    Ok(crate::digits::report::markdown(&r))
}

#[cfg(not(feature = "torch"))]
fn evaluate(args: &EvalDigitsArgs) -> Result<String, DigitsError> {
    files::open_dataset(&args.data)?;
    Err(crate::train::TrainError::NoTorch.into())
}
