//! Command-line arguments of `trainer foreground`.

use std::path::PathBuf;

use crate::config::{Backbone, ConfigError, Preset};
use crate::foreground::config::ForegroundConfig;
use crate::foreground::pipeline::{self, Plan};
use crate::train::TrainError;

/// Image folders a mask can be made for.
const SPLITS: [&str; 3] = ["image_train", "image_test", "image_query"];

/// Command-line arguments of `trainer foreground`.
#[derive(Debug, clap::Args)]
pub struct ForegroundArgs {
    /// Dataset root in VeRi-776 layout (`image_train/`, optionally `image_test/`,
    /// `image_query/`; true masks in `mask_fg/` are only used for scoring).
    #[arg(long)]
    pub data: PathBuf,
    /// Output directory: `grabcut/`, `segnet/`, `mask_fg/`, `report.md`, `foreground.png`.
    #[arg(long)]
    pub out: PathBuf,
    /// Starting configuration.
    #[arg(long, value_enum, default_value = "cpu")]
    pub preset: Preset,
    /// TOML file overriding the preset (fields left out keep the paper's defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Image folders to make masks for (the CNN trains on image_train's).
    #[arg(long, value_delimiter = ',', default_value = "image_train,image_test,image_query",
          value_parser = clap::builder::PossibleValuesParser::new(SPLITS))]
    pub splits: Vec<String>,
    /// Stop after GrabCut (no libtorch needed).
    #[arg(long)]
    pub grabcut_only: bool,
    /// GrabCut iterations.
    #[arg(long)]
    pub iterations: Option<u32>,
    /// Replicated border in pixels around each image (GrabCut's background seed).
    #[arg(long)]
    pub border: Option<u32>,
    /// One GrabCut run per image (no intersection with the mirrored run).
    #[arg(long)]
    pub no_flip_and: bool,
    /// Epochs of the CNN.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Images per CNN step.
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Adam learning rate of the CNN.
    #[arg(long)]
    pub lr: Option<f64>,
    /// The CNN's backbone.
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    /// Square input side of the CNN.
    #[arg(long)]
    pub input_size: Option<u32>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads of libtorch and of the GrabCut workers (0: their defaults).
    #[arg(long)]
    pub threads: Option<u32>,
}

impl ForegroundArgs {
    /// The configuration: `--config` or the preset, then the flags; validated.
    pub fn config(&self) -> Result<ForegroundConfig, ConfigError> {
        let mut c = match &self.config {
            Some(path) => ForegroundConfig::from_file(path)?,
            None => ForegroundConfig::preset(self.preset),
        };
        let t = &mut c.train;
        for (flag, field) in [
            (self.epochs, &mut t.epochs),
            (self.batch_size, &mut t.batch_size),
        ] {
            if let Some(v) = flag {
                *field = v;
            }
        }
        if let Some(v) = self.lr {
            t.learning_rate = v;
        }
        if let Some(v) = self.seed {
            t.seed = v;
        }
        if let Some(v) = self.threads {
            t.threads = v;
        }
        if let Some(v) = self.iterations {
            c.grabcut.iterations = v;
        }
        if let Some(v) = self.border {
            c.grabcut.border = v;
        }
        if self.no_flip_and {
            c.grabcut.flip_and = false;
        }
        if let Some(v) = self.backbone {
            c.model.backbone = v;
            if !v.weights_installed() && c.model.weights.is_none() {
                c.model.pretrained = false;
            }
        }
        if let Some(v) = self.input_size {
            c.model.input_size = v;
        }
        c.validate()?;
        Ok(c)
    }

    fn plan(&self) -> Plan {
        let mut splits: Vec<&'static str> = SPLITS
            .into_iter()
            .filter(|s| self.splits.iter().any(|a| a == s))
            .collect();
        if !self.grabcut_only && !splits.contains(&SPLITS[0]) {
            // The CNN learns from the training split's GrabCut masks.
            splits.insert(0, SPLITS[0]);
        }
        Plan {
            splits,
            cnn: !self.grabcut_only,
        }
    }
}

/// Runs `trainer foreground`.
pub fn run_foreground(args: &ForegroundArgs) -> Result<(), TrainError> {
    let config = args.config()?;
    let threads = config.train.threads as usize;
    let plan = args.plan();
    let run = || pipeline::run_foreground(&args.data, &args.out, &config, &plan);
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| TrainError::Io {
                path: args.out.clone(),
                source: std::io::Error::other(format!(
                    "cannot start {threads} worker threads: {e}"
                )),
            })?
            .install(run)?;
    } else {
        run()?;
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
        args: ForegroundArgs,
    }

    fn parse(extra: &[&str]) -> ForegroundArgs {
        let mut argv = vec!["t", "--data", "d", "--out", "o"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    #[test]
    fn flags_override_the_preset() {
        let a = parse(&[
            "--preset",
            "tiny",
            "--epochs",
            "7",
            "--iterations",
            "3",
            "--no-flip-and",
            "--threads",
            "2",
        ]);
        let c = a.config().expect("valid");
        assert_eq!(c.train.epochs, 7);
        assert_eq!(c.grabcut.iterations, 3);
        assert!(!c.grabcut.flip_and);
        assert_eq!(c.train.threads, 2);
        assert_eq!(c.model.input_size, 64);
        let err = parse(&["--epochs", "0"]).config().expect_err("zero epochs");
        assert!(err.to_string().contains("train.epochs"), "{err}");
    }

    #[test]
    fn the_cnn_always_sees_the_training_split() {
        let p = parse(&["--splits", "image_test"]).plan();
        assert_eq!(p.splits, ["image_train", "image_test"]);
        assert!(p.cnn);
        let p = parse(&["--splits", "image_query,image_test", "--grabcut-only"]).plan();
        assert_eq!(p.splits, ["image_test", "image_query"]);
        assert!(!p.cnn);
    }
}
