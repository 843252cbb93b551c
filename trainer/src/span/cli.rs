//! Command-line arguments of the SPAN subcommands and their entry points. Without the
//! `torch` feature each entry point still checks its inputs, then explains how to build
//! with libtorch.

use std::path::{Path, PathBuf};

use crate::config::{Backbone, ConfigError, Preset};
use crate::span::config::SpanConfig;
#[cfg(feature = "torch")]
use crate::span::{eval, train_loop};
use crate::train::run_args::RunArgs;
use crate::train::{TrainError, data};

/// Command-line arguments of `trainer train-span`.
#[derive(Debug, clap::Args)]
pub struct TrainSpanArgs {
    /// Run directory, configuration source and schedule.
    #[command(flatten)]
    pub run: RunArgs,
    /// Dataset root in VeRi-776 layout with `mask_fg/` and a view-label file.
    #[arg(long)]
    pub data: PathBuf,
    /// Starting configuration.
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: Preset,
    /// Images per step.
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Square input side in pixels.
    #[arg(long)]
    pub input_size: Option<u32>,
    /// Stage-1 backbone.
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    /// A `.pth` state_dict for the backbone (implies pretrained).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Initialise the backbone randomly.
    #[arg(long, conflicts_with = "weights")]
    pub no_pretrained: bool,
    /// Foreground masks to train with instead of `--data`'s `mask_fg/` (e.g. the `mask_fg/`
    /// that `trainer foreground` wrote for a dataset without masks).
    #[arg(long, value_name = "DIR")]
    pub fg_masks: Option<PathBuf>,
}

impl TrainSpanArgs {
    /// The configuration: `base` (preset, file, or the resumed run's), then the flags.
    pub fn apply(&self, mut c: SpanConfig) -> Result<SpanConfig, ConfigError> {
        self.run.apply(&mut c.train);
        if let Some(v) = self.batch_size {
            c.train.batch_size = v;
        }
        if let Some(v) = self.input_size {
            c.model.input_size = v;
        }
        if let Some(v) = self.backbone {
            c.model.backbone = v;
            if !v.weights_installed() && c.model.weights.is_none() {
                c.model.pretrained = false;
            }
        }
        if let Some(v) = &self.weights {
            c.model.weights = Some(v.clone());
            c.model.pretrained = true;
        }
        if self.no_pretrained {
            c.model.pretrained = false;
        }
        if let Some(v) = &self.fg_masks {
            c.train.fg_masks = Some(v.clone());
        }
        c.validate()?;
        Ok(c)
    }

    /// The base configuration before flags: the run's saved config on `--resume`, else the
    /// `--config` file, else the preset.
    pub fn base(&self) -> Result<SpanConfig, ConfigError> {
        self.run
            .base(SpanConfig::from_file, || self.preset.config())
    }
}

/// Runs `trainer train-span`.
pub fn run_train_span(args: &TrainSpanArgs) -> Result<(), TrainError> {
    let config = args.apply(args.base()?)?;
    train(&args.data, &args.run.out, &config, args.run.resume)
}

#[cfg(feature = "torch")]
fn train(data: &Path, out: &Path, config: &SpanConfig, resume: bool) -> Result<(), TrainError> {
    let summary = train_loop::train_span(data, out, config, resume)?;
    tracing::info!(
        steps = summary.steps,
        steps_per_second = summary.steps_per_second,
        first_loss = summary.first_total,
        final_loss = summary.last_total,
        "SPAN training finished; checkpoint {}",
        summary.checkpoint.display()
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn train(data: &Path, _out: &Path, config: &SpanConfig, _resume: bool) -> Result<(), TrainError> {
    // Check the dataset first so that a user learns about both problems at once.
    data::scan(data, config.train.fg_masks.as_deref(), &config.train.views)?;
    Err(TrainError::NoTorch)
}

/// Command-line arguments of `trainer eval-span`.
#[derive(Debug, clap::Args)]
pub struct EvalSpanArgs {
    /// Run directory written by `train-span`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset root with ground-truth part masks (`mask_parts/`).
    #[arg(long)]
    pub data: PathBuf,
    /// Image folder to score (held-out identities: image_test).
    #[arg(long, default_value = "image_test", value_parser = ["image_test", "image_query", "image_train"])]
    pub split: String,
    /// A pixel belongs to a view's mask when the mask is at least this.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Rows in the mask picture `eval/masks.png`.
    #[arg(long, default_value_t = 8)]
    pub overlays: usize,
}

/// Runs `trainer eval-span`.
pub fn run_eval_span(args: &EvalSpanArgs) -> Result<(), TrainError> {
    let split: &'static str = match args.split.as_str() {
        "image_query" => "image_query",
        "image_train" => data::IMAGE_DIR,
        _ => "image_test",
    };
    evaluate(args, split)
}

#[cfg(feature = "torch")]
fn evaluate(args: &EvalSpanArgs, split: &'static str) -> Result<(), TrainError> {
    let r = eval::eval_span(&args.run, &args.data, split, args.threshold, args.overlays)?;
    let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
    tracing::info!(
        images = r.images,
        front = %fmt(r.front),
        rear = %fmt(r.rear),
        side = %fmt(r.side),
        mean = %fmt(r.mean),
        "mask IoU written to {}",
        args.run.join("eval").display()
    );
    if let Some(d) = &r.detail {
        tracing::info!("\n{}", eval::detail_markdown(d));
    }
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn evaluate(args: &EvalSpanArgs, split: &'static str) -> Result<(), TrainError> {
    data::scan_with_parts(&args.data, split)?;
    Err(TrainError::NoTorch)
}

/// Fails when `dir` does not hold a finished SPAN run.
pub fn check_span_run(dir: &Path) -> Result<(), TrainError> {
    for name in ["config.toml", "latest.safetensors"] {
        if !dir.join(name).is_file() {
            return Err(TrainError::NoWeights(format!(
                "{} is not a SPAN run: {name} is missing",
                dir.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TrainSpanArgs,
    }

    fn parse(extra: &[&str]) -> TrainSpanArgs {
        let mut argv = vec!["t", "--data", "d", "--out", "o"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    #[test]
    fn flags_override_the_preset() {
        let a = parse(&[
            "--preset",
            "tiny",
            "--steps",
            "3",
            "--lr",
            "0.5",
            "--no-pretrained",
            "--fg-masks",
            "fg/mask_fg",
        ]);
        let c = a.apply(a.base().expect("base")).expect("valid");
        assert_eq!(c.train.fg_masks.as_deref(), Some(Path::new("fg/mask_fg")));
        // The mask directory is part of the run's saved configuration, so a resume keeps it.
        let saved = SpanConfig::from_toml(&c.to_toml(), Path::new("saved")).expect("round trip");
        assert_eq!(saved, c);
        assert_eq!(c.train.steps, 3);
        assert_eq!(c.train.learning_rate, 0.5);
        assert_eq!(c.model.input_size, 64);
        assert!(!c.model.pretrained);
    }

    #[test]
    fn invalid_overrides_are_rejected() {
        let a = parse(&["--batch-size", "0"]);
        let err = a.apply(a.base().expect("base")).expect_err("zero batch");
        assert!(err.to_string().contains("batch_size"), "{err}");
        let a = parse(&["--backbone", "resnet34", "--input-size", "100"]);
        assert!(a.apply(a.base().expect("base")).is_err());
    }

    #[test]
    fn missing_dataset_is_reported_before_anything_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = TrainSpanArgs {
            data: dir.path().join("nope"),
            ..parse(&["--preset", "tiny"])
        };
        a.run.out = dir.path().join("run");
        let err = run_train_span(&a).expect_err("no dataset");
        assert!(err.to_string().contains("image_train/"), "{err}");
        assert!(!a.run.out.exists(), "nothing is written for a bad dataset");
    }
}
