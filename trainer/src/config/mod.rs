//! Configuration pieces every training command shares: the backbone and model shape, the
//! preset names, how part features aggregate, configuration errors and the TOML methods
//! of a configuration type. Each
//! command's own configuration lives with it (`span::config`, `features::config`, …).

pub mod aggregation;
mod feature_model;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use feature_model::FeatureModelConfig;

/// Errors reading or checking a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for [`SpanConfig`].
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of its allowed range.
    #[error("config field `{field}`: {reason}")]
    Invalid {
        /// Dotted field name, e.g. `train.batch_size`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The stage-1 feature extractor (`CNN_mask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Backbone {
    /// MobileNetV2 `features[:14]` (stride 16, 96 channels); ImageNet weights available.
    MobilenetV2,
    /// MobileNetV2 `features[:14]` with `features[7:14]` at stride 1 and dilation 2 (stride
    /// 8, 96 channels, the same ImageNet weights): SPAN's stage 1 at the paper's stride,
    /// fine enough to place a part boundary. SPAN only.
    MobilenetV2Dilated,
    /// ResNet-34 conv1–conv4 without the max-pool (stride 8, 256 channels), as the paper.
    Resnet34,
    /// ResNet-50 conv1–conv4 with the max-pool (stride 16, 1,024 channels): the paper's
    /// feature network only (SPAN's `CNN_mask` is ResNet-34 in the paper).
    Resnet50,
}

/// Shape options of stage 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage2Options {
    /// MobileNetV2 only: end with the 1×1 head convolution to 1,280 channels.
    pub head: bool,
    /// ResNet-50 only: layer4 with stride 1 instead of 2.
    pub last_stride_one: bool,
}

impl Default for Stage2Options {
    fn default() -> Self {
        Self {
            head: true,
            last_stride_one: false,
        }
    }
}

/// Network shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Stage-1 backbone.
    pub backbone: Backbone,
    /// Load ImageNet weights into the backbone: the installed MobileNetV2 weights, or
    /// `weights` (required for ResNet-34, whose weights do not ship).
    pub pretrained: bool,
    /// A `.pth` state_dict to use instead of the installed MobileNetV2 weights.
    pub weights: Option<PathBuf>,
    /// Square input side in pixels; a multiple of the backbone stride.
    pub input_size: u32,
    /// Channels of the first generative block; each following block halves them.
    pub generator_width: u32,
    /// MobileNetV2 only: how many `features` entries keep their ImageNet values (computed
    /// once per training image and cached); 0 trains the whole stage 1.
    pub frozen_layers: u32,
    /// MobileNetV2 only: SPAN's `CNN_mask` is `features[:stage1_layers]` (default: all 14
    /// entries of stage 1). Fewer entries give each mask pixel a smaller receptive field
    /// (`features[:7]`: 59 px, 32 channels at stride 8; all 14 of the dilated network:
    /// 267 px, more than the whole 128-px image), so a mask must follow what the pixel's
    /// neighbourhood shows rather than what the whole vehicle is.
    pub stage1_layers: Option<u32>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            backbone: Backbone::Resnet34,
            pretrained: false,
            weights: None,
            input_size: 192,
            generator_width: 128,
            frozen_layers: 0,
            stage1_layers: None,
        }
    }
}

impl ModelConfig {
    /// The shape checks every network built from this section needs: an input side that
    /// is a positive multiple of the backbone's stride, and generators at least 2 wide.
    pub fn validate_shape(&self) -> Result<(), ConfigError> {
        let stride = self.backbone.stride();
        let size = self.input_size;
        if size == 0 || !size.is_multiple_of(stride) {
            return Err(ConfigError::Invalid {
                field: "model.input_size",
                reason: format!(
                    "{size} is not a positive multiple of the backbone stride {stride}"
                ),
            });
        }
        if self.generator_width < 2 {
            return Err(ConfigError::Invalid {
                field: "model.generator_width",
                reason: "must be at least 2".into(),
            });
        }
        Ok(())
    }
}

/// Named starting points; a TOML file and CLI flags override them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Seconds on a CPU: 64 px, batch 4, 20 steps, one libtorch thread (tests and smoke
    /// runs; several threads on a small model mostly wait on each other).
    Tiny,
    /// CPU-scale: MobileNetV2 dilated to stride 8 with ImageNet weights (`features[:11]`
    /// frozen and cached), generators of width 64, 128 px, batch 16, Adam 1e-3, 3,000 steps,
    /// eq. 3 on 8×8-pooled masks, labels from the azimuth in the authors' view mix.
    Cpu,
    /// The paper: ResNet-34 conv1–conv4, 192 px, batch 32, Adam 1e-4 (GPU).
    Paper,
}

impl Backbone {
    /// Output stride of stage 1.
    pub const fn stride(self) -> u32 {
        match self {
            Backbone::MobilenetV2 => 16,
            Backbone::MobilenetV2Dilated => 8,
            Backbone::Resnet34 => 8,
            Backbone::Resnet50 => 16,
        }
    }

    /// Output stride of stage 2 shaped by `options`: stage 1's, times 2 unless ResNet-50
    /// keeps its last stride 1.
    pub const fn total_stride(self, options: Stage2Options) -> u32 {
        match self {
            Backbone::Resnet50 if options.last_stride_one => self.stride(),
            _ => self.stride() * 2,
        }
    }

    /// torchvision's name of the full network (`torchvision.models.<name>`).
    pub const fn torchvision_name(self) -> &'static str {
        match self {
            Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated => "mobilenet_v2",
            Backbone::Resnet34 => "resnet34",
            Backbone::Resnet50 => "resnet50",
        }
    }

    /// Whether ImageNet weights ship with the install (only MobileNetV2's do); the others
    /// need `model.weights`.
    pub const fn weights_installed(self) -> bool {
        matches!(self, Backbone::MobilenetV2 | Backbone::MobilenetV2Dilated)
    }

    /// Why `pretrained` without `weights` cannot work for this backbone, if it cannot.
    pub fn missing_weights(self) -> Option<String> {
        (!self.weights_installed()).then(|| {
            format!(
                "no {0} ImageNet weights are installed; set model.weights to a torchvision \
                 {0} .pth or train from scratch",
                self.torchvision_name()
            )
        })
    }
}

/// The TOML methods of a configuration type with a `validate` method: `from_toml` (parse,
/// then validate; `origin` names the source in errors; missing fields keep the type's
/// `Default`), `from_file` and `to_toml` (what is written next to a run).
macro_rules! toml_file {
    ($t:ty) => {
        impl $t {
            /// Parses and validates TOML text; `origin` names the source in errors.
            pub fn from_toml(
                text: &str,
                origin: &std::path::Path,
            ) -> Result<Self, $crate::config::ConfigError> {
                let config: Self =
                    toml::from_str(text).map_err(|source| $crate::config::ConfigError::Parse {
                        path: origin.to_owned(),
                        source,
                    })?;
                config.validate()?;
                Ok(config)
            }

            /// Reads, parses and validates a TOML file.
            pub fn from_file(path: &std::path::Path) -> Result<Self, $crate::config::ConfigError> {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    $crate::config::ConfigError::Read {
                        path: path.to_owned(),
                        source,
                    }
                })?;
                Self::from_toml(&text, path)
            }

            /// The configuration as TOML.
            pub fn to_toml(&self) -> String {
                toml::to_string_pretty(self).expect(concat!(
                    stringify!($t),
                    " has only TOML-representable fields"
                ))
            }
        }
    };
}
pub(crate) use toml_file;
