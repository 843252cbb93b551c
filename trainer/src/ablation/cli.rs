//! Command-line arguments of `trainer ablate-span` (Table 1) and `trainer ablate-features`
//! (Table 2) and their entry points. Without the `torch` feature each entry point still
//! checks its inputs, then explains how to build with libtorch.

use std::path::PathBuf;

#[cfg(feature = "torch")]
use crate::ablation::{table1, table2};
use crate::config::{ConfigError, Preset};
use crate::features::config::FeaturesConfig;
#[cfg(not(feature = "torch"))]
use crate::span::cli::check_span_run;
use crate::span::config::SpanConfig;
use crate::train::TrainError;
#[cfg(not(feature = "torch"))]
use crate::train::data;

/// Command-line arguments of `trainer ablate-span`.
#[derive(Debug, clap::Args)]
pub struct AblateSpanArgs {
    /// Dataset root with foreground masks (training) and part masks (scoring, image_test).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory: one run per row and `ablation.md`.
    #[arg(long)]
    pub out: PathBuf,
    /// Starting configuration of every row.
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: Preset,
    /// TOML file overriding the preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Steps of each run.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Mask threshold of the IoU.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Also train a part feature network with the CPDM distance on each row's masks for
    /// this many steps (the preset's feature configuration) and report its mAP and rank-1:
    /// Table 1's own figures. Needs the query / gallery splits.
    #[arg(long)]
    pub reid_steps: Option<u64>,
    /// Seed of every run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// libtorch threads (0: its default).
    #[arg(long)]
    pub threads: Option<u32>,
}

impl AblateSpanArgs {
    /// The SPAN configuration every row starts from, and the feature configuration of the
    /// re-ID columns when `--reid-steps` is given.
    pub fn configs(&self) -> Result<(SpanConfig, Option<FeaturesConfig>), ConfigError> {
        let mut base = match &self.config {
            Some(path) => SpanConfig::from_file(path)?,
            None => self.preset.config(),
        };
        if let Some(steps) = self.steps {
            base.train.steps = steps;
        }
        if let Some(v) = self.seed {
            base.train.seed = v;
        }
        if let Some(v) = self.threads {
            base.train.threads = v;
        }
        base.validate()?;
        let features = match self.reid_steps {
            Some(steps) => {
                let mut f = FeaturesConfig::preset(self.preset);
                f.train.steps = steps;
                f.train.seed = base.train.seed;
                f.train.threads = base.train.threads;
                f.validate()?;
                Some(f)
            }
            None => None,
        };
        Ok((base, features))
    }
}

/// Runs `trainer ablate-span`: the four loss settings of the paper's Table 1.
pub fn run_ablate_span(args: &AblateSpanArgs) -> Result<(), TrainError> {
    let (base, features) = args.configs()?;
    ablate_span(args, &base, features.as_ref())
}

#[cfg(feature = "torch")]
fn ablate_span(
    args: &AblateSpanArgs,
    base: &SpanConfig,
    features: Option<&FeaturesConfig>,
) -> Result<(), TrainError> {
    let results = table1::run_ablation(&args.data, &args.out, base, args.threshold, features)?;
    tracing::info!(
        "loss ablation written to {}:\n{}",
        args.out.join("ablation.md").display(),
        table1::markdown(&results)
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn ablate_span(
    args: &AblateSpanArgs,
    base: &SpanConfig,
    _features: Option<&FeaturesConfig>,
) -> Result<(), TrainError> {
    data::scan(
        &args.data,
        base.train.fg_masks.as_deref(),
        &base.train.views,
    )?;
    Err(TrainError::NoTorch)
}

/// Command-line arguments of `trainer ablate-features`.
#[derive(Debug, clap::Args)]
pub struct AblateFeaturesArgs {
    /// Dataset root in VeRi-776 layout (train, query and gallery splits; foreground masks
    /// when SPAN is trained here).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory: one run per row, `table2.md`, `table2.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// A finished `train-span` run for every row (default: train one into `<out>/span`
    /// with the preset's SPAN configuration).
    #[arg(long)]
    pub span: Option<PathBuf>,
    /// Starting configuration of every row (and of SPAN when it is trained here).
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: Preset,
    /// TOML file overriding the feature preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Steps of each feature run.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Steps of the SPAN run trained here.
    #[arg(long)]
    pub span_steps: Option<u64>,
    /// Seed of every run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// libtorch threads (0: its default).
    #[arg(long)]
    pub threads: Option<u32>,
}

impl AblateFeaturesArgs {
    /// The feature configuration shared by every row, and the SPAN configuration used when
    /// SPAN is trained here.
    pub fn configs(
        &self,
    ) -> Result<(FeaturesConfig, crate::span::config::SpanConfig), ConfigError> {
        let mut c = match &self.config {
            Some(path) => FeaturesConfig::from_file(path)?,
            None => FeaturesConfig::preset(self.preset),
        };
        let mut span = self.preset.config();
        if let Some(v) = self.steps {
            c.train.steps = v;
        }
        if let Some(v) = self.span_steps {
            span.train.steps = v;
        }
        if let Some(v) = self.seed {
            c.train.seed = v;
            span.train.seed = v;
        }
        if let Some(v) = self.threads {
            c.train.threads = v;
            span.train.threads = v;
        }
        c.validate()?;
        span.validate()?;
        Ok((c, span))
    }
}

/// Runs `trainer ablate-features`: the rows of the paper's Table 2.
pub fn run_ablate_features(args: &AblateFeaturesArgs) -> Result<(), TrainError> {
    let (config, span) = args.configs()?;
    ablate_features(args, &config, &span)
}

#[cfg(feature = "torch")]
fn ablate_features(
    args: &AblateFeaturesArgs,
    config: &FeaturesConfig,
    span: &SpanConfig,
) -> Result<(), TrainError> {
    let table = table2::run_table2(&args.data, &args.out, args.span.as_deref(), span, config)?;
    tracing::info!(
        "Table 2 written to {}:\n{}",
        args.out.join("table2.md").display(),
        table2::markdown(&table)
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn ablate_features(
    args: &AblateFeaturesArgs,
    _config: &FeaturesConfig,
    _span: &SpanConfig,
) -> Result<(), TrainError> {
    use crate::train::reid_data;
    for split in [
        reid_data::TRAIN_DIR,
        reid_data::QUERY_DIR,
        reid_data::GALLERY_DIR,
    ] {
        reid_data::scan_split(&args.data, split)?;
    }
    if let Some(span) = &args.span {
        check_span_run(span)?;
    }
    Err(TrainError::NoTorch)
}
