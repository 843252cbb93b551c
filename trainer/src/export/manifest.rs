//! Adding entries to `models/manifest.toml`, the contract between the exporter and the
//! edge-agent (format: `spanreid_infer::manifest`).

use serde::{Deserialize, Serialize};
use spanreid_infer::manifest::ModelEntry;

const HEADER: &str = "# Models for edge-agent, written by `trainer export`: each entry names an \
ONNX file beside\n# this manifest, its sha256 and how to feed it. `trained_by` records the \
commands that made it.\n\n";

#[derive(Debug, Default, Serialize, Deserialize)]
struct ManifestFile {
    #[serde(default)]
    model: Vec<ModelEntry>,
}

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
    use spanreid_infer::manifest::select;
    use std::path::Path;

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
}
