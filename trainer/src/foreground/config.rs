//! Configuration of the foreground pipeline (`trainer foreground`): GrabCut's automatic
//! initialisation, the segmentation CNN and its training with target refinement; presets,
//! TOML and validation. The CNN's `[model]` table is SPAN's (`CNN_mask` plus one generator),
//! validated by the same rules.

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ModelConfig, Preset};
use crate::span::config::SpanConfig;

/// GrabCut with the supplementary's initialisation (see [`crate::foreground`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrabCutConfig {
    /// Pixels of replicated border added on each side; all of it is definite background.
    pub border: u32,
    /// GrabCut iterations.
    pub iterations: u32,
    /// Also run on the mirrored image and keep the intersection of the two masks.
    pub flip_and: bool,
}

impl Default for GrabCutConfig {
    fn default() -> Self {
        Self {
            border: 32,
            iterations: 5,
            flip_and: true,
        }
    }
}

/// Training of the segmentation CNN on the GrabCut masks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegTrainConfig {
    /// Images per step.
    pub batch_size: u32,
    /// Passes over the training images.
    pub epochs: u32,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// From this epoch on (1-based), the worst-fitting targets of each batch are replaced.
    pub refine_from_epoch: u32,
    /// Share of each batch whose targets are replaced: those with the highest loss, by the
    /// network's own thresholded prediction, for this step and every later epoch.
    pub refine_fraction: f64,
    /// Random horizontal flips (image and target together).
    pub flip: bool,
    /// Seed of shuffling, augmentation and initialisation.
    pub seed: u64,
    /// Save a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Threads libtorch may use; 0 keeps its default.
    pub threads: u32,
}

impl Default for SegTrainConfig {
    fn default() -> Self {
        Self {
            batch_size: 32,
            epochs: 5,
            learning_rate: 1e-4,
            refine_from_epoch: 4,
            refine_fraction: 0.5,
            flip: true,
            seed: 0,
            checkpoint_every: 200,
            threads: 0,
        }
    }
}

/// Everything `trainer foreground` needs besides the data and output paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForegroundConfig {
    /// GrabCut.
    pub grabcut: GrabCutConfig,
    /// The segmentation CNN: backbone stage 1 and one generator, as SPAN's.
    pub model: ModelConfig,
    /// Its training.
    pub train: SegTrainConfig,
    /// A pixel is foreground when the CNN's output is at least this.
    pub threshold: f32,
}

impl Default for ForegroundConfig {
    /// The authors' setting: ResNet-34 to layer3 with three generative blocks, 5 epochs
    /// of MSE, refinement from epoch 4.
    fn default() -> Self {
        Self {
            grabcut: GrabCutConfig::default(),
            model: ModelConfig::default(),
            train: SegTrainConfig::default(),
            threshold: 0.5,
        }
    }
}

impl ForegroundConfig {
    /// The preset's configuration; the CNN's shape follows SPAN's preset.
    pub fn preset(preset: Preset) -> Self {
        let paper = Self::default();
        let model = preset.config().model;
        match preset {
            Preset::Paper => paper,
            Preset::Cpu => Self {
                model,
                train: SegTrainConfig {
                    batch_size: 16,
                    learning_rate: 5e-4,
                    checkpoint_every: 100,
                    ..paper.train
                },
                ..paper
            },
            Preset::Tiny => Self {
                grabcut: GrabCutConfig {
                    border: 8,
                    iterations: 2,
                    flip_and: true,
                },
                model,
                train: SegTrainConfig {
                    batch_size: 4,
                    epochs: 2,
                    learning_rate: 1e-3,
                    refine_from_epoch: 2,
                    checkpoint_every: 4,
                    threads: 1,
                    ..paper.train
                },
                ..paper
            },
        }
    }

    /// Checks ranges that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: String| Err(ConfigError::Invalid { field, reason });
        // The CNN is SPAN's shape: the same rules apply to `[model]`.
        SpanConfig {
            model: self.model.clone(),
            ..SpanConfig::default()
        }
        .validate()?;
        if self.grabcut.iterations == 0 {
            return invalid("grabcut.iterations", "must be positive".into());
        }
        if self.grabcut.border == 0 {
            return invalid(
                "grabcut.border",
                "must be positive: the border is GrabCut's only background seed".into(),
            );
        }
        let t = &self.train;
        if t.batch_size == 0 {
            return invalid("train.batch_size", "must be positive".into());
        }
        if t.epochs == 0 {
            return invalid("train.epochs", "must be positive".into());
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return invalid("train.learning_rate", "must be a positive number".into());
        }
        if !(0.0..=1.0).contains(&t.refine_fraction) {
            return invalid(
                "train.refine_fraction",
                format!("{} is not in [0, 1]", t.refine_fraction),
            );
        }
        if t.refine_from_epoch == 0 {
            return invalid(
                "train.refine_from_epoch",
                "epochs count from 1; use a value above train.epochs to never refine".into(),
            );
        }
        if t.checkpoint_every == 0 {
            return invalid("train.checkpoint_every", "must be positive".into());
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return invalid("threshold", format!("{} is not in (0, 1)", self.threshold));
        }
        Ok(())
    }
}

crate::config::toml_file!(ForegroundConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn presets_are_valid_and_round_trip_through_toml() {
        for preset in [Preset::Tiny, Preset::Cpu, Preset::Paper] {
            let c = ForegroundConfig::preset(preset);
            c.validate().expect("valid preset");
            let back =
                ForegroundConfig::from_toml(&c.to_toml(), Path::new("x.toml")).expect("parses");
            assert_eq!(back, c, "{preset:?}");
        }
        let paper = ForegroundConfig::preset(Preset::Paper);
        assert_eq!(paper.model.backbone, crate::config::Backbone::Resnet34);
        assert_eq!((paper.grabcut.border, paper.grabcut.iterations), (32, 5));
        assert_eq!((paper.train.epochs, paper.train.refine_from_epoch), (5, 4));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            ("[grabcut]\niterations = 0\n", "grabcut.iterations"),
            ("[grabcut]\nborder = 0\n", "grabcut.border"),
            ("[train]\nrefine_fraction = 1.5\n", "train.refine_fraction"),
            ("[train]\nepochs = 0\n", "train.epochs"),
            ("threshold = 1.0\n", "threshold"),
            ("[model]\ninput_size = 100\n", "model.input_size"),
        ];
        for (text, field) in cases {
            let err = ForegroundConfig::from_toml(text, Path::new("fg.toml")).expect_err(text);
            assert!(err.to_string().contains(field), "{text}: {err}");
        }
        let err = ForegroundConfig::from_toml("[grabcut]\nrounds = 3\n", Path::new("fg.toml"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("fg.toml"), "{err}");
    }
}
