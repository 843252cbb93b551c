//! Command-line arguments of `trainer train-features` and its entry point. Without the
//! `torch` feature the entry point checks the dataset, then explains how to build with
//! libtorch.

use std::path::PathBuf;

use crate::config::{Backbone, ConfigError, Preset};
use crate::features::config::FeaturesConfig;
use crate::span::cli::check_span_run;
use crate::train::TrainError;
use crate::train::run_args::RunArgs;

/// Command-line arguments of `trainer train-features`.
#[derive(Debug, clap::Args)]
pub struct TrainFeaturesArgs {
    /// Run directory, configuration source and schedule.
    #[command(flatten)]
    pub run: RunArgs,
    /// Dataset root in VeRi-776 layout (`image_train/` named `<id>_c<camera>_…`).
    #[arg(long)]
    pub data: PathBuf,
    /// A finished `train-span` run directory (its `latest.safetensors` gives the masks).
    #[arg(long)]
    pub span: PathBuf,
    /// Starting configuration.
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: Preset,
    /// Initialise the backbone randomly.
    #[arg(long, conflicts_with = "weights")]
    pub no_pretrained: bool,
    /// Two-stage backbone. A backbone without installed ImageNet weights (the ResNets)
    /// trains from scratch unless --weights is given; MobileNetV2's `stage2_head = false`
    /// does not carry over to the others.
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    /// A torchvision `.pth` state_dict of the backbone's network (implies pretrained).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Square input side in pixels.
    #[arg(long)]
    pub input_size: Option<u32>,
    /// ResNet-50: layer4 with stride 1 (the re-identification "last stride 1").
    #[arg(long)]
    pub last_stride_one: bool,
}

impl TrainFeaturesArgs {
    /// The configuration: the resumed run's, the `--config` file or the preset, then the
    /// flags.
    pub fn config(&self) -> Result<FeaturesConfig, ConfigError> {
        let mut c = self.run.base(FeaturesConfig::from_file, || {
            FeaturesConfig::preset(self.preset)
        })?;
        self.run.apply(&mut c.train);
        self.apply_model(&mut c);
        c.validate()?;
        Ok(c)
    }

    fn apply_model(&self, c: &mut FeaturesConfig) {
        let m = &mut c.model;
        if let Some(v) = self.backbone {
            m.backbone = v;
            if v != Backbone::MobilenetV2 {
                m.stage2_head = true;
            }
            if v != Backbone::Resnet50 {
                m.last_stride_one = false;
            }
            if !v.weights_installed() && m.weights.is_none() && self.weights.is_none() {
                m.pretrained = false;
            }
        }
        if let Some(v) = &self.weights {
            m.weights = Some(v.clone());
            m.pretrained = true;
        }
        if self.no_pretrained {
            m.pretrained = false;
        }
        if let Some(v) = self.input_size {
            m.input_size = v;
        }
        if self.last_stride_one {
            m.last_stride_one = true;
        }
    }
}

/// Runs `trainer train-features`.
pub fn run_train_features(args: &TrainFeaturesArgs) -> Result<(), TrainError> {
    let config = args.config()?;
    train(args, &config)
}

#[cfg(feature = "torch")]
fn train(args: &TrainFeaturesArgs, config: &FeaturesConfig) -> Result<(), TrainError> {
    if !args.run.resume {
        check_span_run(&args.span)?;
    }
    let summary = crate::features::train_loop::train_features(
        &args.data,
        &args.span,
        &args.run.out,
        config,
        args.run.resume,
    )?;
    tracing::info!(
        steps = summary.steps,
        steps_per_second = summary.steps_per_second,
        first_loss = summary.first_total,
        final_loss = summary.last_total,
        "feature training finished; checkpoint {}",
        summary.checkpoint.display()
    );
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn train(args: &TrainFeaturesArgs, _config: &FeaturesConfig) -> Result<(), TrainError> {
    use crate::train::reid_data;
    reid_data::scan_split(&args.data, reid_data::TRAIN_DIR)?;
    check_span_run(&args.span)?;
    Err(TrainError::NoTorch)
}

/// Command-line arguments of `trainer eval`.
#[derive(Debug, clap::Args)]
pub struct EvalFeaturesArgs {
    /// Dataset root in VeRi-776 layout with `image_query/` and `image_test/`.
    #[arg(long)]
    pub data: PathBuf,
    /// A `train-features` run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Where to write the JSON report (default: `<run>/eval/report.json`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also score CPDM followed by k-reciprocal re-ranking (k1 = 20, k2 = 6, λ = 0.3;
    /// memory-bounded, chunked).
    #[arg(long)]
    pub rerank: bool,
    /// Also draw `ranklist.png` beside the report: this many queries spread over the
    /// split, each with its CPDM top 10, true matches framed green, wrong ones red.
    #[arg(long, value_name = "QUERIES")]
    pub rank_list: Option<usize>,
}

/// Runs `trainer eval`: mAP, CMC and mINP under the three metrics, as JSON.
pub fn run_eval_features(args: &EvalFeaturesArgs) -> Result<(), TrainError> {
    evaluate(args)
}

#[cfg(feature = "torch")]
fn evaluate(args: &EvalFeaturesArgs) -> Result<(), TrainError> {
    let rerank = args
        .rerank
        .then(spanreid::eval::rerank::RerankConfig::default);
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("eval").join("report.json"));
    let picture = path.with_file_name("ranklist.png");
    let report = crate::features::eval::evaluate_run(
        &args.run,
        &args.data,
        rerank.as_ref(),
        args.rank_list.map(|n| (picture.as_path(), n)),
    )?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| TrainError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&path, json).map_err(|source| TrainError::Io {
        path: path.clone(),
        source,
    })?;
    for m in &report.metrics {
        tracing::info!(
            metric = ?m.metric,
            map = m.report.map,
            rank1 = m.report.cmc_at(1),
            minp = m.report.minp,
            "scored"
        );
    }
    tracing::info!("report written to {}", path.display());
    Ok(())
}

#[cfg(not(feature = "torch"))]
fn evaluate(args: &EvalFeaturesArgs) -> Result<(), TrainError> {
    use crate::train::reid_data;
    reid_data::scan_split(&args.data, reid_data::QUERY_DIR)?;
    reid_data::scan_split(&args.data, reid_data::GALLERY_DIR)?;
    Err(TrainError::NoTorch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: TrainFeaturesArgs,
    }

    fn parse(extra: &[&str]) -> TrainFeaturesArgs {
        let mut argv = vec!["t", "--data", "d", "--span", "s", "--out", "o"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    #[test]
    fn backbone_flags_select_resnet50_on_any_preset() {
        let c = parse(&["--backbone", "resnet50"]).config().expect("valid");
        assert_eq!(c.model.backbone, Backbone::Resnet50);
        assert!(!c.model.pretrained, "no installed ResNet-50 weights");
        assert!(c.model.stage2_head, "the head option is MobileNetV2's");
        assert_eq!(c.model.input_size, 128);

        let c = parse(&["--backbone", "resnet50", "--weights", "/w/r50.pth"])
            .config()
            .expect("valid");
        assert!(c.model.pretrained);
        assert_eq!(
            c.model.weights.as_deref(),
            Some(std::path::Path::new("/w/r50.pth"))
        );

        let c = parse(&[
            "--backbone",
            "resnet50",
            "--last-stride-one",
            "--input-size",
            "80",
        ])
        .config()
        .expect("stride 16");
        assert!(c.model.last_stride_one);

        let err = parse(&["--backbone", "resnet50", "--input-size", "80"])
            .config()
            .expect_err("80 is not a multiple of 32");
        assert!(err.to_string().contains("model.input_size"), "{err}");
        let err = parse(&["--last-stride-one"])
            .config()
            .expect_err("MobileNetV2");
        assert!(err.to_string().contains("model.last_stride_one"), "{err}");
    }
}
