//! What `trainer foreground` measured: per split, GrabCut's and the CNN's masks against the
//! dataset's true foreground, written as `report.json` and `report.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::foreground::files;
use crate::foreground::score::{Counts, MaskScore, ScoreSum};
use crate::train::TrainError;

/// Scores of one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// The image folder, e.g. `image_test`.
    pub split: String,
    /// GrabCut's masks.
    pub grabcut: Option<MaskScore>,
    /// The segmentation CNN's masks.
    pub cnn: Option<MaskScore>,
}

/// The segmentation CNN's run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CnnReport {
    /// Its run directory.
    pub run: PathBuf,
    /// Training images (those with a GrabCut mask).
    pub images: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Targets replaced by refinement over the run.
    pub refined: u64,
    /// Training steps per second, when this invocation trained it.
    pub steps_per_second: Option<f64>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForegroundReport {
    /// The dataset.
    pub data: PathBuf,
    /// Images GrabCut ran on in this invocation.
    pub grabcut_images: usize,
    /// Seconds per image of those runs (both passes with `flip_and`).
    pub grabcut_seconds_per_image: Option<f64>,
    /// Images GrabCut failed on, with OpenCV's or the decoder's reason.
    pub grabcut_failed: Vec<(PathBuf, String)>,
    /// The CNN, unless the run was GrabCut only.
    pub cnn: Option<CnnReport>,
    /// Images the CNN could not read.
    pub cnn_failed: Vec<(PathBuf, String)>,
    /// Scores, when the dataset has true foreground masks.
    pub splits: Vec<SplitReport>,
}

/// Scores the masks in `predicted` (flat by stem) of `images` against `truth`. Images
/// without a true mask are left out; an image without a predicted mask counts as an
/// empty prediction, so a method's failures lower its score.
pub fn score_masks(
    images: &[PathBuf],
    predicted: &Path,
    truth: &Path,
) -> Result<Option<MaskScore>, TrainError> {
    let counts: Vec<Option<Counts>> = images
        .par_iter()
        .map(|image| {
            let t = files::mask_path(truth, image);
            if !t.is_file() {
                return Ok(None);
            }
            let truth = files::open_mask(&t)?;
            let p = files::mask_path(predicted, image);
            let pred = if p.is_file() {
                files::open_mask(&p)?
            } else {
                image::GrayImage::new(truth.width(), truth.height())
            };
            Counts::of(&pred, &truth)
                .map(Some)
                .ok_or_else(|| TrainError::Corrupt {
                    path: p.clone(),
                    reason: format!(
                        "{}×{} mask for a {}×{} true mask {}",
                        pred.width(),
                        pred.height(),
                        truth.width(),
                        truth.height(),
                        t.display()
                    ),
                })
        })
        .collect::<Result<_, TrainError>>()?;
    let mut sum = ScoreSum::default();
    counts.into_iter().flatten().for_each(|c| sum.add(c));
    Ok(sum.finish())
}

/// The report as Markdown: one line per split and method.
pub fn markdown(r: &ForegroundReport) -> String {
    let mut s = String::from(
        "| split | masks | images | mean IoU | pooled IoU | precision | recall | images with IoU < 0.5 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for split in &r.splits {
        for (name, score) in [("GrabCut", &split.grabcut), ("CNN", &split.cnn)] {
            if let Some(m) = score {
                let _ = writeln!(
                    s,
                    "| {} | {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                    split.split,
                    m.images,
                    m.mean_iou,
                    m.pooled_iou,
                    m.precision,
                    m.recall,
                    m.below_half
                );
            }
        }
    }
    if let Some(c) = &r.cnn {
        let speed = c
            .steps_per_second
            .map_or_else(String::new, |v| format!(", {v:.2} steps/s"));
        let _ = writeln!(
            s,
            "\nCNN: {} training images, {} steps, {} targets refined{speed}.",
            c.images, c.steps, c.refined
        );
    }
    if let Some(secs) = r.grabcut_seconds_per_image {
        let _ = writeln!(
            s,
            "GrabCut: {} images at {:.1} ms each.",
            r.grabcut_images,
            1e3 * secs
        );
    }
    if !r.grabcut_failed.is_empty() || !r.cnn_failed.is_empty() {
        let _ = writeln!(
            s,
            "Failed images: GrabCut {}, CNN {} (named in report.json).",
            r.grabcut_failed.len(),
            r.cnn_failed.len()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::GrayImage;

    fn save(dir: &Path, name: &str, f: impl Fn(u32) -> bool) {
        std::fs::create_dir_all(dir).expect("mkdir");
        let m = GrayImage::from_fn(4, 1, |x, _| image::Luma([if f(x) { 255 } else { 0 }]));
        m.save(dir.join(name)).expect("save");
    }

    #[test]
    fn missing_predictions_count_as_empty_and_missing_truth_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (truth, pred) = (dir.path().join("truth"), dir.path().join("pred"));
        save(&truth, "a.png", |x| x < 2);
        save(&pred, "a.png", |x| x < 2);
        save(&truth, "b.png", |x| x < 2);
        save(&pred, "c.png", |_| true);
        let images: Vec<PathBuf> = ["a.jpg", "b.jpg", "c.jpg"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let s = score_masks(&images, &pred, &truth)
            .expect("scores")
            .expect("two images");
        assert_eq!(s.images, 2, "c has no truth");
        assert!(
            (s.mean_iou - 0.5).abs() < 1e-12,
            "a is 1, b (no prediction) is 0: {s:?}"
        );
        assert_eq!(s.below_half, 1);

        let wrong = GrayImage::new(3, 3);
        wrong.save(pred.join("b.png")).expect("save");
        let err = score_masks(&images, &pred, &truth).expect_err("size mismatch");
        assert!(err.to_string().contains("b.png"), "{err}");
    }

    #[test]
    fn markdown_has_a_line_per_split_and_method() {
        let score = MaskScore {
            images: 3,
            mean_iou: 0.8,
            pooled_iou: 0.75,
            precision: 0.9,
            recall: 0.7,
            below_half: 1,
        };
        let r = ForegroundReport {
            data: "d".into(),
            grabcut_images: 3,
            grabcut_seconds_per_image: Some(0.02),
            grabcut_failed: vec![],
            cnn: None,
            cnn_failed: vec![],
            splits: vec![SplitReport {
                split: "image_test".into(),
                grabcut: Some(score.clone()),
                cnn: Some(score),
            }],
        };
        let md = markdown(&r);
        assert!(
            md.contains("| image_test | GrabCut | 3 | 0.800 | 0.750 | 0.900 | 0.700 | 1 |"),
            "{md}"
        );
        assert!(md.contains("| image_test | CNN |"), "{md}");
        assert!(md.contains("20.0 ms each"), "{md}");
    }
}
