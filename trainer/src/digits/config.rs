//! Configuration of `trainer train-digits`: the SPAN network shape (shared with the
//! vehicle network), the generalised losses and optimisation, two presets and TOML files.

use serde::{Deserialize, Serialize};

use crate::config::{Backbone, ConfigError, ModelConfig};

/// Loss weights of the multi-digit SPAN (see [`crate::span::loss::class_losses`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsLossConfig {
    /// λ_recon.
    pub lambda_recon: f64,
    /// λ_area (caps: 1 for a present class, 0 for an absent one).
    pub lambda_area: f64,
    /// λ_div.
    pub lambda_div: f64,
    /// Margin of the diversity hinge, the same for every pair of classes.
    pub margin: f64,
    /// A canvas pixel is foreground `V` when its grey level (in [0, 1]) is at least this:
    /// what a user thresholds to get the digits' pixels.
    pub foreground_threshold: f64,
}

impl Default for DigitsLossConfig {
    fn default() -> Self {
        Self {
            lambda_recon: 1.0,
            lambda_area: 0.05,
            lambda_div: 1.0,
            margin: 0.0,
            foreground_threshold: 0.5,
        }
    }
}

/// Optimisation and bookkeeping (no flips: mirrored digits are other shapes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsTrainConfig {
    /// Canvases per step.
    pub batch_size: u32,
    /// Optimiser steps in total (a resumed run continues to this count).
    pub steps: u64,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of sampling and initialisation.
    pub seed: u64,
    /// Save a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Threads libtorch may use; 0 keeps its default.
    pub threads: u32,
}

crate::train::run_args::schedule_fields!(DigitsTrainConfig);

impl Default for DigitsTrainConfig {
    fn default() -> Self {
        Self {
            batch_size: 16,
            steps: 1500,
            learning_rate: 1e-3,
            seed: 0,
            checkpoint_every: 250,
            threads: 0,
        }
    }
}

/// Everything `trainer train-digits` needs besides the data and output paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsConfig {
    /// Digit classes, one generator each in this order; empty: the dataset's (a run records
    /// the classes it was trained on).
    pub classes: Vec<u8>,
    /// Network shape; `input_size` must equal the dataset's canvas size.
    pub model: ModelConfig,
    /// Losses.
    pub loss: DigitsLossConfig,
    /// Optimisation.
    pub train: DigitsTrainConfig,
}

impl Default for DigitsConfig {
    fn default() -> Self {
        DigitsPreset::Cpu.config()
    }
}

/// Named starting points of `train-digits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DigitsPreset {
    /// Seconds: 64 px canvases, MobileNetV2 from scratch, batch 4, 20 steps (tests).
    Tiny,
    /// CPU-scale: MobileNetV2 with ImageNet weights, 96 px canvases, batch 16, 1,500 steps.
    Cpu,
}

impl DigitsPreset {
    /// The configuration of this preset.
    pub fn config(self) -> DigitsConfig {
        let cpu = DigitsConfig {
            classes: Vec::new(),
            model: ModelConfig {
                backbone: Backbone::MobilenetV2,
                pretrained: true,
                weights: None,
                input_size: 96,
                generator_width: 64,
                frozen_layers: 0,
                stage1_layers: None,
            },
            loss: DigitsLossConfig::default(),
            train: DigitsTrainConfig::default(),
        };
        match self {
            DigitsPreset::Cpu => cpu,
            DigitsPreset::Tiny => DigitsConfig {
                model: ModelConfig {
                    pretrained: false,
                    input_size: 64,
                    generator_width: 32,
                    ..cpu.model
                },
                train: DigitsTrainConfig {
                    batch_size: 4,
                    steps: 20,
                    checkpoint_every: 10,
                    threads: 1,
                    ..cpu.train
                },
                ..cpu
            },
        }
    }
}

impl DigitsConfig {
    /// Checks ranges that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: String| Err(ConfigError::Invalid { field, reason });
        self.model.validate_shape()?;
        if self.classes.iter().any(|&c| c > 9) {
            return invalid("classes", "digits are 0–9".into());
        }
        let t = &self.train;
        if t.batch_size == 0 || t.checkpoint_every == 0 {
            return invalid(
                "train",
                "batch_size and checkpoint_every must be positive".into(),
            );
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return invalid("train.learning_rate", "must be a positive number".into());
        }
        let l = &self.loss;
        for (field, v) in [
            ("loss.lambda_recon", l.lambda_recon),
            ("loss.lambda_area", l.lambda_area),
            ("loss.lambda_div", l.lambda_div),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return invalid(field, format!("{v} is not a non-negative number"));
            }
        }
        if !(0.0..=1.0).contains(&l.margin) {
            return invalid("loss.margin", "must lie in [0, 1]".into());
        }
        if !(l.foreground_threshold > 0.0 && l.foreground_threshold <= 1.0) {
            return invalid("loss.foreground_threshold", "must lie in (0, 1]".into());
        }
        Ok(())
    }
}

crate::config::toml_file!(DigitsConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn shipped_config_is_the_cpu_preset_and_presets_round_trip() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/digits.toml");
        let c = DigitsConfig::from_file(&file).expect("shipped config parses");
        assert_eq!(c, DigitsPreset::Cpu.config());
        for p in [DigitsPreset::Tiny, DigitsPreset::Cpu] {
            let c = p.config();
            let back = DigitsConfig::from_toml(&c.to_toml(), Path::new("x")).expect("parses");
            assert_eq!(back, c);
        }
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = DigitsConfig::from_toml("[model]\ninput_size = 100\n", Path::new("a"))
            .expect_err("not a multiple of 16");
        assert!(err.to_string().contains("model.input_size"), "{err}");
        let err = DigitsConfig::from_toml("[loss]\nforeground_threshold = 0.0\n", Path::new("b"))
            .expect_err("zero threshold");
        assert!(err.to_string().contains("foreground_threshold"), "{err}");
        let err = DigitsConfig::from_toml("[train]\nflip = true\n", Path::new("c.toml"))
            .expect_err("unknown field");
        assert!(err.to_string().contains("c.toml"), "{err}");
    }
}
