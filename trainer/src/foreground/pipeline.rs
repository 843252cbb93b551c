//! `trainer foreground` end to end: GrabCut on every image, the segmentation CNN trained on
//! the training split's GrabCut masks, its masks for every image, scores against the true
//! foreground when the dataset has it, and the comparison picture. Each stage resumes: whole
//! GrabCut masks are kept, a finished CNN run is reused and an unfinished one continues.
//!
//! Output under `out/`: `grabcut/<stem>.png`, `segnet/` (the CNN's run), `mask_fg/<stem>.png`
//! (the masks to train SPAN with: `train-span --fg-masks out/mask_fg`), `report.json`,
//! `report.md` and `foreground.png` (image | truth | GrabCut | CNN).

use std::path::{Path, PathBuf};

use crate::foreground::config::ForegroundConfig;
use crate::foreground::files;
use crate::foreground::picture;
use crate::foreground::report::{self, CnnReport, ForegroundReport, SplitReport};
use crate::train::TrainError;
use crate::train::data::{FG_DIR, IMAGE_DIR};

/// GrabCut's masks under the output.
pub const GRABCUT_DIR: &str = "grabcut";
/// The CNN's run under the output.
pub const SEGNET_DIR: &str = "segnet";
/// Rows of `foreground.png`.
const PICTURE_ROWS: usize = 8;

/// Which images, and whether to go past GrabCut.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Image folders to make masks for; the first must be the training split.
    pub splits: Vec<&'static str>,
    /// Train and apply the CNN (`false`: GrabCut only).
    pub cnn: bool,
}

/// The images of each split that exists, in `plan` order; the training split must exist.
fn split_images(data: &Path, plan: &Plan) -> Result<Vec<(&'static str, Vec<PathBuf>)>, TrainError> {
    let mut out = Vec::new();
    for &split in &plan.splits {
        match files::list_images(data, split) {
            Ok(images) => out.push((split, images)),
            Err(e) if split != IMAGE_DIR && !data.join(split).exists() => {
                tracing::info!("{e}: skipped");
            }
            Err(e) => return Err(e.into()),
        }
    }
    if out.iter().all(|(_, images)| images.is_empty()) {
        return Err(crate::train::data::DataError::Empty {
            root: data.to_owned(),
        }
        .into());
    }
    Ok(out)
}

/// Outcome of the GrabCut stage.
struct GrabCutStage {
    ran: usize,
    seconds_per_image: Option<f64>,
    failed: Vec<(PathBuf, String)>,
}

#[cfg(feature = "grabcut")]
fn grabcut_stage(
    images: &[PathBuf],
    dir: &Path,
    config: &ForegroundConfig,
) -> Result<GrabCutStage, TrainError> {
    use rayon::prelude::*;
    use std::time::Instant;

    files::create_dir(dir)?;
    let todo: Vec<&PathBuf> = images
        .iter()
        .filter(|i| !files::is_whole_mask(&files::mask_path(dir, i)))
        .collect();
    tracing::info!(
        images = images.len(),
        todo = todo.len(),
        "GrabCut ({} iterations, {} px replicated border{})",
        config.grabcut.iterations,
        config.grabcut.border,
        if config.grabcut.flip_and {
            ", AND of the mirrored run"
        } else {
            ""
        }
    );
    let bar = crate::progress::bar(0, todo.len() as u64);
    let began = Instant::now();
    let results: Vec<Result<(), (PathBuf, String)>> = todo
        .par_iter()
        .map(|image| {
            let fail = |e: String| ((*image).clone(), e);
            let rgb = files::open_rgb(image).map_err(|e| fail(format!("{e:#}")))?;
            let mask = crate::foreground::grabcut::grabcut(&rgb, &config.grabcut)
                .map_err(|e| fail(e.to_string()))?;
            files::save_mask(&files::mask_path(dir, image), &mask)
                .map_err(|e| fail(format!("{e:#}")))?;
            bar.inc(1);
            Ok(())
        })
        .collect();
    bar.finish();
    let failed: Vec<(PathBuf, String)> = results.into_iter().filter_map(Result::err).collect();
    for (image, reason) in &failed {
        tracing::warn!("GrabCut failed on {}: {reason}", image.display());
    }
    let secs = began.elapsed().as_secs_f64();
    let threads = rayon::current_num_threads() as f64;
    Ok(GrabCutStage {
        ran: todo.len(),
        // Wall time per image times the workers: the cost of one image on one core.
        seconds_per_image: (!todo.is_empty()).then(|| secs * threads / todo.len() as f64),
        failed,
    })
}

#[cfg(not(feature = "grabcut"))]
fn grabcut_stage(
    images: &[PathBuf],
    dir: &Path,
    _config: &ForegroundConfig,
) -> Result<GrabCutStage, TrainError> {
    let missing = images
        .iter()
        .filter(|i| !files::is_whole_mask(&files::mask_path(dir, i)))
        .count();
    if missing > 0 {
        return Err(TrainError::NoGrabCut {
            missing,
            dir: dir.to_owned(),
        });
    }
    Ok(GrabCutStage {
        ran: 0,
        seconds_per_image: None,
        failed: Vec::new(),
    })
}

#[cfg(feature = "torch")]
fn cnn_stage(
    train_images: &[PathBuf],
    all_images: &[PathBuf],
    out: &Path,
    config: &ForegroundConfig,
) -> Result<(CnnReport, Vec<(PathBuf, String)>), TrainError> {
    use crate::foreground::segnet::{self, SegNet};
    use crate::train::run_dir::RunDir;

    let grabcut = out.join(GRABCUT_DIR);
    let (images, masks): (Vec<PathBuf>, Vec<PathBuf>) = train_images
        .iter()
        .map(|i| (i.clone(), files::mask_path(&grabcut, i)))
        .filter(|(_, m)| m.is_file())
        .unzip();
    if images.is_empty() {
        return Err(TrainError::Corrupt {
            path: grabcut,
            reason: "holds no GrabCut mask of a training image: nothing to train the CNN on".into(),
        });
    }
    let run = out.join(SEGNET_DIR);
    let total = segnet::total_steps(images.len(), config);
    let done = RunDir::new(&run).state()?.is_some_and(|s| s.step >= total);
    let mut steps_per_second = None;
    let refined = if done {
        tracing::info!(run = %run.display(), "segmentation CNN already trained");
        None
    } else {
        let s = segnet::train_segnet(&images, &masks, &run, config)?;
        tracing::info!(
            steps = s.steps,
            first_mse = s.first_mse,
            last_mse = s.last_mse,
            steps_per_second = s.steps_per_second,
            "segmentation CNN trained"
        );
        steps_per_second = Some(s.steps_per_second);
        Some(s.refined)
    };
    let device = tch::Device::cuda_if_available();
    let (saved, model) = SegNet::load(&run, device)?;
    let (written, failed) =
        crate::foreground::predict::predict_masks(&model, &saved, all_images, &out.join(FG_DIR))?;
    tracing::info!(
        written,
        failed = failed.len(),
        "CNN masks written to {}",
        out.join(FG_DIR).display()
    );
    let refined = match refined {
        Some(r) => r,
        None => segnet::saved_refined(&run)?,
    };
    Ok((
        CnnReport {
            run,
            images: images.len(),
            steps: total,
            refined,
            steps_per_second,
        },
        failed,
    ))
}

#[cfg(not(feature = "torch"))]
fn cnn_stage(
    _train: &[PathBuf],
    _all: &[PathBuf],
    _out: &Path,
    _config: &ForegroundConfig,
) -> Result<(CnnReport, Vec<(PathBuf, String)>), TrainError> {
    Err(TrainError::NoTorch)
}

/// Runs the pipeline on `data` into `out`.
pub fn run_foreground(
    data: &Path,
    out: &Path,
    config: &ForegroundConfig,
    plan: &Plan,
) -> Result<ForegroundReport, TrainError> {
    config.validate()?;
    let splits = split_images(data, plan)?;
    files::create_dir(out)?;
    files::write_text(&out.join("config.toml"), &config.to_toml())?;
    let all: Vec<PathBuf> = splits.iter().flat_map(|(_, i)| i.iter().cloned()).collect();
    let grabcut_dir = out.join(GRABCUT_DIR);
    let gc = grabcut_stage(&all, &grabcut_dir, config)?;
    let (cnn, cnn_failed) = if plan.cnn {
        let train: &[PathBuf] = splits
            .iter()
            .find(|(s, _)| *s == IMAGE_DIR)
            .map_or(&[], |(_, i)| i.as_slice());
        let (c, f) = cnn_stage(train, &all, out, config)?;
        (Some(c), f)
    } else {
        (None, Vec::new())
    };
    let truth = data.join(FG_DIR);
    let cnn_dir = out.join(FG_DIR);
    let mut scores = Vec::new();
    if truth.is_dir() {
        for (split, images) in &splits {
            scores.push(SplitReport {
                split: (*split).to_owned(),
                grabcut: report::score_masks(images, &grabcut_dir, &truth)?,
                cnn: if plan.cnn {
                    report::score_masks(images, &cnn_dir, &truth)?
                } else {
                    None
                },
            });
        }
    } else {
        tracing::info!(
            "{} has no true foreground masks ({FG_DIR}/): nothing to score",
            data.display()
        );
    }
    let report = ForegroundReport {
        data: data.to_owned(),
        grabcut_images: gc.ran,
        grabcut_seconds_per_image: gc.seconds_per_image,
        grabcut_failed: gc.failed,
        cnn,
        cnn_failed,
        splits: scores,
    };
    // The picture shows held-out images when there are some.
    let show = splits
        .iter()
        .find(|(s, _)| *s == crate::train::reid_data::GALLERY_DIR)
        .or(splits.last())
        .map(|(_, i)| i.as_slice())
        .unwrap_or_default();
    let mut dirs: Vec<&Path> = Vec::new();
    if truth.is_dir() {
        dirs.push(&truth);
    }
    dirs.push(&grabcut_dir);
    if plan.cnn {
        dirs.push(&cnn_dir);
    }
    if let Some(pic) = picture::picture(show, &dirs, PICTURE_ROWS) {
        let path = out.join("foreground.png");
        pic.save(&path).map_err(|e| TrainError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    }
    let md = report::markdown(&report);
    files::write_text(&out.join("report.md"), &md)?;
    let json = serde_json::to_string_pretty(&report).expect("the report serialises");
    files::write_text(&out.join("report.json"), &json)?;
    tracing::info!(
        "foreground masks scored ({}):\n{md}",
        out.join("report.md").display()
    );
    Ok(report)
}

#[cfg(all(test, feature = "torch", feature = "grabcut"))]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::train::reid_fixture::write_reid_dataset;

    #[test]
    fn masks_every_split_scores_both_methods_and_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, out) = (dir.path().join("data"), dir.path().join("fg"));
        write_reid_dataset(&data, 3, 2, 4);
        let config = ForegroundConfig::preset(Preset::Tiny);
        let plan = Plan {
            splits: vec![IMAGE_DIR, "image_test", "image_query"],
            cnn: true,
        };
        let report = run_foreground(&data, &out, &config, &plan).expect("pipeline");
        // 12 training, 2 query and 6 gallery images.
        assert_eq!(report.grabcut_images, 20);
        assert!(report.grabcut_failed.is_empty() && report.cnn_failed.is_empty());
        let cnn = report.cnn.as_ref().expect("the CNN ran");
        assert_eq!(cnn.images, 12);
        assert!(cnn.steps_per_second.is_some());
        assert_eq!(report.splits.len(), 3);
        for split in &report.splits {
            let gc = split.grabcut.as_ref().expect("scored");
            // A flat-coloured box on grey clutter: GrabCut finds most of it.
            assert!(
                gc.mean_iou > 0.5,
                "{}: GrabCut IoU {}",
                split.split,
                gc.mean_iou
            );
            assert!(split.cnn.is_some(), "{}: CNN scored", split.split);
        }
        for f in ["report.md", "report.json", "foreground.png", "config.toml"] {
            assert!(out.join(f).is_file(), "{f}");
        }
        let masks = std::fs::read_dir(out.join(FG_DIR))
            .expect("CNN masks")
            .count();
        assert_eq!(masks, 20);
        // A second run finds everything done: no GrabCut, no training.
        let again = run_foreground(&data, &out, &config, &plan).expect("resume");
        assert_eq!(again.grabcut_images, 0);
        assert_eq!(again.cnn.as_ref().map(|c| c.steps_per_second), Some(None));
        assert_eq!(again.splits, report.splits);
    }
}
