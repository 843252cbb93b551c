//! `trainer eval-span`: per-view IoU of a trained SPAN's thresholded masks against the
//! ground-truth part masks of held-out images, and a picture of masks like Fig. 7.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::config::SpanConfig;
use crate::train::TrainError;
use crate::train::data;
use crate::train::example;
use crate::train::mask_iou::IouCounts;
use crate::train::overlay;
use crate::train::span_loop::SpanModel;

/// Images per forward pass.
const EVAL_BATCH: usize = 16;

/// What `eval-span` measured; written as `eval/mask_iou.toml` in the run.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Images scored.
    pub images: usize,
    /// Mask threshold.
    pub threshold: f32,
    /// IoU of the front mask (absent when no pixel is front in prediction or truth).
    pub front: Option<f64>,
    /// IoU of the rear mask.
    pub rear: Option<f64>,
    /// IoU of the side mask.
    pub side: Option<f64>,
    /// Mean over the views that have an IoU.
    pub mean: Option<f64>,
    /// The overlay picture.
    pub overlays: Option<PathBuf>,
}

/// Scores the run's latest checkpoint on `split_dir` of `data`; writes the report and up to
/// `overlay_rows` rows of mask pictures into `<run>/eval/`.
pub fn eval_span(
    run: &Path,
    data_root: &Path,
    split_dir: &'static str,
    threshold: f32,
    overlay_rows: usize,
) -> Result<EvalReport, TrainError> {
    let config = SpanConfig::from_file(&run.join("config.toml"))?;
    let pairs = data::scan_with_parts(data_root, split_dir)?;
    let device = Device::cuda_if_available();
    let mut model = SpanModel::new(&config, device);
    model.load(&run.join("latest.safetensors"))?;
    let size = config.model.input_size;
    let hw = (size * size) as usize;

    let mut counts = IouCounts::default();
    let mut rows = Vec::new();
    for chunk in pairs.chunks(EVAL_BATCH) {
        let loaded: Vec<(Vec<f32>, Vec<u8>)> = chunk
            .par_iter()
            .map(|(image, parts)| {
                Ok((
                    example::load_image(image, size)?,
                    example::load_labels(parts, size)?,
                ))
            })
            .collect::<Result<_, example::DecodeError>>()?;
        let flat: Vec<f32> = loaded.iter().flat_map(|(i, _)| i.iter().copied()).collect();
        let n = loaded.len() as i64;
        let s = i64::from(size);
        let images = Tensor::from_slice(&flat)
            .view([n, 3, s, s])
            .to_device(device);
        let masks = tch::no_grad(|| model.net.masks(&images, false))
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .flatten(0, -1);
        let masks = Vec::<f32>::try_from(&masks).map_err(|source| TrainError::Torch {
            what: "reading predicted masks".into(),
            source,
        })?;
        for (k, (image, parts)) in loaded.iter().enumerate() {
            let m = &masks[k * 3 * hw..(k + 1) * 3 * hw];
            counts.add(m, parts, threshold);
            if rows.len() < overlay_rows {
                rows.push(overlay::row(image, m, Some(parts), size));
            }
        }
    }

    let out = run.join("eval");
    std::fs::create_dir_all(&out).map_err(|source| TrainError::Io {
        path: out.clone(),
        source,
    })?;
    let overlays = if rows.is_empty() {
        None
    } else {
        let path = out.join("masks.png");
        overlay::sheet(&rows)
            .save(&path)
            .map_err(|e| TrainError::Write {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Some(path)
    };
    let [front, rear, side] = counts.iou();
    let report = EvalReport {
        images: pairs.len(),
        threshold,
        front,
        rear,
        side,
        mean: counts.mean_iou(),
        overlays,
    };
    let path = out.join("mask_iou.toml");
    let text = toml::to_string(&report).map_err(|e| TrainError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(|source| TrainError::Io { path, source })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::span_loop::{tests::tiny, train_span};
    use crate::train::test_fixture::write_dataset;

    #[test]
    fn scores_held_out_images_and_draws_masks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, run) = (dir.path().join("data"), dir.path().join("run"));
        write_dataset(&data, 6);
        train_span(&data, &run, &tiny(2), false).expect("trains");
        let report = eval_span(&run, &data, "image_test", 0.5, 2).expect("evaluates");
        assert_eq!(report.images, 3);
        for iou in [report.front, report.side].into_iter().flatten() {
            assert!((0.0..=1.0).contains(&iou), "{iou}");
        }
        let picture = image::open(run.join("eval/masks.png"))
            .expect("picture")
            .into_rgb8();
        assert_eq!(picture.dimensions(), (64 * overlay::TILES, 2 * 64));
        let text = std::fs::read_to_string(run.join("eval/mask_iou.toml")).expect("report");
        assert!(text.contains("images = 3"), "{text}");
    }

    #[test]
    fn missing_run_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = eval_span(dir.path(), dir.path(), "image_test", 0.5, 0).expect_err("no run");
        assert!(err.to_string().contains("config.toml"), "{err}");
    }
}
