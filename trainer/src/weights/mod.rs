//! Pretrained weights from PyTorch `.pth` files (a `torch.save`d state_dict), read in Rust.
//!
//! libtorch's C++ `torch::load` reads only TorchScript archives, and the Python `torch` in
//! the install venv is not importable, so the file is read here: the pickle program with
//! `repugnant-pickle`'s parser and evaluator, the container (zip archive or the legacy
//! pickle stream) by this module, and each tensor is viewed on a copy of its storage with
//! the pickled size, stride and offset. Only `torch._utils._rebuild_tensor_v2` entries are
//! tensors; other entries (none in torchvision files) are skipped.

mod pth;

use std::path::{Path, PathBuf};

use tch::{Tensor, nn::VarStore};

/// Errors reading a `.pth` file or loading it into a model.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Archive {
        /// The `.pth` file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The pickle does not have the shape of a state_dict.
    #[error("{path}: not a PyTorch state_dict: {reason}")]
    Format {
        /// The `.pth` file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A model variable and the file disagree on a tensor's shape.
    #[error("{path}: tensor `{name}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The `.pth` file.
        path: PathBuf,
        /// Variable name.
        name: String,
        /// Shape in the file.
        found: Vec<i64>,
        /// Shape in the model.
        expected: Vec<i64>,
    },
    /// Model variables that the file does not provide.
    #[error("{path}: no tensor for model variables {missing:?}")]
    Missing {
        /// The `.pth` file.
        path: PathBuf,
        /// Their names.
        missing: Vec<String>,
    },
}

/// What [`load_into`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Variables copied.
    pub tensors: usize,
    /// Scalars copied (sum of their element counts).
    pub elements: i64,
    /// File entries with no matching model variable (e.g. the classifier).
    pub unused: Vec<String>,
}

/// Reads every tensor of a pickled state_dict, in file order. Both of `torch.save`'s
/// formats are read: the zip archive (PyTorch ≥ 1.6) and the legacy stream of pickles
/// followed by raw storages (older files such as torchvision's MobileNetV2 weights).
pub fn read_pth(path: &Path) -> Result<Vec<(String, Tensor)>, WeightsError> {
    let bytes = std::fs::read(path).map_err(|e| WeightsError::Archive {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let result = if bytes.starts_with(b"PK\x03\x04") {
        pth::read_zip_format(&bytes)
    } else if bytes.starts_with(&[0x80, 0x02]) {
        pth::read_legacy_format(&bytes)
    } else {
        Err("neither a zip archive nor a legacy pickle stream".to_owned())
    };
    result.map_err(|reason| WeightsError::Format {
        path: path.to_owned(),
        reason,
    })
}

/// Copies the file's tensors into the variables of `vs` with the same names. Every model
/// variable must be provided with the same shape; file entries the model lacks are
/// reported, not loaded. `skip` names model variables to leave as initialised.
pub fn load_into(
    vs: &mut VarStore,
    tensors: &[(String, Tensor)],
    source: &Path,
    skip: impl Fn(&str) -> bool,
) -> Result<LoadReport, WeightsError> {
    let mut vars = vs.variables();
    let mut report = LoadReport {
        tensors: 0,
        elements: 0,
        unused: Vec::new(),
    };
    tch::no_grad(|| {
        for (name, value) in tensors {
            let Some(mut var) = vars.remove(name) else {
                report.unused.push(name.clone());
                continue;
            };
            if var.size() != value.size() {
                return Err(WeightsError::Shape {
                    path: source.to_owned(),
                    name: name.clone(),
                    found: value.size(),
                    expected: var.size(),
                });
            }
            var.copy_(&value.to_kind(var.kind()).to_device(var.device()));
            report.tensors += 1;
            report.elements += value.numel() as i64;
        }
        Ok(())
    })?;
    let mut missing: Vec<String> = vars.into_keys().filter(|n| !skip(n)).collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(WeightsError::Missing {
            path: source.to_owned(),
            missing,
        });
    }
    Ok(report)
}
