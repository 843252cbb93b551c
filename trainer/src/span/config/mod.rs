//! SPAN training configuration (`trainer train-span`): loss and optimisation settings with
//! the paper's defaults, the presets' SPAN settings, TOML files and validation.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{Backbone, ConfigError, ModelConfig, Preset};
use crate::train::views::ViewLabels;
use spanreid::View;

/// Max area ratio `a_l` for one viewpoint: front, rear, side (supplementary Table 1).
pub type AreaCaps = [f64; 3];

/// Loss weights and the hyper-parameter tables of eq. 2 and 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// λ_recon.
    pub lambda_recon: f64,
    /// λ_area.
    pub lambda_area: f64,
    /// λ_div.
    pub lambda_div: f64,
    /// `a_l` per viewpoint, in [`View::ALL`] order as a table keyed by view name.
    pub max_area: MaxAreaTable,
    /// Margins `m_{i,j}` of the diversity loss.
    pub margin: MarginTable,
    /// eq. 3 on masks averaged over this many pixels per axis (1: the paper's, per pixel;
    /// see [`crate::span::loss::pooled`]).
    pub div_pool: u32,
    /// Weight of the order term ([`crate::span::order::order_loss`]; 0: the paper's losses).
    pub lambda_order: f64,
    /// Its margin, a fraction of the image width.
    pub order_margin: f64,
}

/// Supplementary Table 1, one row per viewpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaxAreaTable {
    /// Front view.
    pub front: AreaCaps,
    /// Rear view.
    pub rear: AreaCaps,
    /// Side view.
    pub side: AreaCaps,
    /// Front-side view.
    pub front_side: AreaCaps,
    /// Rear-side view.
    pub rear_side: AreaCaps,
}

impl MaxAreaTable {
    /// The row for `view`.
    pub fn caps(&self, view: View) -> AreaCaps {
        match view {
            View::Front => self.front,
            View::Rear => self.rear,
            View::Side => self.side,
            View::FrontSide => self.front_side,
            View::RearSide => self.rear_side,
        }
    }
}

impl Default for MaxAreaTable {
    fn default() -> Self {
        Self {
            front: [1.0, 0.0, 0.0],
            rear: [0.0, 1.0, 0.0],
            side: [0.0, 0.0, 1.0],
            front_side: [0.7, 0.0, 0.7],
            rear_side: [0.0, 0.7, 0.7],
        }
    }
}

/// Supplementary Table 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarginTable {
    /// Front–rear (mutually exclusive views).
    pub front_rear: f64,
    /// Front–side (adjacent views).
    pub front_side: f64,
    /// Rear–side (adjacent views).
    pub rear_side: f64,
}

impl Default for MarginTable {
    fn default() -> Self {
        Self {
            front_rear: 0.0,
            front_side: 0.04,
            rear_side: 0.04,
        }
    }
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            lambda_recon: 1.0,
            lambda_area: 0.5,
            lambda_div: 1.0,
            max_area: MaxAreaTable::default(),
            margin: MarginTable::default(),
            div_pool: 1,
            lambda_order: 0.0,
            order_margin: 0.1,
        }
    }
}

/// Optimisation and bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Images per step.
    pub batch_size: u32,
    /// Optimiser steps in total (a resumed run continues to this count).
    pub steps: u64,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Random horizontal flips.
    pub flip: bool,
    /// Seed of sampling, augmentation and initialisation.
    pub seed: u64,
    /// Save a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Threads libtorch may use; 0 keeps its default.
    pub threads: u32,
    /// Foreground masks (`<stem>.png`) to train with instead of the dataset's `mask_fg/`,
    /// e.g. the output of `trainer foreground` for a dataset without masks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fg_masks: Option<PathBuf>,
    /// View labels and batch mix (`[train.views]`).
    pub views: ViewLabels,
}

crate::train::run_args::schedule_fields!(TrainConfig);

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            batch_size: 32,
            steps: 5000,
            learning_rate: 1e-4,
            flip: true,
            seed: 0,
            checkpoint_every: 500,
            threads: 0,
            fg_masks: None,
            views: ViewLabels::default(),
        }
    }
}

/// Everything `trainer train-span` needs besides the data and output paths.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpanConfig {
    /// Network shape.
    pub model: ModelConfig,
    /// Losses.
    pub loss: LossConfig,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Preset {
    /// The configuration of this preset.
    pub fn config(self) -> SpanConfig {
        let paper = SpanConfig::default();
        match self {
            Preset::Paper => paper,
            Preset::Cpu => SpanConfig {
                model: ModelConfig {
                    backbone: Backbone::MobilenetV2Dilated,
                    pretrained: true,
                    input_size: 128,
                    generator_width: 64,
                    frozen_layers: 11,
                    ..paper.model
                },
                loss: LossConfig {
                    div_pool: 8,
                    ..paper.loss
                },
                train: TrainConfig {
                    batch_size: 16,
                    steps: 3000,
                    learning_rate: 1e-3,
                    checkpoint_every: 250,
                    views: ViewLabels::azimuth_authors_mix(),
                    ..paper.train
                },
            },
            Preset::Tiny => SpanConfig {
                model: ModelConfig {
                    backbone: Backbone::MobilenetV2Dilated,
                    pretrained: false,
                    input_size: 64,
                    generator_width: 32,
                    ..paper.model
                },
                train: TrainConfig {
                    batch_size: 4,
                    steps: 20,
                    learning_rate: 1e-3,
                    checkpoint_every: 10,
                    threads: 1,
                    ..paper.train
                },
                ..paper
            },
        }
    }
}

impl SpanConfig {
    /// Checks ranges that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: String| Err(ConfigError::Invalid { field, reason });
        self.model.validate_shape()?;
        if self.model.frozen_layers > 0 {
            if !matches!(
                self.model.backbone,
                Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated
            ) {
                return invalid(
                    "model.frozen_layers",
                    "only MobileNetV2 stage 1 can be frozen in part".into(),
                );
            }
            if self.model.frozen_layers > 14 || !self.model.pretrained {
                return invalid(
                    "model.frozen_layers",
                    format!(
                        "{} must be at most 14 (stage 1's entries) and needs pretrained weights",
                        self.model.frozen_layers
                    ),
                );
            }
        }
        if let Some(layers) = self.model.stage1_layers
            && (!matches!(
                self.model.backbone,
                Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated
            ) || !(4..=14).contains(&layers)
                || layers < self.model.frozen_layers)
        {
            return invalid(
                "model.stage1_layers",
                format!(
                    "{layers} must name a MobileNetV2 cut between 4 and 14 `features` \
                     entries, at or after model.frozen_layers ({})",
                    self.model.frozen_layers
                ),
            );
        }
        if self.model.backbone == Backbone::Resnet50 {
            return invalid(
                "model.backbone",
                "resnet50 is a feature-network backbone; SPAN's CNN_mask is resnet34 \
                 conv1–conv4 as in the paper (Sec. 4.1), or mobilenet_v2"
                    .into(),
            );
        }
        if self.model.pretrained
            && self.model.weights.is_none()
            && let Some(reason) = self.model.backbone.missing_weights()
        {
            return invalid("model.pretrained", reason);
        }
        if self.train.batch_size == 0 {
            return invalid("train.batch_size", "must be positive".into());
        }
        if !(self.train.learning_rate > 0.0 && self.train.learning_rate.is_finite()) {
            return invalid("train.learning_rate", "must be a positive number".into());
        }
        if self.train.checkpoint_every == 0 {
            return invalid("train.checkpoint_every", "must be positive".into());
        }
        if self.loss.div_pool == 0 || self.loss.div_pool > self.model.input_size {
            return invalid(
                "loss.div_pool",
                format!("{} must lie in 1..=input_size", self.loss.div_pool),
            );
        }
        if let Err((field, reason)) = self.train.views.validate() {
            return invalid(field, reason);
        }
        let l = &self.loss;
        for (field, v) in [
            ("loss.lambda_recon", l.lambda_recon),
            ("loss.lambda_area", l.lambda_area),
            ("loss.lambda_div", l.lambda_div),
            ("loss.lambda_order", l.lambda_order),
            ("loss.order_margin", l.order_margin),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return invalid(field, format!("{v} is not a non-negative number"));
            }
        }
        for view in View::ALL {
            if l.max_area
                .caps(view)
                .iter()
                .any(|a| !(0.0..=1.0).contains(a))
            {
                return invalid(
                    "loss.max_area",
                    format!("ratios for {view} must lie in [0, 1]"),
                );
            }
        }
        let m = &l.margin;
        if [m.front_rear, m.front_side, m.rear_side]
            .iter()
            .any(|v| !(0.0..=1.0).contains(v))
        {
            return invalid("loss.margin", "margins must lie in [0, 1]".into());
        }
        Ok(())
    }
}

crate::config::toml_file!(SpanConfig);

#[cfg(test)]
mod tests;
