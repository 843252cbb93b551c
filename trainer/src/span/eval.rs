//! `trainer eval-span`: per-view IoU of a trained SPAN's thresholded masks against the
//! ground-truth part masks of held-out images, and a picture of masks like Fig. 7. With the
//! dataset's view labels it also splits the IoU by single-view and two-view images, scores
//! the arg-max of the masks inside the foreground and the "paint the labelled view"
//! baseline the same way, and lists the masks' mean area ratios per view label
//! (`eval/mask_iou.toml` and `eval/mask_iou.md`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::span::config::SpanConfig;
use crate::span::mask_iou::IouCounts;
use crate::span::score::{AreaRow, ByKind, SpanScore};
use crate::span::train_loop::SpanModel;
use crate::train::TrainError;
use crate::train::data;
use crate::train::example;
use crate::train::overlay;

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
    /// The breakdown by label kind, when the dataset has view labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<EvalDetail>,
}

/// IoU per view and their mean.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ViewIou {
    /// Images counted.
    pub images: u64,
    /// Front.
    pub front: Option<f64>,
    /// Rear.
    pub rear: Option<f64>,
    /// Side.
    pub side: Option<f64>,
    /// Mean over the views that have one.
    pub mean: Option<f64>,
}

impl ViewIou {
    fn new(c: &IouCounts, images: u64) -> Self {
        let [front, rear, side] = c.iou();
        Self {
            images,
            front,
            rear,
            side,
            mean: c.mean_iou(),
        }
    }
}

/// One method's IoU on all, single-view and two-view images.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KindIou {
    /// Every image.
    pub all: ViewIou,
    /// Front, rear or side images.
    pub single: ViewIou,
    /// Front-side or rear-side images.
    pub two_view: ViewIou,
}

/// The breakdown `eval-span` gives with view labels.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvalDetail {
    /// SPAN's thresholded masks.
    pub masks: KindIou,
    /// Arg-max of the masks inside the true foreground.
    pub argmax: KindIou,
    /// Every foreground pixel given to each labelled view.
    pub paint_baseline: KindIou,
    /// Mean mask area / foreground area per view label.
    pub area_ratios: Vec<AreaRow>,
}

fn kind_iou(k: &ByKind, images: [u64; 3]) -> KindIou {
    KindIou {
        all: ViewIou::new(&k.all, images[0]),
        single: ViewIou::new(&k.single, images[1]),
        two_view: ViewIou::new(&k.two_view, images[2]),
    }
}

/// The breakdown as a markdown table.
pub fn detail_markdown(d: &EvalDetail) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"));
    let mut s = String::from(
        "| method | images | n | front | rear | side | mean |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for (name, k) in [
        ("SPAN masks ≥ threshold", &d.masks),
        ("arg-max in foreground", &d.argmax),
        ("paint the labelled view", &d.paint_baseline),
    ] {
        for (kind, v) in [
            ("all", &k.all),
            ("single-view", &k.single),
            ("two-view", &k.two_view),
        ] {
            s += &format!(
                "| {name} | {kind} | {} | {} | {} | {} | {} |\n",
                v.images,
                f(v.front),
                f(v.rear),
                f(v.side),
                f(v.mean)
            );
        }
    }
    s += "\n| view label | images | front area | rear area | side area |\n|---|---:|---:|---:|---:|\n";
    for r in &d.area_ratios {
        s += &format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} |\n",
            r.view, r.images, r.front, r.rear, r.side
        );
    }
    s
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
    // The dataset's own labels (not re-labelled): the baseline paints what they say.
    let labels = data::all_view_labels(data_root)?;
    let view_of = |image: &Path| {
        let name = image.file_name()?.to_string_lossy();
        labels.as_ref()?.get(name.as_ref()).copied()
    };
    let mut images_by_kind = [0u64; 3];
    let device = Device::cuda_if_available();
    let mut model = SpanModel::new(&config, device);
    model.load(&run.join("latest.safetensors"))?;
    let size = config.model.input_size;
    let hw = (size * size) as usize;

    let mut counts = IouCounts::default();
    let mut score = SpanScore::default();
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
            let view = view_of(&chunk[k].0);
            score.add(m, parts, view, threshold);
            images_by_kind[0] += 1;
            if let Some(v) = view {
                images_by_kind[1 + usize::from(crate::span::score::is_two_view(v))] += 1;
            }
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
    let detail = labels.is_some().then(|| EvalDetail {
        masks: kind_iou(&score.masks, images_by_kind),
        argmax: kind_iou(&score.argmax, images_by_kind),
        paint_baseline: kind_iou(&score.paint, images_by_kind),
        area_ratios: score.area_ratios(),
    });
    if let Some(d) = &detail {
        let path = out.join("mask_iou.md");
        std::fs::write(&path, detail_markdown(d))
            .map_err(|source| TrainError::Io { path, source })?;
    }
    let report = EvalReport {
        images: pairs.len(),
        threshold,
        front,
        rear,
        side,
        mean: counts.mean_iou(),
        overlays,
        detail,
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
    use crate::span::test_fixture::write_dataset;
    use crate::span::train_loop::{tests::tiny, train_span};

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
        let detail = report.detail.expect("the fixture has view labels");
        assert_eq!(
            detail.masks.single.images + detail.masks.two_view.images,
            3,
            "every fixture image has a label"
        );
        let md = std::fs::read_to_string(run.join("eval/mask_iou.md")).expect("table");
        assert!(md.contains("paint the labelled view"), "{md}");
    }

    #[test]
    fn missing_run_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = eval_span(dir.path(), dir.path(), "image_test", 0.5, 0).expect_err("no run");
        assert!(err.to_string().contains("config.toml"), "{err}");
    }
}
