//! Configuration of the part feature network (step 2): network shape, the ID + CPDM
//! triplet losses and the PK-batch optimisation, with presets and TOML files.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

use serde::{Deserialize, Serialize};

use crate::config::{Backbone, ConfigError, FeatureModelConfig, Preset};

/// Losses: `λ_ID·L_ID + λ_trip·L_trip`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureLossConfig {
    /// λ_ID.
    pub lambda_id: f64,
    /// λ_trip.
    pub lambda_triplet: f64,
    /// Triplet margin (ignored with `soft_margin`).
    pub margin: f64,
    /// Use the soft margin `log(1 + exp(d_ap − d_an))` instead of the hinge.
    pub soft_margin: bool,
    /// Label smoothing ε of the ID cross-entropy (0 = plain cross-entropy).
    pub label_smoothing: f64,
}

impl Default for FeatureLossConfig {
    fn default() -> Self {
        Self {
            lambda_id: 1.0,
            lambda_triplet: 1.0,
            margin: 0.3,
            soft_margin: false,
            label_smoothing: 0.1,
        }
    }
}

/// Learning-rate schedule after the linear warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Schedule {
    /// Multiply by `gamma` at each milestone step.
    Step {
        /// Steps at which the rate drops.
        milestones: Vec<u64>,
        /// Factor per drop.
        gamma: f64,
    },
    /// Cosine decay from the base rate to 0 at the last step.
    Cosine,
}

/// Optimisation and bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureTrainConfig {
    /// Identities per batch (P).
    pub ids_per_batch: u32,
    /// Images per identity (K).
    pub images_per_id: u32,
    /// Optimiser steps in total.
    pub steps: u64,
    /// Adam base learning rate.
    pub learning_rate: f64,
    /// Linear warm-up steps from a tenth of the base rate.
    pub warmup_steps: u64,
    /// Schedule after the warm-up.
    pub schedule: Schedule,
    /// Random horizontal flips.
    pub flip: bool,
    /// Seed of sampling, augmentation and initialisation.
    pub seed: u64,
    /// Save a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Threads libtorch may use; 0 keeps its default.
    pub threads: u32,
}

crate::train::run_args::schedule_fields!(FeatureTrainConfig);

impl Default for FeatureTrainConfig {
    fn default() -> Self {
        Self {
            ids_per_batch: 8,
            images_per_id: 4,
            steps: 30_000,
            learning_rate: 3.5e-4,
            warmup_steps: 1000,
            schedule: Schedule::Step {
                milestones: vec![12_000, 22_000],
                gamma: 0.1,
            },
            flip: true,
            seed: 0,
            checkpoint_every: 1000,
            threads: 0,
        }
    }
}

/// Everything `trainer train-features` needs besides the data, SPAN run and output paths.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeaturesConfig {
    /// Network shape.
    pub model: FeatureModelConfig,
    /// Losses.
    pub loss: FeatureLossConfig,
    /// Optimisation.
    pub train: FeatureTrainConfig,
}

impl FeaturesConfig {
    /// The configuration of `preset` (the same three names as SPAN's).
    pub fn preset(preset: Preset) -> Self {
        let paper = Self::default();
        match preset {
            Preset::Paper => paper,
            Preset::Cpu => Self {
                model: FeatureModelConfig {
                    backbone: Backbone::MobilenetV2,
                    pretrained: true,
                    input_size: 128,
                    dim: 256,
                    stage2_head: false,
                    ..paper.model
                },
                train: FeatureTrainConfig {
                    steps: 3000,
                    warmup_steps: 200,
                    schedule: Schedule::Cosine,
                    checkpoint_every: 250,
                    ..paper.train
                },
                ..paper
            },
            Preset::Tiny => Self {
                model: FeatureModelConfig {
                    backbone: Backbone::MobilenetV2,
                    pretrained: false,
                    input_size: 64,
                    dim: 64,
                    stage2_head: false,
                    ..paper.model
                },
                train: FeatureTrainConfig {
                    ids_per_batch: 4,
                    images_per_id: 2,
                    steps: 20,
                    learning_rate: 1e-3,
                    warmup_steps: 2,
                    schedule: Schedule::Cosine,
                    checkpoint_every: 10,
                    threads: 1,
                    ..paper.train
                },
                ..paper
            },
        }
    }

    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        let stride = self.model.total_stride();
        if self.model.input_size == 0 || !self.model.input_size.is_multiple_of(stride) {
            return invalid(
                "model.input_size",
                &format!(
                    "{} is not a positive multiple of the backbone's total stride {stride}",
                    self.model.input_size
                ),
            );
        }
        if self.model.dim == 0 {
            return invalid("model.dim", "must be positive");
        }
        if self.model.backbone == Backbone::MobilenetV2Dilated {
            return invalid(
                "model.backbone",
                "mobilenet_v2_dilated is SPAN's stage 1; the feature network uses mobilenet_v2, \
                 resnet34 or resnet50",
            );
        }
        if !self.model.stage2_head && self.model.backbone != Backbone::MobilenetV2 {
            return invalid(
                "model.stage2_head",
                "only MobileNetV2 has a head convolution to leave out",
            );
        }
        if self.model.last_stride_one && self.model.backbone != Backbone::Resnet50 {
            return invalid(
                "model.last_stride_one",
                "only ResNet-50 offers a last stride of 1",
            );
        }
        if self.model.pretrained
            && self.model.weights.is_none()
            && let Some(reason) = self.model.backbone.missing_weights()
        {
            return invalid("model.pretrained", &reason);
        }
        let l = &self.loss;
        if !(l.lambda_id >= 0.0 && l.lambda_triplet >= 0.0) {
            return invalid("loss.lambda_id", "the λ must be non-negative");
        }
        if l.margin.is_nan() || l.margin < 0.0 {
            return invalid("loss.margin", "must be non-negative");
        }
        if !(0.0..1.0).contains(&l.label_smoothing) {
            return invalid("loss.label_smoothing", "must lie in [0, 1)");
        }
        let t = &self.train;
        if t.ids_per_batch < 2 {
            return invalid("train.ids_per_batch", "needs at least 2 identities");
        }
        if t.images_per_id < 2 {
            return invalid(
                "train.images_per_id",
                "needs at least 2 images per identity",
            );
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return invalid("train.learning_rate", "must be positive");
        }
        if t.checkpoint_every == 0 {
            return invalid("train.checkpoint_every", "must be positive");
        }
        if let Schedule::Step { gamma, .. } = t.schedule
            && !(gamma > 0.0 && gamma <= 1.0)
        {
            return invalid("train.schedule.gamma", "must lie in (0, 1]");
        }
        Ok(())
    }

    /// The learning rate at `step` (0-based): linear warm-up from a tenth of the base rate,
    /// then the schedule.
    pub fn learning_rate(&self, step: u64) -> f64 {
        let t = &self.train;
        let base = t.learning_rate;
        if step < t.warmup_steps {
            let frac = (step + 1) as f64 / t.warmup_steps as f64;
            return base * (0.1 + 0.9 * frac);
        }
        match &t.schedule {
            Schedule::Step { milestones, gamma } => {
                let drops = milestones.iter().filter(|&&m| step >= m).count();
                base * gamma.powi(drops as i32)
            }
            Schedule::Cosine => {
                let span = t.steps.saturating_sub(t.warmup_steps).max(1) as f64;
                let done = (step - t.warmup_steps) as f64 / span;
                base * 0.5 * (1.0 + (std::f64::consts::PI * done.min(1.0)).cos())
            }
        }
    }
}

crate::config::toml_file!(FeaturesConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for p in [Preset::Tiny, Preset::Cpu, Preset::Paper] {
            let c = FeaturesConfig::preset(p);
            c.validate().expect("valid preset");
            let back = FeaturesConfig::from_toml(&c.to_toml(), Path::new("x.toml")).expect("toml");
            assert_eq!(back, c);
        }
        let paper = FeaturesConfig::preset(Preset::Paper);
        assert_eq!(paper.model.dim, 512);
        assert_eq!(
            (paper.train.ids_per_batch, paper.train.images_per_id),
            (8, 4)
        );
        assert_eq!(paper.train.steps, 30_000);
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = FeaturesConfig::from_toml("[model]\ninput_size = 100\n", Path::new("f.toml"))
            .expect_err("not a multiple of 32");
        assert!(err.to_string().contains("model.input_size"), "{err}");
        let err = FeaturesConfig::from_toml("[train]\nimages_per_id = 1\n", Path::new("f.toml"))
            .expect_err("K = 1");
        assert!(err.to_string().contains("train.images_per_id"), "{err}");
        let err = FeaturesConfig::from_toml(
            "[model]\nbackbone = \"resnet34\"\nstage2_head = false\n",
            Path::new("f.toml"),
        )
        .expect_err("ResNet-34 has no head convolution");
        assert!(err.to_string().contains("model.stage2_head"), "{err}");
    }

    #[test]
    fn resnet50_is_selectable_with_its_strides_and_weights_rules() {
        let toml = "[model]\nbackbone = \"resnet50\"\ninput_size = 64\n";
        let c = FeaturesConfig::from_toml(toml, Path::new("r.toml")).expect("valid");
        assert_eq!(c.model.backbone, Backbone::Resnet50);
        assert!(!c.model.last_stride_one, "the paper's stride 2 by default");
        assert_eq!(c.model.total_stride(), 32);
        let err = FeaturesConfig::from_toml(
            "[model]\nbackbone = \"resnet50\"\ninput_size = 48\n",
            Path::new("r.toml"),
        )
        .expect_err("48 is not a multiple of 32");
        assert!(err.to_string().contains("total stride 32"), "{err}");
        let one = "[model]\nbackbone = \"resnet50\"\ninput_size = 48\nlast_stride_one = true\n";
        let c = FeaturesConfig::from_toml(one, Path::new("r.toml")).expect("stride 16");
        assert_eq!(c.model.total_stride(), 16);

        let err = FeaturesConfig::from_toml(
            "[model]\nbackbone = \"mobilenet_v2\"\nlast_stride_one = true\n",
            Path::new("m.toml"),
        )
        .expect_err("ResNet-50 only");
        assert!(err.to_string().contains("model.last_stride_one"), "{err}");
        let err = FeaturesConfig::from_toml(
            "[model]\nbackbone = \"resnet50\"\nstage2_head = false\n",
            Path::new("m.toml"),
        )
        .expect_err("no head convolution");
        assert!(err.to_string().contains("model.stage2_head"), "{err}");

        let pretrained = "[model]\nbackbone = \"resnet50\"\npretrained = true\n";
        let err = FeaturesConfig::from_toml(pretrained, Path::new("p.toml")).expect_err("none");
        let text = err.to_string();
        assert!(
            text.contains("model.pretrained") && text.contains("resnet50 .pth"),
            "{text}"
        );
        let with = format!("{pretrained}weights = \"/w/resnet50.pth\"\n");
        assert!(FeaturesConfig::from_toml(&with, Path::new("p.toml")).is_ok());
    }

    #[test]
    fn learning_rate_warms_up_then_follows_the_schedule() {
        let mut c = FeaturesConfig::preset(Preset::Paper);
        c.train.learning_rate = 1.0;
        c.train.warmup_steps = 10;
        c.train.schedule = Schedule::Step {
            milestones: vec![100, 200],
            gamma: 0.1,
        };
        assert!((c.learning_rate(0) - 0.19).abs() < 1e-12);
        assert!((c.learning_rate(9) - 1.0).abs() < 1e-12);
        assert!((c.learning_rate(99) - 1.0).abs() < 1e-12);
        assert!((c.learning_rate(100) - 0.1).abs() < 1e-12);
        assert!((c.learning_rate(250) - 0.01).abs() < 1e-12);
        c.train.schedule = Schedule::Cosine;
        c.train.steps = 110;
        assert!((c.learning_rate(10) - 1.0).abs() < 1e-12);
        assert!((c.learning_rate(60) - 0.5).abs() < 1e-12);
        assert!(c.learning_rate(110).abs() < 1e-12);
    }
}
