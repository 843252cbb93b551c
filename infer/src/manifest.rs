//! The model manifest (`models/manifest.toml`): which file, its sha256, and how to feed it.
//!
//! ```toml
//! [[model]]
//! name = "span-f32"          # chosen by the edge config
//! file = "span-f32.onnx"     # relative to the manifest
//! sha256 = "…64 hex digits…"
//! input = "image"            # N×3×H×W, f32, RGB
//! height = 192
//! width = 192
//! mean = [0.485, 0.456, 0.406]   # per channel, on values scaled to 0..1
//! std = [0.229, 0.224, 0.225]
//! masks = "masks"            # N×3×h×w in 0..1: front, rear, side
//! features = ["global", "front", "rear", "side"]   # N×D each, Part order
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::InferError;
use crate::calibration::MatchCalibration;

/// One model of the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Name the edge config selects it by.
    pub name: String,
    /// Model file, relative to the manifest.
    pub file: PathBuf,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    /// Input tensor name.
    pub input: String,
    /// Input height.
    pub height: u32,
    /// Input width.
    pub width: u32,
    /// Per-channel mean subtracted after scaling to 0..1.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
    /// Output holding the three view masks.
    pub masks: String,
    /// Outputs holding the global, front, rear and side features.
    pub features: [String; 4],
    /// Free text: how the model was produced.
    #[serde(default)]
    pub trained_by: String,
    /// Match threshold and confidence curve (`[model.matching]`, written by
    /// `trainer calibrate`); absent for an uncalibrated model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching: Option<MatchCalibration>,
    /// The render the model's figures were measured on, and the figures
    /// (`[model.reproduce]`, written by `trainer eval-onnx --write`), so a test can render it
    /// again and check that the model still scores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<Reproduction>,
}

/// A synthetic render (renderer version, preset, seed, and a hash of its image lists) and
/// what a model scored on its query and test splits, with int8 signature features as the hub
/// compares them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reproduction {
    /// `trainer synth`'s renderer version.
    pub renderer_version: u32,
    /// Preset as written in the render's `stats.toml`.
    pub preset: String,
    /// Render seed.
    pub seed: u64,
    /// sha256 of `name_train.txt`, `name_test.txt` and `name_query.txt`, concatenated: the
    /// training images and the split the figures come from.
    pub names_sha256: String,
    /// CPDM mAP, query against test.
    pub map_cpdm: f64,
    /// CPDM rank-1.
    pub rank1_cpdm: f64,
    /// mAP of the global feature alone (Euclidean).
    pub map_global: f64,
    /// Rank-1 of the global feature alone.
    pub rank1_global: f64,
}

impl ModelEntry {
    /// The model id signatures carry: the first 16 bytes of the file's sha256, as hex.
    pub fn model_id_hex(&self) -> &str {
        self.sha256.get(..32).unwrap_or(&self.sha256)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ManifestFile {
    #[serde(default)]
    model: Vec<ModelEntry>,
}

/// A model entry with its file resolved against the manifest's folder.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedModel {
    /// The entry.
    pub entry: ModelEntry,
    /// Absolute or manifest-relative path of the model file.
    pub path: PathBuf,
}

/// Parses manifest text and picks the model called `name`.
pub fn select(text: &str, manifest: &Path, name: &str) -> Result<ResolvedModel, InferError> {
    let bad = |message: String| InferError::Manifest {
        path: manifest.to_path_buf(),
        message,
    };
    let file: ManifestFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let names: Vec<&str> = file.model.iter().map(|m| m.name.as_str()).collect();
    let entry = file
        .model
        .iter()
        .find(|m| m.name == name)
        .cloned()
        .ok_or_else(|| bad(format!("no model named {name:?} (has {names:?})")))?;
    if entry.height == 0 || entry.width == 0 || entry.std.iter().any(|s| *s <= 0.0) {
        return Err(bad(format!(
            "model {name:?}: size and std must be positive"
        )));
    }
    if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!("model {name:?}: sha256 must be 64 hex digits")));
    }
    if let Some(m) = &entry.matching {
        m.validate()
            .map_err(|e| bad(format!("model {name:?}: matching: {e}")))?;
    }
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let path = dir.join(&entry.file);
    Ok(ResolvedModel { entry, path })
}

/// Reads the manifest file and picks `name`.
pub fn load(manifest: &Path, name: &str) -> Result<ResolvedModel, InferError> {
    let text = std::fs::read_to_string(manifest).map_err(|source| InferError::Read {
        path: manifest.to_path_buf(),
        source,
    })?;
    select(&text, manifest, name)
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads the model file and checks it against the manifest; returns its bytes.
pub fn read_checked(model: &ResolvedModel) -> Result<Vec<u8>, InferError> {
    let bytes = std::fs::read(&model.path).map_err(|source| InferError::Read {
        path: model.path.clone(),
        source,
    })?;
    let actual = sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(&model.entry.sha256) {
        return Err(InferError::Checksum {
            path: model.path.clone(),
            expected: model.entry.sha256.clone(),
            actual,
        });
    }
    Ok(bytes)
}

const HEADER: &str = "# Models for edge-agent, written by `trainer export` (and `trainer calibrate`): each \
entry names an\n# ONNX file beside this manifest, its sha256 and how to feed it. `trained_by` records \
the commands that\n# made it; `[model.matching]` is its match calibration (`trainer calibrate`), \
`[model.reproduce]`\n# the render its figures were measured on (`trainer eval-onnx --write`).\n\n";

/// The manifest `existing` (empty for none) with `entries` added, replacing entries of
/// the same names and keeping the others in order.
pub fn merge(existing: &str, entries: &[ModelEntry]) -> Result<String, String> {
    let mut file: ManifestFile = if existing.trim().is_empty() {
        ManifestFile::default()
    } else {
        toml::from_str(existing).map_err(|e| e.to_string())?
    };
    for entry in entries {
        match file.model.iter_mut().find(|m| m.name == entry.name) {
            Some(slot) => *slot = entry.clone(),
            None => file.model.push(entry.clone()),
        }
    }
    let body = toml::to_string(&file).map_err(|e| e.to_string())?;
    Ok(format!("{HEADER}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> ModelEntry {
        ModelEntry {
            name: name.into(),
            file: format!("{name}.onnx").into(),
            sha256: "ab".repeat(32),
            input: "image".into(),
            height: 128,
            width: 128,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            masks: "masks".into(),
            features: ["global", "front", "rear", "side"].map(String::from),
            trained_by: "trainer train-features …".into(),
            matching: None,
            reproduce: None,
        }
    }

    #[test]
    fn merged_manifests_are_read_back_by_the_edge() {
        let first = merge("", &[entry("a"), entry("b")]).expect("merge");
        let mut changed = entry("a");
        changed.height = 64;
        let second = merge(&first, &[changed, entry("c")]).expect("merge");
        let path = Path::new("models/manifest.toml");
        assert_eq!(select(&second, path, "a").expect("a").entry.height, 64);
        assert_eq!(select(&second, path, "b").expect("b").entry, entry("b"));
        assert!(select(&second, path, "c").is_ok());
        assert_eq!(second.matches("[[model]]").count(), 3);
        assert!(merge("[[model]]\nname = 3", &[]).is_err());
    }

    const TEXT: &str = r#"
[[model]]
name = "tiny"
file = "tiny.onnx"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
input = "image"
height = 32
width = 48
mean = [0.5, 0.5, 0.5]
std = [0.25, 0.25, 0.25]
masks = "masks"
features = ["g", "f", "r", "s"]
"#;

    #[test]
    fn selects_by_name_and_resolves_the_path() {
        let m = select(TEXT, Path::new("/m/manifest.toml"), "tiny").unwrap();
        assert_eq!(m.path, PathBuf::from("/m/tiny.onnx"));
        assert_eq!((m.entry.height, m.entry.width), (32, 48));
        let err = select(TEXT, Path::new("/m/manifest.toml"), "big").unwrap_err();
        assert!(err.to_string().contains("no model named \"big\""), "{err}");
    }

    #[test]
    fn rejects_bad_hashes_and_unknown_keys() {
        let short = TEXT.replace(
            "0000000000000000000000000000000000000000000000000000000000000000",
            "abc",
        );
        assert!(select(&short, Path::new("m.toml"), "tiny").is_err());
        let extra = format!("{TEXT}colour = 1\n");
        assert!(select(&extra, Path::new("m.toml"), "tiny").is_err());
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
