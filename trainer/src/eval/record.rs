//! What the scoring commands write back into a model's manifest entry: its match
//! calibration (`trainer calibrate --write`) and the render its figures were measured on
//! (`trainer eval-onnx --write`), each replacing the entry atomically.

use std::path::Path;

use serde::Deserialize;
use spanreid_infer::manifest::{self, ModelEntry, Reproduction, sha256_hex};

use crate::train::TrainError;
use crate::train::atomic::{io_err, write_atomic};

/// Applies `change` to the entry of `model` in the manifest at `path` and writes the
/// manifest back (through a temporary file and a rename: never half written).
pub fn update_entry(
    path: &Path,
    model: &str,
    change: impl FnOnce(&mut ModelEntry),
) -> Result<(), TrainError> {
    let corrupt = |reason: String| TrainError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let mut entry = manifest::select(&text, path, model)
        .map_err(|e| corrupt(e.to_string()))?
        .entry;
    change(&mut entry);
    let merged = manifest::merge(&text, &[entry]).map_err(corrupt)?;
    write_atomic(path, merged.as_bytes())
}

/// The fields of a render's `stats.toml` a reproduction record needs.
#[derive(Deserialize)]
struct RenderStats {
    renderer_version: Option<u32>,
    preset: String,
    seed: u64,
}

/// Name lists whose hash identifies a render's images and splits.
pub const NAME_LISTS: [&str; 3] = ["name_train.txt", "name_test.txt", "name_query.txt"];

/// The render at `data` as a reproduction record, with the figures still zero.
pub fn render_record(data: &Path) -> Result<Reproduction, TrainError> {
    let stats_path = data.join("stats.toml");
    let text = std::fs::read_to_string(&stats_path).map_err(io_err(&stats_path))?;
    let stats: RenderStats = toml::from_str(&text).map_err(|e| TrainError::Corrupt {
        path: stats_path.clone(),
        reason: format!("not a `trainer synth` render's stats: {e}"),
    })?;
    let renderer_version = stats.renderer_version.ok_or_else(|| TrainError::Corrupt {
        path: stats_path.clone(),
        reason: "no renderer_version: rendered before renderer version 2; render it again".into(),
    })?;
    Ok(Reproduction {
        renderer_version,
        preset: stats.preset,
        seed: stats.seed,
        names_sha256: names_sha256(data)?,
        map_cpdm: 0.0,
        rank1_cpdm: 0.0,
        map_global: 0.0,
        rank1_global: 0.0,
    })
}

/// sha256 of the render's name lists, concatenated in [`NAME_LISTS`] order.
pub fn names_sha256(data: &Path) -> Result<String, TrainError> {
    let mut all = Vec::new();
    for name in NAME_LISTS {
        let path = data.join(name);
        all.extend(std::fs::read(&path).map_err(io_err(&path))?);
    }
    Ok(sha256_hex(&all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_without_a_version_or_lists_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("stats.toml"),
            "preset = \"Small\"\nseed = 0\n",
        )
        .expect("write");
        let err = render_record(dir.path()).expect_err("no version");
        assert!(err.to_string().contains("renderer_version"), "{err}");
        std::fs::write(
            dir.path().join("stats.toml"),
            "renderer_version = 2\npreset = \"Small\"\nseed = 3\nimages = 6\n",
        )
        .expect("write");
        let err = render_record(dir.path()).expect_err("no lists");
        assert!(err.to_string().contains("name_train.txt"), "{err}");
        for (i, name) in NAME_LISTS.iter().enumerate() {
            std::fs::write(dir.path().join(name), format!("{i}\n")).expect("write");
        }
        let r = render_record(dir.path()).expect("record");
        assert_eq!(
            (r.renderer_version, r.preset.as_str(), r.seed),
            (2, "Small", 3)
        );
        assert_eq!(r.names_sha256, sha256_hex(b"0\n1\n2\n"));
    }
}
